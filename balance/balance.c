/* balance.c - transfer, location and selection policies (no I/O). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "hints.h"

#define RESERVE_MAX	64
#define REDIRECT_MAX	2	/* refusals naming another peer, a round */

struct balance {
	struct balance_conf	 conf;
	char			 self[LB_ID_MAX];
	char			*attrs;
	struct lb_rng		 rng;
	uint64_t		 next_req;

	/* The current round of polls. */
	int			 polling;	/* a probe is out */
	enum balance_action_kind kind;		/* BA_OFFER or BA_REQUEST */
	uint64_t		 req_id;
	uint64_t		 deadline;
	char			 task[LB_ID_MAX + 24];	/* offered */
	int			 must;			/* it cannot stay */
	char			(*cand)[LB_ID_MAX];
	size_t			 ncand, next;

	uint64_t		 backoff_until;
	int			 backoff_cur;
	/* The last peer that served our request: busy peers stay busy for a
	 * while, so it is asked first next time. */
	char			 partner[LB_ID_MAX];
	struct {
		uint64_t	 until;
		char		 peer[LB_ID_MAX];	/* whose task */
		uint64_t	 req_id;		/* for its offer */
	}			 reserve[RESERVE_MAX];
	size_t			 nreserve;
	struct balance_stats	 stats;
	int			 draining;	/* every task must go */
	/* Peers seen idle lately (they asked us for work, or said so),
	 * and peers seen with work to give (they offered us some). */
	struct hints		 idle, work;
	size_t			 ncand_hinted;	/* cand[0..] from hints */
	int			 was_receiver;	/* at the last tick */
	int			 redirects;	/* this round */
};

/* A hint, unless hints are off (or it is this peer). */
static void
hint_add(struct balance *b, struct hints *h, uint64_t now, const char *id)
{
	if (b->conf.hints && strcmp(id, b->self) != 0)
		hints_add(h, now, id);
}

/* The freshest hint of `h` (younger than hint_ms), or SIZE_MAX. */
static size_t
hint_freshest(const struct balance *b, const struct hints *h, uint64_t now)
{
	return hints_freshest(h, now, (uint64_t)b->conf.hint_ms, NULL, NULL);
}

void
balance_idle(struct balance *b, uint64_t now, const char *from)
{
	b->stats.idle_heard++;
	hint_add(b, &b->idle, now, from);
}

static void
out_add(struct balance_out *o, enum balance_action_kind kind, const char *peer,
    const char *task, uint64_t req_id)
{
	struct balance_action	*a;

	if (o->n == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 4;
		o->v = lb_reallocarray(o->v, o->cap, sizeof(*o->v));
	}
	a = &o->v[o->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	lb_strlcpy(a->peer, peer, sizeof(a->peer));
	if (task != NULL)
		lb_strlcpy(a->task, task, sizeof(a->task));
	a->req_id = req_id;
}

void
balance_out_reset(struct balance_out *o)
{
	o->n = 0;
}

void
balance_out_free(struct balance_out *o)
{
	free(o->v);
	memset(o, 0, sizeof(*o));
}

struct balance *
balance_new(const struct balance_conf *conf, const char *self,
    const char *attrs, uint64_t seed)
{
	struct balance	*b = lb_calloc(1, sizeof(*b));

	b->conf = *conf;
	lb_strlcpy(b->self, self, sizeof(b->self));
	b->attrs = lb_strdup(attrs ? attrs : "");
	lb_rng_seed(&b->rng, seed);
	b->backoff_cur = conf->backoff_ms;
	return b;
}

void
balance_free(struct balance *b)
{
	if (b == NULL)
		return;
	free(b->cand);
	free(b->attrs);
	free(b);
}

const struct balance_stats *
balance_stats(const struct balance *b)
{
	return &b->stats;
}

/* Whether `name` is in the comma list `list`. */
static int
in_list(const char *name, size_t len, const char *list)
{
	const char	*p = list;

	while (p && *p) {
		size_t n = strcspn(p, ",");
		if (n == len && strncmp(p, name, len) == 0)
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Whether task `t` could not start at `node` (it is never placed there). */
static int
avoided(const struct balance_task *t, const char *node)
{
	return t->avoid != NULL && in_list(node, strlen(node), t->avoid);
}

int
balance_attrs_ok(const char *needs, const char *attrs)
{
	const char	*p = needs;

	while (p && *p) {
		size_t n = strcspn(p, ",");
		if (n > 0 && !in_list(p, n, attrs))
			return 0;
		p += n;
		if (*p == ',')
			p++;
	}
	return 1;
}

static int
lower_of(const struct balance *b, uint32_t slots)
{
	return b->conf.lower >= 0 ? b->conf.lower : (int)slots;
}

static int
upper_of(const struct balance *b, uint32_t slots)
{
	return b->conf.upper >= 0 ? b->conf.upper : (int)slots;
}

uint32_t
balance_reserved(struct balance *b, uint64_t now)
{
	size_t	k = 0;

	for (size_t i = 0; i < b->nreserve; i++)
		if (b->reserve[i].until > now)
			b->reserve[k++] = b->reserve[i];
	b->nreserve = k;
	return (uint32_t)k;
}

static void
reserve(struct balance *b, uint64_t now, const char *peer, uint64_t req_id)
{
	balance_reserved(b, now);
	if (b->nreserve < RESERVE_MAX) {
		b->reserve[b->nreserve].until = now +
		    (uint64_t)b->conf.reserve_ms;
		lb_strlcpy(b->reserve[b->nreserve].peer, peer,
		    sizeof(b->reserve[0].peer));
		b->reserve[b->nreserve++].req_id = req_id;
	}
}

void
balance_arrived(struct balance *b, uint64_t now)
{
	size_t	oldest = 0;

	/* An arrival uses up the reservation that expires first. */
	balance_reserved(b, now);
	if (b->nreserve == 0)
		return;
	for (size_t i = 1; i < b->nreserve; i++)
		if (b->reserve[i].until < b->reserve[oldest].until)
			oldest = i;
	b->reserve[oldest] = b->reserve[--b->nreserve];
}

int
balance_release(struct balance *b, uint64_t now, const char *from,
    uint64_t req_id)
{
	balance_reserved(b, now);
	for (size_t i = 0; i < b->nreserve; i++)
		if (b->reserve[i].req_id == req_id &&
		    strcmp(b->reserve[i].peer, from) == 0) {
			b->reserve[i] = b->reserve[--b->nreserve];
			b->stats.released++;
			return 0;
		}
	return -1;	/* (none: used up, run out, or never held) */
}

enum balance_role
balance_role(const struct balance *b, uint32_t load, uint32_t slots)
{
	if ((int)load > upper_of(b, slots))
		return ROLE_SENDER;
	if ((int)load < lower_of(b, slots))
		return ROLE_RECEIVER;
	return ROLE_NEUTRAL;
}

void
balance_set_draining(struct balance *b, int draining)
{
	b->draining = draining;
}

int
balance_must_move(const struct balance *b, const struct balance_task *t)
{
	if (t->pin != NULL && t->pin[0] != '\0')
		return strcmp(t->pin, b->self) != 0;
	if (b->draining)
		return 1;	/* it runs nowhere here any more */
	if (avoided(t, b->self))
		return 1;	/* it could not start here */
	return !balance_attrs_ok(t->needs, b->attrs);
}

#define PREEMPT_MIN_WAITING	2

/* As balance_select, the task named `skip` (if not NULL) left out. */
static const struct balance_task *
select_but(const struct balance *b, const struct balance_task *t, size_t n,
    const char *attrs, const char *to, const char *skip)
{
	const struct balance_task	*fresh = NULL, *old = NULL, *run = NULL;
	size_t				 waiting = 0;

#define SKIPPED(k)	(skip != NULL && strcmp((k)->id, skip) == 0)
	for (size_t i = 0; i < n; i++)
		waiting += !t[i].running && !SKIPPED(&t[i]);
	for (size_t i = 0; i < n; i++) {
		if (t[i].pinned || SKIPPED(&t[i]))
			continue;
		if (attrs != NULL && !balance_attrs_ok(t[i].needs, attrs))
			continue;
		if (to != NULL && avoided(&t[i], to))
			continue;
		if (t[i].running) {
			/* The oldest for its cost: age / cost, largest. */
			if (b->conf.preempt && t[i].age_ms > t[i].cost_ms &&
			    t[i].here_ms > t[i].cost_ms && (run == NULL ||
			    (double)t[i].age_ms / (double)(t[i].cost_ms + 1) >
			    (double)run->age_ms / (double)(run->cost_ms + 1)))
				run = &t[i];
			continue;
		}
		if ((int)t[i].moves >= b->conf.max_moves)
			continue;
		if (t[i].fresh)
			fresh = &t[i];		/* the newest fresh one */
		else if (old == NULL)
			old = &t[i];		/* the oldest other one */
	}
	/* A running task goes first only when more than one waits behind
	 * it: for one, moving that one frees it as well. */
	if (run != NULL && waiting >= PREEMPT_MIN_WAITING)
		return run;
	return fresh ? fresh : old;
#undef SKIPPED
}

const struct balance_task *
balance_select(const struct balance *b, const struct balance_task *t,
    size_t n, const char *attrs, const char *to)
{
	return select_but(b, t, n, attrs, to, NULL);
}

/* Whether peer `p` may be asked in a round of `kind` for `task` (the
 * load vector aside). */
static int
eligible(const struct balance *b, const struct balance_peer *p,
    enum balance_action_kind kind, const struct balance_task *task)
{
	const char	*pin = task ? task->pin : NULL;

	if (strcmp(p->id, b->self) == 0)
		return 0;
	if (pin != NULL && pin[0] != '\0' && strcmp(p->id, pin) != 0)
		return 0;
	if (kind == BA_OFFER && !balance_attrs_ok(task ? task->needs : NULL,
	    p->attrs))
		return 0;
	if (task != NULL && avoided(task, p->id))
		return 0;
	return 1;
}

/* What hints_first passes over: a hint taken already, or a peer not in
 * the vector or not eligible for the round. */
struct hint_pick {
	const struct balance		*b;
	const struct balance_peer	*peers;
	size_t				 np;
	enum balance_action_kind	 kind;
	const struct balance_task	*task;
	char				(*taken)[LB_ID_MAX];
	size_t				 ntaken;
};

static int
hint_skip(const char *id, void *arg)
{
	const struct hint_pick	*p = arg;

	for (size_t j = 0; j < p->ntaken; j++)
		if (strcmp(p->taken[j], id) == 0)
			return 1;
	for (size_t j = 0; j < p->np; j++)
		if (strcmp(p->peers[j].id, id) == 0)
			return !eligible(p->b, &p->peers[j], p->kind, p->task);
	return 1;
}

/* Put the peers of hints `h` (fresh, and in the vector) first among the
 * round's candidates, the freshest first. */
static void
hints_first(struct balance *b, const struct hints *h, uint64_t now,
    const struct balance_peer *peers, size_t np, enum balance_action_kind kind,
    const struct balance_task *task)
{
	size_t		 lim = (size_t)b->conf.probe_limit, n, k;
	struct hint_pick p = { b, peers, np, kind, task,
			    lb_calloc(lim + 1, LB_ID_MAX), 0 };

	b->ncand_hinted = 0;
	while (p.ntaken < lim && (k = hints_freshest(h, now,
	    (uint64_t)b->conf.hint_ms, hint_skip, &p)) != SIZE_MAX)
		lb_strlcpy(p.taken[p.ntaken++], h->v[k].id, LB_ID_MAX);
	if ((n = p.ntaken) == 0) {
		free(p.taken);
		return;
	}
	b->ncand_hinted = n;
	for (size_t i = 0; i < b->ncand && n < lim; i++) {
		int dup = 0;

		for (size_t j = 0; j < b->ncand_hinted; j++)
			dup |= strcmp(p.taken[j], b->cand[i]) == 0;
		if (!dup)
			lb_strlcpy(p.taken[n++], b->cand[i], LB_ID_MAX);
	}
	free(b->cand);
	b->cand = p.taken;
	b->ncand = n;
	b->next = 0;
}

/* Order candidates for a round: at random, or the best few at random;
 * the freshest hints first. */
static void
choose(struct balance *b, uint64_t now, const struct balance_peer *peers,
    size_t np, enum balance_action_kind kind, const struct balance_task *task)
{
	size_t	*idx = lb_calloc(np + 1, sizeof(*idx)), n = 0, pool;
	/*
	 * The gossiped vector is seconds old, tasks may last a tenth of that:
	 * it tells a sender well enough who has been idle, but busy peers
	 * change faster, so a receiver does better at random (and asking the
	 * last peer that had work first).
	 */
	int	 by_vector = b->conf.location == LOCATION_VECTOR ||
		    (b->conf.location == LOCATION_MIXED && kind == BA_OFFER);

	for (size_t i = 0; i < np; i++) {
		const struct balance_peer *p = &peers[i];
		if (!eligible(b, p, kind, task))
			continue;
		if (by_vector && !b->must) {
			/* Skip who the vector says cannot help. */
			if (kind == BA_OFFER && p->load >= p->slots)
				continue;
			if (kind == BA_REQUEST && p->load <= p->slots)
				continue;
		}
		idx[n++] = i;
	}
	pool = n;
	if (by_vector && n > 0) {
		/* The best first, by spare capacity (senders) or excess
		 * (receivers), in their order among equals: only the
		 * first few are asked, so they are selected, not the whole
		 * vector sorted (thousands of members). */
		size_t want = (size_t)b->conf.probe_limit * 2;

		for (size_t i = 0; i < n && i < want; i++) {
			size_t best = i;

			for (size_t j = i + 1; j < n; j++) {
				const struct balance_peer *x = &peers[idx[best]],
				    *y = &peers[idx[j]];
				long ex = (long)x->load - (long)x->slots;
				long ey = (long)y->load - (long)y->slots;

				if (kind == BA_OFFER ? ey < ex : ey > ex)
					best = j;
			}
			if (best != i) {
				size_t t = idx[best];
				memmove(idx + i + 1, idx + i,
				    (best - i) * sizeof(*idx));
				idx[i] = t;
			}
		}
		/* Randomness among the best, so that senders do not herd. */
		pool = (size_t)b->conf.probe_limit * 2;
		if (pool > n)
			pool = n;
	}
	for (size_t i = 0; i < pool; i++) {
		size_t r = i + lb_rng_below(&b->rng, (uint32_t)(pool - i));
		size_t t = idx[i];
		idx[i] = idx[r];
		idx[r] = t;
	}
	/* The last partner first, when it is a candidate. */
	if (kind == BA_REQUEST && b->partner[0] != '\0') {
		for (size_t i = 0; i < n; i++) {
			if (strcmp(peers[idx[i]].id, b->partner) != 0)
				continue;
			size_t t = idx[i];
			memmove(idx + 1, idx, i * sizeof(*idx));
			idx[0] = t;
			if (i >= pool)
				pool++;
			break;
		}
	}
	if (pool > (size_t)b->conf.probe_limit)
		pool = (size_t)b->conf.probe_limit;
	free(b->cand);
	b->cand = lb_calloc(pool + 1, sizeof(*b->cand));
	for (size_t i = 0; i < pool; i++)
		lb_strlcpy(b->cand[i], peers[idx[i]].id, LB_ID_MAX);
	b->ncand = pool;
	b->next = 0;
	b->ncand_hinted = 0;
	b->redirects = 0;
	free(idx);
	if (b->conf.hints)
		hints_first(b, kind == BA_OFFER ? &b->idle : &b->work, now,
		    peers, np, kind, task);
}

/* Send the next probe of the round, or end the round with a backoff. */
static void
probe_next(struct balance *b, uint64_t now, struct balance_out *o)
{
	if (b->next >= b->ncand) {
		b->polling = 0;
		if (b->ncand > 0) {
			/* probe_limit refusals: back off, doubling. */
			b->stats.backoffs++;
			b->backoff_until = now + (uint64_t)b->backoff_cur;
			b->backoff_cur *= 2;
			if (b->backoff_cur > b->conf.backoff_max_ms)
				b->backoff_cur = b->conf.backoff_max_ms;
		}
		return;
	}
	b->polling = 1;
	b->req_id = ++b->next_req;
	b->deadline = now + (uint64_t)b->conf.probe_timeout_ms;
	b->stats.probes_sent++;
	if (b->next < b->ncand_hinted)
		b->stats.hint_offers++;
	out_add(o, b->kind, b->cand[b->next++], b->kind == BA_OFFER ? b->task :
	    NULL, b->req_id);
	o->v[o->n - 1].must = b->must;
}

/* Tell up to idle_notify peers at random that this one is idle. */
static void
notify_idle(struct balance *b, const struct balance_peer *peers, size_t np,
    struct balance_out *o)
{
	size_t	*idx = lb_calloc(np + 1, sizeof(*idx)), n = 0;

	for (size_t i = 0; i < np; i++)
		if (strcmp(peers[i].id, b->self) != 0)
			idx[n++] = i;
	for (size_t i = 0; i < n && i < (size_t)b->conf.idle_notify; i++) {
		size_t r = i + lb_rng_below(&b->rng, (uint32_t)(n - i));
		size_t t = idx[i];

		idx[i] = idx[r];
		idx[r] = t;
		out_add(o, BA_IDLE, peers[idx[i]].id, NULL, 0);
		b->stats.idle_sent++;
	}
	free(idx);
}

void
balance_tick(struct balance *b, uint64_t now, uint32_t load, uint32_t slots,
    const struct balance_peer *peers, size_t np,
    const struct balance_task *tasks, size_t nt, struct balance_out *o)
{
	enum balance_role		 role;
	const struct balance_task	*t;
	uint32_t			 res = balance_reserved(b, now);
	int				 idle;

	/* Become idle: say so to idle_notify peers at random. */
	idle = b->conf.policy != BALANCE_NONE && !b->draining &&
	    balance_role(b, load + res, slots) == ROLE_RECEIVER;
	if (idle && !b->was_receiver && b->conf.idle_notify > 0)
		notify_idle(b, peers, np, o);
	b->was_receiver = idle;
	if (b->polling) {
		if (now < b->deadline)
			return;
		/* No answer in time: as a refusal. */
		b->stats.probes_timed_out++;
		probe_next(b, now, o);
		return;
	}
	if (now < b->backoff_until)
		return;
	/* A task that cannot run here goes first, whatever the load; from a
	 * draining peer, whatever its moves too (it would wait for ever). */
	for (size_t i = 0; i < nt; i++) {
		/* A running task must move only off a draining peer.  A task
		 * that cannot run here goes whatever its moves: it would wait
		 * here for ever (it may have moved while it ran, or gone home
		 * from a drain). */
		if ((tasks[i].running && !b->draining) ||
		    !balance_must_move(b, &tasks[i]))
			continue;
		lb_strlcpy(b->task, tasks[i].id, sizeof(b->task));
		b->kind = BA_OFFER;
		b->must = 1;
		choose(b, now, peers, np, BA_OFFER, &tasks[i]);
		if (b->ncand > 0) {
			probe_next(b, now, o);
			return;
		}
	}
	b->must = 0;
	/* A draining peer asks for no task, and offers none but as above. */
	if (b->conf.policy == BALANCE_NONE || b->draining)
		return;
	role = balance_role(b, load + res, slots);
	if (role == ROLE_SENDER && (b->conf.policy == BALANCE_SENDER ||
	    b->conf.policy == BALANCE_SYMMETRIC)) {
		if ((t = balance_select(b, tasks, nt, NULL, NULL)) == NULL)
			return;
		lb_strlcpy(b->task, t->id, sizeof(b->task));
		b->kind = BA_OFFER;
		choose(b, now, peers, np, BA_OFFER, t);
		probe_next(b, now, o);
	} else if (role == ROLE_RECEIVER && (b->conf.policy ==
	    BALANCE_RECEIVER || b->conf.policy == BALANCE_SYMMETRIC)) {
		/*
		 * Poll only when someone may have work: a peer the vector
		 * shows loaded, or the last peer that had some.  An idle
		 * cluster then polls not at all.
		 */
		size_t i;
		for (i = 0; i < np; i++)
			if (peers[i].load > peers[i].slots &&
			    strcmp(peers[i].id, b->self) != 0)
				break;
		if (i == np && b->partner[0] == '\0' &&
		    hint_freshest(b, &b->work, now) == SIZE_MAX)
			return;
		b->task[0] = '\0';
		b->kind = BA_REQUEST;
		choose(b, now, peers, np, BA_REQUEST, NULL);
		probe_next(b, now, o);
	}
}

int
balance_needs_peers(struct balance *b, uint64_t now, uint32_t load,
    uint32_t slots, const struct balance_task *tasks, size_t nt)
{
	enum balance_role	role;

	/* (as balance_tick decides, up to where it reads the peers) */
	if (b->conf.idle_notify > 0 && !b->was_receiver &&
	    b->conf.policy != BALANCE_NONE && !b->draining &&
	    balance_role(b, load + balance_reserved(b, now), slots) ==
	    ROLE_RECEIVER)
		return 1;	/* (it becomes idle: it says so) */
	if (b->polling || now < b->backoff_until)
		return 0;
	for (size_t i = 0; i < nt; i++)
		if (!(tasks[i].running && !b->draining) &&
		    balance_must_move(b, &tasks[i]))
			return 1;
	if (b->conf.policy == BALANCE_NONE || b->draining)
		return 0;
	role = balance_role(b, load + balance_reserved(b, now), slots);
	if (role == ROLE_SENDER)
		return b->conf.policy == BALANCE_SENDER ||
		    b->conf.policy == BALANCE_SYMMETRIC;
	if (role == ROLE_RECEIVER)
		return b->conf.policy == BALANCE_RECEIVER ||
		    b->conf.policy == BALANCE_SYMMETRIC;
	return 0;
}

uint64_t
balance_wake(const struct balance *b, uint64_t now)
{
	if (b->polling)
		return b->deadline > now ? b->deadline : now;
	if (b->backoff_until > now)
		return b->backoff_until;
	return 0;
}

void
balance_answer(struct balance *b, uint64_t now, uint64_t req_id, int accepted,
    struct balance_out *o)
{
	balance_answer_hint(b, now, req_id, accepted, NULL, o);
}

void
balance_answer_hint(struct balance *b, uint64_t now, uint64_t req_id,
    int accepted, const char *hint, struct balance_out *o)
{
	if (!b->polling || req_id != b->req_id)
		return;		/* late, or not ours: the round moved on */
	if (!accepted && hint != NULL && hint[0] != '\0' &&
	    b->kind == BA_OFFER && !b->must && b->conf.hints &&
	    lb_id_valid(hint) &&
	    strcmp(hint, b->self) != 0 && b->redirects < REDIRECT_MAX) {
		/* Refused, and sent to a peer seen idle: asked next, unless
		 * this round asked it already (one still to ask moves up). */
		size_t i;

		for (i = 0; i < b->ncand; i++)
			if (strcmp(b->cand[i], hint) == 0)
				break;
		if (i == b->ncand) {
			b->cand = lb_reallocarray(b->cand, b->ncand + 2,
			    sizeof(*b->cand));
			b->ncand++;
		}
		if (i >= b->next) {
			memmove(b->cand + b->next + 1, b->cand + b->next,
			    (i - b->next) * sizeof(*b->cand));
			lb_strlcpy(b->cand[b->next], hint, LB_ID_MAX);
			b->redirects++;
			b->stats.redirects++;
		}
	}
	if (b->next > 0 && b->next <= b->ncand_hinted && accepted)
		b->stats.hint_taken++;
	if (b->kind == BA_OFFER && b->next > 0)
		/* Busy now, or taking ours: no longer idle. */
		hints_del(&b->idle, b->cand[b->next - 1]);
	if (b->kind == BA_REQUEST && b->next > 0 && !accepted)
		/* Nothing to give any more. */
		hints_del(&b->work, b->cand[b->next - 1]);
	if (!accepted) {
		b->stats.probes_refused++;
		if (b->kind == BA_REQUEST && b->next > 0 &&
		    strcmp(b->partner, b->cand[b->next - 1]) == 0)
			b->partner[0] = '\0';	/* it has nothing left */
		probe_next(b, now, o);
		return;
	}
	b->stats.probes_accepted++;
	b->polling = 0;
	b->backoff_cur = b->conf.backoff_ms;	/* a success resets it */
	b->backoff_until = 0;
	if (b->kind == BA_OFFER)
		out_add(o, BA_TRANSFER, b->cand[b->next - 1], b->task, req_id);
	else {
		/* a task is on its way here */
		reserve(b, now, b->cand[b->next - 1], req_id);
		lb_strlcpy(b->partner, b->cand[b->next - 1], sizeof(b->partner));
	}
}

void
balance_offer(struct balance *b, uint64_t now, const char *from,
    uint64_t req_id, uint32_t load, uint32_t slots, const char *needs,
    int must, struct balance_out *o)
{
	uint32_t	res = balance_reserved(b, now);

	/* A task that cannot stay where it is goes where it can run, even
	 * with policy none: placement is not balancing.  A draining peer
	 * takes nothing. */
	if (!b->draining && balance_attrs_ok(needs, b->attrs) && (must ||
	    (b->conf.policy != BALANCE_NONE &&
	    balance_role(b, load + res, slots) == ROLE_RECEIVER))) {
		reserve(b, now, from, req_id);
		b->stats.offers_taken++;
		out_add(o, BA_ACCEPT, from, NULL, req_id);
	} else {
		size_t k;

		/* It has work to give: asked first once this one is idle. */
		if (!must)
			hint_add(b, &b->work, now, from);
		out_add(o, BA_REFUSE, from, NULL, req_id);
		/* and it is sent to the peer seen idle last, which is
		 * its hint now, no longer ours (not a task that must go
		 * where it can run: that peer may not be one) */
		if (b->conf.hints && !must && (k = hint_freshest(b, &b->idle,
		    now)) != SIZE_MAX && strcmp(b->idle.v[k].id,
		    from) != 0) {
			lb_strlcpy(o->v[o->n - 1].hint, b->idle.v[k].id,
			    sizeof(o->v[0].hint));
			hints_del(&b->idle, b->idle.v[k].id);
		}
	}
}

void
balance_request(struct balance *b, uint64_t now, const char *from,
    const char *from_attrs, uint64_t req_id, uint32_t load, uint32_t slots,
    const struct balance_task *tasks, size_t nt, struct balance_out *o)
{
	const struct balance_task	*t = NULL;

	if (b->conf.policy != BALANCE_NONE && balance_role(b, load, slots) ==
	    ROLE_SENDER)
		/* (not the task offered elsewhere now: its taker holds a
		 * slot for it) */
		t = select_but(b, tasks, nt, from_attrs, from, b->polling &&
		    b->kind == BA_OFFER ? b->task : NULL);
	if (t == NULL) {
		/* It asks for work: it is idle, the next task goes to it. */
		hint_add(b, &b->idle, now, from);
		out_add(o, BA_REFUSE, from, NULL, req_id);
		return;
	}
	hints_del(&b->idle, from);
	b->stats.requests_served++;
	out_add(o, BA_ACCEPT, from, NULL, req_id);
	out_add(o, BA_TRANSFER, from, t->id, req_id);
}

const char *
balance_policy_name(enum balance_policy p)
{
	static const char *const n[] = { "none", "sender", "receiver",
	    "symmetric" };

	return (unsigned)p < 4 ? n[p] : "?";
}

