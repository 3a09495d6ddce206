/* client.h - talking to the local peer over its control socket. */
#ifndef LB_CLIENT_H
#define LB_CLIENT_H

#include "lbpeer.pb-c.h"

/* Requests up to this size go straight out: every peer takes them
 * (control_max_kb is at least 64).  A larger one first asks the peer its
 * limit. */
#define LBC_SMALL	(64 * 1024)

/* What went wrong with a call. */
enum lbc_status {
	LBC_OK = 0,		/* a reply arrived (it may still say no) */
	LBC_UNREACHABLE = -1,	/* no peer answers at that socket */
	LBC_PROTOCOL = -2,	/* something answered, but not a reply */
	LBC_TOOLARGE = -3	/* the request is over the peer's limit */
};

/*
 * Send `req` to the peer whose control socket is `path` (a file path, or
 * ipc://path) and wait at most timeout_ms for the reply.  On LBC_OK *rep is
 * set (free with lb__ctl_reply__free_unpacked); otherwise *cause says why.
 * A large request is sent only if the peer says it takes it (control_max_kb):
 * nanomsg drops one over the limit without a word, and the call would only
 * time out.
 */
enum lbc_status lbc_call(const char *path, const Lb__CtlRequest *req,
		    Lb__CtlReply **rep, int timeout_ms, char **cause);

#endif
