/*
 * xfer.c - chunked transfers of a task's files (see xfer.h).
 *
 * The destination pulls: it keeps at most XFER_WINDOW chunks requested or
 * received out of order, so neither side ever holds more than a few
 * chunks, and a slow disk at either end slows the transfer instead of
 * filling a queue.  Both sides hash each file in order as it goes (the
 * source as it reads, the destination as it writes), so each byte is read
 * once in the normal case and the check costs no second pass.
 *
 * Everything from the wire is checked here before use: ids against the
 * live offers and fetches, the sender against the offer's peer, names
 * (plain names the spec knows; checkpoint paths of plain components,
 * bounded in depth and count), sizes against the limits, offsets and
 * lengths against the file.  Files are reached only beneath directories
 * that store.c opened, one component at a time, never through a link.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "peer.h"
#include "store.h"
#include "xfer.h"
#include "tasks/tasks.h"

#define XFER_WINDOW	4	/* chunks asked for and not yet hashed */
#define XFER_DIRTY	(16u << 20)	/* written, not yet on disk, a file */
#define XFER_TICK_MS	100
#define XFER_RTO_MIN_MS	200	/* a chunk asked again, at the soonest */
#define XFER_RTO_INIT_MS 1000	/* before any round trip is known */
#define XFER_RETRIES	5	/* retry periods without a chunk from the
				 * source, then the fetch fails */
#define OFFERS_MAX	64
#define FETCHES_MAX	16
#define CK_FILES_MAX	4096	/* files in a checkpoint directory */
#define CK_DEPTH_MAX	16
#define CK_PATH_MAX	1024

/* A file a source offers. */
struct sfile {
	char			*name;		/* as in the manifest */
	int			 kind;		/* 0 attachment, 1 checkpoint,
						 * 2 output */
	uint64_t		 size;
	uint32_t		 mode;
	int			 fd;		/* while it is being served */
	uint64_t		 hashed;	/* bytes hashed so far, in order */
	crypto_generichash_state st;
	int			 final;
	uint8_t			 hash[XFER_HASH];
};

struct offer {
	uint64_t		 id;
	int			 copy;	/* 1: a checkpoint copy to its home;
					 * 2: attachments to a replica;
					 * 3: output files to a replica */
	char			 to[LB_ID_MAX];
	char			 task[TASKS_ID_MAX];
	struct sfile		*f;
	size_t			 nf;
	uint64_t		 used_ms;
};

/* A file a destination pulls. */
struct dfile {
	char			*name;
	int			 kind;
	uint64_t		 size;
	uint32_t		 mode;
	int			 fd;
	uint64_t		 hashed;
	crypto_generichash_state st;
	int			 have_hash, done;
	uint8_t			 src_hash[XFER_HASH];
};

/* A chunk asked for (`sent_ms` != 0), or received ahead of the hash. */
struct slot {
	int		 used;
	int		 received;
	uint32_t	 file;
	uint64_t	 off;
	uint32_t	 len;
	uint64_t	 sent_ms;
	unsigned	 asks;		/* times asked */
};

struct fetch {
	uint64_t		 seq;		/* names its staging directory */
	uint64_t		 id;		/* the source's offer */
	char			 from[LB_ID_MAX];
	uint64_t		 inc;
	char			 task[TASKS_ID_MAX];
	Lb__PeerMsg		*msg;		/* the Transfer, kept for the end */
	char			*dir;		/* staging */
	int			 dfd;
	struct dfile		*f;
	size_t			 nf, ndone;
	uint32_t		 cur;		/* the next chunk to ask for */
	uint64_t		 cur_off;
	struct slot		 win[XFER_WINDOW];
	uint64_t		 bytes;
	uint64_t		 started_ms;
	uint64_t		 heard_ms;	/* the last chunk from the source */
	uint64_t		 srtt_us, rttvar_us; /* a chunk's round trip */
	unsigned		 backoff;	/* timeouts since a clean sample */
	uint64_t		 arrived_us;	/* when the Transfer came */
};

struct xfer {
	struct offer		*offers[OFFERS_MAX];
	struct fetch		*fetches[FETCHES_MAX];
	uint64_t		 next_offer, next_fetch;
	uint64_t		 offer_idle_ms, retry_ms;
	uint8_t			*buf;		/* one chunk */
	char			*in;		/* staging */
	struct event		*tick;
	xfer_done_cb		 done;
	xfer_addr_cb		 addr_of;
	void			(*on_serve)(struct peer *, const char *,
				    uint64_t);
	struct xfer_stats	 stats;
	int			 corrupt;	/* tests: damage served chunks */
};

static struct xfer *
X(struct peer *p)
{
	return p->xfer;
}

const char *
xfer_limit_name(struct peer *p)
{
	static char	buf[80];

	if (p->conf.task.attach_limit_kb >= 0)
		snprintf(buf, sizeof(buf), "%" PRIu64 " KiB "
		    "(task.attach_limit_kb)", p->conf.task.attach_limit >> 10);
	else
		snprintf(buf, sizeof(buf), "%" PRIu64 " MiB "
		    "(task.attach_limit_mb)", p->conf.task.attach_limit >> 20);
	return buf;
}

/* ---- paths beneath a directory ---- */

/* A relative path of plain components, at most CK_DEPTH_MAX deep. */
static int
relpath_valid(const char *rel)
{
	char	 comp[256];
	size_t	 depth = 0, len = strlen(rel);
	const char *s = rel, *e;

	if (len == 0 || len > CK_PATH_MAX)
		return 0;
	for (;;) {
		e = strchr(s, '/');
		len = e ? (size_t)(e - s) : strlen(s);
		if (len == 0 || len >= sizeof(comp))
			return 0;
		memcpy(comp, s, len);
		comp[len] = '\0';
		if (!tasks_name_valid(comp) || ++depth > CK_DEPTH_MAX)
			return 0;
		if (e == NULL)
			return 1;
		s = e + 1;
	}
}

/*
 * Open rel (valid) beneath dfd, one component at a time with O_NOFOLLOW:
 * no link is followed anywhere on the way.  With `make`, missing
 * directories are made and the file is created (it must not exist).
 */
static int
open_beneath(int dfd, const char *rel, int make)
{
	char	*copy = lb_strdup(rel), *s = copy, *slash;
	int	 fd = dup(dfd), next, saved;

	while (fd != -1 && (slash = strchr(s, '/')) != NULL) {
		*slash = '\0';
		if (make && mkdirat(fd, s, 0700) == -1 && errno != EEXIST) {
			saved = errno;
			close(fd);
			errno = saved;
			fd = -1;
			break;
		}
		next = openat(fd, s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		saved = errno;
		close(fd);
		errno = saved;
		fd = next;
		s = slash + 1;
	}
	if (fd != -1) {
		/* Read as well: chunks that came ahead of their turn are
		 * hashed from the file (hash_forward). */
		next = make ? openat(fd, s, O_RDWR | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600) : openat(fd, s, O_RDONLY |
		    O_NOFOLLOW | O_CLOEXEC);
		saved = errno;
		close(fd);
		errno = saved;
		fd = next;
	}
	free(copy);
	return fd;
}

/* ---- source ---- */

static void
offer_free(struct offer *o)
{
	for (size_t i = 0; i < o->nf; i++) {
		if (o->f[i].fd != -1)
			close(o->f[i].fd);
		free(o->f[i].name);
	}
	free(o->f);
	free(o);
}

static void
offer_add(struct offer *o, const char *name, int kind, uint64_t size,
    uint32_t mode)
{
	struct sfile	*f;

	o->f = lb_reallocarray(o->f, o->nf + 1, sizeof(*o->f));
	f = &o->f[o->nf++];
	memset(f, 0, sizeof(*f));
	f->name = lb_strdup(name);
	f->kind = kind;
	f->size = size;
	f->mode = mode & 0777;
	f->fd = -1;
	crypto_generichash_init(&f->st, NULL, 0, XFER_HASH);
}

/* Every regular file beneath dfd (links and the rest are skipped). */
static int
walk_ck(struct offer *o, int dfd, const char *prefix, int depth, char **cause)
{
	DIR		*d;
	struct dirent	*e;
	struct stat	 st;
	int		 fd, rc = 0;

	if (depth > CK_DEPTH_MAX) {
		*cause = lb_printf("its checkpoint is nested more than %d deep",
		    CK_DEPTH_MAX);
		return -1;
	}
	if ((fd = dup(dfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		*cause = lb_printf("checkpoint: %s", strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char *name;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		name = lb_printf("%s/%s", prefix, e->d_name);
		if (!tasks_name_valid(e->d_name) || strlen(name) > CK_PATH_MAX) {
			*cause = lb_printf("checkpoint file \"%.64s\": not a "
			    "name that can move", name);
			rc = -1;
		} else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dfd, e->d_name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
			if (sub != -1) {
				rc = walk_ck(o, sub, name, depth + 1, cause);
				close(sub);
			}
		} else if (S_ISREG(st.st_mode)) {
			if (o->nf >= CK_FILES_MAX) {
				*cause = lb_printf("its checkpoint has more "
				    "than %d files", CK_FILES_MAX);
				rc = -1;
			} else
				offer_add(o, name, 1, (uint64_t)st.st_size,
				    st.st_mode);
		}
		free(name);
	}
	closedir(d);
	return rc;
}

/* The output file of task `id` (`suffix`: ".out", ".err"), offered as
 * `name` up to the *bytes its record counts; *bytes becomes what is
 * offered (fewer when the file is shorter).  The bytes offered. */
static uint64_t
offer_output(struct peer *p, struct offer *o, const char *id,
    const char *name, const char *suffix, uint64_t *bytes)
{
	char		*dir = store_dir(p, id), *path;
	struct stat	 st;

	path = lb_printf("%s%s", dir, suffix);
	free(dir);
	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
		st.st_size = 0;
	free(path);
	if ((uint64_t)st.st_size < *bytes) {
		log_warnx("task %s: %" PRIu64 " bytes of its %s are missing",
		    id, *bytes - (uint64_t)st.st_size, suffix + 1);
		*bytes = (uint64_t)st.st_size;
	}
	if (*bytes > 0)
		offer_add(o, name, 2, *bytes, 0600);
	return *bytes;
}

int
xfer_offer(struct peer *p, const char *to, const char *id, int ck,
    Lb__Transfer *tr, char **cause)
{
	struct xfer		*x = X(p);
	const Lb__TaskSpec	*s = tr->record->spec;
	struct offer		*o;
	struct stat		 st;
	uint64_t		 att = 0, cks = 0, outb = 0;
	size_t			 slot;
	int			 dfd;

	/* A new copy of a checkpoint replaces the one still on offer (its
	 * snapshot is about to be replaced). */
	for (slot = 0; ck == XFER_CK_COPY && slot < OFFERS_MAX; slot++)
		if (x->offers[slot] != NULL && x->offers[slot]->copy == 1 &&
		    strcmp(x->offers[slot]->task, id) == 0) {
			offer_free(x->offers[slot]);
			x->offers[slot] = NULL;
		}
	if (ck == XFER_REPLICA || ck == XFER_REPLICA_OUT) {
		/* Replicas' copies take half the offers at most: moves go
		 * on meanwhile. */
		size_t nrep = 0;

		for (slot = 0; slot < OFFERS_MAX; slot++)
			nrep += x->offers[slot] != NULL &&
			    x->offers[slot]->copy >= 2;
		if (nrep >= OFFERS_MAX / 2) {
			*cause = lb_printf("%zu copies of attachments for "
			    "replicas are on offer already", nrep);
			return -1;
		}
	}
	for (slot = 0; slot < OFFERS_MAX; slot++)
		if (x->offers[slot] == NULL)
			break;
	if (slot == OFFERS_MAX) {
		*cause = lb_printf("%d transfers are on offer already",
		    OFFERS_MAX);
		return -1;
	}
	o = lb_calloc(1, sizeof(*o));
	o->id = ++x->next_offer;
	o->copy = ck == XFER_CK_COPY ? 1 : ck == XFER_REPLICA ? 2 :
	    ck == XFER_REPLICA_OUT ? 3 : 0;
	if (o->copy >= 2)
		ck = 0;		/* (attachments, or output, only) */
	lb_strlcpy(o->to, to, sizeof(o->to));
	lb_strlcpy(o->task, id, sizeof(o->task));
	o->used_ms = lb_mono_ms();
	/* The attachments as they are now: a task may have changed them.
	 * (Output alone: its directory may be gone.) */
	if (o->copy == 3)
		dfd = -1;
	else if ((dfd = store_task_fd(p, id, 0, cause)) == -1) {
		offer_free(o);
		return -1;
	}
	for (size_t i = 0; (o->copy == 0 || o->copy == 2) && i < s->n_files;
	    i++) {
		if (!tasks_name_valid(s->files[i]->name) ||
		    fstatat(dfd, s->files[i]->name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode))
			continue;	/* gone (the task removed it) */
		offer_add(o, s->files[i]->name, 0, (uint64_t)st.st_size,
		    st.st_mode);
		att += (uint64_t)st.st_size;
	}
	if (dfd != -1)
		close(dfd);
	if (ck && (dfd = store_task_fd(p, id, ck, cause)) != -1) {
		size_t first = o->nf;
		int rc = walk_ck(o, dfd, "ck", 1, cause);

		close(dfd);
		if (rc == -1) {
			offer_free(o);
			return -1;
		}
		for (size_t i = first; i < o->nf; i++)
			cks += o->f[i].size;
	} else if (ck)
		free(*cause);	/* no checkpoint directory: none to send */
	if (att > p->conf.task.attach_limit || cks > p->conf.task.attach_limit) {
		*cause = lb_printf("its %s take %" PRIu64 " bytes, over the "
		    "limit of %s", att > cks ? "attachments" : "checkpoint "
		    "files", att > cks ? att : cks, xfer_limit_name(p));
		offer_free(o);
		return -1;
	}
	/* What the task printed up to its checkpoint goes with it: the
	 * record counts it, the file may hold more (a later run that was
	 * stopped wrote on), and what is missing is not claimed. */
	if ((o->copy == 0 || o->copy == 3) && tr->record->output_in_files) {
		outb += offer_output(p, o, id, "out/stdout", ".out",
		    &tr->record->stdout_bytes);
		outb += offer_output(p, o, id, "out/stderr", ".err",
		    &tr->record->stderr_bytes);
	}
	tr->manifest = lb_calloc(o->nf + 1, sizeof(*tr->manifest));
	for (size_t i = 0; i < o->nf; i++) {
		Lb__XferFile *m = lb_calloc(1, sizeof(*m));

		lb__xfer_file__init(m);
		m->name = lb_strdup(o->f[i].name);
		m->size = o->f[i].size;
		m->mode = o->f[i].mode;
		m->kind = (uint32_t)o->f[i].kind;
		tr->manifest[tr->n_manifest++] = m;
	}
	tr->xfer_id = o->id;
	tr->bytes = att + cks + outb;
	x->offers[slot] = o;
	log_debug("task %s: offered to %s: %zu files, %" PRIu64 " bytes "
	    "(transfer %" PRIu64 ")", id, to, o->nf, tr->bytes, o->id);
	return 0;
}

int
xfer_offered(struct peer *p, const char *to, const char *id, int out)
{
	struct xfer	*x = X(p);

	for (size_t i = 0; x != NULL && i < OFFERS_MAX; i++)
		if (x->offers[i] != NULL && x->offers[i]->copy ==
		    (out ? 3 : 2) &&
		    strcmp(x->offers[i]->task, id) == 0 &&
		    strcmp(x->offers[i]->to, to) == 0)
			return 1;
	return 0;
}

void
xfer_unoffer(struct peer *p, const char *to, const char *id, int out)
{
	struct xfer	*x = X(p);

	for (size_t i = 0; x != NULL && i < OFFERS_MAX; i++)
		if (x->offers[i] != NULL && x->offers[i]->copy ==
		    (out ? 3 : 2) && strcmp(x->offers[i]->task, id) == 0 &&
		    strcmp(x->offers[i]->to, to) == 0) {
			offer_free(x->offers[i]);
			x->offers[i] = NULL;
		}
}

void
xfer_drop_task(struct peer *p, const char *id, int copies)
{
	struct xfer	*x = X(p);

	if (x == NULL)
		return;
	for (size_t i = 0; i < OFFERS_MAX; i++)
		if (x->offers[i] != NULL && !strcmp(x->offers[i]->task, id) &&
		    (copies || !x->offers[i]->copy)) {
			offer_free(x->offers[i]);
			x->offers[i] = NULL;
		}
}

void
xfer_prune(struct peer *p, int (*keep)(struct peer *, const char *))
{
	struct xfer	*x = X(p);

	for (size_t i = 0; i < OFFERS_MAX; i++)
		if (x->offers[i] != NULL && !x->offers[i]->copy &&
		    !keep(p, x->offers[i]->task)) {
			offer_free(x->offers[i]);
			x->offers[i] = NULL;
		}
}

void
xfer_on_serve(struct peer *p, void (*cb)(struct peer *, const char *,
    uint64_t))
{
	X(p)->on_serve = cb;
}

static void
chunk_no(struct peer *p, const char *addr, const Lb__ChunkReq *q,
    const char *why)
{
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;
	Lb__ChunkData	d = LB__CHUNK_DATA__INIT;

	d.xfer_id = q->xfer_id;
	d.file = q->file;
	d.offset = q->offset;
	d.error = (char *)why;
	m.body_case = LB__PEER_MSG__BODY_CHUNK_DATA;
	m.chunk_data = &d;
	net_send(p, addr, &m);
}

/* Open a file to serve; it must still be what the manifest said. */
static int
sfile_open(struct peer *p, struct offer *o, struct sfile *f)
{
	struct stat	 st;
	char		*cause = NULL;
	int		 dfd;

	if (f->kind == 2) {
		/* Output: the file beside the task's directory, of which
		 * the first f->size bytes are offered. */
		char *dir = store_dir(p, o->task), *path = lb_printf("%s%s",
		    dir, strcmp(f->name, "out/stdout") == 0 ? ".out" : ".err");

		f->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		free(path);
		free(dir);
		if (f->fd == -1)
			return -1;
		if (fstat(f->fd, &st) == -1 || !S_ISREG(st.st_mode) ||
		    (uint64_t)st.st_size < f->size) {
			close(f->fd);
			f->fd = -1;
			return -1;
		}
		return 0;
	}
	/* A copy for the home is read from its snapshot, not from the
	 * checkpoint the task goes on writing. */
	if ((dfd = store_task_fd(p, o->task, o->copy && f->kind ? 2 : f->kind,
	    &cause)) == -1) {
		free(cause);
		return -1;
	}
	f->fd = open_beneath(dfd, f->kind ? f->name + 3 : f->name, 0);
	close(dfd);
	if (f->fd == -1)
		return -1;
	if (fstat(f->fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != f->size) {
		close(f->fd);
		f->fd = -1;
		return -1;
	}
	return 0;
}

/* Hash [f->hashed, upto) from the file: a request that skipped ahead. */
static int
hash_gap(struct xfer *x, struct sfile *f, uint64_t upto)
{
	while (f->hashed < upto) {
		size_t n = upto - f->hashed > XFER_CHUNK ? XFER_CHUNK :
		    (size_t)(upto - f->hashed);
		if (lb_pread_full(f->fd, x->buf, n, f->hashed) == -1)
			return -1;
		crypto_generichash_update(&f->st, x->buf, n);
		f->hashed += n;
	}
	return 0;
}

void
xfer_chunk_req(struct peer *p, const char *from, const Lb__ChunkReq *q)
{
	struct xfer	*x = X(p);
	struct offer	*o = NULL;
	struct sfile	*f;
	const char	*addr = x->addr_of(p, from);
	Lb__PeerMsg	 m = LB__PEER_MSG__INIT;
	Lb__ChunkData	 d = LB__CHUNK_DATA__INIT;
	uint64_t	 len;

	if (addr == NULL)
		return;
	for (size_t i = 0; i < OFFERS_MAX; i++)
		if (x->offers[i] != NULL && x->offers[i]->id == q->xfer_id &&
		    !strcmp(x->offers[i]->to, from))
			o = x->offers[i];
	if (o == NULL) {
		chunk_no(p, addr, q, "no such transfer on offer (expired, "
		    "or the task moved on)");
		return;
	}
	if (q->file >= o->nf || q->offset > o->f[q->file].size ||
	    q->len > XFER_CHUNK) {
		chunk_no(p, addr, q, "a request outside the files offered");
		return;
	}
	f = &o->f[q->file];
	len = f->size - q->offset < q->len ? f->size - q->offset : q->len;
	if (f->fd == -1 && sfile_open(p, o, f) == -1) {
		log_warnx("task %s: %s changed or went while it was sent to "
		    "%s: the transfer stops", o->task, f->name, from);
		chunk_no(p, addr, q, "the file changed at the source");
		return;
	}
	if ((q->offset > f->hashed && hash_gap(x, f, q->offset) == -1) ||
	    lb_pread_full(f->fd, x->buf, (size_t)len, q->offset) == -1) {
		chunk_no(p, addr, q, "the file changed at the source");
		return;
	}
	if (q->offset + len > f->hashed) {
		uint64_t skip = f->hashed - q->offset;
		crypto_generichash_update(&f->st, x->buf + skip, len - skip);
		f->hashed = q->offset + len;
	}
	if (f->hashed == f->size && !f->final) {
		crypto_generichash_final(&f->st, f->hash, XFER_HASH);
		f->final = 1;
	}
	d.xfer_id = q->xfer_id;
	d.file = q->file;
	d.offset = q->offset;
	d.data.data = x->buf;
	d.data.len = (size_t)len;
	if (q->offset + len == f->size) {
		d.hash.data = f->hash;
		d.hash.len = XFER_HASH;
	}
	/* Tests only: the hash is of the file, the bytes sent are not. */
	if (x->corrupt && len > 0)
		x->buf[len / 2] ^= 0x5a;
	m.body_case = LB__PEER_MSG__BODY_CHUNK_DATA;
	m.chunk_data = &d;
	net_send(p, addr, &m);
	/* A file served to its end is closed: a checkpoint may have many. */
	if (f->final && q->offset + len == f->size) {
		close(f->fd);
		f->fd = -1;
	}
	x->stats.bytes_out += len;
	o->used_ms = lb_mono_ms();
	if (x->on_serve != NULL && o->copy < 2) {
		uint64_t whole = 0;
		size_t k;

		for (k = 0; k < o->nf && o->f[k].final; k++)
			whole += o->f[k].size;
		x->on_serve(p, o->task, k == o->nf ? whole : 0);
	}
}

/* ---- destination ---- */

static void
fetch_free(struct xfer *x, struct fetch *fe)
{
	for (size_t i = 0; i < fe->nf; i++) {
		if (fe->f[i].fd != -1)
			close(fe->f[i].fd);
		free(fe->f[i].name);
	}
	free(fe->f);
	if (fe->dfd != -1)
		close(fe->dfd);
	if (fe->dir != NULL) {
		store_rmtree(fe->dir);
		free(fe->dir);
	}
	if (fe->msg != NULL)
		lb__peer_msg__free_unpacked(fe->msg, NULL);
	for (size_t i = 0; i < FETCHES_MAX; i++)
		if (x->fetches[i] == fe)
			x->fetches[i] = NULL;
	free(fe);
}

/* The fetch failed: say why, leave nothing behind. */
static void
fetch_fail(struct peer *p, struct fetch *fe, uint64_t *counter,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
fetch_fail(struct peer *p, struct fetch *fe, uint64_t *counter,
    const char *fmt, ...)
{
	struct xfer	*x = X(p);
	va_list		 ap;
	char		*why, *line;

	va_start(ap, fmt);
	if (vasprintf(&why, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	(*counter)++;
	if (x->done != NULL)
		x->done(p, fe->from, fe->inc, fe->msg, fe->arrived_us, NULL,
		    why);
	/* Said once its staged files are gone, not before.  (A replica's
	 * copy: repfiles.c said it.) */
	line = fe->msg != NULL && fe->msg->body_case ==
	    LB__PEER_MSG__BODY_REPLICA_FILES ? NULL : lb_printf("task %s: "
	    "transfer from %s refused: %s; its staged files are removed (the "
	    "source keeps the task)", fe->task, fe->from, why);
	fetch_free(x, fe);
	if (line != NULL)
		log_warnx("%s", line);
	free(line);
	free(why);
}

static struct fetch *
fetch_find(struct xfer *x, const char *from, uint64_t id)
{
	for (size_t i = 0; i < FETCHES_MAX; i++)
		if (x->fetches[i] != NULL && x->fetches[i]->id == id &&
		    !strcmp(x->fetches[i]->from, from))
			return x->fetches[i];
	return NULL;
}

int
xfer_fetching(struct peer *p, const char *from, uint64_t xfer_id)
{
	return fetch_find(X(p), from, xfer_id) != NULL;
}

/*
 * When to ask a chunk again: as TCP does (RFC 6298), the smoothed round
 * trip of the chunks answered so far plus four times its variation, at
 * least XFER_RTO_MIN_MS, doubled for every ask of the chunk already made
 * or for every timeout since the last clean sample, whichever is more
 * (Karn: a chunk asked twice gives no sample, so a round trip that grew
 * past the timer would otherwise have every chunk asked twice for good),
 * and never later than retry_ms.  On a link that loses requests or answers, a lost
 * chunk then costs a few round trips, not half the move's timeout (the
 * source gives the move up when it serves nothing for that long).
 */
static void
rtt_sample(struct fetch *fe, uint64_t us)
{
	fe->backoff = 0;
	if (fe->srtt_us == 0) {
		fe->srtt_us = us > 0 ? us : 1;
		fe->rttvar_us = us / 2;
		return;
	}
	fe->rttvar_us = (3 * fe->rttvar_us + (fe->srtt_us > us ?
	    fe->srtt_us - us : us - fe->srtt_us)) / 4;
	fe->srtt_us = (7 * fe->srtt_us + us) / 8;
	if (fe->srtt_us == 0)
		fe->srtt_us = 1;
}

static uint64_t
rto_ms(const struct xfer *x, const struct fetch *fe, const struct slot *s)
{
	uint64_t	 ms = XFER_RTO_INIT_MS;

	if (fe->srtt_us != 0)
		ms = (fe->srtt_us + 4 * fe->rttvar_us) / 1000;
	if (ms < XFER_RTO_MIN_MS)
		ms = XFER_RTO_MIN_MS;
	for (unsigned i = 0; i < (s->asks > fe->backoff + 1 ? s->asks - 1 :
	    fe->backoff) && ms < x->retry_ms; i++)
		ms *= 2;
	return ms < x->retry_ms ? ms : x->retry_ms;
}

static void
ask(struct peer *p, struct fetch *fe, struct slot *s)
{
	Lb__PeerMsg	 m = LB__PEER_MSG__INIT;
	Lb__ChunkReq	 q = LB__CHUNK_REQ__INIT;
	const char	*addr = X(p)->addr_of(p, fe->from);

	s->sent_ms = lb_mono_ms();
	s->asks++;
	if (addr == NULL)
		return;		/* dead or gone: the retries run out */
	q.xfer_id = fe->id;
	q.file = s->file;
	q.offset = s->off;
	q.len = s->len;
	m.body_case = LB__PEER_MSG__BODY_CHUNK_REQ;
	m.chunk_req = &q;
	net_send(p, addr, &m);
}

/* Keep the window full: chunks asked for plus chunks held ahead. */
static void
fill(struct peer *p, struct fetch *fe)
{
	for (size_t i = 0; i < XFER_WINDOW && fe->cur < fe->nf; i++) {
		struct slot *s = &fe->win[i];
		struct dfile *f = &fe->f[fe->cur];
		uint64_t left = f->size - fe->cur_off;

		if (s->used)
			continue;
		memset(s, 0, sizeof(*s));
		s->used = 1;
		s->file = fe->cur;
		s->off = fe->cur_off;
		s->len = left > XFER_CHUNK ? XFER_CHUNK : (uint32_t)left;
		fe->cur_off += s->len;
		if (fe->cur_off >= f->size) {
			fe->cur++;
			fe->cur_off = 0;
		}
		ask(p, fe, s);
	}
}

/* A checkpoint name: "ck/" and a valid relative path. */
static int
manifest_ok(struct peer *p, const Lb__Transfer *tr, int rep, char **cause)
{
	const Lb__TaskSpec	*s = tr->record->spec;
	uint64_t		 att = 0, cks = 0, outb = 0;
	uint64_t		 lim = p->conf.task.attach_limit;
	/* Output: this peer's limit and the cut-off marker(s); a replica
	 * keeps what the host's limit let through, within its own limit
	 * for files. */
	uint64_t		 olim = rep ? lim :
				    (uint64_t)p->conf.task.output_limit_kb *
				    1024 + 4096;
	size_t			 nck = 0;
	int			 outs = 0;

	if (tr->n_manifest > s->n_files + CK_FILES_MAX + 2) {
		*cause = lb_printf("%zu files", tr->n_manifest);
		return -1;
	}
	for (size_t i = 0; i < tr->n_manifest; i++) {
		const Lb__XferFile *m = tr->manifest[i];

		if (m->kind == 0) {
			size_t j;
			for (j = 0; j < s->n_files; j++)
				if (!strcmp(s->files[j]->name, m->name))
					break;
			if (!tasks_name_valid(m->name) || j == s->n_files) {
				*cause = lb_printf("attachment \"%.64s\" is not "
				    "one its spec names", m->name);
				return -1;
			}
			for (j = 0; j < i; j++)
				if (!strcmp(tr->manifest[j]->name, m->name)) {
					*cause = lb_printf("attachment \"%.64s\" "
					    "twice", m->name);
					return -1;
				}
			att += m->size;
		} else if (m->kind == 1) {
			if (strncmp(m->name, "ck/", 3) != 0 ||
			    !relpath_valid(m->name + 3)) {
				*cause = lb_printf("checkpoint file \"%.64s\" "
				    "is not a plain relative path", m->name);
				return -1;
			}
			nck++;
			cks += m->size;
		} else if (m->kind == 2) {
			int bit = strcmp(m->name, "out/stdout") == 0 ? 1 :
			    strcmp(m->name, "out/stderr") == 0 ? 2 : 0;

			if (bit == 0 || (outs & bit) ||
			    !tr->record->output_in_files) {
				*cause = lb_printf("output file \"%.64s\" is "
				    "not one of out/stdout, out/stderr, once "
				    "each, of a record whose output is in "
				    "files", m->name);
				return -1;
			}
			if (m->size > olim || m->size != (bit == 1 ?
			    tr->record->stdout_bytes :
			    tr->record->stderr_bytes)) {
				*cause = lb_printf("output file \"%.64s\": "
				    "%" PRIu64 " bytes, not what its record "
				    "counts, or over the output limit",
				    m->name, m->size);
				return -1;
			}
			outs |= bit;
			outb += m->size;
			continue;
		} else {
			*cause = lb_printf("file \"%.64s\" of unknown kind %u",
			    m->name, m->kind);
			return -1;
		}
		if (m->size > lim) {
			*cause = lb_printf("file \"%.64s\" is too large",
			    m->name);
			return -1;
		}
	}
	if (nck > CK_FILES_MAX || att > lim || cks > lim) {
		*cause = lb_printf("%" PRIu64 " bytes of attachments and %"
		    PRIu64 " of checkpoint, over the limit of %s", att, cks,
		    xfer_limit_name(p));
		return -1;
	}
	if (att + cks + outb != tr->bytes) {
		*cause = lb_strdup("its size does not add up");
		return -1;
	}
	return 0;
}

int
xfer_fetch(struct peer *p, const char *from, uint64_t inc,
    const Lb__PeerMsg *m, char **cause)
{
	struct xfer		*x = X(p);
	int			 copy = m->body_case ==
				    LB__PEER_MSG__BODY_CHECKPOINT_COPY;
	int			 rep = m->body_case ==
				    LB__PEER_MSG__BODY_REPLICA_FILES;
	const Lb__Transfer	*tr = copy ? m->checkpoint_copy->transfer :
				    rep ? m->replica_files->transfer :
				    m->transfer;
	struct fetch		*fe;
	size_t			 slot, len;
	uint8_t			*buf;
	char			*name;

	for (size_t i = 0; i < FETCHES_MAX; i++) {
		struct fetch *old = x->fetches[i];

		if (old == NULL || strcmp(old->task, tr->record->id) != 0)
			continue;
		/* A replica's copy of the files is apart from moves and
		 * copies, and gives way to a move of the task (which must
		 * end within its timeout): the home offers it again. */
		if (rep != (old->msg->body_case ==
		    LB__PEER_MSG__BODY_REPLICA_FILES)) {
			if (rep && old->msg->body_case ==
			    LB__PEER_MSG__BODY_TRANSFER) {
				*cause = lb_printf("a move of it from %s is in "
				    "progress", old->from);
				return -1;
			}
			if (!rep && !copy)
				fetch_fail(p, old, &x->stats.failed_source,
				    "a move of it comes first");
			continue;
		}
		if (rep) {
			*cause = lb_printf("a copy of its files from %s is in "
			    "progress", old->from);
			return -1;
		}
		/* A newer copy from the same host replaces the older (whose
		 * offer it replaced there); a copy never stops a move. */
		if (copy && old->msg->body_case ==
		    LB__PEER_MSG__BODY_CHECKPOINT_COPY &&
		    strcmp(old->from, from) == 0) {
			fetch_fail(p, old, &x->stats.failed_source, "a newer "
			    "copy of its checkpoint replaces it");
			continue;
		}
		if (copy) {
			*cause = lb_printf("a transfer of it from %s is in "
			    "progress", old->from);
			return -1;
		}
		/* The same source moves it again: the older move is over. */
		if (strcmp(old->from, from) == 0) {
			fetch_fail(p, old, &x->stats.failed_source, "a newer "
			    "transfer of it from the same source replaces it");
			continue;
		}
		*cause = lb_printf("a transfer of it from %s is in progress",
		    old->from);
		return -1;
	}
	if (rep) {
		/* Replicas' copies take half the fetches at most: moves in
		 * go on meanwhile. */
		size_t nrep = 0;

		for (slot = 0; slot < FETCHES_MAX; slot++)
			nrep += x->fetches[slot] != NULL &&
			    x->fetches[slot]->msg->body_case ==
			    LB__PEER_MSG__BODY_REPLICA_FILES;
		if (nrep >= FETCHES_MAX / 2) {
			*cause = lb_printf("%zu copies for homes are in "
			    "progress here already", nrep);
			return -1;
		}
	}
	for (slot = 0; slot < FETCHES_MAX; slot++)
		if (x->fetches[slot] == NULL)
			break;
	if (slot == FETCHES_MAX) {
		*cause = lb_printf("%d transfers are in progress here already",
		    FETCHES_MAX);
		return -1;
	}
	if (tr->xfer_id == 0 || manifest_ok(p, tr, rep, cause) == -1) {
		x->stats.failed_invalid++;
		return -1;
	}
	for (size_t i = 0; copy && i < tr->n_manifest; i++)
		if (tr->manifest[i]->kind != 1) {
			*cause = lb_strdup("a checkpoint copy with attachments");
			x->stats.failed_invalid++;
			return -1;
		}
	for (size_t i = 0; rep && i < tr->n_manifest; i++)
		if (tr->manifest[i]->kind != tr->manifest[0]->kind ||
		    tr->manifest[i]->kind == 1) {
			*cause = lb_strdup("a replica's copy of attachments "
			    "or output with other files");
			x->stats.failed_invalid++;
			return -1;
		}
	fe = lb_calloc(1, sizeof(*fe));
	fe->dfd = -1;
	fe->seq = ++x->next_fetch;
	fe->id = tr->xfer_id;
	fe->inc = inc;
	fe->bytes = tr->bytes;
	fe->started_ms = lb_mono_ms();
	fe->heard_ms = fe->started_ms;
	fe->arrived_us = lb_mono_us();
	lb_strlcpy(fe->from, from, sizeof(fe->from));
	lb_strlcpy(fe->task, tr->record->id, sizeof(fe->task));
	len = lb__peer_msg__get_packed_size(m);
	buf = lb_calloc(1, len + 1);
	lb__peer_msg__pack(m, buf);
	fe->msg = lb__peer_msg__unpack(NULL, len, buf);
	free(buf);
	x->fetches[slot] = fe;
	fe->dir = lb_printf("%s/%" PRIu64, x->in, fe->seq);
	store_rmtree(fe->dir);
	name = lb_printf("%s/att", fe->dir);
	if (mkdir(fe->dir, 0700) == -1 || mkdir(name, 0700) == -1 ||
	    (fe->dfd = open(fe->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		*cause = lb_printf("%s: %s", fe->dir, strerror(errno));
		free(name);
		x->stats.failed_disk++;
		fetch_free(x, fe);
		return -1;
	}
	free(name);
	fe->f = lb_calloc(tr->n_manifest + 1, sizeof(*fe->f));
	for (size_t i = 0; i < tr->n_manifest; i++) {
		struct dfile *f = &fe->f[i];
		f->name = lb_printf("%s%s", tr->manifest[i]->kind ? "" :
		    "att/", tr->manifest[i]->name);
		f->kind = (int)tr->manifest[i]->kind;
		f->size = tr->manifest[i]->size;
		f->mode = tr->manifest[i]->mode & 0777;
		f->fd = -1;
		crypto_generichash_init(&f->st, NULL, 0, XFER_HASH);
		fe->nf++;
	}
	if (fe->nf > 0)
		log_info("task %s: pulling %zu file%s, %" PRIu64 " bytes, "
		    "from %s", fe->task, fe->nf, fe->nf == 1 ? "" : "s",
		    fe->bytes, from);
	if (fe->nf == 0) {
		/* Nothing to pull: done at once. */
		x->stats.done++;
		if (x->done != NULL)
			x->done(p, fe->from, fe->inc, fe->msg, fe->arrived_us,
			    fe->dir, NULL);
		fetch_free(x, fe);
		return 0;
	}
	fill(p, fe);
	return 0;
}

/* Hash what is written in order; chunks held ahead follow from disk. */
static int
hash_forward(struct xfer *x, struct fetch *fe, uint32_t fi)
{
	struct dfile	*f = &fe->f[fi];
	int		 moved = 1;

	while (moved) {
		moved = 0;
		for (size_t i = 0; i < XFER_WINDOW; i++) {
			struct slot *s = &fe->win[i];
			if (!s->used || !s->received || s->file != fi ||
			    s->off != f->hashed)
				continue;
			if (lb_pread_full(f->fd, x->buf, s->len, s->off) == -1)
				return -1;
			crypto_generichash_update(&f->st, x->buf, s->len);
			f->hashed += s->len;
			s->used = 0;
			moved = 1;
		}
	}
	return 0;
}

/* All of a file is here: its hash must be the source's. */
static int
file_end(struct peer *p, struct fetch *fe, struct dfile *f)
{
	uint8_t	h[XFER_HASH];

	crypto_generichash_final(&f->st, h, XFER_HASH);
	if (sodium_memcmp(h, f->src_hash, XFER_HASH) != 0) {
		fetch_fail(p, fe, &X(p)->stats.failed_hash, "%s: its hash "
		    "does not match the source's (damaged on the way)",
		    f->name);
		return -1;
	}
	if (fchmod(f->fd, f->mode | 0600) == -1 || fdatasync(f->fd) == -1) {
		fetch_fail(p, fe, &X(p)->stats.failed_disk, "%s: %s", f->name,
		    strerror(errno));
		return -1;
	}
	close(f->fd);
	f->fd = -1;
	f->done = 1;
	fe->ndone++;
	return 0;
}

void
xfer_chunk_data(struct peer *p, const char *from, const Lb__ChunkData *d)
{
	struct xfer	*x = X(p);
	struct fetch	*fe = fetch_find(x, from, d->xfer_id);
	struct slot	*s = NULL;
	struct dfile	*f;

	if (fe == NULL)
		return;		/* late, or not ours */
	if (d->error[0] != '\0') {
		fetch_fail(p, fe, &x->stats.failed_source, "the source says: "
		    "%.200s", d->error);
		return;
	}
	for (size_t i = 0; i < XFER_WINDOW; i++)
		if (fe->win[i].used && !fe->win[i].received &&
		    fe->win[i].file == d->file && fe->win[i].off == d->offset)
			s = &fe->win[i];
	if (s == NULL)
		return;		/* an answer to a request asked twice */
	fe->heard_ms = lb_mono_ms();
	if (s->asks == 1)	/* an answer to an only ask: a clean sample */
		rtt_sample(fe, (fe->heard_ms - s->sent_ms) * 1000);
	f = &fe->f[s->file];
	if (d->data.len != s->len || (d->hash.len != 0 && d->hash.len !=
	    XFER_HASH) || (s->off + s->len == f->size && d->hash.len == 0)) {
		fetch_fail(p, fe, &x->stats.failed_invalid, "%s: a chunk of "
		    "the wrong size, or without its hash", f->name);
		return;
	}
	if (f->fd == -1 && (f->fd = open_beneath(fe->dfd, f->name, 1)) == -1) {
		fetch_fail(p, fe, &x->stats.failed_disk, "%s: %s", f->name,
		    strerror(errno));
		return;
	}
	if (lb_pwrite_full(f->fd, d->data.data, d->data.len, d->offset) == -1) {
		fetch_fail(p, fe, &x->stats.failed_disk, "%s: %s", f->name,
		    strerror(errno));
		return;
	}
	/*
	 * Start writing it out now: the fdatasync at the file's end then
	 * finds little left to do, and the TransferAck is not held up by
	 * a whole file's writeback (the source waits transfer_timeout_ms).
	 */
	(void)sync_file_range(f->fd, (off_t)d->offset, (off_t)d->data.len,
	    SYNC_FILE_RANGE_WRITE);
	/*
	 * And wait for what was written XFER_DIRTY earlier: the pull goes
	 * at the disk's pace, each wait is short, and no large file's
	 * writeback is left for the end, where one fdatasync of hundreds of
	 * MiB would hold the event loop for seconds (the peer then looks
	 * dead, and the move is aborted).
	 */
	if (d->offset >= XFER_DIRTY)
		(void)sync_file_range(f->fd, (off_t)(d->offset - XFER_DIRTY),
		    (off_t)d->data.len, SYNC_FILE_RANGE_WAIT_BEFORE |
		    SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
	if (d->hash.len == XFER_HASH) {
		memcpy(f->src_hash, d->hash.data, XFER_HASH);
		f->have_hash = 1;
	}
	s->received = 1;
	if (s->off == f->hashed) {
		crypto_generichash_update(&f->st, d->data.data, d->data.len);
		f->hashed += d->data.len;
		s->used = 0;
		if (hash_forward(x, fe, s->file) == -1) {
			fetch_fail(p, fe, &x->stats.failed_disk, "%s: %s",
			    f->name, strerror(errno));
			return;
		}
	}
	if (f->hashed == f->size && f->have_hash && file_end(p, fe, f) == -1)
		return;
	if (fe->ndone == fe->nf) {
		uint64_t ms = lb_mono_ms() - fe->started_ms;
		log_info("task %s: %" PRIu64 " bytes pulled from %s in %" PRIu64
		    " ms, hashes verified", fe->task, fe->bytes, fe->from, ms);
		x->stats.done++;
		x->stats.bytes_in += fe->bytes;
		if (x->done != NULL)
			x->done(p, fe->from, fe->inc, fe->msg, fe->arrived_us,
			    fe->dir, NULL);
		fetch_free(x, fe);
		return;
	}
	fill(p, fe);
}

/* ---- time ---- */

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer	*p = arg;
	struct xfer	*x = X(p);
	struct timeval	 tv = { 0, XFER_TICK_MS * 1000 };
	uint64_t	 now = lb_mono_ms();

	for (size_t i = 0; i < OFFERS_MAX; i++)
		if (x->offers[i] != NULL &&
		    now - x->offers[i]->used_ms > x->offer_idle_ms) {
			struct offer *o = x->offers[i];
			size_t k;

			for (k = 0; k < o->nf && o->f[k].final; k++)
				;
			/* Served whole: the usual end, not news. */
			if (k == o->nf)
				log_debug("task %s: offer to %s served and "
				    "dropped", o->task, o->to);
			else
				log_info("task %s: its transfer to %s expired "
				    "(no request for %" PRIu64 " ms)", o->task,
				    o->to, x->offer_idle_ms);
			offer_free(x->offers[i]);
			x->offers[i] = NULL;
		}
	for (size_t i = 0; i < FETCHES_MAX; i++) {
		struct fetch *fe = x->fetches[i];
		if (fe == NULL)
			continue;
		for (size_t k = 0; k < XFER_WINDOW; k++) {
			struct slot *s = &fe->win[k];
			if (!s->used || s->received ||
			    now - s->sent_ms < rto_ms(x, fe, s))
				continue;
			/*
			 * A chunk lost is asked again, as long as the source
			 * answers at all: on a lossy link one chunk may be
			 * lost several times in a row while its neighbours
			 * arrive, and that is no reason to give up the move.
			 */
			if (now - fe->heard_ms >= (uint64_t)XFER_RETRIES *
			    x->retry_ms) {
				fetch_fail(p, fe, &x->stats.failed_source,
				    "no answer from the source for %" PRIu64
				    " ms", (uint64_t)XFER_RETRIES *
				    x->retry_ms);
				break;
			}
			if (fe->backoff < 16)
				fe->backoff++;
			ask(p, fe, s);
		}
	}
	evtimer_add(x->tick, &tv);
}

int
xfer_start(struct peer *p, xfer_done_cb done, xfer_addr_cb addr_of,
    char **cause)
{
	struct xfer	*x = lb_calloc(1, sizeof(*x));
	struct timeval	 tv = { 0, XFER_TICK_MS * 1000 };
	uint64_t	 t = (uint64_t)p->conf.balance.transfer_timeout_ms;

	p->xfer = x;
	x->done = done;
	x->addr_of = addr_of;
	x->buf = lb_calloc(1, XFER_CHUNK);
	/*
	 * A destination asks a chunk again after half the source's timeout
	 * (so a lost one costs less than the move), at least 200 ms apart; a
	 * source keeps an offer nobody asks about for longer than all the
	 * retries take.
	 */
	x->retry_ms = t / 2 > 200 ? t / 2 : 200;
	x->offer_idle_ms = 4 * XFER_RETRIES * x->retry_ms;
	x->corrupt = getenv("LBPEER_TEST_CORRUPT_CHUNKS") != NULL;
	if (x->corrupt)
		log_warnx("LBPEER_TEST_CORRUPT_CHUNKS is set: every chunk "
		    "this peer serves is damaged (for tests only)");
	/* What an earlier life staged is incomplete by now. */
	x->in = store_path(p, ".in");
	store_rmtree(x->in);
	if (mkdir(x->in, 0700) == -1) {
		*cause = lb_printf("cannot create %s: %s", x->in,
		    strerror(errno));
		return -1;
	}
	x->tick = evtimer_new(p->base, tick_cb, p);
	evtimer_add(x->tick, &tv);
	return 0;
}

void
xfer_stop(struct peer *p)
{
	struct xfer	*x = X(p);

	if (x == NULL)
		return;
	for (size_t i = 0; i < OFFERS_MAX; i++)
		if (x->offers[i] != NULL)
			offer_free(x->offers[i]);
	for (size_t i = 0; i < FETCHES_MAX; i++)
		if (x->fetches[i] != NULL)
			fetch_free(x, x->fetches[i]);
	if (x->tick != NULL)
		event_free(x->tick);
	free(x->in);
	free(x->buf);
	free(x);
	p->xfer = NULL;
}

const struct xfer_stats *
xfer_stats(struct peer *p)
{
	return &X(p)->stats;
}
