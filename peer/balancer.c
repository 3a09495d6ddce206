/*
 * balancer.c - the shell around the balancing core (balance/): it feeds the
 * core the load vector, the waiting tasks (from the task core) and the
 * polls that arrive, and carries out what it decides: probes and answers.
 * A task the core chooses to move goes to the `on_move` callback: the task
 * core freezes it and runs the transfer (DESIGN's "Migration").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"
#include "balance/balance.h"
#include "node/balancer.h"
#include "tasks/tasks.h"

struct balancer {
	struct balance		*core;
	struct balance_out	 out;
	struct event		*tick_ev;
	int			 draining;
};

static void	balancer_tick_cb(evutil_socket_t, short, void *);

static void
send_to(struct peer *p, const char *id, Lb__PeerMsg *m)
{
	const char	*addr = members_addr(p, id, NULL);

	if (addr != NULL)
		net_send(p, addr, m);
}

#define PREEMPT_COST_MS	100	/* a move's cost before any was measured */

/* This peer's load as it is (the gossiped one counts slots whose tasks
 * would yield as free: preemption) -- for its own role -- and as a task
 * that has run `served` ms finds it: the slots that would yield to it are
 * free. */
static uint32_t
load_for(struct peer *p, uint64_t served)
{
	return tasks_load(p->tc, served) + p->load_extra;
}

static uint32_t
load_now(struct peer *p)
{
	return load_for(p, UINT64_MAX);
}

/* What moving a running task costs, from its last move, or from the moves
 * this peer saw. */
static uint64_t
move_cost(struct peer *p, const Lb__TaskRecord *r)
{
	const struct tasks_stats	*st = tasks_stats(p->tc);
	uint64_t			 n, sum = 0;

	if (r->n_migrations > 0 && r->migrations[r->n_migrations - 1]->
	    freeze_us > 0) {
		const Lb__TaskMigration *m = r->migrations[r->n_migrations - 1];
		return m->checkpoint_ms + m->freeze_us / 1000;
	}
	n = st->nfreeze < TASKS_FREEZE_RING ? st->nfreeze : TASKS_FREEZE_RING;
	if (n == 0 || st->migrations_out == 0)
		return PREEMPT_COST_MS;
	for (uint64_t i = 0; i < n; i++)
		sum += st->freeze_us[i];
	return st->checkpoint_ms / st->migrations_out + sum / n / 1000;
}

/* What the balancing core is told of a task (its needs and the hosts
 * where it could not start, joined, kept in strs[0] and strs[1] until
 * free_movable). */
static void
entry(struct balance_task *v, char **strs, const struct tasks_task *t)
{
	const Lb__TaskRecord	*r = t->rec;
	const Lb__TaskSpec	*s = r->spec;
	char			*hosts[TASKS_START_FAILURES_MAX];
	size_t			 n = 0;

	strs[0] = lb_join_list(s->needs, s->n_needs);
	for (size_t i = 0; i < r->n_start_failures &&
	    i < TASKS_START_FAILURES_MAX; i++)
		hosts[n++] = r->start_failures[i]->host;
	strs[1] = n > 0 ? lb_join_list(hosts, n) : NULL;
	v->id = r->id;
	v->pinned = s->pin[0] != '\0';
	v->pin = s->pin;
	v->moves = r->moves;
	v->needs = strs[0];
	v->avoid = strs[1];
}

/*
 * The tasks that may move, in order: the waiting ones, in the order of the
 * queue (arrival; with preemption, least served first);
 * then, with preemption or during a drain, the running ones that can
 * checkpoint.  A drain moves whatever this list holds (as tasks that
 * cannot run here).
 */
static struct balance_task *
movable(struct peer *p, size_t *n, char ***needs_out)
{
	struct balance_task	*v;
	char			**needs;
	size_t			  k = 0, cap = (size_t)tasks_queued(p->tc) + 1;
	uint64_t		  now = lb_mono_ms(), wall = lb_wall_ms();
	struct tasks_task	**all = NULL;
	size_t			  nall = 0;

	if ((p->conf.balance.preempt || p->bal->draining) &&
	    tasks_running(p->tc) > 0) {
		all = tasks_all(p->tc, &nall);
		cap += tasks_running(p->tc);
	}
	v = lb_calloc(cap, sizeof(*v));
	needs = lb_calloc(cap * 2, sizeof(*needs));
	for (struct tasks_task *t = tasks_queue_head(p->tc); t && k < cap;
	    t = t->qnext) {
		entry(&v[k], &needs[2 * k], t);
		v[k].queued_ms = t->queued_at;
		v[k].fresh = nbal_fresh(v[k].moves, t->rec->reruns,
		    t->rec->served_ms, t->queued_at, now,
		    p->conf.balance.interval_ms);
		k++;
	}
	for (size_t i = 0; i < nall && k < cap; i++) {
		struct tasks_task *t = all[i];
		if (!tasks_checkpoint_ready(p->tc, t, now))
			continue;
		entry(&v[k], &needs[2 * k], t);
		v[k].running = 1;
		/* Its age is how long it has run (this run: the time it
		 * waited says nothing of how long it will live). */
		v[k].age_ms = wall > t->rec->started_ms ? wall -
		    t->rec->started_ms : 0;
		v[k].here_ms = now - t->proc_at;
		v[k].cost_ms = move_cost(p, t->rec);
		k++;
	}
	*n = k;
	*needs_out = needs;
	return v;
}

static void
free_movable(struct balance_task *v, char **needs, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++)
		free(needs[i]);
	free(needs);
	free(v);
}

static const char *
self_attrs(struct peer *p)
{
	size_t		 n;
	return gossip_members(p->gossip, &n)[0].e.attrs;
}

/* Tell `to`, which accepted our offer req_id, that its task will not
 * come. */
static void
send_release(struct peer *p, const char *to, uint64_t req_id)
{
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;
	Lb__Probe	pr = LB__PROBE__INIT;

	if (members_level(p, to) < LB_LEVEL_HINTS)
		return;		/* (it would read it as an offer) */
	pr.req_id = req_id;
	pr.release = 1;
	m.body_case = LB__PEER_MSG__BODY_PROBE;
	m.probe = &pr;
	send_to(p, to, &m);
}

/* Carry out what the core decided. */
static void
carry_out(struct peer *p)
{
	struct balancer	*b = p->bal;

	for (size_t i = 0; i < b->out.n; i++) {
		struct balance_action	*a = &b->out.v[i];
		Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
		Lb__Probe		 pr = LB__PROBE__INIT;
		Lb__ProbeReply		 rp = LB__PROBE_REPLY__INIT;
		char			*copy = NULL;
		struct tasks_task	*t;

		switch (a->kind) {
		case BA_OFFER:
		case BA_REQUEST:
			pr.req_id = a->req_id;
			pr.request = a->kind == BA_REQUEST;
			pr.must = a->must;
			pr.load = load_now(p);
			pr.slots = (uint32_t)p->conf.slots;
			if (a->kind == BA_OFFER && (t = tasks_find(p->tc,
			    a->task))) {
				pr.needs = t->rec->spec->needs,
				pr.n_needs = t->rec->spec->n_needs;
				pr.served_ms = t->rec->served_ms;
				if (t->hold == HOLD_RUNNING)
					pr.served_ms += lb_mono_ms() -
					    t->proc_at;
			}
			else if (a->kind == BA_REQUEST)
				pr.attributes = lb_split_list(self_attrs(p),
				    &pr.n_attributes, &copy);
			m.body_case = LB__PEER_MSG__BODY_PROBE;
			m.probe = &pr;
			log_debug("balance: %s %s", a->kind == BA_OFFER ?
			    "offer to" : "request to", a->peer);
			send_to(p, a->peer, &m);
			if (a->kind == BA_REQUEST)
				free(pr.attributes);
			free(copy);
			break;
		case BA_ACCEPT:
		case BA_REFUSE:
			rp.req_id = a->req_id;
			rp.accept = a->kind == BA_ACCEPT;
			rp.hint = a->hint;
			m.body_case = LB__PEER_MSG__BODY_PROBE_REPLY;
			m.probe_reply = &rp;
			send_to(p, a->peer, &m);
			break;
		case BA_TRANSFER:
			if (p->on_move != NULL && p->on_move(p, a->task,
			    a->peer, a->req_id) == -1)
				/* (it started, or went elsewhere: the peer
				 * that accepted holds a slot for nothing) */
				send_release(p, a->peer, a->req_id);
			break;
		case BA_IDLE:
			if (members_level(p, a->peer) < LB_LEVEL_HINTS)
				break;	/* (it would read it as an offer) */
			pr.idle = 1;
			pr.load = load_now(p);
			pr.slots = (uint32_t)p->conf.slots;
			m.body_case = LB__PEER_MSG__BODY_PROBE;
			m.probe = &pr;
			send_to(p, a->peer, &m);
			break;
		}
	}
	balance_out_reset(&b->out);
}

static void
schedule_tick(struct peer *p, int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(p->bal->tick_ev, &tv);
}

static void
balancer_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer		*p = arg;
	struct balancer		*b = p->bal;
	const struct gossip_member *m;
	struct balance_task	*tasks;
	char			**needs;
	size_t			  nm, nt;
	uint64_t		  now, wake;

	m = gossip_members(p->gossip, &nm);
	tasks = movable(p, &nt, &needs);
	nbal_tick(b->core, lb_mono_ms(), p->leaving, load_now(p),
	    (uint32_t)p->conf.slots, m, nm, tasks, nt, &b->out);
	free_movable(tasks, needs, nt);
	carry_out(p);
	/* again after interval_ms, or when the core would look again (its
	 * backoff's end, a probe's deadline), if that is sooner */
	now = lb_mono_ms();
	wake = balance_wake(b->core, now);
	schedule_tick(p, wake > now && wake - now < (uint64_t)p->conf.balance.
	    interval_ms ? (int)(wake - now) : p->conf.balance.interval_ms);
}

void
balancer_kick(struct peer *p)
{
	if (p->bal != NULL && p->conf.balance.policy != BALANCE_NONE)
		schedule_tick(p, 0);
}

void
balancer_start(struct peer *p)
{
	struct balancer		*b = lb_calloc(1, sizeof(*b));
	struct balance_conf	 c;
	const struct lb_balance_conf *bc = &p->conf.balance;

	nbal_conf(bc, &c);
	b->core = balance_new(&c, p->conf.id, self_attrs(p),
	    lb_rng_next(&p->rng));
	b->tick_ev = evtimer_new(p->base, balancer_tick_cb, p);
	p->bal = b;
	schedule_tick(p, bc->interval_ms);
}

void
balancer_set_draining(struct peer *p, int draining)
{
	if (p->bal == NULL)
		return;
	balance_set_draining(p->bal->core, draining);
	p->bal->draining = draining;
	schedule_tick(p, 0);
}

void
balancer_on_move(struct peer *p, int (*cb)(struct peer *, const char *,
    const char *, uint64_t))
{
	p->on_move = cb;
}

void
balancer_stop(struct peer *p)
{
	struct balancer	*b = p->bal;

	if (b == NULL)
		return;
	event_free(b->tick_ev);
	balance_out_free(&b->out);
	balance_free(b->core);
	free(b);
	p->bal = NULL;
}

/* ---- polls ---- */

static void
probe_recv(struct peer *p, const char *from, const Lb__Probe *pr)
{
	struct balancer		*b = p->bal;
	struct nbal_probe	 in = { .req_id = pr->req_id,
				    .request = pr->request, .must = pr->must };
	struct balance_task	*tasks = NULL;
	char			**tneeds = NULL;
	size_t			  nt = 0;

	if (pr->idle) {
		balance_idle(b->core, lb_mono_ms(), from);
		return;
	}
	if (pr->release) {
		if (balance_release(b->core, lb_mono_ms(), from,
		    pr->req_id) == 0)
			balancer_kick(p);	/* (it may be idle again) */
		return;
	}
	if (!pr->request)
		in.needs = lb_join_list(pr->needs, pr->n_needs);
	else {
		in.attrs = lb_join_list(pr->attributes, pr->n_attributes);
		if (!p->leaving)
			tasks = movable(p, &nt, &tneeds);
	}
	nbal_probe(b->core, lb_mono_ms(), from, &in, p->leaving,
	    pr->request ? 0 : load_for(p, pr->served_ms), load_now(p),
	    (uint32_t)p->conf.slots, tasks, nt, &b->out);
	if (tasks != NULL)
		free_movable(tasks, tneeds, nt);
	free((char *)in.needs);
	free((char *)in.attrs);
	carry_out(p);
}

static void
probe_reply_recv(struct peer *p, const Lb__ProbeReply *r)
{
	/* (a hint that is not a live member's id is no hint) */
	balance_answer_hint(p->bal->core, lb_mono_ms(), r->req_id, r->accept,
	    r->hint != NULL && lb_id_valid(r->hint) && members_addr(p,
	    r->hint, NULL) != NULL ? r->hint : NULL, &p->bal->out);
	carry_out(p);
}

void
balancer_recv(struct peer *p, const char *from, const Lb__PeerMsg *m)
{
	if (p->bal == NULL)
		return;
	switch (m->body_case) {
	case LB__PEER_MSG__BODY_PROBE:
		probe_recv(p, from, m->probe);
		break;
	case LB__PEER_MSG__BODY_PROBE_REPLY:
		probe_reply_recv(p, m->probe_reply);
		break;
	default:
		break;
	}
}

void
balancer_arrived(struct peer *p)
{
	if (p->bal != NULL)
		balance_arrived(p->bal->core, lb_mono_ms());
}

void
balancer_stats(struct peer *p, Lb__CtlStats *s)
{
	const struct balance_stats	*c = balance_stats(p->bal->core);

	s->policy = (char *)balance_policy_name(
	    (enum balance_policy)p->conf.balance.policy);
	s->probes_sent = c->probes_sent;
	s->probes_accepted = c->probes_accepted;
	s->probes_refused = c->probes_refused;
	s->probes_timed_out = c->probes_timed_out;
	s->backoffs = c->backoffs;
	s->offers_taken = c->offers_taken;
	s->requests_served = c->requests_served;
	s->idle_notices_sent = c->idle_sent;
	s->idle_notices_heard = c->idle_heard;
	s->hinted_probes = c->hint_offers;
	s->hinted_accepted = c->hint_taken;
	s->redirects = c->redirects;
}
