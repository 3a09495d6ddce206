/*
 * takeover.c - replicated homes, what a takeover leaves behind: who acts
 * for which home, as the winner says it (HomeActing) or as a record taken
 * over shows it, kept per home and term for the peers that route to it;
 * and the set, the terms and the votes as text on disk (the caller keeps
 * it; doc/replication.md, doc/protocol.md).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/util.h"
#include "tasks/replica.h"
#include "tasks/replica_int.h"

/* `acting` says it acts for `home`'s tasks below `upto` in `term`: where
 * this peer sends what it would say to that home about them (a home taken
 * over twice is there twice; at most REP_HOMES_MAX, the lowest term given
 * up first). */
void
rep_moved_learn(struct rep *r, const char *home, const char *acting,
    uint32_t term, uint64_t upto, uint64_t floor)
{
	if (strcmp(acting, home) != 0)
		tasks_moved_learn(r->moved, &r->nmoved, REP_HOMES_MAX, home,
		    acting, term, upto, floor);
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
	rep_moved_learn(r, named, rec->home_peer, rec->home_term, seq + 1, 0);
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
		if (h->won_term != 0 && h->won_term <= h->term)
			h->won_term = 0;	/* (a win of its own, not
						 * acted on: another's since) */
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

size_t
rep_home_set(const struct rep *r, const char *home, const char **ids,
    size_t max)
{
	size_t	n = 0;

	for (size_t i = 0; i < r->nhomes; i++)
		if (strcmp(r->homes[i].id, home) == 0)
			for (size_t j = 0; j < r->homes[i].nset && n < max; j++)
				ids[n++] = r->homes[i].set[j];
	return n;
}

void
rep_acting_floor(const struct rep *r, const char *home, uint64_t *floor,
    uint64_t *floor_version, uint64_t *upto_version)
{
	*floor = *floor_version = *upto_version = 0;
	for (size_t i = 0; i < r->nhomes; i++)
		if (strcmp(r->homes[i].id, home) == 0) {
			*floor = r->homes[i].floor;
			*floor_version = r->homes[i].floor_version;
			*upto_version = r->homes[i].upto_version;
		}
}

static void	hold_win(struct rep *, const char *, struct home *,
		    const Lb__HomeActing *, struct rep_out *);
static void	confirm_in(struct rep *, uint64_t, const char *,
		    struct home *, const Lb__HomeActing *, struct rep_out *);

void
rep_acting_in(struct rep *r, uint64_t now, const char *from,
    const Lb__HomeActing *a, struct rep_out *o)
{
	struct home	*h = lb_id_valid(a->home) ? rep_home(r, a->home, 0) :
			    NULL;

	/* This home, back: another acts for its earlier tasks -- only a
	 * member of its set can have been elected. */
	if (strcmp(a->home, r->self) == 0) {
		int known = rep_member(r, from) >= 0;

		if (a->confirm)
			return;	/* (a win not held yet: nothing to let go) */

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
	if (a->confirm) {
		confirm_in(r, now, from, h, a, o);
		return;
	}
	if (lb_id_valid(a->home) && a->term != 0)
		rep_moved_learn(r, a->home, from, a->term, a->upto, a->floor);
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
	    (h->nset != 0 && rep_in_set(h, from) <= 0) ||
	    a->term <= h->promised)
		return;
	hold_win(r, from, h, a, o);
	(void)now;
}

/* Hold the win of `from` in `a->term` for home `h` (on disk before any
 * answer goes). */
static void
hold_win(struct rep *r, const char *from, struct home *h,
    const Lb__HomeActing *a, struct rep_out *o)
{
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
	h->won_term = 0;	/* (a win of its own in a lower term: a
				 * majority holds this one, never that) */
	rep_push(o, RA_STATE);
	(void)r;
}

/* A winner asks this member to hold its win before it acts: held (and on
 * disk) unless this peer promised the home no win of that term (it no
 * longer reports its vote as open, and the home may have acted since),
 * voted for another in a later one (a later candidacy of its own, not
 * won, it gives up: no one else acts on that term's votes), knows a
 * later takeover, or has heard from the
 * home within takeover_ms (it may have answered the home, which counts
 * that answer towards acting: as a vote, a hold waits until the home's
 * lease, counted from that answer, has run out). */
static void
confirm_in(struct rep *r, uint64_t now, const char *from, struct home *h,
    const Lb__HomeActing *a, struct rep_out *o)
{
	Lb__HomeVoteReply	 v = LB__HOME_VOTE_REPLY__INIT;
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;

	if (h == NULL && lb_id_valid(a->home))
		h = rep_home(r, a->home, 1);	/* (a blank member) */
	if (h == NULL || a->term == 0 || (h->nset != 0 &&
	    rep_in_set(h, from) <= 0))
		return;
	v.home = h->id;
	v.term = a->term;
	if (a->term == h->term && strcmp(h->acting, from) == 0)
		v.win_held = 1;		/* (asked again: held already) */
	else if (a->term <= h->promised || (a->term < h->voted &&
	    (h->voted != h->self_term || h->won_term != 0)) ||
	    a->term <= h->term || now < h->heard_ms + r->conf.takeover_ms) {
		v.win_refused = 1;
		v.voted = h->voted > h->term ? h->voted : h->term;
		if (h->term > a->term && lb_id_valid(h->acting))
			rep_reply_takeover(&v, h);
	} else {
		hold_win(r, from, h, a, o);
		rep_moved_learn(r, h->id, from, a->term, a->upto, a->floor);
		v.win_held = 1;
	}
	m.body_case = LB__PEER_MSG__BODY_HOME_VOTE_REPLY;
	m.home_vote_reply = &v;
	rep_push_msg(o, RA_VOTE, from, &m);
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
 *					for none), upto, its set (V may be
 *					VOTED:PROMISED; UPTO, as said below)
 *   won ID T UPTO UV FLOOR FV		won in term T, not yet held by a
 *					majority (after its home line)
 *   taken T BY UPTO VERSION		this home's tasks taken over
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
	/* A newcomer not yet counted: after a restart too (puts with the new
	 * set may have reached some; counted, or the set it replaced taken
	 * back, two majorities could act). */
	for (size_t i = 0; i < r->nset; i++)
		if (r->set[i].pending)
			at += (size_t)snprintf(b + at, cap - at,
			    "pending %s %zu %s\n", r->set[i].id, r->pend_old,
			    r->pend_gone[0] != '\0' ? r->pend_gone : "-");
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
		/* ("VOTED:PROMISED") */
		at += (size_t)snprintf(b + at, cap - at, "home %s %u %u", h->id,
		    h->term, h->voted);
		if (h->promised != 0)
			at += (size_t)snprintf(b + at, cap - at, ":%u",
			    h->promised);
		at += (size_t)snprintf(b + at, cap - at, " %s %llu",
		    h->acting[0] ? h->acting : "-",
		    (unsigned long long)h->upto);
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
		/* A win not yet held by a majority: asked on after a
		 * restart (a member may hold it already). */
		if (h->won_term != 0)
			at += (size_t)snprintf(b + at, cap - at, "won %s %u "
			    "%llu %llu %llu %llu\n", h->id, h->won_term,
			    (unsigned long long)h->won_upto,
			    (unsigned long long)h->won_upto_version,
			    (unsigned long long)h->won_floor,
			    (unsigned long long)h->won_floor_version);
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
		} else if ((n == 3 || n == 4) && strcmp(w[0], "pending") == 0 &&
		    rep_member(r, w[1]) >= 0) {
			size_t old = strtoul(w[2], NULL, 10);

			if (n == 4 && lb_id_valid(w[3]) && rep_member(r, w[3]) < 0)
				lb_strlcpy(r->pend_gone, w[3],
				    sizeof(r->pend_gone));
			r->pend_gone_sent = 0;
			r->set[rep_member(r, w[1])].pending = 1;
			r->pend_at = now;
			r->pend_old = old >= 3 && old <= REP_ALL ? old :
			    r->nset + 1;
			r->pend_acks = 0;
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
			{
				char *end;

				h->voted = (uint32_t)strtoul(w[3], &end, 10);
				if (*end == ':')
					h->promised = (uint32_t)strtoul(end + 1,
					    NULL, 10);
			}
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
		} else if (n == 7 && strcmp(w[0], "won") == 0 &&
		    lb_id_valid(w[1]) && strcmp(w[1], r->self) != 0) {
			struct home *h = rep_home(r, w[1], 0);
			uint32_t t = (uint32_t)strtoul(w[2], NULL, 10);
			int me;

			if (h == NULL || t <= h->term || t < h->voted ||
			    (me = rep_in_set(h, r->self)) <= 0)
				continue;
			h->won_term = h->cand_term = h->self_term = t;
			h->won_upto = strtoull(w[3], NULL, 10);
			h->won_upto_version = strtoull(w[4], NULL, 10);
			h->won_floor = strtoull(w[5], NULL, 10);
			h->won_floor_version = strtoull(w[6], NULL, 10);
			h->won_held = 1u << me;
			h->won_refused = 0;
			h->won_sent = 0;
		}
	}
	free(copy);
}
