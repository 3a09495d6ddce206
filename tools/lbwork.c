/*
 * lbwork - a work program for tests, demos and benchmarks.
 *
 *   lbwork --ms N [--spin] [--state-kb K] [--step-ms S]
 *
 * Does N ms of work, sleeping or (with --spin) burning CPU, in small steps.
 * With LB_CHECKPOINT_DIR set it checkpoints on SIGUSR1 (or the signal in
 * LB_CHECKPOINT_SIGNAL): it writes the work left, a K-KiB state blob and its
 * checksum, and exits 85.  Started again with LB_RESUME=1, it checks the
 * checksum and goes on.  It ends with one line:
 *
 *   lbwork: done_ms=N resumes=R checksum=ok
 *
 * so that a test can prove that no work was lost or done twice.
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

#define CK_EXIT	85

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
	    "[--state-kb K] [--step-ms S]\n");
	exit(code);
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

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ms", required_argument, NULL, 'm' },
		{ "spin", no_argument, NULL, 's' },
		{ "state-kb", required_argument, NULL, 'k' },
		{ "step-ms", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	long		 total = -1, state_kb = 0, step = 10;
	int		 spin = 0, ch, resumes = 0, bad = 0;
	long		 done = 0;
	const char	*ckdir = getenv("LB_CHECKPOINT_DIR");
	unsigned char	*blob = NULL;
	size_t		 blen;
	char		 path[4096];

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		switch (ch) {
		case 'm': total = number("--ms", optarg); break;
		case 's': spin = 1; break;
		case 'k': state_kb = number("--state-kb", optarg); break;
		case 't': step = number("--step-ms", optarg); break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	if (total < 0 || optind != argc)
		usage(2);
	if (step < 1)
		step = 1;
	/* Asked to checkpoint while its state is still being built or read
	 * back: it checkpoints as soon as it can, not dies. */
	if (ckdir != NULL) {
		const char *s = getenv("LB_CHECKPOINT_SIGNAL");
		signal(s ? atoi(s) : SIGUSR1, on_signal);
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
			unsigned char *got = calloc(1, blen ? blen : 1);
			if (fread(got, 1, blen, f) != blen ||
			    checksum(got, blen) != sum ||
			    memcmp(got, blob, blen) != 0)
				bad = 1;
			free(got);
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
		if (checkpoint_asked && ckdir != NULL) {
			const char *s;
			char tmp[4200];
			FILE *f;

			snprintf(path, sizeof(path), "%s/lbwork.state", ckdir);
			snprintf(tmp, sizeof(tmp), "%s.tmp", path);
			if ((f = fopen(tmp, "w")) == NULL) {
				perror(tmp);
				return 1;
			}
			fprintf(f, "done_ms=%ld resumes=%d sum=%llu\n", done,
			    resumes, (unsigned long long)checksum(blob, blen));
			if (fwrite(blob, 1, blen, f) != blen || fflush(f) ||
			    fsync(fileno(f)) || fclose(f) || rename(tmp, path)) {
				perror(path);
				return 1;
			}
			s = getenv("LB_CHECKPOINT_EXIT_CODE");
			free(blob);
			return s ? atoi(s) : CK_EXIT;
		}
	}
	printf("lbwork: done_ms=%ld resumes=%d checksum=%s\n", done, resumes,
	    bad ? "bad" : "ok");
	free(blob);
	return bad ? 1 : 0;
}
