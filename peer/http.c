/*
 * http.c - the setting http: libevent's HTTP server on HOST:PORT, serving
 * Prometheus metrics (/metrics) and the JSON of lbctl --json (/api/peers,
 * /api/tasks, /api/stats).  Read-only: it asks the control API the same
 * questions lbctl asks (ctl_answer) and changes nothing.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "peer.h"
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

struct http {
	struct evhttp			*h;
	struct evhttp_bound_socket	*bound;
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
	m_freeze(b, ts);

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
	ctl_answer_free(&rs);
	ctl_answer_free(&rt);
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

static void
reply_json(struct evhttp_request *req, json_t *j)
{
	struct evbuffer	*b = evbuffer_new();
	char		*s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evbuffer_add_printf(b, "%s\n", s);
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
	free(s);
	json_decref(j);
}

static void
http_cb(struct evhttp_request *req, void *arg)
{
	struct peer		*p = arg;
	const struct evhttp_uri	*u = evhttp_request_get_evhttp_uri(req);
	const char		*path = u ? evhttp_uri_get_path(u) : NULL;
	enum evhttp_cmd_type	 m = evhttp_request_get_command(req);
	Lb__CtlReply		 r;

	if (path == NULL || *path == '\0')
		path = "/";
	if (strcmp(path, "/metrics") != 0 && strcmp(path, "/api/peers") != 0 &&
	    strcmp(path, "/api/tasks") != 0 && strcmp(path, "/api/stats") != 0) {
		reply_text(req, HTTP_NOTFOUND, "Not Found", "no such page: "
		    "try /metrics, /api/peers, /api/tasks or /api/stats");
		return;
	}
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		reply_text(req, 405, "Method Not Allowed", "read-only: GET or "
		    "HEAD");
		return;
	}
	if (strcmp(path, "/metrics") == 0) {
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
		ask(p, LB__CTL_REQUEST__REQ_LIST, &r);
		reply_json(req, ctljson_tasks(r.list));
		ctl_answer_free(&r);
	} else {
		ask(p, LB__CTL_REQUEST__REQ_STATS, &r);
		reply_json(req, ctljson_stats(r.stats));
		ctl_answer_free(&r);
	}
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
	p->http = h;
	log_info("http: metrics on http://%s/metrics", p->conf.http);
	return 0;
}

void
http_close(struct peer *p)
{
	if (p->http == NULL)
		return;
	evhttp_free(p->http->h);	/* closes the bound socket too */
	free(p->http);
	p->http = NULL;
}
