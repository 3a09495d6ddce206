/*
 * glue.c - the shell around the task core: it feeds tasks/ the events
 * (messages, process exits, peers dead or back, ticks, the user's requests)
 * and carries out its actions with the executor, the store, the transport
 * and the membership.  It is the only file of peer/ that knows the task
 * messages; the others do one thing each and call nothing back but through
 * the callbacks given to them here.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"
#include "exec.h"
#include "glue.h"
#include "store.h"
#include "balance/balance.h"
#include "tasks/tasks.h"

#define TICK_MS		100	/* retries, timeouts, expiry */
#define REMOTE_MAX	256	/* answers from other homes kept */
#define REMOTE_ASK_MS	200	/* ask a home again after this */
#define LINKS_MAX	4096
#define LINK_KEEP_S	3600

/* An answer from another home, and when we asked. */
struct remote {
	char		 id[TASKS_ID_MAX];
	uint64_t	 req_id;
	uint64_t	 asked_ms;
	uint64_t	 answered_ms;
	int		 want_output;	/* someone wants the output too */
	int		 asked_output;	/* the last query asked for it */
	int		 ans_output;	/* the answer we have carries it */
	Lb__TaskAnswer	*ans;
};

struct glue {
	struct event	*tick_ev;
	struct event	*orphan_ev;	/* once, after start */
	struct remote	 remote[REMOTE_MAX];
	uint64_t	 next_req;
	uint64_t	 drop_task_msgs;
};

static void	carry(struct peer *, struct tasks_out *);

static const char *
addr_of(struct peer *p, const char *id)
{
	return members_addr(p, id, NULL);
}

static uint64_t
inc_of(struct peer *p, const char *id)
{
	const struct gossip_member	*m = gossip_find(p->gossip, id);

	return m ? m->e.incarnation : 0;
}

/* A Transfer gets the attachments' bytes; a notice of a result its output. */
static int
complete(struct peer *p, struct tasks_action *a, uint8_t **buf, size_t *len)
{
	Lb__PeerMsg	*m = lb__peer_msg__unpack(NULL, a->len, a->msg);
	char		*cause = NULL;
	int		 rc = 0;

	if (m == NULL)
		return -1;
	if (a->with_files && m->body_case == LB__PEER_MSG__BODY_TRANSFER) {
		Lb__Transfer *tr = m->transfer;
		Lb__TaskSpec *s = tr->record->spec;
		tr->files = lb_calloc(s->n_files + 1, sizeof(*tr->files));
		for (size_t i = 0; i < s->n_files; i++) {
			tr->files[i] = lb_calloc(1, sizeof(Lb__TaskFile));
			lb__task_file__init(tr->files[i]);
			tr->files[i]->name = lb_strdup(s->files[i]->name);
			tr->files[i]->mode = s->files[i]->mode;
			tr->files[i]->size = s->files[i]->size;
			tr->n_files++;
		}
		if (store_read_files(p, a->id, tr->files, tr->n_files,
		    &cause) == -1) {
			log_warnx("task %s: %s", a->id, cause);
			free(cause);
			rc = -1;
		}
	}
	if (a->with_output && m->body_case == LB__PEER_MSG__BODY_TASK_NOTICE) {
		Lb__TaskNotice *n = m->task_notice;
		free(n->stdout.data);
		free(n->stderr.data);
		store_read_output(p, n->record, &n->stdout, &n->stderr);
	}
	if (rc == 0) {
		*len = lb__peer_msg__get_packed_size(m);
		*buf = lb_calloc(1, *len + 1);
		lb__peer_msg__pack(m, *buf);
	}
	lb__peer_msg__free_unpacked(m, NULL);
	return rc;
}

static void
do_send(struct peer *p, struct tasks_action *a)
{
	const char	*addr = addr_of(p, a->to);
	uint8_t		*buf = NULL;
	size_t		 len;

	if (addr == NULL)
		return;		/* dead or unknown: the core retries */
	if (a->with_files || a->with_output) {
		if (complete(p, a, &buf, &len) == -1)
			return;
		net_send_bytes(p, addr, buf, len);
		free(buf);
		return;
	}
	net_send_bytes(p, addr, a->msg, a->len);
}

static void
do_start(struct peer *p, const char *id, int resume, struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(p->tc, id);
	struct tasks_exit	 x;
	uint32_t		 pgid;
	char			*dir, *why = NULL;

	if (k == NULL)
		return;
	dir = store_dir(p, id);
	if (k->rec->spec->checkpointable && store_has_checkpoint(p, id))
		resume = 1;
	else if (!k->rec->spec->checkpointable)
		resume = 0;
	if (exec_spawn(p, k->rec, dir, resume, &pgid, &why) == 0)
		tasks_proc_started(p->tc, lb_mono_ms(), id, pgid, o);
	else {
		memset(&x, 0, sizeof(x));
		x.error = why;
		log_info("task %s failed: %s", id, why);
		tasks_proc_exited(p->tc, lb_mono_ms(), id, &x, o);
		free(why);
	}
	free(dir);
}

/* Carry out the core's actions, in order; what they cause, after them. */
static void
carry(struct peer *p, struct tasks_out *o)
{
	struct tasks_out	 next = { 0 };
	struct tasks_task	*k;
	char			*cause;

	for (size_t i = 0; i < o->n; i++) {
		struct tasks_action *a = &o->v[i];

		switch (a->kind) {
		case TA_SEND:
			do_send(p, a);
			break;
		case TA_SAVE:
			if ((k = tasks_find(p->tc, a->id)) != NULL)
				store_save(p, k->rec, a->sync);
			break;
		case TA_FORGET:
			store_forget(p, a->id);
			break;
		case TA_START:
			do_start(p, a->id, a->resume, &next);
			break;
		case TA_STOP:
			exec_kill(p, a->id);
			break;
		case TA_OUTPUT:
			if (store_write_output(p, a->id, a->out, a->err,
			    &cause) == -1)
				fatalx("task %s: output: %s", a->id, cause);
			break;
		case TA_NOTE:
			log_info("%s", a->note);
			break;
		case TA_LOAD:
			glue_load_changed(p);
			break;
		}
	}
	tasks_out_reset(o);
	if (next.n > 0)
		carry(p, &next);
	tasks_out_free(&next);
}

/* ---- events in ---- */

static void
proc_exited(struct peer *p, const char *id, struct tasks_exit *x)
{
	struct tasks_out	 o = { 0 };
	struct tasks_task	*k;

	tasks_proc_exited(p->tc, lb_mono_ms(), id, x, &o);
	carry(p, &o);
	tasks_out_free(&o);
	if ((k = tasks_find(p->tc, id)) != NULL && (k->hold == HOLD_NONE ||
	    k->hold == HOLD_ENDED))
		store_release_dir(p, id);
	balancer_kick(p);
}

static void
on_peer(struct peer *p, const char *id, int restarted, uint64_t inc)
{
	struct tasks_out	o = { 0 };

	if (restarted)
		tasks_peer_restarted(p->tc, lb_mono_ms(), id, inc, &o);
	else
		tasks_peer_dead(p->tc, lb_mono_ms(), id, &o);
	carry(p, &o);
	tasks_out_free(&o);
	balancer_kick(p);
}

static int
on_move(struct peer *p, const char *id, const char *to, uint64_t req_id)
{
	struct tasks_out	o = { 0 };
	int			rc;

	rc = tasks_move(p->tc, lb_mono_ms(), id, to, inc_of(p, to), req_id,
	    &o);
	carry(p, &o);
	tasks_out_free(&o);
	return rc;
}

/* Compaction hands the journal every record this peer keeps. */
struct compact_iter {
	struct tasks_task	**all;
	size_t			  n, i;
};

static const Lb__TaskRecord *
compact_next(void *arg)
{
	struct compact_iter	*it = arg;

	/* A placement not yet committed is not journaled (see tasks.h). */
	while (it->i < it->n && !it->all[it->i]->home &&
	    it->all[it->i]->hold == HOLD_PENDING)
		it->i++;
	return it->i < it->n ? it->all[it->i++]->rec : NULL;
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer		*p = arg;
	struct tasks_out	 o = { 0 };
	struct timeval		 tv = { 0, TICK_MS * 1000 };
	struct compact_iter	 it = { 0 };
	char			*cause;
	uint64_t		 before;

	tasks_tick(p->tc, lb_mono_ms(), &o);
	carry(p, &o);
	tasks_out_free(&o);
	/* More dead records than live: a snapshot of the live, then a fresh
	 * log, switched atomically. */
	if (store_compact_due(p, tasks_count(p->tc, NULL))) {
		it.all = tasks_all(p->tc, &it.n);
		before = store_journal_size(p);
		if (store_compact(p, compact_next, &it, &cause) == -1) {
			log_warnx("journal: compaction failed: %s", cause);
			free(cause);
		} else
			log_info("journal compacted: %zu records kept, %llu "
			    "bytes to %llu", it.n, (unsigned long long)before,
			    (unsigned long long)store_journal_size(p));
	}
	evtimer_add(p->glue->tick_ev, &tv);
}

/*
 * Once, when gossip has had time to see who is dead: tasks homed here whose
 * host died while this peer was down would wait for a result that will
 * never come.  Their hosts are reported dead to the core.
 */
static void
orphan_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer		 *p = arg;
	struct tasks_task	**all;
	struct tasks_out	  o = { 0 };
	struct gone {
		char		id[LB_ID_MAX];
		uint64_t	inc;	/* alive at this incarnation, or 0 */
	}			 *gone = NULL;
	size_t			  n, ngone = 0;

	/* First the hosts (copies: the core changes the table as it goes). */
	all = tasks_all(p->tc, &n);
	for (size_t i = 0; i < n; i++) {
		Lb__TaskRecord *r = all[i]->rec;
		const struct gossip_member *m;
		uint64_t inc = 0;
		size_t k;

		if (!all[i]->home || !tasks_unfinished(r) ||
		    strcmp(r->host, p->conf.id) == 0)
			continue;
		if (members_addr(p, r->host, NULL) != NULL) {
			/*
			 * Alive; but a host that restarted while this peer
			 * was down, at an incarnation that never confirmed
			 * the task, is no restart to a gossip table that is
			 * new: the core reruns what it did not confirm.
			 */
			m = gossip_find(p->gossip, r->host);
			if (m == NULL || m->e.incarnation <= r->host_inc)
				continue;
			inc = m->e.incarnation;
		}
		for (k = 0; k < ngone; k++)
			if (!strcmp(gone[k].id, r->host))
				break;
		if (k == ngone) {
			gone = lb_reallocarray(gone, ngone + 1, sizeof(*gone));
			lb_strlcpy(gone[ngone].id, r->host, LB_ID_MAX);
			gone[ngone++].inc = inc;
		}
	}
	for (size_t k = 0; k < ngone; k++) {
		if (gone[k].inc != 0)
			tasks_peer_restarted(p->tc, lb_mono_ms(), gone[k].id,
			    gone[k].inc, &o);
		else {
			log_info("%s is not alive: its tasks homed here run "
			    "again", gone[k].id);
			tasks_peer_dead(p->tc, lb_mono_ms(), gone[k].id, &o);
		}
		carry(p, &o);
	}
	free(gone);
	tasks_out_free(&o);
}

/* The files of a Transfer are those its spec names, of the sizes it
 * names, within the attachment limit. */
static int
files_match(struct peer *p, const Lb__Transfer *tr)
{
	const Lb__TaskSpec	*s = tr->record->spec;
	uint64_t		 total = 0;

	if (s == NULL || tr->n_files != s->n_files)
		return 0;
	for (size_t i = 0; i < tr->n_files; i++) {
		if (strcmp(tr->files[i]->name, s->files[i]->name) != 0 ||
		    tr->files[i]->data.len != s->files[i]->size)
			return 0;
		total += tr->files[i]->data.len;
	}
	return total <= (uint64_t)p->conf.task.attach_limit_kb * 1024;
}

/* A Transfer: its attachments are written before the core looks at it, in
 * a directory that goes again if the core does not keep the task. */
static void
transfer_in(struct peer *p, const char *from, uint64_t inc,
    const Lb__PeerMsg *m, struct tasks_out *o)
{
	const Lb__Transfer	*tr = m->transfer;
	struct tasks_task	*k;
	char			*cause = NULL;
	int			 fresh;

	if (tr->record == NULL || !tasks_id_valid(tr->record->id)) {
		p->glue->drop_task_msgs++;
		return;
	}
	if (!files_match(p, tr)) {
		p->glue->drop_task_msgs++;
		log_warnx("task %s: transfer from %s: its files are not the "
		    "ones its spec names", tr->record->id, from);
		return;
	}
	fresh = tasks_find(p->tc, tr->record->id) == NULL;
	if (fresh) {
		if (store_mkdir(p, tr->record->id,
		    &cause) == -1 || store_write_files(p, tr->record->id,
		    tr->files, tr->n_files, &cause) == -1) {
			log_warnx("task %s: transfer from %s: %s",
			    tr->record->id, from, cause ? cause : "too many "
			    "files");
			free(cause);
			store_remove(p, tr->record->id);
			return;		/* no ack: the source aborts */
		}
	}
	tasks_recv(p->tc, lb_mono_ms(), from, inc, m, o);
	if (fresh && tasks_find(p->tc, tr->record->id) == NULL)
		store_remove(p, tr->record->id);
	else if ((k = tasks_find(p->tc, tr->record->id)) != NULL &&
	    k->hold == HOLD_PENDING)
		balancer_arrived(p);	/* the slot reserved for it is used */
}

static void	query_recv(struct peer *, const char *, const Lb__TaskQuery *);
static void	answer_recv(struct peer *, const char *, const Lb__TaskAnswer *);

void
glue_recv(struct peer *p, const Lb__Envelope *e)
{
	Lb__PeerMsg		*m;
	struct tasks_out	 o = { 0 };

	m = lb__peer_msg__unpack(NULL, e->body.len, e->body.data);
	if (m == NULL) {
		p->counters.drop[ENV_DROP_DECODE]++;
		return;
	}
	switch (m->body_case) {
	case LB__PEER_MSG__BODY_GOSSIP:
		members_recv(p, e->sender, m->gossip);
		break;
	case LB__PEER_MSG__BODY_PROBE:
	case LB__PEER_MSG__BODY_PROBE_REPLY:
		balancer_recv(p, e->sender, m);
		break;
	case LB__PEER_MSG__BODY_TASK_QUERY:
		query_recv(p, e->sender, m->task_query);
		break;
	case LB__PEER_MSG__BODY_TASK_ANSWER:
		answer_recv(p, e->sender, m->task_answer);
		break;
	case LB__PEER_MSG__BODY_TRANSFER:
		transfer_in(p, e->sender, e->incarnation, m, &o);
		break;
	case LB__PEER_MSG__BODY__NOT_SET:
		p->counters.drop[ENV_DROP_DECODE]++;
		break;
	default:
		tasks_recv(p->tc, lb_mono_ms(), e->sender, e->incarnation, m,
		    &o);
		break;
	}
	/* The actions may point into the message (output to keep): carry
	 * them out before it goes. */
	carry(p, &o);
	tasks_out_free(&o);
	lb__peer_msg__free_unpacked(m, NULL);
}

/* ---- start and stop ---- */

static void
replay_cb(Lb__TaskRecord *rec, void *arg)
{
	struct peer	*p = arg;

	tasks_restore(p->tc, rec);
}

int
glue_start(struct peer *p, char **cause)
{
	struct tasks_conf	 c;
	struct tasks_out	 o = { 0 };
	struct tasks_task	**all;
	struct timeval		 tv = { 0, TICK_MS * 1000 };
	size_t			 n, homed;
	const char		*attrs;

	memset(&c, 0, sizeof(c));
	c.slots = p->conf.slots;
	c.transfer_timeout_ms = p->conf.balance.transfer_timeout_ms;
	c.retry_min_ms = p->conf.task.retry_min_ms;
	c.retry_max_ms = p->conf.task.retry_max_ms;
	c.keep_finished_s = p->conf.task.keep_finished_s;
	c.max_tasks = (size_t)p->conf.task.max_tasks;
	c.max_links = LINKS_MAX;
	c.link_keep_s = LINK_KEEP_S;
	c.attach_limit = (uint64_t)p->conf.task.attach_limit_kb * 1024;
	attrs = gossip_members(p->gossip, &n)[0].e.attrs;
	p->glue = lb_calloc(1, sizeof(*p->glue));
	p->tc = tasks_new(&c, p->conf.id, p->incarnation, attrs,
	    (int64_t)lb_wall_ms() - (int64_t)lb_mono_ms());
	exec_start(p, proc_exited);
	members_on_peer(p, on_peer);
	balancer_on_move(p, on_move);
	if (store_open(p, replay_cb, p, cause) == -1)
		return -1;
	/* What a crashed earlier life left running is killed first. */
	all = tasks_all(p->tc, &n);
	for (size_t i = 0; i < n; i++)
		if (all[i]->rec->pgid > 1)
			exec_reap_orphans(all[i]->rec->pgid, all[i]->rec->id);
	tasks_seq_floor(p->tc, store_ids_floor(p));
	tasks_count(p->tc, &homed);
	if (n > 0)
		log_info("journal: %zu tasks homed or held here (%zu homed)",
		    n, homed);
	tasks_start(p->tc, lb_mono_ms(), &o);
	carry(p, &o);
	tasks_out_free(&o);
	p->glue->tick_ev = evtimer_new(p->base, tick_cb, p);
	evtimer_add(p->glue->tick_ev, &tv);
	{
		int ms = p->conf.gossip.dead_ms + 2 * p->conf.gossip.interval_ms;
		struct timeval otv = { ms / 1000, (ms % 1000) * 1000 };
		p->glue->orphan_ev = evtimer_new(p->base, orphan_cb, p);
		evtimer_add(p->glue->orphan_ev, &otv);
	}
	return 0;
}

void
glue_leaving(struct peer *p)
{
	if (p->tc != NULL)
		tasks_set_leaving(p->tc, 1);
}

void
glue_draining(struct peer *p, int draining)
{
	if (p->tc != NULL)
		tasks_set_draining(p->tc, draining);
	/* Undrained, the queue starts at the next tick. */
}

int
glue_give_back(struct peer *p, const char *id, const char *why)
{
	struct tasks_out	o = { 0 };
	int			rc;

	rc = tasks_give_back(p->tc, lb_mono_ms(), id, why, &o);
	carry(p, &o);
	tasks_out_free(&o);
	if (rc == 0)
		balancer_kick(p);
	return rc;
}

void
glue_stop(struct peer *p)
{
	if (p->glue == NULL)
		return;
	exec_stop(p);
	if (p->glue->tick_ev)
		event_free(p->glue->tick_ev);
	if (p->glue->orphan_ev)
		event_free(p->glue->orphan_ev);
	for (size_t i = 0; i < REMOTE_MAX; i++)
		if (p->glue->remote[i].ans != NULL)
			lb__task_answer__free_unpacked(p->glue->remote[i].ans,
			    NULL);
	tasks_free(p->tc);
	p->tc = NULL;
	store_close(p);
	free(p->glue);
	p->glue = NULL;
}

/* ---- what lbctl asks ---- */

/* Refuse what could run nowhere, with a message the user can act on. */
static int
spec_check(struct peer *p, const Lb__TaskSpec *s, char **cause)
{
	if (tasks_spec_valid(p->tc, s, cause) == -1)
		return -1;
	if (s->pin[0] != '\0' && gossip_find(p->gossip, s->pin) == NULL) {
		*cause = lb_printf("--pin %s: there is no node %s in the cluster",
		    s->pin, s->pin);
		return -1;
	}
	if (s->n_needs > 0) {
		const struct gossip_member *m;
		size_t n, i;
		char *needs = lb_join_list(s->needs, s->n_needs);

		m = gossip_members(p->gossip, &n);
		for (i = 0; i < n; i++)
			if (m[i].state == GOSSIP_ALIVE && balance_attrs_ok(needs,
			    m[i].e.attrs) && (s->pin[0] == '\0' ||
			    strcmp(s->pin, m[i].e.id) == 0))
				break;
		if (i == n) {
			*cause = lb_printf("--needs %s: no live peer%s has %s",
			    needs, s->pin[0] ? " of the --pin" : "",
			    s->n_needs > 1 ? "all of them" : "it");
			free(needs);
			return -1;
		}
		free(needs);
	}
	return 0;
}

int
glue_submit(struct peer *p, const Lb__TaskSpec *spec, char **idp, char **cause)
{
	struct tasks_out	o = { 0 };
	char			id[TASKS_ID_MAX];

	if (spec_check(p, spec, cause) == -1)
		return -1;
	if (store_ids_reserve(p, tasks_next_seq(p->tc), cause) == -1)
		return -1;
	snprintf(id, sizeof(id), "%s.%" PRIu64, p->conf.id,
	    tasks_next_seq(p->tc));
	if (store_mkdir(p, id, cause) == -1)
		return -1;
	if (store_write_files(p, id, spec->files, spec->n_files, cause) == -1 ||
	    tasks_submit(p->tc, lb_mono_ms(), spec, idp, &o, cause) == -1) {
		store_remove(p, id);
		tasks_out_free(&o);
		return -1;
	}
	log_info("task %s accepted: %s", *idp, spec->argv[0]);
	carry(p, &o);
	tasks_out_free(&o);
	/* A new task may move before it starts: ask the balancer now. */
	balancer_kick(p);
	return 0;
}

int
glue_cancel(struct peer *p, const char *id, char **cause)
{
	struct tasks_out	 o = { 0 };
	char			 home[LB_ID_MAX];
	const char		*addr, *state;
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__TaskCancel		 c = LB__TASK_CANCEL__INIT;
	int			 rc;

	if (!tasks_id_valid(id)) {
		*cause = lb_printf("\"%s\" is not a task id (NODE.NUMBER)", id);
		return -1;
	}
	tasks_home_of(id, home);
	if (strcmp(home, p->conf.id) == 0) {
		rc = tasks_cancel(p->tc, lb_mono_ms(), id, &o, cause);
		carry(p, &o);
		tasks_out_free(&o);
		if (rc == 0)
			log_info("task %s: cancelled", id);
		return rc;
	}
	/* Its home decides: pass the request on. */
	if ((addr = members_addr(p, home, &state)) == NULL) {
		*cause = lb_printf("task %s: its home %s is %s; cancel it "
		    "there when it is back", id, home, state);
		return -1;
	}
	c.task_id = (char *)id;
	m.body_case = LB__PEER_MSG__BODY_TASK_CANCEL;
	m.task_cancel = &c;
	net_send(p, addr, &m);
	return 0;
}

int
glue_checkpoint(struct peer *p, const char *id, char **cause)
{
	struct tasks_task	*k = tasks_find(p->tc, id);

	if (k == NULL || k->hold != HOLD_RUNNING) {
		*cause = lb_printf("task %s is not running here", id);
		return -1;
	}
	if (!k->rec->spec->checkpointable) {
		*cause = lb_printf("task %s cannot checkpoint (it was not "
		    "submitted with --checkpointable)", id);
		return -1;
	}
	if (exec_signal(p, id, k->rec->spec->checkpoint_signal) == -1) {
		*cause = lb_printf("task %s: %s", id, strerror(errno));
		return -1;
	}
	log_info("task %s: asked to checkpoint (%s)", id,
	    strsignal(k->rec->spec->checkpoint_signal));
	return 0;
}

void
glue_output(struct peer *p, const Lb__TaskRecord *r, ProtobufCBinaryData *out,
    ProtobufCBinaryData *err)
{
	store_read_output(p, r, out, err);
}

void
glue_counts(struct peer *p, uint32_t *running, uint32_t *queued,
    uint32_t *homed)
{
	size_t	h;

	tasks_count(p->tc, &h);
	*running = tasks_running(p->tc);
	*queued = tasks_queued(p->tc);
	*homed = (uint32_t)h;
}

void
glue_stats(struct peer *p, Lb__CtlStats *s)
{
	const struct tasks_stats	*t = tasks_stats(p->tc);

	balancer_stats(p, s);
	s->transfers_in = t->transfers_in;
	s->transfers_out = t->transfers_out;
	s->transfers_aborted = t->transfers_aborted;
	s->transfer_ms_total = t->transfer_ms;
	s->tasks_rerun = t->reruns;
	s->results = t->results;
	s->stale_stopped = t->stale_stopped;
	s->retries = t->retries;
	s->drop_sender = t->drop_sender;
	s->drop_invalid = t->drop_invalid + p->glue->drop_task_msgs;
	s->drop_unknown = t->drop_unknown;
	s->refused_full = t->refused_full;
	s->given_back = t->given_back;
	s->returned = t->returned;
}

void
glue_journal_damage(struct peer *p, uint64_t *spans, uint64_t *bytes)
{
	*spans = store_report(p)->damaged;
	*bytes = store_report(p)->damaged_bytes;
}

void
glue_load_changed(struct peer *p)
{
	members_set_load(p, tasks_running(p->tc) + tasks_queued(p->tc) +
	    p->load_extra);
}

/* ---- records of tasks homed elsewhere (show, wait) ---- */

int
glue_remote(struct peer *p, const char *id, int want_output,
    const Lb__TaskAnswer **answer, char **cause)
{
	struct glue	*g = p->glue;
	struct remote	*r = NULL, *old = NULL;
	const char	*addr, *state;
	char		 home[LB_ID_MAX];
	uint64_t	 now = lb_mono_ms();

	*answer = NULL;
	if (!tasks_id_valid(id)) {
		*cause = lb_printf("\"%s\" is not a task id (NODE.NUMBER)", id);
		return -1;
	}
	tasks_home_of(id, home);
	if ((addr = members_addr(p, home, &state)) == NULL) {
		if (strcmp(state, "unknown") == 0) {
			*cause = lb_printf("no task %s: there is no node %s in "
			    "the cluster", id, home);
			return -1;
		}
		*cause = lb_printf("task %s: its home %s is %s, so its record "
		    "cannot be read now", id, home, state);
		return -2;
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
	if (now - r->asked_ms >= REMOTE_ASK_MS &&
	    (r->ans == NULL || now - r->answered_ms >= REMOTE_ASK_MS)) {
		Lb__PeerMsg	m = LB__PEER_MSG__INIT;
		Lb__TaskQuery	q = LB__TASK_QUERY__INIT;

		r->req_id = ++g->next_req;
		r->asked_ms = now;
		r->asked_output = r->want_output;
		q.req_id = r->req_id;
		q.task_id = (char *)id;
		q.want_output = r->want_output;
		m.body_case = LB__PEER_MSG__BODY_TASK_QUERY;
		m.task_query = &q;
		net_send(p, addr, &m);
	}
	if (r->ans != NULL && (!want_output || r->ans_output))
		*answer = r->ans;
	return 0;
}

static void
query_recv(struct peer *p, const char *from, const Lb__TaskQuery *q)
{
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__TaskAnswer		 a = LB__TASK_ANSWER__INIT;
	struct tasks_task	*k;
	const char		*addr;

	if (!tasks_id_valid(q->task_id) || (addr = addr_of(p, from)) == NULL) {
		p->glue->drop_task_msgs++;
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
	}
	m.body_case = LB__PEER_MSG__BODY_TASK_ANSWER;
	m.task_answer = &a;
	net_send(p, addr, &m);
	free(a.stdout.data);
	free(a.stderr.data);
}

static void
answer_recv(struct peer *p, const char *from, const Lb__TaskAnswer *a)
{
	char	home[LB_ID_MAX];

	if (!tasks_id_valid(a->task_id)) {
		p->glue->drop_task_msgs++;
		return;
	}
	tasks_home_of(a->task_id, home);
	if (strcmp(home, from) != 0) {
		p->glue->drop_task_msgs++;
		return;
	}
	for (size_t i = 0; i < REMOTE_MAX; i++) {
		struct remote *r = &p->glue->remote[i];
		uint8_t *buf;
		size_t len;

		if (strcmp(r->id, a->task_id) != 0 || r->req_id != a->req_id)
			continue;
		if (r->ans != NULL)
			lb__task_answer__free_unpacked(r->ans, NULL);
		len = lb__task_answer__get_packed_size(a);
		buf = lb_calloc(1, len + 1);
		lb__task_answer__pack(a, buf);
		r->ans = lb__task_answer__unpack(NULL, len, buf);
		free(buf);
		r->answered_ms = lb_mono_ms();
		r->ans_output = r->asked_output;
		return;
	}
}
