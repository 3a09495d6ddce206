/*
 * gossip_wire.h - what the gossip core's actions and inputs are on the
 * wire (the Gossip, Ping, PingAck and PingReq bodies of a PeerMsg), for
 * the daemon (peer/members.c) and the simulator (sim/lbsim.c) alike.
 * No I/O: bytes in, bytes out.
 */
#ifndef LB_NODE_GOSSIP_WIRE_H
#define LB_NODE_GOSSIP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "gossip/gossip.h"
#include "src/lbpeer.pb-c.h"

#define NODE_GOSSIP_MEMBERS_MAX	10000	/* entries a digest may carry */
#define NODE_GOSSIP_WANTS_MAX	1000

/* A digest to send: a packed PeerMsg (free it), its length in *len. */
uint8_t	*node_gossip_pack(const struct gossip_msg *, size_t *len);
/* A probe message to send, the same way. */
uint8_t	*node_swim_pack(const struct gossip_swim *, size_t *len);

/*
 * A Gossip body received, into the core's form: bad entries, wants and
 * notices are skipped, never half-taken.  0 with *in filled (free it with
 * node_gossip_in_free); -1 when there is nothing to take or the body is
 * larger than any peer sends.
 */
int	 node_gossip_from_wire(const Lb__Gossip *, struct gossip_msg *in);
void	 node_gossip_in_free(struct gossip_msg *);
/* A Ping, PingAck or PingReq body: 0 with *in filled, -1 malformed. */
int	 node_swim_from_wire(const Lb__PeerMsg *, struct gossip_swim *in);

#endif
