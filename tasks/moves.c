/*
 * moves.c - moves: a waiting placement frozen and offered to another
 * peer, a running one asked to checkpoint first (tasks_move,
 * tasks_migrate); the home commits or aborts, and both sides learn it.
 */
#include "config.h"

#include <string.h>

#include "tasks/tasks_int.h"

/* ---- moves ---- */

/*
 * Freeze a task held here (waiting, or a running one that has just
 * checkpointed: `ck_ms` is how long it took) and offer it to `to`.
 */
void
tk_freeze_move(struct tasks *t, uint64_t now, struct tasks_task *k,
    const char *to, uint64_t inc, uint64_t req_id, uint32_t ck_ms,
    struct tasks_out *o)
{
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__Transfer		 tr = LB__TRANSFER__INIT;
	Lb__TaskRecord		*r;
	struct tasks_action	*a;
	uint32_t		 n;

	/* The allocation is on disk before the placement exists: made now,
	 * or when the move of a running task was asked (its checkpoint was
	 * under way meanwhile, and the freeze does not wait for the disk). */
	if (k->ck_epoch != 0 && k->ck_epoch == k->rec->epoch_next) {
		n = k->ck_epoch;
		/* Its checkpoint, counted: journaled (a source that crashes
		 * now resumes from it), not waited for. */
		tk_save(o, k, 0);
	} else {
		n = tk_alloc_epoch(k->rec);
		tk_save(o, k, 1);
	}
	k->ck_epoch = 0;
	r = tasks_rec_clone(k->rec);
	r->parent_epoch = r->epoch;
	tk_set_str(&r->parent_by, r->epoch_by);
	r->epoch = n;
	tk_set_str(&r->epoch_by, t->self);
	tk_set_str(&r->host, to);
	r->host_inc = inc;
	r->state = LB__TASK_STATE__TASK_QUEUED;
	r->pgid = 0;
	r->moves++;
	tk_visit_add(r, to, tk_wall(t, now));
	if (ck_ms > 0)
		tk_migration_add(r, t->self, to, tk_wall(t, now), ck_ms);
	tr.req_id = req_id;
	tr.record = r;
	tr.migrate_origin = k->mig_origin;
	tr.migrate_req = k->mig_req;
	m.body_case = LB__PEER_MSG__BODY_TRANSFER;
	m.transfer = &tr;
	a = tk_send_msg(o, to, k->rec->id, &m);
	a->with_files = 1;
	a->resume = k->resume;
	lb__task_record__free_unpacked(r, NULL);
	tk_set_hold(t, now, k, HOLD_FROZEN, o);
	lb_strlcpy(k->move_to, to, sizeof(k->move_to));
	k->move_inc = inc;
	k->move_epoch = n;
	k->move_req = req_id;
	k->move_started = now;
	k->move_acked = 0;
	k->move_ck_ms = ck_ms;
	tk_disarm(k);
	k->due = now + (uint64_t)t->conf.transfer_timeout_ms;
}

const char *
tasks_unmovable(const struct tasks_task *k)
{
	const Lb__TaskRecord	*r = k->rec;

	if (!tasks_unfinished(r))
		return "it has ended";
	if (r->spec->pin[0] != '\0')
		return "it is pinned (--pin) to a node";
	if (r->state == LB__TASK_STATE__TASK_RUNNING && !r->spec->checkpointable)
		return "it is running and cannot checkpoint (it was not "
		    "submitted with --checkpointable)";
	return NULL;
}

/*
 * Send a checkpoint asked for a move, unless the process is too young to
 * have its handler in place (the signal would kill it): then at the end of
 * the grace, from the tick.
 */
void
tk_ck_signal(struct tasks *t, uint64_t now, struct tasks_task *k,
    struct tasks_out *o)
{
	uint64_t	ready = k->proc_at + (uint64_t)t->conf.checkpoint_grace_ms;

	if (k->ck_signalled || k->hold != HOLD_RUNNING)
		return;
	if (now < ready) {
		if (k->ck_due < ready + (uint64_t)t->conf.checkpoint_timeout_ms)
			k->ck_due = ready + (uint64_t)t->conf.
			    checkpoint_timeout_ms;
		return;
	}
	k->ck_signalled = now > 0 ? now : 1;
	tk_out_push(o, TA_CHECKPOINT, k->rec->id);
	tk_note(o, k->rec->id, "task %s: asked to checkpoint, to move to %s",
	    k->rec->id, k->ck_to);
}

/*
 * Start a move of a task held here: a waiting task freezes at once; a
 * running one that can checkpoint is asked to, and moves when it exits
 * with its checkpoint code.
 */
static int
move_start(struct tasks *t, uint64_t now, struct tasks_task *k, const char *to,
    uint64_t inc, uint64_t req_id, struct tasks_out *o, const char **why)
{
	*why = NULL;
	if (k == NULL || (k->home && strcmp(k->rec->host, t->self) != 0) ||
	    (k->hold != HOLD_QUEUED && k->hold != HOLD_RUNNING))
		*why = "it is not waiting or running here";
	else if (!lb_id_valid(to) || strcmp(to, t->self) == 0)
		*why = "it is here already";
	else if (k->ck_asked)
		*why = "it is moving already (asked to checkpoint)";
	else if (k->rec->spec->pin[0] != '\0' &&
	    strcmp(k->rec->spec->pin, to) != 0)
		*why = "it is pinned (--pin) to a node";
	else if (k->hold == HOLD_RUNNING && !k->rec->spec->checkpointable)
		*why = "it is running and cannot checkpoint (it was not "
		    "submitted with --checkpointable)";
	if (*why != NULL)
		return -1;
	if (k->hold == HOLD_QUEUED) {
		tk_freeze_move(t, now, k, to, inc, req_id, 0, o);
		return 0;
	}
	lb_strlcpy(k->ck_to, to, sizeof(k->ck_to));
	k->ck_inc = inc;
	k->ck_req = req_id;
	k->yield = 0;	/* the move's checkpoint takes its place */
	/* The placement's counter now, on disk while the task checkpoints. */
	k->ck_epoch = tk_alloc_epoch(k->rec);
	tk_save(o, k, 1);
	k->ck_asked = now;
	k->ck_due = now + (uint64_t)t->conf.checkpoint_timeout_ms;
	k->ck_signalled = 0;
	tk_ck_signal(t, now, k, o);
	return 0;
}

int
tasks_move(struct tasks *t, uint64_t now, const char *id, const char *to,
    uint64_t inc, uint64_t req_id, struct tasks_out *o)
{
	const char	*why;
	struct tasks_task *k = tasks_find(t, id);

	if (k != NULL && k->home && t->home_hold)
		return -1;
	return move_start(t, now, k, to, inc, req_id, o, &why);
}

int
tasks_migrate(struct tasks *t, uint64_t now, const char *id, const char *to,
    uint64_t inc, const char *origin, uint64_t req, uint64_t req_id,
    struct tasks_out *o, char **cause)
{
	struct tasks_task	*k = tasks_find(t, id);
	const char		*why;

	if (k != NULL && (why = tasks_unmovable(k)) != NULL) {
		*cause = lb_printf("task %s cannot move: %s", id, why);
		return -1;
	}
	if (k != NULL && k->home && t->home_hold) {
		*cause = lb_printf("task %s cannot move now: too few of its "
		    "home's replicas answer; try again", id);
		return -1;
	}
	if (k != NULL && (k->ck_asked || k->hold == HOLD_FROZEN)) {
		/* The move under way keeps whoever asked for it. */
		*cause = lb_printf("task %s cannot move: it is moving already",
		    id);
		return -1;
	}
	if (k != NULL && lb_id_valid(origin)) {
		lb_strlcpy(k->mig_origin, origin, sizeof(k->mig_origin));
		k->mig_req = req;
	}
	if (move_start(t, now, k, to, inc, req_id, o, &why) == -1) {
		if (k != NULL && k->mig_req == req) {
			k->mig_origin[0] = '\0';
			k->mig_req = 0;
		}
		*cause = lb_printf("task %s cannot move: %s", id, why);
		return -1;
	}
	return 0;
}

static void
move_reply(struct tasks_out *o, const char *to, const char *id, uint32_t epoch,
    const char *by, int committed, int current, const char *error,
    uint32_t lease_ms, uint64_t held)
{
	Lb__PeerMsg	 m = LB__PEER_MSG__INIT;
	Lb__TaskMoveReply r = LB__TASK_MOVE_REPLY__INIT;

	r.task_id = (char *)id;
	r.epoch = epoch;
	r.epoch_by = (char *)by;
	r.committed = committed;
	r.current = current;
	r.error = (char *)(error ? error : "");
	r.lease_ms = committed && held != 0 ? lease_ms : 0;
	r.held_ms = committed ? held : 0;
	m.body_case = LB__PEER_MSG__BODY_TASK_MOVE_REPLY;
	m.task_move_reply = &r;
	tk_send_msg(o, to, id, &m);
}

static void	src_decided(struct tasks *, uint64_t, struct tasks_task *,
		    int committed, int current, struct tasks_out *);
static void	dst_decided(struct tasks *, uint64_t, struct tasks_task *,
		    int committed, uint32_t lease_ms, uint64_t held,
		    struct tasks_out *);

/*
 * The home decides a move: commit it when it replaces the current
 * placement and is above the fence; abort it (raising the fence) when the
 * source asks.  Answers both sides (locally when one of them is this peer).
 */
static void
home_move(struct tasks *t, uint64_t now, struct tasks_task *k,
    const Lb__TaskMove *mvp, const char *from, struct tasks_out *o)
{
	Lb__TaskRecord	*h = k->rec;
	Lb__TaskMove	 m = *mvp, *mv = &m;
	char		 src[LB_ID_MAX], dst[LB_ID_MAX], by[LB_ID_MAX];
	int		 committed = 0, current = 0;
	const char	*error = NULL;

	/* The move's strings may live in the task (the source's own ask),
	 * which the decision changes: copy them first. */
	lb_strlcpy(src, h->host, sizeof(src));
	lb_strlcpy(dst, mvp->host, sizeof(dst));
	lb_strlcpy(by, mvp->epoch_by, sizeof(by));
	m.host = dst;
	m.epoch_by = by;
	if (!tasks_unfinished(h))
		error = "the task has ended";
	else if (tk_same(mv->epoch, mv->epoch_by, h->epoch, h->epoch_by))
		committed = 1;		/* asked again: already done */
	else if (!tk_same(mv->parent_epoch, mv->parent_by, h->epoch, h->epoch_by))
		error = "it moves from a placement that is not current";
	else if (!mv->commit || mv->epoch <= h->epoch_floor ||
	    (strcmp(mv->host, t->self) == 0 ? mv->host_inc != t->inc :
	    mv->host_inc < tk_inc_known(t, mv->host, 0))) {
		/* Aborted; or the destination restarted since it took the
		 * task (and lost it, held but not journaled). */
		current = 1;
		error = "aborted";
		if (mv->epoch > h->epoch_floor) {
			h->epoch_floor = mv->epoch;
			tk_save(o, k, 1);
		}
	} else {
		/* Commit: the home's record names the new placement. */
		struct tasks_task *srcq = strcmp(src, t->self) == 0 ? k : NULL;
		h->epoch = mv->epoch;
		tk_set_str(&h->epoch_by, mv->epoch_by);
		tk_set_str(&h->host, mv->host);
		h->host_inc = mv->host_inc;
		if (mv->epoch > h->epoch_next)
			h->epoch_next = mv->epoch;
		h->moves++;
		h->state = LB__TASK_STATE__TASK_QUEUED;
		h->pgid = 0;
		k->lease_heard = now;
		k->rerun_at = 0;
		tk_lease_reset(t, now, k);
		tk_visit_add(h, mv->host, tk_wall(t, now));
		tk_save(o, k, 1);
		committed = 1;
		if (srcq != NULL && k->hold == HOLD_FROZEN)
			src_decided(t, now, k, 1, 0, o);
	}
	/* Tell the destination and the source (each unless it is here). */
	if (strcmp(mv->host, t->self) == 0) {
		if (k->hold == HOLD_PENDING && tk_same(k->h_epoch, k->h_by,
		    mv->epoch, mv->epoch_by))
			dst_decided(t, now, k, committed, 0, 0, o);
	} else {
		/* A destination that asks itself is heard of now: its lease
		 * (from its held_ms, before now) ends before the home's wait. */
		if (committed && strcmp(from, mv->host) == 0)
			tk_lease_heard(t, now, k);
		move_reply(o, mv->host, k->rec->id, mv->epoch, mv->epoch_by,
		    committed, 0, error, tk_grant_ms(t, now), mv->held_ms);
	}
	if (strcmp(src, t->self) == 0) {
		if (!committed && k->hold == HOLD_FROZEN &&
		    k->move_epoch == mv->epoch && strcmp(mv->epoch_by,
		    t->self) == 0)
			src_decided(t, now, k, 0, current, o);
	} else if (strcmp(src, mv->host) != 0)
		move_reply(o, src, k->rec->id, mv->epoch, mv->epoch_by,
		    committed, current, error, 0, 0);
}

/* The source learns the outcome of its move. */
static void
src_decided(struct tasks *t, uint64_t now, struct tasks_task *k, int committed,
    int current, struct tasks_out *o)
{
	tk_disarm(k);
	if (committed) {
		tk_note(o, k->rec->id, "task %s moved to %s (epoch %u.%s, %llu ms)",
		    k->rec->id, k->move_to, k->move_epoch, t->self,
		    (unsigned long long)(now - k->move_started));
		t->stats.transfers_out++;
		t->stats.transfer_ms += now - k->move_started;
		if (k->move_ck_ms > 0) {
			t->stats.migrations_out++;
			t->stats.checkpoint_ms += k->move_ck_ms;
		}
		/* The destination tells whoever asked, once it runs there. */
		k->mig_origin[0] = '\0';
		tk_link_add(t, now, k->rec->id, k->move_to, k->move_epoch, t->self);
		if (k->home) {
			tk_set_hold(t, now, k, HOLD_NONE, o);
			return;
		}
		tk_forget(t, k, o);
		return;
	}
	t->stats.transfers_aborted++;
	tk_note(o, k->rec->id, "task %s: the move to %s was aborted; %s",
	    k->rec->id, k->move_to, current ? (k->resume ? "it resumes here "
	    "from its checkpoint" : "it stays here") : "its copy here is stale");
	tk_mig_tell(k, 0, "", current ? (k->resume ? "the destination did not "
	    "take it; it resumes where it was, from its checkpoint" : "the "
	    "destination did not take it; it stays where it was") :
	    "another placement replaced it", o);
	if (current) {
		tk_set_hold(t, now, k, HOLD_QUEUED, o);
		tk_schedule(t, now, o);
		return;
	}
	tk_drop_copy(t, now, k, o);
}

/* The destination learns the outcome of a move to it. */
static void
dst_decided(struct tasks *t, uint64_t now, struct tasks_task *k, int committed,
    uint32_t lease_ms, uint64_t held, struct tasks_out *o)
{
	tk_disarm(k);
	if (k->incoming != NULL) {
		if (committed) {
			tk_counts_merge(k->rec, k->incoming);
			tk_output_take(k->rec, k->incoming);
		}
		lb__task_record__free_unpacked(k->incoming, NULL);
		k->incoming = NULL;
	}
	if (!committed) {
		tk_drop_copy(t, now, k, o);
		return;
	}
	t->stats.transfers_in++;
	tk_note(o, k->rec->id, "task %s arrived from %s (epoch %u.%s)", k->rec->id,
	    k->from, k->h_epoch, k->h_by);
	if (!tasks_migration_pending(k))
		tk_mig_tell(k, 1, t->self, NULL, o);	/* else when it runs */
	if (!k->home)
		tk_save(o, k, 1);	/* a placement held here survives a restart */
	/* The home's commit is a lease, counted from when this peer took the
	 * task in: that was before the home heard of it, so the lease ends
	 * before the home would run the task elsewhere.  Only for the very
	 * hold whose ack led to the commit (the reply echoes its held_ms): a
	 * late reply must not lend a later hold of the same placement, taken
	 * from a late copy of the Transfer, a lease from before it. */
	if (tk_leased(t, k) && lease_ms > 0 && k->pend_at != 0 &&
	    held == k->pend_at && k->pend_at <= now) {
		uint64_t l = (uint64_t)t->conf.lease_ms;

		if (lease_ms < l)
			l = lease_ms;
		if (k->pend_at + l > k->lease_until) {
			k->lease_until = k->pend_at + l;
			k->lease_ck = 0;
		}
	}
	tk_set_hold(t, now, k, HOLD_QUEUED, o);
	tk_schedule(t, now, o);
}

/* Ask the home to commit or abort (locally when the home is here). */
void
tk_ask_home(struct tasks *t, uint64_t now, struct tasks_task *k, int commit,
    struct tasks_out *o)
{
	Lb__PeerMsg	 m = LB__PEER_MSG__INIT;
	Lb__TaskMove	 mv = LB__TASK_MOVE__INIT;
	char		 home[LB_ID_MAX];
	int		 src = k->hold == HOLD_FROZEN;

	mv.task_id = k->rec->id;
	if (src) {
		mv.epoch = k->move_epoch;
		mv.epoch_by = t->self;
		mv.host = k->move_to;
		mv.host_inc = k->move_inc;
		mv.parent_epoch = k->h_epoch;
		mv.parent_by = k->h_by;
		mv.held_ms = k->move_held;
	} else {
		mv.epoch = k->h_epoch;
		mv.epoch_by = k->h_by;
		mv.host = t->self;
		mv.host_inc = t->inc;
		mv.parent_epoch = k->h_parent;
		mv.parent_by = k->h_parent_by;
		mv.held_ms = k->pend_at;
	}
	mv.commit = commit;
	if (k->home) {
		home_move(t, now, k, &mv, t->self, o);
		return;
	}
	k->ask = 1;
	k->ask_commit = commit;
	tk_home_to(t, k->rec, home);
	m.body_case = LB__PEER_MSG__BODY_TASK_MOVE;
	m.task_move = &mv;
	tk_send_msg(o, home, k->rec->id, &m);
	tk_arm(t, now, k);
}

void
tk_move_recv(struct tasks *t, uint64_t now, const char *from,
    const Lb__TaskMove *mv, struct tasks_out *o)
{
	struct tasks_task	*k;

	if (t->home_hold)
		return;		/* asked again: decided once it may act */
	if (!lb_id_valid(mv->epoch_by) || !lb_id_valid(mv->host) ||
	    !lb_id_valid(mv->parent_by) || mv->epoch == 0) {
		t->stats.drop_invalid++;
		return;
	}
	if ((k = tasks_find(t, mv->task_id)) == NULL) {
		move_reply(o, from, mv->task_id, mv->epoch, mv->epoch_by, 0, 0,
		    "no such task", 0, 0);
		return;
	}
	/* Only the two sides of the move have a say in it. */
	if (strcmp(from, k->rec->host) != 0 && strcmp(from, mv->host) != 0) {
		if (!tasks_unfinished(k->rec) || !tk_same(mv->parent_epoch,
		    mv->parent_by, k->rec->epoch, k->rec->epoch_by)) {
			move_reply(o, from, mv->task_id, mv->epoch,
			    mv->epoch_by, 0, 0, "not current", 0, 0);
			return;
		}
		t->stats.drop_sender++;
		return;
	}
	home_move(t, now, k, mv, from, o);
}

void
tk_move_reply_recv(struct tasks *t, uint64_t now, const Lb__TaskMoveReply *r,
    struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, r->task_id);

	if (k == NULL) {
		t->stats.drop_unknown++;
		return;
	}
	if (k->hold == HOLD_FROZEN && tk_same(r->epoch, r->epoch_by,
	    k->move_epoch, t->self))
		src_decided(t, now, k, r->committed, r->current, o);
	else if (k->hold == HOLD_PENDING && tk_same(r->epoch, r->epoch_by,
	    k->h_epoch, k->h_by))
		dst_decided(t, now, k, r->committed, r->lease_ms, r->held_ms, o);
	else
		t->stats.drop_unknown++;
}
