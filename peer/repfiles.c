/*
 * repfiles.c - a task's attachments on its home's replicas, so that the
 * replica that takes over runs the task with them (doc/replication.md,
 * "Attachments").
 *
 * Home: a task homed here with attachments is offered to each member of
 * this home's replica set (ReplicaFiles: an xfer offer of its attachments
 * only), again every RF_RETRY_MS until each member has said it holds them
 * (ReplicaFilesAck); the answer to its submit waits until a majority of
 * the set, this home included, does (repfiles_after).
 *
 * Replica: pulls them (xfer.c) into a staging directory, renamed whole to
 * state_dir/replicas/files/ID: there, they are all there.  They go when
 * the task's record held here has ended, or RF_ORPHAN_S after they came
 * when no record did.  The replica that takes over moves them into the
 * task's directory (repfiles_adopt), and offers them to its own set.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "src/log.h"
#include "src/util.h"
#include "tasks/replica.h"
#include "tasks/tasks.h"
#include "peer.h"
#include "disk.h"
#include "replicas.h"
#include "repfiles.h"
#include "store.h"
#include "xfer.h"

#define RF_MAX		256	/* tasks whose attachments this home puts */
#define RF_WAITERS	4	/* answers waiting on one task */
#define RF_RETRY_MS	3000	/* offer again to a member that is silent */
#define RF_GIVE_UP_MS	(30 * 60 * 1000)	/* then stop offering */
#define RF_ORPHAN_S	600	/* a copy with no record here goes after */
#define RF_PRUNE_MS	10000

struct rf_waiter {
	void	(*fn)(struct peer *, void *, int);
	void	 *arg;
};

/* A task whose attachments this home puts to its set. */
struct rf {
	char		 id[TASKS_ID_MAX];
	char		 to[REP_SET_MAX][LB_ID_MAX];
	int		 acked[REP_SET_MAX];
	uint64_t	 next_ms[REP_SET_MAX];
	size_t		 nto;
	size_t		 need;		/* members for a majority */
	uint64_t	 since;
	struct rf_waiter w[RF_WAITERS];
	size_t		 nw;
};

struct repfiles {
	struct rf	*rf[RF_MAX];
	size_t		 nrf;
	char		*dir;		/* state_dir/replicas/files */
	uint64_t	 pruned_ms;
	int		 scanned;	/* tasks read back at start offered */
	int		 full_said;
	struct repfiles_stats st;
};

#define RF(p)	((p)->repfiles)

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
rf_find(struct repfiles *r, const char *id, size_t *slot)
{
	for (size_t i = 0; i < RF_MAX; i++)
		if (r->rf[i] != NULL && strcmp(r->rf[i]->id, id) == 0) {
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
	/* The last offer is still there (maybe being pulled): it is asked
	 * again only once it went idle. */
	if (xfer_offered(p, f->to[i], f->id))
		return;
	tr.record = k->rec;
	if (xfer_offer(p, f->to[i], f->id, XFER_REPLICA, &tr, &cause) == -1) {
		log_warnx("task %s: its attachments cannot be offered to "
		    "replica %s: %s", f->id, f->to[i], cause);
		free(cause);
		return;
	}
	rf.transfer = &tr;
	m.body_case = LB__PEER_MSG__BODY_REPLICA_FILES;
	m.replica_files = &rf;
	net_send(p, addr, &m);
	RF(p)->st.offered++;
	for (size_t j = 0; j < tr.n_manifest; j++)
		lb__xfer_file__free_unpacked(tr.manifest[j], NULL);
	free(tr.manifest);
}

/* This home's replica set now (the members but this one). */
static size_t
set_now(struct peer *p, char ids[REP_SET_MAX][LB_ID_MAX])
{
	struct replicas_view	v;
	size_t			n = 0;

	replicas_stats(p, &v);
	for (size_t i = 0; i < v.nset && n < REP_SET_MAX; i++)
		lb_strlcpy(ids[n++], v.set[i].id, LB_ID_MAX);
	return n;
}

void
repfiles_offer(struct peer *p, const char *id)
{
	struct repfiles		*r = RF(p);
	struct tasks_task	*k = tasks_find(p->tc, id);
	struct rf		*f;
	char			 set[REP_SET_MAX][LB_ID_MAX];
	size_t			 n, slot;
	uint64_t		 now = lb_mono_ms();

	if (r == NULL || k == NULL || !k->home || k->rec->spec == NULL ||
	    k->rec->spec->n_files == 0 || !tasks_unfinished(k->rec) ||
	    p->conf.task.home_replicas <= 1 || rf_find(r, id, NULL) != NULL)
		return;
	if ((n = set_now(p, set)) == 0)
		return;
	for (slot = 0; slot < RF_MAX && r->rf[slot] != NULL; slot++)
		;
	if (slot == RF_MAX) {
		if (!r->full_said)
			log_warnx("task %s: %d tasks' attachments go to the "
			    "replica set already: its stay here alone", id,
			    RF_MAX);
		r->full_said = 1;
		return;
	}
	r->full_said = 0;
	f = lb_calloc(1, sizeof(*f));
	lb_strlcpy(f->id, id, sizeof(f->id));
	memcpy(f->to, set, sizeof(set));
	f->nto = n;
	/* (a majority of the n + 1, this home one of them) */
	f->need = (n + 1) / 2;
	f->since = now;
	r->rf[slot] = f;
	r->nrf++;
	for (size_t i = 0; i < n; i++)
		rf_offer_to(p, f, i, now);
}

int
repfiles_after(struct peer *p, const char *id,
    void (*fn)(struct peer *, void *, int), void *arg)
{
	struct repfiles	*r = RF(p);
	struct rf	*f;

	/* (as a home's decisions: a set of two, or no leases, waits not) */
	if (r == NULL || (f = rf_find(r, id, NULL)) == NULL || f->nto < 2 ||
	    p->conf.task.lease_ms == 0 || rf_acked(f) >= f->need ||
	    f->nw == RF_WAITERS)
		return 0;
	f->w[f->nw].fn = fn;
	f->w[f->nw].arg = arg;
	f->nw++;
	r->st.waited++;
	return 1;
}

static char *
held_path(struct peer *p, const char *id)
{
	return lb_printf("%s/%s", RF(p)->dir, id);
}

static void
ack_send(struct peer *p, const char *to, const char *id, const char *error)
{
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__ReplicaFilesAck	 a = LB__REPLICA_FILES_ACK__INIT;
	const char		*addr = members_addr(p, to, NULL);

	if (addr == NULL)
		return;
	a.task_id = (char *)id;
	a.ok = error == NULL;
	a.error = (char *)(error != NULL ? error : "");
	m.body_case = LB__PEER_MSG__BODY_REPLICA_FILES_ACK;
	m.replica_files_ack = &a;
	net_send(p, addr, &m);
}

/* Replica: a home offers the attachments of one of its tasks. */
static void
files_in(struct peer *p, const char *from, uint64_t inc,
    const Lb__PeerMsg *m)
{
	const Lb__Transfer	*tr = m->replica_files->transfer;
	const Lb__TaskRecord	*rec;
	char			 home[LB_ID_MAX], *path, *cause = NULL;
	struct stat		 st;

	if (tr == NULL || (rec = tr->record) == NULL || rec->spec == NULL ||
	    !tasks_id_valid(rec->id) || tr->xfer_id == 0) {
		log_debug("replica files from %s: malformed", from);
		return;
	}
	/* From its home only (by its id, or the one acting for it). */
	tasks_home_of(rec->id, home);
	if (strcmp(home, from) != 0 && (rec->home_peer == NULL ||
	    strcmp(rec->home_peer, from) != 0)) {
		log_debug("task %s: attachments offered by %s, not its home",
		    rec->id, from);
		return;
	}
	path = held_path(p, rec->id);
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		free(path);
		ack_send(p, from, rec->id, NULL);	/* held already */
		return;
	}
	free(path);
	if (xfer_fetching(p, from, tr->xfer_id))
		return;
	if (disk_short(p) != NULL) {
		ack_send(p, from, rec->id, disk_short(p));
		return;
	}
	if (xfer_fetch(p, from, inc, m, &cause) == -1) {
		/* (one in progress: its end answers) */
		if (strstr(cause, "in progress") == NULL) {
			log_warnx("task %s: its attachments from %s refused: "
			    "%s", rec->id, from, cause);
			ack_send(p, from, rec->id, cause);
		}
		free(cause);
	}
}

void
repfiles_fetched(struct peer *p, const char *from, const Lb__PeerMsg *m,
    const char *staged, const char *error)
{
	const char	*id = m->replica_files->transfer->record->id;
	char		*att, *path;

	if (error != NULL) {
		RF(p)->st.failed++;
		log_warnx("task %s: its attachments from %s did not come: %s",
		    id, from, error);
		return;		/* (its home offers them again) */
	}
	att = lb_printf("%s/att", staged);
	path = held_path(p, id);
	store_rmtree(path);
	if (rename(att, path) == -1) {
		char *why = lb_printf("%s: %s", path, strerror(errno));

		RF(p)->st.failed++;
		log_warnx("task %s: its attachments: %s", id, why);
		ack_send(p, from, id, why);
		free(why);
	} else {
		RF(p)->st.fetched++;
		log_debug("task %s: its attachments held for %s", id, from);
		ack_send(p, from, id, NULL);
	}
	free(path);
	free(att);
}

/* Home: a member of the set holds them (or could not). */
static void
files_ack_in(struct peer *p, const char *from, const Lb__ReplicaFilesAck *a)
{
	struct repfiles	*r = RF(p);
	struct rf	*f;
	size_t		 slot;

	if (!tasks_id_valid(a->task_id) ||
	    (f = rf_find(r, a->task_id, &slot)) == NULL)
		return;
	for (size_t i = 0; i < f->nto; i++) {
		if (strcmp(f->to[i], from) != 0)
			continue;
		if (!a->ok) {
			log_info("task %s: replica %s cannot hold its "
			    "attachments: %.200s", f->id, from, a->error);
			return;		/* offered again later */
		}
		if (!f->acked[i])
			r->st.acked++;
		f->acked[i] = 1;
		if (rf_acked(f) >= f->need)
			rf_release(p, f, 1);
		if (rf_acked(f) == f->nto)
			rf_drop(p, slot, 1);
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
		files_in(p, from, inc, m);
	else if (m->body_case == LB__PEER_MSG__BODY_REPLICA_FILES_ACK)
		files_ack_in(p, from, m->replica_files_ack);
}

int
repfiles_adopt(struct peer *p, const char *id, const char *dir)
{
	char		*from;
	struct stat	 st;
	int		 rc = 0;

	if (RF(p) == NULL)
		return 0;
	from = held_path(p, id);
	if (lstat(from, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* An empty directory is made for it: theirs instead.  One
		 * with files (it ran here) keeps them. */
		if ((rmdir(dir) == 0 || errno == ENOENT) &&
		    rename(from, dir) == 0)
			RF(p)->st.adopted++;
		else
			store_rmtree(from);
		rc = 1;
	}
	free(from);
	return rc;
}

void
repfiles_missing(struct peer *p)
{
	if (RF(p) != NULL)
		RF(p)->st.missing++;
}

/* Replica: copies whose task ended, or that no record came for, go. */
static void
prune(struct peer *p)
{
	DIR		*d = opendir(RF(p)->dir);
	struct dirent	*e;
	size_t		 held = 0;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		const Lb__TaskRecord	*rec;
		struct stat		 st;
		char			*path;

		if (!tasks_id_valid(e->d_name))
			continue;
		path = held_path(p, e->d_name);
		rec = replicas_held(p, e->d_name);
		if ((rec != NULL && !tasks_unfinished(rec)) || (rec == NULL &&
		    lstat(path, &st) == 0 &&
		    time(NULL) - st.st_mtime > RF_ORPHAN_S)) {
			log_debug("task %s: its attachments here go (%s)",
			    e->d_name, rec != NULL ? "it ended" : "no record");
			store_rmtree(path);
		} else
			held++;
		free(path);
	}
	closedir(d);
	RF(p)->st.held = held;
}

void
repfiles_tick(struct peer *p, uint64_t now)
{
	struct repfiles	*r = RF(p);
	char		 set[REP_SET_MAX][LB_ID_MAX];
	size_t		 nset = 0;

	if (r == NULL)
		return;
	/* After a restart, what was not yet on every member goes again
	 * (a member that holds it answers at once), once the members are
	 * known. */
	if (!r->scanned && now - p->started_ms >=
	    (uint64_t)p->conf.gossip.dead_ms) {
		size_t			 n;
		struct tasks_task	**all = tasks_all(p->tc, &n);
		char			**ids = lb_calloc(n + 1, sizeof(*ids));
		size_t			 k = 0;

		r->scanned = 1;
		for (size_t i = 0; i < n; i++)
			if (all[i]->home && all[i]->rec->spec != NULL &&
			    all[i]->rec->spec->n_files > 0 &&
			    tasks_unfinished(all[i]->rec))
				ids[k++] = lb_strdup(all[i]->rec->id);
		for (size_t i = 0; i < k; i++) {
			repfiles_offer(p, ids[i]);
			free(ids[i]);
		}
		free(ids);
	}
	if (r->nrf > 0)
		nset = set_now(p, set);
	for (size_t s = 0; s < RF_MAX; s++) {
		struct rf		*f = r->rf[s];
		struct tasks_task	*k;

		if (f == NULL)
			continue;
		k = tasks_find(p->tc, f->id);
		if (k == NULL || !k->home || !tasks_unfinished(k->rec)) {
			rf_drop(p, s, 1);	/* ended, or not ours now */
			continue;
		}
		if (now - f->since > RF_GIVE_UP_MS) {
			log_warnx("task %s: its attachments reached %zu of "
			    "its %zu replicas in %d min: no more offers",
			    f->id, rf_acked(f), f->nto, RF_GIVE_UP_MS / 60000);
			rf_drop(p, s, 1);
			continue;
		}
		/* A member that joined the set since gets them too. */
		for (size_t i = 0; i < nset && f->nto < REP_SET_MAX; i++) {
			size_t j;

			for (j = 0; j < f->nto; j++)
				if (strcmp(f->to[j], set[i]) == 0)
					break;
			if (j == f->nto) {
				lb_strlcpy(f->to[f->nto], set[i], LB_ID_MAX);
				f->acked[f->nto] = 0;
				f->next_ms[f->nto++] = 0;
			}
		}
		for (size_t i = 0; i < f->nto; i++)
			if (!f->acked[i] && now >= f->next_ms[i])
				rf_offer_to(p, f, i, now);
	}
	if (now - r->pruned_ms >= RF_PRUNE_MS) {
		r->pruned_ms = now;
		prune(p);
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
