/*
 * sums.c - bucket sums of the members a peer holds (the gossip core; no
 * I/O): a peer that may miss members sends, for each of B buckets of its
 * table, how many members fall in it and the XOR of a hash of each one's
 * id and version (incarnation, refute, left); the peer that answers sends
 * the members of the buckets that differ.  A peer that missed a few
 * members of 10,000, or a refutation, gets a few buckets, not the whole
 * table (lbsim: a cluster of 10,000 forming sent each peer its whole
 * table about five times).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"

uint32_t
gossip_sum_hash(const char *id)
{
	return (uint32_t)lb_mix64(lb_hash_str(id));
}

/* What member m adds to its bucket's XOR: a hash of its id and of the
 * version numbers that news changes (incarnation, refute, left), so that
 * a bucket differs where one side missed a member or a refutation. */
static uint32_t
version_hash(const struct gossip_member *m)
{
	uint64_t	h = lb_hash_str(m->e.id);

	h ^= m->e.incarnation * 0x9e3779b97f4a7c15ULL;
	h ^= m->e.refute * 0xc2b2ae3d27d4eb4fULL;
	if (m->e.left)
		h ^= 0x165667b19e3779f9ULL;
	return (uint32_t)lb_mix64(h);
}

/* A member not held dead comes (d 1) or goes (d -1). */
void
gossip_sums_toggle(struct gossip *g, const struct gossip_member *m, int d)
{
	size_t	b = (size_t)(m->sumh & (GOSSIP_SUMS_MAX - 1));

	g->sum_n[b] += (uint32_t)d;
	g->sum_x[b] ^= version_hash(m);
}

/* Around a change of m's version: out before, in after (the dead are in
 * no sum). */
void
gossip_sums_out(struct gossip *g, const struct gossip_member *m)
{
	if (m->state != GOSSIP_DEAD)
		gossip_sums_toggle(g, m, -1);
}

void
gossip_sums_in(struct gossip *g, const struct gossip_member *m)
{
	if (m->state != GOSSIP_DEAD)
		gossip_sums_toggle(g, m, 1);
}

/* Buckets for a table of n: about the square root of n, so that the sums
 * and a bucket's members cost about the same; more where many members
 * are missed. */
static size_t
buckets_for(size_t n)
{
	size_t	b = GOSSIP_SUMS_MIN;

	while (b < GOSSIP_SUMS_MAX && b * b < n)
		b *= 2;
	return b;
}

static void
fold(const struct gossip *g, size_t nb, uint32_t *cnt, uint32_t *x)
{
	memset(cnt, 0, nb * sizeof(*cnt));
	memset(x, 0, nb * sizeof(*x));
	for (size_t f = 0; f < GOSSIP_SUMS_MAX; f++) {
		cnt[f & (nb - 1)] += g->sum_n[f];
		x[f & (nb - 1)] ^= g->sum_x[f];
	}
}

void
gossip_sums_attach(struct gossip *g, struct gossip_msg *msg)
{
	size_t	known = g->n - g->ndead, nb = buckets_for(known);

	/* Twice as many buckets as members missed (as far as the last
	 * member that knew more said): most differ by one member, and
	 * the answer holds about a bucket of members for each missed. */
	if (g->heard > known)
		while (nb < GOSSIP_SUMS_MAX && nb < 2 * (g->heard - known))
			nb *= 2;

	msg->sum_n = lb_calloc(nb, sizeof(*msg->sum_n));
	msg->sum_x = lb_calloc(nb, sizeof(*msg->sum_x));
	msg->nsums = nb;
	fold(g, nb, msg->sum_n, msg->sum_x);
}

size_t
gossip_sums_diff(const struct gossip *g, const struct gossip_msg *in,
    uint8_t *want)
{
	uint32_t	cnt[GOSSIP_SUMS_MAX];
	uint32_t	x[GOSSIP_SUMS_MAX];
	size_t		nb = in->nsums, nwant = 0;

	if (nb < GOSSIP_SUMS_MIN || nb > GOSSIP_SUMS_MAX || (nb & (nb - 1)))
		return 0;
	fold(g, nb, cnt, x);
	for (size_t b = 0; b < nb; b++) {
		want[b] = cnt[b] > 0 && (cnt[b] != in->sum_n[b] ||
		    x[b] != in->sum_x[b]);
		nwant += want[b];
	}
	return nwant;
}
