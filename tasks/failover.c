/*
 * failover.c - replicated homes, the part that keeps one acting home per
 * home: the home's lease (its set: repset.c), elections among the
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
#define CONFIRM_EVERY_MS	500	/* a win not yet held by a majority:
					 * asked again */
/* The winner tells every live peer (not only the set) that it acts for
 * the home: every ALL_EVERY_MS for ALL_FOR_MS from its win or its start,
 * and whenever a peer comes alive; hosts outside the set send what they
 * would say to the home to it (tasks_home_acting). */
#define ALL_EVERY_MS		5000
#define ALL_FOR_MS		60000

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

void
rep_heard(struct rep *r, uint64_t now, const char *from,
    const Lb__ReplicaAck *a)
{
	int	i = rep_member(r, from);
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
	/* (a newcomer at its start is not counted: see rep_members) */
	for (size_t j = 0; j < r->nstart; j++) {
		int m = rep_member(r, r->start_set[j]);

		if ((r->answered & (1u << j)) && (m < 0 ||
		    !r->set[m].pending))
			count++;
	}
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
		if (!r->set[i].pending && r->set[i].heard != 0 &&
		    r->set[i].heard + r->conf.lease_ms >= now)
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
		heard[n++] = r->set[i].pending ? 0 : r->set[i].heard;
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

void
rep_older(struct rep *r, const char *const *ids, size_t n)
{
	r->older = lb_reallocarray(r->older, n + 1, sizeof(*r->older));
	r->nolder = 0;
	for (size_t i = 0; i < n; i++)
		lb_strlcpy(r->older[r->nolder++], ids[i], sizeof(r->older[0]));
}

static int
older(const struct rep *r, const char *id)
{
	for (size_t i = 0; i < r->nolder; i++)
		if (strcmp(r->older[i], id) == 0)
			return 1;
	return 0;
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
		    all[i]->id[len] == '.' && (all[i]->home_peer == NULL ||
		    all[i]->home_peer[0] == '\0');	/* (as adopt in
							 * node/home.c) */

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

/* This peer acts for home `h`: told (HomeActing) to the members of its
 * set (the home too, if it is back), or (`all`) to every live peer
 * outside the set. */
/* A HomeActing for home `h` in `term`, for its range (upto, upto_version,
 * floor, floor_version: the won_ ones of a win not held yet). */
static void
acting_msg(Lb__HomeActing *a, const struct home *h, uint32_t term,
    const uint64_t range[4])
{
	a->home = (char *)h->id;
	a->term = term;
	a->upto = range[0];
	a->upto_version = range[1];
	a->floor = range[2];
	a->floor_version = range[3];
}

void
rep_reply_takeover(Lb__HomeVoteReply *v, const struct home *h)
{
	v->acting_term = h->term;
	v->acting = (char *)h->acting;
	v->upto = h->upto;
	v->upto_version = h->upto_version;
	v->floor = h->floor;
	v->floor_version = h->floor_version;
}

static void
tell_acting(struct rep *r, uint64_t now, struct home *h, int all,
    struct rep_out *o)
{
	Lb__HomeActing	a = LB__HOME_ACTING__INIT;
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;
	const uint64_t	range[4] = { h->upto, h->upto_version, h->floor,
			    h->floor_version };

	acting_msg(&a, h, h->term, range);
	m.body_case = LB__PEER_MSG__BODY_HOME_ACTING;
	m.home_acting = &a;
	if (all) {
		for (size_t j = 0; j < r->nalive; j++)
			if (strcmp(r->alive[j], r->self) != 0 &&
			    rep_in_set(h, r->alive[j]) < 0)
				rep_push_msg(o, RA_VOTE, r->alive[j], &m);
		h->all_sent = now;
	} else {
		for (size_t j = 0; j < h->nset; j++)
			if (strcmp(h->set[j], r->self) != 0)
				rep_push_msg(o, RA_VOTE, h->set[j], &m);
		h->acting_sent = now;
	}
}

static void	confirm_send(struct rep *, uint64_t, struct home *,
		    struct rep_out *);
static void	confirm_reply(struct rep *, uint64_t, struct home *, int,
		    const Lb__HomeVoteReply *, struct rep_out *);

void
rep_elections(struct rep *r, uint64_t now, struct rep_out *o)
{
	/* Without leases a home cut off would not stop: nobody stands. */
	if (r->conf.lease_ms == 0 || r->conf.takeover_ms == 0)
		return;
	for (size_t i = 0; i < r->nhomes; i++) {
		struct home	*h = &r->homes[i];
		int		 mine = rep_in_set(h, r->self), wait = 0;
		uint64_t	 from;

		if (h->term != 0 && strcmp(h->acting, r->self) == 0 &&
		    h->all_until == 0)
			h->all_until = now + ALL_FOR_MS;	/* (its start) */

		/* Acting for it: the set is told again, every second, so
		 * that a member that missed it (and the home, back) learn. */
		if (h->term != 0 && strcmp(h->acting, r->self) == 0 &&
		    now >= h->acting_sent + 1000)
			tell_acting(r, now, h, 0, o);
		/* ... and every live peer, for a while (and whenever one
		 * more is alive). */
		if (h->term != 0 && strcmp(h->acting, r->self) == 0 &&
		    ((now < h->all_until && now >= h->all_sent +
		    ALL_EVERY_MS) || r->announce))
			tell_acting(r, now, h, 1, o);
		/* Won, its win not yet on a majority: asked again (whether
		 * or not the home is back: a member may hold it already). */
		if (h->won_term != 0) {
			if (now >= h->won_sent + CONFIRM_EVERY_MS)
				confirm_send(r, now, h, o);
			continue;
		}
		/* Nothing to take over; or taken over already (its records
		 * live on in the acting home's stream), unless the home came
		 * back, acted for newer tasks, and is gone again. */
		if (h->records == 0 || mine <= 0 || (h->term != 0 &&
		    !uncovered(r, h, now))) {
			h->cand_term = 0;	/* (no longer an open vote) */
			continue;
		}
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
		/* (it voted for another lately: that one may be asking the
		 * set to hold its win) */
		if (h->voted > h->self_term && h->voted > h->term &&
		    now < h->voted_at + ELECT_TIMEOUT_MS)
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
	 * takeover, for the newer tasks only; and only by a member of the
	 * set as this peer knows it: one told it was replaced votes no
	 * more, or a candidate that still counts it would win with the
	 * set before the change while the home acts with the one after) */
	if (h != NULL && v->term > h->voted && v->term > h->term &&
	    v->after_term >= h->term && h->won_term == 0 &&
	    (h->nset == 0 || (rep_in_set(h, from) > 0 &&
	    rep_in_set(h, r->self) > 0)) && now >= h->heard_ms +
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
		if (h->term > v->after_term && lb_id_valid(h->acting))
			rep_reply_takeover(&a, h);
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
	int			 idx, count = 0;

	if (h == NULL || h->cand_term == 0 || v->term != h->cand_term ||
	    h->cand_term <= h->term || (idx = rep_in_set(h, from)) <= 0)
		return;
	/* This peer's own win, named back by a member that holds it already
	 * (its answer to a late copy of this peer's vote): a hold, as its
	 * answer to the confirm says, not a takeover missed.  Learned as
	 * one, this peer would act without adopting the home's records
	 * (seed 60548 of tasks_sim: a task it hosted asked it, as its home,
	 * for a lease for ever): it acts only on holds it counted itself. */
	if (!v->granted && h->won_term != 0 && v->acting_term == h->won_term &&
	    lb_id_valid(v->acting) && strcmp(v->acting, r->self) == 0) {
		Lb__HomeVoteReply held = *v;

		held.win_held = 1;
		held.win_refused = 0;
		confirm_reply(r, now, h, idx, &held, o);
		return;
	}
	if (!v->granted && v->acting_term > h->term &&
	    lb_id_valid(v->acting) && strcmp(v->acting, r->self) != 0) {
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
		h->won_term = 0;
		rep_moved_learn(r, h->id, h->acting, h->term, h->upto,
		    h->floor);
		rep_push(o, RA_STATE);
		return;
	}
	if (h->won_term != 0 && v->term == h->won_term &&
	    (v->win_held || v->win_refused)) {
		confirm_reply(r, now, h, idx, v, o);
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
	if ((size_t)count < h->nset / 2 + 1 || h->won_term != 0)
		return;
	/* A majority: this peer won the term (after a takeover before, for
	 * what that one did not cover).  It acts once a majority of the set
	 * holds its win: else, dead before any member heard of it, its own
	 * replicas could act for what it adopted while the home, back, acts
	 * too (the members' votes stop being open after a while). */
	h->won_term = h->cand_term;
	h->won_floor = h->term != 0 ? h->upto : 0;
	/* (the records the home had taken over: those above the version the
	 * first winner held; all of them its, when it did not say) */
	h->won_floor_version = h->term == 0 ? 0 : h->upto_version != 0 ?
	    h->upto_version : UINT64_MAX;
	h->won_upto = highest_task(r, h->id) + 1;
	if (h->won_upto < h->won_floor)
		h->won_upto = h->won_floor;	/* (never below the earlier
						 * range) */
	h->won_upto_version = h->newest;
	h->won_held = 1u << rep_in_set(h, r->self);
	for (size_t j = 1; j < h->nset; j++)
		if ((h->votes & (1u << j)) && older(r, h->set[j]))
			h->won_held |= 1u << j;
	h->won_refused = 0;
	rep_push(o, RA_STATE);	/* (asked on after a restart) */
	confirm_send(r, now, h, o);
	confirm_reply(r, now, h, 0, NULL, o);	/* (older voters: enough) */
}

/* Ask the members that have not answered to hold this peer's win (an
 * older build, which would take the ask for the winner's word, is not
 * asked: its vote stands for its hold). */
static void
confirm_send(struct rep *r, uint64_t now, struct home *h, struct rep_out *o)
{
	Lb__HomeActing	a = LB__HOME_ACTING__INIT;
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;
	const uint64_t	range[4] = { h->won_upto, h->won_upto_version,
			    h->won_floor, h->won_floor_version };

	acting_msg(&a, h, h->won_term, range);
	a.confirm = 1;
	m.body_case = LB__PEER_MSG__BODY_HOME_ACTING;
	m.home_acting = &a;
	/* (not the home: it does not hold wins, it lets its tasks go) */
	for (size_t j = 1; j < h->nset; j++)
		if (strcmp(h->set[j], r->self) != 0 &&
		    !((h->won_held | h->won_refused) & (1u << j)) &&
		    !older(r, h->set[j]))
			rep_push_msg(o, RA_VOTE, h->set[j], &m);
	h->won_sent = now;
}

/* A member's answer to a confirm: a majority holds the win, this peer
 * acts; a majority can no longer hold it, it gives the term up. */
static void
confirm_reply(struct rep *r, uint64_t now, struct home *h, int idx,
    const Lb__HomeVoteReply *v, struct rep_out *o)
{
	struct rep_action	*ad;
	int			 held = 0, open = 0;

	if (v == NULL)
		;	/* (counted as they are) */
	else if (v->win_held)
		h->won_held |= 1u << idx;
	else if (v->win_refused)
		h->won_refused |= 1u << idx;
	else
		return;
	for (size_t j = 1; j < h->nset; j++) {
		if (h->won_held & (1u << j))
			held++;
		else if (!(h->won_refused & (1u << j)))
			open++;
	}
	/* (held counts this peer: the members are set[1..], the home set[0]
	 * never holds a win) */
	if (held == 1 && open == 0) {
		/* Every other member refused: given up (its vote is no
		 * longer open: the home may act).  (With a member holding
		 * it, or one that has not answered and may hold it yet -- a
		 * set of five or more -- it is asked on: a member holding it
		 * tells the home that this peer acts.  doc/protocol.md,
		 * "Holding a win before acting".) */
		h->won_term = 0;
		h->cand_term = 0;
		r->stats.wins_refused++;
		return;
	}
	if ((size_t)held < h->nset / 2 + 1)
		return;
	h->floor = h->won_floor;
	h->floor_version = h->won_floor_version;
	h->unc_at = 0;
	h->inferred = 0;
	h->term = h->won_term;
	h->won_term = 0;
	h->cand_term = 0;
	lb_strlcpy(h->acting, r->self, sizeof(h->acting));
	h->upto = h->won_upto;
	h->upto_version = h->won_upto_version;
	r->stats.won++;
	rep_push(o, RA_STATE);
	ad = rep_push(o, RA_ADOPT);
	lb_strlcpy(ad->id, h->id, sizeof(ad->id));
	ad->term = h->term;
	ad->upto = h->upto;
	ad->floor = h->floor;
	ad->floor_version = h->floor_version;
	ad->upto_version = h->upto_version;
	tell_acting(r, now, h, 0, o);
	h->all_until = now + ALL_FOR_MS;
	tell_acting(r, now, h, 1, o);
}

uint32_t
rep_confirming(const struct rep *r, const char *home)
{
	for (size_t i = 0; i < r->nhomes; i++)
		if (strcmp(r->homes[i].id, home) == 0)
			return r->homes[i].won_term;
	return 0;
}
