/* journal_test.c - the journal: replay, damage, torn tails, ids, compaction. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "peer/journal.h"
#include "src/util.h"
#include "t/tap.h"

#define MAXREC	256

static char	 top[4096];	/* the test's temporary directory */

/* What replay handed back. */
static struct {
	char	*id[MAXREC];
	uint32_t epoch[MAXREC];
	int	 forgotten[MAXREC];
	size_t	 n;
} got;

static void
got_clear(void)
{
	for (size_t i = 0; i < got.n; i++)
		free(got.id[i]);
	got.n = 0;
}

static void
collect(Lb__TaskRecord *rec, void *arg)
{
	(void)arg;
	if (got.n < MAXREC) {
		got.id[got.n] = lb_strdup(rec->id);
		got.epoch[got.n] = rec->epoch;
		got.forgotten[got.n] = rec->forgotten;
		got.n++;
	}
	lb__task_record__free_unpacked(rec, NULL);
}

/* The ids read back, joined: "a.1 a.2". */
static char *
got_ids(void)
{
	static char	buf[8192];
	size_t		off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < got.n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
		    i ? " " : "", got.id[i]);
	return buf;
}

static char *
mkdir_fresh(const char *name)
{
	char	*d = lb_printf("%s/%s", top, name);

	if (mkdir(d, 0700) == -1) {
		perror(d);
		exit(2);
	}
	return d;
}

static char *
path_in(const char *dir, const char *name)
{
	static char	buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

static int
exists(const char *dir, const char *name)
{
	return access(path_in(dir, name), F_OK) == 0;
}

static long long
fsize(const char *dir)
{
	struct stat	st;

	return stat(path_in(dir, "journal"), &st) == 0 ? st.st_size : -1;
}

/* Open dir's journal, reading it back into `got`; fails the test on error. */
static struct journal *
jopen(const char *dir, struct journal_report *r)
{
	struct journal	*j;
	char		*cause = NULL;

	got_clear();
	if ((j = journal_open(dir, collect, NULL, r, &cause)) == NULL) {
		printf("# journal_open %s: %s\n", dir, cause);
		free(cause);
	}
	return j;
}

/* A record; `fill` bytes of inline output make it larger. */
static void
put(struct journal *j, const char *id, uint32_t epoch, int forgotten,
    size_t fill)
{
	Lb__TaskRecord	 r = LB__TASK_RECORD__INIT;
	uint8_t		*out = NULL;
	char		*cause;

	r.id = (char *)id;
	r.host = (char *)"n1";
	r.epoch = epoch;
	r.forgotten = forgotten;
	if (fill > 0) {
		out = lb_calloc(1, fill);
		memset(out, 'x', fill);
		r.stdout_inline.data = out;
		r.stdout_inline.len = fill;
	}
	if (journal_append(j, &r, epoch % 2, &cause) == -1) {
		printf("# journal_append: %s\n", cause);
		exit(2);
	}
	free(out);
}

/* Rewrite n bytes of dir/journal at off with `with`. */
static void
poke(const char *dir, long long off, const void *with, size_t n)
{
	int	fd = open(path_in(dir, "journal"), O_WRONLY);

	if (fd == -1 || pwrite(fd, with, n, off) != (ssize_t)n) {
		perror("poke");
		exit(2);
	}
	close(fd);
}

/* Insert n bytes into dir/journal at off. */
static void
insert(const char *dir, long long off, const void *what, size_t n)
{
	long long	 size = fsize(dir);
	uint8_t		*buf = lb_calloc(1, (size_t)size + n);
	int		 fd = open(path_in(dir, "journal"), O_RDWR);

	if (fd == -1 || pread(fd, buf, (size_t)size, 0) != size) {
		perror("insert");
		exit(2);
	}
	memmove(buf + off + n, buf + off, (size_t)(size - off));
	memcpy(buf + off, what, n);
	if (pwrite(fd, buf, (size_t)size + n, 0) != (ssize_t)(size + n)) {
		perror("insert");
		exit(2);
	}
	close(fd);
	free(buf);
}

static void
write_file(const char *dir, const char *name, const void *data, size_t n)
{
	int	fd = open(path_in(dir, name), O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1 || write(fd, data, n) != (ssize_t)n) {
		perror(name);
		exit(2);
	}
	close(fd);
}

static void
cut(const char *path, long long size)
{
	if (truncate(path, size) == -1) {
		perror(path);
		exit(2);
	}
}

static void
reserve(struct journal *j, uint64_t upto)
{
	char	*cause;

	if (journal_ids_reserve(j, upto, &cause) == -1) {
		printf("# journal_ids_reserve: %s\n", cause);
		exit(2);
	}
}

/* A journal with n records "t.1".."t.n" and their end offsets in ends[]. */
static struct journal *
fill_journal(const char *dir, int n, long long *ends)
{
	struct journal	*j = jopen(dir, NULL);
	char		 id[32];

	reserve(j, 1024);
	for (int i = 1; i <= n; i++) {
		snprintf(id, sizeof(id), "t.%d", i);
		put(j, id, (uint32_t)i, 0, (size_t)(10 * i));
		ends[i] = (long long)journal_size(j);
	}
	ends[0] = 0;
	return j;
}

static void
test_basic(void)
{
	char			*d = mkdir_fresh("basic");
	struct journal_report	 r;
	struct journal		*j;

	j = jopen(d, &r);
	ok(j != NULL, "a new journal opens");
	is(r.records + r.damaged + r.damaged_bytes + r.torn_bytes, 0,
	    "and reports nothing");
	is(journal_ids_floor(j), 1, "a new journal's id floor is 1 (its mark is written at once)");
	reserve(j, 1024);
	put(j, "t.1", 1, 0, 0);
	put(j, "t.2", 2, 0, 100);
	put(j, "t.1", 3, 0, 0);
	put(j, "t.2", 4, 1, 0);
	put(j, "t.3", 5, 0, 5000);
	is(journal_records(j), 5, "5 records in the file");
	is(journal_appended(j), 5, "5 appended since open");
	is(journal_size(j), fsize(d), "journal_size is the file's size");
	journal_close(j);

	j = jopen(d, &r);
	ok(j != NULL, "it opens again");
	is_str(got_ids(), "t.1 t.2 t.1 t.2 t.3", "every record, in order");
	ok(got.epoch[2] == 3 && got.epoch[4] == 5, "with their contents");
	ok(!got.forgotten[2] && got.forgotten[3],
	    "a tombstone is handed back as it was written");
	is(r.records, 5, "report: 5 records");
	is(r.damaged + r.damaged_bytes + r.torn_bytes, 0, "and no damage");
	is(journal_records(j), 5, "journal_records counts those read back");
	is(journal_appended(j), 0, "and none appended yet");
	put(j, "t.4", 6, 0, 0);
	is(journal_records(j), 6, "an append counts");
	journal_close(j);
	j = jopen(d, &r);
	is(got.n, 6, "and is read back");
	journal_close(j);
	free(d);
}

static void
test_torn(void)
{
	char			*d = mkdir_fresh("torn");
	struct journal_report	 r;
	struct journal		*j;
	long long		 ends[6], before, after;

	journal_close(fill_journal(d, 5, ends));
	cut(path_in(d, "journal"), ends[4] + 20);
	j = jopen(d, &r);
	ok(j != NULL, "a journal torn in its last record opens");
	is_str(got_ids(), "t.1 t.2 t.3 t.4", "the records before it are kept");
	is(r.torn_bytes, 20, "the torn bytes are reported");
	is(r.damaged, 0, "as torn, not damaged");
	is(fsize(d), ends[4], "and cut off");
	put(j, "t.6", 7, 0, 0);
	journal_close(j);
	j = jopen(d, &r);
	is_str(got_ids(), "t.1 t.2 t.3 t.4 t.6",
	    "a record appended after the cut is read back");
	is(r.torn_bytes, 0, "with nothing torn");
	journal_close(j);

	/* Half a header, then junk that looks like the start of a frame. */
	insert(d, fsize(d), "\xf5LBJ\x05", 5);
	j = jopen(d, &r);
	is(r.torn_bytes, 5, "half a header at the end is cut too");
	is(got.n, 5, "and nothing before it lost");
	journal_close(j);

	/* A whole frame whose payload is damaged, at the end. */
	j = jopen(d, NULL);
	before = (long long)journal_size(j);
	put(j, "t.7", 8, 0, 50);
	after = (long long)journal_size(j);
	journal_close(j);
	poke(d, before + 30, "\x00\x01", 2);
	j = jopen(d, &r);
	is(r.torn_bytes, after - before, "a damaged last record is cut");
	is(fsize(d), before, "back to the record before");
	is(got.n, 5, "which is kept");
	journal_close(j);
	free(d);
}

static void
test_damaged(void)
{
	char			*d = mkdir_fresh("damaged");
	struct journal_report	 r;
	struct journal		*j;
	long long		 ends[7], size;

	journal_close(fill_journal(d, 6, ends));
	size = fsize(d);

	/* A damaged payload: the header still says where the next one is. */
	poke(d, ends[1] + 20, "\xff\xfe\xfd", 3);
	j = jopen(d, &r);
	ok(j != NULL, "a journal damaged in the middle opens");
	is_str(got_ids(), "t.1 t.3 t.4 t.5 t.6",
	    "the damaged record is skipped, every later one kept");
	is(r.damaged, 1, "one damaged span is reported");
	is(r.damaged_bytes, ends[2] - ends[1], "of exactly that record");
	is(r.torn_bytes, 0, "nothing torn");
	is(r.records, 5, "5 good records");
	is(fsize(d), size, "the file is not cut");
	journal_close(j);

	/* A damaged magic and length: found again by scanning. */
	poke(d, ends[3], "\x00\x00\x00\x00\x00\x00", 6);
	j = jopen(d, &r);
	is_str(got_ids(), "t.1 t.3 t.5 t.6",
	    "a record with a damaged header is skipped too");
	is(r.damaged, 2, "two spans");
	is(r.damaged_bytes, (ends[2] - ends[1]) + (ends[4] - ends[3]),
	    "of exactly those records");
	journal_close(j);

	/* A length that points past the end. */
	poke(d, ends[4] + 4, "\x00\x00\x10\x00", 4);
	j = jopen(d, &r);
	is_str(got_ids(), "t.1 t.3 t.6", "a damaged length costs one record");
	is(r.damaged, 2, "the two spans next to each other are one");
	journal_close(j);

	/* Appends go on after damage in the middle. */
	j = jopen(d, NULL);
	put(j, "t.7", 7, 0, 0);
	journal_close(j);
	j = jopen(d, &r);
	is_str(got_ids(), "t.1 t.3 t.6 t.7", "an append after it is read back");
	is(r.damaged, 2, "the damage is reported until compaction");
	journal_close(j);
	free(d);
}

/* A 20-byte frame that checks out, around 4 bytes that are no TaskRecord. */
static const uint8_t *
bad_frame(void)
{
	static uint8_t			 f[20];
	crypto_generichash_state	 st;

	memcpy(f, "\xf5LBJ\x04\x00\x00\x00", 8);
	memcpy(f + 16, "\xff\xff\xff\xff", 4);
	crypto_generichash_init(&st, NULL, 0, 8);
	crypto_generichash_update(&st, f, 8);
	crypto_generichash_update(&st, f + 16, 4);
	crypto_generichash_final(&st, f + 8, 8);
	return f;
}

static void
test_garbage(void)
{
	char			*d = mkdir_fresh("garbage");
	struct journal_report	 r;
	struct journal		*j;
	long long		 ends[5];
	uint8_t			 junk[300];

	journal_close(fill_journal(d, 4, ends));
	randombytes_buf(junk, sizeof(junk));
	/* With the magic in it, and a header that almost checks out. */
	memcpy(junk + 10, "\xf5LBJ\x04\x00\x00\x00", 8);
	memcpy(junk + 100, "\xf5LBJ", 4);
	insert(d, ends[2], junk, sizeof(junk));
	j = jopen(d, &r);
	is_str(got_ids(), "t.1 t.2 t.3 t.4", "garbage between records: all kept");
	is(r.damaged, 1, "the garbage is one damaged span");
	is(r.damaged_bytes, sizeof(junk), "of its length");
	journal_close(j);

	insert(d, 0, junk, 7);
	j = jopen(d, &r);
	is_str(got_ids(), "t.1 t.2 t.3 t.4", "garbage at the start: all kept");
	is(r.damaged, 2, "reported");
	journal_close(j);
	free(d);

	/* A frame that checks out around a payload that does not decode. */
	d = mkdir_fresh("undecodable");
	journal_close(fill_journal(d, 3, ends));
	insert(d, ends[1], bad_frame(), 20);
	j = jopen(d, &r);
	is_str(got_ids(), "t.1 t.2 t.3", "an undecodable record is skipped");
	is(r.damaged_bytes, 20, "and reported as damage");
	journal_close(j);
	insert(d, fsize(d), bad_frame(), 20);
	j = jopen(d, &r);
	is(r.torn_bytes, 20, "at the end, it is cut");
	is(r.damaged, 1, "and not counted as damage");
	journal_close(j);
	free(d);
}

static void
test_ids(void)
{
	char			*d = mkdir_fresh("ids");
	struct journal		*j;
	char			*cause = NULL;
	long long		 ends[3];
	FILE			*f;
	char			 text[512];
	size_t			 n;

	j = fill_journal(d, 2, ends);
	is(journal_ids_reserved(j), 1024, "reserved up to 1024");
	is(journal_ids_floor(j), 1, "the floor stays what it was at open");
	journal_close(j);
	j = jopen(d, NULL);
	is(journal_ids_floor(j), 1024, "the floor survives a reopen");
	reserve(j, 10);
	is(journal_ids_reserved(j), 1024, "a lower reservation does nothing");
	journal_close(j);
	j = jopen(d, NULL);
	is(journal_ids_floor(j), 1024, "and the floor does not go down");
	reserve(j, 2048);
	journal_close(j);

	/* Whatever happens to the journal. */
	cut(path_in(d, "journal"), 3);
	j = jopen(d, NULL);
	is(journal_ids_floor(j), 2048, "nor when the journal is torn to nothing");
	is(got.n, 0, "(which lost every record)");
	journal_close(j);

	/* An unfinished reservation: ignored, and removed. */
	write_file(d, ".journal.ids.tmp", "reserved 99999\n", 15);
	j = jopen(d, NULL);
	is(journal_ids_floor(j), 2048, "a stray reservation file is ignored");
	ok(!exists(d, ".journal.ids.tmp"), "and removed");
	journal_close(j);

	/* A damaged mark is refused, not guessed. */
	f = fopen(path_in(d, "journal.ids"), "r");
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	ok(strstr(text, "reserved 2048\n") != NULL, "journal.ids is text");
	*strstr(text, "2048") = '1';
	write_file(d, "journal.ids", text, n);
	got_clear();
	ok(journal_open(d, collect, NULL, NULL, &cause) == NULL,
	    "a damaged journal.ids is refused");
	ok(cause != NULL && strstr(cause, "journal.ids is damaged"),
	    "saying so: %s", cause ? cause : "");
	free(cause);

	/* An operator's repair. */
	write_file(d, "journal.ids", "reserved 5000\n", 14);
	j = jopen(d, NULL);
	ok(j != NULL, "a hand-written mark is taken");
	is(journal_ids_floor(j), 5000, "as the floor");
	put(j, "t.3", 3, 0, 0);
	journal_close(j);

	unlink(path_in(d, "journal.ids"));
	cause = NULL;
	ok(journal_open(d, collect, NULL, NULL, &cause) == NULL,
	    "a missing journal.ids next to a journal is refused");
	ok(cause != NULL && strstr(cause, "journal.ids is missing"),
	    "saying so: %s", cause ? cause : "");
	free(cause);
	free(d);
}

/* The live records for compaction. */
struct live {
	Lb__TaskRecord	 rec[MAXREC];
	size_t		 n, i;
	int		 crash_after;	/* _exit after yielding this many */
};

static void
live_add(struct live *l, const char *id, uint32_t epoch, uint8_t *out,
    size_t len)
{
	Lb__TaskRecord	r = LB__TASK_RECORD__INIT;

	r.id = (char *)id;
	r.host = (char *)"n1";
	r.epoch = epoch;
	r.stdout_inline.data = out;
	r.stdout_inline.len = len;
	l->rec[l->n++] = r;
}

static const Lb__TaskRecord *
next_live(void *arg)
{
	struct live	*l = arg;

	if ((int)l->i == l->crash_after)
		_exit(0);
	return l->i < l->n ? &l->rec[l->i++] : NULL;
}

static void
test_compact(void)
{
	char			*d = mkdir_fresh("compact");
	struct journal_report	 r;
	struct journal		*j;
	struct live		 l;
	char			 id[MAXREC][16], *cause, want[4096] = "";
	long long		 before;

	j = jopen(d, NULL);
	reserve(j, 1024);
	/* 10 tasks, 3 records each; 2 of them end forgotten. */
	for (uint32_t e = 1; e <= 3; e++)
		for (int t = 1; t <= 10; t++) {
			snprintf(id[t], sizeof(id[t]), "t.%d", t);
			put(j, id[t], e, e == 3 && t % 5 == 0, 200);
		}
	is(journal_records(j), 30, "30 records");
	before = fsize(d);
	memset(&l, 0, sizeof(l));
	l.crash_after = -1;
	for (int t = 1; t <= 10; t++) {
		if (t % 5 == 0)
			continue;
		live_add(&l, id[t], 3, NULL, 0);
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
		    "%s%s", l.n > 1 ? " " : "", id[t]);
	}
	ok(journal_compact(j, next_live, &l, &cause) == 0, "compaction works");
	is(journal_records(j), 8, "the journal holds the 8 live records");
	is(journal_appended(j), 0, "none appended since");
	ok(fsize(d) < before / 3, "the file shrinks (%lld to %lld bytes)",
	    before, fsize(d));
	is(journal_size(j), fsize(d), "journal_size follows it");
	ok(!exists(d, ".journal.tmp"), "no temporary file is left");
	put(j, "t.11", 1, 0, 0);
	put(j, "t.1", 5, 0, 0);
	journal_close(j);
	j = jopen(d, &r);
	strcat(want, " t.11 t.1");
	is_str(got_ids(), want,
	    "exactly the live records, then the appends after compaction");
	ok(got.epoch[0] == 3 && got.epoch[9] == 5, "with their contents");
	is(r.damaged + r.torn_bytes, 0, "and nothing damaged");
	is(journal_ids_floor(j), 1024, "compaction leaves the ids alone");

	/* Compaction drops damage, too. */
	journal_close(j);
	poke(d, 20, "\x55", 1);
	j = jopen(d, &r);
	is(r.damaged, 1, "damage in the middle");
	l.i = 0;
	l.n = 2;
	ok(journal_compact(j, next_live, &l, &cause) == 0, "compacted");
	journal_close(j);
	j = jopen(d, &r);
	is(r.damaged, 0, "is gone after compaction");
	is(r.records, 2, "with the records yielded kept");
	journal_close(j);
	free(d);
}

static void
test_crash(void)
{
	char			*d = mkdir_fresh("crash");
	struct journal_report	 r;
	struct journal		*j;
	struct live		 l;
	long long		 ends[21], size;
	char			*cause;
	static uint8_t		 big[20000];	/* more than compaction buffers */
	pid_t			 pid;
	int			 status;

	journal_close(fill_journal(d, 20, ends));
	size = fsize(d);
	memset(&l, 0, sizeof(l));
	for (int i = 0; i < 20; i++)
		live_add(&l, "c.1", 1, big, sizeof(big));
	/* A peer that dies half way through a compaction. */
	l.crash_after = 10;
	fflush(stdout);
	if ((pid = fork()) == 0) {
		j = journal_open(d, collect, NULL, NULL, &cause);
		journal_compact(j, next_live, &l, &cause);
		_exit(3);
	}
	waitpid(pid, &status, 0);
	ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a compaction dies half way");
	ok(exists(d, ".journal.tmp"), "leaving its temporary file");
	j = jopen(d, &r);
	ok(j != NULL, "the journal opens");
	is(got.n, 20, "every record of the old journal is there");
	is(r.damaged + r.torn_bytes, 0, "whole");
	is(fsize(d), size, "the journal is the old one");
	ok(!exists(d, ".journal.tmp"), "the temporary file is removed");
	journal_close(j);

	/* A stray temporary file that is a whole journal of its own. */
	write_file(d, ".journal.tmp", "\xf5LBJ", 4);
	j = jopen(d, &r);
	is(got.n, 20, "a stray temporary file is not read");
	ok(!exists(d, ".journal.tmp"), "and removed");
	journal_close(j);
	free(d);
}

static void
test_old_format(void)
{
	char		*d = mkdir_fresh("old");
	Lb__TaskRecord	 r = LB__TASK_RECORD__INIT;
	uint8_t		 buf[256];
	uint32_t	 len;
	char		*cause = NULL;

	r.id = (char *)"t.1";
	len = (uint32_t)lb__task_record__pack(&r, buf + 12);
	memcpy(buf, &len, 4);	/* little-endian hosts only, as the format */
	crypto_generichash(buf + 4, 8, buf + 12, len, NULL, 0);
	write_file(d, "journal", buf, 12 + len);
	got_clear();
	ok(journal_open(d, collect, NULL, NULL, &cause) == NULL,
	    "a journal of the old format is refused");
	ok(cause != NULL && strstr(cause, "older format") != NULL,
	    "clearly: %s", cause ? cause : "");
	is(got.n, 0, "before reading anything");
	is(fsize(d), 12 + len, "and left as it was");
	free(cause);
	free(d);
}

static void
rm_rf(const char *path)
{
	DIR		*dir = opendir(path);
	struct dirent	*e;

	if (dir != NULL) {
		while ((e = readdir(dir)) != NULL) {
			char *sub;
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			sub = lb_printf("%s/%s", path, e->d_name);
			rm_rf(sub);
			free(sub);
		}
		closedir(dir);
		rmdir(path);
	} else
		unlink(path);
}

int
main(void)
{
	const char	*tmp = getenv("TMPDIR");
	int		 rc;

	if (sodium_init() < 0)
		return 2;
	snprintf(top, sizeof(top), "%s/journal_test.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(top) == NULL) {
		perror(top);
		return 2;
	}
	test_basic();
	test_torn();
	test_damaged();
	test_garbage();
	test_ids();
	test_compact();
	test_crash();
	test_old_format();
	rc = done_testing();
	got_clear();
	rm_rf(top);
	return rc;
}
