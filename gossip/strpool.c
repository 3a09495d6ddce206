/* strpool.c - shared strings, counted (see strpool.h). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/util.h"
#include "strpool.h"

struct sp_node {
	struct sp_node	*next;		/* in its bucket */
	uint64_t	 hash;
	uint64_t	 refs;
	char		 s[];
};

struct strpool {
	struct sp_node	**b;		/* buckets, a power of two */
	size_t		  nb, n;
};

static uint64_t
sp_hash(const char *s)
{
	uint64_t	h = lb_hash_str(s);

	return h ^ (h >> 29);
}

static struct sp_node *
sp_node_of(const char *p)
{
	return (struct sp_node *)(void *)((char *)(uintptr_t)p -
	    offsetof(struct sp_node, s));
}

struct strpool *
strpool_new(void)
{
	struct strpool	*sp = lb_calloc(1, sizeof(*sp));

	sp->nb = 64;
	sp->b = lb_calloc(sp->nb, sizeof(*sp->b));
	return sp;
}

void
strpool_free(struct strpool *sp)
{
	if (sp == NULL)
		return;
	for (size_t i = 0; i < sp->nb; i++)
		for (struct sp_node *x = sp->b[i], *nx; x != NULL; x = nx) {
			nx = x->next;
			free(x);
		}
	free(sp->b);
	free(sp);
}

/* Twice the buckets, every node moved to its new one. */
static void
sp_grow(struct strpool *sp)
{
	size_t		  nb = sp->nb * 2;
	struct sp_node	**b = lb_calloc(nb, sizeof(*b));

	for (size_t i = 0; i < sp->nb; i++)
		for (struct sp_node *x = sp->b[i], *nx; x != NULL; x = nx) {
			nx = x->next;
			x->next = b[x->hash & (nb - 1)];
			b[x->hash & (nb - 1)] = x;
		}
	free(sp->b);
	sp->b = b;
	sp->nb = nb;
}

const char *
strpool_get(struct strpool *sp, const char *s)
{
	uint64_t	 h = sp_hash(s);
	size_t		 len = strlen(s);
	struct sp_node	*x;

	for (x = sp->b[h & (sp->nb - 1)]; x != NULL; x = x->next)
		if (x->hash == h && strcmp(x->s, s) == 0) {
			x->refs++;
			return x->s;
		}
	if (sp->n >= sp->nb)
		sp_grow(sp);
	x = lb_calloc(1, sizeof(*x) + len + 1);
	memcpy(x->s, s, len + 1);
	x->hash = h;
	x->refs = 1;
	x->next = sp->b[h & (sp->nb - 1)];
	sp->b[h & (sp->nb - 1)] = x;
	sp->n++;
	return x->s;
}

const char *
strpool_ref(struct strpool *sp, const char *p)
{
	(void)sp;
	sp_node_of(p)->refs++;
	return p;
}

void
strpool_put(struct strpool *sp, const char *p)
{
	struct sp_node	*x, **pp;

	if (p == NULL)
		return;
	x = sp_node_of(p);
	if (--x->refs > 0)
		return;
	for (pp = &sp->b[x->hash & (sp->nb - 1)]; *pp != NULL;
	    pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	sp->n--;
	free(x);
}

size_t
strpool_count(const struct strpool *sp)
{
	return sp->n;
}
