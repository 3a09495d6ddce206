/*
 * lbtask_self - a task's program built as a user builds one: lbtask.h and
 * the library, nothing else of lbpeer.  For t/msg-cli.t:
 *
 *   lbtask_self self              prints lbt_self(), or "(none)"
 *   lbtask_self send ID SIZE      sends SIZE bytes of 'x' to ID (=TEXT: TEXT)
 *   lbtask_self recv MS           receives one message, waiting MS ms
 *   lbtask_self submit PROG...    submits PROG... as a child task
 *
 * Each but self prints "rc=R" and then what lbt_error() says, or the
 * result: the id submitted, or "sender=S seq=N len=L body".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lbtask.h"

int
main(int argc, char **argv)
{
	static char	buf[LBT_MSG_MAX + 2];
	char		err[256] = "", who[LBT_ID_MAX], id[LBT_ID_MAX];
	const char	*self;
	uint64_t	seq = 0;
	ssize_t		n;
	int		rc;

	if (argc == 2 && strcmp(argv[1], "self") == 0) {
		self = lbt_self();
		printf("%s\n", self ? self : "(none)");
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "send") == 0) {
		size_t len = strtoul(argv[3], NULL, 10);
		if (len > sizeof(buf))
			len = sizeof(buf);
		memset(buf, 'x', len);
		if (argv[3][0] == '=') {	/* =TEXT: that text */
			len = strlen(argv[3] + 1);
			memcpy(buf, argv[3] + 1, len < sizeof(buf) ? len :
			    sizeof(buf));
		}
		rc = lbt_send(argv[2], buf, len, 5000, err, sizeof(err));
		printf("rc=%d %s\n", rc, err);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "recv") == 0) {
		n = lbt_recv(buf, sizeof(buf), atoi(argv[2]), who, sizeof(who),
		    &seq);
		if (n < 0)
			printf("rc=%zd %s\n", n, lbt_error());
		else
			printf("rc=0 sender=%s seq=%llu len=%zd %.*s\n", who,
			    (unsigned long long)seq, n, (int)n, buf);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "submit") == 0) {
		rc = lbt_submit(argv + 2, id, sizeof(id));
		printf("rc=%d %s\n", rc, rc == LBT_OK ? id : lbt_error());
		return 0;
	}
	fprintf(stderr, "usage: lbtask_self self | send ID SIZE|=TEXT | recv MS | "
	    "submit PROG...\n");
	return 2;
}
