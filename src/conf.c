/* conf.c - libconfig parsing and validation, every problem as FILE:LINE. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "conf.h"
#include "log.h"
#include "util.h"

enum spec_type {
	T_INT,		/* integer within [min, max] */
	T_BOOL,		/* true or false */
	T_STRING,	/* non-empty string of at most max bytes */
	T_STRLIST,	/* list or array of strings */
	T_LOGLEVEL,	/* "error", "warn", "info" or "debug" */
	T_POLICY,	/* "none", "sender", "receiver", "symmetric" */
	T_LOCATION,	/* "random", "vector" */
	T_GROUP		/* a group with its own table */
};

struct spec {
	const char		*name;
	enum spec_type		 type;
	long			 min, max;
	size_t			 off;	/* in the struct the group fills */
	const struct spec	*sub;	/* T_GROUP */
};

#define END { NULL, 0, 0, 0, 0, NULL }

static const struct spec gossip_spec[] = {
	{ "interval_ms", T_INT, 10, 600000,
	    offsetof(struct lb_gossip_conf, interval_ms), NULL },
	{ "suspect_ms", T_INT, 20, 3600000,
	    offsetof(struct lb_gossip_conf, suspect_ms), NULL },
	{ "dead_ms", T_INT, 30, 3600000,
	    offsetof(struct lb_gossip_conf, dead_ms), NULL },
	{ "forget_ms", T_INT, 1000, 86400000,
	    offsetof(struct lb_gossip_conf, forget_ms), NULL },
	{ "digest_size", T_INT, 2, 1000,
	    offsetof(struct lb_gossip_conf, digest_size), NULL },
	{ "seed_every", T_INT, 0, 100000,
	    offsetof(struct lb_gossip_conf, seed_every), NULL },
	{ "max_members", T_INT, 2, 1000000,
	    offsetof(struct lb_gossip_conf, max_members), NULL },
	{ "probe_interval_ms", T_INT, 0, 600000,
	    offsetof(struct lb_gossip_conf, probe_interval_ms), NULL },
	{ "probe_timeout_ms", T_INT, 1, 600000,
	    offsetof(struct lb_gossip_conf, probe_timeout_ms), NULL },
	{ "indirect_probes", T_INT, 0, 16,
	    offsetof(struct lb_gossip_conf, indirect_probes), NULL },
	{ "suspicion_min_ms", T_INT, 1, 3600000,
	    offsetof(struct lb_gossip_conf, suspicion_min_ms), NULL },
	{ "suspicion_max_ms", T_INT, 1, 3600000,
	    offsetof(struct lb_gossip_conf, suspicion_max_ms), NULL },
	{ "awareness_max", T_INT, 1, 64,
	    offsetof(struct lb_gossip_conf, awareness_max), NULL },
	END
};

static const struct spec task_spec[] = {
	{ "output_limit_kb", T_INT, 1, 1048576,
	    offsetof(struct lb_task_conf, output_limit_kb), NULL },
	{ "attach_limit_mb", T_INT, 0, 1048576,
	    offsetof(struct lb_task_conf, attach_limit_mb), NULL },
	{ "attach_limit_kb", T_INT, 0, 1073741823,
	    offsetof(struct lb_task_conf, attach_limit_kb), NULL },
	{ "kill_grace_ms", T_INT, 0, 600000,
	    offsetof(struct lb_task_conf, kill_grace_ms), NULL },
	{ "retry_min_ms", T_INT, 1, 600000,
	    offsetof(struct lb_task_conf, retry_min_ms), NULL },
	{ "retry_max_ms", T_INT, 1, 3600000,
	    offsetof(struct lb_task_conf, retry_max_ms), NULL },
	{ "checkpoint_timeout_ms", T_INT, 10, 3600000,
	    offsetof(struct lb_task_conf, checkpoint_timeout_ms), NULL },
	{ "checkpoint_grace_ms", T_INT, 0, 3600000,
	    offsetof(struct lb_task_conf, checkpoint_grace_ms), NULL },
	{ "checkpoint_every_s", T_INT, 0, 365 * 86400,
	    offsetof(struct lb_task_conf, checkpoint_every_s), NULL },
	{ "keep_finished_s", T_INT, 0, 365 * 86400,
	    offsetof(struct lb_task_conf, keep_finished_s), NULL },
	{ "max_tasks", T_INT, 1, 10000000,
	    offsetof(struct lb_task_conf, max_tasks), NULL },
	{ "mailbox_msgs", T_INT, 1, 1000000,
	    offsetof(struct lb_task_conf, mailbox_msgs), NULL },
	{ "mailbox_kb", T_INT, 1, 1048576,
	    offsetof(struct lb_task_conf, mailbox_kb), NULL },
	{ "msg_max_kb", T_INT, 1, 1024,
	    offsetof(struct lb_task_conf, msg_max_kb), NULL },
	{ "msg_timeout_s", T_INT, 1, 86400,
	    offsetof(struct lb_task_conf, msg_timeout_s), NULL },
	{ "lease_ms", T_INT, 0, 3600000,
	    offsetof(struct lb_task_conf, lease_ms), NULL },
	{ "lease_margin_ms", T_INT, 0, 600000,
	    offsetof(struct lb_task_conf, lease_margin_ms), NULL },
	{ "max_start_failures", T_INT, 1, 16,
	    offsetof(struct lb_task_conf, max_start_failures), NULL },
	{ "home_replicas", T_INT, 1, 7,
	    offsetof(struct lb_task_conf, home_replicas), NULL },
	{ "home_takeover_ms", T_INT, 0, 3600000,
	    offsetof(struct lb_task_conf, home_takeover_ms), NULL },
	{ "disk_limit_mb", T_INT, 1, 1048576 * 16,
	    offsetof(struct lb_task_conf, disk_limit_mb), NULL },
	{ "disk_reserve_mb", T_INT, 0, 1048576,
	    offsetof(struct lb_task_conf, disk_reserve_mb), NULL },
	END
};

#define BAL(name, type, lo, hi) \
	{ #name, type, lo, hi, offsetof(struct lb_balance_conf, name), NULL }
static const char *const policies[] = { "none", "sender", "receiver",
	"symmetric", NULL };
static const char *const locations[] = { "random", "vector", "mixed", NULL };

/* The index of `v` in a NULL-terminated list of names, or -1. */
static int
name_index(const char *const *names, const char *v)
{
	for (int i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], v) == 0)
			return i;
	return -1;
}

static const struct spec balance_spec[] = {
	{ "policy", T_POLICY, 0, 0, offsetof(struct lb_balance_conf, policy),
	    NULL },
	{ "location", T_LOCATION, 0, 0,
	    offsetof(struct lb_balance_conf, location), NULL },
	BAL(lower_threshold, T_INT, -1, 100000),
	BAL(upper_threshold, T_INT, -1, 100000),
	BAL(probe_limit, T_INT, 1, 100),
	BAL(probe_timeout_ms, T_INT, 1, 600000),
	BAL(reserve_ms, T_INT, 0, 600000),
	BAL(backoff_ms, T_INT, 1, 600000),
	BAL(backoff_max_ms, T_INT, 1, 3600000),
	BAL(max_moves, T_INT, 0, 1000),
	BAL(preempt, T_BOOL, 0, 1),
	BAL(preempt_slice_ms, T_INT, 10, 3600000),
	BAL(interval_ms, T_INT, 1, 600000),
	BAL(transfer_timeout_ms, T_INT, 10, 600000),
	BAL(idle_hints, T_BOOL, 0, 1),
	BAL(hint_ms, T_INT, 1, 600000),
	BAL(idle_notify, T_INT, 0, 100),
	END
};

static const struct spec log_spec[] = {
	{ "level", T_LOGLEVEL, 0, 0, offsetof(struct lb_log_conf, level), NULL },
	END
};

static const struct spec top_spec[] = {
	{ "id", T_STRING, 1, LB_ID_MAX - 1, offsetof(struct lb_conf, id), NULL },
	{ "cluster", T_STRING, 1, 63, offsetof(struct lb_conf, cluster), NULL },
	{ "listen", T_STRING, 1, LB_ADDR_MAX - 1,
	    offsetof(struct lb_conf, listen), NULL },
	{ "advertise", T_STRING, 1, LB_ADDR_MAX - 1,
	    offsetof(struct lb_conf, advertise), NULL },
	{ "http", T_STRING, 0, LB_ADDR_MAX - 1,
	    offsetof(struct lb_conf, http), NULL },
	{ "http_output", T_BOOL, 0, 1, offsetof(struct lb_conf, http_output),
	    NULL },
	{ "control", T_STRING, 1, 100, offsetof(struct lb_conf, control), NULL },
	{ "control_group", T_STRING, 1, 64,
	    offsetof(struct lb_conf, control_group), NULL },
	{ "control_max_kb", T_INT, 64, 2097151,
	    offsetof(struct lb_conf, control_max_kb), NULL },
	{ "state_dir", T_STRING, 1, 4000,
	    offsetof(struct lb_conf, state_dir), NULL },
	{ "slots", T_INT, 0, 4096, offsetof(struct lb_conf, slots), NULL },
	{ "attributes", T_STRLIST, 0, 64,
	    offsetof(struct lb_conf, attributes), NULL },
	{ "seeds", T_STRLIST, 0, LB_ADDR_MAX - 1,
	    offsetof(struct lb_conf, seeds), NULL },
	{ "secret_file", T_STRING, 1, 4000,
	    offsetof(struct lb_conf, secret_file), NULL },
	{ "message_max_kb", T_INT, 64, 1048576,
	    offsetof(struct lb_conf, message_max_kb), NULL },
	{ "replay_window_ms", T_INT, 1000, 3600000,
	    offsetof(struct lb_conf, replay_window_ms), NULL },
	{ "drain_timeout_s", T_INT, 0, 86400,
	    offsetof(struct lb_conf, drain_timeout_s), NULL },
	{ "gossip", T_GROUP, 0, 0, offsetof(struct lb_conf, gossip),
	    gossip_spec },
	{ "task", T_GROUP, 0, 0, offsetof(struct lb_conf, task), task_spec },
	{ "balance", T_GROUP, 0, 0, offsetof(struct lb_conf, balance),
	    balance_spec },
	{ "log", T_GROUP, 0, 0, offsetof(struct lb_conf, log), log_spec },
	END
};

/* Settings that no longer exist, and why: an error, never a silent no-op. */
static const struct {
	const char	*name, *why;
} gone[] = {
	{ "insecure", "every message is authenticated now, on every address "
	    "(a peer without secret_file makes its own key in state_dir); "
	    "remove the line" },
	{ NULL, NULL }
};

/* The problems found so far. */
struct errs {
	const char	 *file;
	char		**v;
	size_t		  n;
};

static void errs_add(struct errs *, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
errs_add(struct errs *e, int line, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		abort();
	va_end(ap);
	e->v = lb_reallocarray(e->v, e->n + 1, sizeof(*e->v));
	e->v[e->n++] = lb_printf("%s:%d: %s", e->file, line > 0 ? line : 1,
	    msg);
	free(msg);
}

void
lb_conf_defaults(struct lb_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->cluster = lb_strdup("lbpeer");
	c->listen = lb_strdup("tcp://127.0.0.1:7946");
	/* Off unless asked for: a default port would make a second peer on
	 * the same host (tests, lbcluster) fail to start. */
	c->http = lb_strdup("");
	/* Task output can hold what its user would not publish: the page
	 * shows it only when asked to. */
	c->http_output = 0;
	c->control = lb_strdup("/run/lbpeer/control.sock");
	c->state_dir = lb_strdup("/var/lib/lbpeer");
	c->slots = 0;
	c->message_max_kb = 4096;
	c->replay_window_ms = 120000;
	c->drain_timeout_s = 60;
	/*
	 * Failure detection lives on heartbeats spreading through bounded
	 * digests: at 64 peers with 24 entries per digest, the freshest news
	 * of a live peer is up to 8 rounds old when a peer judges it (the
	 * simulation in t/gossip_test), so suspicion waits 10 rounds.  With
	 * more members (or a smaller digest) the news is older in
	 * proportion, and both ages grow with members / digest_size
	 * (gossip_age_limit; lbsim found every peer suspecting others
	 * falsely at 128 members with these ages fixed).
	 */
	c->gossip.interval_ms = 1000;
	c->gossip.suspect_ms = 10000;
	c->gossip.dead_ms = 15000;
	c->gossip.forget_ms = 120000;
	c->gossip.digest_size = 24;
	c->gossip.seed_every = 20;
	c->gossip.max_members = 1024;
	/*
	 * SWIM decides suspect and dead (heartbeat ages stay as a backstop).
	 * A crash: the first probe of it starts about 1 s later (N - 1 peers
	 * each probe it once in N - 1 intervals) and fails after 2 x 500 ms;
	 * the suspicion spreads at once and every peer that hears it pings
	 * too; their 3 confirmations, 500 ms later, bring the timeout to its
	 * minimum, 500 ms: dead to all in about 2.5 s.  A pause shorter than
	 * a probe round fails no probe; a longer one has one or two accusers
	 * (a timeout of 1.6 s or more) and is refuted as soon as it ends.
	 */
	c->gossip.probe_interval_ms = 1000;
	c->gossip.probe_timeout_ms = 500;
	c->gossip.indirect_probes = 3;
	c->gossip.suspicion_min_ms = 500;
	c->gossip.suspicion_max_ms = 6000;
	c->gossip.awareness_max = 8;
	c->task.output_limit_kb = 1024;
	c->task.attach_limit_mb = 4096;
	c->task.mailbox_msgs = 1024;
	c->task.mailbox_kb = 4096;
	c->task.msg_max_kb = 64;
	c->task.msg_timeout_s = 30;
	/* A task on a host that crashed runs again elsewhere within about
	 * lease_ms * 1.26 + lease_margin_ms: 7.3 s (doc/faults.md). */
	c->task.lease_ms = 5000;
	c->task.lease_margin_ms = 1000;
	c->task.max_start_failures = 3;
	c->task.home_replicas = 3;
	c->task.home_takeover_ms = 0;	/* from lease_ms: see below */
	c->task.disk_limit_mb = 10240;
	c->task.disk_reserve_mb = 256;
	c->task.attach_limit_kb = -1;	/* unset: attach_limit_mb counts */
	c->task.kill_grace_ms = 5000;
	c->task.retry_min_ms = 200;
	c->task.retry_max_ms = 30000;
	c->task.keep_finished_s = 7 * 86400;
	c->task.checkpoint_timeout_ms = 10000;
	c->task.checkpoint_grace_ms = 500;
	c->task.max_tasks = 100000;
	/* The best of tools/lbbench balance (doc/bench.md). */
	c->balance.policy = LB_POLICY_SYMMETRIC;
	c->balance.location = LB_LOCATION_MIXED;
	c->balance.lower_threshold = -1;
	c->balance.upper_threshold = -1;
	c->balance.probe_limit = 3;
	c->balance.probe_timeout_ms = 200;
	c->balance.reserve_ms = 500;
	c->balance.backoff_ms = 10;
	c->balance.backoff_max_ms = 100;
	c->balance.max_moves = 2;
	c->balance.preempt = 1;		/* the best in doc/bench.md */
	c->balance.preempt_slice_ms = 500;
	c->balance.interval_ms = 50;
	c->balance.idle_hints = 1;
	c->balance.hint_ms = 1000;
	c->balance.idle_notify = 1;
	c->balance.transfer_timeout_ms = 1000;
	c->log.level = LOG_LVL_INFO;
}

static const char *
type_name(int t)
{
	switch (t) {
	case CONFIG_TYPE_GROUP: return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array";
	case CONFIG_TYPE_LIST: return "a list";
	}
	return "a setting";
}

static void
free_strlist(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Read one setting `s` described by `sp` into `base`. */
static void
read_setting(struct errs *e, config_setting_t *s, const struct spec *sp,
    void *base, const char *path)
{
	int	 line = config_setting_source_line(s);
	int	 t = config_setting_type(s);
	void	*dst = (char *)base + sp->off;

	switch (sp->type) {
	case T_INT: {
		long long v;

		if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
			errs_add(e, line, "%s must be an integer, not %s", path,
			    type_name(t));
			return;
		}
		v = config_setting_get_int64(s);
		if (v < sp->min || v > sp->max) {
			errs_add(e, line, "%s = %lld is out of range "
			    "(%ld..%ld)", path, v, sp->min, sp->max);
			return;
		}
		*(int *)dst = (int)v;
		return;
	}
	case T_BOOL:
		if (t != CONFIG_TYPE_BOOL) {
			errs_add(e, line, "%s must be true or false, not %s",
			    path, type_name(t));
			return;
		}
		*(int *)dst = config_setting_get_bool(s);
		return;
	case T_STRING:
	case T_POLICY:
	case T_LOCATION:
	case T_LOGLEVEL: {
		const char *v;

		if (t != CONFIG_TYPE_STRING) {
			errs_add(e, line, "%s must be a string, not %s", path,
			    type_name(t));
			return;
		}
		v = config_setting_get_string(s);
		if (sp->type == T_POLICY || sp->type == T_LOCATION) {
			int x = sp->type == T_POLICY ? name_index(policies, v) :
			    name_index(locations, v);
			if (x == -1) {
				errs_add(e, line, "%s = \"%s\": expected %s",
				    path, v, sp->type == T_POLICY ? "\"none\", "
				    "\"sender\", \"receiver\" or \"symmetric\"" :
				    "\"random\", \"vector\" or \"mixed\"");
				return;
			}
			*(int *)dst = x;
			return;
		}
		if (sp->type == T_LOGLEVEL) {
			int lvl = log_level_parse(v);
			if (lvl == -1) {
				errs_add(e, line, "%s = \"%s\": expected "
				    "\"error\", \"warn\", \"info\" or \"debug\"",
				    path, v);
				return;
			}
			*(int *)dst = lvl;
			return;
		}
		if (strlen(v) < (size_t)sp->min || strlen(v) > (size_t)sp->max) {
			errs_add(e, line, "%s must be %ld to %ld characters long",
			    path, sp->min, sp->max);
			return;
		}
		free(*(char **)dst);
		*(char **)dst = lb_strdup(v);
		return;
	}
	case T_STRLIST: {
		char	**v;
		int	  n, bad = 0;

		if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY) {
			errs_add(e, line, "%s must be a list of strings "
			    "[\"a\", \"b\"], not %s", path, type_name(t));
			return;
		}
		n = config_setting_length(s);
		v = lb_calloc((size_t)n + 1, sizeof(*v));
		for (int i = 0; i < n; i++) {
			config_setting_t *el = config_setting_get_elem(s, i);
			const char	 *str;

			if (config_setting_type(el) != CONFIG_TYPE_STRING) {
				errs_add(e, config_setting_source_line(el),
				    "%s[%d] must be a string, not %s", path, i,
				    type_name(config_setting_type(el)));
				bad = 1;
				continue;
			}
			str = config_setting_get_string(el);
			if (*str == '\0' || strlen(str) > (size_t)sp->max) {
				errs_add(e, config_setting_source_line(el),
				    "%s[%d] must be 1 to %ld characters long",
				    path, i, sp->max);
				bad = 1;
				continue;
			}
			v[i] = lb_strdup(str);
		}
		if (bad) {
			free_strlist(v, (size_t)n);
			return;
		}
		free_strlist(*(char ***)dst, *(size_t *)((char *)dst +
		    sizeof(char **)));
		*(char ***)dst = v;
		/* The count follows the vector in struct lb_conf. */
		*(size_t *)((char *)dst + sizeof(char **)) = (size_t)n;
		return;
	}
	case T_GROUP:
		break;
	}
}

/* Read every child of group `g` against table `tab`. */
static void
read_group(struct errs *e, config_setting_t *g, const struct spec *tab,
    void *base, const char *prefix)
{
	int	n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		config_setting_t	*s = config_setting_get_elem(g, i);
		const char		*name = config_setting_name(s);
		const struct spec	*sp;
		char			*path;

		for (sp = tab; sp->name != NULL; sp++)
			if (strcmp(sp->name, name) == 0)
				break;
		path = prefix ? lb_printf("%s.%s", prefix, name) :
		    lb_strdup(name);
		if (sp->name == NULL) {
			size_t k;

			for (k = 0; prefix == NULL && gone[k].name; k++)
				if (strcmp(gone[k].name, name) == 0)
					break;
			if (prefix == NULL && gone[k].name != NULL)
				errs_add(e, config_setting_source_line(s),
				    "%s no longer exists: %s", name,
				    gone[k].why);
			else
				errs_add(e, config_setting_source_line(s),
				    "unknown setting \"%s\"", path);
		}
		else if (sp->type == T_GROUP) {
			if (config_setting_type(s) != CONFIG_TYPE_GROUP)
				errs_add(e, config_setting_source_line(s),
				    "%s must be a group { ... }, not %s", path,
				    type_name(config_setting_type(s)));
			else
				read_group(e, s, sp->sub,
				    (char *)base + sp->off, path);
		} else
			read_setting(e, s, sp, base, path);
		free(path);
	}
}

/* The line of setting PATH, else of its nearest group, else 1. */
static int
line_of(config_t *cf, const char *path)
{
	char			*p = lb_strdup(path), *dot;
	config_setting_t	*s;
	int			 line = 1;

	for (;;) {
		if ((s = config_lookup(cf, p)) != NULL) {
			line = config_setting_source_line(s);
			break;
		}
		if ((dot = strrchr(p, '.')) == NULL)
			break;
		*dot = '\0';
	}
	free(p);
	return line > 0 ? line : 1;
}

/*
 * http = "HOST:PORT" (or "" for none).  Anyone who reaches it reads the
 * cluster's tasks and figures without a key, so it follows listen: on a
 * loopback address always; on an address other hosts reach (or a
 * wildcard) only when listen is on one too, that is when the operator has
 * put this peer on the network already.
 */
static void
check_http(struct errs *e, config_t *cf, struct lb_conf *c)
{
	char	 host[LB_ADDR_MAX], lhost[LB_ADDR_MAX], *addr, *cause;
	int	 port;

	c->http_line = line_of(cf, "http");
	if (c->http[0] == '\0')
		return;
	if (strncmp(c->http, "tcp://", 6) == 0 || strncmp(c->http, "http://",
	    7) == 0) {
		errs_add(e, c->http_line, "http: \"%s\" is HOST:PORT, without "
		    "a scheme", c->http);
		return;
	}
	addr = lb_printf("tcp://%s", c->http);
	if (lb_addr_parse(addr, host, sizeof(host), &port, &cause) == -1) {
		free(cause);
		errs_add(e, c->http_line, "http: \"%s\" is not HOST:PORT "
		    "(port 1..65535, an IPv6 host in brackets)", c->http);
	} else if (lb_addr_parse(c->listen, lhost, sizeof(lhost), &port,
	    &cause) == -1)
		free(cause);	/* reported with listen */
	else if (!lb_host_is_loopback(host) && lb_host_is_loopback(lhost))
		errs_add(e, c->http_line, "http on %s is reachable from other "
		    "hosts while listen is on loopback (%s): use a loopback "
		    "address, or put listen on the network too", host, lhost);
	free(addr);
}

/* Checks that involve more than one setting. */
static void
check_conf(struct errs *e, config_t *cf, struct lb_conf *c)
{
	char	 host[LB_ADDR_MAX], *cause;
	int	 port, wildcard = 0;

	if (c->id == NULL)
		errs_add(e, 1, "missing setting \"id\" (this node's id, "
		    "such as id = \"n1\";)");
	else if (!lb_id_valid(c->id))
		errs_add(e, line_of(cf, "id"), "id \"%s\": use letters, digits, "
		    "'-' and '_', starting with a letter or digit", c->id);
	if (lb_addr_parse(c->listen, host, sizeof(host), &port, &cause) == 0)
		wildcard = lb_host_is_wildcard(host);
	else {
		errs_add(e, line_of(cf, "listen"), "listen: %s", cause);
		free(cause);
	}
	if (c->advertise != NULL) {
		if (lb_addr_parse(c->advertise, host, sizeof(host), &port,
		    &cause) == -1) {
			errs_add(e, line_of(cf, "advertise"), "advertise: %s",
			    cause);
			free(cause);
		} else if (lb_host_is_wildcard(host))
			errs_add(e, line_of(cf, "advertise"), "advertise must "
			    "name an address other peers can reach, not %s",
			    host);
	} else if (wildcard)	/* host is still listen's */
		errs_add(e, line_of(cf, "listen"), "listen on %s needs "
		    "\"advertise\", the address other peers use", host);
	check_http(e, cf, c);
	for (size_t i = 0; i < c->nseeds; i++) {
		if (lb_addr_parse(c->seeds[i], host, sizeof(host), &port,
		    &cause) == -1) {
			errs_add(e, line_of(cf, "seeds"), "seeds[%zu]: %s", i,
			    cause);
			free(cause);
		}
	}
	for (size_t i = 0; i < c->nattributes; i++)
		if (!lb_id_valid(c->attributes[i]))
			errs_add(e, line_of(cf, "attributes"), "attributes[%zu] "
			    "\"%s\": use letters, digits, '-' and '_'", i,
			    c->attributes[i]);
	if (strncmp(c->control, "ipc://", 6) == 0) {
		char *p = lb_strdup(c->control + 6);
		free(c->control);
		c->control = p;
	}
	if (c->control[0] == '\0')
		errs_add(e, line_of(cf, "control"), "control: empty path");
	/*
	 * Files travel in chunks (peer/xfer.c), so only a result's output
	 * must fit in one message; attachments are bounded by the limit
	 * alone, and a submit uploads what does not fit in a request.
	 */
	if ((long)c->task.msg_max_kb + 64 > c->message_max_kb)
		errs_add(e, line_of(cf, "task.msg_max_kb"), "task.msg_max_kb "
		    "(%d) must fit in message_max_kb (%d) with 64 KiB to spare",
		    c->task.msg_max_kb, c->message_max_kb);
	if ((long)c->task.output_limit_kb * 2 + 64 > c->message_max_kb)
		errs_add(e, line_of(cf, "task"), "task.output_limit_kb (%d) twice "
		    "must fit in message_max_kb (%d) with 64 KiB to spare: "
		    "results travel in one message", c->task.output_limit_kb,
		    c->message_max_kb);
	if (c->task.attach_limit_kb >= 0 &&
	    config_lookup(cf, "task.attach_limit_mb") != NULL)
		errs_add(e, line_of(cf, "task.attach_limit_kb"), "task."
		    "attach_limit_kb and task.attach_limit_mb are the same "
		    "limit: keep only task.attach_limit_mb");
	c->task.attach_limit = c->task.attach_limit_kb >= 0 ?
	    (uint64_t)c->task.attach_limit_kb << 10 :
	    (uint64_t)c->task.attach_limit_mb << 20;
	if (c->control_max_kb == 0)
		c->control_max_kb = CONTROL_INLINE_KB + CONTROL_ARGS_KB;
	if (c->balance.lower_threshold >= 0 && c->balance.upper_threshold >= 0 &&
	    c->balance.lower_threshold > c->balance.upper_threshold)
		errs_add(e, line_of(cf, "balance.lower_threshold"),
		    "balance.lower_threshold (%d) must not be above "
		    "balance.upper_threshold (%d)", c->balance.lower_threshold,
		    c->balance.upper_threshold);
	/* A replica takes over a home only once the home has stopped acting
	 * (its home lease: lease_ms from the last put a majority answered)
	 * and the leases it granted, which end with its home lease, have run
	 * out: lease_ms and 3% (clocks up to 1% off, at the home, the host
	 * and the replica) plus lease_margin_ms after the replica last heard
	 * from it; 1 s more by default, for a loaded machine. */
	{
		long floor_ms = c->task.lease_ms > 0 ? (long)c->task.lease_ms *
		    103 / 100 + c->task.lease_margin_ms : 0;

		if (c->task.home_takeover_ms == 0)
			c->task.home_takeover_ms = (int)(floor_ms > 0 ?
			    floor_ms + 1000 : 10000);
		else if (c->task.home_takeover_ms <= floor_ms)
			errs_add(e, line_of(cf, "task.home_takeover_ms"),
			    "task.home_takeover_ms (%d) must be above "
			    "task.lease_ms and 3 percent, plus "
			    "task.lease_margin_ms (%ld)",
			    c->task.home_takeover_ms, floor_ms);
	}
	if (c->balance.backoff_max_ms < c->balance.backoff_ms)
		errs_add(e, line_of(cf, "balance.backoff_max_ms"),
		    "balance.backoff_max_ms (%d) must be at least "
		    "balance.backoff_ms (%d)", c->balance.backoff_max_ms,
		    c->balance.backoff_ms);
	if (c->gossip.suspect_ms <= c->gossip.interval_ms)
		errs_add(e, line_of(cf, "gossip.suspect_ms"), "gossip.suspect_ms "
		    "(%d) must be larger than gossip.interval_ms (%d)",
		    c->gossip.suspect_ms, c->gossip.interval_ms);
	if (c->gossip.dead_ms <= c->gossip.suspect_ms)
		errs_add(e, line_of(cf, "gossip.dead_ms"), "gossip.dead_ms (%d) "
		    "must be larger than gossip.suspect_ms (%d)",
		    c->gossip.dead_ms, c->gossip.suspect_ms);
	if (c->gossip.probe_interval_ms > 0 &&
	    c->gossip.probe_timeout_ms >= c->gossip.probe_interval_ms)
		errs_add(e, line_of(cf, "gossip.probe_timeout_ms"),
		    "gossip.probe_timeout_ms (%d) must be smaller than "
		    "gossip.probe_interval_ms (%d)", c->gossip.probe_timeout_ms,
		    c->gossip.probe_interval_ms);
	if (c->gossip.suspicion_max_ms < c->gossip.suspicion_min_ms)
		errs_add(e, line_of(cf, "gossip.suspicion_max_ms"),
		    "gossip.suspicion_max_ms (%d) must be at least "
		    "gossip.suspicion_min_ms (%d)", c->gossip.suspicion_max_ms,
		    c->gossip.suspicion_min_ms);
	if (c->gossip.forget_ms <= c->gossip.dead_ms)
		errs_add(e, line_of(cf, "gossip.forget_ms"), "gossip.forget_ms "
		    "(%d) must be larger than gossip.dead_ms (%d)",
		    c->gossip.forget_ms, c->gossip.dead_ms);
	if (c->task.lease_ms != 0 && c->task.lease_ms < 400)
		errs_add(e, line_of(cf, "task.lease_ms"), "task.lease_ms (%d) "
		    "must be 0 (no leases) or at least 400: a host renews it "
		    "every quarter", c->task.lease_ms);
	if (c->task.lease_ms != 0 && c->task.lease_margin_ms < 200)
		errs_add(e, line_of(cf, "task.lease_margin_ms"),
		    "task.lease_margin_ms (%d) must be at least 200 with "
		    "leases: it covers a host's tick and the delivery of "
		    "SIGSTOP", c->task.lease_margin_ms);
}

int
lb_conf_load(const char *file, struct lb_conf *c, char ***errors,
    size_t *nerrors)
{
	config_t	 cf;
	struct errs	 e = { file, NULL, 0 };
	FILE		*fp;

	lb_conf_defaults(c);
	c->file = lb_strdup(file);
	if ((fp = fopen(file, "r")) == NULL) {
		*errors = lb_calloc(1, sizeof(**errors));
		(*errors)[0] = lb_printf("%s: cannot read: %s", file,
		    strerror(errno));
		*nerrors = 1;
		return -1;
	}
	fclose(fp);
	config_init(&cf);
	if (config_read_file(&cf, file) != CONFIG_TRUE) {
		errs_add(&e, config_error_line(&cf), "%s",
		    config_error_text(&cf));
		config_destroy(&cf);
		*errors = e.v;
		*nerrors = e.n;
		return -1;
	}
	read_group(&e, config_root_setting(&cf), top_spec, c, NULL);
	check_conf(&e, &cf, c);
	c->secret_file_line = line_of(&cf, "secret_file");
	config_destroy(&cf);
	if (c->advertise == NULL)
		c->advertise = lb_strdup(c->listen);
	*errors = e.v;
	*nerrors = e.n;
	return e.n == 0 ? 0 : -1;
}

int
lb_conf_set(struct lb_conf *c, const char *assign, char **error)
{
	config_t	 cf;
	struct errs	 e = { "--set", NULL, 0 };
	const char	*eq = strchr(assign, '='), *v;
	char		*text, *key, *dot, *open, *close, *last;

	*error = NULL;
	if (eq == NULL || eq == assign || eq[1] == '\0') {
		*error = lb_printf("--set %s: not KEY=VALUE (as balance."
		    "probe_limit=2)", assign);
		return -1;
	}
	key = lb_strdup(assign);
	key[eq - assign] = '\0';
	for (const char *k = key; *k; k++)
		if (!(*k == '.' || *k == '_' || (*k >= 'a' && *k <= 'z') ||
		    (*k >= '0' && *k <= '9'))) {
			*error = lb_printf("--set %s: \"%s\" is not a setting's "
			    "name", assign, key);
			free(key);
			return -1;
		}
	/* a.b=V as "a = { b = V; };", a word that is not a number or a
	 * boolean quoted */
	v = eq + 1;
	open = lb_strdup("");
	close = lb_strdup("");
	last = key;
	while ((dot = strchr(last, '.')) != NULL) {
		char *t;

		*dot = '\0';
		t = lb_printf("%s%s = { ", open, last);
		free(open);
		open = t;
		t = lb_printf(" };%s", close);
		free(close);
		close = t;
		last = dot + 1;
	}
	if (v[0] == '"' || v[0] == '[' || v[0] == '(' || strspn(v,
	    "0123456789.-+eE") == strlen(v) || strcmp(v, "true") == 0 ||
	    strcmp(v, "false") == 0)
		text = lb_printf("%s%s = %s;%s", open, last, v, close);
	else
		text = lb_printf("%s%s = \"%s\";%s", open, last, v, close);
	free(open);
	free(close);
	free(key);
	config_init(&cf);
	if (config_read_string(&cf, text) != CONFIG_TRUE) {
		*error = lb_printf("--set %s: %s", assign,
		    config_error_text(&cf));
		config_destroy(&cf);
		free(text);
		return -1;
	}
	free(text);
	/* (each setting's type and range; not check_conf's rules across
	 * settings, which want a whole peer's file) */
	read_group(&e, config_root_setting(&cf), top_spec, c, NULL);
	config_destroy(&cf);
	if (e.n > 0) {
		/* ("--set:1: ..." : the line means nothing here) */
		const char *m = strstr(e.v[0], ": ");

		*error = lb_printf("--set %s: %s", assign, m ? m + 2 :
		    e.v[0]);
		free_strlist(e.v, e.n);
		return -1;
	}
	return 0;
}

void
lb_conf_errors_free(char **errors, size_t n)
{
	free_strlist(errors, n);
}

void
lb_conf_free(struct lb_conf *c)
{
	free(c->file);
	free(c->id);
	free(c->cluster);
	free(c->listen);
	free(c->advertise);
	free(c->http);
	free(c->control);
	free(c->control_group);
	free(c->state_dir);
	free_strlist(c->attributes, c->nattributes);
	free_strlist(c->seeds, c->nseeds);
	free(c->secret_file);
	memset(c, 0, sizeof(*c));
}
