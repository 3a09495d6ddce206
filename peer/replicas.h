/*
 * replicas.h - replicated homes in the shell: see replicas.c.
 */
#ifndef LB_REPLICAS_H
#define LB_REPLICAS_H

#include <stddef.h>
#include <stdint.h>

#include "src/lbpeer.pb-c.h"
#include "tasks/replica.h"
#include "tasks/tasks.h"

struct peer;

/* Open state_dir/replicas (before the task journal is read back). */
int		 replicas_start(struct peer *, char **cause);
void		 replicas_stop(struct peer *);
/* A record of the task journal read back; one about to be saved (a home's
 * own gets its version). */
void		 replicas_restored(struct peer *, const Lb__TaskRecord *);
void		 replicas_saving(struct peer *, Lb__TaskRecord *);
/* What the task core is to do comes back in `to` (the caller carries it
 * out): adopted tasks, tasks let go, the home hold. */
void		 replicas_tick(struct peer *, uint64_t now, struct tasks_out *to);
/* ReplicaPut, ReplicaAck, HomeVote, HomeVoteReply, HomeActing. */
void		 replicas_recv(struct peer *, const char *from,
		    const Lb__PeerMsg *, struct tasks_out *to);
/* At start, after the journal: adopt again what an election won before a
 * crash left unadopted. */
void		 replicas_readopt(struct peer *, struct tasks_out *);
/* At start: whether this home must wait for its set before it acts. */
int		 replicas_must_wait(struct peer *);
/* Whether task `id`, homed here by its number, was taken over by another
 * while this peer was away (it is that one's to answer for). */
int		 replicas_gave_up(struct peer *, const char *id);
/* The peer acting for task `id`, homed here and given up (else NULL). */
const char	*replicas_taken_by(struct peer *, const char *id);
/*
 * An effect of this home's decisions (a message to a host, a reply to a
 * client) waits until the decisions are on a majority of its set.  0: none
 * waits, do it now; 1: `fn(p, arg, 1)` is called once they are (or
 * `fn(p, arg, 0)` at stop: let it go); -1: too many wait, `fn` is not
 * called.  replicas_waits_full: whether the next one would be refused.
 */
int		 replicas_after(struct peer *,
		    void (*fn)(struct peer *, void *, int), void *arg);
/* Such an effect: a message to peer `to` (buf malloc'd), and the `fn` that
 * sends it (ok) and frees it. */
struct replicas_msg {
	char		 to[LB_ID_MAX];
	uint8_t		*buf;
	size_t		 len;
};
void		 replicas_msg_send(struct peer *, void *msg, int ok);
/* Whether the core's message `a` (a PeerMsg of body `kind`) is said as a
 * task's home, and so waits (replicas_after). */
int		 replicas_holds_msg(struct peer *, const struct tasks_action *a,
		    int kind);
int		 replicas_waits_full(struct peer *);
/* A change to what this home keeps of task `id`'s messages (`anew`: all
 * of it) goes to its set: 1 if it did (what acknowledges it waits:
 * replicas_after), 0 if the task is not homed here or there is no set. */
int		 replicas_keep(struct peer *, const char *id,
		    const Lb__MailboxKeep *, int anew);
/* Whether tasks taken over since the last call brought kept messages
 * (moved to state_dir/kept: msgs_keeps_sync). */
int		 replicas_keeps_moved(struct peer *);
/* A record held here for another home, or NULL. */
const Lb__TaskRecord *replicas_held(struct peer *, const char *id);
/* The live peers most likely to hold `home`'s records, best first (max
 * of them), then the members of its set this peer knows (room for
 * max + REP_SET_MAX + 1 in best). */
size_t		 replicas_of(struct peer *, const char *home,
		    const char **best, size_t max);

/* Called for each task this peer takes over: `adopting` before (its
 * record, the home that is gone, its directory, made), `adopted` once the
 * task is this peer's. */
void		 replicas_on_adopt(struct peer *,
		    void (*adopting)(struct peer *, Lb__TaskRecord *,
		    const char *home, const char *dir),
		    void (*adopted)(struct peer *, const char *id));
/* Every record held here for other homes (the core's array). */
const Lb__TaskRecord *const *replicas_all_held(struct peer *, size_t *n);
/* This peer lacks files of some tasks of `home` it holds: it stands for
 * that home after the other members (rep_set_lacking). */
void		 replicas_set_lacking(struct peer *, const char *home,
		    int lacking);
/* This home's replica set now (the members but this one), into ids. */
size_t		 replicas_set(struct peer *, char ids[][LB_ID_MAX], size_t max);

struct replicas_view {
	struct rep_peer	 set[REP_SET_MAX];
	size_t		 nset;
	uint64_t	 version, committed;
	size_t		 held, homes;
	size_t		 waiting;	/* effects waiting for a majority */
	uint64_t	 waited, wait_refused;
	size_t		 keeps;		/* kept-message changes held */
	uint64_t	 keeps_lost;
	struct rep_stats stats;
};
void		 replicas_stats(struct peer *, struct replicas_view *);

#endif
