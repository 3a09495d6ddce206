/*
 * record.c - the task core's small things: state and hold names, ids and
 * homes, and a record's fields (strings, bytes, epochs, visits, moves,
 * counts).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tasks/tasks_int.h"

/* ---- small things ---- */

const char *
tasks_state_name(Lb__TaskState s)
{
	switch (s) {
	case LB__TASK_STATE__TASK_QUEUED: return "queued";
	case LB__TASK_STATE__TASK_RUNNING: return "running";
	case LB__TASK_STATE__TASK_DONE: return "done";
	case LB__TASK_STATE__TASK_FAILED: return "failed";
	case LB__TASK_STATE__TASK_CANCELLED: return "cancelled";
	default: return "?";
	}
}

const char *
tasks_hold_name(enum tasks_hold h)
{
	static const char *const names[] = { "none", "pending", "confirm",
	    "queued", "running", "frozen", "ended", "stopping", "returning" };

	return (unsigned)h < sizeof(names) / sizeof(names[0]) ? names[h] : "?";
}

int
tasks_unfinished(const Lb__TaskRecord *r)
{
	return r->state == LB__TASK_STATE__TASK_QUEUED ||
	    r->state == LB__TASK_STATE__TASK_RUNNING;
}

int
tasks_id_valid(const char *id)
{
	return lb_task_id_valid(id);
}

void
tasks_home_of(const char *id, char *home)
{
	const char	*dot = strrchr(id, '.');
	size_t		 n = dot ? (size_t)(dot - id) : strlen(id);

	if (n >= LB_ID_MAX)
		n = LB_ID_MAX - 1;
	memcpy(home, id, n);
	home[n] = '\0';
}

int
tasks_name_valid(const char *name)
{
	size_t	len = strlen(name);

	if (len == 0 || len > 255 || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/' || (unsigned char)name[i] < 0x20 ||
		    name[i] == 0x7f)
			return 0;
	return 1;
}

Lb__TaskRecord *
tasks_rec_clone(const Lb__TaskRecord *r)
{
	size_t		 len = lb__task_record__get_packed_size(r);
	uint8_t		*buf = lb_calloc(1, len + 1);
	Lb__TaskRecord	*c;

	lb__task_record__pack(r, buf);
	c = lb__task_record__unpack(NULL, len, buf);
	free(buf);
	if (c == NULL)
		abort();	/* what we packed always unpacks */
	return c;
}

void
tk_set_str(char **field, const char *v)
{
	if (*field != NULL && *field != protobuf_c_empty_string)
		free(*field);
	*field = lb_strdup(v);
}

void
tk_set_bytes(ProtobufCBinaryData *d, const ProtobufCBinaryData *src)
{
	free(d->data);
	d->data = NULL;
	d->len = 0;
	if (src != NULL && src->len > 0) {
		d->data = lb_calloc(1, src->len);
		memcpy(d->data, src->data, src->len);
		d->len = src->len;
	}
}

uint64_t
tk_wall(const struct tasks *t, uint64_t now)
{
	return (uint64_t)((int64_t)now + t->wall_off);
}

int
tk_same(uint32_t e1, const char *b1, uint32_t e2, const char *b2)
{
	return e1 == e2 && strcmp(b1, b2) == 0;
}

/* Whether `node` is the home of task `id`. */
static int
homed_at(const char *id, const char *node)
{
	char	home[LB_ID_MAX];

	tasks_home_of(id, home);
	return strcmp(home, node) == 0;
}

int
tk_is_home_of(const struct tasks *t, const char *id)
{
	return homed_at(id, t->self);
}

/* The peer that acts as the home of a record: the one its id names,
 * unless a replica took over (home_peer). */
void
tk_home_peer_of(const Lb__TaskRecord *r, char *home)
{
	if (r->home_peer != NULL && r->home_peer[0] != '\0')
		lb_strlcpy(home, r->home_peer, LB_ID_MAX);
	else
		tasks_home_of(r->id, home);
}

/* Whether `id` is alive as far as this peer knows (not known: yes). */
int
tk_known_alive(const struct tasks *t, const char *id)
{
	if (t->nalive == 0)
		return 1;
	for (size_t i = 0; i < t->nalive; i++)
		if (strcmp(t->alive[i], id) == 0)
			return 1;
	return 0;
}

/* The takeover of `home` that task `r` (named by `named`, its id's home)
 * went with, or NULL: of the home that named it, the first that took its
 * number (the lowest term with the task below upto); of a home that had
 * taken it over itself, the latest. */
static const struct tasks_moved *
moved_of(const struct tasks *t, const char *home, const char *named,
    const Lb__TaskRecord *r)
{
	const struct tasks_moved	*best = NULL;
	int			 by_id = strcmp(home, named) == 0;
	uint64_t		 seq = strtoull(strrchr(r->id, '.') + 1, NULL,
				    10);

	for (size_t i = 0; i < t->nmoved; i++) {
		const struct tasks_moved *m = &t->moved[i];

		if (strcmp(m->home, home) != 0 || (by_id && (seq >= m->upto ||
		    seq < m->floor)))
			continue;
		if (best == NULL || (by_id ? m->term < best->term :
		    m->term > best->term))
			best = m;
	}
	return best;
}

void
tk_home_to(const struct tasks *t, const Lb__TaskRecord *r, char *home)
{
	const struct tasks_moved	*m;
	char			 named[LB_ID_MAX];

	tk_home_peer_of(r, home);
	tasks_home_of(r->id, named);
	/* (a few hops: one that took over may be gone and taken over; but
	 * one alive acts for what it took over since) */
	for (int hop = 0; hop < 4; hop++) {
		if ((m = moved_of(t, home, named, r)) == NULL ||
		    strcmp(m->acting, home) == 0 ||
		    (strcmp(home, named) != 0 && tk_known_alive(t, home)))
			return;
		lb_strlcpy(home, m->acting, LB_ID_MAX);
	}
}

int
tasks_acting_home(const struct tasks *t, const char *id, char *home)
{
	Lb__TaskRecord	r = LB__TASK_RECORD__INIT;
	char		named[LB_ID_MAX];

	if (!lb_task_id_valid(id)) {
		home[0] = '\0';
		return 0;
	}
	r.id = (char *)(uintptr_t)id;	/* (only read) */
	tk_home_to(t, &r, home);
	tasks_home_of(id, named);
	return strcmp(home, named) != 0;
}

void
tasks_home_acting(struct tasks *t, const char *home, const char *acting,
    uint32_t term, uint64_t upto, uint64_t floor)
{
	if (!lb_id_valid(home) || !lb_id_valid(acting) || term == 0)
		return;
	tasks_moved_learn(t->moved, &t->nmoved, TK_MOVED_MAX, home, acting,
	    term, upto, floor);
}

void
tasks_moved_learn(struct tasks_moved *v, size_t *n, size_t max,
    const char *home, const char *acting, uint32_t term, uint64_t upto,
    uint64_t floor)
{
	struct tasks_moved	*m;

	for (size_t i = 0; i < *n; i++)
		if (strcmp(v[i].home, home) == 0 && v[i].term == term) {
			if (upto > v[i].upto)
				v[i].upto = upto;
			if (floor > v[i].floor)
				v[i].floor = floor;
			return;
		}
	if (*n < max)
		m = &v[(*n)++];
	else {
		m = &v[0];
		for (size_t i = 1; i < *n; i++)
			if (v[i].term < m->term)
				m = &v[i];
	}
	lb_strlcpy(m->home, home, sizeof(m->home));
	lb_strlcpy(m->acting, acting, sizeof(m->acting));
	m->term = term;
	m->upto = upto;
	m->floor = floor;
}

/* Whether `node` acts as the home of task `id`, as far as this peer
 * knows (its record here, else the id). */
int
tk_home_is(const struct tasks *t, const char *id, const char *node)
{
	struct tasks_task	*k = tasks_find(t, id);
	char			 home[LB_ID_MAX];

	if (k == NULL)
		return homed_at(id, node);
	tk_home_to(t, k->rec, home);
	return strcmp(home, node) == 0;
}

/* Whether `node` acts for the home of task `id`, not known here, by
 * what this peer was told of takeovers (a stop from the one that took
 * over a task this peer let go: answered, not dropped). */
int
tk_acting_home_is(const struct tasks *t, const char *id, const char *node)
{
	Lb__TaskRecord	r = LB__TASK_RECORD__INIT;
	char		home[LB_ID_MAX];

	if (tasks_find(t, id) != NULL)
		return 0;
	r.id = (char *)id;
	tk_home_to(t, &r, home);
	return strcmp(home, node) == 0;
}

/* The sequence number of an id homed here, or 0. */
uint64_t
tk_own_seq(const struct tasks *t, const char *id)
{
	if (!tk_is_home_of(t, id))
		return 0;
	return strtoull(strrchr(id, '.') + 1, NULL, 10);
}

uint32_t
tk_max3(uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t	m = a > b ? a : b;

	return m > c ? m : c;
}

/* A new epoch counter for a placement this peer makes: above every one it
 * has seen for the task.  The caller journals the record before using it. */
uint32_t
tk_alloc_epoch(Lb__TaskRecord *r)
{
	uint32_t	n = tk_max3(r->epoch, r->epoch_next, r->epoch_floor) + 1;

	r->epoch_next = n;
	return n;
}

/* Append a visit to a record's hosts; the list keeps the first and the
 * latest VISITS_MAX - 1. */
void
tk_visit_add(Lb__TaskRecord *r, const char *node, uint64_t wall_ms)
{
	Lb__TaskVisit	*v;

	if (r->n_hosts > 0 && r->hosts[r->n_hosts - 1]->left_ms == 0)
		r->hosts[r->n_hosts - 1]->left_ms = wall_ms;
	if (r->n_hosts >= VISITS_MAX) {
		lb__task_visit__free_unpacked(r->hosts[1], NULL);
		memmove(&r->hosts[1], &r->hosts[2], (r->n_hosts - 2) *
		    sizeof(*r->hosts));
		r->n_hosts--;
	}
	r->hosts = lb_reallocarray(r->hosts, r->n_hosts + 1, sizeof(*r->hosts));
	v = lb_calloc(1, sizeof(*v));
	lb__task_visit__init(v);
	v->node = lb_strdup(node);
	v->arrived_ms = wall_ms;
	r->hosts[r->n_hosts++] = v;
}

void
tk_migration_add(Lb__TaskRecord *r, const char *from, const char *to,
    uint64_t wall_ms, uint32_t ck_ms)
{
	Lb__TaskMigration	*m;

	if (r->n_migrations >= MIGRATIONS_MAX) {
		lb__task_migration__free_unpacked(r->migrations[0], NULL);
		memmove(&r->migrations[0], &r->migrations[1],
		    (r->n_migrations - 1) * sizeof(*r->migrations));
		r->n_migrations--;
	}
	r->migrations = lb_reallocarray(r->migrations, r->n_migrations + 1,
	    sizeof(*r->migrations));
	m = lb_calloc(1, sizeof(*m));
	lb__task_migration__init(m);
	m->from = lb_strdup(from);
	m->to = lb_strdup(to);
	m->at_ms = wall_ms;
	m->checkpoint_ms = ck_ms;
	r->migrations[r->n_migrations++] = m;
}

/* The home takes the holder's list of moves: it is the longer story. */
void
tk_migrations_copy(Lb__TaskRecord *h, const Lb__TaskRecord *r)
{
	/* A stale copy's story may be shorter: the longer one stays. */
	if (h == r || r->n_migrations == 0 || r->n_migrations <
	    h->n_migrations)
		return;
	for (size_t i = 0; i < h->n_migrations; i++)
		lb__task_migration__free_unpacked(h->migrations[i], NULL);
	free(h->migrations);
	h->migrations = lb_calloc(r->n_migrations, sizeof(*h->migrations));
	h->n_migrations = 0;
	for (size_t i = 0; i < r->n_migrations && i < MIGRATIONS_MAX; i++) {
		const Lb__TaskMigration *f = r->migrations[i];
		Lb__TaskMigration *m = lb_calloc(1, sizeof(*m));
		lb__task_migration__init(m);
		m->from = lb_strdup(f->from);
		m->to = lb_strdup(f->to);
		m->at_ms = f->at_ms;
		m->checkpoint_ms = f->checkpoint_ms;
		m->freeze_us = f->freeze_us;
		m->bytes = f->bytes;
		h->migrations[h->n_migrations++] = m;
	}
}

/* What a run printed so far, as record `r` has it, into `h`. */
void
tk_output_take(Lb__TaskRecord *h, const Lb__TaskRecord *r)
{
	h->stdout_bytes = r->stdout_bytes;
	h->stderr_bytes = r->stderr_bytes;
	h->output_truncated = r->output_truncated;
	h->output_in_files = r->output_in_files;
	tk_set_bytes(&h->stdout_inline, &r->stdout_inline);
	tk_set_bytes(&h->stderr_inline, &r->stderr_inline);
}

/* The home takes what a holder's record counted (starts, resumes,
 * checkpoints: the larger) and its moves. */
void
tk_counts_merge(Lb__TaskRecord *h, const Lb__TaskRecord *r)
{
	if (r->starts > h->starts)
		h->starts = r->starts;
	if (r->resumes > h->resumes)
		h->resumes = r->resumes;
	if (r->checkpoints > h->checkpoints)
		h->checkpoints = r->checkpoints;
	if (r->served_ms > h->served_ms)
		h->served_ms = r->served_ms;
	tk_migrations_copy(h, r);
}

/* The home's record `h` takes what its current placement's holder says of
 * a run under way (`r`). */
void
tk_progress_copy(Lb__TaskRecord *h, const Lb__TaskRecord *r)
{
	h->state = r->state;
	h->started_ms = r->started_ms;
	h->starts = r->starts;
	h->resumes = r->resumes;
	h->checkpoints = r->checkpoints;
	tk_migrations_copy(h, r);
}
