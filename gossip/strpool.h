/*
 * strpool.h - shared strings, counted: one copy of each id, address and
 * attribute list however many tables hold it.
 *
 * A peer's table holds each member's id, address and attributes; a
 * simulator of 10,000 peers holds 10,000 tables of 10,000 members, and
 * with a copy of each string in every entry (an id of up to 64 bytes, an
 * address of 128, attributes of 256) that is 45 GB of the same few
 * thousand strings.  A pool keeps one copy, counted: strpool_get gives
 * the pool's copy (the same pointer for equal strings, never NULL) and
 * counts a holder; strpool_put lets one go, and the last frees it.
 * Pure: no I/O, no clock; one thread.
 */
#ifndef LB_STRPOOL_H
#define LB_STRPOOL_H

#include <stddef.h>

struct strpool;

struct strpool	*strpool_new(void);
/* Frees the pool; strings still held are freed with it. */
void		 strpool_free(struct strpool *);
/* The pool's copy of s, counted once more. */
const char	*strpool_get(struct strpool *, const char *s);
/* One more holder of p (a string from this pool). */
const char	*strpool_ref(struct strpool *, const char *p);
/* One holder fewer of p (from this pool, or NULL: nothing). */
void		 strpool_put(struct strpool *, const char *p);
/* Distinct strings held. */
size_t		 strpool_count(const struct strpool *);

#endif
