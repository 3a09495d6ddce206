/*
 * queue.c - the ready queue and the slots: whether a task may run here,
 * starts as the slots allow, the load, and preemption (a task that has
 * run long yields its slot to one that has run less).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "tasks/tasks_int.h"

/* ---- the ready queue ---- */

int
tasks_runs_here(const struct tasks *t, const struct tasks_task *k)
{
	const Lb__TaskSpec	*s = k->rec->spec;
	char			*needs;
	int			 ok;

	if (s->pin[0] != '\0' && strcmp(s->pin, t->self) != 0)
		return 0;
	if (tasks_avoids(k->rec, t->self))
		return 0;
	if (s->n_needs == 0)
		return 1;
	needs = lb_join_list(s->needs, s->n_needs);
	ok = balance_attrs_ok(needs, t->attrs);
	free(needs);
	return ok;
}

int
tasks_fail_running(struct tasks *t, uint64_t now, const char *id,
    const char *why, struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, id);

	if (k == NULL || k->hold != HOLD_RUNNING)
		return -1;
	if (k->fail_why[0] != '\0')
		return 0;		/* on its way */
	lb_strlcpy(k->fail_why, why, sizeof(k->fail_why));
	tk_note(o, id, "task %s: stopping it: %s", id, why);
	tk_out_push(o, TA_STOP, id);
	return 0;
}

void
tasks_set_disk_short(struct tasks *t, uint64_t now, int on,
    struct tasks_out *o)
{
	int was = t->disk_short;

	t->disk_short = on;
	if (was && !on)
		tk_schedule(t, now, o);
}

void
tk_schedule(struct tasks *t, uint64_t now, struct tasks_out *o)
{
	struct tasks_task	*k, *next;
	struct tasks_action	*a;

	for (k = t->qhead; k && t->nrunning < (uint32_t)t->conf.slots &&
	    !t->leaving && !t->draining && !t->disk_short; k = next) {
		next = k->qnext;
		if (!tasks_runs_here(t, k))
			continue;	/* the balancer places it */
		if (k->home && t->home_hold)
			continue;	/* its home may not act now */
		if (!tk_lease_ok(t, k, now)) {
			tk_lease_soon(t, k, now, o);	/* it starts once
							 * confirmed */
			continue;
		}
		tk_set_hold(t, now, k, HOLD_RUNNING, o);
		a = tk_out_push(o, TA_START, k->rec->id);
		a->resume = k->resume;
		/* (its own task: the home lease, if it has one) */
		a->until = tk_leased(t, k) ? k->lease_until : k->home ?
		    tk_own_until(t) : 0;
	}
}

struct tasks_task *
tasks_queue_head(const struct tasks *t)
{
	return t->qhead;
}

uint32_t
tasks_running(const struct tasks *t)
{
	return t->nrunning;
}

/* With preemption: how long task k runs before it may yield its slot: the
 * slice, and at least 10 times what its last yield took to checkpoint, so
 * that a task whose checkpoint is slow does not spend its time on them. */
static uint64_t
slice_of(const struct tasks *t, const struct tasks_task *k)
{
	uint64_t s = (uint64_t)t->conf.preempt_slice_ms;

	return s > (uint64_t)k->yield_cost * 10 ? s :
	    (uint64_t)k->yield_cost * 10;
}

uint32_t
tasks_load(const struct tasks *t, uint64_t served)
{
	uint32_t n = 0;

	if (t->nqueued == 0)	/* else they would yield to those first */
		for (size_t i = 0; i < t->npre; i++)
			if (t->pre_served[i] > served)
				n++;
	if (n > t->nrunning)	/* counted at the last tick */
		n = t->nrunning;
	return t->nrunning + t->nqueued - n;
}

uint32_t
tasks_queued(const struct tasks *t)
{
	return t->nqueued;
}

/* With preemption: the first task queued here that could start here now
 * (runnable here, its lease in order) and has run less than `served` ms,
 * or NULL.  The queue is least served first, so the walk stops at the
 * first that has run as much. */
struct tasks_task *
tk_yield_to(struct tasks *t, uint64_t now, uint64_t served)
{
	for (struct tasks_task *q = t->qhead; q && q->rec->served_ms < served;
	    q = q->qnext)
		if (tasks_runs_here(t, q) && tk_lease_ok(t, q, now))
			return q;
	return NULL;
}

/*
 * Preemption, once a tick: note the running tasks that would yield their
 * slot to a task that has run less (the shell counts them out of the load
 * it tells others), and ask as many to yield as tasks wait here that could
 * start now -- those that have run the longest first.  An ask not answered
 * by a checkpoint within checkpoint_timeout_ms lapses; the task keeps its
 * slot for another slice.
 */
void
tk_preempt_round(struct tasks *t, uint64_t now, struct tasks_out *o)
{
	struct { struct tasks_task *k; uint64_t served; } c[PRE_MAX];
	size_t	nc = 0, want = 0, pending = 0;

	t->npre = 0;
	if (t->conf.preempt_slice_ms <= 0 || t->nrunning == 0)
		return;
	for (size_t b = 0; b < BUCKETS; b++)
		for (struct tasks_task *k = t->buckets[b]; k; k = k->hnext) {
			if (k->hold != HOLD_RUNNING)
				continue;
			if (k->yield && now >= k->yield_next) {
				k->yield = 0;	/* no checkpoint: it lapsed */
				k->yield_next = now + slice_of(t, k);
			}
			if (k->yield) {
				pending++;
				continue;
			}
			if (!tasks_checkpoint_ready(t, k, now) ||
			    now < k->proc_at + slice_of(t, k) ||
			    now < k->yield_next || k->lease_ck ||
			    k->lease_frozen || k->give_back || nc == PRE_MAX)
				continue;
			c[nc].k = k;
			c[nc++].served = k->rec->served_ms + (now - k->proc_at);
		}
	for (size_t i = 0; i < nc; i++)
		t->pre_served[i] = c[i].served;
	t->npre = nc;
	if (nc == 0 || t->nqueued == 0 || t->draining || t->leaving)
		return;
	for (struct tasks_task *q = t->qhead; q && want < nc + pending;
	    q = q->qnext)
		if (tasks_runs_here(t, q) && tk_lease_ok(t, q, now))
			want++;
	while (pending < want) {
		size_t best = nc;

		for (size_t i = 0; i < nc; i++)
			if (c[i].k != NULL && (best == nc ||
			    c[i].served > c[best].served))
				best = i;
		if (best == nc || tk_yield_to(t, now, c[best].served) == NULL)
			break;
		c[best].k->yield = 1;
		c[best].k->yield_asked = now;
		c[best].k->yield_next = now +
		    (uint64_t)t->conf.checkpoint_timeout_ms;
		t->stats.yield_asks++;
		tk_out_push(o, TA_CHECKPOINT, c[best].k->rec->id);
		c[best].k = NULL;
		pending++;
	}
}
