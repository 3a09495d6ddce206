/*
 * transfer.c - the Transfer of a moving task: taken or refused at its
 * destination, held there until the home commits, and acknowledged to its
 * source.
 */
#include "config.h"

#include <string.h>

#include "tasks/tasks_int.h"

static void
transfer_ack(struct tasks_out *o, const char *to, uint64_t req,
    const Lb__TaskRecord *r, int ok, const char *error, uint64_t held)
{
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;
	Lb__TransferAck	a = LB__TRANSFER_ACK__INIT;

	a.req_id = req;
	a.task_id = r->id;
	a.epoch = r->epoch;
	a.epoch_by = r->epoch_by;
	a.ok = ok;
	a.error = (char *)(error ? error : "");
	a.held_ms = ok ? held : 0;
	m.body_case = LB__PEER_MSG__BODY_TRANSFER_ACK;
	m.transfer_ack = &a;
	tk_send_msg(o, to, r->id, &m);
}

/*
 * Whether this peer takes a Transfer: 0 yes (or it has it already: *dup),
 * -1 with why not in *why (NULL: drop it without an answer).  The shell
 * asks before it pulls the files, and the core again when they are here.
 */
static int
transfer_ok(struct tasks *t, const char *from, const Lb__Transfer *tr,
    int count, int *dup, const char **why)
{
	const Lb__TaskRecord	*r = tr->record;
	struct tasks_task	*k;

	*dup = 0;
	*why = NULL;
	if (!tk_rec_valid(t, r) || !lb_id_valid(r->parent_by) ||
	    strcmp(r->host, t->self) != 0 || strcmp(r->epoch_by, from) != 0) {
		if (count)
			t->stats.drop_invalid++;
		return -1;
	}
	if (r->host_inc != t->inc) {
		/* Meant for an earlier life of this peer: the home would
		 * commit it to that one. */
		if (count)
			t->stats.drop_unknown++;
		return -1;
	}
	k = tasks_find(t, r->id);
	if (k != NULL && k->hold == HOLD_PENDING && tk_same(k->h_epoch, k->h_by,
	    r->epoch, r->epoch_by)) {
		*dup = 1;	/* again */
		return 0;
	}
	if (k != NULL && (k->hold != HOLD_NONE || !k->home))
		*why = "a copy is held here";
	else if (k != NULL && !tasks_unfinished(k->rec))
		*why = "the task has ended";
	else if (k == NULL && tk_is_home_of(t, r->id) &&
	    (r->home_peer == NULL || r->home_peer[0] == '\0' ||
	    strcmp(r->home_peer, t->self) == 0))
		/* Homed here but not known: forgotten long ago (or never
		 * issued); it must not come back as a record of its own.
		 * (One taken over by another, which this peer let go, may
		 * come here as to any host: its home is that one.) */
		*why = "its home has no record of it";
	else if (t->leaving || t->draining)
		*why = t->leaving ? "this peer is leaving" :
		    "this peer is draining";
	else if (k == NULL && t->n >= t->conf.max_tasks) {
		if (count)
			t->stats.refused_full++;
		*why = "no room here";
	}
	return *why != NULL ? -1 : 0;
}

int
tasks_transfer_wanted(struct tasks *t, const char *from,
    const Lb__Transfer *tr)
{
	const char	*why;
	int		 dup;

	return transfer_ok(t, from, tr, 0, &dup, &why) == 0 && !dup;
}

void
tk_transfer_recv(struct tasks *t, uint64_t now, const char *from,
    const Lb__Transfer *tr, struct tasks_out *o)
{
	const Lb__TaskRecord	*r = tr->record;
	struct tasks_task	*k;
	const char		*why;
	int			 dup;

	if (transfer_ok(t, from, tr, 1, &dup, &why) == -1) {
		if (why != NULL)
			transfer_ack(o, from, tr->req_id, r, 0, why, 0);
		return;
	}
	if (dup) {
		k = tasks_find(t, r->id);
		transfer_ack(o, from, tr->req_id, r, 1, NULL, k != NULL &&
		    k->hold == HOLD_PENDING ? k->pend_at : 0);	/* again */
		return;
	}
	k = tasks_find(t, r->id);
	if (k == NULL) {
		/* With what it printed so far: in the record, or in the
		 * files that came with it (the shell put them in place). */
		k = tk_task_add(t, tasks_rec_clone(r));
	} else {
		/* Back at its home: what happened to it elsewhere counts,
		 * once the move commits. */
		if (k->incoming != NULL)
			lb__task_record__free_unpacked(k->incoming, NULL);
		k->incoming = tasks_rec_clone(r);
	}
	/* Held, not runnable, until the home commits the move. */
	k->h_epoch = r->epoch;
	lb_strlcpy(k->h_by, r->epoch_by, sizeof(k->h_by));
	k->h_parent = r->parent_epoch;
	lb_strlcpy(k->h_parent_by, r->parent_by, sizeof(k->h_parent_by));
	lb_strlcpy(k->from, from, sizeof(k->from));
	/* It resumes from the checkpoint that came with it. */
	k->resume = r->spec->checkpointable && r->checkpoints > 0;
	k->mig_origin[0] = '\0';
	k->mig_req = 0;
	if (lb_id_valid(tr->migrate_origin)) {
		lb_strlcpy(k->mig_origin, tr->migrate_origin,
		    sizeof(k->mig_origin));
		k->mig_req = tr->migrate_req;
	}
	k->pend_at = now;	/* echoed by the commit: see dst_decided */
	tk_set_hold(t, now, k, HOLD_PENDING, o);
	tk_note(o, r->id, "task %s held, from %s (epoch %u.%s): waiting for its "
	    "home to commit the move", r->id, from, r->epoch, r->epoch_by);
	tk_disarm(k);
	k->due = now + 2 * (uint64_t)t->conf.transfer_timeout_ms;
	transfer_ack(o, from, tr->req_id, r, 1, NULL, k->pend_at);
}

void
tasks_move_progress(struct tasks *t, uint64_t now, const char *id,
    uint64_t extra_ms)
{
	struct tasks_task	*k = tasks_find(t, id);
	uint64_t		 due = now + (uint64_t)t->conf.transfer_timeout_ms +
				    extra_ms;

	if (k != NULL && k->hold == HOLD_FROZEN && !k->move_acked && !k->ask &&
	    k->due < due)
		k->due = due;
}

void
tk_transfer_ack_recv(struct tasks *t, uint64_t now, const char *from,
    const Lb__TransferAck *a, struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, a->task_id);

	if (k == NULL || k->hold != HOLD_FROZEN || k->move_acked ||
	    k->ask || k->move_req != a->req_id || strcmp(k->move_to, from) ||
	    !tk_same(a->epoch, a->epoch_by, k->move_epoch, t->self)) {
		t->stats.drop_unknown++;
		return;
	}
	if (!a->ok) {
		/* Refused; but a duplicate of the Transfer may still be
		 * installed there later: abort through the home, which fences
		 * the move. */
		k->backoff = 0;
		tk_ask_home(t, now, k, 0, o);
		return;
	}
	k->move_acked = 1;
	k->move_held = a->held_ms;
	k->backoff = 0;
	tk_ask_home(t, now, k, 1, o);
}
