/*
 * fuzz_peer.c - PeerMsgs behind the tag, into each core's handler.
 *
 * One peer, "n1", is built of the cores as lbpeer builds it (gossip,
 * tasks, forwarding with an env that answers from the task core, the
 * balancer), on a fake clock, with two tasks of its own submitted (n1.1
 * running, n1.2 queued).  The input is records [ctl][len][bytes]; each
 * one is a PeerMsg from one of the peers n2..n4 (ctl's low bits), sealed
 * with the test key by that sender and opened by n1's envelope, then
 * dispatched as glue_recv does: gossip (converted as members_recv does),
 * probes to the balancer, task messages to the forwarding core, the rest
 * (with the checks transfer_in and ckcopy_in make) to the task core.
 * Other ctl bits advance the clock, tick the cores, report a peer dead
 * or restarted, end a process or move a task to another peer (as the
 * balancer does): so a run is a sequence of events.
 *
 * The actions are half carried out: a process the task core starts
 * starts (and one it stops exits), so that later messages find tasks
 * running, stopping and ended; sends are dropped.
 */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"
#include "balance/balance.h"
#include "forwarding/fwd.h"
#include "gossip/gossip.h"
#include "node/gossip_wire.h"
#include "tasks/tasks.h"

static const char *const peers[] = { "n2", "n3", "n4", "n5" };

struct fz_peer {
	struct gossip	*g;
	struct tasks	*t;
	struct fwd	*f;
	struct balance	*b;
	uint64_t	 now;
	uint32_t	 pgid;
};

static void
where(void *arg, const char *id, struct fwd_where *w)
{
	struct fz_peer		*p = arg;
	struct tasks_task	*k = tasks_find(p->t, id);
	char			 by[LB_ID_MAX];

	memset(w, 0, sizeof(*w));
	if (k != NULL) {
		switch (k->hold) {
		case HOLD_QUEUED:
		case HOLD_RUNNING:
			w->here = FWD_HELD;
			w->epoch = k->h_epoch;
			return;
		case HOLD_PENDING:
		case HOLD_CONFIRM:
		case HOLD_FROZEN:
		case HOLD_STOPPING:
		case HOLD_RETURNING:
			w->here = FWD_MOVING;
			w->epoch = k->h_epoch;
			return;
		case HOLD_ENDED:
			w->here = FWD_ENDED;
			lb_strlcpy(w->state, tasks_state_name(k->rec->state),
			    sizeof(w->state));
			return;
		case HOLD_NONE:
			break;
		}
		if (k->home) {
			if (!tasks_unfinished(k->rec)) {
				w->here = FWD_ENDED;
				lb_strlcpy(w->state,
				    tasks_state_name(k->rec->state),
				    sizeof(w->state));
			} else if (k->rec->host[0] != '\0' &&
			    strcmp(k->rec->host, "n1") != 0) {
				w->here = FWD_AT;
				lb_strlcpy(w->host, k->rec->host,
				    sizeof(w->host));
				w->epoch = k->rec->epoch;
			} else
				w->here = FWD_MOVING;
			return;
		}
	}
	w->here = FWD_NOTHING;
	if (tasks_link(p->t, id, w->link, &w->link_epoch, by) == -1)
		w->link[0] = '\0';
}

static int
alive(void *arg, const char *peer)
{
	struct fz_peer	*p = arg;

	return strcmp(peer, "n1") == 0 || gossip_find(p->g, peer) != NULL;
}

/* Carry out what can be carried out without processes or sockets. */
static void
carry(struct fz_peer *p, struct tasks_out *o)
{
	for (int round = 0; round < 4 && o->n > 0; round++) {
		struct tasks_out	 next = { 0 };
		char			(*ids)[TASKS_ID_MAX];
		int			*kinds;
		size_t			 n = o->n;

		ids = lb_calloc(n, sizeof(*ids));
		kinds = lb_calloc(n, sizeof(*kinds));
		for (size_t i = 0; i < n; i++) {
			lb_strlcpy(ids[i], o->v[i].id, sizeof(ids[i]));
			kinds[i] = o->v[i].kind;
		}
		tasks_out_reset(o);
		for (size_t i = 0; i < n; i++) {
			struct tasks_exit ex;

			switch (kinds[i]) {
			case TA_START:
				tasks_proc_started(p->t, p->now, ids[i],
				    ++p->pgid, &next);
				break;
			case TA_STOP:
				memset(&ex, 0, sizeof(ex));
				ex.signal = 15;
				ex.stopped = 1;		/* lbpeer's stop */
				tasks_proc_exited(p->t, p->now, ids[i], &ex,
				    &next);
				break;
			default:
				break;
			}
		}
		free(ids);
		free(kinds);
		tasks_out_free(o);
		*o = next;
	}
	tasks_out_reset(o);
}

/* members_recv: a Gossip into the core's digest (node/gossip_wire.c, as
 * the daemon does), bad entries skipped. */
static void
gossip_in(struct fz_peer *p, const char *from, const Lb__Gossip *g,
    struct gossip_out *go)
{
	struct gossip_msg	 in;

	if (node_gossip_from_wire(g, &in) == -1)
		return;
	gossip_recv(p->g, p->now, from, &in, go);
	node_gossip_in_free(&in);
}

/* The balancer's probes (peer/balancer.c probe_recv). */
static void
probe_in(struct fz_peer *p, const char *from, const Lb__PeerMsg *m,
    struct balance_out *bo)
{
	const Lb__Probe		*pr = m->probe;
	struct balance_task	 v[8];
	char			*needs[8];
	size_t			 k = 0;
	char			*s;

	if (m->body_case == LB__PEER_MSG__BODY_PROBE_REPLY) {
		balance_answer(p->b, p->now, m->probe_reply->req_id,
		    m->probe_reply->accept, bo);
		return;
	}
	if (!pr->request) {
		s = lb_join_list(pr->needs, pr->n_needs);
		balance_offer(p->b, p->now, from, pr->req_id,
		    tasks_queued(p->t) + tasks_running(p->t), 2, s, pr->must,
		    bo);
		free(s);
		return;
	}
	memset(v, 0, sizeof(v));
	for (struct tasks_task *t = tasks_queue_head(p->t); t != NULL &&
	    k < 8; t = t->qnext) {
		const Lb__TaskSpec *sp = t->rec->spec;

		v[k].id = t->rec->id;
		v[k].pin = sp != NULL ? sp->pin : "";
		v[k].pinned = sp != NULL && sp->pin[0] != '\0';
		v[k].moves = t->rec->moves;
		needs[k] = sp != NULL ? lb_join_list(sp->needs, sp->n_needs) :
		    lb_strdup("");
		v[k].needs = needs[k];
		v[k].queued_ms = t->queued_at;
		k++;
	}
	s = lb_join_list(pr->attributes, pr->n_attributes);
	balance_request(p->b, p->now, from, s, pr->req_id,
	    tasks_queued(p->t) + tasks_running(p->t), 2, v, k, bo);
	free(s);
	for (size_t i = 0; i < k; i++)
		free(needs[i]);
}

/* msgs_arrived: a mailbox that came with a task. */
static void
arrived(struct fz_peer *p, const char *id, const Lb__PeerMsg *m)
{
	struct tasks_task	*k = tasks_find(p->t, id);
	struct fwd_box		 b;

	memset(&b, 0, sizeof(b));
	switch (m->body_case) {
	case LB__PEER_MSG__BODY_TRANSFER:
		b.v = m->transfer->mailbox;
		b.n = m->transfer->n_mailbox;
		b.s = m->transfer->mailbox_seen;
		b.ns = m->transfer->n_mailbox_seen;
		if (k != NULL && k->hold == HOLD_PENDING)
			fwd_import(p->f, p->now, id, &b);
		return;
	case LB__PEER_MSG__BODY_TASK_RETURN:
		b.v = m->task_return->mailbox;
		b.n = m->task_return->n_mailbox;
		b.s = m->task_return->mailbox_seen;
		b.ns = m->task_return->n_mailbox_seen;
		if (k != NULL && k->home && tasks_unfinished(k->rec) &&
		    (b.n > 0 || b.ns > 0) &&
		    fwd_mailbox_count(p->f, id, NULL) == 0)
			fwd_import(p->f, p->now, id, &b);
		return;
	case LB__PEER_MSG__BODY_TASK_NOTICE:
		b.s = m->task_notice->mailbox_seen;
		b.ns = m->task_notice->n_mailbox_seen;
		if (k != NULL && k->home && !tasks_unfinished(k->rec))
			fwd_ended(p->f, p->now, id, &b);
		return;
	default:
		return;
	}
}

/* The balancer's transfers (peer/balancer.c): the task core moves them. */
static void
moves(struct fz_peer *p, struct balance_out *bo)
{
	struct tasks_out	 o = { 0 };

	for (size_t i = 0; i < bo->n; i++)
		if (bo->v[i].kind == BA_TRANSFER)
			(void)tasks_move(p->t, p->now, bo->v[i].task,
			    bo->v[i].peer, 5, bo->v[i].req_id, &o);
	carry(p, &o);
	tasks_out_free(&o);
	balance_out_reset(bo);
}

static void
dispatch(struct fz_peer *p, const char *from, uint64_t inc,
    const Lb__PeerMsg *m)
{
	struct tasks_out	 o = { 0 };
	struct fwd_out		 fo = { 0 };
	struct gossip_out	 go = { 0 };
	struct balance_out	 bo = { 0 };
	Lb__MailMsg		*mm;

	switch (m->body_case) {
	case LB__PEER_MSG__BODY_GOSSIP:
		gossip_in(p, from, m->gossip, &go);
		break;
	case LB__PEER_MSG__BODY_PROBE:
	case LB__PEER_MSG__BODY_PROBE_REPLY:
		probe_in(p, from, m, &bo);
		moves(p, &bo);
		break;
	case LB__PEER_MSG__BODY_TASK_MSG:
	case LB__PEER_MSG__BODY_TASK_MSG_ACK:
	case LB__PEER_MSG__BODY_TASK_LOCATION:
	case LB__PEER_MSG__BODY_TASK_LOCATE:
	case LB__PEER_MSG__BODY_MAIL_COPY:
	case LB__PEER_MSG__BODY_MAIL_COPY_ACK:
		fwd_recv(p->f, p->now, from, m, &fo);
		/* A task takes what came (the control API's recv). */
		for (size_t i = 0; i < fo.n; i++)
			if (fo.v[i].kind == FA_MAIL &&
			    (mm = fwd_take(p->f, fo.v[i].id)) != NULL)
				lb__mail_msg__free_unpacked(mm, NULL);
		break;
	case LB__PEER_MSG__BODY_TRANSFER: {
		const Lb__Transfer *tr = m->transfer;
		struct tasks_task *k;

		if (tr->record == NULL || !tasks_id_valid(tr->record->id) ||
		    tr->record->spec == NULL || tr->xfer_id == 0)
			break;
		/* Wanted or not, the core hears of it (when wanted, after
		 * the files came: here at once). */
		(void)tasks_transfer_wanted(p->t, from, tr);
		tasks_recv(p->t, p->now, from, inc, m, &o);
		if ((k = tasks_find(p->t, tr->record->id)) != NULL &&
		    k->hold == HOLD_PENDING) {
			balance_arrived(p->b, p->now);
			arrived(p, tr->record->id, m);
		}
		break;
	}
	case LB__PEER_MSG__BODY_CHECKPOINT_COPY: {
		const Lb__CheckpointCopy *cc = m->checkpoint_copy;

		if (cc->transfer == NULL || cc->transfer->record == NULL ||
		    cc->transfer->record->spec == NULL ||
		    !tasks_id_valid(cc->transfer->record->id))
			break;
		if (tasks_checkpoint_wanted(p->t, cc->transfer->record->id,
		    from, cc->seq))
			tasks_checkpoint_copied(p->t, p->now,
			    cc->transfer->record->id, cc->seq, &o);
		break;
	}
	case LB__PEER_MSG__BODY_TASK_QUERY:
	case LB__PEER_MSG__BODY_TASK_ANSWER:
	case LB__PEER_MSG__BODY_CHUNK_REQ:
	case LB__PEER_MSG__BODY_CHUNK_DATA:
	case LB__PEER_MSG__BODY_TASK_MIGRATE:
	case LB__PEER_MSG__BODY_MIGRATE_DONE:
	case LB__PEER_MSG__BODY__NOT_SET:
		break;		/* the shell's own (peer/glue.c, peer/xfer.c) */
	default:
		tasks_recv(p->t, p->now, from, inc, m, &o);
		if (m->body_case == LB__PEER_MSG__BODY_TASK_RETURN)
			arrived(p, m->task_return->task_id, m);
		else if (m->body_case == LB__PEER_MSG__BODY_TASK_NOTICE &&
		    m->task_notice->record != NULL)
			arrived(p, m->task_notice->record->id, m);
		break;
	}
	carry(p, &o);
	tasks_out_free(&o);
	fwd_out_free(&fo);
	gossip_out_free(&go);
	balance_out_free(&bo);
}

static void
ticks(struct fz_peer *p)
{
	struct tasks_out	 o = { 0 };
	struct fwd_out		 fo = { 0 };
	struct gossip_out	 go = { 0 };
	struct balance_out	 bo = { 0 };
	struct balance_peer	 bp[4];
	size_t			 n = 0, nm;
	const struct gossip_member *m = gossip_members(p->g, &nm);

	gossip_tick(p->g, p->now, &go);
	tasks_tick(p->t, p->now, &o);
	carry(p, &o);
	fwd_tick(p->f, p->now, &fo);
	for (size_t i = 1; i < nm && n < 4; i++)
		if (m[i].state == GOSSIP_ALIVE)
			bp[n++] = (struct balance_peer){ m[i].e.id,
			    m[i].e.load, m[i].e.slots, m[i].e.attrs };
	balance_tick(p->b, p->now, tasks_queued(p->t) + tasks_running(p->t),
	    2, bp, n, NULL, 0, &bo);
	moves(p, &bo);
	tasks_out_free(&o);
	fwd_out_free(&fo);
	gossip_out_free(&go);
	balance_out_free(&bo);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct lb_gossip_conf gc = {
		.interval_ms = 100, .suspect_ms = 3000, .dead_ms = 6000,
		.forget_ms = 30000, .digest_size = 8, .seed_every = 5,
		.max_members = 16
	};
	static const struct tasks_conf tc = {
		.slots = 1, .transfer_timeout_ms = 300, .retry_min_ms = 50,
		.retry_max_ms = 2000, .keep_finished_s = 1000, .max_tasks = 32,
		.max_links = 32, .link_keep_s = 60, .attach_limit = 1 << 20,
		.checkpoint_timeout_ms = 200, .checkpoint_every_s = 5,
		.checkpoint_grace_ms = 20, .lease_ms = 800,
		.lease_margin_ms = 200
	};
	static const struct fwd_conf fc = {
		.max_links = 16, .link_keep_s = 60, .max_mailboxes = 8,
		.mbox_msgs = 8, .mbox_bytes = 4096, .msg_max = 1024,
		.max_senders = 8, .outbox_max = 16, .retry_ms = 100,
		.retry_max_ms = 800
	};
	static const struct balance_conf bc = {
		.policy = BALANCE_SYMMETRIC, .location = LOCATION_MIXED,
		.lower = 1, .upper = 2, .probe_limit = 3,
		.probe_timeout_ms = 200, .reserve_ms = 500, .backoff_ms = 100,
		.backoff_max_ms = 1000, .max_moves = 3, .preempt = 1
	};
	struct fz_peer		 p;
	struct gossip_entry	 self;
	struct fwd_env		 fe;
	struct tasks_out	 o = { 0 };
	struct env_ctx		 rx, tx[4];
	struct fz_rd		 r;
	Lb__TaskSpec		 spec = LB__TASK_SPEC__INIT;
	char			*argv[] = { (char *)"/bin/true" }, *id, *cause;
	uint8_t			 ctl, *d;
	const uint8_t		*b;
	size_t			 len, dl;

	fz_init();
	memset(&p, 0, sizeof(p));
	p.now = 1000000;
	memset(&self, 0, sizeof(self));
	lb_strlcpy(self.id, "n1", sizeof(self.id));
	lb_strlcpy(self.addr, "tcp://127.0.0.1:7001", sizeof(self.addr));
	self.incarnation = 1;
	self.slots = 2;
	lb_strlcpy(self.attrs, "gpu", sizeof(self.attrs));
	p.g = gossip_new(&gc, &self, p.now, 1);
	gossip_add_seed(p.g, "tcp://127.0.0.1:7002");
	p.t = tasks_new(&tc, "n1", 1, "gpu", 0);
	fe = (struct fwd_env){ &p, where, alive };
	p.f = fwd_new(&fc, "n1", &fe);
	p.b = balance_new(&bc, "n1", "gpu", 1);
	env_init(&rx, fz_key, FZ_CLUSTER, "n1", 1, FZ_MAX, FZ_WINDOW);
	for (int i = 0; i < 4; i++)
		env_init(&tx[i], fz_key, FZ_CLUSTER, peers[i], 5, FZ_MAX,
		    FZ_WINDOW);
	/* Two tasks of its own: n1.1 runs, n1.2 waits. */
	spec.argv = argv;
	spec.n_argv = 1;
	spec.checkpointable = 1;
	for (int i = 0; i < 2; i++) {
		if (tasks_submit(p.t, p.now, &spec, &id, &o, &cause) == 0)
			free(id);
		else
			free(cause);
		carry(&p, &o);
	}
	tasks_tick(p.t, p.now, &o);
	carry(&p, &o);

	r.p = data;
	r.n = size;
	while (fz_record(&r, &ctl, &b, &len) == 0) {
		int		 who = ctl & 3;
		Lb__Envelope	*e = NULL;
		Lb__PeerMsg	*m;
		struct tasks_exit ex;

		p.now += (uint64_t[]){ 0, 10, 1000, 60000 }[(ctl >> 2) & 3];
		switch (ctl >> 4) {
		case 12:	/* a peer dead */
			tasks_peer_dead(p.t, p.now, peers[who], &o);
			carry(&p, &o);
			continue;
		case 13:	/* a peer back, at a new incarnation */
			tx[who].incarnation++;
			tasks_peer_restarted(p.t, p.now, peers[who],
			    tx[who].incarnation, &o);
			carry(&p, &o);
			continue;
		case 14:	/* a process ended: exit code len % 256 */
			memset(&ex, 0, sizeof(ex));
			ex.exited = 1;
			ex.code = (int)(len & 0xff);
			tasks_proc_exited(p.t, p.now, who & 1 ? "n1.2" : "n1.1",
			    &ex, &o);
			carry(&p, &o);
			continue;
		case 11:	/* the balancer moves a task to a peer */
			(void)tasks_move(p.t, p.now, who & 1 ? "n1.2" : "n1.1",
			    peers[(who >> 1) & 1], 5, len, &o);
			carry(&p, &o);
			continue;
		case 15:
			ticks(&p);
			continue;
		default:
			break;
		}
		/* Sealed by its sender with the test key, opened by n1. */
		env_seal(&tx[who], FZ_WALL + p.now, b, len, &d, &dl);
		if (env_open(&rx, FZ_WALL + p.now, d, dl, &e) != ENV_OK)
			abort();
		free(d);
		m = lb__peer_msg__unpack(NULL, e->body.len, e->body.data);
		if (m != NULL) {
			dispatch(&p, e->sender, e->incarnation, m);
			lb__peer_msg__free_unpacked(m, NULL);
		}
		lb__envelope__free_unpacked(e, NULL);
		if (ctl & 0x80)
			ticks(&p);
	}
	tasks_out_free(&o);
	for (int i = 0; i < 4; i++)
		env_free(&tx[i]);
	env_free(&rx);
	balance_free(p.b);
	fwd_free(p.f);
	tasks_free(p.t);
	gossip_free(p.g);
	return 0;
}
