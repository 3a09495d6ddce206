/*
 * work.h - what lbsim's tasks (work.c) and their workload (workload.c)
 * share: the tasks and the workload's state.  Calls run one way: work.c
 * calls workload.c.
 */
#ifndef LB_SIM_WORK_H
#define LB_SIM_WORK_H

#include "balance/balance.h"

#define NONE		UINT32_MAX
#define TRACE_MAX	(1u << 26)	/* lines of a trace */
#define PARETO_ALPHA	1.1		/* bounded Pareto: the shape */
#define PARETO_SPAN	10000.0		/* and largest / smallest */
#define DRAIN_MS	3600000		/* tasks may end this long after */

enum tstate { T_FREE, T_QUEUED, T_MOVING, T_RUNNING };

struct stask {
	uint64_t	submit, service_ms, queued_at;
	uint32_t	moves, gen;
	uint32_t	prev, next;	/* in its peer's queue, or free */
	int		at;		/* the peer that holds it */
	enum tstate	state;
	int		measured;	/* submitted in the measured window */
};

struct trace_row {
	uint64_t	at, service_ms;
	int		peer;
};

struct work {
	struct stask		*t;
	uint32_t		 nt, free;
	struct lb_rng		 rng;	/* arrivals and sizes, apart from the
					 * network's: every policy gets the
					 * same tasks */
	double			 rate;	/* arrivals per ms, the cluster's */
	double			 at;	/* the last arrival's time, exact (a
					 * ms clock would round the gaps of
					 * thousands of peers' arrivals) */
	double			 pareto_k;
	struct trace_row	*rows;
	size_t			 nrows, row;
	struct balance_task	*bt;	/* what may move, built per call */
	char			(*ids)[32];
	size_t			 capbt;
	struct balance_out	 out;
	struct balance_conf	 bconf;
};

/* workload.c */
double		wl_pareto_mean(double alpha, double span);
uint64_t	wl_service(struct sim *);
int		wl_read_trace(struct sim *, const char *file, char **err);
void		wl_next_arrival(struct sim *);

#endif
