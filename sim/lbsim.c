/*
 * lbsim - N peers' membership in one deterministic process: the real
 * gossip core (gossip/, SWIM with Lifeguard), the real wire form of its
 * messages (node/gossip_wire.c) in real envelopes, on a simulated network
 * with latency and loss, with peers that crash, restart and pause.  The
 * same seed and arguments give the same run, checked by a hash of every
 * event and delivered message (trace_hash).
 *
 *	lbsim --peers N --seconds S --seed X [--loss PCT] [--faults LIST]
 *	      [--latency MIN:MAX] [--crashes K] [--json]
 *
 * What it measures, after a warm-up (the first sixth of the run, at least
 * 10 s; the cluster forms from three seeds meanwhile; the faults begin
 * once it is over and every peer knows every other):
 *   - dead-to-all: from a peer's crash until every live peer holds it
 *     dead (median and max over the crashes);
 *   - membership bytes per peer per second: gossip and probes, sealed
 *     in their envelopes as the daemon sends them (src/envelope.c; the
 *     receiver opens each one, with its replay check);
 *   - false suspicions and false deaths: a live peer suspected, or held
 *     dead, by another (a paused one included: --faults pause);
 *   - with --faults restart, how long a restarted peer (a new
 *     incarnation) takes to be held alive by all;
 *   - the invariant that a crashed peer, once every live peer holds it
 *     dead, is never held alive again (stale gossip cannot bring it
 *     back); before that, a peer that held it dead may hold it alive
 *     again on news it made before its crash (a refutation on its way):
 *     counted as revivals.
 *
 * With --rho (or --trace), tasks too: a workload at that load, each
 * peer's slots and queue, and its balancing -- the real core through the
 * composition lbpeer runs (node/balancer.c), with its load vector read
 * from the peer's own gossip table (sim/work.c).  It measures the mean
 * and 95th percentile response time (in mean service times, S), polls and
 * moves per task, beside M/M/c, the bound of perfect pooling.  Forwarding
 * is not simulated yet (issue 19 of the tracker).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "src/conf.h"
#include "src/envelope.h"
#include "src/util.h"
#include "gossip/gossip.h"
#include "sim/sim.h"

#define PEERS_MAX	10000
#define SECONDS_MAX	86400


static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: lbsim --peers N --seconds S --seed X [--loss PCT] [--faults LIST]\n"
"             [--latency MIN:MAX] [--crashes K] [--moves K] [--json]\n"
"       lbsim --peers N --seconds S --seed X --rho R [--service DIST]\n"
"             [--mean-ms S] [--submit spread|one] [--policy P]\n"
"             [--location L] [--probe-limit K] [--slots K]\n"
"             [--set KEY=VALUE]... [--oracle jsq] [--json]\n"
"       lbsim --peers N --seconds S --seed X --trace FILE [--json]\n"
"\n"
"N peers' membership (the real gossip core and its wire form) on a\n"
"simulated network, and with --rho or --trace their tasks and balancing\n"
"(the real balancing core, as lbpeer composes it); deterministic: the\n"
"same arguments give the same run.  Without tasks, once every peer\n"
"knows every other, one peer's load changes every 5 s, and each change\n"
"is timed until every live peer holds it (load_spread_ms).\n"
"\n"
"  --peers N          peers, 2 to %d (16)\n"
"  --seconds S        simulated seconds, 1 to %d (120)\n"
"  --seed X           the run's seed (1)\n"
"  --loss PCT         messages lost, percent, 0 to 50 (0)\n"
"  --latency MIN:MAX  one-way delay in ms, each pair of peers its own,\n"
"                     uniform (1:10)\n"
"  --faults LIST      comma-separated: crash (peers crash, one every 20 s\n"
"                     once all know all and the warm-up is over),\n"
"                     restart (and each restarts 10 s later, a new\n"
"                     incarnation), pause (between crashes, a peer\n"
"                     stopped for 1 s), loss (1%% of messages lost, or\n"
"                     --loss)\n"
"  --crashes K        how many crash with --faults crash (as many as fit)\n"
"  --moves K          messages to tasks moved 0 to K times, 0 to 12: 10\n"
"                     tasks for each k, three sends to each (the real\n"
"                     forwarding core); with --faults crash, as many\n"
"                     again whose home has crashed\n"
"  --rho R            tasks: Poisson arrivals at load R, 0.01 to 0.99, of\n"
"                     the cluster's slots (none)\n"
"  --service DIST     service times: exp (exponential), pareto (bounded\n"
"                     Pareto, shape 1.1, largest 10,000 x smallest),\n"
"                     bimodal (90%% S/2, 10%% 5.5 S) (exp)\n"
"  --mean-ms S        mean service time, ms, 1 to 3600000 (100)\n"
"  --submit WHERE     spread (at peers at random) or one (all at n1)\n"
"                     (spread)\n"
"  --trace FILE       tasks from a CSV: submit_ms,duration_ms,peer,\n"
"                     checkpointable,size_bytes a line (peer: n3 or 3;\n"
"                     time 0 is the warm-up's end)\n"
"  --move-ms M        a move's cost besides the network's delay, 0 to\n"
"                     60000 (10)\n"
"  --policy P         balance.policy: none, sender, receiver, symmetric\n"
"                     (symmetric, the daemon's default)\n"
"  --location L       balance.location: random, vector, mixed (mixed)\n"
"  --probe-limit K    balance.probe_limit, 1 to 100 (3)\n"
"  --balance-ms MS    balance.interval_ms, 1 to 60000 (50)\n"
"  --slots K          slots a peer, 1 to 1024 (1)\n"
"  --oracle jsq       no balancing: each task placed at once at the peer\n"
"                     with the fewest tasks (global join-the-shortest-\n"
"                     queue with perfect information: a bound to compare\n"
"                     with, not something lbpeer does)\n"
"  --set KEY=VALUE    any setting of a peer's file, as balance.hint_ms=500\n"
"                     (checked as the file's are; applied after the\n"
"                     options above)\n"
"  --json             one JSON object instead of a table\n",
	    PEERS_MAX, SECONDS_MAX);
}

static long
num(const char *opt, const char *v, long lo, long hi)
{
	char	*end;
	long	 x;

	errno = 0;
	x = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi) {
		fprintf(stderr, "lbsim: %s: '%s' is not a number from %ld to "
		    "%ld\n", opt, v, lo, hi);
		exit(2);
	}
	return x;
}

/* One of the words in `v` (NULL-terminated): its index. */
static int
word(const char *opt, const char *arg, const char **v)
{
	for (int i = 0; v[i] != NULL; i++)
		if (strcmp(arg, v[i]) == 0)
			return i;
	fprintf(stderr, "lbsim: %s: '%s' is not one of", opt, arg);
	for (int i = 0; v[i] != NULL; i++)
		fprintf(stderr, "%s %s", i ? "," : "", v[i]);
	fputc('\n', stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "peers", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'x' },
		{ "loss", required_argument, NULL, 'l' },
		{ "latency", required_argument, NULL, 'L' },
		{ "faults", required_argument, NULL, 'f' },
		{ "crashes", required_argument, NULL, 'k' },
		{ "moves", required_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' },
		{ "rho", required_argument, NULL, 'r' },
		{ "service", required_argument, NULL, 'S' },
		{ "mean-ms", required_argument, NULL, 'm' },
		{ "submit", required_argument, NULL, 'u' },
		{ "trace", required_argument, NULL, 't' },
		{ "move-ms", required_argument, NULL, 'M' },
		{ "policy", required_argument, NULL, 'p' },
		{ "location", required_argument, NULL, 'o' },
		{ "probe-limit", required_argument, NULL, 'P' },
		{ "balance-ms", required_argument, NULL, 'b' },
		{ "slots", required_argument, NULL, 'K' },
		{ "set", required_argument, NULL, 'E' },
		{ "oracle", required_argument, NULL, 'O' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct sim	 s;
	long		 seconds = 120, crashes = -1;
	uint64_t	 seed = 1;
	int		 json = 0, fault_crash = 0, fault_loss = 0, c;
	int		 loss_set = 0, fault_restart = 0, fault_pause = 0;
	uint8_t		 hash[16];
	char		 hex[33];
	uint64_t	*d, *rj, *sp;
	size_t		 nrj = 0, nsp = 0, nsp_open = 0;
	double		 iv;
	size_t		 nd = 0, missed = 0;
	double		 bps;
	struct wfig	 wf;
	/* (the settings are made once the options are read: an option
	 * refused exits with nothing to free) */
	int		 o_policy = -1, o_location = -1, o_probes = -1;
	int		 o_interval = -1, o_slots = 1;
	const char	*o_set[32];
	size_t		 n_set = 0;

	memset(&s, 0, sizeof(s));
	s.wc.mean_ms = 100;
	s.wc.move_ms = 10;
	s.n = 16;
	s.lat_min = 1;
	s.lat_max = 10;
	s.moves = -1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			s.n = (int)num("--peers", optarg, 2, PEERS_MAX);
			break;
		case 's':
			seconds = num("--seconds", optarg, 1, SECONDS_MAX);
			break;
		case 'x':
			seed = (uint64_t)num("--seed", optarg, 0, LONG_MAX);
			break;
		case 'l':
			s.loss = 10 * (unsigned)num("--loss", optarg, 0, 50);
			loss_set = 1;
			break;
		case 'L': {
			unsigned a, b;
			char extra;

			if (sscanf(optarg, "%u:%u%c", &a, &b, &extra) != 2 ||
			    a < 1 || b < a || b > 60000) {
				fprintf(stderr, "lbsim: --latency: '%s' is not "
				    "MIN:MAX in ms (1 <= MIN <= MAX <= 60000)"
				    "\n", optarg);
				return 2;
			}
			s.lat_min = a;
			s.lat_max = b;
			break;
		}
		case 'f': {
			char *list = lb_strdup(optarg), *save = NULL, *w;

			for (w = strtok_r(list, ",", &save); w != NULL;
			    w = strtok_r(NULL, ",", &save)) {
				if (strcmp(w, "crash") == 0)
					fault_crash = 1;
				else if (strcmp(w, "restart") == 0)
					fault_crash = fault_restart = 1;
				else if (strcmp(w, "pause") == 0)
					fault_pause = 1;
				else if (strcmp(w, "loss") == 0)
					fault_loss = 1;
				else {
					fprintf(stderr, "lbsim: --faults: "
					    "unknown fault '%s' (crash, "
					    "restart, pause, loss)"
					    "\n", w);
					free(list);
					return 2;
				}
			}
			free(list);
			break;
		}
		case 'k':
			crashes = num("--crashes", optarg, 0, PEERS_MAX);
			break;
		case 'V':
			s.moves = (int)num("--moves", optarg, 0, 12);
			break;
		case 'j':
			json = 1;
			break;
		case 'r': {
			char *end;

			errno = 0;
			s.wc.rho = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(s.wc.rho >= 0.01 && s.wc.rho <= 0.99)) {
				fprintf(stderr, "lbsim: --rho: '%s' is not a "
				    "load from 0.01 to 0.99\n", optarg);
				return 2;
			}
			break;
		}
		case 'S':
			s.wc.service = (enum service)word("--service", optarg,
			    (const char *[]){ "exp", "pareto", "bimodal",
			    NULL });
			break;
		case 'm':
			s.wc.mean_ms = (unsigned)num("--mean-ms", optarg, 1,
			    3600000);
			break;
		case 'u':
			s.wc.one = word("--submit", optarg, (const char *[]){
			    "spread", "one", NULL });
			break;
		case 't':
			s.wc.trace = optarg;
			break;
		case 'M':
			s.wc.move_ms = (unsigned)num("--move-ms", optarg, 0,
			    60000);
			break;
		case 'p':
			o_policy = word("--policy", optarg,
			    (const char *[]){ "none", "sender", "receiver",
			    "symmetric", NULL });
			break;
		case 'o':
			o_location = word("--location", optarg,
			    (const char *[]){ "random", "vector", "mixed",
			    NULL });
			break;
		case 'P':
			o_probes = (int)num("--probe-limit",
			    optarg, 1, 100);
			break;
		case 'b':
			o_interval = (int)num("--balance-ms",
			    optarg, 1, 60000);
			break;
		case 'K':
			o_slots = (int)num("--slots", optarg, 1, 1024);
			break;
		case 'O':
			(void)word("--oracle", optarg, (const char *[]){
			    "jsq", NULL });
			s.wc.oracle = 1;
			break;
		case 'E':
			if (n_set == sizeof(o_set) / sizeof(o_set[0])) {
				fprintf(stderr, "lbsim: more than %zu --set\n",
				    n_set);
				return 2;
			}
			o_set[n_set++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "lbsim: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	if (fault_loss && !loss_set)
		s.loss = 10;	/* 1% (--loss says otherwise) */
	if (crashes > 0 && !fault_crash) {
		fprintf(stderr, "lbsim: --crashes needs --faults crash\n");
		return 2;
	}
	if (s.wc.oracle && s.wc.trace == NULL && s.wc.rho <= 0) {
		fprintf(stderr, "lbsim: --oracle places tasks: it needs --rho "
		    "or --trace\n");
		return 2;
	}
	if (s.moves >= 0 && (s.wc.trace != NULL || s.wc.rho > 0)) {
		fprintf(stderr, "lbsim: --moves runs without tasks (no --rho "
		    "or --trace)\n");
		return 2;
	}
	if (s.wc.trace != NULL && s.wc.rho > 0) {
		fprintf(stderr, "lbsim: --trace and --rho: one or the other\n");
		return 2;
	}
	if ((s.wc.trace != NULL || s.wc.rho > 0) && fault_crash) {
		fprintf(stderr, "lbsim: --faults crash or restart with tasks: "
		    "not simulated yet (a crashed peer's tasks go back to "
		    "their homes in lbpeer; lbsim has no homes); pause and "
		    "loss are\n");
		return 2;
	}
	/* Digests of thousands of entries come and go all the time: keep
	 * their memory rather than map and zero it each time. */
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
#endif
	if (sodium_init() < 0) {
		fprintf(stderr, "lbsim: libsodium did not start\n");
		return 1;
	}

	lb_conf_defaults(&s.conf);
	s.conf.slots = o_slots;
	if (o_policy >= 0)
		s.conf.balance.policy = o_policy;
	if (o_location >= 0)
		s.conf.balance.location = o_location;
	if (o_probes >= 0)
		s.conf.balance.probe_limit = o_probes;
	if (o_interval >= 0)
		s.conf.balance.interval_ms = o_interval;
	if (s.wc.oracle)
		s.conf.balance.policy = LB_POLICY_NONE;
	for (size_t i = 0; i < n_set; i++) {
		char *err;

		if (lb_conf_set(&s.conf, o_set[i], &err) == -1) {
			fprintf(stderr, "lbsim: %s\n", err);
			free(err);
			lb_conf_free(&s.conf);
			return 2;
		}
	}
	if (s.conf.gossip.max_members < s.n + 1)
		s.conf.gossip.max_members = s.n + 1;
	lb_rng_seed(&s.rng, seed);
	s.pair_salt = lb_rng_next(&s.rng);
	s.end = (uint64_t)seconds * 1000;
	s.warm = s.end / 6 > 10000 ? s.end / 6 : 10000;
	if (s.warm > s.end)
		s.warm = s.end;
	crypto_generichash_init(&s.trace, NULL, 0, sizeof(hash));
	for (size_t k = 0; k < sizeof(s.key); k++)
		s.key[k] = (unsigned char)lb_rng_next(&s.rng);
	{
		char *err = NULL;

		if (work_start(&s, &err) == -1) {
			fprintf(stderr, "lbsim: %s\n", err);
			free(err);
			work_free(&s);
			lb_conf_free(&s.conf);
			return 2;
		}
	}
	s.p = lb_calloc((size_t)s.n, sizeof(*s.p));
	s.strings = strpool_new();
	for (int i = 0; i < s.n; i++) {
		unsigned a = (unsigned)(i + 1);

		snprintf(s.p[i].id, sizeof(s.p[i].id), "n%d", i + 1);
		snprintf(s.p[i].addr, sizeof(s.p[i].addr),
		    "tcp://10.%u.%u.%u:7946", a >> 16, (a >> 8) & 255,
		    a & 255);
		boot(&s, i);
	}
	s.want_crashes = fault_crash ? crashes : 0;
	s.f_restart = fault_restart;
	s.f_pause = fault_pause;
	s.f_crash = fault_crash;
	work_go(&s);

	run(&s);
	work_figures(&s, &wf);

	crypto_generichash_final(&s.trace, hash, sizeof(hash));
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	d = lb_calloc(s.ncrashes + 1, sizeof(*d));
	for (size_t k = 0; k < s.ncrashes; k++) {
		if (s.crashes[k].all_ms != 0)
			d[nd++] = s.crashes[k].all_ms - s.crashes[k].at;
		else
			missed++;
	}
	qsort(d, nd, sizeof(*d), cmp_u64);
	rj = lb_calloc(s.ncrashes + 1, sizeof(*rj));
	for (size_t k = 0; k < s.ncrashes; k++)
		if (s.crashes[k].rejoin_ms != 0)
			rj[nrj++] = s.crashes[k].rejoin_ms;
	qsort(rj, nrj, sizeof(*rj), cmp_u64);
	sp = spread_times(&s, &nsp, &nsp_open);
	qsort(sp, nsp, sizeof(*sp), cmp_u64);
	iv = (double)s.conf.gossip.interval_ms;
	{
		uint64_t total = 0;

		/* (over every peer and the measured time: a crashed one
		 * sent until its crash) */
		for (int i = 0; i < s.n; i++)
			total += s.p[i].bytes;
		bps = s.end > s.warm ? (double)total / (double)s.n /
		    ((double)(s.end - s.warm) / 1000) : 0;
	}
	if (json) {
		json_t *o = json_object();

		json_object_set_new(o, "peers", json_integer(s.n));
		json_object_set_new(o, "seconds", json_integer(seconds));
		json_object_set_new(o, "seed", json_integer((json_int_t)seed));
		json_object_set_new(o, "loss_pct", json_real(s.loss / 10.0));
		json_object_set_new(o, "trace_hash", json_string(hex));
		json_object_set_new(o, "events", json_integer((json_int_t)
		    s.events));
		json_object_set_new(o, "messages", json_integer((json_int_t)
		    s.msgs));
		json_object_set_new(o, "messages_refused", json_integer(
		    (json_int_t)s.refused));
		json_object_set_new(o, "converged_ms", s.converged_ms ?
		    json_integer((json_int_t)s.converged_ms) : json_null());
		json_object_set_new(o, "faults_from_ms", s.faults_from ?
		    json_integer((json_int_t)s.faults_from) : json_null());
		json_object_set_new(o, "crashes", json_integer((json_int_t)
		    s.ncrashes));
		json_object_set_new(o, "crashes_not_known_to_all",
		    json_integer((json_int_t)missed));
		json_object_set_new(o, "dead_to_all_ms_median", nd ?
		    json_integer((json_int_t)d[nd / 2]) : json_null());
		json_object_set_new(o, "dead_to_all_ms_max", nd ?
		    json_integer((json_int_t)d[nd - 1]) : json_null());
		json_object_set_new(o, "restarts", json_integer((json_int_t)
		    s.restarts));
		json_object_set_new(o, "rejoined_to_all", json_integer(
		    (json_int_t)nrj));
		json_object_set_new(o, "rejoin_ms_median", nrj ?
		    json_integer((json_int_t)rj[nrj / 2]) : json_null());
		json_object_set_new(o, "rejoin_ms_max", nrj ?
		    json_integer((json_int_t)rj[nrj - 1]) : json_null());
		json_object_set_new(o, "pauses", json_integer((json_int_t)
		    s.pauses));
		json_object_set_new(o, "load_changes", json_integer(
		    (json_int_t)s.nspreads));
		json_object_set_new(o, "load_changes_not_heard_by_all",
		    json_integer((json_int_t)nsp_open));
		json_object_set_new(o, "load_spread_ms_median", nsp ?
		    json_integer((json_int_t)sp[nsp / 2]) : json_null());
		json_object_set_new(o, "load_spread_ms_max", nsp ?
		    json_integer((json_int_t)sp[nsp - 1]) : json_null());
		json_object_set_new(o, "load_spread_rounds_median", nsp ?
		    json_real((double)sp[nsp / 2] / iv) : json_null());
		json_object_set_new(o, "membership_bytes_per_peer_s",
		    json_real((double)(int64_t)(bps * 10) / 10));
		json_object_set_new(o, "false_suspicions", json_integer(
		    (json_int_t)s.false_suspicions));
		json_object_set_new(o, "false_deaths", json_integer(
		    (json_int_t)s.false_deaths));
		json_object_set_new(o, "revivals", json_integer(
		    (json_int_t)s.revivals));
		json_object_set_new(o, "invariant_violations", json_integer(
		    (json_int_t)s.violations));
		if (s.moves >= 0)
			json_object_set_new(o, "forwarding", json_msgs(&s));
		json_tasks(o, &s, &wf);
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		printf("lbsim: %d peers, %ld s, seed %" PRIu64 ", loss %.1f%%, "
		    "latency %u-%u ms\n", s.n, seconds, seed, s.loss / 10.0,
		    s.lat_min, s.lat_max);
		printf("%-34s %s\n", "trace hash", hex);
		printf("%-34s %" PRIu64 " (%" PRIu64 " messages, %" PRIu64
		    " lost, %" PRIu64 " refused by their envelope)\n",
		    "events", s.events, s.msgs, s.lost, s.refused);
		if (s.converged_ms)
			printf("%-34s %" PRIu64 " ms\n", "all know all",
			    s.converged_ms);
		else
			printf("%-34s never\n", "all know all");
		if (s.f_crash || s.f_pause) {
			if (s.faults_from)
				printf("%-34s from %" PRIu64 " ms\n", "faults",
				    s.faults_from);
			else
				printf("%-34s none (not all knew all)\n",
				    "faults");
		}
		printf("%-34s %zu (%zu not known to all by the end)\n",
		    "crashes", s.ncrashes, missed);
		if (nd)
			printf("%-34s median %" PRIu64 " ms, max %" PRIu64
			    " ms\n", "dead to all", d[nd / 2], d[nd - 1]);
		if (s.restarts)
			printf("%-34s %" PRIu64 " (%zu known to all alive%s)\n",
			    "restarts", s.restarts, nrj, "");
		if (nrj)
			printf("%-34s median %" PRIu64 " ms, max %" PRIu64
			    " ms\n", "restart alive to all", rj[nrj / 2],
			    rj[nrj - 1]);
		if (s.pauses)
			printf("%-34s %" PRIu64 " of %d ms\n", "pauses",
			    s.pauses, PAUSE_MS);
		if (s.nspreads)
			printf("%-34s %zu, heard by all in median %" PRIu64
			    " ms (%.1f rounds), max %" PRIu64 " ms; %zu "
			    "not by the end\n", "load changes", s.nspreads,
			    nsp ? sp[nsp / 2] : 0, nsp ? (double)sp[nsp / 2] /
			    iv : 0, nsp ? sp[nsp - 1] : 0, nsp_open);
		printf("%-34s %.1f\n", "membership bytes per peer per s", bps);
		printf("%-34s %" PRIu64 " suspicions, %" PRIu64 " deaths\n",
		    "false (of live peers)", s.false_suspicions,
		    s.false_deaths);
		printf("%-34s %" PRIu64 " (dead, then alive on news from "
		    "before the crash)\n", "revivals of crashed peers",
		    s.revivals);
		printf("%-34s %" PRIu64 "\n", "invariant violations",
		    s.violations);
		if (s.moves >= 0)
			print_msgs(&s);
		print_tasks(&s, &wf);
	}
	free(d);
	free(sp);
	spread_free(&s);
	msgs_free(&s);
	for (int i = 0; i < s.n; i++) {
		gossip_free(s.p[i].g);
		env_free(&s.p[i].env);
	}
	for (size_t k = 0; k < s.ncrashes; k++) {
		free(s.crashes[k].seen);
		free(s.crashes[k].seen_alive);
	}
	free(rj);
	work_free(&s);
	free(s.crashes);
	free(s.p);
	free(s.heap);
	/* Every table gone, no string may be held: a count off means a
	 * reference kept or let go twice in the gossip core. */
	if (strpool_count(s.strings) != 0) {
		fprintf(stderr, "lbsim: %zu member strings still held after "
		    "every peer's table was freed\n",
		    strpool_count(s.strings));
		s.violations++;
	}
	strpool_free(s.strings);
	gossip_out_free(&s.out);
	lb_conf_free(&s.conf);
	return s.violations + s.ws.violations > 0 ? 1 : 0;
}
