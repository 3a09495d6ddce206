/* journal.c - append-only task records, checked on the way back in. */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "src/log.h"
#include "src/util.h"
#include "journal.h"

#define JOURNAL_HDR	12		/* length + hash */
#define JOURNAL_MAX	(64u << 20)	/* no record is larger */

struct journal {
	int		 fd;
	char		*path;
	uint64_t	 size;
};

static void
hash8(const uint8_t *p, size_t len, uint8_t out[8])
{
	crypto_generichash(out, 8, p, len, NULL, 0);
}

/* Read the whole file back; returns the length of its good prefix. */
static uint64_t
journal_replay(struct journal *j, journal_cb cb, void *arg)
{
	struct stat	 st;
	uint8_t		*buf;
	uint64_t	 off = 0, n = 0;
	ssize_t		 r;
	size_t		 got = 0;

	if (fstat(j->fd, &st) == -1 || st.st_size == 0)
		return 0;
	buf = lb_calloc(1, (size_t)st.st_size);
	while (got < (size_t)st.st_size) {
		r = pread(j->fd, buf + got, (size_t)st.st_size - got,
		    (off_t)got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	while (off + JOURNAL_HDR <= got) {
		uint32_t	 len;
		uint8_t		 h[8];
		Lb__TaskRecord	*rec;

		memcpy(&len, buf + off, 4);
		len = le32toh(len);
		if (len > JOURNAL_MAX || off + JOURNAL_HDR + len > got)
			break;
		hash8(buf + off + JOURNAL_HDR, len, h);
		if (memcmp(h, buf + off + 4, 8) != 0)
			break;
		rec = lb__task_record__unpack(NULL, len, buf + off + JOURNAL_HDR);
		if (rec == NULL)
			break;
		cb(rec, arg);
		off += JOURNAL_HDR + len;
		n++;
	}
	if (off < (uint64_t)st.st_size)
		log_warnx("journal %s: the last %llu bytes are a torn or "
		    "corrupt record (a crash while writing?); skipped, and the "
		    "%llu records before it kept", j->path,
		    (unsigned long long)((uint64_t)st.st_size - off),
		    (unsigned long long)n);
	free(buf);
	return off;
}

struct journal *
journal_open(const char *dir, journal_cb cb, void *arg, char **cause)
{
	struct journal	*j = lb_calloc(1, sizeof(*j));
	struct stat	 st;

	j->path = lb_printf("%s/journal", dir);
	if ((j->fd = open(j->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1) {
		*cause = lb_printf("%s: %s", j->path, strerror(errno));
		free(j->path);
		free(j);
		return NULL;
	}
	j->size = journal_replay(j, cb, arg);
	/* Cut a torn tail, so that new records follow good ones. */
	if (fstat(j->fd, &st) == 0 && (uint64_t)st.st_size != j->size) {
		if (ftruncate(j->fd, (off_t)j->size) == -1 || fsync(j->fd) == -1) {
			*cause = lb_printf("%s: %s", j->path, strerror(errno));
			journal_close(j);
			return NULL;
		}
	}
	return j;
}

int
journal_append(struct journal *j, const Lb__TaskRecord *rec, int sync,
    char **cause)
{
	size_t		 len = lb__task_record__get_packed_size(rec);
	uint8_t		*buf = lb_calloc(1, JOURNAL_HDR + len);
	uint32_t	 le = htole32((uint32_t)len);
	ssize_t		 w;
	size_t		 done = 0;

	memcpy(buf, &le, 4);
	lb__task_record__pack(rec, buf + JOURNAL_HDR);
	hash8(buf + JOURNAL_HDR, len, buf + 4);
	while (done < JOURNAL_HDR + len) {
		w = pwrite(j->fd, buf + done, JOURNAL_HDR + len - done,
		    (off_t)(j->size + done));
		if (w < 0) {
			*cause = lb_printf("%s: %s", j->path, strerror(errno));
			/* Leave no half record behind. */
			if (ftruncate(j->fd, (off_t)j->size) == -1)
				log_warn("%s: ftruncate", j->path);
			free(buf);
			return -1;
		}
		done += (size_t)w;
	}
	free(buf);
	if (sync && fdatasync(j->fd) == -1) {
		*cause = lb_printf("%s: %s", j->path, strerror(errno));
		return -1;
	}
	j->size += JOURNAL_HDR + len;
	return 0;
}

uint64_t
journal_size(const struct journal *j)
{
	return j->size;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	close(j->fd);
	free(j->path);
	free(j);
}
