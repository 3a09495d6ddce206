/* lbctl.c - the command line to a local lbpeer. */
#include "config.h"

#include <errno.h>
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
#include "conf.h"
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
};

static void __attribute__((noreturn))
usage(int code)
{
	fprintf(code ? stderr : stdout,
"usage: lbctl [-s SOCKET | -c FILE] [--json] [--timeout MS] COMMAND [ARGS]\n"
"\n"
"Talk to the local lbpeer over its control socket.\n"
"\n"
"Commands:\n"
"  status          this peer: id, cluster, members by state, traffic\n"
"  peers           every member this peer knows, with load and age\n"
"  keygen FILE     write a new random cluster key to FILE (mode 0600)\n"
"  debug load N    advertise N extra load (for tests and benchmarks)\n"
"\n"
"Options:\n"
"  -s SOCKET       the peer's control socket\n"
"  -c FILE         read the control socket from this lbpeer config\n"
"                  (default: $LB_CONTROL, else /etc/lbpeer.conf)\n"
"  --json          machine-readable output\n"
"  --timeout MS    give up on the peer after MS milliseconds (default 2000)\n"
"  -h, --help      this help\n"
"\n"
"Exit status: 0 ok, 1 the peer said no, 2 usage, 3 peer unreachable.\n");
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

/* One call; exits on an unreachable peer or a refusal. */
static Lb__CtlReply *
call(const struct opts *o, const Lb__CtlRequest *req)
{
	Lb__CtlReply	*rep;
	char		*path = control_path(o), *cause;

	if (lbc_call(path, req, &rep, o->timeout_ms, &cause) != LBC_OK)
		die(EX_UNREACH, "%s", cause);
	free(path);
	if (rep->code != 0) {
		fprintf(stderr, "lbctl: %s\n", rep->error[0] ? rep->error :
		    "the peer refused");
		lb__ctl_reply__free_unpacked(rep, NULL);
		exit(EX_NO);
	}
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
cmd_status(const struct opts *o, int argc, char **argv)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlStatusReq sr = LB__CTL_STATUS_REQ__INIT;
	Lb__CtlReply	*rep;
	Lb__CtlStatus	*s;
	Lb__Counters	*c;
	char		 age[32];

	if (argc != 1)
		usage(EX_USAGE);
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
		json_object_set_new(j, "counters", jc);
		json_print(j);
	} else {
		printf("id:          %s\n", s->id);
		printf("cluster:     %s%s\n", s->cluster, s->authenticated ?
		    " (authenticated)" : " (no key: loopback only)");
		printf("version:     %s\n", s->version);
		printf("listen:      %s\n", s->listen);
		printf("advertise:   %s\n", s->advertise);
		printf("incarnation: %" PRIu64 "\n", s->incarnation);
		printf("uptime:      %s\n", fmt_age(s->uptime_ms, age,
		    sizeof(age)));
		printf("load:        %u / %u slots\n", s->load, s->slots);
		printf("members:     %u alive, %u suspect, %u dead, %u left\n",
		    s->alive, s->suspect, s->dead, s->left);
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

/* Peers in id order, n2 before n10. */
static int
peer_cmp(const void *a, const void *b)
{
	const Lb__CtlPeer *pa = *(Lb__CtlPeer * const *)a;
	const Lb__CtlPeer *pb = *(Lb__CtlPeer * const *)b;

	return strverscmp(pa->id, pb->id);
}

static int
cmd_peers(const struct opts *o, int argc, char **argv)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlPeersReq	 pr = LB__CTL_PEERS_REQ__INIT;
	Lb__CtlReply	*rep;
	char		 age[32];
	int		 w = 2, wa = 4;

	if (argc != 1)
		usage(EX_USAGE);
	req.req_case = LB__CTL_REQUEST__REQ_PEERS;
	req.peers = &pr;
	rep = call(o, &req);
	if (rep->rep_case != LB__CTL_REPLY__REP_PEERS)
		die(EX_NO, "the peer sent the wrong reply");
	qsort(rep->peers->peers, rep->peers->n_peers, sizeof(Lb__CtlPeer *),
	    peer_cmp);
	if (o->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < rep->peers->n_peers; i++) {
			Lb__CtlPeer *p = rep->peers->peers[i];
			json_t *attrs = json_array();
			for (size_t k = 0; k < p->n_attributes; k++)
				json_array_append_new(attrs,
				    json_string(p->attributes[k]));
			json_array_append_new(a, json_pack("{s:s, s:s, s:s, "
			    "s:I, s:I, s:i, s:i, s:I, s:o, s:b, s:I, s:I}",
			    "id", p->id, "addr", p->addr, "state", p->state,
			    "incarnation", (json_int_t)p->incarnation,
			    "heartbeat", (json_int_t)p->heartbeat,
			    "load", p->load, "slots", p->slots,
			    "age_ms", (json_int_t)p->age_ms,
			    "attributes", attrs, "self", p->self,
			    "news_age_ms", (json_int_t)p->news_age_ms,
			    "state_age_ms", (json_int_t)p->state_age_ms));
		}
		json_print(a);
	} else {
		for (size_t i = 0; i < rep->peers->n_peers; i++) {
			int l = (int)strlen(rep->peers->peers[i]->id) + 1;
			int la = (int)strlen(rep->peers->peers[i]->addr);
			w = l > w ? l : w;
			wa = la > wa ? la : wa;
		}
		printf("%-*s  %-*s  %-7s  %13s  %4s  %5s  %7s  %s\n", w, "ID",
		    wa, "ADDR", "STATE", "INCARNATION", "LOAD", "SLOTS", "AGE",
		    "ATTRIBUTES");
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
			printf("%-*s  %-*s  %-7s  %13" PRIu64 "  %4u  %5u  %7s  "
			    "%s\n", w, id, wa, p->addr, p->state,
			    p->incarnation, p->load, p->slots, fmt_age(p->age_ms,
			    age, sizeof(age)), attrs[0] ? attrs : "-");
		}
	}
	lb__ctl_reply__free_unpacked(rep, NULL);
	return EX_OK;
}

static int
cmd_keygen(const struct opts *o, int argc, char **argv)
{
	char	*cause;

	if (argc != 2)
		usage(EX_USAGE);
	if (lb_key_write(argv[1], &cause) == -1)
		die(EX_NO, "keygen: %s", cause);
	if (o->json) {
		json_print(json_pack("{s:s}", "key_file", argv[1]));
	} else
		printf("wrote a new cluster key to %s; copy it to every peer "
		    "and set secret_file\n", argv[1]);
	return EX_OK;
}

/* lbctl debug load N: a synthetic load, for tests and benchmarks. */
static int
cmd_debug(const struct opts *o, int argc, char **argv)
{
	Lb__CtlRequest	 req = LB__CTL_REQUEST__INIT;
	Lb__CtlDebugLoadReq dl = LB__CTL_DEBUG_LOAD_REQ__INIT;
	Lb__CtlReply	*rep;
	char		*ep;
	long		 v;

	if (argc != 3 || strcmp(argv[1], "load") != 0)
		usage(EX_USAGE);
	errno = 0;
	v = strtol(argv[2], &ep, 10);
	if (*argv[2] == '\0' || *ep != '\0' || errno || v < 0 || v > 1000000)
		die(EX_USAGE, "debug load: expected 0..1000000, got \"%s\"",
		    argv[2]);
	dl.extra = (uint32_t)v;
	req.req_case = LB__CTL_REQUEST__REQ_DEBUG_LOAD;
	req.debug_load = &dl;
	rep = call(o, &req);
	lb__ctl_reply__free_unpacked(rep, NULL);
	return EX_OK;
}

static const struct {
	const char	*name;
	int		(*fn)(const struct opts *, int, char **);
} cmds[] = {
	{ "status", cmd_status },
	{ "peers", cmd_peers },
	{ "keygen", cmd_keygen },
	{ "debug", cmd_debug },
};

/* The command and its arguments (global: reachable until exit). */
static char	**rest;

int
main(int argc, char **argv)
{
	struct opts	 o = { NULL, NULL, 0, 2000 };
	int		 ch, nrest = 0;
	char		*ep;
	long		 v;
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};

	/* Options may come before or after the command (up to a "--"). */
	rest = lb_calloc((size_t)argc + 1, sizeof(*rest));
	opterr = 0;
	while (optind < argc) {
		if (strcmp(argv[optind], "--") == 0) {
			while (optind < argc)
				rest[nrest++] = argv[optind++];
			break;
		}
		ch = getopt_long(argc, argv, "+s:c:hV", longopts, NULL);
		if (ch == -1) {
			rest[nrest++] = argv[optind++];
			continue;
		}
		switch (ch) {
		case 's': o.socket = optarg; break;
		case 'c': o.config = optarg; break;
		case 'j': o.json = 1; break;
		case 't':
			errno = 0;
			v = strtol(optarg, &ep, 10);
			if (*optarg == '\0' || *ep != '\0' || errno || v < 1 ||
			    v > 3600000)
				die(EX_USAGE, "--timeout: expected milliseconds "
				    "(1..3600000), got \"%s\"", optarg);
			o.timeout_ms = (int)v;
			break;
		case 'h': usage(EX_OK);
		case 'V': printf("lbctl %s\n", PACKAGE_VERSION); return EX_OK;
		default:
			die(EX_USAGE, "unknown option \"%s\" (try lbctl --help)",
			    argv[optind - 1]);
		}
	}
	if (nrest == 0)
		usage(EX_USAGE);
	if (sodium_init() < 0)
		die(EX_NO, "libsodium failed to start");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(rest[0], cmds[i].name) == 0) {
			int rc = cmds[i].fn(&o, nrest, rest);
			free(rest);
			return rc;
		}
	die(EX_USAGE, "unknown command \"%s\" (try lbctl --help)", rest[0]);
}
