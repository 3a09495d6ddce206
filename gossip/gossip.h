/*
 * gossip.h - membership, load vector and failure detection, without I/O.
 *
 * A state machine: the shell feeds it the time, the gossip it receives and
 * its own load; it returns the digests to send and the changes it saw.  It
 * never reads a clock, a socket or a process, so tests drive it with a fake
 * clock and a seeded generator, and a simulator can run thousands of them.
 *
 * Every member's entry is versioned by (incarnation, heartbeat): the larger
 * wins.  Each entry travels with its age, the time since its origin made
 * that version, summed over the hops; the receiver keeps born = now - age.
 * Failure detection is SWIM with Lifeguard (gossip/swim.c): probes, then
 * suspicion spread as notices and refuted by the suspect at a higher
 * `refute` (SWIM's incarnation; `incarnation` here is the process life),
 * dead when the suspicion times out, sooner the more peers confirm it.
 * Heartbeat ages stay as a backstop: a member whose freshest news is older
 * than suspect_ms is suspect, older than dead_ms dead.  Dead and left
 * entries stay forget_ms, and news older than dead_ms never creates an
 * entry, so stale gossip cannot bring a dead peer back.
 */
#ifndef LB_GOSSIP_H
#define LB_GOSSIP_H

#include <stddef.h>
#include <stdint.h>

#include "src/conf.h"
#include "src/util.h"

#define GOSSIP_ATTRS_MAX	256
#define GOSSIP_ACCUSERS_MAX	8	/* accusers kept per suspicion */
#define GOSSIP_NOTICES_MAX	8	/* notices per digest */

enum gossip_state {
	GOSSIP_ALIVE = 0,	/* fresh news within suspect_ms */
	GOSSIP_SUSPECT,		/* no fresh news for suspect_ms */
	GOSSIP_DEAD,		/* no fresh news for dead_ms */
	GOSSIP_LEFT		/* said it was leaving */
};

/* One member's entry as it travels. */
struct gossip_entry {
	char		id[LB_ID_MAX];
	char		addr[LB_ADDR_MAX];
	uint64_t	incarnation;
	uint64_t	heartbeat;
	int		left;		/* this version says it left */
	uint32_t	age_ms;		/* on the wire: time since made */
	uint32_t	load;
	uint32_t	slots;
	char		attrs[GOSSIP_ATTRS_MAX];	/* comma-separated */
	int		draining;	/* takes no task from balancing */
	uint64_t	refute;		/* raised by the member to refute */
	uint32_t	level;		/* its protocol level (fixed for an
					 * incarnation) */
	uint32_t	running, waiting;	/* its tasks as they are (load
					 * is what balancing counts) */
};

/*
 * What this peer knows of a member: the fields of its entry, compact.  The
 * strings are the table's shared copies (gossip/strpool.h), never NULL;
 * they change only as the core merges news.  A table of 10,000 members is
 * about 1.2 MB, not 6 (lbsim holds 10,000 of them: doc/scale.md).
 */
struct gossip_known {
	uint8_t		 left, draining;
	uint32_t	 load, slots, level, running, waiting;
	const char	*id, *addr, *attrs;
	uint64_t	 incarnation, heartbeat;
	uint64_t	 refute;
};

/* The fields every pass over the table reads come first, with e.left
 * right after them: one cache line a member, not two. */
struct gossip_member {
	uint64_t		born_ms;	/* local time the version was made */
	uint64_t		news_ms;	/* local time of its last news, or 0 */
	uint64_t		state_ms;	/* local time of the last state change */
	uint8_t			state;		/* enum gossip_state */
	uint8_t			self;
	/* SWIM: suspected (or declared dead) at e.refute; a higher refute
	 * clears it. */
	uint8_t			suspected, swim_dead;
	uint8_t			naccusers;
	/* digest.c: the last digest it went into */
	uint32_t		mark;
	uint32_t		sumh;	/* its id's hash, for bucket sums */
	struct gossip_known	e;
	uint64_t		susp_ms;	/* local time the suspicion began */
	/* GOSSIP_ACCUSERS_MAX ids, allocated at the first accusation and
	 * freed with the entry: most members are never suspected. */
	char			(*accusers)[LB_ID_MAX];
};

/* A suspicion or a death notice, as it travels. */
struct gossip_notice {
	char		id[LB_ID_MAX];		/* the suspect */
	uint64_t	incarnation, refute;	/* of the suspect */
	char		accuser[LB_ID_MAX];
	int		dead;
};

/* A SWIM probe message, to send or received. */
enum gossip_swim_type { GOSSIP_PING, GOSSIP_PING_ACK, GOSSIP_PING_REQ };
struct gossip_swim {
	enum gossip_swim_type	type;
	char			to[LB_ADDR_MAX];	/* out: where */
	uint64_t		seq;
	char			target[LB_ID_MAX];
	/* Ping: the sender's address; PingReq: the target's. */
	char			addr[LB_ADDR_MAX];
	int			nack;			/* PingAck */
};

/* A digest, to send or received. */
struct gossip_msg {
	char			 to[LB_ADDR_MAX];
	int			 want_reply;
	uint32_t		 known;	/* members the sender knows, dead aside */
	size_t			 n;
	struct gossip_entry	*entries;
	char			(*wants)[LB_ID_MAX];	/* ids it wants news of */
	size_t			 nwants;
	struct gossip_notice	*notices;	/* suspicions, deaths */
	size_t			 nnotices;
	/* Bucket sums of the sender's table (0 or a power of two, at most
	 * GOSSIP_SUMS_MAX): how many members in each bucket (by
	 * gossip_sum_hash(id)) and the XOR of a hash of each one's id and
	 * version (sums.c). */
	uint32_t		*sum_n;
	uint32_t		*sum_x;
	size_t			 nsums;
};
#define GOSSIP_SUMS_MIN		4
#define GOSSIP_SUMS_MAX		1024
/* The hash of an id whose low bits are its bucket. */
uint32_t	gossip_sum_hash(const char *id);

/* A member changed state (for the log). */
struct gossip_change {
	char			id[LB_ID_MAX];
	enum gossip_state	from, to;	/* from == to: a new member */
	uint64_t		incarnation;
	int			restarted;	/* a new incarnation of it */
};

/* The actions of one call.  Reset it between calls. */
struct gossip_out {
	struct gossip_msg	*msgs;
	size_t			 nmsgs, capmsgs;
	struct gossip_change	*changes;
	size_t			 nchanges, capchanges;
	struct gossip_swim	*swims;
	size_t			 nswims, capswims;
};

/* Counters of the failure detector. */
struct gossip_swim_stats {
	uint64_t	probes;		/* probes started */
	uint64_t	probes_failed;	/* no ack, direct or indirect */
	uint64_t	suspicions;	/* members this peer suspected itself */
	uint64_t	refutes;	/* times this peer refuted a suspicion */
	uint64_t	bad;		/* malformed probe messages dropped */
	int		awareness;	/* local health score, 0 is healthy */
};

struct gossip;

/* A core for `self` (its id, addr, incarnation, slots, attrs). */
struct gossip	*gossip_new(const struct lb_gossip_conf *,
		    const struct gossip_entry *self, uint64_t now,
		    uint64_t seed);
/* The same, its strings kept in `pool` (shared by the cores of one
 * process, as lbsim's are; the caller frees it after them); NULL: a pool
 * of its own. */
struct strpool;
struct gossip	*gossip_new_in(const struct lb_gossip_conf *,
		    const struct gossip_entry *self, uint64_t now,
		    uint64_t seed, struct strpool *pool);
/* Room for n members at once, where the caller knows how many will come
 * (lbsim): the table does not grow past what it needs. */
void		 gossip_reserve(struct gossip *, size_t n);
void		 gossip_free(struct gossip *);
/* Addresses to join through; the peer's own address is skipped. */
void		 gossip_add_seed(struct gossip *, const char *addr);

/* One gossip round: judge ages, forget, send a digest to one peer. */
void		 gossip_tick(struct gossip *, uint64_t now, struct gossip_out *);
/* A digest arrived from `from` (the envelope's sender); `to` is unused. */
void		 gossip_recv(struct gossip *, uint64_t now, const char *from,
		    const struct gossip_msg *, struct gossip_out *);
/* Set this peer's load; a change makes a new version to spread. */
void		 gossip_set_load(struct gossip *, uint32_t load);
/* This peer's tasks running and waiting: a change spreads as load does. */
void		 gossip_set_tasks(struct gossip *, uint32_t running,
		    uint32_t waiting);
/* This peer drains, or no longer does: a change spreads as load does. */
void		 gossip_set_draining(struct gossip *, int draining);
/* This peer leaves: say so to up to `fanout` live peers. */
void		 gossip_leave(struct gossip *, uint64_t now, int fanout,
		    struct gossip_out *);

/* The members, this peer first; valid until the next call that changes it. */
const struct gossip_member *gossip_members(const struct gossip *, size_t *n);
const struct gossip_member *gossip_find(const struct gossip *, const char *id);
/* Entries of new members ignored because the table held max_members. */
uint64_t	 gossip_refused(const struct gossip *);
/* Failure detections: how often a member was judged dead here. */
uint64_t	 gossip_deaths(const struct gossip *);
/* suspect_ms or dead_ms as they apply with this many members: grown in
 * proportion to members / digest_size past 64 members at 24 entries. */
uint64_t	 gossip_age_limit(const struct gossip *, int conf_ms);
/* A member's entry as it travels at `now` (compact: a heartbeat, without
 * address, slots, level and attributes). */
void		 gossip_wire(const struct gossip_member *, uint64_t now,
		    int compact, struct gossip_entry *);
/* The age of a member's freshest news at `now`. */
uint64_t	 gossip_age(const struct gossip_member *, uint64_t now);
const char	*gossip_state_name(enum gossip_state);

/*
 * SWIM (gossip/swim.c).  gossip_swim_tick runs what is due at `now` (a
 * probe to start, timeouts, suspicions that ran out) and returns the
 * local time it wants to be called again (UINT64_MAX: never, SWIM off).
 * gossip_swim_recv takes a Ping, PingAck or PingReq from member `from`
 * (the envelope's sender); -1: malformed, dropped and counted.
 */
uint64_t	 gossip_swim_tick(struct gossip *, uint64_t now,
		    struct gossip_out *);
uint64_t	 gossip_swim_next(const struct gossip *);
int		 gossip_swim_recv(struct gossip *, uint64_t now,
		    const char *from, const struct gossip_swim *,
		    struct gossip_out *);
void		 gossip_swim_stats(const struct gossip *,
		    struct gossip_swim_stats *);
/* The current suspicion timeout of a suspected member (ms). */
uint64_t	 gossip_suspicion_timeout(const struct gossip *,
		    const struct gossip_member *);

void		 gossip_out_reset(struct gossip_out *);
void		 gossip_out_free(struct gossip_out *);

#endif
