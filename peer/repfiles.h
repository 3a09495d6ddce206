/*
 * repfiles.h - a task's attachments on its home's replicas: see repfiles.c.
 */
#ifndef LB_REPFILES_H
#define LB_REPFILES_H

#include <stdint.h>

#include "src/lbpeer.pb-c.h"

struct peer;

int	 repfiles_start(struct peer *, char **cause);
/* Answers still waiting are let go (the client asks again). */
void	 repfiles_stop(struct peer *);
/* Home: task `id`, homed here, was submitted or taken over: its
 * attachments go to this home's replica set. */
void	 repfiles_offer(struct peer *, const char *id);
/* Home: task `id`, homed here, ended with its output in files: they go to
 * the replica set (if not on the way already). */
void	 repfiles_offer_output(struct peer *, const char *id);
/*
 * Home: the answer to the submit of `id` (with `out`, the acknowledgement
 * of its result) waits until a majority of the set holds its attachments
 * (its output): 1, `fn(p, arg, 1)` is called then (or with 0 at stop); 0:
 * nothing to wait for, answer now; -1: too many wait on it already (drop
 * it: the asker asks again).
 */
int	 repfiles_after(struct peer *, const char *id, int out,
	    void (*fn)(struct peer *, void *, int), void *arg);
/* ReplicaFiles (replica) and ReplicaFilesAck (home). */
void	 repfiles_recv(struct peer *, const char *from, uint64_t inc,
	    const Lb__PeerMsg *);
/* Replica: the pull of a ReplicaFiles ended (xfer's callback). */
void	 repfiles_fetched(struct peer *, const char *from,
	    const Lb__PeerMsg *, const char *staged, const char *error);
/* This peer takes over task `rec` (replicas_on_adopt): its attachments,
 * if held here, become its directory `dir` (unless `dir` has files
 * already), its output files go beside it, and a checkpoint copy its home
 * held (not here) is forgotten in `rec`; once adopted, its attachments go
 * to this home's own set. */
void	 repfiles_adopting(struct peer *, Lb__TaskRecord *rec,
	    const char *home, const char *dir);
void	 repfiles_adopted(struct peer *, const char *id);
void	 repfiles_tick(struct peer *, uint64_t now);

struct repfiles_stats {
	uint64_t	offered;	/* home: offers sent to replicas */
	uint64_t	acked;		/* home: replicas that said they hold */
	uint64_t	waited;		/* home: submit answers that waited */
	uint64_t	fetched;	/* replica: attachment sets pulled */
	uint64_t	failed;		/* replica: pulls that failed */
	uint64_t	adopted;	/* taken over: moved into place */
	uint64_t	missing;	/* taken over without them */
	size_t		pending;	/* home: tasks not yet on every member */
	size_t		waiting;	/* home: submit answers waiting now */
	size_t		held;		/* replica: attachment sets held now */
};
void	 repfiles_stats(struct peer *, struct repfiles_stats *);

#endif
