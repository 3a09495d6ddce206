

/* gossip.c - membership, load vector and failure detection (no I/O). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"
#include "strpool.h"



/* Members this peer would put in a full digest: all but the dead (a
 * count kept as states change, not a pass over the table). */
static uint32_t
known(const struct gossip *g)
{
	return (uint32_t)(g->n - g->ndead);
}

/* Set a member's state, keeping the count of the dead. */
static void
set_state(struct gossip *g, struct gossip_member *m, enum gossip_state s)
{
	int	was_live = m->state == GOSSIP_ALIVE ||
		    m->state == GOSSIP_SUSPECT;

	if (m->state == GOSSIP_DEAD && s != GOSSIP_DEAD)
		gossip_sums_toggle(g, m, 1);
	if (m->state != GOSSIP_DEAD && s == GOSSIP_DEAD)
		gossip_sums_toggle(g, m, -1);
	if (m->state == GOSSIP_DEAD)
		g->ndead--;
	if (s == GOSSIP_DEAD)
		g->ndead++;
	m->state = s;
	if (!was_live && (s == GOSSIP_ALIVE || s == GOSSIP_SUSPECT))
		gossip_note_live(g, (size_t)(m - g->m));
}

/* m's version was born at `born` (heard now): the freshest rise. */
static void
set_born(struct gossip *g, struct gossip_member *m, uint64_t born)
{
	int	rose = born > m->born_ms;

	m->born_ms = born;
	if (rose)
		gossip_note_born(g, (size_t)(m - g->m));
}

/* News of m came now: rumours are the latest news. */
static void
set_news(struct gossip *g, struct gossip_member *m, uint64_t now)
{
	m->news_ms = now;
	gossip_note_news(g, (size_t)(m - g->m));
}

struct gossip_msg *
gossip_out_msg(struct gossip *g, struct gossip_out *o, const char *to,
    int want_reply, struct gossip_entry *entries, size_t n)
{
	struct gossip_msg	*msg;

	if (o->nmsgs == o->capmsgs) {
		o->capmsgs = o->capmsgs ? 2 * o->capmsgs : 4;
		o->msgs = lb_reallocarray(o->msgs, o->capmsgs, sizeof(*o->msgs));
	}
	msg = &o->msgs[o->nmsgs++];
	lb_strlcpy(msg->to, to, sizeof(msg->to));
	msg->want_reply = want_reply;
	msg->entries = entries;
	msg->n = n;
	msg->known = known(g);
	msg->wants = NULL;
	msg->nwants = 0;
	msg->notices = NULL;
	msg->nnotices = 0;
	msg->sum_n = NULL;
	msg->sum_x = NULL;
	msg->nsums = 0;
	return msg;
}

#define out_msg(g, o, to, r, e, n)	(void)gossip_out_msg(g, o, to, r, e, n)

static void
out_change(struct gossip_out *o, const struct gossip_member *m,
    enum gossip_state from)
{
	struct gossip_change	*c;

	if (o == NULL)
		return;
	if (o->nchanges == o->capchanges) {
		o->capchanges = o->capchanges ? 2 * o->capchanges : 4;
		o->changes = lb_reallocarray(o->changes, o->capchanges,
		    sizeof(*o->changes));
	}
	c = &o->changes[o->nchanges++];
	lb_strlcpy(c->id, m->e.id, sizeof(c->id));
	c->from = from;
	c->to = m->state;
	c->incarnation = m->e.incarnation;
	c->restarted = 0;
}

void
gossip_out_reset(struct gossip_out *o)
{
	for (size_t i = 0; i < o->nmsgs; i++) {
		free(o->msgs[i].entries);
		free(o->msgs[i].wants);
		free(o->msgs[i].notices);
		free(o->msgs[i].sum_n);
		free(o->msgs[i].sum_x);
	}
	o->nmsgs = 0;
	o->nchanges = 0;
	o->nswims = 0;
}

void
gossip_out_free(struct gossip_out *o)
{
	gossip_out_reset(o);
	free(o->msgs);
	free(o->changes);
	free(o->swims);
	memset(o, 0, sizeof(*o));
}

/* Make *slot the pool's copy of s, unless it already holds it. */
static void
known_str(struct gossip *g, const char **slot, const char *s)
{
	const char	*p;

	if (*slot != NULL && strcmp(*slot, s) == 0)
		return;
	p = strpool_get(g->pool, s);
	strpool_put(g->pool, *slot);
	*slot = p;
}

/* A member's fields from entry e. */
static void
known_set(struct gossip *g, struct gossip_known *k, const struct gossip_entry *e)
{
	known_str(g, &k->id, e->id);
	known_str(g, &k->addr, e->addr);
	known_str(g, &k->attrs, e->attrs);
	k->incarnation = e->incarnation;
	k->heartbeat = e->heartbeat;
	k->refute = e->refute;
	k->load = e->load;
	k->slots = e->slots;
	k->level = e->level;
	k->running = e->running;
	k->waiting = e->waiting;
	k->left = e->left != 0;
	k->draining = e->draining != 0;
}

static void
known_put(struct gossip *g, struct gossip_known *k)
{
	strpool_put(g->pool, k->id);
	strpool_put(g->pool, k->addr);
	strpool_put(g->pool, k->attrs);
	k->id = k->addr = k->attrs = NULL;
}

struct gossip *
gossip_new(const struct lb_gossip_conf *conf, const struct gossip_entry *self,
    uint64_t now, uint64_t seed)
{
	return gossip_new_in(conf, self, now, seed, NULL);
}

struct gossip *
gossip_new_in(const struct lb_gossip_conf *conf,
    const struct gossip_entry *self, uint64_t now, uint64_t seed,
    struct strpool *pool)
{
	struct gossip	*g = lb_calloc(1, sizeof(*g));

	g->own_pool = pool == NULL;
	g->pool = pool != NULL ? pool : strpool_new();
	g->conf = *conf;
	lb_rng_seed(&g->rng, seed);
	g->seq = lb_rng_next(&g->rng) >> 16;
	g->next_probe = now;
	g->cap = 16;
	g->m = lb_calloc(g->cap, sizeof(*g->m));
	g->n = 1;
	known_set(g, &g->m[0].e, self);
	g->m[0].e.left = 0;
	g->m[0].self = 1;
	g->m[0].state = GOSSIP_ALIVE;
	g->m[0].born_ms = now;
	g->m[0].state_ms = now;
	g->m[0].sumh = gossip_sum_hash(g->m[0].e.id);
	gossip_sums_toggle(g, &g->m[0], 1);
	/* (a newcomer's first push asks for what it misses) */
	g->behind = 1;
	gossip_ix_rebuild(g);
	return g;
}

void
gossip_free(struct gossip *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->nseeds; i++)
		free(g->seeds[i]);
	free(g->seeds);
	for (size_t i = 0; i < g->n; i++) {
		free(g->m[i].accusers);
		known_put(g, &g->m[i].e);
	}
	for (size_t i = 0; i < g->plen; i++)
		strpool_put(g->pool, g->plist[i]);
	free(g->m);
	free(g->ix);
	free(g->scratch);
	free(g->plist);
	if (g->own_pool)
		strpool_free(g->pool);
	free(g);
}

void
gossip_reserve(struct gossip *g, size_t n)
{
	if (n <= g->cap)
		return;
	g->cap = n;
	g->m = lb_reallocarray(g->m, g->cap, sizeof(*g->m));
	gossip_ix_rebuild(g);
}

void
gossip_add_seed(struct gossip *g, const char *addr)
{
	if (strcmp(addr, g->m[0].e.addr) == 0)
		return;
	for (size_t i = 0; i < g->nseeds; i++)
		if (strcmp(g->seeds[i], addr) == 0)
			return;
	g->seeds = lb_reallocarray(g->seeds, g->nseeds + 1, sizeof(*g->seeds));
	g->seeds[g->nseeds++] = lb_strdup(addr);
}

const struct gossip_member *
gossip_members(const struct gossip *g, size_t *n)
{
	*n = g->n;
	return g->m;
}

uint64_t
gossip_refused(const struct gossip *g)
{
	return g->refused;
}

uint64_t
gossip_deaths(const struct gossip *g)
{
	return g->deaths;
}

uint64_t
gossip_age(const struct gossip_member *m, uint64_t now)
{
	return now > m->born_ms ? now - m->born_ms : 0;
}

const char *
gossip_state_name(enum gossip_state s)
{
	switch (s) {
	case GOSSIP_ALIVE: return "alive";
	case GOSSIP_SUSPECT: return "suspect";
	case GOSSIP_DEAD: return "dead";
	case GOSSIP_LEFT: return "left";
	}
	return "?";
}

/*
 * The heartbeat ages that mean suspect and dead.  The configured ones hold
 * for up to BACKSTOP_PEERS members at BACKSTOP_DIGEST entries a digest
 * (where the freshest news of a live member is up to 8 rounds old); a
 * member's news reaches a peer less often the more members share the
 * digests, in proportion to members / digest_size (lbsim: at 128 members
 * with the fixed ages, every peer suspected others falsely; doc/scale.md),
 * so the ages grow in that proportion, never below the configured ones.
 * The members counted are those in digests (the dead are not), counted
 * every round, or the entries of a larger digest while it is merged
 * (age_n).
 */
#define BACKSTOP_PEERS	64
#define BACKSTOP_DIGEST	24

uint64_t
gossip_age_limit(const struct gossip *g, int conf_ms)
{
	uint64_t	ms = (uint64_t)conf_ms;
	uint64_t	num = (uint64_t)(g->age_n > 0 ? g->age_n : g->n) *
			    BACKSTOP_DIGEST;
	uint64_t	den = (uint64_t)BACKSTOP_PEERS *
			    (uint64_t)(g->conf.digest_size > 0 ?
			    g->conf.digest_size : 1);

	return num > den ? ms * num / den : ms;
}

/* What the ages are scaled for: the members held, dead aside (the dead
 * are in no digest). */
static void
age_n_update(struct gossip *g)
{
	g->age_n = known(g);
}

/* The heartbeat backstop's ages as they apply now. */
struct limits {
	uint64_t	suspect, dead;
};

static struct limits
limits(const struct gossip *g)
{
	return (struct limits){
		.suspect = gossip_age_limit(g, g->conf.suspect_ms),
		.dead = gossip_age_limit(g, g->conf.dead_ms)
	};
}

/* The state a member's news implies at `now`. */
static enum gossip_state
judge(const struct gossip_member *m, uint64_t now, struct limits l)
{
	uint64_t	age = gossip_age(m, now);

	if (m->e.left)
		return GOSSIP_LEFT;
	if (m->self)
		return GOSSIP_ALIVE;
	/* SWIM decides; heartbeat ages are the backstop. */
	if (m->swim_dead || age >= l.dead)
		return GOSSIP_DEAD;
	if (m->suspected || age >= l.suspect)
		return GOSSIP_SUSPECT;
	return GOSSIP_ALIVE;
}

/* The earliest time member m's state may change by its age, or it may
 * be forgotten, with the ages l (UINT64_MAX: never).  News only moves it
 * later; what else changes it (a member added, a state changed, SWIM's
 * marks cleared, smaller ages) brings judge_due forward. */
static uint64_t
due(const struct gossip *g, const struct gossip_member *m, struct limits l)
{
	if (m->self)
		return UINT64_MAX;
	switch (m->state) {
	case GOSSIP_DEAD:
	case GOSSIP_LEFT:
		return m->state_ms + (uint64_t)g->conf.forget_ms;
	case GOSSIP_SUSPECT:
		return m->born_ms + l.dead;
	default:
		return m->born_ms + l.suspect;
	}
}

static void
due_by(struct gossip *g, uint64_t t)
{
	if (t < g->judge_due)
		g->judge_due = t;
}

static void
rejudge_with(struct gossip *g, struct gossip_member *m, uint64_t now,
    struct limits l, struct gossip_out *o)
{
	enum gossip_state	s = judge(m, now, l), from = m->state;

	/* Dead stays dead until fresh news: no flapping on stale gossip. */
	if (from == GOSSIP_DEAD && s == GOSSIP_SUSPECT)
		s = GOSSIP_DEAD;
	if (s == from)
		return;
	set_state(g, m, s);
	m->state_ms = now;
	due_by(g, due(g, m, l));
	if (m->swim_dead)
		g->swim_dead_ms = now;	/* swim_add_notices looks back */
	if (s == GOSSIP_DEAD)
		g->deaths++;
	out_change(o, m, from);
}

void
gossip_rejudge(struct gossip *g, struct gossip_member *m, uint64_t now,
    struct gossip_out *o)
{
	rejudge_with(g, m, now, limits(g), o);
}

#define rejudge gossip_rejudge

/* Whether version (inc, hb) is newer than the member's. */
static int
newer(const struct gossip_entry *a, const struct gossip_known *b)
{
	if (a->incarnation != b->incarnation)
		return a->incarnation > b->incarnation;
	if (a->heartbeat != b->heartbeat)
		return a->heartbeat > b->heartbeat;
	return a->left && !b->left;
}

/* A random member index in `want` states other than self; 0 if none. */
static size_t
pick(struct gossip *g, int want_dead)
{
	size_t	nc = 0, choice;
	size_t	ndead = g->ndead - (g->m[0].state == GOSSIP_DEAD);
	size_t	want = want_dead ? ndead : g->n - 1 - ndead;

	/*
	 * Where at least half the others are of the kind wanted (as the
	 * live are, nearly always), random draws find one in a few tries,
	 * each as likely as any other: no pass over a table of 10,000.
	 * Otherwise, or unlucky, count and choose.
	 */
	if (g->n > 1 && want * 2 >= g->n - 1)
		for (int tries = 0; tries < 32; tries++) {
			size_t i = 1 + lb_rng_below(&g->rng,
			    (uint32_t)(g->n - 1));
			if (g->m[i].state != GOSSIP_LEFT &&
			    (g->m[i].state == GOSSIP_DEAD) == want_dead)
				return i;
		}
	for (size_t i = 1; i < g->n; i++) {
		int dead = g->m[i].state == GOSSIP_DEAD;
		if (g->m[i].state != GOSSIP_LEFT && dead == want_dead)
			nc++;
	}
	if (nc == 0)
		return 0;
	choice = lb_rng_below(&g->rng, (uint32_t)nc);
	for (size_t i = 1; i < g->n; i++) {
		int dead = g->m[i].state == GOSSIP_DEAD;
		if (g->m[i].state != GOSSIP_LEFT && dead == want_dead &&
		    choice-- == 0)
			return i;
	}
	return 0;
}

void
gossip_tick(struct gossip *g, uint64_t now, struct gossip_out *o)
{
	struct gossip_member	*self = &g->m[0];
	struct gossip_entry	*d;
	size_t			 i, to, n;
	const char		*addr = NULL;
	int			 seed_turn;
	struct limits		 l;
	char			(*wants)[LB_ID_MAX] = NULL;
	size_t			 nwants = 0;

	g->rounds++;
	if (self->e.left)
		return;
	age_n_update(g);
	self->e.heartbeat++;
	self->born_ms = now;
	/* Judge ages, and forget what has been dead or gone long enough
	 * (the ages are those of this round: age_n is fixed through it). */
	l = limits(g);
	/* (ages that changed, with the members counted, may change any
	 * state either way: judged anew) */
	if (now < g->judge_due && l.suspect == g->judge_suspect &&
	    l.dead == g->judge_dead)
		goto judged;
	g->judge_due = UINT64_MAX;
	g->judge_suspect = l.suspect;
	g->judge_dead = l.dead;
	for (i = 1; i < g->n; ) {
		struct gossip_member *m = &g->m[i];
		rejudge_with(g, m, now, l, o);
		if ((m->state == GOSSIP_DEAD || m->state == GOSSIP_LEFT) &&
		    now - m->state_ms >= (uint64_t)g->conf.forget_ms) {
			gossip_ix_del(g, m->e.id);
			set_state(g, m, GOSSIP_LEFT);
			gossip_sums_toggle(g, m, -1);
			swim_clear(g, m);
			free(m->accusers);
			known_put(g, &m->e);
			gossip_note_moved(g);
			if (i != g->n - 1)
				gossip_ix_move(g, g->n - 1, i);
			g->m[i] = g->m[--g->n];
			continue;
		}
		due_by(g, due(g, m, l));
		i++;
	}
judged:
	/*
	 * One live peer at random; now and then a seed instead (to heal a
	 * partition) or a dead peer (it may be back); a seed when no one
	 * else is known.
	 */
	seed_turn = g->conf.seed_every > 0 &&
	    lb_rng_below(&g->rng, (uint32_t)g->conf.seed_every) == 0;
	to = pick(g, 0);
	if (seed_turn || to == 0) {
		size_t dead = pick(g, 1);
		if (g->nseeds > 0 && (to == 0 || dead == 0 ||
		    lb_rng_below(&g->rng, 2) == 0)) {
			addr = g->seeds[lb_rng_below(&g->rng,
			    (uint32_t)g->nseeds)];
			to = SIZE_MAX;
		} else if (dead != 0)
			to = dead;
	}
	if (to == 0)
		return;
	if (addr == NULL)
		addr = g->m[to].e.addr;
	d = gossip_digest(g, to, now, 0, NULL, &wants, &nwants, &n);
	out_msg(g, o, addr, 1, d, n);
	/* and ask for news of our stalest entries */
	o->msgs[o->nmsgs - 1].wants = wants;
	o->msgs[o->nmsgs - 1].nwants = nwants;
	/* and, having heard of more members than we know, for them */
	if (g->behind || g->rounds - g->grew <= GOSSIP_GREW_ROUNDS) {
		gossip_sums_attach(g, &o->msgs[o->nmsgs - 1]);
		g->behind = 0;
	}
	swim_add_notices(g, now, &o->msgs[o->nmsgs - 1]);
}

/* Whether a version changes more than the heartbeat: news to spread. */
static int
news(const struct gossip_entry *a, const struct gossip_known *b)
{
	return a->incarnation != b->incarnation || a->left != b->left ||
	    a->refute != b->refute ||
	    a->load != b->load || a->slots != b->slots ||
	    a->running != b->running || a->waiting != b->waiting ||
	    a->draining != b->draining || a->level != b->level ||
	    strcmp(a->addr, b->addr) != 0 || strcmp(a->attrs, b->attrs) != 0;
}

/* Merge one entry heard at `now`. */
static void
merge(struct gossip *g, uint64_t now, const struct gossip_entry *e,
    struct gossip_out *o)
{
	struct gossip_member	*m;
	uint64_t		 born;
	int			 vchange;

	if (e->id[0] == '\0')
		return;
	born = e->age_ms >= now ? 0 : now - e->age_ms;
	m = gossip_find_mut(g, e->id);
	if (e->addr[0] == '\0') {
		/*
		 * A heartbeat (compact entry): it updates what changes within
		 * an incarnation.  Of an unknown member, or of another
		 * incarnation, it says too little; the full entry will come.
		 */
		if (m == NULL || m->self || e->incarnation != m->e.incarnation ||
		    !newer(e, &m->e))
			return;
		if (e->load != m->e.load || e->left != m->e.left ||
		    e->draining != m->e.draining || e->refute != m->e.refute ||
		    e->running != m->e.running || e->waiting != m->e.waiting)
			set_news(g, m, now);
		/* (the sums hold the version, not the heartbeat) */
		vchange = e->refute > m->e.refute ||
		    (e->left != 0) != (m->e.left != 0);
		if (vchange)
			gossip_sums_out(g, m);
		if (e->refute > m->e.refute) {
			/* It refuted a suspicion (or a death) of it. */
			swim_clear(g, m);
			m->e.refute = e->refute;
		}
		m->e.heartbeat = e->heartbeat;
		m->e.load = e->load;
		m->e.running = e->running;
		m->e.waiting = e->waiting;
		m->e.left = e->left != 0;
		m->e.draining = e->draining != 0;
		if (vchange)
			gossip_sums_in(g, m);
		if (born > m->born_ms || e->left)
			set_born(g, m, born);
		rejudge(g, m, now, o);
		return;
	}
	if (m == NULL) {
		/* Stale news of an unknown (or forgotten) member: ignore. */
		if (e->age_ms >= gossip_age_limit(g, g->conf.dead_ms) &&
		    !e->left)
			return;
		/*
		 * Bounded: whatever a digest says, the table (and every
		 * full digest made from it) stays within max_members.  The
		 * dead and the left are forgotten in time and make room.
		 */
		if (g->n >= (size_t)g->conf.max_members) {
			g->refused++;
			return;
		}
		if (g->n == g->cap) {
			g->cap += g->cap / 2;
			g->m = lb_reallocarray(g->m, g->cap, sizeof(*g->m));
			gossip_ix_rebuild(g);
		}
		m = &g->m[g->n++];
		memset(m, 0, sizeof(*m));
		known_set(g, &m->e, e);
		gossip_ix_put(g, g->n - 1);
		set_born(g, m, born);
		m->state = GOSSIP_ALIVE;
		m->sumh = gossip_sum_hash(m->e.id);
		gossip_sums_toggle(g, m, 1);
		/* (a table that grows is likely behind others: the next
		 * pushes ask for what it misses) */
		g->grew = g->rounds;
		set_state(g, m, judge(m, now, limits(g)));
		m->state_ms = now;
		set_news(g, m, now);
		gossip_note_live(g, g->n - 1);
		due_by(g, due(g, m, limits(g)));
		out_change(o, m, m->state);
		swim_member_added(g, m->e.id);
		return;
	}
	if (m->self) {
		/*
		 * Someone holds a version of this peer at least as new as
		 * its own, from an earlier life: rise above it.
		 */
		gossip_sums_out(g, m);
		if (e->incarnation > m->e.incarnation ||
		    (e->incarnation == m->e.incarnation &&
		    e->heartbeat > m->e.heartbeat && !m->e.left)) {
			m->e.incarnation = e->incarnation + 1;
			m->e.heartbeat = 0;
			m->e.refute = 0;
		} else if (e->incarnation == m->e.incarnation &&
		    e->refute > m->e.refute) {
			m->e.refute = e->refute;
			m->e.heartbeat++;
		}
		gossip_sums_in(g, m);
		return;
	}
	if (!newer(e, &m->e))
		return;
	if (news(e, &m->e))
		set_news(g, m, now);
	if (e->incarnation > m->e.incarnation && o != NULL) {
		/* It started again: what it held in memory is gone, even if
		 * no one saw it dead in between. */
		out_change(o, m, m->state);
		o->changes[o->nchanges - 1].restarted = 1;
		o->changes[o->nchanges - 1].incarnation = e->incarnation;
	}
	if (e->incarnation != m->e.incarnation || e->refute > m->e.refute)
		swim_clear(g, m);
	gossip_sums_out(g, m);
	known_set(g, &m->e, e);
	gossip_sums_in(g, m);
	if (born > m->born_ms || e->left)
		set_born(g, m, born);
	rejudge(g, m, now, o);
}

void
gossip_recv(struct gossip *g, uint64_t now, const char *from,
    const struct gossip_msg *in, struct gossip_out *o)
{
	struct gossip_member	*m;
	struct gossip_entry	*d;
	size_t			 dn;
	int			 full;

	/* A digest of more entries than this peer holds (a full one, to a
	 * newcomer): its entries judged with the ages for that many (the
	 * entries themselves, not what the sender says it knows). */
	if (in->n > g->age_n) {
		g->age_n = in->n < (size_t)g->conf.max_members ? in->n :
		    (size_t)g->conf.max_members;
		/* (what is judged now is judged with longer ages than the
		 * round's: the next round judges every member again) */
		g->judge_due = 0;
	}
	for (size_t i = 0; i < in->n; i++)
		merge(g, now, &in->entries[i], o);
	swim_recv_notices(g, now, from, in, o);
	if (in->n > 0 && in->known > known(g)) {
		g->behind = 1;
		/* (what it says, as far as a table can hold) */
		g->heard = in->known < (uint32_t)g->conf.max_members ?
		    in->known : (uint32_t)g->conf.max_members;
	}
	if (g->m[0].e.left || (m = gossip_find_mut(g, from)) == NULL || m->self ||
	    m->state == GOSSIP_LEFT)
		return;
	/* A suspect (or dead) member that talks to us: tell it, it refutes. */
	swim_heard_from(g, m, o);
	if (in->n == 0)		/* notices alone: no reply */
		return;
	/*
	 * Push-pull: answer a push with a digest.  When the other side knows
	 * fewer members than we do (a newcomer, or one that missed some),
	 * it is sent what it misses:
	 *
	 * - a push or a reply with bucket sums (its sender heard of members
	 *   it does not know) is answered with the members of the buckets
	 *   that differ: in the reply to a push, or in one message after a
	 *   reply;
	 * - a reply carries the replier's sums when the push told it of
	 *   more members than it knows; the message after it carries none,
	 *   and is not answered, so this cannot loop;
	 * - a peer of a build before sums that knows fewer members than we
	 *   do gets the whole table (and once after its reply shows it).
	 */
	/*
	 * An announcement (its sender's own entry alone, no answer wanted:
	 * a refutation, a leave) is not answered: sent to every member at
	 * once, it would draw a full digest from each that knows more than
	 * its sender.  lbsim, 2,048 peers and 1% loss: a newcomer suspected
	 * falsely refuted to all, 18,400 full digests came back in a second,
	 * and 10,000 peers ran out of 20 GB.
	 */
	if (!in->want_reply && in->n == 1 &&
	    strcmp(in->entries[0].id, from) == 0)
		return;
	if (in->nsums > 0) {
		uint8_t want[GOSSIP_SUMS_MAX];

		if (gossip_sums_diff(g, in, want) > 0) {
			d = gossip_digest_buckets(g, (size_t)(m - g->m), now,
			    in->want_reply ? in : NULL, want, in->nsums, &dn);
			goto reply;
		}
	}
	full = in->known < known(g) && m->e.level < LB_LEVEL_SUMS;
	if (!in->want_reply && !full)
		return;
	d = gossip_digest(g, (size_t)(m - g->m), now, full, in, NULL, NULL,
	    &dn);
reply:
	out_msg(g, o, m->e.addr, 0, d, dn);
	if (in->want_reply && g->behind && m->e.level >= LB_LEVEL_SUMS) {
		gossip_sums_attach(g, &o->msgs[o->nmsgs - 1]);
		g->behind = 0;
	}
	swim_add_notices(g, now, &o->msgs[o->nmsgs - 1]);
}

void
gossip_set_load(struct gossip *g, uint32_t load)
{
	if (g->m[0].e.load == load)
		return;
	g->m[0].e.load = load;
	g->m[0].e.heartbeat++;
	g->m[0].news_ms = g->m[0].born_ms;
}

void
gossip_set_tasks(struct gossip *g, uint32_t running, uint32_t waiting)
{
	if (g->m[0].e.running == running && g->m[0].e.waiting == waiting)
		return;
	g->m[0].e.running = running;
	g->m[0].e.waiting = waiting;
	g->m[0].e.heartbeat++;
	g->m[0].news_ms = g->m[0].born_ms;
}

void
gossip_set_draining(struct gossip *g, int draining)
{
	draining = draining != 0;
	if (g->m[0].e.draining == draining)
		return;
	g->m[0].e.draining = draining;
	g->m[0].e.heartbeat++;
	g->m[0].news_ms = g->m[0].born_ms;
}

void
gossip_leave(struct gossip *g, uint64_t now, int fanout, struct gossip_out *o)
{
	struct gossip_member	*self = &g->m[0];
	struct gossip_entry	*d;
	size_t			 nc = 0;

	gossip_sums_out(g, self);
	self->e.left = 1;
	gossip_sums_in(g, self);
	self->e.heartbeat++;
	self->born_ms = now;
	set_state(g, self, GOSSIP_LEFT);
	self->state_ms = now;
	/* Distinct live peers, chosen at random. */
	if (g->scratchcap < g->n) {
		g->scratchcap = g->n;
		g->scratch = lb_reallocarray(g->scratch, g->scratchcap,
		    sizeof(*g->scratch));
	}
	for (size_t i = 1; i < g->n; i++)
		if (g->m[i].state == GOSSIP_ALIVE ||
		    g->m[i].state == GOSSIP_SUSPECT)
			g->scratch[nc++] = i;
	for (size_t j = 0; j < nc && j < (size_t)fanout; j++) {
		size_t r = j + lb_rng_below(&g->rng, (uint32_t)(nc - j));
		size_t t = g->scratch[j];
		g->scratch[j] = g->scratch[r];
		g->scratch[r] = t;
		d = lb_calloc(1, sizeof(*d));
		gossip_wire(self, now, 0, d);
		out_msg(g, o, g->m[g->scratch[j]].e.addr, 0, d, 1);
	}
}
