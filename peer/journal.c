/* journal.c - append-only task records, framed to survive damage; id marks. */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "src/log.h"
#include "src/util.h"
#include "journal.h"

#define JOURNAL_HDR	16		/* magic + length + check */
#define JOURNAL_MAX	(64u << 20)	/* no record is larger */
#define OLD_HDR		12		/* the format before: length + check */
#define SPANS_LOGGED	8		/* damaged spans logged one by one */
#define FLUSH_AT	(1u << 16)	/* compaction writes this much at once */
#define IDS_MAX		4096		/* journal.ids is smaller */

static const uint8_t magic[4] = { 0xf5, 'L', 'B', 'J' };

struct journal {
	int		 fd;
	char		*dir;
	char		*path;
	char		*tmp;		/* compaction */
	uint64_t	 size;
	uint64_t	 records;
	uint64_t	 appended;
	uint64_t	 ids_floor;
	uint64_t	 ids_reserved;
	uint8_t		*buf;		/* frames being written */
	size_t		 len, cap;
	uint64_t	 slack_to;	/* disk space held to here */
	int		 slack_failed;	/* (said once) */
};

/*
 * Space held ahead of the journal's end (fallocate, its size unchanged):
 * a task that fills the disk leaves the journal room for the records that
 * say so, so the peer does not stop for want of a block.
 */
#define JOURNAL_SLACK	(1u << 20)

static void	slack(struct journal *);

void
journal_hold_space(struct journal *j)
{
	slack(j);
}

static void
slack(struct journal *j)
{
	if (j->slack_to >= j->size + JOURNAL_SLACK / 2)
		return;
	if (fallocate(j->fd, FALLOC_FL_KEEP_SIZE, (off_t)j->size,
	    JOURNAL_SLACK) == 0) {
		j->slack_to = j->size + JOURNAL_SLACK;
		if (j->slack_failed)
			log_info("journal: space ahead is held again");
		j->slack_failed = 0;
	} else if (errno == EOPNOTSUPP || errno == ENOSYS) {
		j->slack_to = UINT64_MAX;	/* this file system cannot */
	} else if (!j->slack_failed) {
		j->slack_failed = 1;
		log_warnx("journal: cannot hold space ahead (%s): %" PRIu64
		    " bytes left of what is held", strerror(errno),
		    j->slack_to > j->size ? j->slack_to - j->size : 0);
	}
}

int
journal_short(const struct journal *j)
{
	return j->slack_failed;
}

/* BLAKE2b-64 of a frame's magic and length, then its payload. */
static void
frame_check(const uint8_t *hdr, const uint8_t *payload, uint32_t len,
    uint8_t out[8])
{
	crypto_generichash_state	st;

	crypto_generichash_init(&st, NULL, 0, 8);
	crypto_generichash_update(&st, hdr, 8);
	crypto_generichash_update(&st, payload, len);
	crypto_generichash_final(&st, out, 8);
}

/* Append the frame of rec to j->buf. */
static int
frame_put(struct journal *j, const Lb__TaskRecord *rec, char **cause)
{
	size_t		 len = lb__task_record__get_packed_size(rec);
	uint32_t	 le;
	uint8_t		*f;

	if (len > JOURNAL_MAX) {
		*cause = lb_printf("%s: record of task %s too large (%zu "
		    "bytes)", j->path, rec->id, len);
		return -1;
	}
	if (j->len + JOURNAL_HDR + len > j->cap) {
		j->cap = j->len + JOURNAL_HDR + len + FLUSH_AT;
		j->buf = lb_reallocarray(j->buf, 1, j->cap);
	}
	f = j->buf + j->len;
	le = htole32((uint32_t)len);
	memcpy(f, magic, 4);
	memcpy(f + 4, &le, 4);
	lb__task_record__pack(rec, f + JOURNAL_HDR);
	frame_check(f, f + JOURNAL_HDR, (uint32_t)len, f + 8);
	j->len += JOURNAL_HDR + len;
	return 0;
}

/* Whether a good frame starts at off; its payload's length in *lenp. */
static int
frame_ok(const uint8_t *buf, uint64_t size, uint64_t off, uint32_t *lenp)
{
	uint32_t	len;
	uint8_t		h[8];

	if (off > size || size - off < JOURNAL_HDR ||
	    memcmp(buf + off, magic, 4) != 0)
		return 0;
	memcpy(&len, buf + off + 4, 4);
	len = le32toh(len);
	if (len > JOURNAL_MAX || size - off - JOURNAL_HDR < len)
		return 0;
	frame_check(buf + off, buf + off + JOURNAL_HDR, len, h);
	if (memcmp(h, buf + off + 8, 8) != 0)
		return 0;
	*lenp = len;
	return 1;
}

/* Where the next good frame after a bad one at off starts, or size. */
static uint64_t
frame_next(const uint8_t *buf, uint64_t size, uint64_t off)
{
	const uint8_t	*m;
	uint32_t	 len, nlen;

	/*
	 * A whole header over a damaged payload: the next frame follows it.
	 * Looking there first keeps a frame inside the damaged payload (a
	 * task's argv could hold one) from being taken for a record.
	 */
	if (size - off >= JOURNAL_HDR && memcmp(buf + off, magic, 4) == 0) {
		memcpy(&len, buf + off + 4, 4);
		len = le32toh(len);
		if (len <= JOURNAL_MAX && size - off - JOURNAL_HDR > len &&
		    frame_ok(buf, size, off + JOURNAL_HDR + len, &nlen))
			return off + JOURNAL_HDR + len;
	}
	for (off++; off < size; off++) {
		if ((m = memmem(buf + off, size - off, magic, 4)) == NULL)
			break;
		off = (uint64_t)(m - buf);
		if (frame_ok(buf, size, off, &nlen))
			return off;
	}
	return size;
}

/* Whether the file starts with a frame of the format before the magic. */
static int
old_format(const uint8_t *buf, uint64_t size)
{
	uint32_t	len;
	uint8_t		h[8];

	if (size < OLD_HDR || memcmp(buf, magic, 4) == 0)
		return 0;
	memcpy(&len, buf, 4);
	len = le32toh(len);
	if (len > JOURNAL_MAX || size - OLD_HDR < len)
		return 0;
	crypto_generichash(h, 8, buf + OLD_HDR, len, NULL, 0);
	return memcmp(h, buf + 4, 8) == 0;
}

/*
 * Read back the good records of buf; returns the length to keep.  The bytes
 * between two good records are one damaged span; those after the last one
 * are the torn tail.
 */
static uint64_t
replay(struct journal *j, const uint8_t *buf, uint64_t size, journal_cb cb,
    void *arg, struct journal_report *r)
{
	uint64_t	 off = 0, end = 0;
	uint32_t	 len;
	Lb__TaskRecord	*rec;

	while (off < size) {
		if (!frame_ok(buf, size, off, &len)) {
			off = frame_next(buf, size, off);
			continue;
		}
		rec = lb__task_record__unpack(NULL, len, buf + off + JOURNAL_HDR);
		if (rec == NULL) {
			/* Checked but undecodable: a bug, not a crash. */
			off += JOURNAL_HDR + len;
			continue;
		}
		if (off > end) {
			if (r->damaged < SPANS_LOGGED)
				log_warnx("journal %s: %" PRIu64 " damaged "
				    "bytes at offset %" PRIu64 " skipped",
				    j->path, off - end, end);
			r->damaged++;
			r->damaged_bytes += off - end;
		}
		cb(rec, arg);
		r->records++;
		off = end = off + JOURNAL_HDR + len;
	}
	r->torn_bytes = size - end;
	if (r->damaged > 0)
		log_warnx("journal %s: %" PRIu64 " damaged spans (%" PRIu64
		    " bytes) skipped; the good records after them kept",
		    j->path, r->damaged, r->damaged_bytes);
	if (r->torn_bytes > 0)
		log_warnx("journal %s: the last %" PRIu64 " bytes are a torn "
		    "or corrupt record (a crash while writing?); cut, and the "
		    "%" PRIu64 " records before it kept", j->path,
		    r->torn_bytes, r->records);
	return end;
}

/* The text of journal.ids for a mark; a hand-written "reserved N" is let in. */
static int
ids_format(uint64_t mark, int check, char *out, size_t size)
{
	char	line[64];
	uint8_t	h[8];
	char	hex[17];

	snprintf(line, sizeof(line), "reserved %" PRIu64 "\n", mark);
	if (!check)
		return snprintf(out, size, "%s", line);
	crypto_generichash(h, 8, (const uint8_t *)line, strlen(line), NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	return snprintf(out, size, "# lbpeer: no task sequence at or above "
	    "this mark was issued; never lower it\n%scheck %s\n", line, hex);
}

/* Read DIR/journal.ids into j->ids_floor: 0 (and *missing), or -1. */
static int
ids_read(struct journal *j, int *missing, char **cause)
{
	char		*path = lb_printf("%s/journal.ids", j->dir);
	char		 buf[IDS_MAX + 1], want[IDS_MAX], *s, *ep;
	int		 fd, rc = -1;
	ssize_t		 n;
	size_t		 got = 0;
	uint64_t	 mark;

	*missing = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT) {
			*missing = 1;
			rc = 0;
		} else
			*cause = lb_printf("%s: %s", path, strerror(errno));
		goto out;
	}
	while (got < IDS_MAX && (n = read(fd, buf + got, IDS_MAX - got)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			*cause = lb_printf("%s: %s", path, strerror(errno));
			close(fd);
			goto out;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	/* The text must be exactly what ids_format makes of its number. */
	if ((s = strstr(buf, "reserved ")) != NULL &&
	    (s == buf || s[-1] == '\n')) {
		errno = 0;
		mark = strtoull(s + 9, &ep, 10);
		if (errno == 0 && ep != s + 9 && *ep == '\n' &&
		    ((ids_format(mark, 1, want, sizeof(want)) == (int)got &&
		    memcmp(want, buf, got) == 0) ||
		    (ids_format(mark, 0, want, sizeof(want)) == (int)got &&
		    memcmp(want, buf, got) == 0))) {
			j->ids_floor = j->ids_reserved = mark;
			rc = 0;
			goto out;
		}
	}
	*cause = lb_printf("%s is damaged: which task ids were issued is "
	    "unknown; write one line \"reserved N\" to it, N above every "
	    "sequence this peer issued", path);
out:
	free(path);
	return rc;
}

/* Read the whole journal; NULL with *cause set on a read error. */
static uint8_t *
slurp(struct journal *j, uint64_t size, char **cause)
{
	uint8_t	*buf;
	ssize_t	 r;
	size_t	 got = 0;

	if ((uint64_t)(size_t)size != size) {
		*cause = lb_printf("%s: too large to read", j->path);
		return NULL;
	}
	buf = lb_calloc(1, size > 0 ? (size_t)size : 1);
	while (got < size) {
		r = pread(j->fd, buf + got, (size_t)size - got, (off_t)got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			*cause = lb_printf("%s: %s", j->path, r == 0 ?
			    "shorter than its size" : strerror(errno));
			free(buf);
			return NULL;
		}
		got += (size_t)r;
	}
	return buf;
}

/* Remove what an interrupted compaction or reservation left. */
static void
remove_stray(struct journal *j)
{
	char	*ids = lb_printf("%s/.journal.ids.tmp", j->dir);

	if (unlink(j->tmp) == 0)
		log_warnx("journal %s: a compaction did not finish; its "
		    "temporary file removed, the journal before it kept",
		    j->path);
	else if (errno != ENOENT)
		log_warn("%s", j->tmp);
	if (unlink(ids) == -1 && errno != ENOENT)
		log_warn("%s", ids);
	free(ids);
}

struct journal *
journal_open(const char *dir, journal_cb cb, void *arg,
    struct journal_report *report, char **cause)
{
	struct journal		*j = lb_calloc(1, sizeof(*j));
	struct journal_report	 r;
	struct stat		 st;
	uint8_t			*buf = NULL;
	int			 missing;

	memset(&r, 0, sizeof(r));
	j->fd = -1;
	j->dir = lb_strdup(dir);
	j->path = lb_printf("%s/journal", dir);
	j->tmp = lb_printf("%s/.journal.tmp", dir);
	remove_stray(j);
	if ((j->fd = open(j->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1 ||
	    fstat(j->fd, &st) == -1) {
		*cause = lb_printf("%s: %s", j->path, strerror(errno));
		goto fail;
	}
	/* A new journal's name must last, too. */
	if (st.st_size == 0 && lb_fsync_dir(dir, cause) == -1)
		goto fail;
	if ((buf = slurp(j, (uint64_t)st.st_size, cause)) == NULL)
		goto fail;
	if (old_format(buf, (uint64_t)st.st_size)) {
		*cause = lb_printf("%s: a journal of an older format (records "
		    "without a magic number); this version cannot read it: "
		    "move it away to start with an empty one", j->path);
		goto fail;
	}
	if (ids_read(j, &missing, cause) == -1)
		goto fail;
	/* A new journal gets its mark at once, so that a missing one later
	 * means it was lost (a peer also journals tasks of other homes before
	 * it issues an id of its own). */
	if (missing && st.st_size == 0) {
		if (journal_ids_reserve(j, 1, cause) == -1)
			goto fail;
		j->ids_floor = 1;
		missing = 0;
	}
	if (missing && st.st_size > 0) {
		*cause = lb_printf("%s/journal.ids is missing but the journal "
		    "holds records: which task ids were issued is unknown; "
		    "write one line \"reserved N\" to it, N above every "
		    "sequence this peer issued", dir);
		goto fail;
	}
	j->size = replay(j, buf, (uint64_t)st.st_size, cb, arg, &r);
	j->records = r.records;
	free(buf);
	buf = NULL;
	/* Cut a torn tail, so that new records follow good ones. */
	if (j->size != (uint64_t)st.st_size && (ftruncate(j->fd,
	    (off_t)j->size) == -1 || fsync(j->fd) == -1)) {
		*cause = lb_printf("%s: %s", j->path, strerror(errno));
		goto fail;
	}
	slack(j);
	if (report != NULL)
		*report = r;
	return j;
fail:
	free(buf);
	journal_close(j);
	return NULL;
}

/* pwrite all of j->buf at off. */
static int
write_buf(struct journal *j, int fd, uint64_t off, const char *path,
    char **cause)
{
	ssize_t	w;
	size_t	done = 0;

	while (done < j->len) {
		w = pwrite(fd, j->buf + done, j->len - done,
		    (off_t)(off + done));
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1) {
			*cause = lb_printf("%s: %s", path, strerror(errno));
			return -1;
		}
		done += (size_t)w;
	}
	return 0;
}

int
journal_append(struct journal *j, const Lb__TaskRecord *rec, int sync,
    char **cause)
{
	size_t	len;

	j->len = 0;
	if (frame_put(j, rec, cause) == -1)
		return -1;
	len = j->len;
	if (write_buf(j, j->fd, j->size, j->path, cause) == -1) {
		/* Leave no half record behind. */
		if (ftruncate(j->fd, (off_t)j->size) == -1)
			log_warn("%s: ftruncate", j->path);
		return -1;
	}
	if (sync && fdatasync(j->fd) == -1) {
		*cause = lb_printf("%s: %s", j->path, strerror(errno));
		return -1;
	}
	j->size += len;
	j->records++;
	j->appended++;
	slack(j);
	return 0;
}

int
journal_compact(struct journal *j, journal_next_cb next, void *arg,
    char **cause)
{
	const Lb__TaskRecord	*rec;
	uint64_t		 off = 0, n = 0;
	int			 fd;

	if ((fd = open(j->tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		*cause = lb_printf("%s: %s", j->tmp, strerror(errno));
		return -1;
	}
	j->len = 0;
	while ((rec = next(arg)) != NULL) {
		if (frame_put(j, rec, cause) == -1)
			goto fail;
		n++;
		if (j->len >= FLUSH_AT) {
			if (write_buf(j, fd, off, j->tmp, cause) == -1)
				goto fail;
			off += j->len;
			j->len = 0;
		}
	}
	if (write_buf(j, fd, off, j->tmp, cause) == -1)
		goto fail;
	off += j->len;
	j->len = 0;
	if (fsync(fd) == -1) {
		*cause = lb_printf("%s: %s", j->tmp, strerror(errno));
		goto fail;
	}
	/* Before the rename a crash leaves the old journal, after it the new. */
	if (rename(j->tmp, j->path) == -1) {
		*cause = lb_printf("%s: %s", j->path, strerror(errno));
		goto fail;
	}
	close(j->fd);
	j->fd = fd;
	j->size = off;
	j->records = n;
	j->appended = 0;
	j->slack_to = 0;
	slack(j);
	return lb_fsync_dir(j->dir, cause);
fail:
	close(fd);
	unlink(j->tmp);
	return -1;
}

uint64_t
journal_size(const struct journal *j)
{
	return j->size;
}

uint64_t
journal_records(const struct journal *j)
{
	return j->records;
}

uint64_t
journal_appended(const struct journal *j)
{
	return j->appended;
}

int
journal_ids_reserve(struct journal *j, uint64_t upto, char **cause)
{
	char	text[IDS_MAX];
	int	len;

	if (upto <= j->ids_reserved)
		return 0;
	len = ids_format(upto, 1, text, sizeof(text));
	if (lb_write_atomic(j->dir, "journal.ids", text, (size_t)len,
	    cause) == -1)
		return -1;
	j->ids_reserved = upto;
	return 0;
}

uint64_t
journal_ids_floor(const struct journal *j)
{
	return j->ids_floor;
}

uint64_t
journal_ids_reserved(const struct journal *j)
{
	return j->ids_reserved;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->fd != -1)
		close(j->fd);
	free(j->dir);
	free(j->path);
	free(j->tmp);
	free(j->buf);
	free(j);
}
