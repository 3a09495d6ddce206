/*
 * submit.c - what comes in, checked (a spec, a record from the wire); a
 * submit and a cancel at the task's home.
 */
#include "config.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/tasks_int.h"

#define ARGV_MAX	4096
#define ENV_MAX		4096
#define FILES_MAX	1024
#define STR_MAX		65536	/* one argument, variable or need */

/* ---- validation of what comes in ---- */

int
tk_str_ok(const char *s)
{
	return s != NULL && strlen(s) < STR_MAX;
}

int
tasks_spec_valid(const struct tasks *t, const Lb__TaskSpec *s, char **cause)
{
	uint64_t	total = 0;

	if (s->n_argv == 0 || s->argv[0][0] == '\0') {
		*cause = lb_strdup("no program to run");
		return -1;
	}
	if (s->n_argv > ARGV_MAX || s->n_env > ENV_MAX ||
	    s->n_files > FILES_MAX || s->n_needs > 64) {
		*cause = lb_strdup("too many arguments, variables, files or "
		    "needs");
		return -1;
	}
	for (size_t i = 0; i < s->n_argv; i++)
		if (!tk_str_ok(s->argv[i])) {
			*cause = lb_strdup("an argument is too long");
			return -1;
		}
	for (size_t i = 0; i < s->n_env; i++)
		if (!tk_str_ok(s->env[i]) || strchr(s->env[i], '=') == NULL ||
		    s->env[i][0] == '=') {
			*cause = lb_printf("--env \"%.64s\": expected KEY=VALUE",
			    s->env[i]);
			return -1;
		}
	for (size_t i = 0; i < s->n_needs; i++)
		if (!tk_str_ok(s->needs[i]) || strchr(s->needs[i], ',')) {
			*cause = lb_strdup("a need is not a plain attribute");
			return -1;
		}
	if (s->pin[0] != '\0' && !lb_id_valid(s->pin)) {
		*cause = lb_printf("--pin \"%.64s\" is not a node id", s->pin);
		return -1;
	}
	for (size_t i = 0; i < s->n_files; i++) {
		const char *n = s->files[i]->name;
		uint64_t sz = s->files[i]->data.len > s->files[i]->size ?
		    s->files[i]->data.len : s->files[i]->size;
		if (!tasks_name_valid(n)) {
			*cause = lb_printf("attachment name \"%.64s\" is not a "
			    "plain file name", n);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(n, s->files[j]->name) == 0) {
				*cause = lb_printf("two attachments are named "
				    "\"%s\"", n);
				return -1;
			}
		/* Sizes come from the wire: add them without wrapping
		 * (two of 2^63 bytes must not sum to 0). */
		total = sz > UINT64_MAX - total ? UINT64_MAX : total + sz;
	}
	if (total > t->conf.attach_limit) {
		*cause = lb_printf("the attachments take %" PRIu64 " bytes; the "
		    "limit is %" PRIu64 " KiB (task.attach_limit_kb)", total,
		    t->conf.attach_limit / 1024);
		return -1;
	}
	if (s->checkpoint_every_s > 0 && !s->checkpointable) {
		*cause = lb_strdup("--checkpoint-every needs --checkpointable");
		return -1;
	}
	if (s->checkpoint_every_s > 365 * 86400) {
		*cause = lb_strdup("--checkpoint-every: at most a year");
		return -1;
	}
	if (s->checkpoint_signal < 0 || s->checkpoint_signal >= 65 ||
	    s->checkpoint_exit_code < 0 || s->checkpoint_exit_code > 255) {
		*cause = lb_strdup("bad checkpoint signal or exit code");
		return -1;
	}
	if (s->request_id.len != 0 &&
	    s->request_id.len != TASKS_REQUEST_ID_LEN) {
		*cause = lb_printf("the request id takes %zu bytes; it takes %d "
		    "(or none)", s->request_id.len, TASKS_REQUEST_ID_LEN);
		return -1;
	}
	return 0;
}

/* A record from the wire: everything checked before anything is used. */
int
tk_rec_valid(const struct tasks *t, const Lb__TaskRecord *r)
{
	char	*cause = NULL;

	if (r == NULL || !tasks_id_valid(r->id) || r->spec == NULL ||
	    !lb_id_valid(r->epoch_by) || !lb_id_valid(r->host) ||
	    r->epoch == 0 || r->n_hosts > VISITS_MAX + 1 ||
	    r->stdout_inline.len > TASKS_INLINE + 256 ||
	    r->stderr_inline.len > TASKS_INLINE + 256 || !tk_str_ok(r->error) ||
	    r->state < LB__TASK_STATE__TASK_QUEUED ||
	    r->state > LB__TASK_STATE__TASK_CANCELLED)
		return 0;
	for (size_t i = 0; i < r->n_hosts; i++)
		if (!lb_id_valid(r->hosts[i]->node))
			return 0;
	if (r->n_migrations > MIGRATIONS_MAX ||
	    r->n_start_failures > TASKS_START_FAILURES_MAX)
		return 0;
	for (size_t i = 0; i < r->n_start_failures; i++)
		if (!lb_id_valid(r->start_failures[i]->host) ||
		    !tk_str_ok(r->start_failures[i]->reason))
			return 0;
	for (size_t i = 0; i < r->n_migrations; i++)
		if (!lb_id_valid(r->migrations[i]->from) ||
		    !lb_id_valid(r->migrations[i]->to))
			return 0;
	if (tasks_spec_valid(t, r->spec, &cause) == -1) {
		free(cause);
		return 0;
	}
	return 1;
}

/* ---- submit and cancel ---- */

int
tasks_submit(struct tasks *t, uint64_t now, const Lb__TaskSpec *spec,
    char **idp, struct tasks_out *o, char **cause)
{
	Lb__TaskRecord		 r = LB__TASK_RECORD__INIT;
	Lb__TaskSpec		 s = *spec;
	Lb__TaskFile		**files, *fv;
	struct tasks_task	*k;
	char			 id[TASKS_ID_MAX];

	if (tasks_spec_valid(t, spec, cause) == -1)
		return -1;
	/* Sent again (by nanomsg to a restarted peer, or by a client that
	 * retries): the task it made then, and nothing else. */
	if ((k = tasks_find_request(t, &spec->request_id)) != NULL) {
		const Lb__TaskSpec *ks = k->rec->spec;
		int same_argv = ks->n_argv == spec->n_argv;

		for (size_t i = 0; same_argv && i < spec->n_argv; i++)
			same_argv = strcmp(ks->argv[i], spec->argv[i]) == 0;
		if (!same_argv) {
			*cause = lb_printf("the request id of this submit is "
			    "task %s's, which runs another program: a request "
			    "id names one submit", k->rec->id);
			return -1;
		}
		*idp = lb_strdup(k->rec->id);
		return 0;
	}
	/* ... or it made a task that another acts for now (this home was
	 * away, and let it go when it came back): that one. */
	if (spec->request_id.len == TASKS_REQUEST_ID_LEN) {
		const struct tasks_gone *g = tk_gone_find(t,
		    spec->request_id.data);

		if (g != NULL && g->argv_hash != tasks_argv_hash(spec)) {
			*cause = lb_printf("the request id of this submit is "
			    "task %s's, which runs another program: a request "
			    "id names one submit", g->id);
			return -1;
		}
		if (g != NULL) {
			*idp = lb_strdup(g->id);
			return 0;
		}
	}
	if (t->n >= t->conf.max_tasks) {
		t->stats.refused_full++;
		*cause = lb_printf("this peer keeps %zu tasks, its limit "
		    "(task.max_tasks): try later or another peer", t->n);
		return -1;
	}
	snprintf(id, sizeof(id), "%s.%" PRIu64, t->self, t->next_seq);
	/* The record keeps the files' names and sizes, not their bytes. */
	files = lb_calloc(spec->n_files + 1, sizeof(*files));
	fv = lb_calloc(spec->n_files + 1, sizeof(*fv));
	for (size_t i = 0; i < spec->n_files; i++) {
		fv[i] = *spec->files[i];
		if (spec->files[i]->data.len > 0)
			fv[i].size = spec->files[i]->data.len;
		fv[i].data.len = 0;
		fv[i].data.data = NULL;
		files[i] = &fv[i];
	}
	s.files = files;
	if (s.checkpoint_signal == 0)
		s.checkpoint_signal = SIGUSR1;
	if (s.checkpointable && s.checkpoint_every_s == 0)
		s.checkpoint_every_s = t->conf.checkpoint_every_s;
	r.id = id;
	r.spec = &s;
	r.state = LB__TASK_STATE__TASK_QUEUED;
	r.epoch = 1;
	r.epoch_next = 1;
	r.epoch_by = t->self;
	r.host = t->self;
	r.host_inc = t->inc;
	r.submitted_ms = tk_wall(t, now);
	k = tk_task_add(t, tasks_rec_clone(&r));
	free(files);
	free(fv);
	tk_visit_add(k->rec, t->self, tk_wall(t, now));
	t->next_seq++;
	t->stats.submitted++;
	k->h_epoch = 1;
	lb_strlcpy(k->h_by, t->self, sizeof(k->h_by));
	tk_save(o, k, 1);
	tk_set_hold(t, now, k, HOLD_QUEUED, o);
	tk_schedule(t, now, o);
	*idp = lb_strdup(id);
	return 0;
}

int
tasks_cancel(struct tasks *t, uint64_t now, const char *id,
    struct tasks_out *o, char **cause)
{
	struct tasks_task	*k = tasks_find(t, id);
	Lb__TaskRecord		*r;

	if (k == NULL || !k->home) {
		*cause = lb_printf("task %s is not homed here", id);
		return -1;
	}
	r = k->rec;
	if (r->state == LB__TASK_STATE__TASK_CANCELLED)
		return 1;	/* a cancel sent again: it stands */
	if (!tasks_unfinished(r)) {
		*cause = lb_printf("task %s has already ended (%s)", id,
		    tasks_state_name(r->state));
		return -1;
	}
	r->state = LB__TASK_STATE__TASK_CANCELLED;
	tk_set_str(&r->error, k->hold == HOLD_QUEUED ?
	    "cancelled before it started" : k->hold == HOLD_RUNNING ||
	    k->hold == HOLD_STOPPING ? "cancelled while it ran" : "cancelled");
	r->finished_ms = tk_wall(t, now);
	r->stdout_bytes = r->stderr_bytes = 0;
	r->pgid = 0;
	t->stats.results++;
	/* Recorded now, on disk: a restart of the home does not run it. */
	tk_save(o, k, 1);
	tk_note(o, id, "task %s: cancelled", id);
	if (k->hold == HOLD_RUNNING) {
		tk_set_hold(t, now, k, HOLD_STOPPING, o);
		tk_out_push(o, TA_STOP, id);
	} else if (k->hold != HOLD_NONE && k->hold != HOLD_STOPPING)
		tk_set_hold(t, now, k, HOLD_NONE, o);
	tk_disarm(k);
	tk_stop_current(t, now, k, "cancelled", o);
	return 0;
}
