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
/*
 * Home: the answer to the submit of `id` waits until a majority of the set
 * holds its attachments: 1, `fn(p, arg, 1)` is called then (or with 0 at
 * stop); 0: nothing to wait for, answer now.
 */
int	 repfiles_after(struct peer *, const char *id,
	    void (*fn)(struct peer *, void *, int), void *arg);
/* ReplicaFiles (replica) and ReplicaFilesAck (home). */
void	 repfiles_recv(struct peer *, const char *from, uint64_t inc,
	    const Lb__PeerMsg *);
/* Replica: the pull of a ReplicaFiles ended (xfer's callback). */
void	 repfiles_fetched(struct peer *, const char *from,
	    const Lb__PeerMsg *, const char *staged, const char *error);
/* The replica that takes over task `id`: its attachments, if held here,
 * become its directory `dir` (1), unless `dir` has files already; 0: none
 * here. */
int	 repfiles_adopt(struct peer *, const char *id, const char *dir);
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
/* A task taken over ran without its attachments (none held here). */
void	 repfiles_missing(struct peer *);

#endif
