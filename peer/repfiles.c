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
 *
 * The output files of a task that ended (output larger than a record
 * holds) go the same way, into state_dir/replicas/files/ID.output; the
 * home's acknowledgement of the result to its host waits for a majority
 * (the host keeps the output until then), and they stay as long as the
 * record does.
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
#include "gossip/gossip.h"
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
#define RF_LEVEL	2	/* members that hold files (LB_PROTO_LEVEL) */
#define RF_LACK_MS	1000	/* how often the homes lacking files are
				 * told to the elections */
#define RF_RECENT_MS	(10 * 60 * 1000)

struct rf_waiter {
	void	(*fn)(struct peer *, void *, int);
	void	 *arg;
};

/* A task whose attachments (or output) this home puts to its set. */
struct rf {
	char		 id[TASKS_ID_MAX];
	int		 out;		/* its output files */
	char		 to[REP_SET_MAX][LB_ID_MAX];
	int		 acked[REP_SET_MAX];
	uint64_t	 next_ms[REP_SET_MAX];
	uint8_t		*msg[REP_SET_MAX];	/* the offer made to each (a
						 * packed PeerMsg), sent
						 * again while on offer */
	size_t		 len[REP_SET_MAX];
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
	uint64_t	 pruned_ms, lack_ms;
	int		 scanned;	/* tasks read back at start offered */
	int		 missed;	/* a task not offered (no set, or
					 * RF_MAX): look again */
	int		 full_said;
	char		 lastset[REP_SET_MAX][LB_ID_MAX];	/* at the
						 * last tick */
	size_t		 nlastset;
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

static char *
held_path(struct peer *p, const char *id, int out)
{
	return lb_printf("%s/%s%s", RF(p)->dir, id, out ? ".output" : "");
}

static void
ack_send(struct peer *p, const char *to, const char *id, int out,
    const char *error)
{
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__ReplicaFilesAck	 a = LB__REPLICA_FILES_ACK__INIT;
	const char		*addr = members_addr(p, to, NULL);

	if (addr == NULL)
		return;
	a.task_id = (char *)id;
	a.ok = error == NULL;
	a.error = (char *)(error != NULL ? error : "");
	a.output = out;
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
	int			 out;

	if (tr == NULL || (rec = tr->record) == NULL || rec->spec == NULL ||
	    !tasks_id_valid(rec->id) || tr->xfer_id == 0) {
		log_debug("replica files from %s: malformed", from);
		return;
	}
	out = m->replica_files->output;
	for (size_t i = 0; i < tr->n_manifest; i++)
		if (tr->manifest[i]->kind != (out ? 2u : 0u)) {
			log_debug("task %s: files from %s of another kind",
			    rec->id, from);
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
	path = held_path(p, rec->id, out);
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		free(path);
		ack_send(p, from, rec->id, out, NULL);	/* held already */
		return;
	}
	free(path);
	if (xfer_fetching(p, from, tr->xfer_id))
		return;
	if (disk_short(p) != NULL) {
		ack_send(p, from, rec->id, out, disk_short(p));
		return;
	}
	if (xfer_fetch(p, from, inc, m, &cause) == -1) {
		/* (one in progress: its end answers) */
		if (strstr(cause, "in progress") == NULL) {
			log_warnx("task %s: its %s from %s refused: %s",
			    rec->id, out ? "output" : "attachments", from,
			    cause);
			ack_send(p, from, rec->id, out, cause);
		}
		free(cause);
	}
}

void
repfiles_fetched(struct peer *p, const char *from, const Lb__PeerMsg *m,
    const char *staged, const char *error)
{
	const Lb__Transfer *tr = m->replica_files->transfer;
	const char	*id = tr->record->id;
	int		 out = m->replica_files->output;
	const char	*what = out ? "output" : "attachments";
	char		*att, *path, *why;
	struct stat	 st;

	if (RF(p) == NULL)
		return;
	if (error != NULL) {
		RF(p)->st.failed++;
		log_info("task %s: its %s from %s did not come: %s (its home "
		    "offers them again)", id, what, from, error);
		return;
	}
	att = lb_printf("%s/%s", staged, out ? "out" : "att");
	path = held_path(p, id, out);
	store_rmtree(path);
	/* (an offer of no file leaves no directory: an empty one) */
	if (lstat(att, &st) == -1 && errno == ENOENT)
		(void)mkdir(att, 0700);
	/* The rename on disk before the answer: the home counts on it. */
	why = NULL;
	if (rename(att, path) == -1)
		why = lb_printf("%s: %s", path, strerror(errno));
	else
		(void)lb_fsync_dir(RF(p)->dir, &why);
	if (why != NULL) {
		RF(p)->st.failed++;
		log_warnx("task %s: its %s: %s", id, what, why);
		ack_send(p, from, id, out, why);
		free(why);
	} else {
		RF(p)->st.fetched++;
		log_debug("task %s: its %s held for %s", id, what, from);
		ack_send(p, from, id, out, NULL);
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
		files_in(p, from, inc, m);
	else if (m->body_case == LB__PEER_MSG__BODY_REPLICA_FILES_ACK)
		files_ack_in(p, from, m->replica_files_ack);
}

static int
adopt_att(struct peer *p, const char *id, const char *dir)
{
	char		*from;
	struct stat	 st;
	int		 rc = 0;

	if (RF(p) == NULL)
		return 0;
	from = held_path(p, id, 0);
	if (lstat(from, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* An empty directory is made for it: theirs instead.  One
		 * with files (it ran here) keeps them. */
		if ((rmdir(dir) == 0 || errno == ENOENT) &&
		    rename(from, dir) == 0)
			RF(p)->st.adopted++;
		else {
			store_rmtree(from);
			(void)mkdir(dir, 0700);	/* (its directory stays) */
		}
		rc = 1;
	}
	free(from);
	return rc;
}

static int
adopt_output(struct peer *p, const char *id)
{
	char		*from, *dir;
	struct stat	 st;
	int		 rc = 0;

	if (RF(p) == NULL)
		return 0;
	from = held_path(p, id, 1);
	dir = store_dir(p, id);
	if (lstat(from, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = 1;
		for (int i = 0; i < 2; i++) {
			char *f = lb_printf("%s/%s", from, i ? "stderr" :
			    "stdout"), *to = lb_printf("%s.%s", dir, i ?
			    "err" : "out");

			if (lstat(f, &st) == 0 && rename(f, to) == -1) {
				log_warnx("task %s: its output: %s: %s", id,
				    to, strerror(errno));
				rc = 0;
			}
			free(f);
			free(to);
		}
		if (rc)		/* (else kept: the copy there is the one) */
			store_rmtree(from);
	} else {
		/* Moved in before (an adoption again after a restart). */
		char *o = lb_printf("%s.out", dir);

		rc = lstat(o, &st) == 0;
		free(o);
	}
	free(dir);
	free(from);
	return rc;
}

void
repfiles_adopting(struct peer *p, Lb__TaskRecord *rec,
    const char *home, const char *dir)
{
	if (RF(p) == NULL)
		return;
	/* The copy of its checkpoint its home held stayed there (copies
	 * are not replicated): run again here, it starts from its start,
	 * not from a checkpoint that is not here.  (Its host, alive, goes
	 * on from its own; its next copy comes here.) */
	if (tasks_unfinished(rec) && rec->home_checkpoint > 0 &&
	    tasks_find(p->tc, rec->id) == NULL) {
		char *ck = lb_printf("%s.ck", dir);

		log_info("task %s: the copy of its checkpoint %u stayed at its "
		    "home %s: run again here, it starts over", rec->id,
		    rec->home_checkpoint, home);
		rec->home_checkpoint = 0;
		rec->home_checkpoint_ms = 0;
		store_rmtree(ck);	/* (one an earlier stay left is not
					 * its checkpoint now) */
		free(ck);
	}
	if (rec->output_in_files && !tasks_unfinished(rec) &&
	    rec->stdout_bytes + rec->stderr_bytes > 0 &&
	    adopt_output(p, rec->id) == 0)
		log_warnx("task %s: its output stayed at its home %s, which "
		    "is gone, and is not here (its host may send it again)",
		    rec->id, home);
	if (rec->spec != NULL && rec->spec->n_files > 0 &&
	    tasks_unfinished(rec) && adopt_att(p, rec->id, dir) == 0) {
		RF(p)->st.missing++;
		log_warnx("task %s: its %zu attached files stayed at its home "
		    "%s, which is gone, and are not here: it runs without "
		    "them", rec->id, rec->spec->n_files, home);
	}
}

void
repfiles_adopted(struct peer *p, const char *id)
{
	rf_new(p, id, 0);
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
		char			*path, id[TASKS_ID_MAX];
		size_t			 len = strlen(e->d_name);
		int			 out = len > 7 &&
					    strcmp(e->d_name + len - 7,
					    ".output") == 0;

		if (len - (out ? 7 : 0) >= sizeof(id))
			continue;
		memcpy(id, e->d_name, len - (out ? 7 : 0));
		id[len - (out ? 7 : 0)] = '\0';
		if (!tasks_id_valid(id))
			continue;
		path = held_path(p, id, out);
		rec = replicas_held(p, id);
		/* Attachments go once the task ended; output, with its
		 * record; either, when no record came. */
		if ((rec != NULL && !out && !tasks_unfinished(rec)) ||
		    (rec == NULL && lstat(path, &st) == 0 &&
		    time(NULL) - st.st_mtime > RF_ORPHAN_S)) {
			log_debug("task %s: its %s here go (%s)", id,
			    out ? "output" : "attachments", rec != NULL ?
			    "it ended" : "no record");
			store_rmtree(path);
		} else
			held++;
		free(path);
	}
	closedir(d);
	RF(p)->st.held = held;
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

/*
 * Replica: the homes some of whose tasks' files are not here (pulled
 * late, or never): for those, this peer stands in an election only after
 * the other members (one of them has them).
 */
static void
lacking(struct peer *p)
{
	size_t			 n, nh = 0, nm;
	const Lb__TaskRecord	*const *all;
	const struct gossip_member *m = gossip_members(p->gossip, &nm);
	char			 (*homes)[LB_ID_MAX];
	int			*lack;
	uint64_t		 wall = lb_wall_ms();

	/* (it matters for a home that is dead only: none, nothing to do) */
	for (n = 0; n < nm && m[n].state == GOSSIP_ALIVE; n++)
		;
	if (n == nm)
		return;
	all = replicas_all_held(p, &n);
	homes = lb_calloc(REP_HOMES_MAX, sizeof(*homes));
	lack = lb_calloc(REP_HOMES_MAX, sizeof(*lack));

	for (size_t i = 0; i < n; i++) {
		const Lb__TaskRecord	*rec = all[i];
		char			 home[LB_ID_MAX], *path;
		struct stat		 st;
		size_t			 h;
		int			 out;

		rep_record_home(rec, home);
		if (members_addr(p, home, NULL) != NULL)
			continue;	/* (alive: looked at when it dies) */
		for (h = 0; h < nh && strcmp(homes[h], home) != 0; h++)
			;
		if (h == nh) {
			if (nh == REP_HOMES_MAX)
				continue;
			lb_strlcpy(homes[nh], home, LB_ID_MAX);
			lack[nh++] = 0;
		}
		if (lack[h] || !tasks_id_valid(rec->id))
			continue;
		if (tasks_unfinished(rec) && rec->spec != NULL &&
		    rec->spec->n_files > 0)
			out = 0;
		else if (!tasks_unfinished(rec) && rec->output_in_files &&
		    rec->stdout_bytes + rec->stderr_bytes > 0 &&
		    rec->finished_ms + RF_RECENT_MS > wall)
			out = 1;	/* (the output of those that ended
					 * lately: the files of the others
					 * came long ago, or never will) */
		else
			continue;
		path = held_path(p, rec->id, out);
		if (lstat(path, &st) == -1)
			lack[h] = 1;
		free(path);
	}
	for (size_t h = 0; h < nh; h++)
		replicas_set_lacking(p, homes[h], lack[h]);
	free(homes);
	free(lack);
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
	if (!r->scanned && now - p->started_ms >=
	    (uint64_t)p->conf.gossip.dead_ms) {
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
		prune(p);
	}
	if (now - r->lack_ms >= RF_LACK_MS) {
		r->lack_ms = now;
		lacking(p);
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
