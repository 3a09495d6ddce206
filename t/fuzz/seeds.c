/*
 * seeds.c - writes the seed corpus of the harnesses in t/fuzz/:
 *
 *   t/fuzz/seeds DIR	(make fuzz-seeds: DIR is $(srcdir)/t/fuzz-corpus)
 *
 * a few valid inputs of each kind, in each harness's input format (see the
 * comment at the top of each harness), so that fuzzing starts from
 * messages that reach the handlers' insides.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fuzz.h"

static const char *outdir;

/* An input being built: records [ctl][len u16][bytes]. */
struct in {
	uint8_t	*b;
	size_t	 n;
};

static void
raw(struct in *in, const void *p, size_t len)
{
	in->b = lb_reallocarray(in->b, 1, in->n + len + 1);
	memcpy(in->b + in->n, p, len);
	in->n += len;
}

static void
rec(struct in *in, uint8_t ctl, const void *p, size_t len)
{
	uint8_t	h[3] = { ctl, (uint8_t)(len & 0xff), (uint8_t)(len >> 8) };

	raw(in, h, 3);
	raw(in, p, len);
}

#define PACK(in, ctl, type, m) do {					\
	size_t	 n_ = lb__##type##__get_packed_size(m);			\
	uint8_t	*b_ = lb_calloc(1, n_ + 1);				\
	lb__##type##__pack(m, b_);					\
	rec(in, ctl, b_, n_);						\
	free(b_);							\
} while (0)

static void
save(const char *harness, const char *name, struct in *in)
{
	char	*d = lb_printf("%s/%s", outdir, harness);
	char	*p = lb_printf("%s/%s", d, name);
	FILE	*f;

	if (mkdir(d, 0755) == -1 && errno != EEXIST)
		abort();
	if ((f = fopen(p, "wb")) == NULL || (in->n > 0 &&
	    fwrite(in->b, 1, in->n, f) != in->n) || fclose(f) != 0)
		abort();
	free(d);
	free(p);
	free(in->b);
	in->b = NULL;
	in->n = 0;
}

static char *argv_true[] = { (char *)"/bin/true" };

static void
spec_init(Lb__TaskSpec *s)
{
	lb__task_spec__init(s);
	s->argv = argv_true;
	s->n_argv = 1;
}

/* A PeerMsg of one body. */
#define BODY(pm, field, CASE, v) do {					\
	lb__peer_msg__init(&pm);					\
	pm.body_case = LB__PEER_MSG__BODY_##CASE;			\
	pm.field = v;							\
} while (0)

static void
envelope_seeds(void)
{
	struct in	 in = { 0 };
	Lb__Envelope	 e = LB__ENVELOPE__INIT;
	Lb__PeerMsg	 pm;
	Lb__TaskCancel	 tc = LB__TASK_CANCEL__INIT;
	struct env_ctx	 tx;
	uint8_t		*d, *body;
	size_t		 dl, bl;

	BODY(pm, task_cancel, TASK_CANCEL, &tc);
	tc.task_id = (char *)"n2.1";
	bl = lb__peer_msg__get_packed_size(&pm);
	body = lb_calloc(1, bl + 1);
	lb__peer_msg__pack(&pm, body);
	/* 0: envelopes in sequence, one a replay, one of another cluster. */
	raw(&in, "\0", 1);
	e.version = LB__VERSION__VERSION_CURRENT;
	e.cluster = (char *)FZ_CLUSTER;
	e.sender = (char *)"n2";
	e.incarnation = 3;
	e.sent_ms = FZ_WALL;
	e.body.data = body;
	e.body.len = bl;
	for (int i = 1; i <= 3; i++) {
		e.msg_id = (uint64_t)i;
		PACK(&in, 0, envelope, &e);
	}
	PACK(&in, 0, envelope, &e);
	e.sender = (char *)"n3";
	e.msg_id = 100;
	PACK(&in, 0x81, envelope, &e);
	e.cluster = (char *)"other";
	PACK(&in, 0, envelope, &e);
	save("envelope", "sequence", &in);
	/* 1: a datagram sealed with the test key. */
	raw(&in, "\1", 1);
	env_init(&tx, fz_key, FZ_CLUSTER, "n2", 1, FZ_MAX, FZ_WINDOW);
	env_seal(&tx, FZ_WALL, body, bl, &d, &dl);
	raw(&in, d, dl);
	free(d);
	save("envelope", "sealed", &in);
	raw(&in, "\1", 1);
	raw(&in, "not a datagram at all, and no tag either....", 44);
	save("envelope", "junk", &in);
	/* 2: bodies sealed and opened, a replay, a restart. */
	raw(&in, "\2", 1);
	rec(&in, 0, body, bl);
	rec(&in, 1, body, bl);
	rec(&in, 0x08, body, bl);
	rec(&in, 0x12, body, bl);
	rec(&in, 0x60, "", 0);
	save("envelope", "seal-open", &in);
	env_free(&tx);
	free(body);
}

/* A record as a Transfer carries it: n2.1, to be held at n1. */
static void
record_init(Lb__TaskRecord *r, Lb__TaskSpec *s, const char *id,
    const char *host, uint32_t epoch, const char *by)
{
	lb__task_record__init(r);
	spec_init(s);
	r->id = (char *)id;
	r->spec = s;
	r->state = LB__TASK_STATE__TASK_QUEUED;
	r->epoch = epoch;
	r->epoch_by = (char *)by;
	r->host = (char *)host;
	r->submitted_ms = FZ_WALL;
}

static void
peer_seeds(void)
{
	struct in		 in = { 0 };
	Lb__PeerMsg		 pm;
	Lb__Gossip		 g = LB__GOSSIP__INIT;
	Lb__Member		 m[3], *mp[3];
	char			*attrs[] = { (char *)"gpu" };
	Lb__Probe		 pr = LB__PROBE__INIT;
	Lb__ProbeReply		 prr = LB__PROBE_REPLY__INIT;
	Lb__Transfer		 tr = LB__TRANSFER__INIT;
	Lb__TaskRecord		 r;
	Lb__TaskSpec		 s;
	Lb__MailMsg		 mm = LB__MAIL_MSG__INIT, *mmp = &mm;
	Lb__MailSeen		 ms = LB__MAIL_SEEN__INIT, *msp = &ms;
	Lb__TaskMove		 mv = LB__TASK_MOVE__INIT;
	Lb__TaskMoveReply	 mvr = LB__TASK_MOVE_REPLY__INIT;
	Lb__TaskNotice		 tn = LB__TASK_NOTICE__INIT;
	Lb__TaskNoticeAck	 tna = LB__TASK_NOTICE_ACK__INIT;
	Lb__TaskStop		 ts = LB__TASK_STOP__INIT;
	Lb__TaskStopAck		 tsa = LB__TASK_STOP_ACK__INIT;
	Lb__TaskCancel		 tc = LB__TASK_CANCEL__INIT;
	Lb__TaskReturn		 tre = LB__TASK_RETURN__INIT;
	Lb__TaskReturnAck	 trea = LB__TASK_RETURN_ACK__INIT;
	Lb__TransferAck		 ta = LB__TRANSFER_ACK__INIT;
	Lb__TaskMsg		 tm = LB__TASK_MSG__INIT;
	Lb__TaskMsgAck		 tma = LB__TASK_MSG_ACK__INIT;
	Lb__TaskLocation	 tl = LB__TASK_LOCATION__INIT;
	Lb__TaskLocate		 tlo = LB__TASK_LOCATE__INIT;
	Lb__CheckpointCopy	 cc = LB__CHECKPOINT_COPY__INIT;
	char			*path[] = { (char *)"n3", (char *)"n2" };

	/* Gossip: n2, n3 (gpu) and n4 (left) join. */
	for (int i = 0; i < 3; i++) {
		static const char *const ids[] = { "n2", "n3", "n4" };
		static const char *const addrs[] = { "tcp://127.0.0.1:7002",
		    "tcp://127.0.0.1:7003", "tcp://127.0.0.1:7004" };

		lb__member__init(&m[i]);
		m[i].id = (char *)ids[i];
		m[i].addr = (char *)addrs[i];
		m[i].incarnation = 5;
		m[i].heartbeat = 10;
		m[i].slots = 2;
		m[i].load = (uint32_t)i;
		mp[i] = &m[i];
	}
	m[1].attributes = attrs;
	m[1].n_attributes = 1;
	m[2].state = LB__MEMBER_STATE__MEMBER_LEFT;
	g.members = mp;
	g.n_members = 3;
	g.want_reply = 1;
	g.known = 3;
	BODY(pm, gossip, GOSSIP, &g);
	PACK(&in, 0x80, peer_msg, &pm);
	m[0].heartbeat = 11;
	PACK(&in, 0x88, peer_msg, &pm);
	save("peer", "gossip", &in);

	/* Probes: an offer, a request, a reply; after gossip. */
	BODY(pm, gossip, GOSSIP, &g);
	PACK(&in, 0x80, peer_msg, &pm);
	pr.req_id = 7;
	pr.load = 4;
	pr.slots = 2;
	BODY(pm, probe, PROBE, &pr);
	PACK(&in, 0, peer_msg, &pm);
	pr.request = 1;
	pr.load = 0;
	pr.attributes = attrs;
	pr.n_attributes = 1;
	PACK(&in, 1, peer_msg, &pm);
	prr.req_id = 1;
	prr.accept = 1;
	BODY(pm, probe_reply, PROBE_REPLY, &prr);
	PACK(&in, 0x8c, peer_msg, &pm);
	save("peer", "probes", &in);

	/* A Transfer of n2.1 to n1, with a mailbox, then the home commits. */
	record_init(&r, &s, "n2.1", "n1", 2, "n2");
	tr.req_id = 9;
	tr.record = &r;
	tr.xfer_id = 1;
	mm.sender = (char *)"n3";
	mm.seq = 1;
	mm.body.data = (uint8_t *)"hello";
	mm.body.len = 5;
	tr.mailbox = &mmp;
	tr.n_mailbox = 1;
	ms.sender = (char *)"n3";
	ms.seq = 1;
	tr.mailbox_seen = &msp;
	tr.n_mailbox_seen = 1;
	BODY(pm, transfer, TRANSFER, &tr);
	PACK(&in, 0, peer_msg, &pm);
	mv.task_id = (char *)"n2.1";
	mv.epoch = 2;
	mv.epoch_by = (char *)"n2";
	mv.host = (char *)"n1";
	mv.host_inc = 1;
	mv.parent_epoch = 1;
	mv.parent_by = (char *)"n2";
	mv.commit = 1;
	BODY(pm, task_move, TASK_MOVE, &mv);
	PACK(&in, 0x84, peer_msg, &pm);
	tm.task_id = (char *)"n2.1";
	tm.sender = (char *)"n3";
	tm.seq = 2;
	tm.body.data = (uint8_t *)"again";
	tm.body.len = 5;
	tm.origin = (char *)"n3";
	tm.path = path;
	tm.n_path = 1;
	BODY(pm, task_msg, TASK_MSG, &tm);
	PACK(&in, 1, peer_msg, &pm);
	ts.task_id = (char *)"n2.1";
	ts.epoch = 2;
	ts.epoch_by = (char *)"n2";
	ts.reason = (char *)"stale";
	BODY(pm, task_stop, TASK_STOP, &ts);
	PACK(&in, 0x88, peer_msg, &pm);
	save("peer", "transfer", &in);

	/* Messages to n1's own tasks, acks, locations. */
	tm.task_id = (char *)"n1.1";
	tm.seq = 1;
	tm.path = path;
	tm.n_path = 2;
	BODY(pm, task_msg, TASK_MSG, &tm);
	PACK(&in, 0, peer_msg, &pm);
	PACK(&in, 0, peer_msg, &pm);
	tm.probe = 1;
	tm.probe_req = 4;
	tm.tail = 1;
	PACK(&in, 0, peer_msg, &pm);
	tma.task_id = (char *)"n2.7";
	tma.sender = (char *)"n1";
	tma.seq = 1;
	tma.status = LB__MSG_STATUS__MSG_DELIVERED;
	tma.host = (char *)"n2";
	tma.epoch = 1;
	tma.path = path;
	tma.n_path = 2;
	BODY(pm, task_msg_ack, TASK_MSG_ACK, &tma);
	PACK(&in, 0, peer_msg, &pm);
	tl.task_id = (char *)"n2.7";
	tl.host = (char *)"n3";
	tl.epoch = 4;
	BODY(pm, task_location, TASK_LOCATION, &tl);
	PACK(&in, 0, peer_msg, &pm);
	tlo.req_id = 3;
	tlo.task_id = (char *)"n1.2";
	BODY(pm, task_locate, TASK_LOCATE, &tlo);
	PACK(&in, 0x8d, peer_msg, &pm);
	save("peer", "messages", &in);

	/* n1.1 moves to n2 (the balancer offered it), n2 notices and ends. */
	ta.req_id = 1;
	ta.task_id = (char *)"n1.2";
	ta.epoch = 2;
	ta.ok = 1;
	ta.epoch_by = (char *)"n1";
	BODY(pm, transfer_ack, TRANSFER_ACK, &ta);
	PACK(&in, 0, peer_msg, &pm);
	mvr.task_id = (char *)"n1.2";
	mvr.epoch = 2;
	mvr.epoch_by = (char *)"n1";
	mvr.committed = 1;
	BODY(pm, task_move_reply, TASK_MOVE_REPLY, &mvr);
	PACK(&in, 0, peer_msg, &pm);
	record_init(&r, &s, "n1.2", "n2", 2, "n1");
	r.state = LB__TASK_STATE__TASK_DONE;
	r.exit_code = 3;
	r.stdout_inline.data = (uint8_t *)"out\n";
	r.stdout_inline.len = 4;
	tn.record = &r;
	tn.mailbox_seen = &msp;
	tn.n_mailbox_seen = 1;
	BODY(pm, task_notice, TASK_NOTICE, &tn);
	PACK(&in, 0x84, peer_msg, &pm);
	tna.task_id = (char *)"n1.1";
	tna.epoch = 1;
	tna.epoch_by = (char *)"n1";
	tna.verdict = LB__VERDICT__VERDICT_STALE;
	BODY(pm, task_notice_ack, TASK_NOTICE_ACK, &tna);
	PACK(&in, 0, peer_msg, &pm);
	tsa.task_id = (char *)"n1.1";
	tsa.epoch = 1;
	tsa.epoch_by = (char *)"n1";
	BODY(pm, task_stop_ack, TASK_STOP_ACK, &tsa);
	PACK(&in, 0, peer_msg, &pm);
	save("peer", "home", &in);

	/* A return, a cancel, a checkpoint copy; a peer dead, one back. */
	tre.task_id = (char *)"n1.1";
	tre.epoch = 1;
	tre.epoch_by = (char *)"n1";
	tre.reason = (char *)"drain";
	tre.mailbox = &mmp;
	tre.n_mailbox = 1;
	BODY(pm, task_return, TASK_RETURN, &tre);
	PACK(&in, 0, peer_msg, &pm);
	trea.task_id = (char *)"n2.3";
	trea.epoch = 1;
	trea.epoch_by = (char *)"n2";
	trea.placed = 1;
	BODY(pm, task_return_ack, TASK_RETURN_ACK, &trea);
	PACK(&in, 0, peer_msg, &pm);
	tc.task_id = (char *)"n1.2";
	BODY(pm, task_cancel, TASK_CANCEL, &tc);
	PACK(&in, 0, peer_msg, &pm);
	record_init(&r, &s, "n1.1", "n2", 1, "n1");
	tr.record = &r;
	tr.n_mailbox = 0;
	tr.n_mailbox_seen = 0;
	cc.seq = 1;
	cc.transfer = &tr;
	BODY(pm, checkpoint_copy, CHECKPOINT_COPY, &cc);
	PACK(&in, 0, peer_msg, &pm);
	rec(&in, 0xc1, "", 0);		/* n3 dead */
	rec(&in, 0xd0, "", 0);		/* n2 restarted */
	rec(&in, 0xe0, "\0", 1);	/* n1.1 exits */
	rec(&in, 0xfc, "", 0);		/* a minute, ticks */
	save("peer", "events", &in);

	/* n1 moves n1.2 to n2 (req 0): n2 takes it, it runs there and ends;
	 * then n1.1 moves to n3, which dies. */
	rec(&in, 0xb1, "", 0);		/* move n1.2 to n2 */
	ta.req_id = 0;
	ta.task_id = (char *)"n1.2";
	ta.epoch = 2;
	ta.epoch_by = (char *)"n1";
	ta.ok = 1;
	BODY(pm, transfer_ack, TRANSFER_ACK, &ta);
	PACK(&in, 0, peer_msg, &pm);
	record_init(&r, &s, "n1.2", "n2", 2, "n1");
	r.state = LB__TASK_STATE__TASK_RUNNING;
	r.starts = 1;
	tn.record = &r;
	tn.n_mailbox_seen = 0;
	BODY(pm, task_notice, TASK_NOTICE, &tn);
	PACK(&in, 0x04, peer_msg, &pm);
	r.state = LB__TASK_STATE__TASK_DONE;
	PACK(&in, 0x08, peer_msg, &pm);
	rec(&in, 0xb2, "", 0);		/* move n1.1 to n3 */
	ta.task_id = (char *)"n1.1";
	PACK(&in, 1, peer_msg, &pm);
	rec(&in, 0xc1, "", 0);		/* n3 dead */
	rec(&in, 0xfc, "", 0);
	save("peer", "moves", &in);

	/* Leases: n2 asks about n1.2, which it holds (after the move), and
	 * about one it does not; then it grants n1 a lease on n2.4. */
	{
		Lb__LeaseItem	 li[2], *lip[2] = { &li[0], &li[1] };
		Lb__LeaseAsk	 la = LB__LEASE_ASK__INIT;
		Lb__LeaseGrant	 lg = LB__LEASE_GRANT__INIT;

		rec(&in, 0xb1, "", 0);	/* move n1.2 to n2 */
		ta.req_id = 0;
		ta.task_id = (char *)"n1.2";
		ta.epoch = 2;
		ta.epoch_by = (char *)"n1";
		ta.ok = 1;
		BODY(pm, transfer_ack, TRANSFER_ACK, &ta);
		PACK(&in, 0, peer_msg, &pm);
		for (int i = 0; i < 2; i++)
			lb__lease_item__init(&li[i]);
		li[0].task_id = (char *)"n1.2";
		li[0].epoch = 2;
		li[0].epoch_by = (char *)"n1";
		li[1].task_id = (char *)"n1.9";
		li[1].epoch = 1;
		li[1].epoch_by = (char *)"n1";
		la.sent_ms = 1000;
		la.items = lip;
		la.n_items = 2;
		BODY(pm, lease_ask, LEASE_ASK, &la);
		PACK(&in, 0, peer_msg, &pm);
		li[0].task_id = (char *)"n2.4";
		li[0].epoch = 1;
		li[0].epoch_by = (char *)"n2";
		li[0].verdict = LB__VERDICT__VERDICT_CURRENT;
		lg.sent_ms = 1000;
		lg.holder_inc = 1;
		lg.lease_ms = 800;
		lg.items = lip;
		lg.n_items = 1;
		BODY(pm, lease_grant, LEASE_GRANT, &lg);
		PACK(&in, 0, peer_msg, &pm);
		rec(&in, 0xfc, "", 0);
		save("peer", "leases", &in);
	}

	/* Kept messages: n2 (holding n1.2) sends n1 a copy; n1 answers n2's
	 * copy of a message to n2.5. */
	{
		Lb__MailCopy	 mc = LB__MAIL_COPY__INIT;
		Lb__MailCopyAck	 mca = LB__MAIL_COPY_ACK__INIT;
		Lb__MailMsg	 m1 = LB__MAIL_MSG__INIT;

		rec(&in, 0xb1, "", 0);	/* move n1.2 to n2 */
		ta.req_id = 0;
		ta.task_id = (char *)"n1.2";
		ta.epoch = 2;
		ta.epoch_by = (char *)"n1";
		ta.ok = 1;
		BODY(pm, transfer_ack, TRANSFER_ACK, &ta);
		PACK(&in, 0, peer_msg, &pm);
		m1.sender = (char *)"n3";
		m1.seq = 7;
		m1.body.data = (uint8_t *)"42";
		m1.body.len = 2;
		mc.task_id = (char *)"n1.2";
		mc.msg = &m1;
		BODY(pm, mail_copy, MAIL_COPY, &mc);
		PACK(&in, 0, peer_msg, &pm);
		mca.task_id = (char *)"n2.5";
		mca.sender = (char *)"n1";
		mca.seq = 1;
		mca.status = LB__MSG_STATUS__MSG_DELIVERED;
		BODY(pm, mail_copy_ack, MAIL_COPY_ACK, &mca);
		PACK(&in, 0, peer_msg, &pm);
		rec(&in, 0xfc, "", 0);
		save("peer", "kept", &in);
	}
}

static void
ctl_seeds(void)
{
	struct in		 in = { 0 };
	Lb__CtlRequest		 q;
	Lb__CtlSubmitReq	 sub = LB__CTL_SUBMIT_REQ__INIT;
	Lb__TaskSpec		 s;
	Lb__TaskFile		 f = LB__TASK_FILE__INIT, *fp = &f;
	char			*env[] = { (char *)"A=1" };
	char			*needs[] = { (char *)"gpu" };
	Lb__CtlTaskReq		 tq = LB__CTL_TASK_REQ__INIT;
	Lb__CtlSendReq		 sq = LB__CTL_SEND_REQ__INIT;
	Lb__CtlRecvReq		 rq = LB__CTL_RECV_REQ__INIT;
	Lb__CtlLocateReq	 lq = LB__CTL_LOCATE_REQ__INIT;
	Lb__CtlTailReq		 tl = LB__CTL_TAIL_REQ__INIT;
	Lb__CtlMigrateReq	 mq = LB__CTL_MIGRATE_REQ__INIT;
	Lb__CtlUpload		 up = LB__CTL_UPLOAD__INIT;

#define REQ(field, CASE, v) do {					\
	lb__ctl_request__init(&q);					\
	q.req_case = LB__CTL_REQUEST__REQ_##CASE;			\
	q.field = v;							\
} while (0)
	spec_init(&s);
	s.env = env;
	s.n_env = 1;
	f.name = (char *)"input.txt";
	f.data.data = (uint8_t *)"data";
	f.data.len = 4;
	f.mode = 0644;
	f.size = 4;
	s.files = &fp;
	s.n_files = 1;
	s.checkpointable = 1;
	s.checkpoint_signal = 10;
	s.checkpoint_exit_code = 85;
	sub.spec = &s;
	REQ(submit, SUBMIT, &sub);
	PACK(&in, 0, ctl_request, &q);
	s.needs = needs;
	s.n_needs = 1;
	s.pin = (char *)"n1";
	PACK(&in, 0x80, ctl_request, &q);
	save("ctl", "submit", &in);

	tq.id = (char *)"n1.1";
	REQ(show, SHOW, &tq);
	PACK(&in, 0, ctl_request, &q);
	REQ(cancel, CANCEL, &tq);
	PACK(&in, 0, ctl_request, &q);
	REQ(checkpoint, CHECKPOINT, &tq);
	PACK(&in, 0, ctl_request, &q);
	tq.id = (char *)"n2.4";
	PACK(&in, 0, ctl_request, &q);
	mq.id = (char *)"n1.2";
	mq.to = (char *)"n2";
	mq.token = 5;
	REQ(migrate, MIGRATE, &mq);
	PACK(&in, 0x90, ctl_request, &q);
	save("ctl", "tasks", &in);

	sq.id = (char *)"n1.1";
	sq.body.data = (uint8_t *)"ping";
	sq.body.len = 4;
	REQ(send, SEND, &sq);
	PACK(&in, 0, ctl_request, &q);
	rq.id = (char *)"n1.1";
	REQ(recv, RECV, &rq);
	PACK(&in, 0, ctl_request, &q);
	sq.id = (char *)"n2.3";
	sq.sender = (char *)"n1.1";
	REQ(send, SEND, &sq);
	PACK(&in, 0, ctl_request, &q);
	lq.id = (char *)"n2.3";
	REQ(locate, LOCATE, &lq);
	PACK(&in, 0, ctl_request, &q);
	tl.id = (char *)"n1.1";
	tl.offset = 10;
	REQ(tail, TAIL, &tl);
	PACK(&in, 0xff, ctl_request, &q);
	save("ctl", "messages", &in);

	up.id = 1;
	up.name = (char *)"big";
	up.size = 4;
	up.data.data = (uint8_t *)"abcd";
	up.data.len = 4;
	up.submit = &sub;
	REQ(upload, UPLOAD, &up);
	PACK(&in, 0, ctl_request, &q);
	save("ctl", "upload", &in);
#undef REQ
}

/* Frame a record as journal.c does, into `in` (raw). */
static void
frame(struct in *in, const Lb__TaskRecord *r)
{
	static const uint8_t magic[4] = { 0xf5, 'L', 'B', 'J' };
	size_t		 n = lb__task_record__get_packed_size(r);
	uint8_t		*f = lb_calloc(1, 16 + n);
	uint32_t	 le = htole32((uint32_t)n);
	crypto_generichash_state st;

	memcpy(f, magic, 4);
	memcpy(f + 4, &le, 4);
	lb__task_record__pack(r, f + 16);
	crypto_generichash_init(&st, NULL, 0, 8);
	crypto_generichash_update(&st, f, 8);
	crypto_generichash_update(&st, f + 16, n);
	crypto_generichash_final(&st, f + 8, 8);
	raw(in, f, 16 + n);
	free(f);
}

static void
journal_seeds(void)
{
	struct in	 in = { 0 }, rawj = { 0 };
	Lb__TaskRecord	 r[4];
	Lb__TaskSpec	 s[4];
	Lb__TaskVisit	 v = LB__TASK_VISIT__INIT, *vp = &v;

	record_init(&r[0], &s[0], "n1.1", "n1", 1, "n1");
	v.node = (char *)"n1";
	v.arrived_ms = FZ_WALL;
	r[0].hosts = &vp;
	r[0].n_hosts = 1;
	record_init(&r[1], &s[1], "n1.2", "n2", 3, "n2");
	r[1].state = LB__TASK_STATE__TASK_RUNNING;
	r[1].starts = 1;
	record_init(&r[2], &s[2], "n2.5", "n1", 2, "n2");
	r[2].state = LB__TASK_STATE__TASK_RUNNING;
	r[2].host_inc = 1;
	record_init(&r[3], &s[3], "n1.1", "n1", 1, "n1");
	r[3].state = LB__TASK_STATE__TASK_DONE;
	r[3].exit_code = 0;
	r[3].finished_ms = FZ_WALL + 5000;
	raw(&in, "\1", 1);
	for (int i = 0; i < 4; i++)
		PACK(&in, 0, task_record, &r[i]);
	save("journal", "records", &in);
	raw(&in, "\3", 1);
	PACK(&in, 0, task_record, &r[0]);
	PACK(&in, 0x83, task_record, &r[1]);
	PACK(&in, 0, task_record, &r[2]);
	save("journal", "damaged-no-ids", &in);
	raw(&rawj, "\0", 1);
	for (int i = 0; i < 3; i++)
		frame(&rawj, &r[i]);
	raw(&rawj, "\xf5LBJ\x10\0\0\0torn", 12);
	save("journal", "file-torn", &rawj);
	raw(&rawj, "\0", 1);
	frame(&rawj, &r[0]);
	raw(&rawj, "garbage between records", 23);
	frame(&rawj, &r[3]);
	save("journal", "file-damaged", &rawj);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: seeds DIR\n");
		return 2;
	}
	fz_init();
	outdir = argv[1];
	if (mkdir(outdir, 0755) == -1 && errno != EEXIST) {
		perror(outdir);
		return 1;
	}
	envelope_seeds();
	peer_seeds();
	ctl_seeds();
	journal_seeds();
	return 0;
}
