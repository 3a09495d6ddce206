/*
 * repfiles.c - a task's attachments on its home's replicas, so that the
 * replica that takes over runs the task with them (doc/replication.md,
 * "Attachments"): the home's side here, the replica's in repheld.c.
 *
 * Home: a task homed here with attachments is offered to each member of
 * this home's replica set (ReplicaFiles: an xfer offer of its attachments
 * only), again every RF_RETRY_MS until each member has said it holds them
 * (ReplicaFilesAck); the answer to its submit waits until a majority of
 * the set, this home included, does (repfiles_after).
 *
 * The output files of a task that ended (output larger than a record
 * holds) go the same way; the home's acknowledgement of the result to its
 * host waits for a majority (the host keeps the output until then).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/log.h"
#include "src/util.h"
#include "gossip/gossip.h"
#include "tasks/replica.h"
#include "tasks/tasks.h"
#include "peer.h"
#include "replicas.h"
#include "repfiles.h"
#include "repfiles_int.h"
#include "store.h"
#include "xfer.h"

int
repfiles_start(struct peer *p, char **cause)
{
	struct repfiles	*r = lb_calloc(1, sizeof(*r));
	char		*up = lb_printf("%s/replicas", p->conf.state_dir);

	r->dir = lb_printf("%s/files", up);
	if ((mkdir(up, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(r->dir, 0700) == -1 && errno != EEXIST)) {
		*cause = lb_printf("%s: %s", r->dir, strerror(errno));
		free(up);
		free(r->dir);
		free(r);
		return -1;
	}
	free(up);
	p->repfiles = r;
	return 0;
}

static void
rf_release(struct peer *p, struct rf *f, int ok)
{
	size_t	n = f->nw;

	f->nw = 0;
	for (size_t i = 0; i < n; i++)
		f->w[i].fn(p, f->w[i].arg, ok);
}

static void
rf_drop(struct peer *p, size_t i, int ok)
{
	struct repfiles	*r = RF(p);
	struct rf	*f = r->rf[i];

	r->rf[i] = NULL;
	rf_release(p, f, ok);
	for (size_t j = 0; j < f->nto; j++) {
		free(f->msg[j]);
		if (p->xfer != NULL)
			xfer_unoffer(p, f->to[j], f->id, f->out);
	}
	free(f);
	r->nrf--;
}

void
repfiles_stop(struct peer *p)
{
	struct repfiles	*r = RF(p);

	if (r == NULL)
		return;
	for (size_t i = 0; i < RF_MAX; i++)
		if (r->rf[i] != NULL)
			rf_drop(p, i, 0);
	free(r->dir);
	free(r);
	p->repfiles = NULL;
}

static struct rf *
rf_find(struct repfiles *r, const char *id, int out, size_t *slot)
{
	for (size_t i = 0; i < RF_MAX; i++)
		if (r->rf[i] != NULL && r->rf[i]->out == out &&
		    strcmp(r->rf[i]->id, id) == 0) {
			if (slot != NULL)
				*slot = i;
			return r->rf[i];
		}
	return NULL;
}

static size_t
rf_acked(const struct rf *f)
{
	size_t	n = 0;

	for (size_t i = 0; i < f->nto; i++)
		n += f->acked[i] != 0;
	return n;
}

/* Offer the attachments of f's task to member i of the set. */
static void
rf_offer_to(struct peer *p, struct rf *f, size_t i, uint64_t now)
{
	struct tasks_task	*k = tasks_find(p->tc, f->id);
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__ReplicaFiles	 rf = LB__REPLICA_FILES__INIT;
	Lb__Transfer		 tr = LB__TRANSFER__INIT;
	const char		*addr;
	char			*cause = NULL;

	f->next_ms[i] = now + RF_RETRY_MS;
	if (k == NULL || (addr = members_addr(p, f->to[i], NULL)) == NULL)
		return;
	/* The last offer is still there (maybe being pulled): the same
	 * again (a replica pulls it once, and answers once it holds it);
	 * a new one once it went idle. */
	if (f->msg[i] != NULL && xfer_offered(p, f->to[i], f->id, f->out)) {
		net_send_bytes(p, addr, f->msg[i], f->len[i]);
		return;
	}
	free(f->msg[i]);
	f->msg[i] = NULL;
	/* (a copy: an offer of output counts what is on disk in it) */
	tr.record = tasks_rec_clone(k->rec);
	if (xfer_offer(p, f->to[i], f->id, f->out ? XFER_REPLICA_OUT :
	    XFER_REPLICA, &tr, &cause) == -1) {
		/* (most often: the offers for replicas are all taken; the
		 * next try) */
		log_debug("task %s: its %s cannot be offered to replica %s "
		    "now: %s", f->id, f->out ? "output" : "attachments",
		    f->to[i], cause);
		free(cause);
		lb__task_record__free_unpacked(tr.record, NULL);
		return;
	}
	rf.transfer = &tr;
	rf.output = f->out;
	m.body_case = LB__PEER_MSG__BODY_REPLICA_FILES;
	m.replica_files = &rf;
	f->len[i] = lb__peer_msg__get_packed_size(&m);
	f->msg[i] = lb_calloc(1, f->len[i] + 1);
	lb__peer_msg__pack(&m, f->msg[i]);
	net_send_bytes(p, addr, f->msg[i], f->len[i]);
	RF(p)->st.offered++;
	for (size_t j = 0; j < tr.n_manifest; j++)
		lb__xfer_file__free_unpacked(tr.manifest[j], NULL);
	free(tr.manifest);
	lb__task_record__free_unpacked(tr.record, NULL);
}

/* This home's replica set now (the members but this one) that can hold
 * files (an older build cannot: its level says), into ids; the set's
 * size in all into *all. */
static size_t
set_now(struct peer *p, char ids[REP_SET_MAX][LB_ID_MAX], size_t *all)
{
	char	set[REP_SET_MAX][LB_ID_MAX];
	size_t	n = 0;

	memset(ids, 0, REP_SET_MAX * LB_ID_MAX);
	*all = replicas_set(p, set, REP_SET_MAX);
	for (size_t i = 0; i < *all; i++)
		if (members_level(p, set[i]) >= RF_LEVEL)
			lb_strlcpy(ids[n++], set[i], LB_ID_MAX);
	return n;
}

/* Members for a majority of a set of `all` (this home one of them);
 * none when those that can hold files are too few to make one (the
 * answer does not wait for what cannot come). */
static size_t
need_of(size_t n, size_t all)
{
	size_t	need = (all + 1) / 2;

	return n >= need ? need : 0;
}

/* Whether f's task still wants what it puts. */
static int
rf_wanted(const struct rf *f, const struct tasks_task *k)
{
	if (k == NULL || !k->home || k->rec->spec == NULL ||
	    (k->sh_files_held & (f->out ? 2 : 1)))
		return 0;
	if (f->out)
		return !tasks_unfinished(k->rec) && k->rec->output_in_files &&
		    k->rec->stdout_bytes + k->rec->stderr_bytes > 0;
	return tasks_unfinished(k->rec) && k->rec->spec->n_files > 0;
}

static void
rf_new(struct peer *p, const char *id, int out)
{
	struct repfiles		*r = RF(p);
	struct tasks_task	*k = tasks_find(p->tc, id);
	struct rf		*f;
	char			 set[REP_SET_MAX][LB_ID_MAX];
	size_t			 n, slot;
	uint64_t		 now = lb_mono_ms();
	struct rf		 probe = { .out = out };
	size_t			 all;

	if (r == NULL || !rf_wanted(&probe, k) ||
	    p->conf.task.home_replicas <= 1 ||
	    rf_find(r, id, out, NULL) != NULL)
		return;
	if ((n = set_now(p, set, &all)) == 0) {
		r->missed = 1;		/* (no set yet: once there is) */
		return;
	}
	for (slot = 0; slot < RF_MAX && r->rf[slot] != NULL; slot++)
		;
	if (slot == RF_MAX) {
		r->missed = 1;
		if (!r->full_said)
			log_warnx("task %s: %d tasks' files go to the replica "
			    "set already: its stay here alone", id, RF_MAX);
		r->full_said = 1;
		return;
	}
	r->full_said = 0;
	f = lb_calloc(1, sizeof(*f));
	lb_strlcpy(f->id, id, sizeof(f->id));
	f->out = out;
	memcpy(f->to, set, sizeof(set));
	f->nto = n;
	f->need = need_of(n, all);
	f->since = now;
	r->rf[slot] = f;
	r->nrf++;
	for (size_t i = 0; i < n; i++)
		rf_offer_to(p, f, i, now);
}

void
repfiles_offer(struct peer *p, const char *id)
{
	rf_new(p, id, 0);
}

void
repfiles_offer_output(struct peer *p, const char *id)
{
	rf_new(p, id, 1);
}

int
repfiles_after(struct peer *p, const char *id, int out,
    void (*fn)(struct peer *, void *, int), void *arg)
{
	struct repfiles	*r = RF(p);
	struct rf	*f;

	/* (as a home's decisions: a set of two, or no leases, waits not) */
	if (r != NULL && rf_find(r, id, out, NULL) == NULL)
		rf_new(p, id, out);	/* (asked again after a restart) */
	if (r == NULL || (f = rf_find(r, id, out, NULL)) == NULL ||
	    f->nto < 2 || p->conf.task.lease_ms == 0 ||
	    rf_acked(f) >= f->need)
		return 0;
	if (f->nw == RF_WAITERS)
		return -1;
	f->w[f->nw].fn = fn;
	f->w[f->nw].arg = arg;
	f->nw++;
	r->st.waited++;
	return 1;
}

/* Home: a member of the set holds them (or could not). */
static void
files_ack_in(struct peer *p, const char *from, const Lb__ReplicaFilesAck *a)
{
	struct repfiles	*r = RF(p);
	struct rf	*f;
	size_t		 slot;

	if (!tasks_id_valid(a->task_id) ||
	    (f = rf_find(r, a->task_id, a->output, &slot)) == NULL)
		return;
	for (size_t i = 0; i < f->nto; i++) {
		if (strcmp(f->to[i], from) != 0)
			continue;
		if (!a->ok) {
			log_info("task %s: replica %s cannot hold its %s: "
			    "%.200s", f->id, from, f->out ? "output" :
			    "attachments", a->error);
			return;		/* offered again later */
		}
		if (!f->acked[i])
			r->st.acked++;
		f->acked[i] = 1;
		xfer_unoffer(p, from, f->id, f->out);	/* (pulled) */
		if (rf_acked(f) >= f->need)
			rf_release(p, f, 1);
		if (rf_acked(f) == f->nto) {
			struct tasks_task *k = tasks_find(p->tc, f->id);

			if (k != NULL)	/* (not offered again) */
				k->sh_files_held |= f->out ? 2 : 1;
			rf_drop(p, slot, 1);
		}
		return;
	}
}

void
repfiles_recv(struct peer *p, const char *from, uint64_t inc,
    const Lb__PeerMsg *m)
{
	if (RF(p) == NULL)
		return;
	if (m->body_case == LB__PEER_MSG__BODY_REPLICA_FILES)
		rf_files_in(p, from, inc, m);
	else if (m->body_case == LB__PEER_MSG__BODY_REPLICA_FILES_ACK)
		files_ack_in(p, from, m->replica_files_ack);
}

void
repfiles_adopted(struct peer *p, const char *id)
{
	rf_new(p, id, 0);
}

/* Offer what the tasks homed here want on the set and may not have: at
 * start (after a restart), and when a task could not be offered. */
static void
scan(struct peer *p)
{
	size_t			 n, k = 0;
	struct tasks_task	**all = tasks_all(p->tc, &n);
	char			**ids = lb_calloc(n + 1, sizeof(*ids));
	int			*outs = lb_calloc(n + 1, sizeof(*outs));

	for (size_t i = 0; i < n; i++) {
		struct rf probe = { .out = 0 };

		if (rf_wanted(&probe, all[i]) ||
		    (probe.out = 1, rf_wanted(&probe, all[i]))) {
			outs[k] = probe.out;
			ids[k++] = lb_strdup(all[i]->rec->id);
		}
	}
	/* (tasks_all's array changes as offers are made: ids first) */
	for (size_t i = 0; i < k; i++) {
		rf_new(p, ids[i], outs[i]);
		free(ids[i]);
	}
	free(ids);
	free(outs);
}

/* The set changed: its members now, with what each said it holds. */
static void
rf_reset(struct peer *p, struct rf *f, char set[REP_SET_MAX][LB_ID_MAX],
    size_t nset, size_t nall)
{
	struct rf	old = *f;

	f->nto = 0;
	for (size_t i = 0; i < nset; i++) {
		size_t j;

		for (j = 0; j < old.nto; j++)
			if (strcmp(old.to[j], set[i]) == 0)
				break;
		lb_strlcpy(f->to[i], set[i], LB_ID_MAX);
		f->acked[i] = j < old.nto ? old.acked[j] : 0;
		f->next_ms[i] = j < old.nto ? old.next_ms[j] : 0;
		f->msg[i] = j < old.nto ? old.msg[j] : NULL;
		f->len[i] = j < old.nto ? old.len[j] : 0;
		if (j < old.nto)
			old.msg[j] = NULL;
		f->nto++;
	}
	for (size_t j = 0; j < old.nto; j++)
		if (old.msg[j] != NULL) {	/* no longer a member */
			free(old.msg[j]);
			xfer_unoffer(p, old.to[j], f->id, f->out);
		}
	f->need = need_of(f->nto, nall);
}

static int
same_set(const struct rf *f, char set[REP_SET_MAX][LB_ID_MAX], size_t nset)
{
	if (f->nto != nset)
		return 0;
	for (size_t i = 0; i < nset; i++)
		if (strcmp(f->to[i], set[i]) != 0)
			return 0;
	return 1;
}

void
repfiles_tick(struct peer *p, uint64_t now)
{
	struct repfiles	*r = RF(p);
	char		 set[REP_SET_MAX][LB_ID_MAX];
	size_t		 nset = 0, nall = 0;

	if (r == NULL)
		return;
	/* After a restart, what was not yet on every member goes again
	 * (a member that holds it answers at once), once the members are
	 * known; and what could not be offered, now and then. */
	if (!r->scanned && now - p->started_ms >= members_dead_ms(p)) {
		r->scanned = 1;
		r->missed = 0;
		scan(p);
	} else if (r->missed && r->scanned && now - r->pruned_ms >=
	    RF_PRUNE_MS && r->nrf < RF_MAX) {
		r->missed = 0;
		scan(p);
	}
	nset = set_now(p, set, &nall);
	if (nset != r->nlastset ||
	    memcmp(set, r->lastset, nset * sizeof(set[0])) != 0) {
		/* A new member has none of it: all goes again (a member
		 * that holds it answers at once). */
		size_t			 n;
		struct tasks_task	**all = tasks_all(p->tc, &n);

		for (size_t i = 0; i < n; i++)
			all[i]->sh_files_held = 0;
		memcpy(r->lastset, set, sizeof(set));
		r->nlastset = nset;
		if (r->scanned && nset > 0)
			r->missed = 1;
	}
	for (size_t s = 0; s < RF_MAX; s++) {
		struct rf		*f = r->rf[s];
		struct tasks_task	*k;

		if (f == NULL)
			continue;
		k = tasks_find(p->tc, f->id);
		if (!rf_wanted(f, k)) {
			/* Ended (what waits goes on: nothing more to
			 * keep), or no longer homed here (it asks again) */
			rf_drop(p, s, k != NULL && k->home);
			continue;
		}
		if (now - f->since > RF_GIVE_UP_MS) {
			log_warnx("task %s: its %s reached %zu of its %zu "
			    "replicas in %d min: no more offers", f->id,
			    f->out ? "output" : "attachments", rf_acked(f),
			    f->nto, RF_GIVE_UP_MS / 60000);
			rf_drop(p, s, 0);
			continue;
		}
		if (nset > 0 && !same_set(f, set, nset)) {
			rf_reset(p, f, set, nset, nall);
			if (rf_acked(f) >= f->need)
				rf_release(p, f, 1);
			if (rf_acked(f) == f->nto) {
				k->sh_files_held |= f->out ? 2 : 1;
				rf_drop(p, s, 1);
				continue;
			}
		}
		for (size_t i = 0; i < f->nto; i++)
			if (!f->acked[i] && now >= f->next_ms[i])
				rf_offer_to(p, f, i, now);
	}
	if (now - r->pruned_ms >= RF_PRUNE_MS) {
		r->pruned_ms = now;
		rf_prune(p);
	}
	if (now - r->lack_ms >= RF_LACK_MS) {
		r->lack_ms = now;
		rf_lacking(p);
	}
}

void
repfiles_stats(struct peer *p, struct repfiles_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (RF(p) == NULL)
		return;
	*s = RF(p)->st;
	s->pending = RF(p)->nrf;
	for (size_t i = 0; i < RF_MAX; i++)
		if (RF(p)->rf[i] != NULL)
			s->waiting += RF(p)->rf[i]->nw;
}
