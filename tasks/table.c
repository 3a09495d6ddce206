/*
 * table.c - the task core's table: tasks by id and by request id, what
 * each holds here (kept in the ready queue and the counts), retries of its
 * messages, links to where tasks went, and queries of it all.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tasks/tasks_int.h"

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
void
tk_request_index(struct tasks *t, struct tasks_task *k)
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

void
tk_request_unindex(struct tasks *t, struct tasks_task *k)
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

struct tasks_task *
tk_task_add(struct tasks *t, Lb__TaskRecord *rec)
{
	struct tasks_task	*k = lb_calloc(1, sizeof(*k));
	uint32_t		 b = hash_id(rec->id) % BUCKETS;

	k->rec = rec;
	k->home = rec->home_peer != NULL && rec->home_peer[0] != '\0' ?
	    strcmp(rec->home_peer, t->self) == 0 : tk_is_home_of(t, rec->id);
	k->hnext = t->buckets[b];
	t->buckets[b] = k;
	tk_request_index(t, k);
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
void
tk_mig_tell(struct tasks_task *k, int ok, const char *host, const char *why,
    struct tasks_out *o)
{
	struct tasks_action	*a;
	const Lb__TaskRecord	*r = k->rec;

	if (k->mig_origin[0] == '\0')
		return;
	a = tk_out_push(o, TA_MIGRATED, r->id);
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
void
tk_ck_fail(struct tasks_task *k, const char *why, struct tasks_out *o)
{
	k->ck_asked = k->ck_due = 0;
	k->ck_to[0] = '\0';
	k->ck_epoch = 0;	/* unused: a gap in the counters, no harm */
	tk_mig_tell(k, 0, "", why, o);
}

void
tk_set_hold(struct tasks *t, uint64_t now, struct tasks_task *k,
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
		tk_ck_fail(k, "it stopped before it checkpointed", o);
	if (h != HOLD_RUNNING)
		k->ckp_due = 0;
	tk_out_push(o, TA_LOAD, NULL);
}

void
tk_task_remove(struct tasks *t, struct tasks_task *k)
{
	struct tasks_task	**pp = &t->buckets[hash_id(k->rec->id) % BUCKETS];

	if (k->hold == HOLD_QUEUED)
		dequeue(t, k);
	if (k->hold == HOLD_RUNNING || k->hold == HOLD_STOPPING)
		t->nrunning--;
	tk_request_unindex(t, k);
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
void
tk_forget(struct tasks *t, struct tasks_task *k, struct tasks_out *o)
{
	tk_out_push(o, TA_FORGET, k->rec->id);
	tk_out_push(o, TA_LOAD, NULL);
	tk_task_remove(t, k);
}

/* The next retry of this task's message, with capped doubling. */
void
tk_arm(struct tasks *t, uint64_t now, struct tasks_task *k)
{
	if (k->backoff == 0)
		k->backoff = (uint32_t)t->conf.retry_min_ms;
	k->due = now + k->backoff;
	k->backoff = k->backoff * 2 > (uint32_t)t->conf.retry_max_ms ?
	    (uint32_t)t->conf.retry_max_ms : k->backoff * 2;
}

void
tk_disarm(struct tasks_task *k)
{
	k->due = 0;
	k->backoff = 0;
	k->notice = k->ask = 0;
}

void
tk_link_add(struct tasks *t, uint64_t now, const char *id, const char *peer,
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

/* ---- request ids of tasks let go to another ---- */

uint64_t
tasks_argv_hash(const Lb__TaskSpec *s)
{
	uint64_t	h = LB_HASH_INIT;

	for (size_t i = 0; i < s->n_argv; i++)	/* 0xff between words */
		h = lb_hash_byte(lb_hash_more(h, s->argv[i]), 0xff);
	return h;
}

const struct tasks_gone *
tasks_gone(const struct tasks *t, size_t i)
{
	return i < t->ngone ? &t->gone[(t->gone_first + i) % TASKS_GONE_MAX] :
	    NULL;
}

void
tasks_gone_add(struct tasks *t, const struct tasks_gone *g)
{
	if (!tasks_id_valid(g->id))
		return;
	if (tk_gone_find(t, g->rid) != NULL)
		return;
	if (t->gone == NULL)
		t->gone = lb_calloc(TASKS_GONE_MAX, sizeof(*t->gone));
	if (t->ngone == TASKS_GONE_MAX) {
		t->gone_first = (t->gone_first + 1) % TASKS_GONE_MAX;
		t->ngone--;
	}
	t->gone[(t->gone_first + t->ngone) % TASKS_GONE_MAX] = *g;
	t->ngone++;
}

const struct tasks_gone *
tk_gone_find(const struct tasks *t, const uint8_t *rid)
{
	for (size_t i = 0; i < t->ngone; i++) {
		const struct tasks_gone *g = &t->gone[(t->gone_first + i) %
		    TASKS_GONE_MAX];

		if (memcmp(g->rid, rid, TASKS_REQUEST_ID_LEN) == 0)
			return g;
	}
	return NULL;
}

int
tasks_request_seen(const struct tasks *t, const ProtobufCBinaryData *r)
{
	return tasks_find_request(t, r) != NULL || (r != NULL &&
	    r->len == TASKS_REQUEST_ID_LEN && tk_gone_find(t, r->data) !=
	    NULL);
}
