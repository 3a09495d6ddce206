/*
 * replicas.c - replicated homes in the shell (doc/replication.md): this
 * peer's records go to its replica set (tasks/replica.c decides what, to
 * whom, and when), and the records other homes put here are kept in
 * state_dir/replicas/journal, on disk before they are acknowledged.  While
 * a home is down, show and wait at any peer read its tasks' records here.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "src/log.h"
#include "src/util.h"
#include "gossip/gossip.h"
#include "tasks/replica.h"
#include "tasks/tasks.h"
#include "peer.h"
#include "journal.h"
#include "replicas.h"

#define REP_RETRY_MS	500	/* no ack this long: sent again */
#define REP_EXPIRE_MS	60000	/* ended records looked at this often */

struct replicas {
	struct rep	*rep;
	struct journal	*j;
	char		*dir;
	uint64_t	 expired_ms;
	int		 on;		/* task.home_replicas > 1 */
};

#define R(p)	((p)->reps)

static void
load_cb(Lb__TaskRecord *rec, void *arg)
{
	struct replicas	*r = arg;

	if (tasks_id_valid(rec->id))
		rep_load(r->rep, rec);
	else
		lb__task_record__free_unpacked(rec, NULL);
}

int
replicas_start(struct peer *p, char **cause)
{
	struct replicas	*r = lb_calloc(1, sizeof(*r));
	struct rep_conf	 c = { 0 };

	c.self = p->conf.id;
	c.stream = p->incarnation;
	c.replicas = p->conf.task.home_replicas;
	c.retry_ms = REP_RETRY_MS;
	/* What other homes may put here: as many as this peer keeps of its
	 * own, for each of the homes it may hold for. */
	c.max_records = (size_t)p->conf.task.max_tasks * 4;
	r->rep = rep_new(&c);
	r->on = p->conf.task.home_replicas > 1;
	R(p) = r;
	r->dir = lb_printf("%s/replicas", p->conf.state_dir);
	if (mkdir(r->dir, 0700) == -1 && errno != EEXIST) {
		*cause = lb_printf("cannot create %s: %s", r->dir,
		    strerror(errno));
		return -1;
	}
	if ((r->j = journal_open(r->dir, load_cb, r, NULL, cause)) == NULL)
		return -1;
	/* (the journal wants its id mark; no ids are issued from it) */
	if (journal_ids_reserve(r->j, 1, cause) == -1)
		return -1;
	if (rep_nheld(r->rep) > 0)
		log_info("replicas: %zu records of %zu other homes kept here",
		    rep_nheld(r->rep), rep_homes(r->rep));
	return 0;
}

void
replicas_stop(struct peer *p)
{
	struct replicas	*r = R(p);

	if (r == NULL)
		return;
	if (r->j != NULL)
		journal_close(r->j);
	rep_free(r->rep);
	free(r->dir);
	free(r);
	R(p) = NULL;
}

void
replicas_restored(struct peer *p, const Lb__TaskRecord *rec)
{
	if (R(p) != NULL)
		rep_restored(R(p)->rep, rec);
}

void
replicas_saving(struct peer *p, Lb__TaskRecord *rec)
{
	char	home[LB_ID_MAX];

	if (R(p) == NULL)
		return;
	tasks_home_of(rec->id, home);
	if (strcmp(home, p->conf.id) == 0)
		rep_stamp(R(p)->rep, rec);
}

struct compact_it {
	const Lb__TaskRecord *const *v;
	size_t	n, i;
};

static const Lb__TaskRecord *
compact_next(void *arg)
{
	struct compact_it *it = arg;

	return it->i < it->n ? it->v[it->i++] : NULL;
}

/* Carry out what the core asked: keep records (the last one synced: all
 * of them are on disk before any ack goes), let some go, send puts and
 * acks. */
static void
carry(struct peer *p, struct rep_out *o)
{
	struct replicas	*r = R(p);
	char		*cause = NULL;
	size_t		 last = o->n;

	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].kind == RA_KEEP || o->v[i].kind == RA_DROP)
			last = i;
	for (size_t i = 0; i < o->n; i++) {
		struct rep_action *a = &o->v[i];
		Lb__TaskRecord tomb = LB__TASK_RECORD__INIT;
		const Lb__TaskRecord *rec = a->rec;

		if (a->kind != RA_KEEP && a->kind != RA_DROP)
			continue;
		if (a->kind == RA_DROP) {
			tomb.id = a->id;
			tomb.forgotten = 1;
			rec = &tomb;
		}
		if (journal_append(r->j, rec, i == last && o->sync,
		    &cause) == -1) {
			/* Not on disk: no ack goes; the home sends again
			 * (what this peer holds in memory is ahead of its
			 * disk until then, and acknowledged only once a
			 * later put is kept). */
			log_warnx("replicas: cannot keep records: %s", cause);
			free(cause);
			return;
		}
	}
	for (size_t i = 0; i < o->n; i++) {
		struct rep_action *a = &o->v[i];
		const char *addr;

		if ((a->kind == RA_PUT || a->kind == RA_ACK) &&
		    (addr = members_addr(p, a->to, NULL)) != NULL)
			net_send_bytes(p, addr, a->msg, a->len);
	}
	/* More dead records than live: a fresh journal. */
	if (last < o->n && journal_records(r->j) > 2 *
	    (uint64_t)rep_nheld(r->rep) + 1000) {
		struct compact_it it = { NULL, 0, 0 };

		it.v = rep_all_held(r->rep, &it.n);
		if (journal_compact(r->j, compact_next, &it, &cause) == -1) {
			log_warnx("replicas: compaction failed: %s", cause);
			free(cause);
		}
	}
}

void
replicas_tick(struct peer *p, uint64_t now)
{
	struct replicas		 *r = R(p);
	struct rep_out		  o = { 0 };
	const struct gossip_member *m;
	struct tasks_task	**all;
	const Lb__TaskRecord	**recs;
	const char		**ids;
	size_t			  n, k = 0;

	if (r == NULL)
		return;
	if (now - r->expired_ms >= REP_EXPIRE_MS) {
		r->expired_ms = now;
		rep_expire(r->rep, lb_wall_ms(),
		    (uint64_t)p->conf.task.keep_finished_s * 1000, &o);
	}
	if (r->on) {
		m = gossip_members(p->gossip, &n);
		ids = lb_calloc(n + 1, sizeof(*ids));
		for (size_t i = 0; i < n; i++)
			if (m[i].state == GOSSIP_ALIVE)
				ids[k++] = m[i].e.id;
		rep_members(r->rep, now, ids, k);
		free(ids);
		all = tasks_all(p->tc, &n);
		recs = lb_calloc(n + 1, sizeof(*recs));
		k = 0;
		for (size_t i = 0; i < n; i++)
			if (all[i]->home && all[i]->rec->version > 0)
				recs[k++] = all[i]->rec;
		rep_tick(r->rep, now, recs, k, &o);
		free(recs);
	}
	carry(p, &o);
	rep_out_free(&o);
}

void
replicas_recv(struct peer *p, const char *from, const Lb__PeerMsg *m)
{
	struct replicas	*r = R(p);
	struct rep_out	 o = { 0 };

	if (r == NULL)
		return;
	if (m->body_case == LB__PEER_MSG__BODY_REPLICA_PUT)
		rep_put_in(r->rep, from, m->replica_put, &o);
	else if (m->body_case == LB__PEER_MSG__BODY_REPLICA_ACK)
		rep_ack_in(r->rep, lb_mono_ms(), from, m->replica_ack);
	carry(p, &o);
	rep_out_free(&o);
}

const Lb__TaskRecord *
replicas_held(struct peer *p, const char *id)
{
	return R(p) != NULL ? rep_held(R(p)->rep, id) : NULL;
}

size_t
replicas_of(struct peer *p, const char *home, const char **best, size_t max)
{
	const struct gossip_member *m;
	const char	**ids;
	size_t		  n, k = 0;

	m = gossip_members(p->gossip, &n);
	ids = lb_calloc(n + 1, sizeof(*ids));
	for (size_t i = 0; i < n; i++)
		if (m[i].state == GOSSIP_ALIVE)
			ids[k++] = m[i].e.id;
	/* (the names point into the member table, which outlives this) */
	k = rep_rank(home, ids, k, best, max);
	free(ids);
	return k;
}

void
replicas_stats(struct peer *p, struct replicas_view *v)
{
	struct replicas		*r = R(p);
	const struct rep_peer	*s;

	memset(v, 0, sizeof(*v));
	if (r == NULL)
		return;
	s = rep_set(r->rep, &v->nset);
	for (size_t i = 0; i < v->nset; i++)
		v->set[i] = s[i];
	v->version = rep_version(r->rep);
	v->committed = rep_committed(r->rep);
	rep_all_held(r->rep, &v->held);
	v->homes = rep_homes(r->rep);
	v->stats = *rep_stats(r->rep);
}
