/*
 * replica_test.c - the stream of a home's records to its replicas
 * (tasks/replica.c): a home and four peers, messages lost, duplicated and
 * reordered, the home and a replica restarted; every replica of the set
 * ends up holding every record at its latest version, and what a majority
 * holds is what the home counts as committed.
 */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/util.h"
#include "tasks/replica.h"
#include "t/tap.h"

#define NP	5
#define NREC	600
#define QMAX	100000

static const char *const ids[NP] = { "n1", "n2", "n3", "n4", "n5" };

struct msg {
	int		 from, to;
	uint8_t		*buf;
	size_t		 len;
};

struct adoption {
	int		 by;
	uint32_t	 term;
	uint64_t	 upto;
};

#define KT	6	/* tasks of n1 with kept messages */
#define KMAX	48

struct world {
	/* What n1 keeps of its first KT tasks' messages (seqs), and each
	 * peer's copy as its RA_KEPTs made it; a message held twice. */
	uint64_t	 truth[KT][KMAX], kseq[KT];
	size_t		 ntruth[KT];
	uint64_t	 kept[NP][KT][KMAX];
	size_t		 nkept[NP][KT];
	int		 kdup;
	char		*disk[NP];	/* each one's state as last saved
					 * (RA_STATE) */
	struct rep	*rep[NP];
	int		 down[NP];
	struct adoption	 adopted[64];	/* RA_ADOPT of n1, in order */
	size_t		 nadopted;
	int		 ticks_all;	/* every peer ticks (elections) */
	int		 drop_acting;	/* every HomeActing is lost */
	int		 cut;		/* a partition: peers of different */
	int		 side[NP];	/* sides neither hear nor see alive
					 * each other */
	Lb__TaskRecord	*recs[NREC];	/* n1's records */
	size_t		 nrec;
	struct msg	 q[QMAX];
	size_t		 nq;
	uint64_t	 now, rnd;
	int		 loss, dup;	/* percent */
	uint64_t	 stream;
};

static uint32_t
rnd(struct world *w, uint32_t n)
{
	w->rnd ^= w->rnd << 13;
	w->rnd ^= w->rnd >> 7;
	w->rnd ^= w->rnd << 17;
	return (uint32_t)(w->rnd % n);
}

static int
idx(const char *id)
{
	for (int i = 0; i < NP; i++)
		if (strcmp(ids[i], id) == 0)
			return i;
	return -1;
}

static struct rep *
mkrep(int i, uint64_t stream)
{
	struct rep_conf	c = { 0 };

	c.self = ids[i];
	c.stream = stream;
	c.replicas = 3;
	c.retry_ms = 100;
	c.max_records = 100000;
	c.lease_ms = 500;
	c.heartbeat_ms = 100;
	c.takeover_ms = 1500;
	c.replace_ms = 1500;
	return rep_new(&c);
}

/* A replica keeps a change to n1's kept messages (RA_KEPT). */
static void
kept_in(struct world *w, int at, const struct rep_action *a)
{
	Lb__MailboxKeep	*kb;
	int		 t;

	t = atoi(a->id + 3) - 1;
	if (strncmp(a->id, "n1.", 3) != 0 || t < 0 || t >= KT ||
	    (kb = lb__mailbox_keep__unpack(NULL, a->len, a->msg)) == NULL)
		return;
	if (a->anew)
		w->nkept[at][t] = 0;
	for (size_t i = 0; i < kb->n_mailbox && w->nkept[at][t] < KMAX; i++) {
		size_t n = w->nkept[at][t];

		/* (read back, a message twice counts once: keepfile.c) */
		if (n > 0 && kb->mailbox[i]->seq <= w->kept[at][t][n - 1])
			continue;
		w->kept[at][t][w->nkept[at][t]++] = kb->mailbox[i]->seq;
	}
	lb__mailbox_keep__free_unpacked(kb, NULL);
}

/* n1 puts a change to task t's keep: all of it (anew) or one more. */
static void
keep_put(struct world *w, int t, int anew)
{
	Lb__MailboxKeep	 kb = LB__MAILBOX_KEEP__INIT;
	Lb__MailMsg	 mm[KMAX], *mp[KMAX];
	char		 id[16];
	size_t		 len, from = anew ? 0 : w->ntruth[t] - 1;
	uint8_t		*buf;

	snprintf(id, sizeof(id), "n1.%d", t + 1);
	kb.task_id = id;
	for (size_t i = from; i < w->ntruth[t]; i++) {
		lb__mail_msg__init(&mm[i]);
		mm[i].sender = "n9";
		mm[i].seq = w->truth[t][i];
		mp[kb.n_mailbox++] = &mm[i];
	}
	kb.mailbox = mp;
	len = lb__mailbox_keep__get_packed_size(&kb);
	buf = malloc(len + 1);
	lb__mailbox_keep__pack(&kb, buf);
	if (rep_keep(w->rep[0], id, anew, buf, len) != 0)
		w->kdup += 1000;	/* (refused: counted as wrong) */
	free(buf);
}

static void
keep_change(struct world *w)
{
	int	t = (int)rnd(w, KT);

	if (w->ntruth[t] == KMAX || (w->ntruth[t] > 0 && rnd(w, 5) == 0)) {
		/* a checkpoint let the older half go */
		size_t h = w->ntruth[t] / 2;

		memmove(w->truth[t], w->truth[t] + h,
		    (w->ntruth[t] - h) * sizeof(w->truth[t][0]));
		w->ntruth[t] -= h;
		keep_put(w, t, 1);
		return;
	}
	w->truth[t][w->ntruth[t]++] = ++w->kseq[t];
	keep_put(w, t, 0);
}

static void
enqueue(struct world *w, int from, struct rep_out *o)
{
	for (size_t i = 0; i < o->n; i++) {
		struct rep_action *a = &o->v[i];
		int copies = 1;

		if (a->kind == RA_KEPT)
			kept_in(w, from, a);
		if (a->kind == RA_STATE) {
			free(w->disk[from]);
			w->disk[from] = rep_state_dump(w->rep[from]);
		}

		if (a->kind == RA_ADOPT && strcmp(a->id, "n1") == 0 &&
		    w->nadopted < 64) {
			w->adopted[w->nadopted].by = from;
			w->adopted[w->nadopted].term = a->term;
			w->adopted[w->nadopted++].upto = a->upto;
		}
		if (a->kind != RA_PUT && a->kind != RA_ACK && a->kind != RA_VOTE)
			continue;
		if (rnd(w, 100) < (uint32_t)w->loss)
			continue;
		if (rnd(w, 100) < (uint32_t)w->dup)
			copies = 2;
		while (copies-- > 0 && w->nq < QMAX) {
			struct msg *m = &w->q[w->nq++];
			m->from = from;
			m->to = idx(a->to);
			m->len = a->len;
			m->buf = malloc(a->len + 1);
			memcpy(m->buf, a->msg, a->len);
		}
	}
}

static void
deliver(struct world *w, struct msg *m)
{
	Lb__PeerMsg	*pm = lb__peer_msg__unpack(NULL, m->len, m->buf);
	struct rep_out	 o = { 0 };

	if (pm == NULL || m->to < 0 || w->down[m->to] || w->down[m->from] ||
	    (w->cut && w->side[m->to] != w->side[m->from]) ||
	    (w->drop_acting && pm->body_case ==
	    LB__PEER_MSG__BODY_HOME_ACTING))
		goto out;
	if (pm->body_case == LB__PEER_MSG__BODY_REPLICA_PUT)
		rep_put_in(w->rep[m->to], w->now, ids[m->from],
		    pm->replica_put, &o);
	else if (pm->body_case == LB__PEER_MSG__BODY_REPLICA_ACK)
		rep_ack_in(w->rep[m->to], w->now, ids[m->from],
		    pm->replica_ack);
	else if (pm->body_case == LB__PEER_MSG__BODY_HOME_VOTE)
		rep_vote_in(w->rep[m->to], w->now, ids[m->from],
		    pm->home_vote, &o);
	else if (pm->body_case == LB__PEER_MSG__BODY_HOME_VOTE_REPLY)
		rep_vote_reply_in(w->rep[m->to], w->now, ids[m->from],
		    pm->home_vote_reply, &o);
	else if (pm->body_case == LB__PEER_MSG__BODY_HOME_ACTING)
		rep_acting_in(w->rep[m->to], w->now, ids[m->from],
		    pm->home_acting, &o);
	enqueue(w, m->to, &o);
out:
	rep_out_free(&o);
	if (pm != NULL)
		lb__peer_msg__free_unpacked(pm, NULL);
	free(m->buf);
}

static void
members(struct world *w)
{
	const char	*live[NP];
	size_t		 n;

	for (int i = 0; i < NP; i++) {
		if (w->down[i] || (i != 0 && !w->ticks_all))
			continue;
		n = 0;
		for (int j = 0; j < NP; j++)
			if (!w->down[j] && (!w->cut || w->side[j] ==
			    w->side[i]))
				live[n++] = ids[j];
		rep_members(w->rep[i], w->now, live, n);
	}
}

/* A record of n1 saved anew (or a new one). */
static void
save_one(struct world *w)
{
	size_t		 i = rnd(w, NREC);
	Lb__TaskRecord	*r;

	if (i >= w->nrec) {
		i = w->nrec++;
		r = lb_calloc(1, sizeof(*r));
		lb__task_record__init(r);
		r->id = lb_printf("n1.%zu", i + 1);
		r->spec = lb_calloc(1, sizeof(*r->spec));
		lb__task_spec__init(r->spec);
		r->state = LB__TASK_STATE__TASK_QUEUED;
		w->recs[i] = r;
	}
	r = w->recs[i];
	r->served_ms += 1;
	rep_stamp(w->rep[0], r);
}

static void
step(struct world *w, int saves)
{
	struct rep_out	o = { 0 };

	w->now += 10;
	for (int i = 0; i < saves; i++)
		save_one(w);
	if (saves > 0 && !w->down[0] && rnd(w, 2) == 0)
		keep_change(w);
	members(w);
	if (!w->down[0]) {
		rep_tick(w->rep[0], w->now, (const Lb__TaskRecord *const *)
		    w->recs, w->nrec, &o);
		enqueue(w, 0, &o);
		rep_out_free(&o);
	}
	for (int i = 1; i < NP && w->ticks_all; i++)
		if (!w->down[i]) {
			rep_tick(w->rep[i], w->now, NULL, 0, &o);
			enqueue(w, i, &o);
			rep_out_free(&o);
		}
	/* about half of what is queued arrives, in any order */
	for (size_t k = w->nq / 2 + 1; k > 0 && w->nq > 0; k--) {
		size_t i = rnd(w, (uint32_t)w->nq);
		struct msg m = w->q[i];

		w->q[i] = w->q[--w->nq];
		deliver(w, &m);
	}
}

/* Whether replica `i` holds every record of n1 at its latest version. */
static int
holds_all(struct world *w, int i, char *why, size_t len)
{
	for (size_t k = 0; k < w->nrec; k++) {
		const Lb__TaskRecord *h = rep_held(w->rep[i], w->recs[k]->id);

		if (h == NULL || h->version != w->recs[k]->version ||
		    h->served_ms != w->recs[k]->served_ms) {
			snprintf(why, len, "%s holds %s at %" PRIu64 ", n1 at "
			    "%" PRIu64, ids[i], w->recs[k]->id, h ?
			    h->version : 0, w->recs[k]->version);
			return 0;
		}
	}
	return 1;
}

static void
settle(struct world *w, int loss)
{
	w->loss = loss;
	w->dup = 0;
	for (int i = 0; i < 400; i++)
		step(w, 0);
}

static int
set_has(struct world *w, int i)
{
	size_t			 n;
	const struct rep_peer	*s = rep_set(w->rep[0], &n);

	for (size_t k = 0; k < n; k++)
		if (strcmp(s[k].id, ids[i]) == 0)
			return 1;
	return 0;
}

static void
check_set(struct world *w, const char *what)
{
	char	why[256] = "";
	int	good = 1, nset = 0;

	for (int i = 1; i < NP; i++)
		if (set_has(w, i)) {
			nset++;
			if (good && !holds_all(w, i, why, sizeof(why)))
				good = 0;
		}
	ok(nset == 2 && good, "%s: the 2 replicas hold all %zu records at "
	    "their latest versions%s%s", what, w->nrec, good ? "" : ": ", why);
	good = 1;
	for (int i = 1; i < NP && good; i++) {
		if (!set_has(w, i))
			continue;
		for (int t = 0; t < KT && good; t++)
			if (w->nkept[i][t] != w->ntruth[t] || memcmp(
			    w->kept[i][t], w->truth[t], w->ntruth[t] *
			    sizeof(w->truth[t][0])) != 0) {
				snprintf(why, sizeof(why), "%s holds %zu of "
				    "n1.%d's, n1 keeps %zu", ids[i],
				    w->nkept[i][t], t + 1, w->ntruth[t]);
				good = 0;
			}
	}
	ok(good && w->kdup == 0, "%s: and what n1 keeps of its tasks' "
	    "messages, each once (%zu+%zu+... of them)%s%s", what,
	    w->ntruth[0], w->ntruth[1], good ? "" : ": ", good ? "" : why);
	is(rep_committed(w->rep[0]), rep_version(w->rep[0]),
	    "%s: all of it committed", what);
}

/*
 * Seeded runs: the home dies at a random moment while puts are under way
 * (its replicas hold different amounts), messages are lost, duplicated
 * and reordered, a replica may be down for a while.  Exactly one replica
 * takes over, and in time.
 */
static void
world_free(struct world *w)
{
	for (int i = 0; i < NP; i++) {
		rep_free(w->rep[i]);
		free(w->disk[i]);
	}
	for (size_t k = 0; k < w->nrec; k++)
		lb__task_record__free_unpacked(w->recs[k], NULL);
	for (size_t i = 0; i < w->nq; i++)
		free(w->q[i].buf);
	free(w);
}


/* n1 and its four peers, every one ticking (elections too). */
static struct world *
world_up(uint64_t rnd)
{
	struct world	*w = lb_calloc(1, sizeof(*w));

	w->rnd = rnd;
	w->stream = 1;
	for (int i = 0; i < NP; i++)
		w->rep[i] = mkrep(i, i == 0 ? 1 : 7);
	w->ticks_all = 1;
	return w;
}

/*
 * A winner acts only once a majority of the set holds its win: with its
 * word to the other member lost, it does not act; once it arrives, it
 * does.  Or (late) the home comes back first, and the other member, its
 * vote no longer open, answers it: the home acts, and the win is refused
 * by that member, ever (the winner gives the term up).
 */
static void
confirm_run(int late)
{
	struct world		*w = world_up(77);
	const struct rep_peer	*set;
	size_t			 nset;
	int			 win = -1, other;
	char			*saved;
	uint32_t		 term;
	uint64_t		 upto;
	const char		*who;

	for (int i = 0; i < 100; i++)
		step(w, 2);
	set = rep_set(w->rep[0], &nset);
	saved = rep_state_dump(w->rep[0]);
	w->drop_acting = 1;
	w->down[0] = 1;
	for (int i = 0; i < 3000 && win < 0; i++) {
		step(w, 0);
		for (size_t k = 0; k < nset; k++)
			if (rep_confirming(w->rep[idx(set[k].id)], "n1"))
				win = idx(set[k].id);
	}
	other = win >= 0 && idx(set[0].id) == win ? idx(set[1].id) :
	    idx(set[0].id);
	ok(win >= 0 && w->nadopted == 0, "%s won the election for n1, its "
	    "word to %s lost: it does not act (%zu adoptions)",
	    win >= 0 ? ids[win] : "none", ids[other], w->nadopted);
	for (int i = 0; i < 300; i++)
		step(w, 0);
	ok(w->nadopted == 0 && win >= 0 && rep_confirming(w->rep[win], "n1"),
	    "3 s later: still not, and it still asks");
	if (!late) {
		w->drop_acting = 0;
		for (int i = 0; i < 200; i++)
			step(w, 0);
		who = rep_acting(w->rep[other], "n1", &term, &upto);
		ok(w->nadopted == 1 && w->adopted[0].by == win && who &&
		    strcmp(who, ids[win]) == 0 && term == w->adopted[0].term,
		    "its word through: %s holds the win (%s, term %u), then %s "
		    "acts (%zu adoptions)", ids[other], who ? who : "-", term,
		    ids[win], w->nadopted);
	} else {
		int acted = 0;

		rep_free(w->rep[0]);
		w->rep[0] = mkrep(0, ++w->stream);
		rep_state_load(w->rep[0], w->now, saved);
		for (size_t k = 0; k < w->nrec; k++)
			rep_restored(w->rep[0], w->recs[k]);
		w->down[0] = 0;
		for (int i = 0; i < 1700; i++) {
			step(w, 0);
			acted |= rep_home_ok(w->rep[0], w->now);
		}
		ok(!acted && rep_confirming(w->rep[win], "n1"), "n1 back: for "
		    "17 s (past %s's open vote) it does not act, %s's win "
		    "may still be held", ids[other], ids[win]);
		w->drop_acting = 0;
		for (int i = 0; i < 300 && !acted; i++) {
			step(w, 0);
			acted = rep_home_ok(w->rep[0], w->now);
		}
		who = rep_acting(w->rep[other], "n1", &term, &upto);
		ok(acted && w->nadopted == 0 && rep_confirming(w->rep[win],
		    "n1") == 0 && term == 0 && rep_taken(w->rep[0], &who,
		    &upto) == 0, "then %s's word arrives: %s, whose vote is no "
		    "longer open, refuses it; %s gives the term up and never "
		    "acts; n1 acts (%zu adoptions)", ids[win], ids[other],
		    ids[win], w->nadopted);
	}
	free(saved);
	world_free(w);
}

/*
 * A partition puts the home with a peer outside its set, its two
 * replicas on the other side (seed 799351786 of a 180-second lbchaos run
 * ran two copies of tasks at once for 2.5 s).  Past replace_ms the home
 * takes that peer in for a member it sees dead; the two replicas, which
 * never heard of the change, elect one of them.  The newcomer must count
 * for nothing until the set before it holds the change: the home may not
 * act while the winner does.  Healed, the change is held and counts.
 */
static void
split_run(void)
{
	struct world		*w = world_up(31337);
	const struct rep_peer	*set;
	size_t			 nset;
	int			 a, b, c = -1, both = 0, okbefore, pend = 0;
	uint64_t		 committed;
	char			*dump = NULL;

	for (int i = 0; i < 100; i++)
		step(w, 2);
	settle(w, 0);
	okbefore = rep_home_ok(w->rep[0], w->now);
	set = rep_set(w->rep[0], &nset);
	a = idx(set[0].id);
	b = idx(set[1].id);
	for (int i = 1; i < NP && c < 0; i++)
		if (i != a && i != b)
			c = i;
	for (int i = 0; i < NP; i++)
		w->side[i] = i == 0 || i == c ? 0 : 1;
	w->cut = 1;
	committed = rep_committed(w->rep[0]);
	for (int i = 0; i < 1500; i++) {
		step(w, i % 3 == 0 ? 1 : 0);
		if (rep_pending(w->rep[0]) && dump == NULL) {
			pend = 1;
			dump = rep_state_dump(w->rep[0]);
		}
		if (w->nadopted > 0 && rep_home_ok(w->rep[0], w->now))
			both++;
	}
	set = rep_set(w->rep[0], &nset);
	ok(okbefore && pend && (set_has(w, c)) && w->nadopted == 1 &&
	    w->adopted[0].by != c && both == 0 && rep_committed(w->rep[0]) ==
	    committed && !rep_home_ok(w->rep[0], w->now), "cut off with %s, "
	    "the home takes it in for a member it sees dead, but counts it "
	    "for nothing: %s elected on the other side, the home never acts "
	    "beside it (%d steps both), and commits nothing (%zu takeovers)",
	    ids[c], w->nadopted ? ids[w->adopted[0].by] : "none", both,
	    w->nadopted);
	{
		struct rep *r2 = mkrep(0, 9);

		if (dump != NULL)
			rep_state_load(r2, 0, dump);
		ok(dump != NULL && strstr(dump, "pending ") != NULL &&
		    rep_pending(r2), "the change not yet held is on disk: "
		    "after a restart, still not counted");
		rep_free(r2);
	}
	w->cut = 0;
	for (int i = 0; i < 600; i++) {
		const char *by;
		uint64_t upto;
		uint32_t term;

		step(w, 0);
		if (i == 300)
			pend = rep_pending(w->rep[0]);
		/* (what lbpeer does once told: lets those tasks go) */
		if (i >= 300 && (term = rep_taken(w->rep[0], &by, &upto)) != 0)
			rep_relinquished(w->rep[0], term);
	}
	ok(pend && !rep_pending(w->rep[0]) &&
	    rep_stats(w->rep[0])->set_confirmed >= 1, "healed: the set "
	    "before the change knows of the takeover, which does not hold "
	    "the change until the home let its tasks go; then it does, and "
	    "the newcomer counts (%llu changes held)", (unsigned long long)
	    rep_stats(w->rep[0])->set_confirmed);
	free(dump);
	world_free(w);
}

static int
seeded(uint64_t seed, char *why, size_t len)
{
	struct world	*w = world_up(seed * 2654435761ULL + 1);
	int		 good = 1, flap;
	uint64_t	 died;

	w->loss = 10;
	w->dup = 5;
	for (int i = 0, n = 50 + (int)rnd(w, 300); i < n; i++)
		step(w, 2);
	w->down[0] = 1;
	died = w->now;
	flap = 1 + (int)rnd(w, NP - 1);
	for (int i = 0; i < 6000 && w->nadopted == 0; i++) {
		if (i == 100)
			w->down[flap] = 1;	/* a replica down a while */
		if (i == 400)
			w->down[flap] = 0;
		step(w, 0);
	}
	for (int i = 0; i < 300; i++)
		step(w, 0);
	if (w->nadopted != 1) {
		snprintf(why, len, "seed %llu: %zu takeovers", (unsigned long
		    long)seed, w->nadopted);
		good = 0;
	} else if (w->now - died > 60000) {
		snprintf(why, len, "seed %llu: taken over only after %llu ms",
		    (unsigned long long)seed, (unsigned long long)(w->now -
		    died));
		good = 0;
	}
	world_free(w);
	return good;
}

/*
 * The first replica in line lacks files of the home's tasks (the shell
 * says so): the other one, alive, takes over; when both lack some, one of
 * them takes over all the same, later.  The adopter's index, or -1.
 */
static int
lacking_run(int both, const char *first, const char *second,
    uint64_t *took)
{
	struct world	*w = world_up(4242);
	uint64_t	 died;
	int		 by = -1;

	for (int i = 0; i < 100; i++)
		step(w, 2);
	settle(w, 0);
	rep_set_lacking(w->rep[idx(first)], "n1", 1);
	if (both)
		rep_set_lacking(w->rep[idx(second)], "n1", 1);
	w->down[0] = 1;
	died = w->now;
	for (int i = 0; i < 6000 && w->nadopted == 0; i++)
		step(w, 0);
	for (int i = 0; i < 300; i++)
		step(w, 0);
	if (w->nadopted == 1)
		by = w->adopted[0].by;
	*took = w->now - died;
	world_free(w);
	return by;
}

int
main(void)
{
	struct world	*w = lb_calloc(1, sizeof(*w));
	const char	*best[7], *best2[7];
	const char	*order2[NP] = { "n5", "n3", "n1", "n4", "n2" };
	size_t		 n, n2;

	/* Ranking: deterministic, in any order of the members, without the
	 * home, the best first. */
	n = rep_rank("n1", ids, NP, best, 2);
	n2 = rep_rank("n1", order2, NP, best2, 2);
	ok(n == 2 && n2 == 2 && strcmp(best[0], best2[0]) == 0 &&
	    strcmp(best[1], best2[1]) == 0 && strcmp(best[0], "n1") != 0 &&
	    strcmp(best[1], "n1") != 0 && strcmp(best[0], best[1]) != 0,
	    "rendezvous ranking: the same set (%s, %s) in any order, home left "
	    "out", best[0], best[1]);
	n = rep_rank("n1", ids, NP, best2, 7);
	ok(n == 4 && strcmp(best2[0], best[0]) == 0 &&
	    strcmp(best2[1], best[1]) == 0, "a longer ranking starts alike");

	w->rnd = 88172645463325252ULL;
	w->stream = 1;
	for (int i = 0; i < NP; i++)
		w->rep[i] = mkrep(i, i == 0 ? w->stream : 7);

	/* Saves while a fifth of the messages are lost, a tenth twice. */
	w->loss = 20;
	w->dup = 10;
	for (int i = 0; i < 1500; i++)
		step(w, 3);
	settle(w, 0);
	check_set(w, "after loss, duplication and reordering");
	{
		const struct rep_stats *s = rep_stats(w->rep[0]);
		ok(s->gaps_in > 0, "gaps were seen and filled (%" PRIu64 ")",
		    s->gaps_in);
	}

	/* The last puts are lost and nothing more is saved: what was not
	 * acknowledged goes again after retry_ms. */
	w->loss = 100;
	step(w, 5);
	while (w->nq > 0)
		free(w->q[--w->nq].buf);
	settle(w, 0);
	check_set(w, "the last puts lost, nothing saved after them");

	/* A replica of the set goes down: the set keeps a majority (home
	 * and one replica) and commits; the set is refilled with another
	 * peer, who is sent the whole stream. */
	{
		int victim = idx(best[0]);
		uint64_t c0;

		w->down[victim] = 1;
		for (int i = 0; i < 200; i++)
			step(w, 2);
		settle(w, 10);
		ok(!set_has(w, victim), "a replica down leaves the set");
		check_set(w, "the set refilled after a replica went down");
		/* Both others down too: nothing new is committed. */
		for (int i = 1; i < NP; i++)
			w->down[i] = 1;
		c0 = rep_committed(w->rep[0]);
		for (int i = 0; i < 50; i++) {
			w->now += 10;
			save_one(w);
		}
		ok(rep_version(w->rep[0]) > c0 && rep_committed(w->rep[0]) ==
		    c0, "with no replica up, nothing more is committed "
		    "(%" PRIu64 " of %" PRIu64 ")", rep_committed(w->rep[0]),
		    rep_version(w->rep[0]));
		for (int i = 1; i < NP; i++)
			w->down[i] = 0;
		settle(w, 10);
		check_set(w, "all back");
	}

	/* The home restarts: a new stream; its records are read back, and
	 * the replicas take the whole stream again (duplicates kept once). */
	{
		const Lb__TaskRecord *before = rep_held(w->rep[idx(best[0])],
		    "n1.1");
		uint64_t v = before ? before->version : 0;

		rep_free(w->rep[0]);
		w->rep[0] = mkrep(0, ++w->stream);
		for (size_t k = 0; k < w->nrec; k++)
			rep_restored(w->rep[0], w->recs[k]);
		/* (what it kept, read back, goes again: msgs_keeps_sync) */
		for (int t = 0; t < KT; t++)
			keep_put(w, t, 1);
		for (int i = 0; i < 300; i++)
			step(w, 2);
		settle(w, 0);
		check_set(w, "after the home restarted");
		before = rep_held(w->rep[idx(best[0])], "n1.1");
		ok(before != NULL && before->version >= v,
		    "a record's version never goes back at a replica");
	}

	/* A replica restarts: it reads back what it held, and the home's
	 * puts beyond what it acknowledged are refused with a gap until the
	 * home sends from there. */
	{
		int r = idx(best[0]);
		struct rep *fresh = mkrep(r, 7);
		size_t nh;
		const Lb__TaskRecord *const *all = rep_all_held(w->rep[r], &nh);

		for (size_t k = 0; k < nh; k++) {
			size_t len = lb__task_record__get_packed_size(all[k]);
			uint8_t *buf = malloc(len + 1);
			lb__task_record__pack(all[k], buf);
			rep_load(fresh, lb__task_record__unpack(NULL, len, buf));
			free(buf);
		}
		{
			/* Its home's set is on disk (with no vote ever
			 * cast): back after the home died, it may vote. */
			const char *dump = w->disk[r] ? w->disk[r] : "";
			char *line = strstr(dump, "home n1 "), *nl;

			if (line != NULL && (nl = strchr(line, '\n')))
				line = lb_printf("%.*s", (int)(nl - line), line);
			else
				line = lb_strdup("none");
			ok(strstr(line, best[0]) != NULL &&
			    strstr(line, best[1]) != NULL, "a replica keeps its "
			    "home's set on disk (%s)", line);
			free(line);
			rep_state_load(fresh, w->now, dump);
		}
		rep_free(w->rep[r]);
		w->rep[r] = fresh;
		w->loss = 10;
		for (int i = 0; i < 300; i++)
			step(w, 2);
		settle(w, 0);
		check_set(w, "after a replica restarted");
	}

	/* Bad input: a put of n1's records from n2 is refused; so is a put
	 * whose records lie outside (base, top]. */
	{
		Lb__ReplicaPut	 put = LB__REPLICA_PUT__INIT;
		Lb__ReplicaItem	 it = LB__REPLICA_ITEM__INIT, *itp = &it;
		Lb__TaskRecord	 rec;
		struct rep_out	 o = { 0 };
		struct rep	*r = w->rep[idx(best[1])];
		uint64_t	 ref = rep_stats(r)->refused;

		rec = *w->recs[0];
		rec.version = 1000000;
		it.record = &rec;
		put.stream = 1;
		put.after = 0;
		put.top = 2000000;
		put.n_items = 1;
		put.items = &itp;
		rep_put_in(r, w->now, "n2", &put, &o);
		ok(rep_held(r, "n1.1")->version != 1000000 &&
		    rep_stats(r)->refused == ref + 1,
		    "a record put by a peer that is not its home: refused");
		rep_out_free(&o);
		put.top = 999999;
		rep_put_in(r, w->now, "n1", &put, &o);
		ok(rep_held(r, "n1.1")->version != 1000000,
		    "a record above the put's top: refused");
		rep_out_free(&o);
	}

	/* Expiry: records of tasks that ended long ago are let go. */
	{
		struct rep	*r = w->rep[idx(best[1])];
		struct rep_out	 o = { 0 };
		size_t		 before, after;

		rep_all_held(r, &before);
		w->recs[0]->state = LB__TASK_STATE__TASK_DONE;
		w->recs[0]->finished_ms = 1000;
		rep_stamp(w->rep[0], w->recs[0]);
		settle(w, 0);
		rep_expire(r, 5000, 10000, &o);
		ok(o.n == 0, "a task ended recently is kept");
		rep_expire(r, 20000, 10000, &o);
		rep_all_held(r, &after);
		ok(o.n == 1 && o.v[0].kind == RA_DROP && after == before - 1 &&
		    rep_held(r, "n1.1") == NULL,
		    "one ended longer ago than kept is let go");
		rep_out_free(&o);
	}

	/* ---- failover ---- */

	/* The home lease: with both of its replicas down the home may not
	 * act once lease_ms has passed; one back, it may again. */
	{
		int a = idx(best[0]), b = idx(best[1]);
		uint64_t end, end2;

		w->ticks_all = 1;
		settle(w, 0);
		ok(rep_home_ok(w->rep[0], w->now), "a home whose set answers "
		    "may act");
		end = rep_home_lease_end(w->rep[0]);
		ok(end > w->now && end <= w->now + 500, "its home lease ends "
		    "within lease_ms (%llu ms from now)",
		    (unsigned long long)(end - w->now));
		w->down[a] = 1;
		for (int i = 0; i < 20; i++)
			step(w, 0);
		end2 = rep_home_lease_end(w->rep[0]);
		ok(rep_home_ok(w->rep[0], w->now) && end2 > end &&
		    end2 <= w->now + 500, "one replica down: the other keeps "
		    "it going");
		w->down[b] = 1;
		for (int i = 0; i < 30; i++)
			step(w, 0);
		end = rep_home_lease_end(w->rep[0]);
		ok(end <= w->now - 300 + 500 && end > w->now,
		    "both down 300 ms: it ends lease_ms after the last put "
		    "answered (%llu ms from now), no later",
		    (unsigned long long)(end - w->now));
		for (int i = 0; i < 50; i++)
			step(w, 0);
		ok(!rep_home_ok(w->rep[0], w->now) &&
		    rep_home_lease_end(w->rep[0]) < w->now, "its two "
		    "replicas down for longer than its lease: it may not act, "
		    "its home lease has ended");
		w->down[a] = w->down[b] = 0;
		for (int i = 0; i < 30; i++)
			step(w, 0);
		ok(rep_home_ok(w->rep[0], w->now), "they answer again: it "
		    "may act");
	}

	/* A vote for a candidate holding older records is refused. */
	{
		int a = idx(best[0]);
		Lb__HomeVote v = LB__HOME_VOTE__INIT;
		struct rep_out o = { 0 };
		Lb__PeerMsg *pm;

		v.home = "n1";
		v.term = 77;
		v.held = 1;
		rep_vote_in(w->rep[a], w->now + 100000, best[1], &v, &o);
		pm = o.n == 1 ? lb__peer_msg__unpack(NULL, o.v[0].len,
		    o.v[0].msg) : NULL;
		ok(pm != NULL && pm->body_case ==
		    LB__PEER_MSG__BODY_HOME_VOTE_REPLY &&
		    !pm->home_vote_reply->granted, "a vote for a candidate "
		    "with older records than the voter's: refused");
		if (pm != NULL)
			lb__peer_msg__free_unpacked(pm, NULL);
		rep_out_free(&o);
	}

	/* The home and one replica down: no majority, nobody takes over. */
	{
		int a = idx(best[0]), b = idx(best[1]);
		uint32_t term;
		uint64_t upto;
		const char *who;
		char *saved = rep_state_dump(w->rep[0]);

		w->loss = 10;
		w->dup = 10;
		w->down[0] = w->down[a] = 1;
		for (int i = 0; i < 600; i++)
			step(w, 0);
		is(w->nadopted, 0, "the home and %s down: %s alone does not "
		    "take over (no majority)", best[0], best[1]);
		/* The first replica back: one of the two takes over, once. */
		w->down[a] = 0;
		for (int i = 0; i < 800; i++)
			step(w, 0);
		ok(w->nadopted == 1 && (w->adopted[0].by == a ||
		    w->adopted[0].by == b) && w->adopted[0].upto ==
		    w->nrec + 1, "%s back: exactly one replica takes over "
		    "(%zu adoptions, the first by %s in term %u, upto %llu)",
		    best[0], w->nadopted, w->nadopted ? ids[w->adopted[0].by] :
		    "-", w->nadopted ? w->adopted[0].term : 0,
		    w->nadopted ? (unsigned long long)w->adopted[0].upto : 0);
		who = rep_acting(w->rep[w->adopted[0].by == a ? b : a], "n1",
		    &term, &upto);
		ok(w->nadopted == 1 && who != NULL && strcmp(who,
		    ids[w->adopted[0].by]) == 0 && term == w->adopted[0].term,
		    "the other replica knows who acts for n1, and in which "
		    "term");

		/* The home comes back (a new life, its set read back): a
		 * replica tells it who took over; it may not act until it
		 * has let those tasks go. */
		rep_free(w->rep[0]);
		w->rep[0] = mkrep(0, ++w->stream);
		rep_state_load(w->rep[0], w->now, saved);
		free(saved);
		for (size_t k = 0; k < w->nrec; k++)
			rep_restored(w->rep[0], w->recs[k]);
		ok(!rep_home_ok(w->rep[0], w->now), "the home back: it may "
		    "not act before its set answered");
		w->down[0] = 0;
		w->loss = 0;
		w->dup = 0;
		for (int i = 0; i < 100; i++)
			step(w, 0);
		term = rep_taken(w->rep[0], &who, &upto);
		ok(w->nadopted == 1 && term == w->adopted[0].term &&
		    strcmp(who, ids[w->adopted[0].by]) == 0 && upto ==
		    w->nrec + 1, "it learns that %s took over its tasks below "
		    "%llu in term %u", who, (unsigned long long)upto, term);
		ok(!rep_home_ok(w->rep[0], w->now), "and may not act yet");
		rep_relinquished(w->rep[0], term);
		ok(rep_home_ok(w->rep[0], w->now), "having let them go, it "
		    "acts again (for its new tasks)");
		is(w->nadopted, 1, "still one takeover in all");
	}

	/* A home back whose set answers, one member having voted in a term
	 * whose winner it never learned: it waits until it learns. */
	{
		struct rep *h = mkrep(0, 99);
		Lb__ReplicaAck a = LB__REPLICA_ACK__INIT;
		const char *live[] = { "n1", "n2", "n3" };
		const char *by;
		uint64_t upto;

		rep_state_load(h, 0, "set n2 n3\n");
		rep_members(h, 0, live, 3);
		ok(!rep_home_ok(h, 0), "a home back with a set on disk waits "
		    "for it");
		a.stream = 99;
		a.voted = 2;
		a.sent_ms = 10;
		rep_ack_in(h, 10, "n2", &a);
		ok(!rep_home_ok(h, 10), "a majority answered, but n2 voted in "
		    "term 2 and knows no winner: it still waits");
		memset(&a, 0, sizeof(a));
		lb__replica_ack__init(&a);
		a.stream = 99;
		a.sent_ms = 20;
		rep_ack_in(h, 20, "n3", &a);
		ok(!rep_home_ok(h, 20), "n3 knowing nothing changes nothing");
		a.term = 2;
		a.acting = "n3";
		a.upto_task = 40;
		a.sent_ms = 30;
		rep_ack_in(h, 30, "n3", &a);
		ok(rep_taken(h, &by, &upto) == 2 && strcmp(by, "n3") == 0 &&
		    upto == 40 && !rep_home_ok(h, 30), "told n3 won term 2: "
		    "its tasks below 40 are n3's, and it may not act yet");
		rep_relinquished(h, 2);
		ok(rep_home_ok(h, 40), "once it let them go, it acts (n2's "
		    "vote was in the term n3 won)");
		rep_free(h);
	}

	{
		char why[160] = "";
		int bad = 0;

		for (uint64_t seed = 1; seed <= 30; seed++)
			if (!seeded(seed, why, sizeof(why)))
				bad++;
		ok(bad == 0, "30 seeded runs (the home dies with puts under "
		    "way, losses, a replica down a while): one takeover each, "
		    "within a minute%s%s", bad ? ": " : "", why);
	}

	/* A replica that lacks some tasks' files stands after the other. */
	{
		uint64_t t1, t2;
		int by1 = lacking_run(0, best[0], best[1], &t1);
		int by2 = lacking_run(1, best[0], best[1], &t2);

		ok(by1 == idx(best[1]), "%s, first in line, lacks files of "
		    "n1's tasks: %s, which has them, takes over (%s, %llu "
		    "ms after the home died)", best[0], best[1], by1 >= 0 ?
		    ids[by1] : "none", (unsigned long long)t1);
		ok(by2 == idx(best[0]) || by2 == idx(best[1]), "both lack "
		    "some: one takes over all the same, later (%s, %llu ms "
		    "after the home died)", by2 >= 0 ? ids[by2] : "none",
		    (unsigned long long)t2);
	}

	/* Kept messages up to REP_KEEPS_MAX: one more add is refused, but a
	 * task's keep anew (a checkpoint let them go) makes room. */
	{
		struct rep *r1 = mkrep(0, 5);
		Lb__MailboxKeep kb = LB__MAILBOX_KEEP__INIT;
		Lb__MailMsg mm = LB__MAIL_MSG__INIT, *mp = &mm;
		uint8_t buf[64];
		size_t len;
		int bad = 0, more, anew;

		kb.task_id = "n1.1";
		kb.mailbox = &mp;
		kb.n_mailbox = 1;
		mm.sender = "n9";
		for (size_t i = 0; i < REP_KEEPS_MAX; i++) {
			mm.seq = i + 1;
			len = lb__mailbox_keep__pack(&kb, buf);
			bad += rep_keep(r1, "n1.1", 0, buf, len) != 0;
		}
		mm.seq = REP_KEEPS_MAX + 1;
		len = lb__mailbox_keep__pack(&kb, buf);
		more = rep_keep(r1, "n1.1", 0, buf, len);
		anew = rep_keep(r1, "n1.1", 1, buf, len);
		ok(bad == 0 && more == -1 && anew == 0 && rep_nkeeps(r1) == 1,
		    "kept-message changes: at most %d; a keep anew makes room "
		    "(%d, %d, %zu)", REP_KEEPS_MAX, more, anew, rep_nkeeps(r1));
		rep_free(r1);
	}

	/* A peer that took over a home has that home in its own set: dead,
	 * it is replaced at once, not after replace_ms. */
	{
		const char *live[] = { "n2", "n3", "n4", "n5" };
		int mine[2];

		for (int acts = 0; acts < 2; acts++) {
			struct rep *r2 = mkrep(1, 9);
			const struct rep_peer *st;
			size_t ns;

			rep_state_load(r2, 1000, acts ?
			    "set n1 n3\nhome n1 1 1 n2 100 n1 n2 n3\n" :
			    "set n1 n3\n");
			rep_members(r2, 1000, live, 4);
			st = rep_set(r2, &ns);
			mine[acts] = 0;
			for (size_t k = 0; k < ns; k++)
				if (strcmp(st[k].id, "n1") == 0)
					mine[acts] = 1;
			rep_free(r2);
		}
		ok(mine[0] == 1 && mine[1] == 0, "a dead member is replaced after "
		    "replace_ms, at once if this peer took over as its home");
	}

	/* A peer told it was replaced in a home's set (the home's put named
	 * a set without it) votes no more for that home; one still in it
	 * does. */
	{
		int granted[2];

		for (int in = 0; in < 2; in++) {
			struct rep *r3 = mkrep(2, 7);
			Lb__ReplicaPut p = LB__REPLICA_PUT__INIT;
			Lb__HomeVote v = LB__HOME_VOTE__INIT;
			char *set[3] = { "n1", "n2", in ? "n3" : "n4" };
			struct rep_out o = { 0 };
			Lb__PeerMsg *pm;

			p.stream = 1;
			p.set = set;
			p.n_set = 3;
			p.sent_ms = 1;
			rep_put_in(r3, 1, "n1", &p, &o);
			rep_out_free(&o);
			v.home = "n1";
			v.term = 1;
			rep_vote_in(r3, 100000, "n2", &v, &o);
			pm = NULL;
			for (size_t k = 0; k < o.n && pm == NULL; k++)
				if (o.v[k].kind == RA_VOTE)
					pm = lb__peer_msg__unpack(NULL,
					    o.v[k].len, o.v[k].msg);
			granted[in] = pm != NULL && pm->body_case ==
			    LB__PEER_MSG__BODY_HOME_VOTE_REPLY &&
			    pm->home_vote_reply->granted;
			if (pm != NULL)
				lb__peer_msg__free_unpacked(pm, NULL);
			rep_out_free(&o);
			rep_free(r3);
		}
		ok(granted[1] && !granted[0], "a member votes for another of "
		    "the home's set; one the home's last put left out does "
		    "not (%d, %d)", granted[1], granted[0]);
	}

	confirm_run(0);
	confirm_run(1);
	split_run();

	world_free(w);
	return done_testing();
}
