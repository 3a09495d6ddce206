/*
 * reads.c - records of tasks homed elsewhere, for show and wait at any
 * peer: the task's home is asked (TaskQuery, TaskAnswer), or, while it is
 * down, the peers that keep its records (its replicas), or the replica
 * acting in its place; the answers are kept a while (REMOTE_MAX), and
 * lbctl asks again until one is there.  This peer answers the queries of
 * others from its own records and its replicas' copies.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "src/log.h"
#include "src/util.h"
#include "tasks/tasks.h"
#include "peer.h"
#include "reads.h"
#include "replicas.h"
#include "store.h"

#define REMOTE_MAX	256	/* answers from other homes kept */
#define REMOTE_ASK_MS	200	/* ask a home again after this */
#define COPY_GRACE_MS	100	/* its home down: a replica's copy is
				 * the answer once others had this long */
#define REPLICA_WAIT_MS	1000	/* its home down: replicas have this long
				 * to answer */
#define HOME_SILENT_MS	1000	/* its home alive but silent to this peer
				 * this long: its replicas answer too */
#define STALE_OK_MS	1500	/* asked again and no answer this long:
				 * the last one known is the answer */

/* An answer from another home, and when we asked. */
struct remote {
	char		 id[TASKS_ID_MAX];
	uint64_t	 req_id;
	uint64_t	 asked_ms;
	uint64_t	 answered_ms;
	int		 want_output;	/* someone wants the output too */
	int		 asked_output;	/* the last query asked for it */
	uint64_t	 output_req;	/* the first round that asked for it */
	int		 ans_output;	/* the answer we have carries it */
	Lb__TaskAnswer	*ans;
	char		 replica[LB_ID_MAX];	/* ans came from this replica
					 * (its home down), or "" */
	uint64_t	 down_since;	/* its home down since */
	int		 rank;		/* of ans: 2 from the replica acting as
					 * its home, 1 from its home, 0 from a
					 * replica's copy */
	char		 acting_asked[LB_ID_MAX];	/* the acting home a
					 * copy named, asked for req_id */
	uint64_t	 home_silent_since;	/* its home asked, and no
					 * answer from it since (0: it answers) */
	uint64_t	 unanswered_since;	/* asked again, and ans is
					 * from an earlier round (0: ans is
					 * of the current one) */
	uint64_t	 unanswered_req;	/* the first round asked since */
	uint64_t	 ans_req;	/* the round ans answered */
	int		 unserved;	/* ans came in after a request was
					 * kept waiting for it, and no request
					 * has been given it yet */
};

/* Whether answer `a` answers a round of `r` no older than its answer's
 * (an answer may come after the next round was asked: a loaded peer
 * answers late, and is no less right). */
static int
answers(const struct remote *r, const Lb__TaskAnswer *a)
{
	return strcmp(r->id, a->task_id) == 0 && a->req_id <= r->req_id &&
	    a->req_id >= r->ans_req;
}

struct reads {
	struct remote	 remote[REMOTE_MAX];
	uint64_t	 next_req;
	uint64_t	 drops;		/* queries and answers dropped */
};

void
reads_start(struct peer *p)
{
	p->reads = lb_calloc(1, sizeof(*p->reads));
}

void
reads_stop(struct peer *p)
{
	if (p->reads == NULL)
		return;
	for (size_t i = 0; i < REMOTE_MAX; i++)
		if (p->reads->remote[i].ans != NULL)
			lb__task_answer__free_unpacked(p->reads->remote[i].ans,
			    NULL);
	free(p->reads);
	p->reads = NULL;
}

const Lb__TaskRecord *
reads_cached(struct peer *p, const char *id)
{
	for (size_t i = 0; p->reads != NULL && i < REMOTE_MAX; i++)
		if (strcmp(p->reads->remote[i].id, id) == 0 &&
		    p->reads->remote[i].ans != NULL)
			return p->reads->remote[i].ans->record;
	return NULL;
}

uint64_t
reads_drops(struct peer *p)
{
	return p->reads != NULL ? p->reads->drops : 0;
}

/* The address of the peer an answer's record names as acting for the
 * task's home (a replica that took over: alive, neither this peer nor the
 * task's first home), or NULL. */
static const char *
acting_addr(struct peer *p, const struct remote *r)
{
	const Lb__TaskRecord	*rec;
	char			 home[LB_ID_MAX];

	if (r->ans == NULL || (rec = r->ans->record) == NULL ||
	    rec->home_peer == NULL || rec->home_peer[0] == '\0' ||
	    strcmp(rec->home_peer, p->conf.id) == 0)
		return NULL;
	tasks_home_of(r->id, home);
	if (strcmp(rec->home_peer, home) == 0)
		return NULL;
	return members_addr(p, rec->home_peer, NULL);
}

/* Ask `addr` for the task of `r`, in its current round. */
static void
query_send(struct peer *p, const char *addr, const struct remote *r)
{
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;
	Lb__TaskQuery	q = LB__TASK_QUERY__INIT;

	q.req_id = r->req_id;
	q.task_id = (char *)r->id;
	q.want_output = r->asked_output;
	m.body_case = LB__PEER_MSG__BODY_TASK_QUERY;
	m.task_query = &q;
	net_send(p, addr, &m);
}

int
reads_task(struct peer *p, const char *id, int want_output,
    const Lb__TaskAnswer **answer, const char **replica, char **cause)
{
	struct reads	*g = p->reads;
	struct remote	*r = NULL, *old = NULL;
	const char	*addr, *state, *home_addr;
	char		 home[LB_ID_MAX];
	uint64_t	 now = lb_mono_ms();
	const Lb__TaskRecord *held;

	*answer = NULL;
	*replica = NULL;
	if (!tasks_id_valid(id)) {
		*cause = lb_printf("\"%s\" is not a task id (NODE.NUMBER)", id);
		return -1;
	}
	tasks_home_of(id, home);
	/* (a home not known at all: the peers that would hold its records
	 * are asked all the same; it may be gone for long) */
	addr = members_addr(p, home, &state);
	if (strcmp(home, p->conf.id) == 0) {
		/* Homed here by its number, taken over while this peer was
		 * away: the one acting for it answers. */
		addr = NULL;
		state = "not its home any more";
	}
	for (size_t i = 0; i < REMOTE_MAX; i++) {
		struct remote *c = &g->remote[i];
		if (strcmp(c->id, id) == 0) {
			r = c;
			break;
		}
		if (old == NULL || c->asked_ms < old->asked_ms)
			old = c;
	}
	if (r == NULL) {
		r = old;
		if (r->ans != NULL)
			lb__task_answer__free_unpacked(r->ans, NULL);
		memset(r, 0, sizeof(*r));
		lb_strlcpy(r->id, id, sizeof(r->id));
	}
	if (want_output)
		r->want_output = 1;
	/* Its home alive to the membership but silent to this peer for a
	 * while (the link between the two cut, or healing: TCP's timer has
	 * backed off): its replicas answer too, as if it were down, and it
	 * is asked still. */
	home_addr = addr;
	if (addr != NULL && r->home_silent_since != 0 &&
	    now - r->home_silent_since >= HOME_SILENT_MS) {
		addr = NULL;
		state = "silent to this peer";
	}
	/* Its home's answer from before it went down is not kept: replicas
	 * (and the one that may act for it) answer now. */
	if (addr == NULL && r->ans != NULL && r->rank == 1) {
		lb__task_answer__free_unpacked(r->ans, NULL);
		r->ans = NULL;
	}
	if (addr == NULL && r->down_since == 0)
		r->down_since = now;
	else if (addr != NULL) {
		r->down_since = 0;
		if (r->replica[0] != '\0') {
			/* Its home is back: it answers, not a replica. */
			lb__task_answer__free_unpacked(r->ans, NULL);
			r->ans = NULL;
			r->replica[0] = '\0';
			r->asked_ms = 0;
		}
	}
	/* Its home down, and its record held here for it. */
	if (addr == NULL && (held = replicas_held(p, id)) != NULL &&
	    (r->ans == NULL || (r->rank == 0 && (r->ans->record == NULL ||
	    r->ans->record->version < held->version)))) {
		Lb__TaskAnswer a = LB__TASK_ANSWER__INIT;
		size_t len;
		uint8_t *buf;

		a.task_id = (char *)id;
		a.found = 1;
		a.record = (Lb__TaskRecord *)held;
		a.from_replica = 1;
		len = lb__task_answer__get_packed_size(&a);
		buf = lb_calloc(1, len + 1);
		lb__task_answer__pack(&a, buf);
		if (r->ans != NULL)
			lb__task_answer__free_unpacked(r->ans, NULL);
		r->ans = lb__task_answer__unpack(NULL, len, buf);
		free(buf);
		lb_strlcpy(r->replica, p->conf.id, sizeof(r->replica));
		r->answered_ms = now;
		r->rank = 0;
	}
	/* Asked again after a while; at once for the output when the last
	 * round did not ask for it.  (A copy of its own is no reason not
	 * to ask the others: one of them may act as its home.) */
	if ((want_output && !r->asked_output) ||
	    (now - r->asked_ms >= REMOTE_ASK_MS && (r->ans == NULL ||
	    strcmp(r->replica, p->conf.id) == 0 ||
	    now - r->answered_ms >= REMOTE_ASK_MS))) {
		const char	*best[2 * (REP_SET_MAX + 1)], *acting;
		size_t		 nb;

		r->req_id = ++g->next_req;
		r->asked_ms = now;
		if (r->unanswered_since == 0) {
			r->unanswered_since = now;
			r->unanswered_req = r->req_id;
		}
		if (r->want_output && !r->asked_output)
			r->output_req = r->req_id;
		r->asked_output = r->want_output;
		r->acting_asked[0] = '\0';
		if (addr != NULL) {
			query_send(p, addr, r);
			if (r->home_silent_since == 0)
				r->home_silent_since = now;
		} else {
			if (home_addr != NULL)	/* (silent: still asked) */
				query_send(p, home_addr, r);
			/* Its home down: ask the peers likeliest to hold
			 * its records. */
			nb = replicas_of(p, home, best, (size_t)p->conf.task.
			    home_replicas);
			for (size_t i = 0; i < nb; i++)
				if (strcmp(best[i], p->conf.id) != 0 &&
				    (addr = members_addr(p, best[i], NULL)))
					query_send(p, addr, r);
			addr = NULL;
		}
		/* and the one the last answer says took over as its home
		 * (its first home, back, knows only a copy) */
		if ((acting = acting_addr(p, r)) != NULL) {
			lb_strlcpy(r->acting_asked, r->ans->record->home_peer,
			    sizeof(r->acting_asked));
			query_send(p, acting, r);
		}
	}
	if (r->ans != NULL && r->unanswered_since != 0 &&
	    now - r->unanswered_since < STALE_OK_MS && !(r->unserved &&
	    now - r->answered_ms < STALE_OK_MS))
		;	/* (an answer from an earlier round is not given while
			 * this one may bring a newer: a task shown running
			 * seconds ago may have ended since; but an answer no
			 * request has had yet is given once, new round or
			 * not: it answers the request that was kept waiting
			 * for it, and a client that asks less often than
			 * REMOTE_ASK_MS would otherwise start a new round
			 * each time and never be answered) */
	else if (r->ans != NULL && r->replica[0] != '\0' && r->rank == 0 &&
	    now - r->asked_ms < COPY_GRACE_MS)
		;	/* (a copy is the answer once the others asked had
			 * time to answer: one may act as its home, and a
			 * copy knows nothing of a takeover whose stream went
			 * elsewhere) */
	else if (r->ans != NULL && r->replica[0] != '\0' &&
	    (!want_output || acting_addr(p, r) == NULL)) {
		/* (a replica holds no output: the record is all there is,
		 * unless the one acting as its home answers with it) */
		*answer = r->ans;
		*replica = r->replica;
	} else if (r->ans != NULL && r->replica[0] != '\0')
		;	/* asked the acting home for the output */
	else if (r->ans != NULL && (!want_output || r->ans_output))
		*answer = r->ans;
	if (*answer != NULL)
		r->unserved = 0;
	if (*answer == NULL && r->ans == NULL && addr == NULL &&
	    now - r->down_since >= REPLICA_WAIT_MS) {
		if (strcmp(state, "unknown") == 0) {
			*cause = lb_printf("no task %s: there is no node %s in "
			    "the cluster, and no peer keeps its record", id,
			    home);
			return -1;
		}
		*cause = lb_printf("task %s: its home %s is %s, and no replica "
		    "of its records answered", id, home, state);
		return -2;
	}
	return 0;
}

void
reads_query_in(struct peer *p, const char *from, const Lb__TaskQuery *q)
{
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__TaskAnswer		 a = LB__TASK_ANSWER__INIT;
	struct tasks_task	*k;
	const char		*addr;

	if (!tasks_id_valid(q->task_id) ||
	    (addr = members_addr(p, from, NULL)) == NULL) {
		p->reads->drops++;
		return;
	}
	k = tasks_find(p->tc, q->task_id);
	a.req_id = q->req_id;
	a.task_id = q->task_id;
	if (k != NULL && k->home) {
		a.found = 1;
		a.record = k->rec;
		if (q->want_output)
			store_read_output(p, k->rec, &a.stdout, &a.stderr);
	} else if ((a.record = (Lb__TaskRecord *)replicas_held(p,
	    q->task_id)) != NULL) {
		a.found = 1;
		a.from_replica = 1;
	} else if (replicas_taken_by(p, q->task_id) != NULL)
		a.acting = (char *)replicas_taken_by(p, q->task_id);
	m.body_case = LB__PEER_MSG__BODY_TASK_ANSWER;
	m.task_answer = &a;
	if (k != NULL && k->home) {
		/* What the home says of its task goes once it is on a
		 * majority of its set, as its other words do: a reader
		 * elsewhere never sees a result a takeover could undo. */
		struct replicas_msg *w = lb_calloc(1, sizeof(*w));

		lb_strlcpy(w->to, from, sizeof(w->to));
		w->len = lb__peer_msg__get_packed_size(&m);
		w->buf = lb_calloc(1, w->len + 1);
		lb__peer_msg__pack(&m, w->buf);
		switch (replicas_after(p, replicas_msg_send, w)) {
		case 0:
			replicas_msg_send(p, w, 1);
			break;
		case -1:	/* (too many wait: the asker asks again) */
			replicas_msg_send(p, w, 0);
			break;
		}
	} else
		net_send(p, addr, &m);
	free(a.stdout.data);
	free(a.stderr.data);
}

/* Whether the task of answer `a` was asked of its home, alive, which has
 * been silent to this peer for HOME_SILENT_MS (its replicas answer). */
static int
home_silent(struct peer *p, const Lb__TaskAnswer *a)
{
	for (size_t i = 0; i < REMOTE_MAX; i++) {
		const struct remote *r = &p->reads->remote[i];

		if (answers(r, a))
			return r->home_silent_since != 0 && lb_mono_ms() -
			    r->home_silent_since >= HOME_SILENT_MS;
	}
	return 0;
}

void
reads_answer_in(struct peer *p, const char *from, const Lb__TaskAnswer *a)
{
	char		 home[LB_ID_MAX];
	int		 rank = 1;
	const char	*addr;

	if (!tasks_id_valid(a->task_id)) {
		p->reads->drops++;
		return;
	}
	tasks_home_of(a->task_id, home);
	/* From its home, or from the replica that took over as its home
	 * (the record says so); or, with its record, from a replica while
	 * its home is down (a record no older than the one held) -- or is
	 * this peer, which gave it up: the copies are what it has to go by,
	 * and one may name the peer acting now (lbchaos seed 4242, 180 s: n3
	 * read its own tasks, taken over twice, asking only the first one
	 * that took them, for 120 s). */
	if (a->found && a->record != NULL && a->record->home_peer[0] != '\0'
	    && strcmp(a->record->home_peer, from) == 0 && !a->from_replica)
		rank = 2;	/* the acting home */
	else if (strcmp(home, from) != 0 && (!a->from_replica || !a->found ||
	    a->record == NULL || (strcmp(home, p->conf.id) != 0 &&
	    members_addr(p, home, NULL) != NULL && !home_silent(p, a)))) {
		if (!a->from_replica)
			p->reads->drops++;
		return;
	}
	if (rank == 1 && a->from_replica)
		rank = 0;
	/* Its home gave it up to another: asked there, at once; the
	 * answer is that one's. */
	if (!a->found && a->acting[0] != '\0') {
		if (!lb_id_valid(a->acting) || strcmp(a->acting,
		    p->conf.id) == 0 || (addr = members_addr(p, a->acting,
		    NULL)) == NULL)
			return;
		for (size_t i = 0; i < REMOTE_MAX; i++) {
			struct remote *r = &p->reads->remote[i];

			if (answers(r, a) &&
			    strcmp(r->acting_asked, a->acting) != 0) {
				lb_strlcpy(r->acting_asked, a->acting,
				    sizeof(r->acting_asked));
				query_send(p, addr, r);
			}
		}
		return;
	}
	for (size_t i = 0; i < REMOTE_MAX; i++) {
		struct remote *r = &p->reads->remote[i];
		uint8_t *buf;
		size_t len;

		if (!answers(r, a))
			continue;
		/* A copy that names the replica acting as its home: that
		 * one is asked at once (it has the output, and the newest
		 * record), not at the next round, whether or not this copy
		 * is kept. */
		if (a->found && a->record != NULL && a->record->home_peer !=
		    NULL && lb_id_valid(a->record->home_peer) &&
		    strcmp(a->record->home_peer, from) != 0 &&
		    strcmp(a->record->home_peer, home) != 0 &&
		    strcmp(a->record->home_peer, p->conf.id) != 0 &&
		    strcmp(r->acting_asked, a->record->home_peer) != 0 &&
		    (addr = members_addr(p, a->record->home_peer,
		    NULL)) != NULL) {
			lb_strlcpy(r->acting_asked, a->record->home_peer,
			    sizeof(r->acting_asked));
			query_send(p, addr, r);
		}
		/* An answer of a lower rank never replaces one of a higher;
		 * among replicas' copies, the newest stays. */
		if (r->ans != NULL && rank < r->rank)
			return;
		if (r->ans != NULL && rank == 0 && r->rank == 0 &&
		    r->ans->record != NULL &&
		    r->ans->record->version >= a->record->version) {
			if (a->req_id >= r->unanswered_req)
				r->unanswered_since = 0;   /* (no older) */
			return;
		}
		r->rank = rank;
		lb_strlcpy(r->replica, a->from_replica ? from : "",
		    sizeof(r->replica));
		if (r->ans != NULL)
			lb__task_answer__free_unpacked(r->ans, NULL);
		len = lb__task_answer__get_packed_size(a);
		buf = lb_calloc(1, len + 1);
		lb__task_answer__pack(a, buf);
		r->ans = lb__task_answer__unpack(NULL, len, buf);
		free(buf);
		r->answered_ms = lb_mono_ms();
		r->ans_output = r->asked_output && a->req_id >= r->output_req;
		r->ans_req = a->req_id;
		r->unserved = 1;
		if (a->req_id >= r->unanswered_req)
			r->unanswered_since = 0;
		if (rank >= 1)
			r->home_silent_since = 0;	/* (it answers) */
		return;
	}
}
