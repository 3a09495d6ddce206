/*
 * msgs.c - messages to tasks that moved (lbsim --moves K): the real
 * forwarding core (forwarding/), composed as lbpeer composes it
 * (node/msgs.c), at every peer, its messages in their wire form on the
 * simulated network.
 *
 * For each k from 0 to K, MT_PER_K tasks each moved k times: placed first
 * at its home (the peer its id names), then at k other peers in turn.
 * What the task core would tell the forwarding core is the world's here:
 * the host holds it (at epoch k + 1), the home's record names the host
 * (Sprite's home), each earlier host keeps a link to the next (DEMOS/MP's
 * links), the rest know nothing.  Four messages are sent to each, one
 * after the other: from a peer that knows nothing of it, from the same
 * peer again (path compression told it where the task is), from another
 * peer that knows nothing, and (k >= 2) from its first host after the
 * home, along the links.  With --faults crash, once a crashed
 * peer is known dead by all, as many tasks again have it as their home,
 * with a replica acting for it (as once lbpeer's failover is over: the
 * replica holds the home's records, the host names it as the home, and
 * every peer was told who acts): a peer that knows nothing goes to that
 * replica as it would to the home.
 *
 * The figures: hops (the peers a message passed before the holder took
 * it), the messages each send cost (every forward, ack, copy to the home,
 * TaskLocation and TaskLocate), and its time.
 *
 * (Not sealed in envelopes, unlike the membership's messages: their bytes
 * are not counted.  The forwarding cores' tables are smaller than
 * lbpeer's: capacities only, the decisions are the same.)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "src/conf.h"
#include "src/envelope.h"
#include "src/util.h"
#include "gossip/gossip.h"
#include "forwarding/fwd.h"
#include "node/msgs.h"
#include "sim/sim.h"

#define MT_PER_K	10	/* tasks for each number of moves */
#define MT_GAP_MS	50	/* between the tasks' first sends */
#define MT_DEADLINE_MS	60000	/* a send's deadline */
#define MT_PHASES	4

struct mtask {
	char		 id[FWD_ID_MAX];
	int		 k, home_dead;
	int		*chain;		/* k + 1 peers: the home, ..., the host */
	int		 acting;	/* the replica acting for a dead home */
	int		 sender[MT_PHASES];
	int		 phase;		/* the send under way; MT_PHASES: done */
	uint64_t	 handle, at;
	uint32_t	 hops[MT_PHASES], msgs[MT_PHASES], ms[MT_PHASES];
	int		 ok[MT_PHASES];
};

struct mctx {
	struct sim	*s;
	int		 i;
};

struct mscene {
	struct mtask	*t;
	size_t		 n, open;
	struct fwd	**f;		/* each peer's, made when first needed */
	struct mctx	*ctx;
	struct fwd_out	 out;
	int		 started;
	uint64_t	 msgs;
};

static struct mtask *
task_of(const struct sim *s, const char *id)
{
	const char	*dot = strrchr(id, '.');
	unsigned long	 seq;
	char		*end;

	if (dot == NULL || !fwd_task_valid(id))
		return NULL;
	seq = strtoul(dot + 1, &end, 10);
	if (*end != '\0' || seq == 0 || seq > s->msc->n)
		return NULL;
	return strcmp(s->msc->t[seq - 1].id, id) == 0 ?
	    &s->msc->t[seq - 1] : NULL;
}

/* fwd_env's where: what peer c->i's task core would say of `id`. */
static void
where(void *arg, const char *id, struct fwd_where *w)
{
	struct mctx	*c = arg;
	struct mtask	*t = task_of(c->s, id);

	w->here = FWD_NOTHING;
	if (t == NULL)
		return;
	/* (a replica that takes over tells every live peer so) */
	if (t->acting >= 0)
		lb_strlcpy(w->home, c->s->p[t->acting].id, sizeof(w->home));
	if (c->i == t->acting) {
		/* (it holds the home's records now) */
		lb_strlcpy(w->home, c->s->p[t->acting].id, sizeof(w->home));
		w->here = FWD_AT;
		lb_strlcpy(w->host, c->s->p[t->chain[t->k]].id,
		    sizeof(w->host));
		w->epoch = (uint32_t)t->k + 1;
		return;
	}
	for (int j = 0; j <= t->k; j++) {
		if (t->chain[j] != c->i)
			continue;
		lb_strlcpy(w->home, c->s->p[t->acting >= 0 ? t->acting :
		    t->chain[0]].id, sizeof(w->home));
		if (j == t->k) {
			w->here = FWD_HELD;
			w->epoch = (uint32_t)t->k + 1;
		} else if (j == 0) {
			w->here = FWD_AT;
			lb_strlcpy(w->host, c->s->p[t->chain[t->k]].id,
			    sizeof(w->host));
			w->epoch = (uint32_t)t->k + 1;
		} else {
			lb_strlcpy(w->link, c->s->p[t->chain[j + 1]].id,
			    sizeof(w->link));
			w->link_epoch = (uint32_t)j + 2;
		}
		return;
	}
}

/* fwd_env's alive: as peer c->i's membership table says. */
static int
alive(void *arg, const char *peer)
{
	struct mctx			*c = arg;
	const struct gossip_member	*m;

	if (strcmp(peer, c->s->p[c->i].id) == 0)
		return 1;
	m = gossip_find(c->s->p[c->i].g, peer);
	return m != NULL && nmsg_reachable(m);
}

static struct fwd *
fwd_at(struct sim *s, int i)
{
	struct mscene	*ms = s->msc;
	struct fwd_conf	 c;

	if (ms->f[i] == NULL) {
		nmsg_conf(&s->conf, &c);
		/* (capacities: a few tasks here, not a daemon's 100,000) */
		c.max_links = 256;
		c.max_mailboxes = 64;
		c.outbox_max = 64;
		ms->ctx[i].s = s;
		ms->ctx[i].i = i;
		ms->f[i] = fwd_new(&c, s->p[i].id,
		    &(struct fwd_env){ &ms->ctx[i], where, alive });
	}
	return ms->f[i];
}

static void
count(struct sim *s, const char *id, uint32_t n)
{
	struct mtask	*t = task_of(s, id);

	s->msc->msgs += n;
	if (t != NULL && t->phase < MT_PHASES)
		t->msgs[t->phase] += n;
}

static void
post(struct sim *s, int from, int to, const uint8_t *msg, size_t len)
{
	uint8_t	*buf;

	if (to < 0 || lb_rng_below(&s->rng, 1000) < s->loss)
		return;
	buf = lb_calloc(1, len + 1);
	memcpy(buf, msg, len);
	push(s, (struct ev){ .t = s->now + sim_delay(s, from, to),
	    .type = EV_FDELIVER, .to = to, .from = from, .inc = s->p[to].inc,
	    .buf = buf, .len = len });
}

/* What peer i's forwarding core asked for. */
static void
carry(struct sim *s, int i)
{
	struct fwd_out	*o = &s->msc->out;

	for (size_t j = 0; j < o->n; j++) {
		struct fwd_action	*a = &o->v[j];
		struct mtask		*t;

		switch (a->kind) {
		case FA_SEND:
			count(s, a->id, 1);
			post(s, i, sim_peer_of_id(s, a->to), a->msg, a->len);
			break;
		case FA_LOCATE: {
			size_t n;
			const struct gossip_member *m = gossip_members(
			    s->p[i].g, &n);

			for (size_t q = 0; q < n; q++)
				if (!m[q].self && nmsg_reachable(&m[q])) {
					count(s, a->id, 1);
					post(s, i, sim_peer_of_id(s,
					    m[q].e.id), a->msg, a->len);
				}
			break;
		}
		case FA_DONE:
			t = task_of(s, a->id);
			if (t == NULL || t->phase >= MT_PHASES ||
			    t->sender[t->phase] != i ||
			    a->res.handle != t->handle)
				break;
			t->ok[t->phase] = a->res.done &&
			    a->res.status == LB__MSG_STATUS__MSG_DELIVERED;
			t->hops[t->phase] = (uint32_t)a->res.nhops;
			t->ms[t->phase] = (uint32_t)(s->now - t->at);
			t->phase++;
			/* (the next send is its own event: not made
			 * while this peer's actions are carried) */
			if (t->phase < MT_PHASES)
				push(s, (struct ev){ .t = s->now + 1,
				    .type = EV_FSEND, .to = t->sender[t->phase] < 0 ?
				    0 : t->sender[t->phase],
				    .task = (uint32_t)(t - s->msc->t) });
			else
				s->msc->open--;
			break;
		case FA_MAIL: {
			/* (the task reads its mail) */
			Lb__MailMsg *m;

			while ((m = fwd_take(fwd_at(s, i), a->id)) != NULL)
				lb__mail_msg__free_unpacked(m, NULL);
			break;
		}
		default:
			break;	/* (a home's copies on disk: none here) */
		}
	}
	fwd_out_reset(o);
}

/* Task t's next send, or its end. */
static void
next_send(struct sim *s, struct mtask *t)
{
	struct mscene	*ms = s->msc;
	int		 from;
	char		*cause = NULL;
	static const char body[] = "where are you?";

	if (t->phase >= MT_PHASES)
		return;
	from = t->sender[t->phase];
	if (from < 0) {
		/* (no old host to send from: k < 2) */
		t->phase = MT_PHASES;
		ms->open--;
		return;
	}
	t->at = s->now;
	if (!s->p[from].alive || fwd_send(fwd_at(s, from), s->now,
	    s->p[from].id, nmsg_node_base(s->p[from].inc) + (uint64_t)
	    t->phase, t->id, body, sizeof(body) - 1, s->now + MT_DEADLINE_MS,
	    &t->handle, &ms->out, &cause) == -1) {
		free(cause);
		t->phase = MT_PHASES;	/* (not ok: counted as lost) */
		ms->open--;
		fwd_out_reset(&ms->out);
		return;
	}
	carry(s, from);
}

static int
in_chain(const struct mtask *t, int q)
{
	for (int j = 0; j <= t->k; j++)
		if (t->chain[j] == q)
			return 1;
	return q == t->acting;
}

/* A live peer at random, not one of task t's (and not `but`). */
static int
outsider(struct sim *s, const struct mtask *t, int but)
{
	for (int tries = 0; tries < 1000; tries++) {
		int q = (int)lb_rng_below(&s->rng, (uint32_t)s->n);

		if (s->p[q].alive && q != but && !in_chain(t, q))
			return q;
	}
	return -1;
}

static void
add_task(struct sim *s, int k, int home, int dead)
{
	struct mscene	*ms = s->msc;
	struct mtask	*t = &ms->t[ms->n];

	memset(t, 0, sizeof(*t));
	t->k = k;
	t->home_dead = dead;
	t->chain = lb_calloc((size_t)k + 1, sizeof(*t->chain));
	t->chain[0] = home;
	t->acting = -1;
	for (int j = 1; j <= k; j++) {
		int q, tries = 0;

		do
			q = (int)lb_rng_below(&s->rng, (uint32_t)s->n);
		while ((!s->p[q].alive || in_chain(t, q)) && ++tries < 1000);
		t->chain[j] = q;
	}
	if (dead)
		t->acting = outsider(s, t, -1);
	snprintf(t->id, sizeof(t->id), "%s.%zu", s->p[home].id, ms->n + 1);
	t->sender[0] = t->sender[1] = outsider(s, t, -1);
	t->sender[2] = outsider(s, t, t->sender[0]);
	t->sender[3] = k >= 2 ? t->chain[1] : -1;
	ms->n++;
	if (t->sender[0] < 0 || t->sender[2] < 0) {
		t->phase = MT_PHASES;
		return;
	}
	ms->open++;
	push(s, (struct ev){ .t = s->now + 1 + (uint64_t)(ms->n - 1) *
	    MT_GAP_MS, .type = EV_FSEND, .to = t->sender[0],
	    .task = (uint32_t)(ms->n - 1) });
}

/* The scene, if asked for and not begun: once all know all, and with
 * crashes once one is known dead by all. */
void
msgs_maybe_start(struct sim *s)
{
	struct mscene	*ms;
	int		 dead = -1;

	if (s->moves < 0 || s->msc != NULL || s->converged_ms == 0)
		return;
	if (s->f_crash) {
		for (size_t j = 0; j < s->ncrashes && dead < 0; j++)
			if (s->crashes[j].all_ms != 0 && !s->crashes[j].closed)
				dead = s->crashes[j].peer;
		if (dead < 0)
			return;
	}
	ms = s->msc = lb_calloc(1, sizeof(*ms));
	ms->f = lb_calloc((size_t)s->n, sizeof(*ms->f));
	ms->ctx = lb_calloc((size_t)s->n, sizeof(*ms->ctx));
	ms->t = lb_calloc((size_t)(s->moves + 1) * MT_PER_K * 2,
	    sizeof(*ms->t));
	ms->started = 1;
	for (int k = 0; k <= s->moves; k++)
		for (int r = 0; r < MT_PER_K; r++) {
			int home;

			do
				home = (int)lb_rng_below(&s->rng,
				    (uint32_t)s->n);
			while (!s->p[home].alive);
			add_task(s, k, home, 0);
		}
	/* (a task at its dead home, k = 0, went with it: not asked) */
	for (int k = 1; dead >= 0 && k <= s->moves; k++)
		for (int r = 0; r < MT_PER_K; r++)
			add_task(s, k, dead, 1);
}

/* EV_FSEND, EV_FDELIVER, EV_FTICK */
void
msgs_event(struct sim *s, struct ev *e)
{
	struct mscene	*ms = s->msc;

	if (ms == NULL)
		return;
	switch (e->type) {
	case EV_FSEND:
		next_send(s, &ms->t[e->task]);
		break;
	case EV_FDELIVER: {
		Lb__PeerMsg *m;

		if (!s->p[e->to].alive || s->p[e->to].inc != e->inc)
			break;
		m = lb__peer_msg__unpack(NULL, e->len, e->buf);
		if (m == NULL)
			break;
		(void)fwd_recv(fwd_at(s, e->to), s->now, s->p[e->from].id, m,
		    &ms->out);
		lb__peer_msg__free_unpacked(m, NULL);
		carry(s, e->to);
		break;
	}
	case EV_FTICK:
		/* Retries and deadlines: at the peers of the open tasks. */
		for (size_t j = 0; j < ms->n; j++) {
			struct mtask *t = &ms->t[j];
			int who[3];

			if (t->phase >= MT_PHASES)
				continue;
			who[0] = t->sender[t->phase];
			who[1] = t->chain[0];
			who[2] = t->chain[t->k];
			for (int w = 0; w < 3; w++)
				if (who[w] >= 0 && s->p[who[w]].alive &&
				    ms->f[who[w]] != NULL) {
					fwd_tick(ms->f[who[w]], s->now,
					    &ms->out);
					carry(s, who[w]);
				}
		}
		break;
	default:
		break;
	}
	if (e->type == EV_FTICK && ms->open > 0)
		push(s, (struct ev){ .t = s->now + NMSG_TICK_MS,
		    .type = EV_FTICK, .to = 0 });
}

/* Peer i started again: its forwarding core's memory went with it. */
void
msgs_booted(struct sim *s, int i)
{
	if (s->msc != NULL && s->msc->f[i] != NULL) {
		fwd_free(s->msc->f[i]);
		s->msc->f[i] = NULL;
	}
}

/* The scene's first tick (retries), when it starts. */
void
msgs_go(struct sim *s)
{
	if (s->msc != NULL && s->msc->open > 0)
		push(s, (struct ev){ .t = s->now + NMSG_TICK_MS,
		    .type = EV_FTICK, .to = 0 });
}

/* The figures: one row for each k and home (alive, dead). */
void
msgs_rows(const struct sim *s, struct mrow **rows, size_t *n)
{
	const struct mscene	*ms = s->msc;

	*rows = NULL;
	*n = 0;
	if (ms == NULL)
		return;
	*rows = lb_calloc((size_t)(s->moves + 1) * 2, sizeof(**rows));
	for (int dead = 0; dead <= 1; dead++)
		for (int k = 0; k <= s->moves; k++) {
			struct mrow r;

			memset(&r, 0, sizeof(r));
			r.k = k;
			r.home_dead = dead;
			for (size_t j = 0; j < ms->n; j++) {
				const struct mtask *t = &ms->t[j];

				if (t->k != k || t->home_dead != dead)
					continue;
				r.tasks++;
				r.sends += t->sender[MT_PHASES - 1] >= 0 ?
				    MT_PHASES : MT_PHASES - 1;
				for (int p = 0; p < MT_PHASES; p++) {
					if (!t->ok[p])
						continue;
					r.ok[p]++;
					r.hops[p] += t->hops[p];
					r.msgs[p] += t->msgs[p];
					r.ms[p] += t->ms[p];
					if (t->hops[p] > r.hops_max[p])
						r.hops_max[p] = t->hops[p];
				}
			}
			for (int p = 0; p < MT_PHASES; p++)
				if (r.ok[p] > 0) {
					r.hops[p] /= r.ok[p];
					r.msgs[p] /= r.ok[p];
					r.ms[p] /= r.ok[p];
				}
			if (r.tasks > 0)
				(*rows)[(*n)++] = r;
		}
}

void
msgs_free(struct sim *s)
{
	struct mscene	*ms = s->msc;

	if (ms == NULL)
		return;
	for (int i = 0; i < s->n; i++)
		fwd_free(ms->f[i]);
	for (size_t j = 0; j < ms->n; j++)
		free(ms->t[j].chain);
	fwd_out_free(&ms->out);
	free(ms->f);
	free(ms->ctx);
	free(ms->t);
	free(ms);
	s->msc = NULL;
}
