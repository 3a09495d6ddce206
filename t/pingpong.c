/*
 * pingpong - two co-operating tasks that talk by id through liblbtask,
 * for t/coop.t, and that can checkpoint (and so move) at any time between
 * two calls.
 *
 *   pingpong serve N     answer each message "k" with "k" to its sender,
 *                        N times, then print "served=N" and exit 0
 *   pingpong ask ID N [MS]
 *                        send "1".."N" to task ID, one at a time, each
 *                        waiting for its answer (and MS ms after it,
 *                        0 by default); print "asked=N
 *                        answers=A inorder=yes|no" (A answers, in order:
 *                        each the number just asked) and exit 0
 *
 * State (the count, and a pending answer or question) goes to
 * LB_CHECKPOINT_DIR/state on the checkpoint signal, and is read back with
 * LB_RESUME.  The signal is blocked while a call is out; receives wait in
 * 1 s slices, so a checkpoint comes within a second.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lbtask.h"

static volatile sig_atomic_t	ck;
static sigset_t			ckset;

struct state {
	long	done;		/* served, or asked and answered */
	long	pending;	/* serve: an answer to send (0: none) */
	char	to[LBT_ID_MAX];	/* ... to this sender */
	long	bad;		/* ask: answers out of order */
};

static struct state	st;

static void
on_ck(int sig)
{
	(void)sig;
	ck = 1;
}

static void
save_and_exit(void)
{
	const char	*dir = getenv("LB_CHECKPOINT_DIR");
	const char	*code = getenv("LB_CHECKPOINT_EXIT_CODE");
	char		 path[4096];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/state", dir ? dir : ".");
	if ((f = fopen(path, "w")) == NULL ||
	    fprintf(f, "%ld %ld %ld %s\n", st.done, st.pending, st.bad,
	    st.to[0] ? st.to : "-") < 0 || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	exit(code ? atoi(code) : 85);
}

static void
restore(void)
{
	const char	*dir = getenv("LB_CHECKPOINT_DIR");
	char		 path[4096];
	FILE		*f;

	if (getenv("LB_RESUME") == NULL || dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/state", dir);
	if ((f = fopen(path, "r")) == NULL)
		return;
	if (fscanf(f, "%ld %ld %ld %83s", &st.done, &st.pending, &st.bad,
	    st.to) != 4) {
		fprintf(stderr, "pingpong: bad state in %s\n", path);
		exit(1);
	}
	if (strcmp(st.to, "-") == 0)
		st.to[0] = '\0';
	fclose(f);
}

/* Between two calls: checkpoint if asked. */
static void
point(void)
{
	sigprocmask(SIG_UNBLOCK, &ckset, NULL);
	if (ck)
		save_and_exit();
	sigprocmask(SIG_BLOCK, &ckset, NULL);
}

static void
send_or_die(const char *to, long k)
{
	char	body[32], err[160];
	int	rc;

	snprintf(body, sizeof(body), "%ld", k);
	while ((rc = lbt_send(to, body, strlen(body), 10000, err,
	    sizeof(err))) == LBT_TIMEOUT)
		point();	/* not acknowledged yet: the same again */
	if (rc != LBT_OK) {
		fprintf(stderr, "pingpong: send %ld to %s: %s\n", k, to, err);
		exit(1);
	}
}

/* The next message, waiting in slices (a checkpoint may come between). */
static long
next(char *from, size_t fromlen, int idle_s)
{
	char	buf[64];
	ssize_t	n;

	for (int waited = 0; waited < idle_s; waited++) {
		n = lbt_recv(buf, sizeof(buf) - 1, 1000, from, fromlen, NULL);
		if (n >= 0) {
			buf[n < (ssize_t)sizeof(buf) ? n : 0] = '\0';
			return strtol(buf, NULL, 10);
		}
		if (n != LBT_RECV_TIMEOUT) {
			fprintf(stderr, "pingpong: recv: %s\n", lbt_error());
			exit(1);
		}
		point();
	}
	fprintf(stderr, "pingpong: nothing for %d s\n", idle_s);
	exit(1);
}

int
main(int argc, char **argv)
{
	const char	*s;
	int		 sig = SIGUSR1;
	long		 n;
	char		 from[LBT_ID_MAX];

	if (argc < 3 || (strcmp(argv[1], "serve") != 0 &&
	    strcmp(argv[1], "ask") != 0) ||
	    (strcmp(argv[1], "ask") == 0 && argc < 4)) {
		fprintf(stderr, "usage: pingpong serve N | ask ID N\n");
		return 2;
	}
	if ((s = getenv("LB_CHECKPOINT_SIGNAL")) != NULL)
		sig = atoi(s);
	sigemptyset(&ckset);
	sigaddset(&ckset, sig);
	signal(sig, on_ck);
	sigprocmask(SIG_BLOCK, &ckset, NULL);
	restore();
	if (strcmp(argv[1], "serve") == 0) {
		n = atol(argv[2]);
		while (st.done < n) {
			if (st.pending != 0) {
				send_or_die(st.to, st.pending);
				st.pending = 0;
				st.done++;
				point();
				continue;
			}
			st.pending = next(st.to, sizeof(st.to), 120);
			point();
		}
		printf("served=%ld\n", st.done);
		return 0;
	}
	n = atol(argv[3]);
	while (st.done < n) {
		if (st.pending == 0) {
			send_or_die(argv[2], st.done + 1);
			st.pending = st.done + 1;
			point();
		}
		if (next(from, sizeof(from), 120) != st.pending ||
		    strcmp(from, argv[2]) != 0)
			st.bad++;
		st.done++;
		st.pending = 0;
		if (argc > 4)
			usleep((useconds_t)atoi(argv[4]) * 1000);
		point();
	}
	printf("asked=%ld answers=%ld inorder=%s\n", n, st.done,
	    st.bad ? "no" : "yes");
	return 0;
}
