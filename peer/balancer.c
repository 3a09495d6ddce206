/*
 * balancer.c - the shell around the balancing core (balance/): it feeds the
 * core the load vector, the waiting tasks and the polls that arrive, and
 * carries out what it decides: probes, answers, and the transfer of tasks
 * that have not started, as DESIGN's "Migration" describes (freeze,
 * transfer, install held, acknowledge, commit or abort).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peer.h"
#include "tasks.h"
#include "balance/balance.h"

#define LINKS_MAX	4096	/* forwarding links remembered */
#define RESULT_RETRY_MS	500

/* A transfer this peer started and has not decided yet. */
struct outgoing {
	uint64_t	 req_id;
	char		 task[LB_ID_MAX + 24];
	char		 peer[LB_ID_MAX];
	uint32_t	 epoch;		/* the new epoch */
	uint64_t	 started_ms;
	struct event	*timeout_ev;
	struct peer	*p;
	struct outgoing	*next;
};

/* A forwarding link: the task went there, at that epoch. */
struct link {
	char		task[LB_ID_MAX + 24];
	char		peer[LB_ID_MAX];
	uint32_t	epoch;
	int		committed;
};

struct balancer {
	struct balance		*core;
	struct balance_out	 out;
	struct event		*tick_ev;
	struct event		*orphan_ev;	/* once, after start */
	struct outgoing		*outgoing;
	struct link		*links;
	size_t			 nlinks, nextlink;
	uint64_t		 transfers_in, transfers_out, aborted;
	uint64_t		 transfer_ms, rerun;
};

static void	balancer_tick_cb(evutil_socket_t, short, void *);

/* Timer callbacks that get a task find the peer here (one per process). */
static struct peer *balancer_peer;

static void
send_to(struct peer *p, const char *id, Lb__PeerMsg *m)
{
	const char	*addr = members_addr(p, id, NULL);

	if (addr != NULL)
		net_send(p, addr, m);
}

/* The waiting tasks that may move, in arrival order. */
static struct balance_task *
movable(struct peer *p, size_t *n, char ***needs_out)
{
	struct balance_task	*v;
	char			**needs;
	size_t			  k = 0, cap = (size_t)exec_queued(p) + 1;
	uint64_t		  now = lb_mono_ms();

	v = lb_calloc(cap, sizeof(*v));
	needs = lb_calloc(cap, sizeof(*needs));
	for (struct task *t = exec_queue_head(p); t && k < cap; t = t->qnext) {
		Lb__TaskSpec *s = t->rec->spec;
		needs[k] = lb_join_list(s->needs, s->n_needs);
		v[k].id = t->rec->id;
		v[k].pinned = s->pin[0] != '\0';
		v[k].pin = s->pin;
		v[k].moves = t->rec->epoch > 0 ? t->rec->epoch - 1 : 0;
		v[k].needs = needs[k];
		v[k].queued_ms = t->queued_ms;
		/* Submitted here a moment ago, and never moved. */
		v[k].fresh = v[k].moves == 0 && now - t->queued_ms <
		    (uint64_t)p->conf.balance.interval_ms * 2;
		k++;
	}
	*n = k;
	*needs_out = needs;
	return v;
}

static void
free_movable(struct balance_task *v, char **needs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(needs[i]);
	free(needs);
	free(v);
}

/* The load vector: live peers, this one aside. */
static struct balance_peer *
vector(struct peer *p, size_t *n)
{
	const struct gossip_member	*m;
	struct balance_peer		*v;
	size_t				 nm, k = 0;

	m = gossip_members(p->gossip, &nm);
	v = lb_calloc(nm + 1, sizeof(*v));
	for (size_t i = 0; i < nm; i++) {
		if (m[i].self || m[i].state != GOSSIP_ALIVE)
			continue;
		v[k].id = m[i].e.id;
		v[k].load = m[i].e.load;
		v[k].slots = m[i].e.slots;
		v[k].attrs = m[i].e.attrs;
		k++;
	}
	*n = k;
	return v;
}

static void	transfer_start(struct peer *, const char *task, const char *to,
		    uint64_t req_id);

static const char *
self_attrs(struct peer *p)
{
	size_t		 n;
	return gossip_members(p->gossip, &n)[0].e.attrs;
}

/* Carry out what the core decided. */
static void
carry_out(struct peer *p)
{
	struct balancer	*b = p->bal;

	for (size_t i = 0; i < b->out.n; i++) {
		struct balance_action	*a = &b->out.v[i];
		Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
		Lb__Probe		 pr = LB__PROBE__INIT;
		Lb__ProbeReply		 rp = LB__PROBE_REPLY__INIT;
		char			*copy = NULL;
		struct task		*t;

		switch (a->kind) {
		case BA_OFFER:
		case BA_REQUEST:
			pr.req_id = a->req_id;
			pr.request = a->kind == BA_REQUEST;
			pr.must = a->must;
			pr.load = members_load(p);
			pr.slots = (uint32_t)p->conf.slots;
			if (a->kind == BA_OFFER && (t = tasks_find(p, a->task)))
				pr.needs = t->rec->spec->needs,
				pr.n_needs = t->rec->spec->n_needs;
			else if (a->kind == BA_REQUEST)
				pr.attributes = lb_split_list(self_attrs(p),
				    &pr.n_attributes, &copy);
			m.body_case = LB__PEER_MSG__BODY_PROBE;
			m.probe = &pr;
			log_debug("balance: %s %s", a->kind == BA_OFFER ?
			    "offer to" : "request to", a->peer);
			send_to(p, a->peer, &m);
			if (a->kind == BA_REQUEST)
				free(pr.attributes);
			free(copy);
			break;
		case BA_ACCEPT:
		case BA_REFUSE:
			rp.req_id = a->req_id;
			rp.accept = a->kind == BA_ACCEPT;
			m.body_case = LB__PEER_MSG__BODY_PROBE_REPLY;
			m.probe_reply = &rp;
			send_to(p, a->peer, &m);
			break;
		case BA_TRANSFER:
			transfer_start(p, a->task, a->peer, a->req_id);
			break;
		}
	}
	balance_out_reset(&b->out);
}

static void
schedule_tick(struct peer *p, int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(p->bal->tick_ev, &tv);
}

static void
balancer_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer		*p = arg;
	struct balancer		*b = p->bal;
	struct balance_peer	*peers;
	struct balance_task	*tasks;
	char			**needs;
	size_t			  np, nt;

	if (!p->leaving) {
		peers = vector(p, &np);
		tasks = movable(p, &nt, &needs);
		balance_tick(b->core, lb_mono_ms(), members_load(p),
		    (uint32_t)p->conf.slots, peers, np, tasks, nt, &b->out);
		free_movable(tasks, needs, nt);
		free(peers);
		carry_out(p);
	}
	schedule_tick(p, p->conf.balance.interval_ms);
}

void
balancer_kick(struct peer *p)
{
	if (p->bal != NULL && p->conf.balance.policy != BALANCE_NONE)
		schedule_tick(p, 0);
}

/*
 * Once, when gossip has had time to see who is dead: tasks homed here that
 * were held by a peer that died while this one was down would wait for a
 * result that will never come.  Run them again.
 */
static void
orphan_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer	*p = arg;
	struct task	**all;
	size_t		  n;
	char		**gone = NULL;
	size_t		  ngone = 0;

	all = tasks_all(p, &n);
	for (size_t i = 0; i < n; i++) {
		Lb__TaskRecord *r = all[i]->rec;
		size_t k;
		if (!tasks_is_home(p, r->id) || !strcmp(r->host, p->conf.id) ||
		    (r->state != LB__TASK_STATE__TASK_QUEUED &&
		    r->state != LB__TASK_STATE__TASK_RUNNING) ||
		    members_addr(p, r->host, NULL) != NULL)
			continue;
		for (k = 0; k < ngone; k++)
			if (!strcmp(gone[k], r->host))
				break;
		if (k == ngone) {
			gone = lb_reallocarray(gone, ngone + 1, sizeof(*gone));
			gone[ngone++] = lb_strdup(r->host);
		}
	}
	for (size_t k = 0; k < ngone; k++) {
		balancer_peer_dead(p, gone[k]);
		free(gone[k]);
	}
	free(gone);
}

void
balancer_start(struct peer *p)
{
	struct balancer		*b = lb_calloc(1, sizeof(*b));
	struct balance_conf	 c;
	const struct lb_balance_conf *bc = &p->conf.balance;

	memset(&c, 0, sizeof(c));
	c.policy = (enum balance_policy)bc->policy;
	c.location = (enum balance_location)bc->location;
	c.lower = bc->lower_threshold;
	c.upper = bc->upper_threshold;
	c.probe_limit = bc->probe_limit;
	c.probe_timeout_ms = bc->probe_timeout_ms;
	c.reserve_ms = bc->reserve_ms;
	c.backoff_ms = bc->backoff_ms;
	c.backoff_max_ms = bc->backoff_max_ms;
	c.max_moves = bc->max_moves;
	b->core = balance_new(&c, p->conf.id, self_attrs(p),
	    lb_rng_next(&p->rng));
	b->links = lb_calloc(LINKS_MAX, sizeof(*b->links));
	b->tick_ev = evtimer_new(p->base, balancer_tick_cb, p);
	p->bal = b;
	balancer_peer = p;
	schedule_tick(p, bc->interval_ms);
	{
		int ms = p->conf.gossip.dead_ms + 2 * p->conf.gossip.interval_ms;
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		b->orphan_ev = evtimer_new(p->base, orphan_cb, p);
		evtimer_add(b->orphan_ev, &tv);
	}
}

void
balancer_stop(struct peer *p)
{
	struct balancer	*b = p->bal;

	if (b == NULL)
		return;
	while (b->outgoing) {
		struct outgoing *o = b->outgoing;
		b->outgoing = o->next;
		event_free(o->timeout_ev);
		free(o);
	}
	event_free(b->tick_ev);
	event_free(b->orphan_ev);
	balance_out_free(&b->out);
	balance_free(b->core);
	free(b->links);
	free(b);
	p->bal = NULL;
}

static void
link_add(struct balancer *b, const char *task, const char *peer,
    uint32_t epoch)
{
	struct link	*l = &b->links[b->nextlink];

	lb_strlcpy(l->task, task, sizeof(l->task));
	lb_strlcpy(l->peer, peer, sizeof(l->peer));
	l->epoch = epoch;
	l->committed = 1;
	b->nextlink = (b->nextlink + 1) % LINKS_MAX;
	if (b->nlinks < LINKS_MAX)
		b->nlinks++;
}

static struct link *
link_find(struct balancer *b, const char *task, uint32_t epoch)
{
	for (size_t i = 0; i < b->nlinks; i++)
		if (b->links[i].epoch == epoch &&
		    strcmp(b->links[i].task, task) == 0)
			return &b->links[i];
	return NULL;
}

/* ---- transfers: the source side ---- */

static void
outgoing_free(struct peer *p, struct outgoing *o)
{
	struct outgoing	**pp;

	for (pp = &p->bal->outgoing; *pp; pp = &(*pp)->next)
		if (*pp == o) {
			*pp = o->next;
			break;
		}
	event_free(o->timeout_ev);
	free(o);
}

static void
send_commit(struct peer *p, const char *to, const char *task, uint32_t epoch,
    int commit)
{
	Lb__PeerMsg		m = LB__PEER_MSG__INIT;
	Lb__TransferCommit	c = LB__TRANSFER_COMMIT__INIT;

	c.task_id = (char *)task;
	c.epoch = epoch;
	c.commit = commit;
	m.body_case = LB__PEER_MSG__BODY_TRANSFER_COMMIT;
	m.transfer_commit = &c;
	send_to(p, to, &m);
}

/* No acknowledgement in time: keep the task, tell the other side. */
static void
transfer_abort(struct peer *p, struct outgoing *o, const char *why)
{
	struct task	*t = tasks_find(p, o->task);

	log_info("task %s: transfer to %s aborted (%s); it stays here",
	    o->task, o->peer, why);
	send_commit(p, o->peer, o->task, o->epoch, 0);
	p->bal->aborted++;
	if (t != NULL && t->moving) {
		t->moving = 0;
		exec_enqueue(p, t);
		exec_schedule(p);
	}
	outgoing_free(p, o);
}

static void
transfer_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct outgoing	*o = arg;

	transfer_abort(o->p, o, "no acknowledgement in time");
}

/* Read an attached file back from the task's directory. */
static void
load_file(struct task *t, Lb__TaskFile *f)
{
	char	*path = lb_printf("%s/%s", t->dir, f->name);
	FILE	*fp = fopen(path, "r");

	f->data.data = NULL;
	f->data.len = 0;
	if (fp != NULL) {
		f->data.data = lb_calloc(1, f->size + 1);
		f->data.len = fread(f->data.data, 1, f->size, fp);
		fclose(fp);
	} else
		log_warn("%s", path);
	free(path);
}

static void
transfer_start(struct peer *p, const char *id, const char *to, uint64_t req_id)
{
	struct task	 *t = tasks_find(p, id);
	struct outgoing	 *o;
	Lb__PeerMsg	  m = LB__PEER_MSG__INIT;
	Lb__Transfer	  tr = LB__TRANSFER__INIT;
	Lb__TaskRecord	 *r;
	Lb__TaskFile	**files, *fv;
	Lb__TaskVisit	 *v;
	struct timeval	  tv;
	uint64_t	  now = lb_wall_ms();
	int		  ms = p->conf.balance.transfer_timeout_ms;

	/* Freeze: it must still be waiting here (a slot may have freed). */
	if (t == NULL || !t->queued || t->moving ||
	    members_addr(p, to, NULL) == NULL)
		return;
	exec_dequeue(p, t);
	t->moving = 1;
	r = rec_clone(t->rec);
	r->epoch++;
	rec_set_str(&r->host, to);
	if (r->n_hosts > 0 && r->hosts[r->n_hosts - 1]->left_ms == 0)
		r->hosts[r->n_hosts - 1]->left_ms = now;
	r->hosts = lb_reallocarray(r->hosts, r->n_hosts + 1, sizeof(*r->hosts));
	v = lb_calloc(1, sizeof(*v));
	lb__task_visit__init(v);
	v->node = lb_strdup(to);
	v->arrived_ms = now;
	r->hosts[r->n_hosts++] = v;
	files = lb_calloc(r->spec->n_files + 1, sizeof(*files));
	fv = lb_calloc(r->spec->n_files + 1, sizeof(*fv));
	for (size_t i = 0; i < r->spec->n_files; i++) {
		fv[i] = *r->spec->files[i];
		load_file(t, &fv[i]);
		files[i] = &fv[i];
	}
	tr.req_id = req_id;
	tr.record = r;
	tr.files = files;
	tr.n_files = r->spec->n_files;
	m.body_case = LB__PEER_MSG__BODY_TRANSFER;
	m.transfer = &tr;
	send_to(p, to, &m);
	o = lb_calloc(1, sizeof(*o));
	o->p = p;
	o->req_id = req_id;
	lb_strlcpy(o->task, id, sizeof(o->task));
	lb_strlcpy(o->peer, to, sizeof(o->peer));
	o->epoch = r->epoch;
	o->started_ms = lb_mono_ms();
	o->timeout_ev = evtimer_new(p->base, transfer_timeout_cb, o);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(o->timeout_ev, &tv);
	o->next = p->bal->outgoing;
	p->bal->outgoing = o;
	log_debug("task %s: transferring to %s (epoch %u)", id, to, r->epoch);
	for (size_t i = 0; i < r->spec->n_files; i++)
		free(fv[i].data.data);
	free(files);
	free(fv);
	lb__task_record__free_unpacked(r, NULL);
}

/* The destination has the task: it is the destination's now. */
static void
transfer_commit(struct peer *p, struct outgoing *o)
{
	struct task	*t = tasks_find(p, o->task);
	Lb__PeerMsg	 m = LB__PEER_MSG__INIT;
	Lb__TaskMoved	 mv = LB__TASK_MOVED__INIT;
	uint64_t	 now = lb_wall_ms();
	Lb__TaskVisit	*v;

	if (t == NULL) {
		outgoing_free(p, o);
		return;
	}
	/* The record as it is now: its new host and epoch. */
	t->rec->epoch = o->epoch;
	rec_set_str(&t->rec->host, o->peer);
	if (t->rec->n_hosts > 0 && t->rec->hosts[t->rec->n_hosts - 1]->left_ms
	    == 0)
		t->rec->hosts[t->rec->n_hosts - 1]->left_ms = now;
	t->rec->hosts = lb_reallocarray(t->rec->hosts, t->rec->n_hosts + 1,
	    sizeof(*t->rec->hosts));
	v = lb_calloc(1, sizeof(*v));
	lb__task_visit__init(v);
	v->node = lb_strdup(o->peer);
	v->arrived_ms = now;
	t->rec->hosts[t->rec->n_hosts++] = v;
	t->moving = 0;
	link_add(p->bal, o->task, o->peer, o->epoch);
	p->bal->transfers_out++;
	p->bal->transfer_ms += lb_mono_ms() - o->started_ms;
	log_info("task %s moved to %s (epoch %u, %llu ms)", o->task, o->peer,
	    o->epoch, (unsigned long long)(lb_mono_ms() - o->started_ms));
	if (tasks_is_home(p, o->task))
		tasks_save(p, t, 1);	/* the home's record, on disk first */
	else {
		mv.record = t->rec;
		m.body_case = LB__PEER_MSG__BODY_TASK_MOVED;
		m.task_moved = &mv;
		send_to(p, tasks_home_of(o->task), &m);
	}
	send_commit(p, o->peer, o->task, o->epoch, 1);
	/* The home keeps its copy (and the files) to run it again if the new
	 * host dies; any other source forgets it, leaving the link. */
	if (!tasks_is_home(p, o->task))
		tasks_remove(p, t);
	members_load_changed(p);
	outgoing_free(p, o);
}

/* ---- transfers: the destination side ---- */

static void
send_ack(struct peer *p, const char *to, uint64_t req_id, const char *task,
    uint32_t epoch, int ok, const char *error)
{
	Lb__PeerMsg	m = LB__PEER_MSG__INIT;
	Lb__TransferAck	a = LB__TRANSFER_ACK__INIT;

	a.req_id = req_id;
	a.task_id = (char *)task;
	a.epoch = epoch;
	a.ok = ok;
	a.error = (char *)(error ? error : "");
	m.body_case = LB__PEER_MSG__BODY_TRANSFER_ACK;
	m.transfer_ack = &a;
	send_to(p, to, &m);
}

/* Held long enough without a commit or an abort: ask the source, then the
 * home, until one answers. */
static void
hold_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct task		*t = arg;
	struct peer		*p = balancer_peer;
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__TaskResolve		 r = LB__TASK_RESOLVE__INIT;
	struct timeval		 tv;

	r.task_id = t->rec->id;
	r.epoch = t->rec->epoch;
	m.body_case = LB__PEER_MSG__BODY_TASK_RESOLVE;
	m.task_resolve = &r;
	if (members_addr(p, t->from, NULL) != NULL)
		send_to(p, t->from, &m);
	else
		send_to(p, tasks_home_of(t->rec->id), &m);
	tv.tv_sec = p->conf.balance.transfer_timeout_ms / 1000;
	tv.tv_usec = (p->conf.balance.transfer_timeout_ms % 1000) * 1000;
	evtimer_add(t->hold_ev, &tv);
}

struct delayed_ack {
	struct peer	*p;
	char		 to[LB_ID_MAX];
	char		 task[LB_ID_MAX + 24];
	uint64_t	 req_id;
	uint32_t	 epoch;
	struct event	*ev;
};

static void
delayed_ack_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct delayed_ack	*d = arg;

	send_ack(d->p, d->to, d->req_id, d->task, d->epoch, 1, NULL);
	event_free(d->ev);
	free(d);
}

static void
transfer_recv(struct peer *p, const char *from, const Lb__Transfer *tr)
{
	Lb__TaskRecord	*r = tr->record;
	struct task	*t;
	char		*why = NULL;
	struct timeval	 tv;
	int		 ms = p->conf.balance.transfer_timeout_ms * 3;

	if (r == NULL || r->spec == NULL || !r->id[0] || r->spec->n_argv == 0) {
		send_ack(p, from, tr->req_id, r ? r->id : "", 0, 0, "bad record");
		return;
	}
	if ((t = tasks_find(p, r->id)) != NULL) {
		/* A copy from an earlier epoch, here: the newer one wins. */
		if (t->rec->epoch >= r->epoch || !t->held) {
			send_ack(p, from, tr->req_id, r->id, r->epoch, t->held,
			    t->held ? NULL : "already here");
			return;
		}
	}
	t = tasks_install(p, rec_clone(r));
	t->held = 1;
	lb_strlcpy(t->from, from, sizeof(t->from));
	if (mkdir(t->dir, 0700) == -1 && errno != EEXIST)
		why = lb_printf("%s: %s", t->dir, strerror(errno));
	for (size_t i = 0; why == NULL && i < tr->n_files; i++) {
		const Lb__TaskFile *f = tr->files[i];
		char *path;
		int fd;

		if (strchr(f->name, '/') || !f->name[0]) {
			why = lb_strdup("bad attachment name");
			break;
		}
		path = lb_printf("%s/%s", t->dir, f->name);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    (f->mode & 0777) | 0600);
		if (fd == -1 || write(fd, f->data.data, f->data.len) !=
		    (ssize_t)f->data.len)
			why = lb_printf("%s: %s", path, strerror(errno));
		if (fd != -1) {
			fchmod(fd, f->mode & 07777);
			close(fd);
		}
		free(path);
	}
	if (why != NULL) {
		send_ack(p, from, tr->req_id, r->id, r->epoch, 0, why);
		free(why);
		tasks_remove(p, t);
		return;
	}
	t->hold_ev = evtimer_new(p->base, hold_cb, t);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(t->hold_ev, &tv);
	balance_arrived(p->bal->core, lb_mono_ms());
	log_info("task %s held, from %s (epoch %u): waiting for the commit",
	    r->id, from, r->epoch);
	if (p->conf.balance.transfer_delay_ms > 0) {
		/* For tests: a window in which to kill this peer. */
		struct delayed_ack *d = lb_calloc(1, sizeof(*d));
		int dm = p->conf.balance.transfer_delay_ms;
		d->p = p;
		lb_strlcpy(d->to, from, sizeof(d->to));
		lb_strlcpy(d->task, r->id, sizeof(d->task));
		d->req_id = tr->req_id;
		d->epoch = r->epoch;
		d->ev = evtimer_new(p->base, delayed_ack_cb, d);
		tv.tv_sec = dm / 1000;
		tv.tv_usec = (dm % 1000) * 1000;
		evtimer_add(d->ev, &tv);
		return;
	}
	send_ack(p, from, tr->req_id, r->id, r->epoch, 1, NULL);
}

static void
commit_recv(struct peer *p, const Lb__TransferCommit *c)
{
	struct task	*t = tasks_find(p, c->task_id);

	if (t == NULL || !t->held || t->rec->epoch != c->epoch)
		return;
	event_free(t->hold_ev);
	t->hold_ev = NULL;
	t->held = 0;
	if (!c->commit) {
		log_info("task %s: transfer from %s aborted", c->task_id, t->from);
		tasks_remove(p, t);
		return;
	}
	p->bal->transfers_in++;
	log_info("task %s arrived from %s (epoch %u)", c->task_id, t->from,
	    c->epoch);
	t->rec->state = LB__TASK_STATE__TASK_QUEUED;
	exec_enqueue(p, t);
	exec_schedule(p);
	balancer_kick(p);
}

/* Someone holding a task asks whether its transfer was committed. */
static void
resolve_recv(struct peer *p, const char *from, const Lb__TaskResolve *r)
{
	struct link	*l = link_find(p->bal, r->task_id, r->epoch);
	struct task	*t = tasks_find(p, r->task_id);

	if (l != NULL && strcmp(l->peer, from) == 0) {
		send_commit(p, from, r->task_id, r->epoch, 1);
		return;
	}
	/* The home decides from its record, when the source cannot. */
	if (t != NULL && tasks_is_home(p, r->task_id)) {
		int yes = t->rec->epoch == r->epoch &&
		    strcmp(t->rec->host, from) == 0;
		send_commit(p, from, r->task_id, r->epoch, yes);
		return;
	}
	for (struct outgoing *o = p->bal->outgoing; o; o = o->next)
		if (strcmp(o->task, r->task_id) == 0)
			return;		/* still deciding */
	send_commit(p, from, r->task_id, r->epoch, 0);
}

static void
ack_recv(struct peer *p, const char *from, const Lb__TransferAck *a)
{
	for (struct outgoing *o = p->bal->outgoing; o; o = o->next) {
		if (o->req_id != a->req_id || strcmp(o->peer, from) != 0)
			continue;
		if (a->ok)
			transfer_commit(p, o);
		else
			transfer_abort(p, o, a->error[0] ? a->error :
			    "refused");
		return;
	}
	/* Too late: we aborted already; make sure the other side knows. */
	if (a->ok)
		send_commit(p, from, a->task_id, a->epoch, 0);
}

/* ---- results and news to the home ---- */

static void
result_cb(evutil_socket_t fd, short ev, void *arg)
{
	balancer_report(balancer_peer, arg);
}

void
balancer_report(struct peer *p, struct task *t)
{
	Lb__PeerMsg	 m = LB__PEER_MSG__INIT;
	Lb__TaskResult	 res = LB__TASK_RESULT__INIT;
	Lb__TaskUpdate	 up = LB__TASK_UPDATE__INIT;
	const char	*home = tasks_home_of(t->rec->id);
	struct timeval	 tv = { RESULT_RETRY_MS / 1000,
			    (RESULT_RETRY_MS % 1000) * 1000 };

	if (p->bal == NULL)
		return;
	if (t->rec->state == LB__TASK_STATE__TASK_QUEUED ||
	    t->rec->state == LB__TASK_STATE__TASK_RUNNING) {
		up.record = t->rec;
		m.body_case = LB__PEER_MSG__BODY_TASK_UPDATE;
		m.task_update = &up;
		send_to(p, home, &m);
		return;
	}
	/* Ended: the result goes home, again and again until acknowledged. */
	res.record = t->rec;
	tasks_output(t, &res.stdout, &res.stderr);
	m.body_case = LB__PEER_MSG__BODY_TASK_RESULT;
	m.task_result = &res;
	send_to(p, home, &m);
	free(res.stdout.data);
	free(res.stderr.data);
	if (t->result_ev == NULL)
		t->result_ev = evtimer_new(p->base, result_cb, t);
	evtimer_add(t->result_ev, &tv);
}

static void
result_recv(struct peer *p, const char *from, const Lb__TaskResult *res)
{
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__TaskResultAck	 a = LB__TASK_RESULT_ACK__INIT;
	Lb__TaskRecord		*r = res->record;
	struct task		*t;

	if (r == NULL || (t = tasks_find(p, r->id)) == NULL ||
	    !tasks_is_home(p, r->id))
		return;
	if (r->epoch >= t->rec->epoch && (t->rec->state ==
	    LB__TASK_STATE__TASK_QUEUED || t->rec->state ==
	    LB__TASK_STATE__TASK_RUNNING) && !t->queued && t->pid <= 0) {
		/* The result of the newest epoch: record it, once. */
		Lb__TaskRecord *n = rec_clone(r);
		if (t->rec->pgid == 0)
			n->pgid = 0;
		free(n->stdout_inline.data);
		free(n->stderr_inline.data);
		n->stdout_inline.data = n->stderr_inline.data = NULL;
		n->stdout_inline.len = n->stderr_inline.len = 0;
		lb__task_record__free_unpacked(t->rec, NULL);
		t->rec = n;
		tasks_store_output(p, t, &res->stdout, &res->stderr);
		tasks_save(p, t, 1);
		log_info("task %s: result from %s recorded (%s)", r->id, from,
		    task_state_name(r->state));
	}
	a.task_id = r->id;
	a.epoch = r->epoch;
	m.body_case = LB__PEER_MSG__BODY_TASK_RESULT_ACK;
	m.task_result_ack = &a;
	send_to(p, from, &m);
}

static void
result_ack_recv(struct peer *p, const Lb__TaskResultAck *a)
{
	struct task	*t = tasks_find(p, a->task_id);

	if (t == NULL || tasks_is_home(p, a->task_id) || t->rec->epoch !=
	    a->epoch || t->pid > 0 || t->queued)
		return;
	tasks_remove(p, t);
}

static void
moved_recv(struct peer *p, const Lb__TaskMoved *mv)
{
	struct task	*t;

	if (mv->record == NULL || (t = tasks_find(p, mv->record->id)) == NULL ||
	    !tasks_is_home(p, mv->record->id) || mv->record->epoch <=
	    t->rec->epoch)
		return;
	t->rec->epoch = mv->record->epoch;
	rec_set_str(&t->rec->host, mv->record->host);
	lb__task_record__free_unpacked(t->rec, NULL);
	t->rec = rec_clone(mv->record);
	tasks_save(p, t, 1);
}

static void
update_recv(struct peer *p, const Lb__TaskUpdate *up)
{
	struct task	*t;
	Lb__TaskRecord	*r = up->record;

	if (r == NULL || (t = tasks_find(p, r->id)) == NULL ||
	    !tasks_is_home(p, r->id) || r->epoch < t->rec->epoch ||
	    t->queued || t->pid > 0 || (t->rec->state !=
	    LB__TASK_STATE__TASK_QUEUED && t->rec->state !=
	    LB__TASK_STATE__TASK_RUNNING))
		return;
	lb__task_record__free_unpacked(t->rec, NULL);
	t->rec = rec_clone(r);
	t->rec->pgid = 0;
	tasks_save(p, t, 0);
}

/* A peer died: the tasks homed here that it held run here again. */
void
balancer_peer_dead(struct peer *p, const char *id)
{
	struct task	**all;
	size_t		  n;
	uint64_t	  now = lb_wall_ms();

	if (p->tt == NULL || p->bal == NULL)
		return;
	all = tasks_all(p, &n);
	for (size_t i = 0; i < n; i++) {
		struct task *t = all[i];
		Lb__TaskVisit *v;

		if (!tasks_is_home(p, t->rec->id) || strcmp(t->rec->host, id) ||
		    (t->rec->state != LB__TASK_STATE__TASK_QUEUED &&
		    t->rec->state != LB__TASK_STATE__TASK_RUNNING))
			continue;
		t->rec->epoch++;
		t->rec->state = LB__TASK_STATE__TASK_QUEUED;
		rec_set_str(&t->rec->host, p->conf.id);
		if (t->rec->n_hosts > 0)
			t->rec->hosts[t->rec->n_hosts - 1]->left_ms = now;
		t->rec->hosts = lb_reallocarray(t->rec->hosts, t->rec->n_hosts +
		    1, sizeof(*t->rec->hosts));
		v = lb_calloc(1, sizeof(*v));
		lb__task_visit__init(v);
		v->node = lb_strdup(p->conf.id);
		v->arrived_ms = now;
		t->rec->hosts[t->rec->n_hosts++] = v;
		tasks_save(p, t, 1);
		log_info("task %s: its host %s died; running it again here "
		    "(epoch %u)", t->rec->id, id, t->rec->epoch);
		p->bal->rerun++;
		exec_enqueue(p, t);
	}
	exec_schedule(p);
	balancer_kick(p);
}

/* ---- polls ---- */

static void
probe_recv(struct peer *p, const char *from, const Lb__Probe *pr)
{
	struct balancer		*b = p->bal;
	char			*needs, *attrs;
	struct balance_task	*tasks;
	char			**tneeds;
	size_t			  nt;
	uint64_t		  now = lb_mono_ms();

	if (p->leaving) {
		balance_offer(b->core, now, from, pr->req_id, UINT32_MAX / 2,
		    1, "-", 0, &b->out);	/* refuses */
		carry_out(p);
		return;
	}
	if (!pr->request) {
		needs = lb_join_list(pr->needs, pr->n_needs);
		balance_offer(b->core, now, from, pr->req_id, members_load(p),
		    (uint32_t)p->conf.slots, needs, pr->must, &b->out);
		free(needs);
	} else {
		attrs = lb_join_list(pr->attributes, pr->n_attributes);
		tasks = movable(p, &nt, &tneeds);
		balance_request(b->core, now, from, attrs, pr->req_id,
		    members_load(p), (uint32_t)p->conf.slots, tasks, nt, &b->out);
		free_movable(tasks, tneeds, nt);
		free(attrs);
	}
	carry_out(p);
}

static void
probe_reply_recv(struct peer *p, const Lb__ProbeReply *r)
{
	balance_answer(p->bal->core, lb_mono_ms(), r->req_id, r->accept,
	    &p->bal->out);
	carry_out(p);
}

void
balancer_recv(struct peer *p, const char *from, const Lb__PeerMsg *m)
{
	if (p->bal == NULL)
		return;
	switch (m->body_case) {
	case LB__PEER_MSG__BODY_PROBE:
		probe_recv(p, from, m->probe);
		break;
	case LB__PEER_MSG__BODY_PROBE_REPLY:
		probe_reply_recv(p, m->probe_reply);
		break;
	case LB__PEER_MSG__BODY_TRANSFER:
		transfer_recv(p, from, m->transfer);
		break;
	case LB__PEER_MSG__BODY_TRANSFER_ACK:
		ack_recv(p, from, m->transfer_ack);
		break;
	case LB__PEER_MSG__BODY_TRANSFER_COMMIT:
		commit_recv(p, m->transfer_commit);
		break;
	case LB__PEER_MSG__BODY_TASK_RESOLVE:
		resolve_recv(p, from, m->task_resolve);
		break;
	case LB__PEER_MSG__BODY_TASK_MOVED:
		moved_recv(p, m->task_moved);
		break;
	case LB__PEER_MSG__BODY_TASK_RESULT:
		result_recv(p, from, m->task_result);
		break;
	case LB__PEER_MSG__BODY_TASK_RESULT_ACK:
		result_ack_recv(p, m->task_result_ack);
		break;
	case LB__PEER_MSG__BODY_TASK_UPDATE:
		update_recv(p, m->task_update);
		break;
	default:
		break;
	}
}

void
balancer_stats(struct peer *p, Lb__CtlStats *s)
{
	const struct balance_stats	*c = balance_stats(p->bal->core);

	s->policy = (char *)balance_policy_name(
	    (enum balance_policy)p->conf.balance.policy);
	s->probes_sent = c->probes_sent;
	s->probes_accepted = c->probes_accepted;
	s->probes_refused = c->probes_refused;
	s->probes_timed_out = c->probes_timed_out;
	s->backoffs = c->backoffs;
	s->offers_taken = c->offers_taken;
	s->requests_served = c->requests_served;
	s->transfers_in = p->bal->transfers_in;
	s->transfers_out = p->bal->transfers_out;
	s->transfers_aborted = p->bal->aborted;
	s->transfer_ms_total = p->bal->transfer_ms;
	s->tasks_rerun = p->bal->rerun;
}
