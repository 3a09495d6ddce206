/*
 * journal.h - the home's journal of task records, under state_dir.
 *
 * An append-only file of records, each [length u32 LE][BLAKE2b-64 of the
 * payload][payload: a TaskRecord].  A record is on disk (fdatasync) before
 * the caller goes on when it asks for it.  At start every record is read
 * back and the last one of each task wins; a torn or corrupt tail (a crash
 * in the middle of a write) is cut off with a warning, and nothing before it
 * is lost.
 */
#ifndef LB_JOURNAL_H
#define LB_JOURNAL_H

#include <stdint.h>

#include "src/lbpeer.pb-c.h"

struct journal;

/* Called for each record read back, in order; the callee owns it. */
typedef void (*journal_cb)(Lb__TaskRecord *, void *arg);

/* Open (or create) DIR/journal and read it back through cb. */
struct journal	*journal_open(const char *dir, journal_cb cb, void *arg,
		    char **cause);
/* Append a record; with sync, it is on disk when this returns. */
int		 journal_append(struct journal *, const Lb__TaskRecord *,
		    int sync, char **cause);
uint64_t	 journal_size(const struct journal *);
void		 journal_close(struct journal *);

#endif
