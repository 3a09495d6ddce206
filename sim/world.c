/*
 * world.c - lbsim's world: peers (the real gossip core, its wire form and
 * envelopes), a network with a delay for each pair and loss, and the run
 * that drives them event by event.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "src/conf.h"
#include "src/envelope.h"
#include "src/util.h"
#include "gossip/gossip.h"
#include "node/gossip_wire.h"
#include "sim/sim.h"

/* ---- peers ---- */

static void
arm_swim(struct sim *s, int i)
{
	uint64_t	next = gossip_swim_next(s->p[i].g);

	if (next == UINT64_MAX)
		return;
	if (next <= s->now)
		next = s->now + 1;
	if (s->p[i].swim_at != 0 && s->p[i].swim_at <= next)
		return;
	s->p[i].swim_at = next;
	push(s, (struct ev){ .t = next, .type = EV_SWIM, .to = i });
}

/* The wall clock the envelopes carry: the run's time from a fixed day. */
#define WALL0	1790000000000ULL

static void
send_bytes(struct sim *s, int from, const char *addr, uint8_t *body,
    size_t blen)
{
	int		 to = sim_peer_of_addr(s, addr);
	unsigned	 lat;
	uint8_t		*buf;
	size_t		 len;

	/* Sealed as the daemon seals it: what it counts (tx_bytes). */
	env_seal(&s->p[from].env, WALL0 + s->now, body, blen, &buf, &len);
	free(body);
	if (s->now >= s->warm && s->now < s->end)
		s->p[from].bytes += len;
	s->msgs++;
	if (to < 0 || lb_rng_below(&s->rng, 1000) < s->loss) {
		s->lost++;
		free(buf);
		return;
	}
	lat = sim_delay(s, from, to);
	push(s, (struct ev){ .t = s->now + lat, .type = EV_DELIVER, .to = to,
	    .from = from, .inc = s->p[to].inc, .buf = buf, .len = len });
}

/* What peer i's core asked for: its messages go, its changes are judged. */
static void
carry(struct sim *s, int i)
{
	struct gossip_out	*o = &s->out;

	for (size_t k = 0; k < o->nswims; k++) {
		size_t len;
		uint8_t *buf = node_swim_pack(&o->swims[k], &len);

		send_bytes(s, i, o->swims[k].to, buf, len);
	}
	for (size_t k = 0; k < o->nmsgs; k++) {
		size_t len;
		uint8_t *buf = node_gossip_pack(&o->msgs[k], &len);

		send_bytes(s, i, o->msgs[k].to, buf, len);
	}
	for (size_t k = 0; k < o->nchanges; k++) {
		const struct gossip_change *c = &o->changes[k];
		int who = sim_peer_of_id(s, c->id);

		if (who >= 0)
			faults_judge(s, i, who, c);
	}
	gossip_out_reset(o);
	arm_swim(s, i);
}
/*
 * Messages are unpacked into one arena, emptied after each: protobuf-c's
 * allocator is the only thing that differs from the daemon's reading (a
 * cluster of 10,000 forming unpacks about 10^8 entries, each a few
 * allocations, and the allocator was a third of lbsim's time).
 */
static struct arena {
	char	*buf;
	size_t	 len, cap;
	char	**old;		/* buffers outgrown in this message */
	size_t	 nold;
} arena;

static void *
arena_alloc(void *data, size_t size)
{
	struct arena	*a = data;
	void		*p;

	size = (size + 15) & ~(size_t)15;
	if (a->len + size > a->cap) {
		size_t cap = a->cap ? a->cap : 1 << 20;

		while (cap < size)
			cap *= 2;
		if (a->buf != NULL) {
			a->old = lb_reallocarray(a->old, a->nold + 1,
			    sizeof(*a->old));
			a->old[a->nold++] = a->buf;
		}
		/* (after a message that outgrew the buffer, the next gets
		 * one twice as large: see arena_reset) */
		a->buf = lb_calloc(1, cap);
		a->cap = cap;
		a->len = 0;
	}
	p = a->buf + a->len;
	a->len += size;
	return p;
}

static void
arena_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

static void
arena_reset(struct arena *a)
{
	if (a->nold > 0) {
		size_t cap = a->cap;

		for (size_t i = 0; i < a->nold; i++)
			free(a->old[i]);
		a->nold = 0;
		free(a->buf);
		a->buf = lb_calloc(1, cap * 2);
		a->cap = cap * 2;
	}
	a->len = 0;
}

static ProtobufCAllocator arena_pb = {
	.alloc = arena_alloc, .free = arena_free, .allocator_data = &arena
};

static void
deliver(struct sim *s, struct ev *e)
{
	struct speer	*p = &s->p[e->to];
	Lb__PeerMsg	*m;
	Lb__Envelope	*env;

	/* (to a process that died since, or restarted: its connection went
	 * with it) */
	if (!p->alive || p->inc != e->inc)
		return;
	/* Opened as the daemon opens it: the tag, the replay window. */
	if (env_open(&p->env, WALL0 + s->now, e->buf, e->len, &env) !=
	    ENV_OK) {
		s->refused++;
		return;
	}
	m = lb__peer_msg__unpack(&arena_pb, env->body.len, env->body.data);
	lb__envelope__free_unpacked(env, NULL);
	if (m == NULL) {
		arena_reset(&arena);
		return;
	}
	if (m->body_case == LB__PEER_MSG__BODY_GOSSIP) {
		struct gossip_msg in;

		if (node_gossip_from_wire(m->gossip, &in) == 0) {
			gossip_recv(p->g, s->now, s->p[e->from].id, &in,
			    &s->out);
			node_gossip_in_free(&in);
		}
	} else {
		struct gossip_swim in;

		if (node_swim_from_wire(m, &in) == 0)
			(void)gossip_swim_recv(p->g, s->now, s->p[e->from].id,
			    &in, &s->out);
	}
	arena_reset(&arena);	/* (m with it) */
	spread_heard(s, e->to);
	carry(s, e->to);
}

/* Every live peer holds every live peer alive. */
static int
converged(const struct sim *s)
{
	size_t	live = 0;

	for (int i = 0; i < s->n; i++)
		live += s->p[i].alive != 0;
	for (int i = 0; i < s->n; i++) {
		size_t n, alive = 0;
		const struct gossip_member *m;

		if (!s->p[i].alive)
			continue;
		m = gossip_members(s->p[i].g, &n);
		for (size_t k = 0; k < n; k++) {
			int q = sim_peer_of_id(s, m[k].e.id);

			if (m[k].state == GOSSIP_ALIVE && q >= 0 &&
			    s->p[q].alive)
				alive++;
		}
		if (alive < live)
			return 0;
	}
	return 1;
}

/* Peer i starts (again): a new incarnation, core and envelope. */
void
boot(struct sim *s, int i)
{
	struct gossip_entry	 self;
	struct speer		*p = &s->p[i];

	if (p->g != NULL) {
		gossip_free(p->g);
		env_free(&p->env);
	}
	memset(&self, 0, sizeof(self));
	p->inc++;
	lb_strlcpy(self.id, p->id, sizeof(self.id));
	lb_strlcpy(self.addr, p->addr, sizeof(self.addr));
	self.incarnation = p->inc;
	self.slots = 1;
	self.level = LB_PROTO_LEVEL;
	p->g = gossip_new_in(&s->conf.gossip, &self, s->now,
	    lb_rng_next(&s->rng), s->strings);
	/* Every peer comes to know every other: a table of exactly that
	 * (a restart keeps its id, and so its entry). */
	gossip_reserve(p->g, (size_t)s->n);
	env_init(&p->env, s->key, "lbsim", p->id, p->inc,
	    (size_t)s->conf.message_max_kb * 1024,
	    (uint64_t)s->conf.replay_window_ms);
	for (int k = 0; k < SEEDS && k < s->n; k++)
		gossip_add_seed(p->g, s->p[k].addr);
	p->alive = 1;
	p->swim_at = 0;
	p->booted_at = s->now;
	faults_booted(s, i);
	work_booted(s, i);
	msgs_booted(s, i);
	/* Its first round within a second. */
	push(s, (struct ev){ .t = s->now + lb_rng_below(&s->rng, 1000),
	    .type = EV_TICK, .to = i });
	arm_swim(s, i);
}

/* ---- the run ---- */

static void
trace(struct sim *s, const struct ev *e)
{
	uint64_t	v[4] = { e->t, (uint64_t)e->type, (uint64_t)e->to,
			    (uint64_t)e->from };

	crypto_generichash_update(&s->trace, (const uint8_t *)v, sizeof(v));
	if (e->buf != NULL)
		crypto_generichash_update(&s->trace, e->buf, e->len);
}

void
run(struct sim *s)
{
	uint64_t	next_check = 1000, next_mcheck = 1000;

	/* (after the end, on while tasks are open: their response times) */
	while (s->nheap > 0 && (s->heap[0].t <= s->end ||
	    (work_open(s) && s->heap[0].t <= s->drain_end))) {
		struct ev	e = pop(s);
		struct speer	*p = &s->p[e.to];

		s->now = e.t;
		s->events++;
		/* A paused peer does nothing; what comes meanwhile waits for
		 * it (a stopped process's sockets keep it). */
		/* (a user's submit is made at once; the peer takes it when
		 * it goes on) */
		if (p->paused_until > e.t && e.type != EV_CRASH &&
		    e.type != EV_RESTART && e.type != EV_PAUSE &&
		    e.type != EV_LOAD &&
		    !(e.type == EV_ARRIVE && e.flag == 0)) {
			if (e.type == EV_SWIM) {
				if (p->swim_at != e.t)
					continue;
				p->swim_at = p->paused_until;
			}
			if (e.type == EV_BTICK) {
				if (p->w->bt_at != e.t)
					continue;
				p->w->bt_at = p->paused_until;
			}
			e.t = p->paused_until;
			push(s, e);
			continue;
		}
		switch (e.type) {
		case EV_TICK:
			if (!p->alive)
				break;
			trace(s, &e);
			gossip_tick(p->g, s->now, &s->out);
			carry(s, e.to);
			{
				unsigned iv = (unsigned)s->conf.gossip.
				    interval_ms;
				push(s, (struct ev){ .t = s->now + iv - iv / 10 +
				    lb_rng_below(&s->rng, iv / 5 + 1),
				    .type = EV_TICK, .to = e.to });
			}
			break;
		case EV_SWIM:
			if (!p->alive || p->swim_at != e.t)
				break;	/* (a later or earlier one stands) */
			trace(s, &e);
			p->swim_at = 0;
			(void)gossip_swim_tick(p->g, s->now, &s->out);
			carry(s, e.to);
			break;
		case EV_DELIVER:
			trace(s, &e);
			deliver(s, &e);
			free(e.buf);
			break;
		case EV_CRASH:
			trace(s, &e);
			faults_crash(s, e.to);
			spread_crash(s, e.to);
			break;
		case EV_LOAD:
			trace(s, &e);
			spread_change(s);
			break;
		case EV_FSEND:
		case EV_FDELIVER:
		case EV_FTICK:
			trace(s, &e);
			msgs_event(s, &e);
			free(e.buf);
			break;
		case EV_RESTART:
			trace(s, &e);
			faults_restart(s, e.to);
			boot(s, e.to);
			break;
		case EV_PAUSE:
			if (!p->alive)
				break;
			trace(s, &e);
			faults_pause(s, e.to);
			break;
		default:
			trace(s, &e);
			(void)work_event(s, &e);
			break;
		}
		if (s->moves >= 0 && s->msc == NULL && s->now >= next_mcheck) {
			next_mcheck = s->now + 1000;
			msgs_maybe_start(s);
			msgs_go(s);
		}
		if (s->converged_ms == 0 && s->now >= next_check) {
			next_check = s->now + 1000;
			if (converged(s)) {
				s->converged_ms = s->now;
				if (s->f_crash || s->f_pause)
					schedule_faults(s, s->now > s->warm ?
					    s->now : s->warm);
				/* (with tasks, loads change all the time:
				 * the balancer sets them) */
				if (s->work == NULL)
					spread_schedule(s, s->now);
			}
		}
	}
	while (s->nheap > 0) {
		struct ev e = pop(s);
		free(e.buf);
	}
}
