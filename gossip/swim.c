/*
 * swim.c - failure detection in the manner of SWIM with Lifeguard (no I/O).
 *
 * Every probe interval this peer pings one member, in turn over a shuffled
 * list.  No ack within the probe timeout: it asks indirect_probes others to
 * ping it (PingReq); they relay its ack, or a nack when they got none.  No
 * ack by the end of the round (twice the timeout): the member is suspect.
 *
 * A suspicion travels as a notice (id, incarnation, refute, accuser): sent
 * at once to a few peers and to the suspect, forwarded once by each peer
 * that hears of a new accuser, and piggybacked on digests.  A peer that
 * hears a suspicion pings the suspect itself; when that fails too it is an
 * independent confirmation, which it spreads in turn.  The suspicion times
 * out after suspicion_max_ms with one accuser, down to suspicion_min_ms (in
 * log scale) as indirect_probes more confirm it (Lifeguard's dynamic
 * suspicion); then the member is dead here, and a death notice spreads the
 * same way.  The suspect refutes by raising its `refute` counter (SWIM's
 * incarnation) above the notice's: its entry, newer, clears the suspicion
 * wherever it arrives.
 *
 * Local health (Lifeguard): a failed probe whose helpers did not even
 * nack, and having to refute, raise this peer's awareness score; an
 * answered probe lowers it.  Probe interval and timeout scale with
 * (1 + score): a peer that is itself slow probes less eagerly, so it does
 * not accuse others of its own slowness.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"
#include "strpool.h"

#define SWIM_REFUTE_MAX	(UINT64_C(1) << 62)

static uint64_t
min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static int
addr_ok(const char *a)
{
	return strncmp(a, "tcp://", 6) == 0 && strlen(a) < LB_ADDR_MAX;
}

static int
id_ok(const char *id)
{
	size_t	n = strnlen(id, LB_ID_MAX);

	return n > 0 && n < LB_ID_MAX;
}

static uint64_t
mult(const struct gossip *g)
{
	return 1 + (uint64_t)g->stats.awareness;
}

static void
aware(struct gossip *g, int delta)
{
	int	a = g->stats.awareness + delta;

	if (a < 0)
		a = 0;
	if (a > g->conf.awareness_max - 1)
		a = g->conf.awareness_max - 1;
	if (a < 0)
		a = 0;
	g->stats.awareness = a;
}

static struct gossip_swim *
out_swim(struct gossip_out *o, enum gossip_swim_type type, const char *to,
    uint64_t seq, const char *target, const char *addr, int nack)
{
	struct gossip_swim	*s;

	if (o->nswims == o->capswims) {
		o->capswims = o->capswims ? 2 * o->capswims : 4;
		o->swims = lb_reallocarray(o->swims, o->capswims,
		    sizeof(*o->swims));
	}
	s = &o->swims[o->nswims++];
	memset(s, 0, sizeof(*s));
	s->type = type;
	lb_strlcpy(s->to, to, sizeof(s->to));
	s->seq = seq;
	lb_strlcpy(s->target, target, sizeof(s->target));
	if (addr != NULL)
		lb_strlcpy(s->addr, addr, sizeof(s->addr));
	s->nack = nack;
	return s;
}

static int
live(const struct gossip_member *m)
{
	return !m->self && (m->state == GOSSIP_ALIVE ||
	    m->state == GOSSIP_SUSPECT);
}

/* Up to `max` distinct live members at random, other than the skips. */
size_t
gossip_pick_live(struct gossip *g, size_t *out, size_t max, const char *skip1,
    const char *skip2)
{
	size_t	nc = 0, k;

	if (g->scratchcap < g->n) {
		g->scratchcap = g->n;
		g->scratch = lb_reallocarray(g->scratch, g->scratchcap,
		    sizeof(*g->scratch));
	}
	/* The skips by index: no string compared per member. */
	const struct gossip_member *s1 = skip1 != NULL ? gossip_find(g, skip1) :
	    NULL, *s2 = skip2 != NULL ? gossip_find(g, skip2) : NULL;
	for (size_t i = 1; i < g->n; i++) {
		if (!live(&g->m[i]) || &g->m[i] == s1 || &g->m[i] == s2)
			continue;
		g->scratch[nc++] = i;
	}
	for (k = 0; k < nc && k < max; k++) {
		size_t r = k + lb_rng_below(&g->rng, (uint32_t)(nc - k));
		size_t t = g->scratch[k];
		g->scratch[k] = g->scratch[r];
		g->scratch[r] = t;
		out[k] = g->scratch[k];
	}
	return k;
}

void
swim_clear(struct gossip *g, struct gossip_member *m)
{
	if (m->suspected)
		g->nsuspected--;
	if (m->suspected || m->swim_dead)
		g->judge_due = 0;	/* (judged again by age alone) */
	m->suspected = 0;
	m->swim_dead = 0;
	m->naccusers = 0;
	m->susp_ms = 0;
}

static int
accused_by(const struct gossip_member *m, const char *id)
{
	for (int i = 0; i < m->naccusers; i++)
		if (strcmp(m->accusers[i], id) == 0)
			return 1;
	return 0;
}

/* Confirmations that bring the timeout to its minimum. */
static int
swim_k(const struct gossip *g)
{
	int	nlive = 0, k = g->conf.indirect_probes;

	/* Counted only as far as it matters: past k + 1 it changes nothing
	 * (no pass over 10,000 members for each suspicion's timeout). */
	for (size_t i = 1; i < g->n && nlive <= k; i++)
		if (live(&g->m[i]))
			nlive++;
	/* The suspect and the first accuser cannot confirm. */
	if (k > nlive - 1)
		k = nlive - 1;
	return k < 1 ? 0 : k;
}

uint64_t
gossip_suspicion_timeout(const struct gossip *g, const struct gossip_member *m)
{
	double	min = g->conf.suspicion_min_ms, max = g->conf.suspicion_max_ms;
	double	t;
	int	k = swim_k(g), c = m->naccusers - 1;

	if (k == 0 || c >= k)
		return (uint64_t)min;
	if (c < 0)
		c = 0;
	t = max - (max - min) * log(c + 1.0) / log(k + 1.0);
	return t < min ? (uint64_t)min : (uint64_t)t;
}

static void
notice_of(const struct gossip_member *m, const char *accuser, int dead,
    struct gossip_notice *n)
{
	memset(n, 0, sizeof(*n));
	lb_strlcpy(n->id, m->e.id, sizeof(n->id));
	n->incarnation = m->e.incarnation;
	n->refute = m->e.refute;
	lb_strlcpy(n->accuser, accuser, sizeof(n->accuser));
	n->dead = dead;
}

/* A notice alone, to one address. */
static void
send_notice(struct gossip *g, struct gossip_out *o, const char *to,
    const struct gossip_notice *n)
{
	struct gossip_msg	*msg = gossip_out_msg(g, o, to, 0, NULL, 0);

	msg->notices = lb_calloc(1, sizeof(*msg->notices));
	msg->notices[0] = *n;
	msg->nnotices = 1;
}

/* Spread a new notice of m: to SWIM_FANOUT live peers, and to m itself. */
static void
spread(struct gossip *g, struct gossip_out *o, struct gossip_member *m,
    const struct gossip_notice *n, const char *from, int to_suspect)
{
	size_t	idx[SWIM_FANOUT], k;
	char	id[LB_ID_MAX];

	if (o == NULL)
		return;
	lb_strlcpy(id, m->e.id, sizeof(id));
	if (to_suspect && m->e.addr[0] != '\0')
		send_notice(g, o, m->e.addr, n);
	k = gossip_pick_live(g, idx, SWIM_FANOUT, id, from);
	for (size_t i = 0; i < k; i++)
		send_notice(g, o, g->m[idx[i]].e.addr, n);
}

/* Ping m ourselves, to confirm (or not) what another peer suspects. */
static void
confirm(struct gossip *g, uint64_t now, struct gossip_member *m,
    struct gossip_out *o)
{
	struct swim_confirm	*c;

	if (o == NULL || g->nconfirms == SWIM_CONFIRMS_MAX ||
	    accused_by(m, g->m[0].e.id) ||
	    (g->probe.active && strcmp(g->probe.id, m->e.id) == 0))
		return;
	for (size_t i = 0; i < g->nconfirms; i++)
		if (strcmp(g->confirms[i].id, m->e.id) == 0)
			return;
	c = &g->confirms[g->nconfirms++];
	c->seq = ++g->seq;
	c->deadline = now + (uint64_t)g->conf.probe_timeout_ms * mult(g);
	lb_strlcpy(c->id, m->e.id, sizeof(c->id));
	out_swim(o, GOSSIP_PING, m->e.addr, c->seq, m->e.id, g->m[0].e.addr, 0);
}

/*
 * `accuser` suspects m at its current refute (the caller checked).  1 when
 * it is news here: a new suspicion, or a new accuser of one.
 */
static int
suspect(struct gossip *g, uint64_t now, struct gossip_member *m,
    const char *accuser, struct gossip_out *o)
{
	if (m->swim_dead || m->e.left || accused_by(m, accuser))
		return 0;
	if (!m->suspected) {
		m->suspected = 1;
		g->nsuspected++;
		m->susp_ms = now;
		m->naccusers = 0;
	} else if (m->naccusers >= GOSSIP_ACCUSERS_MAX)
		return 0;
	if (m->accusers == NULL)
		m->accusers = lb_calloc(GOSSIP_ACCUSERS_MAX,
		    sizeof(*m->accusers));
	lb_strlcpy(m->accusers[m->naccusers++], accuser, LB_ID_MAX);
	gossip_rejudge(g, m, now, o);
	return 1;
}

static void
declare_dead(struct gossip *g, uint64_t now, struct gossip_member *m,
    struct gossip_out *o)
{
	if (m->suspected)
		g->nsuspected--;
	m->swim_dead = 1;
	m->suspected = 0;
	g->swim_dead_ms = now;
	gossip_rejudge(g, m, now, o);
}

/* This peer's own probe (or confirmation) of m failed: accuse it. */
static void
accuse(struct gossip *g, uint64_t now, struct gossip_member *m,
    struct gossip_out *o)
{
	struct gossip_notice	n;

	if (m->swim_dead || m->e.left || m->state == GOSSIP_DEAD)
		return;
	if (!suspect(g, now, m, g->m[0].e.id, o))
		return;
	g->stats.suspicions++;
	notice_of(m, g->m[0].e.id, 0, &n);
	spread(g, o, m, &n, NULL, 1);
}

/* Someone suspects us, or says we are dead: refute, loudly. */
static void
refute(struct gossip *g, uint64_t now, const struct gossip_notice *n,
    struct gossip_out *o)
{
	struct gossip_member	*self = &g->m[0];
	size_t			 idx;

	if (self->e.left || n->incarnation != self->e.incarnation ||
	    n->refute < self->e.refute)
		return;
	gossip_sums_out(g, self);
	self->e.refute = n->refute + 1;
	gossip_sums_in(g, self);
	self->e.heartbeat++;
	self->born_ms = now;
	self->news_ms = now;
	g->stats.refutes++;
	aware(g, 1);
	if (o == NULL)
		return;
	/* To every live member at once: the suspicion timers are running. */
	for (idx = 1; idx < g->n; idx++) {
		struct gossip_entry *d;
		if (!live(&g->m[idx]) && !(g->m[idx].state == GOSSIP_DEAD &&
		    strcmp(g->m[idx].e.id, n->accuser) == 0))
			continue;
		d = lb_calloc(1, sizeof(*d));
		gossip_wire(self, now, 0, d);
		(void)gossip_out_msg(g, o, g->m[idx].e.addr, 0, d, 1);
	}
}

void
swim_recv_notices(struct gossip *g, uint64_t now, const char *from,
    const struct gossip_msg *in, struct gossip_out *o)
{
	for (size_t i = 0; i < in->nnotices && i < GOSSIP_NOTICES_MAX; i++) {
		const struct gossip_notice *n = &in->notices[i];
		struct gossip_member *m;

		/* A refute only ever counts up by one from 0: one near the
		 * top of its range is junk (and would wrap when refuted). */
		if (!id_ok(n->id) || !id_ok(n->accuser) ||
		    strcmp(n->id, n->accuser) == 0 || n->refute >= SWIM_REFUTE_MAX)
			continue;
		if ((m = gossip_find_mut(g, n->id)) == NULL)
			continue;
		if (m->self) {
			refute(g, now, n, o);
			continue;
		}
		if (n->incarnation != m->e.incarnation ||
		    n->refute < m->e.refute || m->e.left)
			continue;
		if (n->refute > m->e.refute) {
			/* It refuted what we know of, and is suspected again. */
			swim_clear(g, m);
			gossip_sums_out(g, m);
			m->e.refute = n->refute;
			gossip_sums_in(g, m);
		}
		if (n->dead) {
			if (m->swim_dead)
				continue;
			declare_dead(g, now, m, o);
			spread(g, o, m, n, from, 0);
			continue;
		}
		if (suspect(g, now, m, n->accuser, o)) {
			spread(g, o, m, n, from, 0);
			if (m->naccusers <= swim_k(g))
				confirm(g, now, m, o);
		}
	}
}

/* Piggyback: current suspicions (an accuser each, in turn) and deaths. */
void
swim_add_notices(struct gossip *g, uint64_t now, struct gossip_msg *msg)
{
	uint64_t	window = 4 * (uint64_t)g->conf.interval_ms;

	if (g->conf.probe_interval_ms == 0)
		return;
	/* Nothing suspected, and no death declared (or a dead member's
	 * state changed) within the window: no notice to find. */
	if (g->nsuspected == 0 && (g->swim_dead_ms == 0 ||
	    now - g->swim_dead_ms >= window))
		return;
	for (size_t i = 1; i < g->n && msg->nnotices < GOSSIP_NOTICES_MAX; i++) {
		struct gossip_member *m = &g->m[i];
		const char *acc;

		if (m->suspected && m->naccusers > 0)
			acc = m->accusers[g->rounds % (uint64_t)m->naccusers];
		else if (m->swim_dead && now - m->state_ms < window)
			acc = g->m[0].e.id;
		else
			continue;
		if (msg->notices == NULL)
			msg->notices = lb_calloc(GOSSIP_NOTICES_MAX,
			    sizeof(*msg->notices));
		notice_of(m, acc, m->swim_dead, &msg->notices[msg->nnotices++]);
	}
}

void
swim_heard_from(struct gossip *g, struct gossip_member *m,
    struct gossip_out *o)
{
	struct gossip_notice	n;

	if (o == NULL || (!m->suspected && !m->swim_dead) ||
	    m->e.addr[0] == '\0')
		return;
	notice_of(m, m->naccusers > 0 ? m->accusers[0] : g->m[0].e.id,
	    m->swim_dead, &n);
	send_notice(g, o, m->e.addr, &n);
}

/*
 * A member new to this peer is probed in the round under way, at a random
 * place among those not yet probed (as SWIM inserts joiners), not only in
 * the next round: a round is as many probe intervals as the table had
 * members when it began, and a peer whose round began while the cluster
 * was forming would otherwise not probe the members it learned of later
 * for as long.  (lbsim, 1,024 peers: no peer probed a crashed one for 17 s,
 * and its death took 18 s to be known.)  Appended, then swapped with a
 * random one of the rest: O(1).
 */
void
swim_member_added(struct gossip *g, const char *id)
{
	size_t		 r;
	const char	*t;

	if (g->plen == 0)
		return;		/* no round yet: the first takes it */
	if (g->plen == g->pcap) {
		g->pcap *= 2;
		g->plist = lb_reallocarray(g->plist, g->pcap,
		    sizeof(*g->plist));
	}
	g->plist[g->plen] = strpool_ref(g->pool, id);
	r = g->pidx + lb_rng_below(&g->rng, (uint32_t)(g->plen - g->pidx + 1));
	t = g->plist[g->plen];
	g->plist[g->plen] = g->plist[r];
	g->plist[r] = t;
	g->plen++;
}

/* The next member to probe: in turn over a shuffled list. */
static struct gossip_member *
next_target(struct gossip *g)
{
	for (int pass = 0; pass < 2; pass++) {
		while (g->pidx < g->plen) {
			struct gossip_member *m =
			    gossip_find_mut(g, g->plist[g->pidx++]);
			if (m != NULL && live(m) && m->e.addr[0] != '\0')
				return m;
		}
		/* A new round: every live member, shuffled. */
		if (g->pcap < g->n) {
			g->pcap = g->n;
			g->plist = lb_reallocarray(g->plist, g->pcap,
			    sizeof(*g->plist));
		}
		for (size_t i = 0; i < g->plen; i++)
			strpool_put(g->pool, g->plist[i]);
		g->plen = 0;
		g->pidx = 0;
		for (size_t i = 1; i < g->n; i++)
			if (live(&g->m[i]))
				g->plist[g->plen++] = strpool_ref(g->pool,
				    g->m[i].e.id);
		for (size_t i = g->plen; i > 1; i--) {
			size_t r = lb_rng_below(&g->rng, (uint32_t)i);
			const char *t = g->plist[i - 1];
			g->plist[i - 1] = g->plist[r];
			g->plist[r] = t;
		}
		if (g->plen == 0)
			return NULL;
	}
	return NULL;
}

static void
probe_step(struct gossip *g, uint64_t now, struct gossip_out *o)
{
	struct swim_probe	*p = &g->probe;
	struct gossip_member	*m;
	uint64_t		 t = (uint64_t)g->conf.probe_timeout_ms * mult(g);

	if (p->active && (m = gossip_find_mut(g, p->id)) == NULL)
		p->active = 0;		/* forgotten meanwhile */
	if (p->active && !p->indirect && now >= p->t_direct) {
		size_t idx[16], k;

		k = gossip_pick_live(g, idx, (size_t)g->conf.indirect_probes,
		    p->id, NULL);
		for (size_t i = 0; i < k; i++)
			out_swim(o, GOSSIP_PING_REQ, g->m[idx[i]].e.addr,
			    p->seq, p->id, gossip_find(g, p->id)->e.addr, 0);
		p->indirect = 1;
		p->expect_nacks = (int)k;
		p->nacks = 0;
	}
	if (p->active && now >= p->t_end) {
		/* Lifeguard: helpers that did not even nack point at us. */
		if (p->expect_nacks > 0)
			aware(g, p->expect_nacks - p->nacks);
		else
			aware(g, 1);
		p->active = 0;
		g->stats.probes_failed++;
		if ((m = gossip_find_mut(g, p->id)) != NULL && live(m))
			accuse(g, now, m, o);
	}
	if (p->active || now < g->next_probe)
		return;
	g->next_probe = now + (uint64_t)g->conf.probe_interval_ms * mult(g);
	if ((m = next_target(g)) == NULL)
		return;
	memset(p, 0, sizeof(*p));
	p->active = 1;
	p->seq = ++g->seq;
	lb_strlcpy(p->id, m->e.id, sizeof(p->id));
	p->t_direct = now + t;
	p->t_end = now + 2 * t;
	g->stats.probes++;
	out_swim(o, GOSSIP_PING, m->e.addr, p->seq, m->e.id, g->m[0].e.addr, 0);
}

uint64_t
gossip_swim_tick(struct gossip *g, uint64_t now, struct gossip_out *o)
{
	if (g->conf.probe_interval_ms == 0 || g->m[0].e.left)
		return UINT64_MAX;
	probe_step(g, now, o);
	for (size_t i = 0; i < g->nconfirms; ) {
		struct swim_confirm *c = &g->confirms[i];
		struct gossip_member *m;
		if (now < c->deadline) {
			i++;
			continue;
		}
		if ((m = gossip_find_mut(g, c->id)) != NULL && live(m))
			accuse(g, now, m, o);
		g->confirms[i] = g->confirms[--g->nconfirms];
	}
	for (size_t i = 0; i < g->nrelays; ) {
		struct swim_relay *r = &g->relays[i];
		const struct gossip_member *req;
		if (now < r->deadline) {
			i++;
			continue;
		}
		if ((req = gossip_find(g, r->requester)) != NULL)
			out_swim(o, GOSSIP_PING_ACK, req->e.addr, r->orig_seq,
			    r->target, NULL, 1);
		g->relays[i] = g->relays[--g->nrelays];
	}
	for (size_t i = 1; g->nsuspected > 0 && i < g->n; i++) {
		struct gossip_member *m = &g->m[i];
		struct gossip_notice n;
		if (!m->suspected || m->swim_dead || m->e.left ||
		    now < m->susp_ms + gossip_suspicion_timeout(g, m))
			continue;
		declare_dead(g, now, m, o);
		if (o != NULL) {
			notice_of(m, g->m[0].e.id, 1, &n);
			spread(g, o, m, &n, NULL, 1);
		}
	}
	return gossip_swim_next(g);
}

uint64_t
gossip_swim_next(const struct gossip *g)
{
	uint64_t	next = g->next_probe;

	if (g->conf.probe_interval_ms == 0 || g->m[0].e.left)
		return UINT64_MAX;
	if (g->probe.active)
		next = min_u64(next, g->probe.indirect ? g->probe.t_end :
		    g->probe.t_direct);
	for (size_t i = 0; i < g->nconfirms; i++)
		next = min_u64(next, g->confirms[i].deadline);
	for (size_t i = 0; i < g->nrelays; i++)
		next = min_u64(next, g->relays[i].deadline);
	for (size_t i = 1; g->nsuspected > 0 && i < g->n; i++)
		if (g->m[i].suspected && !g->m[i].swim_dead)
			next = min_u64(next, g->m[i].susp_ms +
			    gossip_suspicion_timeout(g, &g->m[i]));
	return next;
}

static void
ack_recv(struct gossip *g, uint64_t now, const char *from,
    const struct gossip_swim *in, struct gossip_out *o)
{
	struct swim_probe	*p = &g->probe;
	struct gossip_member	*m;

	(void)from;
	if (p->active && in->seq == p->seq && strcmp(in->target, p->id) == 0) {
		if (in->nack) {
			if (p->indirect && p->nacks < p->expect_nacks)
				p->nacks++;
			return;
		}
		p->active = 0;
		aware(g, -1);
		/* Alive but suspected here: make sure it knows, to refute. */
		if ((m = gossip_find_mut(g, in->target)) != NULL)
			swim_heard_from(g, m, o);
		return;
	}
	if (in->nack)
		return;
	for (size_t i = 0; i < g->nconfirms; i++)
		if (g->confirms[i].seq == in->seq &&
		    strcmp(g->confirms[i].id, in->target) == 0) {
			g->confirms[i] = g->confirms[--g->nconfirms];
			if ((m = gossip_find_mut(g, in->target)) != NULL)
				swim_heard_from(g, m, o);
			return;
		}
	for (size_t i = 0; i < g->nrelays; i++) {
		struct swim_relay *r = &g->relays[i];
		const struct gossip_member *req;
		if (r->seq != in->seq || strcmp(r->target, in->target) != 0)
			continue;
		if ((req = gossip_find(g, r->requester)) != NULL)
			out_swim(o, GOSSIP_PING_ACK, req->e.addr, r->orig_seq,
			    r->target, NULL, 0);
		g->relays[i] = g->relays[--g->nrelays];
		return;
	}
	(void)now;
}

int
gossip_swim_recv(struct gossip *g, uint64_t now, const char *from,
    const struct gossip_swim *in, struct gossip_out *o)
{
	struct gossip_member	*self = &g->m[0], *fm, *tm;
	const char		*reply;

	if (!id_ok(from) || !id_ok(in->target) ||
	    strnlen(in->addr, LB_ADDR_MAX) == LB_ADDR_MAX ||
	    (in->addr[0] != '\0' && !addr_ok(in->addr)) ||
	    strcmp(from, self->e.id) == 0) {
		g->stats.bad++;
		return -1;
	}
	if (g->conf.probe_interval_ms == 0 || self->e.left)
		return 0;
	fm = gossip_find_mut(g, from);
	switch (in->type) {
	case GOSSIP_PING:
		if (strcmp(in->target, self->e.id) != 0) {
			g->stats.bad++;	/* meant for another peer */
			return -1;
		}
		reply = fm != NULL && fm->e.addr[0] != '\0' ? fm->e.addr :
		    in->addr;
		if (reply[0] == '\0') {
			g->stats.bad++;
			return -1;
		}
		out_swim(o, GOSSIP_PING_ACK, reply, in->seq, self->e.id, NULL,
		    0);
		if (fm != NULL)
			swim_heard_from(g, fm, o);
		return 0;
	case GOSSIP_PING_ACK:
		ack_recv(g, now, from, in, o);
		return 0;
	case GOSSIP_PING_REQ:
		if (strcmp(in->target, self->e.id) == 0 ||
		    strcmp(in->target, from) == 0) {
			g->stats.bad++;
			return -1;
		}
		tm = gossip_find_mut(g, in->target);
		if (fm == NULL || fm->e.addr[0] == '\0')
			return 0;	/* cannot answer it */
		if (g->nrelays == SWIM_RELAYS_MAX) {
			out_swim(o, GOSSIP_PING_ACK, fm->e.addr, in->seq,
			    in->target, NULL, 1);
			return 0;
		}
		reply = tm != NULL && tm->e.addr[0] != '\0' ? tm->e.addr :
		    in->addr;
		if (reply[0] == '\0')
			return 0;
		struct swim_relay *r = &g->relays[g->nrelays++];
		r->seq = ++g->seq;
		r->orig_seq = in->seq;
		/* Answer (nack) before the prober's round ends. */
		r->deadline = now + (uint64_t)g->conf.probe_timeout_ms * 4 / 5;
		lb_strlcpy(r->requester, from, sizeof(r->requester));
		lb_strlcpy(r->target, in->target, sizeof(r->target));
		out_swim(o, GOSSIP_PING, reply, r->seq, in->target,
		    self->e.addr, 0);
		return 0;
	}
	g->stats.bad++;
	return -1;
}

void
gossip_swim_stats(const struct gossip *g, struct gossip_swim_stats *s)
{
	*s = g->stats;
}
