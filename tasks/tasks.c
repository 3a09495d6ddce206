/*
 * tasks.c - the task protocol as a core without I/O (see tasks.h and
 * doc/protocol.md): its life (new, restore, start), the messages in, each
 * to its handler, and the tick.  The rest is in the files tasks_int.h
 * names: records, placements and their epochs, moves committed by the
 * home, notices and their verdicts, stops, reruns, leases, links.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/tasks_int.h"

/* Note that `peer` runs at incarnation `seen`; the newest known, or 0. */
uint64_t
tk_inc_known(struct tasks *t, const char *peer, uint64_t seen)
{
	size_t	i;

	for (i = 0; i < t->nincs; i++)
		if (strcmp(t->incs[i].id, peer) == 0)
			break;
	if (i == t->nincs) {
		if (t->nincs == sizeof(t->incs) / sizeof(t->incs[0]))
			return 0;
		lb_strlcpy(t->incs[i].id, peer, LB_ID_MAX);
		t->incs[t->nincs++].inc = 0;
	}
	if (seen > t->incs[i].inc)
		t->incs[i].inc = seen;
	return t->incs[i].inc;
}

/* ---- life ---- */

struct tasks *
tasks_new(const struct tasks_conf *c, const char *self, uint64_t inc,
    const char *attrs, int64_t wall_off)
{
	struct tasks	*t = lb_calloc(1, sizeof(*t));

	t->conf = *c;
	if (t->conf.retry_min_ms <= 0)
		t->conf.retry_min_ms = 100;
	if (t->conf.retry_max_ms < t->conf.retry_min_ms)
		t->conf.retry_max_ms = t->conf.retry_min_ms;
	lb_strlcpy(t->self, self, sizeof(t->self));
	t->inc = inc;
	t->attrs = lb_strdup(attrs ? attrs : "");
	t->wall_off = wall_off;
	t->buckets = lb_calloc(BUCKETS, sizeof(*t->buckets));
	t->rbuckets = lb_calloc(BUCKETS, sizeof(*t->rbuckets));
	t->next_seq = 1;
	t->links = lb_calloc(t->conf.max_links + 1, sizeof(*t->links));
	return t;
}

void
tasks_free(struct tasks *t)
{
	struct tasks_task	*k, *next;

	if (t == NULL)
		return;
	tasks_set_alive(t, NULL, 0);
	for (size_t b = 0; b < BUCKETS; b++)
		for (k = t->buckets[b]; k; k = next) {
			next = k->hnext;
			if (k->incoming != NULL)
				lb__task_record__free_unpacked(k->incoming,
				    NULL);
			lb__task_record__free_unpacked(k->rec, NULL);
			free(k);
		}
	free(t->buckets);
	free(t->rbuckets);
	free(t->gone);
	free(t->links);
	free(t->sorted);
	free(t->attrs);
	free(t);
}

void
tasks_set_leaving(struct tasks *t, int leaving)
{
	t->leaving = leaving;
}

void
tasks_set_draining(struct tasks *t, int draining)
{
	t->draining = draining;
}

void
tasks_seq_floor(struct tasks *t, uint64_t seq)
{
	if (seq > t->next_seq)
		t->next_seq = seq;
}

uint64_t
tasks_next_seq(const struct tasks *t)
{
	return t->next_seq;
}

void
tasks_restore(struct tasks *t, Lb__TaskRecord *rec)
{
	struct tasks_task	*k;
	uint64_t		 seq;

	if (!tasks_id_valid(rec->id) || rec->spec == NULL) {
		lb__task_record__free_unpacked(rec, NULL);
		return;
	}
	if ((seq = tk_own_seq(t, rec->id)) >= t->next_seq)
		t->next_seq = seq + 1;
	k = tasks_find(t, rec->id);
	if (rec->forgotten) {
		if (k != NULL)
			tk_task_remove(t, k);
		lb__task_record__free_unpacked(rec, NULL);
		return;
	}
	if (k != NULL) {
		int home = rec->home_peer != NULL && rec->home_peer[0] !=
		    '\0' ? strcmp(rec->home_peer, t->self) == 0 :
		    tk_is_home_of(t, rec->id);

		/* The index points into the record: take it out meanwhile.
		 * (A later record may make this peer its home: one it held
		 * as a host, then took over.) */
		tk_request_unindex(t, k);
		lb__task_record__free_unpacked(k->rec, NULL);
		k->rec = rec;
		if (home != k->home) {
			if (home)
				t->homed++;
			else
				t->homed--;
			k->home = home;
		}
		tk_request_index(t, k);
	} else
		tk_task_add(t, rec);
}

void
tasks_mailboxes_lost(struct tasks *t)
{
	t->mail_lost = 1;
}

void
tasks_start(struct tasks *t, uint64_t now, struct tasks_out *o)
{
	size_t			  n;
	struct tasks_task	**all = tasks_all(t, &n);

	for (size_t i = 0; i < n; i++) {
		struct tasks_task	*k = all[i];
		Lb__TaskRecord		*r = k->rec;

		r->pgid = 0;
		k->h_epoch = r->epoch;
		lb_strlcpy(k->h_by, r->epoch_by, sizeof(k->h_by));
		if (k->home) {
			/*
			 * Moves this home started before it stopped are
			 * fenced: none of them can commit now.
			 */
			r->epoch_floor = tk_max3(r->epoch_floor, r->epoch_next,
			    r->epoch);
			/* Its host may have renewed its lease until we
			 * stopped: it counts from now. */
			k->lease_heard = now;
			tk_quiet_arm(t, now, k);
			if (r->stop_pending && strcmp(r->host, t->self) != 0)
				tk_stop_current(t, now, k, "the task has ended", o);
			if (tasks_unfinished(r) && strcmp(r->host, t->self) == 0) {
				r->state = LB__TASK_STATE__TASK_QUEUED;
				k->resume = r->checkpoints > 0;
				tk_set_hold(t, now, k, HOLD_QUEUED, o);
				tk_out_push(o, TA_REPLAY, r->id)->resume =
				    k->resume;
			}
			continue;
		}
		/* A placement held for another home: ask it first. */
		if (tasks_unfinished(r)) {
			r->state = LB__TASK_STATE__TASK_QUEUED;
			k->resume = r->checkpoints > 0;
			k->mail_lost = t->mail_lost;
			tk_set_hold(t, now, k, HOLD_CONFIRM, o);
		} else
			tk_set_hold(t, now, k, HOLD_ENDED, o);
		k->notice = 1;
		tk_notice_send(t, now, k, o);
	}
	tk_schedule(t, now, o);
}

/* ---- messages in ---- */

/*
 * The task a message is about, and who may send it: `to_home`, a message
 * for the task's home (this peer must be it); `from_home`, one only the
 * task's home may send.
 */
static const char *
task_of(const Lb__PeerMsg *m, int *to_home, int *from_home)
{
	*to_home = *from_home = 0;
	switch (m->body_case) {
	case LB__PEER_MSG__BODY_TRANSFER:
		return m->transfer->record ? m->transfer->record->id : NULL;
	case LB__PEER_MSG__BODY_TRANSFER_ACK:
		return m->transfer_ack->task_id;
	case LB__PEER_MSG__BODY_TASK_MOVE:
		*to_home = 1;
		return m->task_move->task_id;
	case LB__PEER_MSG__BODY_TASK_MOVE_REPLY:
		*from_home = 1;
		return m->task_move_reply->task_id;
	case LB__PEER_MSG__BODY_TASK_NOTICE:
		*to_home = 1;
		return m->task_notice->record ? m->task_notice->record->id :
		    NULL;
	case LB__PEER_MSG__BODY_TASK_NOTICE_ACK:
		*from_home = 1;
		return m->task_notice_ack->task_id;
	case LB__PEER_MSG__BODY_TASK_STOP:
		*from_home = 1;
		return m->task_stop->task_id;
	case LB__PEER_MSG__BODY_TASK_STOP_ACK:
		*to_home = 1;
		return m->task_stop_ack->task_id;
	case LB__PEER_MSG__BODY_TASK_CANCEL:
		*to_home = 1;
		return m->task_cancel->task_id;
	case LB__PEER_MSG__BODY_TASK_RETURN:
		*to_home = 1;
		return m->task_return->task_id;
	case LB__PEER_MSG__BODY_TASK_RETURN_ACK:
		*from_home = 1;
		return m->task_return_ack->task_id;
	default:
		return NULL;
	}
}

void
tasks_recv(struct tasks *t, uint64_t now, const char *from, uint64_t inc,
    const Lb__PeerMsg *m, struct tasks_out *o)
{
	struct tasks_task	*k;
	const char		*id;
	char			*cause = NULL;
	int			 to_home, from_home;

	if (!lb_id_valid(from) || strcmp(from, t->self) == 0) {
		t->stats.drop_sender++;
		return;
	}
	tk_inc_known(t, from, inc);
	if (m->body_case == LB__PEER_MSG__BODY_LEASE_ASK) {
		tk_lease_ask_recv(t, now, from, inc, m->lease_ask, o);
		return;
	}
	if (m->body_case == LB__PEER_MSG__BODY_LEASE_GRANT) {
		tk_lease_grant_recv(t, now, from, m->lease_grant, o);
		return;
	}
	id = task_of(m, &to_home, &from_home);
	if (id == NULL || !tasks_id_valid(id) ||
	    (to_home && !tk_home_is(t, id, t->self))) {
		t->stats.drop_invalid++;
		return;
	}
	if (from_home && !tk_home_is(t, id, from) &&
	    !(m->body_case == LB__PEER_MSG__BODY_TASK_STOP &&
	    tk_acting_home_is(t, id, from))) {
		t->stats.drop_sender++;
		return;
	}
	switch (m->body_case) {
	case LB__PEER_MSG__BODY_TRANSFER:
		tk_transfer_recv(t, now, from, m->transfer, o);
		break;
	case LB__PEER_MSG__BODY_TRANSFER_ACK:
		tk_transfer_ack_recv(t, now, from, m->transfer_ack, o);
		break;
	case LB__PEER_MSG__BODY_TASK_MOVE:
		tk_move_recv(t, now, from, m->task_move, o);
		break;
	case LB__PEER_MSG__BODY_TASK_MOVE_REPLY:
		tk_move_reply_recv(t, now, m->task_move_reply, o);
		break;
	case LB__PEER_MSG__BODY_TASK_NOTICE:
		if (!tk_rec_valid(t, m->task_notice->record) ||
		    m->task_notice->stdout.len > ((uint64_t)1 << 31) ||
		    m->task_notice->stderr.len > ((uint64_t)1 << 31)) {
			t->stats.drop_invalid++;
			break;
		}
		tk_home_notice(t, now, from, inc, m->task_notice, o);
		break;
	case LB__PEER_MSG__BODY_TASK_NOTICE_ACK: {
		const Lb__TaskNoticeAck *a = m->task_notice_ack;
		if (a->verdict < LB__VERDICT__VERDICT_CURRENT ||
		    a->verdict > LB__VERDICT__VERDICT_UNKNOWN ||
		    (a->holder_inc != 0 && a->holder_inc != t->inc)) {
			t->stats.drop_unknown++;
			break;
		}
		k = tasks_find(t, a->task_id);
		if (k == NULL || k->home || k->hold == HOLD_NONE ||
		    k->hold == HOLD_PENDING || k->hold == HOLD_FROZEN ||
		    !tk_same(a->epoch, a->epoch_by, k->h_epoch, k->h_by)) {
			t->stats.drop_unknown++;
			break;
		}
		tk_holder_verdict(t, now, k, a->verdict, a->state, o);
		break;
	}
	case LB__PEER_MSG__BODY_TASK_STOP:
		tk_stop_recv(t, now, from, m->task_stop, o);
		break;
	case LB__PEER_MSG__BODY_TASK_STOP_ACK:
		tk_stop_ack_recv(t, from, m->task_stop_ack, o);
		break;
	case LB__PEER_MSG__BODY_TASK_CANCEL:
		if (tasks_cancel(t, now, id, o, &cause) == -1)
			free(cause);
		break;
	case LB__PEER_MSG__BODY_TASK_RETURN:
		tk_return_recv(t, now, from, inc, m->task_return, o);
		break;
	case LB__PEER_MSG__BODY_TASK_RETURN_ACK:
		tk_return_ack_recv(t, now, from, m->task_return_ack, o);
		break;
	default:
		break;
	}
}

/* ---- time ---- */

void
tasks_tick(struct tasks *t, uint64_t now, struct tasks_out *o)
{
	size_t			  n = 0;
	struct tasks_task	**all;
	uint64_t		  keep = (uint64_t)t->conf.keep_finished_s * 1000;
	struct tasks_task	**gone = NULL;
	size_t			  ngone = 0;

	/* The tasks with something due, or to forget, first: what is done
	 * for one may add or remove others.  (No order is needed here.) */
	all = lb_calloc(t->n + 1, sizeof(*all));
	for (size_t b = 0; b < BUCKETS; b++)
		for (struct tasks_task *k = t->buckets[b]; k; k = k->hnext)
			if ((k->due != 0 && now >= k->due) || (k->ck_asked &&
			    (now >= k->ck_due || (!k->ck_signalled && now >=
			    k->proc_at + (uint64_t)t->conf.checkpoint_grace_ms)))
			    || (k->ckp_due != 0 &&
			    now >= k->ckp_due) || k->announce != 0 ||
			    (k->rerun_at != 0 &&
			    now >= k->rerun_at) || (k->quiet_at != 0 &&
			    now >= k->quiet_at) || (tk_leased(t, k) &&
			    k->hold == HOLD_RUNNING && now + tk_lease_lead(t) >=
			    k->lease_until) || (k->home &&
			    k->hold == HOLD_NONE && keep > 0 &&
			    !tasks_unfinished(k->rec) &&
			    tk_wall(t, now) > k->rec->finished_ms + keep))
				all[n++] = k;
	for (size_t i = 0; i < n; i++) {
		struct tasks_task *k = all[i];

		if (k->home && k->hold == HOLD_NONE && !k->stop &&
		    !tasks_unfinished(k->rec) && keep > 0 &&
		    tk_wall(t, now) > k->rec->finished_ms + keep) {
			gone = lb_reallocarray(gone, ngone + 1, sizeof(*gone));
			gone[ngone++] = k;
			continue;
		}
		if (k->rerun_at != 0 && now >= k->rerun_at) {
			k->rerun_at = 0;
			/* (its own placement here too, once nothing of it
			 * is held here: a rerun put off while this home
			 * could not act; and not while a stale copy of it
			 * here still stops) */
			if (k->home && tasks_unfinished(k->rec) &&
			    k->rec->epoch == k->rerun_epoch &&
			    (k->hold == HOLD_STOPPING || k->hold ==
			    HOLD_RUNNING) && strcmp(k->rec->host, t->self) != 0)
				k->rerun_at = now + 100;
			else if (k->home && tasks_unfinished(k->rec) &&
			    k->rec->epoch == k->rerun_epoch &&
			    strcmp(k->rec->host, t->self) != 0)
				tk_rerun(t, now, k, "its host is gone, and its "
				    "lease has run out", o);
			else if (k->home && tasks_unfinished(k->rec) &&
			    k->rec->epoch == k->rerun_epoch &&
			    k->hold == HOLD_NONE)
				tk_rerun(t, now, k, "placed anew once this home "
				    "could act again", o);
		}
		if (k->quiet_at != 0 && now >= k->quiet_at) {
			k->quiet_at = 0;
			if (k->home && tasks_unfinished(k->rec) &&
			    k->rec->epoch == k->quiet_epoch &&
			    strcmp(k->rec->host, t->self) != 0) {
				t->stats.lease_quiet++;
				tk_rerun(t, now, k, "its host has not been heard "
				    "of for longer than a lease (cut off from "
				    "here, or gone)", o);
			}
		}
		tk_lease_check(t, now, k, o);
		if (k->announce != 0 && k->home && tasks_unfinished(k->rec) &&
		    now >= k->announce + (uint64_t)t->conf.lease_ms / 4) {
			tk_home_announce(t, k, k->rec->home_term, o);
			k->announce = now;
		}
		if (k->ck_asked && !k->ck_signalled)
			tk_ck_signal(t, now, k, o);
		if (k->ck_asked && now >= k->ck_due) {
			t->stats.checkpoint_timeouts++;
			tk_note(o, k->rec->id, "task %s did not checkpoint within "
			    "%" PRIu64 " ms: it stays here and keeps running",
			    k->rec->id, now - (k->ck_signalled ?
			    k->ck_signalled : k->ck_asked));
			tk_ck_fail(k, "it did not checkpoint in time; it keeps "
			    "running where it was", o);
		}
		if (k->ckp_due != 0 && now >= k->ckp_due) {
			/* Time for its periodic checkpoint (unless one is
			 * asked already, for a move); asked again a period
			 * later if it does not. */
			k->ckp_due = now + (uint64_t)k->rec->spec->
			    checkpoint_every_s * 1000;
			if (k->hold == HOLD_RUNNING && !k->ck_asked &&
			    !k->yield && now >= k->proc_at + (uint64_t)t->
			    conf.checkpoint_grace_ms) {
				t->stats.periodic++;
				tk_out_push(o, TA_CHECKPOINT, k->rec->id);
			}
		}
		if (k->due == 0 || now < k->due)
			continue;
		if (k->hold == HOLD_FROZEN) {
			/* No acknowledgement in time, or no answer yet. */
			if (k->ask)
				t->stats.retries++;
			tk_ask_home(t, now, k, k->ask ? k->ask_commit :
			    k->move_acked, o);
		} else if (k->hold == HOLD_PENDING) {
			if (k->ask)
				t->stats.retries++;
			tk_ask_home(t, now, k, 1, o);
		} else if (k->home && k->stop) {
			t->stats.retries++;
			tk_stop_current(t, now, k, k->stop_why, o);
		} else if (k->hold == HOLD_RETURNING) {
			t->stats.retries++;
			tk_return_send(t, now, k, o);
		} else if (k->notice) {
			t->stats.retries++;
			tk_notice_send(t, now, k, o);
		} else
			k->due = 0;
	}
	for (size_t i = 0; i < ngone; i++)
		tk_forget(t, gone[i], o);
	free(gone);
	free(all);
	if (t->conf.lease_ms > 0 && (now >= t->lease_next || (t->lease_asap &&
	    now >= t->lease_sent + 100)))
		tk_lease_round(t, now, o);
	/* Links expire. */
	if (t->conf.link_keep_s > 0)
		for (size_t i = 0; i < t->nlinks; i++)
			if (t->links[i].id[0] && now > t->links[i].at +
			    (uint64_t)t->conf.link_keep_s * 1000)
				t->links[i].id[0] = '\0';
	tk_schedule(t, now, o);
	tk_preempt_round(t, now, o);
}
