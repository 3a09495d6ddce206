/*
 * home.c - the home when hosts fail and when it does: a home that may not
 * act (replicated homes), a record adopted from a home gone, tasks let go,
 * reruns, and peers dead or back at a new incarnation.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/tasks_int.h"

/* The lease of its own tasks running here: its home lease (0: none),
 * or ended (1) while it holds. */
uint64_t
tk_own_until(const struct tasks *t)
{
	return t->home_hold ? 1 : t->home_lease_end;
}

/* Its own tasks that run here are told their lease (the lease keeper
 * stops them when it ends, even with this daemon stalled: a replica may
 * run them once it has taken over). */
static void
tell_own(struct tasks *t, struct tasks_out *o)
{
	size_t			  n;
	struct tasks_task	**all;

	t->home_lease_told = tk_own_until(t);
	all = tasks_all(t, &n);
	for (size_t i = 0; i < n; i++)
		if (all[i]->home && all[i]->hold == HOLD_RUNNING)
			tk_out_push(o, TA_LEASE, all[i]->rec->id)->until =
			    t->home_lease_told;
}

void
tasks_set_home_hold(struct tasks *t, uint64_t now, int on,
    struct tasks_out *o)
{
	size_t			  n;
	struct tasks_task	**all;

	if (on == t->home_hold)
		return;
	t->home_hold = on;
	tell_own(t, o);		/* (before a thaw: the keeper agrees) */
	/* Its own tasks that run here stop with it (another may run them
	 * once it has taken over), and go on when it may act again. */
	all = tasks_all(t, &n);
	for (size_t i = 0; i < n; i++) {
		struct tasks_task *k = all[i];

		if (!k->home || k->hold != HOLD_RUNNING)
			continue;
		if (on && !k->home_frozen) {
			k->home_frozen = 1;
			tk_out_push(o, TA_FREEZE, k->rec->id);
		} else if (!on && k->home_frozen) {
			k->home_frozen = 0;
			tk_out_push(o, TA_THAW, k->rec->id);
		}
	}
	if (!on)
		tk_schedule(t, now, o);
}

void
tasks_set_home_lease(struct tasks *t, uint64_t end, struct tasks_out *o)
{
	t->home_lease_end = end;
	if (o != NULL && tk_own_until(t) != t->home_lease_told)
		tell_own(t, o);
}

int
tasks_home_held(const struct tasks *t)
{
	return t->home_hold;
}

void
tk_home_announce(struct tasks *t, struct tasks_task *k, uint32_t term,
    struct tasks_out *o)
{
	Lb__PeerMsg	 m = LB__PEER_MSG__INIT;
	Lb__LeaseGrant	 g = LB__LEASE_GRANT__INIT;
	Lb__LeaseItem	 it = LB__LEASE_ITEM__INIT, *itp = &it;

	it.task_id = k->rec->id;
	it.epoch = k->rec->epoch;
	it.epoch_by = k->rec->epoch_by;
	it.verdict = LB__VERDICT__VERDICT_CURRENT;
	it.home_peer = t->self;
	it.home_term = term;
	g.sent_ms = 0;
	g.holder_inc = tk_inc_known(t, k->rec->host, 0);
	g.lease_ms = (uint32_t)t->conf.lease_ms;
	g.n_items = 1;
	g.items = &itp;
	m.body_case = LB__PEER_MSG__BODY_LEASE_GRANT;
	m.lease_grant = &g;
	tk_send_msg(o, k->rec->host, k->rec->id, &m);
}

/* A task taken over from home `was`, unfinished: its current placement,
 * at the old home or here (not held: lost), runs again; elsewhere, its host
 * is told who its home is now (it asks here from then on; told again every
 * lease_ms / 4 until it does), or it runs again once quiet. */
static void
adopted_placement(struct tasks *t, uint64_t now, struct tasks_task *k,
    const char *was, uint32_t term, struct tasks_out *o)
{
	if (strcmp(k->rec->host, was) == 0 ||
	    strcmp(k->rec->host, t->self) == 0)
		tk_rerun(t, now, k, "its home is gone, and this peer acts for "
		    "it now", o);
	else {
		tk_home_announce(t, k, term, o);
		k->announce = now;
		tk_quiet_arm(t, now, k);
	}
}

/*
 * A task held here (this peer hosts a placement of it) whose home is gone,
 * adopted: the home's record (`rec`, as its replica kept it) becomes the
 * task's, as it is -- a cancel, a result, a fence, a move the home decided
 * stand -- and the placement held here is weighed against it, as a home
 * weighs its holder's notice (tk_home_notice): the current one goes on, or
 * its result is recorded; one the home replaced stops, unless it ran to
 * its end (a complete run is a result, as from any stale placement).
 */
static void
adopt_held(struct tasks *t, uint64_t now, struct tasks_task *k,
    Lb__TaskRecord *rec, const char *was, uint32_t term, struct tasks_out *o)
{
	Lb__TaskRecord	*held = k->rec;
	int		 current = tk_same(rec->epoch, rec->epoch_by, k->h_epoch,
			    k->h_by) && strcmp(rec->host, t->self) == 0;
	int		 ended = k->hold == HOLD_ENDED &&
			    !tasks_unfinished(held);

	tk_set_str(&rec->home_peer, t->self);
	rec->home_term = term;
	rec->adopted_version = 0;	/* (stamped at its first save here) */
	tk_set_str(&rec->taken_from, was);
	rec->pgid = held->pgid;		/* (what runs here) */
	/* Fenced: what the home it replaces had under way, and the moves
	 * this peer started of what it holds (after a restart here it no
	 * longer knows them, as a holder's notice tells its home). */
	rec->epoch_floor = tk_max3(rec->epoch_floor, rec->epoch_next,
	    rec->epoch);
	if (held->epoch_next > rec->epoch_floor)
		rec->epoch_floor = held->epoch_next;
	/* The hosts it could not start on, as this peer knew them (its own
	 * failure, kept before its home had it). */
	for (size_t i = 0; i < held->n_start_failures &&
	    rec->n_start_failures < TASKS_START_FAILURES_MAX &&
	    (t->conf.max_start_failures <= 0 || rec->n_start_failures <
	    (size_t)t->conf.max_start_failures); i++) {
		Lb__StartFailure *f = held->start_failures[i], *c;

		if (tasks_avoids(rec, f->host))
			continue;
		c = lb_calloc(1, sizeof(*c));
		lb__start_failure__init(c);
		c->host = lb_strdup(f->host);
		c->reason = lb_strdup(f->reason);
		c->at_ms = f->at_ms;
		rec->start_failures = lb_reallocarray(rec->start_failures,
		    rec->n_start_failures + 1, sizeof(*rec->start_failures));
		rec->start_failures[rec->n_start_failures++] = c;
	}
	k->rec = rec;
	k->home = 1;
	t->homed++;
	k->notice = 0;
	tk_request_index(t, k);
	k->lease_heard = now;
	k->lease_until = 0;
	if (!tasks_unfinished(rec)) {
		/* Its result stands (or it was cancelled): what is held here
		 * goes, whatever it did. */
		if (k->hold != HOLD_NONE)
			tk_drop_copy(t, now, k, o);
	} else if (current) {
		rec->host_inc = t->inc;
		/* Its lease from the old home ran out here: it runs on. */
		if (k->lease_frozen) {
			k->lease_frozen = 0;
			t->stats.lease_thawed++;
			tk_out_push(o, TA_THAW, rec->id);
		}
		if (ended) {
			tk_record_result(t, now, k, held, NULL, NULL, o);
			tk_set_hold(t, now, k, HOLD_NONE, o);
			tk_disarm(k);
		} else {
			tk_progress_copy(rec, held);
			/* Its lease from the old home ran out here: as its
			 * home now, this peer lets it run again, under its
			 * own home lease (none when it acts alone). */
			if (k->hold == HOLD_RUNNING)
				tk_out_push(o, TA_LEASE, rec->id)->until =
				    tk_own_until(t);
			/* What waited for its home's word has it: back from
			 * a restart, it is current; handed back, it is
			 * placed anew. */
			if (k->hold == HOLD_CONFIRM) {
				tk_disarm(k);
				tk_set_hold(t, now, k, HOLD_QUEUED, o);
				tk_schedule(t, now, o);
			} else if (k->hold == HOLD_RETURNING) {
				/* (one that could not start here: never here
				 * again, as its home would have it) */
				tk_set_hold(t, now, k, HOLD_NONE, o);
				if (k->start_failed)
					tk_start_failed_home(t, now, k, t->self,
					    k->start_why, k->start_failed_at, o);
				else
					tk_rerun(t, now, k, "handed back to its "
					    "home", o);
			}
			tk_quiet_arm(t, now, k);
		}
	} else {
		if (ended && held->state == LB__TASK_STATE__TASK_DONE &&
		    held->signal == 0) {
			/* A complete run of a placement the home had
			 * replaced: a result, and the current one stops. */
			tk_record_result(t, now, k, held, NULL, NULL, o);
			tk_set_hold(t, now, k, HOLD_NONE, o);
			tk_disarm(k);
			tk_stop_current(t, now, k, "another run ended first", o);
		} else {
			int stopping;

			/* (a copy on its way here, from the current placement:
			 * its source asks this home to commit the move now;
			 * a frozen stale one is killed as it is) */
			k->lease_frozen = 0;
			if (k->hold != HOLD_NONE && k->hold != HOLD_PENDING)
				tk_drop_copy(t, now, k, o);
			stopping = k->hold == HOLD_STOPPING;
			/* Its current placement: here but not held (lost),
			 * or at its old home, runs again (once the stale copy
			 * here has stopped); elsewhere, its host is told who
			 * its home is now. */
			if ((strcmp(rec->host, was) == 0 ||
			    strcmp(rec->host, t->self) == 0) && stopping) {
				k->rerun_at = now;
				k->rerun_epoch = rec->epoch;
			} else
				adopted_placement(t, now, k, was, term, o);
		}
	}
	lb__task_record__free_unpacked(held, NULL);
	tk_save(o, k, 1);
	tk_note(o, rec->id, "task %s: this peer acts as its home now (term %u): "
	    "%s is gone", rec->id, term, was);
}

int
tasks_adopt(struct tasks *t, uint64_t now, Lb__TaskRecord *rec,
    uint32_t term, struct tasks_out *o)
{
	struct tasks_task	*k;
	Lb__TaskRecord		*r;
	char			 was[LB_ID_MAX];

	if (!tasks_id_valid(rec->id) || rec->spec == NULL ||
	    rec->forgotten) {
		lb__task_record__free_unpacked(rec, NULL);
		return -1;
	}
	tk_home_peer_of(rec, was);
	/* Each takeover of a record raises its home term (records taken over
	 * from a peer that had taken them over before included): a host
	 * follows the highest. */
	if (term <= rec->home_term)
		term = rec->home_term + 1;
	if ((k = tasks_find(t, rec->id)) != NULL) {
		if (k->home) {
			lb__task_record__free_unpacked(rec, NULL);
			return 0;
		}
		/* Held here already (this peer is a host of it): the home's
		 * record is the task's, and what is held here is weighed
		 * against it as the home weighs its holder's notice. */
		adopt_held(t, now, k, rec, was, term, o);
		return 1;
	}
	tk_set_str(&rec->home_peer, t->self);
	rec->home_term = term;
	rec->adopted_version = 0;	/* (stamped at its first save here) */
	tk_set_str(&rec->taken_from, was);
	tk_task_add(t, rec);
	k = tasks_find(t, rec->id);
	r = k->rec;
	r->pgid = 0;
	k->h_epoch = r->epoch;
	lb_strlcpy(k->h_by, r->epoch_by, sizeof(k->h_by));
	/* What the home it replaces had under way is fenced, as at a home's
	 * restart; its host is heard of from now, or the task runs again
	 * (tk_quiet_arm). */
	r->epoch_floor = tk_max3(r->epoch_floor, r->epoch_next, r->epoch);
	k->lease_heard = now;
	if (tasks_unfinished(r))
		adopted_placement(t, now, k, was, term, o);
	else
		tk_set_hold(t, now, k, HOLD_NONE, o);
	tk_save(o, k, 1);
	tk_note(o, r->id, "task %s: this peer acts as its home now (term %u): "
	    "%s is gone", r->id, term, was);
	return 1;
}

size_t
tasks_relinquish(struct tasks *t, uint64_t upto, uint64_t upto_version,
    struct tasks_out *o)
{
	size_t			  n, ng = 0;
	struct tasks_task	**all = tasks_all(t, &n);
	struct tasks_task	**go = lb_calloc(n + 1, sizeof(*go));

	if (upto > t->given_up_upto)
		t->given_up_upto = upto;
	/* (the ones to go first: removing one frees the list walked) */
	for (size_t i = 0; i < n; i++) {
		struct tasks_task *k = all[i];
		uint64_t seq = tk_own_seq(t, k->rec->id);

		if (k->home && seq != 0 && seq < upto &&
		    (k->rec->home_peer == NULL || k->rec->home_peer[0] == '\0'))
			go[ng++] = k;
		/* (one it had taken over: the winner held it, put at or
		 * below the version it held of this peer's stream) */
		else if (k->home && k->rec->home_peer != NULL &&
		    strcmp(k->rec->home_peer, t->self) == 0 &&
		    k->rec->adopted_version != 0 &&
		    k->rec->adopted_version <= upto_version)
			go[ng++] = k;
	}
	for (size_t i = 0; i < ng; i++) {
		const Lb__TaskSpec *sp = go[i]->rec->spec;

		/* A submit sent again names it still (tasks_submit). */
		if (sp->request_id.len == TASKS_REQUEST_ID_LEN) {
			struct tasks_gone g = { { 0 }, { 0 }, 0 };

			memcpy(g.rid, sp->request_id.data, sizeof(g.rid));
			lb_strlcpy(g.id, go[i]->rec->id, sizeof(g.id));
			g.argv_hash = tasks_argv_hash(sp);
			tasks_gone_add(t, &g);
		}
		if (go[i]->hold == HOLD_RUNNING)
			tk_out_push(o, TA_STOP, go[i]->rec->id);
		tk_out_push(o, TA_FORGET, go[i]->rec->id);
		tk_task_remove(t, go[i]);
	}
	free(go);
	return ng;
}

/* ---- peers dead or back ---- */

/* The home runs a task again in a new placement of its own. */
void
tk_rerun(struct tasks *t, uint64_t now, struct tasks_task *k, const char *why,
    struct tasks_out *o)
{
	Lb__TaskRecord	*r = k->rec;

	if (t->home_hold) {
		/* Not while it may not act: asked again later. */
		k->rerun_at = now + 1000;
		k->rerun_epoch = r->epoch;
		return;
	}
	if (k->hold == HOLD_PENDING)
		tk_set_hold(t, now, k, HOLD_NONE, o);
	tk_disarm(k);
	k->stop = 0;
	k->rerun_at = 0;
	k->announce = 0;
	r->epoch = tk_alloc_epoch(r);
	tk_set_str(&r->epoch_by, t->self);
	tk_set_str(&r->host, t->self);
	tk_lease_reset(t, now, k);
	r->host_inc = t->inc;
	r->reruns++;
	r->state = LB__TASK_STATE__TASK_QUEUED;
	r->pgid = 0;
	tk_visit_add(r, t->self, tk_wall(t, now));
	tk_save(o, k, 1);
	tk_note(o, r->id, "task %s: %s; running it again here (epoch %u.%s)",
	    r->id, why, r->epoch, t->self);
	t->stats.reruns++;
	k->h_epoch = r->epoch;
	lb_strlcpy(k->h_by, t->self, sizeof(k->h_by));
	/* From the latest checkpoint copied here, if any; the record says
	 * so (a checkpoint counted at the dead host, never copied here, is
	 * none: a move or a restart must not resume from it). */
	k->resume = r->spec->checkpointable && r->home_checkpoint > 0;
	r->checkpoints = k->resume ? r->home_checkpoint : 0;
	if (!k->resume)
		r->served_ms = 0;	/* from the start: nothing served */
	tk_set_hold(t, now, k, HOLD_QUEUED, o);
	/* (from where it resumes, said now: it may start, and its resume
	 * be spent, before the shell reads this) */
	tk_out_push(o, TA_REPLAY, r->id)->resume = k->resume;
}

static void
peer_gone(struct tasks *t, uint64_t now, const char *peer, int restarted,
    uint64_t inc, struct tasks_out *o)
{
	size_t			  n;
	struct tasks_task	**all = tasks_all(t, &n);

	for (size_t i = 0; i < n; i++) {
		struct tasks_task *k = all[i];
		if (k->home && tasks_unfinished(k->rec) &&
		    strcmp(k->rec->host, peer) == 0 && (!restarted ||
		    k->rec->host_inc < inc)) {
			/* Seen dead, it may only be cut off, its copy running
			 * until its lease runs out: not before then. */
			uint64_t at = k->lease_heard + tk_lease_wait(t);
			if (!restarted && t->conf.lease_ms > 0 &&
			    strcmp(peer, t->self) != 0 && now < at) {
				if (k->rerun_at == 0) {
					t->stats.lease_waits++;
					tk_note(o, k->rec->id, "task %s: its host "
					    "%s is gone; it runs again in %"
					    PRIu64 " ms, when its lease has "
					    "run out, unless it answers",
					    k->rec->id, peer, at - now);
				}
				k->rerun_at = at;
				k->rerun_epoch = k->rec->epoch;
			} else
				tk_rerun(t, now, k, "its host is gone", o);
		} else if (k->home && k->stop && strcmp(k->rec->host, peer) == 0 &&
		    (!restarted || k->rec->host_inc < inc)) {
			/* Its copy died with it (a restarted host asks before
			 * it runs anything again): nothing left to stop. */
			tk_disarm(k);
			k->stop = 0;
		}
		/* A move to it that it never acknowledged: ask to abort now
		 * rather than at the timeout. */
		if (k->hold == HOLD_FROZEN && strcmp(k->move_to, peer) == 0 &&
		    !k->move_acked && !k->ask) {
			k->backoff = 0;
			tk_ask_home(t, now, k, 0, o);
		}
	}
	tk_schedule(t, now, o);
}

void
tasks_peer_dead(struct tasks *t, uint64_t now, const char *peer,
    struct tasks_out *o)
{
	peer_gone(t, now, peer, 0, 0, o);
}

void
tasks_peer_restarted(struct tasks *t, uint64_t now, const char *peer,
    uint64_t inc, struct tasks_out *o)
{
	tk_inc_known(t, peer, inc);
	peer_gone(t, now, peer, 1, inc, o);
}
