/* balance_test.c - the balancing core with a fake clock and fixed seeds. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "balance/balance.h"
#include "t/tap.h"

static struct balance_conf conf = {
	.policy = BALANCE_SYMMETRIC, .location = LOCATION_RANDOM,
	.lower = -1, .upper = -1, .probe_limit = 3, .probe_timeout_ms = 100,
	.reserve_ms = 500, .backoff_ms = 200, .backoff_max_ms = 1000,
	.max_moves = 2
};

static struct balance_peer peers[10];
static char ids[10][8];

static void
mkpeers(void)
{
	for (int i = 0; i < 10; i++) {
		snprintf(ids[i], sizeof(ids[i]), "p%d", i);
		peers[i] = (struct balance_peer){ ids[i], 0, 1, "" };
	}
}

static size_t
count(const struct balance_out *o, enum balance_action_kind k)
{
	size_t	n = 0;

	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].kind == k)
			n++;
	return n;
}

static void
test_roles(void)
{
	struct balance *b = balance_new(&conf, "me", "", 1);

	is(balance_role(b, 0, 1), ROLE_RECEIVER, "slots 1, load 0: receiver");
	is(balance_role(b, 1, 1), ROLE_NEUTRAL, "load 1: neutral");
	is(balance_role(b, 2, 1), ROLE_SENDER, "load 2: sender");
	is(balance_role(b, 2 - 1, 1), ROLE_NEUTRAL,
	    "a sender that hands over one task is neutral, not a receiver");
	is(balance_role(b, 0 + 1, 1), ROLE_NEUTRAL,
	    "a receiver that takes one is neutral, not a sender");
	is(balance_role(b, 4, 4), ROLE_NEUTRAL, "slots 4, load 4: neutral");
	balance_free(b);
	struct balance_conf c = conf;
	c.lower = 2;
	c.upper = 5;
	b = balance_new(&c, "me", "", 1);
	ok(balance_role(b, 1, 1) == ROLE_RECEIVER &&
	    balance_role(b, 5, 1) == ROLE_NEUTRAL &&
	    balance_role(b, 6, 1) == ROLE_SENDER, "explicit thresholds 2 and 5");
	balance_free(b);
}

static void
test_probe_limit_and_backoff(void)
{
	struct balance *b = balance_new(&conf, "me", "", 2);
	struct balance_out o = { 0 };
	struct balance_task t[2] = {
		{ "me.1", 0, 0, "", 0, 0, "", 0, 0, 0, 0 },
		{ "me.2", 0, 0, "", 0, 0, "", 0, 0, 0, 0 } };
	uint64_t now = 1000, req;
	int offers = 0;

	mkpeers();
	balance_tick(b, now, 3, 1, peers, 10, t, 2, &o);
	ok(o.n == 1 && o.v[0].kind == BA_OFFER, "a sender offers a task");
	ok(o.n == 1 && strcmp(o.v[0].task, "me.1") == 0,
	    "the oldest waiting task (none is fresh)");
	offers += (int)count(&o, BA_OFFER);
	for (int i = 0; i < 5; i++) {
		req = o.n ? o.v[o.n - 1].req_id : 0;
		balance_out_reset(&o);
		balance_answer(b, now, req, 0, &o);
		offers += (int)count(&o, BA_OFFER);
		balance_tick(b, now, 3, 1, peers, 10, t, 2, &o);
		offers += (int)count(&o, BA_OFFER) - (int)count(&o, BA_OFFER);
	}
	is(offers, 3, "never more than probe_limit (3) polls in a round");
	is(balance_stats(b)->backoffs, 1, "then it backs off");
	balance_out_reset(&o);
	balance_tick(b, now + 199, 3, 1, peers, 10, t, 2, &o);
	is(o.n, 0, "no poll during backoff_ms");
	balance_tick(b, now + 200, 3, 1, peers, 10, t, 2, &o);
	is(count(&o, BA_OFFER), 1, "a new round at backoff_ms");
	/* Three timeouts: the backoff doubles. */
	now += 200;
	for (int i = 0; i < 3; i++) {
		now += 100;
		balance_out_reset(&o);
		balance_tick(b, now, 3, 1, peers, 10, t, 2, &o);
	}
	is(balance_stats(b)->probes_timed_out, 3, "no answer in time counts as a refusal");
	balance_out_reset(&o);
	balance_tick(b, now + 399, 3, 1, peers, 10, t, 2, &o);
	is(o.n, 0, "the second backoff is twice as long (no poll at 399 ms)");
	balance_tick(b, now + 400, 3, 1, peers, 10, t, 2, &o);
	is(count(&o, BA_OFFER), 1, "a poll at 400 ms");
	req = o.v[0].req_id;
	balance_out_reset(&o);
	balance_answer(b, now + 400, req, 1, &o);
	ok(o.n == 1 && o.v[0].kind == BA_TRANSFER && strcmp(o.v[0].task,
	    "me.1") == 0, "accepted: the task is transferred to that peer");
	balance_out_reset(&o);
	balance_answer(b, now + 400, req, 1, &o);
	is(o.n, 0, "a duplicate answer does nothing");
	/* Back to a full backoff after a success: 200 ms again. */
	balance_out_reset(&o);
	now += 400;
	for (int r = 0; r < 3; r++) {
		balance_tick(b, now, 3, 1, peers, 10, t, 2, &o);
		req = o.v[o.n - 1].req_id;
		balance_out_reset(&o);
		balance_answer(b, now, req, 0, &o);
		if (o.n)
			req = o.v[o.n - 1].req_id;
		for (int i = 0; i < 3 && o.n; i++) {
			req = o.v[o.n - 1].req_id;
			balance_out_reset(&o);
			balance_answer(b, now, req, 0, &o);
		}
		break;
	}
	balance_out_reset(&o);
	balance_tick(b, now + 199, 3, 1, peers, 10, t, 2, &o);
	balance_tick(b, now + 200, 3, 1, peers, 10, t, 2, &o);
	is(count(&o, BA_OFFER), 1, "a success resets the backoff to backoff_ms");
	/* The backoff never exceeds backoff_max_ms. */
	struct balance *c = balance_new(&conf, "me", "", 3);
	uint64_t at = 0, last_gap = 0;
	for (int round = 0; round < 6; round++) {
		uint64_t start = at;
		balance_out_reset(&o);
		while (o.n == 0)
			balance_tick(c, ++at, 3, 1, peers, 10, t, 2, &o);
		last_gap = at - start;
		for (int i = 0; i < 3; i++) {
			req = o.v[o.n - 1].req_id;
			balance_out_reset(&o);
			balance_answer(c, at, req, 0, &o);
		}
	}
	ok(last_gap <= 1000 + 1, "the backoff stops doubling at backoff_max_ms (%llu)",
	    (unsigned long long)last_gap);
	balance_free(c);
	balance_out_free(&o);
	balance_free(b);
}

static void
test_reservations(void)
{
	struct balance *b = balance_new(&conf, "me", "gpu", 4);
	struct balance_out o = { 0 };

	balance_offer(b, 1000, "s1", 7, 0, 1, "", 0, &o);
	ok(o.n == 1 && o.v[0].kind == BA_ACCEPT, "an idle peer accepts an offer");
	is(balance_reserved(b, 1000), 1, "and reserves a slot");
	balance_out_reset(&o);
	balance_offer(b, 1100, "s2", 8, 0, 1, "", 0, &o);
	ok(o.n == 1 && o.v[0].kind == BA_REFUSE,
	    "a second sender is refused while the slot is reserved");
	balance_out_reset(&o);
	balance_offer(b, 1500, "s2", 9, 0, 1, "", 0, &o);
	ok(o.n == 1 && o.v[0].kind == BA_ACCEPT, "after reserve_ms it expired");
	balance_arrived(b, 1600);
	is(balance_reserved(b, 1600), 0, "an arrival uses the reservation up");
	balance_out_reset(&o);
	balance_offer(b, 1700, "s3", 10, 1, 1, "", 0, &o);
	ok(o.v[0].kind == BA_REFUSE, "a busy peer refuses");
	balance_out_reset(&o);
	balance_offer(b, 1700, "s3", 11, 0, 1, "gpu", 0, &o);
	ok(o.v[0].kind == BA_ACCEPT, "a task needing gpu goes to a peer with gpu");
	balance_out_reset(&o);
	balance_offer(b, 3000, "s3", 12, 0, 1, "gpu,fpga", 0, &o);
	ok(o.v[0].kind == BA_REFUSE, "not to one that lacks a need");
	balance_out_free(&o);
	balance_free(b);
}

static void
test_pin_needs_select(void)
{
	struct balance *b = balance_new(&conf, "me", "", 5);
	struct balance_out o = { 0 };
	struct balance_task t[4] = {
		{ "me.1", 1, 0, "", 0, 0, "", 0, 0, 0, 0 },		/* pinned */
		{ "me.2", 0, 2, "", 0, 0, "", 0, 0, 0, 0 },		/* moved max_moves */
		{ "me.3", 0, 0, "gpu", 0, 0, "", 0, 0, 0, 0 },
		{ "me.4", 0, 0, "", 0, 0, "", 0, 0, 0, 0 } };
	const struct balance_task *s;

	s = balance_select(b, t, 4, NULL, NULL);
	ok(s && strcmp(s->id, "me.3") == 0,
	    "selection skips pinned tasks and tasks that moved max_moves times");
	s = balance_select(b, t, 4, "", NULL);
	ok(s && strcmp(s->id, "me.4") == 0, "and tasks whose needs the peer lacks");
	t[3].fresh = 1;
	s = balance_select(b, t, 4, NULL, NULL);
	ok(s && strcmp(s->id, "me.4") == 0, "a newly submitted task goes first");
	ok(balance_select(b, t, 1, NULL, NULL) == NULL, "a pinned task never moves");
	/* A task needing gpu is only offered to peers with gpu. */
	mkpeers();
	peers[6].attrs = "gpu";
	struct balance_task g[1] = { { "me.9", 0, 0, "gpu", 0, 0, "", 0, 0, 0, 0 } };
	balance_tick(b, 0, 5, 1, peers, 10, g, 1, &o);
	ok(o.n == 1 && strcmp(o.v[0].peer, "p6") == 0,
	    "a task with --needs gpu is offered only to the peer that has gpu");
	uint64_t offer_req = o.n ? o.v[0].req_id : 0;
	balance_out_reset(&o);
	balance_request(b, 10, "p1", "", 1, 5, 1, g, 1, &o);
	ok(o.n == 1 && o.v[0].kind == BA_REFUSE,
	    "a request from a peer without gpu gets no gpu task");
	balance_out_reset(&o);
	balance_request(b, 10, "p6", "gpu", 2, 5, 1, g, 1, &o);
	ok(o.n == 1 && o.v[0].kind == BA_REFUSE,
	    "a task offered to a peer is not given to a request meanwhile");
	balance_out_reset(&o);
	balance_answer(b, 11, offer_req, 0, &o);	/* p6 refuses the offer */
	balance_out_reset(&o);
	balance_request(b, 12, "p6", "gpu", 2, 5, 1, g, 1, &o);
	ok(count(&o, BA_TRANSFER) == 1, "once the offer is answered, one with "
	    "gpu gets it");
	balance_out_reset(&o);
	balance_request(b, 10, "p6", "gpu", 3, 1, 1, g, 1, &o);
	ok(o.n == 1 && o.v[0].kind == BA_REFUSE, "a neutral peer gives nothing");
	balance_out_free(&o);
	balance_free(b);
}

/* Preemption: an old running task whose age passes its move's cost goes
 * before waiting ones; a young one, or one just arrived, does not. */
static void
test_preempt(void)
{
	struct balance_conf c = conf;
	struct balance *b;
	struct balance_task t[4] = {
		{ "me.1", 0, 0, "", 0, 1, "", 0, 0, 0, 0 },	/* fresh, waiting */
		{ "me.2", 0, 0, "", 0, 0, "", 1, 5000, 5000, 200 },
		{ "me.3", 0, 0, "", 0, 0, "", 1, 9000, 9000, 100 },
		{ "me.4", 0, 0, "", 0, 0, "", 0, 0, 0, 0 } };	/* waiting */
	const struct balance_task *s;

	b = balance_new(&c, "me", "", 5);
	s = balance_select(b, t, 4, NULL, NULL);
	ok(s && strcmp(s->id, "me.1") == 0, "without preempt a running task "
	    "is never selected");
	balance_free(b);
	c.preempt = 1;
	b = balance_new(&c, "me", "", 5);
	s = balance_select(b, t, 4, NULL, NULL);
	ok(s && strcmp(s->id, "me.3") == 0, "with preempt the running task "
	    "oldest for its cost goes first, two tasks waiting behind it");
	s = balance_select(b, t, 3, NULL, NULL);
	ok(s && strcmp(s->id, "me.1") == 0, "but with one waiting, that one "
	    "goes");
	t[2].here_ms = 50;
	s = balance_select(b, t, 4, NULL, NULL);
	ok(s && strcmp(s->id, "me.2") == 0, "not one that arrived here more "
	    "recently than its move costs");
	t[1].age_ms = 150;
	s = balance_select(b, t, 4, NULL, NULL);
	ok(s && strcmp(s->id, "me.1") == 0, "nor one younger than its move's "
	    "cost: then the waiting one");
	t[1].pinned = 1;
	t[1].age_ms = 5000;
	t[0].pinned = 1;
	t[3].pinned = 1;
	ok(balance_select(b, t, 4, NULL, NULL) == NULL, "a pinned running task never "
	    "moves");
	balance_free(b);
}

static void
test_must_move(void)
{
	struct balance *b = balance_new(&conf, "me", "", 8);
	struct balance_out o = { 0 };
	struct balance_task t[2] = {
		{ "me.1", 1, 0, "", 0, 0, "p3", 0, 0, 0, 0 },	/* pinned to p3 */
		{ "me.2", 0, 0, "gpu", 0, 0, "", 0, 0, 0, 0 } };	/* needs gpu */

	mkpeers();
	peers[5].attrs = "gpu";
	balance_tick(b, 0, 0, 1, peers, 10, t, 2, &o);
	ok(o.n == 1 && o.v[0].kind == BA_OFFER && !strcmp(o.v[0].peer, "p3") &&
	    !strcmp(o.v[0].task, "me.1") && o.v[0].must,
	    "an idle peer still offers a task pinned elsewhere, to that node");
	uint64_t req = o.v[0].req_id;
	balance_out_reset(&o);
	balance_answer(b, 0, req, 1, &o);
	balance_out_reset(&o);
	balance_tick(b, 1, 0, 1, peers, 10, t + 1, 1, &o);
	ok(o.n == 1 && !strcmp(o.v[0].peer, "p5") && o.v[0].must,
	    "and a task needing what it lacks, to the peer that has it");
	req = o.v[0].req_id;
	balance_out_reset(&o);
	balance_answer(b, 1, req, 1, &o);
	balance_out_reset(&o);
	t[1].moves = 50;	/* it moved while it ran, and went home */
	balance_tick(b, 2, 0, 1, peers, 10, t + 1, 1, &o);
	ok(o.n == 1 && !strcmp(o.v[0].peer, "p5") && o.v[0].must,
	    "whatever its moves: it would wait here for ever");
	balance_free(b);
	b = balance_new(&conf, "p5", "gpu", 9);
	balance_out_reset(&o);
	balance_offer(b, 0, "me", 1, 3, 1, "gpu", 1, &o);
	ok(o.n == 1 && o.v[0].kind == BA_ACCEPT,
	    "a busy peer that can run a task that must move accepts it");
	balance_out_free(&o);
	balance_free(b);
}

static void
test_receiver_and_vector(void)
{
	struct balance_conf c = conf;
	struct balance *b;
	struct balance_out o = { 0 };
	int hits = 0;

	c.policy = BALANCE_RECEIVER;
	c.location = LOCATION_VECTOR;
	b = balance_new(&c, "me", "", 6);
	mkpeers();
	peers[2].load = 5;
	peers[8].load = 3;
	balance_tick(b, 0, 0, 1, peers, 10, NULL, 0, &o);
	ok(o.n == 1 && o.v[0].kind == BA_REQUEST && (strcmp(o.v[0].peer, "p2") == 0 ||
	    strcmp(o.v[0].peer, "p8") == 0),
	    "an idle receiver asks a peer the vector shows loaded");
	uint64_t req = o.v[0].req_id;
	balance_out_reset(&o);
	balance_answer(b, 0, req, 1, &o);
	is(balance_reserved(b, 0), 1, "accepted: it counts the task on its way");
	balance_tick(b, 1, 0, 1, peers, 10, NULL, 0, &o);
	is(o.n, 0, "and asks no more meanwhile");
	balance_free(b);
	/* Nobody looks loaded and no partner: an idle cluster does not poll. */
	c.location = LOCATION_RANDOM;
	b = balance_new(&c, "me", "", 6);
	mkpeers();
	balance_out_reset(&o);
	balance_tick(b, 0, 0, 1, peers, 10, NULL, 0, &o);
	is(o.n, 0, "a receiver polls nobody when the vector shows no loaded peer");
	peers[3].load = 2;
	balance_tick(b, 0, 0, 1, peers, 10, NULL, 0, &o);
	is(count(&o, BA_REQUEST), 1, "and polls (at random) when one looks loaded");
	balance_free(b);
	/* A sender with the vector: only peers with spare capacity, at random. */
	c.policy = BALANCE_SENDER;
	c.location = LOCATION_VECTOR;
	for (uint64_t seed = 0; seed < 20; seed++) {
		struct balance_task t[1] = { { "me.1", 0, 0, "", 0, 1, "", 0, 0, 0, 0 } };
		b = balance_new(&c, "me", "", seed);
		mkpeers();
		for (int i = 0; i < 10; i++)
			peers[i].load = 1;
		peers[4].load = 0;
		peers[7].load = 0;
		balance_out_reset(&o);
		balance_tick(b, 0, 3, 1, peers, 10, t, 1, &o);
		if (o.n == 1 && (!strcmp(o.v[0].peer, "p4") || !strcmp(o.v[0].peer, "p7")))
			hits++;
		balance_free(b);
	}
	is(hits, 20, "a sender with location = vector offers only to idle peers");
	balance_out_free(&o);
}

static void
test_none_and_determinism(void)
{
	struct balance_conf c = conf;
	struct balance *b, *b2;
	struct balance_out o = { 0 }, o2 = { 0 };
	struct balance_task t[1] = { { "me.1", 0, 0, "", 0, 1, "", 0, 0, 0, 0 } };

	c.policy = BALANCE_NONE;
	b = balance_new(&c, "me", "", 7);
	mkpeers();
	balance_tick(b, 0, 9, 1, peers, 10, t, 1, &o);
	balance_offer(b, 0, "x", 1, 0, 1, "", 0, &o);
	ok(o.n == 1 && o.v[0].kind == BA_REFUSE,
	    "policy none: no polls, and offers are refused");
	balance_free(b);
	b = balance_new(&conf, "me", "", 42);
	b2 = balance_new(&conf, "me", "", 42);
	balance_out_reset(&o);
	balance_tick(b, 0, 9, 1, peers, 10, t, 1, &o);
	balance_tick(b2, 0, 9, 1, peers, 10, t, 1, &o2);
	ok(o.n == 1 && o2.n == 1 && strcmp(o.v[0].peer, o2.v[0].peer) == 0,
	    "the same seed gives the same choices");
	balance_free(b);
	balance_free(b2);
	balance_out_free(&o);
	balance_out_free(&o2);
}

static void
test_draining(void)
{
	struct balance *b = balance_new(&conf, "me", "", 10);
	struct balance_out o = { 0 };
	struct balance_task t[2] = {
		{ "me.1", 1, 0, "", 0, 0, "me" },	/* pinned here */
		{ "me.2", 0, 99, "", 0, 0, "" } };	/* moved often */

	mkpeers();
	balance_set_draining(b, 1);
	balance_tick(b, 0, 0, 1, peers, 10, t, 2, &o);
	ok(o.n == 1 && o.v[0].kind == BA_OFFER && o.v[0].must &&
	    !strcmp(o.v[0].task, "me.2"),
	    "an idle draining peer offers a task, moved or not, as one that "
	    "must move; not one pinned to it");
	balance_free(b);
	b = balance_new(&conf, "me", "", 11);
	balance_set_draining(b, 1);
	balance_out_reset(&o);
	balance_tick(b, 0, 0, 1, peers, 10, NULL, 0, &o);
	ok(o.n == 0, "an idle draining peer asks for no task");
	balance_offer(b, 0, "p1", 7, 0, 1, "", 1, &o);
	ok(o.n == 1 && o.v[0].kind == BA_REFUSE,
	    "a draining peer refuses even a task that must move");
	balance_set_draining(b, 0);
	balance_out_reset(&o);
	balance_offer(b, 0, "p1", 8, 0, 1, "", 0, &o);
	ok(o.n == 1 && o.v[0].kind == BA_ACCEPT, "undrained, it takes tasks "
	    "again");
	balance_out_free(&o);
	balance_free(b);
}

/* Whether a tick needs the vector, and the best of a large vector first
 * (selected, not sorted: 1,000 members). */
static void
test_needs_peers_and_large_vector(void)
{
	struct balance		*b = balance_new(&conf, "me", "", 7);
	struct balance_out	 o = { 0 };
	struct balance_task	 t = { .id = "t1", .needs = "", .pin = "",
				    .fresh = 1 };
	static struct balance_peer big[1000];
	static char bid[1000][8];
	struct balance_conf	 c = conf;

	ok(!balance_needs_peers(b, 0, 1, 1, NULL, 0),
	    "neutral (load 1 of 1): the tick needs no vector");
	ok(balance_needs_peers(b, 0, 0, 1, NULL, 0),
	    "a receiver needs it (to see who is loaded)");
	ok(balance_needs_peers(b, 0, 2, 1, &t, 1), "a sender needs it");
	mkpeers();
	balance_tick(b, 0, 2, 1, peers, 10, &t, 1, &o);
	is(count(&o, BA_OFFER), 1, "the sender offers");
	ok(!balance_needs_peers(b, 10, 2, 1, &t, 1),
	    "while its probe is out, the tick needs no vector");
	balance_free(b);
	balance_out_free(&o);

	/* By the vector: of 1,000 members, the six least loaded are the
	 * candidates (three asked), in the order the vector has them. */
	c.location = LOCATION_VECTOR;
	for (int i = 0; i < 1000; i++) {
		snprintf(bid[i], sizeof(bid[i]), "q%d", i);
		big[i] = (struct balance_peer){ bid[i], 1, 1, "" };
	}
	big[500].load = big[900].load = big[17].load = 0;
	b = balance_new(&c, "me", "", 3);
	memset(&o, 0, sizeof(o));
	balance_tick(b, 0, 2, 1, big, 1000, &t, 1, &o);
	ok(o.n == 1 && o.v[0].kind == BA_OFFER &&
	    (strcmp(o.v[0].peer, "q500") == 0 || strcmp(o.v[0].peer,
	    "q900") == 0 || strcmp(o.v[0].peer, "q17") == 0),
	    "of 1,000 members, an idle one is offered the task (%s)",
	    o.n ? o.v[0].peer : "none");
	balance_free(b);
	balance_out_free(&o);
}

/* Idle hints: a peer that asked for work is offered the next task first;
 * a refused offer names the peer seen idle last; becoming idle says so. */
static void
test_hints(void)
{
	struct balance_conf c = conf;
	struct balance *b, *y;
	struct balance_out o = { 0 };
	struct balance_task t[1] = { { "me.1", 0, 0, "", 0, 0, "", 0, 0, 0, 0 } };
	struct balance_task none[1];
	uint64_t req;

	c.hints = 1;
	c.hint_ms = 1000;
	c.location = LOCATION_MIXED;
	mkpeers();
	for (int i = 0; i < 10; i++)
		peers[i].load = 1;	/* the vector: all busy */
	b = balance_new(&c, "me", "", 7);
	/* p7 asks "me" for work; "me" has none to give: p7 is idle. */
	balance_request(b, 100, "p7", "", 1, 1, 1, none, 0, &o);
	ok(o.n == 1 && o.v[0].kind == BA_REFUSE, "a request with nothing to "
	    "give is refused");
	balance_out_reset(&o);
	/* A task waits at "me" (load 2): offered to p7 first, though the
	 * vector shows every peer busy. */
	balance_tick(b, 150, 2, 1, peers, 10, t, 1, &o);
	ok(o.n == 1 && o.v[0].kind == BA_OFFER && strcmp(o.v[0].peer, "p7") ==
	    0, "the next task is offered first to the peer that asked for work");
	req = o.v[0].req_id;
	balance_out_reset(&o);
	balance_answer(b, 151, req, 1, &o);
	ok(count(&o, BA_TRANSFER) == 1 && strcmp(o.v[0].peer, "p7") == 0,
	    "it accepts, the task goes");
	is(balance_stats(b)->hint_taken, 1, "counted as a hinted probe taken");
	balance_out_reset(&o);
	/* Taken: p7 is no longer a hint; without one, the vector (all
	 * busy) gives nobody to offer to. */
	balance_tick(b, 200, 2, 1, peers, 10, t, 1, &o);
	is(o.n, 0, "a hint used is gone: nobody to offer to");
	/* A hint older than hint_ms is not used. */
	balance_request(b, 300, "p4", "", 2, 1, 1, none, 0, &o);
	balance_out_reset(&o);
	balance_tick(b, 1300, 2, 1, peers, 10, t, 1, &o);
	is(o.n, 0, "a hint older than hint_ms is not used");
	balance_free(b);

	/* Y refuses an offer (busy) and names the peer seen idle last,
	 * which the offerer asks next; Y hands the hint over. */
	y = balance_new(&c, "y", "", 8);
	b = balance_new(&c, "me", "", 9);
	balance_request(y, 100, "p3", "", 1, 1, 1, none, 0, &o);
	balance_out_reset(&o);
	balance_offer(y, 110, "me", 42, 1, 1, "", 0, &o);
	ok(o.n == 1 && o.v[0].kind == BA_REFUSE && strcmp(o.v[0].hint,
	    "p3") == 0, "a busy peer refuses an offer and names the idle p3");
	balance_out_reset(&o);
	balance_offer(y, 111, "p5", 43, 1, 1, "", 0, &o);
	ok(o.n == 1 && o.v[0].hint[0] == '\0',
	    "the hint was handed over: the next refusal names nobody");
	balance_out_reset(&o);
	for (int i = 0; i < 10; i++)
		peers[i].load = 0;
	balance_tick(b, 120, 2, 1, peers, 10, t, 1, &o);
	req = o.v[0].req_id;
	ok(o.n == 1 && strcmp(o.v[0].peer, "p3") != 0, "an offer to a peer "
	    "of the vector");
	balance_out_reset(&o);
	balance_answer_hint(b, 121, req, 0, "p3", &o);
	ok(o.n == 1 && o.v[0].kind == BA_OFFER && strcmp(o.v[0].peer, "p3") ==
	    0, "refused naming p3: p3 is asked next");
	is(balance_stats(b)->redirects, 1, "counted as a redirect");
	balance_out_reset(&o);
	balance_free(b);
	balance_free(y);

	/* Becoming idle: idle_notify peers are told, once. */
	c.idle_notify = 2;
	b = balance_new(&c, "me", "", 10);
	balance_tick(b, 100, 1, 1, peers, 10, none, 0, &o);
	is(count(&o, BA_IDLE), 0, "busy: no idle notice");
	balance_out_reset(&o);
	balance_tick(b, 200, 0, 1, peers, 10, none, 0, &o);
	ok(count(&o, BA_IDLE) == 2 && strcmp(o.v[0].peer, o.v[1].peer) != 0,
	    "becoming idle: two peers told (idle_notify = 2)");
	balance_out_reset(&o);
	balance_tick(b, 300, 0, 1, peers, 10, none, 0, &o);
	is(count(&o, BA_IDLE), 0, "still idle: not told again");
	balance_out_reset(&o);
	balance_idle(b, 310, "p2");
	balance_tick(b, 320, 2, 1, peers, 10, t, 1, &o);
	ok(o.n >= 1 && o.v[0].kind == BA_OFFER && strcmp(o.v[0].peer, "p2") ==
	    0, "an idle notice is a hint: the next task is offered there "
	    "first");
	balance_out_free(&o);
	balance_free(b);
}

/* A release frees the slot held for that offer, and only that one. */
static void
test_release(void)
{
	struct balance *b = balance_new(&conf, "me", "", 11);
	struct balance_out o = { 0 };

	balance_offer(b, 100, "p1", 5, 0, 1, "", 0, &o);
	ok(o.n == 1 && o.v[0].kind == BA_ACCEPT, "an idle peer accepts");
	is(balance_reserved(b, 101), 1, "and holds a slot");
	is(balance_release(b, 102, "p2", 5), -1, "a release from another "
	    "peer frees nothing");
	is(balance_release(b, 102, "p1", 6), -1, "nor one for another offer");
	is(balance_reserved(b, 103), 1, "the slot is still held");
	is(balance_release(b, 104, "p1", 5), 0, "the offerer's release for it");
	is(balance_reserved(b, 105), 0, "frees it at once, not after "
	    "reserve_ms");
	is(balance_release(b, 106, "p1", 5), -1, "a second one frees nothing");
	balance_out_free(&o);
	balance_free(b);
}

/* When the core would look again. */
static void
test_wake(void)
{
	struct balance *b = balance_new(&conf, "me", "", 12);
	struct balance_out o = { 0 };
	struct balance_task t[1] = { { "me.1", 0, 0, "", 0, 0, "", 0, 0, 0, 0 } };

	mkpeers();
	is(balance_wake(b, 0), 0, "nothing under way: no wake-up");
	balance_tick(b, 1000, 2, 1, peers, 10, t, 1, &o);
	is(balance_wake(b, 1000), 1000 + (uint64_t)conf.probe_timeout_ms,
	    "a probe out: at its deadline");
	for (int i = 0; i < 3; i++) {
		uint64_t req = o.v[o.n - 1].req_id;

		balance_out_reset(&o);
		balance_answer(b, 1010 + (uint64_t)i, req, 0, &o);
	}
	is(balance_wake(b, 1012), 1012 + (uint64_t)conf.backoff_ms,
	    "three refusals: at the backoff's end");
	balance_out_free(&o);
	balance_free(b);
}

int
main(void)
{
	test_roles();
	test_probe_limit_and_backoff();
	test_reservations();
	test_pin_needs_select();
	test_must_move();
	test_preempt();
	test_draining();
	test_receiver_and_vector();
	test_none_and_determinism();
	test_needs_peers_and_large_vector();
	test_hints();
	test_release();
	test_wake();
	return done_testing();
}
