/*
 * home.c - a replicated home: the task core and the replica core together
 * (home.h).  What the replica core asks is carried out through the shell's
 * hooks in the order the protocol needs; what a home says of its decisions
 * waits, in a ring, until the stream is committed that far.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/util.h"
#include "tasks/replica.h"
#include "tasks/tasks.h"
#include "node/home.h"

#define NOTE_MAX	256

/* An effect that waits until the stream is committed up to `version`
 * (the one the home had stamped when the decision was made). */
struct wait {
	uint64_t	 version;
	nhome_fn	*fn;
	void		*arg;
};

struct nhome {
	struct nhome_conf conf;
	struct nhome_shell sh;
	struct tasks	*tc;
	struct rep	*rep;
	int		 on;		/* task.home_replicas > 1 */
	uint64_t	 expired_ms;
	uint64_t	 set_gen;	/* of the set on disk */
	uint32_t	 relinquished;	/* taken over up to this term: let go */
	uint64_t	 relinquished_upto;	/* ... below this task number */
	uint64_t	 relinquished_version;	/* ... adopted up to here */
	int		 held;		/* the home hold, as last set */
	long		 others;	/* live members but this one, as last
					 * told (-1: not yet) */
	struct wait	*waits;		/* a ring, oldest first */
	size_t		 wfirst, nwaits;
	uint64_t	 waited, wait_refused;
};

static void __attribute__((format(printf, 3, 4)))
note(struct nhome *h, int warn, const char *fmt, ...)
{
	char	buf[NOTE_MAX];
	va_list	ap;

	if (h->sh.note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	h->sh.note(h->sh.arg, warn, buf);
}

struct nhome *
nhome_new(const struct nhome_conf *c, struct tasks *tc,
    const struct nhome_shell *sh)
{
	struct nhome	*h = lb_calloc(1, sizeof(*h));

	h->conf = *c;
	if (h->conf.waits_max == 0)
		h->conf.waits_max = 16384;
	h->sh = *sh;
	h->tc = tc;
	h->rep = rep_new(&c->rep);
	h->on = c->rep.replicas > 1;
	h->set_gen = rep_set_gen(h->rep);
	h->others = -1;
	return h;
}

void
nhome_free(struct nhome *h)
{
	if (h == NULL)
		return;
	while (h->nwaits > 0) {
		struct wait w = h->waits[h->wfirst];

		h->wfirst = (h->wfirst + 1) % h->conf.waits_max;
		h->nwaits--;
		w.fn(h->sh.arg, w.arg, 0);
	}
	free(h->waits);
	rep_free(h->rep);
	free(h);
}

struct rep *
nhome_rep(struct nhome *h)
{
	return h->rep;
}

int
nhome_on(const struct nhome *h)
{
	return h->on;
}

/* `hex`, twice n hex digits, into n bytes: 0, or -1. */
static int
hex_bytes(const char *hex, uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int v = 0;

		for (int j = 0; j < 2; j++) {
			char c = hex[2 * i + j];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return -1;
		}
		b[i] = (uint8_t)v;
	}
	return 0;
}

/* What goes on disk: the replica core's set, terms and votes, then the
 * request ids of the tasks let go to another ("gone RID ID HASH"). */
static char *
state_text(const struct nhome *h)
{
	char			*rs = rep_state_dump(h->rep), *b;
	size_t			 n = 0, len = strlen(rs), cap, at;
	const struct tasks_gone	*g;

	while (tasks_gone(h->tc, n) != NULL)
		n++;
	cap = len + n * (8 + 2 * TASKS_REQUEST_ID_LEN + TASKS_ID_MAX + 20) + 1;
	b = lb_calloc(1, cap);
	memcpy(b, rs, len);
	at = len;
	free(rs);
	for (size_t i = 0; (g = tasks_gone(h->tc, i)) != NULL; i++) {
		at += (size_t)snprintf(b + at, cap - at, "gone ");
		for (size_t j = 0; j < TASKS_REQUEST_ID_LEN; j++)
			at += (size_t)snprintf(b + at, cap - at, "%02x",
			    g->rid[j]);
		at += (size_t)snprintf(b + at, cap - at, " %s %016" PRIx64
		    "\n", g->id, g->argv_hash);
	}
	return b;
}

void
nhome_state_load(struct nhome *h, uint64_t now, const char *text)
{
	const char	*line = text;

	rep_state_load(h->rep, now, text);
	h->set_gen = rep_set_gen(h->rep);
	/* (lines the replica core does not know it skipped) */
	while (line != NULL && *line != '\0') {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
		char buf[256], *w[4], *save = NULL;
		size_t nw = 0;
		struct tasks_gone g;

		if (len < sizeof(buf) && strncmp(line, "gone ", 5) == 0) {
			memcpy(buf, line, len);
			buf[len] = '\0';
			for (char *t = strtok_r(buf, " ", &save); t != NULL &&
			    nw < 4; t = strtok_r(NULL, " ", &save))
				w[nw++] = t;
			memset(&g, 0, sizeof(g));
			if (nw == 4 && strlen(w[1]) == 2 *
			    TASKS_REQUEST_ID_LEN && tasks_id_valid(w[2]) &&
			    hex_bytes(w[1], g.rid, sizeof(g.rid)) == 0) {
				lb_strlcpy(g.id, w[2], sizeof(g.id));
				g.argv_hash = strtoull(w[3], NULL, 16);
				tasks_gone_add(h->tc, &g);
			}
		}
		line = end != NULL ? end + 1 : NULL;
	}
}

void
nhome_restored(struct nhome *h, const Lb__TaskRecord *rec)
{
	rep_restored(h->rep, rec);
}

int
nhome_saving(struct nhome *h, Lb__TaskRecord *rec)
{
	char	home[LB_ID_MAX];

	if (rec->home_peer[0] != '\0')
		lb_strlcpy(home, rec->home_peer, sizeof(home));
	else
		tasks_home_of(rec->id, home);
	if (strcmp(home, h->conf.rep.self) != 0)
		return 0;
	rep_stamp(h->rep, rec);
	/* One taken over: the version at which it entered this peer's
	 * stream (a replica that takes over this peer in turn, having held
	 * the stream that far, has it: tasks_relinquish). */
	if (rec->home_peer[0] != '\0' && rec->adopted_version == 0)
		rec->adopted_version = rec->version;
	return h->on;
}

/* ---- effects that wait for a majority ---- */

/* How far the stream is committed: on a majority of the set -- but a home
 * with fewer than two others in its set, or without leases, acts alone (no
 * replica could be elected in its place: rep_home_ok), and waits for
 * nothing. */
static uint64_t
committed(const struct nhome *h)
{
	size_t	n, want = (size_t)h->conf.rep.replicas - 1;

	if (h->conf.lease_ms == 0)
		return rep_version(h->rep);
	(void)rep_set(h->rep, &n);
	/* (not before its set has formed: at its start, the members it
	 * knows alive fill it at the first tick) */
	if (h->others < 0 || (h->others < (long)want ? (size_t)h->others :
	    want) > n)
		return 0;
	if (n < 2)
		return rep_version(h->rep);
	return rep_committed(h->rep);
}

/* What waited for the stream to be committed this far goes, in order. */
static void
release(struct nhome *h)
{
	uint64_t	c;

	if (h->nwaits == 0)
		return;
	c = committed(h);
	while (h->nwaits > 0 && h->waits[h->wfirst].version <= c) {
		struct wait w = h->waits[h->wfirst];

		h->wfirst = (h->wfirst + 1) % h->conf.waits_max;
		h->nwaits--;
		w.fn(h->sh.arg, w.arg, 1);
	}
}

uint64_t
nhome_committed(const struct nhome *h)
{
	return committed(h);
}

int
nhome_uncommitted(const struct nhome *h)
{
	return h != NULL && h->on && committed(h) < rep_version(h->rep);
}

int
nhome_after(struct nhome *h, nhome_fn *fn, void *arg)
{
	if (!nhome_uncommitted(h))
		return 0;
	if (h->nwaits == h->conf.waits_max) {
		h->wait_refused++;
		return -1;
	}
	if (h->waits == NULL)
		h->waits = lb_calloc(h->conf.waits_max, sizeof(*h->waits));
	h->waits[(h->wfirst + h->nwaits) % h->conf.waits_max] =
	    (struct wait){ rep_version(h->rep), fn, arg };
	h->nwaits++;
	h->waited++;
	return 1;
}

int
nhome_waits_full(const struct nhome *h)
{
	return h != NULL && h->nwaits >= h->conf.waits_max;
}

/* What a peer says as a task's home waits for its decisions (a host hears
 * of none that a home taking over might not know).  Not a move's offer (a
 * Transfer): its destination runs nothing until the home commits the
 * move, and the commit waits; held, the offer could outlast the move's
 * own timeout under loss (t/forward-lossy.t). */
int
nhome_holds_msg(struct tasks *tc, const struct tasks_action *a, int kind)
{
	struct tasks_task	*k;

	return kind != LB__PEER_MSG__BODY_TRANSFER && (a->as_home ||
	    ((k = tasks_find(tc, a->id)) != NULL && k->home));
}

/* ---- taking over ---- */

/* Elected: act as the home of `home`'s tasks numbered below `upto` that
 * this peer kept for it (from `floor` on, and those it had taken over
 * above `floor_version`, after an earlier takeover, and at or below
 * `upto_version`). */
static void
adopt(struct nhome *h, uint64_t now, const char *home, uint32_t term,
    uint64_t upto, uint64_t floor, uint64_t floor_version,
    uint64_t upto_version, struct tasks_out *to)
{
	size_t			  n, len = strlen(home), got = 0, k = 0;
	const Lb__TaskRecord	*const *all = rep_all_held(h->rep, &n);
	Lb__TaskRecord		**copies = lb_calloc(n + 1, sizeof(*copies));

	/* (copies first: adopting changes nothing held, but the list is
	 * the core's scratch) */
	for (size_t i = 0; i < n; i++) {
		char	 acting[LB_ID_MAX];
		size_t	 plen;
		uint8_t	*buf;
		/* (one of its own ids it took over itself from another, when
		 * that one had taken it over, counts as taken over: by
		 * version, as tasks_relinquish lets it go; else both act) */
		int	 named = strncmp(all[i]->id, home, len) == 0 &&
		    all[i]->id[len] == '.' && (all[i]->home_peer == NULL ||
		    all[i]->home_peer[0] == '\0');

		/* Those its stream held: its own below upto, and those it
		 * had taken over from another. */
		rep_record_home(all[i], acting);
		if (strcmp(acting, home) != 0)
			continue;
		if (named) {
			uint64_t seq = strtoull(all[i]->id + len + 1, NULL, 10);

			if (seq >= upto || seq < floor)
				continue;
		} else if ((floor_version != 0 &&
		    all[i]->adopted_version <= floor_version) ||
		    (upto_version != 0 &&
		    all[i]->adopted_version > upto_version))
			continue;	/* (the earlier takeover's; or taken
					 * over by the home after the version
					 * this win holds: the home keeps it,
					 * tasks_relinquish) */
		plen = lb__task_record__get_packed_size(all[i]);
		buf = lb_calloc(1, plen + 1);
		lb__task_record__pack(all[i], buf);
		copies[k++] = lb__task_record__unpack(NULL, plen, buf);
		free(buf);
	}
	for (size_t i = 0; i < k; i++) {
		char	tid[TASKS_ID_MAX];

		if (copies[i] == NULL)
			continue;
		if (h->sh.adopting != NULL)
			h->sh.adopting(h->sh.arg, copies[i], home);
		lb_strlcpy(tid, copies[i]->id, sizeof(tid));
		if (tasks_adopt(h->tc, now, copies[i], term, to) == 1) {
			got++;
			if (h->sh.adopted != NULL)
				h->sh.adopted(h->sh.arg, tid);
		}
	}
	free(copies);
	if (got > 0)
		note(h, 1, "home %s is gone: this peer acts as the home of its "
		    "%zu tasks now (term %u)", home, got, term);
}

void
nhome_readopt(struct nhome *h, uint64_t now, struct tasks_out *to)
{
	const char	*homes[REP_HOMES_MAX];
	uint32_t	 terms[REP_HOMES_MAX];
	uint64_t	 uptos[REP_HOMES_MAX];
	size_t		 n;

	/* Elected before a crash that came before every adopted record was
	 * journaled: what is not home here yet is adopted again. */
	n = rep_acting_for(h->rep, homes, terms, uptos, REP_HOMES_MAX);
	for (size_t i = 0; i < n; i++) {
		uint64_t floor, floor_version, upto_version;

		rep_acting_floor(h->rep, homes[i], &floor, &floor_version,
		    &upto_version);
		adopt(h, now, homes[i], terms[i], uptos[i], floor,
		    floor_version, upto_version, to);
	}
}

int
nhome_must_wait(struct nhome *h, uint64_t now)
{
	if (!h->on || rep_home_ok(h->rep, now))
		return 0;
	h->held = 1;
	note(h, 0, "replicas: this home waits for its set to answer before "
	    "it acts (another may have taken over while it was away)");
	return 1;
}

/* ---- carrying out what the replica core asked ---- */

/* Terms and votes on disk first; then the records kept (the last one
 * synced: all of them are on disk before any ack goes) and let go, and
 * the kept messages; then puts, acks and votes go, and elections won are
 * acted on.  A write that failed: nothing goes, and the homes concerned
 * send their streams again. */
static void
carry(struct nhome *h, uint64_t now, struct rep_out *o, struct tasks_out *to)
{
	size_t	last = o->n;
	char	*text;
	int	 rc;

	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].kind == RA_STATE) {
			text = state_text(h);
			rc = h->sh.save_state(h->sh.arg, text);
			free(text);
			if (rc == -1) {
				note(h, 1, "replicas: cannot keep the terms");
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
		const Lb__TaskRecord *rec = rep_held(h->rep, a->id);

		if (a->kind != RA_KEEP && a->kind != RA_DROP)
			continue;
		if (a->kind == RA_KEEP && rec == NULL)
			continue;
		if (a->kind == RA_DROP) {
			if (h->sh.unkept != NULL)
				h->sh.unkept(h->sh.arg, a->id);
			tomb.id = a->id;
			tomb.forgotten = 1;
			rec = &tomb;
		}
		/* Not on disk: no ack goes; the home sends again (what this
		 * peer holds in memory is ahead of its disk until then, and
		 * acknowledged only once a later put is kept). */
		if (h->sh.keep(h->sh.arg, rec, i == last && o->sync) == -1) {
			rep_write_failed(h->rep, o);
			return;
		}
	}
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].kind == RA_KEPT && h->sh.kept != NULL &&
		    h->sh.kept(h->sh.arg, &o->v[i]) == -1) {
			rep_write_failed(h->rep, o);
			return;
		}
	for (size_t i = 0; i < o->n; i++) {
		struct rep_action *a = &o->v[i];

		if (a->kind == RA_PUT || a->kind == RA_ACK ||
		    a->kind == RA_VOTE)
			h->sh.send(h->sh.arg, a->to, a->msg, a->len);
		else if (a->kind == RA_ADOPT && to != NULL)
			adopt(h, now, a->id, a->term, a->upto, a->floor,
			    a->floor_version, a->upto_version, to);
	}
	if (last < o->n && h->sh.journaled != NULL)
		h->sh.journaled(h->sh.arg, rep_nheld(h->rep));
}

/* This home's records now, for a put. */
static const Lb__TaskRecord **
home_records(struct nhome *h, size_t *k)
{
	struct tasks_task	**all;
	const Lb__TaskRecord	**recs;
	size_t			  n;

	all = tasks_all(h->tc, &n);
	recs = lb_calloc(n + 1, sizeof(*recs));
	*k = 0;
	for (size_t i = 0; i < n; i++)
		if (all[i]->home && all[i]->rec->version > 0)
			recs[(*k)++] = all[i]->rec;
	return recs;
}

/* Copies of records this peer adopted, once they are in its own journal
 * (the tick comes after the adoption's saves): let go, so that no stale
 * copy is adopted again after a restart. */
static void
let_go_adopted(struct nhome *h, struct rep_out *o)
{
	const char		*homes[REP_HOMES_MAX];
	uint32_t		 terms[REP_HOMES_MAX];
	uint64_t		 uptos[REP_HOMES_MAX];
	const Lb__TaskRecord	*const *held;
	size_t			 na, nh, nd = 0;
	char			**drop;

	na = rep_acting_for(h->rep, homes, terms, uptos, REP_HOMES_MAX);
	if (na == 0 || rep_nheld(h->rep) == 0)
		return;
	held = rep_all_held(h->rep, &nh);
	drop = lb_calloc(nh + 1, sizeof(*drop));
	for (size_t i = 0; i < nh; i++) {
		struct tasks_task *t = tasks_find(h->tc, held[i]->id);
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
		rep_let_go(h->rep, drop[i], o);
		free(drop[i]);
	}
	free(drop);
}

void
nhome_tick(struct nhome *h, uint64_t now, uint64_t wall_ms,
    const char *const *alive, size_t n, struct tasks_out *to)
{
	struct rep_out		  o = { 0 };
	const Lb__TaskRecord	**recs;
	size_t			  k;

	if (now - h->expired_ms >= h->conf.expire_ms) {
		h->expired_ms = now;
		rep_expire(h->rep, wall_ms, h->conf.keep_ms, &o);
	}
	let_go_adopted(h, &o);
	/* Who acts for homes that are gone: what this peer says to them
	 * about their tasks goes there. */
	{
		struct rep_moved_info	 v[2 * REP_HOMES_MAX];
		size_t			 nm = rep_moved(h->rep, v,
					    2 * REP_HOMES_MAX);

		for (size_t i = 0; i < nm; i++)
			tasks_home_acting(h->tc, v[i].home, v[i].acting,
			    v[i].term, v[i].upto, v[i].floor);
	}
	if (h->on) {
		const char *by;
		uint64_t upto;
		uint32_t term;
		int hold;

		rep_members(h->rep, now, alive, n);
		h->others = 0;
		for (size_t i = 0; i < n; i++)
			if (strcmp(alive[i], h->conf.rep.self) != 0)
				h->others++;
		if (rep_set_gen(h->rep) != h->set_gen) {
			char *text = state_text(h);

			if (h->sh.save_state(h->sh.arg, text) == -1)
				note(h, 1, "replicas: cannot keep the set");
			else
				h->set_gen = rep_set_gen(h->rep);
			free(text);
		}
		/* Another took over this home's tasks while it was away:
		 * they are not this peer's any more. */
		term = rep_taken(h->rep, &by, &upto);
		if (term > h->relinquished || (term != 0 &&
		    (upto > h->relinquished_upto || rep_taken_version(h->rep) >
		    h->relinquished_version))) {
			size_t gone = tasks_relinquish(h->tc, upto,
			    rep_taken_version(h->rep), to);

			note(h, 1, "replicas: %s took over this peer's tasks "
			    "below number %" PRIu64 " (term %u) while it was "
			    "away: %zu let go here", by, upto, term, gone);
			rep_relinquished(h->rep, term);
			/* (what this peer says of them, as a host, goes to
			 * that one: a stop of one it let go is answered) */
			tasks_home_acting(h->tc, h->conf.rep.self, by, term,
			    upto, 0);
			h->relinquished = term;
			h->relinquished_upto = upto;
			h->relinquished_version = rep_taken_version(h->rep);
			/* (on disk, with their request ids: a submit sent
			 * again names them still, after a restart too) */
			{
				char *text = state_text(h);

				if (h->sh.save_state(h->sh.arg, text) == -1)
					note(h, 1, "replicas: cannot keep the "
					    "tasks let go");
				free(text);
			}
		}
		/* (the lease first: a thaw below is not undone by the
		 * keeper holding the old end) */
		tasks_set_home_lease(h->tc, rep_home_lease_end(h->rep), to);
		hold = !rep_home_ok(h->rep, now);
		if (hold != h->held) {
			if (hold)
				note(h, 1, "replicas: too few of this home's "
				    "set answer: its tasks wait, and those "
				    "running here are frozen, until a "
				    "majority does");
			else
				note(h, 0, "replicas: this home's set "
				    "answers: it acts again");
			h->held = hold;
		}
		tasks_set_home_hold(h->tc, now, hold, to);
		recs = home_records(h, &k);
		rep_tick(h->rep, now, recs, k, &o);
		free(recs);
	}
	carry(h, now, &o, to);
	rep_out_free(&o);
	release(h);
}

void
nhome_flush(struct nhome *h, uint64_t now)
{
	struct rep_out		  o = { 0 };
	const Lb__TaskRecord	**recs;
	size_t			  k;

	recs = home_records(h, &k);
	rep_flush(h->rep, now, recs, k, &o);
	free(recs);
	carry(h, now, &o, NULL);
	rep_out_free(&o);
}

void
nhome_recv(struct nhome *h, uint64_t now, const char *from,
    const Lb__PeerMsg *m, struct tasks_out *to)
{
	struct rep_out	o = { 0 };

	switch (m->body_case) {
	case LB__PEER_MSG__BODY_REPLICA_PUT:
		rep_put_in(h->rep, now, from, m->replica_put, &o);
		break;
	case LB__PEER_MSG__BODY_REPLICA_ACK:
		rep_ack_in(h->rep, now, from, m->replica_ack);
		/* (grants bounded at once; its own tasks told at the tick) */
		tasks_set_home_lease(h->tc, rep_home_lease_end(h->rep), NULL);
		release(h);
		break;
	case LB__PEER_MSG__BODY_HOME_VOTE:
		rep_vote_in(h->rep, now, from, m->home_vote, &o);
		break;
	case LB__PEER_MSG__BODY_HOME_VOTE_REPLY:
		rep_vote_reply_in(h->rep, now, from, m->home_vote_reply, &o);
		break;
	case LB__PEER_MSG__BODY_HOME_ACTING:
		rep_acting_in(h->rep, now, from, m->home_acting, &o);
		break;
	default:
		break;
	}
	carry(h, now, &o, to);
	rep_out_free(&o);
}

/* ---- what was given up ---- */

int
nhome_gave_up(struct nhome *h, const char *id)
{
	const char	*by;
	uint64_t	 upto;
	char		 home[LB_ID_MAX];

	if (h == NULL || rep_taken(h->rep, &by, &upto) == 0 ||
	    !tasks_id_valid(id))
		return 0;
	tasks_home_of(id, home);
	return strcmp(home, h->conf.rep.self) == 0 &&
	    strtoull(strrchr(id, '.') + 1, NULL, 10) < upto;
}

const char *
nhome_taken_by(struct nhome *h, const char *id)
{
	const char	*by;
	uint64_t	 upto;

	if (!nhome_gave_up(h, id))
		return NULL;
	(void)rep_taken(h->rep, &by, &upto);
	return lb_id_valid(by) ? by : NULL;
}

void
nhome_stats(const struct nhome *h, struct nhome_stats *s)
{
	memset(s, 0, sizeof(*s));
	if (h == NULL)
		return;
	s->waiting = h->nwaits;
	s->waited = h->waited;
	s->wait_refused = h->wait_refused;
}
