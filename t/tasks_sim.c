/*
 * tasks_sim.c - the task core (tasks/) under a simulated clock, network,
 * disk and process table, checked against the protocol's invariants.
 *
 * Several cores, one per peer, run against each other.  Every message they
 * send is delivered after a random delay, or lost, or delivered twice, or
 * late, then passes the envelope's replay check (src/envelope.c) as a real
 * peer's would; every record they journal goes to a simulated disk that a
 * crash may cut back to its last sync; every process they start runs for a
 * while and exits, or dies with its peer.  A failure detector tells the
 * live peers of a crash (only of a real one) and of a restart.
 *
 * Part one: seeded runs.  A random workload submits, moves (standing in for
 * the balancer), hands back (standing in for a drain) and cancels tasks,
 * and crashes and restarts peers; then the
 * faults stop and the run must go quiet.  After every event:
 *   - a result, once the home's record shows one, never changes (across
 *     the home's restarts too), and is one that happened: the exit code of
 *     a complete run, a failed start, or a cancel someone asked for;
 *   - a placement (task, epoch, epoch_by) is seen at one host only;
 *   - no two processes of a task run at once;
 *   - a "done" verdict leaves a home only once a result is on its disk,
 *     and no complete run is thrown away as stale.
 * Once quiet: every task has its result, nothing is held or waiting to be
 * sent anywhere, and no process runs.
 *
 * Part two: scripted scenarios, each run over a few seeds (the seed picks
 * the delays): the holes of issue 7, each one a naive protocol falls into,
 * and the bugs the seeded runs found.
 *
 *	SIM_RUNS=N	how many seeded runs (default RUNS_DEFAULT)
 *	SIM_BASE=B	the seed of the first run (default 1)
 *	SIM_SEED=S	replay the run of seed S alone, with a trace on stderr
 *	SIM_SHOW=N	print at most N failing runs (default 20)
 *	SIM_SCENE=NAME	run that scenario alone (with SIM_SEED: that seed,
 *			traced)
 */
#include "config.h"

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tasks/tasks.h"
#include "tasks/replica.h"
#include "node/home.h"
#include "t/tap.h"

#define RUNS_DEFAULT	4000	/* seeded runs in `make check` */
#define SCENE_SEEDS	10	/* seeds each scenario runs with */
#define PEERS_MAX	5
#define SIMTASKS_MAX	64	/* tasks submitted in one run, at most */
#define T0		1000	/* the clock when a run begins (ms) */
#define TICK_MIN_MS	20
#define TICK_MAX_MS	100
#define NET_MIN_MS	1
#define NET_MAX_MS	50
#define QUIET_MS	5000	/* calm, and no traffic for this long: quiet */
#define QUIET_BOUND_MS	300000	/* not quiet this long after calm: failure */
#define WHY_MAX		640	/* a failure, in one line */

static const struct tasks_conf sim_conf = {
	.slots = 1,
	.transfer_timeout_ms = 300,
	.retry_min_ms = 50,
	.retry_max_ms = 2000,
	.keep_finished_s = 1000000,
	.max_tasks = 1000,
	.max_links = 1000,
	.link_keep_s = 60,
	.attach_limit = 1 << 20,
	.checkpoint_timeout_ms = 200,
	.checkpoint_grace_ms = 20
};

#define CK_CODE		85	/* the checkpoint exit code of sim tasks */

enum ev_kind {
	EV_TICK,	/* tasks_tick at `peer` */
	EV_DELIVER,	/* a message from `other` arrives at `peer` */
	EV_STARTED,	/* the process `proc` started */
	EV_EXITED,	/* the process `proc` ended (or could not start) */
	EV_DEAD,	/* `peer` learns that `other` died */
	EV_BACK,	/* `peer` learns that `other` runs at `other_inc` */
	EV_CRASH,	/* `peer` crashes (-1: a random live one) */
	EV_RESTART,	/* `peer` starts again */
	EV_SUBMIT,	/* the workload: a task submitted at a random peer */
	EV_MOVE,	/* the workload: the balancer moves a waiting task */
	EV_CANCEL,	/* the workload: a user cancels a task */
	EV_GIVEBACK,	/* the workload: a drain hands a placement back */
	EV_CUT,		/* a random live peer is cut off for a while (runs
			 * with leases only) */
	EV_GONE,	/* a peer dies for good (a home, most often: runs
			 * with replicated homes only) */
	EV_CALM		/* the faults stop */
};

struct event {
	uint64_t	 at, seq;	/* the order: time, then scheduling */
	enum ev_kind	 kind;
	int		 peer;
	uint64_t	 inc;		/* `peer`'s incarnation it is for */
	int		 other;
	uint64_t	 other_inc;
	uint64_t	 msg_id;	/* EV_DELIVER: the envelope's */
	size_t		 proc;
	uint32_t	 gen;		/* EV_EXITED: still the process's exit */
	uint8_t		*data;		/* EV_DELIVER: a packed PeerMsg */
	size_t		 len;
};

/* A journal entry: a packed TaskRecord, the last of its id wins. */
struct jentry {
	char		 id[TASKS_ID_MAX];
	uint8_t		*data;
	size_t		 len;
	int		 finished;	/* a record with its result */
};

/* A journal: entries [0, synced) are on disk, the rest a crash may lose
 * (when the disk is lossy). */
struct disk {
	struct jentry	*j;
	size_t		 nj, capj, synced;
};

/* The envelope's replay check (src/envelope.c) of one sender: the
 * newest incarnation heard, and a window of the latest message ids. */
struct replay {
	uint64_t	 inc, top, seen;
};

struct world;

/* What a home's message waits for (node/home.c: nhome_after). */
struct hmsg {
	char		 to[LB_ID_MAX];
	uint8_t		*msg;
	size_t		 len;
};

/* The shell's hooks get this: which world, which peer. */
struct shellctx {
	struct world	*w;
	int		 p;
};

struct peer {
	char		 id[LB_ID_MAX];
	struct tasks_conf conf;
	struct tasks	*core;		/* NULL while down */
	uint64_t	 inc;
	uint64_t	 next_msg_id;	/* of this incarnation */
	struct replay	 replay[PEERS_MAX];	/* of this incarnation */
	struct disk	 tj;		/* the task journal */
	/* Replicated homes (w->replicas > 1): node/home.c over the core,
	 * the replica journal, the state file (saved whole, synced). */
	struct nhome	*nh;
	struct disk	 rj;
	char		*rstate;
	struct shellctx	 ctx;
	int		 gone;		/* died for good */
	int		 depth;		/* carry_out's nesting */
	int		 flush;		/* saves to put once the event ends */
	struct hmsg	**held;		/* a home's messages of this batch */
	size_t		 nheld, capheld;
	uint8_t		 thinks_dead[PEERS_MAX];	/* as its detector says */
	uint64_t	 seq_floor;	/* kept by the shell, on disk */
};

struct simtask;

struct proc {
	int		 live;		/* runs, or is about to */
	int		 ran;		/* it started (not a failed start) */
	int		 peer;
	uint64_t	 inc;
	struct simtask	*task;
	uint32_t	 pid;
	uint32_t	 gen;		/* of its pending EV_EXITED */
	uint64_t	 exit_at;
	int		 code, signal, stopping;
	const char	*error;		/* a failed start */
	int		 frozen;	/* its lease ran out: SIGSTOP */
	int		 writing;	/* its checkpoint, until it exits */
	uint64_t	 left;		/* frozen: what it had left to run */
};

/* What the harness knows of an accepted task. */
struct simtask {
	char		 id[TASKS_ID_MAX];
	int		 home;
	int		 cancelled;	/* a cancel was accepted */
	int		 starts;
	int		 starts_at[PEERS_MAX];
	int		 running;	/* its processes that run now */
	uint32_t	 codes;		/* exit codes of complete runs (bits) */
	int		 failed;	/* a start failed */
	uint64_t	 failed_at;	/* ... at these peers (bits) */
	/* The result, once the home's record showed one. */
	int		 has_result;
	Lb__TaskState	 state;
	int		 code, signal;
	uint64_t	 result_at;
	/* Scripted: how long its runs take, the first one's exit code. */
	int		 run_ms;
	int		 first_code;
	/* It checkpoints when asked (unless deaf): the work left then. */
	int		 checkpointable, deaf;
	int		 ck_ms;		/* > 0: a checkpoint takes this long,
					 * its shell seeing it written */
	int		 left_ms;
	int		 checkpoints;	/* exits with its checkpoint code */
	/* Its process catches lbpeer's stop (SIGTERM) and exits TRAP_CODE:
	 * not a complete run, never its result. */
	int		 traps;
	/* Its submit was answered: at once, or (replicated homes) once on
	 * a majority of its home's set.  One not answered may be lost with
	 * its home. */
	int		 acked;
	/* The request id its submit carried (sent again: the same task). */
	uint8_t		 rid[TASKS_REQUEST_ID_LEN];
};

#define TRAP_CODE	29

/* A placement (task, epoch, epoch_by) and the one host it was seen at. */
struct placement {
	char		 key[TASKS_ID_MAX + LB_ID_MAX + 16];
	int		 host;		/* -1: a free slot */
	int		 killed;	/* its run ended by a signal: not a
					 * complete run */
};

/* Scripted: the next `count` messages of a type are dropped, or late. */
struct rule {
	int		 type;		/* a PeerMsg body case */
	int		 from, to;	/* peers, or -1: any */
	int		 count;
	uint32_t	 late_ms;	/* 0: dropped; else this much later */
	int		 dup;		/* delivered, and a copy late_ms later */
};

/* Scripted: a message that was sent. */
struct sent {
	uint64_t	 at;
	int		 from, to;
	int		 type;
	char		 task[TASKS_ID_MAX];
	int		 state;		/* TaskNotice: the record's state */
};

/* Who acted for a home in a term: at most one peer, ever. */
struct claim {
	int		 home, peer;
	uint32_t	 term;
};
#define CLAIMS_MAX	64

struct counts {
	uint64_t	 gone, takeovers, relinquished;
	uint64_t	 runs, events, sent, lost, dups, starts;
	uint64_t	 crashes, moves, cancels, tasks, reruns, committed;
	uint64_t	 migrated, ck_timeouts, yields;
	uint64_t	 givebacks, returned;
	uint64_t	 cuts, frozen, thawed;
};

struct world {
	uint64_t	 seed;
	struct lb_rng	 rng;
	int		 trace;		/* every event on stderr */
	uint64_t	 now, seq;
	int		 npeers;
	struct peer	 peers[PEERS_MAX];
	struct event	*heap;
	size_t		 nheap, capheap;
	size_t		 pending;	/* events in the heap other than ticks */
	struct proc	*procs;
	size_t		 nprocs, capprocs;
	uint32_t	 next_pid;
	uint32_t	 next_gen;
	struct simtask	 tasks[SIMTASKS_MAX];
	size_t		 ntasks;
	struct placement *seen;
	size_t		 nseen, capseen;
	uint64_t	 req_id;
	/* Faults. */
	int		 faults;	/* not calm yet: loss, dup, late apply */
	int		 loss, dup, late;	/* percent of messages */
	int		 raw;		/* no envelope: duplicates and old
					 * incarnations reach the cores */
	int		 lossy_disk;	/* 1: a crash cuts the unsynced part of
					 * the journal somewhere, 2: all of it */
	int		 auto_restart;	/* a crash schedules the restart */
	uint32_t	 detect_min, detect_max;	/* failure detection */
	int		 leases;	/* the run's cores have leases */
	int		 replicas;	/* task.home_replicas (> 1: on) */
	int		 mail_lost;	/* a peer back from a crash says its
					 * mailboxes are gone (as lbpeer does;
					 * its homes then run those tasks
					 * again themselves) */
	int		 ngone;		/* peers dead for good */
	struct claim	 claims[CLAIMS_MAX];
	size_t		 nclaims;
	uint64_t	 cut_until[PEERS_MAX];	/* cut off from the others
					 * until then: each way, every
					 * message is lost */
	uint64_t	 link_cut[PEERS_MAX][PEERS_MAX];	/* [from][to]: one
					 * way between two, until then */
	uint64_t	 calm_at;
	uint64_t	 last_traffic;
	char		 last_sent[256];
	char		 failure[600];	/* the first violation */
	/* Scripted scenarios. */
	int		 scripted;	/* runs take run_ms, exit 0 */
	int		 ckpt_chance;	/* percent of tasks that checkpoint */
	int		 run_ms;
	struct rule	 rules[8];
	size_t		 nrules;
	int		 keep_log;	/* log what is sent */
	struct sent	*log;
	size_t		 nlog, caplog;
	void		(*on_send)(struct world *, int, int, const Lb__PeerMsg *);
	void		(*on_actions)(struct world *, int,
			    const struct tasks_out *);
	struct simtask	*watch;		/* the scenario's task */
	int		 acks_seen;
	struct counts	 n;
};

static void	step(struct world *);
static void	carry_out(struct world *, int, struct tasks_out *);

/* ---- small things ---- */

/* Uniform in [lo, hi]. */
static uint32_t
rnd(struct world *w, uint32_t lo, uint32_t hi)
{
	return lo + lb_rng_below(&w->rng, hi - lo + 1);
}

static int
chance(struct world *w, int percent)
{
	return (int)lb_rng_below(&w->rng, 100) < percent;
}

static void __attribute__((format(printf, 3, 4)))
trace(struct world *w, int peer, const char *fmt, ...)
{
	va_list	ap;

	if (!w->trace)
		return;
	fprintf(stderr, "%4" PRIu64 ".%03" PRIu64 " %-3s ", (w->now - T0) / 1000,
	    (w->now - T0) % 1000, peer >= 0 ? w->peers[peer].id : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A violation: the first one ends the run. */
static void __attribute__((format(printf, 2, 3)))
fail(struct world *w, const char *fmt, ...)
{
	va_list	ap;

	if (w->failure[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(w->failure, sizeof(w->failure), fmt, ap);
	va_end(ap);
	trace(w, -1, "VIOLATION: %s", w->failure);
}

/* A scenario's expectation. */
#define expect(w, cond, ...) do {					\
	if (!(cond))							\
		fail((w), __VA_ARGS__);					\
} while (0)

static int
peer_index(const struct world *w, const char *id)
{
	int	i;

	for (i = 0; i < w->npeers; i++)
		if (strcmp(w->peers[i].id, id) == 0)
			return i;
	return -1;
}

static struct simtask *
simtask_find(struct world *w, const char *id)
{
	size_t	i;

	for (i = 0; i < w->ntasks; i++)
		if (strcmp(w->tasks[i].id, id) == 0)
			return &w->tasks[i];
	return NULL;
}

static int
finished(Lb__TaskState s)
{
	return s == LB__TASK_STATE__TASK_DONE ||
	    s == LB__TASK_STATE__TASK_FAILED ||
	    s == LB__TASK_STATE__TASK_CANCELLED;
}

static int
live_peers(const struct world *w)
{
	int	i, n = 0;

	for (i = 0; i < w->npeers; i++)
		n += w->peers[i].core != NULL;
	return n;
}

/* ---- the event queue: a binary heap by (time, sequence) ---- */

static int
ev_before(const struct event *a, const struct event *b)
{
	return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

static void
schedule(struct world *w, struct event e)
{
	size_t		i;
	struct event	tmp;

	if (w->nheap == w->capheap) {
		w->capheap = w->capheap ? 2 * w->capheap : 256;
		w->heap = lb_reallocarray(w->heap, w->capheap,
		    sizeof(*w->heap));
	}
	e.seq = w->seq++;
	if (e.kind != EV_TICK)
		w->pending++;
	i = w->nheap++;
	w->heap[i] = e;
	while (i > 0 && ev_before(&w->heap[i], &w->heap[(i - 1) / 2])) {
		tmp = w->heap[i];
		w->heap[i] = w->heap[(i - 1) / 2];
		w->heap[(i - 1) / 2] = tmp;
		i = (i - 1) / 2;
	}
}

static struct event
unschedule(struct world *w)
{
	struct event	top = w->heap[0], tmp;
	size_t		i = 0, c;

	w->heap[0] = w->heap[--w->nheap];
	for (;;) {
		c = 2 * i + 1;
		if (c >= w->nheap)
			break;
		if (c + 1 < w->nheap && ev_before(&w->heap[c + 1], &w->heap[c]))
			c++;
		if (!ev_before(&w->heap[c], &w->heap[i]))
			break;
		tmp = w->heap[i];
		w->heap[i] = w->heap[c];
		w->heap[c] = tmp;
		i = c;
	}
	if (top.kind != EV_TICK)
		w->pending--;
	return top;
}

/* An event of `kind` at `peer`, `delay` ms from now, for its incarnation. */
static struct event
event_at(struct world *w, enum ev_kind kind, int peer, uint64_t delay)
{
	struct event	e;

	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.peer = peer;
	e.at = w->now + delay;
	e.inc = peer >= 0 ? w->peers[peer].inc : 0;
	e.other = -1;
	return e;
}

/* ---- messages ---- */

static const char *
msg_name(int body_case)
{
	const ProtobufCFieldDescriptor *f;

	f = protobuf_c_message_descriptor_get_field(&lb__peer_msg__descriptor,
	    (unsigned)body_case);
	return f != NULL ? f->name : "?";
}

static const char *
verdict_name(Lb__Verdict v)
{
	switch (v) {
	case LB__VERDICT__VERDICT_CURRENT:	return "current";
	case LB__VERDICT__VERDICT_STALE:	return "stale";
	case LB__VERDICT__VERDICT_DONE:		return "done";
	case LB__VERDICT__VERDICT_UNKNOWN:	return "unknown";
	default:				return "?";
	}
}

/* The task a message is about, and the placement it names: 0, or -1. */
static int
msg_about(const Lb__PeerMsg *m, const char **task, uint32_t *epoch,
    const char **by)
{
	const Lb__TaskRecord *r = NULL;

	switch (m->body_case) {
	case LB__PEER_MSG__BODY_TRANSFER:
		r = m->transfer->record;
		break;
	case LB__PEER_MSG__BODY_TASK_NOTICE:
		r = m->task_notice->record;
		break;
#define ABOUT(field) \
		*task = m->field->task_id; \
		*epoch = m->field->epoch; \
		*by = m->field->epoch_by; \
		return 0
	case LB__PEER_MSG__BODY_TRANSFER_ACK:	ABOUT(transfer_ack);
	case LB__PEER_MSG__BODY_TASK_MOVE:	ABOUT(task_move);
	case LB__PEER_MSG__BODY_TASK_MOVE_REPLY: ABOUT(task_move_reply);
	case LB__PEER_MSG__BODY_TASK_NOTICE_ACK: ABOUT(task_notice_ack);
	case LB__PEER_MSG__BODY_TASK_STOP:	ABOUT(task_stop);
	case LB__PEER_MSG__BODY_TASK_STOP_ACK:	ABOUT(task_stop_ack);
	case LB__PEER_MSG__BODY_TASK_RETURN:	ABOUT(task_return);
	case LB__PEER_MSG__BODY_TASK_RETURN_ACK: ABOUT(task_return_ack);
#undef ABOUT
	default:
		return -1;
	}
	if (r == NULL)
		return -1;
	*task = r->id;
	*epoch = r->epoch;
	*by = r->epoch_by;
	return 0;
}

/* One line on a message, for the trace and the failures. */
static void
msg_describe(const Lb__PeerMsg *m, char *buf, size_t size)
{
	const char	*task = "?", *by = "?";
	uint32_t	 epoch = 0;
	size_t		 n;

	msg_about(m, &task, &epoch, &by);
	snprintf(buf, size, "%s %s %" PRIu32 "/%s", msg_name(m->body_case),
	    task, epoch, by);
	n = strlen(buf);
	buf += n;
	size -= n;
	switch (m->body_case) {
	case LB__PEER_MSG__BODY_TRANSFER:
		if (m->transfer->record != NULL)
			snprintf(buf, size, " replaces %" PRIu32 "/%s, req %"
			    PRIu64, m->transfer->record->parent_epoch,
			    m->transfer->record->parent_by,
			    m->transfer->req_id);
		break;
	case LB__PEER_MSG__BODY_TRANSFER_ACK:
		snprintf(buf, size, " %s%s%s", m->transfer_ack->ok ? "ok" :
		    "refused", m->transfer_ack->error[0] ? ": " : "",
		    m->transfer_ack->error);
		break;
	case LB__PEER_MSG__BODY_TASK_MOVE:
		snprintf(buf, size, " at %s/%" PRIu64 " replaces %" PRIu32
		    "/%s: %s", m->task_move->host, m->task_move->host_inc,
		    m->task_move->parent_epoch, m->task_move->parent_by,
		    m->task_move->commit ? "commit" : "abort");
		break;
	case LB__PEER_MSG__BODY_TASK_MOVE_REPLY:
		snprintf(buf, size, " %s%s", m->task_move_reply->committed ?
		    "committed" : "refused: ", m->task_move_reply->error);
		break;
	case LB__PEER_MSG__BODY_TASK_NOTICE:
		if (m->task_notice->record != NULL)
			snprintf(buf, size, " %s exit %d signal %d",
			    tasks_state_name(m->task_notice->record->state),
			    m->task_notice->record->exit_code,
			    m->task_notice->record->signal);
		break;
	case LB__PEER_MSG__BODY_TASK_NOTICE_ACK:
		snprintf(buf, size, " of %s: %s",
		    tasks_state_name(m->task_notice_ack->state),
		    verdict_name(m->task_notice_ack->verdict));
		break;
	case LB__PEER_MSG__BODY_TASK_STOP:
		snprintf(buf, size, " (%s)", m->task_stop->reason);
		break;
	case LB__PEER_MSG__BODY_TASK_RETURN_ACK:
		snprintf(buf, size, " %s", m->task_return_ack->placed ?
		    "placed anew" : "nothing to do");
		break;
	case LB__PEER_MSG__BODY_REPLICA_PUT:
		snprintf(buf, size, " (%" PRIu64 ", %" PRIu64 "], %zu items",
		    m->replica_put->after, m->replica_put->top,
		    m->replica_put->n_items);
		break;
	case LB__PEER_MSG__BODY_REPLICA_ACK:
		snprintf(buf, size, " up to %" PRIu64 "%s%s%s", m->replica_ack->
		    upto, m->replica_ack->gap ? ", a gap" : "",
		    m->replica_ack->acting[0] ? ", taken by " : "",
		    m->replica_ack->acting);
		break;
	case LB__PEER_MSG__BODY_HOME_VOTE:
		snprintf(buf, size, " for home %s, term %" PRIu32 ", holds %"
		    PRIu64, m->home_vote->home, m->home_vote->term,
		    m->home_vote->held);
		break;
	case LB__PEER_MSG__BODY_HOME_VOTE_REPLY:
		snprintf(buf, size, " home %s, term %" PRIu32 ": %s (voted %"
		    PRIu32 ", holds %" PRIu64 ")", m->home_vote_reply->home,
		    m->home_vote_reply->term, m->home_vote_reply->granted ?
		    "granted" : "refused", m->home_vote_reply->voted,
		    m->home_vote_reply->held);
		break;
	case LB__PEER_MSG__BODY_HOME_ACTING:
		snprintf(buf, size, " for home %s, term %" PRIu32 ", below %"
		    PRIu64, m->home_acting->home, m->home_acting->term,
		    m->home_acting->upto);
		break;
	default:
		break;
	}
}

/* ---- placements: no two hosts ever share one ---- */

static uint64_t
hash_str(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static struct placement *
seen_slot(struct placement *v, size_t cap, const char *key)
{
	size_t	i = hash_str(key) & (cap - 1);

	while (v[i].host != -1 && strcmp(v[i].key, key) != 0)
		i = (i + 1) & (cap - 1);
	return &v[i];
}

static void
seen_grow(struct world *w)
{
	struct placement *old = w->seen, *slot;
	size_t		  oldcap = w->capseen, i;

	w->capseen = oldcap ? 2 * oldcap : 256;
	w->seen = lb_reallocarray(NULL, w->capseen, sizeof(*w->seen));
	for (i = 0; i < w->capseen; i++)
		w->seen[i].host = -1;
	for (i = 0; i < oldcap; i++) {
		if (old[i].host == -1)
			continue;
		slot = seen_slot(w->seen, w->capseen, old[i].key);
		*slot = old[i];
	}
	free(old);
}

/* The placement (epoch, by) of `task` is at `host`, as `where` shows. */
static struct placement *
placement_seen(struct world *w, const char *task, uint32_t epoch,
    const char *by, int host, const char *where)
{
	struct placement *p;
	char		  key[sizeof(p->key)];

	if (epoch == 0 && by[0] == '\0')
		return NULL;
	if (host < 0) {
		fail(w, "%s: placement %" PRIu32 "/%s of %s at an unknown host",
		    where, epoch, by, task);
		return NULL;
	}
	if (2 * (w->nseen + 1) > w->capseen)
		seen_grow(w);
	snprintf(key, sizeof(key), "%s %" PRIu32 "/%s", task, epoch, by);
	p = seen_slot(w->seen, w->capseen, key);
	if (p->host == -1) {
		snprintf(p->key, sizeof(p->key), "%s", key);
		p->host = host;
		w->nseen++;
	} else if (p->host != host)
		fail(w, "two placements share an epoch: %s at %s and at %s (%s)",
		    key, w->peers[p->host].id, w->peers[host].id, where);
	return p;
}

/* Whether a notice said the run of that placement ended by a signal. */
static int
placement_killed(struct world *w, const char *task, uint32_t epoch,
    const char *by)
{
	struct placement *p;
	char		  key[sizeof(p->key)];

	if (w->capseen == 0)
		return 0;
	snprintf(key, sizeof(key), "%s %" PRIu32 "/%s", task, epoch, by);
	p = seen_slot(w->seen, w->capseen, key);
	return p->host != -1 && p->killed;
}

/* ---- the disk ---- */

static void
journal_append(struct world *w, struct disk *d, const Lb__TaskRecord *rec,
    int sync)
{
	struct jentry	*e;

	if (d->nj == d->capj) {
		d->capj = d->capj ? 2 * d->capj : 64;
		d->j = lb_reallocarray(d->j, d->capj, sizeof(*d->j));
	}
	e = &d->j[d->nj++];
	snprintf(e->id, sizeof(e->id), "%s", rec->id);
	e->len = lb__task_record__get_packed_size(rec);
	e->data = malloc(e->len ? e->len : 1);
	lb__task_record__pack(rec, e->data);
	e->finished = !rec->forgotten && finished(rec->state);
	if (sync || !w->lossy_disk)
		d->synced = d->nj;
}

/* The latest record of `id` on disk (synced), or NULL. */
static const struct jentry *
journal_durable(const struct disk *d, const char *id)
{
	size_t	i;

	for (i = d->synced; i-- > 0;)
		if (strcmp(d->j[i].id, id) == 0)
			return &d->j[i];
	return NULL;
}

/* A crash: what was not synced may be lost (a suffix of the journal). */
static void
journal_crash(struct world *w, int p, struct disk *d)
{
	size_t	keep = d->nj, i;

	if (w->lossy_disk == 2)
		keep = d->synced;
	else if (w->lossy_disk == 1)
		keep = d->synced + rnd(w, 0, (uint32_t)(d->nj - d->synced));
	for (i = keep; i < d->nj; i++)
		free(d->j[i].data);
	if (keep < d->nj)
		trace(w, p, "crash lost %zu unsynced journal entries",
		    d->nj - keep);
	d->nj = keep;
	d->synced = keep;
}

static void
journal_free(struct disk *d)
{
	size_t	i;

	for (i = 0; i < d->nj; i++)
		free(d->j[i].data);
	free(d->j);
	memset(d, 0, sizeof(*d));
}

/* ---- invariants ---- */

/* The record of `s` at `p`, which acts as its home: a result, once there
 * (with replicated homes: once on a majority of its set, when it may be
 * told), never changes. */
static void
check_result(struct world *w, int p, struct simtask *s,
    const Lb__TaskRecord *rec)
{
	if (!s->has_result && w->peers[p].nh != NULL &&
	    rec->version > nhome_committed(w->peers[p].nh))
		return;		/* (not yet: lost if this home is) */
	if (s->has_result) {
		if (rec->state != s->state || rec->exit_code != s->code ||
		    rec->signal != s->signal)
			fail(w, "the result of %s changed at its home %s: %s exit "
			    "%d signal %d, now %s exit %d signal %d", s->id,
			    w->peers[s->home].id, tasks_state_name(s->state),
			    s->code, s->signal, tasks_state_name(rec->state),
			    rec->exit_code, rec->signal);
		return;
	}
	if (!finished(rec->state))
		return;
	s->has_result = 1;
	s->state = rec->state;
	s->code = rec->exit_code;
	s->signal = rec->signal;
	s->result_at = w->now;
	trace(w, s->home, "RESULT %s: %s exit %d signal %d", s->id,
	    tasks_state_name(rec->state), rec->exit_code, rec->signal);
	switch (rec->state) {
	case LB__TASK_STATE__TASK_DONE:
		if (rec->signal != 0 || rec->exit_code < 0 ||
		    rec->exit_code > 31 ||
		    !(s->codes & (1u << rec->exit_code)))
			fail(w, "%s recorded a result for %s that no complete run "
			    "had: exit %d signal %d", w->peers[s->home].id,
			    s->id, rec->exit_code, rec->signal);
		break;
	case LB__TASK_STATE__TASK_FAILED:
		if (!s->failed)
			fail(w, "%s recorded %s as failed, but no start of it "
			    "failed", w->peers[s->home].id, s->id);
		for (size_t i = 0; i < rec->n_start_failures; i++) {
			int q = peer_index(w, rec->start_failures[i]->host);
			if (q < 0 || !(s->failed_at & (1ull << q)))
				fail(w, "%s's record of %s says it could not "
				    "start at %s, where no start of it failed",
				    w->peers[s->home].id, s->id,
				    rec->start_failures[i]->host);
		}
		break;
	default:
		if (!s->cancelled)
			fail(w, "%s recorded %s as cancelled, but nobody "
			    "cancelled it", w->peers[s->home].id, s->id);
		break;
	}
}

/* The live peer that acts as the home of `s`: the one it was submitted
 * to, or one that took it over (-1: none). */
static int
acting_home(const struct world *w, const struct simtask *s)
{
	struct tasks_task	*t;

	for (int k = 0; k < w->npeers; k++) {
		int q = (s->home + k) % w->npeers;

		if (w->peers[q].core != NULL && (t = tasks_find(
		    w->peers[q].core, s->id)) != NULL && t->home)
			return q;
	}
	return -1;
}

/* After every event at peer `p`: its records and placements. */
static void
check_peer(struct world *w, int p)
{
	struct tasks	*core = w->peers[p].core;
	struct tasks_task *t;
	struct simtask	*s;
	size_t		 i;

	if (core == NULL)
		return;
	for (i = 0; i < w->ntasks && w->failure[0] == '\0'; i++) {
		s = &w->tasks[i];
		t = tasks_find(core, s->id);
		/* Its home, or (replicated homes) one that took it over:
		 * whichever records a result, it is the one result. */
		if (s->home == p && t == NULL && (w->peers[p].nh == NULL ||
		    !nhome_gave_up(w->peers[p].nh, s->id))) {
			fail(w, "home %s lost the record of %s",
			    w->peers[p].id, s->id);
			return;
		}
		if (t != NULL && t->home) {
			/* (a home back after another took over holds what it
			 * had, and acts not, until its set tells it so) */
			if (!tasks_home_held(core))
				check_result(w, p, s, t->rec);
			if (!finished(t->rec->state))
				placement_seen(w, s->id, t->rec->epoch,
				    t->rec->epoch_by,
				    peer_index(w, t->rec->host),
				    "the home's record");
		}
		if (t != NULL && t->hold != HOLD_NONE)
			placement_seen(w, s->id, t->h_epoch, t->h_by, p,
			    tasks_hold_name(t->hold));
	}
}

/* A message leaves `from` for `to`. */
static void
check_sent(struct world *w, int from, int to, const Lb__PeerMsg *m)
{
	const Lb__TaskRecord	*r;
	struct placement	*pl;
	const Lb__TaskNoticeAck	*a;
	const struct jentry	*e;

	switch (m->body_case) {
	case LB__PEER_MSG__BODY_TRANSFER:
		if ((r = m->transfer->record) != NULL)
			placement_seen(w, r->id, r->epoch, r->epoch_by, to,
			    "a Transfer");
		break;
	case LB__PEER_MSG__BODY_TASK_NOTICE:
		if ((r = m->task_notice->record) != NULL &&
		    (pl = placement_seen(w, r->id, r->epoch, r->epoch_by, from,
		    "a TaskNotice")) != NULL && r->state ==
		    LB__TASK_STATE__TASK_DONE && r->signal != 0)
			pl->killed = 1;
		break;
	case LB__PEER_MSG__BODY_TASK_MOVE:
		placement_seen(w, m->task_move->task_id, m->task_move->epoch,
		    m->task_move->epoch_by, peer_index(w, m->task_move->host),
		    "a TaskMove");
		break;
	case LB__PEER_MSG__BODY_TASK_RETURN:
		placement_seen(w, m->task_return->task_id, m->task_return->epoch,
		    m->task_return->epoch_by, from, "a TaskReturn");
		break;
	case LB__PEER_MSG__BODY_TASK_NOTICE_ACK:
		/* "Done": the holder forgets its result, so the home's
		 * journal must hold one, on disk.  ("Stale" throws a failed
		 * start or a stopped copy away, never a complete run.) */
		a = m->task_notice_ack;
		if (a->verdict == LB__VERDICT__VERDICT_STALE &&
		    a->state == LB__TASK_STATE__TASK_DONE &&
		    !placement_killed(w, a->task_id, a->epoch, a->epoch_by))
			fail(w, "%s threw away a complete run of %s (%" PRIu32
			    "/%s)", w->peers[from].id, a->task_id, a->epoch,
			    a->epoch_by);
		if (a->verdict != LB__VERDICT__VERDICT_DONE)
			break;
		e = journal_durable(&w->peers[from].tj, a->task_id);
		if (e == NULL || !e->finished)
			fail(w, "%s acknowledged the result of %s before a result "
			    "was on disk (synced)", w->peers[from].id,
			    a->task_id);
		break;
	default:
		break;
	}
}

/* Once quiet: every task has its result, and nothing is held or pending. */
static void
check_final(struct world *w)
{
	struct tasks_task **all, *t;
	struct simtask	 *s;
	size_t		  i, n, k;
	int		  p;

	for (i = 0; i < w->ntasks && w->failure[0] == '\0'; i++) {
		int homes = 0;

		s = &w->tasks[i];
		/* Every live peer that acts as its home (one, once quiet:
		 * a home taken over has let it go) has its result. */
		for (p = 0; p < w->npeers && w->failure[0] == '\0'; p++) {
			if (w->peers[p].core == NULL ||
			    (t = tasks_find(w->peers[p].core, s->id)) == NULL ||
			    !t->home)
				continue;
			homes++;
			if (!finished(t->rec->state))
				fail(w, "%s is still %s at %s after quiet (epoch "
				    "%" PRIu32 "/%s at %s)", s->id,
				    tasks_state_name(t->rec->state),
				    w->peers[p].id, t->rec->epoch,
				    t->rec->epoch_by, t->rec->host);
			else
				check_result(w, p, s, t->rec);
		}
		if (homes == 0 && !s->acked && w->peers[s->home].gone)
			trace(w, -1, "%s is gone with its home: its submit "
			    "was never answered", s->id);
		else if (homes == 0 && w->failure[0] == '\0')
			fail(w, "no live peer acts as the home of %s (submitted "
			    "at %s%s)", s->id, w->peers[s->home].id,
			    w->peers[s->home].gone ? ", gone for good" : "");
		else if (homes > 1 && w->failure[0] == '\0')
			fail(w, "%d peers act as the home of %s after quiet",
			    homes, s->id);
	}
	for (p = 0; p < w->npeers && w->failure[0] == '\0'; p++) {
		if (w->peers[p].core == NULL)
			continue;
		all = tasks_all(w->peers[p].core, &n);
		for (k = 0; k < n; k++) {
			t = all[k];
			s = simtask_find(w, t->rec->id);
			if (!t->home && s != NULL && !s->acked &&
			    w->peers[s->home].gone && acting_home(w, s) < 0) {
				trace(w, p, "holds %s, whose home is gone, and "
				    "that no one acts for: it waits", s->id);
				continue;
			}
			if (t->home && t->stop && t->hold == HOLD_NONE &&
			    peer_index(w, t->rec->host) >= 0 &&
			    w->peers[peer_index(w, t->rec->host)].gone) {
				/* (the stop waits for its host, in case it
				 * was only cut off and runs the copy still) */
				trace(w, p, "%s: a stop waits for %s, gone",
				    t->rec->id, t->rec->host);
				continue;
			}
			if (t->hold != HOLD_NONE || t->notice || t->ask ||
			    t->stop) {
				fail(w, "%s still holds %s after quiet: %s, epoch "
				    "%" PRIu32 "/%s%s%s%s", w->peers[p].id,
				    t->rec->id, tasks_hold_name(t->hold),
				    t->h_epoch, t->h_by,
				    t->notice ? ", a notice to send" : "",
				    t->ask ? ", a move to ask" : "",
				    t->stop ? ", a stop to send" : "");
				break;
			}
		}
		if (tasks_running(w->peers[p].core) != 0 ||
		    tasks_queued(w->peers[p].core) != 0)
			fail(w, "%s has %u running and %u queued after quiet",
			    w->peers[p].id, tasks_running(w->peers[p].core),
			    tasks_queued(w->peers[p].core));
	}
	for (i = 0; i < w->nprocs && w->failure[0] == '\0'; i++)
		if (w->procs[i].live)
			fail(w, "a process of %s is alive at %s after quiet",
			    w->procs[i].task->id, w->peers[w->procs[i].peer].id);
}

/* The trace's last words: what every core holds. */
static void
dump(struct world *w)
{
	struct tasks_task **all, *t;
	size_t		  n, k;
	int		  p;

	if (!w->trace)
		return;
	for (p = 0; p < w->npeers; p++) {
		if (w->peers[p].core == NULL) {
			trace(w, p, "(down)");
			continue;
		}
		if (w->peers[p].nh != NULL) {
			char *st = rep_state_dump(nhome_rep(w->peers[p].nh));

			for (char *l = strtok(st, "\n"); l != NULL;
			    l = strtok(NULL, "\n"))
				trace(w, p, "replicas: %s", l);
			free(st);
		}
		all = tasks_all(w->peers[p].core, &n);
		for (k = 0; k < n; k++) {
			t = all[k];
			trace(w, p, "%s%s %s: held %s %" PRIu32 "/%s; record "
			    "%s %" PRIu32 "/%s at %s; notice %d ask %d stop %d "
			    "due %" PRIu64, t->home ? "home " : "",
			    t->rec->id, tasks_state_name(t->rec->state),
			    tasks_hold_name(t->hold), t->h_epoch, t->h_by,
			    tasks_state_name(t->rec->state), t->rec->epoch,
			    t->rec->epoch_by, t->rec->host, t->notice, t->ask,
			    t->stop, t->due);
		}
	}
}

/* ---- the network ---- */

/* Scripted rules: -1 to drop the message, else the extra delay (*dup: of a
 * second copy; the first goes as usual). */
static int
apply_rules(struct world *w, int from, int to, int type, int *dup)
{
	struct rule	*r;
	size_t		 i;

	*dup = 0;
	for (i = 0; i < w->nrules; i++) {
		r = &w->rules[i];
		if (r->count > 0 && r->type == type &&
		    (r->from == -1 || r->from == from) &&
		    (r->to == -1 || r->to == to)) {
			r->count--;
			*dup = r->dup;
			return r->late_ms ? (int)r->late_ms : -1;
		}
	}
	return 0;
}

/* Scripted: keep a line on a message sent. */
static void
log_sent(struct world *w, int from, int to, const Lb__PeerMsg *m)
{
	const char	*task = "", *by;
	uint32_t	 epoch;
	struct sent	*s;

	if (w->nlog == w->caplog) {
		w->caplog = w->caplog ? 2 * w->caplog : 256;
		w->log = lb_reallocarray(w->log, w->caplog, sizeof(*w->log));
	}
	s = &w->log[w->nlog++];
	msg_about(m, &task, &epoch, &by);
	s->at = w->now;
	s->from = from;
	s->to = to;
	s->type = m->body_case;
	snprintf(s->task, sizeof(s->task), "%s", task);
	s->state = m->body_case == LB__PEER_MSG__BODY_TASK_NOTICE &&
	    m->task_notice->record != NULL ?
	    (int)m->task_notice->record->state : -1;
}

/* Whether the envelope of receiver `p` lets message `id` of `from`'s
 * incarnation `inc` through (env_replay_ok in src/envelope.c). */
static int
replay_ok(struct peer *p, int from, uint64_t inc, uint64_t id)
{
	struct replay	*r = &p->replay[from];
	uint64_t	 shift;

	if (inc < r->inc)
		return 0;
	if (inc > r->inc) {
		r->inc = inc;
		r->top = id;
		r->seen = 1;
		return 1;
	}
	if (id > r->top) {
		shift = id - r->top;
		r->seen = shift >= 64 ? 0 : r->seen << shift;
		r->seen |= 1;
		r->top = id;
		return 1;
	}
	if (r->top - id >= 64 || (r->seen & (1ULL << (r->top - id))))
		return 0;
	r->seen |= 1ULL << (r->top - id);
	return 1;
}

/* Whether what `from` sends to `to` is lost now (a peer cut off, or the
 * way from one to the other). */
static int
is_cut(const struct world *w, int from, int to)
{
	return w->cut_until[from] > w->now || w->cut_until[to] > w->now ||
	    w->link_cut[from][to] > w->now;
}

/* Lose what `from` sends to `to` for `ms`, and with `both`, what `to`
 * sends to `from`: the others reach both, so neither is seen dead. */
static void
scene_cut_link(struct world *w, int from, int to, uint32_t ms, int both)
{
	w->link_cut[from][to] = w->now + ms;
	if (both)
		w->link_cut[to][from] = w->now + ms;
	trace(w, from, "LINK %s %s %s CUT for %" PRIu32 " ms",
	    w->peers[from].id, both ? "<->" : "->", w->peers[to].id, ms);
}

static void
net_send(struct world *w, int from, const char *to_id, const uint8_t *msg,
    size_t len)
{
	Lb__PeerMsg	*m;
	struct event	 e;
	char		 desc[160];
	const char	*what = "";
	int		 to, copies = 1, extra = 0, i, dup = 0;
	uint64_t	 msg_id = w->peers[from].next_msg_id++;

	w->n.sent++;
	if ((m = lb__peer_msg__unpack(NULL, len, msg)) == NULL) {
		fail(w, "%s sent a message that does not decode",
		    w->peers[from].id);
		return;
	}
	/* (a home's heartbeats to its set, their acks, and a replica's word
	 * that it acts for a home go on for ever: quiet is when nothing else
	 * goes) */
	msg_describe(m, desc, sizeof(desc));
	/* (nor what goes to a peer gone for good: a copy of a task whose
	 * home is gone, and that no replica acts for, asks it for ever) */
	if ((to = peer_index(w, to_id)) >= 0 && !w->peers[to].gone &&
	    m->body_case != LB__PEER_MSG__BODY_REPLICA_ACK &&
	    m->body_case != LB__PEER_MSG__BODY_HOME_ACTING &&
	    (m->body_case != LB__PEER_MSG__BODY_REPLICA_PUT ||
	    m->replica_put->n_items > 0)) {
		w->last_traffic = w->now;
		snprintf(w->last_sent, sizeof(w->last_sent), "%s -> %s %s",
		    w->peers[from].id, to_id, desc);
	}
	if ((to = peer_index(w, to_id)) < 0) {
		fail(w, "%s sent %s to an unknown peer \"%s\"",
		    w->peers[from].id, desc, to_id);
		lb__peer_msg__free_unpacked(m, NULL);
		return;
	}
	check_sent(w, from, to, m);
	if (is_cut(w, from, to)) {
		copies = 0;
		what = " (cut off)";
	} else if ((extra = apply_rules(w, from, to, m->body_case, &dup)) <
	    0) {
		copies = 0;
		what = " (dropped by the script)";
	} else if (dup) {
		copies = 2;
		what = " (and a late copy, by the script)";
	} else if (extra > 0)
		what = " (late, by the script)";
	else if (w->faults && chance(w, w->loss)) {
		copies = 0;
		what = " (lost)";
	} else if (w->faults && chance(w, w->dup)) {
		copies = 2;
		what = " (twice)";
		w->n.dups++;
	}
	if (copies == 0)
		w->n.lost++;
	trace(w, from, "-> %s %s%s", to_id, desc, what);
	for (i = 0; i < copies; i++) {
		e = event_at(w, EV_DELIVER, to, rnd(w, NET_MIN_MS, NET_MAX_MS) +
		    (dup && i == 0 ? 0 : (uint32_t)extra));
		if (w->faults && chance(w, w->late))
			e.at += rnd(w, 50, 500);
		e.inc = 0;	/* whichever incarnation is up then */
		e.other = from;
		e.other_inc = w->peers[from].inc;
		e.msg_id = msg_id;
		e.len = len;
		e.data = malloc(len ? len : 1);
		memcpy(e.data, msg, len);
		schedule(w, e);
	}
	if (w->keep_log)
		log_sent(w, from, to, m);
	if (w->on_send != NULL)
		w->on_send(w, from, to, m);
	lb__peer_msg__free_unpacked(m, NULL);
}

/* ---- processes ---- */

static struct proc *
proc_find(struct world *w, int peer, const char *id)
{
	size_t	i;

	for (i = 0; i < w->nprocs; i++)
		if (w->procs[i].live && w->procs[i].peer == peer &&
		    strcmp(w->procs[i].task->id, id) == 0)
			return &w->procs[i];
	return NULL;
}

static void
proc_schedule_exit(struct world *w, struct proc *pr, uint64_t delay)
{
	struct event	e = event_at(w, EV_EXITED, pr->peer, delay);

	e.proc = (size_t)(pr - w->procs);
	e.gen = pr->gen = ++w->next_gen;
	pr->exit_at = e.at;
	schedule(w, e);
}

static void
proc_start(struct world *w, int p, const struct tasks_action *a)
{
	struct simtask	*s = simtask_find(w, a->id);
	struct proc	*pr;
	struct event	 e;
	size_t		 i;
	int		 run_ms;

	w->last_traffic = w->now;
	if (s == NULL) {
		fail(w, "%s started %s, a task nobody submitted",
		    w->peers[p].id, a->id);
		return;
	}
	if (s->running > 0) {
		for (i = 0; i < w->nprocs; i++)
			if (w->procs[i].live && w->procs[i].ran &&
			    w->procs[i].task == s)
				break;
		fail(w, "two copies of %s run at once: at %s and at %s", s->id,
		    i < w->nprocs ? w->peers[w->procs[i].peer].id : "?",
		    w->peers[p].id);
		return;
	}
	if (w->nprocs == w->capprocs) {
		w->capprocs = w->capprocs ? 2 * w->capprocs : 64;
		w->procs = lb_reallocarray(w->procs, w->capprocs,
		    sizeof(*w->procs));
	}
	pr = &w->procs[w->nprocs++];
	memset(pr, 0, sizeof(*pr));
	pr->live = 1;
	pr->peer = p;
	pr->inc = w->peers[p].inc;
	pr->task = s;
	pr->pid = ++w->next_pid;
	if (w->peers[p].conf.max_start_failures > 1 &&
	    (s->failed_at & (1ull << p)))
		fail(w, "%s started %s again, where it could not start before",
		    w->peers[p].id, s->id);
	s->starts++;
	s->starts_at[p]++;
	w->n.starts++;
	if (!w->scripted && chance(w, 2)) {
		pr->error = "no such program (simulated)";
		trace(w, p, "start %s%s: fails", a->id,
		    a->resume ? " (resume)" : "");
		proc_schedule_exit(w, pr, 0);
		return;
	}
	pr->ran = 1;
	s->running++;
	if (w->scripted) {
		run_ms = s->run_ms ? s->run_ms : w->run_ms;
		pr->code = s->starts == 1 && s->first_code >= 0 ?
		    s->first_code : 0;
	} else {
		/* With leases, some long ones, that a cut finds running. */
		run_ms = w->leases && chance(w, 30) ? (int)rnd(w, 2000, 5000) :
		    (int)rnd(w, 10, 1000);
		pr->code = chance(w, 80) ? 0 : (int)rnd(w, 1, 5);
	}
	if (a->resume && s->checkpointable && s->left_ms > 0)
		run_ms = s->left_ms;
	trace(w, p, "start %s%s: pid %" PRIu32 ", runs %d ms, exit %d", a->id,
	    a->resume ? " (resume)" : "", pr->pid, run_ms, pr->code);
	e = event_at(w, EV_STARTED, p, 0);
	e.proc = (size_t)(pr - w->procs);
	schedule(w, e);
	proc_schedule_exit(w, pr, (uint64_t)run_ms);
}

static void
proc_stop(struct world *w, int p, const struct tasks_action *a)
{
	struct proc	*pr = proc_find(w, p, a->id);
	uint32_t	 delay;

	w->last_traffic = w->now;
	if (pr == NULL) {
		trace(w, p, "stop %s: no such process", a->id);
		return;
	}
	if (pr->stopping || !pr->ran) {
		trace(w, p, "stop %s: already ending", a->id);
		return;
	}
	if (pr->frozen) {
		/* SIGKILL: a frozen process runs no more of its work. */
		trace(w, p, "stop %s (pid %" PRIu32 ", frozen): killed", a->id,
		    pr->pid);
		pr->stopping = 1;
		pr->signal = 9;
		proc_schedule_exit(w, pr, rnd(w, 1, 5));
		return;
	}
	delay = rnd(w, 1, 20);
	if (pr->exit_at <= w->now + delay) {
		trace(w, p, "stop %s: it ends anyway", a->id);
		return;
	}
	pr->stopping = 1;
	if (pr->task->traps) {
		/* It catches SIGTERM and exits with a code of its own. */
		trace(w, p, "stop %s (pid %" PRIu32 "): it traps it, exits %d",
		    a->id, pr->pid, TRAP_CODE);
		pr->code = TRAP_CODE;
		pr->signal = 0;
	} else {
		trace(w, p, "stop %s (pid %" PRIu32 ")", a->id, pr->pid);
		pr->signal = 15;
	}
	proc_schedule_exit(w, pr, delay);
}

/* Asked to checkpoint: it writes its state and exits with its code a
 * moment later (a deaf one ignores the signal). */
static void
proc_checkpoint(struct world *w, int p, const struct tasks_action *a)
{
	struct proc	*pr = proc_find(w, p, a->id);
	uint32_t	 delay;

	if (pr == NULL || pr->stopping || !pr->ran || pr->error != NULL) {
		trace(w, p, "checkpoint %s: no such process", a->id);
		return;
	}
	if (pr->frozen) {
		trace(w, p, "checkpoint %s: frozen, it does not see it", a->id);
		return;
	}
	if (!pr->task->checkpointable || pr->task->deaf) {
		trace(w, p, "checkpoint %s: ignored", a->id);
		return;
	}
	delay = pr->task->ck_ms > 0 ? (uint32_t)pr->task->ck_ms :
	    rnd(w, 1, 50);
	if (pr->exit_at <= w->now + delay) {
		trace(w, p, "checkpoint %s: it ends anyway", a->id);
		return;
	}
	pr->task->left_ms = (int)(pr->exit_at - (w->now + delay));
	pr->code = CK_CODE;
	pr->writing = pr->task->ck_ms > 0;
	trace(w, p, "checkpoint %s: exits %d in %u ms, %d ms of work left",
	    a->id, CK_CODE, delay, pr->task->left_ms);
	proc_schedule_exit(w, pr, delay);
}

/* The process ends: tell its core, if it is still the one it started. */
static void
proc_exited(struct world *w, struct proc *pr)
{
	struct peer	*p = &w->peers[pr->peer];
	struct simtask	*s = pr->task;
	struct tasks_exit ex;
	struct tasks_out out = { 0 };

	pr->live = 0;
	if (pr->ran && !pr->frozen)
		s->running--;
	memset(&ex, 0, sizeof(ex));
	/* lbpeer's stop reached it: not a run that ended by itself. */
	ex.stopped = pr->stopping;
	if (pr->error != NULL) {
		ex.error = pr->error;
		s->failed = 1;
		s->failed_at |= 1ull << pr->peer;
	} else if (pr->signal != 0)
		ex.signal = pr->signal;
	else {
		ex.exited = 1;
		ex.code = pr->code;
		if (pr->code == CK_CODE)
			s->checkpoints++;
		else if (!pr->stopping)
			s->codes |= 1u << pr->code;
		ex.out_inline.data = (uint8_t *)lb_strdup("ok\n");
		ex.out_inline.len = 3;
		ex.stdout_bytes = 3;
	}
	if (pr->error != NULL)
		trace(w, pr->peer, "exited %s: could not start: %s", s->id,
		    pr->error);
	else
		trace(w, pr->peer, "exited %s: exit %d signal %d", s->id,
		    ex.code, ex.signal);
	tasks_proc_exited(p->core, w->now, s->id, &ex, &out);
	carry_out(w, pr->peer, &out);
}

/* ---- actions ---- */

/* A copy of a checkpoint reaches the home (or is lost, as the shell's
 * best effort may be): the home takes it only from the current host, and
 * only a newer one. */
static void
ck_copy(struct world *w, int p, const struct tasks_action *a)
{
	struct simtask		*s = simtask_find(w, a->id);
	struct tasks_out	 out = { 0 };
	struct tasks_task	*k;
	int			 h;
	uint32_t		 before;

	if (s == NULL || (h = s->home) == p || w->peers[h].core == NULL ||
	    (w->faults && chance(w, w->loss))) {
		trace(w, p, "copy of checkpoint %u of %s: lost", a->seq, a->id);
		return;
	}
	k = tasks_find(w->peers[h].core, a->id);
	before = k ? k->rec->home_checkpoint : 0;
	if (!tasks_checkpoint_wanted(w->peers[h].core, a->id, w->peers[p].id,
	    a->seq)) {
		trace(w, p, "copy of checkpoint %u of %s: not wanted", a->seq,
		    a->id);
		return;
	}
	tasks_checkpoint_copied(w->peers[h].core, w->now, a->id, a->seq, &out);
	k = tasks_find(w->peers[h].core, a->id);
	if (k == NULL || k->rec->home_checkpoint != a->seq || a->seq <= before)
		fail(w, "%s took copy %u of %s's checkpoint wrongly (had %u)",
		    w->peers[h].id, a->seq, a->id, before);
	trace(w, h, "copy of checkpoint %u of %s from %s kept", a->seq, a->id,
	    w->peers[p].id);
	carry_out(w, h, &out);
}

/* Its lease ran out: it stops where it is, and runs no more of its work
 * until thawed (or killed). */
static void
proc_freeze(struct world *w, int p, const struct tasks_action *a)
{
	struct proc	*pr = proc_find(w, p, a->id);

	if (pr == NULL || !pr->ran || pr->frozen || pr->stopping ||
	    pr->error != NULL) {
		trace(w, p, "freeze %s: no such process", a->id);
		return;
	}
	if (!w->leases)
		fail(w, "%s froze %s in a run without leases", w->peers[p].id,
		    a->id);
	pr->frozen = 1;
	pr->left = pr->exit_at > w->now ? pr->exit_at - w->now : 0;
	pr->gen = ++w->next_gen;	/* its exit waits */
	pr->task->running--;
	w->n.frozen++;
	trace(w, p, "freeze %s (pid %" PRIu32 "): %" PRIu64 " ms left", a->id,
	    pr->pid, pr->left);
}

static void
proc_thaw(struct world *w, int p, const struct tasks_action *a)
{
	struct proc	*pr = proc_find(w, p, a->id);

	if (pr == NULL || !pr->frozen || pr->stopping) {
		trace(w, p, "thaw %s: nothing frozen", a->id);
		return;
	}
	if (pr->task->running > 0) {
		fail(w, "two copies of %s run at once: %s let its frozen copy "
		    "run again", a->id, w->peers[p].id);
		return;
	}
	pr->frozen = 0;
	pr->task->running++;
	w->n.thawed++;
	trace(w, p, "thaw %s (pid %" PRIu32 ")", a->id, pr->pid);
	proc_schedule_exit(w, pr, pr->left);
}

/* Whether a TA_FORGET of `id` follows action `i` in `out`. */
static int
forgotten_later(const struct tasks_out *out, size_t i, const char *id)
{
	for (i++; i < out->n; i++)
		if (out->v[i].kind == TA_FORGET && strcmp(out->v[i].id, id) == 0)
			return 1;
	return 0;
}

/* ---- replicated homes: node/home.c's shell ---- */

/* Whether the core's message `a` is said as a task's home (it waits until
 * its decisions are on a majority of the set). */
static int
home_holds(struct peer *peer, const struct tasks_action *a)
{
	Lb__PeerMsg	*m = lb__peer_msg__unpack(NULL, a->len, a->msg);
	int		 kind = m != NULL ? (int)m->body_case : 0;

	if (m != NULL)
		lb__peer_msg__free_unpacked(m, NULL);
	return nhome_holds_msg(peer->core, a, kind);
}

static void
held_add(struct peer *peer, const struct tasks_action *a)
{
	struct hmsg	*h = lb_calloc(1, sizeof(*h));

	snprintf(h->to, sizeof(h->to), "%s", a->to);
	h->msg = malloc(a->len ? a->len : 1);
	memcpy(h->msg, a->msg, a->len);
	h->len = a->len;
	if (peer->nheld == peer->capheld) {
		peer->capheld = peer->capheld ? 2 * peer->capheld : 8;
		peer->held = lb_reallocarray(peer->held, peer->capheld,
		    sizeof(*peer->held));
	}
	peer->held[peer->nheld++] = h;
}

static void
held_send(void *shell_arg, void *arg, int ok)
{
	struct shellctx	*c = shell_arg;
	struct hmsg	*h = arg;

	if (ok && c->w->peers[c->p].core != NULL)
		net_send(c->w, c->p, h->to, h->msg, h->len);
	else
		trace(c->w, c->p, "a home's message to %s let go", h->to);
	free(h->msg);
	free(h);
}

/* The batch's messages of a home: each goes once the batch's decisions are
 * on a majority (peer/glue.c's held_flush). */
static void
held_flush(struct world *w, int p)
{
	struct peer	*peer = &w->peers[p];

	for (size_t i = 0; i < peer->nheld; i++) {
		struct hmsg *h = peer->held[i];

		switch (nhome_after(peer->nh, held_send, h)) {
		case 0:
			held_send(&peer->ctx, h, 1);
			break;
		case -1:
			held_send(&peer->ctx, h, 0);
			break;
		default:
			trace(w, p, "a message to %s waits for the set",
			    h->to);
			break;
		}
	}
	peer->nheld = 0;
}

static int
sh_save_state(void *arg, const char *text)
{
	struct shellctx	*c = arg;
	struct peer	*peer = &c->w->peers[c->p];

	free(peer->rstate);
	peer->rstate = lb_strdup(text);
	return 0;
}

static int
sh_keep(void *arg, const Lb__TaskRecord *rec, int sync)
{
	struct shellctx	*c = arg;

	trace(c->w, c->p, "keep %s for its home%s%s", rec->id,
	    rec->forgotten ? " (let go)" : "", sync ? " (sync)" : "");
	journal_append(c->w, &c->w->peers[c->p].rj, rec, sync);
	return 0;
}

static void
sh_send(void *arg, const char *to, const uint8_t *msg, size_t len)
{
	struct shellctx	*c = arg;

	net_send(c->w, c->p, to, msg, len);
}

static void
sh_adopted(void *arg, const char *id)
{
	struct shellctx	*c = arg;

	trace(c->w, c->p, "TAKES OVER %s", id);
	c->w->n.takeovers++;
}

static void
sh_note(void *arg, int warn, const char *text)
{
	struct shellctx	*c = arg;

	(void)warn;
	trace(c->w, c->p, "%s", text);
}

/* A peer starts with replicated homes: its set, terms and votes, then the
 * records other homes put here (the last of each id, if not let go). */
static void
home_boot(struct world *w, int p)
{
	struct peer		*peer = &w->peers[p];
	struct nhome_conf	 c = { 0 };
	struct nhome_shell	 sh = { 0 };
	const struct tasks_conf	*tc = &peer->conf;

	c.rep.self = peer->id;
	c.rep.stream = peer->inc;
	c.rep.replicas = w->replicas;
	c.rep.retry_ms = 500;
	c.rep.lease_ms = (uint32_t)tc->lease_ms;
	c.rep.heartbeat_ms = c.rep.lease_ms / 4 > 100 ? c.rep.lease_ms / 4 :
	    100;
	/* (as src/conf.c makes it by default) */
	c.rep.takeover_ms = (uint32_t)(tc->lease_ms * 103 / 100 +
	    tc->lease_margin_ms + 1000);
	c.rep.replace_ms = 10000;
	c.rep.max_records = 4 * (size_t)tc->max_tasks;
	c.rep.put_bytes = 1 << 20;
	c.lease_ms = (uint32_t)tc->lease_ms;
	c.keep_ms = (uint64_t)tc->keep_finished_s * 1000;
	c.expire_ms = 60000;
	c.waits_max = 1024;
	sh.arg = &peer->ctx;
	sh.save_state = sh_save_state;
	sh.keep = sh_keep;
	sh.send = sh_send;
	sh.adopted = sh_adopted;
	sh.note = sh_note;
	peer->nh = nhome_new(&c, peer->core, &sh);
	if (peer->rstate != NULL)
		nhome_state_load(peer->nh, w->now, peer->rstate);
	for (size_t i = 0; i < peer->rj.nj; i++) {
		Lb__TaskRecord *rec;
		size_t k;

		for (k = i + 1; k < peer->rj.nj; k++)
			if (strcmp(peer->rj.j[k].id, peer->rj.j[i].id) == 0)
				break;
		if (k < peer->rj.nj)
			continue;	/* a later one of it */
		rec = lb__task_record__unpack(NULL, peer->rj.j[i].len,
		    peer->rj.j[i].data);
		if (rec == NULL) {
			fail(w, "%s's replica journal holds a record that "
			    "does not decode", peer->id);
			return;
		}
		if (rec->forgotten)
			lb__task_record__free_unpacked(rec, NULL);
		else
			rep_load(nhome_rep(peer->nh), rec);
	}
}

/* Who acts for which home in which term, as each live peer says: one
 * peer a term, ever. */
static void
check_terms(struct world *w)
{
	const char	*homes[REP_HOMES_MAX];
	uint32_t	 terms[REP_HOMES_MAX];
	uint64_t	 uptos[REP_HOMES_MAX];

	for (int p = 0; p < w->npeers && w->failure[0] == '\0'; p++) {
		size_t n;

		if (w->peers[p].nh == NULL)
			continue;
		n = rep_acting_for(nhome_rep(w->peers[p].nh), homes, terms,
		    uptos, REP_HOMES_MAX);
		for (size_t i = 0; i < n; i++) {
			int h = peer_index(w, homes[i]);
			size_t k;

			for (k = 0; k < w->nclaims; k++)
				if (w->claims[k].home == h &&
				    w->claims[k].term == terms[i])
					break;
			if (k < w->nclaims) {
				if (w->claims[k].peer != p)
					fail(w, "%s and %s both act for home %s "
					    "in term %" PRIu32,
					    w->peers[w->claims[k].peer].id,
					    w->peers[p].id, homes[i], terms[i]);
				continue;
			}
			if (w->nclaims < CLAIMS_MAX) {
				w->claims[w->nclaims++] = (struct claim){ h, p,
				    terms[i] };
				trace(w, p, "acts for home %s in term %" PRIu32,
				    homes[i], terms[i]);
			}
		}
	}
}

/* Carry out what core `p` asked for, in order, as the shell would. */
static void
carry_out(struct world *w, int p, struct tasks_out *out)
{
	struct peer		*peer = &w->peers[p];
	struct tasks_action	*a;
	struct tasks_task	*t;
	Lb__TaskRecord		 tomb = LB__TASK_RECORD__INIT;
	Lb__TaskSpec		 nospec = LB__TASK_SPEC__INIT;
	size_t			 i;

	if (w->on_actions != NULL)
		w->on_actions(w, p, out);
	peer->depth++;
	for (i = 0; i < out->n && w->failure[0] == '\0'; i++) {
		a = &out->v[i];
		switch (a->kind) {
		case TA_SEND:
			if (peer->nh != NULL && home_holds(peer, a))
				held_add(peer, a);
			else
				net_send(w, p, a->to, a->msg, a->len);
			break;
		case TA_SAVE:
			if ((t = tasks_find(peer->core, a->id)) != NULL) {
				trace(w, p, "save %s%s", a->id,
				    a->sync ? " (sync)" : "");
				if (peer->nh != NULL &&
				    nhome_saving(peer->nh, t->rec))
					peer->flush = 1;
				journal_append(w, &peer->tj, t->rec, a->sync);
			} else if (!forgotten_later(out, i, a->id))
				fail(w, "%s asked to journal %s, which it does "
				    "not have", peer->id, a->id);
			break;
		case TA_FORGET:
			/* (as peer/store.c writes it: with an empty spec) */
			trace(w, p, "forget %s", a->id);
			tomb.id = a->id;
			tomb.spec = &nospec;
			tomb.forgotten = 1;
			journal_append(w, &peer->tj, &tomb, 0);
			break;
		case TA_START:
			proc_start(w, p, a);
			break;
		case TA_STOP:
			proc_stop(w, p, a);
			break;
		case TA_NOTE:
			trace(w, p, "note: %s", a->note);
			break;
		case TA_CHECKPOINT:
			proc_checkpoint(w, p, a);
			break;
		case TA_CKCOPY:
			ck_copy(w, p, a);
			break;
		case TA_MIGRATED:
			trace(w, p, "migrate %s (for %s): %s %s", a->id, a->to,
			    a->ok ? "moved to" : "not moved:", a->ok ? a->host :
			    a->note);
			if (!lb_id_valid(a->to) || (a->ok &&
			    !lb_id_valid(a->host)))
				fail(w, "%s told of a migration of %s with no "
				    "peer", peer->id, a->id);
			break;
		case TA_FREEZE:
			proc_freeze(w, p, a);
			break;
		case TA_THAW:
			proc_thaw(w, p, a);
			break;
		case TA_LEASE:
			trace(w, p, "lease %s until %" PRIu64, a->id, a->until);
			break;
		case TA_REPLAY:
			trace(w, p, "replay %s: its kept messages", a->id);
			break;
		case TA_OUTPUT:
		case TA_LOAD:
			break;
		default:
			fail(w, "%s asked for an unknown action %d", peer->id,
			    (int)a->kind);
			break;
		}
	}
	tasks_out_free(out);
	if (--peer->depth == 0 && peer->nh != NULL)
		held_flush(w, p);
}

/* ---- peers ---- */

static void
schedule_tick(struct world *w, int p)
{
	schedule(w, event_at(w, EV_TICK, p, rnd(w, TICK_MIN_MS, TICK_MAX_MS)));
}

/* `observer` learns that `subject` died, some time from now. */
static void
schedule_dead(struct world *w, int observer, int subject)
{
	struct event	e = event_at(w, EV_DEAD, observer,
	    rnd(w, w->detect_min, w->detect_max));

	e.inc = 0;
	e.other = subject;
	e.other_inc = w->peers[subject].inc;
	schedule(w, e);
}

/* `observer` learns of `subject`'s incarnation, some time from now. */
static void
schedule_back(struct world *w, int observer, int subject)
{
	struct event	e = event_at(w, EV_BACK, observer, rnd(w, 50, 500));

	e.inc = 0;
	e.other = subject;
	e.other_inc = w->peers[subject].inc;
	schedule(w, e);
}

/* Start peer `p`: a new incarnation, its journal read back. */
static void
peer_boot(struct world *w, int p)
{
	struct peer	*peer = &w->peers[p];
	struct tasks_out out = { 0 };
	Lb__TaskRecord	*rec;
	size_t		 i;

	peer->inc++;
	peer->next_msg_id = 1;
	memset(peer->replay, 0, sizeof(peer->replay));
	peer->core = tasks_new(&peer->conf, peer->id, peer->inc, "", 0);
	if (peer->core == NULL) {
		fail(w, "tasks_new failed for %s", peer->id);
		return;
	}
	tasks_seq_floor(peer->core, peer->seq_floor);
	memset(peer->thinks_dead, 0, sizeof(peer->thinks_dead));
	if (w->replicas > 1)
		home_boot(w, p);
	for (i = 0; i < peer->tj.nj; i++) {
		rec = lb__task_record__unpack(NULL, peer->tj.j[i].len,
		    peer->tj.j[i].data);
		if (rec == NULL) {
			fail(w, "%s's journal holds a record that does not "
			    "decode", peer->id);
			return;
		}
		if (peer->nh != NULL)
			nhome_restored(peer->nh, rec);
		tasks_restore(peer->core, rec);
	}
	trace(w, p, "boot: incarnation %" PRIu64 ", %zu journal entries",
	    peer->inc, peer->tj.nj);
	/* A home whose set may have elected another while it was away acts
	 * only once its set has answered (as peer/glue.c starts). */
	if (peer->nh != NULL)
		tasks_set_home_hold(peer->core, w->now,
		    nhome_must_wait(peer->nh, w->now), &out);
	if (w->mail_lost && peer->inc > 1)
		tasks_mailboxes_lost(peer->core);
	tasks_start(peer->core, w->now, &out);
	if (peer->nh != NULL)
		nhome_readopt(peer->nh, w->now, &out);
	carry_out(w, p, &out);
	schedule_tick(w, p);
}

static void
peer_crash(struct world *w, int p)
{
	struct peer	*peer = &w->peers[p];
	size_t		 i;
	int		 q;

	trace(w, p, "CRASH (incarnation %" PRIu64 ")", peer->inc);
	nhome_free(peer->nh);
	peer->nh = NULL;
	peer->flush = 0;
	tasks_free(peer->core);
	peer->core = NULL;
	for (i = 0; i < w->nprocs; i++) {
		if (!w->procs[i].live || w->procs[i].peer != p)
			continue;
		w->procs[i].live = 0;
		if (w->procs[i].ran && !w->procs[i].frozen)
			w->procs[i].task->running--;
	}
	journal_crash(w, p, &peer->tj);
	if (w->replicas > 1)
		journal_crash(w, p, &peer->rj);
	for (q = 0; q < w->npeers; q++)
		if (q != p)
			schedule_dead(w, q, p);
	w->n.crashes++;
}

static void
peer_restart(struct world *w, int p)
{
	int	q;

	peer_boot(w, p);
	for (q = 0; q < w->npeers; q++) {
		if (q == p)
			continue;
		schedule_back(w, q, p);
		/* What membership tells a peer that (re)joins. */
		if (w->peers[q].core == NULL)
			schedule_dead(w, p, q);
		else
			schedule_back(w, p, q);
	}
	check_peer(w, p);
}

/* ---- the workload ---- */

static int
random_live_peer(struct world *w, int except)
{
	int	v[PEERS_MAX], n = 0, i;

	for (i = 0; i < w->npeers; i++)
		if (w->peers[i].core != NULL && i != except)
			v[n++] = i;
	return n ? v[lb_rng_below(&w->rng, (uint32_t)n)] : -1;
}

/* The request id of the harness's task number `n`: from the seed and n,
 * not drawn (the runs stay the runs they were). */
static void
request_id_of(const struct world *w, size_t n, uint8_t *rid)
{
	uint64_t	a = w->seed * 0x9e3779b97f4a7c15ULL + n + 1;
	uint64_t	b = (a ^ (a >> 31)) * 0xbf58476d1ce4e5b9ULL;

	memcpy(rid, &a, 8);
	memcpy(rid + 8, &b, 8);
}

/*
 * The client sends the submit of `s` again (nanomsg's REQ resends it to a
 * peer that restarted before it answered; a script retries): its home, as
 * long as it keeps the record, answers with the same id and changes
 * nothing.  0, or -1 (a failure of the run) when its home is down.
 */
static int
resubmit(struct world *w, const struct simtask *s)
{
	static char		*argv[] = { "sim-task", NULL };
	Lb__TaskSpec		 spec = LB__TASK_SPEC__INIT;
	struct tasks_out	 out = { 0 };
	struct tasks		*c = w->peers[s->home].core;
	char			*id = NULL, *cause = NULL;
	size_t			 n, homed, n2, homed2;
	uint64_t		 seq, submitted;

	if (c == NULL)
		return -1;
	/* (one that another took over from it answers all the same) */
	if (tasks_find(c, s->id) == NULL && (w->peers[s->home].nh == NULL ||
	    !nhome_gave_up(w->peers[s->home].nh, s->id))) {
		fail(w, "%s, the home of %s, does not know it", w->peers[
		    s->home].id, s->id);
		return -1;
	}
	spec.n_argv = 1;
	spec.argv = argv;
	spec.request_id.data = (uint8_t *)s->rid;
	spec.request_id.len = sizeof(s->rid);
	n = tasks_count(c, &homed);
	seq = tasks_next_seq(c);
	submitted = tasks_stats(c)->submitted;
	if (tasks_submit(c, w->now, &spec, &id, &out, &cause) == -1)
		fail(w, "%s refused the submit of %s sent again: %s",
		    w->peers[s->home].id, s->id, cause);
	else if (strcmp(id, s->id) != 0)
		fail(w, "%s answered the submit of %s sent again with %s",
		    w->peers[s->home].id, s->id, id);
	else if (out.n != 0)
		fail(w, "the submit of %s sent again made %zu actions", s->id,
		    out.n);
	else if (n2 = tasks_count(c, &homed2), n2 != n || homed2 != homed ||
	    tasks_next_seq(c) != seq || tasks_stats(c)->submitted != submitted)
		fail(w, "the submit of %s sent again made a task", s->id);
	else
		trace(w, s->home, "submit of %s again: %s, nothing made", s->id,
		    id);
	free(id);
	free(cause);
	carry_out(w, s->home, &out);
	return 0;
}

/* The client hears that its submit was taken (or, ok = 0, hears nothing:
 * the peer went down first). */
static void
submit_answered(void *shell_arg, void *arg, int ok)
{
	struct shellctx	*c = shell_arg;
	struct simtask	*s = arg;

	trace(c->w, c->p, "submit %s: %s", s->id, ok ? "answered" :
	    "never answered");
	s->acked = ok;
}

/* Submit a task at `p` whose runs take `run_ms` (0: random): the
 * harness's record of it, or NULL. */
static struct simtask *
submit(struct world *w, int p, int run_ms)
{
	static char		*argv[] = { "sim-task", NULL };
	Lb__TaskSpec		 spec = LB__TASK_SPEC__INIT;
	struct tasks_out	 out = { 0 };
	struct simtask		*s = NULL;
	char			*id = NULL, *cause = NULL;
	uint8_t			 rid[TASKS_REQUEST_ID_LEN];

	spec.n_argv = 1;
	spec.argv = argv;
	request_id_of(w, w->ntasks, rid);
	spec.request_id.data = rid;
	spec.request_id.len = sizeof(rid);
	spec.checkpointable = w->ckpt_chance > 0 && chance(w, w->ckpt_chance);
	spec.checkpoint_exit_code = CK_CODE;
	if (spec.checkpointable && !w->scripted && chance(w, 30))
		spec.checkpoint_every_s = 1;	/* periodic checkpoints */
	if (tasks_submit(w->peers[p].core, w->now, &spec, &id, &out,
	    &cause) == -1) {
		trace(w, p, "submit refused: %s", cause ? cause : "?");
		free(cause);
	} else if (simtask_find(w, id) != NULL)
		fail(w, "%s issued the id %s twice", w->peers[p].id, id);
	else if (w->ntasks == SIMTASKS_MAX)
		fail(w, "too many tasks for the harness");
	else {
		s = &w->tasks[w->ntasks++];
		memset(s, 0, sizeof(*s));
		snprintf(s->id, sizeof(s->id), "%s", id);
		s->home = p;
		s->first_code = -1;
		s->run_ms = run_ms;
		s->checkpointable = spec.checkpointable;
		s->deaf = spec.checkpointable && chance(w, 10);
		/* Some write their checkpoints slowly (up to three times
		 * checkpoint_timeout_ms), their shells seeing it. */
		if (spec.checkpointable && !s->deaf && !w->scripted &&
		    chance(w, 10))
			s->ck_ms = (int)rnd(w, 50, 3 * (uint32_t)w->peers[p].
			    conf.checkpoint_timeout_ms);
		s->traps = !w->scripted && chance(w, 20);
		memcpy(s->rid, rid, sizeof(rid));
		w->peers[p].seq_floor = tasks_next_seq(w->peers[p].core);
		w->n.tasks++;
		trace(w, p, "submit %s", id);
	}
	free(id);
	carry_out(w, p, &out);
	if (s != NULL) {
		/* The answer waits for the set (peer/control.c). */
		switch (w->peers[p].nh != NULL ? nhome_after(w->peers[p].nh,
		    submit_answered, s) : 0) {
		case 0:
			s->acked = 1;
			break;
		case -1:
			trace(w, p, "submit %s: not answered (too many wait)",
			    s->id);
			break;
		}
	}
	return s;
}

/* The balancer: `from` offers the waiting task `id` to `to`, which it
 * believes runs at incarnation `inc`. */
static int
move_inc(struct world *w, int from, const char *id, int to, uint64_t inc)
{
	struct tasks_out out = { 0 };
	int		 rc;

	rc = tasks_move(w->peers[from].core, w->now, id, w->peers[to].id,
	    inc, ++w->req_id, &out);
	trace(w, from, "move %s to %s: %s", id, w->peers[to].id,
	    rc == 0 ? "frozen, offered" : "refused");
	if (rc == 0)
		w->n.moves++;
	carry_out(w, from, &out);
	return rc;
}

static int
move(struct world *w, int from, const char *id, int to)
{
	return move_inc(w, from, id, to, w->peers[to].inc);
}

/* lbctl migrate at a random peer, as the holder's shell hands it on. */
static int
migrate(struct world *w, int from, const char *id, int to)
{
	struct tasks_out out = { 0 };
	char		*cause = NULL;
	int		 rc, origin = (int)lb_rng_below(&w->rng,
			    (uint32_t)w->npeers);
	uint64_t	 req = ++w->req_id;

	rc = tasks_migrate(w->peers[from].core, w->now, id, w->peers[to].id,
	    w->peers[to].inc, w->peers[origin].id, req, ++w->req_id, &out,
	    &cause);
	trace(w, from, "migrate %s to %s: %s", id, w->peers[to].id,
	    rc == 0 ? "started" : cause);
	free(cause);
	if (rc == 0)
		w->n.moves++;
	carry_out(w, from, &out);
	return rc;
}

static int
cancel(struct world *w, struct simtask *s)
{
	struct tasks_out out = { 0 };
	char		*cause = NULL;
	int		 rc;

	int		 h = acting_home(w, s);

	if (h < 0)
		return -1;
	rc = tasks_cancel(w->peers[h].core, w->now, s->id, &out, &cause);
	trace(w, h, "cancel %s: %s", s->id, rc == 0 ? "accepted" :
	    cause ? cause : "refused");
	free(cause);
	if (rc == 0) {
		s->cancelled = 1;
		w->n.cancels++;
	}
	carry_out(w, h, &out);
	return rc;
}

static void
random_move(struct world *w)
{
	struct tasks_task **all, *t = NULL;
	int		  v[PEERS_MAX], n = 0, p, to, i, k;
	size_t		  na;

	for (i = 0; i < w->npeers; i++)
		if (w->peers[i].core != NULL && (tasks_queue_head(
		    w->peers[i].core) != NULL || tasks_running(
		    w->peers[i].core) > 0))
			v[n++] = i;
	if (n == 0)
		return;
	p = v[lb_rng_below(&w->rng, (uint32_t)n)];
	/* A waiting task, or (preemption, lbctl migrate) a running one. */
	all = tasks_all(w->peers[p].core, &na);
	k = 0;
	for (size_t j = 0; j < na; j++)
		if (all[j]->hold == HOLD_QUEUED || all[j]->hold == HOLD_RUNNING)
			k++;
	if (k == 0)
		return;
	k = (int)lb_rng_below(&w->rng, (uint32_t)k);
	for (size_t j = 0; j < na; j++)
		if ((all[j]->hold == HOLD_QUEUED || all[j]->hold ==
		    HOLD_RUNNING) && k-- == 0) {
			t = all[j];
			break;
		}
	/* The balancer's news may be old: now and then it picks a peer
	 * that is down. */
	if (chance(w, 10)) {
		to = (p + (int)rnd(w, 1, (uint32_t)w->npeers - 1)) % w->npeers;
	} else if ((to = random_live_peer(w, p)) < 0)
		return;
	if (chance(w, 30))
		migrate(w, p, t->rec->id, to);
	else
		move(w, p, t->rec->id, to);
}

/* The balancer's first rule: a waiting task that cannot run where it is
 * (it could not start there) goes to a live peer where it can. */
static void
place_stuck(struct world *w, int p)
{
	struct tasks_task **all;
	size_t		  na;
	int		  v[PEERS_MAX], n;

	if (w->peers[p].core == NULL)
		return;
	all = tasks_all(w->peers[p].core, &na);
	for (size_t j = 0; j < na; j++) {
		struct tasks_task *t = all[j];

		if (t->hold != HOLD_QUEUED ||
		    tasks_runs_here(w->peers[p].core, t))
			continue;
		n = 0;
		for (int q = 0; q < w->npeers; q++)
			if (q != p && w->peers[q].core != NULL &&
			    !tasks_avoids(t->rec, w->peers[q].id))
				v[n++] = q;
		if (n > 0)
			move(w, p, t->rec->id, v[lb_rng_below(&w->rng,
			    (uint32_t)n)]);
		return;		/* one a tick: the move changed the table */
	}
}

/* A drain: a random peer hands a random task it holds back to its home. */
static void
random_give_back(struct world *w)
{
	struct tasks_task **all;
	struct tasks_out  out = { 0 };
	size_t		  n, k;
	int		  p, rc;

	if ((p = random_live_peer(w, -1)) < 0)
		return;
	all = tasks_all(w->peers[p].core, &n);
	if (n == 0)
		return;
	k = lb_rng_below(&w->rng, (uint32_t)n);
	rc = tasks_give_back(w->peers[p].core, w->now, all[k]->rec->id,
	    "a simulated drain", &out);
	trace(w, p, "give back %s (%s): %s", all[k]->rec->id,
	    tasks_hold_name(all[k]->hold), rc == 0 ? "yes" : "nothing to do");
	if (rc == 0)
		w->n.givebacks++;
	carry_out(w, p, &out);
}

/* A seeded run's parameters and workload. */
static void
plan_run(struct world *w)
{
	uint32_t	span, n, i;
	struct event	e;
	int		p;

	w->npeers = (int)rnd(w, 3, 5);
	for (p = 0; p < w->npeers; p++)
		w->peers[p].conf.slots = (int)rnd(w, 1, 2);
	w->loss = (int)rnd(w, 0, 20);
	w->dup = (int)rnd(w, 0, 10);
	w->late = (int)rnd(w, 0, 20);
	w->lossy_disk = (int)rnd(w, 0, 1);
	w->raw = chance(w, 20);
	w->ckpt_chance = 50;
	w->faults = 1;
	w->auto_restart = 1;
	w->detect_min = 100;
	w->detect_max = 1500;
	/* Half the runs with leases, and only those are cut: without them,
	 * a host cut off runs on while its home runs the task again. */
	w->leases = chance(w, 50) || getenv("SIM_LEASES") != NULL;
	/* (from the seed, not the stream: the runs are what they were) */
	w->mail_lost = w->seed % 3 == 0;
	if (w->leases)
		for (p = 0; p < w->npeers; p++) {
			w->peers[p].conf.lease_ms = 800;
			w->peers[p].conf.lease_margin_ms = 200;
		}
	/* A third of the runs with preemption: running tasks that can
	 * checkpoint yield their slot (chosen by the seed, not drawn, so
	 * that the other runs are the runs they were). */
	if (w->seed % 3 == 1)
		for (p = 0; p < w->npeers; p++)
			w->peers[p].conf.preempt_slice_ms = 50 +
			    (int)(w->seed % 300);
	/* Half the runs with leases have replicated homes (by the seed):
	 * a home may die for good, and another act in its place. */
	if (w->leases && (w->seed % 4 < 2 || getenv("SIM_REPLICAS") != NULL))
		w->replicas = 3;
	/* A task fails for good after it could not start on 1, 2 or 3
	 * hosts (by the seed, as above). */
	for (p = 0; p < w->npeers; p++)
		w->peers[p].conf.max_start_failures = 1 + (int)(w->seed / 3 %
		    3);
	span = rnd(w, 2000, 6000);
	trace(w, -1, "seed %" PRIu64 ": %d peers, loss %d%%, dup %d%%, late "
	    "%d%%, %s disk, %s, %s%s, %" PRIu32 " ms of faults", w->seed,
	    w->npeers, w->loss, w->dup, w->late, w->lossy_disk ? "lossy" :
	    "safe", w->raw ? "raw network" : "replay check", w->leases ?
	    "leases" : "no leases", w->replicas > 1 ? ", replicated homes" :
	    "", span);

#define SOME(kind, count) do {						\
	n = (count);							\
	for (i = 0; i < n; i++) {					\
		e = event_at(w, (kind), -1, rnd(w, 0, span));		\
		schedule(w, e);						\
	}								\
} while (0)
	SOME(EV_SUBMIT, rnd(w, 3, 12));
	SOME(EV_MOVE, span / rnd(w, 20, 150));
	SOME(EV_CANCEL, rnd(w, 0, 4));
	SOME(EV_GIVEBACK, rnd(w, 0, 4));
	SOME(EV_CRASH, rnd(w, 0, 3));
	if (w->leases || getenv("SIM_CUT_ANYWAY") != NULL)
		SOME(EV_CUT, rnd(w, 0, 2));
	if (w->replicas > 1)
		SOME(EV_GONE, rnd(w, 0, 1));
#undef SOME
	schedule(w, event_at(w, EV_CALM, -1, span));
}

/* ---- the world ---- */

static struct world *
world_new(uint64_t seed, int trace_on, int npeers)
{
	struct world	*w = lb_calloc(1, sizeof(*w));
	int		 p;

	w->seed = seed;
	lb_rng_seed(&w->rng, seed);
	w->trace = trace_on;
	w->now = T0;
	w->calm_at = T0;
	w->npeers = npeers;
	w->detect_min = 100;
	w->detect_max = 200;
	for (p = 0; p < PEERS_MAX; p++) {
		snprintf(w->peers[p].id, sizeof(w->peers[p].id), "n%d", p + 1);
		w->peers[p].conf = sim_conf;
		w->peers[p].seq_floor = 1;
		w->peers[p].ctx.w = w;
		w->peers[p].ctx.p = p;
	}
	return w;
}

static void
world_free(struct world *w)
{
	size_t	i;
	int	p;

	for (p = 0; p < PEERS_MAX; p++) {
		if (w->peers[p].core != NULL)
			tasks_free(w->peers[p].core);
		nhome_free(w->peers[p].nh);
		journal_free(&w->peers[p].tj);
		journal_free(&w->peers[p].rj);
		free(w->peers[p].rstate);
		free(w->peers[p].held);
	}
	for (i = 0; i < w->nheap; i++)
		free(w->heap[i].data);
	free(w->heap);
	free(w->procs);
	free(w->seen);
	free(w->log);
	free(w);
}

static void
boot_all(struct world *w)
{
	int	p;

	for (p = 0; p < w->npeers; p++)
		peer_boot(w, p);
}

/* Process the next event. */
static void
step(struct world *w)
{
	struct event	 e = unschedule(w);
	struct peer	*peer = e.peer >= 0 ? &w->peers[e.peer] : NULL;
	struct tasks_out out = { 0 };
	struct proc	*pr;
	struct simtask	*s;
	Lb__PeerMsg	*m;
	char		 desc[160];
	int		 p = e.peer, home;
	uint32_t	 n;

	w->now = e.at;
	w->n.events++;
	switch (e.kind) {
	case EV_TICK:
		if (peer->core == NULL || peer->inc != e.inc)
			break;
		{
			const char *ids[PEERS_MAX];
			size_t nl = 0;

			for (int q = 0; q < w->npeers; q++)
				if (w->peers[q].core != NULL)
					ids[nl++] = w->peers[q].id;
			tasks_set_alive(peer->core, ids, nl);
		}
		/* The shell sees a slow checkpoint being written (peer/disk.c
		 * does so once a second). */
		for (size_t i = 0; i < w->nprocs; i++)
			if (w->procs[i].live && w->procs[i].writing &&
			    w->procs[i].peer == p && w->procs[i].inc ==
			    peer->inc)
				tasks_checkpoint_writing(peer->core, w->now,
				    w->procs[i].task->id);
		tasks_tick(peer->core, w->now, &out);
		if (peer->nh != NULL) {
			/* The live members as this peer's detector says (a
			 * peer up again, or no longer cut off, is seen alive
			 * by the next tick). */
			const char *ids[PEERS_MAX];
			size_t nl = 0;

			for (int q = 0; q < w->npeers; q++)
				if (peer->thinks_dead[q] &&
				    w->peers[q].core != NULL &&
				    !is_cut(w, p, q) && !is_cut(w, q, p))
					peer->thinks_dead[q] = 0;
			for (int q = 0; q < w->npeers; q++)
				if (q == p || !peer->thinks_dead[q])
					ids[nl++] = w->peers[q].id;
			nhome_tick(peer->nh, w->now, w->now, ids, nl, &out);
		}
		carry_out(w, p, &out);
		place_stuck(w, p);
		schedule_tick(w, p);
		break;
	case EV_DELIVER:
		if ((m = lb__peer_msg__unpack(NULL, e.len, e.data)) == NULL) {
			fail(w, "a message to %s no longer decodes", peer->id);
			break;
		}
		msg_describe(m, desc, sizeof(desc));
		if (peer->core == NULL)
			trace(w, p, "<- %s %s (lost: down)",
			    w->peers[e.other].id, desc);
		else if (is_cut(w, e.other, p)) {
			trace(w, p, "<- %s %s (lost: cut off)",
			    w->peers[e.other].id, desc);
			w->n.lost++;
		} else if (!w->raw && !replay_ok(peer, e.other, e.other_inc,
		    e.msg_id))
			trace(w, p, "<- %s %s (dropped: the envelope's replay "
			    "check)", w->peers[e.other].id, desc);
		else {
			trace(w, p, "<- %s %s", w->peers[e.other].id, desc);
			switch (m->body_case) {
			case LB__PEER_MSG__BODY_REPLICA_PUT:
			case LB__PEER_MSG__BODY_REPLICA_ACK:
			case LB__PEER_MSG__BODY_HOME_VOTE:
			case LB__PEER_MSG__BODY_HOME_VOTE_REPLY:
			case LB__PEER_MSG__BODY_HOME_ACTING:
				if (peer->nh != NULL)
					nhome_recv(peer->nh, w->now,
					    w->peers[e.other].id, m, &out);
				break;
			default:
				tasks_recv(peer->core, w->now,
				    w->peers[e.other].id, e.other_inc, m, &out);
				break;
			}
			carry_out(w, p, &out);
		}
		lb__peer_msg__free_unpacked(m, NULL);
		break;
	case EV_STARTED:
		pr = &w->procs[e.proc];
		if (!pr->live || peer->core == NULL || peer->inc != pr->inc)
			break;
		tasks_proc_started(peer->core, w->now, pr->task->id, pr->pid,
		    &out);
		carry_out(w, p, &out);
		break;
	case EV_EXITED:
		pr = &w->procs[e.proc];
		if (!pr->live || pr->gen != e.gen || peer->core == NULL ||
		    peer->inc != pr->inc)
			break;
		proc_exited(w, pr);
		break;
	case EV_DEAD:
		/* A death, or (gen 1) a cut the detector cannot tell from
		 * one, while it lasts. */
		if (peer->core == NULL || w->peers[e.other].inc != e.other_inc ||
		    (e.gen == 1 ? !is_cut(w, p, e.other) ||
		    w->peers[e.other].core == NULL :
		    w->peers[e.other].core != NULL))
			break;
		trace(w, p, "learns that %s died%s", w->peers[e.other].id,
		    e.gen == 1 ? " (it is only cut off)" : "");
		peer->thinks_dead[e.other] = 1;
		tasks_peer_dead(peer->core, w->now, w->peers[e.other].id,
		    &out);
		carry_out(w, p, &out);
		break;
	case EV_BACK:
		if (peer->core == NULL || w->peers[e.other].core == NULL ||
		    w->peers[e.other].inc != e.other_inc)
			break;
		trace(w, p, "learns that %s runs at incarnation %" PRIu64,
		    w->peers[e.other].id, e.other_inc);
		peer->thinks_dead[e.other] = 0;
		tasks_peer_restarted(peer->core, w->now, w->peers[e.other].id,
		    e.other_inc, &out);
		carry_out(w, p, &out);
		break;
	case EV_CRASH:
		if (p < 0) {
			if (live_peers(w) < 2)
				break;
			p = random_live_peer(w, -1);
			peer = &w->peers[p];
		} else if (peer->core == NULL)
			break;
		peer_crash(w, p);
		if (w->auto_restart)
			schedule(w, event_at(w, EV_RESTART, p,
			    rnd(w, 100, 3000)));
		p = -1;
		break;
	case EV_RESTART:
		if (peer->core != NULL || peer->inc != e.inc || peer->gone)
			break;
		peer_restart(w, p);
		/* The submits it took, sent again to it restarted (as
		 * nanomsg's REQ does): none makes a second task. */
		for (size_t i = 0; i < w->ntasks; i++)
			if (w->tasks[i].home == p)
				(void)resubmit(w, &w->tasks[i]);
		break;
	case EV_SUBMIT:
		/* A burst of tasks at one peer, so that queues form. */
		if ((p = random_live_peer(w, -1)) < 0)
			break;
		for (n = rnd(w, 1, 4); n > 0 && w->ntasks < SIMTASKS_MAX; n--)
			submit(w, p, 0);
		/* A client sends one of the earlier submits again. */
		if (w->ntasks > 0)
			(void)resubmit(w, &w->tasks[(w->ntasks - 1) / 2]);
		break;
	case EV_MOVE:
		random_move(w);
		p = -1;
		break;
	case EV_CANCEL:
		if (w->ntasks == 0)
			break;
		s = &w->tasks[lb_rng_below(&w->rng, (uint32_t)w->ntasks)];
		if ((p = acting_home(w, s)) >= 0)
			cancel(w, s);
		break;
	case EV_GIVEBACK:
		random_give_back(w);
		p = -1;
		break;
	case EV_CUT:
		if (live_peers(w) < 3 || (p = random_live_peer(w, -1)) < 0)
			break;
		/* Most often the host of a task homed elsewhere, running:
		 * the case leases are for. */
		home = -1;
		for (size_t i = 0; i < w->nprocs && chance(w, 70); i++)
			if (w->procs[i].live && w->procs[i].ran &&
			    w->procs[i].task->home != w->procs[i].peer) {
				p = w->procs[i].peer;
				home = w->procs[i].task->home;
				break;
			}
		n = rnd(w, 1000, 4000);
		if (home >= 0 && chance(w, 40)) {
			/* Host and home alone, one way or both: every other
			 * peer reaches both, so no one sees a death. */
			int way = (int)rnd(w, 0, 2);

			if (way == 1) {
				int x = p;
				p = home;
				home = x;
			}
			scene_cut_link(w, p, home, n, way == 2);
			w->n.cuts++;
			p = -1;
			break;
		}
		trace(w, p, "CUT OFF for %" PRIu32 " ms", n);
		w->cut_until[p] = w->now + n;
		w->n.cuts++;
		for (int q = 0; q < w->npeers; q++) {
			struct event d;
			if (q == p)
				continue;
			/* Each side may see the other dead. */
			d = event_at(w, EV_DEAD, q, rnd(w, w->detect_min,
			    w->detect_max));
			d.other = p;
			d.other_inc = w->peers[p].inc;
			d.gen = 1;
			schedule(w, d);
			d = event_at(w, EV_DEAD, p, rnd(w, w->detect_min,
			    w->detect_max));
			d.other = q;
			d.other_inc = w->peers[q].inc;
			d.gen = 1;
			schedule(w, d);
		}
		p = -1;
		break;
	case EV_GONE:
		/* Most often the home of a task that has not ended. */
		if (live_peers(w) < 3 || (p = random_live_peer(w, -1)) < 0)
			break;
		for (size_t i = 0; i < w->ntasks && chance(w, 80); i++)
			if (w->peers[w->tasks[i].home].core != NULL &&
			    !w->tasks[i].has_result) {
				p = w->tasks[i].home;
				break;
			}
		trace(w, p, "GONE for good");
		peer_crash(w, p);
		w->peers[p].gone = 1;
		w->ngone++;
		w->n.gone++;
		p = -1;
		break;
	case EV_CALM:
		trace(w, -1, "calm: no more faults");
		for (int q = 0; q < PEERS_MAX; q++) {
			if (w->cut_until[q] > w->now)
				w->cut_until[q] = w->now;
			for (int r = 0; r < PEERS_MAX; r++)
				if (w->link_cut[q][r] > w->now)
					w->link_cut[q][r] = w->now;
		}
		w->faults = 0;
		w->calm_at = w->now;
		break;
	}
	free(e.data);
	/* Group commit: what this event saved goes to the sets in one put
	 * (peer/replicas.c's flush, at the end of the loop's turn). */
	for (int q = 0; q < w->npeers; q++)
		if (w->peers[q].flush && w->peers[q].nh != NULL) {
			w->peers[q].flush = 0;
			nhome_flush(w->peers[q].nh, w->now);
		}
	if (w->replicas > 1)
		check_terms(w);
	if (p >= 0)
		check_peer(w, p);
	else if (e.kind == EV_MOVE || e.kind == EV_GIVEBACK)
		for (p = 0; p < w->npeers; p++)
			check_peer(w, p);
}

/* A live home waits for its set before it acts (it was away; a vote for
 * another to act in its place may be open): not quiet yet. */
static int
homes_held(const struct world *w)
{
	for (int p = 0; p < w->npeers; p++)
		if (w->peers[p].core != NULL &&
		    tasks_home_held(w->peers[p].core))
			return 1;
	return 0;
}

/* A live replica holds records of a home gone for good that no live peer
 * acts for yet: an election is due, not quiet yet. */
static int
takeover_due(const struct world *w)
{
	for (int p = 0; p < w->npeers; p++) {
		const Lb__TaskRecord *const *held;
		size_t n;

		if (w->peers[p].nh == NULL)
			continue;
		held = rep_all_held(nhome_rep(w->peers[p].nh), &n);
		for (size_t i = 0; i < n; i++) {
			char home[LB_ID_MAX];
			int h, acted = 0;

			rep_record_home(held[i], home);
			if ((h = peer_index(w, home)) < 0 || !w->peers[h].gone)
				continue;
			for (size_t c = 0; c < w->nclaims; c++)
				if (w->claims[c].home == h &&
				    w->peers[w->claims[c].peer].core != NULL)
					acted = 1;
			if (!acted)
				return 1;
		}
	}
	return 0;
}

/* Run until quiet (calm, every peer up, nothing in flight, no traffic
 * for QUIET_MS), then check the end state.  0, or -1 and w->failure. */
static int
settle(struct world *w)
{
	while (w->failure[0] == '\0') {
		if (!w->faults && w->pending == 0 &&
		    live_peers(w) == w->npeers - w->ngone &&
		    w->now >= w->last_traffic + QUIET_MS && !homes_held(w) &&
		    !takeover_due(w))
			break;
		if (!w->faults && w->now > w->calm_at + QUIET_BOUND_MS) {
			fail(w, "not quiet %d s after the faults stopped (last "
			    "sent: %s)", QUIET_BOUND_MS / 1000, w->last_sent);
			break;
		}
		if (w->nheap == 0) {
			fail(w, "nothing left to happen, with %d of %d peers up "
			    "(%d gone)", live_peers(w), w->npeers, w->ngone);
			break;
		}
		step(w);
	}
	if (w->failure[0] == '\0')
		check_final(w);
	if (w->failure[0] != '\0')
		dump(w);
	return w->failure[0] ? -1 : 0;
}

/* One seeded run: 0, or -1 and why (one line). */
static int
run_seed(uint64_t seed, int trace_on, char *why, size_t size,
    struct counts *total)
{
	struct world	*w = world_new(seed, trace_on, 0);
	const struct tasks_stats *st;
	int		 rc, p;

	plan_run(w);
	boot_all(w);
	rc = settle(w);
	snprintf(why, size, "%s%s", w->failure, rc == -1 && w->raw ?
	    " [raw network]" : "");
	for (p = 0; p < w->npeers; p++) {
		if (w->peers[p].core == NULL)
			continue;
		st = tasks_stats(w->peers[p].core);
		w->n.reruns += st->reruns;
		w->n.committed += st->transfers_out;
		w->n.migrated += st->migrations_out;
		w->n.ck_timeouts += st->checkpoint_timeouts;
		w->n.yields += st->yields;
		w->n.returned += st->returned;
	}
	w->n.runs = 1;
#define ADD(f) total->f += w->n.f
	ADD(runs); ADD(events); ADD(sent); ADD(lost); ADD(dups);
	ADD(starts); ADD(crashes); ADD(moves); ADD(cancels);
	ADD(tasks); ADD(reruns); ADD(committed); ADD(migrated);
	ADD(ck_timeouts); ADD(yields);
	ADD(givebacks); ADD(returned);
	ADD(cuts); ADD(frozen); ADD(thawed);
#undef ADD
	world_free(w);
	return rc;
}

/* ---- scripted scenarios: the holes of issue 7 ---- */

enum { N1, N2, N3, N4 };

#define RUN_UNTIL(w, ms, cond) do {					\
	uint64_t until_ = (w)->now + (ms);				\
	while (!(cond) && (w)->failure[0] == '\0' && (w)->nheap > 0 &&	\
	    (w)->heap[0].at <= until_)					\
		step(w);						\
} while (0)

/* Run for `ms` of simulated time. */
static void
run_for(struct world *w, uint64_t ms)
{
	uint64_t	until = w->now + ms;

	while (w->failure[0] == '\0' && w->nheap > 0 &&
	    w->heap[0].at <= until)
		step(w);
	if (w->now < until)
		w->now = until;
}

/* How `id` is held at `p`: a tasks_hold, or -1 (down, or not there). */
static int
hold_of(struct world *w, int p, const char *id)
{
	struct tasks_task *t;

	if (w->peers[p].core == NULL ||
	    (t = tasks_find(w->peers[p].core, id)) == NULL)
		return -1;
	return (int)t->hold;
}

static const Lb__TaskRecord *
home_record(struct world *w, const struct simtask *s)
{
	struct tasks_task *t;

	if (w->peers[s->home].core == NULL ||
	    (t = tasks_find(w->peers[s->home].core, s->id)) == NULL)
		return NULL;
	return t->rec;
}

/* What a failed submit gives a scenario (whose steps then do nothing). */
static struct simtask no_task;

/* A task at `p` whose runs take `run_ms`. */
static struct simtask *
scene_submit(struct world *w, int p, int run_ms)
{
	struct simtask	*s = submit(w, p, run_ms);

	if (s == NULL) {
		fail(w, "%s refused a submit", w->peers[p].id);
		return &no_task;
	}
	return s;
}

static void
scene_move(struct world *w, int from, const struct simtask *s, int to)
{
	if (w->failure[0] == '\0' && move(w, from, s->id, to) == -1)
		fail(w, "%s refused to move %s (held %s) to %s",
		    w->peers[from].id, s->id, hold_of(w, from, s->id) >= 0 ?
		    tasks_hold_name((enum tasks_hold)hold_of(w, from, s->id)) :
		    "nowhere", w->peers[to].id);
}

static void
scene_crash(struct world *w, int p)
{
	if (w->failure[0] == '\0' && w->peers[p].core != NULL)
		peer_crash(w, p);
}

static void
scene_restart(struct world *w, int p)
{
	if (w->failure[0] == '\0' && w->peers[p].core == NULL)
		peer_restart(w, p);
}

/* Drop (late_ms 0) or delay the next `count` messages of `type`. */
static void
scene_rule(struct world *w, int type, int from, int to, int count,
    uint32_t late_ms)
{
	struct rule	*r = &w->rules[w->nrules++];

	r->type = type;
	r->from = from;
	r->to = to;
	r->count = count;
	r->late_ms = late_ms;
}

/* n1, n2 and n3 busy (a long task in their one slot), n4 idle, and a
 * task at n1, queued. */
static struct simtask *
scene_busy(struct world *w, int busy_ms, int run_ms)
{
	struct simtask	*b[N4], *s;
	int		 p;

	for (p = N1; p < N4; p++)
		b[p] = scene_submit(w, p, busy_ms);
	s = scene_submit(w, N1, run_ms);
	RUN_UNTIL(w, 1000, b[N1]->running && b[N2]->running &&
	    b[N3]->running && hold_of(w, N1, s->id) == HOLD_QUEUED);
	expect(w, hold_of(w, N1, s->id) == HOLD_QUEUED,
	    "setup: %s is not queued at n1 behind a busy slot", s->id);
	return s;
}

/* Whether peer `p` has a link for task `id` that points at peer `to`. */
static int
link_to(struct world *w, int p, const char *id, int to)
{
	char	peer[LB_ID_MAX];

	return w->peers[p].core != NULL && tasks_link(w->peers[p].core, id,
	    peer, NULL, NULL) == 0 && strcmp(peer, w->peers[to].id) == 0;
}

/* Move `s` from `from` to `to` and wait for the commit. */
static void
scene_moved(struct world *w, struct simtask *s, int from, int to)
{
	scene_move(w, from, s, to);
	RUN_UNTIL(w, 2000, hold_of(w, to, s->id) == HOLD_QUEUED ||
	    s->starts_at[to] > 0);
	expect(w, hold_of(w, to, s->id) == HOLD_QUEUED || s->starts_at[to] > 0,
	    "the move of %s from %s to %s did not commit in 2 s", s->id,
	    w->peers[from].id, w->peers[to].id);
	/* The source left a link to where the task went (forwarding/ will
	 * follow it); the source hears of the commit a moment later. */
	RUN_UNTIL(w, 1000, link_to(w, from, s->id, to));
	expect(w, link_to(w, from, s->id, to), "%s left no link to %s for %s",
	    w->peers[from].id, w->peers[to].id, s->id);
}

/* Move `s` from `from` to `to`, and wait for it to start there once. */
static void
scene_started(struct world *w, struct simtask *s, int from, int to)
{
	scene_moved(w, s, from, to);
	RUN_UNTIL(w, 1000, s->running);
	expect(w, s->starts_at[to] == 1, "%s did not start at %s", s->id,
	    w->peers[to].id);
}

static void
expect_done(struct world *w, const struct simtask *s)
{
	expect(w, s->has_result && s->state == LB__TASK_STATE__TASK_DONE,
	    "%s has no result \"done\" at its home", s->id);
}

/*
 * A lost move notice, then the destination dies.  (A naive protocol: the
 * source commits and tells the home, which never hears of it; the home
 * waits forever for a host that no longer has the task.)
 */
static void
scene_lost_move(struct world *w)
{
	struct simtask	*s = scene_busy(w, 5000, 100);

	scene_moved(w, s, N1, N2);
	scene_rule(w, LB__PEER_MSG__BODY_TASK_MOVE, N2, N1, 1, 0);
	scene_rule(w, LB__PEER_MSG__BODY_TASK_MOVE, N3, N1, 1, 0);
	scene_move(w, N2, s, N3);
	RUN_UNTIL(w, 1000, hold_of(w, N3, s->id) >= 0);
	expect(w, hold_of(w, N3, s->id) >= 0, "%s never reached n3", s->id);
	run_for(w, NET_MAX_MS);		/* its TransferAck is on its way */
	scene_crash(w, N3);
	run_for(w, 3000);
	scene_restart(w, N3);
	settle(w);
	expect_done(w, s);
}

/*
 * The host restarts while the home is down.  (Naive: the restarted host
 * drops a task whose home does not answer, and the home, back, still
 * believes the task runs there.)
 */
static void
scene_host_restart(struct world *w)
{
	struct simtask	*s = scene_busy(w, 5000, 2000);

	scene_started(w, s, N1, N4);
	scene_crash(w, N1);
	run_for(w, 100);
	scene_crash(w, N4);
	run_for(w, 50);
	scene_restart(w, N4);
	run_for(w, 3000);
	scene_restart(w, N1);
	settle(w);
	expect_done(w, s);
}

/*
 * The host crashes and is back before its lease runs out, its mailboxes
 * gone (a crash keeps none): it tells the home so, and the home runs the
 * task again itself (the shell clears the flag when the home keeps no
 * message the task did not take); the host drops its copy.  One run
 * ends, never two at once.
 */
static void
scene_host_mail_lost(struct world *w)
{
	struct simtask	*s = scene_busy(w, 5000, 2000);

	w->mail_lost = 1;
	scene_started(w, s, N1, N4);
	scene_crash(w, N4);
	run_for(w, 50);
	scene_restart(w, N4);
	RUN_UNTIL(w, 8000, s->starts_at[N1] > 0);	/* (behind the busy one) */
	expect(w, s->starts_at[N1] == 1 && s->starts_at[N4] == 1, "%s did "
	    "not run again at its home n1 (n1 %d, n4 %d starts)", s->id,
	    s->starts_at[N1], s->starts_at[N4]);
	settle(w);
	expect_done(w, s);
}

/* The first list in which the home acknowledges the result of the task
 * watched: a synced save of it must come before the acknowledgement. */
static void
ack_after_sync(struct world *w, int p, const struct tasks_out *out)
{
	const struct tasks_action *a;
	Lb__PeerMsg	*m;
	size_t		 i;
	int		 synced = 0, ack;

	if (p != w->watch->home || w->acks_seen)
		return;
	for (i = 0; i < out->n; i++) {
		a = &out->v[i];
		if (a->kind == TA_SAVE && a->sync &&
		    strcmp(a->id, w->watch->id) == 0)
			synced = 1;
		if (a->kind != TA_SEND ||
		    (m = lb__peer_msg__unpack(NULL, a->len, a->msg)) == NULL)
			continue;
		ack = m->body_case == LB__PEER_MSG__BODY_TASK_NOTICE_ACK &&
		    strcmp(m->task_notice_ack->task_id, w->watch->id) == 0 &&
		    finished(m->task_notice_ack->state);
		lb__peer_msg__free_unpacked(m, NULL);
		if (!ack)
			continue;
		w->acks_seen = 1;
		if (!synced)
			fail(w, "%s acknowledged the result of %s with no synced "
			    "save before it in the same actions",
			    w->peers[p].id, w->watch->id);
		return;
	}
}

/*
 * A result acknowledged is on disk: a synced save comes before the ack,
 * and the home, crashing right after (losing all it did not sync), still
 * has the result.  (Naive: the ack leaves first, or the save is lazy.)
 */
static void
scene_ack_synced(struct world *w)
{
	struct simtask	*s;

	w->lossy_disk = 2;
	s = scene_busy(w, 5000, 200);
	w->watch = s;
	w->on_actions = ack_after_sync;
	scene_moved(w, s, N1, N4);
	RUN_UNTIL(w, 3000, w->acks_seen);
	expect(w, w->acks_seen, "n1 never acknowledged the result of %s",
	    s->id);
	scene_crash(w, N1);
	run_for(w, 500);
	scene_restart(w, N1);
	settle(w);
	expect_done(w, s);
}

/*
 * A cancel while the task is in transfer (from its home): it never runs.
 * (Naive: the destination installs and starts it; the cancel went to the
 * source.)
 */
/* Cancel `s` at its home and let the world settle: it never started. */
static void
cancel_unstarted(struct world *w, struct simtask *s, const char *when)
{
	expect(w, cancel(w, s) == 0, "the cancel of %s was refused", s->id);
	settle(w);
	expect(w, s->starts == 0, "%s was cancelled %s, but started %d times",
	    s->id, when, s->starts);
	expect(w, s->state == LB__TASK_STATE__TASK_CANCELLED,
	    "%s is not cancelled", s->id);
}

static void
scene_cancel_transfer(struct world *w)
{
	struct simtask	*s = scene_busy(w, 5000, 100);

	scene_move(w, N1, s, N4);
	cancel_unstarted(w, s, "during its transfer");
}

/* The same, the transfer between two peers other than the home. */
static void
scene_cancel_transfer2(struct world *w)
{
	struct simtask	*s = scene_busy(w, 5000, 100);

	scene_moved(w, s, N1, N2);
	scene_move(w, N2, s, N4);
	cancel_unstarted(w, s, "during its transfer");
}

/* A cancel of a task queued at another peer: it is stopped there, and
 * never starts.  (Naive: the home records "cancelled" and tells nobody.) */
static void
scene_cancel_queued(struct world *w)
{
	struct simtask	*s = scene_busy(w, 5000, 100);

	scene_moved(w, s, N1, N2);
	cancel_unstarted(w, s, "while queued at n2");
}

/*
 * A cancel of a task running at another peer, whose stops are lost, and
 * then the home crashes: back, it sends the stop again.  (Naive: the stop
 * lives in the home's memory only, and the task runs on to its end.)
 */
static void
scene_cancel_restart(struct world *w)
{
	struct simtask	*s = scene_busy(w, 5000, 20000);

	scene_started(w, s, N1, N4);
	run_for(w, 500);	/* its start is acknowledged: n4 waits quietly */
	scene_rule(w, LB__PEER_MSG__BODY_TASK_STOP, N1, N4, 3, 0);
	expect(w, cancel(w, s) == 0, "the cancel of %s was refused", s->id);
	run_for(w, 120);
	scene_crash(w, N1);
	run_for(w, 200);
	scene_restart(w, N1);
	RUN_UNTIL(w, 3000, proc_find(w, N4, s->id) == NULL);
	expect(w, proc_find(w, N4, s->id) == NULL, "%s still runs at n4 3 s "
	    "after its home, back from a crash, had it cancelled", s->id);
	settle(w);
	expect(w, s->state == LB__TASK_STATE__TASK_CANCELLED,
	    "%s is not cancelled", s->id);
}

/*
 * A submit sent again, and a cancel: before and after the home restarts,
 * and after the task ended, the same id and one task; a cancel of a task
 * cancelled already is no failure and does nothing.  (Naive: nanomsg's REQ
 * sends a submit again to a peer that journaled it and died before it
 * answered, and the restarted home makes a second task; a cancel sent
 * again is refused, "has already ended".)
 */
static void
scene_submit_twice(struct world *w)
{
	static char		*other[] = { "another-task", NULL };
	Lb__TaskSpec		 spec = LB__TASK_SPEC__INIT;
	struct tasks_out	 out = { 0 };
	struct simtask		*s, *c;
	char			*id = NULL, *cause = NULL;
	uint8_t			 five[5] = { 1, 2, 3, 4, 5 };
	size_t			 homed, homed2;
	int			 rc;

	s = scene_submit(w, N1, 300);
	c = scene_submit(w, N1, 20000);
	tasks_count(w->peers[N1].core, &homed);
	resubmit(w, s);
	resubmit(w, c);
	RUN_UNTIL(w, 1000, s->running || c->running);
	expect(w, cancel(w, c) == 0, "the cancel of %s was refused", c->id);
	rc = tasks_cancel(w->peers[N1].core, w->now, c->id, &out, &cause);
	expect(w, rc == 1 && out.n == 0, "a second cancel of %s: %d (%s), %zu "
	    "actions; want 1 (already cancelled), none", c->id, rc,
	    cause ? cause : "", out.n);
	free(cause);
	cause = NULL;
	carry_out(w, N1, &out);
	/* The home dies before it answers; back, it hears them again. */
	scene_crash(w, N1);
	run_for(w, 300);
	scene_restart(w, N1);
	resubmit(w, s);
	resubmit(w, c);
	rc = tasks_cancel(w->peers[N1].core, w->now, c->id, &out, &cause);
	expect(w, rc == 1 && out.n == 0, "a cancel of %s after the restart: "
	    "%d (%s); want 1 (already cancelled)", c->id, rc, cause ? cause :
	    "");
	free(cause);
	cause = NULL;
	carry_out(w, N1, &out);
	settle(w);
	expect_done(w, s);
	expect(w, c->state == LB__TASK_STATE__TASK_CANCELLED, "%s is not "
	    "cancelled", c->id);
	if (w->failure[0] != '\0')
		return;
	/* Ended, its record kept: still the same task. */
	resubmit(w, s);
	tasks_count(w->peers[N1].core, &homed2);
	expect(w, homed2 == homed, "n1 homes %zu tasks, not %zu", homed2,
	    homed);
	/* The same request id for another program: refused, not that task. */
	spec.n_argv = 1;
	spec.argv = other;
	spec.request_id.data = s->rid;
	spec.request_id.len = sizeof(s->rid);
	rc = tasks_submit(w->peers[N1].core, w->now, &spec, &id, &out, &cause);
	expect(w, rc == -1 && cause != NULL && strstr(cause, s->id) != NULL,
	    "a request id reused for another program: %d (%s)", rc,
	    rc == 0 ? id : cause ? cause : "");
	free(id);
	free(cause);
	id = cause = NULL;
	carry_out(w, N1, &out);
	/* A request id of another size: refused, saying so. */
	spec.request_id.data = five;
	spec.request_id.len = sizeof(five);
	rc = tasks_submit(w->peers[N1].core, w->now, &spec, &id, &out, &cause);
	expect(w, rc == -1 && cause != NULL && strstr(cause, "request id") !=
	    NULL, "a request id of 5 bytes: %d (%s)", rc, rc == 0 ? id :
	    cause ? cause : "");
	free(id);
	free(cause);
	carry_out(w, N1, &out);
}

/*
 * A finished record never goes back: late notices of the start and a late
 * move request reach the home after the result.  (Naive: the home takes
 * "started" or "moved here" as the newest word.)
 */
static void
scene_done_stays(struct world *w)
{
	struct simtask	*s = scene_busy(w, 5000, 100);

	scene_rule(w, LB__PEER_MSG__BODY_TASK_NOTICE, N4, N1, 1, 1500);
	scene_rule(w, LB__PEER_MSG__BODY_TASK_MOVE, N4, N1, 1, 1500);
	scene_rule(w, LB__PEER_MSG__BODY_TRANSFER_ACK, N4, N1, 1, 1000);
	scene_move(w, N1, s, N4);
	settle(w);
	expect_done(w, s);
	expect(w, s->starts == 1, "%s started %d times", s->id, s->starts);
}

/* Crash `watch`'s host as soon as it sends a Transfer of it. */
static void
crash_on_transfer(struct world *w, int from, int to,
    const Lb__PeerMsg *m)
{
	struct event	e;

	if (m->body_case != LB__PEER_MSG__BODY_TRANSFER ||
	    m->transfer->record == NULL ||
	    strcmp(m->transfer->record->id, w->watch->id) != 0)
		return;
	e = event_at(w, EV_CRASH, from, 0);
	schedule(w, e);
	w->on_send = NULL;
}

/*
 * A rerun and a concurrent transfer: the host freezes the task, offers it,
 * and dies; the home runs it again.  The two placements differ, and only
 * one of them runs.  (Naive: both take "epoch + 1", the destination's copy
 * and the rerun look the same, and both run.)
 */
static void
scene_rerun_transfer(struct world *w)
{
	struct simtask	*s = scene_busy(w, 5000, 100);

	scene_moved(w, s, N1, N2);
	w->watch = s;
	w->on_send = crash_on_transfer;
	scene_move(w, N2, s, N4);
	run_for(w, 3000);
	expect(w, w->peers[N2].core == NULL, "n2 did not crash");
	scene_restart(w, N2);
	settle(w);
	expect_done(w, s);
	expect(w, s->starts == 1, "%s started %d times", s->id, s->starts);
}

/*
 * A second Transfer of the task to a peer that holds one (the first move
 * timed out: its acks were lost): no second copy.  (Naive: the destination
 * installs both, or the first one wakes up later.)
 */
static void
scene_second_transfer(struct world *w)
{
	struct simtask	*s = scene_busy(w, 5000, 100);

	scene_rule(w, LB__PEER_MSG__BODY_TRANSFER_ACK, N2, N1, 1000, 0);
	scene_move(w, N1, s, N2);
	RUN_UNTIL(w, 2000, hold_of(w, N1, s->id) == HOLD_QUEUED);
	expect(w, hold_of(w, N1, s->id) == HOLD_QUEUED,
	    "n1 did not take %s back when its transfer timed out", s->id);
	expect(w, hold_of(w, N2, s->id) >= 0, "n2 does not hold %s",
	    s->id);
	w->nrules = 0;
	scene_move(w, N1, s, N2);
	settle(w);
	expect_done(w, s);
	expect(w, s->starts == 1, "%s started %d times", s->id, s->starts);
}

/* A task can move back to its home. */
static void
scene_back_home(struct world *w)
{
	struct simtask	*s = scene_busy(w, 3000, 100);
	const Lb__TaskRecord *r;

	scene_moved(w, s, N1, N2);
	scene_moved(w, s, N2, N1);
	settle(w);
	expect_done(w, s);
	expect(w, s->starts_at[N1] == 1 && s->starts == 1,
	    "%s did not run once, at home (%d starts, %d at n1)", s->id,
	    s->starts, s->starts_at[N1]);
	expect(w, (r = home_record(w, s)) != NULL && r->moves == 2,
	    "%s's record counts %u moves, not 2", s->id, r ? r->moves : 0);
}

/* A task its home ran again can move again (moves are not epochs). */
static void
scene_rerun_moves(struct world *w)
{
	struct simtask	*s = scene_busy(w, 5000, 100);
	const Lb__TaskRecord *r;

	scene_moved(w, s, N1, N2);
	scene_crash(w, N2);
	RUN_UNTIL(w, 2000, hold_of(w, N1, s->id) == HOLD_QUEUED);
	expect(w, hold_of(w, N1, s->id) == HOLD_QUEUED,
	    "n1 did not queue %s again when n2 died", s->id);
	scene_moved(w, s, N1, N4);
	run_for(w, 500);
	scene_restart(w, N2);
	settle(w);
	expect_done(w, s);
	expect(w, s->starts == 1 && s->starts_at[N4] == 1,
	    "%s did not run once, at n4", s->id);
	r = home_record(w, s);
	expect(w, r != NULL && r->reruns == 1 && r->moves == 2,
	    "%s's record counts %u reruns and %u moves, not 1 and 2", s->id,
	    r ? r->reruns : 0, r ? r->moves : 0);
}

/*
 * The result for a dead home is retried with growing intervals, capped
 * (not at a fixed rate), and reaches the home soon after it is back.
 */
static void
scene_backoff(struct world *w)
{
	struct simtask	*s = scene_busy(w, 5000, 300);
	uint64_t	 down, up, prev = 0, gap, last_gap = 0, max_gap = 0;
	const int	 cap = sim_conf.retry_max_ms;
	size_t		 i;
	int		 sends = 0;

	w->keep_log = 1;
	scene_moved(w, s, N1, N4);
	RUN_UNTIL(w, 1000, s->running);
	scene_crash(w, N1);
	down = w->now;
	run_for(w, 20000);
	up = w->now;
	for (i = 0; i < w->nlog; i++) {
		if (w->log[i].at < down || w->log[i].from != N4 ||
		    w->log[i].to != N1 || strcmp(w->log[i].task, s->id) != 0 ||
		    w->log[i].type != LB__PEER_MSG__BODY_TASK_NOTICE ||
		    !finished((Lb__TaskState)w->log[i].state))
			continue;
		sends++;
		if (prev != 0) {
			gap = w->log[i].at - prev;
			expect(w, gap + TICK_MAX_MS >= last_gap,
			    "the retries to a dead home shrank: %" PRIu64
			    " ms, then %" PRIu64 " ms", last_gap, gap);
			expect(w, gap <= (uint64_t)cap + 2 * TICK_MAX_MS,
			    "a retry to a dead home waited %" PRIu64 " ms, "
			    "above the cap", gap);
			last_gap = gap;
			if (gap > max_gap)
				max_gap = gap;
		}
		prev = w->log[i].at;
	}
	expect(w, sends >= 3 && sends <= 30, "%d notices to a home down for "
	    "20 s", sends);
	expect(w, max_gap + TICK_MAX_MS >= (uint64_t)cap,
	    "the retries never reached the cap (%" PRIu64 " ms at most)",
	    max_gap);
	scene_restart(w, N1);
	RUN_UNTIL(w, 5000, s->has_result);
	expect(w, s->has_result && s->result_at - up <= (uint64_t)cap +
	    2 * TICK_MAX_MS + 2 * NET_MAX_MS + 500,
	    "the result reached the home %" PRIu64 " ms after it was back",
	    s->has_result ? s->result_at - up : 0);
	settle(w);
	expect_done(w, s);
}

/*
 * A result waiting for its home survives its holder's restart (the holder
 * journaled it): the home records that run's result, exit 7.
 */
static void
scene_notice_survives(struct world *w)
{
	struct simtask	*s;
	int		 h;

	w->lossy_disk = 2;
	s = scene_busy(w, 5000, 300);
	s->first_code = 7;
	scene_moved(w, s, N1, N4);
	RUN_UNTIL(w, 1000, s->running);
	scene_crash(w, N1);
	RUN_UNTIL(w, 2000, hold_of(w, N4, s->id) == HOLD_ENDED);
	expect(w, hold_of(w, N4, s->id) == HOLD_ENDED,
	    "%s did not end at n4", s->id);
	scene_crash(w, N4);
	run_for(w, 50);
	scene_restart(w, N4);
	h = hold_of(w, N4, s->id);
	expect(w, h >= 0, "n4 forgot the result of %s in its restart", s->id);
	run_for(w, 1000);
	scene_restart(w, N1);
	settle(w);
	expect(w, s->has_result && s->state == LB__TASK_STATE__TASK_DONE &&
	    s->code == 7, "%s's home recorded %s exit %d, not the first run's "
	    "exit 7", s->id, tasks_state_name(s->state), s->code);
}

/*
 * Found by the seeded runs.  A move commits to a destination that has
 * restarted since it took the task (its copy, not yet journaled, died
 * with it), after the home heard of the restart: no later news reruns
 * the task, and it waits for ever.
 */
static void
scene_restarted_dest(struct world *w)
{
	struct simtask	*s = scene_busy(w, 5000, 100);

	scene_moved(w, s, N1, N2);
	scene_rule(w, LB__PEER_MSG__BODY_TASK_MOVE, -1, N1, 1000, 0);
	scene_move(w, N2, s, N3);
	RUN_UNTIL(w, 1000, hold_of(w, N3, s->id) == HOLD_PENDING);
	expect(w, hold_of(w, N3, s->id) == HOLD_PENDING,
	    "%s is not pending at n3", s->id);
	scene_crash(w, N3);
	scene_restart(w, N3);
	run_for(w, 1000);	/* the home learns of n3's restart */
	w->nrules = 0;		/* now the move's commit gets through */
	settle(w);
	expect_done(w, s);
}

/*
 * Found by the seeded runs.  The balancer's news is old: it offers a task
 * to a peer at the incarnation before its restart.  If the peer takes it,
 * the home, told of the restart, runs it again beside it.
 */
static void
scene_stale_incarnation(struct world *w)
{
	struct simtask	*b = scene_submit(w, N1, 300);
	struct simtask	*s = scene_submit(w, N1, 1000);
	uint64_t	 old;

	RUN_UNTIL(w, 1000, b->running && hold_of(w, N1, s->id) == HOLD_QUEUED);
	old = w->peers[N4].inc;
	scene_crash(w, N4);
	scene_restart(w, N4);
	expect(w, move_inc(w, N1, s->id, N4, old) == 0, "n1 refused to move "
	    "%s", s->id);
	settle(w);
	expect_done(w, s);
	expect(w, s->starts == 1, "%s started %d times", s->id, s->starts);
}

/*
 * Found by the seeded runs.  A holder restarts and waits for its home's
 * word; a late answer to a notice of its previous incarnation ("running:
 * current") must not start it: the home has run the task again since.
 */
static void
scene_late_ack(struct world *w)
{
	struct simtask	*b = scene_submit(w, N1, 200);
	struct simtask	*s = scene_submit(w, N1, 3000);

	RUN_UNTIL(w, 1000, b->running && hold_of(w, N1, s->id) == HOLD_QUEUED);
	scene_rule(w, LB__PEER_MSG__BODY_TASK_NOTICE_ACK, N1, N4, 1, 400);
	scene_moved(w, s, N1, N4);
	RUN_UNTIL(w, 1000, s->running);
	run_for(w, NET_MAX_MS + 10);	/* the home has the notice */
	scene_crash(w, N4);
	run_for(w, 240);		/* the home learns; runs it again */
	/* Its first notices after the restart are lost: the late answer
	 * comes before the home's word on them. */
	scene_rule(w, LB__PEER_MSG__BODY_TASK_NOTICE, N4, N1, 3, 0);
	scene_restart(w, N4);
	settle(w);
	expect_done(w, s);
	expect(w, s->starts_at[N4] == 1, "%s started %d times at n4", s->id,
	    s->starts_at[N4]);
}

/* A task at `p` that checkpoints when asked (unless `deaf`). */
static struct simtask *
scene_submit_ck(struct world *w, int p, int run_ms, int deaf)
{
	struct simtask	*s;

	w->ckpt_chance = 100;
	s = scene_submit(w, p, run_ms);
	w->ckpt_chance = 0;
	s->deaf = deaf;
	return s;
}

static int
migrate_started(struct world *w, int from, const struct simtask *s, int to)
{
	if (w->failure[0] != '\0')
		return 0;
	if (migrate(w, from, s->id, to) == -1) {
		fail(w, "%s refused to migrate %s to %s", w->peers[from].id,
		    s->id, w->peers[to].id);
		return 0;
	}
	return 1;
}

/*
 * A running task migrates: it checkpoints, moves, resumes there, and ends
 * there with the work left; the source keeps a link.
 */
static void
scene_migrate(struct world *w)
{
	struct simtask	*s = scene_submit_ck(w, N1, 2000, 0);

	RUN_UNTIL(w, 1000, s->running);
	run_for(w, 300);
	migrate_started(w, N1, s, N2);
	RUN_UNTIL(w, 2000, s->starts_at[N2] > 0);
	expect(w, s->starts_at[N2] == 1 && s->checkpoints == 1,
	    "%s did not resume at n2 after one checkpoint (%d starts there, "
	    "%d checkpoints)", s->id, s->starts_at[N2], s->checkpoints);
	migrate_started(w, N2, s, N3);
	settle(w);
	expect_done(w, s);
	expect(w, s->starts_at[N3] == 1 && s->starts == 3 && s->checkpoints == 2,
	    "%s: %d starts (%d at n3), %d checkpoints; want 3, 1, 2", s->id,
	    s->starts, s->starts_at[N3], s->checkpoints);
	expect(w, link_to(w, N1, s->id, N2) && link_to(w, N2, s->id, N3),
	    "%s left no chain of links n1 -> n2 -> n3", s->id);
	expect(w, home_record(w, s) != NULL &&
	    home_record(w, s)->n_migrations == 2,
	    "the home's record of %s lists %zu moves, not 2", s->id,
	    home_record(w, s) ? home_record(w, s)->n_migrations : 0);
}

/*
 * The destination dies with the task's Transfer in hand (no TransferAck):
 * the task resumes at the source from its checkpoint, and runs once.
 */
static void
scene_migrate_dest_dies(struct world *w)
{
	struct simtask	*s = scene_submit_ck(w, N1, 2000, 0);

	RUN_UNTIL(w, 1000, s->running);
	run_for(w, 300);
	scene_rule(w, LB__PEER_MSG__BODY_TRANSFER_ACK, N2, N1, 1, 0);
	migrate_started(w, N1, s, N2);
	RUN_UNTIL(w, 1000, hold_of(w, N2, s->id) == HOLD_PENDING);
	scene_crash(w, N2);
	RUN_UNTIL(w, 2000, s->starts_at[N1] == 2);
	expect(w, s->starts_at[N1] == 2 && s->starts_at[N2] == 0,
	    "%s did not resume at n1 (%d starts there, %d at n2)", s->id,
	    s->starts_at[N1], s->starts_at[N2]);
	scene_restart(w, N2);
	settle(w);
	expect_done(w, s);
	expect(w, s->starts == 2, "%s started %d times, not twice", s->id,
	    s->starts);
}

/* A task that does not checkpoint when asked stays, and runs on. */
static void
scene_migrate_deaf(struct world *w)
{
	struct simtask	*s = scene_submit_ck(w, N1, 1500, 1);

	RUN_UNTIL(w, 1000, s->running);
	migrate_started(w, N1, s, N2);
	run_for(w, 400);
	expect(w, s->running && s->starts == 1 && hold_of(w, N1, s->id) ==
	    HOLD_RUNNING, "%s does not run on at n1 after its checkpoint "
	    "timed out", s->id);
	expect(w, tasks_stats(w->peers[N1].core)->checkpoint_timeouts == 1,
	    "n1 counted no checkpoint timeout");
	settle(w);
	expect_done(w, s);
	expect(w, s->starts == 1 && s->starts_at[N2] == 0,
	    "%s started %d times, %d at n2", s->id, s->starts, s->starts_at[N2]);
}

/*
 * A task whose checkpoint takes four times checkpoint_timeout_ms to write
 * (a large state on a slow disk), its shell seeing it written: it is
 * waited for, and moves; the same task with its shell seeing nothing
 * would stay (scene migrate-deaf).
 */
static void
scene_migrate_slow_checkpoint(struct world *w)
{
	struct simtask	*s = scene_submit_ck(w, N1, 3000, 0);
	int		 span = w->peers[N1].conf.checkpoint_timeout_ms;

	s->ck_ms = 4 * span;
	RUN_UNTIL(w, 1000, s->running);
	run_for(w, 300);
	migrate_started(w, N1, s, N2);
	RUN_UNTIL(w, 20 * span, s->starts_at[N2] == 1);
	expect(w, s->starts_at[N2] == 1, "%s, slow to checkpoint, did not "
	    "move to n2", s->id);
	expect(w, tasks_stats(w->peers[N1].core)->checkpoint_timeouts == 0 &&
	    tasks_stats(w->peers[N1].core)->ck_slow > 0, "n1 counted %" PRIu64
	    " checkpoint timeouts, %" PRIu64 " slow ones",
	    tasks_stats(w->peers[N1].core)->checkpoint_timeouts,
	    tasks_stats(w->peers[N1].core)->ck_slow);
	settle(w);
	expect_done(w, s);
	expect(w, s->starts == 2, "%s started %d times, not twice", s->id,
	    s->starts);
}

/* ---- preemption: a running task yields its slot ---- */

#define SCENE_SLICE_MS	100
#define SCENE_CK_TIMEOUT_MS	1000

/* A long checkpointable task yields its slot to a short one submitted
 * behind it, and goes on from its checkpoint once that one ended. */
static void
scene_preempt_yield(struct world *w)
{
	struct simtask	*l = scene_submit_ck(w, N1, 1500, 0), *s;

	RUN_UNTIL(w, 1000, l->running);
	s = scene_submit(w, N1, 100);
	RUN_UNTIL(w, 2000, s->has_result);
	expect(w, l->checkpoints == 1 && !l->has_result && l->starts == 2,
	    "%s did not yield to %s (%d checkpoints, %d starts)", l->id,
	    s->id, l->checkpoints, l->starts);
	expect(w, tasks_stats(w->peers[N1].core)->yields == 1,
	    "n1 counted %llu yields, not 1", (unsigned long long)
	    tasks_stats(w->peers[N1].core)->yields);
	settle(w);
	expect_done(w, l);
	expect(w, l->starts == 2 && l->result_at > s->result_at,
	    "%s started %d times, ended at %llu (the short one at %llu)",
	    l->id, l->starts, (unsigned long long)l->result_at,
	    (unsigned long long)s->result_at);
}

/* One that does not checkpoint keeps its slot, and is asked again a
 * slice later, not at every tick. */
static void
scene_preempt_deaf(struct world *w)
{
	struct simtask	*l = scene_submit_ck(w, N1, 4000, 1), *s;

	RUN_UNTIL(w, 1000, l->running);
	s = scene_submit(w, N1, 100);
	run_for(w, 2500);
	expect(w, l->running && l->starts == 1 && !s->running &&
	    s->starts == 0, "%s gave up its slot without a checkpoint",
	    l->id);
	expect(w, tasks_stats(w->peers[N1].core)->yield_asks >= 2 &&
	    tasks_stats(w->peers[N1].core)->yield_asks <= 3 &&
	    tasks_stats(w->peers[N1].core)->yields == 0, "n1 asked %llu "
	    "yields in 2.5 s (slice 100 ms, checkpoint timeout 1000), %llu "
	    "counted", (unsigned long long)tasks_stats(w->peers[N1].core)->
	    yield_asks, (unsigned long long)tasks_stats(w->peers[N1].core)->
	    yields);
	settle(w);
	expect_done(w, l);
	expect_done(w, s);
}

/* Two long ones share the slot in turns; a short one still goes first. */
static void
scene_preempt_turns(struct world *w)
{
	struct simtask	*a = scene_submit_ck(w, N1, 800, 0), *b, *s;

	RUN_UNTIL(w, 1000, a->running);
	b = scene_submit_ck(w, N1, 800, 0);
	RUN_UNTIL(w, 2000, b->running);
	expect(w, !a->running && a->checkpoints == 1, "%s did not yield to "
	    "%s", a->id, b->id);
	s = scene_submit(w, N1, 50);
	RUN_UNTIL(w, 2000, s->has_result);
	expect(w, !a->has_result && !b->has_result, "the short one waited "
	    "for a long one to end");
	settle(w);
	expect_done(w, a);
	expect_done(w, b);
	expect_done(w, s);
	expect(w, a->starts >= 2 && b->starts >= 2, "no turns: %d and %d "
	    "starts", a->starts, b->starts);
}

/* A task that yielded may yield again a slice after it resumed (not a
 * checkpoint timeout later); a task submitted while the first one runs goes
 * before the one that yielded (least served first). */
static void
scene_preempt_again(struct world *w)
{
	struct simtask	*l = scene_submit_ck(w, N1, 3000, 0), *s1, *s2, *s3;
	struct tasks_task *k;
	uint64_t	 t0, slice;

	RUN_UNTIL(w, 1000, l->running);
	s1 = scene_submit(w, N1, 100);
	RUN_UNTIL(w, 1000, s1->running);
	s2 = scene_submit(w, N1, 50);
	RUN_UNTIL(w, 1000, s1->has_result);
	expect(w, s2->running && !l->running && l->starts == 1, "%s did not "
	    "go before %s, which had run longer", s2->id, l->id);
	RUN_UNTIL(w, 1000, l->running);
	t0 = w->now;
	k = tasks_find(w->peers[N1].core, l->id);
	slice = k != NULL && k->yield_cost * 10 > SCENE_SLICE_MS ?
	    k->yield_cost * 10 : SCENE_SLICE_MS;
	s3 = scene_submit(w, N1, 50);
	RUN_UNTIL(w, 3000, s3->has_result);
	expect(w, w->now - t0 <= slice + 250, "%s waited %llu ms for %s to "
	    "yield again (its slice %llu ms)", s3->id, (unsigned long long)
	    (w->now - t0), l->id, (unsigned long long)slice);
	expect(w, tasks_stats(w->peers[N1].core)->yields == 2,
	    "n1 counted %llu yields, not 2", (unsigned long long)
	    tasks_stats(w->peers[N1].core)->yields);
	settle(w);
	expect_done(w, l);
}

/* ---- give-back: a draining host hands a placement to its home ---- */

static void
scene_give_back(struct world *w, int p, const struct simtask *s)
{
	struct tasks_out out = { 0 };

	if (w->failure[0] != '\0')
		return;
	if (tasks_give_back(w->peers[p].core, w->now, s->id, "draining",
	    &out) == -1)
		fail(w, "%s would not hand %s back (held %s)", w->peers[p].id,
		    s->id, hold_of(w, p, s->id) >= 0 ? tasks_hold_name(
		    (enum tasks_hold)hold_of(w, p, s->id)) : "nowhere");
	carry_out(w, p, &out);
}

/* A task homed at n1 runs at n4, which hands it back. */
static struct simtask *
scene_running_at_n4(struct world *w)
{
	struct simtask	*s = scene_busy(w, 3000, 2000);

	scene_started(w, s, N1, N4);
	return s;
}

static uint64_t
returned_at(struct world *w, int p)
{
	return w->peers[p].core ? tasks_stats(w->peers[p].core)->returned : 0;
}

/*
 * The returns and the home's acks are lost, then a return comes twice:
 * the home places the task anew once, and it ends once.  (Naive: the
 * holder forgets the task when it sends the return, and a lost return
 * loses the task; or the home places it anew at every copy.)
 */
static void
scene_giveback_lost(struct world *w)
{
	struct simtask	*s = scene_running_at_n4(w);

	scene_rule(w, LB__PEER_MSG__BODY_TASK_RETURN, N4, N1, 2, 0);
	scene_rule(w, LB__PEER_MSG__BODY_TASK_RETURN_ACK, N1, N4, 1, 0);
	scene_give_back(w, N4, s);
	RUN_UNTIL(w, 3000, hold_of(w, N4, s->id) < 0);
	expect(w, hold_of(w, N4, s->id) < 0, "n4 still holds %s 3 s after "
	    "handing it back", s->id);
	expect(w, returned_at(w, N1) == 1, "n1 placed %s anew %" PRIu64
	    " times", s->id, returned_at(w, N1));
	settle(w);
	expect_done(w, s);
	expect(w, s->starts_at[N4] == 1 && s->starts_at[N1] == 1, "%s started "
	    "%d times at n4 and %d at n1", s->id, s->starts_at[N4],
	    s->starts_at[N1]);
}

/*
 * The task catches the stop of a hand-back and exits 29 (or 0): lbpeer
 * ended that run, so it is no result; the home runs the task again, and it
 * ends with a run of its own.  (Before: any exit but 143 after the stop
 * counted as a run that ended by itself, and was recorded.)
 */
static void
scene_giveback_trap(struct world *w)
{
	struct simtask	*s = scene_running_at_n4(w);

	s->traps = 1;
	scene_give_back(w, N4, s);
	settle(w);
	expect_done(w, s);
	expect(w, s->code != TRAP_CODE, "%s's result is the exit of the run "
	    "lbpeer stopped", s->id);
	expect(w, s->starts_at[N1] == 1, "%s did not run again at its home "
	    "after the hand-back (%d starts there)", s->id, s->starts_at[N1]);
}

/* The first return arrives late, after a retry was acted on: it is stale
 * and changes nothing. */
static void
scene_giveback_late(struct world *w)
{
	struct simtask	*s = scene_running_at_n4(w);

	scene_rule(w, LB__PEER_MSG__BODY_TASK_RETURN, N4, N1, 1, 1500);
	scene_give_back(w, N4, s);
	run_for(w, 2000);
	expect(w, returned_at(w, N1) == 1, "n1 placed %s anew %" PRIu64
	    " times", s->id, returned_at(w, N1));
	settle(w);
	expect_done(w, s);
}

/* The home is down when the task is handed back: the holder asks until
 * it is back, which then places the task anew. */
static void
scene_giveback_home_down(struct world *w)
{
	struct simtask	*s = scene_running_at_n4(w);

	scene_crash(w, N1);
	run_for(w, 50);
	scene_give_back(w, N4, s);
	run_for(w, 2000);
	expect(w, hold_of(w, N4, s->id) == HOLD_RETURNING, "n4 holds %s as "
	    "%s, not returning, while its home is down", s->id,
	    hold_of(w, N4, s->id) >= 0 ? tasks_hold_name((enum tasks_hold)
	    hold_of(w, N4, s->id)) : "nothing");
	scene_restart(w, N1);
	RUN_UNTIL(w, 3000, hold_of(w, N4, s->id) < 0);
	expect(w, returned_at(w, N1) == 1, "n1, back, placed %s anew %" PRIu64
	    " times", s->id, returned_at(w, N1));
	settle(w);
	expect_done(w, s);
}

/*
 * A late return of a placement that a rerun and then a move replaced:
 * the task is not placed anew again (two placements would run it).
 */
static void
scene_giveback_stale(struct world *w)
{
	struct simtask	*s = scene_running_at_n4(w);

	scene_rule(w, LB__PEER_MSG__BODY_TASK_RETURN, N4, N1, 1, 1500);
	scene_give_back(w, N4, s);
	RUN_UNTIL(w, 1000, hold_of(w, N1, s->id) == HOLD_QUEUED &&
	    hold_of(w, N4, s->id) < 0);
	expect(w, hold_of(w, N1, s->id) == HOLD_QUEUED, "%s is not queued at "
	    "its home after the return", s->id);
	scene_moved(w, s, N1, N4);	/* back to n4, a new placement */
	run_for(w, 1500);		/* the late return arrives */
	expect(w, returned_at(w, N1) == 1, "n1 placed %s anew %" PRIu64
	    " times", s->id, returned_at(w, N1));
	settle(w);
	expect_done(w, s);
	expect(w, s->starts_at[N4] == 2, "%s started %d times at n4", s->id,
	    s->starts_at[N4]);
}

/*
 * A draining home: it starts nothing from its queue and takes no
 * transfer; its own running task, handed back, waits queued until it
 * moves away (the balancer's part, here the script's).
 */
static void
scene_giveback_draining_home(struct world *w)
{
	struct simtask	*s = scene_submit(w, N1, 2000);
	struct simtask	*q;

	RUN_UNTIL(w, 1000, s->running);
	tasks_set_draining(w->peers[N1].core, 1);
	q = scene_submit(w, N2, 100);
	if (w->failure[0] == '\0' && move(w, N2, q->id, N1) == 0) {
		RUN_UNTIL(w, 1000, hold_of(w, N2, q->id) == HOLD_QUEUED ||
		    hold_of(w, N2, q->id) == HOLD_RUNNING);
		expect(w, hold_of(w, N1, q->id) < 0, "draining n1 took %s",
		    q->id);
	}
	scene_give_back(w, N1, s);
	run_for(w, 500);
	expect(w, hold_of(w, N1, s->id) == HOLD_QUEUED &&
	    s->starts_at[N1] == 1, "%s is %s at draining n1 after its start "
	    "%d", s->id, hold_of(w, N1, s->id) >= 0 ? tasks_hold_name(
	    (enum tasks_hold)hold_of(w, N1, s->id)) : "nothing",
	    s->starts_at[N1]);
	scene_moved(w, s, N1, N3);
	tasks_set_draining(w->peers[N1].core, 0);
	settle(w);
	expect_done(w, s);
	expect_done(w, q);
	expect(w, s->starts_at[N3] == 1, "%s started %d times at n3", s->id,
	    s->starts_at[N3]);
}

/* ---- leases: partitions and a home down (the cores have leases) ---- */

#define SCENE_LEASE_MS	800
#define SCENE_MARGIN_MS	200

/* Cut `p` off for `ms`; with `seen`, every other peer sees it dead (and it
 * them) `seen` ms later. */
static void
scene_cut(struct world *w, int p, uint32_t ms, uint32_t seen)
{
	w->cut_until[p] = w->now + ms;
	trace(w, p, "CUT OFF for %" PRIu32 " ms", ms);
	for (int q = 0; q < w->npeers && seen > 0; q++) {
		struct event d;
		if (q == p)
			continue;
		d = event_at(w, EV_DEAD, q, seen);
		d.other = p;
		d.other_inc = w->peers[p].inc;
		d.gen = 1;
		schedule(w, d);
		d = event_at(w, EV_DEAD, p, seen);
		d.other = q;
		d.other_inc = w->peers[q].inc;
		d.gen = 1;
		schedule(w, d);
	}
}

/* A task of n1's running at n2, `run_ms` long (checkpointable: `ck`). */
static struct simtask *
scene_running_at_n2(struct world *w, int run_ms, int ck)
{
	struct simtask *s;

	if (!ck) {
		/* Queued at n1 behind a short task, then moved. */
		scene_submit(w, N1, 1200);
		s = scene_submit(w, N1, run_ms);
		RUN_UNTIL(w, 1000, hold_of(w, N1, s->id) == HOLD_QUEUED);
	} else
		s = scene_submit_ck(w, N1, run_ms, 0);
	if (ck) {
		/* Placed at n2 before it starts: n1 busy. */
		RUN_UNTIL(w, 1000, s->running);
		migrate_started(w, N1, s, N2);
	} else
		scene_moved(w, s, N1, N2);
	RUN_UNTIL(w, 3000, s->starts_at[N2] > 0 && s->running);
	expect(w, s->starts_at[N2] == 1 && s->running == 1,
	    "setup: %s does not run at n2", s->id);
	return s;
}

/*
 * The host is cut off and seen dead: its copy is frozen when its lease
 * runs out, and only then does the home run the task again; back, the
 * frozen copy is killed, and the task ends once.  (Without leases: two
 * copies run at once.)
 */
static void
scene_lease_cut_host(struct world *w)
{
	struct simtask	*s = scene_running_at_n2(w, 3000, 0);
	uint64_t	 cut_at = w->now;

	scene_cut(w, N2, 2500, 100);
	RUN_UNTIL(w, 3000, s->starts_at[N1] > 0);
	expect(w, s->starts_at[N1] == 1, "%s did not run again at its home "
	    "while n2 was cut off", s->id);
	expect(w, w->now >= cut_at + SCENE_LEASE_MS, "%s ran again at its "
	    "home %" PRIu64 " ms after the cut, before the lease ran out",
	    s->id, w->now - cut_at);
	settle(w);
	expect_done(w, s);
	expect(w, w->n.frozen == 1 && w->n.thawed == 0, "%s: %" PRIu64
	    " frozen, %" PRIu64 " thawed; want 1, 0", s->id, w->n.frozen,
	    w->n.thawed);
}

/* Kill the process of `s` at `p` from outside (kill -9, the OOM killer):
 * lbpeer did not stop it. */
static void
scene_kill(struct world *w, int p, const struct simtask *s)
{
	struct proc	*pr = proc_find(w, p, s->id);

	if (pr == NULL || !pr->ran) {
		fail(w, "no process of %s at %s to kill", s->id,
		    w->peers[p].id);
		return;
	}
	trace(w, p, "KILL -9 %s (pid %" PRIu32 ") from outside", s->id,
	    pr->pid);
	pr->signal = 9;
	proc_schedule_exit(w, pr, 0);
}

/*
 * The host is cut off and seen dead; once the task runs again at its home,
 * the frozen copy at the old host is killed from outside (kill -9).  Back,
 * the old host reports that run: a stale copy a signal ended is no
 * complete run, and the home's run goes on to the result.  (Before: the
 * home recorded "signal 9" and stopped its own run.)
 */
static void
scene_stale_killed(struct world *w)
{
	struct simtask	*s = scene_running_at_n2(w, 3000, 0);

	scene_cut(w, N2, 2500, 100);
	RUN_UNTIL(w, 3000, s->starts_at[N1] > 0);
	expect(w, s->starts_at[N1] == 1, "%s did not run again at its home "
	    "while n2 was cut off", s->id);
	scene_kill(w, N2, s);
	settle(w);
	expect_done(w, s);
	expect(w, s->signal == 0, "%s's result is the signal %d of the stale "
	    "copy killed from outside", s->id, s->signal);
}

/*
 * A late commit lends no lease to a later hold.  n1 moves a waiting task to
 * n2 and commits; its reply to n2 is held back 3.5 s.  n2 is cut off, seen
 * dead, and n1 runs the task again once n2's lease would have run out; back,
 * n2 hears its placement is not current and forgets it.  A late copy of the
 * Transfer (a raw network) makes n2 hold the same placement again; then the
 * old reply comes.  The commit it carries is no lease for this new hold:
 * n2 must not run the task while n1's run goes on.  (Without the echo of
 * the hold's time, n2 ran it from the reply, two copies at once.)
 */
static void
scene_lease_late_commit(struct world *w)
{
	struct simtask	*s;

	w->raw = 1;
	scene_submit(w, N1, 1200);
	s = scene_submit(w, N1, 3000);
	RUN_UNTIL(w, 1000, hold_of(w, N1, s->id) == HOLD_QUEUED);
	scene_rule(w, LB__PEER_MSG__BODY_TASK_MOVE_REPLY, N1, N2, 1, 3500);
	scene_rule(w, LB__PEER_MSG__BODY_TRANSFER, N1, N2, 1, 3000);
	w->rules[w->nrules - 1].dup = 1;
	scene_move(w, N1, s, N2);
	RUN_UNTIL(w, 1000, hold_of(w, N2, s->id) == HOLD_PENDING &&
	    hold_of(w, N1, s->id) == HOLD_NONE);
	scene_cut(w, N2, 1400, 50);
	RUN_UNTIL(w, 3000, s->starts_at[N1] > 0);
	expect(w, s->starts_at[N1] == 1 && s->starts_at[N2] == 0, "setup: %s "
	    "did not run again at n1 (%d) alone (n2: %d)", s->id,
	    s->starts_at[N1], s->starts_at[N2]);
	run_for(w, 3500);
	expect(w, s->starts_at[N2] == 0, "%s started at n2 from a late commit "
	    "while n1 ran it", s->id);
	settle(w);
	expect_done(w, s);
}

/*
 * The home and the host cannot reach each other, in one way or both, while
 * every other peer reaches both: no one is seen dead.  The host's lease
 * runs out and its copy is frozen; the home, that no longer hears its host
 * ask (or hears that its grants do not arrive), runs the task again once
 * the last lease it granted has run out; the cut over, the frozen copy is
 * killed and the task ends once.  (Before: the home waited for a death that
 * no one saw, and the task stood frozen until the cut healed.)
 */
static void
scene_lease_link(struct world *w, int from, int to, int both)
{
	struct simtask	*s = scene_running_at_n2(w, 3000, 0);
	uint64_t	 cut_at = w->now;

	scene_cut_link(w, from, to, 6000, both);
	RUN_UNTIL(w, 5000, s->starts_at[N1] > 0);
	expect(w, s->starts_at[N1] == 1, "%s did not run again at its home "
	    "while it and its host were cut off from each other", s->id);
	expect(w, w->now >= cut_at + SCENE_LEASE_MS, "%s ran again at its "
	    "home %" PRIu64 " ms after the cut, before the lease ran out",
	    s->id, w->now - cut_at);
	expect(w, w->n.frozen == 1, "%s: %" PRIu64 " frozen, want 1", s->id,
	    w->n.frozen);
	settle(w);
	expect_done(w, s);
}

static void
scene_lease_pair_cut(struct world *w)
{
	scene_lease_link(w, N1, N2, 1);
}

static void
scene_lease_home_to_host(struct world *w)
{
	scene_lease_link(w, N1, N2, 0);
}

static void
scene_lease_host_to_home(struct world *w)
{
	scene_lease_link(w, N2, N1, 0);
}

/* The same cuts, shorter than the lease: the task is not run again (its
 * copy may be frozen for a moment, when two grants in a row are lost, and
 * is let run again). */
static void
scene_lease_short_link(struct world *w)
{
	struct simtask	*s = scene_running_at_n2(w, 3000, 0);

	scene_cut_link(w, N1, N2, SCENE_LEASE_MS / 4, 1);
	run_for(w, SCENE_LEASE_MS);
	scene_cut_link(w, N1, N2, SCENE_LEASE_MS / 4, 0);
	run_for(w, SCENE_LEASE_MS);
	scene_cut_link(w, N2, N1, SCENE_LEASE_MS / 4, 0);
	settle(w);
	expect_done(w, s);
	expect(w, s->starts == 1 && w->n.frozen == w->n.thawed, "%s: %d "
	    "starts, %" PRIu64 " frozen, %" PRIu64 " thawed; want 1 start, "
	    "every freeze thawed", s->id, s->starts, w->n.frozen,
	    w->n.thawed);
}

/*
 * A cut shorter than the lease, not seen as a death: nothing changes.
 */
static void
scene_lease_short_cut(struct world *w)
{
	struct simtask	*s = scene_running_at_n2(w, 3000, 0);

	scene_cut(w, N2, SCENE_LEASE_MS / 2, 0);
	settle(w);
	expect_done(w, s);
	expect(w, s->starts == 1 && w->n.frozen == 0, "%s: %d starts, %"
	    PRIu64 " frozen; want 1, 0", s->id, s->starts, w->n.frozen);
}

/*
 * The home is down while its task runs elsewhere: the host freezes the
 * task when its lease runs out (a checkpointable one checkpoints first
 * and waits), and when the home is back, the task runs on where it was
 * and its result reaches the home.  Nothing is run twice.
 */
static void
scene_lease_home_down(struct world *w)
{
	struct simtask	*s = scene_running_at_n2(w, 3000, 0);

	scene_crash(w, N1);
	run_for(w, 2000);
	expect(w, w->n.frozen == 1 && s->running == 0, "%s still runs at n2 "
	    "without a lease (frozen %" PRIu64 ")", s->id, w->n.frozen);
	scene_restart(w, N1);
	settle(w);
	expect_done(w, s);
	expect(w, s->starts == 1 && w->n.thawed == 1, "%s: %d starts, %"
	    PRIu64 " thawed; want 1, 1", s->id, s->starts, w->n.thawed);
}

/*
 * A home's leases end with its own home lease (replicated homes): told
 * that its home lease ends a lease from now (as it would once its set
 * stops answering), it grants no lease past that, and its task at n2 is
 * frozen by then though home and host talk (without the bound the host's
 * lease would be renewed on); the bound lifted, it runs on.
 */
static void
scene_lease_nested(struct world *w)
{
	struct simtask	*s = scene_running_at_n2(w, 3000, 0);
	uint64_t	 end = w->now + SCENE_LEASE_MS;

	tasks_set_home_lease(w->peers[N1].core, end, NULL);
	RUN_UNTIL(w, 2000, w->n.frozen == 1);
	expect(w, w->n.frozen == 1 && s->running == 0 && w->now <= end +
	    SCENE_MARGIN_MS, "%s ran at n2 %" PRId64 " ms past its home's "
	    "home lease (frozen %" PRIu64 ")", s->id, (int64_t)(w->now - end),
	    w->n.frozen);
	tasks_set_home_lease(w->peers[N1].core, 0, NULL);
	settle(w);
	expect_done(w, s);
	expect(w, s->starts == 1 && w->n.thawed == 1, "%s: %d starts, %"
	    PRIu64 " thawed; want 1, 1", s->id, s->starts, w->n.thawed);
}

static void
scene_lease_home_down_ck(struct world *w)
{
	struct simtask	*s = scene_running_at_n2(w, 3000, 1);

	scene_crash(w, N1);
	run_for(w, 2000);
	expect(w, s->running == 0 && s->checkpoints == 2, "%s: running %d, "
	    "%d checkpoints: want 0 and 2 (its move, its lease)", s->id,
	    s->running, s->checkpoints);
	scene_restart(w, N1);
	settle(w);
	expect_done(w, s);
	expect(w, s->starts_at[N2] == 2 && s->starts_at[N1] == 1,
	    "%s: %d starts at n2, %d at n1; want 2 (resumed there), 1", s->id,
	    s->starts_at[N2], s->starts_at[N1]);
}

/*
 * A late LeaseAsk from a host that has died since reaches the home after
 * the death: the rerun is put off again, not dropped.  (Dropped, the task
 * would wait for a host that never comes back.)
 */
static void
scene_lease_late_ask(struct world *w)
{
	struct simtask	*s = scene_running_at_n2(w, 3000, 0);

	scene_rule(w, LB__PEER_MSG__BODY_LEASE_ASK, N2, N1, 1, 400);
	run_for(w, SCENE_LEASE_MS / 4 + 100);	/* the late one is sent */
	scene_crash(w, N2);
	RUN_UNTIL(w, 6000, s->starts_at[N1] > 0);
	expect(w, s->starts_at[N1] == 1, "%s did not run again at its home "
	    "while its host stayed dead", s->id);
	scene_restart(w, N2);
	settle(w);
	expect_done(w, s);
}

/* ---- scenarios of replicated homes (named home-*) ---- */

/* Peer `p` dies for good. */
static void
scene_gone(struct world *w, int p)
{
	if (w->failure[0] != '\0' || w->peers[p].core == NULL)
		return;
	trace(w, p, "GONE for good");
	peer_crash(w, p);
	w->peers[p].gone = 1;
	w->ngone++;
}

/* Whether home `p`'s decisions so far are on a majority of its set. */
static int
home_committed(struct world *w, int p)
{
	struct nhome	*nh = w->peers[p].nh;

	return nh != NULL && nhome_committed(nh) >= rep_version(nhome_rep(nh));
}

/* Whether `s` started (again) at a peer other than `not` since `before`
 * starts of it in all. */
static int
started_since(const struct world *w, const struct simtask *s, int not,
    int before)
{
	int	elsewhere = 0;

	for (int q = 0; q < w->npeers; q++)
		if (q != not)
			elsewhere += s->starts_at[q];
	return s->starts > before && elsewhere > 0;
}

/*
 * A home dies for good with one task running there, one running
 * elsewhere and one waiting: a replica of its set takes over; each ends
 * once, with its result at the peer acting for the home; the one that
 * ran at the dead home runs again within takeover_ms (lease_ms and its
 * margin, and a second) of its death, and the detection.
 */
static void
scene_home_gone(struct world *w)
{
	struct simtask	*b[N4], *here, *away, *queued;
	uint64_t	 died, limit;
	int		 starts;

	for (int p = N2; p < N4; p++)
		b[p] = scene_submit(w, p, 3000);
	here = scene_submit(w, N1, 3000);
	queued = scene_submit(w, N1, 200);
	away = scene_submit(w, N1, 3000);
	RUN_UNTIL(w, 2000, here->running && b[N2]->running &&
	    b[N3]->running && hold_of(w, N1, away->id) == HOLD_QUEUED);
	expect(w, here->running && hold_of(w, N1, away->id) == HOLD_QUEUED,
	    "setup: %s does not run at n1, or %s does not wait there",
	    here->id, away->id);
	scene_moved(w, away, N1, N4);
	RUN_UNTIL(w, 2000, away->running && home_committed(w, N1) &&
	    here->acked && queued->acked && away->acked);
	expect(w, away->running && here->acked && queued->acked &&
	    away->acked && home_committed(w, N1), "setup: %s does not run "
	    "at n4, or n1's decisions are not on its set", away->id);
	expect(w, here->starts_at[N1] == here->starts, "setup: %s ran "
	    "elsewhere than n1", here->id);
	starts = here->starts;
	died = w->now;
	scene_gone(w, N1);
	limit = (uint64_t)SCENE_LEASE_MS * 103 / 100 + SCENE_MARGIN_MS + 1000 +
	    w->detect_max + 1000;
	RUN_UNTIL(w, limit, started_since(w, here, N1, starts));
	expect(w, started_since(w, here, N1, starts), "%s did not run again within "
	    "%" PRIu64 " ms of its home's death", here->id, limit);
	trace(w, -1, "%s ran again %" PRIu64 " ms after its home died",
	    here->id, w->now - died);
	settle(w);
	expect_done(w, here);
	expect_done(w, queued);
	expect_done(w, away);
	expect(w, acting_home(w, here) != N1 && acting_home(w, here) >= 0,
	    "no peer acts for n1");
}

/*
 * A cancel the home acknowledged, then the home dies before its stop
 * reaches the host: the peer that takes over (the host itself, or
 * another) stops the run; the task ends cancelled.
 */
static void
scene_home_cancel_gone(struct world *w)
{
	struct simtask	*s = scene_busy(w, 5000, 3000);

	scene_moved(w, s, N1, N2);
	RUN_UNTIL(w, 2000, s->running);
	scene_rule(w, LB__PEER_MSG__BODY_TASK_STOP, N1, -1, 100, 0);
	expect(w, cancel(w, s) == 0, "n1 refused to cancel %s", s->id);
	RUN_UNTIL(w, 2000, home_committed(w, N1));
	expect(w, home_committed(w, N1), "the cancel of %s is not on n1's "
	    "set", s->id);
	scene_gone(w, N1);
	settle(w);
	expect(w, s->has_result && s->state ==
	    LB__TASK_STATE__TASK_CANCELLED, "%s did not end cancelled",
	    s->id);
	expect(w, s->running == 0, "%s still runs", s->id);
}

/*
 * The home is away longer than takeover_ms, a replica acts for its tasks,
 * then it comes back: it lets them go (one acting home), and a client that
 * sends a submit again (its request id) hears the same task, not a new
 * one.
 */
static void
scene_home_back(struct world *w)
{
	struct simtask	*s = scene_busy(w, 5000, 3000);

	scene_moved(w, s, N1, N2);
	RUN_UNTIL(w, 2000, s->running && s->acked && home_committed(w, N1));
	scene_crash(w, N1);
	RUN_UNTIL(w, 10000, acting_home(w, s) >= 0);
	expect(w, acting_home(w, s) > N1, "no replica took over %s", s->id);
	scene_restart(w, N1);
	RUN_UNTIL(w, 5000, w->peers[N1].core != NULL &&
	    tasks_find(w->peers[N1].core, s->id) == NULL);
	expect(w, w->peers[N1].nh != NULL && nhome_gave_up(w->peers[N1].nh,
	    s->id) && tasks_find(w->peers[N1].core, s->id) == NULL,
	    "n1 did not let %s go", s->id);
	(void)resubmit(w, s);
	/* ... after another restart too (the request ids are on disk). */
	scene_crash(w, N1);
	run_for(w, 100);
	scene_restart(w, N1);
	(void)resubmit(w, s);
	settle(w);
	expect_done(w, s);
}

/*
 * The home is taken over, comes back, takes new tasks, and dies for
 * good: its new tasks are taken over again (a second takeover, for them
 * only), its old ones stay with the first; each ends once.
 */
static void
scene_home_twice(struct world *w)
{
	struct simtask	*old = scene_busy(w, 5000, 3000), *fresh;

	scene_moved(w, old, N1, N2);
	RUN_UNTIL(w, 2000, old->running && old->acked &&
	    home_committed(w, N1));
	scene_crash(w, N1);
	RUN_UNTIL(w, 10000, acting_home(w, old) > N1);
	expect(w, acting_home(w, old) > N1, "no replica took over %s",
	    old->id);
	scene_restart(w, N1);
	RUN_UNTIL(w, 5000, !tasks_home_held(w->peers[N1].core));
	fresh = scene_submit(w, N1, 3000);
	RUN_UNTIL(w, 3000, fresh->acked && fresh->running &&
	    home_committed(w, N1));
	expect(w, fresh->acked && fresh->running, "setup: %s was not "
	    "answered, or does not run", fresh->id);
	scene_gone(w, N1);
	settle(w);
	expect_done(w, old);
	expect_done(w, fresh);
}

/* Whether peer `p` acts for home `home`. */
static int
acts_for(struct world *w, int p, int home)
{
	const char	*homes[REP_HOMES_MAX];
	uint32_t	 terms[REP_HOMES_MAX];
	uint64_t	 uptos[REP_HOMES_MAX];
	size_t		 n;

	if (w->peers[p].nh == NULL)
		return 0;
	n = rep_acting_for(nhome_rep(w->peers[p].nh), homes, terms, uptos,
	    REP_HOMES_MAX);
	for (size_t i = 0; i < n; i++)
		if (strcmp(homes[i], w->peers[home].id) == 0)
			return 1;
	return 0;
}

/*
 * The home is down; the first replica of its set wins the election, but
 * no other member hears of its win (its word is lost, and its own stream
 * does not reach the one that voted), and it dies for good at once; the
 * home comes back.  Only one may act for the home's tasks: the winner's
 * successors or the home, never both.
 */
static void
scene_home_winner_gone(struct world *w)
{
	struct simtask		*s = scene_submit(w, N1, 4000);
	const struct rep_peer	*set;
	size_t			 nset;
	int			 win, other;

	RUN_UNTIL(w, 2000, s->running && s->acked && home_committed(w, N1));
	set = rep_set(nhome_rep(w->peers[N1].nh), &nset);
	expect(w, s->running && s->acked && nset == 2, "setup: %s does not "
	    "run, or n1's set is not two others", s->id);
	if (w->failure[0] != '\0')
		return;
	win = peer_index(w, set[0].id);
	other = peer_index(w, set[1].id);
	/* (the first of the set alive stands first) */
	scene_rule(w, LB__PEER_MSG__BODY_HOME_ACTING, win, -1, 1000000, 0);
	scene_rule(w, LB__PEER_MSG__BODY_REPLICA_PUT, win, other, 1000000, 0);
	scene_crash(w, N1);
	RUN_UNTIL(w, 10000, acts_for(w, win, N1) || (w->peers[win].nh &&
	    rep_confirming(nhome_rep(w->peers[win].nh), w->peers[N1].id)));
	expect(w, acts_for(w, win, N1) || rep_confirming(nhome_rep(
	    w->peers[win].nh), w->peers[N1].id), "setup: %s did not win "
	    "the election for n1", w->peers[win].id);
	scene_gone(w, win);
	w->nrules = 0;
	scene_restart(w, N1);
	settle(w);
	expect_done(w, s);
}

/* Peers of `mask` (bits by index) and the others lose all they send
 * each other for `ms`, each side seeing the other dead after `seen`. */
static void
scene_split(struct world *w, unsigned mask, uint32_t ms, uint32_t seen)
{
	for (int p = 0; p < w->npeers; p++)
		for (int q = 0; q < w->npeers; q++) {
			struct event d;

			if (((mask >> p) & 1) == ((mask >> q) & 1))
				continue;
			w->link_cut[p][q] = w->now + ms;
			d = event_at(w, EV_DEAD, p, seen);
			d.other = q;
			d.other_inc = w->peers[q].inc;
			d.gen = 1;
			schedule(w, d);
		}
	trace(w, -1, "SPLIT %#x from the others for %" PRIu32 " ms", mask,
	    ms);
}

/*
 * A partition puts a home with the one peer outside its set, its two
 * replicas on the other side with a task of it running there (lbchaos
 * seed 799351786, 180 s: two copies at once for 2.5 s).  The far side
 * elects one of the two, which lets the copy there run on; the home,
 * past replace_ms, takes the peer beside it in for a member it sees
 * dead, but counts it for nothing until the set before it holds the
 * change: it does not run the task again beside that copy.  Healed, the
 * task ends once.
 */
static void
scene_home_split(struct world *w)
{
	const struct rep_peer	*set;
	size_t			 nset;
	struct simtask		*s;
	int			 a, b, x = -1, took_in = 0, both = 0;
	uint64_t		 until;

	scene_submit(w, N1, 1200);
	s = scene_submit(w, N1, 30000);
	RUN_UNTIL(w, 2000, hold_of(w, N1, s->id) == HOLD_QUEUED &&
	    home_committed(w, N1) && rep_home_ok(nhome_rep(w->peers[N1].nh),
	    w->now));
	set = rep_set(nhome_rep(w->peers[N1].nh), &nset);
	expect(w, nset == 2 && hold_of(w, N1, s->id) == HOLD_QUEUED,
	    "setup: n1's set is not two others, or %s does not wait",
	    s->id);
	if (w->failure[0] != '\0')
		return;
	a = peer_index(w, set[0].id);
	b = peer_index(w, set[1].id);
	for (int p = N2; p <= N4 && x < 0; p++)
		if (p != a && p != b)
			x = p;
	RUN_UNTIL(w, 500, 0);	/* (its home acts: told at its next tick) */
	scene_moved(w, s, N1, a);
	RUN_UNTIL(w, 3000, s->starts_at[a] > 0 && s->running &&
	    home_committed(w, N1));
	expect(w, s->starts_at[a] == 1 && s->running == 1, "setup: %s does "
	    "not run at %s", s->id, w->peers[a].id);
	scene_split(w, (1u << N1) | (1u << x), 20000, 1500);
	until = w->now + 20000;
	while (w->failure[0] == '\0' && w->now < until) {
		RUN_UNTIL(w, 100, 0);
		set = rep_set(nhome_rep(w->peers[N1].nh), &nset);
		for (size_t i = 0; i < nset; i++)
			if (strcmp(set[i].id, w->peers[x].id) == 0)
				took_in = 1;
		if ((acts_for(w, a, N1) || acts_for(w, b, N1)) &&
		    rep_home_ok(nhome_rep(w->peers[N1].nh), w->now))
			both = 1;
	}
	expect(w, !both, "n1 acted while a replica on the far side did");
	expect(w, took_in, "n1 never took %s in for a member it saw dead",
	    w->peers[x].id);
	expect(w, acts_for(w, a, N1) || acts_for(w, b, N1), "no replica on "
	    "the far side acts for n1");
	expect(w, s->starts_at[N1] == 0 && s->starts_at[x] == 0, "%s ran "
	    "again beside the home, cut off from its set", s->id);
	settle(w);
	expect_done(w, s);
}

static const struct scene {
	const char	*name;
	const char	*what;
	void		(*fn)(struct world *);
} scenes[] = {
	{ "home-gone", "a home dies for good with tasks running there and "
	    "elsewhere and waiting: a replica takes over, each ends once, the "
	    "one that ran there runs again within lease + detection + 2 s",
	    scene_home_gone },
	{ "home-cancel-gone", "a cancel on the home's set, the home dies "
	    "before its stop arrives: the run stops, the task ends cancelled",
	    scene_home_cancel_gone },
	{ "home-twice", "a home taken over, back with new tasks, then gone "
	    "for good: the new ones are taken over again, each ends once",
	    scene_home_twice },
	{ "home-winner-gone", "the winner of a home's election dies for "
	    "good before any other member heard of its win, the home comes "
	    "back: one acts for its tasks, never two",
	    scene_home_winner_gone },
	{ "home-split", "a partition leaves a home with a peer outside its "
	    "set: it takes that peer in, but counts it for nothing, and runs "
	    "no second copy beside the replica elected on the other side",
	    scene_home_split },
	{ "home-back", "a home back after a replica took over lets its tasks "
	    "go, and a submit sent again to it names the same task, after "
	    "another restart too",
	    scene_home_back },
	{ "lease-cut-host", "a host cut off and seen dead: its copy frozen "
	    "before the rerun, killed after", scene_lease_cut_host },
	{ "lease-short-cut", "a cut shorter than the lease changes nothing",
	    scene_lease_short_cut },
	{ "lease-pair-cut", "home and host cut off from each other alone "
	    "(no one sees a death): the task runs again once the lease has "
	    "run out", scene_lease_pair_cut },
	{ "lease-home-to-host", "the home's grants do not reach the host: the "
	    "same", scene_lease_home_to_host },
	{ "lease-host-to-home", "the host's asks do not reach the home: the "
	    "same", scene_lease_host_to_home },
	{ "lease-short-link", "cuts between home and host shorter than the "
	    "lease do not run the task again", scene_lease_short_link },
	{ "lease-late-ask", "a late lease ask from a host dead since puts the "
	    "rerun off, not away", scene_lease_late_ask },
	{ "lease-late-commit", "a late commit lends no lease to a later hold "
	    "of the same placement", scene_lease_late_commit },
	{ "lease-home-down", "a home down while its task runs elsewhere: "
	    "frozen, then run on there", scene_lease_home_down },
	{ "lease-nested", "a home's leases end with its home lease: its task "
	    "elsewhere is frozen then, and runs on when it is renewed",
	    scene_lease_nested },
	{ "lease-home-down-ck", "the same, checkpointable: it checkpoints, "
	    "waits, resumes there", scene_lease_home_down_ck },
	{ "lost-move", "a lost move notice, then the destination dies: the "
	    "home learns and reruns", scene_lost_move },
	{ "migrate", "a running task migrates twice and ends with the work "
	    "left", scene_migrate },
	{ "migrate-dest-dies", "the destination dies holding a migrating "
	    "task: it resumes at the source", scene_migrate_dest_dies },
	{ "preempt-yield", "a long task yields its slot to a short one, then "
	    "goes on from its checkpoint", scene_preempt_yield },
	{ "preempt-deaf", "a task that does not checkpoint keeps its slot, "
	    "asked again a slice later", scene_preempt_deaf },
	{ "preempt-turns", "two long tasks take turns; a short one goes "
	    "first", scene_preempt_turns },
	{ "preempt-again", "a task yields again a slice after it resumed, "
	    "behind the tasks that have run less", scene_preempt_again },
	{ "migrate-deaf", "a task that does not checkpoint when asked stays "
	    "and runs on", scene_migrate_deaf },
	{ "migrate-slow-checkpoint", "a task slow to write its checkpoint is "
	    "waited for while it writes, and moves", scene_migrate_slow_checkpoint },
	{ "host-mail-lost", "a host back from a crash at once, its mailboxes "
	    "gone: the home runs the task again itself, one run ends",
	    scene_host_mail_lost },
	{ "host-restart", "a host restarts while the home is down: the task "
	    "is not forgotten", scene_host_restart },
	{ "ack-synced", "a result is on disk (synced) before its ack leaves",
	    scene_ack_synced },
	{ "cancel-transfer", "a cancel during a transfer from home: the task "
	    "never runs", scene_cancel_transfer },
	{ "cancel-transfer2", "a cancel during a transfer between others: "
	    "the task never runs", scene_cancel_transfer2 },
	{ "cancel-queued", "a cancel of a task queued elsewhere: it never "
	    "starts", scene_cancel_queued },
	{ "cancel-restart", "a cancel whose stops are lost, then the home "
	    "crashes: back, it stops the task", scene_cancel_restart },
	{ "submit-twice", "a submit and a cancel sent again, before and after "
	    "the home restarts: one task, the same id, no failure",
	    scene_submit_twice },
	{ "done-stays", "late notices after the result: done stays done",
	    scene_done_stays },
	{ "rerun-transfer", "a rerun and a concurrent transfer: different "
	    "epochs, one run", scene_rerun_transfer },
	{ "second-transfer", "a second Transfer to a peer holding one: no "
	    "second copy", scene_second_transfer },
	{ "back-home", "a task moves back to its home", scene_back_home },
	{ "rerun-moves", "a rerun task moves again", scene_rerun_moves },
	{ "backoff", "results for a dead home: retries grow, capped",
	    scene_backoff },
	{ "notice-survives", "a journaled result survives its holder's "
	    "restart", scene_notice_survives },
	{ "restarted-dest", "no commit to a destination that restarted since "
	    "it took the task", scene_restarted_dest },
	{ "stale-incarnation", "no transfer to a peer at an incarnation it "
	    "no longer has", scene_stale_incarnation },
	{ "late-ack", "a restarted holder starts nothing on an answer to its "
	    "previous incarnation", scene_late_ack },
	{ "giveback-lost", "a task handed back, its returns and an ack lost: "
	    "placed anew once, ends once", scene_giveback_lost },
	{ "giveback-late", "a late copy of a return changes nothing",
	    scene_giveback_late },
	{ "giveback-trap", "a task that catches the hand-back's SIGTERM and "
	    "exits: no result, it runs again", scene_giveback_trap },
	{ "lease-stale-killed", "a stale copy killed from outside (kill -9) is no "
	    "result: the current run ends it", scene_stale_killed },
	{ "giveback-home-down", "a task handed back to a home that is down: "
	    "placed anew when it is back", scene_giveback_home_down },
	{ "giveback-stale", "a return late after a rerun and a move: not "
	    "placed anew again", scene_giveback_stale },
	{ "giveback-draining-home", "a draining home starts nothing, takes no "
	    "transfer, and queues its own task handed back",
	    scene_giveback_draining_home },
};

/* One scenario at one seed: 0, or -1 and w->failure in why. */
static int
run_scene(const struct scene *sc, uint64_t seed, int trace_on, char *why,
    size_t size)
{
	struct world	*w = world_new(seed, trace_on, 4);
	int		 rc;

	w->scripted = 1;
	w->run_ms = 1000;
	trace(w, -1, "scenario %s, seed %" PRIu64, sc->name, seed);
	/* The scenarios named lease-* run with leases, home-* with leases
	 * and replicated homes (three: the home and two). */
	if (strncmp(sc->name, "home-", 5) == 0)
		w->replicas = 3;
	if ((w->leases = strncmp(sc->name, "lease-", 6) == 0 ||
	    w->replicas > 1))
		for (int p = 0; p < PEERS_MAX; p++) {
			w->peers[p].conf.lease_ms = SCENE_LEASE_MS;
			w->peers[p].conf.lease_margin_ms = SCENE_MARGIN_MS;
		}
	/* ... and those named preempt-* with preemption. */
	if (strncmp(sc->name, "preempt-", 8) == 0)
		for (int p = 0; p < PEERS_MAX; p++) {
			w->peers[p].conf.preempt_slice_ms = SCENE_SLICE_MS;
			/* Far above a slice: a lapsed ask shows. */
			w->peers[p].conf.checkpoint_timeout_ms =
			    SCENE_CK_TIMEOUT_MS;
		}
	boot_all(w);
	sc->fn(w);
	if (w->failure[0] == '\0')
		settle(w);
	rc = w->failure[0] ? -1 : 0;
	snprintf(why, size, "%s", w->failure);
	world_free(w);
	return rc;
}

/* ---- main ---- */

static char crash_note[160];

/* A core that crashes the harness: say which run, then die as we would. */
static void
on_fatal(int sig)
{
	ssize_t	n = write(STDOUT_FILENO, crash_note, strlen(crash_note));

	(void)n;
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
catch_fatal(void)
{
#ifndef __SANITIZE_ADDRESS__
	signal(SIGSEGV, on_fatal);
	signal(SIGBUS, on_fatal);
	signal(SIGFPE, on_fatal);
	signal(SIGABRT, on_fatal);
#endif
}

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
	const char	*v = getenv(name);

	return v != NULL && *v != '\0' ? strtoull(v, NULL, 10) : dflt;
}

static double
seconds(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_scenes(const char *only, const char *seed_env)
{
	char		 why[WHY_MAX];
	uint64_t	 seed, first = 1, last = SCENE_SEEDS;
	size_t		 i;
	int		 bad;

	if (seed_env != NULL)
		first = last = strtoull(seed_env, NULL, 10);
	for (i = 0; i < sizeof(scenes) / sizeof(scenes[0]); i++) {
		if (only != NULL && strcmp(only, scenes[i].name) != 0)
			continue;
		bad = 0;
		for (seed = first; seed <= last && !bad; seed++) {
			snprintf(crash_note, sizeof(crash_note), "# crashed in "
			    "scenario %s; replay: SIM_SCENE=%s SIM_SEED=%" PRIu64
			    " t/tasks_sim\n", scenes[i].name, scenes[i].name,
			    seed);
			bad = run_scene(&scenes[i], seed, seed_env != NULL,
			    why, sizeof(why)) == -1;
		}
		ok(!bad, "%s", scenes[i].what);
		if (bad) {
			printf("#   seed %" PRIu64 ": %s\n", seed - 1, why);
			printf("# replay: SIM_SCENE=%s SIM_SEED=%" PRIu64
			    " t/tasks_sim\n", scenes[i].name, seed - 1);
		}
	}
}

static void
test_runs(uint64_t base, uint64_t runs, uint64_t show)
{
	struct counts	 c;
	char		 why[WHY_MAX];
	uint64_t	 seed, failed = 0;
	double		 t0 = seconds(), dt;

	memset(&c, 0, sizeof(c));
	for (seed = base; seed < base + runs; seed++) {
		snprintf(crash_note, sizeof(crash_note), "# crashed in seed %"
		    PRIu64 "; replay: SIM_SEED=%" PRIu64 " t/tasks_sim\n",
		    seed, seed);
		if (run_seed(seed, 0, why, sizeof(why), &c) == 0)
			continue;
		if (++failed <= show) {
			ok(0, "seed %" PRIu64 ": %s", seed, why);
			printf("# replay: SIM_SEED=%" PRIu64 " t/tasks_sim\n",
			    seed);
		}
	}
	dt = seconds() - t0;
	ok(failed == 0, "%" PRIu64 " seeded runs (seeds %" PRIu64 "..%" PRIu64
	    ") hold the invariants", runs, base, base + runs - 1);
	if (failed)
		printf("#   %" PRIu64 " of %" PRIu64 " runs failed\n", failed,
		    runs);
	printf("# %.1f s, %.0f runs/s, %.0f events/s\n", dt,
	    dt > 0 ? (double)runs / dt : 0, dt > 0 ? (double)c.events / dt : 0);
	printf("# in all: %" PRIu64 " tasks, %" PRIu64 " starts, %" PRIu64
	    " messages (%" PRIu64 " lost, %" PRIu64 " twice), %" PRIu64
	    " moves offered, %" PRIu64 " committed (at least), %" PRIu64
	    " reruns (at least), %" PRIu64 " crashes, %" PRIu64 " cancels, %"
	    PRIu64 " handed back (%" PRIu64 " placed anew, at least); %"
	    PRIu64 " running tasks moved (at least), %" PRIu64 " did not "
	    "checkpoint in time, %" PRIu64 " slots yielded (at least); %"
	    PRIu64 " peers cut off, %" PRIu64
	    " processes frozen (lease), %" PRIu64 " let run again\n",
	    c.tasks, c.starts, c.sent, c.lost, c.dups, c.moves, c.committed,
	    c.reruns, c.crashes, c.cancels, c.givebacks, c.returned, c.migrated,
	    c.ck_timeouts, c.yields, c.cuts, c.frozen, c.thawed);
}

/* Seeds past the runs `make check` does that once failed (doc/faults.md,
 * the finding's number beside each): run every time. */
static const struct {
	uint64_t	 seed;
	int		 finding;
} found[] = {
	{ 47121, 47 }, { 59946, 48 }, { 60548, 49 }, { 61084, 50 },
};

/* ---- a takeover adopted again after a restart ---- */

static int
ro_state(void *arg, const char *text)
{
	(void)arg;
	(void)text;
	return 0;
}

static int
ro_keep(void *arg, const Lb__TaskRecord *rec, int sync)
{
	(void)arg;
	(void)rec;
	(void)sync;
	return 0;
}

static void
ro_send(void *arg, const char *to, const uint8_t *msg, size_t len)
{
	(void)arg;
	(void)to;
	(void)msg;
	(void)len;
}

/* A record of n1's stream held at n2: n1's own (no home_peer), or one n1
 * took over itself from n3 after n3 had taken it over (adopted_version). */
static Lb__TaskRecord *
ro_record(const char *id, uint64_t version, uint64_t adopted_version)
{
	Lb__TaskRecord	 r = LB__TASK_RECORD__INIT;
	Lb__TaskSpec	 sp = LB__TASK_SPEC__INIT;
	char		*argv[] = { "true" };
	uint8_t		*buf;
	size_t		 len;
	Lb__TaskRecord	*out;

	sp.argv = argv;
	sp.n_argv = 1;
	r.id = (char *)id;
	r.spec = &sp;
	r.state = LB__TASK_STATE__TASK_QUEUED;
	r.version = version;
	if (adopted_version != 0) {
		r.home_peer = "n1";
		r.home_term = 14;
		r.adopted_version = adopted_version;
		r.taken_from = "n3";
	}
	len = lb__task_record__get_packed_size(&r);
	buf = lb_calloc(1, len + 1);
	lb__task_record__pack(&r, buf);
	out = lb__task_record__unpack(NULL, len, buf);
	free(buf);
	return out;
}

/*
 * n2 took over n1 in term 1 (its tasks below 7, its stream up to version
 * 32).  Later n1, back and acting again, took n1.6 over itself from n3
 * (which had taken over n2 with it) at version 337, and put it to n2.  n2
 * restarts: adopting again what its win covers, it must leave n1.6 to n1
 * (tasks_relinquish at n1 keeps it: adopted above 32), or both act for it
 * (lbchaos seed 799351786, 180 s: n5.6 ran twice at once for 60 s).
 */
static void
test_readopt(void)
{
	struct tasks_conf	 tc = sim_conf;
	struct tasks		*core = tasks_new(&tc, "n2", 1, "", 0);
	struct nhome_conf	 c = { 0 };
	struct nhome_shell	 sh = { 0 };
	struct nhome		*nh;
	struct tasks_out	 out = { 0 };
	struct tasks_task	*t5, *t6;

	c.rep.self = "n2";
	c.rep.stream = 1;
	c.rep.replicas = 3;
	c.rep.retry_ms = 500;
	c.rep.lease_ms = 2000;
	c.rep.heartbeat_ms = 500;
	c.rep.takeover_ms = 3000;
	c.rep.replace_ms = 10000;
	c.rep.max_records = 4000;
	c.rep.put_bytes = 1 << 20;
	c.lease_ms = 2000;
	c.keep_ms = 1000000;
	c.expire_ms = 60000;
	c.waits_max = 1024;
	sh.save_state = ro_state;
	sh.keep = ro_keep;
	sh.send = ro_send;
	nh = nhome_new(&c, core, &sh);
	nhome_state_load(nh, 0, "set n3 n4\nhome n1 1 1 n2 7/32/0/0/0 n1 n2 "
	    "n3\n");
	rep_load(nhome_rep(nh), ro_record("n1.5", 30, 0));
	rep_load(nhome_rep(nh), ro_record("n1.6", 337, 337));
	nhome_readopt(nh, 1, &out);
	t5 = tasks_find(core, "n1.5");
	t6 = tasks_find(core, "n1.6");
	ok(t5 != NULL && t5->home && (t6 == NULL || !t6->home), "a winner "
	    "restarted adopts again its own tasks of the home below its "
	    "number (n1.5: %s), not one the home took over itself after the "
	    "version the win held (n1.6: %s)", t5 && t5->home ? "adopted" :
	    "not", t6 && t6->home ? "adopted" : "left to n1");
	tasks_out_free(&out);
	nhome_free(nh);
	tasks_free(core);
}

static void
test_found(void)
{
	char		 why[WHY_MAX];
	struct counts	 c;

	for (size_t i = 0; i < sizeof(found) / sizeof(found[0]); i++) {
		memset(&c, 0, sizeof(c));
		snprintf(crash_note, sizeof(crash_note), "# crashed in seed %"
		    PRIu64 "; replay: SIM_SEED=%" PRIu64 " t/tasks_sim\n",
		    found[i].seed, found[i].seed);
		ok(run_seed(found[i].seed, 0, why, sizeof(why), &c) == 0,
		    "seed %" PRIu64 " (doc/faults.md, finding %d)%s%s",
		    found[i].seed, found[i].finding, why[0] ? ": " : "", why);
	}
}

int
main(void)
{
	const char	*seed_env = getenv("SIM_SEED");
	const char	*scene = getenv("SIM_SCENE");
	char		 why[WHY_MAX];
	struct counts	 c;
	uint64_t	 seed;
	int		 rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	catch_fatal();
	if (scene != NULL && *scene != '\0')
		test_scenes(scene, seed_env);
	else if (seed_env != NULL && *seed_env != '\0') {
		memset(&c, 0, sizeof(c));
		seed = strtoull(seed_env, NULL, 10);
		snprintf(crash_note, sizeof(crash_note), "# crashed in seed %"
		    PRIu64 "\n", seed);
		rc = run_seed(seed, 1, why, sizeof(why), &c);
		ok(rc == 0, "seed %" PRIu64 "%s%s", seed, rc ? ": " : "", why);
	} else {
		test_scenes(NULL, NULL);
		test_readopt();
		test_found();
		test_runs(env_u64("SIM_BASE", 1),
		    env_u64("SIM_RUNS", RUNS_DEFAULT), env_u64("SIM_SHOW", 20));
	}
	return done_testing();
}
