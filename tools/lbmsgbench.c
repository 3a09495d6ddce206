/*
 * lbmsgbench - the message benchmark's loops, for tools/lbbench forward.
 *
 *   lbmsgbench recv N
 *
 * Run as a task: receive N messages with lbt_recv, then print
 * "received=N seconds=S rate=R" (from the first message to the last, in
 * this run of it) and exit 0 (1 if none came for 120 s).  It is
 * checkpointable: on the checkpoint signal (LB_CHECKPOINT_SIGNAL, SIGUSR1)
 * it writes how many it has received to LB_CHECKPOINT_DIR and exits with
 * LB_CHECKPOINT_EXIT_CODE (85); with LB_RESUME set it counts on.  The
 * signal is blocked while a recv is out; it waits in 1 s slices.
 *
 *   lbmsgbench send ID N [SIZE [PAR]]
 *
 * From outside a task, LB_CONTROL naming a peer's control socket: N
 * messages of SIZE bytes (100) to task ID, each sent synchronously (the
 * call returns when the message is in the receiver's mailbox: a round
 * trip), from PAR threads at once (1).  It calls msg_send, what lbt_send
 * is a wrapper of, for the hops the peer reports.  Prints one line:
 *
 *   mode=send n=N size=S par=P seconds=T rate=R median_us=M p95_us=Q
 *       first_us=F hops_first=H hops_rest=HR failed=X
 *
 * The first message goes alone (first_us, hops_first: a chain's); the
 * rate, median and 95th percentile are of the others when N > 1 (rate in
 * messages per second over their time; hops_rest their mean hops).
 *
 *   lbmsgbench raw N [SIZE [PAR [tcp|ipc]]]
 *
 * The baseline in the same run: a bare nanomsg REQ/REP pair, one process
 * to another over tcp on loopback (or ipc), N round trips of SIZE bytes
 * over connections already up, from PAR REQ sockets in PAR threads.
 * Prints the same line (mode=raw, no hops).
 *
 *   lbmsgbench floor N [SIZE [recv]]
 *
 * The floor of a one-hop send in the same run: the path a message takes,
 * with no work at all where the peers would be.  A client's REQ socket
 * asks a "sender peer" over ipc (REP); it pushes the message over tcp to
 * a "holder peer" (PUSH/PULL), which pushes an acknowledgement back over
 * another tcp connection; then the sender peer replies.  With recv, a
 * fourth process, the "task", takes each message from the holder with a
 * request of its own over ipc (REQ/REP), as lbt_recv does.  Four (or five)
 * processes, blocking calls, no protobuf, no MAC, no journal.  Prints the
 * same line (mode=floor or floorrecv).
 *
 *   lbmsgbench ctl N [SOCKET [keep]]
 *
 * N control requests (status, the smallest) to the peer at SOCKET
 * (LB_CONTROL), each as lbt_send makes its request (lbc_call, which keeps
 * one socket a thread); with keep, all on one REQ socket of its own,
 * connected once.
 * Prints the same line (mode=ctl or ctlkeep): the part of a send's
 * latency that is the control socket, not the message.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/reqrep.h>
#include <nanomsg/tcp.h>

#include "lbtask.h"
#include "src/client.h"
#include "src/msg.h"
#include "src/util.h"

#define RECV_IDLE_S	120

static volatile sig_atomic_t checkpoint_asked;

static void
on_signal(int sig)
{
	(void)sig;
	checkpoint_asked = 1;
}

static int
usage(void)
{
	fprintf(stderr, "usage: lbmsgbench recv N\n"
	    "       lbmsgbench send ID N [SIZE [PAR]]\n"
	    "       lbmsgbench raw N [SIZE [PAR [tcp|ipc]]]\n"
	    "       lbmsgbench floor N [SIZE [recv]]\n"
	    "       lbmsgbench ctl N [SOCKET [keep]]\n");
	return 2;
}

/* ---- recv ---- */

static int
do_recv(long want)
{
	static char	 buf[LBT_MSG_MAX];
	const char	*ckdir = getenv("LB_CHECKPOINT_DIR"), *s;
	char		 path[4096];
	long		 got = 0, first = -1;
	int		 sig = 0, code = 85;
	uint64_t	 last, t0 = 0;
	sigset_t	 set, old;
	FILE		*f;

	sigemptyset(&set);
	if (ckdir != NULL) {
		sig = (s = getenv("LB_CHECKPOINT_SIGNAL")) ? atoi(s) : SIGUSR1;
		if ((s = getenv("LB_CHECKPOINT_EXIT_CODE")) != NULL)
			code = atoi(s);
		signal(sig, on_signal);
		sigaddset(&set, sig);
		snprintf(path, sizeof(path), "%s/lbmsgbench.state", ckdir);
		if (getenv("LB_RESUME") != NULL) {
			if ((f = fopen(path, "r")) == NULL ||
			    fscanf(f, "%ld", &got) != 1) {
				fprintf(stderr, "lbmsgbench: no usable "
				    "checkpoint in %s\n", ckdir);
				return 1;
			}
			fclose(f);
		}
	}
	last = lb_mono_ms();
	while (got < want) {
		ssize_t n;

		if (checkpoint_asked) {
			if ((f = fopen(path, "w")) == NULL ||
			    fprintf(f, "%ld\n", got) < 0 || fclose(f) != 0) {
				fprintf(stderr, "lbmsgbench: cannot write %s\n",
				    path);
				return 1;
			}
			return code;
		}
		sigprocmask(SIG_BLOCK, &set, &old);
		n = lbt_recv(buf, sizeof(buf), 1000, NULL, 0, NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (n >= 0) {
			if (first < 0) {
				first = got;
				t0 = lb_mono_us();
			}
			got++;
			last = lb_mono_ms();
			continue;
		}
		if (n != LBT_RECV_TIMEOUT) {
			fprintf(stderr, "lbmsgbench: recv: %s\n", lbt_error());
			usleep(200000);
		}
		if (lb_mono_ms() - last > RECV_IDLE_S * 1000) {
			fprintf(stderr, "lbmsgbench: no message for %d s; %ld "
			    "of %ld came\n", RECV_IDLE_S, got, want);
			printf("received=%ld\n", got);
			return 1;
		}
	}
	{
		double secs = first >= 0 ? (double)(lb_mono_us() - t0) / 1e6 : 0;

		printf("received=%ld seconds=%.3f rate=%.0f\n", got, secs,
		    secs > 0 ? (double)(got - first - 1) / secs : 0.0);
	}
	return 0;
}

/* ---- the figures ---- */

struct run {
	const char	*mode;
	long		 n;
	size_t		 size;
	int		 par;
	uint64_t	*lat;		/* us, one per message */
	int		*hops;		/* -1: none reported */
	long		 failed;
};

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The figures over messages skip.. of the run (us: their time). */
static void
report(struct run *r, uint64_t us, long skip)
{
	long		 n = r->n - skip;
	uint64_t	*s = malloc((size_t)n * sizeof(*s));
	double		 rest = 0;
	long		 nrest = 0;

	memcpy(s, r->lat + skip, (size_t)n * sizeof(*s));
	qsort(s, (size_t)n, sizeof(*s), cmp_u64);
	printf("mode=%s n=%ld size=%zu par=%d seconds=%.3f rate=%.0f "
	    "median_us=%llu p95_us=%llu first_us=%llu", r->mode, n,
	    r->size, r->par, (double)us / 1e6, (double)n * 1e6 /
	    (double)(us ? us : 1), (unsigned long long)s[(n - 1) / 2],
	    (unsigned long long)s[(n * 95 + 99) / 100 - 1],
	    (unsigned long long)r->lat[0]);
	if (r->hops != NULL) {
		for (long i = 1; i < r->n; i++)
			if (r->hops[i] >= 0) {
				rest += r->hops[i];
				nrest++;
			}
		printf(" hops_first=%d hops_rest=%.3f", r->hops[0],
		    nrest ? rest / (double)nrest : 0.0);
	}
	printf(" failed=%ld\n", r->failed);
	free(s);
}

/* Messages i, i + par, i + 2 par... of the run: thread i's share. */
struct share {
	struct run	*r;
	int		 i;
	const char	*path, *id, *addr;
	char		*body;
};

static void *
send_share(void *arg)
{
	struct share	*sh = arg;
	struct run	*r = sh->r;
	const char	*self = lbt_self();

	for (long k = sh->i; k < r->n; k += r->par) {
		Lb__CtlReply	*rep;
		char		*cause = NULL;
		uint64_t	 t0 = lb_mono_us();
		enum msg_result	 st;

		st = msg_send(sh->path, sh->id, sh->body, r->size,
		    self ? self : "", 30000, &rep, &cause);
		r->lat[k] = lb_mono_us() - t0;
		r->hops[k] = -1;
		if (st != MSGR_OK) {
			if (__atomic_fetch_add(&r->failed, 1, __ATOMIC_RELAXED) < 3)
				fprintf(stderr, "lbmsgbench: send: %s\n",
				    cause ? cause : "failed");
		} else
			r->hops[k] = (int)rep->sent->n_hops;
		if (rep != NULL)
			lb__ctl_reply__free_unpacked(rep, NULL);
		free(cause);
	}
	return NULL;
}

static int
do_send(const char *id, long n, size_t size, int par)
{
	struct run	 r = { "send", n, size, par, NULL, NULL, 0 };
	const char	*path = getenv("LB_CONTROL");
	struct share	*sh;
	pthread_t	*th;
	char		*body;
	uint64_t	 t0;

	if (path == NULL || *path == '\0') {
		fprintf(stderr, "lbmsgbench: send: LB_CONTROL is not set\n");
		return 2;
	}
	r.lat = calloc((size_t)n, sizeof(*r.lat));
	r.hops = calloc((size_t)n, sizeof(*r.hops));
	body = malloc(size ? size : 1);
	memset(body, 'm', size);
	sh = calloc((size_t)par, sizeof(*sh));
	th = calloc((size_t)par, sizeof(*th));
	/* The first alone: its latency (a chain's) is not shared, and the
	 * figures are of the others (when there are others). */
	{
		struct run one = r;

		one.n = 1;
		one.par = 1;
		sh[0] = (struct share){ &one, 0, path, id, NULL, body };
		t0 = lb_mono_us();
		send_share(&sh[0]);
		r.failed = one.failed;
	}
	if (n > 1) {
		r.lat++;
		r.hops++;
		r.n--;
		t0 = lb_mono_us();
		for (int i = 0; i < par; i++) {
			sh[i] = (struct share){ &r, i, path, id, NULL, body };
			pthread_create(&th[i], NULL, send_share, &sh[i]);
		}
		for (int i = 0; i < par; i++)
			pthread_join(th[i], NULL);
		r.lat--;
		r.hops--;
		r.n++;
	}
	report(&r, lb_mono_us() - t0, n > 1);
	return r.failed ? 1 : 0;
}

/* A socket of type t bound at a fresh address of transport tr (in addr). */
static int
bind_any(int t, const char *tr, char *addr, size_t len)
{
	int s = nn_socket(AF_SP, t), one = 1, max = -1;

	if (s < 0)
		return -1;
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &max, sizeof(max));
	nn_setsockopt(s, NN_TCP, NN_TCP_NODELAY, &one, sizeof(one));
	for (int tries = 0; tries < 50; tries++) {
		if (strcmp(tr, "ipc") == 0)
			snprintf(addr, len, "ipc:///tmp/lbmsgbench.%d.%d.%d",
			    (int)getpid(), t, tries);
		else
			snprintf(addr, len, "tcp://127.0.0.1:%d", 20000 +
			    (int)(((uint32_t)getpid() * 7919u + (uint32_t)t *
			    31u + (uint32_t)tries * 104729u) % 40000));
		if (nn_bind(s, addr) >= 0)
			return s;
	}
	nn_close(s);
	return -1;
}

/* ---- raw ---- */

static void *
raw_share(void *arg)
{
	struct share	*sh = arg;
	struct run	*r = sh->r;
	int		 s = nn_socket(AF_SP, NN_REQ), one = 1;
	void		*m;

	nn_setsockopt(s, NN_TCP, NN_TCP_NODELAY, &one, sizeof(one));
	if (nn_connect(s, sh->addr) < 0)
		return NULL;
	/* The connection is up before the clock starts. */
	if (nn_send(s, "w", 1, 0) < 0 || nn_recv(s, &m, NN_MSG, 0) < 0)
		return NULL;
	nn_freemsg(m);
	/* Every thread ready: the barrier is the first message's reply. */
	for (long k = sh->i; k < r->n; k += r->par) {
		uint64_t t0 = lb_mono_us();

		if (nn_send(s, sh->body, r->size, 0) < 0 ||
		    nn_recv(s, &m, NN_MSG, 0) < 0) {
			__atomic_fetch_add(&r->failed, 1, __ATOMIC_RELAXED);
			continue;
		}
		nn_freemsg(m);
		r->lat[k] = lb_mono_us() - t0;
	}
	nn_close(s);
	return NULL;
}

static int
do_raw(long n, size_t size, int par, const char *transport)
{
	struct run	 r = { "raw", n, size, par, NULL, NULL, 0 };
	char		 addr[128] = "";
	int		 pp[2], ipc = strcmp(transport, "ipc") == 0;
	pid_t		 pid;
	struct share	*sh;
	pthread_t	*th;
	char		*body;
	uint64_t	 t0;

	if (pipe(pp) == -1)
		return 1;
	/* nanomsg is not fork-safe: fork before either side has a socket. */
	if ((pid = fork()) == 0) {
		int rep = bind_any(NN_REP, transport, addr, sizeof(addr));

		if (rep < 0)
			addr[0] = '\0';
		if (write(pp[1], addr, sizeof(addr)) != sizeof(addr) ||
		    addr[0] == '\0')
			_exit(1);
		for (;;) {
			void *m;
			int k = nn_recv(rep, &m, NN_MSG, 0);

			if (k < 0)
				_exit(1);
			if (nn_send(rep, &m, NN_MSG, 0) < 0)
				_exit(1);
		}
	}
	if (read(pp[0], addr, sizeof(addr)) != sizeof(addr) ||
	    addr[0] == '\0') {
		fprintf(stderr, "lbmsgbench: raw: no address to bind\n");
		return 1;
	}
	r.lat = calloc((size_t)n, sizeof(*r.lat));
	body = malloc(size ? size : 1);
	memset(body, 'm', size);
	sh = calloc((size_t)par, sizeof(*sh));
	th = calloc((size_t)par, sizeof(*th));
	t0 = lb_mono_us();
	for (int i = 0; i < par; i++) {
		sh[i] = (struct share){ &r, i, NULL, NULL, addr, body };
		pthread_create(&th[i], NULL, raw_share, &sh[i]);
	}
	for (int i = 0; i < par; i++)
		pthread_join(th[i], NULL);
	report(&r, lb_mono_us() - t0, 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (ipc)
		unlink(addr + 6);
	return r.failed ? 1 : 0;
}

/* ---- floor ---- */

static int
connect_to(int t, const char *addr)
{
	int s = nn_socket(AF_SP, t), one = 1, max = -1;

	if (s < 0)
		return -1;
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &max, sizeof(max));
	nn_setsockopt(s, NN_TCP, NN_TCP_NODELAY, &one, sizeof(one));
	if (nn_connect(s, addr) < 0) {
		nn_close(s);
		return -1;
	}
	return s;
}

/* Pass each address up a pipe: 128 bytes, "" when it failed. */
#define FLOOR_ADDR	128

static void
put_addr(int fd, const char *addr)
{
	char a[FLOOR_ADDR] = "";

	snprintf(a, sizeof(a), "%s", addr ? addr : "");
	if (write(fd, a, sizeof(a)) != sizeof(a))
		_exit(1);
}

static int
get_addr(int fd, char *a)
{
	return read(fd, a, FLOOR_ADDR) == FLOOR_ADDR && a[0] != '\0' ? 0 : -1;
}

static int
do_floor(long n, size_t size, int recv)
{
	struct run	 r = { recv ? "floorrecv" : "floor", n, size, 1, NULL,
			    NULL, 0 };
	char		 ctl[FLOOR_ADDR] = "", back[FLOOR_ADDR], fwd[FLOOR_ADDR],
			 task[FLOOR_ADDR] = "", *body = NULL;
	int		 p1[2], p2[2], p3[2], p4[2], req, rc;
	pid_t		 pids[3] = { -1, -1, -1 };
	uint64_t	 t0;
	void		*m;

	/* nanomsg is not fork-safe: each process makes its own sockets. */
	if (pipe(p1) == -1 || pipe(p2) == -1 || pipe(p3) == -1 ||
	    pipe(p4) == -1)
		return 1;
	if ((pids[0] = fork()) == 0) {
		/* The holder peer: PULL (tcp) in, PUSH back; REP for recv. */
		int pull = bind_any(NN_PULL, "tcp", fwd, sizeof(fwd)), push,
		    rep = -1;

		put_addr(p2[1], pull < 0 ? NULL : fwd);
		if (recv) {
			rep = bind_any(NN_REP, "ipc", task, sizeof(task));
			/* For the task, and for the parent to remove. */
			put_addr(p3[1], rep < 0 ? NULL : task);
			put_addr(p3[1], rep < 0 ? NULL : task);
		}
		if (get_addr(p1[0], back) == -1 ||
		    (push = connect_to(NN_PUSH, back)) < 0)
			_exit(1);
		for (;;) {
			void *q = NULL;
			int k;

			if (recv && nn_recv(rep, &q, NN_MSG, 0) < 0)
				_exit(1);
			if ((k = nn_recv(pull, &m, NN_MSG, 0)) < 0)
				_exit(1);
			/* The acknowledgement first, then the task's answer. */
			if (nn_send(push, "a", 1, 0) < 0)
				_exit(1);
			if (recv) {
				nn_freemsg(q);
				if (nn_send(rep, &m, NN_MSG, 0) < 0)
					_exit(1);
			} else
				nn_freemsg(m);
		}
	}
	if (recv && (pids[1] = fork()) == 0) {
		/* The task: one request for each message. */
		int s;

		if (get_addr(p3[0], task) == -1 ||
		    (s = connect_to(NN_REQ, task)) < 0)
			_exit(1);
		for (;;) {
			if (nn_send(s, "r", 1, 0) < 0 ||
			    nn_recv(s, &m, NN_MSG, 0) < 0)
				_exit(1);
			nn_freemsg(m);
		}
	}
	if ((pids[2] = fork()) == 0) {
		/* The sender peer: REP (ipc) for the client, PUSH on, PULL. */
		int rep = bind_any(NN_REP, "ipc", ctl, sizeof(ctl)),
		    pull = bind_any(NN_PULL, "tcp", back, sizeof(back)), push;

		put_addr(p1[1], pull < 0 ? NULL : back);
		put_addr(p4[1], rep < 0 ? NULL : ctl);
		if (get_addr(p2[0], fwd) == -1 ||
		    (push = connect_to(NN_PUSH, fwd)) < 0)
			_exit(1);
		for (;;) {
			int k = nn_recv(rep, &m, NN_MSG, 0);

			if (k < 0 || nn_send(push, &m, NN_MSG, 0) < 0 ||
			    nn_recv(pull, &m, NN_MSG, 0) < 0 ||
			    nn_send(rep, &m, NN_MSG, 0) < 0)
				_exit(1);
		}
	}
	if (get_addr(p4[0], ctl) == -1 || (req = connect_to(NN_REQ, ctl)) < 0) {
		fprintf(stderr, "lbmsgbench: floor: no address to bind\n");
		goto out;
	}
	r.lat = calloc((size_t)n + 1, sizeof(*r.lat));
	body = malloc(size ? size : 1);
	memset(body, 'm', size);
	/* The first round trip sets every connection up; not counted. */
	if (nn_send(req, body, size, 0) < 0 || nn_recv(req, &m, NN_MSG, 0) < 0)
		goto out;
	nn_freemsg(m);
	t0 = lb_mono_us();
	for (long k = 0; k < n; k++) {
		uint64_t t = lb_mono_us();

		if (nn_send(req, body, size, 0) < 0 ||
		    nn_recv(req, &m, NN_MSG, 0) < 0) {
			r.failed++;
			break;
		}
		nn_freemsg(m);
		r.lat[k] = lb_mono_us() - t;
	}
	report(&r, lb_mono_us() - t0, 0);
	nn_close(req);
out:
	for (int i = 0; i < 3; i++)
		if (pids[i] > 0) {
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
	if (ctl[0] == 'i')
		unlink(ctl + 6);
	if (recv && get_addr(p3[0], task) == 0 && task[0] == 'i')
		unlink(task + 6);
	rc = r.lat == NULL || r.failed ? 1 : 0;
	free(body);
	free(r.lat);
	return rc;
}

/* ---- ctl ---- */

/* One status request on the connected socket s; 0 if answered. */
static int
ctl_keep(int s, const uint8_t *out, size_t len)
{
	Lb__CtlReply	*rep;
	void		*buf;
	int		 k;

	if (nn_send(s, out, len, 0) < 0 ||
	    (k = nn_recv(s, &buf, NN_MSG, 0)) < 0)
		return -1;
	rep = lb__ctl_reply__unpack(NULL, (size_t)k, buf);
	nn_freemsg(buf);
	if (rep == NULL)
		return -1;
	lb__ctl_reply__free_unpacked(rep, NULL);
	return 0;
}

static int
do_ctl(long n, const char *path, int keep)
{
	struct run		 r = { "ctl", n, 0, 1, NULL, NULL, 0 };
	Lb__CtlRequest		 req = LB__CTL_REQUEST__INIT;
	Lb__CtlStatusReq	 sr = LB__CTL_STATUS_REQ__INIT;
	uint64_t		 t0;

	if (path == NULL || *path == '\0') {
		fprintf(stderr, "lbmsgbench: ctl: no socket\n");
		return 2;
	}
	req.req_case = LB__CTL_REQUEST__REQ_STATUS;
	req.status = &sr;
	r.lat = calloc((size_t)n, sizeof(*r.lat));
	if (keep) {
		uint8_t	 out[16];
		size_t	 len = lb__ctl_request__pack(&req, out);
		char	*url = lb_printf("ipc://%s", strncmp(path, "ipc://", 6)
			    == 0 ? path + 6 : path);
		int	 s = nn_socket(AF_SP, NN_REQ), ms = 10000;

		r.mode = "ctlkeep";
		nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &ms, sizeof(ms));
		if (nn_connect(s, url) < 0 || ctl_keep(s, out, len) == -1) {
			fprintf(stderr, "lbmsgbench: ctl: no answer at %s\n",
			    url);
			return 1;
		}
		free(url);
		t0 = lb_mono_us();
		for (long k = 0; k < n; k++) {
			uint64_t t = lb_mono_us();

			if (ctl_keep(s, out, len) == -1)
				r.failed++;
			r.lat[k] = lb_mono_us() - t;
		}
		report(&r, lb_mono_us() - t0, 0);
		nn_close(s);
		return r.failed ? 1 : 0;
	}
	t0 = lb_mono_us();
	for (long k = 0; k < n; k++) {
		Lb__CtlReply	*rep;
		char		*cause = NULL;
		uint64_t	 t = lb_mono_us();

		if (lbc_call(path, &req, &rep, 10000, &cause) != LBC_OK) {
			if (r.failed++ < 3)
				fprintf(stderr, "lbmsgbench: ctl: %s\n", cause);
			free(cause);
			continue;
		}
		r.lat[k] = lb_mono_us() - t;
		lb__ctl_reply__free_unpacked(rep, NULL);
	}
	report(&r, lb_mono_us() - t0, 0);
	return r.failed ? 1 : 0;
}

static long
number(const char *v, long min)
{
	char	*ep;
	long	 n;

	errno = 0;
	n = strtol(v, &ep, 10);
	if (*v == '\0' || *ep != '\0' || errno || n < min) {
		fprintf(stderr, "lbmsgbench: expected a number >= %ld, got "
		    "\"%s\"\n", min, v);
		exit(2);
	}
	return n;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "recv") == 0)
		return do_recv(number(argv[2], 0));
	if (argc >= 4 && argc <= 6 && strcmp(argv[1], "send") == 0)
		return do_send(argv[2], number(argv[3], 1), argc >= 5 ?
		    (size_t)number(argv[4], 0) : 100, argc >= 6 ?
		    (int)number(argv[5], 1) : 1);
	if (argc >= 3 && argc <= 6 && strcmp(argv[1], "raw") == 0) {
		if (argc == 6 && strcmp(argv[5], "tcp") != 0 &&
		    strcmp(argv[5], "ipc") != 0)
			return usage();
		return do_raw(number(argv[2], 1), argc >= 4 ?
		    (size_t)number(argv[3], 0) : 100, argc >= 5 ?
		    (int)number(argv[4], 1) : 1, argc == 6 ? argv[5] : "tcp");
	}
	if (argc >= 3 && argc <= 5 && strcmp(argv[1], "floor") == 0) {
		if (argc == 5 && strcmp(argv[4], "recv") != 0)
			return usage();
		return do_floor(number(argv[2], 1), argc >= 4 ?
		    (size_t)number(argv[3], 0) : 100, argc == 5);
	}
	if (argc >= 3 && argc <= 5 && strcmp(argv[1], "ctl") == 0) {
		if (argc == 5 && strcmp(argv[4], "keep") != 0)
			return usage();
		return do_ctl(number(argv[2], 1), argc >= 4 ? argv[3] :
		    getenv("LB_CONTROL"), argc == 5);
	}
	return usage();
}
