/*
 * keepfile.h - the files of kept messages: see keepfile.c.
 */
#ifndef LB_KEEPFILE_H
#define LB_KEEPFILE_H

#include "src/lbpeer.pb-c.h"
#include "forwarding/fwd.h"

/* One frame to `fd`; one frame appended to `path`; `path` written anew
 * with `kb` alone (removed when it is empty).  0 or -1 (errno). */
int	keepfile_frame(int fd, const Lb__MailboxKeep *kb);
int	keepfile_append(const char *path, const Lb__MailboxKeep *kb);
int	keepfile_write(const char *path, const Lb__MailboxKeep *kb);
/* Every frame of `path`, added up into `all` (free with fwd_export_free):
 * 0; 1 if a torn frame ended it (what came before is there); -1 if it
 * cannot be opened. */
int	keepfile_read(const char *path, struct fwd_box *all, int *frames);

#endif
