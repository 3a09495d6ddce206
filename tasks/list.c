/*
 * list.c - the tasks a peer acts as the home of, chosen for a listing of
 * the whole cluster (ClusterQuery): a filter, an order every peer shares
 * (task ids by node id, then number), and a page after a given id.  The
 * peer that asks merges the pages of all peers in the same order.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "tasks/tasks_int.h"

int
tasks_id_cmp(const char *a, const char *b)
{
	const char	*da = strrchr(a, '.'), *db = strrchr(b, '.');
	size_t		 la, lb;
	int		 c;

	if (da == NULL || db == NULL)
		return strcmp(a, b);
	la = (size_t)(da - a);
	lb = (size_t)(db - b);
	if ((c = strncmp(a, b, la < lb ? la : lb)) != 0)
		return c;
	if (la != lb)
		return la < lb ? -1 : 1;
	{
		unsigned long long na = strtoull(da + 1, NULL, 10),
		    nb = strtoull(db + 1, NULL, 10);

		return na < nb ? -1 : na > nb;
	}
}

/* Whether `text` is in the id or the command line of `r`. */
static int
has_text(const Lb__TaskRecord *r, const char *text)
{
	if (strstr(r->id, text) != NULL)
		return 1;
	for (size_t i = 0; r->spec != NULL && i < r->spec->n_argv; i++)
		if (strstr(r->spec->argv[i], text) != NULL)
			return 1;
	return 0;
}

int
tasks_match(const Lb__TaskRecord *r, const struct tasks_filter *f)
{
	if (f->states != 0 && (r->state < 0 || r->state > 31 ||
	    !(f->states & (1u << r->state))))
		return 0;
	if (f->host != NULL && f->host[0] != '\0' &&
	    (r->host == NULL || strcmp(r->host, f->host) != 0))
		return 0;
	if (f->text != NULL && f->text[0] != '\0' && !has_text(r, f->text))
		return 0;
	return 1;
}

static int
cmp_rec(const void *a, const void *b)
{
	const Lb__TaskRecord *x = *(const Lb__TaskRecord *const *)a;
	const Lb__TaskRecord *y = *(const Lb__TaskRecord *const *)b;

	return tasks_id_cmp(x->id, y->id);
}

size_t
tasks_select(struct tasks *t, const struct tasks_filter *f,
    const Lb__TaskRecord **out, size_t max, uint64_t *matching,
    uint64_t counts[TASKS_NSTATES])
{
	size_t			  n, k = 0;
	struct tasks_task	**all = tasks_all(t, &n);
	const Lb__TaskRecord	**m = lb_calloc(n + 1, sizeof(*m));

	*matching = 0;
	for (size_t i = 0; i < TASKS_NSTATES; i++)
		counts[i] = 0;
	for (size_t i = 0; i < n; i++) {
		const Lb__TaskRecord *r = all[i]->rec;

		if (!all[i]->home)
			continue;	/* (a placement: its home lists it) */
		if (r->state >= 0 && r->state < TASKS_NSTATES)
			counts[r->state]++;
		if (!tasks_match(r, f))
			continue;
		(*matching)++;
		if (f->after == NULL || f->after[0] == '\0' ||
		    tasks_id_cmp(r->id, f->after) > 0)
			m[k++] = r;
	}
	qsort(m, k, sizeof(*m), cmp_rec);
	if (k > max)
		k = max;
	memcpy(out, m, k * sizeof(*m));
	free(m);
	return k;
}

void
tasks_homed_by_state(struct tasks *t, uint64_t counts[TASKS_NSTATES])
{
	size_t			  n;
	struct tasks_task	**all = tasks_all(t, &n);

	for (size_t i = 0; i < TASKS_NSTATES; i++)
		counts[i] = 0;
	for (size_t i = 0; i < n; i++)
		if (all[i]->home && all[i]->rec->state >= 0 &&
		    all[i]->rec->state < TASKS_NSTATES)
			counts[all[i]->rec->state]++;
}
