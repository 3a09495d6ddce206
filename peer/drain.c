/*
 * drain.c - a peer drains (lbctl drain, or SIGTERM before it leaves): it
 * takes no task from balancing, the balancer moves its waiting tasks away
 * as tasks that cannot run here (the same path serves whatever the
 * balancer's list of movable tasks holds), its running tasks may finish
 * until the timeout, and then what still runs is handed back to its home,
 * which places it anew.  A timer follows the tasks held here and what
 * became of each, for lbctl drain --wait.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "peer.h"
#include "glue.h"
#include "tasks/tasks.h"

#define DRAIN_TICK_MS	100
#define DRAIN_TASKS_MAX	65536	/* tasks a drain reports on */

enum fate {
	FATE_HELD = 0,		/* still here */
	FATE_MOVED,		/* moved away (to `to`) */
	FATE_FINISHED,		/* ended here, its result with its home */
	FATE_BACK		/* handed back to its home (`to`) */
};

static const char *const fate_names[] = { "held", "moved", "finished",
    "handed back" };

struct drain_task {
	char		id[TASKS_ID_MAX];
	enum fate	fate;
	int		given;		/* tasks_give_back took it */
	char		to[LB_ID_MAX];
};

struct drain {
	int		   active;
	uint64_t	   started, deadline;	/* monotonic ms */
	uint64_t	   started_wall;	/* ms since the epoch */
	int		   timed_out;
	struct drain_task *v;
	size_t		   n, cap;
	uint64_t	   drains;		/* begun, for lbctl stats */
	struct event	  *ev;
	void		 (*on_done)(struct peer *);
};

static struct drain *
drain_of(struct peer *p)
{
	if (p->drain == NULL)
		p->drain = lb_calloc(1, sizeof(*p->drain));
	return p->drain;
}

/* Whether the drain has to keep an eye on this task: held here in any
 * way, a result still to deliver included. */
static int
held(const struct tasks_task *k)
{
	return k->hold != HOLD_NONE;
}

static struct drain_task *
track(struct drain *d, const char *id)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->v[i].id, id) == 0)
			return &d->v[i];
	if (d->n == DRAIN_TASKS_MAX)
		return NULL;
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 64;
		d->v = lb_reallocarray(d->v, d->cap, sizeof(*d->v));
	}
	memset(&d->v[d->n], 0, sizeof(d->v[0]));
	lb_strlcpy(d->v[d->n].id, id, sizeof(d->v[0].id));
	return &d->v[d->n++];
}

/* A task the drain follows is no longer held here: what became of it. */
static void
settle(struct peer *p, struct drain_task *dt)
{
	struct tasks_task	*k = tasks_find(p->tc, dt->id);
	char			 peer[LB_ID_MAX];

	if (k != NULL && k->home && tasks_unfinished(k->rec) &&
	    strcmp(k->rec->host, p->conf.id) != 0) {
		/* Homed here, placed elsewhere. */
		dt->fate = dt->given ? FATE_BACK : FATE_MOVED;
		lb_strlcpy(dt->to, k->rec->host, sizeof(dt->to));
	} else if (k == NULL && tasks_link(p->tc, dt->id, peer, NULL,
	    NULL) == 0) {
		dt->fate = dt->given ? FATE_BACK : FATE_MOVED;
		lb_strlcpy(dt->to, peer, sizeof(dt->to));
	} else if (dt->given && k != NULL && k->home &&
	    tasks_unfinished(k->rec)) {
		/* Handed back to itself, its home: placed anew here. */
		dt->fate = FATE_BACK;
		lb_strlcpy(dt->to, p->conf.id, sizeof(dt->to));
	} else
		dt->fate = FATE_FINISHED;
}

/*
 * Follow what is held here; after the timeout, hand back what still runs
 * or waits (a task queued at its home here stays: its record is here, and
 * the balancer moves it while the peer stays).  Whether nothing is left to
 * wait for.
 */
static int
follow(struct peer *p, uint64_t now)
{
	struct drain		 *d = p->drain;
	struct tasks_task	**all;
	struct drain_task	 *dt;
	size_t			  n;
	int			  left = 0;

	/* What is held now, and what was submitted here since the drain
	 * began (it may have moved away between two looks). */
	all = tasks_all(p->tc, &n);
	for (size_t i = 0; i < n; i++)
		if (held(all[i]) || (all[i]->home &&
		    all[i]->rec->submitted_ms >= d->started_wall))
			(void)track(d, all[i]->rec->id);
	if (now >= d->deadline && !d->timed_out) {
		d->timed_out = 1;
		log_info("drain: the timeout passed; handing back what is still "
		    "held here");
	}
	for (size_t i = 0; i < d->n; i++) {
		struct tasks_task *k;

		dt = &d->v[i];
		k = tasks_find(p->tc, dt->id);
		if (k == NULL || !held(k)) {
			if (dt->fate == FATE_HELD)
				settle(p, dt);
			continue;
		}
		dt->fate = FATE_HELD;
		if (d->timed_out && !dt->given && glue_give_back(p, dt->id,
		    "its host drains") == 0)
			dt->given = 1;
		/* Safe where it is: queued at its home, which keeps it. */
		if (d->timed_out && k->home && k->hold == HOLD_QUEUED)
			continue;
		left++;
	}
	return left == 0;
}

static void
drain_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer	*p = arg;
	struct drain	*d = p->drain;
	struct timeval	 tv = { 0, DRAIN_TICK_MS * 1000 };

	if (!d->active)
		return;
	if (follow(p, lb_mono_ms()) && d->on_done != NULL) {
		void (*cb)(struct peer *) = d->on_done;

		d->on_done = NULL;
		log_info("drain: nothing is held here any more");
		cb(p);
		return;
	}
	evtimer_add(d->ev, &tv);
}

int
drain_start(struct peer *p, int timeout_s, char **cause)
{
	struct drain	*d = drain_of(p);
	struct timeval	 tv = { 0, 0 };
	uint64_t	 now = lb_mono_ms();

	if (p->leaving) {
		*cause = lb_strdup("this peer is leaving the cluster");
		return -1;
	}
	if (timeout_s < 0)
		timeout_s = p->conf.drain_timeout_s;
	if (d->active) {
		/* Asked again: a new timeout counts from now. */
		d->deadline = now + (uint64_t)timeout_s * 1000;
		if (now < d->deadline)
			d->timed_out = 0;
		log_info("drain: timeout now %d s from now", timeout_s);
		return 0;
	}
	free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
	d->active = 1;
	d->timed_out = 0;
	d->started = now;
	d->started_wall = lb_wall_ms();
	d->deadline = now + (uint64_t)timeout_s * 1000;
	d->drains++;
	log_info("draining: no new tasks here; waiting tasks move away, running "
	    "ones may finish for %d s, then go back to their homes", timeout_s);
	glue_draining(p, 1);
	balancer_set_draining(p, 1);
	members_set_draining(p, 1);
	if (d->ev == NULL)
		d->ev = evtimer_new(p->base, drain_tick_cb, p);
	evtimer_add(d->ev, &tv);
	return 0;
}

int
drain_stop(struct peer *p, char **cause)
{
	struct drain	*d = drain_of(p);

	if (!d->active)
		return 1;	/* nothing to end: as asked, it is not draining */
	if (d->on_done != NULL || p->leaving) {
		*cause = lb_strdup("this peer drains to leave the cluster "
		    "(SIGTERM); it cannot be undrained");
		return -1;
	}
	d->active = 0;
	evtimer_del(d->ev);
	glue_draining(p, 0);
	balancer_set_draining(p, 0);
	members_set_draining(p, 0);
	log_info("drain ended: this peer takes tasks again");
	return 0;
}

void
drain_then(struct peer *p, int timeout_s, void (*on_done)(struct peer *))
{
	struct drain	*d = drain_of(p);
	char		*cause = NULL;

	if (!d->active && drain_start(p, timeout_s, &cause) == -1) {
		free(cause);
		on_done(p);
		return;
	}
	d->on_done = on_done;
}

int
drain_active(struct peer *p)
{
	return p->drain != NULL && p->drain->active;
}

uint64_t
drain_count(struct peer *p)
{
	return p->drain != NULL ? p->drain->drains : 0;
}

void
drain_report(struct peer *p, Lb__CtlDrain *r)
{
	struct drain	*d = drain_of(p);
	uint64_t	 now = lb_mono_ms();

	r->draining = d->active;
	if (d->active)
		r->done = follow(p, now);
	r->left_ms = d->active && now < d->deadline ? d->deadline - now : 0;
	r->elapsed_ms = d->started ? now - d->started : 0;
	r->tasks = lb_calloc(d->n + 1, sizeof(*r->tasks));
	for (size_t i = 0; i < d->n; i++) {
		Lb__CtlDrainTask *t = lb_calloc(1, sizeof(*t));

		lb__ctl_drain_task__init(t);
		t->id = d->v[i].id;
		t->fate = (char *)fate_names[d->v[i].fate];
		t->to = d->v[i].to;
		if (d->v[i].fate == FATE_HELD)
			r->held++;
		r->tasks[r->n_tasks++] = t;
	}
}

void
drain_report_free(Lb__CtlDrain *r)
{
	for (size_t i = 0; i < r->n_tasks; i++)
		free(r->tasks[i]);
	free(r->tasks);
}

void
drain_free(struct peer *p)
{
	if (p->drain == NULL)
		return;
	if (p->drain->ev != NULL)
		event_free(p->drain->ev);
	free(p->drain->v);
	free(p->drain);
	p->drain = NULL;
}
