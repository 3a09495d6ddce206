/* lbctl.c - the command line to a local lbpeer. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <stdarg.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "client.h"
#include "ctljson.h"
#include "conf.h"
#include "msg.h"
#include "top.h"
#include "util.h"

/* Exit codes, as the manual documents them. */
#define EX_OK		0	/* done */
#define EX_NO		1	/* the peer said no */
#define EX_USAGE	2	/* bad command line */
#define EX_UNREACH	3	/* no peer answered */

struct opts {
	const char	*socket;
	const char	*config;
	int		 json;
	int		 timeout_ms;
	int		 timeout_set;	/* --timeout given */
};

/* One option of a command: long name, whether it takes a value, letter. */
struct optdef {
	const char	*name;
	int		 arg;
	int		 ch;	/* its one-letter form, or 0 */
};

/*
 * A command: its name, its arguments as its usage line shows them, how many
 * positional arguments it takes (max -1: any number), its own options, and
 * whether its first positional argument ends the options (submit: the
 * program's own options follow it).
 */
struct cmd {
	const char		*name;
	const char		*args;
	int			 min, max;
	const struct optdef	*defs;
	int			 stop;
	int			(*fn)(const struct cmd *, struct opts *, int,
				    char **);
};

static int	cmd_status(const struct cmd *, struct opts *, int, char **);
static int	cmd_peers(const struct cmd *, struct opts *, int, char **);
static int	cmd_keygen(const struct cmd *, struct opts *, int, char **);
static int	cmd_debug(const struct cmd *, struct opts *, int, char **);
static int	cmd_submit(const struct cmd *, struct opts *, int, char **);
static int	cmd_wait(const struct cmd *, struct opts *, int, char **);
static int	cmd_show(const struct cmd *, struct opts *, int, char **);
static int	cmd_list(const struct cmd *, struct opts *, int, char **);
static int	cmd_cancel(const struct cmd *, struct opts *, int, char **);
static int	cmd_checkpoint(const struct cmd *, struct opts *, int,
		    char **);
static int	cmd_stats(const struct cmd *, struct opts *, int, char **);
static int	cmd_migrate(const struct cmd *, struct opts *, int, char **);
static int	cmd_drain(const struct cmd *, struct opts *, int, char **);
static int	cmd_undrain(const struct cmd *, struct opts *, int, char **);
static int	cmd_top(const struct cmd *, struct opts *, int, char **);
static int	cmd_send(const struct cmd *, struct opts *, int, char **);
static int	cmd_recv(const struct cmd *, struct opts *, int, char **);
static int	cmd_locate(const struct cmd *, struct opts *, int, char **);
static int	cmd_tail(const struct cmd *, struct opts *, int, char **);

static const struct optdef submit_defs[] = {
	{ "wait", 0, 0 }, { "timeout", 1, 0 }, { "env", 1, 0 },
	{ "file", 1, 0 }, { "checkpointable", 0, 0 },
	{ "checkpoint-signal", 1, 0 }, { "checkpoint-exit-code", 1, 0 },
	{ "checkpoint-every", 1, 0 },
	{ "needs", 1, 0 }, { "pin", 1, 0 }, { "demand", 1, 0 },
	{ "request-id", 1, 0 },
	{ NULL, 0, 0 }
};
static const struct optdef timeout_defs[] = {
	{ "timeout", 1, 0 }, { NULL, 0, 0 }
};
static const struct optdef migrate_defs[] = {
	{ "to", 1, 0 }, { "timeout", 1, 0 }, { NULL, 0, 0 }
};
static const struct optdef list_defs[] = { { "all", 0, 0 },
    { "cluster", 0, 0 }, { "state", 1, 0 }, { "host", 1, 0 },
    { "home", 1, 0 }, { "grep", 1, 0 }, { "after", 1, 0 },
    { "limit", 1, 0 }, { NULL, 0, 0 } };
static const struct optdef drain_defs[] = {
	{ "timeout", 1, 0 }, { "wait", 0, 0 }, { NULL, 0, 0 }
};
static const struct optdef top_defs[] = {
	{ "interval", 1, 0 }, { NULL, 0, 0 }
};
static const struct optdef send_defs[] = {
	{ "file", 1, 0 }, { "timeout", 1, 0 }, { NULL, 0, 0 }
};
static const struct optdef tail_defs[] = {
	{ "follow", 0, 'f' }, { "stderr", 0, 0 }, { NULL, 0, 0 }
};
static const struct optdef lbctl_defs[] = {
	{ "timeout", 1, 0 }, { "version", 0, 'V' }, { NULL, 0, 0 }
};

/* lbctl itself, before the command: its usage line is the first. */
static const struct cmd lbctl_cmd = { NULL,
	"[-s SOCKET | -c FILE] [--json] [--timeout MS] COMMAND [ARGS]",
	0, -1, lbctl_defs, 1, NULL };

/* The commands, in the order --help shows them; the usage lines are these. */
static const struct cmd cmds[] = {
	{ "status", "", 0, 0, NULL, 0, cmd_status },
	{ "peers", "", 0, 0, NULL, 0, cmd_peers },
	{ "keygen", "FILE", 1, 1, NULL, 0, cmd_keygen },
	{ "debug", "load N", 2, 2, NULL, 0, cmd_debug },
	{ "submit", "[--wait [--timeout S]] [--env KEY=VALUE]... [--pin NODE] "
	    "[--file PATH]... [--needs ATTR]... [--demand SECONDS] "
	    "[--checkpointable] [--checkpoint-signal SIG] "
	    "[--checkpoint-exit-code N] [--checkpoint-every S] "
	    "[--request-id HEX] [--] PROG [ARGS...]", 0, -1,
	    submit_defs, 1, cmd_submit },
	{ "wait", "ID [--timeout S]", 1, 1, timeout_defs, 0, cmd_wait },
	{ "show", "ID", 1, 1, NULL, 0, cmd_show },
	{ "list", "[--all] [--cluster] [--state STATES] [--host NODE] "
	    "[--home NODE] [--grep TEXT] [--after ID] [--limit N]", 0, 0,
	    list_defs, 0, cmd_list },
	{ "cancel", "ID", 1, 1, NULL, 0, cmd_cancel },
	{ "checkpoint", "ID [--timeout S]", 1, 1, timeout_defs, 0,
	    cmd_checkpoint },
	{ "migrate", "ID [--to NODE] [--timeout S]", 1, 1, migrate_defs, 0,
	    cmd_migrate },
	{ "stats", "", 0, 0, NULL, 0, cmd_stats },
	{ "drain", "[--timeout S] [--wait]", 0, 0, drain_defs, 0, cmd_drain },
	{ "undrain", "", 0, 0, NULL, 0, cmd_undrain },
	{ "top", "[--interval S]", 0, 0, top_defs, 0, cmd_top },
	{ "send", "ID [MESSAGE | --file F] [--timeout S]", 1, 2, send_defs, 0,
	    cmd_send },
	{ "recv", "[--timeout S]", 0, 0, timeout_defs, 0, cmd_recv },
	{ "locate", "ID", 1, 1, NULL, 0, cmd_locate },
	{ "tail", "ID [--follow] [--stderr]", 1, 1, tail_defs, 0, cmd_tail },
};

/*
 * "lbctl NAME ARGS" after lead, wrapped so that no line passes 79 columns:
 * only before an option ("[-..."), so that "[--] PROG [ARGS...]" stays
 * whole; continued lines line up after the command name.
 */
static void
synopsis(FILE *fp, const char *lead, const struct cmd *c)
{
	const char	*p = c->args;
	int		 indent, col, depth = 0;
	size_t		 n;

	col = fprintf(fp, "%slbctl%s%s", lead, c->name ? " " : "",
	    c->name ? c->name : "");
	indent = col;
	while (*p == ' ')
		p++;
	while (*p != '\0') {
		/* One option with what must follow it, up to the next. */
		for (n = 0; p[n] != '\0'; n++) {
			if (p[n] == '[')
				depth++;
			else if (p[n] == ']')
				depth--;
			else if (p[n] == ' ' && depth == 0 && n > 0 &&
			    strncmp(p + n + 1, "[-", 2) == 0)
				break;
		}
		if (col + 1 + (int)n > 79)
			col = fprintf(fp, "\n%*s", indent, "") - 1;
		col += fprintf(fp, " %.*s", (int)n, p);
		p += n;
		while (*p == ' ')
			p++;
	}
	fputc('\n', fp);
}

static void __attribute__((noreturn))
usage(int code)
{
	FILE	*fp = code ? stderr : stdout;

	synopsis(fp, "usage: ", &lbctl_cmd);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		synopsis(fp, "       ", &cmds[i]);
	fprintf(fp,
"\n"
"Talk to the local lbpeer over its control socket.  Options may come before\n"
"or after a command's arguments, up to a \"--\"; -s, -c and --json may also\n"
"follow the command.  submit's program is its first argument that is not an\n"
"option (or the first after \"--\"): all that follows is the program's own.\n"
"\n"
"Commands:\n"
"  status          this peer: id, cluster, members by state, traffic\n"
"  peers           every member this peer knows, with load and age\n"
"  keygen          write a new random cluster key to FILE (mode 0600)\n"
"  debug load      advertise N extra load (for tests and benchmarks)\n"
"  submit          run PROG ARGS... as a task; prints its id\n"
"      --wait              then wait for it (as lbctl wait)\n"
"      --timeout S         with --wait: wait at most S s (then exit 124)\n"
"      --env KEY=VALUE     set a variable (the environment is not copied)\n"
"      --file PATH         attach a file: copied into its directory\n"
"      --checkpointable    it checkpoints on a signal (LB_CHECKPOINT_DIR)\n"
"      --checkpoint-signal SIG      the signal to it (default USR1)\n"
"      --checkpoint-exit-code N     its exit code after it (default 85)\n"
"      --checkpoint-every S         ask it to checkpoint every S s; each\n"
"                          checkpoint is copied to its home, and a rerun\n"
"                          after its host died resumes from the latest\n"
"      --needs ATTR        run only where the node has ATTR\n"
"      --pin NODE          run only on NODE\n"
"      --demand SECONDS    how long it will run, a hint for balancing\n"
"      --request-id HEX    name this submit (32 hex digits; default: a\n"
"                          random one): the same again makes no second\n"
"                          task but prints the first one's id (a retry\n"
"                          is safe)\n"
"  wait            print its output, exit with its exit code (128+N for\n"
"                  signal N; 127 could not start; 125 cancelled; 124 not\n"
"                  ended within --timeout S; default: no limit); while\n"
"                  it waits, a line on stderr shows the task's state,\n"
"                  host, time and moves, if stderr is a terminal\n"
"  show            state, host, epoch, hosts visited, times, outcome\n"
"  list            tasks here and homed here (--all: finished ones too);\n"
"                  --cluster: every peer's tasks, from any peer: queued\n"
"                  and running, or STATES (queued, running, done,\n"
"                  failed, cancelled, active, all; a list with commas);\n"
"                  those at --host, of --home NODE, with TEXT in the id\n"
"                  or command line; every page, or N (1..500) after ID;\n"
"                  the peers that did not answer are named\n"
"  cancel          cancel a queued or running task (one cancelled\n"
"                  already: exit 0, \"already cancelled\")\n"
"  checkpoint      ask it to checkpoint; wait up to S s (default 10)\n"
"  migrate         move a waiting task, or a running one that can\n"
"                  checkpoint, now: to NODE, or to the least loaded peer\n"
"                  that can run it; prints where it went and the freeze\n"
"                  time; 1 if it cannot move, 124 undecided within S s\n"
"                  (default 60)\n"
"  stats           what load balancing did here: probes, transfers\n"
"  drain           take no new tasks; move the waiting ones, and the\n"
"                  running ones that can checkpoint, away; let the others\n"
"                  finish for S s (default: drain_timeout_s), then hand\n"
"                  them back to their homes; --wait: until nothing is\n"
"                  held here, then print what became of each\n"
"  undrain         end the drain: take tasks again\n"
"  top             the cluster as this peer sees it, full screen, redrawn\n"
"                  every S s (default 1; q quits): peers with state, load,\n"
"                  tasks running and waiting, transfers; the longest\n"
"                  running tasks; one printout when stdout is no terminal\n"
"  send            send MESSAGE (or the contents of F, or stdin; at most\n"
"                  64 KiB) to task ID, wherever it runs, and wait until\n"
"                  it is in the task's mailbox: 0 delivered, 1 refused\n"
"                  (why: ended, mailbox full...), 124 not acknowledged\n"
"                  within S s (default 30; it may still arrive)\n"
"  recv            inside a task (LB_TASK_ID): print the next message of\n"
"                  its mailbox, its bytes as sent (--json: sender, seq,\n"
"                  body); wait at most S s (then exit 124), by default\n"
"                  until one comes\n"
"  locate          where task ID is: host, epoch, and the peers a message\n"
"                  from here passes through, the holder last\n"
"  tail            the output of task ID (--stderr: its stderr) from\n"
"                  wherever it runs; --follow: until the task ends\n"
"\n"
"Options:\n"
"  -s SOCKET       the peer's control socket\n"
"  -c FILE         read the control socket from this lbpeer config\n"
"                  (default: $LB_CONTROL, else /etc/lbpeer.conf)\n"
"  --json          machine-readable output\n"
"  --timeout MS    give up on the peer after MS milliseconds (default 2000;\n"
"                  a submit with files: 15 s and 1 s a 8 MiB, the time its\n"
"                  home's replicas take to hold them)\n"
"  -h, --help      this help; after a command, its usage line\n"
"  -V, --version   lbctl's version\n"
"\n"
"Exit status: 0 ok, 1 the peer said no, 2 usage, 3 peer unreachable,\n"
"124 timed out (wait, migrate, send, recv).\n");
	exit(code);
}

static void __attribute__((noreturn, format(printf, 2, 3)))
die(int code, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "lbctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(code);
}

/* A bad command line: what is wrong, then the command's usage line. */
static void __attribute__((noreturn, format(printf, 2, 3)))
cmd_usage(const struct cmd *c, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "lbctl: %s%s", c->name ? c->name : "", c->name ?
	    ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	synopsis(stderr, "usage: ", c);
	exit(EX_USAGE);
}

/*
 * What getopt_long returns for long options: above any letter, so that an
 * optopt below 256 always names a one-letter option.
 */
#define OPT_SOCKET	256
#define OPT_CONFIG	257
#define OPT_JSON	258
#define OPT_HELP	259
#define OPT_OWN		260	/* OPT_OWN + i: the command's defs[i] */

/*
 * Parse a command's arguments (argv[0] is its name): its own options, handed
 * to fn, and -s, -c, --json and --help, anywhere up to "--" (up to the first
 * positional argument when c->stop).  Leaves the positional arguments in
 * argv[0..] and returns how many there are; a bad command line ends lbctl.
 */
static int
cmd_args(const struct cmd *c, struct opts *o, int argc, char **argv,
    void (*fn)(const char *name, const char *val, void *), void *arg)
{
	static const struct option global[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
	};
	const size_t	 ng = sizeof(global) / sizeof(global[0]);
	struct option	*lo;
	char		**pos, optstr[64], *bad;
	size_t		 nd = 0, ns;
	int		 ch, n = 0;

	/* "-" hands back positional arguments in place; "+" stops at one. */
	ns = (size_t)snprintf(optstr, sizeof(optstr), "%c:s:c:h",
	    c->stop ? '+' : '-');
	while (c->defs != NULL && c->defs[nd].name != NULL)
		nd++;
	lo = lb_calloc(nd + ng + 1, sizeof(*lo));
	for (size_t k = 0; k < nd; k++) {
		lo[k].name = c->defs[k].name;
		lo[k].has_arg = c->defs[k].arg ? required_argument : no_argument;
		lo[k].val = OPT_OWN + (int)k;
		if (c->defs[k].ch != 0 && ns + 3 < sizeof(optstr)) {
			optstr[ns++] = (char)c->defs[k].ch;
			if (c->defs[k].arg)
				optstr[ns++] = ':';
			optstr[ns] = '\0';
		}
	}
	memcpy(lo + nd, global, sizeof(global));
	pos = lb_calloc((size_t)argc + 1, sizeof(*pos));
	opterr = 0;
	optind = 0;		/* start afresh: each parse has its own optstring */
	while ((ch = getopt_long(argc, argv, optstr, lo, NULL)) != -1) {
		switch (ch) {
		case 1:		/* a positional argument, in its place */
			pos[n++] = optarg;
			continue;
		case 's':
		case OPT_SOCKET:
			o->socket = optarg;
			continue;
		case 'c':
		case OPT_CONFIG:
			o->config = optarg;
			continue;
		case OPT_JSON:
			o->json = 1;
			continue;
		case 'h':
		case OPT_HELP:
			if (c->name == NULL)
				usage(EX_OK);
			synopsis(stdout, "usage: ", c);
			exit(EX_OK);
		case ':':
		case '?':
			break;
		default:
			for (size_t k = 0; k < nd; k++)
				if (ch == OPT_OWN + (int)k || ch == c->defs[k].ch)
					fn(c->defs[k].name, optarg, arg);
			continue;
		}
		/* A one-letter option is named by optopt, a long one by argv.
		 * (What was allocated goes first: cmd_usage exits.) */
		free(lo);
		free(pos);
		if (optopt > 0 && optopt < 256)
			cmd_usage(c, ch == ':' ? "-%c needs a value" :
			    "unknown option \"-%c\"", optopt);
		bad = argv[optind - 1];
		if (ch == ':')
			cmd_usage(c, "%s needs a value", bad);
		if (optopt != 0 && strchr(bad, '=') != NULL)
			cmd_usage(c, "%.*s takes no value", (int)strcspn(bad, "="),
			    bad);
		cmd_usage(c, "unknown option \"%s\"", bad);
	}
	while (optind < argc)
		pos[n++] = argv[optind++];
	free(lo);
	if ((o->socket != NULL && o->config != NULL) || n < c->min ||
	    (c->max >= 0 && n > c->max)) {
		const char *extra = c->max >= 0 && n > c->max ? pos[c->max] :
		    NULL;
		free(pos);
		if (o->socket != NULL && o->config != NULL)
			cmd_usage(c, "-s and -c both say where the peer is; "
			    "give one");
		if (extra == NULL)
			cmd_usage(c, "missing arguments");
		cmd_usage(c, "unexpected argument \"%s\"", extra);
	}
	memcpy(argv, pos, ((size_t)n + 1) * sizeof(*pos));
	free(pos);
	return n;
}

/* Where the peer's control socket is. */
static char *
control_path(const struct opts *o)
{
	struct lb_conf	 c;
	char		**errs, *path;
	size_t		 nerrs;
	const char	*file = o->config, *env;

	if (o->socket != NULL)
		return lb_strdup(o->socket);
	if (file == NULL && (env = getenv("LB_CONTROL")) != NULL && *env)
		return lb_strdup(env);
	if (file == NULL) {
		file = "/etc/lbpeer.conf";
		if (access(file, R_OK) == -1) {
			lb_conf_defaults(&c);
			path = lb_strdup(c.control);
			lb_conf_free(&c);
			return path;
		}
	}
	if (lb_conf_load(file, &c, &errs, &nerrs) == -1) {
		for (size_t i = 0; i < nerrs; i++)
			fprintf(stderr, "%s\n", errs[i]);
		lb_conf_errors_free(errs, nerrs);
		die(EX_USAGE, "cannot use %s to find the control socket", file);
	}
	path = lb_strdup(c.control);
	lb_conf_free(&c);
	return path;
}

/*
 * One call: 0 and the reply, or the exit status for what went wrong (the
 * peer unreachable, or it said no) and *cause, to free.
 */
static int
try_call(const struct opts *o, const Lb__CtlRequest *req, Lb__CtlReply **rep,
    char **cause)
{
	char	*path = control_path(o);
	int	 rc = EX_OK;

	switch (lbc_call(path, req, rep, o->timeout_ms, cause)) {
	case LBC_OK:
		break;
	case LBC_TOOLARGE:
		rc = EX_NO;
		break;
	default:
		rc = EX_UNREACH;
		break;
	}
	free(path);
	if (rc == EX_OK && (*rep)->code != 0) {
		*cause = lb_strdup((*rep)->error[0] ? (*rep)->error :
		    "the peer refused");
		lb__ctl_reply__free_unpacked(*rep, NULL);
		rc = EX_NO;
	}
	return rc;
}

/* One call; exits on an unreachable peer or a refusal. */
static Lb__CtlReply *
call(const struct opts *o, const Lb__CtlRequest *req)
{
	Lb__CtlReply	*rep;
	char		*cause;
	int		 rc;

	if ((rc = try_call(o, req, &rep, &cause)) != EX_OK)
		die(rc, "%s", cause);
	return rep;
}

static void
json_print(json_t *j)
{
	char	*s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	puts(s);
	free(s);
	json_decref(j);
}

/* "1.2s", "350ms", "3m12s": an age for people. */
static const char *
fmt_age(uint64_t ms, char *buf, size_t len)
{
	if (ms < 1000)
		snprintf(buf, len, "%" PRIu64 "ms", ms);
	else if (ms < 60000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000);
	else
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", ms / 60000,
		    (ms / 1000) % 60);
	return buf;
}

static int
cmd_status(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlStatusReq sr = LB__CTL_STATUS_REQ__INIT;
	Lb__CtlReply	*rep;
	Lb__CtlStatus	*s;
	Lb__Counters	*c;
	char		 age[32];

	cmd_args(cmd, o, argc, argv, NULL, NULL);
	req.req_case = LB__CTL_REQUEST__REQ_STATUS;
	req.status = &sr;
	rep = call(o, &req);
	if (rep->rep_case != LB__CTL_REPLY__REP_STATUS || rep->status->counters
	    == NULL)
		die(EX_NO, "the peer sent the wrong reply");
	s = rep->status;
	c = s->counters;
	if (o->json) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, "
		    "s:i, s:i, s:i, s:i, s:i, s:i, s:b, s:i}",
		    "id", s->id, "cluster", s->cluster, "listen", s->listen,
		    "advertise", s->advertise, "version", s->version,
		    "incarnation", (json_int_t)s->incarnation,
		    "uptime_ms", (json_int_t)s->uptime_ms,
		    "alive", s->alive, "suspect", s->suspect, "dead", s->dead,
		    "left", s->left, "load", s->load, "slots", s->slots,
		    "authenticated", s->authenticated,
		    "gossip_interval_ms", s->gossip_interval_ms);
		json_object_set_new(j, "running", json_integer(s->running));
		json_object_set_new(j, "queued", json_integer(s->queued));
		json_object_set_new(j, "tasks_homed",
		    json_integer(s->tasks_homed));
		json_object_set_new(j, "journal_damaged",
		    json_integer((json_int_t)s->journal_damaged));
		json_object_set_new(j, "control_max_kb",
		    json_integer((json_int_t)(s->control_max_bytes / 1024)));
		json_object_set_new(j, "draining", json_boolean(s->draining));
		json_object_set_new(j, "http", json_string(s->http));
		json_t *jc = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		    "s:I, s:I, s:I, s:I}",
		    "rx_msgs", (json_int_t)c->rx_msgs,
		    "rx_bytes", (json_int_t)c->rx_bytes,
		    "tx_msgs", (json_int_t)c->tx_msgs,
		    "tx_bytes", (json_int_t)c->tx_bytes,
		    "tx_drop", (json_int_t)c->tx_drop,
		    "drop_size", (json_int_t)c->drop_size,
		    "drop_auth", (json_int_t)c->drop_auth,
		    "drop_decode", (json_int_t)c->drop_decode,
		    "drop_version", (json_int_t)c->drop_version,
		    "drop_cluster", (json_int_t)c->drop_cluster,
		    "drop_replay", (json_int_t)c->drop_replay);
		json_object_set_new(jc, "members_refused",
		    json_integer((json_int_t)c->members_refused));
		json_object_set_new(jc, "swim", json_pack("{s:I, s:I, s:I, "
		    "s:I, s:I, s:I}",
		    "probes", (json_int_t)c->swim_probes,
		    "probes_failed", (json_int_t)c->swim_probes_failed,
		    "suspicions", (json_int_t)c->swim_suspicions,
		    "refutes", (json_int_t)c->swim_refutes,
		    "bad", (json_int_t)c->swim_bad,
		    "health", (json_int_t)c->swim_health));
		json_object_set_new(j, "counters", jc);
		json_print(j);
	} else {
		printf("id:          %s\n", s->id);
		printf("cluster:     %s%s\n", s->cluster, s->authenticated ?
		    " (authenticated)" : " (NOT authenticated: an lbpeer "
		    "older than this lbctl)");
		printf("version:     %s\n", s->version);
		printf("listen:      %s\n", s->listen);
		printf("advertise:   %s\n", s->advertise);
		printf("http:        %s\n", s->http[0] ? s->http : "off");
		printf("incarnation: %" PRIu64 "\n", s->incarnation);
		printf("uptime:      %s\n", fmt_age(s->uptime_ms, age,
		    sizeof(age)));
		printf("load:        %u / %u slots (%u running, %u waiting)%s\n",
		    s->load, s->slots, s->running, s->queued, s->draining ?
		    "; draining (lbctl drain --wait follows it)" : "");
		printf("tasks homed: %u\n", s->tasks_homed);
		if (s->journal_damaged > 0)
			printf("journal:     %llu damaged records skipped at "
			    "start (%llu bytes): see the log\n",
			    (unsigned long long)s->journal_damaged,
			    (unsigned long long)s->journal_damaged_bytes);
		printf("members:     %u alive, %u suspect, %u dead, %u left",
		    s->alive, s->suspect, s->dead, s->left);
		if (c->members_refused > 0)
			printf(" (%" PRIu64 " newcomers ignored: the table is "
			    "full, gossip.max_members)", c->members_refused);
		printf("\n");
		printf("detector:    %" PRIu64 " probes (%" PRIu64 " failed), "
		    "%" PRIu64 " suspected here, %" PRIu64 " refuted, health "
		    "score %u\n", c->swim_probes, c->swim_probes_failed,
		    c->swim_suspicions, c->swim_refutes, c->swim_health);
		printf("traffic:     in %" PRIu64 " msgs / %" PRIu64 " bytes, "
		    "out %" PRIu64 " msgs / %" PRIu64 " bytes (%" PRIu64
		    " refused)\n", c->rx_msgs, c->rx_bytes, c->tx_msgs,
		    c->tx_bytes, c->tx_drop);
		printf("dropped:     size %" PRIu64 ", auth %" PRIu64
		    ", decode %" PRIu64 ", version %" PRIu64 ", cluster %"
		    PRIu64 ", replay %" PRIu64 "\n", c->drop_size,
		    c->drop_auth, c->drop_decode, c->drop_version,
		    c->drop_cluster, c->drop_replay);
	}
	lb__ctl_reply__free_unpacked(rep, NULL);
	return EX_OK;
}

static int
cmd_peers(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlPeersReq	 pr = LB__CTL_PEERS_REQ__INIT;
	Lb__CtlReply	*rep;
	char		 age[32];
	int		 w = 2, wa = 4;

	cmd_args(cmd, o, argc, argv, NULL, NULL);
	req.req_case = LB__CTL_REQUEST__REQ_PEERS;
	req.peers = &pr;
	rep = call(o, &req);
	if (rep->rep_case != LB__CTL_REPLY__REP_PEERS)
		die(EX_NO, "the peer sent the wrong reply");
	ctljson_sort_peers(rep->peers);
	if (o->json) {
		json_print(ctljson_peers(rep->peers));
	} else {
		for (size_t i = 0; i < rep->peers->n_peers; i++) {
			int l = (int)strlen(rep->peers->peers[i]->id) + 1;
			int la = (int)strlen(rep->peers->peers[i]->addr);
			w = l > w ? l : w;
			wa = la > wa ? la : wa;
		}
		printf("%-*s  %-*s  %-8s  %13s  %4s  %5s  %4s  %4s  %7s  %5s  "
		    "%s\n", w, "ID", wa, "ADDR", "STATE", "INCARNATION", "LOAD",
		    "SLOTS", "RUN", "WAIT", "AGE", "LEVEL", "ATTRIBUTES");
		for (size_t i = 0; i < rep->peers->n_peers; i++) {
			Lb__CtlPeer *p = rep->peers->peers[i];
			char id[80], attrs[300] = "";
			snprintf(id, sizeof(id), "%s%s", p->id, p->self ? "*" :
			    "");
			for (size_t k = 0; k < p->n_attributes; k++) {
				if (k)
					strncat(attrs, ",", sizeof(attrs) -
					    strlen(attrs) - 1);
				strncat(attrs, p->attributes[k], sizeof(attrs) -
				    strlen(attrs) - 1);
			}
			char run[16] = "-", wait[16] = "-";

			/* (an older build, below level 4, does not say) */
			if (p->level >= 4) {
				snprintf(run, sizeof(run), "%u", p->running);
				snprintf(wait, sizeof(wait), "%u", p->waiting);
			}
			printf("%-*s  %-*s  %-8s  %13" PRIu64 "  %4u  %5u  %4s  "
			    "%4s  %7s  %5u  %s\n", w, id, wa, p->addr, p->state,
			    p->incarnation, p->load, p->slots, run, wait,
			    fmt_age(p->age_ms, age, sizeof(age)), p->level,
			    attrs[0] ? attrs : "-");
		}
	}
	lb__ctl_reply__free_unpacked(rep, NULL);
	return EX_OK;
}

static int
cmd_keygen(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	char	*cause;

	cmd_args(cmd, o, argc, argv, NULL, NULL);
	if (lb_key_write(argv[0], &cause) == -1)
		die(EX_NO, "keygen: %s", cause);
	if (o->json) {
		json_print(json_pack("{s:s}", "key_file", argv[0]));
	} else
		printf("wrote a new cluster key to %s; copy it to every peer "
		    "and set secret_file\n", argv[0]);
	return EX_OK;
}

/* A non-negative number, or a usage error naming what it is for. */
static long
num_arg(const char *what, const char *v, long max)
{
	char	*ep;
	long	 n;

	errno = 0;
	n = strtol(v, &ep, 10);
	if (*v == '\0' || *ep != '\0' || errno || n < 0 || n > max)
		die(EX_USAGE, "%s: expected a number 0..%ld, got \"%s\"", what,
		    max, v);
	return n;
}

/* lbctl debug load N: a synthetic load, for tests and benchmarks. */
static int
cmd_debug(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlDebugLoadReq dl = LB__CTL_DEBUG_LOAD_REQ__INIT;
	Lb__CtlReply	*rep;

	cmd_args(cmd, o, argc, argv, NULL, NULL);
	if (strcmp(argv[0], "load") != 0)
		cmd_usage(cmd, "unknown debug command \"%s\"", argv[0]);
	dl.extra = (uint32_t)num_arg("debug load", argv[1], 1000000);
	req.req_case = LB__CTL_REQUEST__REQ_DEBUG_LOAD;
	req.debug_load = &dl;
	rep = call(o, &req);
	lb__ctl_reply__free_unpacked(rep, NULL);
	return EX_OK;
}


/* ---- tasks ---- */

static int
signal_arg(const char *v)
{
	const char	*n = strncmp(v, "SIG", 3) == 0 ? v + 3 : v;

	for (int sig = 1; sig < NSIG; sig++) {
		const char *abbrev = sigabbrev_np(sig);
		if (abbrev != NULL && strcmp(abbrev, n) == 0)
			return sig;
	}
	return (int)num_arg("--checkpoint-signal", v, NSIG - 1);
}

struct submit_args {
	Lb__TaskSpec	  spec;
	int		  wait;
	long		  timeout_s;
	char		**env;
	size_t		  nenv;
	Lb__TaskFile	**files;
	char		**paths;	/* a file to upload first, or NULL */
	size_t		  nfiles;
	uint64_t	  inline_bytes;
	char		**needs;
	size_t		  nneeds;
	int		  timeout_given;	/* --timeout: only with --wait */
	uint8_t		  request_id[16];	/* names this submit */
	int		  request_given;	/* --request-id, else random */
};

/*
 * Small files go inline in the submit; larger ones are uploaded in pieces
 * first (upload_file), so that no control request exceeds what the peer
 * takes, and lbctl never holds a large file in memory.
 */
#define INLINE_FILE	(256 * 1024)
#define INLINE_TOTAL	(CONTROL_INLINE_KB * 1024)
#define PIECE_MAX	(1024 * 1024)

static void
read_attachment(struct submit_args *sa, const char *path)
{
	Lb__TaskFile	*f = lb_calloc(1, sizeof(*f));
	struct stat	 st;
	FILE		*fp;
	const char	*base = strrchr(path, '/');
	lb__task_file__init(f);
	if ((fp = fopen(path, "r")) == NULL || fstat(fileno(fp), &st) == -1)
		die(EX_NO, "--file %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		die(EX_NO, "--file %s: not a regular file", path);
	f->size = (uint64_t)st.st_size;
	if (st.st_size > INLINE_FILE || sa->inline_bytes + (uint64_t)st.st_size >
	    INLINE_TOTAL)
		;	/* uploaded: no bytes here */
	else {
		f->data.data = lb_calloc(1, (size_t)st.st_size + 1);
		f->data.len = fread(f->data.data, 1, (size_t)st.st_size, fp);
		if (ferror(fp) || f->data.len != (size_t)st.st_size)
			die(EX_NO, "--file %s: %s", path, ferror(fp) ?
			    strerror(errno) : "changed while read");
		sa->inline_bytes += f->data.len;
	}
	fclose(fp);
	f->name = lb_strdup(base ? base + 1 : path);
	f->mode = st.st_mode & 07777;
	sa->files = lb_reallocarray(sa->files, sa->nfiles + 1, sizeof(*sa->files));
	sa->paths = lb_reallocarray(sa->paths, sa->nfiles + 1, sizeof(*sa->paths));
	sa->paths[sa->nfiles] = lb_strdup(path);
	sa->files[sa->nfiles++] = f;
}

/* Pieces as large as the peer takes in one request, at most PIECE_MAX. */
static size_t
piece_size(const struct opts *o)
{
	Lb__CtlRequest		 req = LB__CTL_REQUEST__INIT;
	Lb__CtlStatusReq	 sr = LB__CTL_STATUS_REQ__INIT;
	Lb__CtlReply		*rep;
	uint64_t		 max;

	req.req_case = LB__CTL_REQUEST__REQ_STATUS;
	req.status = &sr;
	rep = call(o, &req);
	max = rep->rep_case == LB__CTL_REPLY__REP_STATUS ?
	    rep->status->control_max_bytes : 0;
	lb__ctl_reply__free_unpacked(rep, NULL);
	if (max < 64 * 1024)
		max = 64 * 1024;
	max -= 16 * 1024;	/* the request around the bytes */
	return max > PIECE_MAX ? PIECE_MAX : (size_t)max;
}

/* Upload one file in pieces, its hash with the last; the upload's id. */
static uint64_t
upload_file(const struct opts *o, const char *path, const Lb__TaskFile *f,
    size_t piece)
{
	Lb__CtlRequest		 req = LB__CTL_REQUEST__INIT;
	Lb__CtlUpload		 u = LB__CTL_UPLOAD__INIT;
	Lb__CtlReply		*rep;
	crypto_generichash_state st;
	uint8_t			*buf = lb_calloc(1, piece), hash[32];
	uint64_t		 id, off = 0;
	size_t			 n;
	FILE			*fp;

	if ((fp = fopen(path, "r")) == NULL)
		die(EX_NO, "--file %s: %s", path, strerror(errno));
	req.req_case = LB__CTL_REQUEST__REQ_UPLOAD;
	req.upload = &u;
	u.name = f->name;
	u.size = f->size;
	u.mode = f->mode;
	rep = call(o, &req);
	if (rep->rep_case != LB__CTL_REPLY__REP_UPLOAD)
		die(EX_NO, "the peer sent the wrong reply (is lbpeer older "
		    "than lbctl?)");
	id = rep->upload->id;
	lb__ctl_reply__free_unpacked(rep, NULL);
	crypto_generichash_init(&st, NULL, 0, sizeof(hash));
	lb__ctl_upload__init(&u);
	u.id = id;
	do {
		n = fread(buf, 1, piece, fp);
		if (ferror(fp))
			die(EX_NO, "--file %s: %s", path, strerror(errno));
		if (off + n > f->size)
			die(EX_NO, "--file %s: changed while sent", path);
		crypto_generichash_update(&st, buf, n);
		u.offset = off;
		u.data.data = buf;
		u.data.len = n;
		off += n;
		if (off == f->size || n == 0) {
			if (off != f->size)
				die(EX_NO, "--file %s: changed while sent", path);
			crypto_generichash_final(&st, hash, sizeof(hash));
			u.hash.data = hash;
			u.hash.len = sizeof(hash);
		}
		rep = call(o, &req);
		if (rep->rep_case != LB__CTL_REPLY__REP_UPLOAD ||
		    rep->upload->have != off)
			die(EX_NO, "--file %s: the peer holds %" PRIu64 " bytes "
			    "of it, not %" PRIu64, path, rep->rep_case ==
			    LB__CTL_REPLY__REP_UPLOAD ? rep->upload->have : 0, off);
		lb__ctl_reply__free_unpacked(rep, NULL);
	} while (u.hash.len == 0);
	fclose(fp);
	free(buf);
	return id;
}

static void
submit_opt(const char *name, const char *v, void *arg)
{
	struct submit_args	*sa = arg;

	if (!strcmp(name, "wait"))
		sa->wait = 1;
	else if (!strcmp(name, "timeout")) {
		sa->timeout_s = num_arg("--timeout", v, 100000000);
		sa->timeout_given = 1;
	}
	else if (!strcmp(name, "env")) {
		if (strchr(v, '=') == NULL || *v == '=')
			die(EX_USAGE, "--env: expected KEY=VALUE, got \"%s\"", v);
		sa->env = lb_reallocarray(sa->env, sa->nenv + 1, sizeof(char *));
		sa->env[sa->nenv++] = (char *)v;
	} else if (!strcmp(name, "file"))
		read_attachment(sa, v);
	else if (!strcmp(name, "checkpointable"))
		sa->spec.checkpointable = 1;
	else if (!strcmp(name, "checkpoint-signal"))
		sa->spec.checkpoint_signal = signal_arg(v);
	else if (!strcmp(name, "checkpoint-exit-code"))
		sa->spec.checkpoint_exit_code = (int)num_arg(
		    "--checkpoint-exit-code", v, 255);
	else if (!strcmp(name, "needs")) {
		sa->needs = lb_reallocarray(sa->needs, sa->nneeds + 1,
		    sizeof(char *));
		sa->needs[sa->nneeds++] = (char *)v;
	} else if (!strcmp(name, "pin"))
		sa->spec.pin = (char *)v;
	else if (!strcmp(name, "checkpoint-every"))
		sa->spec.checkpoint_every_s = (uint32_t)num_arg(
		    "--checkpoint-every", v, 365 * 86400);
	else if (!strcmp(name, "demand"))
		sa->spec.demand_s = (uint32_t)num_arg("--demand", v, 100000000);
	else if (!strcmp(name, "request-id")) {
		size_t n = 0;
		if (strlen(v) != 2 * sizeof(sa->request_id) ||
		    strspn(v, "0123456789abcdefABCDEF") != strlen(v) ||
		    sodium_hex2bin(sa->request_id, sizeof(sa->request_id), v,
		    strlen(v), NULL, &n, NULL) != 0 ||
		    n != sizeof(sa->request_id))
			die(EX_USAGE, "--request-id: expected %zu hex digits, "
			    "got \"%s\"", 2 * sizeof(sa->request_id), v);
		sa->request_given = 1;
	}
}

static int	wait_task(const struct opts *, const char *id, long timeout_s);

static int
cmd_submit(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	struct submit_args	 sa;
	Lb__CtlRequest		 req = LB__CTL_REQUEST__INIT;
	Lb__CtlSubmitReq	 sr = LB__CTL_SUBMIT_REQ__INIT;
	Lb__CtlUpload		 up = LB__CTL_UPLOAD__INIT;
	Lb__CtlReply		*rep;
	uint64_t		*ups = NULL;
	size_t			 nups = 0, piece = 0;
	char			*id, **targv = argv, *prog, cwd[4096];
	int			 n, rc;

	memset(&sa, 0, sizeof(sa));
	lb__task_spec__init(&sa.spec);
	sa.spec.checkpoint_exit_code = 85;
	sa.timeout_s = 0;
	n = cmd_args(cmd, o, argc, argv, submit_opt, &sa);
	if (n == 0)
		cmd_usage(cmd, "no program");
	if (sa.timeout_given && !sa.wait)
		cmd_usage(cmd, "--timeout goes with --wait");
	prog = targv[0];
	/*
	 * ./prog runs in the task's own directory: keep it relative when it is
	 * attached, else make it absolute (it is installed on every host).
	 */
	if (strchr(targv[0], '/') && targv[0][0] != '/') {
		const char *b = strrchr(targv[0], '/') + 1;
		int attached = 0;
		for (size_t i = 0; i < sa.nfiles; i++)
			if (!strcmp(sa.files[i]->name, b) &&
			    (!strcmp(targv[0] + 2, b) && !strncmp(targv[0], "./", 2)))
				attached = 1;
		if (!attached && getcwd(cwd, sizeof(cwd)) != NULL)
			targv[0] = lb_printf("%s/%s", cwd, targv[0]);
	}
	sa.spec.argv = targv;
	sa.spec.n_argv = (size_t)n;
	sa.spec.env = sa.env;
	sa.spec.n_env = sa.nenv;
	sa.spec.files = sa.files;
	sa.spec.n_files = sa.nfiles;
	sa.spec.needs = sa.needs;
	sa.spec.n_needs = sa.nneeds;
	/*
	 * One name for this submit, the same in every request that carries
	 * it: a submit nanomsg sends again (to a peer restarted meanwhile)
	 * makes no second task.
	 */
	if (!sa.request_given)
		randombytes_buf(sa.request_id, sizeof(sa.request_id));
	sa.spec.request_id.data = sa.request_id;
	sa.spec.request_id.len = sizeof(sa.request_id);
	sr.spec = &sa.spec;
	/*
	 * Inline files must leave the request within the peer's limit (a
	 * peer may take less than the usual CONTROL_INLINE_KB): else they
	 * are uploaded too.
	 */
	if (sa.inline_bytes > LBC_SMALL / 2 && (piece = piece_size(o)) <
	    sa.inline_bytes)
		for (size_t i = 0; i < sa.nfiles; i++) {
			free(sa.files[i]->data.data);
			sa.files[i]->data.data = NULL;
			sa.files[i]->data.len = 0;
		}
	for (size_t i = 0; i < sa.nfiles; i++) {
		/* Uploaded: a size and no bytes (empty files go inline). */
		if (sa.files[i]->data.len > 0 || sa.files[i]->size == 0)
			continue;
		if (piece == 0)
			piece = piece_size(o);
		ups = lb_reallocarray(ups, nups + 1, sizeof(*ups));
		ups[nups++] = upload_file(o, sa.paths[i], sa.files[i], piece);
	}
	if (nups > 0) {
		/* The submit that takes the uploads. */
		up.submit = &sr;
		up.uploads = ups;
		up.n_uploads = nups;
		req.req_case = LB__CTL_REQUEST__REQ_UPLOAD;
		req.upload = &up;
	} else {
		req.req_case = LB__CTL_REQUEST__REQ_SUBMIT;
		req.submit = &sr;
	}
	{
		/* With files, the home answers once its replicas hold
		 * them: a while for large ones (8 MiB/s at the least). */
		struct opts	so = *o;
		uint64_t	bytes = 0, ms;

		for (size_t i = 0; i < sa.nfiles; i++)
			bytes += sa.files[i]->size > sa.files[i]->data.len ?
			    sa.files[i]->size : sa.files[i]->data.len;
		ms = 15000 + bytes / (8 << 20) * 1000;
		if (sa.nfiles > 0 && !o->timeout_set &&
		    ms > (uint64_t)so.timeout_ms)
			so.timeout_ms = ms > 3600000 ? 3600000 : (int)ms;
		rep = call(&so, &req);
	}
	if (rep->rep_case != LB__CTL_REPLY__REP_SUBMITTED)
		die(EX_NO, "the peer sent the wrong reply");
	id = lb_strdup(rep->submitted);
	lb__ctl_reply__free_unpacked(rep, NULL);
	if (targv[0] != prog)
		free(targv[0]);
	free(sa.env);
	free(sa.needs);
	free(ups);
	for (size_t i = 0; i < sa.nfiles; i++) {
		free(sa.paths[i]);
		free(sa.files[i]->data.data);
		free(sa.files[i]->name);
		free(sa.files[i]);
	}
	free(sa.files);
	free(sa.paths);
	if (sa.wait) {
		if (o->json) {
			fprintf(stderr, "lbctl: submitted %s\n", id);
			o->json = 0;
		}
		rc = wait_task(o, id, sa.timeout_s);
		free(id);
		return rc;
	}
	if (o->json)
		json_print(json_pack("{s:s}", "id", id));
	else
		printf("%s\n", id);
	free(id);
	return EX_OK;
}

/* lbctl wait: while its home is silent (down, and not yet replaced by a
 * replica), a task is waited for until wait's own deadline (0: none). */
static int	wait_patient;
static uint64_t	wait_deadline;

/* Ask for a task until its answer is there (from another home: polled). */
static Lb__CtlReply *
task_call(const struct opts *o, int which, const char *id, int want_output)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlTaskReq	 tr = LB__CTL_TASK_REQ__INIT;
	Lb__CtlReply	*rep;
	uint64_t	 deadline = lb_mono_ms() + (uint64_t)o->timeout_ms;
	useconds_t	 pause = 10000;

	tr.id = (char *)id;
	tr.want_output = want_output;
	req.req_case = which;
	req.show = &tr;		/* show, cancel and checkpoint share the type */
	req.cancel = &tr;
	req.checkpoint = &tr;
	for (;;) {
		rep = call(o, &req);
		if (which != LB__CTL_REQUEST__REQ_SHOW)
			return rep;
		if (rep->rep_case != LB__CTL_REPLY__REP_TASK)
			die(EX_NO, "the peer sent the wrong reply");
		if (!rep->task->pending)
			return rep;
		lb__ctl_reply__free_unpacked(rep, NULL);
		if (lb_mono_ms() > deadline && (!wait_patient ||
		    (wait_deadline != 0 && lb_mono_ms() > wait_deadline)))
			die(EX_UNREACH, "task %s: no answer from its home", id);
		usleep(pause);
		pause = pause < 100000 ? pause * 2 : pause;
	}
}

static const char *
fmt_time(uint64_t ms, char *buf, size_t len)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	if (ms == 0)
		return "-";
	localtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%03d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, (int)(ms % 1000));
	return buf;
}

static int
rec_ended(const Lb__TaskRecord *r)
{
	return r->state == LB__TASK_STATE__TASK_DONE ||
	    r->state == LB__TASK_STATE__TASK_FAILED ||
	    r->state == LB__TASK_STATE__TASK_CANCELLED;
}

/* "exit 3", "signal 9 (Killed)", "failed: why". */
static void
rec_outcome(const Lb__TaskRecord *r, char *buf, size_t len)
{
	switch (r->state) {
	case LB__TASK_STATE__TASK_DONE:
		if (r->signal)
			snprintf(buf, len, "signal %d (%s)", r->signal,
			    strsignal(r->signal));
		else
			snprintf(buf, len, "exit %d", r->exit_code);
		break;
	case LB__TASK_STATE__TASK_FAILED:
	case LB__TASK_STATE__TASK_CANCELLED:
		snprintf(buf, len, "%s", r->error);
		break;
	default:
		snprintf(buf, len, "-");
	}
}

static void
argv_line(const Lb__TaskRecord *r, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; r->spec && i < r->spec->n_argv; i++) {
		if (i)
			strncat(buf, " ", len - strlen(buf) - 1);
		strncat(buf, r->spec->argv[i], len - strlen(buf) - 1);
	}
}

static int
cmd_show(const struct cmd *c, struct opts *o, int argc, char **argv)
{
	Lb__CtlReply	*rep;
	Lb__TaskRecord	*r;
	char		 t1[40], out[512], cmd[1024];

	cmd_args(c, o, argc, argv, NULL, NULL);
	rep = task_call(o, LB__CTL_REQUEST__REQ_SHOW, argv[0], 0);
	r = rep->task->record;
	if (o->json) {
		json_t *j = ctljson_task(r);
		if (rep->task->replica[0] != '\0')
			json_object_set_new(j, "replica",
			    json_string(rep->task->replica));
		json_print(j);
	} else {
		rec_outcome(r, out, sizeof(out));
		argv_line(r, cmd, sizeof(cmd));
		printf("id:          %s\n", r->id);
		printf("state:       %s%s%s\n", ctljson_state_name(r->state),
		    rec_ended(r) ? ": " : "", rec_ended(r) ? out : "");
		printf("command:     %s\n", cmd);
		printf("host:        %s (epoch %u)\n", r->host, r->epoch);
		if (r->home_peer[0] != '\0')
			printf("home:        %s (term %u: it took over from the "
			    "home its id names)\n", r->home_peer, r->home_term);
		if (rep->task->replica[0] != '\0')
			printf("record:      kept by %s (its home is down; its "
			    "output is at its home)\n", rep->task->replica);
		printf("submitted:   %s\n", fmt_time(r->submitted_ms, t1,
		    sizeof(t1)));
		printf("started:     %s\n", fmt_time(r->started_ms, t1,
		    sizeof(t1)));
		printf("finished:    %s\n", fmt_time(r->finished_ms, t1,
		    sizeof(t1)));
		if (r->finished_ms && r->started_ms)
			printf("ran:         %.3f s\n", (double)(r->finished_ms -
			    r->started_ms) / 1000);
		printf("starts:      %u (resumed %u, checkpoints %u)\n",
		    r->starts, r->resumes, r->checkpoints);
		if (r->spec && r->spec->checkpoint_every_s)
			printf("checkpoint:  every %u s; copy at its home: %s\n",
			    r->spec->checkpoint_every_s, r->home_checkpoint ?
			    fmt_time(r->home_checkpoint_ms, t1, sizeof(t1)) :
			    "none yet");
		printf("output:      %llu bytes stdout, %llu bytes stderr%s\n",
		    (unsigned long long)r->stdout_bytes,
		    (unsigned long long)r->stderr_bytes,
		    r->output_truncated ? " (cut off at the limit)" : "");
		if (r->n_migrations > 0)
			printf("moves while running:\n");
		for (size_t i = 0; i < r->n_migrations; i++) {
			const Lb__TaskMigration *m = r->migrations[i];
			printf("  %s -> %s at %s: checkpoint %u ms, freeze ",
			    m->from, m->to, fmt_time(m->at_ms, t1, sizeof(t1)),
			    m->checkpoint_ms);
			if (m->freeze_us)
				printf("%.3f ms, %llu bytes\n",
				    (double)m->freeze_us / 1000,
				    (unsigned long long)m->bytes);
			else
				printf("-\n");
		}
		if (r->n_start_failures > 0)
			printf("could not start:\n");
		for (size_t i = 0; i < r->n_start_failures; i++) {
			const Lb__StartFailure *f = r->start_failures[i];
			printf("  %-10s at %s: %s\n", f->host,
			    fmt_time(f->at_ms, t1, sizeof(t1)), f->reason);
		}
		printf("hosts:\n");
		for (size_t i = 0; i < r->n_hosts; i++) {
			char t2[40];
			printf("  %-10s from %s%s%s\n", r->hosts[i]->node,
			    fmt_time(r->hosts[i]->arrived_ms, t1, sizeof(t1)),
			    r->hosts[i]->left_ms ? " to " : "",
			    r->hosts[i]->left_ms ? fmt_time(r->hosts[i]->left_ms,
			    t2, sizeof(t2)) : "");
		}
	}
	lb__ctl_reply__free_unpacked(rep, NULL);
	return EX_OK;
}

/* Exit statuses of wait beyond the task's own. */
#define EX_FAILED	127	/* the task could not start */
#define EX_CANCELLED	125	/* the task was cancelled */
#define EX_TIMEOUT	124	/* wait --timeout ran out */

static int
wait_task(const struct opts *o, const char *id, long timeout_s)
{
	Lb__CtlReply	*rep;
	Lb__TaskRecord	*r;
	uint64_t	 deadline = timeout_s > 0 ? lb_mono_ms() +
			    (uint64_t)timeout_s * 1000 : 0;
	useconds_t	 pause = 5000;
	int		 rc;

	wait_patient = 1;
	wait_deadline = deadline;
	for (;;) {
		rep = task_call(o, LB__CTL_REQUEST__REQ_SHOW, id, 0);
		if (rec_ended(rep->task->record))
			break;
		top_progress(rep->task->record, lb_wall_ms());
		lb__ctl_reply__free_unpacked(rep, NULL);
		if (deadline && lb_mono_ms() >= deadline) {
			top_progress_end();
			fprintf(stderr, "lbctl: task %s has not ended after "
			    "%ld s\n", id, timeout_s);
			return EX_TIMEOUT;
		}
		usleep(pause);
		pause = pause < 200000 ? pause * 2 : 200000;
	}
	lb__ctl_reply__free_unpacked(rep, NULL);
	rep = task_call(o, LB__CTL_REQUEST__REQ_SHOW, id, 1);
	r = rep->task->record;
	top_progress_end();
	fflush(stdout);
	if (rep->task->replica[0] != '\0' && rep->task->stdout.len +
	    rep->task->stderr.len < r->stdout_bytes + r->stderr_bytes)
		fprintf(stderr, "lbctl: task %s: its home is down; this is the "
		    "record kept by %s, and its output (%llu bytes) is at its "
		    "home\n", id, rep->task->replica, (unsigned long long)
		    (r->stdout_bytes + r->stderr_bytes));
	if (rep->task->stdout.len > 0 && write(1, rep->task->stdout.data,
	    rep->task->stdout.len) < 0)
		die(EX_NO, "stdout: %s", strerror(errno));
	if (rep->task->stderr.len > 0 && write(2, rep->task->stderr.data,
	    rep->task->stderr.len) < 0)
		die(EX_NO, "stderr: %s", strerror(errno));
	if (o->json)
		json_print(ctljson_task(r));
	switch (r->state) {
	case LB__TASK_STATE__TASK_DONE:
		rc = r->signal ? 128 + r->signal : r->exit_code;
		break;
	case LB__TASK_STATE__TASK_FAILED:
		fprintf(stderr, "lbctl: task %s failed: %s\n", id, r->error);
		rc = EX_FAILED;
		break;
	default:
		fprintf(stderr, "lbctl: task %s was %s\n", id, r->error);
		rc = EX_CANCELLED;
		break;
	}
	lb__ctl_reply__free_unpacked(rep, NULL);
	return rc;
}

static void
wait_opt(const char *name, const char *v, void *arg)
{
	*(long *)arg = num_arg("--timeout", v, 100000000);
}

static int
cmd_wait(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	long	timeout_s = 0;

	cmd_args(cmd, o, argc, argv, wait_opt, &timeout_s);
	return wait_task(o, argv[0], timeout_s);
}

struct list_args {
	int		 all, cluster;
	Lb__CtlListReq	 lr;
	int		 limited;
};

static void
list_opt(const char *name, const char *v, void *arg)
{
	struct list_args	*la = arg;
	int64_t			 bits;

	if (strcmp(name, "all") == 0)
		la->all = la->lr.all = 1;
	else if (strcmp(name, "cluster") == 0)
		la->cluster = la->lr.cluster = 1;
	else if (strcmp(name, "state") == 0) {
		if ((bits = lb_task_states(v)) <= 0)
			die(EX_USAGE, "--state: expected queued, running, done, "
			    "failed, cancelled, active or all (a list with "
			    "commas), got \"%s\"", v);
		la->lr.states = (uint32_t)bits;
	} else if (strcmp(name, "host") == 0 || strcmp(name, "home") == 0) {
		if (!lb_id_valid(v))
			die(EX_USAGE, "--%s: \"%s\" is not a node id", name, v);
		if (strcmp(name, "host") == 0)
			la->lr.host = (char *)v;
		else
			la->lr.home = (char *)v;
	} else if (strcmp(name, "grep") == 0) {
		if (strlen(v) > 256)
			die(EX_USAGE, "--grep: at most 256 bytes");
		la->lr.text = (char *)v;
	} else if (strcmp(name, "after") == 0) {
		if (!lb_task_id_valid(v))
			die(EX_USAGE, "--after: \"%s\" is not a task id "
			    "(NODE.NUMBER)", v);
		la->lr.after = (char *)v;
	} else if (strcmp(name, "limit") == 0) {
		la->lr.limit = (uint32_t)num_arg("--limit", v, 500);
		if (la->lr.limit == 0)
			die(EX_USAGE, "--limit: a page is 1 to 500 tasks");
		la->limited = 1;
	}
}

static void
list_print(const Lb__CtlTaskList *l, int cluster)
{
	char	out[256], cmd[1024];

	for (size_t i = 0; i < l->n_tasks; i++) {
		Lb__TaskRecord *r = l->tasks[i];
		char ran[32] = "-", home[LB_ID_MAX];

		if (r->started_ms && r->finished_ms)
			snprintf(ran, sizeof(ran), "%.2fs",
			    (double)(r->finished_ms - r->started_ms) / 1000);
		rec_outcome(r, out, sizeof(out));
		argv_line(r, cmd, sizeof(cmd));
		if (cluster) {
			lb_strlcpy(home, r->home_peer != NULL &&
			    r->home_peer[0] != '\0' ? r->home_peer : r->id,
			    sizeof(home));
			if (strchr(home, '.') != NULL)
				*strchr(home, '.') = '\0';
			printf("%-12s  %-8s  %-9s  %-8s  %8s  %-20.20s  %.50s\n",
			    r->id, home, ctljson_state_name(r->state), r->host,
			    ran, out, cmd);
		} else
			printf("%-12s  %-9s  %-8s  %8s  %-20.20s  %.60s\n",
			    r->id, ctljson_state_name(r->state), r->host, ran,
			    out, cmd);
	}
}

/* lbctl list --cluster: a page (--limit), or every page, asked of this
 * peer, which asks every peer; pending while they answer. */
static int
list_cluster(struct opts *o, struct list_args *la)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlReply	*rep;
	json_t		*tasks = json_array(), *missing = json_array(), *j;
	char		*after = la->lr.after[0] ? lb_strdup(la->lr.after) : NULL;
	uint64_t	 total = 0, counts[5] = { 0 }, n = 0;
	int		 first = 1;

	if (!la->limited)
		la->lr.limit = 200;
	req.req_case = LB__CTL_REQUEST__REQ_LIST;
	req.list = &la->lr;
	if (!o->json)
		printf("%-12s  %-8s  %-9s  %-8s  %8s  %-20s  %s\n", "ID", "HOME",
		    "STATE", "HOST", "RAN", "OUTCOME", "COMMAND");
	for (;;) {
		uint64_t	deadline = lb_mono_ms() + (uint64_t)o->timeout_ms;
		useconds_t	pause = 10000;

		la->lr.after = after != NULL ? after : (char *)"";
		for (;;) {
			rep = call(o, &req);
			if (rep->rep_case != LB__CTL_REPLY__REP_LIST)
				die(EX_NO, "the peer sent the wrong reply");
			if (!rep->list->pending)
				break;
			lb__ctl_reply__free_unpacked(rep, NULL);
			if (lb_mono_ms() > deadline)
				die(EX_UNREACH, "list --cluster: no answer in "
				    "time");
			usleep(pause);
			pause = pause < 100000 ? pause * 2 : pause;
		}
		if (first) {
			/* (the figures of the first page: a listing walked
			 * page by page may see tasks come and go) */
			total = rep->list->total;
			counts[0] = rep->list->queued;
			counts[1] = rep->list->running;
			counts[2] = rep->list->done;
			counts[3] = rep->list->failed;
			counts[4] = rep->list->cancelled;
			first = 0;
		}
		/* (a peer missing from any page is named: its tasks in
		 * that page's range are not listed) */
		for (size_t i = 0; i < rep->list->n_missing; i++) {
			size_t k;

			for (k = 0; k < json_array_size(missing); k++)
				if (strcmp(json_string_value(json_array_get(
				    missing, k)), rep->list->missing[i]) == 0)
					break;
			if (k == json_array_size(missing))
				json_array_append_new(missing, json_string(
				    rep->list->missing[i]));
		}
		if (o->json) {
			j = ctljson_tasks(rep->list);
			json_array_extend(tasks, j);
			json_decref(j);
		} else
			list_print(rep->list, 1);
		n += rep->list->n_tasks;
		free(after);
		after = NULL;
		if (rep->list->next != NULL && rep->list->next[0] != '\0')
			after = lb_strdup(rep->list->next);
		lb__ctl_reply__free_unpacked(rep, NULL);
		if (after == NULL || la->limited || n >= 100000)
			break;
	}
	if (o->json) {
		j = json_pack("{s:o, s:I, s:o, s:{s:I, s:I, s:I, s:I, s:I}}",
		    "tasks", tasks, "total", (json_int_t)total, "missing",
		    missing, "counts", "queued", (json_int_t)counts[0],
		    "running", (json_int_t)counts[1], "done",
		    (json_int_t)counts[2], "failed", (json_int_t)counts[3],
		    "cancelled", (json_int_t)counts[4]);
		json_object_set_new(j, "next", after != NULL ?
		    json_string(after) : json_null());
		json_print(j);
	} else {
		json_decref(tasks);
		if (json_array_size(missing) > 0) {
			fprintf(stderr, "lbctl: no answer from");
			for (size_t i = 0; i < json_array_size(missing); i++)
				fprintf(stderr, " %s", json_string_value(
				    json_array_get(missing, i)));
			fprintf(stderr, ": their tasks are not listed\n");
		}
		json_decref(missing);
		if (after != NULL)
			printf("(more: --after %s)\n", after);
	}
	free(after);
	return EX_OK;
}

static int
cmd_list(const struct cmd *c, struct opts *o, int argc, char **argv)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlReply	*rep;
	struct list_args la;

	memset(&la, 0, sizeof(la));
	lb__ctl_list_req__init(&la.lr);
	cmd_args(c, o, argc, argv, list_opt, &la);
	if (!la.cluster && (la.lr.states || la.lr.host[0] || la.lr.home[0] ||
	    la.lr.text[0] || la.lr.after[0] || la.limited))
		die(EX_USAGE, "list: --state, --host, --home, --grep, --after "
		    "and --limit go with --cluster");
	if (la.cluster)
		return list_cluster(o, &la);
	req.req_case = LB__CTL_REQUEST__REQ_LIST;
	req.list = &la.lr;
	rep = call(o, &req);
	if (rep->rep_case != LB__CTL_REPLY__REP_LIST)
		die(EX_NO, "the peer sent the wrong reply");
	if (o->json) {
		json_print(ctljson_tasks(rep->list));
	} else {
		printf("%-12s  %-9s  %-8s  %8s  %-20s  %s\n", "ID", "STATE",
		    "HOST", "RAN", "OUTCOME", "COMMAND");
		list_print(rep->list, 0);
	}
	lb__ctl_reply__free_unpacked(rep, NULL);
	return EX_OK;
}

static int
cmd_cancel(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	Lb__CtlReply	*rep;

	Lb__TaskState	 state;
	uint64_t	 deadline, again = 0;
	int		 already = 0;

	cmd_args(cmd, o, argc, argv, NULL, NULL);
	/*
	 * The task's home decides.  A peer that is not the home passes the
	 * request on, and a message between peers may be lost: ask again
	 * until the home's record says the task has ended.
	 */
	deadline = lb_mono_ms() + 10000 + (uint64_t)o->timeout_ms;
	for (;;) {
		if (lb_mono_ms() >= again) {
			rep = task_call(o, LB__CTL_REQUEST__REQ_CANCEL, argv[0],
			    0);
			/* Its home here says it was cancelled before: no
			 * failure (this may be a cancel sent again). */
			if (again == 0 && strcmp(rep->note,
			    "already cancelled") == 0)
				already = 1;
			lb__ctl_reply__free_unpacked(rep, NULL);
			again = lb_mono_ms() + 1000;
		}
		rep = task_call(o, LB__CTL_REQUEST__REQ_SHOW, argv[0], 0);
		state = rep->task->record ? rep->task->record->state :
		    LB__TASK_STATE__TASK_QUEUED;
		lb__ctl_reply__free_unpacked(rep, NULL);
		if (state == LB__TASK_STATE__TASK_CANCELLED)
			break;
		if (state != LB__TASK_STATE__TASK_QUEUED &&
		    state != LB__TASK_STATE__TASK_RUNNING)
			die(EX_NO, "task %s ended before the cancel reached its "
			    "home", argv[0]);
		if (lb_mono_ms() > deadline)
			die(EX_UNREACH, "task %s: its home has not confirmed the "
			    "cancel", argv[0]);
		usleep(50000);
	}
	if (o->json)
		json_print(json_pack("{s:s, s:b, s:b}", "id", argv[0],
		    "cancelled", 1, "already", already));
	else
		printf("%s: %scancelled\n", argv[0], already ? "already " : "");
	return EX_OK;
}

static int
cmd_checkpoint(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	Lb__CtlReply	*rep;
	long		 grace = 10;
	uint32_t	 before;
	uint64_t	 deadline;
	const char	*id;

	cmd_args(cmd, o, argc, argv, wait_opt, &grace);
	id = argv[0];
	rep = task_call(o, LB__CTL_REQUEST__REQ_SHOW, id, 0);
	before = rep->task->record->checkpoints;
	lb__ctl_reply__free_unpacked(rep, NULL);
	rep = task_call(o, LB__CTL_REQUEST__REQ_CHECKPOINT, id, 0);
	lb__ctl_reply__free_unpacked(rep, NULL);
	deadline = lb_mono_ms() + (uint64_t)grace * 1000;
	for (;;) {
		uint32_t now_ck;
		int ended;

		usleep(20000);
		rep = task_call(o, LB__CTL_REQUEST__REQ_SHOW, id, 0);
		now_ck = rep->task->record->checkpoints;
		ended = rec_ended(rep->task->record);
		lb__ctl_reply__free_unpacked(rep, NULL);
		if (now_ck > before) {
			if (o->json)
				json_print(json_pack("{s:s, s:b, s:i}", "id", id,
				    "checkpointed", 1, "checkpoints", now_ck));
			else
				printf("%s: checkpointed and resumed "
				    "(checkpoint %u)\n", id, now_ck);
			return EX_OK;
		}
		if (ended)
			die(EX_NO, "task %s ended instead of checkpointing", id);
		if (lb_mono_ms() >= deadline)
			die(EX_NO, "task %s did not checkpoint within %ld s; it "
			    "keeps running", id, grace);
	}
}

static int
cmd_stats(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlStatsReq	 sr = LB__CTL_STATS_REQ__INIT;
	Lb__CtlReply	*rep;
	Lb__CtlStats	*s;
	double		 mean;

	cmd_args(cmd, o, argc, argv, NULL, NULL);
	req.req_case = LB__CTL_REQUEST__REQ_STATS;
	req.stats = &sr;
	rep = call(o, &req);
	if (rep->rep_case != LB__CTL_REPLY__REP_STATS)
		die(EX_NO, "the peer sent the wrong reply");
	s = rep->stats;
	mean = s->transfers_out ? (double)s->transfer_ms_total /
	    (double)s->transfers_out : 0;
	if (o->json) {
		json_print(ctljson_stats(rep->stats));
	} else {
		printf("policy:      %s\n", s->policy);
		printf("probes:      %llu sent: %llu accepted, %llu refused, "
		    "%llu timed out\n", (unsigned long long)s->probes_sent,
		    (unsigned long long)s->probes_accepted,
		    (unsigned long long)s->probes_refused,
		    (unsigned long long)s->probes_timed_out);
		printf("backoffs:    %llu\n", (unsigned long long)s->backoffs);
		printf("answered:    %llu offers taken, %llu requests served\n",
		    (unsigned long long)s->offers_taken,
		    (unsigned long long)s->requests_served);
		printf("hints:       %llu polls to hinted peers, %llu taken; "
		    "%llu redirects; idle notices %llu sent, %llu heard\n",
		    (unsigned long long)s->hinted_probes,
		    (unsigned long long)s->hinted_accepted,
		    (unsigned long long)s->redirects,
		    (unsigned long long)s->idle_notices_sent,
		    (unsigned long long)s->idle_notices_heard);
		printf("transfers:   %llu in, %llu out, %llu aborted; mean "
		    "transfer %.1f ms\n", (unsigned long long)s->transfers_in,
		    (unsigned long long)s->transfers_out,
		    (unsigned long long)s->transfers_aborted, mean);
		printf("migrations:  %llu in (freeze mean %.3f ms, p95 %.3f, "
		    "max %.3f; %llu bytes), %llu out (checkpoint mean %llu "
		    "ms); %llu did not checkpoint in time, %llu were given "
		    "more time to\n",
		    (unsigned long long)s->migrations_in,
		    (double)s->freeze_us_mean / 1000,
		    (double)s->freeze_us_p95 / 1000,
		    (double)s->freeze_us_max / 1000,
		    (unsigned long long)s->migrate_bytes,
		    (unsigned long long)s->migrations_out,
		    (unsigned long long)s->checkpoint_ms_mean,
		    (unsigned long long)s->checkpoint_timeouts,
		    (unsigned long long)s->checkpoint_slow);
		printf("replicas:    %s; %llu of %llu records saved here on a "
		    "majority, the set at most %llu behind; %llu kept for %llu "
		    "other homes\n", s->replica_set[0] ? s->replica_set :
		    "none", (unsigned long long)s->replica_committed,
		    (unsigned long long)s->replica_version,
		    (unsigned long long)s->replica_behind,
		    (unsigned long long)s->replica_held,
		    (unsigned long long)s->replica_homes);
		if (s->replica_pending != NULL && s->replica_pending[0])
			printf("             %s new in the set, not counted "
			    "until the set before it holds the change\n",
			    s->replica_pending);
		printf("             %llu messages and replies wait for a "
		    "majority now (%llu since start; %llu dropped, too many "
		    "waiting)\n", (unsigned long long)s->replica_waiting,
		    (unsigned long long)s->replica_waited,
		    (unsigned long long)s->replica_unsaid);
		printf("             kept messages: %llu changes held for the "
		    "set, %llu kept here for other homes since start (%llu "
		    "not put: too many)\n",
		    (unsigned long long)s->replica_keeps,
		    (unsigned long long)s->replica_keeps_in,
		    (unsigned long long)s->replica_keeps_lost);
		printf("             attachments: %llu tasks not yet on every "
		    "member (%llu submits wait for a majority), %llu copies "
		    "held here for other homes, %llu held by members since "
		    "start; %llu tasks taken over ran without theirs\n",
		    (unsigned long long)s->replica_files_pending,
		    (unsigned long long)s->replica_files_waiting,
		    (unsigned long long)s->replica_files_held,
		    (unsigned long long)s->replica_files_acked,
		    (unsigned long long)s->replica_files_missing);
		printf("preempted:   %llu running tasks yielded their slot to "
		    "tasks that had run less\n", (unsigned long long)s->yields);
		printf("periodic:    %llu checkpoints asked; %llu copies sent "
		    "home (%llu bytes, snapshot mean %.3f ms), %llu received\n",
		    (unsigned long long)s->periodic,
		    (unsigned long long)s->copies_out,
		    (unsigned long long)s->copy_bytes_out,
		    s->copies_out ? (double)s->copy_snapshot_us / 1000 /
		    (double)s->copies_out : 0.0,
		    (unsigned long long)s->copies_in);
		printf("messages:    %llu sent (%llu delivered, %llu refused, "
		    "%llu timed out, %llu retries); here: %llu delivered, "
		    "%llu duplicates, %llu passed on (%llu to a home, %llu to "
		    "a replica acting for one), %llu queries, %llu links, %llu "
		    "mailboxes\n",
		    (unsigned long long)s->msg_sent,
		    (unsigned long long)s->msg_acked,
		    (unsigned long long)s->msg_refused,
		    (unsigned long long)s->msg_timed_out,
		    (unsigned long long)s->msg_retries,
		    (unsigned long long)s->msg_delivered,
		    (unsigned long long)s->msg_duplicates,
		    (unsigned long long)s->msg_forwarded,
		    (unsigned long long)s->msg_to_home,
		    (unsigned long long)s->msg_to_acting,
		    (unsigned long long)s->msg_queries,
		    (unsigned long long)s->msg_links,
		    (unsigned long long)s->msg_mailboxes);
		printf("kept:        %llu copies of messages kept here for "
		    "tasks homed here; %llu taken without (no room); %llu "
		    "told to wait (home dead, no replica acting yet)\n",
		    (unsigned long long)s->msg_kept,
		    (unsigned long long)s->msg_unkept,
		    (unsigned long long)s->msg_waits_home);
		printf("rerun:       %llu tasks whose host died\n",
		    (unsigned long long)s->tasks_rerun);
		printf("results:     %llu recorded here; %llu stale copies "
		    "stopped; %llu notices sent again\n",
		    (unsigned long long)s->results,
		    (unsigned long long)s->stale_stopped,
		    (unsigned long long)s->retries);
		printf("dropped:     %llu task messages from a peer with no "
		    "say, %llu malformed, %llu about nothing here; %llu "
		    "refused (task.max_tasks)\n",
		    (unsigned long long)s->drop_sender,
		    (unsigned long long)s->drop_invalid,
		    (unsigned long long)s->drop_unknown,
		    (unsigned long long)s->refused_full);
		printf("drains:      %llu begun; %llu tasks handed back to their "
		    "homes; %llu handed back to this home\n",
		    (unsigned long long)s->drains,
		    (unsigned long long)s->given_back,
		    (unsigned long long)s->returned);
		printf("starts:      %llu failed at a host (placed anew, or "
		    "failed: task.max_start_failures)\n",
		    (unsigned long long)s->start_failures);
		printf("leases:      %llu asked; %llu tasks frozen (no word "
		    "from their home), %llu let run again; %llu reruns put "
		    "off for a silent host; %llu run again, their host not "
		    "heard of\n",
		    (unsigned long long)s->lease_asks,
		    (unsigned long long)s->lease_frozen,
		    (unsigned long long)s->lease_thawed,
		    (unsigned long long)s->lease_waits,
		    (unsigned long long)s->lease_quiet);
		printf("files:       %llu transfers pulled here, %llu bytes "
		    "in, %llu out, %llu uploaded; failed: %llu hash, %llu "
		    "source gone, %llu invalid, %llu disk\n",
		    (unsigned long long)s->xfer_done,
		    (unsigned long long)s->xfer_bytes_in,
		    (unsigned long long)s->xfer_bytes_out,
		    (unsigned long long)s->upload_bytes,
		    (unsigned long long)s->xfer_failed_hash,
		    (unsigned long long)s->xfer_failed_source,
		    (unsigned long long)s->xfer_failed_invalid,
		    (unsigned long long)s->xfer_failed_disk);
	}
	lb__ctl_reply__free_unpacked(rep, NULL);
	return EX_OK;
}

struct migrate_args {
	const char	*to;
	long		 timeout_s;
};

static void
migrate_opt(const char *name, const char *v, void *arg)
{
	struct migrate_args	*ma = arg;

	if (strcmp(name, "to") == 0) {
		if (!lb_id_valid(v))
			die(EX_USAGE, "--to %s: not a node id", v);
		ma->to = v;
	} else
		ma->timeout_s = num_arg("--timeout", v, 100000000);
}

static int
cmd_migrate(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlMigrateReq mr = LB__CTL_MIGRATE_REQ__INIT;
	Lb__CtlReply	*rep;
	Lb__MigrateDone	*d;
	struct migrate_args ma = { "", 60 };
	uint64_t	 token, deadline;
	int		 rc;

	cmd_args(cmd, o, argc, argv, migrate_opt, &ma);
	mr.id = argv[0];
	mr.to = (char *)ma.to;
	req.req_case = LB__CTL_REQUEST__REQ_MIGRATE;
	req.migrate = &mr;
	deadline = lb_mono_ms() + (uint64_t)ma.timeout_s * 1000;
again:
	mr.token = 0;
	rep = call(o, &req);
	if (rep->rep_case != LB__CTL_REPLY__REP_MIGRATE)
		die(EX_NO, "the peer sent the wrong reply");
	token = rep->migrate->token;
	lb__ctl_reply__free_unpacked(rep, NULL);
	for (;;) {
		char *cause;

		usleep(10000);
		mr.token = token;
		/* A peer busy moving a large checkpoint may answer late: ask
		 * again until the move's own deadline. */
		if ((rc = try_call(o, &req, &rep, &cause)) != EX_OK) {
			if (rc != EX_UNREACH || lb_mono_ms() >= deadline)
				die(rc, "%s", cause);
			free(cause);
			continue;
		}
		if (rep->rep_case != LB__CTL_REPLY__REP_MIGRATE)
			die(EX_NO, "the peer sent the wrong reply");
		if (rep->migrate->done)
			break;
		lb__ctl_reply__free_unpacked(rep, NULL);
		if (lb_mono_ms() >= deadline)
			die(EX_TIMEOUT, "task %s: the move was not decided within "
			    "%ld s", argv[0], ma.timeout_s);
	}
	d = rep->migrate->result;
	/* Refused for now (it is moving; its home is down and the peer
	 * acting for it is being looked for): asked again, within the
	 * deadline. */
	if (!d->ok && strstr(d->error, "try again") != NULL &&
	    lb_mono_ms() + 200 < deadline) {
		lb__ctl_reply__free_unpacked(rep, NULL);
		usleep(200000);
		goto again;
	}
	if (o->json) {
		json_t *j = json_pack("{s:s, s:b, s:s}", "id", argv[0],
		    "moved", d->ok, "host", d->host);
		if (d->ok && d->freeze_us > 0) {
			json_object_set_new(j, "freeze_ms",
			    json_real((double)d->freeze_us / 1000));
			json_object_set_new(j, "checkpoint_ms",
			    json_integer(d->checkpoint_ms));
			json_object_set_new(j, "bytes",
			    json_integer((json_int_t)d->bytes));
		}
		if (!d->ok)
			json_object_set_new(j, "error", json_string(d->error));
		json_print(j);
	} else if (d->ok && d->freeze_us > 0)
		printf("%s: moved to %s (freeze %.3f ms; the task took %u ms "
		    "to checkpoint; %llu bytes)\n", argv[0], d->host,
		    (double)d->freeze_us / 1000, d->checkpoint_ms,
		    (unsigned long long)d->bytes);
	else if (d->ok)
		printf("%s: moved to %s (it was waiting)\n", argv[0], d->host);
	else
		fprintf(stderr, "lbctl: task %s did not move: %s\n", argv[0],
		    d->error);
	rc = d->ok ? EX_OK : EX_NO;
	lb__ctl_reply__free_unpacked(rep, NULL);
	return rc;
}

/* ---- messages to tasks ---- */

/* How long locate lets the peer look, and a tail probe travel. */
#define LOCATE_MS	10000
#define TAIL_WAIT_MS	10000
#define TAIL_CHUNK	(256 * 1024)
#define TAIL_PAUSE_US	500000	/* --follow: between looks with no news */

/* key: the bytes as a string when they are UTF-8, else key_base64. */
static void
json_set_bytes(json_t *j, const char *key, const uint8_t *p, size_t len)
{
	json_t	*s = json_stringn(len ? (const char *)p : "", len);
	char	*b64, *k;
	size_t	 blen;

	if (s != NULL) {
		json_object_set_new(j, key, s);
		return;
	}
	blen = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	b64 = lb_calloc(1, blen);
	sodium_bin2base64(b64, blen, p, len, sodium_base64_VARIANT_ORIGINAL);
	k = lb_printf("%s_base64", key);
	json_object_set_new(j, k, json_string(b64));
	free(k);
	free(b64);
}

static void
write_all(const uint8_t *p, size_t len)
{
	fflush(stdout);
	while (len > 0) {
		ssize_t n = write(1, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(EX_NO, "stdout: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* A task id from the command line, or a usage error. */
static const char *
task_id_arg(const struct cmd *c, const char *id)
{
	if (!lb_task_id_valid(id))
		cmd_usage(c, "\"%s\" is not a task id (NODE.NUMBER, as submit "
		    "prints it)", id);
	return id;
}

static const char *
msg_status_name(Lb__MsgStatus st)
{
	static const char *const names[] = { "delivered", "duplicate", "full",
	    "ended", "unknown", "wait", "too_large", "located" };

	return (size_t)st < sizeof(names) / sizeof(names[0]) ? names[st] :
	    "other";
}

static json_t *
json_hops(char **hops, size_t n)
{
	json_t	*a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(hops[i]));
	return a;
}

/* " n2 n4", or " none (held here)". */
static char *
hops_line(char **hops, size_t n)
{
	char	*s = lb_strdup(""), *t;

	for (size_t i = 0; i < n; i++) {
		t = lb_printf("%s %s", s, hops[i]);
		free(s);
		s = t;
	}
	if (n == 0) {
		free(s);
		s = lb_strdup(" none (it is held here)");
	}
	return s;
}

struct send_args {
	const char	*file;
	long		 timeout_s;
};

static void
send_opt(const char *name, const char *v, void *arg)
{
	struct send_args	*sa = arg;
	char			*ep;
	long			 n;

	if (strcmp(name, "file") == 0) {
		sa->file = v;
		return;
	}
	errno = 0;
	n = strtol(v, &ep, 10);
	if (*v == '\0' || *ep != '\0' || errno || n < 1 || n > 86400)
		die(EX_USAGE, "--timeout: expected seconds 1..86400, got \"%s\"",
		    v);
	sa->timeout_s = n;
}

/* All of fp, up to LB_MSG_MAX bytes: more is refused before it is sent. */
static uint8_t *
read_message(FILE *fp, const char *what, size_t *len)
{
	uint8_t	*buf = lb_calloc(1, LB_MSG_MAX + 1);
	size_t	 n = 0, k;

	while (n <= LB_MSG_MAX && (k = fread(buf + n, 1, LB_MSG_MAX + 1 - n,
	    fp)) > 0)
		n += k;
	if (ferror(fp))
		die(EX_NO, "%s: %s", what, strerror(errno));
	if (n > LB_MSG_MAX)
		die(EX_NO, "%s: the message is larger than %d bytes (the "
		    "limit, message_max); not sent", what, LB_MSG_MAX);
	*len = n;
	return buf;
}

static int
cmd_send(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	struct send_args sa = { NULL, MSG_SEND_DEFAULT_MS / 1000 };
	Lb__CtlReply	*rep;
	Lb__CtlSent	*s;
	const char	*id, *self = getenv("LB_TASK_ID");
	uint8_t		*body;
	size_t		 len;
	char		*path, *cause = NULL, *hops;
	struct stat	 st;
	FILE		*fp;
	int		 n, r;

	n = cmd_args(cmd, o, argc, argv, send_opt, &sa);
	id = task_id_arg(cmd, argv[0]);
	if (n == 2 && sa.file != NULL)
		cmd_usage(cmd, "give MESSAGE or --file F, not both");
	if (n == 2) {
		len = strlen(argv[1]);
		if (len > LB_MSG_MAX)
			die(EX_NO, "the message is %zu bytes, more than the "
			    "limit of %d (message_max); not sent", len,
			    LB_MSG_MAX);
		body = (uint8_t *)lb_strdup(argv[1]);
	} else if (sa.file != NULL) {
		if ((fp = fopen(sa.file, "r")) == NULL)
			die(EX_NO, "--file %s: %s", sa.file, strerror(errno));
		if (fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_size > LB_MSG_MAX)
			die(EX_NO, "--file %s: %lld bytes, more than the limit "
			    "of %d (message_max); not sent", sa.file,
			    (long long)st.st_size, LB_MSG_MAX);
		body = read_message(fp, sa.file, &len);
		fclose(fp);
	} else
		body = read_message(stdin, "stdin", &len);
	/* lbctl run by a task sends as that task. */
	if (self == NULL || !lb_task_id_valid(self))
		self = "";
	path = control_path(o);
	r = msg_send(path, id, body, len, self, (int)sa.timeout_s * 1000, &rep,
	    &cause);
	free(path);
	free(body);
	if (rep == NULL)
		die(r, "%s", cause);
	s = rep->sent;
	if (o->json) {
		json_t *j = json_pack("{s:s, s:b, s:b, s:s, s:s, s:i, s:s, "
		    "s:I, s:o}", "id", id, "done", s->done, "delivered",
		    r == MSGR_OK, "status", s->done ?
		    msg_status_name(s->status) : "timeout", "host", s->host,
		    "epoch", s->epoch, "sender", s->sender,
		    "seq", (json_int_t)s->seq, "hops",
		    json_hops(s->hops, s->n_hops));
		if (s->detail[0] != '\0')
			json_object_set_new(j, "detail", json_string(s->detail));
		json_print(j);
	} else if (r == MSGR_OK) {
		hops = hops_line(s->hops, s->n_hops);
		printf("%s: delivered to %s (epoch %u), hops:%s\n", id, s->host,
		    s->epoch, hops);
		free(hops);
	}
	if (cause != NULL)
		fprintf(stderr, "lbctl: %s\n", cause);
	free(cause);
	lb__ctl_reply__free_unpacked(rep, NULL);
	return r;
}

static void
recv_opt(const char *name, const char *v, void *arg)
{
	*(long *)arg = num_arg("--timeout", v, 86400);
}

static int
cmd_recv(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	Lb__CtlReply	*rep;
	Lb__MailMsg	*m;
	const char	*id = getenv("LB_TASK_ID");
	char		*path, *cause;
	long		 timeout_s = -1;
	int		 r;

	cmd_args(cmd, o, argc, argv, recv_opt, &timeout_s);
	if (id == NULL || *id == '\0')
		cmd_usage(cmd, "not inside a task: LB_TASK_ID is not set (recv "
		    "reads the mailbox of the task it runs in)");
	if (!lb_task_id_valid(id))
		cmd_usage(cmd, "LB_TASK_ID=%s is not a task id", id);
	path = control_path(o);
	r = msg_recv(path, id, timeout_s < 0 ? -1 : (int)timeout_s * 1000,
	    &rep, &cause);
	free(path);
	if (r != MSGR_OK)
		die(r, "%s", cause);
	m = rep->recv->msg;
	if (o->json) {
		json_t *j = json_pack("{s:s, s:I}", "sender", m->sender, "seq",
		    (json_int_t)m->seq);
		json_set_bytes(j, "body", m->body.data, m->body.len);
		json_print(j);
	} else
		write_all(m->body.data, m->body.len);
	/* Written out: only now does the peer let it go (killed before, this
	 * recv leaves it for the next). */
	if (fflush(stdout) == EOF)
		die(EX_NO, "task %s: the message could not be written out: "
		    "%s; it stays in the mailbox", id, strerror(errno));
	path = control_path(o);
	r = rep->recv->two_step ? msg_confirm(path, id, m->sender, m->seq,
	    &cause) : MSGR_OK;
	free(path);
	lb__ctl_reply__free_unpacked(rep, NULL);
	if (r != MSGR_OK)
		die(r, "%s (the message was written out; the next recv may "
		    "get it again)", cause);
	return EX_OK;
}

static int
cmd_locate(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlLocateReq lr = LB__CTL_LOCATE_REQ__INIT;
	Lb__CtlReply	*rep;
	Lb__CtlLocate	*l;
	struct opts	 lo;
	char		*hops;

	cmd_args(cmd, o, argc, argv, NULL, NULL);
	lr.id = (char *)task_id_arg(cmd, argv[0]);
	lr.timeout_ms = LOCATE_MS;
	req.req_case = LB__CTL_REQUEST__REQ_LOCATE;
	req.locate = &lr;
	/* Answered when the holder answers, or at lr.timeout_ms. */
	lo = *o;
	lo.timeout_ms = LOCATE_MS + o->timeout_ms;
	rep = call(&lo, &req);
	if (rep->rep_case != LB__CTL_REPLY__REP_LOCATE)
		die(EX_NO, "the peer sent the wrong reply");
	l = rep->locate;
	if (o->json) {
		json_t *j = json_pack("{s:s, s:i, s:o}", "host", l->host,
		    "epoch", l->epoch, "hops", json_hops(l->hops, l->n_hops));
		if (l->state[0] != '\0')
			json_object_set_new(j, "state", json_string(l->state));
		json_print(j);
	} else {
		hops = hops_line(l->hops, l->n_hops);
		printf("%s at %s (epoch %u%s%s), hops:%s\n", lr.id, l->host,
		    l->epoch, l->state[0] ? ", ended: " : "", l->state, hops);
		free(hops);
	}
	lb__ctl_reply__free_unpacked(rep, NULL);
	return EX_OK;
}

struct tail_args {
	int	follow;
	int	err;
};

static void
tail_opt(const char *name, const char *v, void *arg)
{
	struct tail_args	*ta = arg;

	if (strcmp(name, "follow") == 0)
		ta->follow = 1;
	else
		ta->err = 1;
}

/*
 * lbctl tail: ask for the output from where the last answer ended until an
 * answer brings nothing (and, with --follow, until the task has ended).
 * --json: one object a line per answer with data, and the last answer.
 */
static int
cmd_tail(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlTailReq	 tr = LB__CTL_TAIL_REQ__INIT;
	Lb__CtlReply	*rep;
	Lb__CtlTail	*t;
	struct tail_args ta = { 0, 0 };
	struct opts	 lo;
	uint64_t	 off = 0, next;
	int		 more, ended;

	cmd_args(cmd, o, argc, argv, tail_opt, &ta);
	tr.id = (char *)task_id_arg(cmd, argv[0]);
	tr.max = TAIL_CHUNK;
	tr.stderr = ta.err;
	req.req_case = LB__CTL_REQUEST__REQ_TAIL;
	req.tail = &tr;
	lo = *o;
	lo.timeout_ms = TAIL_WAIT_MS + o->timeout_ms;
	for (;;) {
		tr.offset = off;
		rep = call(&lo, &req);
		if (rep->rep_case != LB__CTL_REPLY__REP_TAIL)
			die(EX_NO, "the peer sent the wrong reply");
		t = rep->tail;
		/* Past what was asked for: the output was cut in between. */
		next = t->offset + t->data.len;
		more = t->data.len > 0 && next > off;
		ended = t->ended;
		if (o->json && (more || ended || !ta.follow)) {
			json_t *j = json_pack("{s:I, s:b, s:s}", "offset",
			    (json_int_t)t->offset, "ended", t->ended, "host",
			    t->host);
			json_set_bytes(j, "data", t->data.data, t->data.len);
			char *line = json_dumps(j, JSON_COMPACT |
			    JSON_PRESERVE_ORDER);
			puts(line);
			fflush(stdout);
			free(line);
			json_decref(j);
		} else if (!o->json && more)
			write_all(t->data.data, t->data.len);
		lb__ctl_reply__free_unpacked(rep, NULL);
		if (more) {
			off = next;
			continue;
		}
		if (ended) {
			/* It has ended: the rest is in its record, at its
			 * home. */
			Lb__CtlReply *sr = task_call(o, LB__CTL_REQUEST__REQ_SHOW,
			    tr.id, 1);
			const ProtobufCBinaryData *d = ta.err ?
			    &sr->task->stderr : &sr->task->stdout;

			if (d->len > off) {
				if (o->json) {
					json_t *j = json_pack("{s:I, s:b, s:s}",
					    "offset", (json_int_t)off, "ended",
					    1, "host", "");
					json_set_bytes(j, "data", d->data + off,
					    d->len - off);
					char *line = json_dumps(j,
					    JSON_COMPACT | JSON_PRESERVE_ORDER);
					puts(line);
					free(line);
					json_decref(j);
				} else
					write_all(d->data + off, d->len - off);
			}
			lb__ctl_reply__free_unpacked(sr, NULL);
			return EX_OK;
		}
		if (!ta.follow)
			return EX_OK;
		usleep(TAIL_PAUSE_US);
	}
}

/* lbctl's own options: --timeout MS and --version. */
static void
lbctl_opt(const char *name, const char *v, void *arg)
{
	struct opts	*o = arg;

	if (strcmp(name, "version") == 0) {
		printf("lbctl %s\n", PACKAGE_VERSION);
		exit(EX_OK);
	}
	o->timeout_ms = (int)num_arg("--timeout", v, 3600000);
	o->timeout_set = 1;
	if (o->timeout_ms == 0)
		die(EX_USAGE, "--timeout: expected milliseconds (1..3600000)");
}

/* ---- drain ---- */

struct drain_args {
	long	timeout_s;	/* 0: the peer's drain_timeout_s */
	int	wait;
};

static void
drain_opt(const char *name, const char *v, void *arg)
{
	struct drain_args	*da = arg;
	char			*ep;
	long			 n;

	if (strcmp(name, "wait") == 0) {
		da->wait = 1;
		return;
	}
	errno = 0;
	n = strtol(v, &ep, 10);
	if (*v == '\0' || *ep != '\0' || errno || n < 1 || n > 86400)
		die(EX_USAGE, "drain: --timeout: expected seconds 1..86400, got "
		    "\"%s\"", v);
	da->timeout_s = n;
}

static Lb__CtlDrain *
drain_call(const struct opts *o, int report, long timeout_s,
    Lb__CtlReply **repp)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlDrainReq	 dr = LB__CTL_DRAIN_REQ__INIT;
	Lb__CtlReply	*rep;

	dr.timeout_s = (uint32_t)timeout_s;
	dr.report = report;
	req.req_case = LB__CTL_REQUEST__REQ_DRAIN;
	req.drain = &dr;
	rep = call(o, &req);
	if (rep->rep_case != LB__CTL_REPLY__REP_DRAIN)
		die(EX_NO, "the peer sent the wrong reply");
	*repp = rep;
	return rep->drain;
}

static void
drain_print(const struct opts *o, const Lb__CtlDrain *d)
{
	static const char *const fates[] = { "moved", "finished",
	    "handed back", "held" };
	char	 age[32];

	if (o->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < d->n_tasks; i++)
			json_array_append_new(a, json_pack("{s:s, s:s, s:s}",
			    "id", d->tasks[i]->id, "fate", d->tasks[i]->fate,
			    "to", d->tasks[i]->to));
		json_print(json_pack("{s:b, s:b, s:I, s:I, s:i, s:o}",
		    "draining", d->draining, "done", d->done,
		    "left_ms", (json_int_t)d->left_ms,
		    "elapsed_ms", (json_int_t)d->elapsed_ms,
		    "held", d->held, "tasks", a));
		return;
	}
	if (!d->draining)
		printf("not draining\n");
	else if (d->done)
		printf("drained: nothing is held here (after %s)\n",
		    fmt_age(d->elapsed_ms, age, sizeof(age)));
	else
		printf("draining: %u tasks still here; %s until the timeout\n",
		    d->held, d->left_ms ? fmt_age(d->left_ms, age,
		    sizeof(age)) : "none left");
	for (size_t f = 0; f < sizeof(fates) / sizeof(fates[0]); f++) {
		int any = 0;
		for (size_t i = 0; i < d->n_tasks; i++) {
			const Lb__CtlDrainTask *t = d->tasks[i];
			if (strcmp(t->fate, fates[f]) != 0)
				continue;
			if (any)
				printf(", %s", t->id);
			else
				printf("%s: %s", fates[f], t->id);
			if (t->to[0] != '\0')
				printf(" (to %s)", t->to);
			any = 1;
		}
		if (any)
			printf("\n");
	}
}

static int
cmd_drain(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	struct drain_args	 da = { 0, 0 };
	Lb__CtlReply		*rep;
	Lb__CtlDrain		*d;
	struct timespec		 ts = { 0, 200 * 1000 * 1000 };

	cmd_args(cmd, o, argc, argv, drain_opt, &da);
	d = drain_call(o, 0, da.timeout_s, &rep);
	/* Bounded: the peer hands back what runs at the timeout, and the
	 * drain is done once the homes have acknowledged. */
	while (da.wait && d->draining && !d->done) {
		lb__ctl_reply__free_unpacked(rep, NULL);
		nanosleep(&ts, NULL);
		d = drain_call(o, 1, 0, &rep);
	}
	if (da.wait && !d->draining)
		die(EX_NO, "the drain was ended (lbctl undrain) before it was "
		    "done");
	drain_print(o, d);
	lb__ctl_reply__free_unpacked(rep, NULL);
	return EX_OK;
}

static int
cmd_undrain(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	Lb__CtlRequest	  req = LB__CTL_REQUEST__INIT;
	Lb__CtlUndrainReq ur = LB__CTL_UNDRAIN_REQ__INIT;
	Lb__CtlReply	 *rep;

	cmd_args(cmd, o, argc, argv, NULL, NULL);
	req.req_case = LB__CTL_REQUEST__REQ_UNDRAIN;
	req.undrain = &ur;
	rep = call(o, &req);
	if (rep->rep_case != LB__CTL_REPLY__REP_DRAIN)
		die(EX_NO, "the peer sent the wrong reply");
	if (o->json)
		json_print(json_pack("{s:b, s:b}", "draining", 0,
		    "was_draining", rep->drain->was_draining));
	else if (rep->drain->was_draining)
		printf("undrained: this peer takes tasks again\n");
	else
		printf("not draining: nothing to end\n");
	lb__ctl_reply__free_unpacked(rep, NULL);
	return EX_OK;
}

static void
top_opt(const char *name, const char *v, void *arg)
{
	char	*ep;
	double	 s;

	errno = 0;
	s = strtod(v, &ep);
	if (*v == '\0' || *ep != '\0' || errno || !(s >= 0.1 && s <= 3600))
		die(EX_USAGE, "--interval: expected seconds 0.1..3600, got "
		    "\"%s\"", v);
	*(int *)arg = (int)(s * 1000);
}

/*
 * One look at the cluster: four requests to the local peer.  0, or the exit
 * status of the first that failed and *cause (what was taken is freed).
 */
static int
top_fetch(const struct opts *o, Lb__CtlReply *rep[4], struct top_view *v,
    char **cause)
{
	Lb__CtlRequest	 req[4] = { LB__CTL_REQUEST__INIT,
			    LB__CTL_REQUEST__INIT, LB__CTL_REQUEST__INIT,
			    LB__CTL_REQUEST__INIT };
	Lb__CtlStatusReq sr = LB__CTL_STATUS_REQ__INIT;
	Lb__CtlPeersReq	 pr = LB__CTL_PEERS_REQ__INIT;
	Lb__CtlListReq	 lr = LB__CTL_LIST_REQ__INIT;
	Lb__CtlStatsReq	 tr = LB__CTL_STATS_REQ__INIT;
	static const Lb__CtlReply__RepCase want[4] = { LB__CTL_REPLY__REP_STATUS,
			    LB__CTL_REPLY__REP_PEERS, LB__CTL_REPLY__REP_LIST,
			    LB__CTL_REPLY__REP_STATS };
	int		 i, rc = EX_OK;

	req[0].req_case = LB__CTL_REQUEST__REQ_STATUS;
	req[0].status = &sr;
	req[1].req_case = LB__CTL_REQUEST__REQ_PEERS;
	req[1].peers = &pr;
	req[2].req_case = LB__CTL_REQUEST__REQ_LIST;
	req[2].list = &lr;
	req[3].req_case = LB__CTL_REQUEST__REQ_STATS;
	req[3].stats = &tr;
	/* The cluster's tasks, running and waiting: asked again while the
	 * peers answer (a second at most, then the page the peer has). */
	lr.cluster = 1;
	lr.limit = 200;
	for (i = 0; i < 4; i++) {
		int tries = 0;

		while ((rc = try_call(o, &req[i], &rep[i], cause)) == EX_OK &&
		    i == 2 && rep[i]->rep_case == LB__CTL_REPLY__REP_LIST &&
		    rep[i]->list->pending && tries++ < 60) {
			lb__ctl_reply__free_unpacked(rep[i], NULL);
			usleep(25000);
		}
		if (rc != EX_OK)
			break;
		if (rep[i]->rep_case != want[i] || (i == 0 &&
		    rep[i]->status->counters == NULL)) {
			*cause = lb_strdup("the peer sent the wrong reply");
			rc = EX_NO;
			i++;
			break;
		}
	}
	if (rc != EX_OK) {
		while (i-- > 0)
			lb__ctl_reply__free_unpacked(rep[i], NULL);
		return rc;
	}
	v->status = rep[0]->status;
	v->peers = rep[1]->peers;
	v->tasks = rep[2]->list;
	v->stats = rep[3]->stats;
	v->now_ms = lb_wall_ms();
	return EX_OK;
}

/*
 * lbctl top: redraw the view every interval until q (or a signal); with
 * stdout no terminal (or --json), one printout.  On the screen, a peer that
 * does not answer is said so, and asked again: top outlives a restart.
 */
static int
cmd_top(const struct cmd *cmd, struct opts *o, int argc, char **argv)
{
	Lb__CtlReply	*rep[4];
	struct top_view	 v;
	char		*text, *cause;
	int		 interval = 1000, rows, cols, quit = 0, rc;

	cmd_args(cmd, o, argc, argv, top_opt, &interval);
	if (o->json || !isatty(1)) {
		if ((rc = top_fetch(o, rep, &v, &cause)) != EX_OK)
			die(rc, "%s", cause);
		if (o->json)
			json_print(top_json(&v));
		else {
			text = top_render(&v, 0, 0);
			fputs(text, stdout);
			free(text);
		}
		for (int i = 0; i < 4; i++)
			lb__ctl_reply__free_unpacked(rep[i], NULL);
		return EX_OK;
	}
	top_screen_start();
	while (!quit) {
		rows = 24;
		cols = 80;
		top_term_size(1, &rows, &cols);
		if (top_fetch(o, rep, &v, &cause) != EX_OK) {
			text = lb_printf("lbctl: %s\n(asking again every "
			    "%d ms; q quits)\n", cause, interval);
			free(cause);
			top_screen_draw(text);
			free(text);
		} else {
			text = top_render(&v, rows, cols);
			top_screen_draw(text);
			free(text);
			for (int i = 0; i < 4; i++)
				lb__ctl_reply__free_unpacked(rep[i], NULL);
		}
		/* A key other than q redraws at once, as in top(1). */
		quit = top_screen_wait(interval);
	}
	return EX_OK;
}

int
main(int argc, char **argv)
{
	struct opts	 o = { NULL, NULL, 0, 2000, 0 };
	int		 n;

	n = cmd_args(&lbctl_cmd, &o, argc, argv, lbctl_opt, &o);
	if (n == 0)
		usage(EX_USAGE);
	if (sodium_init() < 0)
		die(EX_NO, "libsodium failed to start");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			return cmds[i].fn(&cmds[i], &o, n, argv);
	die(EX_USAGE, "unknown command \"%s\" (try lbctl --help)", argv[0]);
}
