/*
 * fuzz_ctl.c - the control API's requests (CtlRequest), decoded and taken
 * as peer/control.c and peer/msgs.c take them, as far as the cores: a
 * submit's spec through the attachment limit and tasks_spec_valid into
 * tasks_submit; show, cancel and migrate by id; send, recv, locate, tail
 * and checkpoint into the forwarding core.  The input is records
 * [ctl][len][bytes], each a CtlRequest to one peer "n1" on a fake clock
 * that holds two tasks of its own (n1.1 running, n1.2 queued).  The
 * control socket is its owner's only, so no tag: what lbctl or a task
 * sends is decoded as it comes.
 */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"
#include "forwarding/fwd.h"
#include "tasks/tasks.h"

struct fz_ctl {
	struct tasks	*t;
	struct fwd	*f;
	uint64_t	 now;
	uint32_t	 pgid;
};

static void
where(void *arg, const char *id, struct fwd_where *w)
{
	struct fz_ctl		*c = arg;
	struct tasks_task	*k = tasks_find(c->t, id);
	char			 by[LB_ID_MAX];

	memset(w, 0, sizeof(*w));
	if (k != NULL && (k->hold == HOLD_QUEUED || k->hold == HOLD_RUNNING)) {
		w->here = FWD_HELD;
		w->epoch = k->h_epoch;
		return;
	}
	if (k != NULL && k->home && !tasks_unfinished(k->rec)) {
		w->here = FWD_ENDED;
		lb_strlcpy(w->state, tasks_state_name(k->rec->state),
		    sizeof(w->state));
		return;
	}
	w->here = k != NULL ? FWD_MOVING : FWD_NOTHING;
	if (tasks_link(c->t, id, w->link, &w->link_epoch, by) == -1)
		w->link[0] = '\0';
}

static int
alive(void *arg, const char *peer)
{
	(void)arg;
	return strcmp(peer, "n1") == 0 || strcmp(peer, "n2") == 0;
}

/* Starts start; the rest of the actions are dropped. */
static void
carry(struct fz_ctl *c, struct tasks_out *o)
{
	struct tasks_out	 next = { 0 };
	char			 id[TASKS_ID_MAX];

	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].kind == TA_START) {
			lb_strlcpy(id, o->v[i].id, sizeof(id));
			tasks_proc_started(c->t, c->now, id, ++c->pgid, &next);
		}
	tasks_out_free(&next);
	tasks_out_reset(o);
}

/* glue.c spec_check, the part without the member table. */
static int
spec_check(struct fz_ctl *c, const Lb__TaskSpec *s, char **cause)
{
	uint64_t	total = 0;

	for (size_t i = 0; i < s->n_files; i++)
		total += s->files[i]->data.len > s->files[i]->size ?
		    s->files[i]->data.len : s->files[i]->size;
	if (total > (1 << 20)) {
		*cause = lb_strdup("too large");
		return -1;
	}
	return tasks_spec_valid(c->t, s, cause);
}

static void
submit(struct fz_ctl *c, const Lb__CtlSubmitReq *req, struct tasks_out *o)
{
	char	*id = NULL, *cause = NULL;

	if (req == NULL || req->spec == NULL)
		return;
	if (spec_check(c, req->spec, &cause) == -1 ||
	    tasks_submit(c->t, c->now, req->spec, &id, o, &cause) == -1) {
		free(cause);
		return;
	}
	free(id);
	carry(c, o);
}

static void
answer(struct fz_ctl *c, const Lb__CtlRequest *req)
{
	struct tasks_out	 o = { 0 };
	struct fwd_out		 fo = { 0 };
	struct tasks_task	*k;
	Lb__MailMsg		*m;
	char			*cause = NULL;
	uint64_t		 handle, base;
	const char		*sender = "n1";

	switch (req->req_case) {
	case LB__CTL_REQUEST__REQ_SUBMIT:
		submit(c, req->submit, &o);
		break;
	case LB__CTL_REQUEST__REQ_UPLOAD:
		if (req->upload->submit != NULL)
			submit(c, req->upload->submit, &o);
		break;
	case LB__CTL_REQUEST__REQ_SHOW:
		if (tasks_id_valid(req->show->id) &&
		    (k = tasks_find(c->t, req->show->id)) != NULL)
			(void)tasks_unmovable(k);
		break;
	case LB__CTL_REQUEST__REQ_CANCEL:
		if (tasks_cancel(c->t, c->now, req->cancel->id, &o, &cause) ==
		    -1)
			free(cause);
		carry(c, &o);
		break;
	case LB__CTL_REQUEST__REQ_MIGRATE:
		if (!tasks_id_valid(req->migrate->id) ||
		    (req->migrate->to[0] != '\0' &&
		    !lb_id_valid(req->migrate->to)))
			break;
		if (tasks_migrate(c->t, c->now, req->migrate->id,
		    req->migrate->to[0] ? req->migrate->to : "n2", 3, "n1",
		    req->migrate->token, 1, &o, &cause) == -1)
			free(cause);
		carry(c, &o);
		break;
	case LB__CTL_REQUEST__REQ_SEND:
		if (!fwd_task_valid(req->send->id))
			break;
		base = 1ULL << 22;
		if (req->send->sender[0] != '\0') {
			k = tasks_find(c->t, req->send->sender);
			if (!fwd_task_valid(req->send->sender) || k == NULL ||
			    k->hold != HOLD_RUNNING)
				break;
			sender = req->send->sender;
			base = ((uint64_t)k->h_epoch << 40) |
			    ((uint64_t)(k->rec->starts & 0xffff) << 24);
		}
		if (fwd_send(c->f, c->now, sender, base, req->send->id,
		    req->send->body.data, req->send->body.len,
		    c->now + req->send->timeout_ms, &handle, &fo, &cause) == -1)
			free(cause);
		break;
	case LB__CTL_REQUEST__REQ_RECV:
		if (fwd_task_valid(req->recv->id) &&
		    (m = fwd_take(c->f, req->recv->id)) != NULL)
			lb__mail_msg__free_unpacked(m, NULL);
		break;
	case LB__CTL_REQUEST__REQ_LOCATE:
		if (fwd_probe(c->f, c->now, req->locate->id, FP_LOCATE, 0, 0,
		    c->now + 10000, &handle, &fo, &cause) == -1)
			free(cause);
		break;
	case LB__CTL_REQUEST__REQ_TAIL:
		if (fwd_probe(c->f, c->now, req->tail->id, FP_TAIL,
		    req->tail->offset, req->tail->stderr, c->now + 10000,
		    &handle, &fo, &cause) == -1)
			free(cause);
		break;
	case LB__CTL_REQUEST__REQ_CHECKPOINT:
		if (tasks_id_valid(req->checkpoint->id) &&
		    (k = tasks_find(c->t, req->checkpoint->id)) != NULL &&
		    k->hold == HOLD_RUNNING)
			(void)tasks_checkpoint_ready(c->t, k, c->now);
		else if (fwd_probe(c->f, c->now, req->checkpoint->id,
		    FP_CHECKPOINT, 0, 0, c->now + 10000, &handle, &fo,
		    &cause) == -1)
			free(cause);
		break;
	default:
		break;
	}
	tasks_out_free(&o);
	fwd_out_free(&fo);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tasks_conf tc = {
		.slots = 1, .transfer_timeout_ms = 300, .retry_min_ms = 50,
		.retry_max_ms = 2000, .keep_finished_s = 1000, .max_tasks = 16,
		.max_links = 16, .link_keep_s = 60, .attach_limit = 1 << 20,
		.checkpoint_timeout_ms = 200, .checkpoint_grace_ms = 20
	};
	static const struct fwd_conf fc = {
		.max_links = 16, .link_keep_s = 60, .max_mailboxes = 8,
		.mbox_msgs = 8, .mbox_bytes = 4096, .msg_max = 1024,
		.max_senders = 8, .outbox_max = 16, .retry_ms = 100,
		.retry_max_ms = 800
	};
	struct fz_ctl		 c;
	struct fwd_env		 fe;
	struct tasks_out	 o = { 0 };
	struct fwd_out		 fo = { 0 };
	struct fz_rd		 r;
	Lb__TaskSpec		 spec = LB__TASK_SPEC__INIT;
	Lb__CtlSubmitReq	 sub = LB__CTL_SUBMIT_REQ__INIT;
	char			*argv[] = { (char *)"/bin/true" };
	const uint8_t		*b;
	uint8_t			 ctl;
	size_t			 len;

	fz_init();
	memset(&c, 0, sizeof(c));
	c.now = 1000000;
	c.t = tasks_new(&tc, "n1", 1, "", 0);
	fe = (struct fwd_env){ &c, where, alive };
	c.f = fwd_new(&fc, "n1", &fe);
	spec.argv = argv;
	spec.n_argv = 1;
	sub.spec = &spec;
	submit(&c, &sub, &o);
	submit(&c, &sub, &o);
	tasks_tick(c.t, c.now, &o);
	carry(&c, &o);

	r.p = data;
	r.n = size;
	while (fz_record(&r, &ctl, &b, &len) == 0) {
		Lb__CtlRequest *req = lb__ctl_request__unpack(NULL, len, b);

		if (req != NULL) {
			answer(&c, req);
			lb__ctl_request__free_unpacked(req, NULL);
		}
		c.now += ctl;
		if (ctl & 0x80) {
			tasks_tick(c.t, c.now, &o);
			carry(&c, &o);
			fwd_tick(c.f, c.now, &fo);
			fwd_out_reset(&fo);
		}
	}
	tasks_out_free(&o);
	fwd_out_free(&fo);
	fwd_free(c.f);
	tasks_free(c.t);
	return 0;
}
