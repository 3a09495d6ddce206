/*
 * upload.h - attachments lbctl sends in pieces before a submit (CtlUpload):
 * a control request is bounded by control_max_kb, an attachment only by
 * task.attach_limit_mb.
 */
#ifndef LB_UPLOAD_H
#define LB_UPLOAD_H

#include <stdint.h>

#include "src/lbpeer.pb-c.h"

struct peer;

int	 upload_start(struct peer *, char **cause);
void	 upload_stop(struct peer *);
/* One step of CtlUpload (open, or a piece), answered in *rep. */
int	 upload_piece(struct peer *, const Lb__CtlUpload *,
	    Lb__CtlUploadReply *rep, char **cause);
/* Move the complete upload `uid` named `name` into the task directory
 * (an open descriptor of it) as `name`; the upload is used up. */
int	 upload_take(struct peer *, uint64_t uid, const char *name,
	    uint32_t mode, int dfd, uint64_t *size, char **cause);
/* Remove an upload (its submit was refused). */
void	 upload_drop(struct peer *, uint64_t uid);
/* Bytes received in uploads, for lbctl stats. */
uint64_t upload_bytes(struct peer *);

#endif
