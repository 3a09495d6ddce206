/*
 * repfiles_int.h - what the two sides of repfiles share: the home's offers
 * (repfiles.c) and the replica's copies (repheld.c).
 */
#ifndef LB_REPFILES_INT_H
#define LB_REPFILES_INT_H

#include <stdint.h>

#include "tasks/replica.h"
#include "tasks/tasks.h"
#include "repfiles.h"

#define RF_MAX		256	/* tasks whose attachments this home puts */
#define RF_WAITERS	4	/* answers waiting on one task */
#define RF_RETRY_MS	3000	/* offer again to a member that is silent */
#define RF_GIVE_UP_MS	(30 * 60 * 1000)	/* then stop offering */
#define RF_ORPHAN_S	600	/* a copy with no record here goes after */
#define RF_PRUNE_MS	10000
#define RF_LEVEL	2	/* members that hold files (LB_PROTO_LEVEL) */
#define RF_LACK_MS	1000	/* how often the homes lacking files are
				 * told to the elections */
#define RF_RECENT_MS	(10 * 60 * 1000)

struct rf_waiter {
	void	(*fn)(struct peer *, void *, int);
	void	 *arg;
};

/* A task whose attachments (or output) this home puts to its set. */
struct rf {
	char		 id[TASKS_ID_MAX];
	int		 out;		/* its output files */
	char		 to[REP_SET_MAX][LB_ID_MAX];
	int		 acked[REP_SET_MAX];
	uint64_t	 next_ms[REP_SET_MAX];
	uint8_t		*msg[REP_SET_MAX];	/* the offer made to each (a
						 * packed PeerMsg), sent
						 * again while on offer */
	size_t		 len[REP_SET_MAX];
	size_t		 nto;
	size_t		 need;		/* members for a majority */
	uint64_t	 since;
	struct rf_waiter w[RF_WAITERS];
	size_t		 nw;
};

struct repfiles {
	struct rf	*rf[RF_MAX];
	size_t		 nrf;
	char		*dir;		/* state_dir/replicas/files */
	uint64_t	 pruned_ms, lack_ms;
	int		 scanned;	/* tasks read back at start offered */
	int		 missed;	/* a task not offered (no set, or
					 * RF_MAX): look again */
	int		 full_said;
	char		 lastset[REP_SET_MAX][LB_ID_MAX];	/* at the
						 * last tick */
	size_t		 nlastset;
	struct repfiles_stats st;
};

#define RF(p)	((p)->repfiles)

/* Replica: where the copy of task `id`'s attachments (output) is held. */
char	*rf_held_path(struct peer *, const char *id, int out);
/* Replica: a home offers the files of one of its tasks (ReplicaFiles). */
void	 rf_files_in(struct peer *, const char *from, uint64_t inc,
	    const Lb__PeerMsg *);
/* Replica: copies no longer wanted go. */
void	 rf_prune(struct peer *);
/* Replica: tell the elections the dead homes whose files are not here. */
void	 rf_lacking(struct peer *);

#endif
