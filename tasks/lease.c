/*
 * lease.c - leases: a host runs a placement of another home's task only
 * while that home confirms it (LeaseAsk, LeaseGrant), freezing it when
 * its lease runs out; a home waits out a silent host's lease.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/tasks_int.h"

/* ---- leases ---- */

/* A placement that runs only while its home confirms it. */
int
tk_leased(const struct tasks *t, const struct tasks_task *k)
{
	return t->conf.lease_ms > 0 && !k->home;
}

/* How long before the end of its lease a task is asked to checkpoint (and
 * a task is not started with less than that left). */
uint64_t
tk_lease_lead(const struct tasks *t)
{
	uint64_t lead = (uint64_t)t->conf.checkpoint_timeout_ms;

	if (lead > (uint64_t)t->conf.lease_ms / 4)
		lead = (uint64_t)t->conf.lease_ms / 4;
	return lead;
}

static void	lease_send(struct tasks *, uint64_t, const char *,
		    Lb__LeaseItem **, size_t, struct tasks_out *);

/* `k` needs its home's word to start: ask now (it alone), unless it was
 * asked for lately (a home that is down is not flooded). */
void
tk_lease_soon(struct tasks *t, struct tasks_task *k, uint64_t now,
    struct tasks_out *o)
{
	Lb__LeaseItem	 it = LB__LEASE_ITEM__INIT, *itp = &it;
	char		 home[LB_ID_MAX];

	if (k->lease_asked != 0 && now < k->lease_asked +
	    (uint64_t)t->conf.lease_ms / 4)
		return;
	k->lease_asked = now;
	tk_home_to(t, k->rec, home);
	it.task_id = k->rec->id;
	it.epoch = k->h_epoch;
	it.epoch_by = k->h_by;
	lease_send(t, now, home, &itp, 1, o);
}

/* Whether `k` may start now as far as its lease goes. */
int
tk_lease_ok(const struct tasks *t, const struct tasks_task *k, uint64_t now)
{
	return !tk_leased(t, k) || now + tk_lease_lead(t) < k->lease_until;
}

/* The lease a home grants now: lease_ms, but never past the end of its
 * own home lease (a replica may take over once that and the margin have
 * passed: no lease of this home's may still run then). */
uint32_t
tk_grant_ms(const struct tasks *t, uint64_t now)
{
	uint64_t	l = (uint64_t)t->conf.lease_ms;

	if (t->home_lease_end != 0 && t->home_lease_end < now + l)
		l = t->home_lease_end > now ? t->home_lease_end - now : 1;
	return (uint32_t)l;
}

/* ---- leases: host and home ---- */

/* A placement held here whose process runs, or may start: queued,
 * running, or stopping to be handed back (it may take kill_grace_ms). */
static int
lease_wanted(const struct tasks_task *k)
{
	return k->hold == HOLD_QUEUED || k->hold == HOLD_RUNNING ||
	    (k->hold == HOLD_STOPPING && k->give_back);
}

#define LEASE_BATCH	512	/* items in one LeaseAsk */

static void
lease_send(struct tasks *t, uint64_t now, const char *home,
    Lb__LeaseItem **items, size_t n, struct tasks_out *o)
{
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;
	Lb__LeaseAsk	a = LB__LEASE_ASK__INIT;

	a.sent_ms = now;
	a.n_items = n;
	a.items = items;
	m.body_case = LB__PEER_MSG__BODY_LEASE_ASK;
	m.lease_ask = &a;
	tk_send_msg(o, home, NULL, &m);
	t->stats.lease_asks++;
}

/* Ask every home of a placement queued or running here to confirm it: one
 * LeaseAsk per home (ids sort by home, so each home's are together). */
void
tk_lease_round(struct tasks *t, uint64_t now, struct tasks_out *o)
{
	size_t			  n, ni = 0;
	struct tasks_task	**all = tasks_all(t, &n);
	Lb__LeaseItem		  items[LEASE_BATCH], *ptrs[LEASE_BATCH];
	char			  home[LB_ID_MAX], cur[LB_ID_MAX] = "";

	t->lease_sent = now;
	t->lease_next = now + (uint64_t)t->conf.lease_ms / 4;
	t->lease_asap = 0;
	for (size_t i = 0; i < n; i++) {
		struct tasks_task *k = all[i];

		/* Also a placement moving out or holding a result: the home
		 * hears it is alive (its grant for one is not taken). */
		if (!tk_leased(t, k) || !(lease_wanted(k) || k->hold ==
		    HOLD_FROZEN || k->hold == HOLD_ENDED))
			continue;
		k->lease_asked = now;
		tk_home_to(t, k->rec, home);
		if (ni > 0 && (strcmp(home, cur) != 0 || ni == LEASE_BATCH)) {
			lease_send(t, now, cur, ptrs, ni, o);
			ni = 0;
		}
		lb_strlcpy(cur, home, sizeof(cur));
		lb__lease_item__init(&items[ni]);
		items[ni].task_id = k->rec->id;
		items[ni].epoch = k->h_epoch;
		items[ni].epoch_by = k->h_by;
		items[ni].lapsed = lease_wanted(k) && now >= k->lease_until;
		ptrs[ni] = &items[ni];
		ni++;
	}
	if (ni > 0)
		lease_send(t, now, cur, ptrs, ni, o);
}

/* Home: the current host of `k` was heard of now.  A rerun put off for its
 * lease (its host seen dead) is put off further, not dropped: this may be
 * a late copy of an old message from a host that is dead indeed. */
/* Home: `k`'s host is not heard of from now (see quiet_at). */
void
tk_quiet_arm(struct tasks *t, uint64_t now, struct tasks_task *k)
{
	if (k->revoked)
		return;		/* what it says now does not count */
	k->quiet_at = 0;
	if (t->conf.lease_ms > 0 && k->home && tasks_unfinished(k->rec) &&
	    strcmp(k->rec->host, t->self) != 0) {
		k->quiet_at = now + tk_lease_wait(t);
		k->quiet_epoch = k->rec->epoch;
	}
}

void
tk_lease_heard(struct tasks *t, uint64_t now, struct tasks_task *k)
{
	k->lease_heard = now;
	k->announce = 0;	/* its host knows who its home is */
	if (k->rerun_at != 0)
		k->rerun_at = now + tk_lease_wait(t);
	tk_quiet_arm(t, now, k);
}

/* Home: `k` has a new placement: what was known of its former host's
 * leases is not of it, and its host is heard of from now (a commit is a
 * grant). */
void
tk_lease_reset(struct tasks *t, uint64_t now, struct tasks_task *k)
{
	k->revoked = 0;
	k->lapsed_since = 0;
	k->ask_newest = 0;
	tk_quiet_arm(t, now, k);
}

/* Home: answer a host's LeaseAsk, item by item. */
void
tk_lease_ask_recv(struct tasks *t, uint64_t now, const char *from, uint64_t inc,
    const Lb__LeaseAsk *a, struct tasks_out *o)
{
	Lb__PeerMsg	 m = LB__PEER_MSG__INIT;
	Lb__LeaseGrant	 g = LB__LEASE_GRANT__INIT;
	Lb__LeaseItem	*items, **ptrs;
	size_t		 ni = 0;

	if (t->home_hold)
		return;		/* no grant while it may not act */
	if (a->n_items == 0 || a->n_items > LEASE_BATCH) {
		t->stats.drop_invalid++;
		return;
	}
	items = lb_calloc(a->n_items, sizeof(*items));
	ptrs = lb_calloc(a->n_items, sizeof(*ptrs));
	for (size_t i = 0; i < a->n_items; i++) {
		const Lb__LeaseItem	*it = a->items[i];
		struct tasks_task	*k;
		Lb__TaskRecord		*h;
		Lb__LeaseItem		*r = &items[ni];

		if (!tasks_id_valid(it->task_id) ||
		    !tk_home_is(t, it->task_id, t->self) ||
		    !lb_id_valid(it->epoch_by)) {
			t->stats.drop_invalid++;
			continue;
		}
		lb__lease_item__init(r);
		r->task_id = it->task_id;
		r->epoch = it->epoch;
		r->epoch_by = it->epoch_by;
		k = tasks_find(t, it->task_id);
		if (k == NULL && tk_own_seq(t, it->task_id) != 0 &&
		    tk_own_seq(t, it->task_id) < t->given_up_upto)
			continue;	/* (let go to another: ask there) */
		if (k == NULL || !k->home)
			r->verdict = LB__VERDICT__VERDICT_UNKNOWN;
		else if (!tasks_unfinished((h = k->rec)))
			r->verdict = LB__VERDICT__VERDICT_DONE;
		else if (tk_same(it->epoch, it->epoch_by, h->epoch, h->epoch_by) &&
		    strcmp(h->host, from) == 0) {
			if (inc < h->host_inc)
				continue;	/* an earlier life of its host */
			if (inc > h->host_inc) {
				/* Confirmed by this life of its host: on
				 * disk before the answer. */
				h->host_inc = inc;
				k->ask_newest = k->lapsed_since = 0;
				tk_save(o, k, 1);
			}
			/* Its lease ran out while this home granted it for
			 * lease_ms on end: the grants do not reach it (a
			 * one-way cut).  No more: the silence rule runs it
			 * again once the last grant has run out. */
			/* (An ask older than one heard says nothing new.) */
			if (a->sent_ms >= k->ask_newest) {
				k->ask_newest = a->sent_ms;
				if (!it->lapsed)
					k->lapsed_since = 0;
				else if (k->lapsed_since == 0)
					k->lapsed_since = a->sent_ms;
			}
			if (!k->revoked && it->lapsed && a->sent_ms >=
			    k->lapsed_since + (uint64_t)t->conf.lease_ms) {
				k->revoked = 1;
				tk_note(o, k->rec->id, "task %s: its host %s has "
				    "had no lease for %d ms though this home "
				    "grants it: no more grants; it runs again "
				    "elsewhere once the last one has run out",
				    k->rec->id, from, t->conf.lease_ms);
			}
			if (k->revoked)
				continue;	/* heard of, not confirmed */
			r->verdict = LB__VERDICT__VERDICT_CURRENT;
			tk_lease_heard(t, now, k);
		} else
			r->verdict = LB__VERDICT__VERDICT_STALE;
		ptrs[ni++] = r;
	}
	if (ni > 0) {
		g.sent_ms = a->sent_ms;
		g.holder_inc = inc;
		g.lease_ms = tk_grant_ms(t, now);
		g.n_items = ni;
		g.items = ptrs;
		m.body_case = LB__PEER_MSG__BODY_LEASE_GRANT;
		m.lease_grant = &g;
		tk_send_msg(o, from, NULL, &m)->as_home = 1;
	}
	free(ptrs);
	free(items);
}

/* Host: a home's answer. */
void
tk_lease_grant_recv(struct tasks *t, uint64_t now, const char *from,
    const Lb__LeaseGrant *g, struct tasks_out *o)
{
	uint64_t until, l = (uint64_t)t->conf.lease_ms;

	/* (the news that another acts as the home, sent_ms 0, may not know
	 * this peer's incarnation: it extends no lease) */
	if (t->conf.lease_ms == 0 || (g->holder_inc != t->inc &&
	    g->sent_ms != 0) || g->sent_ms > now ||
	    g->n_items > LEASE_BATCH) {
		t->stats.drop_unknown++;
		return;
	}
	if (g->lease_ms > 0 && g->lease_ms < l)
		l = g->lease_ms;	/* the home waits less: so do we */
	until = g->sent_ms + l;
	for (size_t i = 0; i < g->n_items; i++) {
		const Lb__LeaseItem	*it = g->items[i];
		struct tasks_task	*k;

		/* A replica took over as the task's home, in a later home
		 * term: it is the one to ask from now on. */
		if (it->home_term > 0 && tasks_id_valid(it->task_id) &&
		    strcmp(it->home_peer, from) == 0 &&
		    (k = tasks_find(t, it->task_id)) != NULL && !k->home &&
		    it->home_term > k->rec->home_term) {
			tk_set_str(&k->rec->home_peer, from);
			k->rec->home_term = it->home_term;
			k->lease_asked = 0;
			tk_save(o, k, 1);
			tk_note(o, k->rec->id, "task %s: %s acts as its home now "
			    "(term %u)", k->rec->id, from, it->home_term);
		}
		if (g->sent_ms == 0)
			continue;	/* (that news alone: no lease) */
		if (!tasks_id_valid(it->task_id) || !tk_home_is(t, it->task_id,
		    from) || it->verdict < LB__VERDICT__VERDICT_CURRENT ||
		    it->verdict > LB__VERDICT__VERDICT_UNKNOWN) {
			t->stats.drop_sender++;
			continue;
		}
		k = tasks_find(t, it->task_id);
		if (k == NULL || k->home || !lease_wanted(k) ||
		    !tk_same(it->epoch, it->epoch_by, k->h_epoch, k->h_by)) {
			t->stats.drop_unknown++;
			continue;
		}
		if (it->verdict != LB__VERDICT__VERDICT_CURRENT) {
			tk_holder_verdict(t, now, k, it->verdict, k->rec->state, o);
			continue;
		}
		if (until <= k->lease_until)
			continue;
		k->lease_until = until;
		if (now + tk_lease_lead(t) < until)
			k->lease_ck = 0;	/* asked again at its next end */
		if (k->hold == HOLD_QUEUED)
			continue;
		tk_out_push(o, TA_LEASE, k->rec->id)->until = until;
		if (k->hold != HOLD_RUNNING)
			continue;
		if (k->lease_frozen && now < until) {
			k->lease_frozen = 0;
			t->stats.lease_thawed++;
			tk_note(o, k->rec->id, "task %s: its home confirms it "
			    "again; it runs on", k->rec->id);
			tk_out_push(o, TA_THAW, k->rec->id);
		}
	}
	tk_schedule(t, now, o);
}

void
tasks_heard_epoch(struct tasks *t, const char *id, uint32_t epoch)
{
	struct tasks_task *k;

	if (t->conf.lease_ms > 0 && tasks_id_valid(id) &&
	    (k = tasks_find(t, id)) != NULL && tk_leased(t, k) &&
	    (k->hold == HOLD_QUEUED || k->hold == HOLD_RUNNING) &&
	    epoch > k->h_epoch)
		t->lease_asap = 1;
}

/* Host, every tick: a lease near its end asks for a checkpoint; one that
 * ended freezes the process. */
void
tk_lease_check(struct tasks *t, uint64_t now, struct tasks_task *k,
    struct tasks_out *o)
{
	Lb__TaskRecord *r = k->rec;

	if (!tk_leased(t, k) || k->hold != HOLD_RUNNING)
		return;
	if (now + tk_lease_lead(t) >= k->lease_until && !k->lease_ck &&
	    !k->lease_frozen && r->spec->checkpointable && !k->ck_asked &&
	    now >= k->proc_at + (uint64_t)t->conf.checkpoint_grace_ms) {
		k->lease_ck = 1;
		t->lease_asap = 1;
		tk_note(o, r->id, "task %s: its home has not confirmed it for %"
		    PRIu64 " ms; asking it to checkpoint", r->id,
		    now + (uint64_t)t->conf.lease_ms - k->lease_until);
		tk_out_push(o, TA_CHECKPOINT, r->id);
	}
	if (now >= k->lease_until && !k->lease_frozen) {
		k->lease_frozen = 1;
		t->lease_asap = 1;
		t->stats.lease_frozen++;
		tk_note(o, r->id, "task %s: its lease ran out (no word from its "
		    "home for %d ms): frozen until its home answers", r->id,
		    t->conf.lease_ms);
		tk_out_push(o, TA_FREEZE, r->id);
	}
}

/* How long a home waits, from the last word of a host, before it runs the
 * task again elsewhere: the lease, 1% more for clocks whose rates differ,
 * and the margin. */
uint64_t
tk_lease_wait(const struct tasks *t)
{
	uint64_t l = (uint64_t)t->conf.lease_ms;

	return l + l / 100 + (uint64_t)t->conf.lease_margin_ms;
}
