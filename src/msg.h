/* msg.h - messages to tasks, from a client of the local peer (lbctl send
 * and recv, and liblbtask, share it). */
#ifndef LB_MSG_H
#define LB_MSG_H

#include <stddef.h>

#include "lbpeer.pb-c.h"

/* The largest message body: the default message_max.  A client refuses a
 * larger one before it sends (a peer set lower refuses it: MSG_TOO_LARGE). */
#define LB_MSG_MAX		(64 * 1024)
/* The peer answers a send, recv or locate when it is decided or at the
 * request's own timeout: the client waits this much longer for the reply. */
#define MSG_SLACK_MS		2000
/* A send with no timeout of its own waits this long. */
#define MSG_SEND_DEFAULT_MS	30000
/* A recv that waits for ever asks again after this long. */
#define MSG_RECV_SLICE_MS	30000

/* What became of a send or a recv; the numbers are lbctl's exit codes. */
enum msg_result {
	MSGR_OK = 0,		/* delivered; or a message came */
	MSGR_REFUSED = 1,	/* the peer or the task said no: *cause */
	MSGR_UNREACHABLE = 3,	/* no peer answered: *cause */
	MSGR_TIMEOUT = 124	/* not acknowledged, or none came, in time */
};

/*
 * Send len bytes of body to task `id` through the peer at control socket
 * `path`, as `sender` (a task id held at that peer, or "" for the peer
 * itself), and wait for the outcome up to timeout_ms (<= 0: the default).
 * MSGR_OK, MSGR_REFUSED and MSGR_TIMEOUT may come with *rep, the peer's
 * reply (its sent filled; free it); every result but MSGR_OK sets *cause.
 */
enum msg_result	msg_send(const char *path, const char *id, const void *body,
		    size_t len, const char *sender, int timeout_ms,
		    Lb__CtlReply **rep, char **cause);

/*
 * The next message in the mailbox of task `id` (held at the peer at
 * `path`), waiting up to timeout_ms (< 0: until one comes).  MSGR_OK: *rep
 * holds it (rep->recv->msg; free *rep); it stays in the mailbox until
 * msg_confirm says it was received.  Otherwise *cause is set.
 */
enum msg_result	msg_recv(const char *path, const char *id, int timeout_ms,
		    Lb__CtlReply **rep, char **cause);
/*
 * The message msg_recv handed out (its sender and seq) was received: the
 * peer takes it out of the mailbox.  Until then it stays, and the next
 * recv gets it again (a receiver that died with it loses nothing).  Only
 * for a reply that says rep->recv->two_step (a peer from before took the
 * message out already, and would take another for this call).
 */
enum msg_result	msg_confirm(const char *path, const char *id,
		    const char *sender, uint64_t seq, char **cause);

/* Why a send that was answered was refused, for people. */
char		*msg_refusal(const char *id, const Lb__CtlSent *);

#endif
