/*
 * balancer.h - what a peer's balancing decides between the cores: the
 * settings turned into the balancing core's, the load vector taken from
 * the membership table, which waiting tasks count as fresh, and a poll
 * that arrives turned into the core's answer.  lbpeer runs it with its
 * timers and sockets (peer/balancer.c), lbsim with a simulated world
 * (sim/work.c); nothing of it exists twice.
 *
 * Pure: no I/O, clock or randomness.
 */
#ifndef LB_NODE_BALANCER_H
#define LB_NODE_BALANCER_H

#include <stddef.h>
#include <stdint.h>

#include "src/conf.h"
#include "balance/balance.h"
#include "gossip/gossip.h"

/* The balancing core's settings from the peer's. */
void	nbal_conf(const struct lb_balance_conf *, struct balance_conf *);

/*
 * The load vector: the members alive and not draining (a draining peer
 * takes nothing), this peer aside, into `v` (room for `n`); how many.
 * The entries point into `m`.
 */
size_t	nbal_vector(const struct gossip_member *m, size_t n,
	    struct balance_peer *v);

/*
 * Whether a waiting task is fresh: submitted here a moment ago (within two
 * balancing intervals), never moved, never run (a task that yielded its
 * slot is queued anew, not fresh).  The core offers the newest fresh one
 * first.
 */
int	nbal_fresh(uint32_t moves, uint32_t reruns, uint64_t served_ms,
	    uint64_t queued_at, uint64_t now, int interval_ms);

/*
 * A balancing round: the core looks at this peer's load and the members
 * (as gossip holds them) and may poll.  A peer that leaves polls no more.
 */
void	nbal_tick(struct balance *, uint64_t now, int leaving, uint32_t load,
	    uint32_t slots, const struct gossip_member *m, size_t nm,
	    const struct balance_task *tasks, size_t nt, struct balance_out *);

/* A poll as it arrives. */
struct nbal_probe {
	uint64_t	 req_id;
	int		 request;	/* asks for a task (else offers one) */
	int		 must;		/* the offered task cannot stay */
	const char	*needs;		/* an offer: the task's, comma list */
	const char	*attrs;		/* a request: the asker's */
};

/*
 * A poll from `from`: the core's answer, into `o`.  `load_offer` is this
 * peer's load as the offered task would find it (slots that would yield
 * to it count as free), `load` the load as it is; `tasks` what may move
 * (a request is served from them).  A peer that leaves refuses all.
 */
void	nbal_probe(struct balance *, uint64_t now, const char *from,
	    const struct nbal_probe *, int leaving, uint32_t load_offer,
	    uint32_t load, uint32_t slots, const struct balance_task *tasks,
	    size_t nt, struct balance_out *o);

#endif
