/* conf.h - the peer's configuration: defaults, libconfig parsing, validation. */
#ifndef LB_CONF_H
#define LB_CONF_H

#include <stddef.h>
#include <stdint.h>

/*
 * Room in a control request beyond the attachments: a submit's argv and
 * --env come from lbctl's command line, which the kernel bounds at
 * ARG_MAX, 2 MiB by default (a quarter of an 8 MiB stack limit).
 */
#define CONTROL_ARGS_KB	2048
/* Attachments up to this much go inline in a submit; larger ones are
 * uploaded in pieces first (CtlUpload). */
#define CONTROL_INLINE_KB	1024

struct lb_gossip_conf {
	int	interval_ms;	/* between two rounds */
	int	suspect_ms;	/* news this old: suspect */
	int	dead_ms;	/* news this old: dead */
	int	forget_ms;	/* dead or left entries are kept this long */
	int	digest_size;	/* entries per gossip message, own included */
	int	seed_every;	/* also gossip to a seed every this many rounds */
	int	max_members;	/* the member table's bound, this peer included */
	/* Failure detection, SWIM with Lifeguard (gossip/swim.c); 0 for
	 * probe_interval_ms turns it off (heartbeat ages alone). */
	int	probe_interval_ms;	/* one member pinged per interval */
	int	probe_timeout_ms;	/* no ack: ask indirect_probes others */
	int	indirect_probes;	/* k helpers; also the confirmations
					 * that bring the suspicion timeout
					 * down to suspicion_min_ms */
	int	suspicion_min_ms;	/* suspect to dead, fully confirmed */
	int	suspicion_max_ms;	/* suspect to dead, one accuser */
	int	awareness_max;		/* local health: probes slow down up
					 * to this many times */
};

struct lb_task_conf {
	int	output_limit_kb;	/* per stream; the rest is cut off */
	int	attach_limit_mb;	/* all attached files of one task */
	int	attach_limit_kb;	/* the same in KiB (older files); -1 */
	uint64_t attach_limit;		/* bytes: from one of the two */
	int	kill_grace_ms;		/* cancel: SIGTERM, then SIGKILL */
	int	retry_min_ms;		/* a notice unacknowledged: again */
	int	retry_max_ms;		/* ... doubling up to this */
	int	keep_finished_s;	/* a home forgets a result then */
	int	checkpoint_timeout_ms;	/* asked to checkpoint to move: no
					   exit by then, it stays */
	int	checkpoint_every_s;	/* default period of checkpoints (0) */
	int	checkpoint_grace_ms;	/* no checkpoint signal to a younger
					   process (its handler) */
	int	max_tasks;		/* records and placements a peer keeps */
	int	mailbox_msgs;		/* messages waiting for one task */
	int	mailbox_kb;		/* ... and their bytes */
	int	msg_max_kb;		/* one message to a task */
	int	msg_timeout_s;		/* lbctl send's default timeout */
	int	lease_ms;		/* a task homed elsewhere runs only
					   while its home confirms it within
					   this (0: no leases) */
	int	lease_margin_ms;	/* a home waits this much more */
	int	max_start_failures;	/* hosts a task may fail to start
					   on before it fails */
	int	home_takeover_ms;	/* a home silent and dead this long:
					   a replica takes over */
	int	home_replicas;		/* peers that keep a home's records,
					   the home included (1..7) */
	int	disk_limit_mb;		/* a task's files here, at most */
	int	disk_reserve_mb;	/* free space kept on state_dir's
					   disk: below it, the task using
					   the most fails, nothing new */
};

/* The balancing settings, as the file names them (the shell hands them to
 * balance/, whose enums have the same order). */
enum lb_policy { LB_POLICY_NONE, LB_POLICY_SENDER, LB_POLICY_RECEIVER,
	LB_POLICY_SYMMETRIC };
enum lb_location { LB_LOCATION_RANDOM, LB_LOCATION_VECTOR,
	LB_LOCATION_MIXED };

struct lb_balance_conf {
	int	policy;			/* enum lb_policy */
	int	location;		/* enum lb_location */
	int	lower_threshold;	/* -1: slots */
	int	upper_threshold;	/* -1: slots */
	int	probe_limit;
	int	probe_timeout_ms;
	int	reserve_ms;
	int	backoff_ms;
	int	backoff_max_ms;
	int	max_moves;
	int	preempt;		/* running tasks that checkpoint move */
	int	preempt_slice_ms;	/* ... and yield their slot after this */
	int	interval_ms;		/* how often a peer looks at its role */
	int	transfer_timeout_ms;	/* no acknowledgement: abort */
	int	idle_hints;		/* peers that ask for work are offered
					   the next task first */
	int	hint_ms;		/* ... for this long */
	int	idle_notify;		/* a peer that becomes idle tells this
					   many peers */
};

struct lb_log_conf {
	int	level;		/* enum log_level */
};

struct lb_conf {
	char	*file;		/* where it was read from */
	char	*id;
	char	*cluster;
	char	*listen;
	char	*advertise;	/* defaults to listen */
	char	*http;		/* HOST:PORT of the metrics listener; "": none */
	int	 http_line;	/* for a port in use at start */
	int	 http_output;	/* /api/task shows a task's stdout and stderr */
	char	*control;	/* socket path (without ipc://) */
	char	*control_group;	/* group admitted to the control socket, or NULL */
	int	 control_max_kb;	/* largest control request (NN_RCVMAXSIZE);
				   0 in the file: CONTROL_INLINE_KB +
				   CONTROL_ARGS_KB */
	char	*state_dir;
	int	 slots;		/* 0 in the file: the number of online CPUs */
	char	**attributes;
	size_t	 nattributes;
	char	**seeds;
	size_t	 nseeds;
	char	*secret_file;	/* NULL: the peer's own, state_dir/cluster.key */
	int	 secret_file_line;	/* for messages about the key file */
	int	 message_max_kb;	/* largest message received (NN_RCVMAXSIZE) */
	int	 replay_window_ms;	/* accepted skew of an envelope's send time */
	int	 drain_timeout_s;	/* a drain lets running tasks finish this
					   long (lbctl drain, SIGTERM) */
	struct lb_gossip_conf	gossip;
	struct lb_task_conf	task;
	struct lb_balance_conf	balance;
	struct lb_log_conf	log;
};

/* Fill in every default (the id has none). */
void	lb_conf_defaults(struct lb_conf *);
/*
 * Read and validate FILE.  0 when it is good; -1 with every problem found
 * as "FILE:LINE: message" strings in *errors (free with lb_conf_errors_free).
 */
int	lb_conf_load(const char *file, struct lb_conf *, char ***errors,
	    size_t *nerrors);
void	lb_conf_errors_free(char **errors, size_t n);
/* Apply one "KEY=VALUE" (as balance.probe_limit=2) to `c`, checked as a
 * line of the file would be; -1 with *error (free it) when it is not. */
int	lb_conf_set(struct lb_conf *, const char *assign, char **error);
void	lb_conf_free(struct lb_conf *);

#endif
