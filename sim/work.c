/*
 * work.c - lbsim's tasks: made by the workload (workload.c), each peer's
 * slots and queue, and its balancing: the real core
 * (balance/) through the composition lbpeer runs (node/balancer.c), with
 * its load vector read from the peer's real gossip table (where its load
 * spreads as the daemon's does), and its polls and moves carried over the
 * simulated network (each pair's delay, the loss).
 *
 * What it leaves out (doc/scale.md): the task protocol itself (homes,
 * leases, replicas: t/tasks_sim checks those), running tasks that move
 * (preemption), and crashes while tasks run (lbsim refuses --rho with
 * them).  A move before a task starts costs the pair's delay and
 * --move-ms; it is never lost (the daemon's transfer is acknowledged and
 * retried), a poll or its answer is.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "src/conf.h"
#include "src/envelope.h"
#include "src/util.h"
#include "balance/balance.h"
#include "gossip/gossip.h"
#include "node/balancer.h"
#include "sim/sim.h"

#include "sim/work.h"

/* ---- a peer's queue ---- */

static uint32_t
task_new(struct sim *s)
{
	struct work	*w = s->work;
	uint32_t	 i;

	if (w->free == NONE) {
		uint32_t n = w->nt ? 2 * w->nt : 1024;

		w->t = lb_reallocarray(w->t, n, sizeof(*w->t));
		for (i = w->nt; i < n; i++) {
			memset(&w->t[i], 0, sizeof(w->t[i]));
			w->t[i].next = i + 1 < n ? i + 1 : NONE;
		}
		w->free = w->nt;
		w->nt = n;
	}
	i = w->free;
	w->free = w->t[i].next;
	w->t[i].gen++;
	return i;
}

static void
task_free(struct sim *s, uint32_t i)
{
	struct work	*w = s->work;

	w->t[i].state = T_FREE;
	w->t[i].next = w->free;
	w->free = i;
}

static void
enqueue(struct sim *s, int p, uint32_t i)
{
	struct swork	*q = s->p[p].w;
	struct stask	*k = &s->work->t[i];

	k->at = p;
	k->state = T_QUEUED;
	k->queued_at = s->now;
	k->prev = q->tail;
	k->next = NONE;
	if (q->tail != NONE)
		s->work->t[q->tail].next = i;
	else
		q->head = i;
	q->tail = i;
	q->nq++;
	s->ws.nwait++;
}

static void
dequeue(struct sim *s, int p, uint32_t i)
{
	struct swork	*q = s->p[p].w;
	struct stask	*k = &s->work->t[i];

	if (k->prev != NONE)
		s->work->t[k->prev].next = k->next;
	else
		q->head = k->next;
	if (k->next != NONE)
		s->work->t[k->next].prev = k->prev;
	else
		q->tail = k->prev;
	q->nq--;
	s->ws.nwait--;
}

/* Its load changed: gossip spreads it, as glue_load_changed does. */
static void
load_changed(struct sim *s, int p)
{
	struct swork	*q = s->p[p].w;

	gossip_set_load(s->p[p].g, q->running + q->nq);
	gossip_set_tasks(s->p[p].g, q->running, q->nq);
}

static void
try_start(struct sim *s, int p)
{
	struct swork	*q = s->p[p].w;

	while (q->running < (uint32_t)s->conf.slots && q->head != NONE) {
		uint32_t	 i = q->head;
		struct stask	*k = &s->work->t[i];

		dequeue(s, p, i);
		k->state = T_RUNNING;
		q->running++;
		s->ws.nrun++;
		push(s, (struct ev){ .t = s->now + k->service_ms,
		    .type = EV_DONE, .to = p, .task = i, .inc = s->p[p].inc });
	}
}

/* The balancer's next round: now (a kick) or after its interval. */
static void
arm_tick(struct sim *s, int p, uint64_t at)
{
	struct swork	*q = s->p[p].w;

	if (q->bt_at != 0 && q->bt_at <= at && q->bt_at >= s->now)
		return;
	q->bt_at = at;
	push(s, (struct ev){ .t = at, .type = EV_BTICK, .to = p });
}

/* ---- balancing ---- */

/* What may move from peer p, in queue order (as movable() in lbpeer). */
static size_t
movable(struct sim *s, int p)
{
	struct work	*w = s->work;
	struct swork	*q = s->p[p].w;
	size_t		 n = 0;

	if (q->nq + 1 > w->capbt) {
		w->capbt = (q->nq + 1) * 2;
		w->bt = lb_reallocarray(w->bt, w->capbt, sizeof(*w->bt));
		w->ids = lb_reallocarray(w->ids, w->capbt, sizeof(*w->ids));
	}
	for (uint32_t i = q->head; i != NONE; i = w->t[i].next) {
		const struct stask	*k = &w->t[i];
		struct balance_task	*v = &w->bt[n];

		memset(v, 0, sizeof(*v));
		snprintf(w->ids[n], sizeof(w->ids[n]), "t%" PRIu32 ".%" PRIu32,
		    i, k->gen);
		v->id = w->ids[n];
		v->pin = "";
		v->needs = "";
		v->moves = k->moves;
		v->queued_ms = k->queued_at;
		v->fresh = nbal_fresh(k->moves, 0, 0, k->queued_at, s->now,
		    s->conf.balance.interval_ms);
		n++;
	}
	return n;
}

static int
in_window(const struct sim *s)
{
	return s->now >= s->warm && s->now < s->end;
}

/* The task named `id`, if it is still the one the name was made for. */
static uint32_t
task_of(const struct sim *s, const char *id)
{
	unsigned long	i, g;
	char		extra;

	if (sscanf(id, "t%lu.%lu%c", &i, &g, &extra) != 2 ||
	    i >= s->work->nt || s->work->t[i].gen != g)
		return NONE;
	return (uint32_t)i;
}

/* A poll or an answer to another peer: delayed, maybe lost. */
static void
send_poll(struct sim *s, int from, const char *to_id, enum ev_type type,
    uint64_t req, int flag, uint32_t hint)
{
	int	to = sim_peer_of_id(s, to_id);

	if (to < 0)
		return;
	s->msgs++;
	if (lb_rng_below(&s->rng, 1000) < s->loss) {
		s->lost++;
		return;
	}
	push(s, (struct ev){ .t = s->now + sim_delay(s, from, to),
	    .type = type, .to = to, .from = from, .req = req, .flag = flag,
	    .inc = s->p[to].inc, .task = hint });
}

/* Peer p's balancer chose to send task `id` to `to_id`. */
static void
move(struct sim *s, int p, const char *id, const char *to_id, uint64_t req)
{
	uint32_t	 i = task_of(s, id);
	int		 to = sim_peer_of_id(s, to_id);
	struct stask	*k;

	if (to < 0)
		return;
	k = i != NONE ? &s->work->t[i] : NULL;
	if (k == NULL || k->state != T_QUEUED || k->at != p) {
		/* It started meanwhile, or moved: the taker is told, and
		 * frees the slot it held (lbpeer's TaskRelease). */
		send_poll(s, p, to_id, EV_PROBE, req, 3, 0);
		return;
	}
	dequeue(s, p, i);
	k->state = T_MOVING;
	k->moves++;
	if (in_window(s))
		s->ws.transfers++;
	push(s, (struct ev){ .t = s->now + sim_delay(s, p, to) +
	    s->wc.move_ms, .type = EV_MOVE, .to = to, .from = p, .task = i,
	    .inc = s->p[to].inc });
	load_changed(s, p);
}

/* Carry out what peer p's core decided. */
static void
carry_out(struct sim *s, int p)
{
	struct balance_out	*o = &s->work->out;

	for (size_t k = 0; k < o->n; k++) {
		const struct balance_action *a = &o->v[k];

		switch (a->kind) {
		case BA_OFFER:
		case BA_REQUEST:
			if (in_window(s))
				s->ws.probes++;
			send_poll(s, p, a->peer, EV_PROBE, a->req_id,
			    a->kind == BA_REQUEST, 0);
			break;
		case BA_ACCEPT:
		case BA_REFUSE:
			send_poll(s, p, a->peer, EV_REPLY, a->req_id,
			    a->kind == BA_ACCEPT, a->hint[0] != '\0' ?
			    (uint32_t)sim_peer_of_id(s, a->hint) + 1 : 0);
			break;
		case BA_TRANSFER:
			move(s, p, a->task, a->peer, a->req_id);
			break;
		case BA_IDLE:
			if (in_window(s))
				s->ws.idle_msgs++;
			send_poll(s, p, a->peer, EV_PROBE, 0, 2, 0);
			break;
		}
	}
	balance_out_reset(o);
}

static uint32_t
load_of(const struct sim *s, int p)
{
	return s->p[p].w->running + s->p[p].w->nq;
}

static void
btick(struct sim *s, int p)
{
	const struct gossip_member	*m;
	size_t				 nm, nt;

	m = gossip_members(s->p[p].g, &nm);
	nt = movable(s, p);
	nbal_tick(s->p[p].w->core, s->now, 0, load_of(s, p),
	    (uint32_t)s->conf.slots, m, nm, s->work->bt, nt, &s->work->out);
	carry_out(s, p);
}

/* ---- events ---- */

/* A task is submitted at peer p (EV_ARRIVE): it is made now; a peer
 * that is stopped takes it when it goes on. */
static void
arrive(struct sim *s, int p)
{
	uint32_t	 i;
	struct stask	*k;

	/* (a submit to a peer that is down goes to the next one up, as a
	 * user would) */
	for (int n = 0; n < s->n && !s->p[p].alive; n++)
		p = (p + 1) % s->n;
	i = task_new(s);
	k = &s->work->t[i];
	k->submit = s->now;
	k->moves = 0;
	k->at = p;
	k->state = T_MOVING;
	k->service_ms = s->wc.trace != NULL ?
	    s->work->rows[s->work->row - 1].service_ms : wl_service(s);
	k->measured = in_window(s);
	s->ws.submitted++;
	s->ws.mean_service_ms += ((double)k->service_ms -
	    s->ws.mean_service_ms) / (double)s->ws.submitted;
	push(s, (struct ev){ .t = s->now, .type = EV_ARRIVE, .to = p,
	    .task = i, .flag = 1 });
	wl_next_arrival(s);
}

/* Peer p takes the task submitted to it. */
/* The peer with the fewest tasks (running and waiting), ties at random:
 * the oracle's choice. */
static int
shortest(struct sim *s)
{
	int		best = -1;
	uint32_t	bl = UINT32_MAX, ties = 0;

	for (int i = 0; i < s->n; i++) {
		uint32_t l;

		if (!s->p[i].alive)
			continue;
		l = s->p[i].w->running + s->p[i].w->nq;
		if (l < bl) {
			best = i;
			bl = l;
			ties = 1;
		} else if (l == bl && lb_rng_below(&s->rng, ++ties) == 0)
			best = i;
	}
	return best;
}

static void
submit(struct sim *s, int p, uint32_t i)
{
	int	q;

	/* (the oracle's ties from the world's generator, not the
	 * workload's: the tasks stay the same) */
	if (s->wc.oracle && (q = shortest(s)) >= 0)
		p = q;
	enqueue(s, p, i);
	try_start(s, p);
	load_changed(s, p);
	/* A new task may move before it starts: a round now. */
	if (s->conf.balance.policy != LB_POLICY_NONE)
		arm_tick(s, p, s->now);
}

static void
done(struct sim *s, int p, uint32_t i)
{
	struct swork	*q = s->p[p].w;
	struct stask	*k = &s->work->t[i];
	struct work_stats *ws = &s->ws;

	if (k->state != T_RUNNING || k->at != p) {
		ws->violations++;	/* (cannot be: a bug of lbsim) */
		return;
	}
	q->running--;
	ws->nrun--;
	ws->done++;
	if (k->measured) {
		if (ws->nresp == ws->capresp) {
			ws->capresp = ws->capresp ? 2 * ws->capresp : 4096;
			ws->resp = lb_reallocarray(ws->resp, ws->capresp,
			    sizeof(*ws->resp));
		}
		ws->resp[ws->nresp++] = (uint32_t)(s->now - k->submit);
	}
	task_free(s, i);
	try_start(s, p);
	load_changed(s, p);
	if (s->conf.balance.policy != LB_POLICY_NONE)
		arm_tick(s, p, s->now);
}

static void
moved_in(struct sim *s, struct ev *e)
{
	int		 p = e->to;

	if (!s->p[p].alive || s->p[p].inc != e->inc)
		p = e->from;	/* the move failed: it stays */
	else
		balance_arrived(s->p[p].w->core, s->now);
	enqueue(s, p, e->task);
	try_start(s, p);
	load_changed(s, p);
}

static void
probe_in(struct sim *s, struct ev *e)
{
	struct nbal_probe	in = { .req_id = e->req, .request = e->flag,
				    .needs = "", .attrs = "" };
	size_t			nt = 0;
	int			p = e->to;

	if (!s->p[p].alive || s->p[p].inc != e->inc)
		return;
	if (e->flag == 2) {	/* (an idle notice) */
		balance_idle(s->p[p].w->core, s->now, s->p[e->from].id);
		return;
	}
	if (e->flag == 3) {	/* (a release) */
		balance_release(s->p[p].w->core, s->now, s->p[e->from].id,
		    e->req);
		return;
	}
	if (e->flag)
		nt = movable(s, p);
	nbal_probe(s->p[p].w->core, s->now, s->p[e->from].id, &in, 0,
	    load_of(s, p), load_of(s, p), (uint32_t)s->conf.slots,
	    s->work->bt, nt, &s->work->out);
	carry_out(s, p);
}

static void
reply_in(struct sim *s, struct ev *e)
{
	int	p = e->to;

	if (!s->p[p].alive || s->p[p].inc != e->inc)
		return;
	balance_answer_hint(s->p[p].w->core, s->now, e->req, e->flag,
	    e->task > 0 && e->task <= (uint32_t)s->n ? s->p[e->task - 1].id :
	    NULL, &s->work->out);
	carry_out(s, p);
}

/* An event of the tasks, with the peer not paused: 1 when it was one. */
/* The slot time lost up to now (struct work_stats). */
static void
account(struct sim *s)
{
	struct work_stats	*ws = &s->ws;
	uint64_t		 from = ws->lost_at > s->warm ? ws->lost_at :
				    s->warm, to = s->now < s->end ? s->now :
				    s->end;
	uint32_t		 idle = (uint32_t)(s->n * s->conf.slots) -
				    ws->nrun;

	if (to > from)
		ws->lost_slot_ms += (double)(to - from) *
		    (double)(idle < ws->nwait ? idle : ws->nwait);
	ws->lost_at = s->now;
}

int
work_event(struct sim *s, struct ev *e)
{
	struct swork	*q = s->p[e->to].w;

	account(s);

	switch (e->type) {
	case EV_ARRIVE:
		if (e->flag)
			submit(s, e->to, e->task);
		else
			arrive(s, e->to);
		return 1;
	case EV_DONE:
		if (s->p[e->to].inc == e->inc)
			done(s, e->to, e->task);
		return 1;
	case EV_BTICK:
		if (q->bt_at != e->t || !s->p[e->to].alive)
			return 1;	/* (a later or earlier one stands) */
		q->bt_at = 0;
		btick(s, e->to);
		/* (and when the core would look again, if sooner: as
		 * lbpeer's balancer_tick_cb) */
		{
			uint64_t at = s->now + (uint64_t)s->conf.balance.
			    interval_ms, w = balance_wake(q->core, s->now);

			arm_tick(s, e->to, w > s->now && w < at ? w : at);
		}
		return 1;
	case EV_PROBE:
		probe_in(s, e);
		return 1;
	case EV_REPLY:
		reply_in(s, e);
		return 1;
	case EV_MOVE:
		moved_in(s, e);
		return 1;
	default:
		return 0;
	}
}

/* ---- the run ---- */

/* Peer i started: its balancer, and its first round. */
void
work_booted(struct sim *s, int i)
{
	struct speer	*p = &s->p[i];

	if (s->work == NULL)
		return;
	if (p->w == NULL) {
		p->w = lb_calloc(1, sizeof(*p->w));
		p->w->head = p->w->tail = NONE;
	}
	balance_free(p->w->core);
	p->w->core = balance_new(&s->work->bconf, p->id, "",
	    lb_rng_next(&s->rng));
	p->w->bt_at = 0;
	arm_tick(s, i, s->now + lb_rng_below(&s->rng, (uint32_t)s->conf.
	    balance.interval_ms) + 1);
}

int
work_start(struct sim *s, char **err)
{
	struct work	*w;

	if (s->wc.rho <= 0 && s->wc.trace == NULL)
		return 0;
	w = s->work = lb_calloc(1, sizeof(*w));
	w->free = NONE;
	lb_rng_seed(&w->rng, lb_rng_next(&s->rng));
	nbal_conf(&s->conf.balance, &w->bconf);
	w->pareto_k = s->wc.mean_ms / wl_pareto_mean(PARETO_ALPHA, PARETO_SPAN);
	w->rate = s->wc.rho * s->n * s->conf.slots / s->wc.mean_ms;
	if (s->wc.trace != NULL && wl_read_trace(s, s->wc.trace, err) == -1)
		return -1;
	s->drain_end = s->end + DRAIN_MS;
	return 0;
}

/* The first arrival, once the peers are up. */
void
work_go(struct sim *s)
{
	if (s->work != NULL)
		wl_next_arrival(s);
}

/* Tasks not ended yet. */
int
work_open(const struct sim *s)
{
	return s->work != NULL && s->ws.done < s->ws.submitted;
}

void
work_free(struct sim *s)
{
	if (s->work == NULL)
		return;
	for (int i = 0; s->p != NULL && i < s->n; i++)
		if (s->p[i].w != NULL) {
			balance_free(s->p[i].w->core);
			free(s->p[i].w);
		}
	free(s->work->t);
	free(s->work->rows);
	free(s->work->bt);
	free(s->work->ids);
	balance_out_free(&s->work->out);
	free(s->work);
	free(s->ws.resp);
	s->work = NULL;
}
