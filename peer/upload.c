/*
 * upload.c - attachments on their way from lbctl to this peer (see
 * upload.h): a file too large for one control request comes in pieces, in
 * order, into state_dir/tasks/.up, its hash checked at the end; the submit
 * then takes it into the task's directory with a rename.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "peer.h"
#include "store.h"
#include "upload.h"
#include "xfer.h"
#include "tasks/tasks.h"

#define UPLOADS_MAX	64
#define UPLOAD_IDLE_MS	(10 * 60 * 1000)	/* then an upload goes */
#define UPLOAD_HASH	32
#define UPLOAD_TICK_S	10

/* A file on its way from lbctl, written in order. */
struct upload {
	uint64_t		 id;
	char			 name[256];
	uint64_t		 size, have;
	uint32_t		 mode;
	int			 fd;
	crypto_generichash_state st;
	int			 complete;
	uint64_t		 used_ms;
};

struct uploads {
	struct upload	*v[UPLOADS_MAX];
	char		*dir;		/* state_dir/tasks/.up */
	int		 dfd;
	uint64_t	 bytes;		/* received, for lbctl stats */
	struct event	*tick;
};

static void
upload_free(struct uploads *x, size_t i)
{
	struct upload	*u = x->v[i];
	char		 name[32];

	snprintf(name, sizeof(name), "%016" PRIx64, u->id);
	if (u->fd != -1)
		close(u->fd);
	unlinkat(x->dfd, name, 0);
	free(u);
	x->v[i] = NULL;
}

static struct upload *
upload_find(struct uploads *x, uint64_t id, size_t *slot)
{
	for (size_t i = 0; i < UPLOADS_MAX; i++)
		if (x->v[i] != NULL && x->v[i]->id == id) {
			if (slot)
				*slot = i;
			return x->v[i];
		}
	return NULL;
}

int
upload_piece(struct peer *p, const Lb__CtlUpload *req,
    Lb__CtlUploadReply *rep, char **cause)
{
	struct uploads	*x = p->uploads;
	struct upload	*u;
	size_t		 slot;
	char		 name[32];
	uint8_t		 h[UPLOAD_HASH];

	if (req->id == 0) {
		uint64_t pending = 0;
		for (slot = 0; slot < UPLOADS_MAX; slot++)
			if (x->v[slot] != NULL)
				pending += x->v[slot]->size;
		for (slot = 0; slot < UPLOADS_MAX; slot++)
			if (x->v[slot] == NULL)
				break;
		if (!tasks_name_valid(req->name)) {
			*cause = lb_printf("--file \"%.64s\": not a plain file "
			    "name", req->name);
			return -1;
		}
		if (req->size > p->conf.task.attach_limit) {
			*cause = lb_printf("--file %s: %" PRIu64 " bytes, over "
			    "the limit of %s", req->name, req->size,
			    xfer_limit_name(p));
			return -1;
		}
		if (slot == UPLOADS_MAX || pending + req->size >
		    4 * p->conf.task.attach_limit) {
			*cause = lb_strdup("too many uploads in progress at "
			    "this peer; try again later");
			return -1;
		}
		u = lb_calloc(1, sizeof(*u));
		do
			randombytes_buf(&u->id, sizeof(u->id));
		while (u->id == 0 || upload_find(x, u->id, NULL) != NULL);
		lb_strlcpy(u->name, req->name, sizeof(u->name));
		u->size = req->size;
		u->mode = req->mode & 0777;
		u->used_ms = lb_mono_ms();
		crypto_generichash_init(&u->st, NULL, 0, UPLOAD_HASH);
		snprintf(name, sizeof(name), "%016" PRIx64, u->id);
		u->fd = openat(x->dfd, name, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (u->fd == -1) {
			*cause = lb_printf("%s/%s: %s", x->dir, name,
			    strerror(errno));
			free(u);
			return -1;
		}
		x->v[slot] = u;
		rep->id = u->id;
		return 0;
	}
	if ((u = upload_find(x, req->id, &slot)) == NULL) {
		*cause = lb_strdup("no such upload (it expired?)");
		return -1;
	}
	if (u->complete || req->offset != u->have ||
	    req->data.len > u->size - u->have) {
		*cause = lb_printf("upload of %s: a piece at %" PRIu64 " of %zu "
		    "bytes; expected one at %" PRIu64 " within %" PRIu64
		    " bytes", u->name, req->offset, req->data.len, u->have,
		    u->size);
		upload_free(x, slot);
		return -1;
	}
	if (lb_pwrite_full(u->fd, req->data.data, req->data.len,
	    req->offset) == -1) {
		*cause = lb_printf("upload of %s: %s", u->name,
		    strerror(errno));
		upload_free(x, slot);
		return -1;
	}
	crypto_generichash_update(&u->st, req->data.data, req->data.len);
	u->have += req->data.len;
	u->used_ms = lb_mono_ms();
	x->bytes += req->data.len;
	if (req->hash.len > 0) {
		crypto_generichash_final(&u->st, h, UPLOAD_HASH);
		if (u->have != u->size || req->hash.len != UPLOAD_HASH ||
		    sodium_memcmp(h, req->hash.data, UPLOAD_HASH) != 0) {
			*cause = lb_printf("upload of %s: what arrived is not "
			    "what was sent (size or hash differ)", u->name);
			upload_free(x, slot);
			return -1;
		}
		if (fdatasync(u->fd) == -1) {
			*cause = lb_printf("upload of %s: %s", u->name,
			    strerror(errno));
			upload_free(x, slot);
			return -1;
		}
		close(u->fd);
		u->fd = -1;
		u->complete = 1;
	}
	rep->id = u->id;
	rep->have = u->have;
	rep->complete = u->complete;
	return 0;
}

int
upload_take(struct peer *p, uint64_t uid, const char *name, uint32_t mode,
    int dfd, uint64_t *size, char **cause)
{
	struct uploads	*x = p->uploads;
	struct upload	*u;
	size_t		 slot;
	char		 up[32];
	int		 fd;

	if ((u = upload_find(x, uid, &slot)) == NULL || !u->complete ||
	    strcmp(u->name, name) != 0) {
		*cause = lb_printf("--file %s: its upload is missing or "
		    "incomplete", name);
		return -1;
	}
	snprintf(up, sizeof(up), "%016" PRIx64, u->id);
	if (renameat2(x->dfd, up, dfd, name, RENAME_NOREPLACE) == -1) {
		*cause = lb_printf("%s: %s", name, strerror(errno));
		return -1;
	}
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
		(void)fchmod(fd, (mode & 0777) | 0600);
		close(fd);
	}
	*size = u->size;
	free(u);
	x->v[slot] = NULL;
	return 0;
}

void
upload_drop(struct peer *p, uint64_t uid)
{
	size_t	slot;

	if (upload_find(p->uploads, uid, &slot) != NULL)
		upload_free(p->uploads, slot);
}

uint64_t
upload_bytes(struct peer *p)
{
	return p->uploads != NULL ? p->uploads->bytes : 0;
}

/* Uploads no submit took are removed after a while. */
static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer	*p = arg;
	struct uploads	*x = p->uploads;
	struct timeval	 tv = { UPLOAD_TICK_S, 0 };
	uint64_t	 now = lb_mono_ms();

	for (size_t i = 0; i < UPLOADS_MAX; i++)
		if (x->v[i] != NULL && now - x->v[i]->used_ms > UPLOAD_IDLE_MS)
			upload_free(x, i);
	evtimer_add(x->tick, &tv);
}

int
upload_start(struct peer *p, char **cause)
{
	struct uploads	*x = lb_calloc(1, sizeof(*x));
	struct timeval	 tv = { UPLOAD_TICK_S, 0 };

	p->uploads = x;
	/* What an earlier life received was for a submit long gone. */
	x->dir = store_path(p, ".up");
	store_rmtree(x->dir);
	if (mkdir(x->dir, 0700) == -1 || (x->dfd = open(x->dir, O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		*cause = lb_printf("cannot create %s: %s", x->dir,
		    strerror(errno));
		x->dfd = -1;
		return -1;
	}
	x->tick = evtimer_new(p->base, tick_cb, p);
	evtimer_add(x->tick, &tv);
	return 0;
}

void
upload_stop(struct peer *p)
{
	struct uploads	*x = p->uploads;

	if (x == NULL)
		return;
	for (size_t i = 0; i < UPLOADS_MAX; i++)
		if (x->v[i] != NULL)
			upload_free(x, i);
	if (x->tick != NULL)
		event_free(x->tick);
	if (x->dfd != -1)
		close(x->dfd);
	free(x->dir);
	free(x);
	p->uploads = NULL;
}
