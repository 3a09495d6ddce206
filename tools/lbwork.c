/*
 * lbwork - a work program for tests, demos and benchmarks.
 *
 *   lbwork --ms N [--spin] [--state-kb K] [--step-ms S] [--recv K
 *       [--recv-timeout S]] [--input FILE:HASH]
 *   lbwork --hash FILE
 *
 * Does N ms of work, sleeping or (with --spin) burning CPU, in small steps.
 * With LB_CHECKPOINT_DIR set it checkpoints on SIGUSR1 (or the signal in
 * LB_CHECKPOINT_SIGNAL): it writes the work left, a K-KiB state blob and its
 * checksum, and exits 85.  Started again with LB_RESUME=1, it checks the
 * checksum and goes on.  It ends with one line:
 *
 *   lbwork: done_ms=N resumes=R checksum=ok
 *
 * so that a test can prove that no work was lost or done twice.  With
 * --input FILE:HASH (an attachment, in its directory) it first reads FILE
 * and checks it against HASH (FNV-1a, 64 bits, in hex, as --hash prints
 * it): missing or different, the line says checksum=bad.  With --recv
 * K it then receives K messages through liblbtask, each a decimal integer,
 * and adds what came to that line:
 *
 *   lbwork: done_ms=N resumes=R checksum=ok received=K sum=S inorder=yes
 *
 * With LBWORK_RUNLOG naming a file (lbctl submit --env ...), it appends
 * "start ID PID US" when it starts and "end ID PID US HOW" when it exits
 * or is stopped (US: wall clock, µs; HOW: done, checkpoint, exit, or term
 * for a SIGTERM, of which it then dies as before), so that tools/lbchaos
 * can tell whether two copies of a task ran at once (a copy killed with
 * SIGKILL writes no end: its pid is watched).
 *
 * inorder: from each sender, rising sequence numbers and rising integers
 * (tests send 1, 2, 3... from each).  What it has received goes into its
 * checkpoint, so that it counts on after a move.  It gives up when no
 * message has come for S s (default 60): the line shows what came, exit 1.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lbtask.h"

#define CK_EXIT	85
#define SENDERS_MAX	256

/* What --recv has received so far: it goes into the checkpoint. */
struct msgs {
	long		 want;		/* K; 0: no --recv */
	long		 received;
	long long	 sum;
	int		 inorder;
	int		 nsenders;
	struct sender {
		char		id[LBT_ID_MAX];
		uint64_t	seq;	/* its last */
		long long	value;	/* its last */
	}		 senders[SENDERS_MAX];
};

static volatile sig_atomic_t checkpoint_asked;

static void
on_signal(int sig)
{
	(void)sig;
	checkpoint_asked = 1;
}

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* FNV-1a over the blob: the checksum the state is checked with. */
static uint64_t
checksum(const unsigned char *p, size_t n)
{
	uint64_t	h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static void
usage(int code)
{
	fprintf(code ? stderr : stdout, "usage: lbwork --ms N [--spin] "
	    "[--state-kb K] [--step-ms S] [--recv K [--recv-timeout S]]\n"
	    "              [--input FILE:HASH]\n"
	    "       lbwork --hash FILE\n");
	exit(code);
}

/* One message: count it, add it, and check its order. */
static void
msgs_add(struct msgs *m, const char *from, uint64_t seq, const char *body,
    size_t len)
{
	struct sender	*s = NULL;
	char		 text[32], *ep;
	long long	 v;

	m->received++;
	snprintf(text, sizeof(text), "%.*s", (int)(len < 31 ? len : 31), body);
	errno = 0;
	v = strtoll(text, &ep, 10);
	if (len == 0 || len > 30 || errno || (*ep != '\0' && *ep != '\n')) {
		fprintf(stderr, "lbwork: a message from %s is not a decimal "
		    "integer\n", from);
		m->inorder = 0;
		return;
	}
	m->sum += v;
	for (int i = 0; i < m->nsenders; i++)
		if (strcmp(m->senders[i].id, from) == 0)
			s = &m->senders[i];
	if (s == NULL && m->nsenders < SENDERS_MAX) {
		s = &m->senders[m->nsenders++];
		snprintf(s->id, sizeof(s->id), "%s", from);
	} else if (s != NULL && (seq <= s->seq || v <= s->value))
		m->inorder = 0;
	if (s != NULL) {
		s->seq = seq;
		s->value = v;
	}
}

static void
msgs_write(FILE *f, const struct msgs *m)
{
	if (m->want == 0)
		return;
	fprintf(f, "msgs received=%ld sum=%lld inorder=%d senders=%d\n",
	    m->received, m->sum, m->inorder, m->nsenders);
	for (int i = 0; i < m->nsenders; i++)
		fprintf(f, "%s %llu %lld\n", m->senders[i].id,
		    (unsigned long long)m->senders[i].seq, m->senders[i].value);
}

/* After the state's first line: what --recv had received, if it is there
 * (the blob begins with a byte that is no letter). 0, or -1 if damaged. */
static int
msgs_read(FILE *f, struct msgs *m)
{
	int	c = getc(f);

	if (c != 'm') {
		if (c != EOF)
			ungetc(c, f);
		return 0;
	}
	if (fscanf(f, "sgs received=%ld sum=%lld inorder=%d senders=%d\n",
	    &m->received, &m->sum, &m->inorder, &m->nsenders) != 4 ||
	    m->nsenders < 0 || m->nsenders > SENDERS_MAX)
		return -1;
	for (int i = 0; i < m->nsenders; i++) {
		unsigned long long seq;
		if (fscanf(f, "%83s %llu %lld\n", m->senders[i].id, &seq,
		    &m->senders[i].value) != 3)
			return -1;
		m->senders[i].seq = seq;
	}
	return 0;
}

/* Write the checkpoint: the work done, the messages, the blob. */
static int
checkpoint(const char *ckdir, long done, int resumes, const unsigned char *blob,
    size_t blen, const struct msgs *m)
{
	char	path[4096], tmp[4200];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/lbwork.state", ckdir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL) {
		perror(tmp);
		return -1;
	}
	fprintf(f, "done_ms=%ld resumes=%d sum=%llu\n", done, resumes,
	    (unsigned long long)checksum(blob, blen));
	msgs_write(f, m);
	if (fwrite(blob, 1, blen, f) != blen || fflush(f) ||
	    fsync(fileno(f)) || fclose(f) || rename(tmp, path)) {
		perror(path);
		return -1;
	}
	return 0;
}

/*
 * Receive until m->want have come, or none for idle_s.  The checkpoint
 * signal is blocked while a request is out (a cut one could lose the
 * message the peer hands over then): it waits in 1 s slices instead.
 * 1 asked to checkpoint, 0 all came, -1 gave up.
 */
static int
receive(struct msgs *m, long idle_s, int sig)
{
	static char	 buf[LBT_MSG_MAX];
	char		 from[LBT_ID_MAX], said[512] = "";
	uint64_t	 seq, last = now_ms();
	sigset_t	 set, old;
	ssize_t		 n;

	sigemptyset(&set);
	if (sig > 0)
		sigaddset(&set, sig);
	while (m->received < m->want) {
		if (checkpoint_asked)
			return 1;
		sigprocmask(SIG_BLOCK, &set, &old);
		n = lbt_recv(buf, sizeof(buf), 1000, from, sizeof(from), &seq);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (n >= 0) {
			msgs_add(m, from, seq, buf, (size_t)n);
			last = now_ms();
			continue;
		}
		if (n != LBT_RECV_TIMEOUT) {
			/* Once per cause, not every 200 ms. */
			if (strcmp(said, lbt_error()) != 0)
				fprintf(stderr, "lbwork: recv: %s\n",
				    lbt_error());
			snprintf(said, sizeof(said), "%s", lbt_error());
			usleep(200000);
		}
		if (now_ms() - last > (uint64_t)idle_s * 1000) {
			fprintf(stderr, "lbwork: no message for %ld s; %ld of "
			    "%ld came\n", idle_s, m->received, m->want);
			return -1;
		}
	}
	return 0;
}

static long
number(const char *opt, const char *v)
{
	char	*ep;
	long	 n;

	errno = 0;
	n = strtol(v, &ep, 10);
	if (*v == '\0' || *ep != '\0' || errno || n < 0) {
		fprintf(stderr, "lbwork: %s: expected a number, got \"%s\"\n",
		    opt, v);
		exit(2);
	}
	return n;
}

/* How it ends, for the run log. */
static const char	*end_how = "exit";

/* LBWORK_RUNLOG: one line a start and an end, appended whole. */
static void
runlog(const char *what)
{
	const char	*path = getenv("LBWORK_RUNLOG");
	const char	*id = getenv("LB_TASK_ID");
	struct timespec	 ts;
	char		 line[256];
	int		 fd, n;

	if (path == NULL || *path == '\0')
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(line, sizeof(line), "%s %s %ld %lld%s%s\n", what,
	    id ? id : "-", (long)getpid(), (long long)ts.tv_sec * 1000000 +
	    ts.tv_nsec / 1000, strcmp(what, "end") == 0 ? " " : "",
	    strcmp(what, "end") == 0 ? end_how : "");
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) == -1)
		return;
	if (n > 0 && write(fd, line, (size_t)n) != n)
		fprintf(stderr, "lbwork: %s: short write\n", path);
	close(fd);
}

static void
runlog_end(void)
{
	runlog("end");
}

/* Stopped (a cancel, a hand-back): say so in the run log, then die of the
 * signal as before. */
static void
on_term(int sig)
{
	end_how = "term";
	runlog("end");
	signal(sig, SIG_DFL);
	raise(sig);
}

/* FNV-1a, 64 bits, of a file's bytes. */
static int
file_hash(const char *name, uint64_t *h)
{
	FILE		*f = fopen(name, "rb");
	unsigned char	 buf[65536];
	size_t		 n;

	if (f == NULL)
		return -1;
	*h = 14695981039346656037ULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		for (size_t i = 0; i < n; i++)
			*h = (*h ^ buf[i]) * 1099511628211ULL;
	fclose(f);
	return 0;
}

/* --input FILE:HASH: 1 if FILE is there and has that hash. */
static int
input_ok(const char *arg)
{
	const char	*colon = strrchr(arg, ':');
	char		 name[4096];
	uint64_t	 h;

	if (colon == NULL || colon == arg || (size_t)(colon - arg) >=
	    sizeof(name)) {
		fprintf(stderr, "lbwork: --input: expected FILE:HASH\n");
		exit(2);
	}
	memcpy(name, arg, (size_t)(colon - arg));
	name[colon - arg] = '\0';
	if (file_hash(name, &h) == -1) {
		fprintf(stderr, "lbwork: input %s: %s\n", name,
		    strerror(errno));
		return 0;
	}
	if (strtoull(colon + 1, NULL, 16) != h) {
		fprintf(stderr, "lbwork: input %s: not what it was (hash "
		    "%016llx)\n", name, (unsigned long long)h);
		return 0;
	}
	return 1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ms", required_argument, NULL, 'm' },
		{ "spin", no_argument, NULL, 's' },
		{ "state-kb", required_argument, NULL, 'k' },
		{ "step-ms", required_argument, NULL, 't' },
		{ "recv", required_argument, NULL, 'r' },
		{ "recv-timeout", required_argument, NULL, 'T' },
		{ "input", required_argument, NULL, 'i' },
		{ "hash", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	long		 total = -1, state_kb = 0, step = 10;
	int		 spin = 0, ch, resumes = 0, bad = 0;
	long		 done = 0, idle_s = 60;
	int		 sig = 0, got;
	static struct msgs msgs = { .inorder = 1 };
	const char	*ckdir = getenv("LB_CHECKPOINT_DIR");
	unsigned char	*blob = NULL;
	size_t		 blen;
	char		 path[4096];
	const char	*input = NULL;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		switch (ch) {
		case 'm': total = number("--ms", optarg); break;
		case 's': spin = 1; break;
		case 'k': state_kb = number("--state-kb", optarg); break;
		case 't': step = number("--step-ms", optarg); break;
		case 'r': msgs.want = number("--recv", optarg); break;
		case 'T': idle_s = number("--recv-timeout", optarg); break;
		case 'i': input = optarg; break;
		case 'H': {
			uint64_t h;

			if (file_hash(optarg, &h) == -1) {
				fprintf(stderr, "lbwork: %s: %s\n", optarg,
				    strerror(errno));
				return 1;
			}
			printf("%016llx\n", (unsigned long long)h);
			return 0;
		}
		case 'h': usage(0); break;
		default: usage(2);
		}
	if (total < 0 || optind != argc)
		usage(2);
	if (input != NULL && input_ok(input) == 0)
		bad = 1;
	runlog("start");
	atexit(runlog_end);
	if (getenv("LBWORK_RUNLOG") != NULL)
		signal(SIGTERM, on_term);
	if (step < 1)
		step = 1;
	/* Asked to checkpoint while its state is still being built or read
	 * back: it checkpoints as soon as it can, not dies. */
	if (ckdir != NULL) {
		const char *s = getenv("LB_CHECKPOINT_SIGNAL");
		sig = s ? atoi(s) : SIGUSR1;
		signal(sig, on_signal);
	}
	blen = (size_t)state_kb * 1024;
	blob = calloc(1, blen ? blen : 1);
	for (size_t i = 0; i < blen; i++)
		blob[i] = (unsigned char)(i * 31 + 7);

	if (ckdir != NULL && getenv("LB_RESUME") != NULL) {
		FILE *f;
		unsigned long long sum = 0;
		long d = 0;
		int r = 0;

		snprintf(path, sizeof(path), "%s/lbwork.state", ckdir);
		if ((f = fopen(path, "r")) == NULL ||
		    fscanf(f, "done_ms=%ld resumes=%d sum=%llu\n", &d, &r,
		    &sum) != 3) {
			fprintf(stderr, "lbwork: no usable checkpoint in %s\n",
			    ckdir);
			bad = 1;
		} else {
			unsigned char *back = calloc(1, blen ? blen : 1);
			if (msgs_read(f, &msgs) == -1 ||
			    fread(back, 1, blen, f) != blen ||
			    checksum(back, blen) != sum ||
			    memcmp(back, blob, blen) != 0)
				bad = 1;
			free(back);
			done = d;
			resumes = r + 1;
		}
		if (f)
			fclose(f);
	}
	while (done < total) {
		long d = total - done < step ? total - done : step;
		if (spin) {
			uint64_t end = now_ms() + (uint64_t)d;
			volatile uint64_t x = 0;
			while (now_ms() < end)
				x++;
		} else {
			/* A checkpoint request cuts the sleep short: count
			 * only the time slept. */
			struct timespec ts = { d / 1000, (d % 1000) * 1000000 };
			while (nanosleep(&ts, &ts) == -1 && errno == EINTR &&
			    !checkpoint_asked)
				;
			if (checkpoint_asked)
				d -= ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		}
		done += d;
		if (checkpoint_asked && ckdir != NULL)
			goto checkpoint;
	}
	got = receive(&msgs, idle_s, sig);
	if (got == 1 && ckdir != NULL)
		goto checkpoint;
	end_how = bad || got != 0 ? "exit" : "done";
	printf("lbwork: done_ms=%ld resumes=%d checksum=%s", done, resumes,
	    bad ? "bad" : "ok");
	if (msgs.want > 0)
		printf(" received=%ld sum=%lld inorder=%s", msgs.received,
		    msgs.sum, msgs.inorder ? "yes" : "no");
	printf("\n");
	free(blob);
	return bad || got != 0 ? 1 : 0;

checkpoint:
	{
		const char *s = getenv("LB_CHECKPOINT_EXIT_CODE");

		end_how = "checkpoint";
		if (checkpoint(ckdir, done, resumes, blob, blen, &msgs) == -1)
			return 1;
		free(blob);
		return s ? atoi(s) : CK_EXIT;
	}
}
