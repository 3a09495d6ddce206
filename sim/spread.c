/*
 * spread.c - how far a load change travels, and how fast: lbsim's
 * membership runs (no tasks) change one live peer's load every
 * SPREAD_GAP_MS once every peer knows every other, and time each change
 * until every live peer's table holds it (the load the balancer reads
 * comes from there: its news is as old as this).
 *
 * A change sets the peer's load to a value no load had before (1, 2, 3 ...
 * across the run), so a table that holds a load at least that high of
 * that incarnation has heard it or something newer.  Peers started after
 * the change are not asked; a change whose peer crashes before all heard
 * it is dropped (not counted).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "src/conf.h"
#include "src/envelope.h"
#include "src/util.h"
#include "gossip/gossip.h"
#include "sim/sim.h"

/* Whether every live peer holds change c now: then it is closed.  (need
 * counts the live peers that were up at the change, its own peer too.) */
static void
spread_done(struct sim *s, struct spread *c)
{
	for (int q = 0; q < s->n; q++)
		if (q != c->peer && s->p[q].alive && !c->seen[q] &&
		    s->p[q].booted_at <= c->at)
			return;
	c->all_ms = s->now - c->at;
	c->open = 0;
	free(c->seen);
	c->seen = NULL;
	s->nspread_open--;
}

/* Peer q took a message in: has it heard the open changes? */
void
spread_heard(struct sim *s, int q)
{
	if (s->nspread_open == 0)
		return;
	for (size_t j = s->spread_first; j < s->nspreads; j++) {
		struct spread *c = &s->spreads[j];
		const struct gossip_member *m;

		if (!c->open || c->seen[q] || q == c->peer)
			continue;
		m = gossip_find(s->p[q].g, s->p[c->peer].id);
		if (m == NULL || m->e.incarnation != c->inc ||
		    m->e.load < c->value)
			continue;
		c->seen[q] = 1;
		if (++c->nseen + 1 >= c->need)
			spread_done(s, c);
	}
	while (s->spread_first < s->nspreads &&
	    !s->spreads[s->spread_first].open)
		s->spread_first++;
}

/* Peer `who` crashed: a change of its own is dropped; one it had not
 * heard may be heard by all the rest now. */
void
spread_crash(struct sim *s, int who)
{
	for (size_t j = s->spread_first; j < s->nspreads; j++) {
		struct spread *c = &s->spreads[j];

		if (!c->open)
			continue;
		if (c->peer == who) {
			c->open = 0;
			c->dropped = 1;
			free(c->seen);
			c->seen = NULL;
			s->nspread_open--;
			continue;
		}
		/* (one fewer to hear it) */
		if (s->p[who].booted_at <= c->at) {
			c->need--;
			if (c->seen[who]) {
				c->seen[who] = 0;
				c->nseen--;
			}
		}
		if (c->nseen + 1 >= c->need)
			spread_done(s, c);
	}
}

/* EV_LOAD: a live, running peer's load changes now. */
void
spread_change(struct sim *s)
{
	struct spread	*c;
	int		 who, tries = 0, live = 0;

	do
		who = (int)lb_rng_below(&s->rng, (uint32_t)s->n);
	while ((!s->p[who].alive || s->p[who].paused_until > s->now) &&
	    ++tries < 64);
	if (!s->p[who].alive || s->p[who].paused_until > s->now)
		return;
	for (int q = 0; q < s->n; q++)
		live += s->p[q].alive != 0;
	if (s->nspreads == s->capspreads) {
		s->capspreads = s->capspreads ? s->capspreads * 2 : 16;
		s->spreads = lb_reallocarray(s->spreads, s->capspreads,
		    sizeof(*s->spreads));
	}
	c = &s->spreads[s->nspreads++];
	memset(c, 0, sizeof(*c));
	c->peer = who;
	c->inc = s->p[who].inc;
	c->at = s->now;
	c->value = (uint32_t)s->nspreads;
	c->need = (size_t)live;
	c->seen = lb_calloc((size_t)s->n, 1);
	c->open = 1;
	s->nspread_open++;
	gossip_set_load(s->p[who].g, c->value);
	if (live <= 1)
		spread_done(s, c);
}

/* From `start` (all know all), a change every SPREAD_GAP_MS, the last
 * three gaps before the end (time to be heard). */
void
spread_schedule(struct sim *s, uint64_t start)
{
	for (uint64_t t = start + SPREAD_GAP_MS / 2; t + 3 * SPREAD_GAP_MS <=
	    s->end; t += SPREAD_GAP_MS)
		push(s, (struct ev){ .t = t, .type = EV_LOAD, .to = 0 });
}

/* The closed changes' times to all (free it); *open: changes
 * not heard by all by the end. */
uint64_t *
spread_times(const struct sim *s, size_t *n, size_t *open)
{
	uint64_t	*v = lb_calloc(s->nspreads + 1, sizeof(*v));

	*n = 0;
	*open = 0;
	for (size_t j = 0; j < s->nspreads; j++) {
		if (s->spreads[j].open)
			(*open)++;
		else if (!s->spreads[j].dropped)
			v[(*n)++] = s->spreads[j].all_ms;
	}
	return v;
}

void
spread_free(struct sim *s)
{
	for (size_t j = 0; j < s->nspreads; j++)
		free(s->spreads[j].seen);
	free(s->spreads);
}
