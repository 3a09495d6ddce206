/*
 * repset.c - replicated homes: a home's replica set.  It keeps its
 * members, grows to its size from the live peers that rank first, and
 * gives the place of a member dead for replace_ms to the next of them,
 * one change at a time; a newcomer counts for nothing until a majority of
 * the set before the change holds the new set (doc/replication.md,
 * "Catch-up and refill").
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/util.h"
#include "tasks/replica.h"
#include "tasks/replica_int.h"

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

int
rep_member(const struct rep *r, const char *id)
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
	 * from all its set cannot count itself a majority.  One change at a
	 * time: the newcomer counts for nothing (home lease, commits) until
	 * a majority of the set before it holds the new set (rep_pend_heard).
	 * Else a home cut off with a peer it took in counts that one, while
	 * the member it dropped votes, on the other side, with the set it
	 * knew, and a replica there acts too. */
	k = rep_pending(r) ? 0 : rep_rank(r->self, ids, n, best, REP_ALL);
	for (size_t c = 0; c < k; c++) {
		struct rep_peer *s = NULL;
		size_t old = r->nset + 1;

		if (rep_member(r, best[c]) >= 0)
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
		replaced = old == r->nset + 1;
		if (replaced)
			lb_strlcpy(r->pend_gone, s->id, sizeof(r->pend_gone));
		else
			r->pend_gone[0] = '\0';
		memset(s, 0, sizeof(*s));
		lb_strlcpy(s->id, best[c], sizeof(s->id));
		s->since = now;
		r->last_send[s - r->set] = 0;
		r->voted_seen[s - r->set] = 0;
		changed = 1;
		/* A set before it of this home and one other at most elects
		 * no one (a candidate needs the home's vote): nothing to
		 * wait for. */
		if (old >= 3) {
			s->pending = 1;
			r->pend_at = now;
			r->pend_old = old;
			r->pend_acks = 0;
			r->pend_gone_sent = 0;
			break;
		}
		r->pend_gone[0] = '\0';
		if (replaced)
			break;	/* one member replaced at a time */
	}
	if (changed) {
		r->set_gen++;
		r->stats.set_changes++;
	}
}

int
rep_pending(const struct rep *r)
{
	for (size_t i = 0; i < r->nset; i++)
		if (r->set[i].pending)
			return 1;
	return 0;
}

/* A peer of the set before a change (a member of both, or the one it
 * replaced) answered a put sent after the change, which carried the new
 * set, without an open vote and without news of a takeover: once with
 * this home they are a majority of that set, the newcomer counts.  (The
 * one replaced, alive again, is sent heartbeats for this: else, the
 * others of the set before dead, the change is never held and this home
 * never acts again.) */
void
rep_pend_heard(struct rep *r, uint64_t now, const char *from,
    const Lb__ReplicaAck *a)
{
	int	i = rep_member(r, from);
	size_t	held = 1;

	/* (nor one that knows of a takeover this home has not let go: the
	 * set that elected it was the one before, and it may act) */
	if (r->pend_at == 0 || a->voted != 0 || a->sent_ms <= r->pend_at ||
	    a->sent_ms > now || (a->term > r->relinquished &&
	    lb_id_valid(a->acting) && strcmp(a->acting, r->self) != 0))
		return;
	if (i >= 0 && !r->set[i].pending)
		r->pend_acks |= 1u << i;
	else if (i < 0 && r->pend_gone[0] != '\0' &&
	    strcmp(from, r->pend_gone) == 0 && a->left_out) {
		/* The one replaced, which says it votes no more (an older
		 * build does not), and only while the others of both sets
		 * that have not answered are dead to this home: one alive
		 * would, and else, this home gone before it heard the new
		 * set, it still holds the old one, refuses the newcomer, and
		 * the one replaced votes for no one -- none could take
		 * over. */
		for (size_t j = 0; j < r->nset; j++)
			if (!r->set[j].pending &&
			    !(r->pend_acks & (1u << j)) &&
			    rep_is_alive(r, r->set[j].id))
				return;
		r->pend_acks |= 1u << REP_SET_MAX;
	} else
		return;
	for (size_t j = 0; j <= REP_SET_MAX; j++)
		if (r->pend_acks & (1u << j))
			held++;
	if (held < r->pend_old / 2 + 1)
		return;
	for (size_t j = 0; j < r->nset; j++)
		r->set[j].pending = 0;
	r->pend_at = 0;
	r->pend_acks = 0;
	r->pend_gone[0] = '\0';
	r->set_gen++;	/* (on disk without it) */
	r->stats.set_confirmed++;
}

/* While a change is not held: a heartbeat to the member it replaced,
 * alive to this home (its answer counts, rep_pend_heard). */
void
rep_pend_tick(struct rep *r, uint64_t now, struct rep_out *o)
{
	Lb__ReplicaPut	put = LB__REPLICA_PUT__INIT;

	if (r->pend_at == 0 || r->pend_gone[0] == '\0' ||
	    !rep_is_alive(r, r->pend_gone) ||
	    (r->pend_gone_sent != 0 && now < r->pend_gone_sent +
	    r->conf.heartbeat_ms))
		return;
	put.stream = r->conf.stream;
	put.after = put.top = r->version;	/* (nothing to apply) */
	rep_put_send(r, &put, r->pend_gone, now, o);
	r->pend_gone_sent = now;
}

uint64_t
rep_set_gen(const struct rep *r)
{
	return r->set_gen;
}
