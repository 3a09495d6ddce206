/* client.c - one request, one reply, never a hang. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

#include "client.h"
#include "util.h"

enum lbc_status
lbc_call(const char *path, const Lb__CtlRequest *req, Lb__CtlReply **rep,
    int timeout_ms, char **cause)
{
	struct stat	 st;
	char		*url;
	void		*buf = NULL;
	uint8_t		*out;
	size_t		 len;
	int		 s, n, max = -1;

	*rep = NULL;
	if (strncmp(path, "ipc://", 6) == 0)
		path += 6;
	/* A missing socket is the common case: say so at once. */
	if (stat(path, &st) == -1) {
		*cause = lb_printf("cannot reach the peer at %s: %s (is lbpeer "
		    "running?)", path, strerror(errno));
		return LBC_UNREACHABLE;
	}
	if (!S_ISSOCK(st.st_mode)) {
		*cause = lb_printf("%s is not a socket", path);
		return LBC_UNREACHABLE;
	}
	if ((s = nn_socket(AF_SP, NN_REQ)) < 0) {
		*cause = lb_printf("nn_socket: %s", nn_strerror(nn_errno()));
		return LBC_UNREACHABLE;
	}
	nn_setsockopt(s, NN_SOL_SOCKET, NN_SNDTIMEO, &timeout_ms,
	    sizeof(timeout_ms));
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVTIMEO, &timeout_ms,
	    sizeof(timeout_ms));
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &max, sizeof(max));
	url = lb_printf("ipc://%s", path);
	if (nn_connect(s, url) < 0) {
		*cause = lb_printf("cannot reach the peer at %s: %s", path,
		    nn_strerror(nn_errno()));
		free(url);
		nn_close(s);
		return LBC_UNREACHABLE;
	}
	free(url);
	len = lb__ctl_request__get_packed_size(req);
	out = lb_calloc(1, len);
	lb__ctl_request__pack(req, out);
	n = nn_send(s, out, len, 0);
	free(out);
	if (n < 0) {
		*cause = lb_printf("cannot reach the peer at %s: %s", path,
		    nn_errno() == ETIMEDOUT ? "no answer (is lbpeer running?)" :
		    nn_strerror(nn_errno()));
		nn_close(s);
		return LBC_UNREACHABLE;
	}
	if ((n = nn_recv(s, &buf, NN_MSG, 0)) < 0) {
		*cause = lb_printf("no reply from the peer at %s: %s", path,
		    nn_errno() == ETIMEDOUT ? "timed out" :
		    nn_strerror(nn_errno()));
		nn_close(s);
		return LBC_UNREACHABLE;
	}
	*rep = lb__ctl_reply__unpack(NULL, (size_t)n, buf);
	nn_freemsg(buf);
	nn_close(s);
	if (*rep == NULL) {
		*cause = lb_printf("the peer at %s sent a reply that does not "
		    "decode", path);
		return LBC_PROTOCOL;
	}
	return LBC_OK;
}
