/*
 * lbtaskbench - the task benchmark's two loops, for tools/lbbench tasks.
 *
 *   lbtaskbench bare N PROG ARGS...          fork/exec/wait N times
 *   lbtaskbench peer SOCKET N PROG ARGS...   submit N tasks to a peer, then
 *                                            wait until every one has ended
 *
 * Each prints "tasks=N seconds=S rate=R" (tasks per second).
 *
 *   lbtaskbench load SEED RATE MEAN_MS TASKS WARMUP LBWORK SOCKET...
 *
 * The balancing benchmark's workload: Poisson arrivals at RATE tasks per
 * second at every peer, each `LBWORK --ms X` with X exponential of mean
 * MEAN_MS, from a seeded generator; TASKS in all, the first WARMUP not
 * counted.  When all have ended it reads their records from their homes
 * and prints the mean and 95th percentile of the response time (submit to
 * end), with a 95% confidence interval of the mean from 20 batch means.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/client.h"
#include "src/util.h"

static void
report(long n, uint64_t start)
{
	double	s = (double)(lb_mono_ms() - start) / 1000;

	printf("tasks=%ld seconds=%.3f rate=%.1f\n", n, s, s > 0 ? n / s : 0);
}

static int
bare(long n, char **argv)
{
	uint64_t	start = lb_mono_ms();

	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		int st;
		if (pid == 0) {
			int fd = open("/dev/null", 1);
			dup2(fd, 1);
			execvp(argv[0], argv);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			fprintf(stderr, "lbtaskbench: %s failed\n", argv[0]);
			return 1;
		}
	}
	report(n, start);
	return 0;
}

static Lb__CtlReply *
call(const char *sock, Lb__CtlRequest *req)
{
	Lb__CtlReply	*rep;
	char		*cause;

	if (lbc_call(sock, req, &rep, 10000, &cause) != LBC_OK) {
		fprintf(stderr, "lbtaskbench: %s\n", cause);
		exit(3);
	}
	if (rep->code != 0) {
		fprintf(stderr, "lbtaskbench: %s\n", rep->error);
		exit(1);
	}
	return rep;
}

static int
peer(const char *sock, long n, char **argv, int argc)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlSubmitReq sr = LB__CTL_SUBMIT_REQ__INIT;
	Lb__TaskSpec	 spec = LB__TASK_SPEC__INIT;
	Lb__CtlReply	*rep;
	Lb__CtlStatusReq st = LB__CTL_STATUS_REQ__INIT;
	uint64_t	 start = lb_mono_ms();

	spec.argv = argv;
	spec.n_argv = (size_t)argc;
	spec.checkpoint_exit_code = 85;
	sr.spec = &spec;
	req.req_case = LB__CTL_REQUEST__REQ_SUBMIT;
	req.submit = &sr;
	for (long i = 0; i < n; i++)
		lb__ctl_reply__free_unpacked(call(sock, &req), NULL);
	/* Until nothing runs or waits. */
	req.req_case = LB__CTL_REQUEST__REQ_STATUS;
	req.status = &st;
	for (;;) {
		int busy;
		rep = call(sock, &req);
		busy = rep->status->running + rep->status->queued;
		lb__ctl_reply__free_unpacked(rep, NULL);
		if (busy == 0)
			break;
		usleep(2000);
	}
	report(n, start);
	return 0;
}

/* Exponential with mean m, from the seeded generator. */
static double
expo(struct lb_rng *r, double m)
{
	double	u = ((double)(lb_rng_next(r) >> 11) + 0.5) / 9007199254740992.0;

	return -m * log(u);
}

/* A response time, and when the task was submitted. */
struct sample {
	double	submitted;
	double	resp;
};

static int
cmp_submitted(const void *a, const void *b)
{
	double	x = ((const struct sample *)a)->submitted;
	double	y = ((const struct sample *)b)->submitted;

	return x < y ? -1 : x > y;
}

static int
cmp_resp(const void *a, const void *b)
{
	double	x = ((const struct sample *)a)->resp;
	double	y = ((const struct sample *)b)->resp;

	return x < y ? -1 : x > y;
}

/* The home's records of ids home.(first..last): response times. */
static size_t
collect(const char *sock, uint64_t first, uint64_t last, struct sample *resp,
    int *pending)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlListReq	 lr = LB__CTL_LIST_REQ__INIT;
	Lb__CtlReply	*rep;
	size_t		 n = 0;

	lr.all = 1;
	req.req_case = LB__CTL_REQUEST__REQ_LIST;
	req.list = &lr;
	rep = call(sock, &req);
	*pending = 0;
	for (size_t i = 0; i < rep->list->n_tasks; i++) {
		Lb__TaskRecord *r = rep->list->tasks[i];
		uint64_t seq = strtoull(strrchr(r->id, '.') + 1, NULL, 10);
		if (seq < first || seq > last)
			continue;
		if (r->state != LB__TASK_STATE__TASK_DONE) {
			if (r->state != LB__TASK_STATE__TASK_FAILED &&
			    r->state != LB__TASK_STATE__TASK_CANCELLED)
				(*pending)++;
			continue;
		}
		resp[n].submitted = (double)r->submitted_ms;
		resp[n++].resp = (double)(r->finished_ms - r->submitted_ms);
	}
	lb__ctl_reply__free_unpacked(rep, NULL);
	return n;
}

static int
load(int argc, char **argv)
{
	uint64_t	 seed = strtoull(argv[2], NULL, 10);
	double		 rate = atof(argv[3]), mean = atof(argv[4]);
	long		 ntasks = atol(argv[5]), warm = atol(argv[6]);
	const char	*work = argv[7];
	char		**socks = argv + 8;
	int		 np = argc - 8;
	struct lb_rng	 rng;
	double		*next, t0, now;
	struct sample	*resp;
	uint64_t	*first, *last;
	long		 sent = 0;
	char		 ms[32];
	char		*targv[4] = { (char *)work, (char *)"--ms", ms, NULL };
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlSubmitReq sr = LB__CTL_SUBMIT_REQ__INIT;
	Lb__TaskSpec	 spec = LB__TASK_SPEC__INIT;

	lb_rng_seed(&rng, seed);
	next = calloc((size_t)np, sizeof(*next));
	first = calloc((size_t)np, sizeof(*first));
	last = calloc((size_t)np, sizeof(*last));
	resp = calloc((size_t)ntasks + 1, sizeof(*resp));
	for (int i = 0; i < np; i++)
		next[i] = expo(&rng, 1000.0 / rate);
	spec.argv = targv;
	spec.n_argv = 3;
	spec.checkpoint_exit_code = 85;
	sr.spec = &spec;
	req.req_case = LB__CTL_REQUEST__REQ_SUBMIT;
	req.submit = &sr;
	t0 = (double)lb_mono_ms();
	while (sent < ntasks) {
		int i = 0;
		Lb__CtlReply *rep;
		uint64_t seq;

		for (int k = 1; k < np; k++)
			if (next[k] < next[i])
				i = k;
		now = (double)lb_mono_ms() - t0;
		if (next[i] > now)
			usleep((useconds_t)((next[i] - now) * 1000));
		snprintf(ms, sizeof(ms), "%ld", (long)(expo(&rng, mean) + 0.5));
		rep = call(socks[i], &req);
		seq = strtoull(strrchr(rep->submitted, '.') + 1, NULL, 10);
		if (sent >= warm && first[i] == 0)
			first[i] = seq;
		last[i] = seq;
		lb__ctl_reply__free_unpacked(rep, NULL);
		next[i] += expo(&rng, 1000.0 / rate);
		sent++;
	}
	/* Wait for every result at its home. */
	for (;;) {
		size_t n = 0;
		int pending = 0, p;
		for (int i = 0; i < np; i++) {
			if (first[i] == 0 || first[i] > last[i])
				continue;
			n += collect(socks[i], first[i], last[i], resp + n, &p);
			pending += p;
		}
		if (pending == 0) {
			double sum = 0, bm[20], bsum = 0, bsq = 0, half;
			size_t per;
			for (size_t i = 0; i < n; i++)
				sum += resp[i].resp;
			/* Batch means over the tasks in submission order. */
			qsort(resp, n, sizeof(*resp), cmp_submitted);
			per = n / 20;
			for (int b = 0; b < 20; b++) {
				bm[b] = 0;
				for (size_t i = (size_t)b * per; i < (size_t)(b + 1) *
				    per; i++)
					bm[b] += resp[i].resp;
				bm[b] /= (double)(per ? per : 1);
				bsum += bm[b];
				bsq += bm[b] * bm[b];
			}
			half = 2.093 * sqrt((bsq - bsum * bsum / 20) / 19 / 20);
			qsort(resp, n, sizeof(*resp), cmp_resp);
			printf("tasks=%zu mean_ms=%.1f p95_ms=%.1f ci_ms=%.1f "
			    "seconds=%.1f\n", n, sum / (double)n,
			    resp[(size_t)(0.95 * (double)(n - 1))].resp, half,
			    ((double)lb_mono_ms() - t0) / 1000);
			break;
		}
		usleep(200000);
	}
	free(next);
	free(first);
	free(last);
	free(resp);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 9 && strcmp(argv[1], "load") == 0)
		return load(argc, argv);
	if (argc >= 4 && strcmp(argv[1], "bare") == 0)
		return bare(atol(argv[2]), argv + 3);
	if (argc >= 5 && strcmp(argv[1], "peer") == 0)
		return peer(argv[2], atol(argv[3]), argv + 4, argc - 4);
	fprintf(stderr, "usage: lbtaskbench bare N PROG ARGS... | peer SOCKET "
	    "N PROG ARGS... | load SEED RATE MEAN_MS TASKS WARMUP LBWORK "
	    "SOCKET...\n");
	return 2;
}
