/*
 * lbsim - N peers' membership in one deterministic process: the real
 * gossip core (gossip/, SWIM with Lifeguard), the real wire form of its
 * messages (node/gossip_wire.c) in real envelopes, on a simulated network
 * with latency and loss, with peers that crash, restart and pause.  The
 * same seed and arguments give the same run, checked by a hash of every
 * event and delivered message (trace_hash).
 *
 *	lbsim --peers N --seconds S --seed X [--loss PCT] [--faults LIST]
 *	      [--latency MIN:MAX] [--crashes K] [--json]
 *
 * What it measures, after a warm-up (the first sixth of the run, at least
 * 10 s; the cluster forms from three seeds meanwhile; the faults begin
 * once it is over and every peer knows every other):
 *   - dead-to-all: from a peer's crash until every live peer holds it
 *     dead (median and max over the crashes);
 *   - membership bytes per peer per second: gossip and probes, sealed
 *     in their envelopes as the daemon sends them (src/envelope.c; the
 *     receiver opens each one, with its replay check);
 *   - false suspicions and false deaths: a live peer suspected, or held
 *     dead, by another (a paused one included: --faults pause);
 *   - with --faults restart, how long a restarted peer (a new
 *     incarnation) takes to be held alive by all;
 *   - the invariant that a crashed peer, once every live peer holds it
 *     dead, is never held alive again (stale gossip cannot bring it
 *     back); before that, a peer that held it dead may hold it alive
 *     again on news it made before its crash (a refutation on its way):
 *     counted as revivals.
 *
 * Tasks, balancing and forwarding are not simulated yet (the fields of
 * --json that would hold them are null); issue 19 of the tracker.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "src/conf.h"
#include "src/envelope.h"
#include "src/util.h"
#include "gossip/gossip.h"
#include "node/gossip_wire.h"

#define PEERS_MAX	10000
#define SECONDS_MAX	86400
#define SEEDS		3		/* peers every peer joins through */
#define CRASH_GAP_MS	20000		/* crashes at least this far apart */
#define RESTART_MS	10000		/* a crashed peer restarts after */
#define PAUSE_MS	1000		/* a pause (SIGSTOP) lasts */

enum ev_type { EV_TICK, EV_SWIM, EV_DELIVER, EV_CRASH, EV_RESTART, EV_PAUSE };

struct ev {
	uint64_t	 t, seq;
	enum ev_type	 type;
	int		 to, from;
	uint64_t	 inc;		/* a delivery: the receiver's life */
	uint8_t		*buf;
	size_t		 len;
};

struct crash {
	int		 peer;
	uint64_t	 at, all_ms;	/* all_ms: when all knew, or 0 */
	uint8_t		*seen;		/* peers that hold it dead */
	/* Restarted (--faults restart): the crash is over, and its new
	 * incarnation spreads. */
	int		 closed;
	uint64_t	 restart_at, rejoin_ms;	/* rejoin_ms: all knew, or 0 */
	uint8_t		*seen_alive;	/* peers that hold the new one alive */
};

struct speer {
	struct gossip	*g;
	struct env_ctx	 env;		/* seals and opens, as a peer's net */
	int		 alive;
	uint64_t	 swim_at;	/* the SWIM event in the queue, or 0 */
	uint64_t	 inc;		/* its incarnation */
	uint64_t	 booted_at;	/* when it started, this incarnation */
	uint64_t	 paused_until;	/* stopped (SIGSTOP) until then */
	uint64_t	 bytes;		/* sent after the warm-up */
	char		 id[LB_ID_MAX], addr[LB_ADDR_MAX];
};

struct sim {
	struct lb_conf	 conf;
	struct speer	*p;
	int		 n;
	uint64_t	 now, end, warm, seq;
	struct lb_rng	 rng;
	unsigned	 loss;		/* per mille */
	unsigned	 lat_min, lat_max;
	uint64_t	 pair_salt;	/* picks each pair's delay */
	struct ev	*heap;
	size_t		 nheap, capheap;
	struct crash	*crashes;
	size_t		 ncrashes;
	uint64_t	 msgs, lost, events, refused;
	uint64_t	 false_suspicions, false_deaths, violations;
	uint64_t	 revivals;	/* crashed, dead, alive again */
	uint64_t	 pauses, restarts;
	long		 want_crashes;	/* -1: as many as fit */
	int		 f_crash, f_restart, f_pause;
	uint64_t	 faults_from;	/* when they began, or 0 */
	unsigned char	 key[LB_KEY_BYTES];	/* the cluster's */
	uint64_t	 converged_ms;
	crypto_generichash_state trace;
	struct gossip_out out;
};

/* ---- the event queue: a binary heap by (time, sequence) ---- */

static int
ev_less(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void
push(struct sim *s, struct ev e)
{
	size_t	i;

	if (s->nheap == s->capheap) {
		s->capheap = s->capheap ? 2 * s->capheap : 1024;
		s->heap = lb_reallocarray(s->heap, s->capheap,
		    sizeof(*s->heap));
	}
	e.seq = s->seq++;
	i = s->nheap++;
	while (i > 0 && ev_less(&e, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = e;
}

static struct ev
pop(struct sim *s)
{
	struct ev	top = s->heap[0], last = s->heap[--s->nheap];
	size_t		i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && ev_less(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_less(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nheap > 0)
		s->heap[i] = last;
	return top;
}

/* ---- peers ---- */

static int
peer_of_addr(const struct sim *s, const char *addr)
{
	unsigned	a, b, c;

	if (sscanf(addr, "tcp://10.%u.%u.%u:7946", &a, &b, &c) != 3)
		return -1;
	c = (a << 16 | b << 8 | c) - 1;
	return c < (unsigned)s->n ? (int)c : -1;
}

static int
peer_of_id(const struct sim *s, const char *id)
{
	char	*end;
	long	 i;

	if (id[0] != 'n')
		return -1;
	i = strtol(id + 1, &end, 10) - 1;
	return *end == '\0' && i >= 0 && i < s->n ? (int)i : -1;
}

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

/*
 * The one-way delay from one peer to another: drawn once per ordered pair
 * from MIN:MAX (a mix of the seed and the pair), the same for every
 * message, so that a pair's messages arrive in the order sent, as on the
 * daemon's TCP connections (a random delay per message reorders them, and
 * the envelope's replay window, 64 of a sender's messages wide, then
 * refuses some: lbsim found that at 1,024 peers).
 */
static unsigned
pair_delay(const struct sim *s, int from, int to)
{
	uint64_t	x = s->pair_salt ^ ((uint64_t)(uint32_t)from << 32 |
			    (uint32_t)to);

	/* (splitmix64's finaliser) */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return s->lat_min + (unsigned)(x % (s->lat_max - s->lat_min + 1));
}

/* The wall clock the envelopes carry: the run's time from a fixed day. */
#define WALL0	1790000000000ULL

static void
send_bytes(struct sim *s, int from, const char *addr, uint8_t *body,
    size_t blen)
{
	int		 to = peer_of_addr(s, addr);
	unsigned	 lat;
	uint8_t		*buf;
	size_t		 len;

	/* Sealed as the daemon seals it: what it counts (tx_bytes). */
	env_seal(&s->p[from].env, WALL0 + s->now, body, blen, &buf, &len);
	free(body);
	if (s->now >= s->warm)
		s->p[from].bytes += len;
	s->msgs++;
	if (to < 0 || lb_rng_below(&s->rng, 1000) < s->loss) {
		s->lost++;
		free(buf);
		return;
	}
	lat = pair_delay(s, from, to);
	push(s, (struct ev){ .t = s->now + lat, .type = EV_DELIVER, .to = to,
	    .from = from, .inc = s->p[to].inc, .buf = buf, .len = len });
}

/* Whether every live peer holds the crashed one dead now. */
static void
known_check(struct sim *s, struct crash *cr)
{
	if (cr->all_ms != 0)
		return;
	/* (a peer started since the crash never knew the crashed one, and
	 * is not told of the dead: not asked) */
	for (int q = 0; q < s->n; q++)
		if (q != cr->peer && s->p[q].alive && !cr->seen[q] &&
		    s->p[q].booted_at <= cr->at)
			return;
	cr->all_ms = s->now;
}

/* Whether every live peer holds the restarted one alive now. */
static void
rejoin_check(struct sim *s, struct crash *cr)
{
	if (cr->rejoin_ms != 0)
		return;
	for (int q = 0; q < s->n; q++)
		if (q != cr->peer && s->p[q].alive && !cr->seen_alive[q])
			return;
	cr->rejoin_ms = s->now - cr->restart_at;
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
		int who = peer_of_id(s, c->id);

		if (who < 0)
			continue;
		/* (of its incarnation now: the old one of a restarted peer
		 * did die) */
		if (s->p[who].alive && c->incarnation == s->p[who].inc &&
		    s->now >= s->warm) {
			if (c->to == GOSSIP_SUSPECT && c->from == GOSSIP_ALIVE)
				s->false_suspicions++;
			/* (DEAD to DEAD: news of a restart, not a death) */
			if (c->to == GOSSIP_DEAD && c->from != GOSSIP_DEAD)
				s->false_deaths++;
		}
		for (size_t j = 0; j < s->ncrashes; j++) {
			struct crash *cr = &s->crashes[j];

			if (cr->peer != who || cr->at > s->now)
				continue;
			if (cr->closed) {
				/* Restarted: who holds the new one alive. */
				if (c->to == GOSSIP_ALIVE && c->incarnation ==
				    s->p[who].inc && !cr->seen_alive[i]) {
					cr->seen_alive[i] = 1;
					rejoin_check(s, cr);
				}
				continue;
			}
			if (c->to == GOSSIP_DEAD) {
				if (!cr->seen[i]) {
					cr->seen[i] = 1;
					known_check(s, cr);
				}
			} else if (cr->seen[i]) {
				/*
				 * Held dead, then not: news it made before
				 * its crash (a refutation on its way) may do
				 * that while the death spreads; once all held
				 * it dead, nothing may.
				 */
				if (cr->all_ms != 0)
					s->violations++;
				else
					s->revivals++;
				cr->seen[i] = 0;
			}
		}
	}
	gossip_out_reset(o);
	arm_swim(s, i);
}

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
	m = lb__peer_msg__unpack(NULL, env->body.len, env->body.data);
	lb__envelope__free_unpacked(env, NULL);
	if (m == NULL)
		return;
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
	lb__peer_msg__free_unpacked(m, NULL);
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
			int q = peer_of_id(s, m[k].e.id);

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
static void
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
	p->g = gossip_new(&s->conf.gossip, &self, s->now,
	    lb_rng_next(&s->rng));
	env_init(&p->env, s->key, "lbsim", p->id, p->inc,
	    (size_t)s->conf.message_max_kb * 1024,
	    (uint64_t)s->conf.replay_window_ms);
	for (int k = 0; k < SEEDS && k < s->n; k++)
		gossip_add_seed(p->g, s->p[k].addr);
	p->alive = 1;
	p->swim_at = 0;
	p->booted_at = s->now;
	/* What it knew went with its old life. */
	for (size_t j = 0; j < s->ncrashes; j++) {
		s->crashes[j].seen[i] = 0;
		if (s->crashes[j].seen_alive != NULL)
			s->crashes[j].seen_alive[i] = 0;
	}
	/* Its first round within a second. */
	push(s, (struct ev){ .t = s->now + lb_rng_below(&s->rng, 1000),
	    .type = EV_TICK, .to = i });
	arm_swim(s, i);
}

static int
crashed(const struct sim *s, int who)
{
	for (size_t j = 0; j < s->ncrashes; j++)
		if (s->crashes[j].peer == who)
			return 1;
	return 0;
}

/*
 * The faults, from `start` on (once every peer knows every other, and not
 * before the warm-up's end: a crash of a peer not yet known to all could
 * not be known dead by all): a crash every CRASH_GAP_MS, each restarted
 * RESTART_MS later (--faults restart), and between them a pause.
 */
static void
schedule_faults(struct sim *s, uint64_t start)
{
	long	crashes = s->want_crashes;

	s->faults_from = start;
	if (s->f_crash) {
		long fit = start < s->end ? (long)((s->end - start) /
		    CRASH_GAP_MS) : 0;

		/* (a crash needs time to be known: none in the last gap) */
		if (crashes < 0 || crashes > fit)
			crashes = fit;
		if (crashes > s->n - 2)
			crashes = s->n - 2;
		s->crashes = lb_calloc((size_t)crashes + 1,
		    sizeof(*s->crashes));
		for (long k = 0; k < crashes; k++) {
			struct crash *cr = &s->crashes[s->ncrashes];
			int who;

			/* (never a seed: the others join through them) */
			if (s->n - SEEDS <= (int)s->ncrashes)
				break;
			do
				who = SEEDS + (int)lb_rng_below(&s->rng,
				    (uint32_t)(s->n - SEEDS));
			while (crashed(s, who));
			cr->peer = who;
			cr->at = start + (uint64_t)k * CRASH_GAP_MS;
			cr->seen = lb_calloc((size_t)s->n, 1);
			s->ncrashes++;
			push(s, (struct ev){ .t = cr->at, .type = EV_CRASH,
			    .to = who });
			if (s->f_restart && cr->at + RESTART_MS < s->end)
				push(s, (struct ev){ .t = cr->at + RESTART_MS,
				    .type = EV_RESTART, .to = who });
		}
	}
	if (s->f_pause) {
		/* Between the crashes (and the restarts, 10 s after them):
		 * one peer stopped for PAUSE_MS. */
		for (uint64_t t = start + CRASH_GAP_MS * 3 / 4; t +
		    CRASH_GAP_MS / 4 <= s->end && s->n > SEEDS;
		    t += CRASH_GAP_MS)
			push(s, (struct ev){ .t = t, .type = EV_PAUSE,
			    .to = SEEDS + (int)lb_rng_below(&s->rng,
			    (uint32_t)(s->n - SEEDS)) });
	}
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

static void
run(struct sim *s)
{
	uint64_t	next_check = 1000;

	while (s->nheap > 0 && s->heap[0].t <= s->end) {
		struct ev	e = pop(s);
		struct speer	*p = &s->p[e.to];

		s->now = e.t;
		s->events++;
		/* A paused peer does nothing; what comes meanwhile waits for
		 * it (a stopped process's sockets keep it). */
		if (p->paused_until > e.t && (e.type == EV_TICK ||
		    e.type == EV_SWIM || e.type == EV_DELIVER)) {
			if (e.type == EV_SWIM) {
				if (p->swim_at != e.t)
					continue;
				p->swim_at = p->paused_until;
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
			p->alive = 0;
			for (size_t j = 0; j < s->ncrashes; j++) {
				struct crash *cr = &s->crashes[j];

				/* Those that held it dead already (falsely,
				 * before it crashed) hold it dead now. */
				if (cr->peer == e.to)
					for (int q = 0; q < s->n; q++) {
						const struct gossip_member *m =
						    gossip_find(s->p[q].g,
						    p->id);

						if (q != e.to && s->p[q].alive &&
						    m != NULL && m->state ==
						    GOSSIP_DEAD)
							cr->seen[q] = 1;
					}
				/* (and this one may have been the last that
				 * did not know of an earlier crash) */
				if (cr->at <= s->now && !cr->closed)
					known_check(s, cr);
				else if (cr->closed)
					rejoin_check(s, cr);
			}
			break;
		case EV_RESTART:
			trace(s, &e);
			for (size_t j = 0; j < s->ncrashes; j++) {
				struct crash *cr = &s->crashes[j];

				if (cr->peer != e.to || cr->closed)
					continue;
				cr->closed = 1;
				cr->restart_at = s->now;
				cr->seen_alive = lb_calloc((size_t)s->n, 1);
			}
			s->restarts++;
			boot(s, e.to);
			break;
		case EV_PAUSE:
			if (!p->alive)
				break;
			trace(s, &e);
			p->paused_until = s->now + PAUSE_MS;
			s->pauses++;
			break;
		}
		if (s->converged_ms == 0 && s->now >= next_check) {
			next_check = s->now + 1000;
			if (converged(s)) {
				s->converged_ms = s->now;
				if (s->f_crash || s->f_pause)
					schedule_faults(s, s->now > s->warm ?
					    s->now : s->warm);
			}
		}
	}
	while (s->nheap > 0) {
		struct ev e = pop(s);
		free(e.buf);
	}
}


static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: lbsim --peers N --seconds S --seed X [--loss PCT] [--faults LIST]\n"
"             [--latency MIN:MAX] [--crashes K] [--json]\n"
"\n"
"N peers' membership (the real gossip core and its wire form) on a\n"
"simulated network, deterministic: the same arguments give the same run.\n"
"\n"
"  --peers N          peers, 2 to %d (16)\n"
"  --seconds S        simulated seconds, 1 to %d (120)\n"
"  --seed X           the run's seed (1)\n"
"  --loss PCT         messages lost, percent, 0 to 50 (0)\n"
"  --latency MIN:MAX  one-way delay in ms, each pair of peers its own,\n"
"                     uniform (1:10)\n"
"  --faults LIST      comma-separated: crash (peers crash, one every 20 s\n"
"                     once all know all and the warm-up is over), restart (and each restarts 10 s\n"
"                     later, a new incarnation), pause (between crashes,\n"
"                     a peer stopped for 1 s), loss (1%% of messages lost,\n"
"                     or --loss)\n"
"  --crashes K        how many crash with --faults crash (as many as fit)\n"
"  --json             one JSON object instead of a table\n",
	    PEERS_MAX, SECONDS_MAX);
}

static long
num(const char *opt, const char *v, long lo, long hi)
{
	char	*end;
	long	 x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi) {
		fprintf(stderr, "lbsim: %s: '%s' is not a number from %ld to "
		    "%ld\n", opt, v, lo, hi);
		exit(2);
	}
	return x;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "peers", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'x' },
		{ "loss", required_argument, NULL, 'l' },
		{ "latency", required_argument, NULL, 'L' },
		{ "faults", required_argument, NULL, 'f' },
		{ "crashes", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sim	 s;
	long		 seconds = 120, crashes = -1;
	uint64_t	 seed = 1;
	int		 json = 0, fault_crash = 0, fault_loss = 0, c;
	int		 loss_set = 0, fault_restart = 0, fault_pause = 0;
	uint8_t		 hash[16];
	char		 hex[33];
	uint64_t	*d, *rj;
	size_t		 nrj = 0;
	size_t		 nd = 0, missed = 0;
	double		 bps;

	memset(&s, 0, sizeof(s));
	s.n = 16;
	s.lat_min = 1;
	s.lat_max = 10;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			s.n = (int)num("--peers", optarg, 2, PEERS_MAX);
			break;
		case 's':
			seconds = num("--seconds", optarg, 1, SECONDS_MAX);
			break;
		case 'x':
			seed = (uint64_t)num("--seed", optarg, 0, LONG_MAX);
			break;
		case 'l':
			s.loss = 10 * (unsigned)num("--loss", optarg, 0, 50);
			loss_set = 1;
			break;
		case 'L': {
			unsigned a, b;
			char extra;

			if (sscanf(optarg, "%u:%u%c", &a, &b, &extra) != 2 ||
			    a < 1 || b < a || b > 60000) {
				fprintf(stderr, "lbsim: --latency: '%s' is not "
				    "MIN:MAX in ms (1 <= MIN <= MAX <= 60000)"
				    "\n", optarg);
				return 2;
			}
			s.lat_min = a;
			s.lat_max = b;
			break;
		}
		case 'f': {
			char *list = lb_strdup(optarg), *save = NULL, *w;

			for (w = strtok_r(list, ",", &save); w != NULL;
			    w = strtok_r(NULL, ",", &save)) {
				if (strcmp(w, "crash") == 0)
					fault_crash = 1;
				else if (strcmp(w, "restart") == 0)
					fault_crash = fault_restart = 1;
				else if (strcmp(w, "pause") == 0)
					fault_pause = 1;
				else if (strcmp(w, "loss") == 0)
					fault_loss = 1;
				else {
					fprintf(stderr, "lbsim: --faults: "
					    "unknown fault '%s' (crash, "
					    "restart, pause, loss)"
					    "\n", w);
					free(list);
					return 2;
				}
			}
			free(list);
			break;
		}
		case 'k':
			crashes = num("--crashes", optarg, 0, PEERS_MAX);
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lbsim: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	if (fault_loss && !loss_set)
		s.loss = 10;	/* 1% (--loss says otherwise) */
	if (crashes > 0 && !fault_crash) {
		fprintf(stderr, "lbsim: --crashes needs --faults crash\n");
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "lbsim: libsodium did not start\n");
		return 1;
	}

	lb_conf_defaults(&s.conf);
	if (s.conf.gossip.max_members < s.n + 1)
		s.conf.gossip.max_members = s.n + 1;
	lb_rng_seed(&s.rng, seed);
	s.pair_salt = lb_rng_next(&s.rng);
	s.end = (uint64_t)seconds * 1000;
	s.warm = s.end / 6 > 10000 ? s.end / 6 : 10000;
	if (s.warm > s.end)
		s.warm = s.end;
	crypto_generichash_init(&s.trace, NULL, 0, sizeof(hash));
	for (size_t k = 0; k < sizeof(s.key); k++)
		s.key[k] = (unsigned char)lb_rng_next(&s.rng);
	s.p = lb_calloc((size_t)s.n, sizeof(*s.p));
	for (int i = 0; i < s.n; i++) {
		unsigned a = (unsigned)(i + 1);

		snprintf(s.p[i].id, sizeof(s.p[i].id), "n%d", i + 1);
		snprintf(s.p[i].addr, sizeof(s.p[i].addr),
		    "tcp://10.%u.%u.%u:7946", a >> 16, (a >> 8) & 255,
		    a & 255);
		boot(&s, i);
	}
	s.want_crashes = fault_crash ? crashes : 0;
	s.f_restart = fault_restart;
	s.f_pause = fault_pause;
	s.f_crash = fault_crash;

	run(&s);

	crypto_generichash_final(&s.trace, hash, sizeof(hash));
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	d = lb_calloc(s.ncrashes + 1, sizeof(*d));
	for (size_t k = 0; k < s.ncrashes; k++) {
		if (s.crashes[k].all_ms != 0)
			d[nd++] = s.crashes[k].all_ms - s.crashes[k].at;
		else
			missed++;
	}
	qsort(d, nd, sizeof(*d), cmp_u64);
	rj = lb_calloc(s.ncrashes + 1, sizeof(*rj));
	for (size_t k = 0; k < s.ncrashes; k++)
		if (s.crashes[k].rejoin_ms != 0)
			rj[nrj++] = s.crashes[k].rejoin_ms;
	qsort(rj, nrj, sizeof(*rj), cmp_u64);
	{
		uint64_t total = 0;

		/* (over every peer and the measured time: a crashed one
		 * sent until its crash) */
		for (int i = 0; i < s.n; i++)
			total += s.p[i].bytes;
		bps = s.end > s.warm ? (double)total / (double)s.n /
		    ((double)(s.end - s.warm) / 1000) : 0;
	}
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "peers", json_integer(s.n));
		json_object_set_new(o, "seconds", json_integer(seconds));
		json_object_set_new(o, "seed", json_integer((json_int_t)seed));
		json_object_set_new(o, "loss_pct", json_real(s.loss / 10.0));
		json_object_set_new(o, "trace_hash", json_string(hex));
		json_object_set_new(o, "events", json_integer((json_int_t)
		    s.events));
		json_object_set_new(o, "messages", json_integer((json_int_t)
		    s.msgs));
		json_object_set_new(o, "messages_refused", json_integer(
		    (json_int_t)s.refused));
		json_object_set_new(o, "converged_ms", s.converged_ms ?
		    json_integer((json_int_t)s.converged_ms) : json_null());
		json_object_set_new(o, "faults_from_ms", s.faults_from ?
		    json_integer((json_int_t)s.faults_from) : json_null());
		json_object_set_new(o, "crashes", json_integer((json_int_t)
		    s.ncrashes));
		json_object_set_new(o, "crashes_not_known_to_all",
		    json_integer((json_int_t)missed));
		json_object_set_new(o, "dead_to_all_ms_median", nd ?
		    json_integer((json_int_t)d[nd / 2]) : json_null());
		json_object_set_new(o, "dead_to_all_ms_max", nd ?
		    json_integer((json_int_t)d[nd - 1]) : json_null());
		json_object_set_new(o, "restarts", json_integer((json_int_t)
		    s.restarts));
		json_object_set_new(o, "rejoined_to_all", json_integer(
		    (json_int_t)nrj));
		json_object_set_new(o, "rejoin_ms_median", nrj ?
		    json_integer((json_int_t)rj[nrj / 2]) : json_null());
		json_object_set_new(o, "rejoin_ms_max", nrj ?
		    json_integer((json_int_t)rj[nrj - 1]) : json_null());
		json_object_set_new(o, "pauses", json_integer((json_int_t)
		    s.pauses));
		json_object_set_new(o, "membership_bytes_per_peer_s",
		    json_real((double)(int64_t)(bps * 10) / 10));
		json_object_set_new(o, "false_suspicions", json_integer(
		    (json_int_t)s.false_suspicions));
		json_object_set_new(o, "false_deaths", json_integer(
		    (json_int_t)s.false_deaths));
		json_object_set_new(o, "revivals", json_integer(
		    (json_int_t)s.revivals));
		json_object_set_new(o, "invariant_violations", json_integer(
		    (json_int_t)s.violations));
		/* (not simulated yet) */
		json_object_set_new(o, "tasks", json_null());
		json_object_set_new(o, "results", json_null());
		json_object_set_new(o, "mean_response_S", json_null());
		json_object_set_new(o, "probes_per_task", json_null());
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		printf("lbsim: %d peers, %ld s, seed %" PRIu64 ", loss %.1f%%, "
		    "latency %u-%u ms\n", s.n, seconds, seed, s.loss / 10.0,
		    s.lat_min, s.lat_max);
		printf("%-34s %s\n", "trace hash", hex);
		printf("%-34s %" PRIu64 " (%" PRIu64 " messages, %" PRIu64
		    " lost, %" PRIu64 " refused by their envelope)\n",
		    "events", s.events, s.msgs, s.lost, s.refused);
		if (s.converged_ms)
			printf("%-34s %" PRIu64 " ms\n", "all know all",
			    s.converged_ms);
		else
			printf("%-34s never\n", "all know all");
		if (s.f_crash || s.f_pause) {
			if (s.faults_from)
				printf("%-34s from %" PRIu64 " ms\n", "faults",
				    s.faults_from);
			else
				printf("%-34s none (not all knew all)\n",
				    "faults");
		}
		printf("%-34s %zu (%zu not known to all by the end)\n",
		    "crashes", s.ncrashes, missed);
		if (nd)
			printf("%-34s median %" PRIu64 " ms, max %" PRIu64
			    " ms\n", "dead to all", d[nd / 2], d[nd - 1]);
		if (s.restarts)
			printf("%-34s %" PRIu64 " (%zu known to all alive%s)\n",
			    "restarts", s.restarts, nrj, "");
		if (nrj)
			printf("%-34s median %" PRIu64 " ms, max %" PRIu64
			    " ms\n", "restart alive to all", rj[nrj / 2],
			    rj[nrj - 1]);
		if (s.pauses)
			printf("%-34s %" PRIu64 " of %d ms\n", "pauses",
			    s.pauses, PAUSE_MS);
		printf("%-34s %.1f\n", "membership bytes per peer per s", bps);
		printf("%-34s %" PRIu64 " suspicions, %" PRIu64 " deaths\n",
		    "false (of live peers)", s.false_suspicions,
		    s.false_deaths);
		printf("%-34s %" PRIu64 " (dead, then alive on news from "
		    "before the crash)\n", "revivals of crashed peers",
		    s.revivals);
		printf("%-34s %" PRIu64 "\n", "invariant violations",
		    s.violations);
	}
	free(d);
	for (int i = 0; i < s.n; i++) {
		gossip_free(s.p[i].g);
		env_free(&s.p[i].env);
	}
	for (size_t k = 0; k < s.ncrashes; k++) {
		free(s.crashes[k].seen);
		free(s.crashes[k].seen_alive);
	}
	free(rj);
	free(s.crashes);
	free(s.p);
	free(s.heap);
	gossip_out_free(&s.out);
	lb_conf_free(&s.conf);
	return s.violations > 0 ? 1 : 0;
}
