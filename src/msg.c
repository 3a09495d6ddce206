/* msg.c - send to a task, receive from a task's mailbox: one request each,
 * answered late by the peer (when decided, or at the request's timeout). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "msg.h"
#include "util.h"

char *
msg_refusal(const char *id, const Lb__CtlSent *s)
{
	switch (s->status) {
	case LB__MSG_STATUS__MSG_FULL:
		return lb_printf("the mailbox of task %s is full; message "
		    "refused", id);
	case LB__MSG_STATUS__MSG_ENDED:
		return lb_printf("task %s has ended (%s); message refused", id,
		    s->detail[0] ? s->detail : "ended");
	case LB__MSG_STATUS__MSG_UNKNOWN:
		return lb_printf("no task %s%s%s; message refused", id,
		    s->detail[0] ? ": " : "", s->detail);
	case LB__MSG_STATUS__MSG_TOO_LARGE:
		return lb_printf("the message is too large for task %s%s%s%s; "
		    "refused", id, s->detail[0] ? " (" : "", s->detail,
		    s->detail[0] ? ")" : "");
	default:
		return lb_printf("task %s: message refused (status %d%s%s)", id,
		    (int)s->status, s->detail[0] ? ": " : "", s->detail);
	}
}

/* One call; a refusal by the peer (code != 0) is MSGR_REFUSED. */
static enum msg_result
call(const char *path, const Lb__CtlRequest *req, Lb__CtlReply__RepCase want,
    int timeout_ms, Lb__CtlReply **rep, char **cause)
{
	switch (lbc_call(path, req, rep, timeout_ms, cause)) {
	case LBC_OK:
		break;
	case LBC_TOOLARGE:
		return MSGR_REFUSED;
	default:
		return MSGR_UNREACHABLE;
	}
	if ((*rep)->code != 0) {
		*cause = lb_strdup((*rep)->error[0] ? (*rep)->error :
		    "the peer refused");
		lb__ctl_reply__free_unpacked(*rep, NULL);
		*rep = NULL;
		return MSGR_REFUSED;
	}
	if ((*rep)->rep_case != want) {
		*cause = lb_strdup("the peer sent the wrong reply (is lbpeer "
		    "older than this client?)");
		lb__ctl_reply__free_unpacked(*rep, NULL);
		*rep = NULL;
		return MSGR_REFUSED;
	}
	return MSGR_OK;
}

/*
 * The incarnation of the peer at `path`, as this thread last heard it
 * (asked once, with a status request).  A send names it, so that a peer
 * that restarted while the request was on its way (nanomsg's REQ sends it
 * again to the new one) does not send the message a second time.  A task
 * dies with its peer, so its cache is never stale; a client outside a task
 * asks again after such an answer.
 */
static __thread char	 inc_path[1024];
static __thread uint64_t inc_seen;

static uint64_t
peer_incarnation(const char *path, char **cause)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlStatusReq st = LB__CTL_STATUS_REQ__INIT;
	Lb__CtlReply	*rep = NULL;
	uint64_t	 inc = 0;

	if (inc_seen != 0 && strcmp(inc_path, path) == 0)
		return inc_seen;
	req.req_case = LB__CTL_REQUEST__REQ_STATUS;
	req.status = &st;
	if (lbc_call(path, &req, &rep, MSG_SLACK_MS, cause) != LBC_OK)
		return 0;
	if (rep->code == 0 && rep->rep_case == LB__CTL_REPLY__REP_STATUS)
		inc = rep->status->incarnation;
	lb__ctl_reply__free_unpacked(rep, NULL);
	if (inc != 0 && strlen(path) < sizeof(inc_path)) {
		lb_strlcpy(inc_path, path, sizeof(inc_path));
		inc_seen = inc;
	}
	return inc;
}

enum msg_result
msg_send(const char *path, const char *id, const void *body, size_t len,
    const char *sender, int timeout_ms, Lb__CtlReply **rep, char **cause)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlSendReq	 sr = LB__CTL_SEND_REQ__INIT;
	Lb__CtlSent	*s;
	enum msg_result	 r;
	char		*why = NULL;

	*rep = NULL;
	if (!lb_task_id_valid(id)) {
		*cause = lb_printf("\"%s\" is not a task id (NODE.NUMBER)", id);
		return MSGR_REFUSED;
	}
	if (len > LB_MSG_MAX) {
		*cause = lb_printf("the message is %zu bytes, more than the "
		    "limit of %d (message_max); not sent", len, LB_MSG_MAX);
		return MSGR_REFUSED;
	}
	if (timeout_ms <= 0)
		timeout_ms = MSG_SEND_DEFAULT_MS;
	sr.id = (char *)id;
	sr.body.data = (uint8_t *)body;
	sr.body.len = len;
	sr.timeout_ms = (uint32_t)timeout_ms;
	sr.sender = (char *)sender;
	/* (Unknown -- an older peer, or no answer: the send says why.) */
	sr.peer_incarnation = peer_incarnation(path, &why);
	free(why);
	req.req_case = LB__CTL_REQUEST__REQ_SEND;
	req.send = &sr;
	if ((r = call(path, &req, LB__CTL_REPLY__REP_SENT, timeout_ms +
	    MSG_SLACK_MS, rep, cause)) != MSGR_OK)
		return r;
	s = (*rep)->sent;
	if (s->restarted) {
		inc_seen = 0;
		*cause = lb_printf("task %s: the peer restarted while the "
		    "message was on its way; it may have been delivered, and "
		    "was not sent again", id);
		return MSGR_TIMEOUT;
	}
	if (!s->done) {
		*cause = lb_printf("task %s: not acknowledged within %g s; it "
		    "may still be delivered", id, (double)timeout_ms / 1000);
		return MSGR_TIMEOUT;
	}
	if (s->status == LB__MSG_STATUS__MSG_DELIVERED ||
	    s->status == LB__MSG_STATUS__MSG_DUPLICATE)
		return MSGR_OK;
	*cause = msg_refusal(id, s);
	return MSGR_REFUSED;
}

enum msg_result
msg_confirm(const char *path, const char *id, const char *sender, uint64_t seq,
    char **cause)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlRecvReq	 rr = LB__CTL_RECV_REQ__INIT;
	Lb__CtlReply	*rep;
	enum msg_result	 r;

	rr.id = (char *)id;
	rr.confirm_sender = (char *)sender;
	rr.confirm_seq = seq;
	rr.confirm_only = 1;
	rr.two_step = 1;
	req.req_case = LB__CTL_REQUEST__REQ_RECV;
	req.recv = &rr;
	if ((r = call(path, &req, LB__CTL_REPLY__REP_RECV, MSG_SLACK_MS * 4,
	    &rep, cause)) == MSGR_OK)
		lb__ctl_reply__free_unpacked(rep, NULL);
	return r;
}

enum msg_result
msg_recv(const char *path, const char *id, int timeout_ms,
    Lb__CtlReply **rep, char **cause)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlRecvReq	 rr = LB__CTL_RECV_REQ__INIT;
	uint64_t	 deadline = lb_mono_ms() + (uint64_t)(timeout_ms > 0 ?
			    timeout_ms : 0), now;
	enum msg_result	 r;
	int		 slice;

	*rep = NULL;
	rr.id = (char *)id;
	rr.two_step = 1;
	req.req_case = LB__CTL_REQUEST__REQ_RECV;
	req.recv = &rr;
	for (;;) {
		/* Slices, so that a reply lost with its peer is noticed. */
		now = lb_mono_ms();
		slice = MSG_RECV_SLICE_MS;
		if (timeout_ms >= 0 && (now >= deadline || deadline - now <
		    (uint64_t)slice))
			slice = now >= deadline ? 0 : (int)(deadline - now);
		rr.timeout_ms = slice > 0 ? (uint32_t)slice : 1;
		if ((r = call(path, &req, LB__CTL_REPLY__REP_RECV, (int)
		    rr.timeout_ms + MSG_SLACK_MS, rep, cause)) != MSGR_OK)
			return r;
		if ((*rep)->recv->got && (*rep)->recv->msg != NULL)
			return MSGR_OK;
		lb__ctl_reply__free_unpacked(*rep, NULL);
		*rep = NULL;
		/* Answered early with nothing: do not ask in a tight loop. */
		if (lb_mono_ms() - now < rr.timeout_ms / 2)
			usleep(100 * 1000);
		if (timeout_ms >= 0 && lb_mono_ms() >= deadline) {
			*cause = lb_printf("no message for task %s within "
			    "%g s", id, (double)timeout_ms / 1000);
			return MSGR_TIMEOUT;
		}
	}
}
