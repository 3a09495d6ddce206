/*
 * faults.c - lbsim's faults (crashes, restarts, pauses) and what they are
 * measured by: when every live peer holds a crashed one dead, when all
 * hold a restarted one alive again, the false suspicions and deaths of
 * live peers, and the invariant that a crashed peer, once all hold it
 * dead, is never held alive again.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "src/conf.h"
#include "src/envelope.h"
#include "src/util.h"
#include "gossip/gossip.h"
#include "node/gossip_wire.h"
#include "sim/sim.h"

/* Whether every live peer holds the crashed one dead now. */
static void
known_check(struct sim *s, struct crash *cr)
{
	if (cr->all_ms != 0)
		return;
	/* (a peer started since the crash never knew the crashed one, and
	 * is not told of the dead: not asked) */
	for (int q = 0; q < s->n; q++)
		if (q != cr->peer && s->p[q].alive && !cr->seen[q] &&
		    s->p[q].booted_at <= cr->at)
			return;
	cr->all_ms = s->now;
}

/* Whether every live peer holds the restarted one alive now. */
static void
rejoin_check(struct sim *s, struct crash *cr)
{
	if (cr->rejoin_ms != 0)
		return;
	for (int q = 0; q < s->n; q++)
		if (q != cr->peer && s->p[q].alive && !cr->seen_alive[q])
			return;
	cr->rejoin_ms = s->now - cr->restart_at;
}

/* Peer i's core saw member `who` change (c): judged against what
 * happened to it. */
void
faults_judge(struct sim *s, int i, int who, const struct gossip_change *c)
{
	/* (of its incarnation now: the old one of a restarted peer
	 * did die) */
	if (s->p[who].alive && c->incarnation == s->p[who].inc &&
	    s->now >= s->warm) {
		if (c->to == GOSSIP_SUSPECT && c->from == GOSSIP_ALIVE)
			s->false_suspicions++;
		/* (DEAD to DEAD: news of a restart, not a death) */
		if (c->to == GOSSIP_DEAD && c->from != GOSSIP_DEAD)
			s->false_deaths++;
	}
	for (size_t j = 0; j < s->ncrashes; j++) {
		struct crash *cr = &s->crashes[j];

		if (cr->peer != who || cr->at > s->now)
			continue;
		if (cr->closed) {
			/* Restarted: who holds the new one alive. */
			if (c->to == GOSSIP_ALIVE && c->incarnation ==
			    s->p[who].inc && !cr->seen_alive[i]) {
				cr->seen_alive[i] = 1;
				rejoin_check(s, cr);
			}
			continue;
		}
		if (c->to == GOSSIP_DEAD) {
			if (!cr->seen[i]) {
				cr->seen[i] = 1;
				known_check(s, cr);
			}
		} else if (cr->seen[i]) {
			/*
			 * Held dead, then not: news it made before
			 * its crash (a refutation on its way) may do
			 * that while the death spreads; once all held
			 * it dead, nothing may.
			 */
			if (cr->all_ms != 0)
				s->violations++;
			else
				s->revivals++;
			cr->seen[i] = 0;
		}
	}
}

/* Peer i started again: what it knew went with its old life. */
void
faults_booted(struct sim *s, int i)
{
	for (size_t j = 0; j < s->ncrashes; j++) {
		s->crashes[j].seen[i] = 0;
		if (s->crashes[j].seen_alive != NULL)
			s->crashes[j].seen_alive[i] = 0;
	}
}

/* Peer `who` crashes. */
void
faults_crash(struct sim *s, int who)
{
	struct speer	*p = &s->p[who];

	p->alive = 0;
	for (size_t j = 0; j < s->ncrashes; j++) {
		struct crash *cr = &s->crashes[j];

		/* Those that held it dead already (falsely,
		 * before it crashed) hold it dead now. */
		if (cr->peer == who)
			for (int q = 0; q < s->n; q++) {
				const struct gossip_member *m =
				    gossip_find(s->p[q].g,
				    p->id);

				if (q != who && s->p[q].alive &&
				    m != NULL && m->state ==
				    GOSSIP_DEAD)
					cr->seen[q] = 1;
			}
		/* (and this one may have been the last that
		 * did not know of an earlier crash) */
		if (cr->at <= s->now && !cr->closed)
			known_check(s, cr);
		else if (cr->closed)
			rejoin_check(s, cr);
	}
}

/* Peer `who` restarts (boot follows): its crash is over. */
void
faults_restart(struct sim *s, int who)
{
	for (size_t j = 0; j < s->ncrashes; j++) {
		struct crash *cr = &s->crashes[j];

		if (cr->peer != who || cr->closed)
			continue;
		cr->closed = 1;
		cr->restart_at = s->now;
		cr->seen_alive = lb_calloc((size_t)s->n, 1);
	}
	s->restarts++;
}

/* Peer `who` stops for PAUSE_MS. */
void
faults_pause(struct sim *s, int who)
{
	s->p[who].paused_until = s->now + PAUSE_MS;
	s->pauses++;
}

static int
crashed(const struct sim *s, int who)
{
	for (size_t j = 0; j < s->ncrashes; j++)
		if (s->crashes[j].peer == who)
			return 1;
	return 0;
}

/*
 * The faults, from `start` on (once every peer knows every other, and not
 * before the warm-up's end: a crash of a peer not yet known to all could
 * not be known dead by all): a crash every CRASH_GAP_MS, each restarted
 * RESTART_MS later (--faults restart), and between them a pause.
 */
void
schedule_faults(struct sim *s, uint64_t start)
{
	long	crashes = s->want_crashes;

	s->faults_from = start;
	if (s->f_crash) {
		long fit = start < s->end ? (long)((s->end - start) /
		    CRASH_GAP_MS) : 0;

		/* (a crash needs time to be known: none in the last gap) */
		if (crashes < 0 || crashes > fit)
			crashes = fit;
		if (crashes > s->n - 2)
			crashes = s->n - 2;
		s->crashes = lb_calloc((size_t)crashes + 1,
		    sizeof(*s->crashes));
		for (long k = 0; k < crashes; k++) {
			struct crash *cr = &s->crashes[s->ncrashes];
			int who;

			/* (never a seed: the others join through them) */
			if (s->n - SEEDS <= (int)s->ncrashes)
				break;
			do
				who = SEEDS + (int)lb_rng_below(&s->rng,
				    (uint32_t)(s->n - SEEDS));
			while (crashed(s, who));
			cr->peer = who;
			cr->at = start + (uint64_t)k * CRASH_GAP_MS;
			cr->seen = lb_calloc((size_t)s->n, 1);
			s->ncrashes++;
			push(s, (struct ev){ .t = cr->at, .type = EV_CRASH,
			    .to = who });
			if (s->f_restart && cr->at + RESTART_MS < s->end)
				push(s, (struct ev){ .t = cr->at + RESTART_MS,
				    .type = EV_RESTART, .to = who });
		}
	}
	if (s->f_pause) {
		/* Between the crashes (and the restarts, 10 s after them):
		 * one peer stopped for PAUSE_MS. */
		for (uint64_t t = start + CRASH_GAP_MS * 3 / 4; t +
		    CRASH_GAP_MS / 4 <= s->end && s->n > SEEDS;
		    t += CRASH_GAP_MS)
			push(s, (struct ev){ .t = t, .type = EV_PAUSE,
			    .to = SEEDS + (int)lb_rng_below(&s->rng,
			    (uint32_t)(s->n - SEEDS)) });
	}
}
