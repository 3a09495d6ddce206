/*
 * glue.c - the shell around the task core: it feeds tasks/ the events
 * (messages, process exits, peers dead or back, ticks, the user's requests)
 * and carries out its actions with the executor, the store, the transport
 * and the membership.  It is the only file of peer/ that knows the task
 * messages (but the queries of records, reads.c); the others do one thing
 * each and call nothing back but through the callbacks given to them here.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peer.h"
#include "exec.h"
#include "glue.h"
#include "store.h"
#include "disk.h"
#include "replicas.h"
#include "repfiles.h"
#include "reads.h"
#include "cluster.h"
#include "upload.h"
#include "xfer.h"
#include "balance/balance.h"
#include "tasks/tasks.h"

#define TICK_MS		100	/* retries, timeouts, expiry */
#define LINKS_MAX	4096
#define LINK_KEEP_S	3600
#define MIGRATE_MAX	64	/* lbctl migrate requests followed here */
#define MIGRATE_KEEP_MS	(10 * 60 * 1000)	/* ... forgotten then */
#define MIGRATE_HOPS	4	/* a request passed on at most this often */


/* An lbctl migrate asked at this peer, until lbctl has read its end. */
struct migreq {
	uint64_t	 token;		/* 0: free */
	char		 id[TASKS_ID_MAX];
	uint64_t	 asked_ms;
	int		 done;
	Lb__MigrateDone	*result;	/* done: how it ended */
};

struct glue {
	struct event	*tick_ev;
	struct event	*orphan_ev;	/* once, after start */
	uint64_t	 next_req;
	uint64_t	 drop_task_msgs;
	uint64_t	 sends_unsaid;	/* a home's messages dropped: too many
					 * waited for its replicas */
	struct held {			/* ... of this batch (held_flush) */
		void	(*fn)(struct peer *, void *, int);
		void	*arg;
	}		*held;
	size_t		 nheld, capheld;
	struct migreq	 mig[MIGRATE_MAX];
	/* The latest process exit, for the freeze time of a move that
	 * follows it at once (a checkpoint asked for a move). */
	char		 exit_id[TASKS_ID_MAX];
	uint64_t	 exit_us;
	/* Periodic checkpoints copied to homes. */
	uint64_t	 copies_out, copy_snapshot_us, copy_bytes_out;
};

static void	migrate_done_in(struct peer *, const Lb__MigrateDone *);

static void	carry(struct peer *, struct tasks_out *);

static const char *
addr_of(struct peer *p, const char *id)
{
	return members_addr(p, id, NULL);
}

static uint64_t
inc_of(struct peer *p, const char *id)
{
	const struct gossip_member	*m = gossip_find(p->gossip, id);

	return m ? m->e.incarnation : 0;
}

/* A Transfer gets its files offered (the destination pulls them, see
 * xfer.c); a notice of a result its output.  The message's kind, or -1. */
static int
complete(struct peer *p, struct tasks_action *a, uint8_t **buf, size_t *len)
{
	Lb__PeerMsg	*m = lb__peer_msg__unpack(NULL, a->len, a->msg);
	char		*cause = NULL;
	int		 rc = 0;

	if (m == NULL)
		return -1;
	if (a->with_files && m->body_case == LB__PEER_MSG__BODY_TRANSFER) {
		Lb__Transfer *tr = m->transfer;

		if (a->resume && strcmp(a->id, p->glue->exit_id) == 0)
			tr->src_frozen_us = lb_mono_us() - p->glue->exit_us;
		/* A move that is tried again offers afresh. */
		xfer_drop_task(p, a->id, 0);
		if (xfer_offer(p, a->to, a->id,
		    tr->record->spec->checkpointable, tr, &cause) == -1) {
			log_warnx("task %s: cannot move it to %s: %s", a->id,
			    a->to, cause);
			free(cause);
			rc = -1;
		}
	}
	if (a->with_output && m->body_case == LB__PEER_MSG__BODY_TASK_NOTICE) {
		Lb__TaskNotice *n = m->task_notice;
		free(n->stdout.data);
		free(n->stderr.data);
		store_read_output(p, n->record, &n->stdout, &n->stderr);
	}
	/* A mailbox goes with its task: in a Transfer (kept here until the
	 * move is decided), a TaskReturn, and what it took in a result. */
	msgs_attach(p, a->id, m);
	if (rc == 0) {
		*len = lb__peer_msg__get_packed_size(m);
		*buf = lb_calloc(1, *len + 1);
		lb__peer_msg__pack(m, *buf);
		rc = (int)m->body_case;
	}
	lb__peer_msg__free_unpacked(m, NULL);
	return rc;
}

/* An effect of a home's decision, held to the end of the batch. */
static void
held_add(struct peer *p, void (*fn)(struct peer *, void *, int), void *arg)
{
	struct glue	*g = p->glue;

	if (g->nheld == g->capheld) {
		g->capheld = g->capheld ? 2 * g->capheld : 16;
		g->held = lb_reallocarray(g->held, g->capheld,
		    sizeof(*g->held));
	}
	g->held[g->nheld].fn = fn;
	g->held[g->nheld++].arg = arg;
}

/* A result's output is on a majority of the set: its acknowledgement goes
 * once the decisions before it are too. */
static void
output_held(struct peer *p, void *arg, int ok)
{
	if (!ok) {
		replicas_msg_send(p, arg, 0);
		return;
	}
	switch (replicas_after(p, replicas_msg_send, arg)) {
	case 0:
		replicas_msg_send(p, arg, 1);
		break;
	case -1:
		p->glue->sends_unsaid++;
		replicas_msg_send(p, arg, 0);
		break;
	}
}

static void
do_send(struct peer *p, struct tasks_action *a)
{
	const char		*addr = addr_of(p, a->to);
	struct replicas_msg	*w;
	uint8_t			*buf = NULL;
	size_t			 len = 0;
	int			 kind;

	if (addr == NULL)
		return;		/* dead or unknown: the core retries */
	if ((kind = complete(p, a, &buf, &len)) == -1)
		return;
	/* What this peer says as a task's home waits for its decisions to
	 * be on a majority of its replicas (node/home.c): at the end of the
	 * batch, once the batch's own records are stamped (held_flush). */
	if (replicas_holds_msg(p, a, kind)) {
		w = lb_calloc(1, sizeof(*w));
		lb_strlcpy(w->to, a->to, sizeof(w->to));
		w->buf = buf;
		w->len = len;
		/* The acknowledgement of a result whose output is in files
		 * waits for them on a majority too (the host keeps them
		 * until then): repfiles.c. */
		if (kind == LB__PEER_MSG__BODY_TASK_NOTICE_ACK) {
			repfiles_offer_output(p, a->id);
			switch (repfiles_after(p, a->id, 1, output_held, w)) {
			case 1:
				return;
			case -1:
				replicas_msg_send(p, w, 0);
				return;
			}
		}
		held_add(p, replicas_msg_send, w);
		return;
	}
	net_send_bytes(p, addr, buf, len);
	free(buf);
}

/* The batch's messages of a home: each goes once the batch's decisions
 * are on a majority; too many waiting, it is lost, as on the wire, and
 * the core says it again. */
static void
held_flush(struct peer *p)
{
	struct glue	*g = p->glue;

	for (size_t i = 0; i < g->nheld; i++) {
		struct held *h = &g->held[i];

		switch (replicas_after(p, h->fn, h->arg)) {
		case 0:
			h->fn(p, h->arg, 1);
			break;
		case -1:
			g->sends_unsaid++;
			h->fn(p, h->arg, 0);
			break;
		}
	}
	g->nheld = 0;
}

static void
do_start(struct peer *p, const char *id, int resume, uint64_t until,
    struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(p->tc, id);
	struct tasks_exit	 x;
	uint32_t		 pgid;
	char			*dir, *why = NULL;

	if (k == NULL)
		return;
	dir = store_dir(p, id);
	/* (asked to resume with nothing on disk: a task may checkpoint
	 * without files, its state kept elsewhere; it resumes) */
	if (k->rec->spec->checkpointable && store_has_checkpoint(p, id))
		resume = 1;
	else if (!k->rec->spec->checkpointable)
		resume = 0;
	if (exec_spawn(p, k->rec, dir, resume, &pgid, &why) == 0) {
		exec_lease(p, id, until);
		/* A running task that moved here: its freeze time ends now. */
		if (resume && tasks_migration_pending(k) && k->sh_arrived_us)
			tasks_migration_measured(p->tc, id, k->sh_src_us +
			    (lb_mono_us() - k->sh_arrived_us), k->sh_bytes);
		k->sh_arrived_us = 0;
		tasks_proc_started(p->tc, lb_mono_ms(), id, pgid, o);
	} else {
		memset(&x, 0, sizeof(x));
		x.error = why;
		log_info("task %s failed: %s", id, why);
		tasks_proc_exited(p->tc, lb_mono_ms(), id, &x, o);
		free(why);
	}
	free(dir);
}

/* How an lbctl migrate ended, to the peer where it was asked. */
static void
migrate_done_send(struct peer *p, const char *origin, const Lb__MigrateDone *d)
{
	Lb__PeerMsg	 m = LB__PEER_MSG__INIT;
	const char	*addr;

	if (strcmp(origin, p->conf.id) == 0) {
		migrate_done_in(p, d);
		return;
	}
	if ((addr = addr_of(p, origin)) == NULL)
		return;		/* lbctl there times out */
	m.body_case = LB__PEER_MSG__BODY_MIGRATE_DONE;
	m.migrate_done = (Lb__MigrateDone *)d;
	net_send(p, addr, &m);
}

/*
 * A task held here (not at its home) checkpointed: snapshot its checkpoint
 * before it starts again from it, and offer the snapshot to its home.
 * Best effort: the next checkpoint sends a newer one.
 */
static void
ck_copy(struct peer *p, const char *id, uint32_t seq)
{
	struct tasks_task	*k = tasks_find(p->tc, id);
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__CheckpointCopy	 cc = LB__CHECKPOINT_COPY__INIT;
	Lb__Transfer		 tr = LB__TRANSFER__INIT;
	char			 home[LB_ID_MAX], *cause = NULL;
	const char		*addr;
	uint64_t		 t0 = lb_mono_us(), bytes;

	if (k == NULL)
		return;
	if (k->home) {
		/* The home holds this checkpoint itself. */
		msgs_checkpointed(p, id, NULL);
		return;
	}
	tasks_home_of(id, home);
	if ((addr = addr_of(p, home)) == NULL)
		return;		/* its home is down: the next one */
	if (store_snapshot_ck(p, id, &bytes, &cause) == -1) {
		log_warnx("task %s: no copy of its checkpoint for its home: %s",
		    id, cause);
		free(cause);
		return;
	}
	p->glue->copy_snapshot_us += lb_mono_us() - t0;
	tr.record = k->rec;
	if (xfer_offer(p, home, id, 2, &tr, &cause) == -1) {
		log_warnx("task %s: no copy of its checkpoint for its home: %s",
		    id, cause);
		free(cause);
		return;
	}
	cc.seq = seq;
	cc.transfer = &tr;
	msgs_consumed(p, id, &cc);
	m.body_case = LB__PEER_MSG__BODY_CHECKPOINT_COPY;
	m.checkpoint_copy = &cc;
	net_send(p, addr, &m);
	msgs_consumed_free(&cc);
	p->glue->copies_out++;
	p->glue->copy_bytes_out += bytes;
	log_debug("task %s: checkpoint %u (%" PRIu64 " bytes) offered to its "
	    "home %s", id, seq, bytes, home);
	for (size_t i = 0; i < tr.n_manifest; i++)
		lb__xfer_file__free_unpacked(tr.manifest[i], NULL);
	free(tr.manifest);
}

/* That a migration a client asked for is done (or not). */
static void
migrated_later(struct peer *p, void *arg, int ok)
{
	struct tasks_action	*a = arg;
	Lb__MigrateDone		 d = LB__MIGRATE_DONE__INIT;

	if (ok) {
		d.req_id = a->req;
		d.task_id = a->id;
		d.ok = a->ok;
		d.host = a->host;
		d.error = a->note;
		d.freeze_us = a->freeze_us;
		d.checkpoint_ms = a->checkpoint_ms;
		d.bytes = a->bytes;
		migrate_done_send(p, a->to, &d);
	}
	free(a);
}

/* Carry out the core's actions, in order; what they cause, after them. */
static void
carry(struct peer *p, struct tasks_out *o)
{
	struct tasks_out	 next = { 0 };
	struct tasks_task	*k;
	char			*cause;

	for (size_t i = 0; i < o->n; i++) {
		struct tasks_action *a = &o->v[i];

		switch (a->kind) {
		case TA_SEND:
			do_send(p, a);
			break;
		case TA_SAVE:
			if ((k = tasks_find(p->tc, a->id)) != NULL) {
				replicas_saving(p, k->rec);
				store_save(p, k->rec, a->sync);
				/* A result with output in files (one that
				 * ran here: no host waits for its ack): the
				 * files go to the replica set. */
				if (k->home && !tasks_unfinished(k->rec))
					repfiles_offer_output(p, a->id);
			}
			break;
		case TA_FORGET:
			xfer_drop_task(p, a->id, 1);
			store_forget(p, a->id);
			break;
		case TA_START:
			/* Its files are its own again: no longer on offer
			 * (a copy of its checkpoint is of a snapshot). */
			xfer_drop_task(p, a->id, 0);
			do_start(p, a->id, a->resume, a->until, &next);
			break;
		case TA_STOP:
			exec_kill(p, a->id);
			break;
		case TA_OUTPUT:
			/* (A full disk: the result stands, its output
			 * files do not.) */
			if (store_write_output(p, a->id, a->out, a->err,
			    &cause) == -1) {
				log_warnx("task %s: its output could not be "
				    "kept: %s", a->id, cause);
				free(cause);
			}
			break;
		case TA_NOTE:
			log_info("%s", a->note);
			break;
		case TA_LOAD:
			glue_load_changed(p);
			break;
		case TA_CKCOPY:
			ck_copy(p, a->id, a->seq);
			break;
		case TA_CHECKPOINT:
			if ((k = tasks_find(p->tc, a->id)) != NULL &&
			    exec_signal(p, a->id,
			    k->rec->spec->checkpoint_signal) == -1)
				log_warnx("task %s: cannot signal it to "
				    "checkpoint: %s", a->id, strerror(errno));
			break;
		case TA_LEASE:
			exec_lease(p, a->id, a->until);
			break;
		case TA_REPLAY: {
			/* From where it will start (do_start): the home's
			 * checkpoint copy, or its own from when the task left
			 * it (the core counts only copies), else its start,
			 * with a checkpoint's messages too. */
			struct tasks_task *rk = tasks_find(p->tc, a->id);
			int res = rk != NULL &&
			    rk->rec->spec->checkpointable &&
			    (store_has_checkpoint(p, a->id) || a->resume);

			msgs_replay(p, a->id, !res);
			break;
		}
		case TA_FREEZE:
		case TA_THAW:
			exec_freeze(p, a->id, a->kind == TA_FREEZE);
			break;
		case TA_MIGRATED: {
			/* (said once the move is on a majority) */
			struct tasks_action *w = lb_calloc(1, sizeof(*w));

			*w = *a;
			w->msg = NULL;
			w->out = w->err = NULL;
			held_add(p, migrated_later, w);
			break;
		}
		}
	}
	tasks_out_reset(o);
	held_flush(p);
	if (next.n > 0)
		carry(p, &next);
	tasks_out_free(&next);
}

/* ---- events in ---- */

static void
proc_exited(struct peer *p, const char *id, struct tasks_exit *x)
{
	struct tasks_out	 o = { 0 };
	struct tasks_task	*k;

	lb_strlcpy(p->glue->exit_id, id, sizeof(p->glue->exit_id));
	p->glue->exit_us = lb_mono_us();
	tasks_proc_exited(p->tc, lb_mono_ms(), id, x, &o);
	carry(p, &o);
	tasks_out_free(&o);
	if ((k = tasks_find(p->tc, id)) != NULL && (k->hold == HOLD_NONE ||
	    k->hold == HOLD_ENDED))
		store_release_dir(p, id);
	balancer_kick(p);
}

static void
on_peer(struct peer *p, const char *id, int restarted, uint64_t inc)
{
	struct tasks_out	o = { 0 };

	if (restarted)
		tasks_peer_restarted(p->tc, lb_mono_ms(), id, inc, &o);
	else
		tasks_peer_dead(p->tc, lb_mono_ms(), id, &o);
	carry(p, &o);
	tasks_out_free(&o);
	balancer_kick(p);
}

static int
on_move(struct peer *p, const char *id, const char *to, uint64_t req_id)
{
	struct tasks_out	o = { 0 };
	int			rc;

	rc = tasks_move(p->tc, lb_mono_ms(), id, to, inc_of(p, to), req_id,
	    &o);
	carry(p, &o);
	tasks_out_free(&o);
	return rc;
}

/* Compaction hands the journal every record this peer keeps. */
struct compact_iter {
	struct tasks_task	**all;
	size_t			  n, i;
};

static const Lb__TaskRecord *
compact_next(void *arg)
{
	struct compact_iter	*it = arg;

	/* A placement not yet committed is not journaled (see tasks.h). */
	while (it->i < it->n && !it->all[it->i]->home &&
	    it->all[it->i]->hold == HOLD_PENDING)
		it->i++;
	return it->i < it->n ? it->all[it->i++]->rec : NULL;
}

/* An offer serves a move until the destination holds the task. */
static int
offer_needed(struct peer *p, const char *id)
{
	struct tasks_task	*k = tasks_find(p->tc, id);

	return k != NULL && k->hold == HOLD_FROZEN && !k->move_acked;
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer		*p = arg;
	struct tasks_out	 o = { 0 };
	struct timeval		 tv = { 0, TICK_MS * 1000 };
	struct compact_iter	 it = { 0 };
	char			*cause;
	uint64_t		 before;
	int			 moved;

	/* Who is alive, once this peer has been up long enough to know
	 * (gossip.dead_ms, as it applies with this many members). */
	if (lb_mono_ms() - p->started_ms >= members_dead_ms(p)) {
		size_t n, alive = 0;
		const struct gossip_member *m = gossip_members(p->gossip, &n);
		const char **ids = lb_calloc(n + 1, sizeof(*ids));

		for (size_t i = 0; i < n; i++)
			if (m[i].state == GOSSIP_ALIVE)
				ids[alive++] = m[i].e.id;
		tasks_set_alive(p->tc, ids, alive);
		free(ids);
	}
	tasks_tick(p->tc, lb_mono_ms(), &o);
	disk_check(p, &o);
	replicas_tick(p, lb_mono_ms(), &o);
	repfiles_tick(p, lb_mono_ms());
	moved = replicas_keeps_moved(p);
	if (moved)
		msgs_keeps_sync(p, 0);	/* (before the tasks taken over run) */
	carry(p, &o);
	/* (to the set after the records that name this peer their home:
	 * a replica takes a task's kept messages from its home only) */
	if (moved)
		msgs_keeps_sync(p, 1);
	tasks_out_free(&o);
	if (p->conf.balance.preempt)
		glue_load_changed(p);	/* tasks become preemptible */
	xfer_prune(p, offer_needed);
	/* More dead records than live: a snapshot of the live, then a fresh
	 * log, switched atomically. */
	if (store_compact_due(p, tasks_count(p->tc, NULL))) {
		it.all = tasks_all(p->tc, &it.n);
		before = store_journal_size(p);
		if (store_compact(p, compact_next, &it, &cause) == -1) {
			log_warnx("journal: compaction failed: %s", cause);
			free(cause);
		} else
			log_info("journal compacted: %zu records kept, %llu "
			    "bytes to %llu", it.n, (unsigned long long)before,
			    (unsigned long long)store_journal_size(p));
	}
	evtimer_add(p->glue->tick_ev, &tv);
}

/*
 * Once, when gossip has had time to see who is dead: tasks homed here whose
 * host died while this peer was down would wait for a result that will
 * never come.  Their hosts are reported dead to the core.
 */
static void
orphan_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer		 *p = arg;
	struct tasks_task	**all;
	struct tasks_out	  o = { 0 };
	struct gone {
		char		id[LB_ID_MAX];
		uint64_t	inc;	/* alive at this incarnation, or 0 */
	}			 *gone = NULL;
	size_t			  n, ngone = 0;

	/* First the hosts (copies: the core changes the table as it goes). */
	all = tasks_all(p->tc, &n);
	for (size_t i = 0; i < n; i++) {
		Lb__TaskRecord *r = all[i]->rec;
		const struct gossip_member *m;
		uint64_t inc = 0;
		size_t k;

		if (!all[i]->home || !tasks_unfinished(r) ||
		    strcmp(r->host, p->conf.id) == 0)
			continue;
		if (members_addr(p, r->host, NULL) != NULL) {
			/*
			 * Alive; but a host that restarted while this peer
			 * was down, at an incarnation that never confirmed
			 * the task, is no restart to a gossip table that is
			 * new: the core reruns what it did not confirm.
			 */
			m = gossip_find(p->gossip, r->host);
			if (m == NULL || m->e.incarnation <= r->host_inc)
				continue;
			inc = m->e.incarnation;
		}
		for (k = 0; k < ngone; k++)
			if (!strcmp(gone[k].id, r->host))
				break;
		if (k == ngone) {
			gone = lb_reallocarray(gone, ngone + 1, sizeof(*gone));
			lb_strlcpy(gone[ngone].id, r->host, LB_ID_MAX);
			gone[ngone++].inc = inc;
		}
	}
	for (size_t k = 0; k < ngone; k++) {
		if (gone[k].inc != 0)
			tasks_peer_restarted(p->tc, lb_mono_ms(), gone[k].id,
			    gone[k].inc, &o);
		else {
			log_info("%s is not alive: its tasks homed here run "
			    "again", gone[k].id);
			tasks_peer_dead(p->tc, lb_mono_ms(), gone[k].id, &o);
		}
		carry(p, &o);
	}
	free(gone);
	tasks_out_free(&o);
}

/*
 * A Transfer: its files are pulled first (xfer.c), into a staging
 * directory; only when all of them are here, their hashes checked, are
 * they put in place and the Transfer handed to the core (fetch_done).  A
 * transfer that fails leaves nothing, and no acknowledgement: the source
 * takes its task back.
 */
static void
transfer_in(struct peer *p, const char *from, uint64_t inc,
    const Lb__PeerMsg *m)
{
	const Lb__Transfer	*tr = m->transfer;
	char			*cause = NULL;

	if (tr->record == NULL || !tasks_id_valid(tr->record->id) ||
	    tr->record->spec == NULL) {
		p->glue->drop_task_msgs++;
		return;
	}
	if (tr->xfer_id == 0) {
		p->glue->drop_task_msgs++;
		log_warnx("task %s: transfer from %s without a manifest (a "
		    "peer older than this one?): refused", tr->record->id,
		    from);
		return;
	}
	if (xfer_fetching(p, from, tr->xfer_id))
		return;		/* a duplicate: the fetch goes on */
	if (!tasks_transfer_wanted(p->tc, from, tr)) {
		/* Refused (or held already): the core answers at once, and
		 * nothing is pulled. */
		struct tasks_out o = { 0 };
		tasks_recv(p->tc, lb_mono_ms(), from, inc, m, &o);
		carry(p, &o);
		tasks_out_free(&o);
		return;
	}
	if (disk_short(p) != NULL) {
		/* No ack: the source aborts the move and keeps the task. */
		log_warnx("task %s: transfer from %s refused: %s",
		    tr->record->id, from, disk_short(p));
		return;
	}
	if (xfer_fetch(p, from, inc, m, &cause) == -1) {
		p->glue->drop_task_msgs++;
		log_warnx("task %s: transfer from %s refused: %s",
		    tr->record->id, from, cause);
		free(cause);
	}
}

/* Home: a copy of a task's checkpoint is on offer at its host. */
static void
ckcopy_in(struct peer *p, const char *from, uint64_t inc,
    const Lb__PeerMsg *m)
{
	const Lb__CheckpointCopy *cc = m->checkpoint_copy;
	char			 *cause = NULL;

	if (cc->transfer == NULL || cc->transfer->record == NULL ||
	    cc->transfer->record->spec == NULL ||
	    !tasks_id_valid(cc->transfer->record->id)) {
		p->glue->drop_task_msgs++;
		return;
	}
	if (!tasks_checkpoint_wanted(p->tc, cc->transfer->record->id, from,
	    cc->seq) || xfer_fetching(p, from, cc->transfer->xfer_id))
		return;		/* not its host, or not newer */
	if (xfer_fetch(p, from, inc, m, &cause) == -1) {
		log_warnx("task %s: copy of its checkpoint from %s refused: %s",
		    cc->transfer->record->id, from, cause);
		free(cause);
	}
}

/* The files of a transfer are here (or could not come: xfer.c said why). */
static void
fetch_done(struct peer *p, const char *from, uint64_t inc,
    const Lb__PeerMsg *m, uint64_t arrived_us, const char *staged,
    const char *error)
{
	const Lb__Transfer	*tr;
	const char		*id;
	struct tasks_out	 o = { 0 };
	struct tasks_task	*k;
	char			*cause = NULL;
	int			 fresh;

	if (m->body_case == LB__PEER_MSG__BODY_REPLICA_FILES) {
		repfiles_fetched(p, from, m, staged, error);
		return;
	}
	if (error != NULL)
		return;
	if (m->body_case == LB__PEER_MSG__BODY_CHECKPOINT_COPY) {
		const Lb__CheckpointCopy *cc = m->checkpoint_copy;
		id = cc->transfer->record->id;
		/* Still its host's, and still newer than what is here. */
		if (!tasks_checkpoint_wanted(p->tc, id, from, cc->seq))
			return;
		if (store_install_ck(p, id, staged, &cause) == -1) {
			log_warnx("task %s: copy of its checkpoint: %s", id,
			    cause);
			free(cause);
			return;
		}
		tasks_checkpoint_copied(p->tc, lb_mono_ms(), id, cc->seq, &o);
		/* The messages the task had taken are in it now. */
		msgs_checkpointed(p, id, cc);
		log_debug("task %s: checkpoint %u copied from %s", id, cc->seq,
		    from);
		carry(p, &o);
		tasks_out_free(&o);
		return;
	}
	tr = m->transfer;
	id = tr->record->id;
	k = tasks_find(p->tc, id);
	fresh = k == NULL;
	/* Only a Transfer the core takes puts its files in place (a home's
	 * files stay as they are for one it refuses). */
	if (tasks_transfer_wanted(p->tc, from, tr) && (k == NULL ||
	    k->hold == HOLD_NONE)) {
		if (store_install(p, id, staged, &cause) == -1) {
			log_warnx("task %s: transfer from %s: %s", id, from,
			    cause);
			free(cause);
			if (fresh)	/* a home's record keeps its output */
				store_remove(p, id);
			return;		/* no ack: the source aborts */
		}
	}
	tasks_recv(p->tc, lb_mono_ms(), from, inc, m, &o);
	if (fresh && tasks_find(p->tc, id) == NULL)
		store_remove(p, id);
	else if ((k = tasks_find(p->tc, id)) != NULL &&
	    k->hold == HOLD_PENDING) {
		balancer_arrived(p);	/* the slot reserved for it is used */
		msgs_arrived(p, id, m);
		/* Back at its home, with the checkpoint it left with: the
		 * messages it had taken are in that checkpoint, here now. */
		if (k->home)
			msgs_checkpointed(p, id, NULL);
		/* Its freeze time runs from the Transfer's arrival, before
		 * its files were pulled (measured at its start if it came by
		 * a migration, which its home knows at the commit). */
		{
			k->sh_arrived_us = arrived_us;
			k->sh_src_us = tr->src_frozen_us;
			k->sh_bytes = tr->bytes;
		}
	}
	carry(p, &o);
	tasks_out_free(&o);
}

/*
 * A chunk of a move out was served: the move is alive.  Served whole, the
 * destination still puts the files on disk (an fdatasync of each) before
 * it acknowledges: that may take a while on a busy disk, 1 ms a 16 KiB
 * (16 MB/s) here.  A destination that dies meanwhile is seen dead, and the
 * move aborted then, not at this deadline.
 */
static void
served(struct peer *p, const char *id, uint64_t whole)
{
	uint64_t extra = whole >> 14;

	tasks_move_progress(p->tc, lb_mono_ms(), id, extra > 120000 ? 120000 :
	    extra);
}

static void	migrate_recv(struct peer *, const char *,
		    const Lb__TaskMigrate *);

void
glue_recv(struct peer *p, const Lb__Envelope *e)
{
	Lb__PeerMsg		*m;
	struct tasks_out	 o = { 0 };
	int			 moved = 0;

	m = lb__peer_msg__unpack(NULL, e->body.len, e->body.data);
	if (m == NULL) {
		p->counters.drop[ENV_DROP_DECODE]++;
		return;
	}
	switch (m->body_case) {
	case LB__PEER_MSG__BODY_GOSSIP:
		members_recv(p, e->sender, m->gossip);
		break;
	case LB__PEER_MSG__BODY_PROBE:
	case LB__PEER_MSG__BODY_PROBE_REPLY:
		balancer_recv(p, e->sender, m);
		break;
	case LB__PEER_MSG__BODY_TASK_QUERY:
		reads_query_in(p, e->sender, m->task_query);
		break;
	case LB__PEER_MSG__BODY_TASK_ANSWER:
		reads_answer_in(p, e->sender, m->task_answer);
		break;
	case LB__PEER_MSG__BODY_CLUSTER_QUERY:
		cluster_query_in(p, e->sender, m->cluster_query);
		break;
	case LB__PEER_MSG__BODY_CLUSTER_ANSWER:
		cluster_answer_in(p, e->sender, m->cluster_answer);
		break;
	case LB__PEER_MSG__BODY_TRANSFER:
		transfer_in(p, e->sender, e->incarnation, m);
		break;
	case LB__PEER_MSG__BODY_CHUNK_REQ:
		xfer_chunk_req(p, e->sender, m->chunk_req);
		break;
	case LB__PEER_MSG__BODY_CHUNK_DATA:
		xfer_chunk_data(p, e->sender, m->chunk_data);
		break;
	case LB__PEER_MSG__BODY_TASK_MIGRATE:
		migrate_recv(p, e->sender, m->task_migrate);
		break;
	case LB__PEER_MSG__BODY_CHECKPOINT_COPY:
		ckcopy_in(p, e->sender, e->incarnation, m);
		break;
	case LB__PEER_MSG__BODY_MIGRATE_DONE:
		migrate_done_in(p, m->migrate_done);
		break;
	case LB__PEER_MSG__BODY_TASK_MSG:
	case LB__PEER_MSG__BODY_TASK_MSG_ACK:
	case LB__PEER_MSG__BODY_TASK_LOCATION:
	case LB__PEER_MSG__BODY_TASK_LOCATE:
	case LB__PEER_MSG__BODY_MAIL_COPY:
	case LB__PEER_MSG__BODY_MAIL_COPY_ACK:
		msgs_recv(p, e->sender, m);
		break;
	case LB__PEER_MSG__BODY_REPLICA_FILES:
	case LB__PEER_MSG__BODY_REPLICA_FILES_ACK:
		repfiles_recv(p, e->sender, e->incarnation, m);
		break;
	case LB__PEER_MSG__BODY_REPLICA_PUT:
	case LB__PEER_MSG__BODY_REPLICA_ACK:
	case LB__PEER_MSG__BODY_HOME_VOTE:
	case LB__PEER_MSG__BODY_HOME_VOTE_REPLY:
	case LB__PEER_MSG__BODY_HOME_ACTING:
		replicas_recv(p, e->sender, m, &o);
		if ((moved = replicas_keeps_moved(p)))
			msgs_keeps_sync(p, 0);
		break;
	case LB__PEER_MSG__BODY__NOT_SET:
		p->counters.drop[ENV_DROP_DECODE]++;
		break;
	default:
		/* A holder back from a crash lost only what this home keeps
		 * copies of (messages not in the checkpoint it has): none,
		 * and its placement goes on. */
		if (m->body_case == LB__PEER_MSG__BODY_TASK_NOTICE &&
		    m->task_notice->mailbox_lost &&
		    m->task_notice->record != NULL &&
		    !msgs_kept_unmarked(p, m->task_notice->record->id))
			m->task_notice->mailbox_lost = 0;
		tasks_recv(p->tc, lb_mono_ms(), e->sender, e->incarnation, m,
		    &o);
		if (m->body_case == LB__PEER_MSG__BODY_TASK_RETURN)
			msgs_arrived(p, m->task_return->task_id, m);
		else if (m->body_case == LB__PEER_MSG__BODY_TASK_NOTICE &&
		    m->task_notice->record != NULL)
			msgs_arrived(p, m->task_notice->record->id, m);
		break;
	}
	/* The actions may point into the message (output to keep): carry
	 * them out before it goes. */
	carry(p, &o);
	if (moved)
		msgs_keeps_sync(p, 1);	/* (after the records: see tick_cb) */
	tasks_out_free(&o);
	lb__peer_msg__free_unpacked(m, NULL);
}

/* ---- start and stop ---- */

static void
replay_cb(Lb__TaskRecord *rec, void *arg)
{
	struct peer	*p = arg;

	replicas_restored(p, rec);
	tasks_restore(p->tc, rec);
}

int
glue_start(struct peer *p, char **cause)
{
	struct tasks_conf	 c;
	struct tasks_out	 o = { 0 };
	struct tasks_task	**all;
	struct timeval		 tv = { 0, TICK_MS * 1000 };
	size_t			 n, homed;
	const char		*attrs;

	memset(&c, 0, sizeof(c));
	c.slots = p->conf.slots;
	c.transfer_timeout_ms = p->conf.balance.transfer_timeout_ms;
	c.retry_min_ms = p->conf.task.retry_min_ms;
	c.retry_max_ms = p->conf.task.retry_max_ms;
	c.keep_finished_s = p->conf.task.keep_finished_s;
	c.max_tasks = (size_t)p->conf.task.max_tasks;
	c.max_links = LINKS_MAX;
	c.link_keep_s = LINK_KEEP_S;
	c.attach_limit = p->conf.task.attach_limit;
	c.checkpoint_timeout_ms = p->conf.task.checkpoint_timeout_ms;
	c.checkpoint_every_s = (uint32_t)p->conf.task.checkpoint_every_s;
	c.checkpoint_grace_ms = p->conf.task.checkpoint_grace_ms;
	c.lease_ms = p->conf.task.lease_ms;
	c.lease_margin_ms = p->conf.task.lease_margin_ms;
	c.max_start_failures = p->conf.task.max_start_failures;
	c.preempt_slice_ms = p->conf.balance.preempt ?
	    p->conf.balance.preempt_slice_ms : 0;
	attrs = gossip_members(p->gossip, &n)[0].e.attrs;
	p->glue = lb_calloc(1, sizeof(*p->glue));
	reads_start(p);
	cluster_start(p);
	p->tc = tasks_new(&c, p->conf.id, p->incarnation, attrs,
	    (int64_t)lb_wall_ms() - (int64_t)lb_mono_ms());
	exec_start(p, proc_exited);
	members_on_peer(p, on_peer);
	balancer_on_move(p, on_move);
	if (replicas_start(p, cause) == -1 ||
	    repfiles_start(p, cause) == -1 ||
	    store_open(p, replay_cb, p, cause) == -1 ||
	    xfer_start(p, fetch_done, addr_of, cause) == -1 ||
	    upload_start(p, cause) == -1)
		return -1;
	xfer_on_serve(p, served);
	replicas_on_adopt(p, repfiles_adopting, repfiles_adopted);
	/* What a crashed earlier life left running is killed first. */
	all = tasks_all(p->tc, &n);
	for (size_t i = 0; i < n; i++)
		if (all[i]->rec->pgid > 1)
			exec_reap_orphans(all[i]->rec->pgid, all[i]->rec->id);
	tasks_seq_floor(p->tc, store_ids_floor(p));
	tasks_count(p->tc, &homed);
	if (n > 0)
		log_info("journal: %zu tasks homed or held here (%zu homed)",
		    n, homed);
	/* A home whose set may have elected another while it was away acts
	 * only once its set has answered (replicas.c). */
	tasks_set_home_hold(p->tc, lb_mono_ms(), replicas_must_wait(p), &o);
	/* (after a crash the mailboxes of the tasks held here are gone:
	 * their homes, told so, run those again that lost messages) */
	if (!msgs_stopped_cleanly(p))
		tasks_mailboxes_lost(p->tc);
	tasks_start(p->tc, lb_mono_ms(), &o);
	replicas_readopt(p, &o);
	/* What this home keeps of its tasks' messages goes to its set in
	 * this life's stream (with what tasks taken over brought), after
	 * the records. */
	if (replicas_keeps_moved(p))
		msgs_keeps_sync(p, 0);
	carry(p, &o);
	msgs_keeps_sync(p, 1);
	tasks_out_free(&o);
	p->glue->tick_ev = evtimer_new(p->base, tick_cb, p);
	evtimer_add(p->glue->tick_ev, &tv);
	{
		int ms = p->conf.gossip.dead_ms + 2 * p->conf.gossip.interval_ms;
		struct timeval otv = { ms / 1000, (ms % 1000) * 1000 };
		p->glue->orphan_ev = evtimer_new(p->base, orphan_cb, p);
		evtimer_add(p->glue->orphan_ev, &otv);
	}
	return 0;
}

void
glue_leaving(struct peer *p)
{
	if (p->tc != NULL)
		tasks_set_leaving(p->tc, 1);
}

void
glue_draining(struct peer *p, int draining)
{
	if (p->tc != NULL)
		tasks_set_draining(p->tc, draining);
	/* Undrained, the queue starts at the next tick. */
}

int
glue_give_back(struct peer *p, const char *id, const char *why)
{
	struct tasks_out	 o = { 0 };
	struct tasks_task	*k = tasks_find(p->tc, id);
	char			 home[LB_ID_MAX];
	int			 rc;

	/*
	 * A task that can checkpoint goes home with its checkpoint (a move,
	 * as lbctl migrate makes), so that it goes on from there rather than
	 * from an older copy or from the start; handed back only if that
	 * cannot be, or did not work.  -1 meanwhile: ask again later.
	 */
	if (k != NULL && !k->home && k->rec->spec->checkpointable) {
		tasks_home_of(id, home);
		if (k->ck_asked || k->hold == HOLD_FROZEN)
			return -1;	/* on its way */
		if (!k->sh_home_tried && addr_of(p, home) != NULL &&
		    (k->hold == HOLD_RUNNING || k->hold == HOLD_QUEUED)) {
			k->sh_home_tried = 1;
			rc = tasks_move(p->tc, lb_mono_ms(), id, home,
			    inc_of(p, home), ++p->glue->next_req, &o);
			carry(p, &o);
			tasks_out_free(&o);
			if (rc == 0) {
				log_info("task %s: %s; it goes home with its "
				    "checkpoint", id, why);
				return -1;
			}
		}
	}
	rc = tasks_give_back(p->tc, lb_mono_ms(), id, why, &o);
	carry(p, &o);
	tasks_out_free(&o);
	if (rc == 0)
		balancer_kick(p);
	return rc;
}

void
glue_stop(struct peer *p)
{
	if (p->glue == NULL)
		return;
	exec_stop(p);
	if (p->glue->tick_ev)
		event_free(p->glue->tick_ev);
	if (p->glue->orphan_ev)
		event_free(p->glue->orphan_ev);
	reads_stop(p);
	cluster_stop(p);
	for (size_t i = 0; i < MIGRATE_MAX; i++)
		if (p->glue->mig[i].result != NULL)
			lb__migrate_done__free_unpacked(p->glue->mig[i].result,
			    NULL);
	upload_stop(p);
	xfer_stop(p);
	tasks_free(p->tc);
	p->tc = NULL;
	store_close(p);
	repfiles_stop(p);
	replicas_stop(p);
	for (size_t i = 0; i < p->glue->nheld; i++)
		p->glue->held[i].fn(p, p->glue->held[i].arg, 0);
	free(p->glue->held);
	free(p->glue);
	p->glue = NULL;
}

/* ---- what lbctl asks ---- */

/* Refuse what could run nowhere, with a message the user can act on. */
static int
spec_check(struct peer *p, const Lb__TaskSpec *s, char **cause)
{
	uint64_t	total = 0, lim = p->conf.task.attach_limit;

	for (size_t i = 0; i < s->n_files; i++)
		total += s->files[i]->data.len > s->files[i]->size ?
		    s->files[i]->data.len : s->files[i]->size;
	if (total > lim) {
		*cause = lb_printf("the attachments take %" PRIu64 " bytes; "
		    "the limit is %s", total, xfer_limit_name(p));
		return -1;
	}
	if (tasks_spec_valid(p->tc, s, cause) == -1)
		return -1;
	if (s->pin[0] != '\0' && gossip_find(p->gossip, s->pin) == NULL) {
		*cause = lb_printf("--pin %s: there is no node %s in the cluster",
		    s->pin, s->pin);
		return -1;
	}
	if (s->n_needs > 0) {
		const struct gossip_member *m;
		size_t n, i;
		char *needs = lb_join_list(s->needs, s->n_needs);

		m = gossip_members(p->gossip, &n);
		for (i = 0; i < n; i++)
			if (m[i].state == GOSSIP_ALIVE && balance_attrs_ok(needs,
			    m[i].e.attrs) && (s->pin[0] == '\0' ||
			    strcmp(s->pin, m[i].e.id) == 0))
				break;
		if (i == n) {
			*cause = lb_printf("--needs %s: no live peer%s has %s",
			    needs, s->pin[0] ? " of the --pin" : "",
			    s->n_needs > 1 ? "all of them" : "it");
			free(needs);
			return -1;
		}
		free(needs);
	}
	return 0;
}

/*
 * The spec's files with a size and no bytes were uploaded first: they
 * are taken from `uploads`, in order; the others are written here.
 */
static int
submit_files(struct peer *p, const char *id, const Lb__TaskSpec *spec,
    const uint64_t *uploads, size_t nuploads, char **cause)
{
	Lb__TaskFile	**inl = lb_calloc(spec->n_files + 1, sizeof(*inl));
	size_t		  ninl = 0, u = 0;
	uint64_t	  size;
	int		  dfd, rc = -1;

	if ((dfd = store_task_fd(p, id, 0, cause)) == -1) {
		free(inl);
		return -1;
	}
	for (size_t i = 0; i < spec->n_files; i++) {
		const Lb__TaskFile *f = spec->files[i];

		if (f->data.len > 0 || f->size == 0) {
			inl[ninl++] = (Lb__TaskFile *)f;
			continue;
		}
		if (u == nuploads) {
			*cause = lb_printf("--file %s: neither sent nor "
			    "uploaded", f->name);
			goto out;
		}
		if (upload_take(p, uploads[u++], f->name, f->mode, dfd,
		    &size, cause) == -1)
			goto out;
		if (size != f->size) {
			*cause = lb_printf("--file %s: %" PRIu64 " bytes "
			    "uploaded, %" PRIu64 " announced", f->name, size,
			    f->size);
			goto out;
		}
	}
	rc = store_write_files(p, id, inl, ninl, cause);
out:
	close(dfd);
	free(inl);
	return rc;
}

int
glue_submit(struct peer *p, const Lb__TaskSpec *spec, const uint64_t *uploads,
    size_t nuploads, char **idp, char **cause)
{
	struct tasks_out	o = { 0 };
	char			id[TASKS_ID_MAX];

	/*
	 * Sent again: answered as the first one was, before any check that
	 * may have changed since (the members --needs and --pin name are not
	 * known yet just after a restart) and before a directory is made.
	 */
	if (tasks_request_seen(p->tc, &spec->request_id)) {
		if (tasks_submit(p->tc, lb_mono_ms(), spec, idp, &o,
		    cause) == -1) {
			tasks_out_free(&o);
			return -1;
		}
		tasks_out_free(&o);	/* none: nothing changed */
		log_info("task %s: its submit came again (the same request "
		    "id): answered with its id", *idp);
		return 1;
	}
	if (spec_check(p, spec, cause) == -1)
		return -1;
	if (disk_short(p) != NULL) {
		*cause = lb_printf("%s: try another peer, or later",
		    disk_short(p));
		return -1;
	}
	if (store_ids_reserve(p, tasks_next_seq(p->tc), cause) == -1)
		return -1;
	snprintf(id, sizeof(id), "%s.%" PRIu64, p->conf.id,
	    tasks_next_seq(p->tc));
	if (store_mkdir(p, id, cause) == -1)
		return -1;
	if (submit_files(p, id, spec, uploads, nuploads, cause) == -1 ||
	    tasks_submit(p->tc, lb_mono_ms(), spec, idp, &o, cause) == -1) {
		store_remove(p, id);
		tasks_out_free(&o);
		return -1;
	}
	log_info("task %s accepted: %s", *idp, spec->argv[0]);
	/* Its attachments to the replica set first (as they are before it
	 * starts: a replica holds them as they were pulled). */
	repfiles_offer(p, *idp);
	carry(p, &o);
	tasks_out_free(&o);
	/* A new task may move before it starts: ask the balancer now. */
	balancer_kick(p);
	return 0;
}

/*
 * The peer that decides for task `id` now, into `out`: this one if it is
 * the task's home (or acts as it), the replica acting for its home when
 * a record known here says so (the task's own, a replica's copy, an
 * answer), else its home while alive.  -1 when its home is down and no
 * one is known to act for it: the peers that would know are asked now
 * (`state`: what its home is).
 */
static int
home_now(struct peer *p, const char *id, char out[LB_ID_MAX],
    const char **state)
{
	struct tasks_task	*k = tasks_find(p->tc, id);
	const Lb__TaskRecord	*best = NULL, *c[3] = { NULL, NULL, NULL };
	const Lb__TaskAnswer	*a;
	const char		*replica;
	char			 home[LB_ID_MAX], *cause = NULL;

	*state = "alive";
	if (k != NULL && k->home) {
		lb_strlcpy(out, p->conf.id, LB_ID_MAX);
		return 0;
	}
	c[0] = k != NULL ? k->rec : NULL;
	c[1] = replicas_held(p, id);
	c[2] = reads_cached(p, id);
	for (size_t i = 0; i < 3; i++)
		if (c[i] != NULL && c[i]->home_term > 0 &&
		    lb_id_valid(c[i]->home_peer) && (best == NULL ||
		    c[i]->home_term > best->home_term))
			best = c[i];
	if (best != NULL && strcmp(best->home_peer, p->conf.id) != 0 &&
	    members_addr(p, best->home_peer, NULL) != NULL) {
		lb_strlcpy(out, best->home_peer, LB_ID_MAX);
		return 0;
	}
	tasks_home_of(id, home);
	if ((strcmp(home, p->conf.id) != 0 && members_addr(p, home, state)) ||
	    (strcmp(home, p->conf.id) == 0 && !replicas_gave_up(p, id))) {
		lb_strlcpy(out, home, LB_ID_MAX);
		return 0;	/* (here: the core says if it knows it) */
	}
	if (strcmp(home, p->conf.id) == 0)
		*state = "not its home any more";
	/* (asks the peers that keep its records; answers come later) */
	if (reads_task(p, id, 0, &a, &replica, &cause) < 0)
		free(cause);
	return -1;
}

int
glue_cancel(struct peer *p, const char *id, char **cause)
{
	struct tasks_out	 o = { 0 };
	char			 home[LB_ID_MAX];
	const char		*addr, *state;
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__TaskCancel		 c = LB__TASK_CANCEL__INIT;
	int			 rc;

	if (!tasks_id_valid(id)) {
		*cause = lb_printf("\"%s\" is not a task id (NODE.NUMBER)", id);
		return -1;
	}
	if (home_now(p, id, home, &state) == -1) {
		/* Its home is down: the one acting for it is looked for,
		 * and lbctl, which asks again, finds it. */
		log_info("task %s: a cancel waits: its home is %s, and the "
		    "peer acting for it is not known here yet", id, state);
		return 0;
	}
	if (strcmp(home, p->conf.id) == 0) {
		rc = tasks_cancel(p->tc, lb_mono_ms(), id, &o, cause);
		carry(p, &o);
		tasks_out_free(&o);
		if (rc == 0)
			log_info("task %s: cancelled", id);
		else if (rc == 1)
			log_info("task %s: already cancelled", id);
		return rc;
	}
	/* Its home decides: pass the request on. */
	if ((addr = members_addr(p, home, &state)) == NULL)
		return 0;	/* (gone since: lbctl asks again) */
	c.task_id = (char *)id;
	m.body_case = LB__PEER_MSG__BODY_TASK_CANCEL;
	m.task_cancel = &c;
	net_send(p, addr, &m);
	return 0;
}

int
glue_checkpoint(struct peer *p, const char *id, char **cause)
{
	struct tasks_task	*k = tasks_find(p->tc, id);

	if (k == NULL || k->hold != HOLD_RUNNING) {
		*cause = lb_printf("task %s is not running here", id);
		return -1;
	}
	if (!k->rec->spec->checkpointable) {
		*cause = lb_printf("task %s cannot checkpoint (it was not "
		    "submitted with --checkpointable)", id);
		return -1;
	}
	if (exec_signal(p, id, k->rec->spec->checkpoint_signal) == -1) {
		*cause = lb_printf("task %s: %s", id, strerror(errno));
		return -1;
	}
	log_info("task %s: asked to checkpoint (%s)", id,
	    strsignal(k->rec->spec->checkpoint_signal));
	return 0;
}

void
glue_output(struct peer *p, const Lb__TaskRecord *r, ProtobufCBinaryData *out,
    ProtobufCBinaryData *err)
{
	store_read_output(p, r, out, err);
}

void
glue_counts(struct peer *p, uint32_t *running, uint32_t *queued,
    uint32_t *homed)
{
	size_t	h;

	tasks_count(p->tc, &h);
	*running = tasks_running(p->tc);
	*queued = tasks_queued(p->tc);
	*homed = (uint32_t)h;
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Mean, 95th percentile and maximum of the latest freeze times. */
static void
freeze_figures(const struct tasks_stats *t, Lb__CtlStats *s)
{
	size_t		 n = t->nfreeze < TASKS_FREEZE_RING ? t->nfreeze :
			    TASKS_FREEZE_RING;
	uint64_t	*v, sum = 0;

	if (n == 0)
		return;
	v = lb_calloc(n, sizeof(*v));
	memcpy(v, t->freeze_us, n * sizeof(*v));
	qsort(v, n, sizeof(*v), u64_cmp);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	s->freeze_us_mean = sum / n;
	s->freeze_us_p95 = v[(n * 95 + 99) / 100 - 1];
	s->freeze_us_max = v[n - 1];
	free(v);
}

void
glue_stats(struct peer *p, Lb__CtlStats *s)
{
	const struct tasks_stats	*t = tasks_stats(p->tc);

	static char			 set[REP_SET_MAX * (LB_ID_MAX + 1)];
	static char			 pend[REP_SET_MAX * (LB_ID_MAX + 1)];
	struct replicas_view		 v;

	balancer_stats(p, s);
	/* (the set's names in a buffer of this file: the reply frees only
	 * its own struct) */
	replicas_stats(p, &v);
	set[0] = '\0';
	for (size_t i = 0, at = 0; i < v.nset; i++) {
		at += (size_t)snprintf(set + at, sizeof(set) - at, "%s%s",
		    i > 0 ? " " : "", v.set[i].id);
		if (v.version - v.set[i].acked > s->replica_behind)
			s->replica_behind = v.version - v.set[i].acked;
	}
	s->replica_set = set;
	pend[0] = '\0';
	for (size_t i = 0, at = 0; i < v.nset; i++)
		if (v.set[i].pending)
			at += (size_t)snprintf(pend + at, sizeof(pend) - at,
			    "%s%s", at > 0 ? " " : "", v.set[i].id);
	s->replica_pending = pend;
	s->replica_version = v.version;
	s->replica_committed = v.committed;
	s->replica_held = v.held;
	s->replica_homes = v.homes;
	s->replica_waiting = v.waiting;
	s->replica_waited = v.waited;
	s->replica_unsaid = p->glue->sends_unsaid;
	s->replica_keeps = v.keeps;
	s->replica_keeps_in = v.stats.keeps_kept;
	s->replica_keeps_lost = v.keeps_lost;
	{
		struct repfiles_stats rs;

		repfiles_stats(p, &rs);
		s->replica_files_pending = rs.pending;
		s->replica_files_held = rs.held;
		s->replica_files_acked = rs.acked;
		s->replica_files_missing = rs.missing;
		s->replica_files_waiting = rs.waiting;
	}
	s->transfers_in = t->transfers_in;
	s->transfers_out = t->transfers_out;
	s->transfers_aborted = t->transfers_aborted;
	s->transfer_ms_total = t->transfer_ms;
	s->tasks_rerun = t->reruns;
	s->results = t->results;
	s->stale_stopped = t->stale_stopped;
	s->retries = t->retries;
	s->drop_sender = t->drop_sender;
	s->drop_invalid = t->drop_invalid + p->glue->drop_task_msgs +
	    reads_drops(p);
	s->drop_unknown = t->drop_unknown;
	s->refused_full = t->refused_full;
	if (p->xfer != NULL) {
		const struct xfer_stats *x = xfer_stats(p);
		s->xfer_bytes_in = x->bytes_in;
		s->xfer_bytes_out = x->bytes_out;
		s->xfer_done = x->done;
		s->xfer_failed_hash = x->failed_hash;
		s->xfer_failed_source = x->failed_source;
		s->xfer_failed_invalid = x->failed_invalid;
		s->xfer_failed_disk = x->failed_disk;
	}
	s->upload_bytes = upload_bytes(p);
	s->migrations_in = t->migrations_in;
	s->migrations_out = t->migrations_out;
	s->checkpoint_timeouts = t->checkpoint_timeouts;
	s->checkpoint_slow = t->ck_slow;
	s->migrate_bytes = t->migrate_bytes;
	s->periodic = t->periodic;
	s->yields = t->yields;
	s->copies_in = t->ck_copies;
	s->copies_out = p->glue->copies_out;
	s->copy_snapshot_us = p->glue->copy_snapshot_us;
	s->copy_bytes_out = p->glue->copy_bytes_out;
	if (t->migrations_out > 0)
		s->checkpoint_ms_mean = t->checkpoint_ms / t->migrations_out;
	freeze_figures(t, s);
	s->given_back = t->given_back;
	s->returned = t->returned;
	s->lease_asks = t->lease_asks;
	s->lease_frozen = t->lease_frozen;
	s->lease_thawed = t->lease_thawed;
	s->lease_waits = t->lease_waits;
	s->lease_quiet = t->lease_quiet;
	s->start_failures = t->start_failures;
}

void
glue_journal_damage(struct peer *p, uint64_t *spans, uint64_t *bytes)
{
	*spans = store_report(p)->damaged;
	*bytes = store_report(p)->damaged_bytes;
}

void
glue_load_changed(struct peer *p)
{
	/* A slot whose task would yield it to a new one (preemption)
	 * counts as free in the load others see. */
	members_set_load(p, tasks_load(p->tc, 0) + p->load_extra);
	members_set_tasks(p, tasks_running(p->tc), tasks_queued(p->tc));
}

/* ---- lbctl migrate ---- */

/* The least loaded live peer, not this one, that can run the task. */
static const char *
pick_target(struct peer *p, const Lb__TaskRecord *r)
{
	const struct gossip_member	*m, *best = NULL;
	char				*needs;
	size_t				 n;
	long				 bfree = 0;

	needs = lb_join_list(r->spec->needs, r->spec->n_needs);
	m = gossip_members(p->gossip, &n);
	for (size_t i = 0; i < n; i++) {
		long fr = (long)m[i].e.slots - (long)m[i].e.load;
		if (m[i].state != GOSSIP_ALIVE || strcmp(m[i].e.id,
		    p->conf.id) == 0 || !balance_attrs_ok(needs, m[i].e.attrs))
			continue;
		if (best == NULL || fr > bfree) {
			best = &m[i];
			bfree = fr;
		}
	}
	free(needs);
	return best ? best->e.id : NULL;
}

static void
migrate_refuse(struct peer *p, const Lb__TaskMigrate *mg, const char *host,
    const char *why)
{
	Lb__MigrateDone	d = LB__MIGRATE_DONE__INIT;

	d.req_id = mg->req_id;
	d.task_id = mg->task_id;
	d.host = (char *)(host ? host : "");
	d.error = (char *)why;
	migrate_done_send(p, mg->origin, &d);
}

/* Pass a request on to the peer that knows more of the task. */
static void
migrate_pass(struct peer *p, const Lb__TaskMigrate *mg, const char *to,
    const char *what)
{
	Lb__PeerMsg	 m = LB__PEER_MSG__INIT;
	Lb__TaskMigrate	 c = *mg;
	const char	*addr, *state;
	char		*why;

	if (mg->hops >= MIGRATE_HOPS) {
		migrate_refuse(p, mg, NULL, "it is moving: try again");
		return;
	}
	if ((addr = members_addr(p, to, &state)) == NULL) {
		why = lb_printf("%s %s is %s", what, to, state);
		migrate_refuse(p, mg, NULL, why);
		free(why);
		return;
	}
	c.hops++;
	m.body_case = LB__PEER_MSG__BODY_TASK_MIGRATE;
	m.task_migrate = &c;
	net_send(p, addr, &m);
}

/*
 * A migrate request: the home checks its record and passes it to the
 * task's host; the host moves the task.  Anyone who cannot go on tells
 * the origin why.
 */
static void
migrate_route(struct peer *p, const Lb__TaskMigrate *mg)
{
	struct tasks_task	*k = tasks_find(p->tc, mg->task_id);
	struct tasks_out	 o = { 0 };
	char			 home[LB_ID_MAX], *cause = NULL, *needs;
	const char		*to = mg->to, *why;
	const struct gossip_member *m;

	if (k == NULL || (!k->home && k->hold != HOLD_QUEUED &&
	    k->hold != HOLD_RUNNING && k->hold != HOLD_FROZEN)) {
		const char *state;

		tasks_home_of(mg->task_id, home);
		if (strcmp(home, p->conf.id) == 0 &&
		    !replicas_gave_up(p, mg->task_id))
			migrate_refuse(p, mg, NULL, "no such task");
		else if (home_now(p, mg->task_id, home, &state) == 0)
			migrate_pass(p, mg, home, "its home");
		else {
			cause = lb_printf("its home %s is %s, and the peer "
			    "acting for it is not known here yet: try again",
			    home, state);
			migrate_refuse(p, mg, NULL, cause);
			free(cause);
		}
		return;
	}
	if (k->home && (why = tasks_unmovable(k)) != NULL) {
		migrate_refuse(p, mg, k->rec->host, why);
		return;
	}
	if (k->home && strcmp(k->rec->host, p->conf.id) != 0) {
		if (to[0] != '\0' && strcmp(to, k->rec->host) == 0)
			migrate_refuse(p, mg, to, "it is there already");
		else
			migrate_pass(p, mg, k->rec->host, "its host");
		return;
	}
	/* Held here. */
	if (to[0] == '\0' && (to = pick_target(p, k->rec)) == NULL) {
		migrate_refuse(p, mg, p->conf.id, "no other live peer can run "
		    "it now");
		return;
	}
	if (strcmp(to, p->conf.id) == 0) {
		migrate_refuse(p, mg, to, "it is there already");
		return;
	}
	m = gossip_find(p->gossip, to);
	if (m == NULL || m->state != GOSSIP_ALIVE) {
		cause = lb_printf("node %s is %s", to, m == NULL ?
		    "not in the cluster" : "not alive");
		migrate_refuse(p, mg, p->conf.id, cause);
		free(cause);
		return;
	}
	needs = lb_join_list(k->rec->spec->needs, k->rec->spec->n_needs);
	if (!balance_attrs_ok(needs, m->e.attrs)) {
		cause = lb_printf("node %s lacks what it needs (%s)", to, needs);
		migrate_refuse(p, mg, p->conf.id, cause);
		free(cause);
		free(needs);
		return;
	}
	free(needs);
	if (tasks_migrate(p->tc, lb_mono_ms(), mg->task_id, to, m->e.incarnation,
	    mg->origin, mg->req_id, ++p->glue->next_req, &o, &cause) == -1) {
		migrate_refuse(p, mg, p->conf.id, cause);
		free(cause);
	} else
		log_info("task %s: moving to %s (lbctl migrate at %s)",
		    mg->task_id, to, mg->origin);
	carry(p, &o);
	tasks_out_free(&o);
}

static void
migrate_recv(struct peer *p, const char *from, const Lb__TaskMigrate *mg)
{
	if (!tasks_id_valid(mg->task_id) || !lb_id_valid(mg->origin) ||
	    (mg->to[0] != '\0' && !lb_id_valid(mg->to)) ||
	    mg->hops > MIGRATE_HOPS) {
		p->glue->drop_task_msgs++;
		return;
	}
	migrate_route(p, mg);
}

static void
migrate_done_in(struct peer *p, const Lb__MigrateDone *d)
{
	if (!tasks_id_valid(d->task_id) || (d->host[0] != '\0' &&
	    !lb_id_valid(d->host)) || strlen(d->error) > 512) {
		p->glue->drop_task_msgs++;
		return;
	}
	struct migreq	*q;
	size_t		 len;
	uint8_t		*buf;

	for (size_t i = 0; i < MIGRATE_MAX; i++) {
		q = &p->glue->mig[i];
		if (q->token == 0 || q->token != d->req_id || q->done ||
		    strcmp(q->id, d->task_id) != 0)
			continue;
		len = lb__migrate_done__get_packed_size(d);
		buf = lb_calloc(1, len + 1);
		lb__migrate_done__pack(d, buf);
		q->result = lb__migrate_done__unpack(NULL, len, buf);
		free(buf);
		if (q->result == NULL)
			break;
		q->done = 1;
		return;
	}
	p->glue->drop_task_msgs++;	/* late, or never asked here */
}

int
glue_migrate(struct peer *p, const char *id, const char *to, uint64_t *token,
    char **cause)
{
	struct migreq	*q = NULL;
	Lb__TaskMigrate	 mg = LB__TASK_MIGRATE__INIT;
	uint64_t	 now = lb_mono_ms();
	const struct gossip_member *m;

	if (!tasks_id_valid(id)) {
		*cause = lb_printf("\"%s\" is not a task id (NODE.NUMBER)", id);
		return -1;
	}
	if (to[0] != '\0') {
		if (!lb_id_valid(to) || (m = gossip_find(p->gossip, to)) ==
		    NULL) {
			*cause = lb_printf("--to %s: there is no node %s in the "
			    "cluster", to, to);
			return -1;
		}
		if (m->state != GOSSIP_ALIVE) {
			*cause = lb_printf("--to %s: node %s is not alive", to,
			    to);
			return -1;
		}
	}
	for (size_t i = 0; i < MIGRATE_MAX; i++) {
		struct migreq *c = &p->glue->mig[i];
		if (c->token != 0 && now - c->asked_ms > MIGRATE_KEEP_MS) {
			if (c->result != NULL)
				lb__migrate_done__free_unpacked(c->result, NULL);
			memset(c, 0, sizeof(*c));
		}
		if (c->token == 0 && q == NULL)
			q = c;
	}
	if (q == NULL) {
		*cause = lb_printf("%d moves are being followed here already; "
		    "try again later", MIGRATE_MAX);
		return -1;
	}
	q->token = ++p->glue->next_req;
	q->asked_ms = now;
	lb_strlcpy(q->id, id, sizeof(q->id));
	*token = q->token;
	mg.req_id = q->token;
	mg.task_id = (char *)id;
	mg.to = (char *)to;
	mg.origin = p->conf.id;
	migrate_route(p, &mg);
	return 0;
}

int
glue_migrate_poll(struct peer *p, uint64_t token, Lb__MigrateDone **result)
{
	*result = NULL;
	for (size_t i = 0; i < MIGRATE_MAX; i++) {
		struct migreq *q = &p->glue->mig[i];
		if (q->token != token || token == 0)
			continue;
		if (!q->done)
			return 0;
		/* Read once: the caller owns it now. */
		*result = q->result;
		memset(q, 0, sizeof(*q));
		return 1;
	}
	return -1;
}
