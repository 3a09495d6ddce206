/*
 * lbtask.h - for a program that runs as an lbpeer task: its own id,
 * messages to and from other tasks by id (wherever they run, and while they
 * move), and child tasks.  Link with `pkg-config --cflags --libs lbtask`.
 *
 * The library talks to the peer that runs the task, over the control socket
 * the peer names in LB_CONTROL; the task's id is LB_TASK_ID.  Both are set
 * in every task's environment.  A program outside a task may send and
 * submit too, when LB_CONTROL names a peer: its messages come from that
 * peer (its node id is the sender).
 *
 * Messages from one sender arrive once each, in the order sent.  Calls
 * block (up to their timeout) and are safe to make from several threads;
 * lbt_error() is per thread.
 */
#ifndef LBTASK_H
#define LBTASK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The largest message (the peers' default message_max), in bytes. */
#define LBT_MSG_MAX	65536
/* Room for any task id or node id, with its NUL. */
#define LBT_ID_MAX	84

/* What lbt_send and lbt_submit return. */
#define LBT_OK		0	/* delivered; submitted */
#define LBT_REFUSED	1	/* refused: the task ended, its mailbox is full,
				   no such task, too large, a bad id... */
#define LBT_TIMEOUT	124	/* not acknowledged in time: it may still
				   be delivered */
#define LBT_NOPEER	(-1)	/* no peer answered (or LB_CONTROL unset) */

/* What lbt_recv returns besides a length. */
#define LBT_RECV_ERROR	(-1)	/* see lbt_error() */
#define LBT_RECV_TIMEOUT (-2)	/* no message within the timeout */

/* This task's id (LB_TASK_ID), or NULL outside a task. */
const char	*lbt_self(void);

/*
 * Send len bytes (at most LBT_MSG_MAX) to task `id`, and wait until it is
 * in that task's mailbox or refused, at most timeout_ms (<= 0: 30 s).
 * Inside a task the receiver sees this task's id as the sender.  Returns
 * LBT_OK, LBT_REFUSED, LBT_TIMEOUT or LBT_NOPEER; unless LBT_OK, why is in
 * err (errlen bytes, may be 0) and in lbt_error().
 */
int		 lbt_send(const char *id, const void *buf, size_t len,
		    int timeout_ms, char *err, size_t errlen);

/*
 * Take the next message from this task's mailbox, waiting up to timeout_ms
 * (< 0: until one comes; 0: only look).  Copies at most cap bytes of it to
 * buf, its sender (a task id, or the node id of a peer that sent it with
 * lbctl) to sender (senderlen bytes, LBT_ID_MAX is enough; sender may be
 * NULL), its sequence number (rising per sender) to *seq (may be NULL).
 * Returns the message's length (larger than cap: the rest is lost; a
 * buffer of LBT_MSG_MAX never is), LBT_RECV_TIMEOUT, or LBT_RECV_ERROR
 * (outside a task, no peer: lbt_error()).
 *
 * A signal caught while it waits cuts the wait short (LBT_RECV_ERROR); a
 * message the peer handed over at that instant stays in the mailbox (it
 * leaves only once lbt_recv has confirmed it, before it returns) and the
 * next call gets it.  Calls from several threads take turns.
 */
ssize_t		 lbt_recv(void *buf, size_t cap, int timeout_ms, char *sender,
		    size_t senderlen, uint64_t *seq);

/*
 * Submit a child task that runs argv (argv[0] a program installed on every
 * host; a relative path with a slash is made absolute here), as
 * `lbctl submit -- argv...` does.  Its id goes to id (idlen bytes,
 * LBT_ID_MAX is enough).  Returns LBT_OK, LBT_REFUSED or LBT_NOPEER.
 * Each call carries a random request id of its own: the submit that
 * nanomsg sends again to a peer restarted meanwhile makes no second task
 * (a call made again is another task).
 */
int		 lbt_submit(char *const argv[], char *id, size_t idlen);

/* Why the last call of this thread failed ("" if it did not). */
const char	*lbt_error(void);

#ifdef __cplusplus
}
#endif

#endif
