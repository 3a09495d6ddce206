/*
 * fakectl - a stand-in for a peer's control socket that answers send,
 * recv, locate and tail as the peer side of issue 9 does, with canned
 * replies: the client side (lbctl, liblbtask, lbwork --recv) is tested
 * on its own.
 *
 *   fakectl SOCKET [SENDER:SEQ:BODY]...
 *
 * send: body "refuse" is refused (the task ended: done), "slow" is not
 * acknowledged (done=false), anything else is delivered at n4, epoch 5,
 * hops n2 n4, and the reply names the request's sender ("n1" if none).
 * recv: the messages of the command line, one a request, then none (a
 * confirm takes none).
 * locate: n4, epoch 5, hops n2 n4; state "done" for n1.9.  tail: the
 * output "abcdefghij" 4 bytes at a time, ended at its end.  Anything
 * else: refused.  It runs until killed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/reqrep.h>

#include "lbpeer.pb-c.h"

static char	*hops[] = { "n2", "n4" };

int
main(int argc, char **argv)
{
	static const char out[] = "abcdefghij";
	char		*url, *sender, *body;
	int		 s, n, next = 2, max = -1;
	uint64_t	 seq = 0;
	void		*buf;

	if (argc < 2) {
		fprintf(stderr, "usage: fakectl SOCKET [SENDER:SEQ:BODY]...\n");
		return 2;
	}
	if ((s = nn_socket(AF_SP, NN_REP)) < 0)
		return 1;
	nn_setsockopt(s, NN_SOL_SOCKET, NN_RCVMAXSIZE, &max, sizeof(max));
	if (asprintf(&url, "ipc://%s", argv[1]) < 0 || nn_bind(s, url) < 0) {
		fprintf(stderr, "fakectl: %s: %s\n", argv[1],
		    nn_strerror(nn_errno()));
		return 1;
	}
	while ((n = nn_recv(s, &buf, NN_MSG, 0)) >= 0) {
		Lb__CtlRequest	*req = lb__ctl_request__unpack(NULL,
				    (size_t)n, buf);
		Lb__CtlReply	 rep = LB__CTL_REPLY__INIT;
		Lb__CtlSent	 sent = LB__CTL_SENT__INIT;
		Lb__CtlRecv	 recv = LB__CTL_RECV__INIT;
		Lb__MailMsg	 msg = LB__MAIL_MSG__INIT;
		Lb__CtlLocate	 loc = LB__CTL_LOCATE__INIT;
		Lb__CtlTail	 tail = LB__CTL_TAIL__INIT;
		uint8_t		*o;
		size_t		 len;

		nn_freemsg(buf);
		if (req == NULL)
			continue;
		switch (req->req_case) {
		case LB__CTL_REQUEST__REQ_SEND:
			rep.rep_case = LB__CTL_REPLY__REP_SENT;
			rep.sent = &sent;
			sent.sender = req->send->sender[0] ? req->send->sender :
			    "n1";
			sent.seq = ++seq;
			body = (char *)req->send->body.data;
			len = req->send->body.len;
			if (len == 4 && memcmp(body, "slow", 4) == 0)
				break;
			sent.done = 1;
			if (len == 6 && memcmp(body, "refuse", 6) == 0) {
				sent.status = LB__MSG_STATUS__MSG_ENDED;
				sent.detail = "done";
				break;
			}
			sent.host = "n4";
			sent.epoch = 5;
			sent.hops = hops;
			sent.n_hops = 2;
			break;
		case LB__CTL_REQUEST__REQ_RECV:
			rep.rep_case = LB__CTL_REPLY__REP_RECV;
			rep.recv = &recv;
			/* A confirm of the message handed out: nothing new. */
			if (req->recv->confirm_only || next >= argc)
				break;
			sender = argv[next++];
			if ((body = strchr(sender, ':')) == NULL)
				break;
			*body++ = '\0';
			msg.seq = strtoull(body, &body, 10);
			msg.sender = sender;
			msg.body.data = (uint8_t *)body + 1;
			msg.body.len = strlen(body + 1);
			/* "\xff" stands for a byte that is no UTF-8. */
			if (strcmp(body + 1, "\\xff") == 0) {
				msg.body.data = (uint8_t *)"\xff\0a";
				msg.body.len = 3;
			}
			recv.got = 1;
			recv.msg = &msg;
			break;
		case LB__CTL_REQUEST__REQ_LOCATE:
			rep.rep_case = LB__CTL_REPLY__REP_LOCATE;
			rep.locate = &loc;
			loc.host = "n4";
			loc.epoch = 5;
			loc.hops = hops;
			loc.n_hops = 2;
			if (strcmp(req->locate->id, "n1.9") == 0)
				loc.state = "done";
			break;
		case LB__CTL_REQUEST__REQ_TAIL:
			rep.rep_case = LB__CTL_REPLY__REP_TAIL;
			rep.tail = &tail;
			tail.host = "n4";
			tail.offset = req->tail->offset;
			if (tail.offset < sizeof(out) - 1) {
				tail.data.data = (uint8_t *)out + tail.offset;
				tail.data.len = sizeof(out) - 1 - tail.offset;
				if (tail.data.len > 4)
					tail.data.len = 4;
			}
			tail.ended = tail.offset + tail.data.len >=
			    sizeof(out) - 1;
			break;
		default:
			rep.code = 1;
			rep.error = "unknown request";
			break;
		}
		len = lb__ctl_reply__get_packed_size(&rep);
		o = malloc(len ? len : 1);
		lb__ctl_reply__pack(&rep, o);
		nn_send(s, o, len, 0);
		free(o);
		lb__ctl_request__free_unpacked(req, NULL);
	}
	return 1;
}
