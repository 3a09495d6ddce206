/*
 * balance.h - dynamic load balancing, as a core without I/O.
 *
 * The four policies of the classical model (Eager, Lazowska and Zahorjan;
 * Shivaratri, Krueger and Singhal):
 *
 * - information: the load vector gossip keeps (the shell passes it in);
 * - transfer: two thresholds on the load (running + waiting tasks): above
 *   `upper` a peer is a sender, below `lower` a receiver, and the band
 *   between them is neutral, so that handing over one task does not flip a
 *   peer's role (hysteresis);
 * - location: poll up to probe_limit peers one after another, chosen at
 *   random or from the load vector (least loaded first for a sender, most
 *   loaded for a receiver, at random among the best few so that senders do
 *   not herd); after probe_limit refusals, back off (doubling up to a
 *   maximum, reset by a success).  A peer that accepts an offer reserves
 *   capacity for reserve_ms;
 * - selection: a newly submitted task first, then the oldest waiting task
 *   that may move (not pinned, not moved max_moves times, and whose needs
 *   the destination meets).  With `preempt`, a running task that can
 *   checkpoint comes before them when it has lived longer than its move
 *   costs (and been here that long) and two or more wait behind it: the
 *   one oldest for its cost.  Under
 *   heavy-tailed lifetimes an old task will likely live long, so its move
 *   pays, and it frees the slot for the new, mostly short, ones queued
 *   behind it (Harchol-Balter and Downey, SIGMETRICS 1996).
 *
 * Every decision is a function of the state, the event, the time and a
 * seeded generator: the shell feeds events and carries out the actions.
 */
#ifndef LB_BALANCE_H
#define LB_BALANCE_H

#include <stddef.h>
#include <stdint.h>

#include "src/util.h"

enum balance_policy {
	BALANCE_NONE = 0,	/* every task stays where it was submitted */
	BALANCE_SENDER,		/* busy peers offer tasks */
	BALANCE_RECEIVER,	/* idle peers ask for tasks */
	BALANCE_SYMMETRIC	/* both */
};

enum balance_location {
	LOCATION_RANDOM = 0,	/* candidates at random */
	LOCATION_VECTOR,	/* the best candidates by the load vector */
	LOCATION_MIXED		/* offers by the vector, requests at random */
};

enum balance_role {
	ROLE_NEUTRAL = 0,	/* between the thresholds */
	ROLE_SENDER,		/* load above upper */
	ROLE_RECEIVER		/* load below lower */
};

struct balance_conf {
	enum balance_policy	policy;
	enum balance_location	location;
	int	lower;		/* receiver below this load; -1: slots */
	int	upper;		/* sender above this load; -1: slots */
	int	probe_limit;	/* polls per round */
	int	probe_timeout_ms;
	int	reserve_ms;	/* an accepted offer holds capacity this long */
	int	backoff_ms;	/* after probe_limit refusals */
	int	backoff_max_ms;
	int	max_moves;	/* a task moves at most this often before it starts */
	int	preempt;	/* running tasks that can checkpoint move too */
	/* Idle hints (join-idle-queue, decentralized): a peer that asks for
	 * work is idle, so the peers it asked remember it for hint_ms and
	 * offer it their next task before any other; a peer that becomes
	 * idle tells idle_notify peers at random (0: none). */
	int	hints;
	int	hint_ms;
	int	idle_notify;
};

/* A peer as the load vector shows it. */
struct balance_peer {
	const char	*id;
	uint32_t	 load;
	uint32_t	 slots;
	const char	*attrs;		/* comma-separated */
};

/* A waiting task that the shell could move. */
struct balance_task {
	const char	*id;
	int		 pinned;	/* --pin: never moves */
	uint32_t	 moves;		/* times it has moved */
	const char	*needs;		/* comma-separated attributes */
	uint64_t	 queued_ms;	/* when it arrived here */
	int		 fresh;		/* submitted here and never queued long */
	const char	*pin;		/* the node it must run on, or "" */
	/* A running task that can checkpoint (offered with preempt only):
	 * how long it has lived, how long it has been here, and what a move
	 * of it costs (its checkpoint and freeze), all in ms. */
	int		 running;
	uint64_t	 age_ms, here_ms, cost_ms;
	const char	*avoid;		/* nodes where it could not start
					 * (comma list, or NULL): never there */
};

enum balance_action_kind {
	BA_OFFER = 1,	/* ask `peer` to take a task (sender-initiated) */
	BA_REQUEST,	/* ask `peer` for a task (receiver-initiated) */
	BA_ACCEPT,	/* answer `peer`'s probe req_id: yes */
	BA_REFUSE,	/* answer `peer`'s probe req_id: no */
	BA_TRANSFER,	/* send `task` to `peer` */
	BA_IDLE		/* tell `peer` this one is idle (no answer) */
};

struct balance_action {
	enum balance_action_kind kind;
	char		peer[LB_ID_MAX];
	char		task[LB_ID_MAX + 24];
	uint64_t	req_id;
	int		must;	/* BA_OFFER: the task cannot run here */
	char		hint[LB_ID_MAX];	/* BA_REFUSE of an offer: a peer
					 * seen idle to offer it to instead,
					 * or "" */
};

struct balance_out {
	struct balance_action	*v;
	size_t			 n, cap;
};

/* What happened, for `lbctl stats`. */
struct balance_stats {
	uint64_t	probes_sent;
	uint64_t	probes_accepted;	/* our probes that were accepted */
	uint64_t	probes_refused;
	uint64_t	probes_timed_out;
	uint64_t	backoffs;
	uint64_t	offers_taken;		/* offers we accepted */
	uint64_t	requests_served;	/* requests we gave a task to */
	uint64_t	idle_sent;		/* idle notices sent */
	uint64_t	idle_heard;		/* ... and received */
	uint64_t	hint_offers;		/* offers to a peer hinted idle */
	uint64_t	hint_taken;		/* ... that it accepted */
	uint64_t	redirects;		/* refusals that named another */
	uint64_t	released;		/* slots held, freed by a release */
};

struct balance;

struct balance	*balance_new(const struct balance_conf *, const char *self,
		    const char *self_attrs, uint64_t seed);
void		 balance_free(struct balance *);

/* The role a load gives with these slots. */
enum balance_role balance_role(const struct balance *, uint32_t load,
		    uint32_t slots);
/*
 * Look at the state and maybe start polling.  `load` is this peer's;
 * `peers` the others that are alive; `tasks` the waiting tasks that may
 * move, in arrival order.
 */
void		 balance_tick(struct balance *, uint64_t now, uint32_t load,
		    uint32_t slots, const struct balance_peer *, size_t npeers,
		    const struct balance_task *, size_t ntasks,
		    struct balance_out *);
/* Whether balance_tick, called now with these, would look at the peers
 * (else the shell may pass none, and spare building the vector). */
int		 balance_needs_peers(struct balance *, uint64_t now,
		    uint32_t load, uint32_t slots, const struct balance_task *,
		    size_t ntasks);
/* When the core would look again (a probe's deadline, its backoff's
 * end), or 0: the shell's next tick need not wait longer. */
uint64_t	 balance_wake(const struct balance *, uint64_t now);
/* The answer to our probe req_id (accepted or not); then as balance_tick. */
void		 balance_answer(struct balance *, uint64_t now, uint64_t req_id,
		    int accepted, struct balance_out *);
/* The same, a refusal naming `hint` (BA_REFUSE's hint: asked next). */
void		 balance_answer_hint(struct balance *, uint64_t now,
		    uint64_t req_id, int accepted, const char *hint,
		    struct balance_out *);
/*
 * Someone offers us a task needing `needs`: accept or refuse.  `must`: it
 * cannot run where it is (pinned here, or needs what only we have), so a
 * peer that can run it takes it whatever its load.
 */
void		 balance_offer(struct balance *, uint64_t now, const char *from,
		    uint64_t req_id, uint32_t load, uint32_t slots,
		    const char *needs, int must, struct balance_out *);
/* A draining peer takes no task (it refuses every offer), asks for none,
 * and every task it has must move (unless pinned to it). */
void		 balance_set_draining(struct balance *, int);
/* Whether a task cannot run here and must move (pin, needs, a drain). */
int		 balance_must_move(const struct balance *,
		    const struct balance_task *);
/* Someone asks us for a task: transfer one to it, or refuse. */
void		 balance_request(struct balance *, uint64_t now,
		    const char *from, const char *from_attrs, uint64_t req_id,
		    uint32_t load, uint32_t slots, const struct balance_task *,
		    size_t ntasks, struct balance_out *);
/* Peer `from` says it is idle (BA_IDLE). */
void		 balance_idle(struct balance *, uint64_t now, const char *from);
/* The task of `from`'s offer req_id, accepted here, will not come (it
 * started where it was, or went elsewhere): the capacity held for it is
 * free.  -1 when none is held for it (a release twice, or late). */
int		 balance_release(struct balance *, uint64_t now, const char *from,
		    uint64_t req_id);
/* A task arrived (a reservation is used up). */
void		 balance_arrived(struct balance *, uint64_t now);
/* Capacity reserved by accepted offers, at `now`. */
uint32_t	 balance_reserved(struct balance *, uint64_t now);
/* Pick the task to move to a peer with `attrs` (NULL: none), named `to`
 * (NULL: any). */
const struct balance_task *balance_select(const struct balance *,
		    const struct balance_task *, size_t n, const char *attrs,
		    const char *to);
/* Whether every attribute in `needs` is in `attrs` (comma lists). */
int		 balance_attrs_ok(const char *needs, const char *attrs);
const struct balance_stats *balance_stats(const struct balance *);
const char	*balance_policy_name(enum balance_policy);

void		 balance_out_reset(struct balance_out *);
void		 balance_out_free(struct balance_out *);

#endif
