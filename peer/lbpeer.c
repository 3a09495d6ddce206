/* lbpeer.c - the daemon: options, start-up checks, the event loop. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <sodium.h>

#include "peer.h"
#include "keeper.h"
#include "glue.h"

#define LEAVE_GRACE_MS	300	/* NN_LINGER is ignored: let the leave go out */

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
"usage: lbpeer [-fnv] [-c FILE]\n"
"\n"
"The lbpeer daemon: one per host, all alike, no master.\n"
"\n"
"  -c FILE   configuration (libconfig); default /etc/lbpeer.conf\n"
"  -f        stay in the foreground and log to stderr (else syslog)\n"
"  -n        check the configuration, print \"configuration OK\", exit\n"
"  -v        more verbose logging (repeat for debug)\n"
"  -V        print the version\n"
"  -h        this help\n");
	exit(code);
}

/* Drained (or a second signal): say goodbye, and exit once it is out. */
static void
leave(struct peer *p)
{
	struct timeval	 tv = { 0, LEAVE_GRACE_MS * 1000 };

	log_info("leaving the cluster");
	p->leaving = 1;
	glue_leaving(p);
	members_leave(p);
	evtimer_add(p->exit_ev, &tv);
}

/*
 * The first SIGTERM or SIGINT drains (drain_timeout_s) and then leaves; a
 * second one leaves at once, as a user who presses ^C twice expects (the
 * homes of what still runs here see the peer left and run it again).
 */
static void
sig_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct peer	*p = arg;

	if (sig == SIGHUP) {
		log_info("SIGHUP: nothing to reload yet; restart to apply "
		    "configuration changes");
		return;
	}
	if (p->leaving) {
		log_info("%s again: exiting now", strsignal((int)sig));
		event_base_loopbreak(p->base);
		return;
	}
	if (p->stopping) {
		log_info("%s again: leaving now, without waiting for the drain",
		    strsignal((int)sig));
		leave(p);
		return;
	}
	log_info("%s: draining (at most %d s), then leaving the cluster; "
	    "signal again to leave at once", strsignal((int)sig),
	    p->conf.drain_timeout_s);
	p->stopping = 1;
	drain_then(p, -1, leave);
}

static void
exit_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer	*p = arg;

	event_base_loopbreak(p->base);
}

/*
 * Check the key file: secret_file, else (if it is there already) the key
 * this peer made in state_dir.  For lbpeer -n, which makes nothing.  The
 * message is the whole line to print.
 */
static int
check_key(const struct lb_conf *c, const char *file, char **cause)
{
	unsigned char	 key[LB_KEY_BYTES];
	char		*path, *why;
	int		 rc = 0;

	if (c->secret_file != NULL) {
		if (lb_key_read(c->secret_file, key, &why) == -1) {
			*cause = lb_printf("%s:%d: secret_file: %s", file,
			    c->secret_file_line, why);
			free(why);
			rc = -1;
		}
	} else {
		path = state_key_path(c);
		if (access(path, F_OK) == 0 && lb_key_read(path, key, &why)
		    == -1) {
			*cause = lb_printf("lbpeer: %s (this peer's own "
			    "cluster key, as no secret_file is set)", why);
			free(why);
			rc = -1;
		}
		free(path);
	}
	sodium_memzero(key, sizeof(key));
	return rc;
}

/*
 * The cluster key: secret_file, else this peer's own in state_dir (made at
 * first start).  Say which in the log: a peer with its own key is a cluster
 * of one until other hosts are given a copy.
 */
static int
load_key(struct peer *p, unsigned char key[LB_KEY_BYTES], char **cause)
{
	char	*path;
	int	 made, others = 0;

	if (p->conf.secret_file != NULL) {
		if (lb_key_read(p->conf.secret_file, key, cause) == -1)
			return -1;
		log_info("cluster key: %s (secret_file)", p->conf.secret_file);
		return 0;
	}
	if (state_key(p, key, &made, cause) == -1)
		return -1;
	path = state_key_path(&p->conf);
	log_info("cluster key: %s, this peer's own (no secret_file is set; "
	    "%s): other hosts can join only with a copy of it (mode 0600) as "
	    "their secret_file", path, made ? "made now" : "made at its first "
	    "start");
	for (size_t i = 0; i < p->conf.nseeds; i++)
		if (strcmp(p->conf.seeds[i], p->conf.advertise) != 0)
			others = 1;
	if (others)
		log_warnx("seeds name other peers but secret_file is not "
		    "set: they can talk to this peer only with its key, %s; "
		    "give every peer the same key file (lbctl keygen) as its "
		    "secret_file", path);
	free(path);
	return 0;
}

/*
 * Fork into the background; the parent waits until the child says it is
 * running (or why it is not) and exits with that status.  This happens
 * before any nanomsg socket exists: nanomsg's threads do not survive fork.
 */
static int
daemonize(void)
{
	int	fds[2], status;
	char	c;
	pid_t	pid;

	if (pipe(fds) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid > 0) {
		close(fds[1]);
		status = read(fds[0], &c, 1) == 1 ? c : 1;
		_exit(status);
	}
	close(fds[0]);
	if (setsid() == -1)
		fatal("setsid");
	return fds[1];
}

/* Tell the waiting parent how start-up went, and detach from the terminal. */
static void
daemon_ready(int fd, int status)
{
	char	c = (char)status;
	int	null;

	if (fd == -1)
		return;
	if (status == 0 && (null = open("/dev/null", O_RDWR)) != -1) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	(void)write(fd, &c, 1);
	close(fd);
}

/* An authenticated envelope: the failure detector's probes go to members,
 * the rest to glue. */
static void
peer_recv(struct peer *p, const Lb__Envelope *e)
{
	if (!members_dispatch(p, e))
		glue_recv(p, e);
}

int
main(int argc, char **argv)
{
	struct peer	 p;
	const char	*file = "/etc/lbpeer.conf";
	unsigned char	 key[LB_KEY_BYTES];
	char		**errs, *cause;
	size_t		 nerrs;
	int		 ch, fg = 0, check = 0, verbose = 0, readyfd = -1;
	int		 sigs[3] = { SIGTERM, SIGINT, SIGHUP };
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};

	while ((ch = getopt_long(argc, argv, "c:fnvVh", longopts, NULL)) != -1)
		switch (ch) {
		case 'c': file = optarg; break;
		case 'f': fg = 1; break;
		case 'n': check = 1; break;
		case 'v': verbose++; break;
		case 'V': printf("lbpeer %s\n", PACKAGE_VERSION); return 0;
		case 'h': usage(0);
		default: usage(2);
		}
	if (optind != argc)
		usage(2);

	memset(&p, 0, sizeof(p));
	if (lb_conf_load(file, &p.conf, &errs, &nerrs) == -1) {
		for (size_t i = 0; i < nerrs; i++)
			fprintf(stderr, "%s\n", errs[i]);
		lb_conf_errors_free(errs, nerrs);
		lb_conf_free(&p.conf);
		return 1;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "lbpeer: libsodium failed to start\n");
		return 1;
	}
	if (check_key(&p.conf, file, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		lb_conf_free(&p.conf);
		return 1;
	}
	if (check) {
		printf("configuration OK\n");
		lb_conf_free(&p.conf);
		return 0;
	}
	if (p.conf.slots == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		p.conf.slots = n > 0 ? (int)n : 1;
	}
	log_init(fg, verbose ? LOG_LVL_INFO + verbose > LOG_LVL_DEBUG ?
	    LOG_LVL_DEBUG : LOG_LVL_INFO + verbose : p.conf.log.level, "lbpeer");
	if (state_open(&p, &cause) == -1 || load_key(&p, key, &cause) == -1) {
		fprintf(stderr, "lbpeer: %s\n", cause);
		free(cause);
		lb_conf_free(&p.conf);
		return 1;
	}
	if (!fg)
		readyfd = daemonize();

	signal(SIGPIPE, SIG_IGN);
	log_hook_libevent();
	/* The lease keeper is forked now, before any thread or socket. */
	if (p.conf.task.lease_ms > 0 &&
	    keeper_start((size_t)p.conf.slots * 2 + 16, &cause) == -1) {
		log_warnx("%s; tasks are frozen by the daemon alone", cause);
		free(cause);
		cause = NULL;
	}
	p.started_ms = lb_mono_ms();
	lb_rng_seed(&p.rng, lb_wall_ms() ^ ((uint64_t)getpid() << 32));
	env_init(&p.env, key, p.conf.cluster,
	    p.conf.id, p.incarnation, net_max_message(&p.conf),
	    (uint64_t)p.conf.replay_window_ms);
	sodium_memzero(key, sizeof(key));
	if ((p.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	if (net_open(&p, peer_recv, &cause) == -1 || ctl_open(&p, &cause) == -1 ||
	    http_open(&p, &cause) == -1) {
		if (!fg)	/* still on the terminal until daemon_ready */
			fprintf(stderr, "lbpeer: %s\n", cause);
		log_warnx("%s", cause);
		daemon_ready(readyfd, 1);
		return 1;
	}
	for (int i = 0; i < 3; i++) {
		p.sig_ev[i] = evsignal_new(p.base, sigs[i], sig_cb, &p);
		evsignal_add(p.sig_ev[i], NULL);
	}
	p.exit_ev = evtimer_new(p.base, exit_cb, &p);
	members_start(&p);
	balancer_start(&p);
	if (msgs_start(&p, &cause) == -1 || glue_start(&p, &cause) == -1) {
		if (!fg)
			fprintf(stderr, "lbpeer: %s\n", cause);
		log_warnx("%s", cause);
		daemon_ready(readyfd, 1);
		return 1;
	}
	msgs_restore(&p);
	log_info("%s started: cluster %s, listen %s, control %s, incarnation "
	    "%" PRIu64 ", %d slots", p.conf.id, p.conf.cluster, p.conf.listen,
	    p.conf.control, p.incarnation, p.conf.slots);
	daemon_ready(readyfd, 0);

	event_base_dispatch(p.base);

	log_info("%s stopped", p.conf.id);
	drain_free(&p);
	msgs_stop(&p);
	glue_stop(&p);
	balancer_stop(&p);
	http_close(&p);
	ctl_close(&p);
	members_stop(&p);
	net_close(&p);
	for (int i = 0; i < 3; i++)
		event_free(p.sig_ev[i]);
	event_free(p.exit_ev);
	event_base_free(p.base);
	env_free(&p.env);
	lb_conf_free(&p.conf);
	nn_term();
	return 0;
}
