/*
 * replica.h - replicated homes, the stream of records (doc/replication.md).
 *
 * A home puts every record it saves to its replica set: the
 * task.home_replicas - 1 live peers that rank first by rendezvous hashing
 * of (home, peer).  Each replica keeps the records on disk and acknowledges
 * how far it holds the home's stream: the records are versioned by the
 * home's put counter, and "up to v" means that for every task the replica
 * holds a record at least as new as the home's last one at or below v.
 * A put carries the records whose version lies in (base, top]; a replica
 * that does not hold the stream up to base refuses it with what it holds
 * (go-back-N), and one that is silent is sent to again from what it last
 * acknowledged.  A home's restart starts a new stream (its incarnation):
 * the replicas are sent everything again.
 *
 * Pure: no I/O, clock or randomness.  The caller passes the time, the live
 * members and the home's records, and carries out what comes back: puts
 * and acks to send, records to keep (on disk before the ack goes).
 */
#ifndef LB_REPLICA_H
#define LB_REPLICA_H

#include <stddef.h>
#include <stdint.h>

#include "src/lbpeer.pb-c.h"
#include "tasks/tasks.h"

#define REP_SET_MAX	6	/* other replicas: task.home_replicas <= 7 */
#define REP_BATCH	256	/* records in one put */
#define REP_HOMES_MAX	256	/* homes a peer is a replica for */

struct rep;

struct rep_conf {
	const char	*self;
	uint64_t	 stream;	/* this life: the incarnation */
	int		 replicas;	/* task.home_replicas, 1..7 */
	uint32_t	 retry_ms;	/* no ack this long: send again */
	size_t		 max_records;	/* held for other homes, in all */
	size_t		 put_bytes;	/* a put's items, at most (0: any) */
	/* Failover (failover.c).  A home acts only while a majority of its
	 * set answered within lease_ms (its home lease); it puts at least
	 * every heartbeat_ms.  A replica stands for a home silent and dead
	 * to it for takeover_ms (which must exceed two leases and their
	 * margin: by then the home has stopped, and its hosts' leases have
	 * run out).  A set member dead for replace_ms is replaced by a live
	 * peer. */
	uint32_t	 lease_ms, heartbeat_ms, takeover_ms, replace_ms;
};

/* One member of this home's replica set, as the home sees it. */
struct rep_peer {
	char		 id[LB_ID_MAX];
	uint64_t	 acked;		/* holds the stream up to here */
	uint64_t	 sent;		/* sent up to here */
	uint64_t	 since;		/* when acked last grew, or it joined */
	uint64_t	 heard;		/* its last answer (any) */
	uint64_t	 dead_since;	/* not alive to this home since, or 0 */
	int		 pending;	/* new in the set, which a majority of
					 * the set before it has not yet been
					 * seen to hold: counts for nothing */
};

/* What the caller does: send a put or an ack, keep a record (then sync
 * once, before the acks of this round go). */
enum rep_kind {
	RA_PUT, RA_ACK, RA_KEEP, RA_DROP,
	RA_STATE,	/* terms or votes changed: on disk before what follows
			 * is sent (rep_state_dump) */
	RA_VOTE,	/* a HomeVote, a HomeVoteReply or a HomeActing (msg) */
	RA_ADOPT,	/* elected: act for home `id`, term, its tasks below
			 * number upto */
	RA_KEPT		/* keep what the home keeps of task `id`'s messages:
			 * `msg` is a packed MailboxKeep that adds to it, or
			 * (anew) replaces it (empty: none) */
};
struct rep_action {
	enum rep_kind	 kind;
	char		 to[LB_ID_MAX];
	uint8_t		*msg;		/* RA_PUT, RA_ACK: a packed PeerMsg */
	size_t		 len;
	const Lb__TaskRecord *rec;	/* RA_KEEP: held by the core */
	char		 id[TASKS_ID_MAX];	/* RA_DROP: a record let go;
						 * RA_ADOPT: the home */
	uint32_t	 term;		/* RA_ADOPT */
	uint64_t	 upto;
	uint64_t	 floor, floor_version;	/* RA_ADOPT: a second
					 * takeover's range starts there */
	uint64_t	 upto_version;	/* RA_ADOPT: records the home had taken
					 * over at or below this version */
	int		 anew;		/* RA_KEPT */
};
struct rep_out {
	struct rep_action *v;
	size_t		 n, cap;
	int		 sync;		/* RA_KEEPs to sync before the acks */
};

struct rep_stats {
	uint64_t	 puts_sent, items_sent, acks_in, gaps_in;
	uint64_t	 puts_in, items_kept, gaps_sent, refused;
	uint64_t	 set_changes;
	uint64_t	 set_confirmed;	/* changes a majority of the set
					 * before them was seen to hold */
	uint64_t	 keeps_sent, keeps_kept, keeps_refused;
	uint64_t	 elections, won, wins_refused, votes_given,
			 takeovers_seen;
};

struct rep	*rep_new(const struct rep_conf *);
void		 rep_free(struct rep *);
void		 rep_out_free(struct rep_out *);

/*
 * The home side.  rep_stamp gives a record saved by this home its version
 * (before it is journaled); rep_restored tells the counter of one read
 * back.  rep_members: the live members now (this one may be among them);
 * the set is what ranks first among them.  rep_tick sends what is due:
 * `recs` are this home's records now, any order.
 */
void		 rep_stamp(struct rep *, Lb__TaskRecord *);
void		 rep_restored(struct rep *, const Lb__TaskRecord *);
void		 rep_members(struct rep *, uint64_t now, const char *const *ids,
		    size_t n);
void		 rep_tick(struct rep *, uint64_t now,
		    const Lb__TaskRecord *const *recs, size_t n,
		    struct rep_out *);
/* Only what is new, at once (group commit: the caller gathers the saves
 * of a moment into one put); no resends, heartbeats or elections. */
void		 rep_flush(struct rep *, uint64_t now,
		    const Lb__TaskRecord *const *recs, size_t n,
		    struct rep_out *);
void		 rep_ack_in(struct rep *, uint64_t now, const char *from,
		    const Lb__ReplicaAck *);
/*
 * The copies this home keeps of its tasks' messages go in the same stream
 * (repkeep.c): rep_keep stamps one change to task `id`'s keep -- `buf`, a
 * packed MailboxKeep, adds to what the replicas hold (anew = 0) or
 * replaces it (anew = 1; empty: none) -- and puts it until a later anew of
 * the task supersedes it, or the task ends (rep_stamp of a final record).
 * -1: not understood, or too many kept (REP_KEEPS_MAX): not put.
 */
#define REP_KEEPS_MAX	65536
int		 rep_keep(struct rep *, const char *id, int anew,
		    const uint8_t *buf, size_t len);
size_t		 rep_nkeeps(const struct rep *);
/* The set and how far each member holds the stream. */
const struct rep_peer *rep_set(const struct rep *, size_t *n);
/* The highest version a majority of the set (this home included) holds. */
uint64_t	 rep_committed(const struct rep *);
uint64_t	 rep_version(const struct rep *);

/*
 * The replica side.  rep_put_in: a put from the home `from`; records to
 * keep, and the ack, come back.  rep_held: a record held for another home
 * (NULL if none).  rep_load: one read back from this peer's replica
 * journal at start.  rep_expire: records of tasks that ended longer than
 * `keep_ms` ago (wall clock) are let go.
 */
void		 rep_put_in(struct rep *, uint64_t now, const char *from,
		    const Lb__ReplicaPut *, struct rep_out *);
const Lb__TaskRecord *rep_held(const struct rep *, const char *id);
/* A record held for another home is not needed any more (this peer acts
 * as its home, and has it in its own journal): let go, on disk too. */
void		 rep_let_go(struct rep *, const char *id, struct rep_out *);
/* The caller could not write what `o` asked to keep: it is let go, and
 * its homes send their streams again. */
void		 rep_write_failed(struct rep *, const struct rep_out *);
void		 rep_load(struct rep *, Lb__TaskRecord *);
void		 rep_expire(struct rep *, uint64_t wall_ms, uint64_t keep_ms,
		    struct rep_out *);
/* Every record held for other homes (for compaction), and how many. */
const Lb__TaskRecord *const *rep_all_held(const struct rep *, size_t *n);
/* The shell: this replica lacks the files (attachments, output) of some
 * tasks of `home` that it holds: it stands for it after the others. */
void		 rep_set_lacking(struct rep *, const char *home, int lacking);
/* Homes this peer holds records for, and records of each. */
size_t		 rep_homes(const struct rep *);
size_t		 rep_nheld(const struct rep *);
const struct rep_stats *rep_stats(const struct rep *);

/*
 * Failover (failover.c; the set, repset.c).  rep_members: the live
 * members now (this peer may be among them); the home keeps its set, a
 * member dead for replace_ms is replaced by the live peer that ranks
 * first, one change
 * at a time: rep_pending, a newcomer not yet counted (a majority of the
 * set before the change has not been seen to hold the new one; its acks
 * of puts sent after the change tell it).  rep_set_gen changes with the
 * set or its pending (the caller keeps it on disk: rep_state_dump).
 * rep_home_ok: whether this home may act now -- those of its set that
 * were on disk at its start answered (none of them saying another took
 * over), and a majority of its set answered within lease_ms.  rep_taken:
 * a replica said `by` took over this home's tasks below number `upto`
 * in `term` (0 if none).  rep_home_lease_end: when its home lease ends
 * (a majority, this home counted, answered a put sent lease_ms before;
 * 0: it has none, it acts alone); the leases it grants end before it.
 */
void		 rep_members(struct rep *, uint64_t now, const char *const *ids,
		    size_t n);
uint64_t	 rep_set_gen(const struct rep *);
int		 rep_pending(const struct rep *);
int		 rep_home_ok(const struct rep *, uint64_t now);
uint64_t	 rep_home_lease_end(const struct rep *);
uint32_t	 rep_taken(const struct rep *, const char **by, uint64_t *upto);
/* ... and the version of this home's stream the winner held: the records
 * this home had itself taken over at or below it are the winner's too. */
uint64_t	 rep_taken_version(const struct rep *);
/* The set of `home` as this peer knows it (a member of it: from the
 * home's puts), the home first, into ids; how many. */
size_t		 rep_home_set(const struct rep *, const char *home,
		    const char **ids, size_t max);
/* The live peers of a protocol level below LB_LEVEL_HOLDS_WINS (asked
 * no hold of a win: their vote stands for it), as last told. */
void		 rep_older(struct rep *, const char *const *ids, size_t n);
/* A won election for `home` whose win a majority of its set does not
 * hold yet: its term (0: none). */
uint32_t	 rep_confirming(const struct rep *, const char *home);
/* The caller let those tasks go: this home may act again (for the rest). */
void		 rep_relinquished(struct rep *, uint32_t term);
void		 rep_vote_in(struct rep *, uint64_t now, const char *from,
		    const Lb__HomeVote *, struct rep_out *);
void		 rep_vote_reply_in(struct rep *, uint64_t now, const char *from,
		    const Lb__HomeVoteReply *, struct rep_out *);
void		 rep_acting_in(struct rep *, uint64_t now, const char *from,
		    const Lb__HomeActing *, struct rep_out *);
/* Who acts for `home` (itself, or the replica that took over), and in
 * which term; NULL if this peer knows nothing of it. */
const char	*rep_acting(const struct rep *, const char *home, uint32_t *term,
		    uint64_t *upto);
/* Who acts for homes that are gone, as far as this peer knows (as a
 * member of their sets, or told as any peer): for each, the home, the
 * peer acting, its term and the task numbers [floor, upto) it acts for (a
 * home may come more than once); at most `max`. */
struct rep_moved_info {
	const char	*home, *acting;
	uint32_t	 term;
	uint64_t	 upto, floor;
};
size_t		 rep_moved(const struct rep *, struct rep_moved_info *,
		    size_t max);
/* This peer's takeover of `home` starts at task number *floor and at
 * version *floor_version (a second takeover; 0: all of it). */
void		 rep_acting_floor(const struct rep *, const char *home,
		    uint64_t *floor, uint64_t *floor_version,
		    uint64_t *upto_version);
/* The homes this peer was elected to act for (at most `max`). */
size_t		 rep_acting_for(const struct rep *, const char **homes,
		    uint32_t *terms, uint64_t *uptos, size_t max);
/* The set, the terms and the votes as text (malloc'd), and back (at
 * start, before anything else; lines not understood are skipped). */
char		*rep_state_dump(const struct rep *);
void		 rep_state_load(struct rep *, uint64_t now, const char *text);

/* The peer that acts as the home of a record: its home_peer, or the one
 * its id names. */
void		 rep_record_home(const Lb__TaskRecord *, char *home);

/* The peers that rank first for `home` by rendezvous hashing, best
 * first, `home` itself left out: at most `max` of the `n` given. */
size_t		 rep_rank(const char *home, const char *const *ids, size_t n,
		    const char **best, size_t max);

#endif
