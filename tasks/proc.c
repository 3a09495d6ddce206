/*
 * proc.c - the processes of the tasks held here: started, and ended (a
 * result, a checkpoint, a stop, a start that failed).
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>

#include "tasks/tasks_int.h"

/* ---- processes ---- */

/* Whether a process stopped to be handed back ended by itself first: an
 * exit of its own before the stop reached it (not by a signal, not a
 * checkpoint, not the usual 128 + SIGTERM of a process that catches the
 * stop) is a complete run.  Once the stop reached it, nothing it does is a
 * result: a process that catches SIGTERM and exits 0 did not finish. */
static int
ended_itself(const Lb__TaskRecord *r, const struct tasks_exit *x)
{
	if (x->stopped || x->error != NULL || !x->exited)
		return 0;
	if (r->spec->checkpointable && x->code == r->spec->checkpoint_exit_code)
		return 0;
	return x->code != 128 + SIGTERM;
}

void
tasks_proc_started(struct tasks *t, uint64_t now, const char *id,
    uint32_t pgid, struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, id);
	Lb__TaskRecord		*r;

	if (k == NULL || k->hold != HOLD_RUNNING)
		return;
	r = k->rec;
	k->lease_ck = k->lease_frozen = 0;
	r->pgid = pgid;
	r->state = LB__TASK_STATE__TASK_RUNNING;
	r->started_ms = tk_wall(t, now);
	k->proc_at = now;
	r->starts++;
	if (k->resume)
		r->resumes++;
	tk_save(o, k, 0);
	tk_notice(t, now, k, o);
	tk_mig_tell(k, 1, t->self, NULL, o);
	if (r->spec->checkpointable && r->spec->checkpoint_every_s > 0)
		k->ckp_due = now + (uint64_t)r->spec->checkpoint_every_s * 1000;
}

/* The output a process left, into its record (the inline bytes taken). */
static void
exit_output(Lb__TaskRecord *r, struct tasks_exit *x)
{
	r->stdout_bytes = x->stdout_bytes;
	r->stderr_bytes = x->stderr_bytes;
	r->output_truncated = x->truncated;
	r->output_in_files = x->output_in_files;
	free(r->stdout_inline.data);
	free(r->stderr_inline.data);
	r->stdout_inline = x->out_inline;
	r->stderr_inline = x->err_inline;
	x->out_inline.data = x->err_inline.data = NULL;
	x->out_inline.len = x->err_inline.len = 0;
}

void
tasks_proc_exited(struct tasks *t, uint64_t now, const char *id,
    struct tasks_exit *x, struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, id);
	Lb__TaskRecord		*r;
	struct tasks_action	*a;
	int			 yielding;

	if (k == NULL || (k->hold != HOLD_RUNNING && k->hold !=
	    HOLD_STOPPING)) {
		free(x->out_inline.data);
		free(x->err_inline.data);
		return;
	}
	r = k->rec;
	if (k->hold == HOLD_STOPPING && k->give_back && !ended_itself(r, x)) {
		/* Stopped to be handed back: its home places it anew. */
		if (x->exited && x->code == r->spec->checkpoint_exit_code &&
		    r->spec->checkpointable) {
			/* (Its output since its last checkpoint is not
			 * taken: the executor kept none after the stop.) */
			r->checkpoints++;
			r->served_ms += now > k->proc_at ? now - k->proc_at : 0;
			/* At its home, the run placed anew starts from this
			 * checkpoint: what it holds is accounted for. */
			if (k->home)
				tk_out_push(o, TA_CKCOPY, r->id)->seq =
				    r->checkpoints;
		}
		free(x->out_inline.data);
		free(x->err_inline.data);
		x->out_inline.data = x->err_inline.data = NULL;
		r->pgid = 0;
		k->give_back = 0;
		if (k->home) {
			tk_set_hold(t, now, k, HOLD_NONE, o);
			if (tasks_unfinished(r))
				tk_rerun(t, now, k, k->give_why, o);
		} else
			tk_return_now(t, now, k, o);
		tk_schedule(t, now, o);
		return;
	}
	if (k->hold == HOLD_STOPPING && k->give_back) {
		/* It ended by itself before the stop took: a complete run,
		 * whose result is kept as any other. */
		k->give_back = 0;
		tk_set_hold(t, now, k, HOLD_RUNNING, o);
	}
	if (k->hold == HOLD_STOPPING || (k->home && !tasks_unfinished(r))) {
		/*
		 * A copy that lost (cancelled, replaced, or another run ended
		 * first; a home stops its own copy only once the result is
		 * recorded): nothing of it is kept, the record stays.
		 */
		free(x->out_inline.data);
		free(x->err_inline.data);
		x->out_inline.data = x->err_inline.data = NULL;
		if (k->home)
			tk_set_hold(t, now, k, HOLD_NONE, o);
		else
			tk_forget(t, k, o);
		tk_schedule(t, now, o);
		return;
	}
	if (k->hold == HOLD_RUNNING && k->fail_why[0] != '\0') {
		/* Stopped for a limit it broke: that is its result. */
		free(x->out_inline.data);
		free(x->err_inline.data);
		x->out_inline.data = x->err_inline.data = NULL;
		x->out_inline.len = x->err_inline.len = 0;
		if (k->ck_asked)
			tk_ck_fail(k, "it was stopped", o);
		r->pgid = 0;
		r->finished_ms = tk_wall(t, now);
		r->state = LB__TASK_STATE__TASK_FAILED;
		tk_set_str(&r->error, k->fail_why);
		k->fail_why[0] = '\0';
		r->exit_code = r->signal = 0;
		if (k->home) {
			tk_set_hold(t, now, k, HOLD_NONE, o);
			tk_record_result(t, now, k, r, NULL, NULL, o);
		} else {
			tk_set_hold(t, now, k, HOLD_ENDED, o);
			tk_save(o, k, 1);
			tk_notice(t, now, k, o);
		}
		tk_schedule(t, now, o);
		return;
	}
	if (x->error != NULL && !x->stopped && k->hold == HOLD_RUNNING) {
		free(x->out_inline.data);
		free(x->err_inline.data);
		x->out_inline.data = x->err_inline.data = NULL;
		if (k->ck_asked)
			tk_ck_fail(k, "it could not start", o);
		tk_start_failed_here(t, now, k, x->error, o);
		return;
	}
	r->pgid = 0;
	exit_output(r, x);
	if (x->error == NULL && r->spec->checkpointable &&
	    x->exited && x->code == r->spec->checkpoint_exit_code) {
		r->checkpoints++;
		k->resume = 1;
		/* The work its checkpoint holds. */
		r->served_ms += now > k->proc_at ? now - k->proc_at : 0;
		if (k->yield && now >= k->yield_asked)
			k->yield_cost = (uint32_t)(now - k->yield_asked);
		k->yield_next = 0;
		if (k->ck_asked) {
			/* Asked so that it moves: it goes from here, frozen,
			 * its checkpoint with it. */
			char to[LB_ID_MAX];
			uint64_t inc = k->ck_inc, req = k->ck_req;
			/* The task's own time: from the signal. */
			uint32_t ck_ms = (uint32_t)(now - (k->ck_signalled ?
			    k->ck_signalled : k->ck_asked));
			lb_strlcpy(to, k->ck_to, sizeof(to));
			k->ck_asked = k->ck_due = 0;
			k->ck_to[0] = '\0';
			r->state = LB__TASK_STATE__TASK_QUEUED;
			/* At its home, this checkpoint stays there too (a
			 * rerun starts from it). */
			if (k->home)
				tk_out_push(o, TA_CKCOPY, r->id)->seq =
				    r->checkpoints;
			tk_freeze_move(t, now, k, to, inc, req, ck_ms > 0 ? ck_ms :
			    1, o);
			tk_schedule(t, now, o);
			return;
		}
		/* It wrote a checkpoint: its home gets a copy (unless it is
		 * here), then it starts again from there -- at once, or, when
		 * its lease is running out (it was asked to checkpoint for
		 * that), once its home confirms it.  A checkpoint to yield a
		 * slot is not copied (a home's copy may be older: a rerun
		 * from it gets more of the messages its home kept); at the
		 * home it is noted as any other, so that what it kept for the
		 * task matches the checkpoint it would start from. */
		yielding = k->yield && !t->draining && !t->leaving &&
		    tk_yield_to(t, now, r->served_ms) != NULL;
		/* ... but when it is time for a periodic one, it is (a task
		 * that yields more often than its period is never asked). */
		if (!yielding || k->home || (r->spec->checkpoint_every_s > 0 &&
		    now >= k->ckp_copied + (uint64_t)r->spec->
		    checkpoint_every_s * 1000)) {
			tk_out_push(o, TA_CKCOPY, r->id)->seq = r->checkpoints;
			k->ckp_copied = now;
		}
		r->pgid = 0;
		k->lease_ck = k->lease_frozen = 0;
		if (yielding) {
			/* It yields its slot: it waits behind the tasks that
			 * have run less, and goes on from its checkpoint. */
			r->state = LB__TASK_STATE__TASK_QUEUED;
			tk_note(o, r->id, "task %s checkpointed after %llu ms of "
			    "run; it waits behind %s (preemption)", r->id,
			    (unsigned long long)r->served_ms,
			    tk_yield_to(t, now, r->served_ms)->rec->id);
			t->stats.yields++;
			tk_set_hold(t, now, k, HOLD_QUEUED, o);
			tk_save(o, k, 0);
			tk_schedule(t, now, o);
			return;
		}
		k->yield = 0;
		if (!tk_lease_ok(t, k, now)) {
			r->state = LB__TASK_STATE__TASK_QUEUED;
			tk_note(o, r->id, "task %s checkpointed; it waits for its "
			    "home to confirm it before it runs again", r->id);
			tk_set_hold(t, now, k, HOLD_QUEUED, o);
			tk_lease_soon(t, k, now, o);
			return;
		}
		a = tk_out_push(o, TA_START, r->id);
		a->resume = 1;
		a->until = tk_leased(t, k) ? k->lease_until : 0;
		return;
	}
	if (k->ck_asked)
		tk_ck_fail(k, "it ended before it checkpointed", o);
	r->finished_ms = tk_wall(t, now);
	if (x->error != NULL) {
		r->state = LB__TASK_STATE__TASK_FAILED;
		tk_set_str(&r->error, x->error);
	} else
		r->state = LB__TASK_STATE__TASK_DONE;
	r->exit_code = x->exited ? x->code : 0;
	r->signal = x->exited ? 0 : x->signal;
	if (k->home) {
		tk_set_hold(t, now, k, HOLD_NONE, o);
		tk_record_result(t, now, k, r, NULL, NULL, o);
	} else {
		tk_set_hold(t, now, k, HOLD_ENDED, o);
		tk_save(o, k, 1);	/* the result survives a restart */
		tk_notice(t, now, k, o);
	}
	tk_schedule(t, now, o);
}
