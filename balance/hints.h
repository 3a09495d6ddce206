/*
 * hints.h - peers seen idle, or with work to give, and when: a small table
 * the balancing core keeps (balance.c), the freshest first.  No I/O.
 */
#ifndef LB_BALANCE_HINTS_H
#define LB_BALANCE_HINTS_H

#include <stddef.h>
#include <stdint.h>

#include "src/util.h"

#define HINT_MAX	32	/* peers remembered; the oldest goes */

struct hints {
	struct {
		char		 id[LB_ID_MAX];
		uint64_t	 at;
	}		 v[HINT_MAX];
	size_t		 n;
};

void	hints_del(struct hints *, const char *id);
/* `id` seen at `now` (again: its time is renewed). */
void	hints_add(struct hints *, uint64_t now, const char *id);
/* The freshest hint younger than max_age_ms that `skip` (if not NULL)
 * does not pass over, or SIZE_MAX. */
size_t	hints_freshest(const struct hints *, uint64_t now, uint64_t max_age_ms,
	    int (*skip)(const char *id, void *arg), void *arg);

#endif
