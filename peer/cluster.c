/*
 * cluster.c - the cluster's tasks from this peer (lbctl list --cluster,
 * the page): every live peer is asked (ClusterQuery) for a page of the
 * tasks it acts as the home of, in the order all peers share (tasks/list.c);
 * the pages are merged here and the first `limit` kept.  No peer keeps
 * another's tasks: a listing costs each peer one page.  A listing under
 * way is kept (the page and lbctl ask again until it is there); each
 * listing asked once it is there is a new one.  This peer answers the
 * queries of others.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "src/log.h"
#include "src/util.h"
#include "gossip/gossip.h"
#include "tasks/tasks.h"
#include "cluster.h"
#include "peer.h"

#define CLUSTER_WAIT_MS	1000	/* peers have this long to answer */
#define CLUSTER_JOIN_MS	2000	/* a listing under way is joined this long
				 * (its client asks again every 100 ms) */
#define CLUSTER_LISTS	16	/* listings under way or kept */
#define CLUSTER_TEXT_MAX 256	/* the text a listing looks for */

/* A peer asked, and whether it answered. */
struct cpeer {
	char			 id[LB_ID_MAX];
	int			 answered;
};

/* One listing: its words, the peers asked, their answers. */
struct clist {
	char		 key[LB_ID_MAX * 3 + CLUSTER_TEXT_MAX + 64];
	uint64_t	 req_id;
	uint64_t	 asked_ms;
	uint64_t	 done_ms;	/* merged (0: under way) */
	struct cpeer	*peers;
	size_t		 npeers;
	char		(*missing)[LB_ID_MAX];	/* not asked: older builds */
	size_t		 nmissing;
	/* The answers so far, merged: the first `limit` records in order
	 * (copies), whether more match, and the sums. */
	uint32_t	 limit;
	Lb__TaskRecord	**best;
	size_t		 nbest;
	int		 more;
	Lb__ClusterAnswer sums;
	Lb__CtlStats	 stats;		/* the figures, summed */
	uint32_t	 nstats;	/* over this many peers */
};
/* (a listing whose answers are all in is done at once: the ask that
 * finds it so gets it) */

struct cluster {
	struct clist	 l[CLUSTER_LISTS];
	uint64_t	 next_req;
	uint64_t	 drops;
};

void
cluster_start(struct peer *p)
{
	p->cluster = lb_calloc(1, sizeof(*p->cluster));
}

/* Add the counters of `b` to `a`: every uint64 field but means, p95s and
 * maxima (their sum means nothing). */
static void
stats_add(Lb__CtlStats *a, const Lb__CtlStats *b)
{
	const ProtobufCMessageDescriptor *d = &lb__ctl_stats__descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (f->type != PROTOBUF_C_TYPE_UINT64 ||
		    f->label == PROTOBUF_C_LABEL_REPEATED ||
		    strstr(f->name, "_mean") != NULL ||
		    strstr(f->name, "_p95") != NULL ||
		    strstr(f->name, "_max") != NULL)
			continue;
		*(uint64_t *)(void *)((char *)a + f->offset) +=
		    *(const uint64_t *)(const void *)((const char *)b +
		    f->offset);
	}
}

static void
clist_clear(struct clist *c)
{
	for (size_t i = 0; i < c->nbest; i++)
		lb__task_record__free_unpacked(c->best[i], NULL);
	free(c->best);
	free(c->peers);
	free(c->missing);
	memset(c, 0, sizeof(*c));
}

void
cluster_stop(struct peer *p)
{
	if (p->cluster == NULL)
		return;
	for (size_t i = 0; i < CLUSTER_LISTS; i++)
		clist_clear(&p->cluster->l[i]);
	free(p->cluster);
	p->cluster = NULL;
}

/* A copy of record `r` for a listing: no output, environment or files
 * (the struct only: its strings stay the core's). */
static void
light(const Lb__TaskRecord *r, Lb__TaskRecord *c, Lb__TaskSpec *s)
{
	*c = *r;
	c->stdout_inline.len = c->stderr_inline.len = 0;
	c->stdout_inline.data = c->stderr_inline.data = NULL;
	if (r->spec != NULL) {
		*s = *r->spec;
		s->n_env = 0;
		s->env = NULL;
		s->n_files = 0;
		s->files = NULL;
		c->spec = s;
	}
}

/* The page of this peer's own tasks for a listing: the answer it would
 * send.  Its records point into the core (and into `recs`, `specs`,
 * `ptrs`, freed by the caller). */
static void
own_page(struct peer *p, const struct tasks_filter *f, uint32_t limit,
    Lb__ClusterAnswer *a, Lb__TaskRecord **recs, Lb__TaskSpec **specs,
    Lb__TaskRecord ***ptrs)
{
	const Lb__TaskRecord	**sel = lb_calloc(limit + 1, sizeof(*sel));
	uint64_t		  counts[TASKS_NSTATES], matching;
	size_t			  n, bytes = 0, k;
	/* (an answer fits a message: half the largest a peer takes, for
	 * the records; the rest of the page on the next) */
	size_t			  budget = net_max_message(&p->conf) / 2;

	/* (one more than the page: whether more match after it) */
	n = tasks_select(p->tc, f, sel, (size_t)limit + 1, &matching, counts);
	a->more = n > limit;
	if (n > limit)
		n = limit;
	*recs = lb_calloc(n + 1, sizeof(**recs));
	*specs = lb_calloc(n + 1, sizeof(**specs));
	*ptrs = lb_calloc(n + 1, sizeof(**ptrs));
	for (k = 0; k < n; k++) {
		light(sel[k], &(*recs)[k], &(*specs)[k]);
		bytes += lb__task_record__get_packed_size(&(*recs)[k]) + 8;
		if (k > 0 && bytes > budget) {
			a->more = 1;
			break;
		}
		(*ptrs)[k] = &(*recs)[k];
	}
	free(sel);
	a->tasks = *ptrs;
	a->n_tasks = k;
	a->matching = matching;
	a->queued = counts[LB__TASK_STATE__TASK_QUEUED];
	a->running = counts[LB__TASK_STATE__TASK_RUNNING];
	a->done = counts[LB__TASK_STATE__TASK_DONE];
	a->failed = counts[LB__TASK_STATE__TASK_FAILED];
	a->cancelled = counts[LB__TASK_STATE__TASK_CANCELLED];
}

/* Whether a query's words are sound: a page of 1..CLUSTER_LIMIT_MAX, ids
 * that are ids, a text of bounded length. */
static const char *
query_bad(uint32_t states, const char *host, const char *home,
    const char *text, const char *after, uint32_t limit)
{
	if (limit == 0 || limit > CLUSTER_LIMIT_MAX)
		return "a page is 1 to 500 tasks";
	if (states >= 1u << TASKS_NSTATES)
		return "no such state";
	if (host != NULL && host[0] != '\0' && !lb_id_valid(host))
		return "the host is not a peer id";
	if (home != NULL && home[0] != '\0' && !lb_id_valid(home))
		return "the home is not a peer id";
	if (text != NULL && strlen(text) > CLUSTER_TEXT_MAX)
		return "the text is longer than 256 bytes";
	if (after != NULL && after[0] != '\0' && !tasks_id_valid(after))
		return "after: not a task id (NODE.NUMBER)";
	return NULL;
}

void
cluster_query_in(struct peer *p, const char *from, const Lb__ClusterQuery *q)
{
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__ClusterAnswer	 a = LB__CLUSTER_ANSWER__INIT;
	struct tasks_filter	 f;
	Lb__TaskRecord		*recs, **ptrs;
	Lb__TaskSpec		*specs;
	Lb__CtlStats		 st = LB__CTL_STATS__INIT;
	const char		*addr;

	if (query_bad(q->states, q->host, NULL, q->text, q->after,
	    q->limit) != NULL || (addr = members_addr(p, from, NULL)) == NULL) {
		p->cluster->drops++;
		return;
	}
	f.states = q->states;
	f.host = q->host;
	f.text = q->text;
	f.after = q->after;
	own_page(p, &f, q->limit, &a, &recs, &specs, &ptrs);
	if (p->stats_fill != NULL) {
		p->stats_fill(p, &st);
		a.stats = &st;
	}
	a.req_id = q->req_id;
	m.body_case = LB__PEER_MSG__BODY_CLUSTER_ANSWER;
	m.cluster_answer = &a;
	net_send(p, addr, &m);
	free(recs);
	free(specs);
	free(ptrs);
}

static int
cmp_ptr(const void *a, const void *b)
{
	const Lb__TaskRecord *x = *(Lb__TaskRecord *const *)a;
	const Lb__TaskRecord *y = *(Lb__TaskRecord *const *)b;

	return tasks_id_cmp(x->id, y->id);
}

/* Merge a page (answer `a`, or this peer's own) into listing `l`: the
 * first `limit` records of all so far are kept, no more. */
static void
absorb(struct clist *l, const Lb__ClusterAnswer *a)
{
	size_t	n = l->nbest + a->n_tasks;

	l->best = lb_reallocarray(l->best, n + 1, sizeof(*l->best));
	for (size_t k = 0; k < a->n_tasks; k++)
		l->best[l->nbest++] = tasks_rec_clone(a->tasks[k]);
	qsort(l->best, l->nbest, sizeof(*l->best), cmp_ptr);
	/* (a task two peers both say they are the home of, during a
	 * takeover: listed once) */
	for (size_t i = 1; i < l->nbest; i++)
		if (strcmp(l->best[i]->id, l->best[i - 1]->id) == 0) {
			lb__task_record__free_unpacked(l->best[i], NULL);
			memmove(&l->best[i], &l->best[i + 1], (l->nbest - i - 1) *
			    sizeof(*l->best));
			l->nbest--;
			i--;
		}
	while (l->nbest > l->limit) {
		lb__task_record__free_unpacked(l->best[--l->nbest], NULL);
		l->more = 1;
	}
	l->more |= a->more;
	l->sums.matching += a->matching;
	l->sums.queued += a->queued;
	l->sums.running += a->running;
	l->sums.done += a->done;
	l->sums.failed += a->failed;
	l->sums.cancelled += a->cancelled;
	if (a->stats != NULL) {
		stats_add(&l->stats, a->stats);
		l->nstats++;
	}
}

void
cluster_answer_in(struct peer *p, const char *from,
    const Lb__ClusterAnswer *a)
{
	struct cluster	*c = p->cluster;

	for (size_t i = 0; i < CLUSTER_LISTS; i++) {
		struct clist *l = &c->l[i];

		if (l->req_id != a->req_id || l->done_ms != 0)
			continue;
		for (size_t j = 0; j < l->npeers; j++) {
			if (strcmp(l->peers[j].id, from) != 0 ||
			    l->peers[j].answered)
				continue;
			/* (its records are shown, not used: ids checked, a
			 * page at most) */
			if (a->n_tasks > l->limit) {
				c->drops++;
				return;
			}
			for (size_t k = 0; k < a->n_tasks; k++)
				if (a->tasks[k] == NULL || !tasks_id_valid(
				    a->tasks[k]->id)) {
					c->drops++;
					return;
				}
			l->peers[j].answered = 1;
			absorb(l, a);
			return;
		}
	}
	c->drops++;
}


/* The listing's page: its answers merged, and this peer's own page. */
static void
merge(struct peer *p, struct clist *l, const Lb__CtlListReq *q,
    const struct tasks_filter *f, Lb__CtlTaskList *out)
{
	Lb__ClusterAnswer	 own = LB__CLUSTER_ANSWER__INIT;
	Lb__TaskRecord		*recs, **ptrs;
	Lb__TaskSpec		*specs;
	Lb__CtlStats		 st = LB__CTL_STATS__INIT;

	if (q->home == NULL || q->home[0] == '\0' || strcmp(q->home,
	    p->conf.id) == 0) {
		own_page(p, f, l->limit, &own, &recs, &specs, &ptrs);
		if (p->stats_fill != NULL) {
			p->stats_fill(p, &st);
			own.stats = &st;
			l->stats.policy = st.policy;	/* (this peer's) */
		}
		absorb(l, &own);
		free(recs);
		free(specs);
		free(ptrs);
	}
	/* (the records stay the listing's until it is let go: at a later
	 * listing, after this reply went) */
	out->tasks = lb_calloc(l->nbest + 1, sizeof(*out->tasks));
	for (size_t i = 0; i < l->nbest; i++)
		out->tasks[out->n_tasks++] = l->best[i];
	out->next = l->more && l->nbest > 0 ? l->best[l->nbest - 1]->id :
	    (char *)"";
	out->total = l->sums.matching;
	out->queued = l->sums.queued;
	out->running = l->sums.running;
	out->done = l->sums.done;
	out->failed = l->sums.failed;
	out->cancelled = l->sums.cancelled;
	out->sums = &l->stats;
	out->peers_summed = l->nstats;
	out->missing = lb_calloc(l->npeers + l->nmissing + 1,
	    sizeof(*out->missing));
	for (size_t i = 0; i < l->npeers; i++)
		if (!l->peers[i].answered)
			out->missing[out->n_missing++] = l->peers[i].id;
	for (size_t i = 0; i < l->nmissing; i++)
		out->missing[out->n_missing++] = l->missing[i];
}

int
cluster_list(struct peer *p, const Lb__CtlListReq *q, Lb__CtlTaskList *out,
    char **cause)
{
	struct cluster		*c = p->cluster;
	struct clist		*l = NULL, *old = NULL;
	int			 old_idle = 0;
	struct tasks_filter	 f;
	uint32_t		 limit = q->limit ? q->limit :
				    CLUSTER_LIMIT_DEFAULT;
	uint32_t		 states = q->states;
	const char		*why;
	char			 key[sizeof(l->key)];
	uint64_t		 now = lb_mono_ms();

	if (states == 0 && !q->all)
		states = 1 << LB__TASK_STATE__TASK_QUEUED |
		    1 << LB__TASK_STATE__TASK_RUNNING;
	if ((why = query_bad(states, q->host, q->home, q->text, q->after,
	    limit)) != NULL) {
		*cause = lb_printf("list --cluster: %s", why);
		return -1;
	}
	f.states = states;
	f.host = q->host;
	f.text = q->text;
	f.after = q->after;
	snprintf(key, sizeof(key), "%u %u %s %s %s %s", states, limit,
	    q->host ? q->host : "", q->home ? q->home : "",
	    q->after ? q->after : "", q->text ? q->text : "");
	for (size_t i = 0; i < CLUSTER_LISTS; i++) {
		struct clist *e = &c->l[i];
		int idle = e->done_ms != 0 || now >= e->asked_ms +
		    CLUSTER_JOIN_MS;

		/* (one under way, asked within the wait: joined; one left
		 * behind by a client that did not ask again is not served
		 * later as news) */
		if (e->req_id != 0 && strcmp(e->key, key) == 0 && !idle) {
			l = e;
			break;
		}
		/* (let go first: an empty slot, then one done or stale, the
		 * oldest; one under way for another client last) */
		if (old == NULL || (idle && !old_idle) || (idle == old_idle &&
		    e->asked_ms < old->asked_ms)) {
			old = e;
			old_idle = idle;
		}
	}
	if (l == NULL) {
		/* A new listing: every live peer at level 4 is asked (only
		 * the home named, with one). */
		const struct gossip_member	*m;
		size_t				 n;
		Lb__PeerMsg			 pm = LB__PEER_MSG__INIT;
		Lb__ClusterQuery		 cq = LB__CLUSTER_QUERY__INIT;

		l = old;
		clist_clear(l);
		lb_strlcpy(l->key, key, sizeof(l->key));
		l->limit = limit;
		lb__ctl_stats__init(&l->stats);
		l->stats.policy = (char *)"";
		l->req_id = ++c->next_req;
		l->asked_ms = now;
		m = gossip_members(p->gossip, &n);
		l->peers = lb_calloc(n + 1, sizeof(*l->peers));
		l->missing = lb_calloc(n + 2, sizeof(*l->missing));
		/* (a home named that is not alive here: missing, as it is) */
		if (q->home != NULL && q->home[0] != '\0' &&
		    strcmp(q->home, p->conf.id) != 0 &&
		    members_addr(p, q->home, NULL) == NULL)
			lb_strlcpy(l->missing[l->nmissing++], q->home,
			    LB_ID_MAX);
		cq.req_id = l->req_id;
		cq.states = states;
		cq.host = q->host;
		cq.text = q->text;
		cq.after = q->after;
		cq.limit = limit;
		pm.body_case = LB__PEER_MSG__BODY_CLUSTER_QUERY;
		pm.cluster_query = &cq;
		for (size_t i = 0; i < n; i++) {
			if ((m[i].state != GOSSIP_ALIVE &&
			    m[i].state != GOSSIP_SUSPECT) ||
			    strcmp(m[i].e.id, p->conf.id) == 0 ||
			    (q->home != NULL && q->home[0] != '\0' &&
			    strcmp(q->home, m[i].e.id) != 0))
				continue;
			if (m[i].e.level < LB_LEVEL_CLUSTER_LIST) {
				lb_strlcpy(l->missing[l->nmissing++],
				    m[i].e.id, LB_ID_MAX);
				continue;
			}
			lb_strlcpy(l->peers[l->npeers++].id, m[i].e.id,
			    LB_ID_MAX);
			net_send(p, m[i].e.addr, &pm);
		}
	}
	if (l->done_ms == 0) {
		size_t got = 0;

		for (size_t i = 0; i < l->npeers; i++)
			got += l->peers[i].answered;
		if (got < l->npeers && now < l->asked_ms + CLUSTER_WAIT_MS)
			return 1;
		l->done_ms = now;
	}
	merge(p, l, q, &f, out);
	return 0;
}
