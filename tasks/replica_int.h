/*
 * replica_int.h - what replica.c (the stream of records) and failover.c
 * (the set, the home lease, elections) share; not for their callers.
 */
#ifndef LB_REPLICA_INT_H
#define LB_REPLICA_INT_H

#include "tasks/replica.h"

#define HELD_BUCKETS	4096
#define REP_ALL		(REP_SET_MAX + 1)	/* a set with its home */

struct held {
	struct held	*next;
	Lb__TaskRecord	*rec;
};

/* What this peer holds of another home's stream, and what it knows of
 * that home's terms. */
struct home {
	char		 id[LB_ID_MAX];
	uint64_t	 stream;
	uint64_t	 applied;	/* holds the stream up to here */
	size_t		 records;
	uint64_t	 newest;	/* the highest version held */
	/* The home's set as it last said (the home first). */
	char		 set[REP_ALL][LB_ID_MAX];
	size_t		 nset;
	uint64_t	 heard_ms;	/* its last put (or this life's start) */
	uint64_t	 dead_since;	/* not alive to this peer since, or 0 */
	/* Terms: 0, the home acts for itself; past 0, `acting` does, for
	 * its tasks below number `upto`.  One vote a term (`voted`). */
	uint32_t	 term, voted;
	char		 acting[LB_ID_MAX];
	uint64_t	 upto;
	uint64_t	 upto_version;	/* the winner held its stream so far */
	/* A second takeover's: tasks from this number on, records taken
	 * over above this version (the earlier takeover keeps the rest). */
	uint64_t	 floor, floor_version;
	uint64_t	 unc_at;	/* uncovered(): when last counted */
	int		 unc;
	int		 inferred;	/* term and acting learned from a record
					 * (rep_learn_taken), not from the
					 * winner: its range is a lower bound */
	/* A candidacy of this peer: its term, since when, votes (bits by
	 * index in set). */
	uint32_t	 cand_term;
	uint32_t	 self_term;	/* it stood in this term: its vote
					 * went to itself */
	uint64_t	 cand_at;
	uint32_t	 votes;
	/* Won (a majority voted), not acting yet: it acts once a majority
	 * of the set holds the win (HomeActing confirm), what it will take
	 * over fixed when it won. */
	uint32_t	 won_term;
	uint32_t	 won_held, won_refused;	/* bits by index in set */
	uint64_t	 won_upto, won_upto_version;
	uint64_t	 won_floor, won_floor_version;
	uint64_t	 won_sent;
	/* No win of this term or below is held here: a vote of this peer's
	 * it stopped reporting to the home as open (the home may act since;
	 * on disk). */
	uint32_t	 promised;
	uint64_t	 acting_sent;	/* acting for it: HomeActing last sent */
	uint64_t	 all_until;	/* ... to every live peer until then */
	uint64_t	 all_sent;	/* ... last sent to them */
	uint64_t	 voted_at;	/* when it last voted (or this life) */
	uint64_t	 behind_until;	/* a voter held more: no candidacy */
	uint64_t	 lead_until;	/* a candidate held less than this peer:
					 * it stands without waiting its turn */
	int		 lacking;	/* files of its tasks are not all here
					 * (rep_set_lacking) */
};

/* A change to the copies this home keeps of a task's messages, in its
 * stream (repkeep.c). */
struct rep_kitem {
	uint64_t	 version;
	char		 id[TASKS_ID_MAX];
	int		 anew;
	Lb__MailboxKeep	*kb;
};

struct rep {
	struct rep_conf	 conf;
	char		 self[LB_ID_MAX];
	uint64_t	 version;	/* the last one stamped */
	struct rep_peer	 set[REP_SET_MAX];
	size_t		 nset;
	uint64_t	 set_gen;	/* changes when the set does */
	/* A change of the set not yet held by a majority of the set before
	 * it (doc/replication.md): made at pend_at, that set had pend_old
	 * peers (this home included); the members of both that answered a
	 * put sent after pend_at, by index in set, and bit REP_SET_MAX the
	 * member it replaced (pend_gone, "" if it grew). */
	uint64_t	 pend_at;
	size_t		 pend_old;
	uint32_t	 pend_acks;
	char		 pend_gone[LB_ID_MAX];
	uint64_t	 pend_gone_sent;
	uint64_t	 last_send[REP_SET_MAX];
	/* This home's set when this life began (from disk): the majority
	 * of it that must answer before this home acts (rep_home_ok). */
	char		 start_set[REP_SET_MAX][LB_ID_MAX];
	size_t		 nstart;
	uint32_t	 answered;	/* bits by index in start_set */
	int		 ready;
	/* A replica said another took over this home's tasks. */
	uint32_t	 taken_term, relinquished;
	uint32_t	 voted_seen[REP_SET_MAX];	/* open votes reported */
	uint32_t	 doubt;		/* a member voted in this term, winner
					 * unknown: not ready until learned */
	char		 taken_by[LB_ID_MAX];
	uint64_t	 taken_upto;
	uint64_t	 taken_version;	/* ... and what it had taken over at or
					 * below this version (adopted_version) */
	/* The live members, as last told. */
	char		(*alive)[LB_ID_MAX];
	size_t		 nalive;
	char		(*older)[LB_ID_MAX];	/* rep_older */
	size_t		 nolder;
	int		 announce;	/* one more is alive: told who acts
					 * for the homes this peer acts for */
	/* Who acts for homes gone, as told (routing). */
	struct tasks_moved moved[REP_HOMES_MAX];
	size_t		 nmoved;
	struct held	*buckets[HELD_BUCKETS];
	size_t		 nheld;
	struct home	 homes[REP_HOMES_MAX];
	size_t		 nhomes;
	const Lb__TaskRecord **all;	/* rep_all_held's answer */
	struct rep_kitem *keeps;	/* in version order */
	size_t		 nkeeps, capkeeps;
	struct rep_stats stats;
};

struct rep_action *rep_push(struct rep_out *, enum rep_kind);
void		 rep_push_msg(struct rep_out *, enum rep_kind, const char *to,
		    const Lb__PeerMsg *);
struct home	*rep_home(struct rep *, const char *home, int make);
int		 rep_is_alive(const struct rep *, const char *id);
/* The index of `id` in this home's own set, or -1. */
int		 rep_member(const struct rep *, const char *id);
/* The index of `id` in the home's set, or -1. */
int		 rep_in_set(const struct home *, const char *id);
/* The home side heard a member of its set (an ack); the replica side's
 * elections, from the tick. */
void		 rep_pend_heard(struct rep *, uint64_t now, const char *from,
		    const Lb__ReplicaAck *);
void		 rep_pend_tick(struct rep *, uint64_t now, struct rep_out *);
void		 rep_put_send(struct rep *, Lb__ReplicaPut *, const char *to,
		    uint64_t now, struct rep_out *);
void		 rep_heard(struct rep *, uint64_t now, const char *from,
		    const Lb__ReplicaAck *);
void		 rep_elections(struct rep *, uint64_t now, struct rep_out *);
/* A record that a peer took over from the home its id names (home_peer,
 * home_term) proves that peer won that home's election: learned (1 if a
 * term changed, to keep on disk). */
int		 rep_learn_taken(struct rep *, const Lb__TaskRecord *);
/* `acting` acts for `home`'s tasks [floor, upto) in `term`: kept for
 * routing (takeover.c). */
void		 rep_moved_learn(struct rep *, const char *home,
		    const char *acting, uint32_t term, uint64_t upto,
		    uint64_t floor);
/* Kept messages (repkeep.c): the home's changes in (after, top]; those of
 * task `id` let go; a replica's item from `h`'s stream (0 kept, -1
 * refused); free all. */
size_t		 rep_keeps_in_range(const struct rep *, uint64_t after,
		    uint64_t top, const struct rep_kitem **first);
void		 rep_keeps_drop(struct rep *, const char *id);
int		 rep_keep_in(struct rep *, struct home *,
		    const Lb__ReplicaItem *, uint64_t after, uint64_t top,
		    struct rep_out *);
void		 rep_keeps_free(struct rep *);

/* A refused vote or hold names the takeover the asker did not know. */
void		 rep_reply_takeover(Lb__HomeVoteReply *, const struct home *);

#endif
