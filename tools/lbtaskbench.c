/*
 * lbtaskbench - the task benchmark's two loops, for tools/lbbench tasks.
 *
 *   lbtaskbench bare N PROG ARGS...          fork/exec/wait N times
 *   lbtaskbench peer SOCKET N PROG ARGS...   submit N tasks to a peer, then
 *                                            wait until every one has ended
 *
 * Each prints "tasks=N seconds=S rate=R" (tasks per second).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "src/client.h"
#include "src/util.h"

static void
report(long n, uint64_t start)
{
	double	s = (double)(lb_mono_ms() - start) / 1000;

	printf("tasks=%ld seconds=%.3f rate=%.1f\n", n, s, s > 0 ? n / s : 0);
}

static int
bare(long n, char **argv)
{
	uint64_t	start = lb_mono_ms();

	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		int st;
		if (pid == 0) {
			int fd = open("/dev/null", 1);
			dup2(fd, 1);
			execvp(argv[0], argv);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			fprintf(stderr, "lbtaskbench: %s failed\n", argv[0]);
			return 1;
		}
	}
	report(n, start);
	return 0;
}

static Lb__CtlReply *
call(const char *sock, Lb__CtlRequest *req)
{
	Lb__CtlReply	*rep;
	char		*cause;

	if (lbc_call(sock, req, &rep, 10000, &cause) != LBC_OK) {
		fprintf(stderr, "lbtaskbench: %s\n", cause);
		exit(3);
	}
	if (rep->code != 0) {
		fprintf(stderr, "lbtaskbench: %s\n", rep->error);
		exit(1);
	}
	return rep;
}

static int
peer(const char *sock, long n, char **argv, int argc)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlSubmitReq sr = LB__CTL_SUBMIT_REQ__INIT;
	Lb__TaskSpec	 spec = LB__TASK_SPEC__INIT;
	Lb__CtlReply	*rep;
	Lb__CtlStatusReq st = LB__CTL_STATUS_REQ__INIT;
	uint64_t	 start = lb_mono_ms();

	spec.argv = argv;
	spec.n_argv = (size_t)argc;
	spec.checkpoint_exit_code = 85;
	sr.spec = &spec;
	req.req_case = LB__CTL_REQUEST__REQ_SUBMIT;
	req.submit = &sr;
	for (long i = 0; i < n; i++)
		lb__ctl_reply__free_unpacked(call(sock, &req), NULL);
	/* Until nothing runs or waits. */
	req.req_case = LB__CTL_REQUEST__REQ_STATUS;
	req.status = &st;
	for (;;) {
		int busy;
		rep = call(sock, &req);
		busy = rep->status->running + rep->status->queued;
		lb__ctl_reply__free_unpacked(rep, NULL);
		if (busy == 0)
			break;
		usleep(2000);
	}
	report(n, start);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc >= 4 && strcmp(argv[1], "bare") == 0)
		return bare(atol(argv[2]), argv + 3);
	if (argc >= 5 && strcmp(argv[1], "peer") == 0)
		return peer(argv[2], atol(argv[3]), argv + 4, argc - 4);
	fprintf(stderr, "usage: lbtaskbench bare N PROG ARGS... | peer SOCKET "
	    "N PROG ARGS...\n");
	return 2;
}
