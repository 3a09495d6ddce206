/* net.c - lbsim's network: peers' names and addresses, and each pair's
 * delay. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <sodium.h>

#include "src/conf.h"
#include "src/envelope.h"
#include "src/util.h"
#include "gossip/gossip.h"
#include "sim/sim.h"

int
sim_peer_of_addr(const struct sim *s, const char *addr)
{
	unsigned	a, b, c;

	if (sscanf(addr, "tcp://10.%u.%u.%u:7946", &a, &b, &c) != 3)
		return -1;
	c = (a << 16 | b << 8 | c) - 1;
	return c < (unsigned)s->n ? (int)c : -1;
}

int
sim_peer_of_id(const struct sim *s, const char *id)
{
	char	*end;
	long	 i;

	if (id[0] != 'n')
		return -1;
	i = strtol(id + 1, &end, 10) - 1;
	return *end == '\0' && i >= 0 && i < s->n ? (int)i : -1;
}

/*
 * The one-way delay from one peer to another: drawn once per ordered pair
 * from MIN:MAX (a mix of the seed and the pair), the same for every
 * message, so that a pair's messages arrive in the order sent, as on the
 * daemon's TCP connections (a random delay per message reorders them, and
 * the envelope's replay window, 64 of a sender's messages wide, then
 * refuses some: lbsim found that at 1,024 peers).
 */
unsigned
sim_delay(const struct sim *s, int from, int to)
{
	uint64_t	x = s->pair_salt ^ ((uint64_t)(uint32_t)from << 32 |
			    (uint32_t)to);

	x = lb_mix64(x);
	return s->lat_min + (unsigned)(x % (s->lat_max - s->lat_min + 1));
}

