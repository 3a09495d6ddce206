/*
 * failover.c - replicated homes, the part that keeps one acting home per
 * home: the home's replica set and its home lease, elections among the
 * replicas of a home that is gone, and the terms, kept on disk by the
 * caller (doc/replication.md, doc/protocol.md).
 *
 * A home acts only while a majority of its set (itself included) has
 * answered its puts within lease_ms, and, after a start, once those of its
 * set on disk answered without saying that another took over.  A replica
 * of a home silent and dead to it for takeover_ms, and first of the set
 * still alive, stands in the next term: a majority of the set must vote
 * for it, each member once a term and only for a candidate holding a
 * record at least as new as its own newest of that home.  The winner acts
 * for the home's tasks it holds (the caller adopts them); the others, and
 * the home if it comes back, learn so.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/util.h"
#include "tasks/replica.h"
#include "tasks/replica_int.h"

#define ELECT_TIMEOUT_MS	2000	/* a candidacy without a majority:
					 * tried again in a new term */
#define ELECT_STAGGER_MS	1500	/* each later member of a set waits
					 * this much more */
/* The winner tells every live peer (not only the set) that it acts for
 * the home: every ALL_EVERY_MS for ALL_FOR_MS from its win or its start,
 * and whenever a peer comes alive; hosts outside the set send what they
 * would say to the home to it (tasks_home_acting). */
#define ALL_EVERY_MS		5000
#define ALL_FOR_MS		60000

static void	moved_learn(struct rep *, const char *, const char *, uint32_t,
		    uint64_t, uint64_t);
/* A member without the files of some of the home's tasks stands only
 * once every other member alive had the time to (one of them has them:
 * the home answered once a majority did). */
#define ELECT_LACKING_MS	((uint64_t)REP_ALL * ELECT_STAGGER_MS + \
				    5 * ELECT_TIMEOUT_MS)

void
rep_set_lacking(struct rep *r, const char *id, int lacking)
{
	struct home	*h = rep_home(r, id, 0);

	if (h != NULL)
		h->lacking = lacking;
}

int
rep_is_alive(const struct rep *r, const char *id)
{
	for (size_t i = 0; i < r->nalive; i++)
		if (strcmp(r->alive[i], id) == 0)
			return 1;
	return 0;
}

int
rep_in_set(const struct home *h, const char *id)
{
	for (size_t i = 0; i < h->nset; i++)
		if (strcmp(h->set[i], id) == 0)
			return (int)i;
	return -1;
}

static int
member(const struct rep *r, const char *id)
{
	for (size_t i = 0; i < r->nset; i++)
		if (strcmp(r->set[i].id, id) == 0)
			return (int)i;
	return -1;
}

/* Whether this peer acts for home `id`, taken over: a member of its set
 * that is dead then is replaced at once (it was elected because that home
 * was gone; waiting replace_ms more leaves its own set one short). */
static int
taken_over(struct rep *r, const char *id)
{
	struct home	*h = rep_home(r, id, 0);

	return h != NULL && h->term != 0 && strcmp(h->acting, r->self) == 0;
}

void
rep_members(struct rep *r, uint64_t now, const char *const *ids, size_t n)
{
	const char	*best[REP_ALL];
	size_t		 k, want = (size_t)r->conf.replicas - 1;
	int		 changed = 0, replaced;

	for (size_t i = 0; i < n && !r->announce; i++)
		if (!rep_is_alive(r, ids[i]))
			r->announce = 1;	/* (one more is alive) */
	r->alive = lb_reallocarray(r->alive, n + 1, sizeof(*r->alive));
	r->nalive = 0;
	for (size_t i = 0; i < n; i++)
		lb_strlcpy(r->alive[r->nalive++], ids[i], sizeof(r->alive[0]));
	for (size_t i = 0; i < r->nhomes; i++) {
		struct home *h = &r->homes[i];

		if (h->heard_ms == 0)
			h->heard_ms = now;	/* this life's start */
		if (rep_is_alive(r, h->id))
			h->dead_since = 0;
		else if (h->dead_since == 0)
			h->dead_since = now;
	}
	for (size_t i = 0; i < r->nset; i++) {
		if (rep_is_alive(r, r->set[i].id))
			r->set[i].dead_since = 0;
		else if (r->set[i].dead_since == 0)
			r->set[i].dead_since = now;
	}
	/* The set keeps its members; it grows to its size from the live
	 * peers that rank first, and a member dead for replace_ms gives its
	 * place to the next of them: never fewer, so that a home cut off
	 * from all its set cannot count itself a majority. */
	k = rep_rank(r->self, ids, n, best, REP_ALL);
	for (size_t c = 0; c < k; c++) {
		struct rep_peer *s = NULL;

		if (member(r, best[c]) >= 0)
			continue;
		if (r->nset < want)
			s = &r->set[r->nset++];
		else
			for (size_t i = 0; i < r->nset && s == NULL; i++)
				if (r->set[i].dead_since != 0 && (now >=
				    r->set[i].dead_since + r->conf.replace_ms ||
				    taken_over(r, r->set[i].id)))
					s = &r->set[i];
		if (s == NULL)
			break;
		/* New in the set: it is sent the whole stream. */
		replaced = r->nset >= want && s < r->set + r->nset;
		memset(s, 0, sizeof(*s));
		lb_strlcpy(s->id, best[c], sizeof(s->id));
		s->since = now;
		r->last_send[s - r->set] = 0;
		r->voted_seen[s - r->set] = 0;
		changed = 1;
		if (replaced)
			break;	/* one member replaced at a time */
	}
	if (changed) {
		r->set_gen++;
		r->stats.set_changes++;
	}
}

uint64_t
rep_set_gen(const struct rep *r)
{
	return r->set_gen;
}

void
rep_heard(struct rep *r, uint64_t now, const char *from,
    const Lb__ReplicaAck *a)
{
	int	i = member(r, from);
	size_t	count = 0;

	/* The home lease runs from when the answered put was sent (echoed),
	 * not from when its answer came: a late answer extends nothing. */
	if (i >= 0) {
		uint64_t at = a->sent_ms != 0 && a->sent_ms <= now ?
		    a->sent_ms : 0;

		if (at > r->set[i].heard)
			r->set[i].heard = at;
	}
	for (size_t j = 0; j < r->nstart; j++)
		if (strcmp(r->start_set[j], from) == 0)
			r->answered |= 1u << j;
	/* (a member reports an open vote only for a while: see
	 * DOUBT_MS in replica.c) */
	if (i >= 0 && (size_t)i < REP_SET_MAX) {
		r->voted_seen[i] = a->voted;
		r->doubt = 0;
		for (size_t j = 0; j < r->nset; j++)
			if (r->voted_seen[j] > r->doubt)
				r->doubt = r->voted_seen[j];
	}
	if (a->term > 0 && lb_id_valid(a->acting) && strcmp(a->acting,
	    r->self) != 0 && a->term > r->taken_term) {
		r->taken_term = a->term;
		lb_strlcpy(r->taken_by, a->acting, sizeof(r->taken_by));
		r->taken_upto = a->upto_task;
		r->taken_version = a->upto_version;
		r->stats.takeovers_seen++;
	} else if (a->term > 0 && a->term == r->taken_term) {
		/* (a member learned more of what the winner took) */
		if (a->upto_task > r->taken_upto)
			r->taken_upto = a->upto_task;
		if (a->upto_version > r->taken_version)
			r->taken_version = a->upto_version;
	}
	for (size_t j = 0; j < r->nstart; j++)
		if (r->answered & (1u << j))
			count++;
	/* A majority of the set it had answered, and every vote one of them
	 * gave has a known end (a winner it was told of, in that term or a
	 * later one); else some replica may act for its tasks. */
	if (!r->ready && 1 + count >= (r->nstart + 1) / 2 + 1 &&
	    r->doubt <= r->taken_term)
		r->ready = 1;
	(void)now;
}

int
rep_home_ok(const struct rep *r, uint64_t now)
{
	size_t	count = 1;

	if (!r->ready || r->taken_term > r->relinquished ||
	    r->doubt > r->taken_term)
		return 0;
	/* With fewer than two others in its set no replica can be elected
	 * in its place: it acts, alone if need be. */
	if (r->conf.lease_ms == 0 || r->nset < 2)
		return 1;
	for (size_t i = 0; i < r->nset; i++)
		if (r->set[i].heard != 0 && r->set[i].heard +
		    r->conf.lease_ms >= now)
			count++;
	return count >= (r->nset + 1) / 2 + 1;
}

uint64_t
rep_home_lease_end(const struct rep *r)
{
	uint64_t	heard[REP_SET_MAX], t;
	size_t		n = 0, need;

	if (r->conf.lease_ms == 0 || r->nset < 2)
		return 0;
	for (size_t i = 0; i < r->nset && n < REP_SET_MAX; i++)
		heard[n++] = r->set[i].heard;
	/* (insertion sort, newest first: a handful of members) */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && heard[j] > heard[j - 1]; j--) {
			t = heard[j];
			heard[j] = heard[j - 1];
			heard[j - 1] = t;
		}
	/* This home and the `need` members heard last make a majority. */
	need = (r->nset + 1) / 2 + 1 - 1;
	if (need == 0 || need > n || heard[need - 1] == 0)
		return 1;	/* (ended long ago) */
	return heard[need - 1] + r->conf.lease_ms;
}

void
rep_relinquished(struct rep *r, uint32_t term)
{
	if (term > r->relinquished)
		r->relinquished = term;
}

uint32_t
rep_taken(const struct rep *r, const char **by, uint64_t *upto)
{
	*by = r->taken_by;
	*upto = r->taken_upto;
	return r->taken_term;
}

uint64_t
rep_taken_version(const struct rep *r)
{
	return r->taken_version;
}

static void
send_vote(struct rep_out *o, const char *to, const struct home *h)
{
	Lb__HomeVote	v = LB__HOME_VOTE__INIT;
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;

	v.home = (char *)h->id;
	v.term = h->cand_term;
	v.held = h->newest;
	v.after_term = h->term;
	m.body_case = LB__PEER_MSG__BODY_HOME_VOTE;
	m.home_vote = &v;
	rep_push_msg(o, RA_VOTE, to, &m);
}

/* Whether this peer holds records of home `h`, taken over, that the
 * takeover does not cover: the home came back, acted for newer tasks
 * (numbered from upto on, or taken over by it above upto_version), and is
 * gone again.  (Counted at most once a second.) */
static int
uncovered(struct rep *r, struct home *h, uint64_t now)
{
	const Lb__TaskRecord	*const *all;
	size_t			 n, len = strlen(h->id);

	if (h->inferred)
		return 0;	/* (what it took is not known whole) */
	if (h->unc_at != 0 && now < h->unc_at + 1000)
		return h->unc;
	h->unc_at = now;
	h->unc = 0;
	all = rep_all_held(r, &n);
	for (size_t i = 0; i < n && !h->unc; i++) {
		char acting[LB_ID_MAX];
		int named = strncmp(all[i]->id, h->id, len) == 0 &&
		    all[i]->id[len] == '.';

		rep_record_home(all[i], acting);
		if (strcmp(acting, h->id) != 0)
			continue;
		/* (records it had taken over count only when the winner said
		 * how far it held its stream: an older one does not) */
		if (named ? strtoull(all[i]->id + len + 1, NULL, 10) >=
		    h->upto : h->upto_version != 0 &&
		    all[i]->adopted_version > h->upto_version)
			h->unc = 1;
	}
	return h->unc;
}

/* HomeActing for home `h` to every live peer but this one and the set
 * (those hear it every second). */
static void
announce_all(struct rep *r, uint64_t now, struct home *h, struct rep_out *o)
{
	Lb__HomeActing	a = LB__HOME_ACTING__INIT;
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;

	a.home = h->id;
	a.term = h->term;
	a.upto = h->upto;
	a.upto_version = h->upto_version;
	a.floor = h->floor;
	a.floor_version = h->floor_version;
	m.body_case = LB__PEER_MSG__BODY_HOME_ACTING;
	m.home_acting = &a;
	for (size_t j = 0; j < r->nalive; j++)
		if (strcmp(r->alive[j], r->self) != 0 &&
		    rep_in_set(h, r->alive[j]) < 0)
			rep_push_msg(o, RA_VOTE, r->alive[j], &m);
	h->all_sent = now;
}

void
rep_elections(struct rep *r, uint64_t now, struct rep_out *o)
{
	/* Without leases a home cut off would not stop: nobody stands. */
	if (r->conf.lease_ms == 0 || r->conf.takeover_ms == 0)
		return;
	for (size_t i = 0; i < r->nhomes; i++) {
		struct home	*h = &r->homes[i];
		int		 mine = rep_in_set(h, r->self), wait = 0;

		if (h->term != 0 && strcmp(h->acting, r->self) == 0 &&
		    h->all_until == 0)
			h->all_until = now + ALL_FOR_MS;	/* (its start) */
		uint64_t	 from;

		/* Acting for it: the set is told again, every second, so
		 * that a member that missed it (and the home, back) learn. */
		if (h->term != 0 && strcmp(h->acting, r->self) == 0 &&
		    now >= h->acting_sent + 1000) {
			Lb__HomeActing a = LB__HOME_ACTING__INIT;
			Lb__PeerMsg m = LB__PEER_MSG__INIT;

			a.home = h->id;
			a.term = h->term;
			a.upto = h->upto;
			a.upto_version = h->upto_version;
			a.floor = h->floor;
			a.floor_version = h->floor_version;
			m.body_case = LB__PEER_MSG__BODY_HOME_ACTING;
			m.home_acting = &a;
			for (size_t j = 0; j < h->nset; j++)
				if (strcmp(h->set[j], r->self) != 0)
					rep_push_msg(o, RA_VOTE, h->set[j], &m);
			h->acting_sent = now;
		}
		/* ... and every live peer, for a while (and whenever one
		 * more is alive). */
		if (h->term != 0 && strcmp(h->acting, r->self) == 0 &&
		    ((now < h->all_until && now >= h->all_sent +
		    ALL_EVERY_MS) || r->announce))
			announce_all(r, now, h, o);
		/* Nothing to take over; or taken over already (its records
		 * live on in the acting home's stream), unless the home came
		 * back, acted for newer tasks, and is gone again. */
		if (h->records == 0 || mine <= 0 || (h->term != 0 &&
		    !uncovered(r, h, now)))
			continue;
		/* Dead to it, and silent for takeover_ms: the leases it
		 * granted have run out (they end with its home lease). */
		from = h->heard_ms + r->conf.takeover_ms;
		if (h->dead_since > from)
			from = h->dead_since;
		/* Without the files of some of its tasks: after every other
		 * member alive had the time to stand (and, all without,
		 * still one after the other). */
		for (size_t j = 1; h->lacking && j < h->nset; j++)
			if ((int)j != mine && rep_is_alive(r, h->set[j])) {
				from += ELECT_LACKING_MS;
				break;
			}
		if (h->dead_since == 0 || now < from) {
			h->cand_term = 0;
			continue;
		}
		/* The first of the set still alive stands; the others wait
		 * for it (longer, the later they come). */
		for (int j = 1; j < mine; j++)
			if (rep_is_alive(r, h->set[j]) && now < from +
			    (uint64_t)mine * ELECT_STAGGER_MS +
			    4 * ELECT_TIMEOUT_MS)
				wait = 1;	/* (one behind, or holding
						 * nothing, never wins) */
		/* (one that asked this peer's vote held less: it steps
		 * aside, this one goes now) */
		if (now < h->lead_until)
			wait = 0;
		else if (now < from + (uint64_t)(mine - 1) * ELECT_STAGGER_MS)
			continue;
		if (wait)
			continue;
		if (h->cand_term != 0 && now < h->cand_at + ELECT_TIMEOUT_MS)
			continue;
		if (now < h->behind_until)
			continue;	/* a voter holds more: not this one */
		h->voted = (h->voted > h->term ? h->voted : h->term) + 1;
		h->voted_at = now;
		h->cand_term = h->voted;
		h->self_term = h->voted;
		h->cand_at = now;
		h->votes = 1u << mine;
		r->stats.elections++;
		rep_push(o, RA_STATE);	/* its own vote, before it asks */
		for (size_t j = 1; j < h->nset; j++)
			if ((int)j != mine)
				send_vote(o, h->set[j], h);
	}
	r->announce = 0;
}

void
rep_vote_in(struct rep *r, uint64_t now, const char *from,
    const Lb__HomeVote *v, struct rep_out *o)
{
	struct home		*h = lb_id_valid(v->home) ?
				    rep_home(r, v->home, 0) : NULL;
	Lb__HomeVoteReply	 a = LB__HOME_VOTE_REPLY__INIT;
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;

	/* A member that holds nothing of that home (down while it put, or
	 * its set as this peer knew it lost in a crash) votes too, once it
	 * has not heard of the home for takeover_ms: else a home whose
	 * records are on the candidate alone, and that home, make a
	 * majority that can never elect anyone. */
	if (h == NULL && lb_id_valid(v->home) && strcmp(v->home, r->self) != 0 &&
	    (h = rep_home(r, v->home, 1)) != NULL)
		h->heard_ms = h->voted_at = now;
	a.home = v->home;
	a.term = v->term;
	/* (a home taken over before: again, by one that knows that
	 * takeover, for the newer tasks only) */
	if (h != NULL && v->term > h->voted && v->term > h->term &&
	    v->after_term >= h->term &&
	    (h->nset == 0 || rep_in_set(h, from) > 0) && now >= h->heard_ms +
	    r->conf.takeover_ms && v->held >= h->newest) {
		h->voted = v->term;
		h->voted_at = now;
		h->cand_term = 0;
		a.granted = 1;
		r->stats.votes_given++;
		rep_push(o, RA_STATE);	/* the vote on disk before it goes */
	}
	if (h != NULL && !a.granted) {
		a.voted = h->voted > h->term ? h->voted : h->term;
		a.held = h->newest;
		/* A takeover the candidate did not know: that one. */
		if (h->term > v->after_term && lb_id_valid(h->acting)) {
			a.acting_term = h->term;
			a.acting = h->acting;
			a.upto = h->upto;
			a.upto_version = h->upto_version;
			a.floor = h->floor;
			a.floor_version = h->floor_version;
		}
		/* The candidate holds less: it steps aside (behind_until),
		 * and this one stands without waiting its turn. */
		if (v->held < h->newest && h->term == 0 &&
		    rep_in_set(h, r->self) > 0)
			h->lead_until = now + 4 * ELECT_TIMEOUT_MS;
	}
	m.body_case = LB__PEER_MSG__BODY_HOME_VOTE_REPLY;
	m.home_vote_reply = &a;
	rep_push_msg(o, RA_VOTE, from, &m);
}

/* The highest task number of `home` held here. */
static uint64_t
highest_task(const struct rep *r, const char *home)
{
	size_t			 n, len = strlen(home);
	const Lb__TaskRecord	*const *all = rep_all_held(r, &n);
	uint64_t		 top = 0, seq;

	for (size_t i = 0; i < n; i++)
		if (strncmp(all[i]->id, home, len) == 0 &&
		    all[i]->id[len] == '.' &&
		    (seq = strtoull(all[i]->id + len + 1, NULL, 10)) > top)
			top = seq;
	return top;
}

void
rep_vote_reply_in(struct rep *r, uint64_t now, const char *from,
    const Lb__HomeVoteReply *v, struct rep_out *o)
{
	struct home		*h = lb_id_valid(v->home) ?
				    rep_home(r, v->home, 0) : NULL;
	Lb__HomeActing		 a = LB__HOME_ACTING__INIT;
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	struct rep_action	*ad;
	int			 idx, mine, count = 0;

	if (h == NULL || h->cand_term == 0 || v->term != h->cand_term ||
	    h->cand_term <= h->term || (idx = rep_in_set(h, from)) <= 0)
		return;
	if (!v->granted && v->acting_term > h->term &&
	    lb_id_valid(v->acting)) {
		/* A takeover this peer missed: learned, and its candidacy
		 * weighed again (rep_elections). */
		h->term = v->acting_term;
		lb_strlcpy(h->acting, v->acting, sizeof(h->acting));
		h->upto = v->upto;
		h->upto_version = v->upto_version;
		h->floor = v->floor;
		h->floor_version = v->floor_version;
		h->unc_at = 0;
		if (h->voted < h->term)
			h->voted = h->term;
		h->cand_term = 0;
		moved_learn(r, h->id, h->acting, h->term, h->upto, h->floor);
		rep_push(o, RA_STATE);
		return;
	}
	if (!v->granted) {
		/* Its next term goes above the voter's; and one that holds
		 * less than a voter steps aside for a while (another that
		 * holds more stands; see rep_elections). */
		if (v->voted > h->voted)
			h->voted = v->voted;
		if (v->held > h->newest)
			h->behind_until = now + 4 * ELECT_TIMEOUT_MS;
		return;
	}
	h->votes |= 1u << idx;
	for (size_t j = 0; j < h->nset; j++)
		if (h->votes & (1u << j))
			count++;
	if ((size_t)count < h->nset / 2 + 1)
		return;
	/* A majority: this peer acts for the home in this term (after a
	 * takeover before, for what that one did not cover). */
	h->floor = h->term != 0 ? h->upto : 0;
	/* (the records the home had taken over: those above the version the
	 * first winner held; all of them its, when it did not say) */
	h->floor_version = h->term == 0 ? 0 : h->upto_version != 0 ?
	    h->upto_version : UINT64_MAX;
	h->unc_at = 0;
	h->inferred = 0;
	h->term = h->cand_term;
	h->cand_term = 0;
	lb_strlcpy(h->acting, r->self, sizeof(h->acting));
	h->upto = highest_task(r, h->id) + 1;
	if (h->upto < h->floor)
		h->upto = h->floor;	/* (never below the earlier range) */
	h->upto_version = h->newest;
	r->stats.won++;
	rep_push(o, RA_STATE);
	ad = rep_push(o, RA_ADOPT);
	lb_strlcpy(ad->id, h->id, sizeof(ad->id));
	ad->term = h->term;
	ad->upto = h->upto;
	ad->floor = h->floor;
	ad->floor_version = h->floor_version;
	a.home = h->id;
	a.term = h->term;
	a.upto = h->upto;
	a.upto_version = h->upto_version;
	a.floor = h->floor;
	a.floor_version = h->floor_version;
	m.body_case = LB__PEER_MSG__BODY_HOME_ACTING;
	m.home_acting = &a;
	mine = rep_in_set(h, r->self);
	for (size_t j = 1; j < h->nset; j++)
		if ((int)j != mine)
			rep_push_msg(o, RA_VOTE, h->set[j], &m);
	h->acting_sent = now;
	h->all_until = now + ALL_FOR_MS;
	announce_all(r, now, h, o);
}

/* `acting` says it acts for `home`'s tasks below `upto` in `term`: where
 * this peer sends what it would say to that home about them (a home taken
 * over twice is there twice; at most REP_HOMES_MAX, the lowest term given
 * up first). */
static void
moved_learn(struct rep *r, const char *home, const char *acting,
    uint32_t term, uint64_t upto, uint64_t floor)
{
	struct moved	*mv;

	if (strcmp(acting, home) == 0)
		return;
	for (size_t i = 0; i < r->nmoved; i++)
		if (strcmp(r->moved[i].home, home) == 0 &&
		    r->moved[i].term == term) {
			if (upto > r->moved[i].upto)
				r->moved[i].upto = upto;
			if (floor > r->moved[i].floor)
				r->moved[i].floor = floor;
			return;
		}
	if (r->nmoved < REP_HOMES_MAX)
		mv = &r->moved[r->nmoved++];
	else {
		mv = &r->moved[0];
		for (size_t i = 1; i < r->nmoved; i++)
			if (r->moved[i].term < mv->term)
				mv = &r->moved[i];
	}
	lb_strlcpy(mv->home, home, sizeof(mv->home));
	lb_strlcpy(mv->acting, acting, sizeof(mv->acting));
	mv->term = term;
	mv->upto = upto;
	mv->floor = floor;
}

int
rep_learn_taken(struct rep *r, const Lb__TaskRecord *rec)
{
	char		 named[LB_ID_MAX];
	struct home	*h;
	uint64_t	 seq;

	if (rec->home_peer == NULL || !lb_id_valid(rec->home_peer) ||
	    rec->home_term == 0 || !tasks_id_valid(rec->id))
		return 0;
	tasks_home_of(rec->id, named);
	if (strcmp(named, rec->home_peer) == 0 || strcmp(named, r->self) == 0)
		return 0;
	/* (only one taken over from the home its id names: its home_term
	 * is that home's election term; a record taken over again carries
	 * a term raised past it) */
	if (rec->taken_from == NULL || strcmp(rec->taken_from, named) != 0)
		return 0;
	seq = strtoull(strrchr(rec->id, '.') + 1, NULL, 10);
	moved_learn(r, named, rec->home_peer, rec->home_term, seq + 1, 0);
	/* A member of that home's set that missed the winner's word: it
	 * knows now (and tells the home, back, so that it lets its tasks
	 * below go: the winner adopted them).  Else it would report its
	 * vote as open for a while, then let the home act for tasks the
	 * winner's own replicas act for. */
	if ((h = rep_home(r, named, 0)) == NULL || rep_in_set(h, r->self) <= 0)
		return 0;
	if (rec->home_term > h->term || (rec->home_term == h->term &&
	    h->inferred && strcmp(h->acting, rec->home_peer) == 0 &&
	    seq + 1 > h->upto)) {
		if (rec->home_term > h->term) {
			h->upto = h->upto_version = 0;
			h->floor = h->floor_version = 0;
			h->inferred = 1;
		}
		h->term = rec->home_term;
		lb_strlcpy(h->acting, rec->home_peer, sizeof(h->acting));
		if (seq + 1 > h->upto)
			h->upto = seq + 1;
		if (h->voted < h->term)
			h->voted = h->term;
		h->cand_term = 0;
		return 1;
	}
	return 0;
}

size_t
rep_moved(const struct rep *r, struct rep_moved_info *v, size_t max)
{
	size_t	n = 0;

	/* What this peer knows as a member of a set, then what it was
	 * told as any peer. */
	for (size_t i = 0; i < r->nhomes && n < max; i++) {
		const struct home *h = &r->homes[i];

		if (h->term == 0 || h->acting[0] == '\0' ||
		    strcmp(h->acting, h->id) == 0)
			continue;
		v[n++] = (struct rep_moved_info){ h->id, h->acting, h->term,
		    h->upto, h->floor };
	}
	for (size_t i = 0; i < r->nmoved && n < max; i++)
		v[n++] = (struct rep_moved_info){ r->moved[i].home,
		    r->moved[i].acting, r->moved[i].term, r->moved[i].upto,
		    r->moved[i].floor };
	return n;
}

void
rep_acting_floor(const struct rep *r, const char *home, uint64_t *floor,
    uint64_t *floor_version)
{
	*floor = *floor_version = 0;
	for (size_t i = 0; i < r->nhomes; i++)
		if (strcmp(r->homes[i].id, home) == 0) {
			*floor = r->homes[i].floor;
			*floor_version = r->homes[i].floor_version;
		}
}

void
rep_acting_in(struct rep *r, uint64_t now, const char *from,
    const Lb__HomeActing *a, struct rep_out *o)
{
	struct home	*h = lb_id_valid(a->home) ? rep_home(r, a->home, 0) :
			    NULL;

	/* This home, back: another acts for its earlier tasks -- only a
	 * member of its set can have been elected. */
	if (strcmp(a->home, r->self) == 0) {
		int known = member(r, from) >= 0;

		for (size_t j = 0; j < r->nstart; j++)
			if (strcmp(r->start_set[j], from) == 0)
				known = 1;
		if (known && a->term > r->taken_term) {
			r->taken_term = a->term;
			lb_strlcpy(r->taken_by, from, sizeof(r->taken_by));
			r->taken_upto = a->upto;
			r->taken_version = a->upto_version;
			r->stats.takeovers_seen++;
		} else if (known && a->term == r->taken_term) {
			if (a->upto > r->taken_upto)
				r->taken_upto = a->upto;
			if (a->upto_version > r->taken_version)
				r->taken_version = a->upto_version;
		}
		return;
	}
	if (lb_id_valid(a->home) && a->term != 0)
		moved_learn(r, a->home, from, a->term, a->upto, a->floor);
	if (h != NULL && a->term != 0 && a->term == h->term && !h->inferred &&
	    strcmp(from, h->acting) == 0) {
		/* The winner again: what it took may have grown (a member
		 * that learned less before learns all). */
		if (a->upto > h->upto || a->upto_version > h->upto_version) {
			if (a->upto > h->upto)
				h->upto = a->upto;
			if (a->upto_version > h->upto_version)
				h->upto_version = a->upto_version;
			h->unc_at = 0;
			rep_push(o, RA_STATE);
		}
		return;
	}
	if (h == NULL || a->term == 0 || (a->term <= h->term &&
	    !(h->inferred && a->term == h->term)) ||
	    (h->nset != 0 && rep_in_set(h, from) <= 0))
		return;
	h->inferred = 0;	/* (the winner's word, whole) */
	h->term = a->term;
	lb_strlcpy(h->acting, from, sizeof(h->acting));
	h->upto = a->upto;
	h->upto_version = a->upto_version;
	h->floor = a->floor;
	h->floor_version = a->floor_version;
	h->unc_at = 0;
	if (h->voted < a->term)
		h->voted = a->term;
	h->cand_term = 0;
	rep_push(o, RA_STATE);
	(void)now;
}

size_t
rep_acting_for(const struct rep *r, const char **homes, uint32_t *terms,
    uint64_t *uptos, size_t max)
{
	size_t	n = 0;

	for (size_t i = 0; i < r->nhomes && n < max; i++)
		if (r->homes[i].term != 0 && strcmp(r->homes[i].acting,
		    r->self) == 0) {
			homes[n] = r->homes[i].id;
			terms[n] = r->homes[i].term;
			uptos[n++] = r->homes[i].upto;
		}
	return n;
}

const char *
rep_acting(const struct rep *r, const char *home, uint32_t *term,
    uint64_t *upto)
{
	struct home	*h = rep_home((struct rep *)r, home, 0);

	if (h == NULL)
		return NULL;
	*term = h->term;
	*upto = h->upto;
	return h->term ? h->acting : h->id;
}

/* ---- on disk: one line each, words separated by spaces ----
 *
 *   set ID...				this home's set
 *   home ID T V ACTING UPTO ID...	a home: term, vote, who acts ("-"
 *					for none), upto, its set
 */

char *
rep_state_dump(const struct rep *r)
{
	size_t	 cap = 64 + (r->nhomes + 1) * (REP_ALL + 6) * (LB_ID_MAX + 24);
	char	*b = lb_calloc(1, cap);
	size_t	 at = 0;

	at += (size_t)snprintf(b + at, cap - at, "set");
	for (size_t i = 0; i < r->nset; i++)
		at += (size_t)snprintf(b + at, cap - at, " %s", r->set[i].id);
	at += (size_t)snprintf(b + at, cap - at, "\n");
	/* Another took over this home's tasks below upto: known at once
	 * after a restart (read back, they are let go again at the first
	 * tick, before this home acts: their forgetting may not have
	 * reached the disk). */
	if (r->taken_term != 0 && lb_id_valid(r->taken_by))
		at += (size_t)snprintf(b + at, cap - at, "taken %u %s %llu "
		    "%llu\n", r->taken_term, r->taken_by,
		    (unsigned long long)r->taken_upto,
		    (unsigned long long)r->taken_version);
	for (size_t i = 0; i < r->nhomes; i++) {
		const struct home *h = &r->homes[i];

		if (h->term == 0 && h->voted == 0 && h->nset == 0)
			continue;
		at += (size_t)snprintf(b + at, cap - at, "home %s %u %u %s "
		    "%llu", h->id, h->term, h->voted, h->acting[0] ?
		    h->acting : "-", (unsigned long long)h->upto);
		/* ("UPTO/VERSION/FLOOR/FLOOR_VERSION/INFERRED") */
		if (h->upto_version != 0 || h->floor != 0 ||
		    h->floor_version != 0 || h->inferred)
			at += (size_t)snprintf(b + at, cap - at,
			    "/%llu/%llu/%llu/%d",
			    (unsigned long long)h->upto_version,
			    (unsigned long long)h->floor,
			    (unsigned long long)h->floor_version, h->inferred);
		for (size_t j = 0; j < h->nset; j++)
			at += (size_t)snprintf(b + at, cap - at, " %s",
			    h->set[j]);
		at += (size_t)snprintf(b + at, cap - at, "\n");
	}
	return b;
}

void
rep_state_load(struct rep *r, uint64_t now, const char *text)
{
	char	*copy = lb_strdup(text), *line, *save = NULL;

	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char *w[3 + REP_ALL + 6], *ws = NULL;
		size_t n = 0;

		for (char *t = strtok_r(line, " ", &ws); t != NULL &&
		    n < sizeof(w) / sizeof(w[0]); t = strtok_r(NULL, " ", &ws))
			w[n++] = t;
		if (n >= 1 && strcmp(w[0], "set") == 0) {
			r->nset = r->nstart = 0;
			for (size_t i = 1; i < n && r->nset < REP_SET_MAX; i++) {
				if (!lb_id_valid(w[i]) || strcmp(w[i],
				    r->self) == 0)
					continue;
				memset(&r->set[r->nset], 0, sizeof(r->set[0]));
				lb_strlcpy(r->set[r->nset].id, w[i],
				    sizeof(r->set[0].id));
				r->set[r->nset].since = now;
				lb_strlcpy(r->start_set[r->nstart++], w[i],
				    sizeof(r->start_set[0]));
				r->nset++;
			}
			/* (with fewer than two, no other could have been
			 * elected: nothing to learn first) */
			r->ready = r->nstart < 2;
		} else if ((n == 4 || n == 5) && strcmp(w[0], "taken") == 0 &&
		    lb_id_valid(w[2])) {
			r->taken_term = (uint32_t)strtoul(w[1], NULL, 10);
			lb_strlcpy(r->taken_by, w[2], sizeof(r->taken_by));
			r->taken_upto = strtoull(w[3], NULL, 10);
			if (n == 5)
				r->taken_version = strtoull(w[4], NULL, 10);
		} else if (n >= 6 && strcmp(w[0], "home") == 0 &&
		    lb_id_valid(w[1]) && strcmp(w[1], r->self) != 0) {
			struct home *h = rep_home(r, w[1], 1);

			if (h == NULL)
				continue;
			h->term = (uint32_t)strtoul(w[2], NULL, 10);
			h->voted = (uint32_t)strtoul(w[3], NULL, 10);
			if (lb_id_valid(w[4]))
				lb_strlcpy(h->acting, w[4], sizeof(h->acting));
			{
				char *end;

				h->upto = strtoull(w[5], &end, 10);
				if (*end == '/')
					h->upto_version = strtoull(end + 1,
					    &end, 10);
				if (*end == '/')
					h->floor = strtoull(end + 1, &end, 10);
				if (*end == '/')
					h->floor_version = strtoull(end + 1,
					    &end, 10);
				if (*end == '/')
					h->inferred = end[1] == '1';
			}
			h->nset = 0;
			for (size_t i = 6; i < n && h->nset < REP_ALL; i++)
				if (lb_id_valid(w[i]))
					lb_strlcpy(h->set[h->nset++], w[i],
					    sizeof(h->set[0]));
			h->heard_ms = now;
			h->voted_at = now;
		}
	}
	free(copy);
}
