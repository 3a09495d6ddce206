/*
 * http.c - the setting http: libevent's HTTP server on HOST:PORT, serving
 * Prometheus metrics (/metrics), the JSON of lbctl --json (/api/peers,
 * /api/tasks, /api/stats, /api/task?id=ID), a bounded history of every
 * member's load (/api/history), and the live page built from peer/www/
 * (/, /page.js, /page.css).  Read-only: it asks the control API the same
 * questions lbctl asks (ctl_answer) and changes nothing.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "peer.h"
#include "www.h"
#include "tasks/tasks.h"
#include "src/ctljson.h"

/*
 * Bounds on what a client may send: a GET needs a request line and a few
 * headers, no body.  Larger requests are refused by libevent before they
 * reach a handler; a client that sends too slowly is cut off.
 */
#define HTTP_MAX_HEADERS	8192
#define HTTP_MAX_BODY		1024
#define HTTP_TIMEOUT_S		10

/* The most of a task's stdout, and of its stderr, /api/task shows (with
 * http_output on): the page is no place for a task's whole output. */
#define HTTP_OUTPUT_MAX		65536

/*
 * The history of every member's load the page charts: a sample every
 * HIST_INTERVAL_MS, the last HIST_SAMPLES of them (5 minutes), for at most
 * HIST_MEMBERS members.  A member not seen for the whole window gives its
 * place up; one more than that while all are in use is not charted (and
 * counted).  About 100 KiB, allocated once.
 */
#define HIST_INTERVAL_MS	2000
#define HIST_SAMPLES		150
#define HIST_MEMBERS		256
#define HIST_NONE		UINT16_MAX	/* not a member then, or dead */

static const struct timeval hist_tv = { HIST_INTERVAL_MS / 1000,
    (HIST_INTERVAL_MS % 1000) * 1000 };

struct hist_member {
	char		id[LB_ID_MAX];
	uint32_t	slots;		/* as last seen */
	uint64_t	last_seq;	/* the last sample it was in */
	uint16_t	load[HIST_SAMPLES];
};

struct history {
	uint64_t		seq;		/* samples taken */
	uint64_t		at_ms[HIST_SAMPLES];	/* wall clock */
	struct hist_member	m[HIST_MEMBERS];
	size_t			nm;		/* places ever used */
	uint64_t		refused;	/* members not charted */
};

/* The most files peer/www/ may hold (their ETags are kept here). */
#define WWW_MAX			16

struct http {
	struct evhttp			*h;
	struct evhttp_bound_socket	*bound;
	struct event			*hist_ev;
	struct history			*hist;
	char				 etag[WWW_MAX][24];
};

/* ---- the control API's answers ---- */

/* Ask as lbctl would; the reply is freed with ctl_answer_free. */
static void
ask(struct peer *p, Lb__CtlRequest__ReqCase what, Lb__CtlReply *r)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlStatusReq st = LB__CTL_STATUS_REQ__INIT;
	Lb__CtlPeersReq	 pe = LB__CTL_PEERS_REQ__INIT;
	Lb__CtlListReq	 li = LB__CTL_LIST_REQ__INIT;
	Lb__CtlStatsReq	 sr = LB__CTL_STATS_REQ__INIT;

	req.req_case = what;
	switch (what) {
	case LB__CTL_REQUEST__REQ_STATUS: req.status = &st; break;
	case LB__CTL_REQUEST__REQ_PEERS: req.peers = &pe; break;
	case LB__CTL_REQUEST__REQ_LIST: li.all = 1; req.list = &li; break;
	case LB__CTL_REQUEST__REQ_STATS: req.stats = &sr; break;
	default: fatalx("http: no such question %d", (int)what);
	}
	lb__ctl_reply__init(r);
	ctl_answer(p, &req, r);
}

/* ---- Prometheus text format 0.0.4 ---- */

static void
m_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

static void
m_val(struct evbuffer *b, const char *name, const char *labels, uint64_t v)
{
	evbuffer_add_printf(b, "%s%s%s%s %" PRIu64 "\n", name,
	    labels ? "{" : "", labels ? labels : "", labels ? "}" : "", v);
}

/* One metric with one sample and no label. */
static void
m_one(struct evbuffer *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	m_head(b, name, type, help);
	m_val(b, name, NULL, v);
}

/* A label value: backslash, quote and newline escaped, as the format
 * asks (a cluster name is any string). */
static void
m_label(struct evbuffer *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			evbuffer_add_printf(b, "\\%c", *s);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

/* Messages to tasks (forwarding/): sends from here and how they ended,
 * what passed through, and the hops of those delivered here. */
static void
m_messages(struct evbuffer *b, const Lb__CtlStats *t)
{
	const char	*n = "lbpeer_message_hops";
	uint64_t	 cum = 0;

	m_head(b, "lbpeer_messages_sent_total", "counter", "Messages to "
	    "tasks sent from this peer, by how they ended (pending: not yet).");
	m_val(b, "lbpeer_messages_sent_total", "result=\"delivered\"",
	    t->msg_acked);
	m_val(b, "lbpeer_messages_sent_total", "result=\"refused\"",
	    t->msg_refused);
	m_val(b, "lbpeer_messages_sent_total", "result=\"timed_out\"",
	    t->msg_timed_out);
	m_val(b, "lbpeer_messages_sent_total", "result=\"pending\"",
	    t->msg_sent - t->msg_acked - t->msg_refused - t->msg_timed_out);
	m_one(b, "lbpeer_message_retries_total", "counter", "Messages to "
	    "tasks sent again (no acknowledgement yet, or the task moving).",
	    t->msg_retries);
	m_one(b, "lbpeer_messages_delivered_total", "counter", "Messages "
	    "put into the mailboxes of tasks held here.", t->msg_delivered);
	m_one(b, "lbpeer_message_duplicates_total", "counter", "Copies of "
	    "messages delivered already: acknowledged, not taken again.",
	    t->msg_duplicates);
	m_one(b, "lbpeer_messages_received_total", "counter", "Messages "
	    "tasks here took from their mailboxes.", t->msg_received);
	m_head(b, "lbpeer_messages_forwarded_total", "counter", "Messages "
	    "this peer passed on, by route: a link or a home's record, the "
	    "task's home (no link), the replica acting for a dead home, a "
	    "query of the live peers.");
	m_val(b, "lbpeer_messages_forwarded_total", "via=\"link\"",
	    t->msg_forwarded);
	m_val(b, "lbpeer_messages_forwarded_total", "via=\"home\"",
	    t->msg_to_home);
	m_val(b, "lbpeer_messages_forwarded_total", "via=\"acting\"",
	    t->msg_to_acting);
	m_val(b, "lbpeer_messages_forwarded_total", "via=\"query\"",
	    t->msg_queries);
	m_one(b, "lbpeer_path_compressions_total", "counter", "Locations "
	    "sent to the peers a delivered message passed.",
	    t->msg_compressions);
	m_one(b, "lbpeer_mailbox_full_total", "counter", "Messages refused "
	    "here: the task's mailbox was full.", t->msg_full);
	m_one(b, "lbpeer_messages_kept_total", "counter", "Copies of messages "
	    "kept here as the tasks' home, so that they outlive their "
	    "holder.", t->msg_kept);
	m_one(b, "lbpeer_messages_unkept_total", "counter", "Messages taken "
	    "without a copy at their task's home (no room there).",
	    t->msg_unkept);
	m_one(b, "lbpeer_links", "gauge", "Forwarding links held.",
	    t->msg_links);
	m_one(b, "lbpeer_mailboxes", "gauge", "Mailboxes of tasks held here.",
	    t->msg_mailboxes);
	m_head(b, n, "histogram", "Hops of the messages delivered here "
	    "from another peer.");
	for (size_t i = 0; i < t->n_msg_hops; i++) {
		cum += t->msg_hops[i];
		if (i + 1 < t->n_msg_hops)
			evbuffer_add_printf(b, "%s_bucket{le=\"%zu\"} %" PRIu64
			    "\n", n, i + 1, cum);
	}
	evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", n, cum);
	evbuffer_add_printf(b, "%s_sum %" PRIu64 "\n", n, t->msg_hops_sum);
	evbuffer_add_printf(b, "%s_count %" PRIu64 "\n", n, cum);
}

static void
m_freeze(struct evbuffer *b, const struct tasks_stats *t)
{
	const char	*n = "lbpeer_migration_freeze_seconds";
	uint64_t	 cum = 0;
	size_t		 i;

	m_head(b, n, "histogram", "Freeze times of running tasks moved in "
	    "(freeze to resume), as this destination measured them.");
	for (i = 0; i < TASKS_FREEZE_BUCKETS - 1; i++) {
		cum += t->freeze_hist[i];
		evbuffer_add_printf(b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", n,
		    (double)tasks_freeze_le_us[i] / 1e6, cum);
	}
	cum += t->freeze_hist[i];
	evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", n, cum);
	evbuffer_add_printf(b, "%s_sum %.6f\n", n, (double)t->freeze_us_sum /
	    1e6);
	evbuffer_add_printf(b, "%s_count %" PRIu64 "\n", n, cum);
}

static void
metrics(struct peer *p, struct evbuffer *b)
{
	Lb__CtlReply			 rs, rt;
	const Lb__CtlStatus		*s;
	const Lb__Counters		*c;
	const Lb__CtlStats		*t;
	const struct tasks_stats	*ts = tasks_stats(p->tc);

	ask(p, LB__CTL_REQUEST__REQ_STATUS, &rs);
	ask(p, LB__CTL_REQUEST__REQ_STATS, &rt);
	s = rs.status;
	c = s->counters;
	t = rt.stats;

	m_head(b, "lbpeer_info", "gauge", "This peer: its id, cluster and "
	    "version (always 1).");
	evbuffer_add_printf(b, "lbpeer_info{id=\"");
	m_label(b, s->id);
	evbuffer_add_printf(b, "\",cluster=\"");
	m_label(b, s->cluster);
	evbuffer_add_printf(b, "\",version=\"");
	m_label(b, s->version);
	evbuffer_add_printf(b, "\"} 1\n");
	m_one(b, "lbpeer_incarnation", "gauge", "This run of the peer (its "
	    "start time).", s->incarnation);
	evbuffer_add_printf(b, "# HELP lbpeer_uptime_seconds Since this peer "
	    "started.\n# TYPE lbpeer_uptime_seconds gauge\n"
	    "lbpeer_uptime_seconds %.3f\n", (double)s->uptime_ms / 1000);

	m_head(b, "lbpeer_members", "gauge", "Members of the cluster as this "
	    "peer sees them, this peer included, by state.");
	m_val(b, "lbpeer_members", "state=\"alive\"", s->alive);
	m_val(b, "lbpeer_members", "state=\"suspect\"", s->suspect);
	m_val(b, "lbpeer_members", "state=\"dead\"", s->dead);
	m_val(b, "lbpeer_members", "state=\"left\"", s->left);
	m_one(b, "lbpeer_failure_detections_total", "counter", "Members this "
	    "peer judged dead.", gossip_deaths(p->gossip));
	m_one(b, "lbpeer_members_refused_total", "counter", "New members "
	    "ignored: the table held gossip.max_members.", c->members_refused);
	/* The failure detector (SWIM with Lifeguard). */
	m_one(b, "lbpeer_swim_probes_total", "counter", "Probes this peer "
	    "started (one a protocol period).", c->swim_probes);
	m_one(b, "lbpeer_swim_probes_failed_total", "counter", "Probes not "
	    "acknowledged, directly or through others.", c->swim_probes_failed);
	m_one(b, "lbpeer_swim_suspicions_total", "counter", "Members this peer "
	    "suspected itself.", c->swim_suspicions);
	m_one(b, "lbpeer_swim_refutes_total", "counter", "Suspicions or death "
	    "notices of this peer it refuted.", c->swim_refutes);
	m_one(b, "lbpeer_swim_malformed_total", "counter", "Probe messages "
	    "that were malformed.", c->swim_bad);
	m_one(b, "lbpeer_swim_health_score", "gauge", "Lifeguard's local "
	    "health: 0 is healthy; its probes run 1 + score times slower.",
	    c->swim_health);
	m_one(b, "lbpeer_swim_dead_declared_total", "counter", "Members this "
	    "peer declared dead (a suspicion that ran out unrefuted); each "
	    "is dead to all once its notice has spread.",
	    gossip_deaths(p->gossip));
	{
		uint64_t h[TASKS_NSTATES];
		static const char *const sn[TASKS_NSTATES] = { "queued",
		    "running", "done", "failed", "cancelled" };

		tasks_homed_by_state(p->tc, h);
		m_head(b, "lbpeer_tasks_homed_by_state", "gauge", "Task records "
		    "this peer keeps as home (or acts as home for), by state.");
		for (int i = 0; i < TASKS_NSTATES; i++) {
			char l[32];

			snprintf(l, sizeof(l), "state=\"%s\"", sn[i]);
			m_val(b, "lbpeer_tasks_homed_by_state", l, h[i]);
		}
	}

	m_one(b, "lbpeer_load", "gauge", "Running plus waiting tasks, as "
	    "advertised.", s->load);
	m_one(b, "lbpeer_slots", "gauge", "Tasks this peer runs at once.",
	    s->slots);
	m_one(b, "lbpeer_draining", "gauge", "1 while the peer drains.",
	    s->draining);
	/* Homed is not a state a placement is in (a task homed here may run
	 * here or elsewhere), so it is a metric of its own. */
	m_head(b, "lbpeer_tasks", "gauge", "Tasks held here, by state.");
	m_val(b, "lbpeer_tasks", "state=\"running\"", s->running);
	m_val(b, "lbpeer_tasks", "state=\"queued\"", s->queued);
	m_one(b, "lbpeer_tasks_homed", "gauge", "Task records this peer "
	    "keeps as home.", s->tasks_homed);
	m_one(b, "lbpeer_submissions_total", "counter", "Tasks submitted "
	    "here.", ts->submitted);
	m_one(b, "lbpeer_results_total", "counter", "Results recorded here "
	    "as home.", t->results);
	m_one(b, "lbpeer_reruns_total", "counter", "Homed tasks run again: "
	    "their host died.", t->tasks_rerun);
	m_one(b, "lbpeer_stale_stopped_total", "counter", "Copies stopped: "
	    "another placement won.", t->stale_stopped);
	m_one(b, "lbpeer_retries_total", "counter", "Task notices and asks "
	    "sent again.", t->retries);

	m_one(b, "lbpeer_probes_sent_total", "counter", "Balancing probes "
	    "sent.", t->probes_sent);
	m_one(b, "lbpeer_probes_accepted_total", "counter", "Probes the "
	    "other peer accepted.", t->probes_accepted);
	m_one(b, "lbpeer_probes_refused_total", "counter", "Probes the other "
	    "peer refused.", t->probes_refused);
	m_one(b, "lbpeer_probes_timed_out_total", "counter", "Probes not "
	    "answered in time.", t->probes_timed_out);
	m_one(b, "lbpeer_backoffs_total", "counter", "Times the peer stopped "
	    "polling after probe_limit refusals.", t->backoffs);

	m_one(b, "lbpeer_transfers_in_total", "counter", "Tasks moved to "
	    "this peer.", t->transfers_in);
	m_one(b, "lbpeer_transfers_out_total", "counter", "Tasks moved away "
	    "from this peer.", t->transfers_out);
	m_one(b, "lbpeer_transfers_aborted_total", "counter", "Moves not "
	    "confirmed in time: the task stayed.", t->transfers_aborted);
	evbuffer_add_printf(b, "# HELP lbpeer_transfer_seconds_total Freeze "
	    "to commit, over the transfers out.\n# TYPE "
	    "lbpeer_transfer_seconds_total counter\n"
	    "lbpeer_transfer_seconds_total %.3f\n",
	    (double)t->transfer_ms_total / 1000);
	m_head(b, "lbpeer_transfer_bytes_total", "counter", "File bytes "
	    "(attachments, checkpoints) of transfers, by direction.");
	m_val(b, "lbpeer_transfer_bytes_total", "direction=\"in\"",
	    t->xfer_bytes_in);
	m_val(b, "lbpeer_transfer_bytes_total", "direction=\"out\"",
	    t->xfer_bytes_out);
	m_one(b, "lbpeer_upload_bytes_total", "counter", "Attachment bytes "
	    "uploaded by lbctl.", t->upload_bytes);

	m_one(b, "lbpeer_migrations_in_total", "counter", "Running tasks "
	    "moved here (freeze, transfer, resume).", t->migrations_in);
	m_one(b, "lbpeer_migrations_out_total", "counter", "Running tasks "
	    "moved away.", t->migrations_out);
	m_one(b, "lbpeer_migration_bytes_total", "counter", "Bytes moved in "
	    "by migrations.", t->migrate_bytes);
	m_one(b, "lbpeer_checkpoint_timeouts_total", "counter", "Tasks asked "
	    "to checkpoint for a move that did not in time.",
	    t->checkpoint_timeouts);
	m_one(b, "lbpeer_checkpoint_slow_total", "counter", "Times a task "
	    "asked to checkpoint was given more time: it was writing its "
	    "checkpoint (it grew, or its process waited on the disk).",
	    t->checkpoint_slow);
	m_one(b, "lbpeer_replica_behind", "gauge", "Saves of this home's "
	    "records that a member of its replica set has not acknowledged "
	    "yet (the most of any member).", t->replica_behind);
	m_one(b, "lbpeer_replica_held", "gauge", "Records this peer keeps "
	    "for other homes, as their replica.", t->replica_held);
	m_one(b, "lbpeer_yields_total", "counter", "Running tasks that "
	    "yielded their slot to a task that had run less (preemption).",
	    t->yields);
	m_freeze(b, ts);
	m_messages(b, t);

	m_head(b, "lbpeer_network_messages_total", "counter", "Peer-to-peer "
	    "messages (gossip, balancing, tasks), by direction.");
	m_val(b, "lbpeer_network_messages_total", "direction=\"in\"",
	    c->rx_msgs);
	m_val(b, "lbpeer_network_messages_total", "direction=\"out\"",
	    c->tx_msgs);
	m_head(b, "lbpeer_network_bytes_total", "counter", "Bytes of those "
	    "messages, by direction.");
	m_val(b, "lbpeer_network_bytes_total", "direction=\"in\"",
	    c->rx_bytes);
	m_val(b, "lbpeer_network_bytes_total", "direction=\"out\"",
	    c->tx_bytes);
	m_one(b, "lbpeer_network_send_refused_total", "counter", "Sends "
	    "nanomsg refused (queue full).", c->tx_drop);
	m_head(b, "lbpeer_dropped_messages_total", "counter", "Messages "
	    "dropped, by reason: the envelope's checks (size, auth, decode, "
	    "version, cluster, replay), then the task protocol's (sender, "
	    "invalid, unknown, full).");
	m_val(b, "lbpeer_dropped_messages_total", "reason=\"size\"",
	    c->drop_size);
	m_val(b, "lbpeer_dropped_messages_total", "reason=\"auth\"",
	    c->drop_auth);
	m_val(b, "lbpeer_dropped_messages_total", "reason=\"decode\"",
	    c->drop_decode);
	m_val(b, "lbpeer_dropped_messages_total", "reason=\"version\"",
	    c->drop_version);
	m_val(b, "lbpeer_dropped_messages_total", "reason=\"cluster\"",
	    c->drop_cluster);
	m_val(b, "lbpeer_dropped_messages_total", "reason=\"replay\"",
	    c->drop_replay);
	m_val(b, "lbpeer_dropped_messages_total", "reason=\"sender\"",
	    t->drop_sender);
	m_val(b, "lbpeer_dropped_messages_total", "reason=\"invalid\"",
	    t->drop_invalid);
	m_val(b, "lbpeer_dropped_messages_total", "reason=\"unknown\"",
	    t->drop_unknown);
	m_val(b, "lbpeer_dropped_messages_total", "reason=\"full\"",
	    t->refused_full);

	m_one(b, "lbpeer_drains_total", "counter", "Drains begun (lbctl "
	    "drain, SIGTERM).", t->drains);
	m_one(b, "lbpeer_given_back_total", "counter", "Placements handed "
	    "back to their homes.", t->given_back);
	m_one(b, "lbpeer_returned_total", "counter", "Tasks handed back to "
	    "this peer as home and placed anew.", t->returned);
	m_one(b, "lbpeer_lease_asks_total", "counter", "Lease renewals asked "
	    "of the homes of tasks held here.", t->lease_asks);
	m_one(b, "lbpeer_lease_frozen_total", "counter", "Tasks frozen here: "
	    "their home did not confirm their lease in time.", t->lease_frozen);
	m_one(b, "lbpeer_lease_thawed_total", "counter", "Frozen tasks let "
	    "run again when their home confirmed them.", t->lease_thawed);
	m_one(b, "lbpeer_lease_waits_total", "counter", "Reruns this home put "
	    "off until a silent host's lease had run out.", t->lease_waits);
	m_one(b, "lbpeer_lease_quiet_total", "counter", "Tasks this home ran "
	    "again: their host, seen alive, was not heard of here for longer "
	    "than a lease.", t->lease_quiet);
	m_one(b, "lbpeer_start_failures_total", "counter", "Starts of tasks "
	    "homed here that failed at a host (placed anew, or failed).",
	    t->start_failures);
	ctl_answer_free(&rs);
	ctl_answer_free(&rt);
}

/* ---- the history of load ---- */

/* The place of member id: found, or taken (a new one, or one whose member
 * has not been seen for the whole window); NULL when none is free. */
static struct hist_member *
hist_place(struct history *hs, const char *id)
{
	struct hist_member	*m = NULL;
	size_t			 i;

	for (i = 0; i < hs->nm; i++)
		if (strcmp(hs->m[i].id, id) == 0)
			return &hs->m[i];
	if (hs->nm < HIST_MEMBERS)
		m = &hs->m[hs->nm++];
	else {
		for (i = 0; i < hs->nm && m == NULL; i++)
			if (hs->m[i].last_seq + HIST_SAMPLES <= hs->seq)
				m = &hs->m[i];
		if (m == NULL)
			return NULL;
	}
	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "%s", id);
	for (i = 0; i < HIST_SAMPLES; i++)
		m->load[i] = HIST_NONE;
	return m;
}

/* One sample: every live member's advertised load, as this peer sees it. */
static void
hist_sample(struct peer *p)
{
	struct history		*hs = p->http->hist;
	size_t			 slot = hs->seq % HIST_SAMPLES, i;
	Lb__CtlReply		 r;
	struct hist_member	*m;

	hs->at_ms[slot] = lb_wall_ms();
	for (i = 0; i < hs->nm; i++)
		hs->m[i].load[slot] = HIST_NONE;
	ask(p, LB__CTL_REQUEST__REQ_PEERS, &r);
	for (i = 0; i < r.peers->n_peers; i++) {
		const Lb__CtlPeer *cp = r.peers->peers[i];

		/* A dead or departed member's last figure is not its load. */
		if (strcmp(cp->state, "dead") == 0 ||
		    strcmp(cp->state, "left") == 0)
			continue;
		if ((m = hist_place(hs, cp->id)) == NULL) {
			hs->refused++;
			continue;
		}
		m->load[slot] = cp->load < HIST_NONE ? (uint16_t)cp->load :
		    HIST_NONE - 1;
		m->slots = cp->slots;
		m->last_seq = hs->seq;
	}
	ctl_answer_free(&r);
	hs->seq++;
}

static void
hist_tick(evutil_socket_t fd, short what, void *arg)
{
	hist_sample(arg);
}

/* A JSON string of s (ids are validated, but a string is escaped anyway). */
static void
j_str(struct evbuffer *b, const char *s)
{
	evbuffer_add(b, "\"", 1);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			evbuffer_add_printf(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			evbuffer_add_printf(b, "\\u%04x", (unsigned char)*s);
		else
			evbuffer_add(b, s, 1);
	}
	evbuffer_add(b, "\"", 1);
}

static int
hist_cmp(const void *a, const void *b)
{
	const struct hist_member *ma = *(const struct hist_member * const *)a;
	const struct hist_member *mb = *(const struct hist_member * const *)b;

	return strverscmp(ma->id, mb->id);
}

/*
 * {"interval_ms": 2000, "samples": N, "at": [ms, ...], "refused": R,
 *  "peers": [{"id": "n1", "slots": 2, "load": [1, null, ...]}, ...]}:
 * the N samples oldest first; null where the member was not alive.
 */
static void
history(struct peer *p, struct evbuffer *b)
{
	const struct history	*hs = p->http->hist;
	const struct hist_member *sorted[HIST_MEMBERS];
	uint64_t		 n = hs->seq < HIST_SAMPLES ? hs->seq :
				    HIST_SAMPLES, k;
	size_t			 i, ns = 0;

	for (i = 0; i < hs->nm; i++)
		if (hs->seq > 0 && hs->m[i].last_seq + n >= hs->seq)
			sorted[ns++] = &hs->m[i];
	qsort(sorted, ns, sizeof(sorted[0]), hist_cmp);
	evbuffer_add_printf(b, "{\"interval_ms\": %d, \"samples\": %" PRIu64
	    ", \"refused\": %" PRIu64 ", \"at\": [", HIST_INTERVAL_MS, n,
	    hs->refused);
	for (k = hs->seq - n; k < hs->seq; k++)
		evbuffer_add_printf(b, "%s%" PRIu64, k > hs->seq - n ? "," : "",
		    hs->at_ms[k % HIST_SAMPLES]);
	evbuffer_add_printf(b, "],\n \"peers\": [");
	for (i = 0; i < ns; i++) {
		evbuffer_add_printf(b, "%s\n  {\"id\": ", i ? "," : "");
		j_str(b, sorted[i]->id);
		evbuffer_add_printf(b, ", \"slots\": %" PRIu32 ", \"load\": [",
		    sorted[i]->slots);
		for (k = hs->seq - n; k < hs->seq; k++) {
			uint16_t v = sorted[i]->load[k % HIST_SAMPLES];

			if (k > hs->seq - n)
				evbuffer_add(b, ",", 1);
			if (v == HIST_NONE)
				evbuffer_add(b, "null", 4);
			else
				evbuffer_add_printf(b, "%u", (unsigned)v);
		}
		evbuffer_add(b, "]}", 2);
	}
	evbuffer_add_printf(b, "\n]}\n");
}

/* ---- requests ---- */

static void
reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	struct evbuffer	*b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; charset=utf-8");
	evbuffer_add_printf(b, "%s\n", text);
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
}

/* JSON answers change every second: never from a cache. */
static void
reply_json_code(struct evhttp_request *req, int code, const char *reason,
    json_t *j)
{
	struct evbuffer		*b = evbuffer_new();
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	char			*s = json_dumps(j, JSON_INDENT(2) |
				    JSON_PRESERVE_ORDER);

	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evbuffer_add_printf(b, "%s\n", s);
	evhttp_send_reply(req, code, reason, b);
	evbuffer_free(b);
	free(s);
	json_decref(j);
}

static void
reply_json(struct evhttp_request *req, json_t *j)
{
	reply_json_code(req, HTTP_OK, "OK", j);
}

/* A task's output as a JSON string: at most HTTP_OUTPUT_MAX bytes (cut
 * before a character's continuation bytes); output that is not UTF-8
 * (JSON holds nothing else) with every byte past ASCII shown as '?'. */
static json_t *
output_string(const ProtobufCBinaryData *d, int *cut)
{
	size_t	 len = d->len;
	char	*copy;
	json_t	*j;

	*cut = 0;
	if (len > HTTP_OUTPUT_MAX) {
		len = HTTP_OUTPUT_MAX;
		while (len > 0 && (d->data[len] & 0xc0) == 0x80)
			len--;
		*cut = 1;
	}
	if ((j = json_stringn((const char *)d->data, len)) != NULL)
		return j;
	copy = lb_calloc(1, len + 1);
	for (size_t i = 0; i < len; i++)
		copy[i] = d->data[i] >= 0x80 || d->data[i] == 0 ? '?' :
		    (char)d->data[i];
	j = json_stringn(copy, len);
	free(copy);
	return j;
}

/*
 * /api/task?id=ID: what lbctl --json show ID prints.  A task homed
 * elsewhere is asked of its home, which answers later: 202 with
 * {"pending": true} until then (ask again).  The output only with
 * http_output on.
 */
static void
task(struct peer *p, struct evhttp_request *req, const char *query)
{
	struct evkeyvalq	 kv;
	const char		*id;
	Lb__CtlRequest		 rq = LB__CTL_REQUEST__INIT;
	Lb__CtlTaskReq		 tr = LB__CTL_TASK_REQ__INIT;
	Lb__CtlReply		 r;
	json_t			*j;
	int			 cut;

	TAILQ_INIT(&kv);
	if (query == NULL || evhttp_parse_query_str(query, &kv) == -1 ||
	    (id = evhttp_find_header(&kv, "id")) == NULL ||
	    !tasks_id_valid(id)) {
		evhttp_clear_headers(&kv);
		reply_json_code(req, HTTP_BADREQUEST, "Bad Request", json_pack(
		    "{s:s}", "error", "ask /api/task?id=ID with a task id such "
		    "as n1.42"));
		return;
	}
	tr.id = (char *)id;
	tr.want_output = p->conf.http_output;
	rq.req_case = LB__CTL_REQUEST__REQ_SHOW;
	rq.show = &tr;
	lb__ctl_reply__init(&r);
	ctl_answer(p, &rq, &r);
	if (r.code != 0)
		reply_json_code(req, r.code == 3 ? 503 : HTTP_NOTFOUND,
		    r.code == 3 ? "Service Unavailable" : "Not Found",
		    json_pack("{s:s, s:s?}", "id", id, "error", r.error));
	else if (r.task->pending)
		reply_json_code(req, 202, "Accepted", json_pack("{s:s, s:b}",
		    "id", id, "pending", 1));
	else {
		j = ctljson_task(r.task->record);
		if (p->conf.http_output) {
			json_object_set_new(j, "stdout",
			    output_string(&r.task->stdout, &cut));
			json_object_set_new(j, "stdout_cut", json_boolean(cut));
			json_object_set_new(j, "stderr",
			    output_string(&r.task->stderr, &cut));
			json_object_set_new(j, "stderr_cut", json_boolean(cut));
		}
		reply_json(req, j);
	}
	ctl_answer_free(&r);
	evhttp_clear_headers(&kv);
}

/*
 * /api/tasks?scope=cluster[&state=S,S][&host=NODE][&home=NODE][&q=TEXT]
 * [&after=ID][&limit=N]: a page of the cluster's tasks (lbctl list
 * --cluster --json, one page): 202 with {"pending": true} while the
 * peers are asked (ask again), 400 for a bad parameter.
 */
static void
cluster_tasks(struct peer *p, struct evhttp_request *req, struct evkeyvalq *kv)
{
	Lb__CtlRequest	 rq = LB__CTL_REQUEST__INIT;
	Lb__CtlListReq	 lr = LB__CTL_LIST_REQ__INIT;
	Lb__CtlReply	 r;
	const char	*v, *bad = NULL;
	json_t		*j, *missing;
	int64_t		 bits;

	if ((v = evhttp_find_header(kv, "state")) != NULL && v[0] != '\0') {
		if ((bits = lb_task_states(v)) <= 0)
			bad = "state: queued, running, done, failed, cancelled, "
			    "active or all (a list with commas)";
		else
			lr.states = (uint32_t)bits;
	} else
		lr.all = 1;	/* (no state: every one) */
	if ((v = evhttp_find_header(kv, "limit")) != NULL) {
		char *ep;
		long n = strtol(v, &ep, 10);

		if (*v == '\0' || *ep != '\0' || n < 1 || n > 500)
			bad = "limit: 1 to 500";
		else
			lr.limit = (uint32_t)n;
	}
	lr.cluster = 1;
	lr.host = (char *)evhttp_find_header(kv, "host");
	lr.home = (char *)evhttp_find_header(kv, "home");
	lr.text = (char *)evhttp_find_header(kv, "q");
	lr.after = (char *)evhttp_find_header(kv, "after");
	/* (empty is none) */
	if (lr.host != NULL && lr.host[0] == '\0')
		lr.host = NULL;
	if (lr.home != NULL && lr.home[0] == '\0')
		lr.home = NULL;
	if (lr.after != NULL && lr.after[0] == '\0')
		lr.after = NULL;
	if (bad != NULL) {
		reply_json_code(req, HTTP_BADREQUEST, "Bad Request", json_pack(
		    "{s:s}", "error", bad));
		return;
	}
	rq.req_case = LB__CTL_REQUEST__REQ_LIST;
	rq.list = &lr;
	lb__ctl_reply__init(&r);
	ctl_answer(p, &rq, &r);
	if (r.code != 0)
		reply_json_code(req, HTTP_BADREQUEST, "Bad Request", json_pack(
		    "{s:s?}", "error", r.error));
	else if (r.list->pending)
		reply_json_code(req, 202, "Accepted", json_pack("{s:b}",
		    "pending", 1));
	else {
		missing = json_array();
		for (size_t i = 0; i < r.list->n_missing; i++)
			json_array_append_new(missing, json_string(
			    r.list->missing[i]));
		j = json_pack("{s:o, s:I, s:o, s:{s:I, s:I, s:I, s:I, s:I}}",
		    "tasks", ctljson_tasks(r.list), "total",
		    (json_int_t)r.list->total, "missing", missing, "counts",
		    "queued", (json_int_t)r.list->queued, "running",
		    (json_int_t)r.list->running, "done",
		    (json_int_t)r.list->done, "failed",
		    (json_int_t)r.list->failed, "cancelled",
		    (json_int_t)r.list->cancelled);
		json_object_set_new(j, "next", r.list->next != NULL &&
		    r.list->next[0] != '\0' ? json_string(r.list->next) :
		    json_null());
		/* (the figures of the peers that answered, summed: as
		 * /api/stats has them) */
		if (r.list->sums != NULL)
			json_object_set_new(j, "sums", ctljson_stats(
			    r.list->sums));
		json_object_set_new(j, "peers_summed",
		    json_integer(r.list->peers_summed));
		reply_json(req, j);
	}
	ctl_answer_free(&r);
}

/*
 * /api/locate?id=ID: where the task is and the peers a message from this
 * peer passes on its way there (lbctl --json locate ID): 202 while the
 * first look is under way; then the latest answer, looked again for the
 * next ask when older than a second.
 */
static void
locate(struct peer *p, struct evhttp_request *req, const char *query)
{
	struct evkeyvalq	 kv;
	const char		*id;
	struct msgs_loc		 l;
	json_t			*j, *hops;
	int			 rc;

	TAILQ_INIT(&kv);
	if (query == NULL || evhttp_parse_query_str(query, &kv) == -1 ||
	    (id = evhttp_find_header(&kv, "id")) == NULL ||
	    (rc = msgs_locate(p, id, &l)) == -1) {
		evhttp_clear_headers(&kv);
		reply_json_code(req, HTTP_BADREQUEST, "Bad Request", json_pack(
		    "{s:s}", "error", "ask /api/locate?id=ID with a task id "
		    "such as n1.42"));
		return;
	}
	if (rc == 1)
		reply_json_code(req, 202, "Accepted", json_pack("{s:s, s:b}",
		    "id", id, "pending", 1));
	else if (l.error[0] != '\0')
		reply_json_code(req, HTTP_NOTFOUND, "Not Found", json_pack(
		    "{s:s, s:s}", "id", id, "error", l.error));
	else {
		hops = json_array();
		for (size_t i = 0; i < l.nhops; i++)
			json_array_append_new(hops, json_string(l.hops[i]));
		j = json_pack("{s:s, s:s, s:I, s:o}", "id", id, "host", l.host,
		    "epoch", (json_int_t)l.epoch, "hops", hops);
		if (l.state[0] != '\0')
			json_object_set_new(j, "state", json_string(l.state));
		reply_json(req, j);
	}
	evhttp_clear_headers(&kv);
}

/* The index in www_files of path's file ("/" is index.html), or -1. */
static int
www_find(const char *path)
{
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	for (int i = 0; www_files[i].name != NULL; i++)
		if (strcmp(path + 1, www_files[i].name) == 0)
			return i;
	return -1;
}

static const char *
www_type(const char *name)
{
	static const struct {
		const char *suffix, *type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
	};
	size_t n = strlen(name), k;

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		k = strlen(types[i].suffix);
		if (n >= k && strcmp(name + n - k, types[i].suffix) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}

/*
 * One of the page's files.  The browser keeps it but asks again each time
 * (no-cache) with the ETag (a hash of the bytes), so an upgraded peer
 * serves its new page at once and an unchanged one answers 304.  The
 * policy admits nothing from elsewhere: the page is self-contained.
 */
static void
www_serve(struct peer *p, struct evhttp_request *req, int i)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	const char		*inm = evhttp_find_header(
				    evhttp_request_get_input_headers(req),
				    "If-None-Match");
	struct evbuffer		*b;

	evhttp_add_header(h, "Content-Type", www_type(www_files[i].name));
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_add_header(h, "ETag", p->http->etag[i]);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Content-Security-Policy", "default-src 'none'; "
	    "script-src 'self'; style-src 'self'; connect-src 'self'; "
	    "img-src 'self'; base-uri 'none'; form-action 'self'; "
	    "frame-ancestors 'none'");
	if (inm != NULL && strcmp(inm, p->http->etag[i]) == 0) {
		evhttp_send_reply(req, HTTP_NOTMODIFIED, "Not Modified", NULL);
		return;
	}
	b = evbuffer_new();
	evbuffer_add_reference(b, www_files[i].data, www_files[i].len, NULL,
	    NULL);
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

/* The paths answered besides the page's files. */
static const char *const api_paths[] = { "/metrics", "/api/peers",
    "/api/tasks", "/api/stats", "/api/history", "/api/task", "/api/locate",
    NULL };

static void
http_cb(struct evhttp_request *req, void *arg)
{
	struct peer		*p = arg;
	const struct evhttp_uri	*u = evhttp_request_get_evhttp_uri(req);
	const char		*path = u ? evhttp_uri_get_path(u) : NULL;
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);
	Lb__CtlReply		 r;
	int			 file, known = 0;

	if (path == NULL || *path == '\0')
		path = "/";
	file = www_find(path);
	for (int i = 0; api_paths[i] != NULL && file == -1 && !known; i++)
		known = strcmp(path, api_paths[i]) == 0;
	if (file == -1 && !known) {
		reply_text(req, HTTP_NOTFOUND, "Not Found", "no such page: "
		    "try /, /metrics, /api/peers, /api/tasks, /api/stats, "
		    "/api/history, /api/task?id=ID or /api/locate?id=ID");
		return;
	}
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		reply_text(req, 405, "Method Not Allowed", "read-only: GET or "
		    "HEAD");
		return;
	}
	if (file != -1)
		www_serve(p, req, file);
	else if (strcmp(path, "/metrics") == 0) {
		struct evbuffer *b = evbuffer_new();

		metrics(p, b);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
		evhttp_send_reply(req, HTTP_OK, "OK", b);
		evbuffer_free(b);
	} else if (strcmp(path, "/api/peers") == 0) {
		ask(p, LB__CTL_REQUEST__REQ_PEERS, &r);
		ctljson_sort_peers(r.peers);
		reply_json(req, ctljson_peers(r.peers));
		ctl_answer_free(&r);
	} else if (strcmp(path, "/api/tasks") == 0) {
		struct evkeyvalq	 kv;
		const char		*q = evhttp_uri_get_query(u), *scope;

		TAILQ_INIT(&kv);
		if (q != NULL && evhttp_parse_query_str(q, &kv) == -1)
			reply_json_code(req, HTTP_BADREQUEST, "Bad Request",
			    json_pack("{s:s}", "error", "a malformed query"));
		else if ((scope = evhttp_find_header(&kv, "scope")) != NULL &&
		    strcmp(scope, "cluster") == 0)
			cluster_tasks(p, req, &kv);
		else if (scope != NULL && strcmp(scope, "peer") != 0)
			reply_json_code(req, HTTP_BADREQUEST, "Bad Request",
			    json_pack("{s:s}", "error", "scope: peer (this "
			    "peer's tasks, the default) or cluster"));
		else {
			ask(p, LB__CTL_REQUEST__REQ_LIST, &r);
			reply_json(req, ctljson_tasks(r.list));
			ctl_answer_free(&r);
		}
		evhttp_clear_headers(&kv);
	} else if (strcmp(path, "/api/stats") == 0) {
		ask(p, LB__CTL_REQUEST__REQ_STATS, &r);
		reply_json(req, ctljson_stats(r.stats));
		ctl_answer_free(&r);
	} else if (strcmp(path, "/api/history") == 0) {
		struct evbuffer *b = evbuffer_new();
		struct evkeyvalq *h = evhttp_request_get_output_headers(req);

		history(p, b);
		evhttp_add_header(h, "Content-Type", "application/json");
		evhttp_add_header(h, "Cache-Control", "no-store");
		evhttp_send_reply(req, HTTP_OK, "OK", b);
		evbuffer_free(b);
	} else if (strcmp(path, "/api/locate") == 0)
		locate(p, req, evhttp_uri_get_query(u));
	else
		task(p, req, evhttp_uri_get_query(u));
}

/* A strong ETag of a file: FNV-1a over its bytes. */
static void
www_etag(const struct www_file *f, char *buf, size_t len)
{
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < f->len; i++)
		h = (h ^ f->data[i]) * 1099511628211ULL;
	snprintf(buf, len, "\"%016" PRIx64 "\"", h);
}

/* ---- the listener ---- */

/* A listening socket on HOST:PORT, made here rather than by evhttp so
 * that a port in use is reported with its errno. */
static int
http_listen(const char *host, int port, char **cause)
{
	struct addrinfo	 hints, *res;
	char		 sport[16];
	int		 fd, on = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(sport, sizeof(sport), "%d", port);
	if ((rc = getaddrinfo(strcmp(host, "*") == 0 ? NULL : host, sport,
	    &hints, &res)) != 0) {
		*cause = lb_printf("%s", gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, res->ai_protocol);
	if (fd == -1 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on,
	    sizeof(on)) == -1 || bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, 64) == -1) {
		*cause = lb_printf("%s", strerror(errno));
		if (fd != -1)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

int
http_open(struct peer *p, char **cause)
{
	struct http	*h;
	char		 host[LB_ADDR_MAX], *addr, *why;
	int		 port, fd;

	if (p->conf.http[0] == '\0')
		return 0;
	/* conf.c has checked it parses. */
	addr = lb_printf("tcp://%s", p->conf.http);
	if (lb_addr_parse(addr, host, sizeof(host), &port, &why) == -1)
		fatalx("http %s: %s", p->conf.http, why);
	free(addr);
	if ((fd = http_listen(host, port, &why)) == -1) {
		*cause = lb_printf("%s:%d: http %s: %s", p->conf.file,
		    p->conf.http_line, p->conf.http, why);
		free(why);
		return -1;
	}
	h = lb_calloc(1, sizeof(*h));
	if ((h->h = evhttp_new(p->base)) == NULL)
		fatalx("evhttp_new failed");
	evhttp_set_max_headers_size(h->h, HTTP_MAX_HEADERS);
	evhttp_set_max_body_size(h->h, HTTP_MAX_BODY);
	evhttp_set_timeout(h->h, HTTP_TIMEOUT_S);
	/* Let every method reach http_cb, which answers 405 with Allow: the
	 * default would be 501 for the methods not listed. */
	evhttp_set_allowed_methods(h->h, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(h->h, http_cb, p);
	if ((h->bound = evhttp_accept_socket_with_handle(h->h, fd)) == NULL) {
		*cause = lb_printf("%s:%d: http %s: cannot accept", p->conf.file,
		    p->conf.http_line, p->conf.http);
		close(fd);
		evhttp_free(h->h);
		free(h);
		return -1;
	}
	for (int i = 0; www_files[i].name != NULL; i++) {
		if (i == WWW_MAX)
			fatalx("http: peer/www/ holds over %d files", WWW_MAX);
		www_etag(&www_files[i], h->etag[i], sizeof(h->etag[i]));
	}
	p->http = h;
	h->hist = lb_calloc(1, sizeof(*h->hist));
	/* The first sample after one interval: the gossip core is not
	 * there yet. */
	h->hist_ev = event_new(p->base, -1, EV_PERSIST, hist_tick, p);
	event_add(h->hist_ev, &hist_tv);
	log_info("http: the page on http://%s/, metrics on /metrics",
	    p->conf.http);
	return 0;
}

void
http_close(struct peer *p)
{
	if (p->http == NULL)
		return;
	evhttp_free(p->http->h);	/* closes the bound socket too */
	event_free(p->http->hist_ev);
	free(p->http->hist);
	free(p->http);
	p->http = NULL;
}
