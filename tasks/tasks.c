/*
 * tasks.c - the task protocol as a core without I/O (see tasks.h and
 * doc/protocol.md): records, placements and their epochs, moves committed
 * by the home, notices and their verdicts, stops, reruns, links.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "tasks.h"

#define BUCKETS		4096
#define PRE_MAX		256	/* preemptible slots counted */
#define CK_WRITING_MAX	12	/* a checkpoint being written: at most this
				 * many checkpoint_timeout_ms in all */
#define VISITS_MAX	64	/* hosts a record remembers: the first, then
				 * the latest */
#define ARGV_MAX	4096
#define ENV_MAX		4096
#define FILES_MAX	1024
#define STR_MAX		65536	/* one argument, variable or need */

struct tasks_link {
	char		id[TASKS_ID_MAX];
	char		peer[LB_ID_MAX];
	uint32_t	epoch;
	char		by[LB_ID_MAX];
	uint64_t	at;
};

struct tasks {
	struct tasks_conf	  conf;
	char			  self[LB_ID_MAX];
	char			**alive;	/* peers alive, this one too */
	size_t			  nalive;	/* (0: not known) */
	int			  disk_short;	/* start nothing: no room */
	int			  home_hold;	/* decide nothing as a home: it
						 * may not act (failover) */
	uint64_t		  home_lease_end;	/* its home lease ends
						 * then (0: it has none) */
	uint64_t		  inc;
	char			 *attrs;
	int64_t			  wall_off;
	struct tasks_task	**buckets;
	/* The tasks homed here that have a request id, by it: as long as
	 * their records (task_add and task_remove keep it). */
	struct tasks_task	**rbuckets;
	size_t			  n, homed;
	struct tasks_task	 *qhead, *qtail;
	uint32_t		  nqueued, nrunning;
	uint64_t		  next_seq;
	struct tasks_link	 *links;
	size_t			  nlinks, linkpos;
	struct tasks_stats	  stats;
	struct tasks_task	**sorted;
	int			  leaving;
	int			  draining;
	/* Leases: the next round of asks, when the last one left, and
	 * whether a placement waits for one now. */
	uint64_t		  lease_next, lease_sent;
	int			  lease_asap;
	/* The newest incarnation seen of each peer (bounded: a move to a
	 * peer beyond it is judged without). */
	struct { char id[LB_ID_MAX]; uint64_t inc; } incs[256];
	size_t			  nincs;
	/* Preemption, as of the last tick: the running tasks that would
	 * yield their slot, with what each has run (bounded). */
	uint64_t		  pre_served[PRE_MAX];
	size_t			  npre;
};

/* Note that `peer` runs at incarnation `seen`; the newest known, or 0. */
static uint64_t
inc_known(struct tasks *t, const char *peer, uint64_t seen)
{
	size_t	i;

	for (i = 0; i < t->nincs; i++)
		if (strcmp(t->incs[i].id, peer) == 0)
			break;
	if (i == t->nincs) {
		if (t->nincs == sizeof(t->incs) / sizeof(t->incs[0]))
			return 0;
		lb_strlcpy(t->incs[i].id, peer, LB_ID_MAX);
		t->incs[t->nincs++].inc = 0;
	}
	if (seen > t->incs[i].inc)
		t->incs[i].inc = seen;
	return t->incs[i].inc;
}

static void	schedule(struct tasks *, uint64_t, struct tasks_out *);
static void	stop_current(struct tasks *, uint64_t, struct tasks_task *,
		    const char *, struct tasks_out *);
static void	notice_send(struct tasks *, uint64_t, struct tasks_task *,
		    struct tasks_out *);
static void	home_notice(struct tasks *, uint64_t, const char *, uint64_t,
		    const Lb__TaskNotice *, struct tasks_out *);
static uint64_t	lease_wait(const struct tasks *);
static void	quiet_arm(struct tasks *, uint64_t, struct tasks_task *);
static void	start_failed_home(struct tasks *, uint64_t, struct tasks_task *,
		    const char *, const char *, uint64_t, struct tasks_out *);
static void	record_result(struct tasks *, uint64_t, struct tasks_task *,
		    const Lb__TaskRecord *, const ProtobufCBinaryData *,
		    const ProtobufCBinaryData *, struct tasks_out *);
static void	return_now(struct tasks *, uint64_t, struct tasks_task *,
		    struct tasks_out *);
static void	lease_heard(struct tasks *, uint64_t, struct tasks_task *);
static void	rerun(struct tasks *, uint64_t, struct tasks_task *,
		    const char *, struct tasks_out *);

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

static void
set_str(char **field, const char *v)
{
	if (*field != NULL && *field != protobuf_c_empty_string)
		free(*field);
	*field = lb_strdup(v);
}

static void
set_bytes(ProtobufCBinaryData *d, const ProtobufCBinaryData *src)
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

static uint64_t
wall(const struct tasks *t, uint64_t now)
{
	return (uint64_t)((int64_t)now + t->wall_off);
}

static int
same(uint32_t e1, const char *b1, uint32_t e2, const char *b2)
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

static int
is_home_of(const struct tasks *t, const char *id)
{
	return homed_at(id, t->self);
}

/* The peer that acts as the home of a record: the one its id names,
 * unless a replica took over (home_peer). */
static void
home_peer_of(const Lb__TaskRecord *r, char *home)
{
	if (r->home_peer != NULL && r->home_peer[0] != '\0')
		lb_strlcpy(home, r->home_peer, LB_ID_MAX);
	else
		tasks_home_of(r->id, home);
}

/* Whether `node` acts as the home of task `id`, as far as this peer
 * knows (its record here, else the id). */
static int
home_is(const struct tasks *t, const char *id, const char *node)
{
	struct tasks_task	*k = tasks_find(t, id);
	char			 home[LB_ID_MAX];

	if (k == NULL)
		return homed_at(id, node);
	home_peer_of(k->rec, home);
	return strcmp(home, node) == 0;
}

/* The sequence number of an id homed here, or 0. */
static uint64_t
own_seq(const struct tasks *t, const char *id)
{
	if (!is_home_of(t, id))
		return 0;
	return strtoull(strrchr(id, '.') + 1, NULL, 10);
}

static uint32_t
max3(uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t	m = a > b ? a : b;

	return m > c ? m : c;
}

/* A new epoch counter for a placement this peer makes: above every one it
 * has seen for the task.  The caller journals the record before using it. */
static uint32_t
alloc_epoch(Lb__TaskRecord *r)
{
	uint32_t	n = max3(r->epoch, r->epoch_next, r->epoch_floor) + 1;

	r->epoch_next = n;
	return n;
}

/* Append a visit to a record's hosts; the list keeps the first and the
 * latest VISITS_MAX - 1. */
static void
visit_add(Lb__TaskRecord *r, const char *node, uint64_t wall_ms)
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

#define MIGRATIONS_MAX	32	/* moves a record remembers: the latest */

static void
migration_add(Lb__TaskRecord *r, const char *from, const char *to,
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
static void
migrations_copy(Lb__TaskRecord *h, const Lb__TaskRecord *r)
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
static void
output_take(Lb__TaskRecord *h, const Lb__TaskRecord *r)
{
	h->stdout_bytes = r->stdout_bytes;
	h->stderr_bytes = r->stderr_bytes;
	h->output_truncated = r->output_truncated;
	h->output_in_files = r->output_in_files;
	set_bytes(&h->stdout_inline, &r->stdout_inline);
	set_bytes(&h->stderr_inline, &r->stderr_inline);
}

/* The home takes what a holder's record counted (starts, resumes,
 * checkpoints: the larger) and its moves. */
static void
counts_merge(Lb__TaskRecord *h, const Lb__TaskRecord *r)
{
	if (r->starts > h->starts)
		h->starts = r->starts;
	if (r->resumes > h->resumes)
		h->resumes = r->resumes;
	if (r->checkpoints > h->checkpoints)
		h->checkpoints = r->checkpoints;
	if (r->served_ms > h->served_ms)
		h->served_ms = r->served_ms;
	migrations_copy(h, r);
}

/* ---- actions ---- */

static struct tasks_action *
out_push(struct tasks_out *o, enum tasks_action_kind kind, const char *id)
{
	struct tasks_action	*a;

	if (o->n == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 16;
		o->v = lb_reallocarray(o->v, o->cap, sizeof(*o->v));
	}
	a = &o->v[o->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	if (id != NULL)
		lb_strlcpy(a->id, id, sizeof(a->id));
	return a;
}

void
tasks_out_reset(struct tasks_out *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i].msg);
	o->n = 0;
}

void
tasks_out_free(struct tasks_out *o)
{
	tasks_out_reset(o);
	free(o->v);
	o->v = NULL;
	o->cap = 0;
}

static void note(struct tasks_out *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
note(struct tasks_out *o, const char *id, const char *fmt, ...)
{
	struct tasks_action	*a = out_push(o, TA_NOTE, id);
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(a->note, sizeof(a->note), fmt, ap);
	va_end(ap);
}

static struct tasks_action *
send_msg(struct tasks_out *o, const char *to, const char *id,
    const Lb__PeerMsg *m)
{
	struct tasks_action	*a = out_push(o, TA_SEND, id);

	lb_strlcpy(a->to, to, sizeof(a->to));
	a->len = lb__peer_msg__get_packed_size(m);
	a->msg = lb_calloc(1, a->len + 1);
	lb__peer_msg__pack(m, a->msg);
	return a;
}

static void
save(struct tasks_out *o, const struct tasks_task *k, int sync)
{
	out_push(o, TA_SAVE, k->rec->id)->sync = sync;
}

/* ---- the table ---- */

static uint32_t
hash_id(const char *s)
{
	uint32_t	h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

struct tasks_task *
tasks_find(const struct tasks *t, const char *id)
{
	struct tasks_task	*k;

	for (k = t->buckets[hash_id(id) % BUCKETS]; k; k = k->hnext)
		if (strcmp(k->rec->id, id) == 0)
			return k;
	return NULL;
}

static uint32_t
hash_request(const ProtobufCBinaryData *r)
{
	uint32_t	h = 2166136261u;

	for (size_t i = 0; i < r->len; i++)
		h = (h ^ r->data[i]) * 16777619u;
	return h;
}

static int
request_same(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

struct tasks_task *
tasks_find_request(const struct tasks *t, const ProtobufCBinaryData *r)
{
	struct tasks_task	*k;

	if (r == NULL || r->len != TASKS_REQUEST_ID_LEN)
		return NULL;
	for (k = t->rbuckets[hash_request(r) % BUCKETS]; k; k = k->rnext)
		if (request_same(&k->rec->spec->request_id, r))
			return k;
	return NULL;
}

/* Index a task homed here by its request id (if it has one). */
static void
request_index(struct tasks *t, struct tasks_task *k)
{
	const ProtobufCBinaryData *r;
	uint32_t		 b;

	if (!k->home || k->rindexed || k->rec->spec == NULL ||
	    k->rec->spec->request_id.len != TASKS_REQUEST_ID_LEN)
		return;
	r = &k->rec->spec->request_id;
	b = hash_request(r) % BUCKETS;
	k->rnext = t->rbuckets[b];
	t->rbuckets[b] = k;
	k->rindexed = 1;
}

static void
request_unindex(struct tasks *t, struct tasks_task *k)
{
	struct tasks_task	**pp;

	if (!k->rindexed)
		return;
	pp = &t->rbuckets[hash_request(&k->rec->spec->request_id) % BUCKETS];
	for (; *pp; pp = &(*pp)->rnext)
		if (*pp == k) {
			*pp = k->rnext;
			break;
		}
	k->rnext = NULL;
	k->rindexed = 0;
}

static struct tasks_task *
task_add(struct tasks *t, Lb__TaskRecord *rec)
{
	struct tasks_task	*k = lb_calloc(1, sizeof(*k));
	uint32_t		 b = hash_id(rec->id) % BUCKETS;

	k->rec = rec;
	k->home = rec->home_peer != NULL && rec->home_peer[0] != '\0' ?
	    strcmp(rec->home_peer, t->self) == 0 : is_home_of(t, rec->id);
	k->hnext = t->buckets[b];
	t->buckets[b] = k;
	request_index(t, k);
	t->n++;
	if (k->home)
		t->homed++;
	free(t->sorted);
	t->sorted = NULL;
	return k;
}

static void
dequeue(struct tasks *t, struct tasks_task *k)
{
	if (k->hold != HOLD_QUEUED)
		return;
	if (k->qprev)
		k->qprev->qnext = k->qnext;
	else
		t->qhead = k->qnext;
	if (k->qnext)
		k->qnext->qprev = k->qprev;
	else
		t->qtail = k->qprev;
	k->qnext = k->qprev = NULL;
	t->nqueued--;
}

/* Change what is held here, keeping the queue and the counts right. */
/* Tell whoever asked for a move (lbctl migrate) how it ended. */
static void
mig_tell(struct tasks_task *k, int ok, const char *host, const char *why,
    struct tasks_out *o)
{
	struct tasks_action	*a;
	const Lb__TaskRecord	*r = k->rec;

	if (k->mig_origin[0] == '\0')
		return;
	a = out_push(o, TA_MIGRATED, r->id);
	lb_strlcpy(a->to, k->mig_origin, sizeof(a->to));
	a->req = k->mig_req;
	a->ok = ok;
	lb_strlcpy(a->host, host, sizeof(a->host));
	if (why != NULL)
		lb_strlcpy(a->note, why, sizeof(a->note));
	if (ok && r->n_migrations > 0) {
		const Lb__TaskMigration *m = r->migrations[r->n_migrations - 1];
		a->freeze_us = m->freeze_us;
		a->bytes = m->bytes;
		a->checkpoint_ms = m->checkpoint_ms;
	}
	k->mig_origin[0] = '\0';
	k->mig_req = 0;
}

/* A checkpoint asked for a move will not lead to one. */
static void
ck_fail(struct tasks_task *k, const char *why, struct tasks_out *o)
{
	k->ck_asked = k->ck_due = 0;
	k->ck_to[0] = '\0';
	k->ck_epoch = 0;	/* unused: a gap in the counters, no harm */
	mig_tell(k, 0, "", why, o);
}

static void
set_hold(struct tasks *t, uint64_t now, struct tasks_task *k,
    enum tasks_hold h, struct tasks_out *o)
{
	if (k->hold == h)
		return;
	if (h != HOLD_RUNNING)
		k->fail_why[0] = '\0';	/* a stop for a limit is of a run */
	if (k->hold == HOLD_QUEUED)
		dequeue(t, k);
	if (k->hold == HOLD_PENDING && k->incoming != NULL) {
		/* A move here that did not commit brought nothing. */
		lb__task_record__free_unpacked(k->incoming, NULL);
		k->incoming = NULL;
	}
	if (k->hold == HOLD_RUNNING || k->hold == HOLD_STOPPING)
		if (h != HOLD_RUNNING && h != HOLD_STOPPING)
			t->nrunning--;
	if (h == HOLD_RUNNING && k->hold != HOLD_STOPPING)
		t->nrunning++;
	k->hold = h;
	if (h == HOLD_QUEUED) {
		struct tasks_task *q = NULL;

		/* With preemption, least served first (a task that yielded
		 * waits behind those that have run less, a new one goes
		 * before it), in order among equals; else in order. */
		if (t->conf.preempt_slice_ms > 0 && t->qtail != NULL &&
		    t->qtail->rec->served_ms > k->rec->served_ms)
			for (q = t->qhead; q && q->rec->served_ms <=
			    k->rec->served_ms; q = q->qnext)
				;
		if (q != NULL) {
			k->qnext = q;
			k->qprev = q->qprev;
			if (q->qprev)
				q->qprev->qnext = k;
			else
				t->qhead = k;
			q->qprev = k;
		} else {
			k->qprev = t->qtail;
			k->qnext = NULL;
			if (t->qtail)
				t->qtail->qnext = k;
			else
				t->qhead = k;
			t->qtail = k;
		}
		t->nqueued++;
		k->queued_at = now;
	}
	if (h != HOLD_RUNNING)
		k->yield = 0;
	if (h != HOLD_FROZEN)
		k->move_to[0] = '\0';
	if (h != HOLD_RUNNING && k->ck_asked)
		ck_fail(k, "it stopped before it checkpointed", o);
	if (h != HOLD_RUNNING)
		k->ckp_due = 0;
	out_push(o, TA_LOAD, NULL);
}

static void
task_remove(struct tasks *t, struct tasks_task *k)
{
	struct tasks_task	**pp = &t->buckets[hash_id(k->rec->id) % BUCKETS];

	if (k->hold == HOLD_QUEUED)
		dequeue(t, k);
	if (k->hold == HOLD_RUNNING || k->hold == HOLD_STOPPING)
		t->nrunning--;
	request_unindex(t, k);
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == k) {
			*pp = k->hnext;
			break;
		}
	t->n--;
	if (k->home)
		t->homed--;
	free(t->sorted);
	t->sorted = NULL;
	if (k->incoming != NULL)
		lb__task_record__free_unpacked(k->incoming, NULL);
	lb__task_record__free_unpacked(k->rec, NULL);
	free(k);
}

/* Forget a task here: journal it and drop its files. */
static void
forget(struct tasks *t, struct tasks_task *k, struct tasks_out *o)
{
	out_push(o, TA_FORGET, k->rec->id);
	out_push(o, TA_LOAD, NULL);
	task_remove(t, k);
}

/* The next retry of this task's message, with capped doubling. */
static void
arm(struct tasks *t, uint64_t now, struct tasks_task *k)
{
	if (k->backoff == 0)
		k->backoff = (uint32_t)t->conf.retry_min_ms;
	k->due = now + k->backoff;
	k->backoff = k->backoff * 2 > (uint32_t)t->conf.retry_max_ms ?
	    (uint32_t)t->conf.retry_max_ms : k->backoff * 2;
}

static void
disarm(struct tasks_task *k)
{
	k->due = 0;
	k->backoff = 0;
	k->notice = k->ask = 0;
}

static void
link_add(struct tasks *t, uint64_t now, const char *id, const char *peer,
    uint32_t epoch, const char *by)
{
	struct tasks_link	*l;

	if (t->conf.max_links == 0)
		return;
	l = &t->links[t->linkpos];
	lb_strlcpy(l->id, id, sizeof(l->id));
	lb_strlcpy(l->peer, peer, sizeof(l->peer));
	lb_strlcpy(l->by, by, sizeof(l->by));
	l->epoch = epoch;
	l->at = now;
	t->linkpos = (t->linkpos + 1) % t->conf.max_links;
	if (t->nlinks < t->conf.max_links)
		t->nlinks++;
}

int
tasks_link(const struct tasks *t, const char *id, char *peer, uint32_t *epoch,
    char *by)
{
	const struct tasks_link	*best = NULL;

	for (size_t i = 0; i < t->nlinks; i++) {
		const struct tasks_link *l = &t->links[i];
		if (strcmp(l->id, id) == 0 && (best == NULL || l->at > best->at))
			best = l;
	}
	if (best == NULL)
		return -1;
	lb_strlcpy(peer, best->peer, LB_ID_MAX);
	if (epoch)
		*epoch = best->epoch;
	if (by)
		lb_strlcpy(by, best->by, LB_ID_MAX);
	return 0;
}

/* ---- life ---- */

struct tasks *
tasks_new(const struct tasks_conf *c, const char *self, uint64_t inc,
    const char *attrs, int64_t wall_off)
{
	struct tasks	*t = lb_calloc(1, sizeof(*t));

	t->conf = *c;
	if (t->conf.retry_min_ms <= 0)
		t->conf.retry_min_ms = 100;
	if (t->conf.retry_max_ms < t->conf.retry_min_ms)
		t->conf.retry_max_ms = t->conf.retry_min_ms;
	lb_strlcpy(t->self, self, sizeof(t->self));
	t->inc = inc;
	t->attrs = lb_strdup(attrs ? attrs : "");
	t->wall_off = wall_off;
	t->buckets = lb_calloc(BUCKETS, sizeof(*t->buckets));
	t->rbuckets = lb_calloc(BUCKETS, sizeof(*t->rbuckets));
	t->next_seq = 1;
	t->links = lb_calloc(t->conf.max_links + 1, sizeof(*t->links));
	return t;
}

void
tasks_free(struct tasks *t)
{
	struct tasks_task	*k, *next;

	if (t == NULL)
		return;
	tasks_set_alive(t, NULL, 0);
	for (size_t b = 0; b < BUCKETS; b++)
		for (k = t->buckets[b]; k; k = next) {
			next = k->hnext;
			if (k->incoming != NULL)
				lb__task_record__free_unpacked(k->incoming,
				    NULL);
			lb__task_record__free_unpacked(k->rec, NULL);
			free(k);
		}
	free(t->buckets);
	free(t->rbuckets);
	free(t->links);
	free(t->sorted);
	free(t->attrs);
	free(t);
}

void
tasks_set_leaving(struct tasks *t, int leaving)
{
	t->leaving = leaving;
}

void
tasks_set_draining(struct tasks *t, int draining)
{
	t->draining = draining;
}

void
tasks_seq_floor(struct tasks *t, uint64_t seq)
{
	if (seq > t->next_seq)
		t->next_seq = seq;
}

uint64_t
tasks_next_seq(const struct tasks *t)
{
	return t->next_seq;
}

void
tasks_restore(struct tasks *t, Lb__TaskRecord *rec)
{
	struct tasks_task	*k;
	uint64_t		 seq;

	if (!tasks_id_valid(rec->id) || rec->spec == NULL) {
		lb__task_record__free_unpacked(rec, NULL);
		return;
	}
	if ((seq = own_seq(t, rec->id)) >= t->next_seq)
		t->next_seq = seq + 1;
	k = tasks_find(t, rec->id);
	if (rec->forgotten) {
		if (k != NULL)
			task_remove(t, k);
		lb__task_record__free_unpacked(rec, NULL);
		return;
	}
	if (k != NULL) {
		/* The index points into the record: take it out meanwhile. */
		request_unindex(t, k);
		lb__task_record__free_unpacked(k->rec, NULL);
		k->rec = rec;
		request_index(t, k);
	} else
		task_add(t, rec);
}

void
tasks_start(struct tasks *t, uint64_t now, struct tasks_out *o)
{
	size_t			  n;
	struct tasks_task	**all = tasks_all(t, &n);

	for (size_t i = 0; i < n; i++) {
		struct tasks_task	*k = all[i];
		Lb__TaskRecord		*r = k->rec;

		r->pgid = 0;
		k->h_epoch = r->epoch;
		lb_strlcpy(k->h_by, r->epoch_by, sizeof(k->h_by));
		if (k->home) {
			/*
			 * Moves this home started before it stopped are
			 * fenced: none of them can commit now.
			 */
			r->epoch_floor = max3(r->epoch_floor, r->epoch_next,
			    r->epoch);
			/* Its host may have renewed its lease until we
			 * stopped: it counts from now. */
			k->lease_heard = now;
			quiet_arm(t, now, k);
			if (r->stop_pending && strcmp(r->host, t->self) != 0)
				stop_current(t, now, k, "the task has ended", o);
			if (tasks_unfinished(r) && strcmp(r->host, t->self) == 0) {
				r->state = LB__TASK_STATE__TASK_QUEUED;
				k->resume = r->checkpoints > 0;
				set_hold(t, now, k, HOLD_QUEUED, o);
				out_push(o, TA_REPLAY, r->id);
			}
			continue;
		}
		/* A placement held for another home: ask it first. */
		if (tasks_unfinished(r)) {
			r->state = LB__TASK_STATE__TASK_QUEUED;
			k->resume = r->checkpoints > 0;
			set_hold(t, now, k, HOLD_CONFIRM, o);
		} else
			set_hold(t, now, k, HOLD_ENDED, o);
		k->notice = 1;
		notice_send(t, now, k, o);
	}
	schedule(t, now, o);
}

/* ---- validation of what comes in ---- */

static int
str_ok(const char *s)
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
		if (!str_ok(s->argv[i])) {
			*cause = lb_strdup("an argument is too long");
			return -1;
		}
	for (size_t i = 0; i < s->n_env; i++)
		if (!str_ok(s->env[i]) || strchr(s->env[i], '=') == NULL ||
		    s->env[i][0] == '=') {
			*cause = lb_printf("--env \"%.64s\": expected KEY=VALUE",
			    s->env[i]);
			return -1;
		}
	for (size_t i = 0; i < s->n_needs; i++)
		if (!str_ok(s->needs[i]) || strchr(s->needs[i], ',')) {
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
static int
rec_valid(const struct tasks *t, const Lb__TaskRecord *r)
{
	char	*cause = NULL;

	if (r == NULL || !tasks_id_valid(r->id) || r->spec == NULL ||
	    !lb_id_valid(r->epoch_by) || !lb_id_valid(r->host) ||
	    r->epoch == 0 || r->n_hosts > VISITS_MAX + 1 ||
	    r->stdout_inline.len > TASKS_INLINE + 256 ||
	    r->stderr_inline.len > TASKS_INLINE + 256 || !str_ok(r->error) ||
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
		    !str_ok(r->start_failures[i]->reason))
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
	note(o, id, "task %s: stopping it: %s", id, why);
	out_push(o, TA_STOP, id);
	return 0;
}

void
tasks_set_disk_short(struct tasks *t, uint64_t now, int on,
    struct tasks_out *o)
{
	int was = t->disk_short;

	t->disk_short = on;
	if (was && !on)
		schedule(t, now, o);
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
	/* Its own tasks that run here stop with it (another may run them
	 * once it has taken over), and go on when it may act again. */
	all = tasks_all(t, &n);
	for (size_t i = 0; i < n; i++) {
		struct tasks_task *k = all[i];

		if (!k->home || k->hold != HOLD_RUNNING)
			continue;
		if (on && !k->home_frozen) {
			k->home_frozen = 1;
			out_push(o, TA_FREEZE, k->rec->id);
		} else if (!on && k->home_frozen) {
			k->home_frozen = 0;
			out_push(o, TA_THAW, k->rec->id);
		}
	}
	if (!on)
		schedule(t, now, o);
}

void
tasks_set_home_lease(struct tasks *t, uint64_t end)
{
	t->home_lease_end = end;
}

/* The lease a home grants now: lease_ms, but never past the end of its
 * own home lease (a replica may take over once that and the margin have
 * passed: no lease of this home's may still run then). */
static uint32_t
grant_ms(const struct tasks *t, uint64_t now)
{
	uint64_t	l = (uint64_t)t->conf.lease_ms;

	if (t->home_lease_end != 0 && t->home_lease_end < now + l)
		l = t->home_lease_end > now ? t->home_lease_end - now : 1;
	return (uint32_t)l;
}

int
tasks_home_held(const struct tasks *t)
{
	return t->home_hold;
}

static void
home_announce(struct tasks *t, struct tasks_task *k, uint32_t term,
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
	g.holder_inc = inc_known(t, k->rec->host, 0);
	g.lease_ms = (uint32_t)t->conf.lease_ms;
	g.n_items = 1;
	g.items = &itp;
	m.body_case = LB__PEER_MSG__BODY_LEASE_GRANT;
	m.lease_grant = &g;
	send_msg(o, k->rec->host, k->rec->id, &m);
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
	home_peer_of(rec, was);
	/* Each takeover of a record raises its home term (records taken over
	 * from a peer that had taken them over before included): a host
	 * follows the highest. */
	if (term <= rec->home_term)
		term = rec->home_term + 1;
	if ((k = tasks_find(t, rec->id)) != NULL) {
		/* Held here already (this peer is its host, or acts for it
		 * already): it is this peer's own now. */
		lb__task_record__free_unpacked(rec, NULL);
		if (k->home)
			return 0;
		set_str(&k->rec->home_peer, t->self);
		k->rec->home_term = term;
		k->home = 1;
		k->lease_heard = now;
		/* Its lease from the old home ran out here: as its home now,
		 * this peer lets it run again, and the lease keeper lets it
		 * be (a home's own task has no lease). */
		if (k->hold == HOLD_RUNNING)
			out_push(o, TA_LEASE, k->rec->id)->until = 0;
		k->lease_until = 0;
		if (k->lease_frozen) {
			k->lease_frozen = 0;
			out_push(o, TA_THAW, k->rec->id);
		}
		quiet_arm(t, now, k);
		save(o, k, 1);
		return 1;
	}
	set_str(&rec->home_peer, t->self);
	rec->home_term = term;
	task_add(t, rec);
	k = tasks_find(t, rec->id);
	r = k->rec;
	r->pgid = 0;
	k->h_epoch = r->epoch;
	lb_strlcpy(k->h_by, r->epoch_by, sizeof(k->h_by));
	/* What the home it replaces had under way is fenced, as at a home's
	 * restart; its host is heard of from now, or the task runs again
	 * (quiet_arm). */
	r->epoch_floor = max3(r->epoch_floor, r->epoch_next, r->epoch);
	k->lease_heard = now;
	if (tasks_unfinished(r)) {
		if (strcmp(r->host, was) == 0 || strcmp(r->host,
		    t->self) == 0)
			rerun(t, now, k, "its home is gone, and this peer "
			    "acts for it now", o);
		else {
			/* Its host is told who its home is now (it asks
			 * here from then on; told again every lease_ms / 4
			 * until it does), or it runs again. */
			home_announce(t, k, term, o);
			k->announce = now;
			quiet_arm(t, now, k);
		}
	} else
		set_hold(t, now, k, HOLD_NONE, o);
	save(o, k, 1);
	note(o, r->id, "task %s: this peer acts as its home now (term %u): "
	    "%s is gone", r->id, term, was);
	return 1;
}

size_t
tasks_relinquish(struct tasks *t, uint64_t upto, struct tasks_out *o)
{
	size_t			  n, ng = 0;
	struct tasks_task	**all = tasks_all(t, &n);
	struct tasks_task	**go = lb_calloc(n + 1, sizeof(*go));

	/* (the ones to go first: removing one frees the list walked) */
	for (size_t i = 0; i < n; i++) {
		struct tasks_task *k = all[i];
		uint64_t seq = own_seq(t, k->rec->id);

		if (k->home && seq != 0 && seq < upto &&
		    (k->rec->home_peer == NULL || k->rec->home_peer[0] == '\0'))
			go[ng++] = k;
	}
	for (size_t i = 0; i < ng; i++) {
		if (go[i]->hold == HOLD_RUNNING)
			out_push(o, TA_STOP, go[i]->rec->id);
		out_push(o, TA_FORGET, go[i]->rec->id);
		task_remove(t, go[i]);
	}
	free(go);
	return ng;
}

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
static void
start_failed_home(struct tasks *t, uint64_t now, struct tasks_task *k,
    const char *host, const char *why, uint64_t at_ms, struct tasks_out *o)
{
	Lb__TaskRecord	*r = k->rec;
	char		*e;

	t->stats.start_failures++;
	/* (A task pinned there can go nowhere else.) */
	if (!start_failure_add(t, r, host, why, at_ms) &&
	    r->spec->pin[0] == '\0') {
		e = lb_printf("could not start at %s (%s): placed on another "
		    "peer", host, why);
		rerun(t, now, k, e, o);
		free(e);
		schedule(t, now, o);
		return;
	}
	r->state = LB__TASK_STATE__TASK_FAILED;
	e = lb_printf("it could not start on %zu host%s (task."
	    "max_start_failures, or every peer alive); at %s: %.150s",
	    r->n_start_failures, r->n_start_failures == 1 ? "" : "s", host,
	    why);
	set_str(&r->error, e);
	free(e);
	r->exit_code = r->signal = 0;
	r->finished_ms = wall(t, now);
	r->pgid = 0;
	if (k->hold != HOLD_NONE)
		set_hold(t, now, k, HOLD_NONE, o);
	record_result(t, now, k, r, NULL, NULL, o);
	schedule(t, now, o);
}

/* Its process could not be started here, for a reason of this host: the
 * home (here or told) places it elsewhere. */
static void
start_failed_here(struct tasks *t, uint64_t now, struct tasks_task *k,
    const char *why, struct tasks_out *o)
{
	k->rec->pgid = 0;
	if (k->home) {
		set_hold(t, now, k, HOLD_NONE, o);
		start_failed_home(t, now, k, t->self, why, wall(t, now), o);
		return;
	}
	k->start_failed = 1;
	lb_strlcpy(k->start_why, why, sizeof(k->start_why));
	k->start_failed_at = wall(t, now);
	/* Kept here too: restored before the home has it, it stays off. */
	(void)start_failure_add(t, k->rec, t->self, why, k->start_failed_at);
	save(o, k, 1);
	lb_strlcpy(k->give_why, "it could not start here",
	    sizeof(k->give_why));
	return_now(t, now, k, o);
	schedule(t, now, o);
}

/* ---- leases ---- */

/* A placement that runs only while its home confirms it. */
static int
leased(const struct tasks *t, const struct tasks_task *k)
{
	return t->conf.lease_ms > 0 && !k->home;
}

/* How long before the end of its lease a task is asked to checkpoint (and
 * a task is not started with less than that left). */
static uint64_t
lease_lead(const struct tasks *t)
{
	uint64_t lead = (uint64_t)t->conf.checkpoint_timeout_ms;

	if (lead > (uint64_t)t->conf.lease_ms / 4)
		lead = (uint64_t)t->conf.lease_ms / 4;
	return lead;
}

static void	lease_send(struct tasks *, uint64_t, const char *,
		    Lb__LeaseItem **, size_t, struct tasks_out *);

/* `k` needs its home's word to start: ask now (it alone), unless it was
 * asked for lately (a home that is down is not flooded). */
static void
lease_soon(struct tasks *t, struct tasks_task *k, uint64_t now,
    struct tasks_out *o)
{
	Lb__LeaseItem	 it = LB__LEASE_ITEM__INIT, *itp = &it;
	char		 home[LB_ID_MAX];

	if (k->lease_asked != 0 && now < k->lease_asked +
	    (uint64_t)t->conf.lease_ms / 4)
		return;
	k->lease_asked = now;
	home_peer_of(k->rec, home);
	it.task_id = k->rec->id;
	it.epoch = k->h_epoch;
	it.epoch_by = k->h_by;
	lease_send(t, now, home, &itp, 1, o);
}

/* Whether `k` may start now as far as its lease goes. */
static int
lease_ok(const struct tasks *t, const struct tasks_task *k, uint64_t now)
{
	return !leased(t, k) || now + lease_lead(t) < k->lease_until;
}

static void
schedule(struct tasks *t, uint64_t now, struct tasks_out *o)
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
		if (!lease_ok(t, k, now)) {
			lease_soon(t, k, now, o);	/* it starts once
							 * confirmed */
			continue;
		}
		set_hold(t, now, k, HOLD_RUNNING, o);
		a = out_push(o, TA_START, k->rec->id);
		a->resume = k->resume;
		a->until = leased(t, k) ? k->lease_until : 0;
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

size_t
tasks_count(const struct tasks *t, size_t *homed)
{
	if (homed)
		*homed = t->homed;
	return t->n;
}

static int
id_cmp(const void *a, const void *b)
{
	const struct tasks_task *ka = *(struct tasks_task * const *)a;
	const struct tasks_task *kb = *(struct tasks_task * const *)b;

	return strverscmp(ka->rec->id, kb->rec->id);
}

struct tasks_task **
tasks_all(struct tasks *t, size_t *n)
{
	size_t	k = 0;

	if (t->sorted == NULL) {
		t->sorted = lb_calloc(t->n + 1, sizeof(*t->sorted));
		for (size_t b = 0; b < BUCKETS; b++)
			for (struct tasks_task *c = t->buckets[b]; c; c = c->hnext)
				t->sorted[k++] = c;
		qsort(t->sorted, k, sizeof(*t->sorted), id_cmp);
	}
	*n = t->n;
	return t->sorted;
}

const struct tasks_stats *
tasks_stats(const struct tasks *t)
{
	return &t->stats;
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
	r.submitted_ms = wall(t, now);
	k = task_add(t, tasks_rec_clone(&r));
	free(files);
	free(fv);
	visit_add(k->rec, t->self, wall(t, now));
	t->next_seq++;
	t->stats.submitted++;
	k->h_epoch = 1;
	lb_strlcpy(k->h_by, t->self, sizeof(k->h_by));
	save(o, k, 1);
	set_hold(t, now, k, HOLD_QUEUED, o);
	schedule(t, now, o);
	*idp = lb_strdup(id);
	return 0;
}

/* Record the end of a task homed here: once, never changed after. */
static void
record_result(struct tasks *t, uint64_t now, struct tasks_task *k,
    const Lb__TaskRecord *r, const ProtobufCBinaryData *out,
    const ProtobufCBinaryData *err, struct tasks_out *o)
{
	Lb__TaskRecord	*h = k->rec;

	h->state = r->state;
	h->exit_code = r->exit_code;
	h->signal = r->signal;
	if (r != h)
		set_str(&h->error, r->error);
	h->finished_ms = r->finished_ms ? r->finished_ms : wall(t, now);
	if (r->started_ms)
		h->started_ms = r->started_ms;
	if (r != h) {
		counts_merge(h, r);
		h->stdout_bytes = r->stdout_bytes;
		h->stderr_bytes = r->stderr_bytes;
		h->output_truncated = r->output_truncated;
		h->output_in_files = r->output_in_files;
		set_bytes(&h->stdout_inline, r->output_in_files ? NULL :
		    &r->stdout_inline);
		set_bytes(&h->stderr_inline, r->output_in_files ? NULL :
		    &r->stderr_inline);
		if (r->output_in_files) {
			struct tasks_action *a = out_push(o, TA_OUTPUT, h->id);
			a->out = out;
			a->err = err;
		}
	}
	if (h->n_hosts > 0 && h->hosts[h->n_hosts - 1]->left_ms == 0)
		h->hosts[h->n_hosts - 1]->left_ms = h->finished_ms;
	h->pgid = 0;
	note(o, h->id, "task %s: result recorded (%s, epoch %u.%s)", h->id,
	    tasks_state_name(h->state), r->epoch, r->epoch_by);
	t->stats.results++;
	save(o, k, 1);
}

/* The home: ask the host of the current placement to stop it. */
static void
stop_current(struct tasks *t, uint64_t now, struct tasks_task *k,
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
		save(o, k, 1);
	}
	s.task_id = k->rec->id;
	s.epoch = k->rec->epoch;
	s.epoch_by = k->rec->epoch_by;
	s.reason = k->stop_why;
	m.body_case = LB__PEER_MSG__BODY_TASK_STOP;
	m.task_stop = &s;
	send_msg(o, k->rec->host, k->rec->id, &m);
	arm(t, now, k);
}

/* Stop what is held here of a task and forget it (a non-home copy). */
static void
drop_copy(struct tasks *t, uint64_t now, struct tasks_task *k,
    struct tasks_out *o)
{
	if (k->hold == HOLD_RUNNING) {
		set_hold(t, now, k, HOLD_STOPPING, o);
		out_push(o, TA_STOP, k->rec->id);
		disarm(k);
		return;
	}
	if (k->hold == HOLD_STOPPING) {
		k->give_back = 0;	/* nothing to hand back: it goes */
		return;		/* forgotten when it exits */
	}
	if (k->home) {
		set_hold(t, now, k, HOLD_NONE, o);
		disarm(k);
		return;
	}
	forget(t, k, o);
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
	set_str(&r->error, k->hold == HOLD_QUEUED ?
	    "cancelled before it started" : k->hold == HOLD_RUNNING ||
	    k->hold == HOLD_STOPPING ? "cancelled while it ran" : "cancelled");
	r->finished_ms = wall(t, now);
	r->stdout_bytes = r->stderr_bytes = 0;
	r->pgid = 0;
	t->stats.results++;
	/* Recorded now, on disk: a restart of the home does not run it. */
	save(o, k, 1);
	note(o, id, "task %s: cancelled", id);
	if (k->hold == HOLD_RUNNING) {
		set_hold(t, now, k, HOLD_STOPPING, o);
		out_push(o, TA_STOP, id);
	} else if (k->hold != HOLD_NONE && k->hold != HOLD_STOPPING)
		set_hold(t, now, k, HOLD_NONE, o);
	disarm(k);
	stop_current(t, now, k, "cancelled", o);
	return 0;
}

/* ---- notices: holder to home ---- */

static void
notice_send(struct tasks *t, uint64_t now, struct tasks_task *k,
    struct tasks_out *o)
{
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__TaskNotice		 n = LB__TASK_NOTICE__INIT;
	char			 home[LB_ID_MAX];
	struct tasks_action	*a;
	uint32_t		 keep;

	if (!k->notice || k->home)
		return;
	home_peer_of(k->rec, home);
	n.record = k->rec;
	m.body_case = LB__PEER_MSG__BODY_TASK_NOTICE;
	m.task_notice = &n;
	/* The counter allocated for a move under way is not reported: the
	 * home fences what a notice reports (for a holder back from a
	 * restart, which forgot its moves) and would abort that move.  Back
	 * from a restart, it is reported (on disk, and no longer known). */
	keep = k->rec->epoch_next;
	if (k->ck_epoch != 0 && k->ck_epoch == keep)
		k->rec->epoch_next = keep - 1;
	a = send_msg(o, home, k->rec->id, &m);
	k->rec->epoch_next = keep;
	a->with_output = !tasks_unfinished(k->rec) && k->rec->output_in_files;
	arm(t, now, k);
}

/* A change at the holder the home should know of. */
static void
notice(struct tasks *t, uint64_t now, struct tasks_task *k, struct tasks_out *o)
{
	if (k->home)
		return;
	k->notice = 1;
	k->backoff = 0;
	notice_send(t, now, k, o);
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
	send_msg(o, to, id, &m);
}

static void
home_notice(struct tasks *t, uint64_t now, const char *from, uint64_t inc,
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
		notice_ack(t, now, from, inc, r->id, r, LB__VERDICT__VERDICT_UNKNOWN,
		    o);
		return;
	}
	h = k->rec;
	if (!tasks_unfinished(h))
		v = LB__VERDICT__VERDICT_DONE;
	else if (same(r->epoch, r->epoch_by, h->epoch, h->epoch_by)) {
		if (inc < h->host_inc)
			return;	/* from an incarnation of its host since gone */
		h->host_inc = inc;
		lease_heard(t, now, k);
		/* A holder back from a restart: fence the moves it had
		 * started, which it no longer knows of. */
		if (r->epoch_next > h->epoch_floor) {
			h->epoch_floor = r->epoch_next;
			fenced = 1;
		}
		if (!tasks_unfinished(r)) {
			record_result(t, now, k, r, &n->stdout, &n->stderr, o);
			v = LB__VERDICT__VERDICT_DONE;
		} else {
			h->state = r->state;
			h->started_ms = r->started_ms;
			h->starts = r->starts;
			h->resumes = r->resumes;
			h->checkpoints = r->checkpoints;
			migrations_copy(h, r);
			/* A raised fence is on disk before "go on" leaves. */
			save(o, k, fenced);
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
		record_result(t, now, k, r, &n->stdout, &n->stderr, o);
		/* A copy held here (current, or arriving) goes; the current
		 * placement elsewhere is told to stop. */
		if (k->hold != HOLD_NONE)
			drop_copy(t, now, k, o);
		stop_current(t, now, k, "another run ended first", o);
		v = LB__VERDICT__VERDICT_DONE;
	} else {
		v = LB__VERDICT__VERDICT_STALE;
		t->stats.stale_stopped++;
	}
	notice_ack(t, now, from, inc, r->id, r, v, o);
}

static void
holder_verdict(struct tasks *t, uint64_t now, struct tasks_task *k,
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
			disarm(k);
		if (k->hold == HOLD_CONFIRM) {
			set_hold(t, now, k, HOLD_QUEUED, o);
			schedule(t, now, o);
		}
		return;
	}
	if (v == LB__VERDICT__VERDICT_STALE) {
		t->stats.stale_stopped++;
		note(o, k->rec->id, "task %s: another placement replaced this "
		    "one; stopping it here", k->rec->id);
	}
	drop_copy(t, now, k, o);
}

/* ---- leases: host and home ---- */

/* A placement held here whose process runs, or may start: queued,
 * running, or stopping to be handed back (it may take kill_grace_ms). */
static int
lease_wanted(const struct tasks_task *k)
{
	return k->hold == HOLD_QUEUED || k->hold == HOLD_RUNNING ||
	    (k->hold == HOLD_STOPPING && k->give_back);
}

#define LEASE_BATCH	512	/* items in one LeaseAsk */

static void
lease_send(struct tasks *t, uint64_t now, const char *home,
    Lb__LeaseItem **items, size_t n, struct tasks_out *o)
{
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;
	Lb__LeaseAsk	a = LB__LEASE_ASK__INIT;

	a.sent_ms = now;
	a.n_items = n;
	a.items = items;
	m.body_case = LB__PEER_MSG__BODY_LEASE_ASK;
	m.lease_ask = &a;
	send_msg(o, home, NULL, &m);
	t->stats.lease_asks++;
}

/* Ask every home of a placement queued or running here to confirm it: one
 * LeaseAsk per home (ids sort by home, so each home's are together). */
static void
lease_round(struct tasks *t, uint64_t now, struct tasks_out *o)
{
	size_t			  n, ni = 0;
	struct tasks_task	**all = tasks_all(t, &n);
	Lb__LeaseItem		  items[LEASE_BATCH], *ptrs[LEASE_BATCH];
	char			  home[LB_ID_MAX], cur[LB_ID_MAX] = "";

	t->lease_sent = now;
	t->lease_next = now + (uint64_t)t->conf.lease_ms / 4;
	t->lease_asap = 0;
	for (size_t i = 0; i < n; i++) {
		struct tasks_task *k = all[i];

		/* Also a placement moving out or holding a result: the home
		 * hears it is alive (its grant for one is not taken). */
		if (!leased(t, k) || !(lease_wanted(k) || k->hold ==
		    HOLD_FROZEN || k->hold == HOLD_ENDED))
			continue;
		k->lease_asked = now;
		home_peer_of(k->rec, home);
		if (ni > 0 && (strcmp(home, cur) != 0 || ni == LEASE_BATCH)) {
			lease_send(t, now, cur, ptrs, ni, o);
			ni = 0;
		}
		lb_strlcpy(cur, home, sizeof(cur));
		lb__lease_item__init(&items[ni]);
		items[ni].task_id = k->rec->id;
		items[ni].epoch = k->h_epoch;
		items[ni].epoch_by = k->h_by;
		items[ni].lapsed = lease_wanted(k) && now >= k->lease_until;
		ptrs[ni] = &items[ni];
		ni++;
	}
	if (ni > 0)
		lease_send(t, now, cur, ptrs, ni, o);
}

/* Home: the current host of `k` was heard of now.  A rerun put off for its
 * lease (its host seen dead) is put off further, not dropped: this may be
 * a late copy of an old message from a host that is dead indeed. */
/* Home: `k`'s host is not heard of from now (see quiet_at). */
static void
quiet_arm(struct tasks *t, uint64_t now, struct tasks_task *k)
{
	if (k->revoked)
		return;		/* what it says now does not count */
	k->quiet_at = 0;
	if (t->conf.lease_ms > 0 && k->home && tasks_unfinished(k->rec) &&
	    strcmp(k->rec->host, t->self) != 0) {
		k->quiet_at = now + lease_wait(t);
		k->quiet_epoch = k->rec->epoch;
	}
}

static void
lease_heard(struct tasks *t, uint64_t now, struct tasks_task *k)
{
	k->lease_heard = now;
	k->announce = 0;	/* its host knows who its home is */
	if (k->rerun_at != 0)
		k->rerun_at = now + lease_wait(t);
	quiet_arm(t, now, k);
}

/* Home: `k` has a new placement: what was known of its former host's
 * leases is not of it, and its host is heard of from now (a commit is a
 * grant). */
static void
lease_reset(struct tasks *t, uint64_t now, struct tasks_task *k)
{
	k->revoked = 0;
	k->lapsed_since = 0;
	k->ask_newest = 0;
	quiet_arm(t, now, k);
}

/* Home: answer a host's LeaseAsk, item by item. */
static void
lease_ask_recv(struct tasks *t, uint64_t now, const char *from, uint64_t inc,
    const Lb__LeaseAsk *a, struct tasks_out *o)
{
	Lb__PeerMsg	 m = LB__PEER_MSG__INIT;
	Lb__LeaseGrant	 g = LB__LEASE_GRANT__INIT;
	Lb__LeaseItem	*items, **ptrs;
	size_t		 ni = 0;

	if (t->home_hold)
		return;		/* no grant while it may not act */
	if (a->n_items == 0 || a->n_items > LEASE_BATCH) {
		t->stats.drop_invalid++;
		return;
	}
	items = lb_calloc(a->n_items, sizeof(*items));
	ptrs = lb_calloc(a->n_items, sizeof(*ptrs));
	for (size_t i = 0; i < a->n_items; i++) {
		const Lb__LeaseItem	*it = a->items[i];
		struct tasks_task	*k;
		Lb__TaskRecord		*h;
		Lb__LeaseItem		*r = &items[ni];

		if (!tasks_id_valid(it->task_id) ||
		    !home_is(t, it->task_id, t->self) ||
		    !lb_id_valid(it->epoch_by)) {
			t->stats.drop_invalid++;
			continue;
		}
		lb__lease_item__init(r);
		r->task_id = it->task_id;
		r->epoch = it->epoch;
		r->epoch_by = it->epoch_by;
		k = tasks_find(t, it->task_id);
		if (k == NULL || !k->home)
			r->verdict = LB__VERDICT__VERDICT_UNKNOWN;
		else if (!tasks_unfinished((h = k->rec)))
			r->verdict = LB__VERDICT__VERDICT_DONE;
		else if (same(it->epoch, it->epoch_by, h->epoch, h->epoch_by) &&
		    strcmp(h->host, from) == 0) {
			if (inc < h->host_inc)
				continue;	/* an earlier life of its host */
			if (inc > h->host_inc) {
				/* Confirmed by this life of its host: on
				 * disk before the answer. */
				h->host_inc = inc;
				k->ask_newest = k->lapsed_since = 0;
				save(o, k, 1);
			}
			/* Its lease ran out while this home granted it for
			 * lease_ms on end: the grants do not reach it (a
			 * one-way cut).  No more: the silence rule runs it
			 * again once the last grant has run out. */
			/* (An ask older than one heard says nothing new.) */
			if (a->sent_ms >= k->ask_newest) {
				k->ask_newest = a->sent_ms;
				if (!it->lapsed)
					k->lapsed_since = 0;
				else if (k->lapsed_since == 0)
					k->lapsed_since = a->sent_ms;
			}
			if (!k->revoked && it->lapsed && a->sent_ms >=
			    k->lapsed_since + (uint64_t)t->conf.lease_ms) {
				k->revoked = 1;
				note(o, k->rec->id, "task %s: its host %s has "
				    "had no lease for %d ms though this home "
				    "grants it: no more grants; it runs again "
				    "elsewhere once the last one has run out",
				    k->rec->id, from, t->conf.lease_ms);
			}
			if (k->revoked)
				continue;	/* heard of, not confirmed */
			r->verdict = LB__VERDICT__VERDICT_CURRENT;
			lease_heard(t, now, k);
		} else
			r->verdict = LB__VERDICT__VERDICT_STALE;
		ptrs[ni++] = r;
	}
	if (ni > 0) {
		g.sent_ms = a->sent_ms;
		g.holder_inc = inc;
		g.lease_ms = grant_ms(t, now);
		g.n_items = ni;
		g.items = ptrs;
		m.body_case = LB__PEER_MSG__BODY_LEASE_GRANT;
		m.lease_grant = &g;
		send_msg(o, from, NULL, &m);
	}
	free(ptrs);
	free(items);
}

/* Host: a home's answer. */
static void
lease_grant_recv(struct tasks *t, uint64_t now, const char *from,
    const Lb__LeaseGrant *g, struct tasks_out *o)
{
	uint64_t until, l = (uint64_t)t->conf.lease_ms;

	/* (the news that another acts as the home, sent_ms 0, may not know
	 * this peer's incarnation: it extends no lease) */
	if (t->conf.lease_ms == 0 || (g->holder_inc != t->inc &&
	    g->sent_ms != 0) || g->sent_ms > now ||
	    g->n_items > LEASE_BATCH) {
		t->stats.drop_unknown++;
		return;
	}
	if (g->lease_ms > 0 && g->lease_ms < l)
		l = g->lease_ms;	/* the home waits less: so do we */
	until = g->sent_ms + l;
	for (size_t i = 0; i < g->n_items; i++) {
		const Lb__LeaseItem	*it = g->items[i];
		struct tasks_task	*k;

		/* A replica took over as the task's home, in a later home
		 * term: it is the one to ask from now on. */
		if (it->home_term > 0 && tasks_id_valid(it->task_id) &&
		    strcmp(it->home_peer, from) == 0 &&
		    (k = tasks_find(t, it->task_id)) != NULL && !k->home &&
		    it->home_term > k->rec->home_term) {
			set_str(&k->rec->home_peer, from);
			k->rec->home_term = it->home_term;
			k->lease_asked = 0;
			save(o, k, 1);
			note(o, k->rec->id, "task %s: %s acts as its home now "
			    "(term %u)", k->rec->id, from, it->home_term);
		}
		if (g->sent_ms == 0)
			continue;	/* (that news alone: no lease) */
		if (!tasks_id_valid(it->task_id) || !home_is(t, it->task_id,
		    from) || it->verdict < LB__VERDICT__VERDICT_CURRENT ||
		    it->verdict > LB__VERDICT__VERDICT_UNKNOWN) {
			t->stats.drop_sender++;
			continue;
		}
		k = tasks_find(t, it->task_id);
		if (k == NULL || k->home || !lease_wanted(k) ||
		    !same(it->epoch, it->epoch_by, k->h_epoch, k->h_by)) {
			t->stats.drop_unknown++;
			continue;
		}
		if (it->verdict != LB__VERDICT__VERDICT_CURRENT) {
			holder_verdict(t, now, k, it->verdict, k->rec->state, o);
			continue;
		}
		if (until <= k->lease_until)
			continue;
		k->lease_until = until;
		if (now + lease_lead(t) < until)
			k->lease_ck = 0;	/* asked again at its next end */
		if (k->hold == HOLD_QUEUED)
			continue;
		out_push(o, TA_LEASE, k->rec->id)->until = until;
		if (k->hold != HOLD_RUNNING)
			continue;
		if (k->lease_frozen && now < until) {
			k->lease_frozen = 0;
			t->stats.lease_thawed++;
			note(o, k->rec->id, "task %s: its home confirms it "
			    "again; it runs on", k->rec->id);
			out_push(o, TA_THAW, k->rec->id);
		}
	}
	schedule(t, now, o);
}

void
tasks_heard_epoch(struct tasks *t, const char *id, uint32_t epoch)
{
	struct tasks_task *k;

	if (t->conf.lease_ms > 0 && tasks_id_valid(id) &&
	    (k = tasks_find(t, id)) != NULL && leased(t, k) &&
	    (k->hold == HOLD_QUEUED || k->hold == HOLD_RUNNING) &&
	    epoch > k->h_epoch)
		t->lease_asap = 1;
}

/* Host, every tick: a lease near its end asks for a checkpoint; one that
 * ended freezes the process. */
static void
lease_check(struct tasks *t, uint64_t now, struct tasks_task *k,
    struct tasks_out *o)
{
	Lb__TaskRecord *r = k->rec;

	if (!leased(t, k) || k->hold != HOLD_RUNNING)
		return;
	if (now + lease_lead(t) >= k->lease_until && !k->lease_ck &&
	    !k->lease_frozen && r->spec->checkpointable && !k->ck_asked &&
	    now >= k->proc_at + (uint64_t)t->conf.checkpoint_grace_ms) {
		k->lease_ck = 1;
		t->lease_asap = 1;
		note(o, r->id, "task %s: its home has not confirmed it for %"
		    PRIu64 " ms; asking it to checkpoint", r->id,
		    now + (uint64_t)t->conf.lease_ms - k->lease_until);
		out_push(o, TA_CHECKPOINT, r->id);
	}
	if (now >= k->lease_until && !k->lease_frozen) {
		k->lease_frozen = 1;
		t->lease_asap = 1;
		t->stats.lease_frozen++;
		note(o, r->id, "task %s: its lease ran out (no word from its "
		    "home for %d ms): frozen until its home answers", r->id,
		    t->conf.lease_ms);
		out_push(o, TA_FREEZE, r->id);
	}
}

/* ---- moves ---- */

/*
 * Freeze a task held here (waiting, or a running one that has just
 * checkpointed: `ck_ms` is how long it took) and offer it to `to`.
 */
static void
freeze_move(struct tasks *t, uint64_t now, struct tasks_task *k,
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
		save(o, k, 0);
	} else {
		n = alloc_epoch(k->rec);
		save(o, k, 1);
	}
	k->ck_epoch = 0;
	r = tasks_rec_clone(k->rec);
	r->parent_epoch = r->epoch;
	set_str(&r->parent_by, r->epoch_by);
	r->epoch = n;
	set_str(&r->epoch_by, t->self);
	set_str(&r->host, to);
	r->host_inc = inc;
	r->state = LB__TASK_STATE__TASK_QUEUED;
	r->pgid = 0;
	r->moves++;
	visit_add(r, to, wall(t, now));
	if (ck_ms > 0)
		migration_add(r, t->self, to, wall(t, now), ck_ms);
	tr.req_id = req_id;
	tr.record = r;
	tr.migrate_origin = k->mig_origin;
	tr.migrate_req = k->mig_req;
	m.body_case = LB__PEER_MSG__BODY_TRANSFER;
	m.transfer = &tr;
	a = send_msg(o, to, k->rec->id, &m);
	a->with_files = 1;
	a->resume = k->resume;
	lb__task_record__free_unpacked(r, NULL);
	set_hold(t, now, k, HOLD_FROZEN, o);
	lb_strlcpy(k->move_to, to, sizeof(k->move_to));
	k->move_inc = inc;
	k->move_epoch = n;
	k->move_req = req_id;
	k->move_started = now;
	k->move_acked = 0;
	k->move_ck_ms = ck_ms;
	disarm(k);
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
static void
ck_signal(struct tasks *t, uint64_t now, struct tasks_task *k,
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
	out_push(o, TA_CHECKPOINT, k->rec->id);
	note(o, k->rec->id, "task %s: asked to checkpoint, to move to %s",
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
		freeze_move(t, now, k, to, inc, req_id, 0, o);
		return 0;
	}
	lb_strlcpy(k->ck_to, to, sizeof(k->ck_to));
	k->ck_inc = inc;
	k->ck_req = req_id;
	k->yield = 0;	/* the move's checkpoint takes its place */
	/* The placement's counter now, on disk while the task checkpoints. */
	k->ck_epoch = alloc_epoch(k->rec);
	save(o, k, 1);
	k->ck_asked = now;
	k->ck_due = now + (uint64_t)t->conf.checkpoint_timeout_ms;
	k->ck_signalled = 0;
	ck_signal(t, now, k, o);
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
		    "home's replicas answer", id);
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

int
tasks_checkpoint_wanted(const struct tasks *t, const char *id,
    const char *from, uint32_t seq)
{
	struct tasks_task	*k = tasks_find(t, id);

	return k != NULL && k->home && tasks_unfinished(k->rec) &&
	    strcmp(k->rec->host, from) == 0 && strcmp(from, t->self) != 0 &&
	    k->rec->spec->checkpointable && seq > k->rec->home_checkpoint;
}

void
tasks_checkpoint_copied(struct tasks *t, uint64_t now, const char *id,
    uint32_t seq, struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, id);

	if (k == NULL || !k->home || seq <= k->rec->home_checkpoint)
		return;
	k->rec->home_checkpoint = seq;
	k->rec->home_checkpoint_ms = wall(t, now);
	t->stats.ck_copies++;
	save(o, k, 0);
}

/*
 * A task asked to checkpoint is writing it (the shell saw its checkpoint
 * grow, or its process wait on the disk): it is not deaf, only slow.  Its
 * time runs checkpoint_timeout_ms from now again, up to CK_WRITING_MAX
 * times checkpoint_timeout_ms from the signal in all.
 */
void
tasks_checkpoint_writing(struct tasks *t, uint64_t now, const char *id)
{
	struct tasks_task	*k = tasks_find(t, id);
	uint64_t		 span = (uint64_t)t->conf.checkpoint_timeout_ms;
	uint64_t		 due = now + span, cap;

	if (k == NULL || k->hold != HOLD_RUNNING)
		return;
	if (k->ck_asked && k->ck_signalled) {
		cap = k->ck_signalled + CK_WRITING_MAX * span;
		if (due > cap)
			due = cap;
		if (due > k->ck_due) {
			k->ck_due = due;
			t->stats.ck_slow++;
		}
	}
	if (k->yield && !k->ck_asked) {
		cap = k->yield_asked + CK_WRITING_MAX * span;
		if (due > cap)
			due = cap;
		if (due > k->yield_next) {
			k->yield_next = due;
			t->stats.ck_slow++;
		}
	}
}

int
tasks_checkpoint_ready(const struct tasks *t, const struct tasks_task *k,
    uint64_t now)
{
	return k->hold == HOLD_RUNNING && k->rec->spec->checkpointable &&
	    !k->ck_asked && k->rec->pgid != 0 && now >= k->proc_at +
	    (uint64_t)t->conf.checkpoint_grace_ms;
}

int
tasks_migration_pending(const struct tasks_task *k)
{
	const Lb__TaskRecord	*r = k->rec;

	return r->n_migrations > 0 && r->migrations[r->n_migrations - 1]->
	    freeze_us == 0 && r->migrations[r->n_migrations - 1]->
	    checkpoint_ms > 0 && k->resume;
}

/* From a millisecond, where a small checkpoint on loopback lands, to ten
 * seconds, where a large one over a slow link does. */
const uint64_t tasks_freeze_le_us[TASKS_FREEZE_BUCKETS - 1] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 10000000
};

static void
freeze_count(struct tasks_stats *st, uint64_t us)
{
	size_t	 i;

	for (i = 0; i < TASKS_FREEZE_BUCKETS - 1; i++)
		if (us <= tasks_freeze_le_us[i])
			break;
	st->freeze_hist[i]++;
	st->freeze_us_sum += us;
}

void
tasks_migration_measured(struct tasks *t, const char *id, uint64_t freeze_us,
    uint64_t bytes)
{
	struct tasks_task	*k = tasks_find(t, id);
	Lb__TaskMigration	*m;

	if (k == NULL || !tasks_migration_pending(k))
		return;
	m = k->rec->migrations[k->rec->n_migrations - 1];
	m->freeze_us = freeze_us > 0 ? freeze_us : 1;
	m->bytes = bytes;
	t->stats.freeze_us[t->stats.nfreeze++ % TASKS_FREEZE_RING] =
	    m->freeze_us;
	freeze_count(&t->stats, m->freeze_us);
	t->stats.migrations_in++;
	t->stats.migrate_bytes += bytes;
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
	send_msg(o, to, id, &m);
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
	else if (same(mv->epoch, mv->epoch_by, h->epoch, h->epoch_by))
		committed = 1;		/* asked again: already done */
	else if (!same(mv->parent_epoch, mv->parent_by, h->epoch, h->epoch_by))
		error = "it moves from a placement that is not current";
	else if (!mv->commit || mv->epoch <= h->epoch_floor ||
	    (strcmp(mv->host, t->self) == 0 ? mv->host_inc != t->inc :
	    mv->host_inc < inc_known(t, mv->host, 0))) {
		/* Aborted; or the destination restarted since it took the
		 * task (and lost it, held but not journaled). */
		current = 1;
		error = "aborted";
		if (mv->epoch > h->epoch_floor) {
			h->epoch_floor = mv->epoch;
			save(o, k, 1);
		}
	} else {
		/* Commit: the home's record names the new placement. */
		struct tasks_task *srcq = strcmp(src, t->self) == 0 ? k : NULL;
		h->epoch = mv->epoch;
		set_str(&h->epoch_by, mv->epoch_by);
		set_str(&h->host, mv->host);
		h->host_inc = mv->host_inc;
		if (mv->epoch > h->epoch_next)
			h->epoch_next = mv->epoch;
		h->moves++;
		h->state = LB__TASK_STATE__TASK_QUEUED;
		h->pgid = 0;
		k->lease_heard = now;
		k->rerun_at = 0;
		lease_reset(t, now, k);
		visit_add(h, mv->host, wall(t, now));
		save(o, k, 1);
		committed = 1;
		if (srcq != NULL && k->hold == HOLD_FROZEN)
			src_decided(t, now, k, 1, 0, o);
	}
	/* Tell the destination and the source (each unless it is here). */
	if (strcmp(mv->host, t->self) == 0) {
		if (k->hold == HOLD_PENDING && same(k->h_epoch, k->h_by,
		    mv->epoch, mv->epoch_by))
			dst_decided(t, now, k, committed, 0, 0, o);
	} else {
		/* A destination that asks itself is heard of now: its lease
		 * (from its held_ms, before now) ends before the home's wait. */
		if (committed && strcmp(from, mv->host) == 0)
			lease_heard(t, now, k);
		move_reply(o, mv->host, k->rec->id, mv->epoch, mv->epoch_by,
		    committed, 0, error, grant_ms(t, now), mv->held_ms);
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
	disarm(k);
	if (committed) {
		note(o, k->rec->id, "task %s moved to %s (epoch %u.%s, %llu ms)",
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
		link_add(t, now, k->rec->id, k->move_to, k->move_epoch, t->self);
		if (k->home) {
			set_hold(t, now, k, HOLD_NONE, o);
			return;
		}
		forget(t, k, o);
		return;
	}
	t->stats.transfers_aborted++;
	note(o, k->rec->id, "task %s: the move to %s was aborted; %s",
	    k->rec->id, k->move_to, current ? (k->resume ? "it resumes here "
	    "from its checkpoint" : "it stays here") : "its copy here is stale");
	mig_tell(k, 0, "", current ? (k->resume ? "the destination did not "
	    "take it; it resumes where it was, from its checkpoint" : "the "
	    "destination did not take it; it stays where it was") :
	    "another placement replaced it", o);
	if (current) {
		set_hold(t, now, k, HOLD_QUEUED, o);
		schedule(t, now, o);
		return;
	}
	drop_copy(t, now, k, o);
}

/* The destination learns the outcome of a move to it. */
static void
dst_decided(struct tasks *t, uint64_t now, struct tasks_task *k, int committed,
    uint32_t lease_ms, uint64_t held, struct tasks_out *o)
{
	disarm(k);
	if (k->incoming != NULL) {
		if (committed) {
			counts_merge(k->rec, k->incoming);
			output_take(k->rec, k->incoming);
		}
		lb__task_record__free_unpacked(k->incoming, NULL);
		k->incoming = NULL;
	}
	if (!committed) {
		drop_copy(t, now, k, o);
		return;
	}
	t->stats.transfers_in++;
	note(o, k->rec->id, "task %s arrived from %s (epoch %u.%s)", k->rec->id,
	    k->from, k->h_epoch, k->h_by);
	if (!tasks_migration_pending(k))
		mig_tell(k, 1, t->self, NULL, o);	/* else when it runs */
	if (!k->home)
		save(o, k, 1);	/* a placement held here survives a restart */
	/* The home's commit is a lease, counted from when this peer took the
	 * task in: that was before the home heard of it, so the lease ends
	 * before the home would run the task elsewhere.  Only for the very
	 * hold whose ack led to the commit (the reply echoes its held_ms): a
	 * late reply must not lend a later hold of the same placement, taken
	 * from a late copy of the Transfer, a lease from before it. */
	if (leased(t, k) && lease_ms > 0 && k->pend_at != 0 &&
	    held == k->pend_at && k->pend_at <= now) {
		uint64_t l = (uint64_t)t->conf.lease_ms;

		if (lease_ms < l)
			l = lease_ms;
		if (k->pend_at + l > k->lease_until) {
			k->lease_until = k->pend_at + l;
			k->lease_ck = 0;
		}
	}
	set_hold(t, now, k, HOLD_QUEUED, o);
	schedule(t, now, o);
}

/* Ask the home to commit or abort (locally when the home is here). */
static void
ask_home(struct tasks *t, uint64_t now, struct tasks_task *k, int commit,
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
	home_peer_of(k->rec, home);
	m.body_case = LB__PEER_MSG__BODY_TASK_MOVE;
	m.task_move = &mv;
	send_msg(o, home, k->rec->id, &m);
	arm(t, now, k);
}

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
	send_msg(o, to, r->id, &m);
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
	if (!rec_valid(t, r) || !lb_id_valid(r->parent_by) ||
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
	if (k != NULL && k->hold == HOLD_PENDING && same(k->h_epoch, k->h_by,
	    r->epoch, r->epoch_by)) {
		*dup = 1;	/* again */
		return 0;
	}
	if (k != NULL && (k->hold != HOLD_NONE || !k->home))
		*why = "a copy is held here";
	else if (k != NULL && !tasks_unfinished(k->rec))
		*why = "the task has ended";
	else if (k == NULL && is_home_of(t, r->id))
		/* Homed here but not known: forgotten long ago (or never
		 * issued); it must not come back as a record of its own. */
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

static void
transfer_recv(struct tasks *t, uint64_t now, const char *from,
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
		k = task_add(t, tasks_rec_clone(r));
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
	set_hold(t, now, k, HOLD_PENDING, o);
	note(o, r->id, "task %s held, from %s (epoch %u.%s): waiting for its "
	    "home to commit the move", r->id, from, r->epoch, r->epoch_by);
	disarm(k);
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

static void
transfer_ack_recv(struct tasks *t, uint64_t now, const char *from,
    const Lb__TransferAck *a, struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, a->task_id);

	if (k == NULL || k->hold != HOLD_FROZEN || k->move_acked ||
	    k->ask || k->move_req != a->req_id || strcmp(k->move_to, from) ||
	    !same(a->epoch, a->epoch_by, k->move_epoch, t->self)) {
		t->stats.drop_unknown++;
		return;
	}
	if (!a->ok) {
		/* Refused; but a duplicate of the Transfer may still be
		 * installed there later: abort through the home, which fences
		 * the move. */
		k->backoff = 0;
		ask_home(t, now, k, 0, o);
		return;
	}
	k->move_acked = 1;
	k->move_held = a->held_ms;
	k->backoff = 0;
	ask_home(t, now, k, 1, o);
}

static void
move_recv(struct tasks *t, uint64_t now, const char *from,
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
		if (!tasks_unfinished(k->rec) || !same(mv->parent_epoch,
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

static void
move_reply_recv(struct tasks *t, uint64_t now, const Lb__TaskMoveReply *r,
    struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, r->task_id);

	if (k == NULL) {
		t->stats.drop_unknown++;
		return;
	}
	if (k->hold == HOLD_FROZEN && same(r->epoch, r->epoch_by,
	    k->move_epoch, t->self))
		src_decided(t, now, k, r->committed, r->current, o);
	else if (k->hold == HOLD_PENDING && same(r->epoch, r->epoch_by,
	    k->h_epoch, k->h_by))
		dst_decided(t, now, k, r->committed, r->lease_ms, r->held_ms, o);
	else
		t->stats.drop_unknown++;
}

/* ---- stops ---- */

static void
stop_recv(struct tasks *t, uint64_t now, const char *from,
    const Lb__TaskStop *s, struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, s->task_id);
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__TaskStopAck		 a = LB__TASK_STOP_ACK__INIT;

	if (k != NULL && !k->home && k->hold != HOLD_NONE &&
	    same(s->epoch, s->epoch_by, k->h_epoch, k->h_by))
		drop_copy(t, now, k, o);
	a.task_id = s->task_id;
	a.epoch = s->epoch;
	a.epoch_by = s->epoch_by;
	m.body_case = LB__PEER_MSG__BODY_TASK_STOP_ACK;
	m.task_stop_ack = &a;
	send_msg(o, from, s->task_id, &m);
}

static void
stop_ack_recv(struct tasks *t, const char *from, const Lb__TaskStopAck *a,
    struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, a->task_id);

	if (k == NULL || !k->home || !k->stop) {
		t->stats.drop_unknown++;
		return;
	}
	if (strcmp(from, k->rec->host) != 0 || !same(a->epoch, a->epoch_by,
	    k->rec->epoch, k->rec->epoch_by)) {
		t->stats.drop_sender++;
		return;
	}
	k->stop = 0;
	k->rec->stop_pending = 0;
	out_push(o, TA_SAVE, k->rec->id);
	disarm(k);
}

/* ---- give-back: a draining host hands a placement to its home ---- */

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

static void
return_send(struct tasks *t, uint64_t now, struct tasks_task *k,
    struct tasks_out *o)
{
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;
	Lb__TaskReturn	rt = LB__TASK_RETURN__INIT;
	char		home[LB_ID_MAX];

	home_peer_of(k->rec, home);
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
	send_msg(o, home, k->rec->id, &m);
	arm(t, now, k);
}

/* Nothing of it runs here: tell the home, until it answers. */
static void
return_now(struct tasks *t, uint64_t now, struct tasks_task *k,
    struct tasks_out *o)
{
	char	home[LB_ID_MAX];

	home_peer_of(k->rec, home);
	k->rec->pgid = 0;
	set_hold(t, now, k, HOLD_RETURNING, o);
	disarm(k);
	note(o, k->rec->id, "task %s: handed back to its home %s (%s)",
	    k->rec->id, home, k->give_why);
	return_send(t, now, k, o);
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
		set_hold(t, now, k, HOLD_STOPPING, o);
		out_push(o, TA_STOP, id);
		/* A notice of its start is of no use now: the return
		 * replaces it. */
		disarm(k);
		note(o, id, "task %s: stopping it to hand it back to its home "
		    "(%s)", id, why);
		return 0;
	case HOLD_QUEUED:
	case HOLD_CONFIRM:
		if (k->home)
			return -1;	/* at its home already */
		lb_strlcpy(k->give_why, why, sizeof(k->give_why));
		return_now(t, now, k, o);
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
	send_msg(o, to, rt->task_id, &m);
}

/*
 * The home: a placement handed back.  Placed anew only when it is the
 * current one, held by the sender at the incarnation the home knows (or a
 * later one): a repeated return, or a return of a placement a move or a
 * rerun replaced, changes nothing and is acknowledged all the same.
 */
static void
return_recv(struct tasks *t, uint64_t now, const char *from, uint64_t inc,
    const Lb__TaskReturn *rt, struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, rt->task_id);
	Lb__TaskRecord		*h;
	char			 why[96];

	if (!lb_id_valid(rt->epoch_by) || rt->epoch == 0 ||
	    !str_ok(rt->reason)) {
		t->stats.drop_invalid++;
		return;
	}
	if (k == NULL || !k->home) {
		return_ack(o, from, inc, rt, 0);
		return;
	}
	h = k->rec;
	if (!tasks_unfinished(h) || !same(rt->epoch, rt->epoch_by, h->epoch,
	    h->epoch_by) || strcmp(h->host, from) != 0) {
		return_ack(o, from, inc, rt, 0);
		return;
	}
	if (inc < h->host_inc)
		return;		/* from a life of its host since gone */
	if (rt->start_failed) {
		start_failed_home(t, now, k, from, rt->reason, rt->failed_at_ms,
		    o);
		return_ack(o, from, inc, rt, 1);
		return;
	}
	snprintf(why, sizeof(why), "%s handed it back (%.48s)", from,
	    rt->reason);
	t->stats.returned++;
	rerun(t, now, k, why, o);
	schedule(t, now, o);
	return_ack(o, from, inc, rt, 1);
}

static void
return_ack_recv(struct tasks *t, uint64_t now, const char *from,
    const Lb__TaskReturnAck *a, struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, a->task_id);

	if (k == NULL || k->home || k->hold != HOLD_RETURNING ||
	    a->holder_inc != t->inc || !same(a->epoch, a->epoch_by,
	    k->h_epoch, k->h_by)) {
		t->stats.drop_unknown++;
		return;
	}
	t->stats.given_back++;
	/* Messages for it go to the home, which knows where it is next. */
	link_add(t, now, k->rec->id, from, k->h_epoch, k->h_by);
	forget(t, k, o);
}

/* ---- messages in ---- */

/*
 * The task a message is about, and who may send it: `to_home`, a message
 * for the task's home (this peer must be it); `from_home`, one only the
 * task's home may send.
 */
static const char *
task_of(const Lb__PeerMsg *m, int *to_home, int *from_home)
{
	*to_home = *from_home = 0;
	switch (m->body_case) {
	case LB__PEER_MSG__BODY_TRANSFER:
		return m->transfer->record ? m->transfer->record->id : NULL;
	case LB__PEER_MSG__BODY_TRANSFER_ACK:
		return m->transfer_ack->task_id;
	case LB__PEER_MSG__BODY_TASK_MOVE:
		*to_home = 1;
		return m->task_move->task_id;
	case LB__PEER_MSG__BODY_TASK_MOVE_REPLY:
		*from_home = 1;
		return m->task_move_reply->task_id;
	case LB__PEER_MSG__BODY_TASK_NOTICE:
		*to_home = 1;
		return m->task_notice->record ? m->task_notice->record->id :
		    NULL;
	case LB__PEER_MSG__BODY_TASK_NOTICE_ACK:
		*from_home = 1;
		return m->task_notice_ack->task_id;
	case LB__PEER_MSG__BODY_TASK_STOP:
		*from_home = 1;
		return m->task_stop->task_id;
	case LB__PEER_MSG__BODY_TASK_STOP_ACK:
		*to_home = 1;
		return m->task_stop_ack->task_id;
	case LB__PEER_MSG__BODY_TASK_CANCEL:
		*to_home = 1;
		return m->task_cancel->task_id;
	case LB__PEER_MSG__BODY_TASK_RETURN:
		*to_home = 1;
		return m->task_return->task_id;
	case LB__PEER_MSG__BODY_TASK_RETURN_ACK:
		*from_home = 1;
		return m->task_return_ack->task_id;
	default:
		return NULL;
	}
}

void
tasks_recv(struct tasks *t, uint64_t now, const char *from, uint64_t inc,
    const Lb__PeerMsg *m, struct tasks_out *o)
{
	struct tasks_task	*k;
	const char		*id;
	char			*cause = NULL;
	int			 to_home, from_home;

	if (!lb_id_valid(from) || strcmp(from, t->self) == 0) {
		t->stats.drop_sender++;
		return;
	}
	inc_known(t, from, inc);
	if (m->body_case == LB__PEER_MSG__BODY_LEASE_ASK) {
		lease_ask_recv(t, now, from, inc, m->lease_ask, o);
		return;
	}
	if (m->body_case == LB__PEER_MSG__BODY_LEASE_GRANT) {
		lease_grant_recv(t, now, from, m->lease_grant, o);
		return;
	}
	id = task_of(m, &to_home, &from_home);
	if (id == NULL || !tasks_id_valid(id) ||
	    (to_home && !home_is(t, id, t->self))) {
		t->stats.drop_invalid++;
		return;
	}
	if (from_home && !home_is(t, id, from)) {
		t->stats.drop_sender++;
		return;
	}
	switch (m->body_case) {
	case LB__PEER_MSG__BODY_TRANSFER:
		transfer_recv(t, now, from, m->transfer, o);
		break;
	case LB__PEER_MSG__BODY_TRANSFER_ACK:
		transfer_ack_recv(t, now, from, m->transfer_ack, o);
		break;
	case LB__PEER_MSG__BODY_TASK_MOVE:
		move_recv(t, now, from, m->task_move, o);
		break;
	case LB__PEER_MSG__BODY_TASK_MOVE_REPLY:
		move_reply_recv(t, now, m->task_move_reply, o);
		break;
	case LB__PEER_MSG__BODY_TASK_NOTICE:
		if (!rec_valid(t, m->task_notice->record) ||
		    m->task_notice->stdout.len > ((uint64_t)1 << 31) ||
		    m->task_notice->stderr.len > ((uint64_t)1 << 31)) {
			t->stats.drop_invalid++;
			break;
		}
		home_notice(t, now, from, inc, m->task_notice, o);
		break;
	case LB__PEER_MSG__BODY_TASK_NOTICE_ACK: {
		const Lb__TaskNoticeAck *a = m->task_notice_ack;
		if (a->verdict < LB__VERDICT__VERDICT_CURRENT ||
		    a->verdict > LB__VERDICT__VERDICT_UNKNOWN ||
		    (a->holder_inc != 0 && a->holder_inc != t->inc)) {
			t->stats.drop_unknown++;
			break;
		}
		k = tasks_find(t, a->task_id);
		if (k == NULL || k->home || k->hold == HOLD_NONE ||
		    k->hold == HOLD_PENDING || k->hold == HOLD_FROZEN ||
		    !same(a->epoch, a->epoch_by, k->h_epoch, k->h_by)) {
			t->stats.drop_unknown++;
			break;
		}
		holder_verdict(t, now, k, a->verdict, a->state, o);
		break;
	}
	case LB__PEER_MSG__BODY_TASK_STOP:
		stop_recv(t, now, from, m->task_stop, o);
		break;
	case LB__PEER_MSG__BODY_TASK_STOP_ACK:
		stop_ack_recv(t, from, m->task_stop_ack, o);
		break;
	case LB__PEER_MSG__BODY_TASK_CANCEL:
		if (tasks_cancel(t, now, id, o, &cause) == -1)
			free(cause);
		break;
	case LB__PEER_MSG__BODY_TASK_RETURN:
		return_recv(t, now, from, inc, m->task_return, o);
		break;
	case LB__PEER_MSG__BODY_TASK_RETURN_ACK:
		return_ack_recv(t, now, from, m->task_return_ack, o);
		break;
	default:
		break;
	}
}

/* ---- processes ---- */

/* With preemption: the first task queued here that could start here now
 * (runnable here, its lease in order) and has run less than `served` ms,
 * or NULL.  The queue is least served first, so the walk stops at the
 * first that has run as much. */
static struct tasks_task *
yield_to(struct tasks *t, uint64_t now, uint64_t served)
{
	for (struct tasks_task *q = t->qhead; q && q->rec->served_ms < served;
	    q = q->qnext)
		if (tasks_runs_here(t, q) && lease_ok(t, q, now))
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
static void
preempt_round(struct tasks *t, uint64_t now, struct tasks_out *o)
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
		if (tasks_runs_here(t, q) && lease_ok(t, q, now))
			want++;
	while (pending < want) {
		size_t best = nc;

		for (size_t i = 0; i < nc; i++)
			if (c[i].k != NULL && (best == nc ||
			    c[i].served > c[best].served))
				best = i;
		if (best == nc || yield_to(t, now, c[best].served) == NULL)
			break;
		c[best].k->yield = 1;
		c[best].k->yield_asked = now;
		c[best].k->yield_next = now +
		    (uint64_t)t->conf.checkpoint_timeout_ms;
		t->stats.yield_asks++;
		out_push(o, TA_CHECKPOINT, c[best].k->rec->id);
		c[best].k = NULL;
		pending++;
	}
}

void
tasks_resume_lost(struct tasks *t, const char *id)
{
	struct tasks_task	*k = tasks_find(t, id);

	if (k == NULL || !k->resume)
		return;
	k->resume = 0;
	k->rec->checkpoints = 0;
	k->rec->served_ms = 0;
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
	r->started_ms = wall(t, now);
	k->proc_at = now;
	r->starts++;
	if (k->resume)
		r->resumes++;
	save(o, k, 0);
	notice(t, now, k, o);
	mig_tell(k, 1, t->self, NULL, o);
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
				out_push(o, TA_CKCOPY, r->id)->seq =
				    r->checkpoints;
		}
		free(x->out_inline.data);
		free(x->err_inline.data);
		x->out_inline.data = x->err_inline.data = NULL;
		r->pgid = 0;
		k->give_back = 0;
		if (k->home) {
			set_hold(t, now, k, HOLD_NONE, o);
			if (tasks_unfinished(r))
				rerun(t, now, k, k->give_why, o);
		} else
			return_now(t, now, k, o);
		schedule(t, now, o);
		return;
	}
	if (k->hold == HOLD_STOPPING && k->give_back) {
		/* It ended by itself before the stop took: a complete run,
		 * whose result is kept as any other. */
		k->give_back = 0;
		set_hold(t, now, k, HOLD_RUNNING, o);
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
			set_hold(t, now, k, HOLD_NONE, o);
		else
			forget(t, k, o);
		schedule(t, now, o);
		return;
	}
	if (k->hold == HOLD_RUNNING && k->fail_why[0] != '\0') {
		/* Stopped for a limit it broke: that is its result. */
		free(x->out_inline.data);
		free(x->err_inline.data);
		x->out_inline.data = x->err_inline.data = NULL;
		x->out_inline.len = x->err_inline.len = 0;
		if (k->ck_asked)
			ck_fail(k, "it was stopped", o);
		r->pgid = 0;
		r->finished_ms = wall(t, now);
		r->state = LB__TASK_STATE__TASK_FAILED;
		set_str(&r->error, k->fail_why);
		k->fail_why[0] = '\0';
		r->exit_code = r->signal = 0;
		if (k->home) {
			set_hold(t, now, k, HOLD_NONE, o);
			record_result(t, now, k, r, NULL, NULL, o);
		} else {
			set_hold(t, now, k, HOLD_ENDED, o);
			save(o, k, 1);
			notice(t, now, k, o);
		}
		schedule(t, now, o);
		return;
	}
	if (x->error != NULL && !x->stopped && k->hold == HOLD_RUNNING) {
		free(x->out_inline.data);
		free(x->err_inline.data);
		x->out_inline.data = x->err_inline.data = NULL;
		if (k->ck_asked)
			ck_fail(k, "it could not start", o);
		start_failed_here(t, now, k, x->error, o);
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
				out_push(o, TA_CKCOPY, r->id)->seq =
				    r->checkpoints;
			freeze_move(t, now, k, to, inc, req, ck_ms > 0 ? ck_ms :
			    1, o);
			schedule(t, now, o);
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
		    yield_to(t, now, r->served_ms) != NULL;
		/* ... but when it is time for a periodic one, it is (a task
		 * that yields more often than its period is never asked). */
		if (!yielding || k->home || (r->spec->checkpoint_every_s > 0 &&
		    now >= k->ckp_copied + (uint64_t)r->spec->
		    checkpoint_every_s * 1000)) {
			out_push(o, TA_CKCOPY, r->id)->seq = r->checkpoints;
			k->ckp_copied = now;
		}
		r->pgid = 0;
		k->lease_ck = k->lease_frozen = 0;
		if (yielding) {
			/* It yields its slot: it waits behind the tasks that
			 * have run less, and goes on from its checkpoint. */
			r->state = LB__TASK_STATE__TASK_QUEUED;
			note(o, r->id, "task %s checkpointed after %llu ms of "
			    "run; it waits behind %s (preemption)", r->id,
			    (unsigned long long)r->served_ms,
			    yield_to(t, now, r->served_ms)->rec->id);
			t->stats.yields++;
			set_hold(t, now, k, HOLD_QUEUED, o);
			save(o, k, 0);
			schedule(t, now, o);
			return;
		}
		k->yield = 0;
		if (!lease_ok(t, k, now)) {
			r->state = LB__TASK_STATE__TASK_QUEUED;
			note(o, r->id, "task %s checkpointed; it waits for its "
			    "home to confirm it before it runs again", r->id);
			set_hold(t, now, k, HOLD_QUEUED, o);
			lease_soon(t, k, now, o);
			return;
		}
		a = out_push(o, TA_START, r->id);
		a->resume = 1;
		a->until = leased(t, k) ? k->lease_until : 0;
		return;
	}
	if (k->ck_asked)
		ck_fail(k, "it ended before it checkpointed", o);
	r->finished_ms = wall(t, now);
	if (x->error != NULL) {
		r->state = LB__TASK_STATE__TASK_FAILED;
		set_str(&r->error, x->error);
	} else
		r->state = LB__TASK_STATE__TASK_DONE;
	r->exit_code = x->exited ? x->code : 0;
	r->signal = x->exited ? 0 : x->signal;
	if (k->home) {
		set_hold(t, now, k, HOLD_NONE, o);
		record_result(t, now, k, r, NULL, NULL, o);
	} else {
		set_hold(t, now, k, HOLD_ENDED, o);
		save(o, k, 1);	/* the result survives a restart */
		notice(t, now, k, o);
	}
	schedule(t, now, o);
}

/* ---- peers dead or back ---- */

/* How long a home waits, from the last word of a host, before it runs the
 * task again elsewhere: the lease, 1% more for clocks whose rates differ,
 * and the margin. */
static uint64_t
lease_wait(const struct tasks *t)
{
	uint64_t l = (uint64_t)t->conf.lease_ms;

	return l + l / 100 + (uint64_t)t->conf.lease_margin_ms;
}

/* The home runs a task again in a new placement of its own. */
static void
rerun(struct tasks *t, uint64_t now, struct tasks_task *k, const char *why,
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
		set_hold(t, now, k, HOLD_NONE, o);
	disarm(k);
	k->stop = 0;
	k->rerun_at = 0;
	k->announce = 0;
	r->epoch = alloc_epoch(r);
	set_str(&r->epoch_by, t->self);
	set_str(&r->host, t->self);
	lease_reset(t, now, k);
	r->host_inc = t->inc;
	r->reruns++;
	r->state = LB__TASK_STATE__TASK_QUEUED;
	r->pgid = 0;
	visit_add(r, t->self, wall(t, now));
	save(o, k, 1);
	note(o, r->id, "task %s: %s; running it again here (epoch %u.%s)",
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
	set_hold(t, now, k, HOLD_QUEUED, o);
	out_push(o, TA_REPLAY, r->id);
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
			uint64_t at = k->lease_heard + lease_wait(t);
			if (!restarted && t->conf.lease_ms > 0 &&
			    strcmp(peer, t->self) != 0 && now < at) {
				if (k->rerun_at == 0) {
					t->stats.lease_waits++;
					note(o, k->rec->id, "task %s: its host "
					    "%s is gone; it runs again in %"
					    PRIu64 " ms, when its lease has "
					    "run out, unless it answers",
					    k->rec->id, peer, at - now);
				}
				k->rerun_at = at;
				k->rerun_epoch = k->rec->epoch;
			} else
				rerun(t, now, k, "its host is gone", o);
		} else if (k->home && k->stop && strcmp(k->rec->host, peer) == 0 &&
		    (!restarted || k->rec->host_inc < inc)) {
			/* Its copy died with it (a restarted host asks before
			 * it runs anything again): nothing left to stop. */
			disarm(k);
			k->stop = 0;
		}
		/* A move to it that it never acknowledged: ask to abort now
		 * rather than at the timeout. */
		if (k->hold == HOLD_FROZEN && strcmp(k->move_to, peer) == 0 &&
		    !k->move_acked && !k->ask) {
			k->backoff = 0;
			ask_home(t, now, k, 0, o);
		}
	}
	schedule(t, now, o);
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
	inc_known(t, peer, inc);
	peer_gone(t, now, peer, 1, inc, o);
}

/* ---- time ---- */

void
tasks_tick(struct tasks *t, uint64_t now, struct tasks_out *o)
{
	size_t			  n = 0;
	struct tasks_task	**all;
	uint64_t		  keep = (uint64_t)t->conf.keep_finished_s * 1000;
	struct tasks_task	**gone = NULL;
	size_t			  ngone = 0;

	/* The tasks with something due, or to forget, first: what is done
	 * for one may add or remove others.  (No order is needed here.) */
	all = lb_calloc(t->n + 1, sizeof(*all));
	for (size_t b = 0; b < BUCKETS; b++)
		for (struct tasks_task *k = t->buckets[b]; k; k = k->hnext)
			if ((k->due != 0 && now >= k->due) || (k->ck_asked &&
			    (now >= k->ck_due || (!k->ck_signalled && now >=
			    k->proc_at + (uint64_t)t->conf.checkpoint_grace_ms)))
			    || (k->ckp_due != 0 &&
			    now >= k->ckp_due) || k->announce != 0 ||
			    (k->rerun_at != 0 &&
			    now >= k->rerun_at) || (k->quiet_at != 0 &&
			    now >= k->quiet_at) || (leased(t, k) &&
			    k->hold == HOLD_RUNNING && now + lease_lead(t) >=
			    k->lease_until) || (k->home &&
			    k->hold == HOLD_NONE && keep > 0 &&
			    !tasks_unfinished(k->rec) &&
			    wall(t, now) > k->rec->finished_ms + keep))
				all[n++] = k;
	for (size_t i = 0; i < n; i++) {
		struct tasks_task *k = all[i];

		if (k->home && k->hold == HOLD_NONE && !k->stop &&
		    !tasks_unfinished(k->rec) && keep > 0 &&
		    wall(t, now) > k->rec->finished_ms + keep) {
			gone = lb_reallocarray(gone, ngone + 1, sizeof(*gone));
			gone[ngone++] = k;
			continue;
		}
		if (k->rerun_at != 0 && now >= k->rerun_at) {
			k->rerun_at = 0;
			if (k->home && tasks_unfinished(k->rec) &&
			    k->rec->epoch == k->rerun_epoch &&
			    strcmp(k->rec->host, t->self) != 0)
				rerun(t, now, k, "its host is gone, and its "
				    "lease has run out", o);
		}
		if (k->quiet_at != 0 && now >= k->quiet_at) {
			k->quiet_at = 0;
			if (k->home && tasks_unfinished(k->rec) &&
			    k->rec->epoch == k->quiet_epoch &&
			    strcmp(k->rec->host, t->self) != 0) {
				t->stats.lease_quiet++;
				rerun(t, now, k, "its host has not been heard "
				    "of for longer than a lease (cut off from "
				    "here, or gone)", o);
			}
		}
		lease_check(t, now, k, o);
		if (k->announce != 0 && k->home && tasks_unfinished(k->rec) &&
		    now >= k->announce + (uint64_t)t->conf.lease_ms / 4) {
			home_announce(t, k, k->rec->home_term, o);
			k->announce = now;
		}
		if (k->ck_asked && !k->ck_signalled)
			ck_signal(t, now, k, o);
		if (k->ck_asked && now >= k->ck_due) {
			t->stats.checkpoint_timeouts++;
			note(o, k->rec->id, "task %s did not checkpoint within "
			    "%" PRIu64 " ms: it stays here and keeps running",
			    k->rec->id, now - (k->ck_signalled ?
			    k->ck_signalled : k->ck_asked));
			ck_fail(k, "it did not checkpoint in time; it keeps "
			    "running where it was", o);
		}
		if (k->ckp_due != 0 && now >= k->ckp_due) {
			/* Time for its periodic checkpoint (unless one is
			 * asked already, for a move); asked again a period
			 * later if it does not. */
			k->ckp_due = now + (uint64_t)k->rec->spec->
			    checkpoint_every_s * 1000;
			if (k->hold == HOLD_RUNNING && !k->ck_asked &&
			    !k->yield && now >= k->proc_at + (uint64_t)t->
			    conf.checkpoint_grace_ms) {
				t->stats.periodic++;
				out_push(o, TA_CHECKPOINT, k->rec->id);
			}
		}
		if (k->due == 0 || now < k->due)
			continue;
		if (k->hold == HOLD_FROZEN) {
			/* No acknowledgement in time, or no answer yet. */
			if (k->ask)
				t->stats.retries++;
			ask_home(t, now, k, k->ask ? k->ask_commit :
			    k->move_acked, o);
		} else if (k->hold == HOLD_PENDING) {
			if (k->ask)
				t->stats.retries++;
			ask_home(t, now, k, 1, o);
		} else if (k->home && k->stop) {
			t->stats.retries++;
			stop_current(t, now, k, k->stop_why, o);
		} else if (k->hold == HOLD_RETURNING) {
			t->stats.retries++;
			return_send(t, now, k, o);
		} else if (k->notice) {
			t->stats.retries++;
			notice_send(t, now, k, o);
		} else
			k->due = 0;
	}
	for (size_t i = 0; i < ngone; i++)
		forget(t, gone[i], o);
	free(gone);
	free(all);
	if (t->conf.lease_ms > 0 && (now >= t->lease_next || (t->lease_asap &&
	    now >= t->lease_sent + 100)))
		lease_round(t, now, o);
	/* Links expire. */
	if (t->conf.link_keep_s > 0)
		for (size_t i = 0; i < t->nlinks; i++)
			if (t->links[i].id[0] && now > t->links[i].at +
			    (uint64_t)t->conf.link_keep_s * 1000)
				t->links[i].id[0] = '\0';
	schedule(t, now, o);
	preempt_round(t, now, o);
}
