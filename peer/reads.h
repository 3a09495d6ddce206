/*
 * reads.h - records of tasks homed elsewhere (show, wait): see reads.c.
 */
#ifndef LB_READS_H
#define LB_READS_H

#include <stdint.h>

#include "src/lbpeer.pb-c.h"

struct peer;

void	 reads_start(struct peer *);
void	 reads_stop(struct peer *);
/* A record, and for `want_output` its output, of a task homed elsewhere:
 * 0 with *answer (NULL while asking), -1 (no such task) or -2 (its home
 * is not reachable, and no replica of its records answered) with *cause.
 * With its home down, *replica names the peer whose copy of the record
 * *answer is (it holds no output). */
int	 reads_task(struct peer *, const char *id, int want_output,
	    const Lb__TaskAnswer **, const char **replica, char **cause);
/* TaskQuery (answered from what is here), TaskAnswer. */
void	 reads_query_in(struct peer *, const char *from, const Lb__TaskQuery *);
void	 reads_answer_in(struct peer *, const char *from,
	    const Lb__TaskAnswer *);
/* The record the last answer about `id` brought, or NULL. */
const Lb__TaskRecord *reads_cached(struct peer *, const char *id);
/* Queries and answers dropped (malformed, late, unknown). */
uint64_t reads_drops(struct peer *);

#endif
