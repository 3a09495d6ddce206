/*
 * ctljson.c - the JSON of the control replies, as `lbctl --json` prints
 * them and the peer's HTTP listener serves them (/api/...): one builder,
 * so the two never disagree.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ctljson.h"

const char *
ctljson_state_name(Lb__TaskState s)
{
	static const char *const n[] = { "queued", "running", "done", "failed",
	    "cancelled" };

	return (unsigned)s < 5 ? n[s] : "?";
}

/* Peers in id order, n2 before n10. */
static int
peer_cmp(const void *a, const void *b)
{
	const Lb__CtlPeer *pa = *(Lb__CtlPeer * const *)a;
	const Lb__CtlPeer *pb = *(Lb__CtlPeer * const *)b;

	return strverscmp(pa->id, pb->id);
}

void
ctljson_sort_peers(Lb__CtlPeers *ps)
{
	qsort(ps->peers, ps->n_peers, sizeof(Lb__CtlPeer *), peer_cmp);
}

json_t *
ctljson_peers(const Lb__CtlPeers *ps)
{
	json_t	*a = json_array();

	for (size_t i = 0; i < ps->n_peers; i++) {
		Lb__CtlPeer *p = ps->peers[i];
		json_t *attrs = json_array();
		for (size_t k = 0; k < p->n_attributes; k++)
			json_array_append_new(attrs,
			    json_string(p->attributes[k]));
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, "
		    "s:I, s:I, s:i, s:i, s:I, s:o, s:b, s:I, s:I, s:i}",
		    "id", p->id, "addr", p->addr, "state", p->state,
		    "incarnation", (json_int_t)p->incarnation,
		    "heartbeat", (json_int_t)p->heartbeat,
		    "load", p->load, "slots", p->slots,
		    "age_ms", (json_int_t)p->age_ms,
		    "attributes", attrs, "self", p->self,
		    "news_age_ms", (json_int_t)p->news_age_ms,
		    "state_age_ms", (json_int_t)p->state_age_ms,
		    "level", (int)p->level));
		/* (an older build, below level 4, does not say: null) */
		json_object_set_new(json_array_get(a, json_array_size(a) - 1),
		    "running", p->level >= 4 ? json_integer(p->running) :
		    json_null());
		json_object_set_new(json_array_get(a, json_array_size(a) - 1),
		    "waiting", p->level >= 4 ? json_integer(p->waiting) :
		    json_null());
		json_object_set_new(json_array_get(a,
		    json_array_size(a) - 1), "draining", json_boolean(
		    strcmp(p->state, "draining") == 0));
	}
	return a;
}

json_t *
ctljson_task(const Lb__TaskRecord *r)
{
	json_t	*hosts = json_array(), *argv = json_array(), *j;

	for (size_t i = 0; i < r->n_hosts; i++)
		json_array_append_new(hosts, json_pack("{s:s, s:I, s:I}",
		    "node", r->hosts[i]->node,
		    "arrived_ms", (json_int_t)r->hosts[i]->arrived_ms,
		    "left_ms", (json_int_t)r->hosts[i]->left_ms));
	for (size_t i = 0; r->spec && i < r->spec->n_argv; i++)
		json_array_append_new(argv, json_string(r->spec->argv[i]));
	j = json_pack("{s:s, s:s, s:s, s:i, s:o, s:o, s:o, s:o, s:s, "
	    "s:I, s:I, s:I, s:i, s:i, s:i, s:I, s:I, s:b}",
	    "id", r->id, "state", ctljson_state_name(r->state), "host", r->host,
	    "epoch", (int)r->epoch, "hosts", hosts, "argv", argv,
	    "exit_code", r->state == LB__TASK_STATE__TASK_DONE && !r->signal ?
	    json_integer(r->exit_code) : json_null(),
	    "signal", r->signal ? json_integer(r->signal) : json_null(),
	    "error", r->error,
	    "submitted_at", (json_int_t)r->submitted_ms,
	    "started_at", (json_int_t)r->started_ms,
	    "finished_at", (json_int_t)r->finished_ms,
	    "starts", (int)r->starts, "resumes", (int)r->resumes,
	    "checkpoints", (int)r->checkpoints,
	    "stdout_bytes", (json_int_t)r->stdout_bytes,
	    "stderr_bytes", (json_int_t)r->stderr_bytes,
	    "output_truncated", r->output_truncated);
	{
		json_t *mv = json_array();
		for (size_t i = 0; i < r->n_migrations; i++) {
			const Lb__TaskMigration *m = r->migrations[i];
			json_array_append_new(mv, json_pack("{s:s, s:s, s:I, "
			    "s:i, s:o, s:I}", "from", m->from, "to", m->to,
			    "at", (json_int_t)m->at_ms,
			    "checkpoint_ms", (int)m->checkpoint_ms,
			    "freeze_ms", m->freeze_us ? json_real(
			    (double)m->freeze_us / 1000) : json_null(),
			    "bytes", (json_int_t)m->bytes));
		}
		json_object_set_new(j, "migrations", mv);
		mv = json_array();
		for (size_t i = 0; i < r->n_start_failures; i++) {
			const Lb__StartFailure *f = r->start_failures[i];
			json_array_append_new(mv, json_pack("{s:s, s:s, s:I}",
			    "host", f->host, "reason", f->reason,
			    "at", (json_int_t)f->at_ms));
		}
		json_object_set_new(j, "start_failures", mv);
		json_object_set_new(j, "checkpoint_every_s", json_integer(
		    r->spec ? r->spec->checkpoint_every_s : 0));
		/* Its home: the peer its id names, or the replica that took
		 * over, in a later home term. */
		{
			char home[64];
			const char *dot = strrchr(r->id, '.');
			size_t hl = dot ? (size_t)(dot - r->id) : 0;

			snprintf(home, sizeof(home), "%.*s", (int)(hl <
			    sizeof(home) ? hl : sizeof(home) - 1), r->id);
			json_object_set_new(j, "home", json_string(
			    r->home_peer[0] ? r->home_peer : home));
			json_object_set_new(j, "home_term",
			    json_integer((json_int_t)r->home_term));
		}
		if (r->spec && r->spec->request_id.len > 0 &&
		    r->spec->request_id.len <= 64) {
			char hex[2 * 64 + 1];
			sodium_bin2hex(hex, sizeof(hex), r->spec->request_id.data,
			    r->spec->request_id.len);
			json_object_set_new(j, "request_id", json_string(hex));
		} else
			json_object_set_new(j, "request_id", json_null());
		json_object_set_new(j, "home_checkpoint", json_integer(
		    r->home_checkpoint));
		json_object_set_new(j, "home_checkpoint_at",
		    r->home_checkpoint_ms ? json_integer((json_int_t)
		    r->home_checkpoint_ms) : json_null());
	}
	if (r->started_ms == 0)
		json_object_set_new(j, "started_at", json_null());
	if (r->finished_ms == 0)
		json_object_set_new(j, "finished_at", json_null());
	return j;
}

json_t *
ctljson_tasks(const Lb__CtlTaskList *l)
{
	json_t	*a = json_array();

	for (size_t i = 0; i < l->n_tasks; i++)
		json_array_append_new(a, ctljson_task(l->tasks[i]));
	return a;
}

json_t *
ctljson_stats(const Lb__CtlStats *s)
{
	double	 mean = s->transfers_out ? (double)s->transfer_ms_total /
		    (double)s->transfers_out : 0;

	json_t *x, *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:f, s:I}", "policy", s->policy,
	    "probes_sent", (json_int_t)s->probes_sent,
	    "probes_accepted", (json_int_t)s->probes_accepted,
	    "probes_refused", (json_int_t)s->probes_refused,
	    "probes_timed_out", (json_int_t)s->probes_timed_out,
	    "backoffs", (json_int_t)s->backoffs,
	    "offers_taken", (json_int_t)s->offers_taken,
	    "requests_served", (json_int_t)s->requests_served,
	    "transfers_in", (json_int_t)s->transfers_in,
	    "transfers_out", (json_int_t)s->transfers_out,
	    "transfers_aborted", (json_int_t)s->transfers_aborted,
	    "mean_transfer_ms", mean,
	    "tasks_rerun", (json_int_t)s->tasks_rerun);
	json_object_set_new(j, "hinted_probes", json_integer((json_int_t)
	    s->hinted_probes));
	json_object_set_new(j, "hinted_accepted", json_integer((json_int_t)
	    s->hinted_accepted));
	json_object_set_new(j, "redirects", json_integer((json_int_t)
	    s->redirects));
	json_object_set_new(j, "idle_notices_sent", json_integer((json_int_t)
	    s->idle_notices_sent));
	json_object_set_new(j, "idle_notices_heard", json_integer((json_int_t)
	    s->idle_notices_heard));
	json_object_set_new(j, "results", json_integer((json_int_t)
	    s->results));
	json_object_set_new(j, "stale_stopped", json_integer(
	    (json_int_t)s->stale_stopped));
	json_object_set_new(j, "retries", json_integer((json_int_t)
	    s->retries));
	json_object_set_new(j, "drop_sender", json_integer((json_int_t)
	    s->drop_sender));
	json_object_set_new(j, "drop_invalid", json_integer(
	    (json_int_t)s->drop_invalid));
	json_object_set_new(j, "drop_unknown", json_integer(
	    (json_int_t)s->drop_unknown));
	json_object_set_new(j, "refused_full", json_integer(
	    (json_int_t)s->refused_full));
	x = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I}", "xfer_bytes_in", (json_int_t)s->xfer_bytes_in,
	    "xfer_bytes_out", (json_int_t)s->xfer_bytes_out,
	    "xfer_done", (json_int_t)s->xfer_done,
	    "xfer_failed_hash", (json_int_t)s->xfer_failed_hash,
	    "xfer_failed_source", (json_int_t)s->xfer_failed_source,
	    "xfer_failed_invalid", (json_int_t)s->xfer_failed_invalid,
	    "xfer_failed_disk", (json_int_t)s->xfer_failed_disk,
	    "upload_bytes", (json_int_t)s->upload_bytes);
	json_object_update(j, x);
	json_decref(x);
	json_object_set_new(j, "migrations", json_pack("{s:I, s:I, "
	    "s:f, s:f, s:f, s:I, s:I, s:I, s:I}",
	    "in", (json_int_t)s->migrations_in,
	    "out", (json_int_t)s->migrations_out,
	    "freeze_ms_mean", (double)s->freeze_us_mean / 1000,
	    "freeze_ms_p95", (double)s->freeze_us_p95 / 1000,
	    "freeze_ms_max", (double)s->freeze_us_max / 1000,
	    "checkpoint_ms_mean", (json_int_t)s->checkpoint_ms_mean,
	    "checkpoint_timeouts", (json_int_t)s->checkpoint_timeouts,
	    "checkpoint_slow", (json_int_t)s->checkpoint_slow,
	    "bytes_in", (json_int_t)s->migrate_bytes));
	json_object_set_new(j, "yields", json_integer((json_int_t)s->yields));
	json_object_set_new(j, "replicas", json_pack("{s:s, s:s, s:I, s:I, "
	    "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I}",
	    "set", s->replica_set,
	    "pending", s->replica_pending != NULL ? s->replica_pending : "",
	    "files_waiting", (json_int_t)s->replica_files_waiting,
	    "files_pending", (json_int_t)s->replica_files_pending,
	    "files_held", (json_int_t)s->replica_files_held,
	    "files_acked", (json_int_t)s->replica_files_acked,
	    "files_missing", (json_int_t)s->replica_files_missing,
	    "keeps", (json_int_t)s->replica_keeps,
	    "keeps_in", (json_int_t)s->replica_keeps_in,
	    "keeps_lost", (json_int_t)s->replica_keeps_lost,
	    "waiting", (json_int_t)s->replica_waiting,
	    "waited", (json_int_t)s->replica_waited,
	    "unsaid", (json_int_t)s->replica_unsaid,
	    "version", (json_int_t)s->replica_version,
	    "committed", (json_int_t)s->replica_committed,
	    "behind", (json_int_t)s->replica_behind,
	    "held", (json_int_t)s->replica_held,
	    "homes", (json_int_t)s->replica_homes));
	json_object_set_new(j, "periodic_checkpoints", json_pack(
	    "{s:I, s:I, s:f, s:I, s:I}",
	    "asked", (json_int_t)s->periodic,
	    "copies_out", (json_int_t)s->copies_out,
	    "snapshot_ms_mean", s->copies_out ? (double)
	    s->copy_snapshot_us / 1000 / (double)s->copies_out : 0.0,
	    "bytes_out", (json_int_t)s->copy_bytes_out,
	    "copies_in", (json_int_t)s->copies_in));
	{
		json_t *h = json_array();

		for (size_t i = 0; i < s->n_msg_hops; i++)
			json_array_append_new(h, json_integer(
			    (json_int_t)s->msg_hops[i]));
		json_object_set_new(j, "messages", json_pack("{s:I, s:I, s:I, "
		    "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		    "s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
		    "sent", (json_int_t)s->msg_sent,
		    "acked", (json_int_t)s->msg_acked,
		    "refused", (json_int_t)s->msg_refused,
		    "timed_out", (json_int_t)s->msg_timed_out,
		    "retries", (json_int_t)s->msg_retries,
		    "delivered", (json_int_t)s->msg_delivered,
		    "duplicates", (json_int_t)s->msg_duplicates,
		    "forwarded", (json_int_t)s->msg_forwarded,
		    "to_home", (json_int_t)s->msg_to_home,
		    "to_acting", (json_int_t)s->msg_to_acting,
		    "queries", (json_int_t)s->msg_queries,
		    "compressions", (json_int_t)s->msg_compressions,
		    "received", (json_int_t)s->msg_received,
		    "full", (json_int_t)s->msg_full,
		    "kept", (json_int_t)s->msg_kept,
		    "unkept", (json_int_t)s->msg_unkept,
		    "waits_home", (json_int_t)s->msg_waits_home,
		    "hops_sum", (json_int_t)s->msg_hops_sum,
		    "links", (json_int_t)s->msg_links,
		    "mailboxes", (json_int_t)s->msg_mailboxes,
		    "hops", h));
	}
	json_object_set_new(j, "given_back", json_integer(
	    (json_int_t)s->given_back));
	json_object_set_new(j, "returned", json_integer(
	    (json_int_t)s->returned));
	json_object_set_new(j, "drains", json_integer(
	    (json_int_t)s->drains));
	json_object_set_new(j, "start_failures", json_integer(
	    (json_int_t)s->start_failures));
	json_object_set_new(j, "leases", json_pack("{s:I, s:I, s:I, s:I, "
	    "s:I}",
	    "asks", (json_int_t)s->lease_asks,
	    "frozen", (json_int_t)s->lease_frozen,
	    "thawed", (json_int_t)s->lease_thawed,
	    "waits", (json_int_t)s->lease_waits,
	    "quiet", (json_int_t)s->lease_quiet));
	return j;
}
