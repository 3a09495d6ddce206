/*
 * sim.h - lbsim's parts (sim/lbsim.c): the event queue (queue.c), the
 * simulated world of peers and network (world.c) and the faults with what
 * they are measured by (faults.c), the tasks and their balancing (work.c,
 * made by workload.c), their figures (report.c), names and delays (net.c),
 * how far load changes travel (spread.c), messages to tasks that moved
 * (msgs.c).
 * Calls run one way: lbsim.c, report.c, world.c, work.c, workload.c,
 * msgs.c, faults.c, spread.c, net.c, queue.c.
 */
#ifndef LB_SIM_H
#define LB_SIM_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "src/conf.h"
#include "src/envelope.h"
#include "src/util.h"
#include "gossip/gossip.h"
#include "gossip/strpool.h"

#define SEEDS		3		/* peers every peer joins through */
#define CRASH_GAP_MS	20000		/* crashes at least this far apart */
#define RESTART_MS	10000		/* a crashed peer restarts after */
#define PAUSE_MS	1000		/* a pause (SIGSTOP) lasts */
#define SPREAD_GAP_MS	5000		/* a load change every (spread.c) */

enum ev_type { EV_TICK, EV_SWIM, EV_DELIVER, EV_CRASH, EV_RESTART, EV_PAUSE,
	/* tasks and balancing (work.c) */
	EV_ARRIVE, EV_DONE, EV_BTICK, EV_PROBE, EV_REPLY, EV_MOVE,
	/* a load change (spread.c) */
	EV_LOAD,
	/* messages to tasks (msgs.c): a send begins, a message arrives,
	 * retries */
	EV_FSEND, EV_FDELIVER, EV_FTICK };

struct ev {
	uint64_t	 t, seq;
	enum ev_type	 type;
	int		 to, from;
	uint64_t	 inc;		/* a delivery: the receiver's life */
	uint8_t		*buf;
	size_t		 len;
	/* A poll (EV_PROBE, EV_REPLY): its id, and whether it is a request
	 * (or an accepted answer); a task (EV_DONE, EV_MOVE, EV_ARRIVE). */
	uint64_t	 req;
	uint32_t	 task;
	int		 flag;
};

struct crash {
	int		 peer;
	uint64_t	 at, all_ms;	/* all_ms: when all knew, or 0 */
	uint8_t		*seen;		/* peers that hold it dead */
	/* Restarted (--faults restart): the crash is over, and its new
	 * incarnation spreads. */
	int		 closed;
	uint64_t	 restart_at, rejoin_ms;	/* rejoin_ms: all knew, or 0 */
	uint8_t		*seen_alive;	/* peers that hold the new one alive */
};

/* A load change at `peer` (spread.c), until every live peer heard it. */
struct spread {
	int		 peer;
	uint64_t	 inc, at, all_ms;	/* all_ms: from `at` */
	uint32_t	 value;
	size_t		 need, nseen;
	uint8_t		*seen;		/* peers that hold it */
	int		 open, dropped;	/* dropped: its peer crashed */
};

/* Messages to tasks moved k times (msgs.c): a row of figures, the means
 * over the sends that were delivered, for each of the four sends (from
 * a peer that knows nothing, the same again, another, an old host). */
struct mrow {
	int		 k, home_dead;
	size_t		 tasks, sends, ok[4];
	double		 hops[4], msgs[4], ms[4];
	uint32_t	 hops_max[4];
};
struct mscene;

struct speer {
	struct gossip	*g;
	struct env_ctx	 env;		/* seals and opens, as a peer's net */
	int		 alive;
	uint64_t	 swim_at;	/* the SWIM event in the queue, or 0 */
	uint64_t	 inc;		/* its incarnation */
	uint64_t	 booted_at;	/* when it started, this incarnation */
	uint64_t	 paused_until;	/* stopped (SIGSTOP) until then */
	uint64_t	 bytes;		/* sent after the warm-up */
	char		 id[LB_ID_MAX], addr[LB_ADDR_MAX];
	struct swork	*w;		/* its tasks and balancing (--rho) */
};

/* A peer's tasks and balancer (work.c). */
struct balance;

struct swork {
	struct balance		*core;
	uint32_t		 head, tail, nq, running;
	uint64_t		 bt_at;		/* the tick in the queue, or 0 */
};

/* The workload (work.c). */
enum service { SERVICE_EXP, SERVICE_PARETO, SERVICE_BIMODAL };

struct work_conf {
	double		 rho;		/* 0: no tasks */
	enum service	 service;
	unsigned	 mean_ms;	/* S */
	int		 one;		/* every task submitted at n1 */
	unsigned	 move_ms;	/* a move's cost besides the delay */
	const char	*trace;		/* a CSV of tasks, or NULL */
	int		 oracle;	/* --oracle jsq: each task placed at
					 * once where the fewest are (global
					 * join-the-shortest-queue, perfect
					 * information: a bound, not lbpeer) */
};

struct work_stats {
	uint64_t	 submitted, done, measured;
	uint64_t	 probes, transfers;	/* in the measured window */
	uint64_t	 idle_msgs;		/* idle notices, the same */
	uint64_t	 left_out;	/* trace lines past the run's end */
	uint32_t	*resp;		/* response times (ms), measured */
	size_t		 nresp, capresp;
	double		 mean_service_ms;	/* of the tasks submitted */
	uint64_t	 violations;	/* a task run twice, or not ended */
	/* Slots idle while tasks waited elsewhere: the time integral of
	 * min(idle slots, waiting tasks), in the measured window (what a
	 * perfect balancer, M/M/c, never has) */
	uint32_t	 nrun, nwait;
	uint64_t	 lost_at;
	double		 lost_slot_ms;
};

struct sim {
	struct lb_conf	 conf;
	struct speer	*p;
	int		 n;
	uint64_t	 now, end, warm, seq;
	struct lb_rng	 rng;
	unsigned	 loss;		/* per mille */
	unsigned	 lat_min, lat_max;
	uint64_t	 pair_salt;	/* picks each pair's delay */
	struct ev	*heap;
	size_t		 nheap, capheap;
	struct crash	*crashes;
	size_t		 ncrashes;
	uint64_t	 msgs, lost, events, refused;
	uint64_t	 false_suspicions, false_deaths, violations;
	uint64_t	 revivals;	/* crashed, dead, alive again */
	uint64_t	 pauses, restarts;
	long		 want_crashes;	/* -1: as many as fit */
	int		 f_crash, f_restart, f_pause;
	uint64_t	 faults_from;	/* when they began, or 0 */
	unsigned char	 key[LB_KEY_BYTES];	/* the cluster's */
	uint64_t	 converged_ms;
	/* messages to tasks moved up to `moves` times (-1: not asked) */
	int		 moves;
	struct mscene	*msc;
	/* load changes (spread.c) */
	struct spread	*spreads;
	size_t		 nspreads, capspreads, spread_first, nspread_open;
	crypto_generichash_state trace;
	struct gossip_out out;
	/* The members' strings, one copy for all the peers' tables (an id,
	 * an address and attributes, 10,000 tables over). */
	struct strpool	*strings;
	/* tasks (work.c) */
	struct work_conf wc;
	struct work	*work;
	struct work_stats ws;
	uint64_t	 drain_end;	/* the run goes on until tasks end */
};

/* net.c: peer "nK" (K from 1) is index K - 1 */
int		sim_peer_of_addr(const struct sim *, const char *addr);
int		sim_peer_of_id(const struct sim *, const char *id);
unsigned	sim_delay(const struct sim *, int from, int to);

/* queue.c */
void		push(struct sim *, struct ev);
struct ev	pop(struct sim *);

/* faults.c */
void	faults_judge(struct sim *, int i, int who,
	    const struct gossip_change *);
void	faults_booted(struct sim *, int i);
void	faults_crash(struct sim *, int who);
void	faults_restart(struct sim *, int who);
void	faults_pause(struct sim *, int who);
void	schedule_faults(struct sim *, uint64_t start);

/* msgs.c */
void	msgs_maybe_start(struct sim *);
void	msgs_go(struct sim *);
void	msgs_event(struct sim *, struct ev *);
void	msgs_booted(struct sim *, int i);
void	msgs_rows(const struct sim *, struct mrow **, size_t *);
void	msgs_free(struct sim *);

/* spread.c */
void	spread_schedule(struct sim *, uint64_t start);
void	spread_change(struct sim *);
void	spread_heard(struct sim *, int q);
void	spread_crash(struct sim *, int who);
uint64_t *spread_times(const struct sim *, size_t *n, size_t *open);
void	spread_free(struct sim *);

/* work.c */
int	work_start(struct sim *, char **err);
void	work_booted(struct sim *, int i);
void	work_go(struct sim *);
int	work_event(struct sim *, struct ev *);
int	work_open(const struct sim *);
void	work_free(struct sim *);
double	work_mmc(unsigned c, double rho);

/* report.c: the tasks' figures, from the response times */
struct wfig {
	int	 on;
	double	 S;		/* the mean service time, ms */
	double	 mean, p95, ci;	/* in S */
	double	 probes, transfers;	/* a task */
	double	 idle;			/* idle notices a task */
	double	 lost;			/* slots idle while tasks waited */
	double	 mmc, mm1;	/* in S */
	uint64_t tasks, results, unfinished;
};

struct json_t;
void	work_figures(struct sim *, struct wfig *);
void	json_tasks(struct json_t *, const struct sim *, const struct wfig *);
void	print_tasks(const struct sim *, const struct wfig *);
struct json_t	*json_msgs(const struct sim *);
void	print_msgs(const struct sim *);

/* world.c */
void	boot(struct sim *, int i);
void	run(struct sim *);

#endif
