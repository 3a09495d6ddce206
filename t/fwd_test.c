/*
 * fwd_test.c - the forwarding core: links, path compression, the home and
 * query fallbacks, mailboxes, and exactly-once delivery, on a simulated
 * network of peers with a fake clock; then seeded runs where the network
 * loses, duplicates and reorders messages while tasks move.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forwarding/fwd.h"
#include "tap.h"

static void __attribute__((format(printf, 1, 2)))
diag(const char *fmt, ...)
{
	va_list	ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

#define NP	8		/* peers n0..n7 */
#define NT	4		/* tasks */
#define NQ	20000		/* messages in flight, at most */
#define NLOG	4096

struct task {
	char		 id[FWD_ID_MAX];
	int		 holder;	/* peer index */
	uint32_t	 epoch;
	int		 moving;
	int		 ended;
	int		 acting;	/* a replica acting as its home, or
					 * -1 (its home is the one its id
					 * names) */
	int		 told;		/* every peer was told who acts */
	/* what left links behind: link[p] (-1: none) */
	int		 link[NP];
	uint32_t	 link_epoch[NP];
};

struct pkt {
	int		 from, to;
	uint8_t		*buf;
	size_t		 len;
};

struct got {
	char		 task[FWD_ID_MAX];
	char		 sender[FWD_ID_MAX];
	uint64_t	 seq;
	long		 value;
};

struct done {
	uint64_t	 handle;
	int		 peer;
	struct fwd_result res;
};

static struct world {
	struct fwd	*f[NP];
	int		 idx[NP];	/* env args */
	int		 alive[NP];
	struct task	 t[NT];
	size_t		 nt;
	struct pkt	 q[NQ];
	size_t		 nq;
	uint64_t	 now;
	double		 loss, dup;
	struct got	 got[NLOG];
	size_t		 ngot;
	struct done	 done[NLOG];
	size_t		 ndone;
	uint64_t	 rng;
	uint64_t	 moves, sends;
} W;

static uint64_t
rnd(void)
{
	W.rng ^= W.rng << 13;
	W.rng ^= W.rng >> 7;
	W.rng ^= W.rng << 17;
	return W.rng;
}

static double
rndf(void)
{
	return (double)(rnd() % 1000000) / 1e6;
}

static const char *
name(int i)
{
	static char	b[NP][16];

	snprintf(b[i], sizeof(b[i]), "n%d", i);
	return b[i];
}

static int
index_of(const char *peer)
{
	if (peer[0] != 'n' || peer[1] < '0' || peer[1] >= '0' + NP || peer[2])
		return -1;
	return peer[1] - '0';
}

static struct task *
task_of(const char *id)
{
	for (size_t i = 0; i < W.nt; i++)
		if (strcmp(W.t[i].id, id) == 0)
			return &W.t[i];
	return NULL;
}

static int
home_index(const struct task *t)
{
	return t->id[1] - '0';
}

static void
where(void *arg, const char *id, struct fwd_where *w)
{
	int		 me = *(int *)arg;
	struct task	*t = task_of(id);

	if (t == NULL) {
		w->here = FWD_NOTHING;
		return;
	}
	if (t->acting >= 0 && (t->holder == me || t->acting == me ||
	    t->told))
		strcpy(w->home, name(t->acting));	/* the record says, or
							 * the takeover told */
	if (t->acting == me && !t->ended && t->holder != me) {
		w->here = FWD_AT;
		strcpy(w->host, name(t->holder));
		w->epoch = t->epoch;
		return;
	}
	if (t->holder == me && !t->ended) {
		w->here = t->moving ? FWD_MOVING : FWD_HELD;
		w->epoch = t->epoch;
		return;
	}
	if (t->holder == me && t->ended && home_index(t) != me) {
		w->here = FWD_ENDED;	/* its result not yet at its home */
		strcpy(w->state, "done");
		return;
	}
	if (home_index(t) == me) {
		if (t->ended) {
			w->here = FWD_ENDED;
			strcpy(w->state, "done");
			return;
		}
		w->here = FWD_AT;
		strcpy(w->host, name(t->holder));
		w->epoch = t->epoch;
		return;
	}
	w->here = FWD_NOTHING;
	if (t->link[me] >= 0) {
		strcpy(w->link, name(t->link[me]));
		w->link_epoch = t->link_epoch[me];
	}
}

static int
alive(void *arg, const char *peer)
{
	int	i = index_of(peer);

	(void)arg;
	return i >= 0 && W.alive[i];
}

static void
enqueue(int from, int to, const uint8_t *buf, size_t len)
{
	int	copies = 1;

	if (!W.alive[to] || W.nq >= NQ)
		return;
	if (rndf() < W.loss)
		return;
	if (rndf() < W.dup)
		copies = 2;
	while (copies-- > 0 && W.nq < NQ) {
		W.q[W.nq].from = from;
		W.q[W.nq].to = to;
		W.q[W.nq].buf = malloc(len + 1);
		memcpy(W.q[W.nq].buf, buf, len);
		W.q[W.nq].len = len;
		W.nq++;
	}
}

static void	carry(int p, struct fwd_out *o);

static void
tail_answer(int p, const struct fwd_action *a)
{
	Lb__PeerMsg	pm = LB__PEER_MSG__INIT;
	Lb__TaskMsgAck	k = LB__TASK_MSG_ACK__INIT;
	char		*path[FWD_MAX_HOPS + 1];
	const char	*data = "output!";
	uint8_t		*buf;
	size_t		 len;
	int		 to = index_of(a->to);

	for (size_t i = 0; i < a->res.nhops; i++)
		path[i] = (char *)a->res.hops[i];
	k.task_id = (char *)a->id;
	k.sender = (char *)name(to);
	k.status = LB__MSG_STATUS__MSG_LOCATED;
	k.host = (char *)name(p);
	k.epoch = a->res.epoch;
	k.path = path;
	k.n_path = a->res.nhops;
	k.probe_req = a->probe_req;
	k.tail_data.data = (uint8_t *)data + a->tail_offset;
	k.tail_data.len = strlen(data) - a->tail_offset;
	k.tail_offset = a->tail_offset;
	pm.body_case = LB__PEER_MSG__BODY_TASK_MSG_ACK;
	pm.task_msg_ack = &k;
	len = lb__peer_msg__get_packed_size(&pm);
	buf = malloc(len + 1);
	lb__peer_msg__pack(&pm, buf);
	if (to == p) {
		struct fwd_out o = { 0 };

		fwd_recv(W.f[p], W.now, name(p), &pm, &o);
		carry(p, &o);
		fwd_out_free(&o);
	} else
		enqueue(p, to, buf, len);
	free(buf);
}

static void
carry(int p, struct fwd_out *o)
{
	for (size_t i = 0; i < o->n; i++) {
		struct fwd_action *a = &o->v[i];

		switch (a->kind) {
		case FA_SEND:
			enqueue(p, index_of(a->to), a->msg, a->len);
			break;
		case FA_LOCATE:
			for (int j = 0; j < NP; j++)
				if (j != p)
					enqueue(p, j, a->msg, a->len);
			break;
		case FA_DONE:
			if (W.ndone < NLOG) {
				W.done[W.ndone].handle = a->res.handle;
				W.done[W.ndone].peer = p;
				W.done[W.ndone].res = a->res;
				W.done[W.ndone].res.tail.data = NULL;
				W.ndone++;
			}
			break;
		case FA_MAIL:
		case FA_KEEP:		/* the shell writes it down */
			break;
		case FA_TAIL:
		case FA_CHECKPOINT:
			tail_answer(p, a);
			break;
		}
	}
}

/* Deliver one packet from the queue, a random one (reordering). */
static int
step(void)
{
	struct pkt	 k;
	size_t		 i;
	Lb__PeerMsg	*m;
	struct fwd_out	 o = { 0 };

	if (W.nq == 0)
		return 0;
	i = rnd() % W.nq;
	k = W.q[i];
	W.q[i] = W.q[--W.nq];
	if (W.alive[k.to] &&
	    (m = lb__peer_msg__unpack(NULL, k.len, k.buf)) != NULL) {
		fwd_recv(W.f[k.to], W.now, name(k.from), m, &o);
		carry(k.to, &o);
		lb__peer_msg__free_unpacked(m, NULL);
	}
	fwd_out_free(&o);
	free(k.buf);
	return 1;
}

static void
tick_all(void)
{
	for (int p = 0; p < NP; p++) {
		struct fwd_out o = { 0 };

		if (!W.alive[p])
			continue;
		fwd_tick(W.f[p], W.now, &o);
		carry(p, &o);
		fwd_out_free(&o);
	}
}

/* The network until it is quiet. */
static void
drain_net(void)
{
	for (int n = 0; n < 100000 && step(); n++)
		;
}

/* Tasks take what their mailboxes have. */
static void
consume(void)
{
	for (size_t i = 0; i < W.nt; i++) {
		struct task	*t = &W.t[i];
		Lb__MailMsg	*m;

		if (t->moving || t->ended || !W.alive[t->holder])
			continue;
		while ((m = fwd_take(W.f[t->holder], t->id)) != NULL) {
			if (W.ngot < NLOG) {
				struct got *g = &W.got[W.ngot++];

				strcpy(g->task, t->id);
				strcpy(g->sender, m->sender);
				g->seq = m->seq;
				g->value = strtol((char *)m->body.data, NULL,
				    10);
			}
			lb__mail_msg__free_unpacked(m, NULL);
		}
	}
}

static int	home_failover;	/* the next world_init's peers */

static void
world_init(uint64_t seed, size_t mbox_msgs)
{
	struct fwd_conf	c = {
		.max_links = 64, .link_keep_s = 60, .max_mailboxes = 16,
		.mbox_msgs = mbox_msgs, .mbox_bytes = 1 << 20,
		.msg_max = 1024, .max_senders = 16, .outbox_max = 256,
		.retry_ms = 100, .retry_max_ms = 800,
		.home_failover = home_failover
	};

	for (int p = 0; p < NP; p++)
		fwd_free(W.f[p]);
	for (size_t i = 0; i < W.nq; i++)
		free(W.q[i].buf);
	memset(&W, 0, sizeof(W));
	W.rng = seed * 2654435761u + 1;
	W.now = 1000;
	for (int p = 0; p < NP; p++) {
		struct fwd_env env = { &W.idx[p], where, alive };

		W.idx[p] = p;
		W.alive[p] = 1;
		W.f[p] = fwd_new(&c, name(p), &env);
	}
}

static struct task *
task_add(const char *id, int holder)
{
	struct task	*t = &W.t[W.nt++];

	memset(t, 0, sizeof(*t));
	strcpy(t->id, id);
	t->holder = holder;
	t->acting = -1;
	t->epoch = 1;
	for (int p = 0; p < NP; p++)
		t->link[p] = -1;
	return t;
}

/* The task core's move: mailbox in the Transfer, a link left behind. */
static void
move(struct task *t, int to)
{
	Lb__Transfer	x = LB__TRANSFER__INIT;
	struct fwd_box	b;
	uint8_t		*buf;
	size_t		 len;
	Lb__Transfer	*y;

	fwd_export(W.f[t->holder], t->id, &b);
	x.mailbox = b.v;
	x.n_mailbox = b.n;
	x.mailbox_seen = b.s;
	x.n_mailbox_seen = b.ns;
	len = lb__transfer__get_packed_size(&x);
	buf = malloc(len + 1);
	lb__transfer__pack(&x, buf);
	fwd_export_free(&b);
	y = lb__transfer__unpack(NULL, len, buf);
	free(buf);
	b.v = y->mailbox;
	b.n = y->n_mailbox;
	b.s = y->mailbox_seen;
	b.ns = y->n_mailbox_seen;
	fwd_import(W.f[to], W.now, t->id, &b);
	lb__transfer__free_unpacked(y, NULL);
	W.moves++;
	t->link[t->holder] = to;
	t->link_epoch[t->holder] = t->epoch + 1;
	t->holder = to;
	t->epoch++;
}

static uint64_t
send(int from, const char *sender, const char *id, long v)
{
	struct fwd_out	 o = { 0 };
	char		 body[32], *cause = NULL;
	uint64_t	 h = 0;

	snprintf(body, sizeof(body), "%ld", v);
	if (fwd_send(W.f[from], W.now, sender, 1, id, body, strlen(body) + 1,
	    W.now + 20000, &h, &o, &cause) == -1) {
		diag("send: %s", cause);
		free(cause);
	}
	carry(from, &o);
	fwd_out_free(&o);
	return h;
}

static const struct fwd_result *
result(int peer, uint64_t h)
{
	for (size_t i = 0; i < W.ndone; i++)
		if (W.done[i].peer == peer && W.done[i].handle == h)
			return &W.done[i].res;
	return NULL;
}

static char *
hops(const struct fwd_result *r)
{
	static char	b[256];

	b[0] = '\0';
	for (size_t i = 0; r != NULL && i < r->nhops; i++) {
		strcat(b, i ? " " : "");
		strcat(b, r->hops[i]);
	}
	return b;
}

/* Run until every send of `from` ended (bounded). */
static const struct fwd_result *
settle(int from, uint64_t h)
{
	const struct fwd_result	*r;

	for (int i = 0; i < 400; i++) {
		drain_net();
		if ((r = result(from, h)) != NULL)
			return r;
		W.now += 50;
		tick_all();
	}
	return NULL;
}

static void
scenarios(void)
{
	const struct fwd_result	*r;
	struct task		*t;
	uint64_t		 h;
	char			 peer[LB_ID_MAX];
	uint32_t		 ep;

	/* A chain n1 -> n2 -> n3 -> n4, the home (n0) aside. */
	world_init(1, 64);
	t = task_add("n0.7", 1);
	move(t, 2);
	move(t, 3);
	move(t, 4);
	h = send(1, "n1", t->id, 1);
	r = settle(1, h);
	ok(r && r->done && r->status == LB__MSG_STATUS__MSG_DELIVERED,
	    "a message through a chain of links is delivered");
	is_str(hops(r), "n2 n3 n4", "it took the chain: n2 n3 n4");
	is(r ? r->epoch : 0, 4, "the ack names the holder's epoch");
	h = send(1, "n1", t->id, 2);
	r = settle(1, h);
	is_str(hops(r), "n4", "after compression the next takes one hop");
	ok(fwd_link(W.f[2], t->id, peer, &ep) == 0 && strcmp(peer, "n4") == 0
	    && ep == 4, "a peer on the path learned the holder (n2 -> n4)");
	ok(fwd_link(W.f[3], t->id, peer, NULL) == 0 && strcmp(peer, "n4") == 0,
	    "so did n3");
	consume();
	is(W.ngot, 2, "the task received both");
	ok(W.ngot == 2 && W.got[0].value == 1 && W.got[1].value == 2 &&
	    W.got[0].seq < W.got[1].seq, "in order");

	/* A locate probe: finds it, delivers nothing, compresses nothing. */
	{
		struct fwd_out	 o = { 0 };
		char		*cause = NULL;

		fwd_probe(W.f[5], W.now, t->id, FP_LOCATE, 0, 0, W.now + 5000, &h, &o,
		    &cause);
		carry(5, &o);
		fwd_out_free(&o);
		r = settle(5, h);
		ok(r && r->status == LB__MSG_STATUS__MSG_LOCATED &&
		    strcmp(r->host, "n4") == 0, "locate from n5 finds n4");
		is_str(hops(r), "n0 n4", "n5 has no link: through the home");
		fwd_probe(W.f[4], W.now, t->id, FP_TAIL, 2, 0, W.now + 5000, &h, &o,
		    &cause);
		carry(4, &o);
		fwd_out_free(&o);
		consume();
		is(W.ngot, 2, "a probe puts nothing in the mailbox");
	}

	/* Broken chain: the link's target is dead: to the home. */
	world_init(2, 64);
	t = task_add("n0.8", 1);
	move(t, 2);
	move(t, 3);
	W.alive[2] = 0;
	h = send(1, "n1", t->id, 5);
	r = settle(1, h);
	ok(r && r->done && r->status == LB__MSG_STATUS__MSG_DELIVERED,
	    "a link to a dead peer: delivered through the home");
	is_str(hops(r), "n0 n3", "n1 -> home n0 -> n3");

	/* Home dead too: ask the live peers. */
	world_init(3, 64);
	t = task_add("n0.9", 1);
	move(t, 2);
	move(t, 3);
	W.alive[2] = 0;
	W.alive[0] = 0;
	h = send(1, "n1", t->id, 6);
	r = settle(1, h);
	ok(r && r->done && r->status == LB__MSG_STATUS__MSG_DELIVERED,
	    "link and home dead: found by a query and delivered");
	is_str(hops(r), "n3", "the holder answered the query: one hop");
	ok(fwd_stats(W.f[1])->queries >= 1, "n1 asked the live peers");

	/* Homes with replicas: a holder does not take a message for a task
	 * whose home is dead without a copy (it would die with the
	 * holder); it waits until a replica acts for the home, and the
	 * copy is kept there. */
	home_failover = 1;
	world_init(3, 64);
	home_failover = 0;
	t = task_add("n0.12", 1);
	move(t, 3);
	W.alive[0] = 0;
	h = send(1, "n1", t->id, 6);
	for (int i = 0; i < 20; i++) {
		drain_net();
		W.now += 50;
		tick_all();
	}
	ok(result(1, h) == NULL && fwd_stats(W.f[3])->waits_home >= 1 &&
	    fwd_stats(W.f[3])->delivered == 0,
	    "home dead, no replica acting: the holder has it wait");
	t->acting = 4;
	r = settle(1, h);
	ok(r && r->done && r->status == LB__MSG_STATUS__MSG_DELIVERED &&
	    strcmp(r->host, "n3") == 0,
	    "a replica acts for the home: delivered at the holder");
	ok(fwd_stats(W.f[4])->kept == 1 && fwd_stats(W.f[3])->copies >= 1,
	    "its copy is kept by the acting home");
	/* No replica acts for it (a majority of the set is gone too): it
	 * waits until its deadline -- not acknowledged, so not lost; and
	 * once the home is back, the next one goes through it. */
	home_failover = 1;
	world_init(3, 64);
	home_failover = 0;
	t = task_add("n0.13", 1);
	move(t, 3);
	W.alive[0] = 0;
	h = send(1, "n1", t->id, 7);
	for (int i = 0; i < 500 && (r = result(1, h)) == NULL; i++) {
		drain_net();
		W.now += 50;
		tick_all();
	}
	ok(r && r->done == 0 && fwd_stats(W.f[3])->delivered == 0,
	    "no replica acts, the home stays dead: the send times out, "
	    "nothing taken");
	W.alive[0] = 1;
	h = send(1, "n1", t->id, 8);
	r = settle(1, h);
	ok(r && r->done && r->status == LB__MSG_STATUS__MSG_DELIVERED &&
	    fwd_stats(W.f[0])->kept == 1, "the home back: delivered, its "
	    "copy kept there");

	/* Every peer was told that a replica acts for the dead home: a
	 * peer that knows nothing else goes there, as to the home, not
	 * to every peer (a broadcast: N messages at N peers). */
	home_failover = 1;
	world_init(3, 64);
	home_failover = 0;
	t = task_add("n0.14", 1);
	move(t, 3);		/* (n1 keeps a link to n3) */
	W.alive[0] = 0;
	t->acting = 4;
	t->told = 1;
	h = send(2, "n2", t->id, 9);
	r = settle(2, h);
	ok(r && r->done && r->status == LB__MSG_STATUS__MSG_DELIVERED,
	    "home dead, a replica acting, told to all: delivered");
	is_str(r ? hops(r) : "", "n4 n3", "n2 -> the acting replica n4 -> n3");
	ok(fwd_stats(W.f[2])->queries == 0 && fwd_stats(W.f[2])->to_acting == 1,
	    "no peer asked: passed to the acting replica");
	/* The home back (it dropped what was taken over): still to the
	 * replica that acts, not to the home, which would not know it. */
	W.alive[0] = 1;
	h = send(6, "n6", t->id, 11);
	r = settle(6, h);
	ok(r && r->done && r->status == LB__MSG_STATUS__MSG_DELIVERED,
	    "the home back, a replica still acting: delivered");
	is_str(r ? hops(r) : "", "n4 n3", "n6 -> the acting replica n4 -> n3");
	W.alive[0] = 0;
	t->told = 0;
	h = send(5, "n5", t->id, 10);
	r = settle(5, h);
	ok(r && r->done && r->status == LB__MSG_STATUS__MSG_DELIVERED &&
	    fwd_stats(W.f[5])->queries >= 1,
	    "not told: found by asking the live peers, as before");

	/* While it moves, messages wait at their senders and arrive after. */
	world_init(4, 64);
	t = task_add("n0.10", 1);
	t->moving = 1;
	h = send(5, "n5", t->id, 7);
	for (int i = 0; i < 5; i++) {
		drain_net();
		W.now += 50;
		tick_all();
	}
	ok(result(5, h) == NULL, "no answer while the task is frozen");
	t->moving = 0;
	move(t, 6);
	r = settle(5, h);
	ok(r && r->status == LB__MSG_STATUS__MSG_DELIVERED &&
	    strcmp(r->host, "n6") == 0, "delivered at its new host after");

	/* The mailbox moves with its task. */
	world_init(5, 64);
	t = task_add("n0.11", 1);
	h = send(3, "n3", t->id, 1);
	settle(3, h);
	h = send(3, "n3", t->id, 2);
	settle(3, h);
	move(t, 2);
	is(fwd_mailbox_count(W.f[2], t->id, NULL), 2,
	    "two messages moved with the task");
	W.now += 2000;
	tick_all();
	is(fwd_mailbox_count(W.f[1], t->id, NULL), 0,
	    "and left nothing behind");
	h = send(3, "n3", t->id, 3);
	r = settle(3, h);
	consume();
	ok(W.ngot == 3 && W.got[2].value == 3, "the third follows them");

	/* Full, ended, unknown, too large, deadline. */
	world_init(6, 2);
	t = task_add("n0.12", 1);
	send(3, "n3", t->id, 1);
	send(3, "n3", t->id, 2);
	h = send(3, "n3", t->id, 3);
	r = settle(3, h);
	ok(r && r->status == LB__MSG_STATUS__MSG_FULL, "a full mailbox "
	    "refuses");
	t->ended = 1;
	h = send(3, "n3", t->id, 4);
	r = settle(3, h);
	ok(r && r->status == LB__MSG_STATUS__MSG_ENDED &&
	    strcmp(r->detail, "done") == 0, "an ended task refuses, with its "
	    "state");
	h = send(3, "n3", "n0.99", 1);
	r = settle(3, h);
	ok(r && r->status == LB__MSG_STATUS__MSG_UNKNOWN, "an unknown task: "
	    "its home says so");
	{
		struct fwd_out	 o = { 0 };
		char		 big[2048], *cause = NULL;

		memset(big, 'x', sizeof(big));
		ok(fwd_send(W.f[3], W.now, "n3", 1, t->id, big, sizeof(big),
		    W.now + 1000, &h, &o, &cause) == -1 && cause != NULL,
		    "an oversize message is refused at once");
		free(cause);
		cause = NULL;
		ok(fwd_send(W.f[3], W.now, "n3", 1, "n0.x", "1", 1,
		    W.now + 1000, &h, &o, &cause) == -1, "a malformed id too");
		free(cause);
		cause = NULL;
		ok(fwd_send(W.f[3], W.now, "bad sender!", 1, t->id, "1", 1,
		    W.now + 1000, &h, &o, &cause) == -1, "and a bad sender");
		free(cause);
		fwd_out_free(&o);
	}
	W.alive[0] = W.alive[1] = 0;
	t->ended = 0;
	h = send(3, "n3", t->id, 5);
	for (int i = 0; i < 500 && result(3, h) == NULL; i++) {
		drain_net();
		W.now += 50;
		tick_all();
	}
	r = result(3, h);
	ok(r && !r->done, "home and holder dead: the send times out");

	/* A retry of a message the task took before it ended (its ack was
	 * lost) is told "delivered", at the holder and at the home. */
	world_init(8, 64);
	t = task_add("n0.13", 1);
	h = send(3, "n3", t->id, 1);
	r = settle(3, h);
	{
		Lb__PeerMsg	 pm = LB__PEER_MSG__INIT;
		Lb__TaskMsg	 m = LB__TASK_MSG__INIT;
		struct fwd_out	 o = { 0 };
		struct fwd_box	 b;
		char		*path[1] = { "n3" };
		uint64_t	 d0 = fwd_stats(W.f[1])->duplicates;
		uint64_t	 d1 = fwd_stats(W.f[0])->duplicates;

		t->ended = 1;
		W.now += 2000;
		tick_all();	/* the holder's mailbox goes; what it took
				 * stays */
		m.task_id = t->id;
		m.sender = "n3";
		m.seq = r ? r->seq : 0;
		m.origin = "n3";
		m.path = path;
		m.n_path = 1;
		pm.body_case = LB__PEER_MSG__BODY_TASK_MSG;
		pm.task_msg = &m;
		fwd_recv(W.f[1], W.now, "n3", &pm, &o);
		is(fwd_stats(W.f[1])->duplicates - d0, 1, "the ended task's "
		    "holder acknowledges a late retry as delivered");
		fwd_export(W.f[1], t->id, &b);	/* as its result carries it */
		fwd_ended(W.f[0], W.now, t->id, &b);
		fwd_export_free(&b);
		t->holder = 0;		/* its result is home; n1 forgot it */
		fwd_recv(W.f[0], W.now, "n3", &pm, &o);
		is(fwd_stats(W.f[0])->duplicates - d1, 1, "so does its home, "
		    "from what the result brought");
		m.seq++;
		fwd_recv(W.f[0], W.now, "n3", &pm, &o);
		is(fwd_stats(W.f[0])->duplicates - d1, 1, "a new message is "
		    "refused (ended), not taken for a duplicate");
		fwd_out_free(&o);
	}

	/* The same at a home that still has the mailbox of the task's stay
	 * there (not swept yet): what the result brought counts too. */
	world_init(9, 64);
	t = task_add("n0.14", 0);
	h = send(3, "n3", t->id, 1);
	settle(3, h);
	move(t, 1);			/* n0 keeps its old mailbox a while */
	h = send(3, "n3", t->id, 2);
	r = settle(3, h);
	{
		Lb__PeerMsg	 pm = LB__PEER_MSG__INIT;
		Lb__TaskMsg	 m = LB__TASK_MSG__INIT;
		struct fwd_out	 o = { 0 };
		struct fwd_box	 b;
		char		*path[1] = { "n3" };
		uint64_t	 d0 = fwd_stats(W.f[0])->duplicates;

		fwd_export(W.f[1], t->id, &b);
		fwd_ended(W.f[0], W.now, t->id, &b);
		fwd_export_free(&b);
		t->ended = 1;
		t->holder = 0;
		is(fwd_mailbox_count(W.f[0], t->id, NULL), 1, "the home "
		    "still has the mailbox of the task's stay there");
		m.task_id = t->id;
		m.sender = "n3";
		m.seq = r ? r->seq : 0;
		m.origin = "n3";
		m.path = path;
		m.n_path = 1;
		pm.body_case = LB__PEER_MSG__BODY_TASK_MSG;
		pm.task_msg = &m;
		fwd_recv(W.f[0], W.now, "n3", &pm, &o);
		is(fwd_stats(W.f[0])->duplicates - d0, 1, "a home with an "
		    "older stay's mailbox still knows the late retry was "
		    "delivered");
		fwd_out_free(&o);
	}

	/* Links: a newer epoch replaces, an older does not; expiry. */
	world_init(7, 64);
	fwd_learn(W.f[1], W.now, "n0.5", "n2", 3);
	fwd_learn(W.f[1], W.now, "n0.5", "n3", 2);
	ok(fwd_link(W.f[1], "n0.5", peer, &ep) == 0 &&
	    strcmp(peer, "n2") == 0 && ep == 3, "an older epoch does not "
	    "replace a link");
	fwd_learn(W.f[1], W.now, "n0.5", "n4", 5);
	ok(fwd_link(W.f[1], "n0.5", peer, &ep) == 0 &&
	    strcmp(peer, "n4") == 0 && ep == 5, "a newer one does");
	W.now += 59 * 1000;
	tick_all();
	ok(fwd_link(W.f[1], "n0.5", NULL, NULL) == 0, "kept while fresh");
	W.now += 2 * 1000 + 1001;
	tick_all();
	ok(fwd_link(W.f[1], "n0.5", NULL, NULL) == -1, "expired after "
	    "link_keep_s unused");

	/* Malformed messages from the wire. */
	{
		Lb__PeerMsg	 pm = LB__PEER_MSG__INIT;
		Lb__TaskMsg	 m = LB__TASK_MSG__INIT;
		struct fwd_out	 o = { 0 };
		char		*path[2] = { "n2", "n3" };
		uint64_t	 before = fwd_stats(W.f[1])->drop_invalid;

		m.task_id = "n0.5";
		m.sender = "n2";
		m.seq = 1;
		m.origin = "n2";
		m.path = path;
		m.n_path = 2;
		pm.body_case = LB__PEER_MSG__BODY_TASK_MSG;
		pm.task_msg = &m;
		fwd_recv(W.f[1], W.now, "n2", &pm, &o);	/* from != last */
		m.n_path = 0;
		fwd_recv(W.f[1], W.now, "n2", &pm, &o);	/* no path */
		m.n_path = 1;
		m.task_id = "../etc";
		fwd_recv(W.f[1], W.now, "n2", &pm, &o);	/* bad id */
		is(fwd_stats(W.f[1])->drop_invalid - before, 3,
		    "malformed TaskMsgs are dropped and counted");
		is(o.n, 0, "and nothing is sent for them");
		fwd_out_free(&o);
	}

	/* Messages outlive their holder: its home keeps a copy of each
	 * before the holder takes it, until a checkpoint at the home covers
	 * it; a run that starts over at the home gets the rest again. */
	{
		struct fwd_box	 b;
		struct fwd_out	 o = { 0 };
		uint64_t	 seq1;
		size_t		 before;

		world_init(4, 64);
		t = task_add("n0.10", 1);
		W.loss = 0.3;		/* copies and their answers too */
		h = send(2, "n2", t->id, 7);
		r = settle(2, h);
		ok(r && r->done && (r->status == LB__MSG_STATUS__MSG_DELIVERED ||
		    r->status == LB__MSG_STATUS__MSG_DUPLICATE),
		    "held at n1, homed at n0: delivered over a lossy network "
		    "(or its ack lost, then told it was a duplicate)");
		seq1 = r ? r->seq : 0;
		W.loss = 0;
		fwd_keep_export(W.f[0], t->id, &b);
		ok(b.n == 1 && b.v[0]->seq == seq1, "its home n0 kept a copy");
		fwd_export_free(&b);
		ok(fwd_stats(W.f[1])->copies > 0 && fwd_stats(W.f[0])->kept == 1,
		    "n1 sent the copy, n0 kept it once");
		consume();
		fwd_consumed(W.f[1], t->id, &b);
		ok(b.ns == 1 && b.s[0]->seq == seq1,
		    "n1 says the task took it (for its checkpoint)");
		fwd_checkpointed(W.f[0], t->id, &b, &o);
		fwd_export_free(&b);
		fwd_keep_export(W.f[0], t->id, &b);
		ok(b.n == 0 && b.ns == 1, "a checkpoint at the home covering it: "
		    "the copy goes, the sender is remembered");
		fwd_export_free(&b);
		fwd_out_free(&o);
		h = send(2, "n2", t->id, 8);
		r = settle(2, h);
		ok(r && r->status == LB__MSG_STATUS__MSG_DELIVERED,
		    "the next one delivered");
		/* n1 dies before the task took it; the home runs the task
		 * again from that checkpoint. */
		W.alive[1] = 0;
		t->holder = 0;
		t->epoch++;
		fwd_replay(W.f[0], W.now, t->id, 0);
		before = W.ngot;
		consume();
		ok(W.ngot == before + 1 && W.got[before].value == 8,
		    "the run that starts over at the home gets it (and not the "
		    "one its checkpoint has)");
		h = send(2, "n2", t->id, 9);
		r = settle(2, h);
		consume();
		ok(r && r->status == LB__MSG_STATUS__MSG_DELIVERED &&
		    W.got[W.ngot - 1].value == 9,
		    "and the sender's next one, once");
		/* Another sender, at the home itself. */
		h = send(3, "n3", t->id, 10);
		r = settle(3, h);
		ok(r && r->status == LB__MSG_STATUS__MSG_DELIVERED,
		    "another sender's message at the home, kept there");
		fwd_keep_export(W.f[0], t->id, &b);
		is(b.n, 3, "the home keeps 8, 9 and 10 until a checkpoint");
		fwd_export_free(&b);
		/* A task handed back with a message its holder took without
		 * a copy (its home was down then): the run placed anew has
		 * the kept ones and that one, in order, each once. */
		{
			Lb__MailMsg	 mm = LB__MAIL_MSG__INIT, *mmp = &mm;
			Lb__MailSeen	 ss = LB__MAIL_SEEN__INIT, *ssp = &ss;
			struct fwd_box	 in = { 1, 1, &mmp, &ssp, 0, NULL };
			Lb__MailMsg	*x;
			char		 got[64] = "";

			consume();	/* the mailbox is empty now */
			mm.sender = "n6";
			mm.seq = 100;
			mm.body.data = (uint8_t *)"11";
			mm.body.len = 3;
			ss.sender = "n6";
			ss.seq = 100;
			fwd_import(W.f[0], W.now, t->id, &in);
			fwd_replay(W.f[0], W.now, t->id, 0);
			while ((x = fwd_take(W.f[0], t->id)) != NULL) {
				snprintf(got + strlen(got), sizeof(got) -
				    strlen(got), "%s%s", got[0] ? " " : "",
				    (char *)x->body.data);
				lb__mail_msg__free_unpacked(x, NULL);
			}
			is_str(got, "8 9 10 11", "a replay keeps what the "
			    "mailbox had above what was kept");
		}
	}

	/* With replicated homes a checkpoint the home holds does not let
	 * the copies go: a replica that takes over has no checkpoint, runs
	 * the task from its start, and needs them all.  A run from the
	 * home's checkpoint skips them still. */
	{
		struct fwd_box	 b, b2;
		struct fwd_out	 o = { 0 };
		char		 got[2][64] = { "", "" };

		home_failover = 1;
		world_init(4, 64);
		home_failover = 0;
		t = task_add("n0.11", 1);
		for (int v = 1; v <= 2; v++) {
			h = send(2, "n2", t->id, v);
			r = settle(2, h);
		}
		consume();
		fwd_consumed(W.f[1], t->id, &b);
		fwd_checkpointed(W.f[0], t->id, &b, &o);
		fwd_export_free(&b);
		h = send(2, "n2", t->id, 3);
		r = settle(2, h);
		fwd_keep_export(W.f[0], t->id, &b);
		ok(b.n == 3 && b.nck == 1 && o.n == 1, "a checkpoint at the "
		    "home: the copies of what it took stay, marked, and the "
		    "keep is written anew (%zu kept, %zu marked)", b.n, b.nck);
		/* (read back by the home restarted; by a replica that takes
		 * over, which holds no checkpoint: unmarked) */
		fwd_keep_load(W.f[2], W.now, t->id, &b, 0);
		fwd_keep_export(W.f[2], t->id, &b2);
		ok(b2.n == 3 && b2.nck == 1 && b2.ck[0]->seq == b.ck[0]->seq,
		    "what is marked is read back with the copies");
		fwd_export_free(&b2);
		fwd_keep_load(W.f[3], W.now, t->id, &b, 1);
		fwd_keep_export(W.f[3], t->id, &b2);
		ok(b2.n == 3 && b2.nck == 0, "taken over: all three, unmarked");
		fwd_export_free(&b);
		fwd_export_free(&b2);
		fwd_out_free(&o);
		W.alive[1] = 0;
		for (int from_start = 0; from_start < 2; from_start++) {
			Lb__MailMsg *x;
			struct fwd *f = W.f[from_start ? 3 : 0];

			fwd_replay(f, W.now, t->id, from_start);
			while ((x = fwd_take(f, t->id)) != NULL) {
				snprintf(got[from_start] +
				    strlen(got[from_start]), sizeof(got[0]) -
				    strlen(got[from_start]), "%s%s",
				    got[from_start][0] ? " " : "",
				    (char *)x->body.data);
				lb__mail_msg__free_unpacked(x, NULL);
			}
		}
		is_str(got[0], "3", "a run from the home's checkpoint gets "
		    "only what it did not take");
		is_str(got[1], "1 2 3", "a run from the start, where a replica "
		    "took over, gets all three");
	}
}

/*
 * Seeded runs: NT tasks moving among the peers while three senders send
 * each a numbered series to every task, over a network that loses,
 * duplicates and reorders.  Every acknowledged message is received once,
 * in order per sender; nothing is received twice.
 */
static int
seeded(uint64_t seed, char *why, size_t whylen)
{
	long	 next[3][NT];
	uint64_t handle[3][NT];
	int	 sent = 0;

	world_init(seed, 64);
	W.loss = 0.2;
	W.dup = 0.1;
	for (size_t i = 0; i < NT; i++) {
		char id[32];

		snprintf(id, sizeof(id), "n%zu.%zu", i % 2, i + 1);
		task_add(id, 2 + (int)i);
	}
	memset(next, 0, sizeof(next));
	memset(handle, 0, sizeof(handle));
	for (int round = 0; round < 3000; round++) {
		int left = 0;

		for (int s = 0; s < 3; s++)
			for (size_t i = 0; i < NT; i++)
				if (next[s][i] < 12 || result(5 + s,
				    handle[s][i]) == NULL)
					left++;
		if (left == 0)
			break;
		/* Senders n5..n7 send the next of each series when the one
		 * before ended. */
		for (int s = 0; s < 3; s++)
			for (size_t i = 0; i < NT; i++) {
				if (handle[s][i] != 0 &&
				    result(5 + s, handle[s][i]) == NULL)
					continue;
				if (next[s][i] >= 12)
					continue;
				handle[s][i] = send(5 + s, name(5 + s),
				    W.t[i].id, ++next[s][i]);
				sent++;
				W.sends++;
			}
		/* A task moves now and then: freezes, then moves. */
		for (size_t i = 0; i < NT; i++) {
			struct task *t = &W.t[i];

			if (t->moving && rnd() % 2 == 0) {
				int to = (int)(rnd() % 5);

				t->moving = 0;
				if (to != t->holder)
					move(t, to);
			} else if (rnd() % 40 == 0)
				t->moving = 1;
		}
		for (int k = 0; k < 20 && step(); k++)
			;
		if (rnd() % 3 == 0)
			consume();
		W.now += 40;
		tick_all();
	}
	for (size_t i = 0; i < NT; i++)
		W.t[i].moving = 0;
	for (int i = 0; i < 600; i++) {
		drain_net();
		consume();
		W.now += 50;
		tick_all();
	}
	consume();
	/* Every send ended delivered (nothing was refused: no end, room). */
	for (size_t d = 0; d < W.ndone; d++)
		if (!W.done[d].res.done || (W.done[d].res.status !=
		    LB__MSG_STATUS__MSG_DELIVERED && W.done[d].res.status !=
		    LB__MSG_STATUS__MSG_DUPLICATE)) {
			snprintf(why, whylen, "a send ended %d/%d",
			    W.done[d].res.done, W.done[d].res.status);
			return -1;
		}
	if ((int)W.ndone != sent) {
		snprintf(why, whylen, "%zu of %d sends ended", W.ndone, sent);
		return -1;
	}
	/* Each (task, sender) series received exactly 1..12, in order. */
	for (size_t i = 0; i < NT; i++)
		for (int s = 0; s < 3; s++) {
			long want = 1;

			for (size_t g = 0; g < W.ngot; g++) {
				if (strcmp(W.got[g].task, W.t[i].id) != 0 ||
				    strcmp(W.got[g].sender, name(5 + s)) != 0)
					continue;
				if (W.got[g].value != want) {
					snprintf(why, whylen, "%s from %s: got "
					    "%ld, wanted %ld", W.t[i].id,
					    name(5 + s), W.got[g].value, want);
					return -1;
				}
				want++;
			}
			if (want != 13) {
				for (int p = 0; p < NP; p++)
					diag("  %s: mailbox of %s at n%d: %zu",
					    name(p), W.t[i].id, p,
					    fwd_mailbox_count(W.f[p], W.t[i].id,
					    NULL));
				diag("  holder n%d moving %d", W.t[i].holder,
				    W.t[i].moving);
				snprintf(why, whylen, "%s from %s: %ld of 12",
				    W.t[i].id, name(5 + s), want - 1);
				return -1;
			}
		}
	return 0;
}

int
main(int argc, char **argv)
{
	int	 seeds = argc > 1 ? atoi(argv[1]) : 300, bad = 0;
	uint64_t dups = 0, fwds = 0, comp = 0, moves = 0, sends = 0;
	char	 why[160];

	scenarios();
	for (int s = 1; s <= seeds; s++) {
		if (seeded((uint64_t)s, why, sizeof(why)) == -1) {
			if (bad++ < 5)
				diag("seed %d: %s", s, why);
		}
		moves += W.moves;
		sends += W.sends;
		for (int p = 0; p < NP; p++) {
			dups += fwd_stats(W.f[p])->duplicates;
			fwds += fwd_stats(W.f[p])->forwarded;
			comp += fwd_stats(W.f[p])->compressions;
		}
	}
	diag("%d seeds: %llu messages, %llu moves", seeds,
	    (unsigned long long)sends, (unsigned long long)moves);
	diag("%d seeds: %llu duplicates acknowledged, %llu forwarded, %llu "
	    "compressions", seeds, (unsigned long long)dups,
	    (unsigned long long)fwds, (unsigned long long)comp);
	is(bad, 0, "%d seeded runs with loss, duplication and moves: every "
	    "message exactly once, in order", seeds);
	ok(dups > 0 && fwds > 0 && moves > (uint64_t)seeds * 5,
	    "the runs did duplicate, forward and move");
	world_init(0, 1);
	for (int p = 0; p < NP; p++) {
		fwd_free(W.f[p]);
		W.f[p] = NULL;
	}
	return done_testing();
}
