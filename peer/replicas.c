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

/* An effect of a decision (a message, a reply) that waits until the
 * decision is on a majority of the set: until the stream is committed
 * up to the version the home had stamped when it was made. */
struct rep_wait {
	uint64_t	  version;
	void		(*fn)(struct peer *, void *, int);
	void		 *arg;
};

struct replicas {
	struct rep	*rep;
	struct journal	*j;
	char		*dir;
	uint64_t	 expired_ms;
	int		 on;		/* task.home_replicas > 1 */
	/* Called for each task taken over: before (its record, the home
	 * gone, its directory) and once it is this peer's. */
	void		(*adopting)(struct peer *, Lb__TaskRecord *,
			    const char *, const char *);
	void		(*adopted)(struct peer *, const char *);
	uint64_t	 set_gen;	/* of the set on disk */
	uint32_t	 relinquished;	/* taken over up to this term: let go */
	int		 held;		/* the home hold, as last set */
	struct rep_wait	*waits;		/* a ring, oldest first */
	size_t		 wfirst, nwaits;
	uint64_t	 waited, wait_refused;
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

/* state_dir/replicas/state: the set, the terms and the votes; replaced
 * whole (a temporary file, fsync, rename, fsync of the directory), so
 * that a vote is on disk before it is sent. */
static int
state_save(struct peer *p, char **cause)
{
	struct replicas	*r = R(p);
	char		*text = rep_state_dump(r->rep);
	char		*path = lb_printf("%s/state", r->dir);
	char		*tmp = lb_printf("%s/.state.tmp", r->dir);
	size_t		 len = strlen(text);
	int		 fd, rc = -1;

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1 || write(fd, text, len) != (ssize_t)len ||
	    fsync(fd) == -1 || close(fd) == -1) {
		*cause = lb_printf("%s: %s", tmp, strerror(errno));
		if (fd != -1)
			close(fd);
		goto out;
	}
	if (rename(tmp, path) == -1) {
		*cause = lb_printf("%s: %s", path, strerror(errno));
		goto out;
	}
	if ((fd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(fd);
		close(fd);
	}
	rc = 0;
out:
	free(text);
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
		rep_state_load(r->rep, lb_mono_ms(), buf);
	}
	free(buf);
	free(path);
}

int
replicas_start(struct peer *p, char **cause)
{
	struct replicas	*r = lb_calloc(1, sizeof(*r));
	struct rep_conf	 c = { 0 };
	char		*kept_dir;

	c.self = p->conf.id;
	c.stream = p->incarnation;
	c.replicas = p->conf.task.home_replicas;
	c.retry_ms = REP_RETRY_MS;
	c.lease_ms = (uint32_t)p->conf.task.lease_ms;
	c.heartbeat_ms = c.lease_ms / 4 > 100 ? c.lease_ms / 4 : 100;
	c.takeover_ms = (uint32_t)p->conf.task.home_takeover_ms;
	/* (a member down a while is replaced later: a restart is not) */
	c.replace_ms = c.takeover_ms > 10000 ? c.takeover_ms : 10000;
	/* What other homes may put here: as many as this peer keeps of its
	 * own, for each of the homes it may hold for. */
	c.max_records = (size_t)p->conf.task.max_tasks * 4;
	/* (a put fits in a message, with room for its envelope) */
	c.put_bytes = (size_t)p->conf.message_max_kb * 1024 - 32 * 1024;
	r->rep = rep_new(&c);
	r->put_bytes = c.put_bytes;
	r->on = p->conf.task.home_replicas > 1;
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
	r->set_gen = rep_set_gen(r->rep);
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
	while (r->nwaits > 0) {
		struct rep_wait w = r->waits[r->wfirst];

		r->wfirst = (r->wfirst + 1) % REP_WAITS_MAX;
		r->nwaits--;
		w.fn(p, w.arg, 0);
	}
	free(r->waits);
	if (r->flush_ev != NULL)
		event_free(r->flush_ev);
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
	if (rec->home_peer[0] != '\0')
		lb_strlcpy(home, rec->home_peer, sizeof(home));
	else
		tasks_home_of(rec->id, home);
	if (strcmp(home, p->conf.id) != 0)
		return;
	rep_stamp(R(p)->rep, rec);
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

/* A replica's copy of what `home` keeps of task `id`'s messages. */
static char *
rkept_path(struct peer *p, const char *id)
{
	return lb_printf("%s/kept/%s", R(p)->dir, id);
}

/* Keep a change a home put here (RA_KEPT): a message added, or its keep
 * anew.  (A stream sent again appends what is there already: read back,
 * each message counts once.) */
static int
rkept_write(struct peer *p, const struct rep_action *a)
{
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

/* This home's records now, for a put. */
static const Lb__TaskRecord **
home_records(struct peer *p, size_t *k)
{
	struct tasks_task	**all;
	const Lb__TaskRecord	**recs;
	size_t			  n;

	all = tasks_all(p->tc, &n);
	recs = lb_calloc(n + 1, sizeof(*recs));
	*k = 0;
	for (size_t i = 0; i < n; i++)
		if (all[i]->home && all[i]->rec->version > 0)
			recs[(*k)++] = all[i]->rec;
	return recs;
}

/* What waited for the stream to be committed this far goes, in order. */
/* What a decision waits for: a majority of the set -- but a home with
 * fewer than two others in its set, or without leases, acts alone (no
 * replica could be elected in its place: rep_home_ok), and waits for
 * nothing. */
static uint64_t
committed(struct peer *p)
{
	struct replicas	*r = R(p);
	size_t		 n;

	(void)rep_set(r->rep, &n);
	if (n < 2 || p->conf.task.lease_ms == 0)
		return rep_version(r->rep);
	return rep_committed(r->rep);
}

static void
release(struct peer *p)
{
	struct replicas	*r = R(p);
	uint64_t	 c;

	if (r->nwaits == 0)
		return;
	c = committed(p);
	while (r->nwaits > 0 && r->waits[r->wfirst].version <= c) {
		struct rep_wait w = r->waits[r->wfirst];

		r->wfirst = (r->wfirst + 1) % REP_WAITS_MAX;
		r->nwaits--;
		w.fn(p, w.arg, 1);
	}
}

int
replicas_after(struct peer *p, void (*fn)(struct peer *, void *, int),
    void *arg)
{
	struct replicas	*r = R(p);

	if (r == NULL || !r->on || committed(p) >= rep_version(r->rep))
		return 0;
	if (r->nwaits == REP_WAITS_MAX) {
		r->wait_refused++;
		return -1;
	}
	if (r->waits == NULL)
		r->waits = lb_calloc(REP_WAITS_MAX, sizeof(*r->waits));
	r->waits[(r->wfirst + r->nwaits) % REP_WAITS_MAX] =
	    (struct rep_wait){ rep_version(r->rep), fn, arg };
	r->nwaits++;
	r->waited++;
	return 1;
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
	return R(p) != NULL && R(p)->nwaits >= REP_WAITS_MAX;
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
/* Elected: act as the home of `home`'s tasks numbered below `upto` that
 * this peer kept for it. */
static void
adopt(struct peer *p, const char *home, uint32_t term, uint64_t upto,
    struct tasks_out *to)
{
	struct replicas		 *r = R(p);
	size_t			  n, len = strlen(home), got = 0;
	const Lb__TaskRecord	*const *all = rep_all_held(r->rep, &n);
	Lb__TaskRecord		**copies = lb_calloc(n + 1, sizeof(*copies));
	size_t			  k = 0;

	/* (copies first: adopting changes nothing held, but the list is
	 * the core's scratch) */
	for (size_t i = 0; i < n; i++) {
		size_t plen;
		uint8_t *buf;

		char acting[LB_ID_MAX];
		int named = strncmp(all[i]->id, home, len) == 0 &&
		    all[i]->id[len] == '.';

		/* Those its stream held: its own below upto, and those it
		 * had taken over from another. */
		rep_record_home(all[i], acting);
		if (strcmp(acting, home) != 0 || (named &&
		    strtoull(all[i]->id + len + 1, NULL, 10) >= upto))
			continue;
		plen = lb__task_record__get_packed_size(all[i]);
		buf = lb_calloc(1, plen + 1);
		lb__task_record__pack(all[i], buf);
		copies[k++] = lb__task_record__unpack(NULL, plen, buf);
		free(buf);
	}
	for (size_t i = 0; i < k; i++) {
		char *dir, tid[TASKS_ID_MAX];

		if (copies[i] == NULL)
			continue;
		/* Its directory, with its attachments as this replica
		 * holds them (repfiles.c). */
		dir = store_dir(p, copies[i]->id);
		if (mkdir(dir, 0700) == -1 && errno != EEXIST)
			log_warnx("task %s: cannot create %s: %s",
			    copies[i]->id, dir, strerror(errno));
		if (r->adopting != NULL)	/* its files (repfiles.c) */
			r->adopting(p, copies[i], home, dir);
		free(dir);
		lb_strlcpy(tid, copies[i]->id, sizeof(tid));
		if (tasks_adopt(p->tc, lb_mono_ms(), copies[i], term,
		    to) == 1) {
			/* Its files go to this home's own set now. */
			if (r->adopted != NULL)
				r->adopted(p, tid);
			char *from = rkept_path(p, tid);
			char *into = lb_printf("%s/kept/%s",
			    p->conf.state_dir, tid);

			got++;
			/* What its home kept of its messages is this
			 * home's to keep now (msgs_keeps_sync). */
			(void)mkdir(dir = lb_printf("%s/kept",
			    p->conf.state_dir), 0700);
			free(dir);
			if (rename(from, into) == 0)
				R(p)->keeps_moved = 1;
			else if (errno != ENOENT)
				log_warn("task %s: its kept messages: %s",
				    tid, from);
			free(from);
			free(into);
		}
	}
	free(copies);
	if (got > 0)
		log_warnx("home %s is gone: this peer acts as the home of its "
		    "%zu tasks now (term %u)", home, got, term);
}

void
replicas_readopt(struct peer *p, struct tasks_out *to)
{
	const char	*homes[REP_HOMES_MAX];
	uint32_t	 terms[REP_HOMES_MAX];
	uint64_t	 uptos[REP_HOMES_MAX];
	size_t		 n;

	if (R(p) == NULL)
		return;
	/* Elected before a crash that came before every adopted record was
	 * journaled: what is not home here yet is adopted again. */
	n = rep_acting_for(R(p)->rep, homes, terms, uptos, REP_HOMES_MAX);
	for (size_t i = 0; i < n; i++)
		adopt(p, homes[i], terms[i], uptos[i], to);
}

static void
carry(struct peer *p, struct rep_out *o, struct tasks_out *to)
{
	struct replicas	*r = R(p);
	char		*cause = NULL;
	size_t		 last = o->n;

	/* Terms and votes on disk before anything goes. */
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].kind == RA_STATE) {
			if (state_save(p, &cause) == -1) {
				log_warnx("replicas: cannot keep the terms: "
				    "%s", cause);
				free(cause);
				return;
			}
			break;
		}

	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].kind == RA_KEEP || o->v[i].kind == RA_DROP)
			last = i;
	for (size_t i = 0; i < o->n; i++) {
		struct rep_action *a = &o->v[i];
		Lb__TaskRecord tomb = LB__TASK_RECORD__INIT;
		/* (by its id: a later record of the same task in this put
		 * has replaced the one first kept) */
		const Lb__TaskRecord *rec = rep_held(r->rep, a->id);

		if (a->kind != RA_KEEP && a->kind != RA_DROP)
			continue;
		if (a->kind == RA_KEEP && rec == NULL)
			continue;
		if (a->kind == RA_DROP) {
			char *path = rkept_path(p, a->id);

			(void)unlink(path);
			free(path);
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
			rep_write_failed(r->rep, o);
			return;
		}
	}
	/* (kept messages too, before the acks; one not on disk: no ack
	 * goes, and the home's stream starts over) */
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].kind == RA_KEPT && rkept_write(p, &o->v[i]) == -1) {
			rep_write_failed(r->rep, o);
			return;
		}
	for (size_t i = 0; i < o->n; i++) {
		struct rep_action *a = &o->v[i];
		const char *addr;

		if ((a->kind == RA_PUT || a->kind == RA_ACK ||
		    a->kind == RA_VOTE) &&
		    (addr = members_addr(p, a->to, NULL)) != NULL)
			net_send_bytes(p, addr, a->msg, a->len);
		else if (a->kind == RA_ADOPT && to != NULL)
			adopt(p, a->id, a->term, a->upto, to);
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
replicas_tick(struct peer *p, uint64_t now, struct tasks_out *to)
{
	struct replicas		 *r = R(p);
	struct rep_out		  o = { 0 };
	const struct gossip_member *m;
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
	/* Copies of records this peer adopted, once they are in its own
	 * journal (the tick comes after the adoption's saves): let go, so
	 * that no stale copy is adopted again after a restart. */
	{
		const char *homes[REP_HOMES_MAX];
		uint32_t terms[REP_HOMES_MAX];
		uint64_t uptos[REP_HOMES_MAX];
		size_t na = rep_acting_for(r->rep, homes, terms, uptos,
		    REP_HOMES_MAX), nh;
		const Lb__TaskRecord *const *held;
		char **drop = NULL;
		size_t nd = 0;

		if (na > 0 && rep_nheld(r->rep) > 0) {
			held = rep_all_held(r->rep, &nh);
			drop = lb_calloc(nh + 1, sizeof(*drop));
			for (size_t i = 0; i < nh; i++) {
				struct tasks_task *t = tasks_find(p->tc,
				    held[i]->id);
				char acting[LB_ID_MAX];
				int mine = 0;

				rep_record_home(held[i], acting);
				for (size_t j = 0; j < na; j++)
					if (strcmp(acting, homes[j]) == 0)
						mine = 1;
				if (mine && t != NULL && t->home)
					drop[nd++] = lb_strdup(held[i]->id);
			}
			for (size_t i = 0; i < nd; i++) {
				rep_let_go(r->rep, drop[i], &o);
				free(drop[i]);
			}
			free(drop);
		}
	}
	if (r->on) {
		m = gossip_members(p->gossip, &n);
		ids = lb_calloc(n + 1, sizeof(*ids));
		for (size_t i = 0; i < n; i++)
			if (m[i].state == GOSSIP_ALIVE)
				ids[k++] = m[i].e.id;
		rep_members(r->rep, now, ids, k);
		free(ids);
		if (rep_set_gen(r->rep) != r->set_gen) {
			char *cause;

			if (state_save(p, &cause) == -1) {
				log_warnx("replicas: cannot keep the set: %s",
				    cause);
				free(cause);
			} else
				r->set_gen = rep_set_gen(r->rep);
		}
		/* Another took over this home's tasks while it was away:
		 * they are not this peer's any more. */
		{
			const char *by;
			uint64_t upto;
			uint32_t term = rep_taken(r->rep, &by, &upto);

			if (term > r->relinquished) {
				size_t gone = tasks_relinquish(p->tc, upto, to);

				log_warnx("replicas: %s took over this peer's "
				    "tasks below number %" PRIu64 " (term %u) "
				    "while it was away: %zu let go here", by,
				    upto, term, gone);
				rep_relinquished(r->rep, term);
				r->relinquished = term;
			}
		}
		/* (the lease first: a thaw below is not undone by the
		 * keeper holding the old end) */
		tasks_set_home_lease(p->tc, rep_home_lease_end(r->rep), to);
		{
			int hold = !rep_home_ok(r->rep, now);

			if (hold != r->held) {
				if (hold)
					log_warnx("replicas: too few of this "
					    "home's set answer: its tasks wait, "
					    "and those running here are frozen, "
					    "until a majority does");
				else
					log_info("replicas: this home's set "
					    "answers: it acts again");
				r->held = hold;
			}
			tasks_set_home_hold(p->tc, now, hold, to);
		}
		recs = home_records(p, &k);
		rep_tick(r->rep, now, recs, k, &o);
		free(recs);
	}
	carry(p, &o, to);
	rep_out_free(&o);
	release(p);
}

/* Group commit: the records saved since the last put, to the set. */
static void
flush_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer		 *p = arg;
	struct replicas		 *r = R(p);
	struct rep_out		  o = { 0 };
	const Lb__TaskRecord	**recs;
	size_t			  k;

	(void)fd;
	(void)ev;
	r->flush_armed = 0;
	recs = home_records(p, &k);
	rep_flush(r->rep, lb_mono_ms(), recs, k, &o);
	free(recs);
	carry(p, &o, NULL);
	rep_out_free(&o);
}

void
replicas_recv(struct peer *p, const char *from, const Lb__PeerMsg *m,
    struct tasks_out *to)
{
	struct replicas	*r = R(p);
	struct rep_out	 o = { 0 };
	uint64_t	 now = lb_mono_ms();

	if (r == NULL)
		return;
	switch (m->body_case) {
	case LB__PEER_MSG__BODY_REPLICA_PUT:
		rep_put_in(r->rep, now, from, m->replica_put, &o);
		break;
	case LB__PEER_MSG__BODY_REPLICA_ACK:
		rep_ack_in(r->rep, now, from, m->replica_ack);
		/* (grants bounded at once; its own tasks told at the tick) */
		tasks_set_home_lease(p->tc, rep_home_lease_end(r->rep), NULL);
		release(p);
		break;
	case LB__PEER_MSG__BODY_HOME_VOTE:
		rep_vote_in(r->rep, now, from, m->home_vote, &o);
		break;
	case LB__PEER_MSG__BODY_HOME_VOTE_REPLY:
		rep_vote_reply_in(r->rep, now, from, m->home_vote_reply, &o);
		break;
	case LB__PEER_MSG__BODY_HOME_ACTING:
		rep_acting_in(r->rep, now, from, m->home_acting, &o);
		break;
	default:
		break;
	}
	carry(p, &o, to);
	rep_out_free(&o);
}

int
replicas_must_wait(struct peer *p)
{
	struct replicas	*r = R(p);

	if (r == NULL || !r->on || rep_home_ok(r->rep, lb_mono_ms()))
		return 0;
	r->held = 1;
	log_info("replicas: this home waits for its set to answer before it "
	    "acts (another may have taken over while it was away)");
	return 1;
}

int
replicas_gave_up(struct peer *p, const char *id)
{
	struct replicas	*r = R(p);
	const char	*by;
	uint64_t	 upto;
	char		 home[LB_ID_MAX];

	if (r == NULL || rep_taken(r->rep, &by, &upto) == 0 ||
	    !tasks_id_valid(id))
		return 0;
	tasks_home_of(id, home);
	return strcmp(home, p->conf.id) == 0 &&
	    strtoull(strrchr(id, '.') + 1, NULL, 10) < upto;
}

const char *
replicas_taken_by(struct peer *p, const char *id)
{
	const char	*by;
	uint64_t	 upto;

	if (!replicas_gave_up(p, id))
		return NULL;
	(void)rep_taken(R(p)->rep, &by, &upto);
	return lb_id_valid(by) ? by : NULL;
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
	v->waiting = r->nwaits;
	v->waited = r->waited;
	v->wait_refused = r->wait_refused;
	v->keeps = rep_nkeeps(r->rep);
	v->keeps_lost = r->keeps_lost;
	v->stats = *rep_stats(r->rep);
}
