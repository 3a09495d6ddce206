/*
 * msgs.c - messages to tasks: the shell around forwarding/.  It answers
 * the core's questions from the task core (where is a task, as this peer
 * knows it) and from membership (is a peer alive), carries its actions out
 * (sends, the broadcast of a TaskLocate, the answers to lbctl), and serves
 * the control requests that wait: send (until delivered, refused or its
 * timeout), recv (until a message comes), locate and tail (until the
 * holder answers).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peer.h"
#include "exec.h"
#include "store.h"
#include "keepfile.h"
#include "replicas.h"
#include "tasks/tasks.h"
#include "forwarding/fwd.h"
#include "node/msgs.h"

#define WAIT_MAX	1024	/* control requests waiting here */
#define RECV_MAX_MS	(24 * 3600 * 1000U)
#define TAIL_MAX	(32 * 1024)	/* output bytes per tail answer */

enum wait_kind { W_SEND = 1, W_LOCATE, W_TAIL, W_CHECKPOINT, W_RECV };

struct wait {
	enum wait_kind	 kind;
	uint64_t	 token;		/* the control request */
	uint64_t	 handle;	/* the core's send or probe */
	char		 id[TASKS_ID_MAX];
	uint64_t	 deadline;	/* W_RECV */
	uint32_t	 epoch, starts;	/* W_RECV: the run of the task that
					 * asked */
	uint64_t	 offset;	/* W_TAIL */
	int		 two_step;	/* W_RECV: the client confirms */
};

/* A waiting recv is the task's run that asked: held here, the same
 * placement, the same start (a process that checkpointed and left, or
 * started again, asks anew: the old wait takes nothing). */
static int
recv_live(struct peer *p, const struct wait *w)
{
	struct tasks_task	*k = tasks_find(p->tc, w->id);

	return k != NULL && (k->hold == HOLD_RUNNING ||
	    k->hold == HOLD_QUEUED) && k->h_epoch == w->epoch &&
	    k->rec->starts == w->starts;
}

/* The answers of the page's locates (/api/locate): asked, then kept a
 * while for the page's next look. */
#define LOCATE_CACHE	16
#define LOCATE_FRESH_MS	1000

struct lcache {
	char		 id[TASKS_ID_MAX];
	uint64_t	 asked, handle;		/* a probe out, or 0 */
	int		 have;
	struct msgs_loc	 loc;
};

struct msgs {
	struct fwd	*f;
	struct event	*tick;
	struct wait	 w[WAIT_MAX];
	size_t		 nw;
	struct lcache	 lc[LOCATE_CACHE];
	/* The keep file appended to last, kept open: a busy task's messages
	 * cost a write each, not an open, a write and a close. */
	int		 keep_fd;	/* -1: none */
	char		 keep_id[LB_ID_MAX];
};

/* ---- what the core asks ---- */

static void
where(void *arg, const char *id, struct fwd_where *w)
{
	struct peer		*p = arg;
	struct tasks_task	*k = tasks_find(p->tc, id);
	char			 by[LB_ID_MAX];

	if (k != NULL) {
		if (k->home)
			lb_strlcpy(w->home, p->conf.id, sizeof(w->home));
		else if (k->rec->home_peer != NULL)
			lb_strlcpy(w->home, k->rec->home_peer,
			    sizeof(w->home));
		switch (k->hold) {
		case HOLD_QUEUED:
		case HOLD_RUNNING:
			w->here = FWD_HELD;
			w->epoch = k->h_epoch;
			return;
		case HOLD_PENDING:
		case HOLD_CONFIRM:
		case HOLD_FROZEN:
		case HOLD_STOPPING:
		case HOLD_RETURNING:
			w->here = FWD_MOVING;
			w->epoch = k->h_epoch;
			return;
		case HOLD_ENDED:
			w->here = FWD_ENDED;
			lb_strlcpy(w->state, tasks_state_name(k->rec->state),
			    sizeof(w->state));
			return;
		case HOLD_NONE:
			break;
		}
		if (k->home) {
			if (!tasks_unfinished(k->rec)) {
				w->here = FWD_ENDED;
				lb_strlcpy(w->state,
				    tasks_state_name(k->rec->state),
				    sizeof(w->state));
			} else if (k->rec->host[0] != '\0' &&
			    strcmp(k->rec->host, p->conf.id) != 0) {
				w->here = FWD_AT;
				lb_strlcpy(w->host, k->rec->host,
				    sizeof(w->host));
				w->epoch = k->rec->epoch;
			} else
				w->here = FWD_MOVING;	/* being placed */
			return;
		}
	}
	w->here = FWD_NOTHING;
	if (tasks_link(p->tc, id, w->link, &w->link_epoch, by) == -1)
		w->link[0] = '\0';
	/* (of a task it holds no record of: a replica that took over its
	 * home, as every peer is told) */
	if (k == NULL && !tasks_acting_home(p->tc, id, w->home))
		w->home[0] = '\0';
}

static int
alive(void *arg, const char *peer)
{
	struct peer	*p = arg;

	return strcmp(peer, p->conf.id) == 0 ||
	    members_addr(p, peer, NULL) != NULL;
}

/* ---- answers to lbctl ---- */

static struct wait *
wait_add(struct msgs *ms, enum wait_kind kind, uint64_t token, const char *id)
{
	struct wait	*w = &ms->w[ms->nw++];

	memset(w, 0, sizeof(*w));
	w->kind = kind;
	w->token = token;
	lb_strlcpy(w->id, id, sizeof(w->id));
	return w;
}

static void
wait_remove(struct msgs *ms, struct wait *w)
{
	*w = ms->w[--ms->nw];
}

static void
answer_error(struct peer *p, uint64_t token, char *cause)
{
	Lb__CtlReply	r = LB__CTL_REPLY__INIT;

	r.code = 1;
	r.error = cause;
	p->ctl_later(p, token, &r);
	free(cause);
}

static void
answer_recv(struct peer *p, uint64_t token, Lb__MailMsg *m)
{
	Lb__CtlReply	r = LB__CTL_REPLY__INIT;
	Lb__CtlRecv	v = LB__CTL_RECV__INIT;

	v.got = m != NULL;
	v.msg = m;
	v.two_step = 1;
	r.rep_case = LB__CTL_REPLY__REP_RECV;
	r.recv = &v;
	p->ctl_later(p, token, &r);
	if (m != NULL)
		lb__mail_msg__free_unpacked(m, NULL);
}

static void
answer_done(struct peer *p, struct wait *w, const struct fwd_result *res)
{
	Lb__CtlReply	 r = LB__CTL_REPLY__INIT;
	Lb__CtlSent	 s = LB__CTL_SENT__INIT;
	Lb__CtlLocate	 l = LB__CTL_LOCATE__INIT;
	Lb__CtlTail	 t = LB__CTL_TAIL__INIT;
	char		*hops[FWD_MAX_HOPS + 1];

	for (size_t i = 0; i < res->nhops; i++)
		hops[i] = (char *)res->hops[i];
	switch (w->kind) {
	case W_SEND:
		s.done = res->done;
		s.status = res->status;
		s.host = (char *)res->host;
		s.epoch = res->epoch;
		s.detail = (char *)res->detail;
		s.sender = (char *)res->sender;
		s.seq = res->seq;
		s.hops = hops;
		s.n_hops = res->nhops;
		r.rep_case = LB__CTL_REPLY__REP_SENT;
		r.sent = &s;
		break;
	case W_LOCATE:
	case W_TAIL:
	case W_CHECKPOINT:
		if (!res->done) {
			answer_error(p, w->token, lb_printf("task %s: no "
			    "answer in time (its host may be moving it, or "
			    "out of reach)", w->id));
			return;
		}
		if (res->status == LB__MSG_STATUS__MSG_UNKNOWN) {
			answer_error(p, w->token, lb_printf("no task %s (%s)",
			    w->id, res->detail));
			return;
		}
		if (w->kind == W_CHECKPOINT) {
			if (res->status == LB__MSG_STATUS__MSG_ENDED)
				answer_error(p, w->token, lb_printf("task %s "
				    "has ended (%s)", w->id, res->detail));
			else if (res->detail[0] != '\0')
				answer_error(p, w->token, lb_strdup(
				    res->detail));
			else
				p->ctl_later(p, w->token, &r);
			return;
		}
		if (w->kind == W_LOCATE) {
			l.host = (char *)res->host;
			l.epoch = res->epoch;
			l.hops = hops;
			l.n_hops = res->nhops;
			if (res->status == LB__MSG_STATUS__MSG_ENDED)
				l.state = (char *)res->detail;
			r.rep_case = LB__CTL_REPLY__REP_LOCATE;
			r.locate = &l;
		} else {
			t.data = res->tail;
			t.offset = w->offset;
			t.ended = res->status == LB__MSG_STATUS__MSG_ENDED;
			t.host = (char *)res->host;
			r.rep_case = LB__CTL_REPLY__REP_TAIL;
			r.tail = &t;
		}
		break;
	case W_RECV:
		return;
	}
	p->ctl_later(p, w->token, &r);
}

/* ---- the core's actions ---- */

static void	carry(struct peer *, struct fwd_out *);

/* A tail or checkpoint probe reached this peer, which holds the task:
 * its output, or a checkpoint asked of it. */
static void
holder_answer(struct peer *p, const struct fwd_action *a)
{
	Lb__PeerMsg	 pm = LB__PEER_MSG__INIT;
	Lb__TaskMsgAck	 k = LB__TASK_MSG_ACK__INIT;
	char		*path[FWD_MAX_HOPS + 1];
	char		*why = NULL;

	for (size_t i = 0; i < a->res.nhops; i++)
		path[i] = (char *)a->res.hops[i];
	k.task_id = (char *)a->id;
	k.sender = (char *)a->to;
	k.status = LB__MSG_STATUS__MSG_LOCATED;
	k.host = p->conf.id;
	k.epoch = a->res.epoch;
	k.path = path;
	k.n_path = a->res.nhops;
	k.probe_req = a->probe_req;
	k.tail_offset = a->tail_offset;
	if (a->kind == FA_TAIL)
		(void)exec_output(p, a->id, a->tail_stderr, a->tail_offset,
		    TAIL_MAX, &k.tail_data);
	else {
		struct tasks_task *t = tasks_find(p->tc, a->id);

		if (t == NULL || t->hold != HOLD_RUNNING)
			why = lb_printf("task %s is not running (it waits at "
			    "%s)", a->id, p->conf.id);
		else if (!t->rec->spec->checkpointable)
			why = lb_printf("task %s cannot checkpoint (it was not "
			    "submitted with --checkpointable)", a->id);
		else if (exec_signal(p, a->id,
		    t->rec->spec->checkpoint_signal) == -1)
			why = lb_printf("task %s: %s", a->id, strerror(errno));
		else
			log_info("task %s: asked to checkpoint (%s, by lbctl "
			    "at %s)", a->id,
			    strsignal(t->rec->spec->checkpoint_signal), a->to);
		k.detail = why ? why : "";
	}
	pm.body_case = LB__PEER_MSG__BODY_TASK_MSG_ACK;
	pm.task_msg_ack = &k;
	if (strcmp(a->to, p->conf.id) == 0) {
		struct fwd_out o = { 0 };

		fwd_recv(p->msgs->f, lb_mono_ms(), p->conf.id, &pm, &o);
		carry(p, &o);
		fwd_out_free(&o);
	} else {
		const char *addr = members_addr(p, a->to, NULL);

		if (addr != NULL)
			net_send(p, addr, &pm);
	}
	free(k.tail_data.data);
	free(why);
}

static void
loc_fill(struct msgs_loc *l, const struct fwd_result *r)
{
	memset(l, 0, sizeof(*l));
	if (!r->done) {
		lb_strlcpy(l->error, "no answer in time", sizeof(l->error));
		return;
	}
	if (r->status == LB__MSG_STATUS__MSG_UNKNOWN) {
		lb_strlcpy(l->error, r->detail, sizeof(l->error));
		return;
	}
	lb_strlcpy(l->host, r->host, sizeof(l->host));
	l->epoch = r->epoch;
	if (r->status == LB__MSG_STATUS__MSG_ENDED)
		lb_strlcpy(l->state, r->detail, sizeof(l->state));
	for (size_t i = 0; i < r->nhops && i < MSGS_LOC_HOPS; i++)
		lb_strlcpy(l->hops[l->nhops++], r->hops[i], LB_ID_MAX);
}

/* ---- what a home keeps of its tasks' messages (state_dir/kept/ID) ----
 *
 * In files of frames (keepfile.c); each change goes to the home's replica
 * set too (replicas_keep), and what acknowledges a message waits until a
 * majority of the set holds it. */

#define KEPT_DIR	"kept"

static char *
kept_path(struct peer *p, const char *id)
{
	return lb_printf("%s/%s/%s", p->conf.state_dir, KEPT_DIR, id);
}

static void
keep_close(struct msgs *ms)
{
	if (ms->keep_fd != -1)
		close(ms->keep_fd);
	ms->keep_fd = -1;
	ms->keep_id[0] = '\0';
}

/* Keep `id`'s change: `msg` (a packed MailMsg) added, or, with no `msg`,
 * what the core keeps now, written anew.  1 if it went to the replica set
 * (what acknowledges it waits), else 0. */
static int
keep_write(struct peer *p, const char *id, const uint8_t *msg, size_t len)
{
	char		*dir, *path;
	Lb__MailboxKeep	 kb = LB__MAILBOX_KEEP__INIT;
	Lb__MailMsg	*mm = NULL;
	Lb__MailSeen	 ss = LB__MAIL_SEEN__INIT, *ssp = &ss;
	struct fwd_box	 box;
	int		 fd, put;

	if (!fwd_task_valid(id) || strchr(id, '/') != NULL)
		return 0;
	dir = lb_printf("%s/%s", p->conf.state_dir, KEPT_DIR);
	(void)mkdir(dir, 0700);
	free(dir);
	path = kept_path(p, id);
	kb.task_id = (char *)id;
	if (msg != NULL) {
		if ((mm = lb__mail_msg__unpack(NULL, len, msg)) == NULL) {
			free(path);
			return 0;
		}
		kb.mailbox = &mm;
		kb.n_mailbox = 1;
		ss.sender = mm->sender;
		ss.seq = mm->seq;
		kb.mailbox_seen = &ssp;
		kb.n_mailbox_seen = 1;
		if (p->msgs->keep_fd == -1 || strcmp(p->msgs->keep_id, id)) {
			keep_close(p->msgs);
			fd = open(path, O_WRONLY | O_CREAT | O_APPEND |
			    O_CLOEXEC, 0600);
			if (fd != -1) {
				p->msgs->keep_fd = fd;
				lb_strlcpy(p->msgs->keep_id, id,
				    sizeof(p->msgs->keep_id));
			}
		}
		if (p->msgs->keep_fd == -1 ||
		    keepfile_frame(p->msgs->keep_fd, &kb) == -1) {
			log_warn("task %s: keeping its message: %s", id, path);
			keep_close(p->msgs);
		}
		put = replicas_keep(p, id, &kb, 0);
		lb__mail_msg__free_unpacked(mm, NULL);
		free(path);
		return put;
	}
	/* Rewritten (by rename) or removed: the open one is the old file. */
	if (p->msgs->keep_fd != -1 && strcmp(p->msgs->keep_id, id) == 0)
		keep_close(p->msgs);
	fwd_keep_export(p->msgs->f, id, &box);
	kb.mailbox = box.v;
	kb.n_mailbox = box.n;
	kb.mailbox_seen = box.s;
	kb.n_mailbox_seen = box.ns;
	kb.checkpointed = box.ck;
	kb.n_checkpointed = box.nck;
	if (keepfile_write(path, &kb) == -1)
		log_warn("task %s: keeping its messages: %s", id, path);
	put = replicas_keep(p, id, &kb, 1);
	fwd_export_free(&box);
	free(path);
	return put;
}

/* What this home kept, back into the core: at start every file; later
 * (`fresh`) those not in the core yet -- a replica's copies of the tasks
 * this peer took over -- and each goes to this home's replica set. */
static size_t
keeps_load(struct peer *p, int fresh)
{
	char		*dir = lb_printf("%s/%s", p->conf.state_dir, KEPT_DIR);
	DIR		*d;
	struct dirent	*de;
	size_t		 files = 0, msgs = 0;

	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		char		*path;
		struct fwd_box	 all;
		int		 torn, frames;

		if (!fwd_task_valid(de->d_name)) {
			size_t l = strlen(de->d_name);

			/* A rewrite that did not finish. */
			if (!fresh && l > 4 &&
			    strcmp(de->d_name + l - 4, ".new") == 0) {
				path = lb_printf("%s/%s", dir, de->d_name);
				(void)unlink(path);
				free(path);
			}
			continue;
		}
		if (fresh) {
			fwd_keep_export(p->msgs->f, de->d_name, &all);
			frames = all.n > 0 || all.ns > 0;
			fwd_export_free(&all);
			if (frames)
				continue;	/* (in the core already) */
		}
		path = lb_printf("%s/%s", dir, de->d_name);
		if ((torn = keepfile_read(path, &all, &frames)) == -1) {
			free(path);
			continue;
		}
		fwd_keep_load(p->msgs->f, lb_mono_ms(), de->d_name, &all,
		    fresh);
		files++;
		msgs += all.n;
		fwd_export_free(&all);
		if (torn || frames == 0 || fresh) {
			/* Written anew from what was read (or removed, if
			 * nothing was), so that later frames are not
			 * appended behind a torn one. */
			if (torn)
				log_warnx("%s: a torn frame; %d read before "
				    "it, the rest lost", path, frames);
			(void)keep_write(p, de->d_name, NULL, 0);
		}
		free(path);
	}
	closedir(d);
	free(dir);
	if (files > 0)
		log_info("kept messages: %zu for %zu tasks homed here%s", msgs,
		    files, fresh ? ", from a replica's copies" : "");
	return files;
}

static void
keep_put(void *arg, const char *id)
{
	(void)keep_write(arg, id, NULL, 0);
}

void
msgs_keeps_sync(struct peer *p, int all)
{
	if (p->msgs == NULL)
		return;
	if (all)
		fwd_each_keep(p->msgs->f, keep_put, p);
	else
		(void)keeps_load(p, 1);
}

void
msgs_replay(struct peer *p, const char *id, int from_start)
{
	size_t n;

	if (p->msgs == NULL)
		return;
	if (fwd_replay(p->msgs->f, lb_mono_ms(), id, from_start))
		(void)keep_write(p, id, NULL, 0);	/* (unmarked) */
	if ((n = fwd_mailbox_count(p->msgs->f, id, NULL)) > 0)
		log_info("task %s starts over here with the %zu messages its "
		    "home kept", id, n);
}

void
msgs_consumed(struct peer *p, const char *id, Lb__CheckpointCopy *cc)
{
	struct fwd_box b;

	cc->consumed = NULL;
	cc->n_consumed = 0;
	if (p->msgs == NULL)
		return;
	fwd_consumed(p->msgs->f, id, &b);
	cc->consumed = b.s;
	cc->n_consumed = b.ns;
}

void
msgs_consumed_free(Lb__CheckpointCopy *cc)
{
	struct fwd_box b;

	memset(&b, 0, sizeof(b));
	b.s = cc->consumed;
	b.ns = cc->n_consumed;
	fwd_export_free(&b);
	cc->consumed = NULL;
	cc->n_consumed = 0;
}

void
msgs_checkpointed(struct peer *p, const char *id,
    const Lb__CheckpointCopy *cc)
{
	struct fwd_box	 b;
	struct fwd_out	 o = { 0 };

	if (p->msgs == NULL)
		return;
	if (cc != NULL) {
		memset(&b, 0, sizeof(b));
		b.s = cc->consumed;
		b.ns = cc->n_consumed;
		fwd_checkpointed(p->msgs->f, id, &b, &o);
	} else {
		fwd_consumed(p->msgs->f, id, &b);
		fwd_checkpointed(p->msgs->f, id, &b, &o);
		fwd_export_free(&b);
	}
	carry(p, &o);
	fwd_out_free(&o);
}

/* Whether task `id` is homed here: what this peer says of its messages
 * (a "delivered" or "duplicate" to a sender that tries again, too) waits
 * for what its replica set has not yet (replicas_after: at once when
 * nothing waits). */
static int
homed(struct peer *p, const char *id)
{
	struct tasks_task	*k;

	return p->tc != NULL && id[0] != '\0' &&
	    (k = tasks_find(p->tc, id)) != NULL && k->home;
}

/* A send of this peer ended: its client is answered. */
static void
done(struct peer *p, const struct fwd_result *res)
{
	struct msgs	*ms = p->msgs;

	for (size_t j = 0; j < LOCATE_CACHE; j++) {
		struct lcache *c = &ms->lc[j];

		if (c->handle != res->handle || c->handle == 0)
			continue;
		c->handle = 0;
		c->have = 1;
		loc_fill(&c->loc, res);
	}
	for (size_t j = 0; j < ms->nw; j++) {
		struct wait *w = &ms->w[j];

		if (w->kind != W_RECV && w->handle == res->handle) {
			answer_done(p, w, res);
			wait_remove(ms, w);
			break;
		}
	}
}

/* ... once the message's copy is on a majority of the set. */
static void
held_done(struct peer *p, void *arg, int ok)
{
	struct fwd_result	*h = arg;

	if (ok && p->msgs != NULL)
		done(p, h);
	free(h->tail.data);
	free(h);
}

static void
carry(struct peer *p, struct fwd_out *o)
{
	struct msgs	*ms = p->msgs;
	int		 kept = 0;	/* a copy went to the replica set (all
					 * that follows waits for it) */

	for (size_t i = 0; i < o->n; i++) {
		struct fwd_action	*a = &o->v[i];
		const char		*addr;

		switch (a->kind) {
		case FA_SEND:
			if (kept || homed(p, a->id)) {
				struct replicas_msg *h = lb_calloc(1,
				    sizeof(*h));

				lb_strlcpy(h->to, a->to, sizeof(h->to));
				h->buf = a->msg;
				h->len = a->len;
				/* (it acknowledges a copy this home
				 * keeps: once a majority has it) */
				switch (replicas_after(p,
				    replicas_msg_send, h)) {
				case 1:
					a->msg = NULL;	/* (held's now) */
					break;
				case -1:
					/* too many wait: not said (the
					 * sender tries again) */
					free(h);
					break;
				default:
					h->buf = NULL;
					free(h);
					if ((addr = members_addr(p, a->to,
					    NULL)) != NULL)
						net_send_bytes(p, addr, a->msg,
						    a->len);
				}
				break;
			}
			if ((addr = members_addr(p, a->to, NULL)) != NULL)
				net_send_bytes(p, addr, a->msg, a->len);
			break;
		case FA_LOCATE: {
			const struct gossip_member *m;
			size_t n;

			m = gossip_members(p->gossip, &n);
			for (size_t j = 0; j < n; j++)
				if (!m[j].self && nmsg_reachable(&m[j]))
					net_send_bytes(p, m[j].e.addr, a->msg,
					    a->len);
			break;
		}
		case FA_DONE:
			if (kept || homed(p, a->id)) {
				/* (a send from here to a task held here) */
				struct fwd_result *h = lb_calloc(1, sizeof(*h));

				*h = a->res;
				switch (replicas_after(p, held_done, h)) {
				case 1:
					a->res.tail.data = NULL;  /* (h's) */
					a->res.tail.len = 0;
					break;
				case -1:
					free(h);	/* (lbctl asks again) */
					break;
				default:
					free(h);
					done(p, &a->res);
				}
				break;
			}
			done(p, &a->res);
			break;
		case FA_MAIL:
			for (size_t j = 0; j < ms->nw; j++) {
				struct wait *w = &ms->w[j];
				Lb__MailMsg *m;

				if (w->kind != W_RECV ||
				    strcmp(w->id, a->id) != 0 ||
				    !recv_live(p, w))
					continue;
				if ((m = w->two_step ? fwd_peek(ms->f, a->id) :
				    fwd_take(ms->f, a->id)) == NULL)
					break;
				{
					uint64_t token = w->token;

					wait_remove(ms, w);
					answer_recv(p, token, m);
				}
				break;
			}
			break;
		case FA_TAIL:
		case FA_CHECKPOINT:
			holder_answer(p, a);
			break;
		case FA_KEEP:
			if (keep_write(p, a->id, a->msg, a->len) == 1)
				kept = 1;
			break;
		}
	}
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer	*p = arg;
	struct msgs	*ms = p->msgs;
	struct fwd_out	 o = { 0 };
	uint64_t	 now = lb_mono_ms();

	(void)fd;
	(void)ev;
	fwd_tick(ms->f, now, &o);
	carry(p, &o);
	fwd_out_free(&o);
	for (size_t j = 0; j < ms->nw; j++) {
		struct wait *w = &ms->w[j];

		if (w->kind == W_RECV && (now >= w->deadline ||
		    !recv_live(p, w))) {
			uint64_t token = w->token;

			wait_remove(ms, w);
			j--;
			answer_recv(p, token, NULL);
		}
	}
}

/* ---- the daemon's side ---- */

void
msgs_recv(struct peer *p, const char *from, const Lb__PeerMsg *m)
{
	struct fwd_out	o = { 0 };

	/* A newer placement of a task held here: its home is asked now. */
	if (m->body_case == LB__PEER_MSG__BODY_TASK_LOCATION && p->tc != NULL &&
	    m->task_location->task_id != NULL)
		tasks_heard_epoch(p->tc, m->task_location->task_id,
		    m->task_location->epoch);
	fwd_recv(p->msgs->f, lb_mono_ms(), from, m, &o);
	carry(p, &o);
	fwd_out_free(&o);
}

void
msgs_attach(struct peer *p, const char *id, Lb__PeerMsg *m)
{
	struct fwd_box	b;

	if (p->msgs == NULL || !fwd_task_valid(id))
		return;
	switch (m->body_case) {
	case LB__PEER_MSG__BODY_TRANSFER:
	case LB__PEER_MSG__BODY_TASK_RETURN:
		fwd_export(p->msgs->f, id, &b);
		if (m->body_case == LB__PEER_MSG__BODY_TRANSFER) {
			Lb__Transfer *t = m->transfer;

			if (t->n_mailbox > 0 || t->n_mailbox_seen > 0)
				break;	/* not the core's: leave it */
			t->mailbox = b.v;
			t->n_mailbox = b.n;
			t->mailbox_seen = b.s;
			t->n_mailbox_seen = b.ns;
		} else {
			Lb__TaskReturn *t = m->task_return;

			t->mailbox = b.v;
			t->n_mailbox = b.n;
			t->mailbox_seen = b.s;
			t->n_mailbox_seen = b.ns;
		}
		return;		/* freed with m */
	case LB__PEER_MSG__BODY_TASK_NOTICE: {
		Lb__TaskNotice *n = m->task_notice;

		if (n->record == NULL || tasks_unfinished(n->record))
			return;
		fwd_export(p->msgs->f, id, &b);
		n->mailbox_seen = b.s;
		n->n_mailbox_seen = b.ns;
		b.s = NULL;
		b.ns = 0;
		break;
	}
	default:
		return;
	}
	fwd_export_free(&b);
}

void
msgs_arrived(struct peer *p, const char *id, const Lb__PeerMsg *m)
{
	struct tasks_task	*k = tasks_find(p->tc, id);
	struct fwd_box		 b;
	uint64_t		 now = lb_mono_ms();

	memset(&b, 0, sizeof(b));
	switch (m->body_case) {
	case LB__PEER_MSG__BODY_TRANSFER:
		b.v = m->transfer->mailbox;
		b.n = m->transfer->n_mailbox;
		b.s = m->transfer->mailbox_seen;
		b.ns = m->transfer->n_mailbox_seen;
		if (k != NULL && k->hold == HOLD_PENDING)
			fwd_import(p->msgs->f, now, id, &b);
		return;
	case LB__PEER_MSG__BODY_TASK_RETURN:
		b.v = m->task_return->mailbox;
		b.n = m->task_return->n_mailbox;
		b.s = m->task_return->mailbox_seen;
		b.ns = m->task_return->n_mailbox_seen;
		/* The home placed it anew (here, or to place): its mailbox
		 * waits here, and goes with its next Transfer. */
		if (k != NULL && k->home && tasks_unfinished(k->rec) &&
		    (b.n > 0 || b.ns > 0) &&
		    fwd_mailbox_count(p->msgs->f, id, NULL) == 0)
			fwd_import(p->msgs->f, now, id, &b);
		return;
	case LB__PEER_MSG__BODY_TASK_NOTICE:
		b.s = m->task_notice->mailbox_seen;
		b.ns = m->task_notice->n_mailbox_seen;
		if (k != NULL && k->home && !tasks_unfinished(k->rec))
			fwd_ended(p->msgs->f, now, id, &b);
		return;
	default:
		return;
	}
}

/* ---- control requests ---- */

int
msgs_wants(struct peer *p, const Lb__CtlRequest *req)
{
	if (req->req_case == LB__CTL_REQUEST__REQ_CHECKPOINT) {
		/* A task running here is asked here (glue.c); another is
		 * found where it runs. */
		struct tasks_task *k = tasks_find(p->tc, req->checkpoint->id);

		return tasks_id_valid(req->checkpoint->id) &&
		    (k == NULL || k->hold != HOLD_RUNNING);
	}
	return req->req_case == LB__CTL_REQUEST__REQ_SEND ||
	    req->req_case == LB__CTL_REQUEST__REQ_RECV ||
	    req->req_case == LB__CTL_REQUEST__REQ_LOCATE ||
	    req->req_case == LB__CTL_REQUEST__REQ_TAIL;
}

static int
refuse(Lb__CtlReply *r, char *cause)
{
	r->code = 1;
	r->error = cause;
	return 0;
}

static uint64_t
timeout_of(uint32_t ms, uint32_t dflt)
{
	if (ms == 0)
		ms = dflt;
	return ms > RECV_MAX_MS ? RECV_MAX_MS : ms;
}

static int
ctl_send_req(struct peer *p, const Lb__CtlSendReq *q, uint64_t token,
    Lb__CtlReply *r)
{
	struct msgs		*ms = p->msgs;
	struct fwd_out		 o = { 0 };
	const char		*sender = p->conf.id;
	uint64_t		 base, handle, now = lb_mono_ms();
	char			*cause = NULL;

	if (!fwd_task_valid(q->id))
		return refuse(r, lb_printf("\"%s\" is not a task id "
		    "(NODE.NUMBER)", q->id));
	if (q->peer_incarnation != 0 && q->peer_incarnation != p->incarnation) {
		/* Asked of an earlier life of this peer, which may have sent
		 * it: not sent again as a new message. */
		Lb__CtlReply	rr = LB__CTL_REPLY__INIT;
		Lb__CtlSent	s = LB__CTL_SENT__INIT;

		s.restarted = 1;
		s.detail = (char *)"";
		s.sender = (char *)"";
		s.host = (char *)"";
		rr.rep_case = LB__CTL_REPLY__REP_SENT;
		rr.sent = &s;
		p->ctl_later(p, token, &rr);
		return 1;
	}
	/* A node's sends rise with its incarnation, a task's with its
	 * placement and its start there. */
	base = nmsg_node_base(p->incarnation);
	if (q->sender[0] != '\0') {
		struct tasks_task *k = tasks_find(p->tc, q->sender);

		if (!fwd_task_valid(q->sender) || k == NULL ||
		    k->hold != HOLD_RUNNING)
			return refuse(r, lb_printf("sender %s is not a task "
			    "running at this peer", q->sender));
		sender = q->sender;
		base = ((uint64_t)k->h_epoch << 40) |
		    ((uint64_t)(k->rec->starts & 0xffff) << 24);
	}
	if (fwd_send(ms->f, now, sender, base, q->id, q->body.data,
	    q->body.len, now + timeout_of(q->timeout_ms,
	    (uint32_t)p->conf.task.msg_timeout_s * 1000), &handle, &o,
	    &cause) == -1)
		return refuse(r, cause);
	wait_add(ms, W_SEND, token, q->id)->handle = handle;
	carry(p, &o);
	fwd_out_free(&o);
	return 1;
}

static int
ctl_recv_req(struct peer *p, const Lb__CtlRecvReq *q, uint64_t token,
    Lb__CtlReply *r)
{
	struct msgs		*ms = p->msgs;
	struct tasks_task	*k;
	Lb__MailMsg		*m;
	struct wait		*w;

	if (!fwd_task_valid(q->id))
		return refuse(r, lb_printf("\"%s\" is not a task id "
		    "(NODE.NUMBER)", q->id));
	k = tasks_find(p->tc, q->id);
	if (k == NULL || (k->hold != HOLD_RUNNING && k->hold != HOLD_QUEUED))
		return refuse(r, lb_printf("task %s is not held at this peer "
		    "(recv works inside the task)", q->id));
	/* The message its receiver confirms it got goes: then, and only
	 * then, it is taken (a receiver gone before gets it again). */
	if (q->confirm_sender[0] != '\0' && (m = fwd_peek(ms->f, q->id)) !=
	    NULL) {
		int same = strcmp(m->sender, q->confirm_sender) == 0 &&
		    m->seq == q->confirm_seq;

		lb__mail_msg__free_unpacked(m, NULL);
		if (same && (m = fwd_take(ms->f, q->id)) != NULL)
			lb__mail_msg__free_unpacked(m, NULL);
	}
	/* A recv of the task that still waits was given up by its client
	 * (or runs at once with this one): this one replaces it. */
	for (size_t j = 0; j < ms->nw; j++)
		if (ms->w[j].kind == W_RECV && strcmp(ms->w[j].id, q->id) ==
		    0) {
			uint64_t old = ms->w[j].token;

			wait_remove(ms, &ms->w[j]);
			answer_recv(p, old, NULL);
			break;
		}
	if (q->confirm_only) {
		answer_recv(p, token, NULL);
		return 1;
	}
	/* (A client from before confirms nothing: it takes.) */
	if ((m = q->two_step ? fwd_peek(ms->f, q->id) : fwd_take(ms->f,
	    q->id)) != NULL) {
		answer_recv(p, token, m);
		return 1;
	}
	w = wait_add(ms, W_RECV, token, q->id);
	w->two_step = q->two_step;
	w->deadline = lb_mono_ms() + timeout_of(q->timeout_ms, 30000);
	w->epoch = k->h_epoch;
	w->starts = k->rec->starts;
	return 1;
}

static int
ctl_probe_req(struct peer *p, const char *id, enum fwd_probe what,
    uint64_t offset, int err, uint32_t timeout_ms, uint64_t token,
    Lb__CtlReply *r)
{
	struct msgs	*ms = p->msgs;
	struct fwd_out	 o = { 0 };
	uint64_t	 handle, now = lb_mono_ms();
	char		*cause = NULL;
	struct wait	*w;

	if (fwd_probe(ms->f, now, id, what, offset, err,
	    now + timeout_of(timeout_ms, 10000), &handle, &o, &cause) == -1)
		return refuse(r, cause);
	w = wait_add(ms, what == FP_TAIL ? W_TAIL : what == FP_CHECKPOINT ?
	    W_CHECKPOINT : W_LOCATE, token, id);
	w->handle = handle;
	w->offset = offset;
	carry(p, &o);
	fwd_out_free(&o);
	return 1;
}

int
msgs_ctl(struct peer *p, const Lb__CtlRequest *req, uint64_t token,
    Lb__CtlReply *r)
{
	if (p->msgs->nw >= WAIT_MAX)
		return refuse(r, lb_strdup("the peer has too many requests "
		    "waiting; try again later"));
	switch (req->req_case) {
	case LB__CTL_REQUEST__REQ_SEND:
		return ctl_send_req(p, req->send, token, r);
	case LB__CTL_REQUEST__REQ_RECV:
		return ctl_recv_req(p, req->recv, token, r);
	case LB__CTL_REQUEST__REQ_LOCATE:
		return ctl_probe_req(p, req->locate->id, FP_LOCATE, 0, 0,
		    req->locate->timeout_ms, token, r);
	case LB__CTL_REQUEST__REQ_TAIL:
		return ctl_probe_req(p, req->tail->id, FP_TAIL,
		    req->tail->offset, req->tail->stderr, 0, token, r);
	case LB__CTL_REQUEST__REQ_CHECKPOINT:
		return ctl_probe_req(p, req->checkpoint->id, FP_CHECKPOINT, 0,
		    0, 0, token, r);
	default:
		return refuse(r, lb_strdup("not a message request"));
	}
}

int
msgs_locate(struct peer *p, const char *id, struct msgs_loc *out)
{
	struct msgs	*ms = p->msgs;
	struct lcache	*c = NULL;
	struct fwd_out	 o = { 0 };
	uint64_t	 now = lb_mono_ms();
	char		*cause = NULL;

	if (!fwd_task_valid(id))
		return -1;
	for (size_t j = 0; j < LOCATE_CACHE; j++)
		if (strcmp(ms->lc[j].id, id) == 0)
			c = &ms->lc[j];
	if (c == NULL) {
		c = &ms->lc[0];
		for (size_t j = 1; j < LOCATE_CACHE; j++)
			if (ms->lc[j].asked < c->asked)
				c = &ms->lc[j];
		memset(c, 0, sizeof(*c));
		lb_strlcpy(c->id, id, sizeof(c->id));
	}
	if (c->handle == 0 && (!c->have || now >= c->asked + LOCATE_FRESH_MS)) {
		c->asked = now;
		if (fwd_probe(ms->f, now, id, FP_LOCATE, 0, 0, now + 5000,
		    &c->handle, &o, &cause) == -1) {
			c->handle = 0;
			free(cause);
		}
		carry(p, &o);
		fwd_out_free(&o);
	}
	if (!c->have)
		return 1;
	*out = c->loc;
	return 0;
}

void
msgs_stats(struct peer *p, Lb__CtlStats *s)
{
	const struct fwd_stats	*f = fwd_stats(p->msgs->f);
	size_t			 mb;
	static uint64_t		 hops[FWD_HOPS_BUCKETS];

	s->msg_sent = f->sent;
	s->msg_acked = f->acked;
	s->msg_refused = f->refused;
	s->msg_timed_out = f->timed_out;
	s->msg_retries = f->retries;
	s->msg_delivered = f->delivered;
	s->msg_duplicates = f->duplicates;
	s->msg_forwarded = f->forwarded;
	s->msg_to_home = f->to_home;
	s->msg_to_acting = f->to_acting;
	s->msg_queries = f->queries;
	s->msg_compressions = f->compressions;
	s->msg_received = f->received;
	s->msg_hops_sum = f->hops_sum;
	s->msg_full = f->full;
	s->msg_kept = f->kept;
	s->msg_unkept = f->unkept;
	s->msg_waits_home = f->waits_home;
	memcpy(hops, f->hops, sizeof(hops));
	s->msg_hops = hops;
	s->n_msg_hops = FWD_HOPS_BUCKETS;
	s->msg_links = fwd_counts(p->msgs->f, &mb, NULL);
	s->msg_mailboxes = mb;
}

/* ---- start and stop ---- */

int
msgs_start(struct peer *p, char **cause)
{
	struct msgs	*ms = lb_calloc(1, sizeof(*ms));
	struct fwd_conf	 c;
	struct fwd_env	 env = { p, where, alive };
	struct timeval	 tv = { 0, NMSG_TICK_MS * 1000 };

	(void)cause;
	nmsg_conf(&p->conf, &c);
	ms->f = fwd_new(&c, p->conf.id, &env);
	ms->keep_fd = -1;
	ms->tick = event_new(p->base, -1, EV_PERSIST, tick_cb, p);
	event_add(ms->tick, &tv);
	p->msgs = ms;
	(void)keeps_load(p, 0);
	return 0;
}

/* ---- mailboxes across a stop ---- */

#define MAILBOX_FILE	"mailboxes"
#define MAILBOX_FILE_MAX (1024ULL << 20)	/* read back at most this */

struct keep {
	struct msgs	 *ms;
	Lb__MailboxKeep **v;
	size_t		  n, cap;
};

static void
keep_one(void *arg, const char *id)
{
	struct keep	*k = arg;
	Lb__MailboxKeep	*b;
	struct fwd_box	 box;

	fwd_export(k->ms->f, id, &box);
	if (box.n == 0) {
		fwd_export_free(&box);
		return;		/* nothing waits in it */
	}
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 16;
		k->v = lb_reallocarray(k->v, k->cap, sizeof(*k->v));
	}
	b = lb_calloc(1, sizeof(*b));
	lb__mailbox_keep__init(b);
	b->task_id = lb_strdup(id);
	b->mailbox = box.v;
	b->n_mailbox = box.n;
	b->mailbox_seen = box.s;
	b->n_mailbox_seen = box.ns;
	k->v[k->n++] = b;
}

/* Write the mailboxes that hold messages to state_dir, for the next start
 * (a stop that crashes keeps nothing: see doc/faults.md). */
static void
mailboxes_save(struct peer *p)
{
	struct keep		 k = { p->msgs, NULL, 0, 0 };
	Lb__MailboxFile		 f = LB__MAILBOX_FILE__INIT;
	uint8_t			*buf;
	size_t			 len;
	char			*cause = NULL;

	/* (written even with none: a start without it follows a crash,
	 * msgs_stopped_cleanly) */
	fwd_each_mailbox(p->msgs->f, keep_one, &k);
	f.boxes = k.v;
	f.n_boxes = k.n;
	len = lb__mailbox_file__get_packed_size(&f);
	buf = lb_calloc(1, len + 1);
	lb__mailbox_file__pack(&f, buf);
	if (lb_write_atomic(p->conf.state_dir, MAILBOX_FILE, buf, len,
	    &cause) == -1) {
		log_warnx("mailboxes: %s", cause);
		free(cause);
	} else
		log_info("kept %zu mailbox%s with messages for the next start",
		    k.n, k.n == 1 ? "" : "es");
	free(buf);
	for (size_t i = 0; i < k.n; i++)
		lb__mailbox_keep__free_unpacked(k.v[i], NULL);
	free(k.v);
}

int
msgs_stopped_cleanly(struct peer *p)
{
	char	*path = lb_printf("%s/%s", p->conf.state_dir, MAILBOX_FILE);
	int	 rc = access(path, F_OK) == 0;

	free(path);
	return rc;
}

int
msgs_kept_unmarked(struct peer *p, const char *id)
{
	return p->msgs != NULL && fwd_task_valid(id) &&
	    fwd_kept_unmarked(p->msgs->f, id) > 0;
}

void
msgs_restore(struct peer *p)
{
	char			*path = lb_printf("%s/%s", p->conf.state_dir,
				    MAILBOX_FILE);
	FILE			*fp;
	uint8_t			*buf = NULL;
	size_t			 len = 0, n = 0;
	Lb__MailboxFile		*f;
	struct fwd_box		 b;

	if ((fp = fopen(path, "r")) == NULL) {
		free(path);
		return;
	}
	for (;;) {
		if (len == n) {
			n = n ? n * 2 : 65536;
			buf = lb_reallocarray(buf, n, 1);
		}
		size_t r = fread(buf + len, 1, n - len, fp);
		len += r;
		if (r == 0 || len > MAILBOX_FILE_MAX)
			break;
	}
	fclose(fp);
	if (len > MAILBOX_FILE_MAX ||
	    (f = lb__mailbox_file__unpack(NULL, len, buf)) == NULL) {
		log_warnx("%s: damaged or too large; its mailboxes are lost",
		    path);
		f = NULL;
	}
	for (size_t i = 0; f != NULL && i < f->n_boxes; i++) {
		const Lb__MailboxKeep	*kb = f->boxes[i];
		struct tasks_task	*t;

		if (!fwd_task_valid(kb->task_id) ||
		    (t = tasks_find(p->tc, kb->task_id)) == NULL)
			continue;
		/* Held here (maybe waiting for its home's word), or its
		 * home's record here that is yet to be placed.  One homed
		 * here started over with what its home kept (msgs_replay):
		 * what the mailbox had above that is added. */
		if (t->hold == HOLD_NONE && !(t->home &&
		    tasks_unfinished(t->rec)))
			continue;
		memset(&b, 0, sizeof(b));
		b.v = kb->mailbox;
		b.n = kb->n_mailbox;
		b.s = kb->mailbox_seen;
		b.ns = kb->n_mailbox_seen;
		if (t->home)
			fwd_merge(p->msgs->f, lb_mono_ms(), kb->task_id, &b);
		else
			fwd_import(p->msgs->f, lb_mono_ms(), kb->task_id, &b);
		log_info("task %s: %zu messages kept across the stop",
		    kb->task_id, kb->n_mailbox);
	}
	if (f != NULL)
		lb__mailbox_file__free_unpacked(f, NULL);
	free(buf);
	/* Read once: a later crash must not bring them back. */
	if (unlink(path) == -1)
		log_warn("%s", path);
	free(path);
}

void
msgs_stop(struct peer *p)
{
	struct msgs	*ms = p->msgs;

	if (ms == NULL)
		return;
	mailboxes_save(p);
	keep_close(ms);
	event_free(ms->tick);
	fwd_free(ms->f);
	free(ms);
	p->msgs = NULL;
}
