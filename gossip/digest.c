/*
 * digest.c - what a digest carries (the gossip core; no I/O): this peer's
 * entry, rumours, one entry in turn, what the other side asked for, and
 * heartbeats of the freshest; and the stalest entries to ask about.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"

/* Copy entry `m` for the wire at `now`. */
void
gossip_wire(const struct gossip_member *m, uint64_t now, int compact,
    struct gossip_entry *w)
{
	uint64_t	age = gossip_age(m, now);

	lb_strlcpy(w->id, m->e.id, sizeof(w->id));
	w->incarnation = m->e.incarnation;
	w->heartbeat = m->e.heartbeat;
	w->refute = m->e.refute;
	w->load = m->e.load;
	w->running = m->e.running;
	w->waiting = m->e.waiting;
	w->left = m->e.left;
	w->draining = m->e.draining;
	w->age_ms = age > UINT32_MAX ? UINT32_MAX : (uint32_t)age;
	if (compact) {
		/* A heartbeat: what can change within an incarnation. */
		w->addr[0] = '\0';
		w->attrs[0] = '\0';
		w->slots = 0;
		w->level = 0;
	} else {
		lb_strlcpy(w->addr, m->e.addr, sizeof(w->addr));
		lb_strlcpy(w->attrs, m->e.attrs, sizeof(w->attrs));
		w->slots = m->e.slots;
		w->level = m->e.level;
	}
}


/*
 * How long news stays a rumour: 2 (log2(N) + 1) rounds, in which every
 * digest this peer sends carries it (room allowing).  A budget counted in
 * messages runs out first at the busiest peers and leaves a residue of
 * peers that hear late; a time window ends for all at about the same time.
 */
static uint64_t
rumour_window(const struct gossip *g)
{
	uint64_t	b = 1;

	for (size_t n = g->n; n > 1; n >>= 1)
		b++;
	return 2 * b * (uint64_t)g->conf.interval_ms;
}

/*
 * Ask the peer we push to for news of our stalest entries (a quarter of the
 * digest's room): its reply carries them.  Choosing the freshest entries to
 * send keeps news moving, but left alone it starves a few entries whose
 * news happens to be old everywhere; asking for them ends that tail.
 */
static size_t
stalest_want(const struct gossip *g)
{
	size_t	want = (size_t)g->conf.digest_size / 4;

	return want > 0 ? want : 1;
}

/*
 * The k best of the indices offered, best first: by key, the larger
 * first, ties to the index offered first.  One pass over the table, not
 * one per entry: a digest at 10,000 members chooses its 24 entries among
 * all of them each round (lbsim, doc/scale.md).
 */
struct topk {
	size_t		*idx;
	uint64_t	*key;
	size_t		 n, k;
};

static void
topk_init(struct topk *t, size_t k)
{
	t->idx = lb_calloc(k > 0 ? k : 1, sizeof(*t->idx));
	t->key = lb_calloc(k > 0 ? k : 1, sizeof(*t->key));
	t->n = 0;
	t->k = k;
}

static void
topk_free(struct topk *t)
{
	free(t->idx);
	free(t->key);
}

static inline void
topk_offer(struct topk *t, size_t i, uint64_t key)
{
	size_t	j;

	if (t->n == t->k && (t->k == 0 || key <= t->key[t->n - 1]))
		return;
	j = t->n < t->k ? t->n++ : t->n - 1;
	for (; j > 0 && t->key[j - 1] < key; j--) {
		t->key[j] = t->key[j - 1];
		t->idx[j] = t->idx[j - 1];
	}
	t->key[j] = key;
	t->idx[j] = i;
}

void
gossip_note_news(struct gossip *g, size_t i)
{
	uint64_t	slot = g->nring_news++ & (GOSSIP_RING_NEWS - 1);

	g->ring_news[slot] = (uint32_t)i;
	g->ring_news_ms[slot] = g->m[i].news_ms;
}

void
gossip_note_born(struct gossip *g, size_t i)
{
	uint64_t	slot = g->nring_fresh++ & (GOSSIP_RING_FRESH - 1);

	g->ring_fresh[slot] = (uint32_t)i;
	g->ring_fresh_ms[slot] = g->m[i].born_ms;
}

static int
stale_eligible(const struct gossip_member *m)
{
	return !m->self && (m->state == GOSSIP_ALIVE ||
	    m->state == GOSSIP_SUSPECT);
}

/*
 * m[i] is live (new, or back from the dead): if it is staler than every
 * member left out of the kept (stale_thr), it goes in among them, in its
 * place, and the last goes out when they are full (and is left out from
 * then on).
 */
void
gossip_note_live(struct gossip *g, size_t i)
{
	uint64_t	born = g->m[i].born_ms;
	size_t		j;

	if (!g->stale_ok || !stale_eligible(&g->m[i]))
		return;
	for (j = 0; j < g->nstale; j++)
		if (g->stale_idx[j] == i)
			break;
	if (j < g->nstale) {
		/* (kept before it died: with its time now) */
		memmove(&g->stale_idx[j], &g->stale_idx[j + 1],
		    (g->nstale - j - 1) * sizeof(*g->stale_idx));
		memmove(&g->stale_born[j], &g->stale_born[j + 1],
		    (g->nstale - j - 1) * sizeof(*g->stale_born));
		g->nstale--;
	}
	if (born >= g->stale_thr)
		return;
	if (g->nstale == GOSSIP_STALE_KEEP) {
		g->nstale--;
		g->stale_thr = g->stale_born[g->nstale];
		if (born >= g->stale_thr)
			return;
	}
	for (j = g->nstale; j > 0 && g->stale_born[j - 1] > born; j--) {
		g->stale_idx[j] = g->stale_idx[j - 1];
		g->stale_born[j] = g->stale_born[j - 1];
	}
	g->stale_idx[j] = i;
	g->stale_born[j] = born;
	g->nstale++;
}

void
gossip_note_moved(struct gossip *g)
{
	g->stale_ok = 0;
}

/* Put m[idx] into the digest unless it is already there (its mark is
 * the digest's). */
static int
digest_add(struct gossip *g, size_t idx, uint64_t now, int compact,
    struct gossip_entry *d, size_t *k)
{
	if (g->m[idx].mark == g->mark)
		return 0;
	g->m[idx].mark = g->mark;
	gossip_wire(&g->m[idx], now, compact, &d[(*k)++]);
	return 1;
}

/* Whether m[i] may go into a digest for `to`. */
static int
digestible(const struct gossip *g, size_t i, size_t to)
{
	return i != 0 && i != to && g->m[i].state != GOSSIP_DEAD;
}

/*
 * In a large table, the candidates come from the rings: the latest news
 * and the latest refreshed, with the time each was put there.  The rings
 * are read without touching the members (at 10,000 members each is a
 * cache miss): a member in several slots has its largest time in the
 * newest, read first, so it is offered once; those chosen are checked
 * against what they hold now (a slot may name a member since moved or
 * forgotten).
 */
static int
in_topk(const struct topk *t, size_t i)
{
	for (size_t j = 0; j < t->n; j++)
		if (t->idx[j] == i)
			return 1;
	return 0;
}

static void
ring_offer(const uint32_t *idx, const uint64_t *key, uint64_t count,
    uint64_t cap, size_t to, uint64_t min_key, struct topk *t)
{
	uint64_t	n = count < cap ? count : cap;

	for (uint64_t j = 1; j <= n; j++) {
		uint64_t	slot = (count - j) & (cap - 1);
		uint64_t	k = key[slot];

		if (k < min_key || idx[slot] == to ||
		    (t->n == t->k && (t->k == 0 || k <= t->key[t->n - 1])) ||
		    in_topk(t, idx[slot]))
			continue;
		topk_offer(t, idx[slot], k);
	}
}

/* Keep those chosen that are what their slot says: digestible, and
 * with the time (news_ms or born_ms) they were put with. */
static void
ring_check(const struct gossip *g, size_t to, int news, struct topk *t)
{
	size_t	k = 0;

	for (size_t j = 0; j < t->n; j++) {
		size_t i = t->idx[j];

		if (i >= g->n || !digestible(g, i, to) ||
		    (news ? g->m[i].news_ms : g->m[i].born_ms) != t->key[j])
			continue;
		t->idx[k] = i;
		t->key[k++] = t->key[j];
	}
	t->n = k;
}

static void
rings_offer(struct gossip *g, size_t to, uint64_t now, uint64_t window,
    struct topk *top, struct topk *fresh)
{
	ring_offer(g->ring_news, g->ring_news_ms, g->nring_news,
	    GOSSIP_RING_NEWS, to, now >= window ? now - window + 1 : 1, top);
	ring_check(g, to, 1, top);
	ring_offer(g->ring_fresh, g->ring_fresh_ms, g->nring_fresh,
	    GOSSIP_RING_FRESH, to, 0, fresh);
	ring_check(g, to, 0, fresh);
}

/* Drop the kept that were refreshed or are gone; how many are left
 * but `to`. */
static size_t
stale_prune(struct gossip *g, size_t to)
{
	size_t	k = 0, valid = 0;

	for (size_t j = 0; j < g->nstale; j++) {
		size_t i = g->stale_idx[j];

		if (i >= g->n || !stale_eligible(&g->m[i]))
			continue;
		if (g->m[i].born_ms != g->stale_born[j]) {
			/* refreshed, and left out from now on */
			if (g->m[i].born_ms < g->stale_thr)
				g->stale_thr = g->m[i].born_ms;
			continue;
		}
		g->stale_idx[k] = i;
		g->stale_born[k++] = g->stale_born[j];
		if (i != to)
			valid++;
	}
	g->nstale = k;
	return valid;
}

/* Keep the stalest live members anew: one pass over the table. */
static void
stale_make(struct gossip *g)
{
	struct topk	keep;

	topk_init(&keep, GOSSIP_STALE_KEEP);
	for (size_t i = 1; i < g->n; i++)
		if (stale_eligible(&g->m[i]))
			topk_offer(&keep, i, UINT64_MAX - g->m[i].born_ms);
	for (size_t j = 0; j < keep.n; j++) {
		g->stale_idx[j] = keep.idx[j];
		g->stale_born[j] = g->m[keep.idx[j]].born_ms;
	}
	g->nstale = keep.n;
	/* (all the live are kept when fewer than the room: none left out) */
	g->stale_thr = keep.n < GOSSIP_STALE_KEEP ? UINT64_MAX :
	    g->stale_born[keep.n - 1];
	g->stale_ok = 1;
	topk_free(&keep);
}

/*
 * The stalest live members but `to`, from those kept; kept anew when
 * too few of them are still as stale as they were.
 */
static void
stale_offer(struct gossip *g, size_t to, struct topk *stalest)
{
	if (!g->stale_ok || stale_prune(g, to) < stalest->k)
		stale_make(g);
	for (size_t j = 0; j < g->nstale; j++)
		if (g->stale_idx[j] != to)
			topk_offer(stalest, g->stale_idx[j],
			    UINT64_MAX - g->stale_born[j]);
}

/*
 * A digest for the member at `to` (SIZE_MAX: a seed); with `full`, every
 * entry we have.  Otherwise at most digest_size entries:
 *
 * - this peer's own entry;
 * - rumours, in full: entries whose load or state changed lately, the
 *   latest first, so that news spreads like an epidemic (a quarter of the
 *   room);
 * - one entry in full, in turn, so that every entry reaches everyone;
 * - heartbeats for the rest: the freshest entries in compact form (no
 *   address, slots or attributes, which change only with the incarnation),
 *   about a third of the size of a full entry.  They carry the news that
 *   failure detection lives on, and a peer needs fresh news of each other
 *   peer every few rounds: N peers need about N / (2 suspect rounds)
 *   fresh entries per message, so the room goes to these.
 *
 * Dead entries are not sent: each peer judges death for itself.
 */
static struct gossip_entry *
digest_make(struct gossip *g, size_t to, uint64_t now, int full,
    const struct gossip_msg *asked, char (**wants)[LB_ID_MAX], size_t *nwants,
    const uint8_t *want, size_t nbuckets, size_t *np)
{
	size_t			 room = full ? g->n : (size_t)g->conf.digest_size;
	size_t			 k = 0, rumours, extra = 0;
	uint64_t		 window;
	struct gossip_entry	*d;
	struct topk		 top, fresh, stale, *stalest = NULL;

	rumours = 1 + (room / 4 > 1 ? room / 4 : 1);
	if (room > g->n)
		room = g->n;	/* never more than there are */
	if (rumours > room)
		rumours = room;
	if (++g->mark == 0)
		g->mark = 1;	/* (0: a new member's) */
	for (size_t i = 1; want != NULL && i < g->n; i++)
		if (digestible(g, i, to) && want[g->m[i].sumh & (nbuckets - 1)])
			extra++;
	d = lb_calloc(room + extra + 1, sizeof(*d));
	digest_add(g, 0, now, 0, d, &k);
	if (wants != NULL) {
		topk_init(&stale, stalest_want(g));
		stalest = &stale;
	}
	if (full) {
		/* Every entry is taken once: no mark to look at. */
		for (size_t i = 1; i < g->n && k < room; i++)
			if (digestible(g, i, to))
				gossip_wire(&g->m[i], now, 0, &d[k++]);
		goto done;
	}
	window = rumour_window(g);
	topk_init(&top, rumours - 1);
	topk_init(&fresh, room);
	if (g->n > GOSSIP_RING_FRESH) {
		rings_offer(g, to, now, window, &top, &fresh);
		if (stalest != NULL)
			stale_offer(g, to, stalest);
		goto chosen;
	}
	/*
	 * One pass finds both the rumours (the latest news first) and the
	 * freshest entries for the heartbeats below: as many of those as
	 * the room, so that what the rumours, the turn and the asked take
	 * first never leaves room unused.
	 */
	for (size_t i = 1; i < g->n; i++) {
		const struct gossip_member *m = &g->m[i];
		/* (and, for ask_stalest, the stalest live ones) */
		if (stalest != NULL && i != to && (m->state == GOSSIP_ALIVE ||
		    m->state == GOSSIP_SUSPECT))
			topk_offer(stalest, i, UINT64_MAX - m->born_ms);
		if (!digestible(g, i, to))
			continue;
		if (m->news_ms != 0 && now - m->news_ms < window)
			topk_offer(&top, i, m->news_ms);
		topk_offer(&fresh, i, m->born_ms);
	}
chosen:
	/* The members of the buckets asked for, in full, before the rest. */
	for (size_t i = 1; extra > 0 && i < g->n; i++)
		if (digestible(g, i, to) && want[g->m[i].sumh & (nbuckets - 1)])
			digest_add(g, i, now, 0, d, &k);
	room += k - 1;
	for (size_t j = 0; j < top.n; j++)
		digest_add(g, top.idx[j], now, 0, d, &k);
	topk_free(&top);
	/* One in turn, in full, from where the last digest stopped. */
	for (size_t tries = 0; tries < g->n && k < room; tries++) {
		g->cursor = g->cursor + 1 < g->n ? g->cursor + 1 : 1;
		if (g->cursor < g->n && digestible(g, g->cursor, to) &&
		    digest_add(g, g->cursor, now, 0, d, &k))
			break;
	}
	/* What the other side asked for: its stalest entries. */
	for (size_t w = 0; asked != NULL && w < asked->nwants && k < room; w++) {
		struct gossip_member *m = gossip_find_mut(g, asked->wants[w]);
		size_t i = m != NULL ? (size_t)(m - g->m) : 0;
		if (m != NULL && !m->self && digestible(g, i, to))
			digest_add(g, i, now, 1, d, &k);
	}
	/* Heartbeats: the freshest of the rest. */
	for (size_t j = 0; j < fresh.n && k < room; j++)
		digest_add(g, fresh.idx[j], now, 1, d, &k);
	topk_free(&fresh);
done:
	if (stalest != NULL) {
		*wants = lb_calloc(stalest_want(g), sizeof(**wants));
		*nwants = 0;
		for (size_t j = 0; j < stalest->n; j++)
			lb_strlcpy((*wants)[(*nwants)++],
			    g->m[stalest->idx[j]].e.id, LB_ID_MAX);
		topk_free(stalest);
	}
	*np = k;
	return d;
}

struct gossip_entry *
gossip_digest(struct gossip *g, size_t to, uint64_t now, int full,
    const struct gossip_msg *asked, char (**wants)[LB_ID_MAX], size_t *nwants,
    size_t *np)
{
	return digest_make(g, to, now, full, asked, wants, nwants, NULL, 0, np);
}

struct gossip_entry *
gossip_digest_buckets(struct gossip *g, size_t to, uint64_t now,
    const struct gossip_msg *asked, const uint8_t *want, size_t nbuckets,
    size_t *np)
{
	return digest_make(g, to, now, 0, asked, NULL, NULL, want, nbuckets,
	    np);
}
