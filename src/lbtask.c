/* lbtask.c - the library for tasks: lbtask.h over msg.c and client.c. */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "client.h"
#include "lbtask.h"
#include "msg.h"
#include "util.h"

static __thread char	last_error[512];

/* Keep why (and free it); the result passes through. */
static int
fail(int r, char *why)
{
	lb_strlcpy(last_error, why, sizeof(last_error));
	free(why);
	return r;
}

/* The peer's control socket, or NULL (last_error says why). */
static const char *
control(void)
{
	const char	*p = getenv("LB_CONTROL");

	last_error[0] = '\0';
	if (p == NULL || *p == '\0') {
		fail(0, lb_strdup("LB_CONTROL is not set: no peer to talk to "
		    "(is this program running as an lbpeer task?)"));
		return NULL;
	}
	return p;
}

const char *
lbt_self(void)
{
	const char	*id = getenv("LB_TASK_ID");

	return id != NULL && lb_task_id_valid(id) ? id : NULL;
}

const char *
lbt_error(void)
{
	return last_error;
}

int
lbt_send(const char *id, const void *buf, size_t len, int timeout_ms,
    char *err, size_t errlen)
{
	const char	*path = control(), *self = lbt_self();
	Lb__CtlReply	*rep;
	char		*cause = NULL;
	int		 r;

	if (path == NULL)
		r = LBT_NOPEER;
	else {
		switch (msg_send(path, id, buf, len, self ? self : "",
		    timeout_ms, &rep, &cause)) {
		case MSGR_OK:
			r = LBT_OK;
			break;
		case MSGR_TIMEOUT:
			r = LBT_TIMEOUT;
			break;
		case MSGR_UNREACHABLE:
			r = LBT_NOPEER;
			break;
		default:
			r = LBT_REFUSED;
			break;
		}
		if (rep != NULL)
			lb__ctl_reply__free_unpacked(rep, NULL);
		if (cause != NULL)
			fail(r, cause);
	}
	if (err != NULL && errlen > 0)
		lb_strlcpy(err, last_error, errlen);
	return r;
}

static pthread_mutex_t	recv_lock = PTHREAD_MUTEX_INITIALIZER;

ssize_t
lbt_recv(void *buf, size_t cap, int timeout_ms, char *sender,
    size_t senderlen, uint64_t *seq)
{
	const char	*path = control(), *self = lbt_self();
	Lb__CtlReply	*rep;
	Lb__MailMsg	*m;
	char		*cause = NULL;
	size_t		 len;

	if (path == NULL)
		return LBT_RECV_ERROR;
	if (self == NULL)
		return fail(LBT_RECV_ERROR, lb_strdup("LB_TASK_ID is not set "
		    "(or not a task id): only a task has a mailbox"));
	/* One receive at a time in a process: the peer hands the oldest
	 * message out until it is confirmed, so two at once would get the
	 * same one. */
	pthread_mutex_lock(&recv_lock);
	switch (msg_recv(path, self, timeout_ms, &rep, &cause)) {
	case MSGR_OK:
		break;
	case MSGR_TIMEOUT:
		pthread_mutex_unlock(&recv_lock);
		return fail(LBT_RECV_TIMEOUT, cause);
	default:
		pthread_mutex_unlock(&recv_lock);
		return fail(LBT_RECV_ERROR, cause);
	}
	m = rep->recv->msg;
	/* Received: the peer may let it go now (before this returns, so a
	 * checkpoint that holds it is written after).  A confirm that gets
	 * no answer may have been taken: asked again (a repeat removes
	 * nothing), and if it still gets none the message is returned all
	 * the same (it may come again: better than lost). */
	for (int i = 0; rep->recv->two_step && i < 3; i++) {
		if (msg_confirm(path, self, m->sender, m->seq, &cause) ==
		    MSGR_OK)
			break;
		free(cause);
		cause = NULL;
	}
	pthread_mutex_unlock(&recv_lock);
	len = m->body.len;
	if (buf != NULL && cap > 0)
		memcpy(buf, m->body.data, len < cap ? len : cap);
	if (sender != NULL && senderlen > 0)
		lb_strlcpy(sender, m->sender, senderlen);
	if (seq != NULL)
		*seq = m->seq;
	lb__ctl_reply__free_unpacked(rep, NULL);
	return (ssize_t)len;
}

int
lbt_submit(char *const argv[], char *id, size_t idlen)
{
	const char		*path = control();
	Lb__CtlRequest		 req = LB__CTL_REQUEST__INIT;
	Lb__CtlSubmitReq	 sr = LB__CTL_SUBMIT_REQ__INIT;
	Lb__TaskSpec		 spec = LB__TASK_SPEC__INIT;
	Lb__CtlReply		*rep;
	char			**v, *cause, cwd[4096];
	uint8_t			 request_id[16];
	size_t			 n = 0;
	int			 r = LBT_OK;

	if (path == NULL)
		return LBT_NOPEER;
	while (argv != NULL && argv[n] != NULL)
		n++;
	if (n == 0)
		return fail(LBT_REFUSED, lb_strdup("no program to run"));
	/* This call's name: sent again (nanomsg resends to a peer restarted
	 * meanwhile), it makes no second task. */
	if (sodium_init() < 0)
		return fail(LBT_REFUSED, lb_strdup("libsodium failed to start"));
	randombytes_buf(request_id, sizeof(request_id));
	spec.request_id.data = request_id;
	spec.request_id.len = sizeof(request_id);
	v = lb_calloc(n + 1, sizeof(*v));
	memcpy(v, argv, n * sizeof(*v));
	/* As lbctl submit: ./prog names this directory's, on every host. */
	if (strchr(v[0], '/') != NULL && v[0][0] != '/' &&
	    getcwd(cwd, sizeof(cwd)) != NULL)
		v[0] = lb_printf("%s/%s", cwd, argv[0]);
	spec.argv = v;
	spec.n_argv = n;
	spec.checkpoint_exit_code = 85;		/* lbctl submit's default */
	sr.spec = &spec;
	req.req_case = LB__CTL_REQUEST__REQ_SUBMIT;
	req.submit = &sr;
	switch (lbc_call(path, &req, &rep, 10000, &cause)) {
	case LBC_OK:
		if (rep->code != 0 || rep->rep_case !=
		    LB__CTL_REPLY__REP_SUBMITTED)
			r = fail(LBT_REFUSED, lb_strdup(rep->error[0] ?
			    rep->error : "the peer refused the task"));
		else if (id != NULL && idlen > 0)
			lb_strlcpy(id, rep->submitted, idlen);
		lb__ctl_reply__free_unpacked(rep, NULL);
		break;
	case LBC_TOOLARGE:
		r = fail(LBT_REFUSED, cause);
		break;
	default:
		r = fail(LBT_NOPEER, cause);
		break;
	}
	if (v[0] != argv[0])
		free(v[0]);
	free(v);
	return r;
}
