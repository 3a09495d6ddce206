/* gossip_test.c - the gossip core with a fake clock and seeded generators. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/gossip.h"
#include "gossip/strpool.h"
#include "node/gossip_wire.h"
#include "t/tap.h"

static struct lb_gossip_conf conf = {
	.interval_ms = 100, .suspect_ms = 500, .dead_ms = 1000,
	.forget_ms = 5000, .digest_size = 6, .seed_every = 0,
	.max_members = 1024
};

static struct gossip_entry
entry(const char *id, uint64_t inc, uint64_t hb, uint32_t age, uint32_t load)
{
	struct gossip_entry e;

	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "%s", id);
	snprintf(e.addr, sizeof(e.addr), "tcp://127.0.0.1:%d", 7000 + id[1]);
	e.incarnation = inc;
	e.heartbeat = hb;
	e.age_ms = age;
	e.load = load;
	e.slots = 2;
	return e;
}

static struct gossip *
core(const char *id, uint64_t now, uint64_t seed)
{
	struct gossip_entry self = entry(id, 1, 0, 0, 0);

	return gossip_new(&conf, &self, now, seed);
}

static void
hear(struct gossip *g, uint64_t now, struct gossip_entry e)
{
	struct gossip_out o = { 0 };

	struct gossip_msg in = { .entries = &e, .n = 1, .known = UINT32_MAX };

	gossip_recv(g, now, e.id, &in, &o);
	gossip_out_free(&o);
}

static enum gossip_state
state_of(struct gossip *g, const char *id)
{
	const struct gossip_member *m = gossip_find(g, id);

	return m ? m->state : (enum gossip_state)-1;
}

static void
tick(struct gossip *g, uint64_t now)
{
	struct gossip_out o = { 0 };

	gossip_tick(g, now, &o);
	gossip_out_free(&o);
}

static void
test_merge(void)
{
	struct gossip *g = core("a", 0, 1);
	const struct gossip_member *m;

	hear(g, 100, entry("b", 5, 10, 0, 3));
	m = gossip_find(g, "b");
	ok(m != NULL, "a new member is added");
	is(m->e.load, 3, "with its load");
	hear(g, 200, entry("b", 5, 9, 0, 7));
	is(gossip_find(g, "b")->e.load, 3, "an older heartbeat is ignored");
	hear(g, 200, entry("b", 5, 11, 0, 4));
	is(gossip_find(g, "b")->e.load, 4, "a newer heartbeat wins");
	hear(g, 300, entry("b", 4, 99, 0, 9));
	is(gossip_find(g, "b")->e.load, 4,
	    "a lower incarnation loses whatever its heartbeat");
	hear(g, 300, entry("b", 6, 0, 0, 1));
	m = gossip_find(g, "b");
	is(m->e.load, 1, "a higher incarnation wins with heartbeat 0");
	is(m->e.incarnation, 6, "and its incarnation is kept");
	hear(g, 400, entry("c", 1, 1, 250, 0));
	is(gossip_age(gossip_find(g, "c"), 400), 250,
	    "the age travels with the entry");
	gossip_free(g);
}

static void
test_timing(void)
{
	struct gossip *g = core("a", 0, 2);

	hear(g, 1000, entry("b", 1, 1, 0, 0));
	tick(g, 1499);
	is(state_of(g, "b"), GOSSIP_ALIVE, "alive just before suspect_ms");
	tick(g, 1500);
	is(state_of(g, "b"), GOSSIP_SUSPECT, "suspect at suspect_ms");
	tick(g, 1999);
	is(state_of(g, "b"), GOSSIP_SUSPECT, "still suspect before dead_ms");
	hear(g, 1999, entry("b", 1, 2, 0, 0));
	is(state_of(g, "b"), GOSSIP_ALIVE, "fresh news clears suspicion");
	tick(g, 2999);
	is(state_of(g, "b"), GOSSIP_DEAD, "dead at dead_ms without news");
	/* Stale gossip: a newer heartbeat, but made long ago. */
	hear(g, 3000, entry("b", 1, 3, 900, 0));
	is(state_of(g, "b"), GOSSIP_DEAD,
	    "a newer but stale version does not bring a dead peer back");
	hear(g, 3000, entry("b", 1, 4, 10, 0));
	is(state_of(g, "b"), GOSSIP_ALIVE, "fresh news of it does");
	tick(g, 4000);
	is(state_of(g, "b"), GOSSIP_DEAD, "dead again");
	is(gossip_deaths(g), 2, "each time counted as a failure detection");
	tick(g, 8999);
	ok(gossip_find(g, "b") != NULL, "dead entries are kept forget_ms");
	tick(g, 9000);
	ok(gossip_find(g, "b") == NULL, "and then forgotten");
	hear(g, 9100, entry("b", 1, 5, 1200, 0));
	ok(gossip_find(g, "b") == NULL,
	    "news older than dead_ms never makes a new entry");
	hear(g, 9100, entry("b", 2, 0, 0, 0));
	is(state_of(g, "b"), GOSSIP_ALIVE,
	    "a restart (higher incarnation, fresh) is alive again");
	{
		struct gossip_out o = { 0 };
		struct gossip_entry e = entry("b", 3, 0, 0, 0);
		struct gossip_msg in = { .entries = &e, .n = 1, .known = 99 };
		gossip_recv(g, 9200, "b", &in, &o);
		ok(o.nchanges == 1 && o.changes[0].restarted &&
		    o.changes[0].incarnation == 3,
		    "a new incarnation of a live member is reported as a restart");
		gossip_out_free(&o);
	}
	gossip_free(g);
}

static void
test_leave(void)
{
	struct gossip *g = core("a", 0, 3), *b = core("b", 0, 4);
	struct gossip_out o = { 0 };
	struct gossip_entry e;

	hear(g, 10, entry("b", 1, 0, 0, 0));
	hear(b, 10, entry("a", 1, 1, 0, 0));
	gossip_leave(b, 20, 4, &o);
	is(o.nmsgs, 1, "a leaving peer tells the peers it knows");
	ok(o.nmsgs == 1 && o.msgs[0].n == 1 && o.msgs[0].entries[0].left,
	    "its entry says it left");
	gossip_recv(g, 30, "b", &o.msgs[0], NULL);
	gossip_out_free(&o);
	is(state_of(g, "b"), GOSSIP_LEFT, "the receiver marks it left");
	e = entry("b", 1, 1, 0, 0);
	hear(g, 40, e);
	is(state_of(g, "b"), GOSSIP_LEFT, "older gossip does not undo it");
	tick(b, 50);
	gossip_tick(b, 60, &o);
	is(o.nmsgs, 0, "a peer that left gossips no more");
	gossip_out_free(&o);
	gossip_free(g);
	gossip_free(b);
}

static void
test_digest(void)
{
	struct gossip *g = core("a", 0, 5);
	struct gossip_out o = { 0 };
	char id[8];
	int bounded = 1, selffirst = 1;

	for (int i = 0; i < 100; i++) {
		struct gossip_entry e;
		snprintf(id, sizeof(id), "p%d", i);
		e = entry(id, 1, 1, (uint32_t)i, 0);
		snprintf(e.addr, sizeof(e.addr), "tcp://127.0.0.1:%d", 8000 + i);
		hear(g, 100, e);
	}
	for (uint64_t t = 200; t < 300; t += 10) {
		gossip_tick(g, t, &o);
		for (size_t i = 0; i < o.nmsgs; i++) {
			if (o.msgs[i].n > (size_t)conf.digest_size)
				bounded = 0;
			if (strcmp(o.msgs[i].entries[0].id, "a") != 0)
				selffirst = 0;
		}
		gossip_out_reset(&o);
	}
	ok(bounded, "a digest never holds more than digest_size entries");
	ok(selffirst, "and starts with the sender's own entry");
	/* The freshest entry is in every digest. */
	hear(g, 300, entry("p5", 1, 2, 0, 9));
	gossip_tick(g, 301, &o);
	int found = 0;
	for (size_t i = 0; i < o.nmsgs; i++)
		for (size_t j = 0; j < o.msgs[i].n; j++)
			if (strcmp(o.msgs[i].entries[j].id, "p5") == 0 &&
			    o.msgs[i].entries[j].load == 9)
				found = 1;
	ok(found || (o.nmsgs == 1 && strcmp(o.msgs[0].to,
	    gossip_find(g, "p5")->e.addr) == 0),
	    "the freshest news goes out in the next digest");
	gossip_out_free(&o);
	gossip_free(g);
}

static void
test_seeds_and_self(void)
{
	struct gossip_entry self = entry("a", 7, 0, 0, 0);
	struct gossip *g = gossip_new(&conf, &self, 0, 6);
	struct gossip_out o = { 0 };

	gossip_add_seed(g, self.addr);
	gossip_tick(g, 10, &o);
	is(o.nmsgs, 0, "its own address is no seed");
	gossip_add_seed(g, "tcp://127.0.0.1:9999");
	gossip_out_reset(&o);
	gossip_tick(g, 20, &o);
	ok(o.nmsgs == 1 && strcmp(o.msgs[0].to, "tcp://127.0.0.1:9999") == 0,
	    "alone, a peer gossips to a seed");
	ok(o.nmsgs == 1 && o.msgs[0].want_reply, "and asks for a reply");
	gossip_out_free(&o);
	hear(g, 30, entry("a", 9, 0, 0, 0));
	is(gossip_members(g, &(size_t){0})[0].e.incarnation, 10,
	    "news of itself from a later life lifts its incarnation");
	gossip_free(g);
}

/* A cluster of cores wired by an in-memory, lossless network. */
#define SIM_MAX 64
static int NP = 32;
static struct gossip *sim[SIM_MAX];
static int simdead[SIM_MAX];

static int
sim_index(const char *addr)
{
	for (int i = 0; i < NP; i++) {
		size_t n;
		if (strcmp(gossip_members(sim[i], &n)[0].e.addr, addr) == 0)
			return i;
	}
	return -1;
}

static void
sim_deliver(uint64_t now, int from, struct gossip_out *o, int depth)
{
	for (size_t i = 0; i < o->nmsgs; i++) {
		int to = sim_index(o->msgs[i].to);
		struct gossip_out r = { 0 };
		size_t n;
		if (to < 0 || simdead[to])
			continue;
		gossip_recv(sim[to], now, gossip_members(sim[from], &n)[0].e.id,
		    &o->msgs[i], &r);
		if (depth < 2)
			sim_deliver(now, to, &r, depth + 1);
		gossip_out_free(&r);
	}
}

/* NP cores p0..p(NP-1), all joining through p0, seeded from seed. */
static void
sim_start(uint64_t seed)
{
	char	id[8];

	memset(simdead, 0, sizeof(simdead));
	for (int i = 0; i < NP; i++) {
		struct gossip_entry e;
		snprintf(id, sizeof(id), "p%d", i);
		e = entry(id, 1, 0, 0, 0);
		snprintf(e.addr, sizeof(e.addr), "tcp://127.0.0.1:%d", 9000 + i);
		sim[i] = gossip_new(&conf, &e, 0, seed + (uint64_t)i);
		gossip_add_seed(sim[i], "tcp://127.0.0.1:9000");
	}
}

static void
sim_round(uint64_t now)
{
	for (int i = 0; i < NP; i++) {
		struct gossip_out o = { 0 };
		if (simdead[i])
			continue;
		gossip_tick(sim[i], now, &o);
		sim_deliver(now, i, &o, 0);
		gossip_out_free(&o);
	}
}

static int
sim_all_see(int who, enum gossip_state st)
{
	char id[8];

	snprintf(id, sizeof(id), "p%d", who);
	for (int i = 0; i < NP; i++)
		if (i != who && !simdead[i] && state_of(sim[i], id) != st)
			return 0;
	return 1;
}

static void
test_cluster(void)
{
	uint64_t now = 0;
	int rounds, loaded = 0;

	sim_start(100);
	for (rounds = 1; rounds <= 50; rounds++) {
		int all = 1;
		sim_round(now += 100);
		for (int i = 0; i < NP; i++) {
			size_t n;
			gossip_members(sim[i], &n);
			if ((int)n != NP)
				all = 0;
		}
		if (getenv("DEBUG_SIM")) {
			printf("# round %d:", rounds);
			for (int i = 0; i < NP; i++) {
				size_t n;
				gossip_members(sim[i], &n);
				printf(" %zu", n);
			}
			printf("\n");
		}
		if (all)
			break;
	}
	ok(rounds <= 20, "%d cores joining through one seed all know each "
	    "other after %d rounds", NP, rounds);
	gossip_set_load(sim[7], 5);
	for (rounds = 1; rounds <= 50; rounds++) {
		sim_round(now += 100);
		loaded = 0;
		for (int i = 0; i < NP; i++)
			if (gossip_find(sim[i], "p7")->e.load == 5)
				loaded++;
		if (getenv("DEBUG_SIM")) {
			printf("# load round %d: %d missing:", rounds, loaded);
			for (int i = 0; i < NP; i++)
				if (gossip_find(sim[i], "p7")->e.load != 5)
					printf(" p%d", i);
			printf("\n");
		}
		if (loaded == NP)
			break;
	}
	ok(rounds <= 10, "a load change reaches all %d in %d rounds "
	    "(2*log2(N) = 10)", NP, rounds);
	simdead[3] = 1;
	uint64_t killed = now;
	while (!sim_all_see(3, GOSSIP_DEAD) && now < killed + 5000)
		sim_round(now += 100);
	/* (dead_ms as it applies to NP members at this digest size:
	 * gossip_age_limit) */
	ok(now - killed <= gossip_age_limit(sim[0], conf.dead_ms) +
	    3 * conf.interval_ms, "a killed core is dead to all within "
	    "dead_ms (%llu ms with %d members of 6 a digest) + 3 rounds "
	    "(%llu ms)", (unsigned long long)gossip_age_limit(sim[0],
	    conf.dead_ms), NP, (unsigned long long)(now - killed));
	for (int i = 0; i < 30; i++)
		sim_round(now += 100);
	ok(sim_all_see(3, GOSSIP_DEAD), "and stays dead");
	/* It comes back at a higher incarnation. */
	gossip_free(sim[3]);
	{
		struct gossip_entry e = entry("p3", 2, 0, 0, 0);
		snprintf(e.addr, sizeof(e.addr), "tcp://127.0.0.1:%d", 9003);
		sim[3] = gossip_new(&conf, &e, now, 999);
		gossip_add_seed(sim[3], "tcp://127.0.0.1:9000");
		simdead[3] = 0;
	}
	for (rounds = 1; rounds <= 30 && !sim_all_see(3, GOSSIP_ALIVE); rounds++)
		sim_round(now += 100);
	ok(sim_all_see(3, GOSSIP_ALIVE), "restarted, it is alive to all "
	    "again after %d rounds", rounds);
	is(gossip_find(sim[0], "p3")->e.incarnation, 2,
	    "at its new incarnation");
	for (int i = 0; i < NP; i++)
		gossip_free(sim[i]);
}

/*
 * 64 cores with the default settings, for 180 rounds: no live core is
 * ever suspected.  (Heartbeats must reach
 * every peer well within suspect_ms, at that size, with that digest.)
 */
static void
test_no_false_suspicion(void)
{
	struct lb_gossip_conf def;
	struct lb_conf dc;
	struct lb_gossip_conf saved = conf;
	uint64_t now = 0;
	int suspicions = 0, complete = 0;
	struct lb_rng rng;

	lb_conf_defaults(&dc);
	def = dc.gossip;
	lb_conf_free(&dc);
	conf = def;
	NP = 64;
	sim_start(500);
	lb_rng_seed(&rng, 77);
	for (int r = 0; r < 180; r++) {
		struct gossip_out o = { 0 };
		int ord[SIM_MAX];
		now += (uint64_t)def.interval_ms;
		/* Peers tick in a random order each round, as real ones do. */
		for (int i = 0; i < NP; i++)
			ord[i] = i;
		for (int i = NP - 1; i > 0; i--) {
			int j = (int)lb_rng_below(&rng, (uint32_t)i + 1), t = ord[i];
			ord[i] = ord[j];
			ord[j] = t;
		}
		for (int ii = 0; ii < NP; ii++) {
			int i = ord[ii];
			gossip_tick(sim[i], now, &o);
			for (size_t c = 0; c < o.nchanges; c++)
				if (o.changes[c].to == GOSSIP_SUSPECT ||
				    o.changes[c].to == GOSSIP_DEAD)
					suspicions++;
			if (getenv("DEBUG_SIM") && o.nchanges)
				printf("# r%d p%d: %zu changes, first %s -> %s\n", r, i,
				    o.nchanges, o.changes[0].id,
				    gossip_state_name(o.changes[0].to));
			o.nchanges = 0;
			sim_deliver(now, i, &o, 0);
			gossip_out_reset(&o);
		}
		gossip_out_free(&o);
	}
	for (int i = 0; i < NP; i++) {
		size_t n;
		gossip_members(sim[i], &n);
		if ((int)n == NP)
			complete++;
	}
	is(complete, NP, "64 cores with the default settings all know all 64");
	is(suspicions, 0, "and in 180 rounds no live core was ever suspected");
	for (int i = 0; i < NP; i++)
		gossip_free(sim[i]);
	conf = saved;
	NP = 32;
}

/* The member table never grows past max_members; the rest is counted. */
static void
test_bound(void)
{
	struct lb_gossip_conf	 saved = conf;
	struct gossip		*g;
	struct gossip_entry	 flood[10];
	struct gossip_out	 o = { 0 };
	struct gossip_msg	 in = { .entries = flood, .n = 10,
				    .known = UINT32_MAX };
	size_t			 n;
	char			 id[8];

	conf.max_members = 4;
	g = core("a", 0, 9);
	hear(g, 100, entry("b", 1, 1, 0, 0));
	hear(g, 100, entry("c", 1, 1, 0, 0));
	hear(g, 100, entry("d", 1, 1, 0, 0));
	gossip_members(g, &n);
	is(n, 4, "members up to max_members (4, this peer included) are added");
	is(gossip_refused(g), 0, "and none is refused");
	hear(g, 200, entry("e", 1, 1, 0, 0));
	ok(gossip_find(g, "e") == NULL, "one more is ignored");
	is(gossip_refused(g), 1, "and counted");
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "x%d", i);
		flood[i] = entry(id, 1, 1, 0, 0);
	}
	gossip_recv(g, 300, "b", &in, &o);
	gossip_out_free(&o);
	gossip_members(g, &n);
	is(n, 4, "a digest of 10 newcomers leaves the table at 4");
	is(gossip_refused(g), 11, "each ignored entry counted");
	hear(g, 300, entry("b", 1, 2, 0, 7));
	is(gossip_find(g, "b")->e.load, 7, "known members still get news");
	/* d says nothing more: dead at 1100, forgotten at 6100. */
	hear(g, 1000, entry("b", 1, 3, 0, 0));
	hear(g, 1000, entry("c", 1, 3, 0, 0));
	tick(g, 1100);
	hear(g, 5000, entry("b", 1, 4, 0, 0));
	hear(g, 5000, entry("c", 1, 4, 0, 0));
	tick(g, 6100);
	ok(gossip_find(g, "d") == NULL, "a dead member is forgotten");
	hear(g, 6100, entry("e", 1, 1, 0, 0));
	ok(gossip_find(g, "e") != NULL, "and a newcomer takes its place");
	gossip_free(g);
	conf = saved;
}

/*
 * The member table's index (open addressing): 3,000 members, every other
 * one left to die and be forgotten (each forgetting moves the last member
 * into the hole and shifts the probe chains), then every member looked up
 * by id.
 */
static void
test_index(void)
{
	struct lb_gossip_conf saved = conf;
	struct gossip *g;
	uint64_t t, lim;
	size_t n, wrong = 0, found = 0;
	char id[16];

	conf.max_members = 5000;
	g = core("self", 0, 9);
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof(id), "m%d", i);
		hear(g, 1000, entry(id, 1, 1, 0, 0));
	}
	gossip_members(g, &n);
	is(n, 3001, "3,000 members held");
	tick(g, 1000);
	lim = gossip_age_limit(g, conf.dead_ms);
	/* The odd ones fresh, the even ones dead, then forgotten. */
	t = 1000 + lim;
	for (int i = 1; i < 3000; i += 2) {
		snprintf(id, sizeof(id), "m%d", i);
		hear(g, t, entry(id, 1, 2, 0, 0));
	}
	tick(g, t);
	t += conf.forget_ms;
	for (int i = 1; i < 3000; i += 2) {
		snprintf(id, sizeof(id), "m%d", i);
		hear(g, t, entry(id, 1, 3, 0, 0));
	}
	tick(g, t);
	gossip_members(g, &n);
	is(n, 1501, "the 1,500 dead forgotten");
	for (int i = 0; i < 3000; i++) {
		const struct gossip_member *m;

		snprintf(id, sizeof(id), "m%d", i);
		m = gossip_find(g, id);
		if (i % 2 == 1 && m != NULL && strcmp(m->e.id, id) == 0)
			found++;
		else if (i % 2 == 1 || m != NULL)
			wrong++;
	}
	ok(found == 1500 && wrong == 0, "every live one found by its id, no "
	    "forgotten one (%zu found, %zu wrong)", found, wrong);
	ok(gossip_find(g, "self") != NULL && gossip_find(g, "m3000") == NULL,
	    "itself found, an unknown id not");
	gossip_free(g);
	conf = saved;
}

/* A push from a peer that knows fewer draws a full digest; its own entry
 * alone, no answer wanted (a refutation sent to every member), draws
 * nothing. */
static void
test_announcement(void)
{
	struct gossip *g = core("a", 0, 3);
	struct gossip_entry e = entry("b", 1, 1, 0, 0);
	struct gossip_msg in = { .entries = &e, .n = 1, .known = 1 };
	struct gossip_out o = { 0 };
	char id[8];

	for (int i = 0; i < 40; i++) {
		snprintf(id, sizeof(id), "m%d", i);
		hear(g, 10, entry(id, 1, 1, 0, 0));
	}
	hear(g, 10, e);
	e.heartbeat = 2;
	gossip_recv(g, 20, "b", &in, &o);
	is(o.nmsgs, 0, "an announcement of its own entry draws no digest");
	gossip_out_reset(&o);
	e.heartbeat = 3;
	in.want_reply = 1;
	gossip_recv(g, 30, "b", &in, &o);
	ok(o.nmsgs == 1 && o.msgs[0].n == 41,
	    "a push from a peer that knows fewer draws a full digest, all but "
	    "its own entry (%zu "
	    "entries)", o.nmsgs == 1 ? o.msgs[0].n : 0);
	gossip_out_reset(&o);
	{
		/* A reply (no answer wanted, more than its own entry) from a
		 * peer that knows fewer: the full digest follows once. */
		struct gossip_entry two[2] = { e, entry("m0", 1, 2, 0, 0) };
		struct gossip_msg r = { .entries = two, .n = 2, .known = 2 };
		two[0].heartbeat = 4;
		gossip_recv(g, 40, "b", &r, &o);
		ok(o.nmsgs == 1 && o.msgs[0].n == 41,
		    "a reply from a peer that knows fewer still draws one full "
		    "digest (%zu entries)", o.nmsgs == 1 ? o.msgs[0].n : 0);
	}
	gossip_out_free(&o);
	gossip_free(g);
}

/* The probe list holds its ids: a member forgotten in the middle of a
 * SWIM round stays findable by its id until the round is over, and its
 * strings go once nothing holds them. */
static void
test_probe_list_strings(void)
{
	struct lb_gossip_conf c = conf;
	struct strpool *sp = strpool_new();
	struct gossip_entry self = entry("pa", 1, 0, 0, 0);
	struct gossip_out o = { 0 };
	struct gossip *g;
	uint64_t t = 0;
	char id[8];
	size_t before;

	c.probe_interval_ms = 100;
	c.probe_timeout_ms = 40;
	c.indirect_probes = 0;
	g = gossip_new_in(&c, &self, 0, 5, sp);
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "q%d", i);
		hear(g, 1, entry(id, 1, 1, 0, 0));
	}
	/* A round begins: all 20 in the probe list. */
	(void)gossip_swim_tick(g, 2, &o);
	gossip_out_reset(&o);
	before = strpool_count(sp);
	/* Nothing is heard: all judged dead, then forgotten, while the
	 * probe list still names them. */
	t = 2 + 10 * (uint64_t)c.dead_ms;	/* past any scaled limit */
	tick(g, t);
	t += c.forget_ms;
	tick(g, t);
	ok(gossip_find(g, "q7") == NULL, "the silent members forgotten");
	ok(strpool_count(sp) < before && strpool_count(sp) >= 20,
	    "their addresses let go, their ids held by the probe list (%zu "
	    "strings, %zu before)", strpool_count(sp), before);
	/* The round goes on over ids no longer in the table, then ends. */
	for (int i = 0; i < 50; i++) {
		t += 100;
		(void)gossip_swim_tick(g, t, &o);
		gossip_out_reset(&o);
	}
	is(strpool_count(sp), 3, "the round over, only its own id, "
	    "address and attributes are held");
	gossip_out_free(&o);
	gossip_free(g);
	is(strpool_count(sp), 0, "and nothing once it is freed");
	strpool_free(sp);
}

/* The strings of members: one counted copy, shared by the tables of a
 * pool, let go when the last holder forgets them. */
static void
test_strings(void)
{
	struct strpool *sp = strpool_new();
	struct gossip_entry ea = entry("pa", 1, 0, 0, 0), eb = entry("pb", 1, 0,
	    0, 0), ec = entry("pc", 1, 0, 0, 0);
	struct gossip *a, *b;
	const struct gossip_member *ma, *mb;
	const char *x, *y;
	uint64_t t;
	size_t n;

	x = strpool_get(sp, "tcp://10.0.0.1:7000");
	y = strpool_get(sp, "tcp://10.0.0.1:7000");
	ok(x == y && strcmp(x, "tcp://10.0.0.1:7000") == 0,
	    "a string asked twice is one copy");
	strpool_put(sp, x);
	is(strpool_count(sp), 1, "held once more, it stays");
	strpool_put(sp, y);
	is(strpool_count(sp), 0, "let go by its last holder, it goes");
	for (int i = 0; i < 5000; i++) {
		char s[32];
		snprintf(s, sizeof(s), "s%d", i);
		(void)strpool_get(sp, s);
	}
	is(strpool_count(sp), 5000, "5,000 strings held as the pool grows");
	ok(strcmp(strpool_get(sp, "s4321"), "s4321") == 0 &&
	    strpool_count(sp) == 5000, "and each found again");
	strpool_free(sp);

	sp = strpool_new();
	snprintf(ec.attrs, sizeof(ec.attrs), "gpu,ssd");
	a = gossip_new_in(&conf, &ea, 0, 1, sp);
	b = gossip_new_in(&conf, &eb, 0, 2, sp);
	hear(a, 10, ec);
	hear(b, 10, ec);
	hear(a, 10, eb);
	hear(b, 10, ea);
	ma = gossip_find(a, "pc");
	mb = gossip_find(b, "pc");
	ok(ma != NULL && mb != NULL && ma->e.id == mb->e.id &&
	    ma->e.addr == mb->e.addr && ma->e.attrs == mb->e.attrs &&
	    strcmp(ma->e.attrs, "gpu,ssd") == 0,
	    "two tables of one pool share a member's id, address and "
	    "attributes");
	/* 3 ids, 3 addresses, "" and "gpu,ssd". */
	is(strpool_count(sp), 8, "each string once in the pool");
	snprintf(ec.attrs, sizeof(ec.attrs), "gpu");
	ec.incarnation = 2;
	hear(a, 20, ec);
	ok(strcmp(gossip_find(a, "pc")->e.attrs, "gpu") == 0 &&
	    strcmp(gossip_find(b, "pc")->e.attrs, "gpu,ssd") == 0,
	    "a new version changes one table's strings, not the other's");
	is(strpool_count(sp), 9, "both attribute lists held");
	/* pc dies at a and b, and is forgotten. */
	t = 20 + gossip_age_limit(a, conf.dead_ms) + 10;
	ea.heartbeat = eb.heartbeat = 5;
	hear(a, t, eb);
	hear(b, t, ea);
	tick(a, t);
	tick(b, t);
	t += conf.forget_ms;
	ea.heartbeat = eb.heartbeat = 6;
	hear(a, t, eb);
	hear(b, t, ea);
	tick(a, t);
	tick(b, t);
	gossip_members(a, &n);
	ok(n == 2 && gossip_find(a, "pc") == NULL && gossip_find(b, "pc") ==
	    NULL, "the dead member forgotten by both");
	/* pc's id and address and its two attribute lists are gone; "" stays
	 * (pa's and pb's). */
	is(strpool_count(sp), 5, "its strings let go with it");
	gossip_free(a);
	gossip_free(b);
	is(strpool_count(sp), 0, "nothing held once both tables are gone");
	strpool_free(sp);
	/* 10,000 tables of 10,000 members fit in 16 GiB at this size (lbsim,
	 * doc/scale.md); an entry of arrays was 600 bytes. */
	ok(sizeof(struct gossip_member) <= 128, "a member's entry is %zu "
	    "bytes (at most 128)", sizeof(struct gossip_member));
}

/* A core whose own entry says it has bucket sums (LB_LEVEL_SUMS). */
static struct gossip *
core_sums(const char *id, uint64_t now, uint64_t seed)
{
	struct gossip_entry self = entry(id, 1, 0, 0, 0);

	self.level = LB_PROTO_LEVEL;
	return gossip_new(&conf, &self, now, seed);
}

static struct gossip_entry
member(int i, uint64_t hb, uint32_t age)
{
	char	id[16];

	snprintf(id, sizeof(id), "m%03d", i);
	return entry(id, 1, hb, age, 0);
}

/* Deliver msg (from `from`) to g; g's answers in *o (reset first). */
static void
deliver(struct gossip *g, uint64_t now, const char *from,
    const struct gossip_msg *msg, struct gossip_out *o)
{
	gossip_out_reset(o);
	gossip_recv(g, now, from, msg, o);
}

static int
knows_all(struct gossip *g, int n)
{
	for (int i = 0; i < n; i++) {
		char id[16];

		snprintf(id, sizeof(id), "m%03d", i);
		if (gossip_find(g, id) == NULL)
			return 0;
	}
	return 1;
}

/*
 * Bucket sums: a peer that missed a few members of a table of 600 is sent
 * the members of the buckets that differ, not the whole table; so is one
 * that missed a refutation; a peer of an older build is sent everything.
 */
static void
test_sums(void)
{
	enum { N = 600 };
	struct gossip	*a = core_sums("a", 0, 21), *b = core_sums("b", 0, 22);
	struct gossip	*c = core("c", 0, 23);	/* a build before sums */
	struct gossip_out o = { 0 }, oa = { 0 }, ob = { 0 };
	struct gossip_entry e, ea, eb;
	const struct gossip_member *m;
	size_t		 i, k;
	int		 r;
	char		 rid[16];

	ea = entry("a", 1, 0, 0, 0);
	ea.level = LB_PROTO_LEVEL;
	eb = entry("b", 1, 0, 0, 0);
	eb.level = LB_PROTO_LEVEL;
	hear(a, 100, eb);
	hear(b, 100, ea);
	for (int j = 0; j < N; j++) {
		hear(a, 100, member(j, 1, 0));
		if (j % 60 != 13)	/* b misses 10 */
			hear(b, 100, member(j, 1, 0));
	}
	/* A member both know, in a bucket (of b's 32) with none that b
	 * misses, refuted a suspicion: a heard it, b did not. */
	for (r = N / 2; r < N; r++) {	/* (not among b's stalest) */
		char id[16];
		int clash = r % 60 == 13;

		snprintf(id, sizeof(id), "m%03d", r);
		for (int j = 13; j < N && !clash; j += 60) {
			char mid[16];

			snprintf(mid, sizeof(mid), "m%03d", j);
			clash = ((gossip_sum_hash(id) ^ gossip_sum_hash(mid)) &
			    31) == 0;
		}
		if (!clash)
			break;
	}
	e = member(r, 2, 0);
	e.refute = 1;
	hear(a, 150, e);
	snprintf(rid, sizeof(rid), "m%03d", r);
	m = gossip_find(b, rid);
	ok(m != NULL && m->e.refute == 0, "(b holds %s unrefuted)", rid);
	/* (old news by now, and not the freshest: no rumour, no heartbeat
	 * of a's carries it) */
	for (int j = 0; j < 20; j++)
		hear(a, 3000, member(j * 29 + 2, 3, 0));
	gossip_tick(b, 3000, &o);
	ok(o.nmsgs >= 1 && o.msgs[0].want_reply && o.msgs[0].nsums >= 4 &&
	    (o.msgs[0].nsums & (o.msgs[0].nsums - 1)) == 0,
	    "a table that grew pushes its bucket sums (%zu buckets)",
	    o.nmsgs ? o.msgs[0].nsums : 0);
	deliver(a, 3010, "b", &o.msgs[0], &oa);
	ok(oa.nmsgs == 1 && oa.msgs[0].n < N / 3,
	    "the answer holds the buckets that differ: %zu entries of %d",
	    oa.nmsgs ? oa.msgs[0].n : 0, N);
	ok(!knows_all(b, N), "(b missed some before)");
	deliver(b, 3020, "a", &oa.msgs[0], &ob);
	ok(knows_all(b, N), "and b knows every member after it");
	m = gossip_find(b, rid);
	ok(m != NULL && m->e.refute == 1, "with the refutation it missed");
	ok(ob.nmsgs == 0, "a reply without sums is not answered");

	/* The other way: a's push tells b it knows more; b's reply carries
	 * b's sums; a sends the buckets once, and that is not answered. */
	for (int j = N; j < N + 5; j++)
		hear(a, 3300, member(j, 1, 0));	/* a learns five more */
	gossip_out_reset(&o);
	gossip_tick(a, 3300, &o);
	/* (a's digest of 6 holds two of them at most) */
	deliver(b, 3310, "a", &o.msgs[0], &ob);
	ok(!knows_all(b, N + 5) && ob.nmsgs == 1 && ob.msgs[0].nsums > 0,
	    "a reply from a peer told of more members carries its sums");
	deliver(a, 3320, "b", &ob.msgs[0], &oa);
	for (k = 0, i = 0; i < oa.nmsgs; i++)
		k += oa.msgs[i].to[0] != '\0' && !oa.msgs[i].want_reply &&
		    oa.msgs[i].nsums == 0;
	ok(oa.nmsgs == 1 && k == 1,
	    "answered once, without sums, and wanting no reply");
	deliver(b, 3330, "a", &oa.msgs[0], &ob);
	ok(ob.nmsgs == 0 && knows_all(b, N + 5),
	    "b knows all and does not answer: no loop");

	/* A peer before sums that knows fewer: the whole table. */
	hear(c, 3400, ea);
	gossip_out_reset(&o);
	gossip_tick(c, 3400, &o);
	ok(o.nmsgs == 1 && o.msgs[0].nsums > 0,
	    "(c pushes, sums or not)");
	o.msgs[0].nsums = 0;	/* as a build before sums sends it */
	deliver(a, 3410, "c", &o.msgs[0], &oa);
	ok(oa.nmsgs == 1 && oa.msgs[0].n >= N,
	    "a peer of an older build that knows fewer gets everything (%zu)",
	    oa.nmsgs ? oa.msgs[0].n : 0);
	gossip_out_free(&o);
	gossip_out_free(&oa);
	gossip_out_free(&ob);
	gossip_free(a);
	gossip_free(b);
	gossip_free(c);
}

/* The sums on the wire: what is sent is what is read; sums that are not a
 * power of two of them, or lists of two lengths, are dropped. */
static void
test_sums_wire(void)
{
	struct gossip_entry e = entry("a", 1, 1, 0, 0);
	uint32_t	 n[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint32_t	 x[8] = { 9, 10, 11, 12, 13, 14, 15, 0xffffffffu };
	struct gossip_msg out = { .entries = &e, .n = 1, .want_reply = 1,
	    .known = 3, .sum_n = n, .sum_x = x, .nsums = 8 }, in;
	Lb__PeerMsg	*pm;
	uint8_t		*buf;
	size_t		 len;

	buf = node_gossip_pack(&out, &len);
	pm = lb__peer_msg__unpack(NULL, len, buf);
	ok(pm != NULL && node_gossip_from_wire(pm->gossip, &in) == 0 &&
	    in.nsums == 8 && memcmp(in.sum_n, n, sizeof(n)) == 0 &&
	    memcmp(in.sum_x, x, sizeof(x)) == 0,
	    "bucket sums travel as they are");
	node_gossip_in_free(&in);
	pm->gossip->n_sum_hashes = 7;
	ok(node_gossip_from_wire(pm->gossip, &in) == 0 && in.nsums == 0 &&
	    in.n == 1, "lists of two lengths: no sums, the rest read");
	node_gossip_in_free(&in);
	pm->gossip->n_sum_counts = pm->gossip->n_sum_hashes = 6;
	ok(node_gossip_from_wire(pm->gossip, &in) == 0 && in.nsums == 0,
	    "6 buckets (not a power of two): no sums");
	node_gossip_in_free(&in);
	lb__peer_msg__free_unpacked(pm, NULL);
	free(buf);
}

/* The first member g's next push asks about ("-": none). */
static const char *
first_want(struct gossip *g, uint64_t now)
{
	static char		 id[LB_ID_MAX];
	struct gossip_out	 o = { 0 };

	gossip_tick(g, now, &o);
	snprintf(id, sizeof(id), "%s", o.nmsgs == 1 && o.msgs[0].nwants > 0 ?
	    o.msgs[0].wants[0] : "-");
	gossip_out_free(&o);
	return id;
}

/*
 * A table of more than GOSSIP_RING_FRESH members: the digest finds its
 * rumours, heartbeats and stalest among the members heard of last and
 * those kept stalest, not by a pass over the table; what it chooses is
 * what the pass would.
 */
static void
test_big_digest(void)
{
	enum { N = 700 };
	struct gossip	*a = core("a", 0, 31);
	struct gossip_out o = { 0 };
	struct gossip_entry e;
	int		 found_news = 0, found_fresh = 0, stale_ok = 1;
	const char	*w;

	for (int j = 0; j < N; j++)
		/* m000..m009 heard old; the rest fresh */
		hear(a, 1000, member(j, 1, j < 10 ? 400 + (uint32_t)j : 0));
	/* news of m500 (its load) last, then a fresh heartbeat of m600 */
	e = member(500, 2, 0);
	e.load = 9;
	hear(a, 1100, e);
	hear(a, 1100, member(600, 3, 0));
	gossip_tick(a, 1100, &o);
	ok(o.nmsgs == 1, "one push");
	for (size_t j = 0; o.nmsgs == 1 && j < o.msgs[0].n; j++) {
		const struct gossip_entry *d = &o.msgs[0].entries[j];

		if (strcmp(d->id, "m500") == 0 && d->addr[0] != '\0' &&
		    d->load == 9)
			found_news = 1;
		if (strcmp(d->id, "m600") == 0)
			found_fresh = 1;
	}
	is(o.nmsgs ? o.msgs[0].n : 0, conf.digest_size, "the digest is full");
	ok(found_news, "the latest news goes as a rumour, in full");
	ok(found_fresh, "the latest heartbeat goes");
	ok(o.nmsgs == 1 && o.msgs[0].nwants > 0, "it asks for its stalest");
	for (size_t j = 0; o.nmsgs == 1 && j < o.msgs[0].nwants; j++) {
		const char *wj = o.msgs[0].wants[j];
		/* the oldest ten are m000-m009, m009 the oldest */
		stale_ok &= strncmp(wj, "m00", 3) == 0;
	}
	ok(stale_ok && o.msgs[0].nwants > 0 &&
	    strcmp(o.msgs[0].wants[0], "m009") == 0,
	    "the stalest first: %s", o.msgs[0].nwants ? o.msgs[0].wants[0] :
	    "-");
	/* m009 refreshed: no longer among the stalest */
	hear(a, 1200, member(9, 5, 0));
	w = first_want(a, 1200);
	ok(strcmp(w, "m008") == 0, "a member refreshed leaves the stalest: %s",
	    w);
	/* a new member heard of older than all: the stalest */
	hear(a, 1300, member(N, 1, 900));
	w = first_want(a, 1300);
	ok(strcmp(w, "m700") == 0,
	    "a new member staler than those kept goes first: %s", w);
	gossip_out_free(&o);
	gossip_free(a);
}

int
main(void)
{
	test_merge();
	test_timing();
	test_leave();
	test_digest();
	test_seeds_and_self();
	test_cluster();
	test_no_false_suspicion();
	test_bound();
	test_index();
	test_strings();
	test_announcement();
	test_probe_list_strings();
	test_sums();
	test_sums_wire();
	test_big_digest();
	return done_testing();
}
