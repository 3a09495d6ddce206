/*
 * recvdie - a task's receiver that dies with what it got: it asks its
 * peer for the next message (as lbctl recv and lbt_recv do), prints it,
 * and exits without confirming it, as a receiver killed at that moment
 * would.  The peer must hand the same message to the next recv.
 *
 *   recvdie TIMEOUT_MS		(in a task: LB_TASK_ID, LB_CONTROL)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "src/lbpeer.pb-c.h"
#include "src/msg.h"

int
main(int argc, char **argv)
{
	const char	*path = getenv("LB_CONTROL"), *id = getenv("LB_TASK_ID");
	Lb__CtlReply	*rep;
	char		*cause = NULL;

	if (argc != 2 || path == NULL || id == NULL) {
		fprintf(stderr, "usage: recvdie TIMEOUT_MS (in a task)\n");
		return 2;
	}
	if (msg_recv(path, id, atoi(argv[1]), &rep, &cause) != MSGR_OK) {
		fprintf(stderr, "recvdie: %s\n", cause);
		return 1;
	}
	printf("got %.*s, not confirmed\n", (int)rep->recv->msg->body.len,
	    (char *)rep->recv->msg->body.data);
	fflush(stdout);
	_exit(0);
}
