/*
 * home.h - a peer's task core and its replica core together: what a
 * replicated home decides between them (doc/replication.md).  lbpeer runs
 * it with its disk and sockets (peer/replicas.c), t/tasks_sim with a
 * simulated world; nothing of it exists twice.
 *
 * Pure: no I/O, clock or randomness.  The time comes in; every effect goes
 * out through the shell's hooks, in the order the protocol needs: terms
 * and votes on disk before anything is sent, the records a home put here
 * on disk before the acknowledgement that says so, and what a home says
 * of its decisions held until they are on a majority of its set.
 */
#ifndef LB_NODE_HOME_H
#define LB_NODE_HOME_H

#include <stddef.h>
#include <stdint.h>

#include "src/lbpeer.pb-c.h"
#include "tasks/replica.h"
#include "tasks/tasks.h"

struct nhome;

struct nhome_conf {
	struct rep_conf	 rep;
	uint32_t	 lease_ms;	/* task.lease_ms (0: no leases) */
	uint64_t	 keep_ms;	/* ended records kept this long */
	uint32_t	 expire_ms;	/* they are looked at this often */
	size_t		 waits_max;	/* effects waiting for a majority */
};

/* The shell: `arg` is handed back to every hook.  A hook that returns int
 * returns -1 when the disk failed (the core then acts as if nothing was
 * kept: no ack goes). */
struct nhome_shell {
	void	 *arg;
	/* The set, the terms and the votes (rep_state_dump), replacing
	 * what is on disk, synced. */
	int	(*save_state)(void *arg, const char *text);
	/* A record another home put here (a tombstone, rec->forgotten, for
	 * one let go); `sync`: the disk synced after it. */
	int	(*keep)(void *arg, const Lb__TaskRecord *rec, int sync);
	/* A record let go: what this peer kept of its messages goes too. */
	void	(*unkept)(void *arg, const char *id);
	/* RA_KEPT: a change to what a home keeps of a task's messages. */
	int	(*kept)(void *arg, const struct rep_action *);
	void	(*send)(void *arg, const char *to, const uint8_t *msg,
		    size_t len);
	/* Taking over task rec->id of `home`: before the core adopts it
	 * (its directory, its files), and once it is this peer's. */
	void	(*adopting)(void *arg, Lb__TaskRecord *rec, const char *home);
	void	(*adopted)(void *arg, const char *id);
	/* Records were kept or let go (a moment to compact the journal:
	 * `held` live ones). */
	void	(*journaled)(void *arg, size_t held);
	/* Something an operator should read (warn: 1). */
	void	(*note)(void *arg, int warn, const char *text);
};

struct nhome	*nhome_new(const struct nhome_conf *, struct tasks *,
		    const struct nhome_shell *);
/* Effects still waiting are called with ok = 0 (let go: the journal has
 * the decision, and a client asks again). */
void		 nhome_free(struct nhome *);
struct rep	*nhome_rep(struct nhome *);
/* At start, before anything else: the set, terms and votes the shell kept
 * (save_state); then the records of its replica journal, rep_load. */
void		 nhome_state_load(struct nhome *, uint64_t now,
		    const char *text);
/* Whether this home has a replica set at all (task.home_replicas > 1). */
int		 nhome_on(const struct nhome *);

/* A record of this peer's task journal read back at start; one about to
 * be saved (a home's own gets its version: 1, and the shell puts it at
 * the end of this turn, nhome_flush). */
void		 nhome_restored(struct nhome *, const Lb__TaskRecord *);
int		 nhome_saving(struct nhome *, Lb__TaskRecord *);

/*
 * The tick: `alive`, the live members now.  Records ended `keep_ms` ago
 * by the wall clock are let go, the set follows the members, tasks taken
 * over while this home was away are let go, the home lease and hold go to
 * the task core, and the stream is put.  The task core's work comes back
 * in `to`.
 */
void		 nhome_tick(struct nhome *, uint64_t now, uint64_t wall_ms,
		    const char *const *alive, size_t n, struct tasks_out *to);
/* Group commit: what was saved since the last put, at once. */
void		 nhome_flush(struct nhome *, uint64_t now);
/* ReplicaPut, ReplicaAck, HomeVote, HomeVoteReply, HomeActing. */
void		 nhome_recv(struct nhome *, uint64_t now, const char *from,
		    const Lb__PeerMsg *, struct tasks_out *to);
/* At start, after the task journal: adopt again what an election won
 * before a crash left unadopted; and whether this home must wait for its
 * set before it acts (1: the task core is told so in `to`). */
void		 nhome_readopt(struct nhome *, uint64_t now,
		    struct tasks_out *to);
int		 nhome_must_wait(struct nhome *, uint64_t now);

/*
 * An effect of this home's decisions (a message to a host, a reply to a
 * client) waits until they are on a majority of its set.  0: nothing
 * waits, do it now; 1: fn(shell arg, arg, 1) is called once they are (or
 * with 0 at nhome_free); -1: too many wait, fn is not called.
 */
typedef void	 nhome_fn(void *shell_arg, void *arg, int ok);
int		 nhome_after(struct nhome *, nhome_fn *, void *arg);
int		 nhome_waits_full(const struct nhome *);
/* How far this home's stream is on a majority (all of it when it acts
 * alone): a record of a version up to here will not be lost with it. */
uint64_t	 nhome_committed(const struct nhome *);
/* Whether an effect now would wait: decisions not yet on a majority. */
int		 nhome_uncommitted(const struct nhome *);
/* Whether the core's message `a` (a PeerMsg of body `kind`) is said as a
 * task's home, and so waits (nhome_after): all but a move's offer. */
int		 nhome_holds_msg(struct tasks *, const struct tasks_action *a,
		    int kind);

/* Task `id`, homed here by its number, was taken over by another while
 * this peer was away: that one's to answer for (NULL: not given up). */
int		 nhome_gave_up(struct nhome *, const char *id);
const char	*nhome_taken_by(struct nhome *, const char *id);

struct nhome_stats {
	size_t		 waiting;
	uint64_t	 waited, wait_refused;
};
void		 nhome_stats(const struct nhome *, struct nhome_stats *);

#endif
