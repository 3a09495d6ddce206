/*
 * msgs.h - what a peer's messaging decides between the cores: the
 * forwarding core's settings from the peer's, which members a message
 * may go to (a TaskLocate asks them all), and where a node's sequence
 * numbers start.  lbpeer runs it with its sockets and the task core
 * (peer/msgs.c), lbsim with a simulated world (sim/msgs.c).
 *
 * Pure: no I/O, clock or randomness.
 */
#ifndef LB_NODE_MSGS_H
#define LB_NODE_MSGS_H

#include <stdint.h>

#include "src/conf.h"
#include "forwarding/fwd.h"
#include "gossip/gossip.h"

#define NMSG_TICK_MS	50	/* retries and deadlines are looked at */

/* The forwarding core's settings from the peer's. */
void	 nmsg_conf(const struct lb_conf *, struct fwd_conf *);
/* Whether a member is in reach for messages (fwd_env's alive; those a
 * TaskLocate goes to): alive or suspect, not dead nor gone. */
int	 nmsg_reachable(const struct gossip_member *);
/* The first sequence number of a node's sends in its incarnation (a
 * node's sends rise with its incarnation). */
uint64_t nmsg_node_base(uint64_t incarnation);

#endif
