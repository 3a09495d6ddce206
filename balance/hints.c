/* hints.c - peers seen idle or with work to give (hints.h). */
#include "config.h"

#include <string.h>

#include "hints.h"

void
hints_del(struct hints *h, const char *id)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->v[i].id, id) == 0) {
			h->v[i] = h->v[--h->n];
			return;
		}
}

void
hints_add(struct hints *h, uint64_t now, const char *id)
{
	size_t	k = 0;

	hints_del(h, id);
	if (h->n == HINT_MAX) {
		for (size_t i = 1; i < h->n; i++)	/* the oldest goes */
			if (h->v[i].at < h->v[k].at)
				k = i;
		h->v[k] = h->v[--h->n];
	}
	lb_strlcpy(h->v[h->n].id, id, sizeof(h->v[0].id));
	h->v[h->n++].at = now;
}

size_t
hints_freshest(const struct hints *h, uint64_t now, uint64_t max_age_ms,
    int (*skip)(const char *id, void *arg), void *arg)
{
	size_t	best = SIZE_MAX;

	for (size_t i = 0; i < h->n; i++)
		if (now - h->v[i].at < max_age_ms && (best == SIZE_MAX ||
		    h->v[i].at > h->v[best].at) && (skip == NULL ||
		    !skip(h->v[i].id, arg)))
			best = i;
	return best;
}
