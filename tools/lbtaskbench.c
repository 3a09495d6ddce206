/*
 * lbtaskbench - the task benchmark's two loops, for tools/lbbench tasks.
 *
 *   lbtaskbench bare N PROG ARGS...          fork/exec/wait N times
 *   lbtaskbench peer SOCKET N PROG ARGS...   submit N tasks to a peer, then
 *                                            wait until every one has ended
 *
 * Each prints "tasks=N seconds=S rate=R" (tasks per second).  With
 * LBTB_CLIENTS=K (1 to 64) K processes share the N, each one after
 * another (the bare loop: K fork/exec/wait loops side by side; the peer:
 * K clients, each waiting for its submit's answer before the next).
 *
 *   lbtaskbench raw BYTES [CHUNK]
 *
 * The baseline of the migration benchmark: BYTES through a bare nanomsg
 * PUSH/PULL pair over tcp on loopback, in CHUNK-byte messages (1 MiB), one
 * process to another, over a connection already up; prints "bytes=N
 * seconds=S" from the go to the last byte received.
 *
 *   lbtaskbench crypto BYTES
 *
 * What each side of a transfer spends on libsodium for BYTES, on one
 * core: the envelope's tag (crypto_auth) of every 512 KiB chunk and the
 * end-to-end hash (crypto_generichash) of the whole; prints "bytes=N
 * seconds=S".
 *
 *   lbtaskbench load SEED RATE MEAN_MS TASKS WARMUP LBWORK SOCKET...
 *
 * The balancing benchmark's workload: Poisson arrivals at RATE tasks per
 * second at every peer, each `LBWORK --ms X` with X exponential of mean
 * MEAN_MS, from a seeded generator; TASKS in all, the first WARMUP not
 * counted.  When all have ended it reads their records from their homes
 * and prints the mean and 95th percentile of the response time (submit to
 * end), with a 95% confidence interval of the mean from 20 batch means.
 *
 * With LBTB_DIST=pareto the service times are heavy-tailed instead: a
 * bounded Pareto with alpha 1 (Pr[X > x] ~ 1/x, as measured for UNIX
 * processes by Harchol-Balter and Downey) from k to 1000 k, k chosen so that
 * the mean is MEAN_MS; with LBTB_CKPT=1 the tasks are checkpointable.  It
 * then also prints the mean slowdown (response time over service time).
 */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/tcp.h>

#include <sodium.h>

#include "src/client.h"
#include "src/util.h"

static void
report(long n, uint64_t start)
{
	double	s = (double)(lb_mono_ms() - start) / 1000;

	printf("tasks=%ld seconds=%.3f rate=%.1f\n", n, s, s > 0 ? n / s : 0);
}

/* LBTB_CLIENTS: how many processes share a loop. */
static long
clients(void)
{
	const char	*e = getenv("LBTB_CLIENTS");
	char		*end;
	long		 k;

	if (e == NULL || *e == '\0')
		return 1;
	k = strtol(e, &end, 10);
	if (*end != '\0' || k < 1 || k > 64) {
		fprintf(stderr, "lbtaskbench: LBTB_CLIENTS must be 1 to 64\n");
		exit(2);
	}
	return k;
}

/* Run fn(share, ...) in K children, the n split between them; 0 when
 * every one succeeded. */
static int
side_by_side(long k, long n, int (*fn)(long, void *), void *arg)
{
	pid_t	pids[64];
	int	rc = 0;

	for (long c = 0; c < k; c++) {
		long share = n / k + (c < n % k ? 1 : 0);

		if ((pids[c] = fork()) == 0)
			_exit(fn(share, arg) == 0 ? 0 : 1);
		if (pids[c] < 0) {
			perror("lbtaskbench: fork");
			/* (the others stop: no half a run counted) */
			for (long d = 0; d < c; d++) {
				kill(pids[d], SIGTERM);
				waitpid(pids[d], NULL, 0);
			}
			return 1;
		}
	}
	for (long c = 0; c < k; c++) {
		int st;

		if (waitpid(pids[c], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			rc = 1;
	}
	return rc;
}

static int
bare_loop(long n, void *arg)
{
	char	**argv = arg;

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
	return 0;
}

static int
bare(long n, char **argv)
{
	uint64_t	start = lb_mono_ms();
	long		k = clients();

	if ((k == 1 ? bare_loop(n, argv) : side_by_side(k, n, bare_loop,
	    argv)) != 0)
		return 1;
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

struct submits {
	const char	 *sock;
	char		**argv;
	int		  argc;
};

static int
submit_loop(long n, void *arg)
{
	struct submits	*a = arg;
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlSubmitReq sr = LB__CTL_SUBMIT_REQ__INIT;
	Lb__TaskSpec	 spec = LB__TASK_SPEC__INIT;

	spec.argv = a->argv;
	spec.n_argv = (size_t)a->argc;
	spec.checkpoint_exit_code = 85;
	sr.spec = &spec;
	req.req_case = LB__CTL_REQUEST__REQ_SUBMIT;
	req.submit = &sr;
	for (long i = 0; i < n; i++)
		lb__ctl_reply__free_unpacked(call(a->sock, &req), NULL);
	return 0;
}

static int
peer(const char *sock, long n, char **argv, int argc)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlReply	*rep;
	Lb__CtlStatusReq st = LB__CTL_STATUS_REQ__INIT;
	uint64_t	 start = lb_mono_ms();
	struct submits	 a = { sock, argv, argc };
	long		 k = clients();

	if ((k == 1 ? submit_loop(n, &a) : side_by_side(k, n, submit_loop,
	    &a)) != 0)
		return 1;
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

/*
 * Bounded Pareto, alpha 1, on [k, 1000 k] with mean m: the mean is
 * k p ln(p / k) / (p - k), so k = m (p/k - 1) / ((p/k) ln(p/k)).
 */
static double
bpareto(struct lb_rng *r, double m)
{
	const double	ratio = 1000;
	double		k = m * (ratio - 1) / (ratio * log(ratio)), p = k * ratio;
	double		u = ((double)(lb_rng_next(r) >> 11) + 0.5) /
			    9007199254740992.0;

	/* Inverse of F(x) = (1 - k/x) / (1 - k/p). */
	return k / (1 - u * (1 - k / p));
}

/* A response time, its service time, and when the task was submitted. */
struct sample {
	double	submitted;
	double	resp;
	double	service;
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
		resp[n].service = r->spec->n_argv >= 3 ?
		    atof(r->spec->argv[2]) : 0;
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
	const char	*dist = getenv("LBTB_DIST"), *ck = getenv("LBTB_CKPT");
	int		 pareto = dist != NULL && strcmp(dist, "pareto") == 0;

	lb_rng_seed(&rng, seed);
	spec.checkpointable = ck != NULL && strcmp(ck, "1") == 0;
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
		snprintf(ms, sizeof(ms), "%ld", (long)((pareto ? bpareto(&rng,
		    mean) : expo(&rng, mean)) + 0.5));
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
			double sum = 0, bm[20], bsum = 0, bsq = 0, half, slow = 0;
			size_t per;
			for (size_t i = 0; i < n; i++) {
				sum += resp[i].resp;
				slow += resp[i].resp / (resp[i].service > 1 ?
				    resp[i].service : 1);
			}
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
			    "seconds=%.1f slowdown=%.2f", n, sum / (double)n,
			    resp[(size_t)(0.95 * (double)(n - 1))].resp, half,
			    ((double)lb_mono_ms() - t0) / 1000, slow / (double)n);
			if (pareto) {
				/* The mean slowdown by size: where it comes
				 * from (short < 3 mean/10 <= medium < 3 mean
				 * <= long). */
				double sl[3] = { 0 };
				size_t nl[3] = { 0 };
				for (size_t i = 0; i < n; i++) {
					double v = resp[i].service;
					int c = v < 0.3 * mean ? 0 : v < 3 *
					    mean ? 1 : 2;
					sl[c] += resp[i].resp / (v > 1 ? v : 1);
					nl[c]++;
				}
				printf(" slowdown_short=%.2f slowdown_medium=%.2f "
				    "slowdown_long=%.2f short=%zu medium=%zu "
				    "long=%zu", nl[0] ? sl[0] / (double)nl[0] :
				    0, nl[1] ? sl[1] / (double)nl[1] : 0, nl[2] ?
				    sl[2] / (double)nl[2] : 0, nl[0], nl[1],
				    nl[2]);
			}
			printf("\n");
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

static int
raw(uint64_t bytes, size_t chunk)
{
	char		 addr[64];
	int		 pull, max = -1, go[2], done[2], port = 0, one = 1;
	uint64_t	 got = 0, t0, t1;
	pid_t		 pid;
	char		 c = 0;

	if (pipe(go) == -1 || pipe(done) == -1)
		return 1;
	/* nanomsg is not fork-safe: fork before either side has a socket. */
	if ((pid = fork()) == 0) {
		int push;
		char *buf = malloc(chunk);
		if (read(go[0], addr, sizeof(addr)) != sizeof(addr))
			_exit(1);
		push = nn_socket(AF_SP, NN_PUSH);
		nn_setsockopt(push, NN_TCP, NN_TCP_NODELAY, &one, sizeof(one));
		memset(buf, 'x', chunk);
		nn_connect(push, addr);
		/* The connection is up before the clock starts. */
		if (nn_send(push, "w", 1, 0) < 0 || read(go[0], &c, 1) != 1)
			_exit(1);
		for (uint64_t sent = 0; sent < bytes; sent += chunk) {
			size_t n = bytes - sent < chunk ? (size_t)(bytes - sent) :
			    chunk;
			if (nn_send(push, buf, n, 0) < 0)
				_exit(1);
		}
		/* NN_LINGER is ignored: stay until the receiver has it all. */
		if (read(done[0], &c, 1) != 1)
			_exit(1);
		nn_close(push);
		_exit(0);
	}
	pull = nn_socket(AF_SP, NN_PULL);
	nn_setsockopt(pull, NN_SOL_SOCKET, NN_RCVMAXSIZE, &max, sizeof(max));
	for (int tries = 0; tries < 50; tries++) {
		port = 20000 + (int)(((uint32_t)getpid() * 7919u + (uint32_t)tries *
		    104729u) % 40000);
		snprintf(addr, sizeof(addr), "tcp://127.0.0.1:%d", port);
		if (nn_bind(pull, addr) >= 0)
			break;
		port = 0;
	}
	if (port == 0) {
		fprintf(stderr, "lbtaskbench: raw: no port\n");
		return 1;
	}
	if (write(go[1], addr, sizeof(addr)) != sizeof(addr))
		return 1;
	{
		void *m;
		if (nn_recv(pull, &m, NN_MSG, 0) < 0)
			return 1;
		nn_freemsg(m);
	}
	t0 = lb_mono_us();
	if (write(go[1], &c, 1) != 1)
		return 1;
	while (got < bytes) {
		void *m;
		int n = nn_recv(pull, &m, NN_MSG, 0);
		if (n < 0)
			return 1;
		got += (uint64_t)n;
		nn_freemsg(m);
	}
	t1 = lb_mono_us();
	if (write(done[1], &c, 1) != 1)
		return 1;
	waitpid(pid, NULL, 0);
	nn_close(pull);
	printf("bytes=%llu seconds=%.6f\n", (unsigned long long)bytes,
	    (double)(t1 - t0) / 1e6);
	return 0;
}

static int
crypto(uint64_t bytes)
{
	const size_t	 chunk = 512 * 1024;
	unsigned char	*buf = malloc(chunk), key[crypto_auth_KEYBYTES];
	unsigned char	 tag[crypto_auth_BYTES], h[32];
	crypto_generichash_state st;
	uint64_t	 t0;

	if (sodium_init() < 0 || buf == NULL)
		return 1;
	randombytes_buf(key, sizeof(key));
	memset(buf, 'x', chunk);
	t0 = lb_mono_us();
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	for (uint64_t done = 0; done < bytes; done += chunk) {
		size_t n = bytes - done < chunk ? (size_t)(bytes - done) : chunk;
		crypto_auth(tag, buf, n, key);
		crypto_generichash_update(&st, buf, n);
	}
	crypto_generichash_final(&st, h, sizeof(h));
	printf("bytes=%llu seconds=%.6f\n", (unsigned long long)bytes,
	    (double)(lb_mono_us() - t0) / 1e6);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "crypto") == 0)
		return crypto(strtoull(argv[2], NULL, 10));
	if (argc >= 3 && strcmp(argv[1], "raw") == 0)
		return raw(strtoull(argv[2], NULL, 10), argc >= 4 ?
		    (size_t)strtoull(argv[3], NULL, 10) : 1 << 20);
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
