/*
 * control.c - the control API: NN_REP on ipc://control, for lbctl and task
 * processes.  The socket file admits only its owner (and control_group).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

#include "peer.h"
#include "glue.h"
#include "replicas.h"
#include "repfiles.h"
#include "reads.h"
#include "cluster.h"
#include "upload.h"
#include "tasks/tasks.h"
#include "src/client.h"

/*
 * The socket is a raw NN_REP, so that a request may be answered later (a
 * message until it is delivered, a receive until one comes): each request
 * comes with nanomsg's header naming its client, and the reply goes back
 * with it, now or from ctl_later.
 */
#define CTL_LATER_MAX	1024	/* requests waiting for their answer */

struct later {
	uint64_t	 token;
	void		*hdr;		/* nanomsg's header (NN_MSG chunk) */
};

struct ctl {
	int		 sock;
	struct event	*ev;
	char		*path;
	struct later	 later[CTL_LATER_MAX];
	size_t		 nlater;
	uint64_t	 next_token;
};

static void
ctl_status(struct peer *p, Lb__CtlReply *r)
{
	Lb__CtlStatus			*s = lb_calloc(1, sizeof(*s));
	Lb__Counters			*c = lb_calloc(1, sizeof(*c));
	const struct gossip_member	*m;
	size_t				 n;

	lb__ctl_status__init(s);
	lb__counters__init(c);
	s->id = p->conf.id;
	s->cluster = p->conf.cluster;
	s->listen = p->conf.listen;
	s->advertise = p->conf.advertise;
	s->http = p->conf.http;
	s->version = (char *)PACKAGE_VERSION;
	s->incarnation = p->incarnation;
	s->uptime_ms = lb_mono_ms() - p->started_ms;
	s->gossip_interval_ms = (uint32_t)p->conf.gossip.interval_ms;
	m = gossip_members(p->gossip, &n);
	s->load = m[0].e.load;
	s->slots = m[0].e.slots;
	for (size_t i = 0; i < n; i++)
		switch (m[i].state) {
		case GOSSIP_ALIVE: s->alive++; break;
		case GOSSIP_SUSPECT: s->suspect++; break;
		case GOSSIP_DEAD: s->dead++; break;
		case GOSSIP_LEFT: s->left++; break;
		}
	s->authenticated = 1;	/* always: there is no way without a key */
	glue_counts(p, &s->running, &s->queued, &s->tasks_homed);
	glue_journal_damage(p, &s->journal_damaged, &s->journal_damaged_bytes);
	s->control_max_bytes = (uint64_t)p->conf.control_max_kb * 1024;
	s->draining = drain_active(p);
	c->rx_msgs = p->counters.rx_msgs;
	c->rx_bytes = p->counters.rx_bytes;
	c->tx_msgs = p->counters.tx_msgs;
	c->tx_bytes = p->counters.tx_bytes;
	c->tx_drop = p->counters.tx_drop;
	c->drop_size = p->counters.drop[ENV_DROP_SIZE];
	c->drop_auth = p->counters.drop[ENV_DROP_AUTH];
	c->drop_decode = p->counters.drop[ENV_DROP_DECODE];
	c->drop_version = p->counters.drop[ENV_DROP_VERSION];
	c->drop_cluster = p->counters.drop[ENV_DROP_CLUSTER];
	c->drop_replay = p->counters.drop[ENV_DROP_REPLAY];
	c->members_refused = gossip_refused(p->gossip);
	{
		struct gossip_swim_stats st;
		gossip_swim_stats(p->gossip, &st);
		c->swim_probes = st.probes;
		c->swim_probes_failed = st.probes_failed;
		c->swim_suspicions = st.suspicions;
		c->swim_refutes = st.refutes;
		c->swim_bad = st.bad;
		c->swim_health = (uint32_t)st.awareness;
	}
	s->counters = c;
	r->rep_case = LB__CTL_REPLY__REP_STATUS;
	r->status = s;
}

static void
ctl_peers(struct peer *p, Lb__CtlReply *r)
{
	Lb__CtlPeers			*ps = lb_calloc(1, sizeof(*ps));
	const struct gossip_member	*m;
	uint64_t			 now = lb_mono_ms();
	size_t				 n;

	lb__ctl_peers__init(ps);
	m = gossip_members(p->gossip, &n);
	ps->peers = lb_calloc(n, sizeof(*ps->peers));
	ps->n_peers = n;
	for (size_t i = 0; i < n; i++) {
		Lb__CtlPeer *cp = lb_calloc(1, sizeof(*cp));
		char *s, *tok, *save = NULL;

		lb__ctl_peer__init(cp);
		cp->id = lb_strdup(m[i].e.id);
		cp->addr = lb_strdup(m[i].e.addr);
		/* Alive but taking no task: what an operator wants to see. */
		cp->state = (char *)(m[i].state == GOSSIP_ALIVE &&
		    m[i].e.draining ? "draining" : gossip_state_name(
		    m[i].state));
		cp->incarnation = m[i].e.incarnation;
		cp->heartbeat = m[i].e.heartbeat;
		cp->load = m[i].e.load;
		cp->running = m[i].e.running;
		cp->waiting = m[i].e.waiting;
		cp->slots = m[i].e.slots;
		cp->level = m[i].e.level;
		cp->age_ms = m[i].self ? 0 : gossip_age(&m[i], now);
		cp->self = m[i].self;
		cp->news_age_ms = m[i].news_ms ? now - m[i].news_ms : 0;
		cp->state_age_ms = now - m[i].state_ms;
		s = lb_strdup(m[i].e.attrs);
		for (tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL,
		    ",", &save)) {
			cp->attributes = lb_reallocarray(cp->attributes,
			    cp->n_attributes + 1, sizeof(char *));
			cp->attributes[cp->n_attributes++] = lb_strdup(tok);
		}
		free(s);
		ps->peers[i] = cp;
	}
	r->rep_case = LB__CTL_REPLY__REP_PEERS;
	r->peers = ps;
}

static void
ctl_no(Lb__CtlReply *r, int code, char *cause)
{
	r->code = code;
	r->error = cause;	/* freed by ctl_answer_free */
}

/*
 * A submit, and the uploads it takes.  One whose request id is known
 * already (sent again: by nanomsg to this peer restarted, or by a client
 * that retries) is answered with the task it made, even by a peer that
 * shuts down; the uploads sent with it are not needed (the task has its
 * files) and go (after a restart they are gone already).
 */
static void
ctl_submit(struct peer *p, const Lb__CtlSubmitReq *req, const uint64_t *up,
    size_t nup, Lb__CtlReply *r)
{
	char	*id, *cause;
	int	 rc;

	if (req->spec == NULL) {
		ctl_no(r, 1, lb_strdup("submit without a task"));
		return;
	}
	if (p->leaving && tasks_find_request(p->tc,
	    &req->spec->request_id) == NULL) {
		ctl_no(r, 1, lb_strdup("this peer is shutting down"));
		return;
	}
	if ((rc = glue_submit(p, req->spec, up, nup, &id, &cause)) == -1) {
		ctl_no(r, 1, cause);
		return;
	}
	for (size_t i = 0; rc == 1 && i < nup; i++)
		upload_drop(p, up[i]);
	r->rep_case = LB__CTL_REPLY__REP_SUBMITTED;
	r->submitted = id;
}

static void
bytes_copy(const ProtobufCBinaryData *src, ProtobufCBinaryData *d)
{
	d->len = src->len;
	d->data = lb_calloc(1, src->len + 1);
	if (src->len)
		memcpy(d->data, src->data, src->len);
}

static struct tasks_task *
tasks_valid_find(struct peer *p, const char *id)
{
	return tasks_id_valid(id) ? tasks_find(p->tc, id) : NULL;
}

/* show and wait: the record here, or the home's answer. */
static void
ctl_show(struct peer *p, const Lb__CtlTaskReq *req, Lb__CtlReply *r)
{
	Lb__CtlTask		*ct = lb_calloc(1, sizeof(*ct));
	struct tasks_task	*t = tasks_valid_find(p, req->id);
	const Lb__TaskAnswer	*a;
	const char		*replica;
	char			*cause;
	int			 rc;
	size_t			 len = strlen(p->conf.id);
	int			 homed_here = (strncmp(req->id, p->conf.id,
				    len) == 0 && req->id[len] == '.' &&
				    (t != NULL || !replicas_gave_up(p, req->id))) ||
				    (t != NULL && t->home);

	lb__ctl_task__init(ct);
	if (homed_here) {
		if (t == NULL) {
			free(ct);
			ctl_no(r, 1, lb_printf("no task %s (this peer is its "
			    "home and never accepted it)", req->id));
			return;
		}
		ct->record = t->rec;
		if (req->want_output)
			glue_output(p, t->rec, &ct->stdout, &ct->stderr);
	} else if ((rc = reads_task(p, req->id, req->want_output, &a,
	    &replica, &cause)) < 0) {
		free(ct);
		ctl_no(r, rc == -2 ? 3 : 1, cause);
		return;
	} else if (a == NULL)
		ct->pending = 1;
	else if (!a->found) {
		free(ct);
		ctl_no(r, 1, lb_printf("no task %s (its home does not know "
		    "it)", req->id));
		return;
	} else {
		ct->record = a->record;
		if (replica != NULL) {
			ct->replica = (char *)replica;
			/* (small output is in the record: a replica has it) */
			if (req->want_output && a->record != NULL &&
			    !a->record->output_in_files) {
				bytes_copy(&a->record->stdout_inline,
				    &ct->stdout);
				bytes_copy(&a->record->stderr_inline,
				    &ct->stderr);
			}
		} else if (req->want_output) {
			bytes_copy(&a->stdout, &ct->stdout);
			bytes_copy(&a->stderr, &ct->stderr);
		}
	}
	r->rep_case = LB__CTL_REPLY__REP_TASK;
	r->task = ct;
}

static void
ctl_list(struct peer *p, const Lb__CtlListReq *req, Lb__CtlReply *r)
{
	Lb__CtlTaskList	*l = lb_calloc(1, sizeof(*l));
	struct tasks_task **all;
	size_t		  n;
	char		 *cause;
	int		  rc;

	lb__ctl_task_list__init(l);
	if (req->cluster) {
		/* The cluster's tasks: a page, merged from every peer's. */
		if ((rc = cluster_list(p, req, l, &cause)) == -1) {
			free(l);
			ctl_no(r, 1, cause);
			return;
		}
		l->pending = rc == 1;
		r->rep_case = LB__CTL_REPLY__REP_LIST;
		r->list = l;
		return;
	}
	all = tasks_all(p->tc, &n);
	l->tasks = lb_calloc(n, sizeof(*l->tasks));
	for (size_t i = 0; i < n; i++) {
		Lb__TaskRecord *rec = all[i]->rec;
		if (!req->all && rec->state != LB__TASK_STATE__TASK_QUEUED &&
		    rec->state != LB__TASK_STATE__TASK_RUNNING)
			continue;
		l->tasks[l->n_tasks++] = rec;
	}
	r->rep_case = LB__CTL_REPLY__REP_LIST;
	r->list = l;
}

/* A piece of an upload, or the submit that uses the uploads. */
static void
ctl_upload(struct peer *p, const Lb__CtlUpload *u, Lb__CtlReply *r)
{
	Lb__CtlUploadReply	*ur;
	char			*cause;

	if (u->submit != NULL) {
		ctl_submit(p, u->submit, u->uploads, u->n_uploads, r);
		/* Refused: what was uploaded for it goes now, not later. */
		for (size_t i = 0; r->code != 0 && i < u->n_uploads; i++)
			upload_drop(p, u->uploads[i]);
		return;
	}
	ur = lb_calloc(1, sizeof(*ur));
	lb__ctl_upload_reply__init(ur);
	if (upload_piece(p, u, ur, &cause) == -1) {
		free(ur);
		ctl_no(r, 1, cause);
		return;
	}
	r->rep_case = LB__CTL_REPLY__REP_UPLOAD;
	r->upload = ur;
}

/* lbctl migrate: start (token 0), then ask until it is decided. */
static void
ctl_migrate(struct peer *p, const Lb__CtlMigrateReq *req, Lb__CtlReply *r)
{
	Lb__CtlMigrate	*cm = lb_calloc(1, sizeof(*cm));
	char		*cause;
	int		 rc;

	lb__ctl_migrate__init(cm);
	if (req->token == 0) {
		if (glue_migrate(p, req->id, req->to, &cm->token,
		    &cause) == -1) {
			free(cm);
			ctl_no(r, 1, cause);
			return;
		}
	} else {
		cm->token = req->token;
		if ((rc = glue_migrate_poll(p, req->token, &cm->result)) < 0) {
			free(cm);
			ctl_no(r, 1, lb_printf("no move %llu is followed here "
			    "(expired, or read already)",
			    (unsigned long long)req->token));
			return;
		}
		cm->done = rc == 1;
	}
	r->rep_case = LB__CTL_REPLY__REP_MIGRATE;
	r->migrate = cm;
}

static void
ctl_drain(struct peer *p, Lb__CtlReply *r)
{
	r->drain = lb_calloc(1, sizeof(*r->drain));
	lb__ctl_drain__init(r->drain);
	drain_report(p, r->drain);
	r->rep_case = LB__CTL_REPLY__REP_DRAIN;
}

/* Free what the handlers allocated (strings there are borrowed). */
void
ctl_answer_free(Lb__CtlReply *r)
{
	if (r->code != 0)
		free(r->error);
	if (r->rep_case == LB__CTL_REPLY__REP_SUBMITTED)
		free(r->submitted);
	else if (r->rep_case == LB__CTL_REPLY__REP_TASK) {
		free(r->task->stdout.data);
		free(r->task->stderr.data);
		free(r->task);
	} else if (r->rep_case == LB__CTL_REPLY__REP_LIST) {
		free(r->list->tasks);
		free(r->list->missing);
		free(r->list);
	} else if (r->rep_case == LB__CTL_REPLY__REP_STATS)
		free(r->stats);
	else if (r->rep_case == LB__CTL_REPLY__REP_UPLOAD)
		free(r->upload);
	else if (r->rep_case == LB__CTL_REPLY__REP_MIGRATE) {
		if (r->migrate->result != NULL)
			lb__migrate_done__free_unpacked(r->migrate->result,
			    NULL);
		free(r->migrate);
	} else if (r->rep_case == LB__CTL_REPLY__REP_DRAIN) {
		drain_report_free(r->drain);
		free(r->drain);
	}
	if (r->rep_case == LB__CTL_REPLY__REP_STATUS) {
		free(r->status->counters);
		free(r->status);
	} else if (r->rep_case == LB__CTL_REPLY__REP_PEERS) {
		for (size_t i = 0; i < r->peers->n_peers; i++) {
			Lb__CtlPeer *cp = r->peers->peers[i];
			free(cp->id);
			free(cp->addr);
			for (size_t j = 0; j < cp->n_attributes; j++)
				free(cp->attributes[j]);
			free(cp->attributes);
			free(cp);
		}
		free(r->peers->peers);
		free(r->peers);
	}
}

/* This peer's figures (lbctl stats), borrowing its strings. */
static void
ctl_stats_fill(struct peer *p, Lb__CtlStats *s)
{
	glue_stats(p, s);
	msgs_stats(p, s);
	s->drains = drain_count(p);
}

void
ctl_answer(struct peer *p, const Lb__CtlRequest *req, Lb__CtlReply *r)
{
	char	*cause;

	switch (req->req_case) {
	case LB__CTL_REQUEST__REQ_STATUS:
		ctl_status(p, r);
		break;
	case LB__CTL_REQUEST__REQ_PEERS:
		ctl_peers(p, r);
		break;
	case LB__CTL_REQUEST__REQ_SUBMIT:
		ctl_submit(p, req->submit, NULL, 0, r);
		break;
	case LB__CTL_REQUEST__REQ_UPLOAD:
		ctl_upload(p, req->upload, r);
		break;
	case LB__CTL_REQUEST__REQ_SHOW:
		ctl_show(p, req->show, r);
		break;
	case LB__CTL_REQUEST__REQ_LIST:
		ctl_list(p, req->list, r);
		break;
	case LB__CTL_REQUEST__REQ_CANCEL:
		switch (glue_cancel(p, req->cancel->id, &cause)) {
		case -1:
			ctl_no(r, 1, cause);
			break;
		case 1:
			/* Sent again, or a second one: no failure. */
			r->note = (char *)"already cancelled";
			break;
		}
		break;
	case LB__CTL_REQUEST__REQ_CHECKPOINT:
		if (glue_checkpoint(p, req->checkpoint->id, &cause) == -1)
			ctl_no(r, 1, cause);
		break;
	case LB__CTL_REQUEST__REQ_MIGRATE:
		ctl_migrate(p, req->migrate, r);
		break;
	case LB__CTL_REQUEST__REQ_STATS:
		r->stats = lb_calloc(1, sizeof(*r->stats));
		lb__ctl_stats__init(r->stats);
		ctl_stats_fill(p, r->stats);
		r->rep_case = LB__CTL_REPLY__REP_STATS;
		break;
	case LB__CTL_REQUEST__REQ_DRAIN:
		if (!req->drain->report && drain_start(p,
		    req->drain->timeout_s > 0 ? (int)req->drain->timeout_s : -1,
		    &cause) == -1) {
			ctl_no(r, 1, cause);
			break;
		}
		ctl_drain(p, r);
		break;
	case LB__CTL_REQUEST__REQ_UNDRAIN: {
		int rc = drain_stop(p, &cause);
		if (rc == -1) {
			ctl_no(r, 1, cause);
			break;
		}
		ctl_drain(p, r);
		r->drain->was_draining = rc == 0;
		break;
	}
	case LB__CTL_REQUEST__REQ_DEBUG_LOAD:
		p->load_extra = req->debug_load->extra;
		glue_load_changed(p);
		log_info("debug: advertising %u extra load", p->load_extra);
		break;
	default:
		ctl_no(r, 1, lb_strdup("unknown request (is lbctl newer than "
		    "this lbpeer?)"));
		break;
	}
}

/* Send the packed reply `out` with header `hdr` (taken). */
static void
ctl_send_packed(struct ctl *c, void *hdr, void *out, size_t len)
{
	struct nn_msghdr	 mh;
	struct nn_iovec		 iov;

	iov.iov_base = out;
	iov.iov_len = len;		/* may be 0: an empty reply is ok */
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = &hdr;
	mh.msg_controllen = NN_MSG;
	if (nn_sendmsg(c->sock, &mh, NN_DONTWAIT) < 0) {
		int e = nn_errno();

		log_warnx("control reply: %s", nn_strerror(e));
		/* Refused before nanomsg took the header: still ours. */
		if (e == EBADF || e == EINVAL || e == EFAULT || e == EMSGSIZE)
			nn_freemsg(hdr);
	}
}

static void *
ctl_pack(Lb__CtlReply *rep, size_t *len)
{
	void	*out;

	*len = lb__ctl_reply__get_packed_size(rep);
	out = lb_calloc(1, *len + 1);
	lb__ctl_reply__pack(rep, out);
	return out;
}

/* Send reply `rep` with header `hdr` (taken). */
static void
ctl_send(struct ctl *c, void *hdr, Lb__CtlReply *rep)
{
	void	*out;
	size_t	 len;

	out = ctl_pack(rep, &len);
	ctl_send_packed(c, hdr, out, len);
	free(out);
}

/*
 * A reply that says what this peer decided as a home (a task taken, a
 * cancel, a record shown) goes once the decision is on a majority of its
 * replica set: a client told "done" is never contradicted by a home that
 * takes over.
 */
struct ctl_wait {
	void	*hdr;
	void	*out;
	size_t	 len;
};

static int
ctl_decides(const Lb__CtlRequest *req)
{
	return req->req_case == LB__CTL_REQUEST__REQ_SUBMIT ||
	    (req->req_case == LB__CTL_REQUEST__REQ_UPLOAD &&
	    req->upload != NULL && req->upload->submit != NULL) ||
	    req->req_case == LB__CTL_REQUEST__REQ_CANCEL ||
	    req->req_case == LB__CTL_REQUEST__REQ_SHOW ||
	    req->req_case == LB__CTL_REQUEST__REQ_MIGRATE;
}

static void
ctl_wait_done(struct peer *p, void *arg, int ok)
{
	struct ctl_wait	*w = arg;

	if (ok && p->ctl != NULL)
		ctl_send_packed(p->ctl, w->hdr, w->out, w->len);
	else
		nn_freemsg(w->hdr);	/* the client asks again */
	free(w->out);
	free(w);
}

static void	ctl_wait_decided(struct peer *, struct ctl_wait *);

/* A submitted task's attachments are on a majority of the set now. */
static void
ctl_files_done(struct peer *p, void *arg, int ok)
{
	if (ok)
		ctl_wait_decided(p, arg);
	else
		ctl_wait_done(p, arg, 0);
}

/* Send `rep` now, or once this home's decisions (and a submitted task's
 * attachments) are on a majority. */
static void
ctl_send_decided(struct peer *p, void *hdr, Lb__CtlReply *rep)
{
	struct ctl_wait	*w = lb_calloc(1, sizeof(*w));

	w->hdr = hdr;
	w->out = ctl_pack(rep, &w->len);
	if (rep->rep_case == LB__CTL_REPLY__REP_SUBMITTED) {
		switch (repfiles_after(p, rep->submitted, 0, ctl_files_done,
		    w)) {
		case 1:
			return;
		case -1: {
			/* (the same submit asked again and again) */
			Lb__CtlReply	e = LB__CTL_REPLY__INIT;

			free(w->out);
			ctl_no(&e, 1, lb_printf("task %s: its attachments are "
			    "not yet on its home's replicas; try again "
			    "later", rep->submitted));
			w->out = ctl_pack(&e, &w->len);
			ctl_answer_free(&e);
			ctl_wait_done(p, w, 1);
			return;
		}
		}
	}
	ctl_wait_decided(p, w);
}

static void
ctl_wait_decided(struct peer *p, struct ctl_wait *w)
{
	switch (replicas_after(p, ctl_wait_done, w)) {
	case 0:
		ctl_wait_done(p, w, 1);
		break;
	case -1: {
		/* (filled since it was checked, by this request's own
		 * messages: it is not said unheld) */
		Lb__CtlReply	e = LB__CTL_REPLY__INIT;

		free(w->out);
		w->out = NULL;
		ctl_no(&e, 1, lb_strdup("too many of this peer's decisions "
		    "wait for its replica set to answer (lbctl stats "
		    "replicas); try again later"));
		w->out = ctl_pack(&e, &w->len);
		ctl_answer_free(&e);
		ctl_wait_done(p, w, 1);
		break;
	}
	}
}

/* The answer to a request that waited (msgs.c). */
static void
ctl_later(struct peer *p, uint64_t token, Lb__CtlReply *rep)
{
	struct ctl	*c = p->ctl;

	for (size_t i = 0; i < c->nlater; i++)
		if (c->later[i].token == token) {
			void *hdr = c->later[i].hdr;

			c->later[i] = c->later[--c->nlater];
			ctl_send(c, hdr, rep);
			return;
		}
}

static void
ctl_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer	*p = arg;
	struct ctl	*c = p->ctl;
	Lb__CtlRequest	*req;
	Lb__CtlReply	 rep = LB__CTL_REPLY__INIT;
	void		*buf;
	uint8_t		*out;
	size_t		 len;
	int		 n;

	for (;;) {
		struct nn_msghdr	 mh;
		struct nn_iovec		 iov;
		void			*hdr = NULL;
		uint64_t		 token = 0;
		int			 later = 0, decides;

		iov.iov_base = &buf;
		iov.iov_len = NN_MSG;
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = &hdr;
		mh.msg_controllen = NN_MSG;
		n = nn_recvmsg(c->sock, &mh, NN_DONTWAIT);
		if (n < 0) {
			if (nn_errno() != EAGAIN)
				log_warnx("control: %s", nn_strerror(nn_errno()));
			return;
		}
		req = lb__ctl_request__unpack(NULL, (size_t)n, buf);
		nn_freemsg(buf);
		lb__ctl_reply__init(&rep);
		if (req == NULL)
			ctl_no(&rep, 1, lb_strdup("request does not decode"));
		else if (ctl_decides(req) && replicas_waits_full(p))
			ctl_no(&rep, 1, lb_strdup("too many of this peer's "
			    "decisions wait for its replica set to answer "
			    "(lbctl stats replicas); try again later"));
		else if (msgs_wants(p, req)) {
			if (c->nlater >= CTL_LATER_MAX)
				ctl_no(&rep, 1, lb_strdup("the peer has too "
				    "many requests waiting; try again later"));
			else {
				/* Waiting before msgs_ctl: its answer may come
				 * at once, through ctl_later. */
				token = ++c->next_token;
				c->later[c->nlater].token = token;
				c->later[c->nlater].hdr = hdr;
				c->nlater++;
				later = msgs_ctl(p, req, token, &rep);
				if (!later)
					for (size_t i = 0; i < c->nlater; i++)
						if (c->later[i].token == token)
							c->later[i] =
							    c->later[--c->nlater];
			}
		} else
			ctl_answer(p, req, &rep);
		decides = req != NULL && ctl_decides(req);
		if (req != NULL)
			lb__ctl_request__free_unpacked(req, NULL);
		if (later)
			continue;
		if (hdr != NULL && decides)
			ctl_send_decided(p, hdr, &rep);
		else if (hdr != NULL)
			ctl_send(c, hdr, &rep);
		ctl_answer_free(&rep);
		(void)len;
		(void)out;
	}
}

int
ctl_open(struct peer *p, char **cause)
{
	struct ctl	*c;
	struct group	*gr = NULL;
	char		*url, *dir, *slash;
	mode_t		 old;
	int		 fd;

	p->stats_fill = ctl_stats_fill;	/* (for the cluster's listing) */	size_t		 fdsz = sizeof(fd);
	struct stat	 st;

	if (p->conf.control_group != NULL &&
	    (gr = getgrnam(p->conf.control_group)) == NULL) {
		*cause = lb_printf("control_group %s: no such group",
		    p->conf.control_group);
		return -1;
	}
	if (strlen(p->conf.control) >= 100) {
		*cause = lb_printf("control %s: path too long for a socket",
		    p->conf.control);
		return -1;
	}
	/* The directory must exist and be writable; make it if it is missing. */
	dir = lb_strdup(p->conf.control);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if (*dir != '\0' && stat(dir, &st) == -1 &&
		    mkdir(dir, 0755) == -1) {
			*cause = lb_printf("control %s: cannot create %s: %s",
			    p->conf.control, dir, strerror(errno));
			free(dir);
			return -1;
		}
		if (access(*dir ? dir : "/", W_OK) == -1) {
			*cause = lb_printf("control %s: %s is not writable: %s",
			    p->conf.control, *dir ? dir : "/", strerror(errno));
			free(dir);
			return -1;
		}
	}
	free(dir);
	/* A live peer on the same socket: refuse rather than steal it. */
	if (stat(p->conf.control, &st) == 0) {
		Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
		Lb__CtlStatusReq sr = LB__CTL_STATUS_REQ__INIT;
		Lb__CtlReply	*rep;
		char		*why;

		req.req_case = LB__CTL_REQUEST__REQ_STATUS;
		req.status = &sr;
		if (S_ISSOCK(st.st_mode) && lbc_call(p->conf.control, &req,
		    &rep, 300, &why) == LBC_OK) {
			lb__ctl_reply__free_unpacked(rep, NULL);
			*cause = lb_printf("control %s: another lbpeer is "
			    "running there", p->conf.control);
			return -1;
		}
		if (!S_ISSOCK(st.st_mode)) {
			*cause = lb_printf("control %s: exists and is not a "
			    "socket", p->conf.control);
			return -1;
		}
		free(why);
		unlink(p->conf.control);
	}
	c = lb_calloc(1, sizeof(*c));
	if ((c->sock = nn_socket(AF_SP_RAW, NN_REP)) < 0) {
		*cause = lb_printf("nn_socket: %s", nn_strerror(nn_errno()));
		free(c);
		return -1;
	}
	/*
	 * Bounded: a local client could otherwise make the peer allocate
	 * whatever it claims to send.  The largest legitimate request is a
	 * submit with its small attachments inline (large ones are uploaded
	 * in pieces first); lbctl asks for this limit before it sends a
	 * large request (nanomsg drops an oversized one in silence).
	 */
	{
		int max = p->conf.control_max_kb * 1024;
		nn_setsockopt(c->sock, NN_SOL_SOCKET, NN_RCVMAXSIZE, &max,
		    sizeof(max));
	}
	url = lb_printf("ipc://%s", p->conf.control);
	old = umask(gr != NULL ? 0007 : 0077);
	if (nn_bind(c->sock, url) < 0) {
		umask(old);
		*cause = lb_printf("control %s: %s", p->conf.control,
		    nn_strerror(nn_errno()));
		free(url);
		nn_close(c->sock);
		free(c);
		return -1;
	}
	umask(old);
	free(url);
	/*
	 * Who may use the socket is who may run tasks as this peer's user:
	 * a socket that cannot be given to control_group, or narrowed to
	 * its mode, is an error, not a warning.  (An unprivileged peer can
	 * give it only to a group it is in.)
	 */
	if ((gr != NULL && chown(p->conf.control, (uid_t)-1, gr->gr_gid) ==
	    -1) || chmod(p->conf.control, gr != NULL ? 0660 : 0600) == -1) {
		*cause = lb_printf("control %s: cannot give it to %s%s: %s%s",
		    p->conf.control, gr != NULL ? "group " : "its owner only",
		    gr != NULL ? p->conf.control_group : "", strerror(errno),
		    gr != NULL && errno == EPERM ? " (is this peer's user in "
		    "that group? with systemd: SupplementaryGroups=)" : "");
		unlink(p->conf.control);
		nn_close(c->sock);
		free(c);
		return -1;
	}
	if (nn_getsockopt(c->sock, NN_SOL_SOCKET, NN_RCVFD, &fd, &fdsz) < 0) {
		*cause = lb_printf("NN_RCVFD: %s", nn_strerror(nn_errno()));
		nn_close(c->sock);
		free(c);
		return -1;
	}
	c->path = lb_strdup(p->conf.control);
	c->ev = event_new(p->base, fd, EV_READ | EV_PERSIST, ctl_cb, p);
	event_add(c->ev, NULL);
	p->ctl = c;
	p->ctl_later = ctl_later;
	return 0;
}

void
ctl_close(struct peer *p)
{
	struct ctl	*c = p->ctl;

	if (c == NULL)
		return;
	event_free(c->ev);
	for (size_t i = 0; i < c->nlater; i++)
		nn_freemsg(c->later[i].hdr);
	nn_close(c->sock);
	unlink(c->path);
	free(c->path);
	free(c);
	p->ctl = NULL;
}
