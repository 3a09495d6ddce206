/*
 * giveback.c - placements handed back to their home: by a draining host
 * (TaskReturn, until acknowledged), and starts that failed at a host (the
 * home places the task elsewhere, or it fails); the peers alive.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/tasks_int.h"

void
tasks_set_alive(struct tasks *t, const char *const *ids, size_t n)
{
	for (size_t i = 0; i < t->nalive; i++)
		free(t->alive[i]);
	free(t->alive);
	t->alive = n > 0 ? lb_calloc(n, sizeof(*t->alive)) : NULL;
	for (size_t i = 0; i < n; i++)
		t->alive[i] = lb_strdup(ids[i]);
	t->nalive = n;
}

int
tasks_avoids(const Lb__TaskRecord *r, const char *peer)
{
	for (size_t i = 0; i < r->n_start_failures; i++)
		if (strcmp(r->start_failures[i]->host, peer) == 0)
			return 1;
	return 0;
}

/* Home: `host` could not start the task (`why`, at `at_ms`): noted in the
 * record, once a host.  1 when that makes as many hosts as it may fail to
 * start on, or as many as there are peers alive. */
static int
start_failure_add(const struct tasks *t, Lb__TaskRecord *r, const char *host,
    const char *why, uint64_t at_ms)
{
	size_t			max = t->conf.max_start_failures > 0 ?
				    (size_t)t->conf.max_start_failures : 1;
	Lb__StartFailure	*f;

	if (max > TASKS_START_FAILURES_MAX)
		max = TASKS_START_FAILURES_MAX;
	if (!tasks_avoids(r, host) && r->n_start_failures < max) {
		r->start_failures = lb_reallocarray(r->start_failures,
		    r->n_start_failures + 1, sizeof(*r->start_failures));
		f = lb_calloc(1, sizeof(*f));
		lb__start_failure__init(f);
		f->host = lb_strdup(host);
		f->reason = lb_printf("%.150s", why);
		f->at_ms = at_ms;
		r->start_failures[r->n_start_failures++] = f;
	}
	if (r->n_start_failures >= max)
		return 1;
	/* Every peer alive tried: no host is left to try. */
	for (size_t i = 0; i < t->nalive; i++)
		if (!tasks_avoids(r, t->alive[i]))
			return 0;
	return t->nalive > 0;
}

/* Home: its task could not start at `host`: it is placed anew (never on a
 * host where it failed), or, failed on as many hosts as it may, it fails. */
void
tk_start_failed_home(struct tasks *t, uint64_t now, struct tasks_task *k,
    const char *host, const char *why, uint64_t at_ms, struct tasks_out *o)
{
	Lb__TaskRecord	*r = k->rec;
	char		*e;

	t->stats.start_failures++;
	/* (A task pinned there can go nowhere else.) */
	if (!start_failure_add(t, r, host, why, at_ms) &&
	    r->spec->pin[0] == '\0') {
		/* The failure on disk first: a home that crashes before its
		 * rerun is journaled (one held back while its set is silent,
		 * say) must not start it there again (seed 47121). */
		tk_save(o, k, 1);
		e = lb_printf("could not start at %s (%s): placed on another "
		    "peer", host, why);
		tk_rerun(t, now, k, e, o);
		free(e);
		tk_schedule(t, now, o);
		return;
	}
	r->state = LB__TASK_STATE__TASK_FAILED;
	e = lb_printf("it could not start on %zu host%s (task."
	    "max_start_failures, or every peer alive); at %s: %.150s",
	    r->n_start_failures, r->n_start_failures == 1 ? "" : "s", host,
	    why);
	tk_set_str(&r->error, e);
	free(e);
	r->exit_code = r->signal = 0;
	r->finished_ms = tk_wall(t, now);
	r->pgid = 0;
	/* What is held here goes, and with it whatever it still had to
	 * ask: a move to this home it was told of, fenced and never
	 * committed, would ask on after the result (seed 61084). */
	if (k->hold != HOLD_NONE)
		tk_drop_copy(t, now, k, o);
	tk_record_result(t, now, k, r, NULL, NULL, o);
	tk_schedule(t, now, o);
}

/* Its process could not be started here, for a reason of this host: the
 * home (here or told) places it elsewhere. */
void
tk_start_failed_here(struct tasks *t, uint64_t now, struct tasks_task *k,
    const char *why, struct tasks_out *o)
{
	k->rec->pgid = 0;
	if (k->home) {
		tk_set_hold(t, now, k, HOLD_NONE, o);
		tk_start_failed_home(t, now, k, t->self, why, tk_wall(t, now), o);
		return;
	}
	k->start_failed = 1;
	lb_strlcpy(k->start_why, why, sizeof(k->start_why));
	k->start_failed_at = tk_wall(t, now);
	/* Kept here too: restored before the home has it, it stays off. */
	(void)start_failure_add(t, k->rec, t->self, why, k->start_failed_at);
	tk_save(o, k, 1);
	lb_strlcpy(k->give_why, "it could not start here",
	    sizeof(k->give_why));
	tk_return_now(t, now, k, o);
	tk_schedule(t, now, o);
}

/* ---- give-back: a draining host hands a placement to its home ---- */

void
tk_return_send(struct tasks *t, uint64_t now, struct tasks_task *k,
    struct tasks_out *o)
{
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;
	Lb__TaskReturn	rt = LB__TASK_RETURN__INIT;
	char		home[LB_ID_MAX];

	tk_home_to(t, k->rec, home);
	rt.task_id = k->rec->id;
	rt.epoch = k->h_epoch;
	rt.epoch_by = k->h_by;
	rt.reason = k->give_why;
	if (k->start_failed) {
		rt.reason = k->start_why;
		rt.start_failed = 1;
		rt.failed_at_ms = k->start_failed_at;
	}
	m.body_case = LB__PEER_MSG__BODY_TASK_RETURN;
	m.task_return = &rt;
	tk_send_msg(o, home, k->rec->id, &m);
	tk_arm(t, now, k);
}

/* Nothing of it runs here: tell the home, until it answers. */
void
tk_return_now(struct tasks *t, uint64_t now, struct tasks_task *k,
    struct tasks_out *o)
{
	char	home[LB_ID_MAX];

	tk_home_to(t, k->rec, home);
	k->rec->pgid = 0;
	tk_set_hold(t, now, k, HOLD_RETURNING, o);
	tk_disarm(k);
	tk_note(o, k->rec->id, "task %s: handed back to its home %s (%s)",
	    k->rec->id, home, k->give_why);
	tk_return_send(t, now, k, o);
}

int
tasks_give_back(struct tasks *t, uint64_t now, const char *id,
    const char *why, struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, id);

	if (k == NULL || !tasks_unfinished(k->rec))
		return -1;
	switch (k->hold) {
	case HOLD_RUNNING:
		lb_strlcpy(k->give_why, why, sizeof(k->give_why));
		k->give_back = 1;
		tk_set_hold(t, now, k, HOLD_STOPPING, o);
		tk_out_push(o, TA_STOP, id);
		/* A notice of its start is of no use now: the return
		 * replaces it. */
		tk_disarm(k);
		tk_note(o, id, "task %s: stopping it to hand it back to its home "
		    "(%s)", id, why);
		return 0;
	case HOLD_QUEUED:
	case HOLD_CONFIRM:
		if (k->home)
			return -1;	/* at its home already */
		lb_strlcpy(k->give_why, why, sizeof(k->give_why));
		tk_return_now(t, now, k, o);
		return 0;
	default:
		return -1;
	}
}

static void
return_ack(struct tasks_out *o, const char *to, uint64_t inc,
    const Lb__TaskReturn *rt, int placed)
{
	Lb__PeerMsg	 m = LB__PEER_MSG__INIT;
	Lb__TaskReturnAck a = LB__TASK_RETURN_ACK__INIT;

	a.task_id = rt->task_id;
	a.epoch = rt->epoch;
	a.epoch_by = rt->epoch_by;
	a.holder_inc = inc;
	a.placed = placed;
	m.body_case = LB__PEER_MSG__BODY_TASK_RETURN_ACK;
	m.task_return_ack = &a;
	tk_send_msg(o, to, rt->task_id, &m);
}

/*
 * The home: a placement handed back.  Placed anew only when it is the
 * current one, held by the sender at the incarnation the home knows (or a
 * later one): a repeated return, or a return of a placement a move or a
 * rerun replaced, changes nothing and is acknowledged all the same.
 */
void
tk_return_recv(struct tasks *t, uint64_t now, const char *from, uint64_t inc,
    const Lb__TaskReturn *rt, struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, rt->task_id);
	Lb__TaskRecord		*h;
	char			 why[96];

	if (!lb_id_valid(rt->epoch_by) || rt->epoch == 0 ||
	    !tk_str_ok(rt->reason)) {
		t->stats.drop_invalid++;
		return;
	}
	if (k == NULL || !k->home) {
		return_ack(o, from, inc, rt, 0);
		return;
	}
	h = k->rec;
	if (!tasks_unfinished(h) || !tk_same(rt->epoch, rt->epoch_by, h->epoch,
	    h->epoch_by) || strcmp(h->host, from) != 0) {
		/* A start that failed there, of an older placement (the home
		 * placed it anew meanwhile, back from a crash say): kept all
		 * the same, on disk -- it is not placed there again (seed
		 * 59946). */
		if (rt->start_failed && tasks_unfinished(h) &&
		    !tasks_avoids(h, from)) {
			(void)start_failure_add(t, h, from, rt->reason,
			    rt->failed_at_ms);
			tk_save(o, k, 1);
		}
		return_ack(o, from, inc, rt, 0);
		return;
	}
	if (inc < h->host_inc)
		return;		/* from a life of its host since gone */
	if (rt->start_failed) {
		tk_start_failed_home(t, now, k, from, rt->reason, rt->failed_at_ms,
		    o);
		return_ack(o, from, inc, rt, 1);
		return;
	}
	snprintf(why, sizeof(why), "%s handed it back (%.48s)", from,
	    rt->reason);
	t->stats.returned++;
	tk_rerun(t, now, k, why, o);
	tk_schedule(t, now, o);
	return_ack(o, from, inc, rt, 1);
}

void
tk_return_ack_recv(struct tasks *t, uint64_t now, const char *from,
    const Lb__TaskReturnAck *a, struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, a->task_id);

	if (k == NULL || k->home || k->hold != HOLD_RETURNING ||
	    a->holder_inc != t->inc || !tk_same(a->epoch, a->epoch_by,
	    k->h_epoch, k->h_by)) {
		t->stats.drop_unknown++;
		return;
	}
	t->stats.given_back++;
	/* Messages for it go to the home, which knows where it is next. */
	tk_link_add(t, now, k->rec->id, from, k->h_epoch, k->h_by);
	tk_forget(t, k, o);
}
