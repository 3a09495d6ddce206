/*
 * results.c - how a task's end reaches its home: notices from its holder
 * and the home's verdicts, the result recorded once, and stops of the
 * placements that lost.
 */
#include "config.h"

#include <string.h>

#include "tasks/tasks_int.h"

/* Record the end of a task homed here: once, never changed after. */
void
tk_record_result(struct tasks *t, uint64_t now, struct tasks_task *k,
    const Lb__TaskRecord *r, const ProtobufCBinaryData *out,
    const ProtobufCBinaryData *err, struct tasks_out *o)
{
	Lb__TaskRecord	*h = k->rec;

	h->state = r->state;
	h->exit_code = r->exit_code;
	h->signal = r->signal;
	if (r != h)
		tk_set_str(&h->error, r->error);
	h->finished_ms = r->finished_ms ? r->finished_ms : tk_wall(t, now);
	if (r->started_ms)
		h->started_ms = r->started_ms;
	if (r != h) {
		tk_counts_merge(h, r);
		h->stdout_bytes = r->stdout_bytes;
		h->stderr_bytes = r->stderr_bytes;
		h->output_truncated = r->output_truncated;
		h->output_in_files = r->output_in_files;
		tk_set_bytes(&h->stdout_inline, r->output_in_files ? NULL :
		    &r->stdout_inline);
		tk_set_bytes(&h->stderr_inline, r->output_in_files ? NULL :
		    &r->stderr_inline);
		/* (out NULL: the run was here, its files are in place) */
		if (r->output_in_files && out != NULL) {
			struct tasks_action *a = tk_out_push(o, TA_OUTPUT, h->id);
			a->out = out;
			a->err = err;
		}
	}
	if (h->n_hosts > 0 && h->hosts[h->n_hosts - 1]->left_ms == 0)
		h->hosts[h->n_hosts - 1]->left_ms = h->finished_ms;
	h->pgid = 0;
	tk_note(o, h->id, "task %s: result recorded (%s, epoch %u.%s)", h->id,
	    tasks_state_name(h->state), r->epoch, r->epoch_by);
	t->stats.results++;
	tk_save(o, k, 1);
}

/* The home: ask the host of the current placement to stop it. */
void
tk_stop_current(struct tasks *t, uint64_t now, struct tasks_task *k,
    const char *why, struct tasks_out *o)
{
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;
	Lb__TaskStop	s = LB__TASK_STOP__INIT;

	if (strcmp(k->rec->host, t->self) == 0)
		return;		/* the caller handled what is held here */
	k->stop = 1;
	if (why != k->stop_why)
		lb_strlcpy(k->stop_why, why, sizeof(k->stop_why));
	if (!k->rec->stop_pending) {
		/* The stop survives a restart of the home. */
		k->rec->stop_pending = 1;
		tk_save(o, k, 1);
	}
	s.task_id = k->rec->id;
	s.epoch = k->rec->epoch;
	s.epoch_by = k->rec->epoch_by;
	s.reason = k->stop_why;
	m.body_case = LB__PEER_MSG__BODY_TASK_STOP;
	m.task_stop = &s;
	tk_send_msg(o, k->rec->host, k->rec->id, &m);
	tk_arm(t, now, k);
}

/* Stop what is held here of a task and forget it (a non-home copy). */
void
tk_drop_copy(struct tasks *t, uint64_t now, struct tasks_task *k,
    struct tasks_out *o)
{
	if (k->hold == HOLD_RUNNING) {
		tk_set_hold(t, now, k, HOLD_STOPPING, o);
		tk_out_push(o, TA_STOP, k->rec->id);
		tk_disarm(k);
		return;
	}
	if (k->hold == HOLD_STOPPING) {
		k->give_back = 0;	/* nothing to hand back: it goes */
		return;		/* forgotten when it exits */
	}
	if (k->home) {
		tk_set_hold(t, now, k, HOLD_NONE, o);
		tk_disarm(k);
		return;
	}
	tk_forget(t, k, o);
}

/* ---- notices: holder to home ---- */

void
tk_notice_send(struct tasks *t, uint64_t now, struct tasks_task *k,
    struct tasks_out *o)
{
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__TaskNotice		 n = LB__TASK_NOTICE__INIT;
	char			 home[LB_ID_MAX];
	struct tasks_action	*a;
	uint32_t		 keep;

	if (!k->notice || k->home)
		return;
	tk_home_to(t, k->rec, home);
	n.record = k->rec;
	n.mailbox_lost = k->hold == HOLD_CONFIRM && k->mail_lost;
	m.body_case = LB__PEER_MSG__BODY_TASK_NOTICE;
	m.task_notice = &n;
	/* The counter allocated for a move under way is not reported: the
	 * home fences what a notice reports (for a holder back from a
	 * restart, which forgot its moves) and would abort that move.  Back
	 * from a restart, it is reported (on disk, and no longer known). */
	keep = k->rec->epoch_next;
	if (k->ck_epoch != 0 && k->ck_epoch == keep)
		k->rec->epoch_next = keep - 1;
	a = tk_send_msg(o, home, k->rec->id, &m);
	k->rec->epoch_next = keep;
	a->with_output = !tasks_unfinished(k->rec) && k->rec->output_in_files;
	tk_arm(t, now, k);
}

/* A change at the holder the home should know of. */
void
tk_notice(struct tasks *t, uint64_t now, struct tasks_task *k, struct tasks_out *o)
{
	if (k->home)
		return;
	k->notice = 1;
	k->backoff = 0;
	tk_notice_send(t, now, k, o);
}

static void
notice_ack(struct tasks *t, uint64_t now, const char *to, uint64_t inc,
    const char *id, const Lb__TaskRecord *r, Lb__Verdict v,
    struct tasks_out *o)
{
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;
	Lb__TaskNoticeAck a = LB__TASK_NOTICE_ACK__INIT;

	a.task_id = (char *)id;
	a.epoch = r->epoch;
	a.epoch_by = r->epoch_by;
	a.state = r->state;
	a.verdict = v;
	a.holder_inc = inc;
	m.body_case = LB__PEER_MSG__BODY_TASK_NOTICE_ACK;
	m.task_notice_ack = &a;
	tk_send_msg(o, to, id, &m);
}

void
tk_home_notice(struct tasks *t, uint64_t now, const char *from, uint64_t inc,
    const Lb__TaskNotice *n, struct tasks_out *o)
{
	const Lb__TaskRecord	*r = n->record;
	struct tasks_task	*k;
	Lb__TaskRecord		*h;
	Lb__Verdict		 v;
	int			 fenced = 0;

	if (strcmp(r->host, from) != 0) {
		t->stats.drop_sender++;
		return;
	}
	if ((k = tasks_find(t, r->id)) == NULL || !k->home) {
		/* Not while this home may not act (what it let go may not be
		 * gone from its journal yet), nor for one it let go to
		 * another: the holder would drop a copy, or a result, that
		 * the one acting for it needs.  It asks there in time. */
		if (t->home_hold || (k == NULL && tk_own_seq(t, r->id) != 0 &&
		    tk_own_seq(t, r->id) < t->given_up_upto))
			return;
		notice_ack(t, now, from, inc, r->id, r, LB__VERDICT__VERDICT_UNKNOWN,
		    o);
		return;
	}
	h = k->rec;
	if (!tasks_unfinished(h)) {
		v = LB__VERDICT__VERDICT_DONE;
		/* The final notice again, of the run whose result stands
		 * (its ack was lost, or a replica took over without its
		 * output files): the output it carries is the result's, to
		 * keep if it is not here. */
		if (!tasks_unfinished(r) && h->output_in_files &&
		    r->output_in_files && tk_same(r->epoch, r->epoch_by,
		    h->epoch, h->epoch_by) && r->stdout_bytes ==
		    h->stdout_bytes && r->stderr_bytes == h->stderr_bytes) {
			struct tasks_action *a = tk_out_push(o, TA_OUTPUT,
			    h->id);
			a->out = &n->stdout;
			a->err = &n->stderr;
		}
	} else if (tk_same(r->epoch, r->epoch_by, h->epoch, h->epoch_by)) {
		if (inc < h->host_inc)
			return;	/* from an incarnation of its host since gone */
		h->host_inc = inc;
		tk_lease_heard(t, now, k);
		/* A holder back from a restart: fence the moves it had
		 * started, which it no longer knows of. */
		if (r->epoch_next > h->epoch_floor) {
			h->epoch_floor = r->epoch_next;
			fenced = 1;
		}
		if (!tasks_unfinished(r)) {
			tk_record_result(t, now, k, r, &n->stdout, &n->stderr, o);
			v = LB__VERDICT__VERDICT_DONE;
		} else if (n->mailbox_lost &&
		    r->state == LB__TASK_STATE__TASK_QUEUED) {
			/* Back from a crash without the messages it held or
			 * the task took since its checkpoint, some of which
			 * this home keeps (the shell clears the flag when it
			 * keeps none): it runs the task again itself, with
			 * them.  The holder has no process (it asks before it
			 * starts one). */
			if (t->home_hold)
				return;	/* (it asks again) */
			tk_rerun(t, now, k, "its host restarted without the "
			    "messages it held", o);
			v = LB__VERDICT__VERDICT_STALE;
		} else {
			tk_progress_copy(h, r);
			/* A raised fence is on disk before "go on" leaves. */
			tk_save(o, k, fenced);
			v = LB__VERDICT__VERDICT_CURRENT;
		}
	} else if (r->state == LB__TASK_STATE__TASK_DONE && r->signal == 0) {
		/*
		 * A complete run of a placement that was replaced (its host
		 * was thought dead): keep it, and stop the current one.  A
		 * stale copy that a signal ended (kill -9 from outside, the
		 * OOM killer: its holder did not stop it) did not complete:
		 * it is stale, the current run goes on.
		 */
		tk_record_result(t, now, k, r, &n->stdout, &n->stderr, o);
		/* A copy held here (current, or arriving) goes; the current
		 * placement elsewhere is told to stop. */
		if (k->hold != HOLD_NONE)
			tk_drop_copy(t, now, k, o);
		tk_stop_current(t, now, k, "another run ended first", o);
		v = LB__VERDICT__VERDICT_DONE;
	} else {
		v = LB__VERDICT__VERDICT_STALE;
		t->stats.stale_stopped++;
	}
	notice_ack(t, now, from, inc, r->id, r, v, o);
}

void
tk_holder_verdict(struct tasks *t, uint64_t now, struct tasks_task *k,
    Lb__Verdict v, Lb__TaskState state, struct tasks_out *o)
{
	if (v == LB__VERDICT__VERDICT_CURRENT) {
		/* Handed back: the return, not this old notice, is what the
		 * home must answer now. */
		if (k->hold == HOLD_RETURNING)
			return;
		/* Back from a restart, only the answer to "I hold it, queued"
		 * counts: a late answer to an earlier notice (sent before the
		 * home ran it again elsewhere) must not start it. */
		if (k->hold == HOLD_CONFIRM &&
		    state != LB__TASK_STATE__TASK_QUEUED)
			return;
		if (state == k->rec->state || (k->hold == HOLD_CONFIRM &&
		    state == LB__TASK_STATE__TASK_QUEUED))
			tk_disarm(k);
		if (k->hold == HOLD_CONFIRM) {
			tk_set_hold(t, now, k, HOLD_QUEUED, o);
			tk_schedule(t, now, o);
		}
		return;
	}
	if (v == LB__VERDICT__VERDICT_STALE) {
		t->stats.stale_stopped++;
		tk_note(o, k->rec->id, "task %s: another placement replaced this "
		    "one; stopping it here", k->rec->id);
	}
	tk_drop_copy(t, now, k, o);
}

/* ---- stops ---- */

void
tk_stop_recv(struct tasks *t, uint64_t now, const char *from,
    const Lb__TaskStop *s, struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, s->task_id);
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__TaskStopAck		 a = LB__TASK_STOP_ACK__INIT;

	if (k != NULL && !k->home && k->hold != HOLD_NONE &&
	    tk_same(s->epoch, s->epoch_by, k->h_epoch, k->h_by))
		tk_drop_copy(t, now, k, o);
	a.task_id = s->task_id;
	a.epoch = s->epoch;
	a.epoch_by = s->epoch_by;
	m.body_case = LB__PEER_MSG__BODY_TASK_STOP_ACK;
	m.task_stop_ack = &a;
	tk_send_msg(o, from, s->task_id, &m);
}

void
tk_stop_ack_recv(struct tasks *t, const char *from, const Lb__TaskStopAck *a,
    struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, a->task_id);

	if (k == NULL || !k->home || !k->stop) {
		t->stats.drop_unknown++;
		return;
	}
	if (strcmp(from, k->rec->host) != 0 || !tk_same(a->epoch, a->epoch_by,
	    k->rec->epoch, k->rec->epoch_by)) {
		t->stats.drop_sender++;
		return;
	}
	k->stop = 0;
	k->rec->stop_pending = 0;
	tk_out_push(o, TA_SAVE, k->rec->id);
	tk_disarm(k);
}
