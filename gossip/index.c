/*
 * index.c - the members by id: open addressing with linear probing, each
 * slot a member's index + 1 (0: empty), ixcap a power of two at least 1.5
 * times cap.  O(1) lookups: a table of thousands of members is not
 * scanned for every entry of every digest.  (The gossip core; no I/O.)
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"


static size_t
ix_home(const struct gossip *g, const char *id)
{
	uint64_t	h = lb_hash_str(id);

	return (size_t)(h ^ (h >> 29)) & (g->ixcap - 1);
}

void
gossip_ix_put(struct gossip *g, size_t i)
{
	size_t	k = ix_home(g, g->m[i].e.id);

	while (g->ix[k] != 0)
		k = (k + 1) & (g->ixcap - 1);
	g->ix[k] = (uint32_t)i + 1;
}

/* The slot holding member `id`, or ixcap. */
static size_t
ix_slot(const struct gossip *g, const char *id)
{
	size_t	k = ix_home(g, id);

	while (g->ix[k] != 0) {
		if (strcmp(g->m[g->ix[k] - 1].e.id, id) == 0)
			return k;
		k = (k + 1) & (g->ixcap - 1);
	}
	return g->ixcap;
}

/* Sized for cap members, filled with the n there are. */
void
gossip_ix_rebuild(struct gossip *g)
{
	size_t	want = 32;

	while (want < g->cap + g->cap / 2)
		want *= 2;
	free(g->ix);
	g->ixcap = want;
	g->ix = lb_calloc(want, sizeof(*g->ix));
	for (size_t i = 0; i < g->n; i++)
		gossip_ix_put(g, i);
}

/* Member `id` leaves the index (backward-shift deletion: the slots after
 * it that would be found through it move up, no tombstones). */
void
gossip_ix_del(struct gossip *g, const char *id)
{
	size_t	k = ix_slot(g, id), j;

	if (k == g->ixcap)
		return;
	j = k;
	for (;;) {
		size_t h;

		g->ix[k] = 0;
		for (;;) {
			j = (j + 1) & (g->ixcap - 1);
			if (g->ix[j] == 0)
				return;
			h = ix_home(g, g->m[g->ix[j] - 1].e.id);
			/* j's entry may move to k unless its home lies
			 * cyclically in (k, j] */
			if (k <= j ? (h <= k || h > j) : (h <= k && h > j))
				break;
		}
		g->ix[k] = g->ix[j];
		k = j;
	}
}

/* Member m[from] is now m[to]. */
void
gossip_ix_move(struct gossip *g, size_t from, size_t to)
{
	size_t	k = ix_slot(g, g->m[from].e.id);

	if (k != g->ixcap)
		g->ix[k] = (uint32_t)to + 1;
}

struct gossip_member *
gossip_find_mut(const struct gossip *g, const char *id)
{
	size_t	k = ix_slot(g, id);

	return k == g->ixcap ? NULL : &g->m[g->ix[k] - 1];
}

const struct gossip_member *
gossip_find(const struct gossip *g, const char *id)
{
	return gossip_find_mut(g, id);
}
