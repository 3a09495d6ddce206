/*
 * keepfile.c - the file of what a home keeps of a task's messages
 * (state_dir/kept/ID), and a replica's copy of it
 * (state_dir/replicas/kept/ID).
 *
 * A file of frames, each a 4-byte length (big-endian) and a MailboxKeep:
 * one message added, or (the file written anew, and renamed over the old
 * one) all of them with what was taken from each sender.  Read back, the
 * frames add up; a message read twice (a replica sent an item again) counts
 * once.  Written without fsync: a process that dies keeps them, a machine
 * that loses power may lose the last ones (doc/faults.md).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "src/util.h"
#include "keepfile.h"

#define FRAME_MAX	(64U << 20)

int
keepfile_frame(int fd, const Lb__MailboxKeep *kb)
{
	size_t		 len = lb__mailbox_keep__get_packed_size(kb);
	uint8_t		*buf = lb_calloc(1, len + 4);
	int		 rc = 0;

	buf[0] = (uint8_t)(len >> 24);
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	lb__mailbox_keep__pack(kb, buf + 4);
	if (write(fd, buf, len + 4) != (ssize_t)(len + 4))
		rc = -1;
	free(buf);
	return rc;
}

int
keepfile_append(const char *path, const Lb__MailboxKeep *kb)
{
	int	fd, rc;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600)) == -1)
		return -1;
	rc = keepfile_frame(fd, kb);
	if (close(fd) == -1)
		rc = -1;
	return rc;
}

int
keepfile_write(const char *path, const Lb__MailboxKeep *kb)
{
	char	*tmp;
	int	 fd, rc = 0;

	if (kb->n_mailbox == 0 && kb->n_mailbox_seen == 0 &&
	    kb->n_checkpointed == 0)
		return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
	tmp = lb_printf("%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1 || keepfile_frame(fd, kb) == -1 ||
	    rename(tmp, path) == -1)
		rc = -1;
	if (fd != -1 && close(fd) == -1)
		rc = -1;
	if (rc == -1)
		(void)unlink(tmp);
	free(tmp);
	return rc;
}

/* Whether `m` came before in `all` (its sender's seq at most one read). */
static int
seen_before(const struct fwd_box *all, const Lb__MailMsg *m)
{
	for (size_t i = all->n; i-- > 0;)
		if (strcmp(all->v[i]->sender, m->sender) == 0)
			return m->seq <= all->v[i]->seq;
	return 0;
}

int
keepfile_read(const char *path, struct fwd_box *all, int *frames)
{
	FILE		*fp;
	uint8_t		 hdr[4], *buf;
	size_t		 cap = 0, scap = 0;
	int		 torn = 0;

	memset(all, 0, sizeof(*all));
	*frames = 0;
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while (fread(hdr, 1, 4, fp) == 4) {
		uint32_t	 len = (uint32_t)hdr[0] << 24 |
		    (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
		Lb__MailboxKeep	*kb;

		if (len > FRAME_MAX) {
			torn = 1;
			break;
		}
		buf = lb_calloc(1, (size_t)len + 1);
		if (fread(buf, 1, len, fp) != len ||
		    (kb = lb__mailbox_keep__unpack(NULL, len, buf)) == NULL) {
			free(buf);
			torn = 1;
			break;	/* a torn tail: what came before */
		}
		free(buf);
		(*frames)++;
		for (size_t i = 0; i < kb->n_mailbox; i++) {
			if (kb->mailbox[i]->sender == NULL ||
			    seen_before(all, kb->mailbox[i]))
				continue;
			if (all->n == cap) {
				cap = cap ? cap * 2 : 16;
				all->v = lb_reallocarray(all->v, cap,
				    sizeof(*all->v));
			}
			all->v[all->n++] = kb->mailbox[i];
			kb->mailbox[i] = NULL;
		}
		for (size_t i = 0; i < kb->n_checkpointed; i++) {
			all->ck = lb_reallocarray(all->ck, all->nck + 1,
			    sizeof(*all->ck));
			all->ck[all->nck++] = kb->checkpointed[i];
			kb->checkpointed[i] = NULL;
		}
		kb->n_checkpointed = 0;
		for (size_t i = 0; i < kb->n_mailbox_seen; i++) {
			if (all->ns == scap) {
				scap = scap ? scap * 2 : 16;
				all->s = lb_reallocarray(all->s, scap,
				    sizeof(*all->s));
			}
			all->s[all->ns++] = kb->mailbox_seen[i];
			kb->mailbox_seen[i] = NULL;
		}
		/* (what was read twice goes with the frame) */
		for (size_t i = 0; i < kb->n_mailbox; i++)
			if (kb->mailbox[i] != NULL)
				lb__mail_msg__free_unpacked(kb->mailbox[i],
				    NULL);
		kb->n_mailbox = kb->n_mailbox_seen = 0;
		lb__mailbox_keep__free_unpacked(kb, NULL);
	}
	if (!feof(fp))
		torn = 1;
	fclose(fp);
	return torn;
}
