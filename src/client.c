/* client.c - one request, one reply, never a hang. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

#include "client.h"
#include "util.h"


/* One request out, one reply in, on the connected socket s. */
static enum lbc_status
roundtrip(int s, const char *path, const uint8_t *out, size_t len,
    Lb__CtlReply **rep, char **cause)
{
	void	*buf = NULL;
	int	 n;

	if (nn_send(s, out, len, 0) < 0) {
		*cause = lb_printf("cannot reach the peer at %s: %s", path,
		    nn_errno() == ETIMEDOUT ? "no answer (is lbpeer running?)" :
		    nn_strerror(nn_errno()));
		return LBC_UNREACHABLE;
	}
	if ((n = nn_recv(s, &buf, NN_MSG, 0)) < 0) {
		*cause = lb_printf("no reply from the peer at %s: %s", path,
		    nn_errno() == ETIMEDOUT ? "timed out" :
		    nn_strerror(nn_errno()));
		return LBC_UNREACHABLE;
	}
	*rep = lb__ctl_reply__unpack(NULL, (size_t)n, buf);
	nn_freemsg(buf);
	if (*rep == NULL) {
		*cause = lb_printf("the peer at %s sent a reply that does not "
		    "decode", path);
		return LBC_PROTOCOL;
	}
	return LBC_OK;
}

/* The largest request the peer takes, 0 if it does not say. */
static enum lbc_status
peer_limit(int s, const char *path, uint64_t *limit, char **cause)
{
	Lb__CtlRequest		 req = LB__CTL_REQUEST__INIT;
	Lb__CtlStatusReq	 sr = LB__CTL_STATUS_REQ__INIT;
	Lb__CtlReply		*rep;
	uint8_t			 out[16];
	size_t			 len;
	enum lbc_status		 st;

	req.req_case = LB__CTL_REQUEST__REQ_STATUS;
	req.status = &sr;
	len = lb__ctl_request__pack(&req, out);
	if ((st = roundtrip(s, path, out, len, &rep, cause)) != LBC_OK)
		return st;
	*limit = rep->rep_case == LB__CTL_REPLY__REP_STATUS ?
	    rep->status->control_max_bytes : 0;
	lb__ctl_reply__free_unpacked(rep, NULL);
	return LBC_OK;
}

/* The kept socket of this thread (see lbc_call). */
static __thread int	 keep_s = -1;
static __thread char	 keep_path[4096];
static __thread ino_t	 keep_ino;
static __thread dev_t	 keep_dev;

/* After a call: a socket that failed goes (a new one next time); one that
 * worked is kept. */
static void
forget(int s)
{
	if (s == keep_s)
		keep_s = -1;
	nn_close(s);
}

enum lbc_status
lbc_call(const char *path, const Lb__CtlRequest *req, Lb__CtlReply **rep,
    int timeout_ms, char **cause)
{
	struct stat	 st;
	char		*url, *why;
	uint8_t		*out;
	size_t		 len;
	uint64_t	 limit = 0;
	int		 s, max = -1;
	enum lbc_status	 rc;

	*rep = NULL;
	if (strncmp(path, "ipc://", 6) == 0)
		path += 6;
	/* A missing socket is the common case: say so at once. */
	if (stat(path, &st) == -1) {
		*cause = lb_printf("cannot reach the peer at %s: %s%s", path,
		    strerror(errno), errno == ENOENT ? " (is lbpeer running?)" :
		    "");
		return LBC_UNREACHABLE;
	}
	if (!S_ISSOCK(st.st_mode)) {
		*cause = lb_printf("%s is not a socket", path);
		return LBC_UNREACHABLE;
	}
	/* nanomsg would retry the refused connect until the timeout. */
	if (access(path, W_OK) == -1) {
		*cause = lb_printf("cannot use the peer's socket %s: %s (it "
		    "admits the peer's user and control_group)", path,
		    strerror(errno));
		return LBC_UNREACHABLE;
	}
	/*
	 * One socket a thread, kept for the next call to the same peer (a
	 * task that sends and receives in a loop pays no connect each time);
	 * a socket file made anew (the peer started again) gets a new one.
	 */
	if (keep_s != -1 && (strcmp(keep_path, path) != 0 ||
	    keep_ino != st.st_ino || keep_dev != st.st_dev)) {
		nn_close(keep_s);
		keep_s = -1;
	}
	if ((s = keep_s) == -1 && (s = nn_socket(AF_SP, NN_REQ)) < 0) {
		*cause = lb_printf("nn_socket: %s", nn_strerror(nn_errno()));
		return LBC_UNREACHABLE;
	}
	nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &timeout_ms,
	    sizeof(timeout_ms));
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &timeout_ms,
	    sizeof(timeout_ms));
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &max, sizeof(max));
	/* No resend while the peer holds the request (a message until it is
	 * delivered, a recv until one comes): the request goes once. */
	{
		int ivl = timeout_ms + 1000;

		nn_setsockopt(s, NN_REQ, NN_REQ_RESEND_IVL, &ivl, sizeof(ivl));
	}
	if (s == keep_s)
		goto connected;
	url = lb_printf("ipc://%s", path);
	if (nn_connect(s, url) < 0) {
		*cause = lb_printf("cannot reach the peer at %s: %s", path,
		    nn_strerror(nn_errno()));
		free(url);
		nn_close(s);
		return LBC_UNREACHABLE;
	}
	free(url);
	keep_s = s;
	lb_strlcpy(keep_path, path, sizeof(keep_path));
	keep_ino = st.st_ino;
	keep_dev = st.st_dev;
connected:
	len = lb__ctl_request__get_packed_size(req);
	if (len > LBC_SMALL && (rc = peer_limit(s, path, &limit, cause)) !=
	    LBC_OK) {
		forget(s);
		return rc;
	}
	if (limit != 0 && len > limit) {
		*cause = lb_printf("the request takes %zu KiB, more than the "
		    "peer at %s takes (control_max_kb = %" PRIu64 "): send "
		    "less, or raise control_max_kb there", (len + 1023) / 1024,
		    path, limit / 1024);
		forget(s);
		return LBC_TOOLARGE;
	}
	out = lb_calloc(1, len);
	lb__ctl_request__pack(req, out);
	rc = roundtrip(s, path, out, len, rep, cause);
	free(out);
	if (rc != LBC_OK)
		forget(s);
	if (rc == LBC_UNREACHABLE && len > LBC_SMALL && limit == 0) {
		/* An older peer that does not say its limit. */
		why = *cause;
		*cause = lb_printf("%s (the request took %zu KiB: more than "
		    "the peer's control_max_kb?)", why, (len + 1023) / 1024);
		free(why);
	}
	return rc;
}
