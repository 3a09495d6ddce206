/*
 * replica.c - replicated homes, the stream of records: see replica.h and
 * doc/replication.md.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/util.h"
#include "tasks/replica.h"
#include "tasks/replica_int.h"

/* The rendezvous weight of `peer` for `home`. */
static uint64_t
weight(const char *home, const char *peer)
{
	/* FNV-1a from a start of its own (not LB_HASH_INIT): every peer
	 * must rank alike, so it stays what the first release used */
	uint64_t	h = 1469598103934665603ULL;

	h = lb_hash_more(lb_hash_byte(lb_hash_more(h, home), 0xff), peer);
	return lb_mix64(h);
}

size_t
rep_rank(const char *home, const char *const *ids, size_t n,
    const char **best, size_t max)
{
	uint64_t	w[REP_SET_MAX + 1];
	size_t		k = 0;

	if (max > REP_SET_MAX + 1)
		max = REP_SET_MAX + 1;
	for (size_t i = 0; i < n && max > 0; i++) {
		uint64_t x;
		size_t j, at;

		if (strcmp(ids[i], home) == 0)
			continue;
		for (j = 0; j < k && strcmp(best[j], ids[i]) != 0; j++)
			;
		if (j < k)
			continue;	/* the same peer twice counts once */
		x = weight(home, ids[i]);
		/* highest weight first; ties by id, so that every peer
		 * ranks alike */
		for (at = 0; at < k && (w[at] > x || (w[at] == x &&
		    strcmp(best[at], ids[i]) < 0)); at++)
			;
		if (at >= max)
			continue;
		j = k < max ? k : max - 1;
		for (; j > at; j--) {
			w[j] = w[j - 1];
			best[j] = best[j - 1];
		}
		w[at] = x;
		best[at] = ids[i];
		if (k < max)
			k++;
	}
	return k;
}

struct rep *
rep_new(const struct rep_conf *c)
{
	struct rep	*r = lb_calloc(1, sizeof(*r));

	r->conf = *c;
	lb_strlcpy(r->self, c->self, sizeof(r->self));
	r->conf.self = r->self;
	if (r->conf.replicas < 1)
		r->conf.replicas = 1;
	if (r->conf.replicas > REP_SET_MAX + 1)
		r->conf.replicas = REP_SET_MAX + 1;
	if (r->conf.heartbeat_ms == 0)
		r->conf.heartbeat_ms = 1000;
	r->ready = 1;	/* (until rep_state_load names a set) */
	return r;
}

void
rep_free(struct rep *r)
{
	if (r == NULL)
		return;
	for (size_t b = 0; b < HELD_BUCKETS; b++)
		while (r->buckets[b] != NULL) {
			struct held *h = r->buckets[b];
			r->buckets[b] = h->next;
			lb__task_record__free_unpacked(h->rec, NULL);
			free(h);
		}
	rep_keeps_free(r);
	free(r->all);
	free(r->alive);
	free(r->older);
	free(r);
}

struct rep_action *
rep_push(struct rep_out *o, enum rep_kind kind)
{
	struct rep_action	*a;

	if (o->n == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 16;
		o->v = lb_reallocarray(o->v, o->cap, sizeof(*o->v));
	}
	a = &o->v[o->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	return a;
}

void
rep_out_free(struct rep_out *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i].msg);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

void
rep_push_msg(struct rep_out *o, enum rep_kind kind, const char *to,
    const Lb__PeerMsg *m)
{
	struct rep_action	*a = rep_push(o, kind);

	lb_strlcpy(a->to, to, sizeof(a->to));
	a->len = lb__peer_msg__get_packed_size(m);
	a->msg = lb_calloc(1, a->len + 1);
	lb__peer_msg__pack(m, a->msg);
}

/* ---- the home side ---- */

void
rep_stamp(struct rep *r, Lb__TaskRecord *rec)
{
	rec->version = ++r->version;
	if (!tasks_unfinished(rec))
		rep_keeps_drop(r, rec->id);	/* (it runs no more) */
}

void
rep_restored(struct rep *r, const Lb__TaskRecord *rec)
{
	if (rec->version > r->version)
		r->version = rec->version;
}

uint64_t
rep_version(const struct rep *r)
{
	return r->version;
}

const struct rep_peer *
rep_set(const struct rep *r, size_t *n)
{
	*n = r->nset;
	return r->set;
}

/* One item of a put: a record, or a change to a task's kept messages. */
struct pick {
	uint64_t		 version;
	const Lb__TaskRecord	*rec;
	const struct rep_kitem	*keep;
};

static int
by_version(const void *a, const void *b)
{
	const struct pick	*x = a, *y = b;

	return x->version < y->version ? -1 : x->version > y->version;
}

/* Send `put` to `to`, with the set as it is now (this home first). */
void
rep_put_send(struct rep *r, Lb__ReplicaPut *put, const char *to,
    uint64_t now, struct rep_out *o)
{
	Lb__PeerMsg	 m = LB__PEER_MSG__INIT;
	char		*set[REP_ALL];

	set[0] = r->self;
	for (size_t j = 0; j < r->nset; j++)
		set[j + 1] = r->set[j].id;
	put->n_set = r->nset + 1;
	put->set = set;
	put->sent_ms = now;
	m.body_case = LB__PEER_MSG__BODY_REPLICA_PUT;
	m.replica_put = put;
	rep_push_msg(o, RA_PUT, to, &m);
	r->stats.puts_sent++;
}

/* Put the records and keeps of (base, version] to one member of the set,
 * at most a batch: the put's top is the last one it holds when it is cut
 * short. */
static void
put_to(struct rep *r, size_t i, uint64_t now,
    const Lb__TaskRecord *const *recs, size_t n, struct rep_out *o)
{
	struct rep_peer		*s = &r->set[i];
	const struct rep_kitem	*kf;
	size_t			 nk = rep_keeps_in_range(r, s->sent, r->version,
				    &kf);
	struct pick		*pick = lb_calloc(n + nk + 1, sizeof(*pick));
	Lb__ReplicaItem		*items = NULL, **itemp = NULL;
	Lb__ReplicaPut		 put = LB__REPLICA_PUT__INIT;
	size_t			 k = 0;
	uint64_t		 top = r->version;

	for (size_t j = 0; j < n; j++)
		if (recs[j]->version > s->sent && recs[j]->version <= top) {
			pick[k].version = recs[j]->version;
			pick[k++].rec = recs[j];
		}
	for (size_t j = 0; j < nk; j++) {
		pick[k].version = kf[j].version;
		pick[k++].keep = &kf[j];
	}
	qsort(pick, k, sizeof(*pick), by_version);
	if (k > REP_BATCH) {
		k = REP_BATCH;
		top = pick[k - 1].version;
	}
	/* and at most put_bytes (one item at least) */
	if (r->conf.put_bytes > 0) {
		size_t bytes = 0;

		for (size_t j = 0; j < k; j++) {
			bytes += pick[j].rec != NULL ?
			    lb__task_record__get_packed_size(pick[j].rec) :
			    lb__mailbox_keep__get_packed_size(pick[j].keep->kb);
			if (j > 0 && bytes > r->conf.put_bytes) {
				k = j;
				top = pick[k - 1].version;
				break;
			}
		}
	}
	if (k > 0) {
		items = lb_calloc(k, sizeof(*items));
		itemp = lb_calloc(k, sizeof(*itemp));
	}
	for (size_t j = 0; j < k; j++) {
		lb__replica_item__init(&items[j]);
		if (pick[j].rec != NULL)
			items[j].record = (Lb__TaskRecord *)pick[j].rec;
		else {
			items[j].keep = pick[j].keep->kb;
			items[j].keep_version = pick[j].keep->version;
			items[j].keep_anew = pick[j].keep->anew;
			r->stats.keeps_sent++;
		}
		itemp[j] = &items[j];
	}
	put.stream = r->conf.stream;
	put.after = s->sent;
	put.top = top;
	put.n_items = k;
	put.items = itemp;
	rep_put_send(r, &put, s->id, now, o);
	r->stats.items_sent += k;
	s->sent = top;
	r->last_send[i] = now;
	free(items);
	free(itemp);
	free(pick);
}

void
rep_tick(struct rep *r, uint64_t now, const Lb__TaskRecord *const *recs,
    size_t n, struct rep_out *o)
{
	for (size_t i = 0; i < r->nset; i++) {
		struct rep_peer *s = &r->set[i];

		/* Silent since the last put: what it has not acknowledged
		 * goes again (it may have been lost). */
		if (s->acked < s->sent && now >= r->last_send[i] +
		    r->conf.retry_ms)
			s->sent = s->acked;
		/* What is new; or nothing, as a heartbeat (the home lease
		 * rests on the answers). */
		if (s->sent < r->version || now >= r->last_send[i] +
		    r->conf.heartbeat_ms)
			put_to(r, i, now, recs, n, o);
	}
	rep_pend_tick(r, now, o);
	rep_elections(r, now, o);
}

void
rep_flush(struct rep *r, uint64_t now, const Lb__TaskRecord *const *recs,
    size_t n, struct rep_out *o)
{
	for (size_t i = 0; i < r->nset; i++)
		if (r->set[i].sent < r->version)
			put_to(r, i, now, recs, n, o);
}

void
rep_ack_in(struct rep *r, uint64_t now, const char *from,
    const Lb__ReplicaAck *a)
{
	struct rep_peer	*s = NULL;

	for (size_t i = 0; i < r->nset; i++)
		if (strcmp(r->set[i].id, from) == 0)
			s = &r->set[i];
	if (a->stream != r->conf.stream)
		return;		/* of an earlier life */
	rep_pend_heard(r, now, from, a);
	if (s == NULL) {
		/* The member a change not yet held replaced (asked, for
		 * that change): what it knows of a takeover is learned too,
		 * nothing else. */
		if (r->pend_at != 0 && strcmp(from, r->pend_gone) == 0)
			rep_heard(r, now, from, a);
		return;		/* not of the set */
	}
	r->stats.acks_in++;
	rep_heard(r, now, from, a);
	/* A member with an open vote (a candidate may win with it): what
	 * it holds counts for no commit (the winner's records need not have
	 * it).  (One that knows a takeover says so in every ack: the home
	 * lets the tasks taken go, then goes on with its set.) */
	if (a->voted != 0)
		return;
	if (a->gap) {
		/* It holds less than was assumed: from there again. */
		r->stats.gaps_in++;
		if (a->upto < s->sent) {
			s->sent = a->upto;
			if (s->acked > a->upto)
				s->acked = a->upto;
		}
		return;
	}
	if (a->upto > s->sent)
		return;		/* more than was sent: not believed */
	if (a->upto > s->acked) {
		s->acked = a->upto;
		s->since = now;
	}
}

static int
cmp_desc(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x > y ? -1 : x < y;
}

uint64_t
rep_committed(const struct rep *r)
{
	uint64_t	v[REP_SET_MAX + 1];
	size_t		m = 0;

	v[m++] = r->version;
	for (size_t i = 0; i < r->nset; i++)
		v[m++] = r->set[i].pending ? 0 : r->set[i].acked;
	qsort(v, m, sizeof(*v), cmp_desc);
	/* a majority of the m hold at least v[m / 2] (a newcomer not yet
	 * counted holds nothing: a majority of the set before it, too) */
	return v[m / 2];
}

/* ---- the replica side ---- */

static uint32_t
hash_id(const char *s)
{
	uint32_t	h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static struct held **
held_slot(const struct rep *r, const char *id)
{
	struct held	**hp = (struct held **)&r->buckets[hash_id(id) %
			    HELD_BUCKETS];

	while (*hp != NULL && strcmp((*hp)->rec->id, id) != 0)
		hp = &(*hp)->next;
	return hp;
}

const Lb__TaskRecord *
rep_held(const struct rep *r, const char *id)
{
	struct held	**hp = held_slot(r, id);

	return *hp ? (*hp)->rec : NULL;
}

struct home *
rep_home(struct rep *r, const char *home, int make)
{
	for (size_t i = 0; i < r->nhomes; i++)
		if (strcmp(r->homes[i].id, home) == 0)
			return &r->homes[i];
	if (!make || r->nhomes == REP_HOMES_MAX)
		return NULL;
	memset(&r->homes[r->nhomes], 0, sizeof(r->homes[0]));
	lb_strlcpy(r->homes[r->nhomes].id, home, sizeof(r->homes[0].id));
	return &r->homes[r->nhomes++];
}

static struct home *
home_of(struct rep *r, const char *id, int make)
{
	char	home[LB_ID_MAX];

	tasks_home_of(id, home);
	return rep_home(r, home, make);
}

void
rep_record_home(const Lb__TaskRecord *rec, char *home)
{
	if (rec->home_peer != NULL && rec->home_peer[0] != '\0')
		lb_strlcpy(home, rec->home_peer, LB_ID_MAX);
	else
		tasks_home_of(rec->id, home);
}

/* The slot of the home that acts for a record (its stream holds it). */
static struct home *
slot_of(struct rep *r, const Lb__TaskRecord *rec, int make)
{
	char	home[LB_ID_MAX];

	rep_record_home(rec, home);
	return rep_home(r, home, make);
}

static Lb__TaskRecord *
copy_record(const Lb__TaskRecord *rec)
{
	size_t		 len = lb__task_record__get_packed_size(rec);
	uint8_t		*buf = lb_calloc(1, len + 1);
	Lb__TaskRecord	*c;

	lb__task_record__pack(rec, buf);
	c = lb__task_record__unpack(NULL, len, buf);
	free(buf);
	return c;
}

/* Hold `rec` (taken over) unless what is held is as new -- a later home
 * term first, then a higher version of the same home's stream; 1 if held
 * now. */
static int
hold(struct rep *r, Lb__TaskRecord *rec)
{
	struct held	**hp = held_slot(r, rec->id);
	struct home	 *h, *was;

	if (*hp != NULL) {
		const Lb__TaskRecord *old = (*hp)->rec;

		if (rec->home_term < old->home_term ||
		    (rec->home_term == old->home_term &&
		    rec->version <= old->version)) {
			lb__task_record__free_unpacked(rec, NULL);
			return 0;
		}
		if ((h = slot_of(r, rec, 1)) == NULL) {
			r->stats.refused++;
			lb__task_record__free_unpacked(rec, NULL);
			return -1;
		}
		if ((was = slot_of(r, old, 0)) != NULL && was != h) {
			if (was->records > 0)
				was->records--;
			h->records++;
		}
		lb__task_record__free_unpacked((*hp)->rec, NULL);
		(*hp)->rec = rec;
		if (rec->version > h->newest)
			h->newest = rec->version;
		return 1;
	}
	if (r->nheld >= r->conf.max_records ||
	    (h = slot_of(r, rec, 1)) == NULL) {
		r->stats.refused++;
		lb__task_record__free_unpacked(rec, NULL);
		return -1;
	}
	*hp = lb_calloc(1, sizeof(**hp));
	(*hp)->rec = rec;
	r->nheld++;
	h->records++;
	if (rec->version > h->newest)
		h->newest = rec->version;
	return 1;
}

static void
unhold(struct rep *r, const char *id)
{
	struct held	**hp = held_slot(r, id), *h = *hp;
	struct home	 *hm;

	if (h == NULL)
		return;
	if ((hm = slot_of(r, h->rec, 0)) != NULL && hm->records > 0)
		hm->records--;
	*hp = h->next;
	lb__task_record__free_unpacked(h->rec, NULL);
	free(h);
	r->nheld--;
}

#define DOUBT_MS	15000	/* an open vote is reported this long */

static void
ack(struct rep_out *o, struct home *h, uint64_t stream, uint64_t upto,
    int gap, uint64_t now, uint64_t sent_ms, const char *self)
{
	Lb__ReplicaAck	a = LB__REPLICA_ACK__INIT;
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;
	const char	*to = h->id;

	a.stream = stream;
	a.upto = upto;
	a.gap = gap;
	a.left_out = h->nset > 0 && rep_in_set(h, self) <= 0;
	/* Another took over its tasks: the home, back, must know. */
	if (h->term > 0 && strcmp(h->acting, h->id) != 0) {
		a.term = h->term;
		a.acting = (char *)h->acting;
		a.upto_task = h->upto;
		a.upto_version = h->upto_version;
	} else if (h->voted > h->promised && h->voted > h->term &&
	    (h->cand_term != 0 || (h->voted != h->self_term &&
	    now < h->voted_at + DOUBT_MS)))
		/* (a winner unknown here yet; but a candidacy of its own that
		 * it gave up ended without one: late grants count for
		 * nothing once it has, rep_vote_reply_in; and one it stands
		 * in, or won and has not yet had held, is open until it
		 * ends) */
		a.voted = h->voted;
	else if (h->voted > h->promised && h->voted > h->term &&
	    h->voted != h->self_term) {
		/* Its vote no longer reported as open, the home may act:
		 * no win of that term is held here, ever (on disk before
		 * this answer goes; a winner asks a majority to hold its
		 * win before it acts, rep_acting_in). */
		h->promised = h->voted;
		rep_push(o, RA_STATE);
	}
	a.sent_ms = sent_ms;
	m.body_case = LB__PEER_MSG__BODY_REPLICA_ACK;
	m.replica_ack = &a;
	rep_push_msg(o, RA_ACK, to, &m);
}

void
rep_put_in(struct rep *r, uint64_t now, const char *from,
    const Lb__ReplicaPut *p, struct rep_out *o)
{
	char		 id0[LB_ID_MAX + 2];
	struct home	*h;
	int		 full = 0;

	r->stats.puts_in++;
	if (strcmp(from, r->self) == 0 || !lb_id_valid(from) ||
	    p->top < p->after || p->n_items > REP_BATCH) {
		r->stats.refused++;
		return;
	}
	/* (its home slot, by a task id of that home) */
	snprintf(id0, sizeof(id0), "%s.0", from);
	if ((h = home_of(r, id0, 1)) == NULL) {
		r->stats.refused++;
		return;
	}
	h->heard_ms = now;
	/* Its set, as it says (itself first): who votes when it is gone. */
	if (p->n_set >= 1 && p->n_set <= REP_ALL &&
	    strcmp(p->set[0], from) == 0) {
		size_t k = 0, was = h->nset;
		int changed = 0;

		for (size_t i = 0; i < p->n_set; i++)
			if (lb_id_valid(p->set[i])) {
				if (k >= was || strcmp(h->set[k],
				    p->set[i]) != 0)
					changed = 1;
				lb_strlcpy(h->set[k++], p->set[i],
				    sizeof(h->set[0]));
			}
		if (k != was)
			changed = 1;
		h->nset = k;
		/* (a win this peer asks the set to hold: asked of the set
		 * as it is now, bits by index) */
		if (changed && h->won_term != 0) {
			int me = rep_in_set(h, r->self);

			h->won_held = me > 0 ? 1u << me : 0;
			h->won_refused = 0;
			h->won_sent = 0;
			if (me <= 0)
				h->won_term = h->cand_term = 0;
		}
		/* (on disk: a replica restarted after its home died still
		 * knows who votes for it) */
		if (changed)
			rep_push(o, RA_STATE);
	}
	if (p->stream != h->stream) {
		if (p->after != 0) {
			r->stats.gaps_sent++;
			ack(o, h, p->stream, 0, 1, now, p->sent_ms, r->self);
			return;
		}
		h->stream = p->stream;	/* its new life, from the start */
		h->applied = 0;
	}
	if (p->after > h->applied) {
		r->stats.gaps_sent++;
		ack(o, h, p->stream, h->applied, 1, now, p->sent_ms, r->self);
		return;
	}
	for (size_t i = 0; i < p->n_items; i++) {
		const Lb__TaskRecord *rec = p->items[i]->record;
		char home[LB_ID_MAX];
		int rc;

		if (rec == NULL && p->items[i]->keep != NULL)
			continue;	/* (below, once the records are) */
		if (rec == NULL || !tasks_id_valid(rec->id) ||
		    rec->spec == NULL || rec->version <= p->after ||
		    rec->version > p->top) {
			r->stats.refused++;
			continue;
		}
		rep_record_home(rec, home);
		if (strcmp(home, from) != 0) {
			r->stats.refused++;	/* not the sender's */
			continue;
		}
		if ((rc = hold(r, copy_record(rec))) == -1)
			full = 1;
		else if (rc == 1) {
			/* (a record another home took over tells who acts
			 * for that home) */
			if (rep_learn_taken(r, rec))
				rep_push(o, RA_STATE);
			struct rep_action *a = rep_push(o, RA_KEEP);
			lb_strlcpy(a->to, from, sizeof(a->to));
			a->rec = rep_held(r, rec->id);
			lb_strlcpy(a->id, rec->id, sizeof(a->id));
			o->sync = 1;
			r->stats.items_kept++;
		}
	}
	/* Kept messages after the records (an item's task may be named as
	 * the sender's by a record of the same put), and only when the put
	 * is taken whole: a put refused is sent again, and its items would
	 * be applied twice. */
	for (size_t i = 0; i < p->n_items && !full; i++)
		if (p->items[i]->record == NULL && p->items[i]->keep != NULL)
			(void)rep_keep_in(r, h, p->items[i], p->after, p->top,
			    o);
	/* Full: what it holds stays as it was acknowledged; the home asks
	 * again later. */
	if (!full && p->top > h->applied)
		h->applied = p->top;
	ack(o, h, p->stream, h->applied, full, now, p->sent_ms, r->self);
}

void
rep_let_go(struct rep *r, const char *id, struct rep_out *o)
{
	if (rep_held(r, id) == NULL)
		return;
	unhold(r, id);
	lb_strlcpy(rep_push(o, RA_DROP)->id, id, sizeof(o->v[0].id));
}

void
rep_write_failed(struct rep *r, const struct rep_out *o)
{
	for (size_t i = 0; i < o->n; i++) {
		struct home *h;

		if (o->v[i].kind != RA_KEEP && o->v[i].kind != RA_KEPT)
			continue;
		/* Not on disk: not held, and the home's stream starts over
		 * (its next put is answered with a gap at 0). */
		if (o->v[i].kind == RA_KEEP)
			unhold(r, o->v[i].id);
		if ((h = rep_home(r, o->v[i].to, 0)) != NULL) {
			h->stream = 0;
			h->applied = 0;
		}
	}
}

void
rep_load(struct rep *r, Lb__TaskRecord *rec)
{
	if (rec->forgotten) {
		unhold(r, rec->id);
		lb__task_record__free_unpacked(rec, NULL);
		return;
	}
	(void)rep_learn_taken(r, rec);
	(void)hold(r, rec);
}

void
rep_expire(struct rep *r, uint64_t wall_ms, uint64_t keep_ms,
    struct rep_out *o)
{
	for (size_t b = 0; b < HELD_BUCKETS; b++) {
		struct held *h = r->buckets[b], *next;

		for (; h != NULL; h = next) {
			next = h->next;
			if (tasks_unfinished(h->rec) ||
			    h->rec->finished_ms + keep_ms > wall_ms)
				continue;
			lb_strlcpy(rep_push(o, RA_DROP)->id, h->rec->id,
			    sizeof(o->v[0].id));
			unhold(r, o->v[o->n - 1].id);
		}
	}
}

const Lb__TaskRecord *const *
rep_all_held(const struct rep *r, size_t *n)
{
	struct rep	*w = (struct rep *)r;
	size_t		 k = 0;

	free(w->all);
	w->all = lb_calloc(r->nheld + 1, sizeof(*w->all));
	for (size_t b = 0; b < HELD_BUCKETS; b++)
		for (struct held *h = r->buckets[b]; h; h = h->next)
			w->all[k++] = h->rec;
	*n = k;
	return w->all;
}

size_t
rep_nheld(const struct rep *r)
{
	return r->nheld;
}

size_t
rep_homes(const struct rep *r)
{
	size_t	n = 0;

	for (size_t i = 0; i < r->nhomes; i++)
		if (r->homes[i].records > 0)
			n++;
	return n;
}

const struct rep_stats *
rep_stats(const struct rep *r)
{
	return &r->stats;
}
