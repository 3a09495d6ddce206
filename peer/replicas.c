/*
 * replicas.c - replicated homes in the shell (doc/replication.md): this
 * peer's records go to its replica set (tasks/replica.c decides what, to
 * whom, and when), and the records other homes put here are kept in
 * state_dir/replicas/journal, on disk before they are acknowledged.  While
 * a home is down, show and wait at any peer read its tasks' records here.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "src/log.h"
#include "src/util.h"
#include "gossip/gossip.h"
#include "tasks/replica.h"
#include "tasks/tasks.h"
#include "node/home.h"
#include "peer.h"
#include "journal.h"
#include "store.h"
#include "keepfile.h"
#include "replicas.h"

#define REP_RETRY_MS	500	/* no ack this long: sent again */
#define REP_EXPIRE_MS	60000	/* ended records looked at this often */
#define REP_WAITS_MAX	16384	/* effects waiting for a majority */
#define REP_FLUSH_US	0	/* group commit: the saves of one turn of
				 * the event loop go to the set in one put
				 * (1 ms here halved a serial client's
				 * submit rate; lbbench tasks) */

struct replicas {
	struct nhome	*nh;		/* the decisions (node/home.c) */
	struct rep	*rep;		/* its replica core */
	struct journal	*j;
	char		*dir;
	int		 on;		/* task.home_replicas > 1 */
	/* Called for each task taken over: before (its record, the home
	 * gone, its directory) and once it is this peer's. */
	void		(*adopting)(struct peer *, Lb__TaskRecord *,
			    const char *, const char *);
	void		(*adopted)(struct peer *, const char *);
	struct event	*flush_ev;
	int		 flush_armed;
	int		 keeps_moved;	/* (replicas_keeps_moved) */
	size_t		 put_bytes;	/* a put's items, at most */
	uint64_t	 keeps_lost;	/* a change to a keep not put */
};

#define STATE_MAX	(1 << 20)

#define R(p)	((p)->reps)

static void	flush_cb(evutil_socket_t, short, void *);
static void	flush_arm(struct peer *);

static void
load_cb(Lb__TaskRecord *rec, void *arg)
{
	struct replicas	*r = arg;

	if (tasks_id_valid(rec->id))
		rep_load(r->rep, rec);
	else
		lb__task_record__free_unpacked(rec, NULL);
}

/* ---- the hooks node/home.c carries its decisions out through ---- */

/* state_dir/replicas/state: the set, the terms and the votes; replaced
 * whole (a temporary file, fsync, rename, fsync of the directory), so
 * that a vote is on disk before it is sent. */
static int
state_save(void *arg, const char *text)
{
	struct peer	*p = arg;
	struct replicas	*r = R(p);
	char		*path = lb_printf("%s/state", r->dir);
	char		*tmp = lb_printf("%s/.state.tmp", r->dir);
	size_t		 len = strlen(text);
	int		 fd, rc = -1;

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || write(fd, text, len) != (ssize_t)len ||
	    fsync(fd) == -1 || close(fd) == -1) {
		log_warn("replicas: %s", tmp);
		if (fd != -1)
			close(fd);
		goto out;
	}
	if (rename(tmp, path) == -1) {
		log_warn("replicas: %s", path);
		goto out;
	}
	if ((fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		close(fd);
	}
	rc = 0;
out:
	free(path);
	free(tmp);
	return rc;
}

static void
state_load(struct peer *p)
{
	struct replicas	*r = R(p);
	char		*path = lb_printf("%s/state", r->dir);
	char		*buf = lb_calloc(1, STATE_MAX + 1);
	ssize_t		 n = 0;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, buf, STATE_MAX);
		close(fd);
	}
	if (n > 0) {
		buf[n] = '\0';
		nhome_state_load(r->nh, lb_mono_ms(), buf);
	}
	free(buf);
	free(path);
}

static int
keep_cb(void *arg, const Lb__TaskRecord *rec, int sync)
{
	struct peer	*p = arg;
	char		*cause;

	if (journal_append(R(p)->j, rec, sync, &cause) == -1) {
		log_warnx("replicas: cannot keep records: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/* A replica's copy of what `home` keeps of task `id`'s messages. */
static char *
rkept_path(struct peer *p, const char *id)
{
	return lb_printf("%s/kept/%s", R(p)->dir, id);
}

static void
unkept_cb(void *arg, const char *id)
{
	char	*path = rkept_path(arg, id);

	(void)unlink(path);
	free(path);
}

/* Keep a change a home put here (RA_KEPT): a message added, or its keep
 * anew.  (A stream sent again appends what is there already: read back,
 * each message counts once.) */
static int
kept_cb(void *arg, const struct rep_action *a)
{
	struct peer	*p = arg;
	Lb__MailboxKeep	*kb;
	char		*path;
	int		 rc;

	if (!tasks_id_valid(a->id) || (kb = lb__mailbox_keep__unpack(NULL,
	    a->len, a->msg)) == NULL)
		return 0;	/* (checked by the core: not ours to keep) */
	path = rkept_path(p, a->id);
	rc = a->anew ? keepfile_write(path, kb) : keepfile_append(path, kb);
	if (rc == -1)
		log_warn("replicas: task %s: keeping its messages: %s", a->id,
		    path);
	lb__mailbox_keep__free_unpacked(kb, NULL);
	free(path);
	return rc;
}

static void
send_cb(void *arg, const char *to, const uint8_t *msg, size_t len)
{
	struct peer	*p = arg;
	const char	*addr;

	if ((addr = members_addr(p, to, NULL)) != NULL)
		net_send_bytes(p, addr, msg, len);
}

/* Taking over a task: its directory, with its attachments as this replica
 * holds them (repfiles.c). */
static void
adopting_cb(void *arg, Lb__TaskRecord *rec, const char *home)
{
	struct peer	*p = arg;
	char		*dir = store_dir(p, rec->id);

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		log_warnx("task %s: cannot create %s: %s", rec->id, dir,
		    strerror(errno));
	if (R(p)->adopting != NULL)
		R(p)->adopting(p, rec, home, dir);
	free(dir);
}

/* Taken over: its files go to this home's own set now, and what its home
 * kept of its messages is this home's to keep (msgs_keeps_sync). */
static void
adopted_cb(void *arg, const char *id)
{
	struct peer	*p = arg;
	char		*from, *into, *dir;

	if (R(p)->adopted != NULL)
		R(p)->adopted(p, id);
	from = rkept_path(p, id);
	into = lb_printf("%s/kept/%s", p->conf.state_dir, id);
	(void)mkdir(dir = lb_printf("%s/kept", p->conf.state_dir), 0700);
	free(dir);
	if (rename(from, into) == 0)
		R(p)->keeps_moved = 1;
	else if (errno != ENOENT)
		log_warn("task %s: its kept messages: %s", id, from);
	free(from);
	free(into);
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

/* More dead records than live: a fresh journal. */
static void
journaled_cb(void *arg, size_t held)
{
	struct peer		*p = arg;
	struct replicas		*r = R(p);
	struct compact_it	 it = { NULL, 0, 0 };
	char			*cause;

	if (journal_records(r->j) <= 2 * (uint64_t)held + 1000)
		return;
	it.v = rep_all_held(r->rep, &it.n);
	if (journal_compact(r->j, compact_next, &it, &cause) == -1) {
		log_warnx("replicas: compaction failed: %s", cause);
		free(cause);
	}
}

static void
note_cb(void *arg, int warn, const char *text)
{
	(void)arg;
	if (warn)
		log_warnx("%s", text);
	else
		log_info("%s", text);
}

int
replicas_start(struct peer *p, char **cause)
{
	struct replicas		*r = lb_calloc(1, sizeof(*r));
	struct nhome_conf	 c = { 0 };
	struct nhome_shell	 sh = { 0 };
	char			*kept_dir;

	c.rep.self = p->conf.id;
	c.rep.stream = p->incarnation;
	c.rep.replicas = p->conf.task.home_replicas;
	c.rep.retry_ms = REP_RETRY_MS;
	c.rep.lease_ms = (uint32_t)p->conf.task.lease_ms;
	c.rep.heartbeat_ms = c.rep.lease_ms / 4 > 100 ? c.rep.lease_ms / 4 :
	    100;
	c.rep.takeover_ms = (uint32_t)p->conf.task.home_takeover_ms;
	/* (a member down a while is replaced later: a restart is not) */
	c.rep.replace_ms = c.rep.takeover_ms > 10000 ? c.rep.takeover_ms :
	    10000;
	/* What other homes may put here: as many as this peer keeps of its
	 * own, for each of the homes it may hold for. */
	c.rep.max_records = (size_t)p->conf.task.max_tasks * 4;
	/* (a put fits in a message, with room for its envelope) */
	c.rep.put_bytes = (size_t)p->conf.message_max_kb * 1024 - 32 * 1024;
	c.lease_ms = (uint32_t)p->conf.task.lease_ms;
	c.keep_ms = (uint64_t)p->conf.task.keep_finished_s * 1000;
	c.expire_ms = REP_EXPIRE_MS;
	c.waits_max = REP_WAITS_MAX;
	sh.arg = p;
	sh.save_state = state_save;
	sh.keep = keep_cb;
	sh.unkept = unkept_cb;
	sh.kept = kept_cb;
	sh.send = send_cb;
	sh.adopting = adopting_cb;
	sh.adopted = adopted_cb;
	sh.journaled = journaled_cb;
	sh.note = note_cb;
	r->nh = nhome_new(&c, p->tc, &sh);
	r->rep = nhome_rep(r->nh);
	r->put_bytes = c.rep.put_bytes;
	r->on = nhome_on(r->nh);
	R(p) = r;
	if (p->base != NULL)
		r->flush_ev = evtimer_new(p->base, flush_cb, p);
	r->dir = lb_printf("%s/replicas", p->conf.state_dir);
	if (mkdir(r->dir, 0700) == -1 && errno != EEXIST) {
		*cause = lb_printf("cannot create %s: %s", r->dir,
		    strerror(errno));
		return -1;
	}
	kept_dir = lb_printf("%s/kept", r->dir);
	if (mkdir(kept_dir, 0700) == -1 && errno != EEXIST) {
		*cause = lb_printf("cannot create %s: %s", kept_dir,
		    strerror(errno));
		free(kept_dir);
		return -1;
	}
	free(kept_dir);
	state_load(p);
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
	/* What waits is not said: the journal has it, and a client asks
	 * again after the restart (its request id). */
	nhome_free(r->nh);
	if (r->flush_ev != NULL)
		event_free(r->flush_ev);
	if (r->j != NULL)
		journal_close(r->j);
	free(r->dir);
	free(r);
	R(p) = NULL;
}

void
replicas_restored(struct peer *p, const Lb__TaskRecord *rec)
{
	if (R(p) != NULL)
		nhome_restored(R(p)->nh, rec);
}

void
replicas_saving(struct peer *p, Lb__TaskRecord *rec)
{
	if (R(p) != NULL && nhome_saving(R(p)->nh, rec))
		flush_arm(p);
}

int
replicas_keep(struct peer *p, const char *id, const Lb__MailboxKeep *kb,
    int anew)
{
	struct tasks_task	*k;
	size_t			 len;
	uint8_t			*buf;
	int			 rc;

	if (R(p) == NULL || !R(p)->on || p->tc == NULL ||
	    (k = tasks_find(p->tc, id)) == NULL || !k->home)
		return 0;
	len = lb__mailbox_keep__get_packed_size(kb);
	if (len > R(p)->put_bytes / 2 && kb->n_mailbox > 1) {
		/* Too big for one put: anew with the first messages, then
		 * the rest added, each part within half a put. */
		Lb__MailboxKeep	part = *kb;
		size_t		at = 0;

		rc = 0;
		while (at < kb->n_mailbox && rc == 0) {
			size_t n = 0, sz = 0;

			while (at + n < kb->n_mailbox && (n == 0 || sz +
			    lb__mail_msg__get_packed_size(kb->mailbox[at +
			    n]) + 16 <= R(p)->put_bytes / 2))
				sz += lb__mail_msg__get_packed_size(
				    kb->mailbox[at + n++]) + 16;
			part.mailbox = kb->mailbox + at;
			part.n_mailbox = n;
			part.n_mailbox_seen = at == 0 ? kb->n_mailbox_seen : 0;
			len = lb__mailbox_keep__get_packed_size(&part);
			buf = lb_calloc(1, len + 1);
			lb__mailbox_keep__pack(&part, buf);
			rc = rep_keep(R(p)->rep, id, at == 0 ? anew : 0, buf,
			    len);
			free(buf);
			at += n;
		}
	} else {
		buf = lb_calloc(1, len + 1);
		lb__mailbox_keep__pack(kb, buf);
		rc = rep_keep(R(p)->rep, id, anew, buf, len);
		free(buf);
	}
	if (rc == -1) {
		if (R(p)->keeps_lost++ == 0)
			log_warnx("replicas: too many changes to kept messages "
			    "wait for the set: task %s's is kept here only",
			    id);
		return 0;
	}
	flush_arm(p);
	return 1;
}

int
replicas_keeps_moved(struct peer *p)
{
	int	moved;

	if (R(p) == NULL)
		return 0;
	moved = R(p)->keeps_moved;
	R(p)->keeps_moved = 0;
	return moved;
}

/* The saves of this turn of the event loop go in one put, at its end. */
static void
flush_arm(struct peer *p)
{
	if (R(p)->on && !R(p)->flush_armed && R(p)->flush_ev != NULL) {
		struct timeval tv = { 0, REP_FLUSH_US };

		evtimer_add(R(p)->flush_ev, &tv);
		R(p)->flush_armed = 1;
	}
}

/* An effect of this home's decisions, in the shape its callers have. */
struct after {
	void	(*fn)(struct peer *, void *, int);
	void	 *arg;
};

static void
after_cb(void *shell_arg, void *arg, int ok)
{
	struct after	a = *(struct after *)arg;

	free(arg);
	a.fn(shell_arg, a.arg, ok);
}

int
replicas_after(struct peer *p, void (*fn)(struct peer *, void *, int),
    void *arg)
{
	struct after	*a;
	int		 rc;

	if (R(p) == NULL || !nhome_uncommitted(R(p)->nh))
		return 0;
	a = lb_calloc(1, sizeof(*a));
	a->fn = fn;
	a->arg = arg;
	if ((rc = nhome_after(R(p)->nh, after_cb, a)) != 1)
		free(a);
	return rc;
}

void
replicas_msg_send(struct peer *p, void *arg, int ok)
{
	struct replicas_msg	*w = arg;
	const char		*addr;

	if (ok && (addr = members_addr(p, w->to, NULL)) != NULL)
		net_send_bytes(p, addr, w->buf, w->len);
	free(w->buf);
	free(w);
}

int
replicas_waits_full(struct peer *p)
{
	return R(p) != NULL && nhome_waits_full(R(p)->nh);
}

int
replicas_holds_msg(struct peer *p, const struct tasks_action *a, int kind)
{
	return nhome_holds_msg(p->tc, a, kind);
}

void
replicas_readopt(struct peer *p, struct tasks_out *to)
{
	if (R(p) != NULL)
		nhome_readopt(R(p)->nh, lb_mono_ms(), to);
}

void
replicas_tick(struct peer *p, uint64_t now, struct tasks_out *to)
{
	struct replicas			*r = R(p);
	const struct gossip_member	*m;
	const char			**ids;
	size_t				  n, k = 0;

	if (r == NULL)
		return;
	m = gossip_members(p->gossip, &n);
	ids = lb_calloc(n + 1, sizeof(*ids));
	/* (the older builds first: they hold no win, rep_older) */
	for (size_t i = 0; i < n; i++)
		if ((m[i].state == GOSSIP_ALIVE ||
		    m[i].state == GOSSIP_SUSPECT) &&
		    m[i].e.level < LB_LEVEL_HOLDS_WINS)
			ids[k++] = m[i].e.id;
	rep_older(nhome_rep(r->nh), ids, k);
	k = 0;
	for (size_t i = 0; i < n; i++)
		if (m[i].state == GOSSIP_ALIVE)
			ids[k++] = m[i].e.id;
	nhome_tick(r->nh, now, lb_wall_ms(), ids, k, to);
	free(ids);
}

/* Group commit: the records saved since the last put, to the set. */
static void
flush_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer	*p = arg;

	(void)fd;
	(void)ev;
	R(p)->flush_armed = 0;
	nhome_flush(R(p)->nh, lb_mono_ms());
}

void
replicas_recv(struct peer *p, const char *from, const Lb__PeerMsg *m,
    struct tasks_out *to)
{
	if (R(p) != NULL)
		nhome_recv(R(p)->nh, lb_mono_ms(), from, m, to);
}

int
replicas_must_wait(struct peer *p)
{
	return R(p) != NULL && nhome_must_wait(R(p)->nh, lb_mono_ms());
}

int
replicas_gave_up(struct peer *p, const char *id)
{
	return R(p) != NULL && nhome_gave_up(R(p)->nh, id);
}

const char *
replicas_taken_by(struct peer *p, const char *id)
{
	return R(p) != NULL ? nhome_taken_by(R(p)->nh, id) : NULL;
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
	/* ... and the set this peer knows, a member of it (the set is
	 * sticky: after deaths and restarts it is not the first ranked) */
	if (R(p) != NULL) {
		const char	*set[REP_SET_MAX + 1];
		size_t		 ns = rep_home_set(nhome_rep(R(p)->nh), home, set,
				    REP_SET_MAX + 1);

		for (size_t i = 0; i < ns && k < max + REP_SET_MAX + 1; i++) {
			size_t j;

			for (j = 0; j < k && strcmp(best[j], set[i]) != 0; j++)
				;
			if (j == k && strcmp(set[i], home) != 0)
				best[k++] = set[i];
		}
	}
	return k;
}

void
replicas_on_adopt(struct peer *p, void (*adopting)(struct peer *,
    Lb__TaskRecord *, const char *, const char *),
    void (*adopted)(struct peer *, const char *))
{
	if (R(p) != NULL) {
		R(p)->adopting = adopting;
		R(p)->adopted = adopted;
	}
}

const Lb__TaskRecord *const *
replicas_all_held(struct peer *p, size_t *n)
{
	*n = 0;
	return R(p) != NULL ? rep_all_held(R(p)->rep, n) : NULL;
}

void
replicas_set_lacking(struct peer *p, const char *home, int lacking)
{
	if (R(p) != NULL)
		rep_set_lacking(R(p)->rep, home, lacking);
}

size_t
replicas_set(struct peer *p, char ids[][LB_ID_MAX], size_t max)
{
	struct replicas		*r = R(p);
	const struct rep_peer	*s;
	size_t			 n, k = 0;

	if (r == NULL)
		return 0;
	s = rep_set(r->rep, &n);
	for (size_t i = 0; i < n && k < max; i++)
		lb_strlcpy(ids[k++], s[i].id, LB_ID_MAX);
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
	{
		struct nhome_stats ns;

		nhome_stats(r->nh, &ns);
		v->waiting = ns.waiting;
		v->waited = ns.waited;
		v->wait_refused = ns.wait_refused;
	}
	v->keeps = rep_nkeeps(r->rep);
	v->keeps_lost = r->keeps_lost;
	v->stats = *rep_stats(r->rep);
}
