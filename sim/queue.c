/* queue.c - lbsim's events, a binary heap by (time, sequence). */
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


static int
ev_less(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void
push(struct sim *s, struct ev e)
{
	size_t	i;

	if (s->nheap == s->capheap) {
		s->capheap = s->capheap ? 2 * s->capheap : 1024;
		s->heap = lb_reallocarray(s->heap, s->capheap,
		    sizeof(*s->heap));
	}
	e.seq = s->seq++;
	i = s->nheap++;
	while (i > 0 && ev_less(&e, &s->heap[(i - 1) / 2])) {
		s->heap[i] = s->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->heap[i] = e;
}

struct ev
pop(struct sim *s)
{
	struct ev	top = s->heap[0], last = s->heap[--s->nheap];
	size_t		i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && ev_less(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_less(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nheap > 0)
		s->heap[i] = last;
	return top;
}
