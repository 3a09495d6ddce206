/*
 * fwd.h - finding a task that moved, and messages to tasks, as a core
 * without I/O.
 *
 * One `struct fwd` is what one peer knows for messages: the links (task id
 * -> the next peer, the epoch it points at, when it was last used), the
 * mailboxes of the tasks held here, and the outbox of the messages this
 * peer sends and retries until they are acknowledged.
 *
 * A message to a task goes, at each peer, where the first of these says
 * (DEMOS/MP's links, Sprite's home, V's query, in that order):
 *   1. the task is held here: into its mailbox (delivered);
 *   2. it is moving here (frozen, or arrived and not committed): "wait",
 *      and the origin tries again soon;
 *   3. it has ended: refused, with its state;
 *   4. this is its home: to the host its record names;
 *   5. a link to a live peer not on the message's path: along it;
 *   6. a replica acts for its home (the task core was told, as every
 *      peer is when a replica takes over), alive and not on the path:
 *      to it, as to the home (even once the home is back);
 *   7. its home is alive and not on the path: to the home;
 *   8. else every live peer is asked who holds it (TaskLocate), and the
 *      origin tries again: the holder's answer makes a link.
 * Each peer adds itself to the message's path.  The holder acknowledges to
 * the origin (TaskMsgAck: where it is, at which epoch) and tells every
 * peer on the path where the task is (TaskLocation): path compression, so
 * that the next message takes one hop.  A link is replaced only by one of
 * the same or a newer epoch, and expires link_keep_s after its last use.
 *
 * Exactly once, in order: a message is named by (sender, seq), seq rising
 * with each message of a sender.  The outbox sends one message at a time
 * per (sender, task), the next only once the one before is acknowledged,
 * so a mailbox takes a message whose seq is above the last it took from
 * that sender, and acknowledges a lower one as a duplicate without taking
 * it again.  A mailbox moves with its task (its messages and what it took
 * from each sender travel in the Transfer); while the task moves, messages
 * wait at their senders, who retry.
 *
 * Messages outlive their holder: a holder that is not the task's home
 * sends the home a copy of a new message (MailCopy) and takes it into the
 * mailbox, and acknowledges it, only once the home answers that it keeps
 * it (while the home is seen dead, it takes messages without: they do not
 * outlive the holder then); a home that holds its task keeps its own
 * copy.  The home keeps
 * them (FA_KEEP: the shell writes them to disk) until a checkpoint it
 * holds covers them (fwd_checkpointed) or the task ends; a run of the task
 * that starts again at its home from there (fwd_replay) has them all in
 * its mailbox again.
 *
 * What the core needs to know of tasks it asks the shell (fwd_env), which
 * answers from the task core: where a task is, as this peer knows it, and
 * whether a peer is alive.  Time is a parameter; nothing here reads a
 * clock, a socket or a file.
 */
#ifndef LB_FWD_H
#define LB_FWD_H

#include <stddef.h>
#include <stdint.h>

#include "src/lbpeer.pb-c.h"
#include "src/util.h"

#define FWD_ID_MAX	(LB_ID_MAX + 24)	/* a task id or a node id */
#define FWD_MAX_HOPS	16	/* a longer path is dropped (a loop) */

struct fwd_conf {
	size_t		 max_links;
	int		 link_keep_s;	/* a link unused this long expires */
	size_t		 max_mailboxes;	/* tasks with a mailbox here */
	size_t		 mbox_msgs;	/* messages in one mailbox */
	size_t		 mbox_bytes;	/* their bytes */
	size_t		 msg_max;	/* bytes of one message */
	size_t		 max_senders;	/* senders a mailbox remembers */
	size_t		 outbox_max;	/* messages this peer is sending */
	int		 retry_ms;	/* first retry, doubling ... */
	int		 retry_max_ms;	/* ... up to this */
	/* Homes have replicas (task.home_replicas > 1, with leases): a
	 * message for a task whose home is dead waits (MSG_WAIT, the
	 * sender tries again until its deadline) until a replica acts for
	 * the home, or the home is back, rather than be acknowledged
	 * without a copy that would not outlive its holder's placement.
	 * (The task itself is frozen meanwhile: its lease has run out.) */
	int		 home_failover;
};

/* What this peer knows of a task (the shell asks its task core). */
enum fwd_here {
	FWD_NOTHING = 0,	/* nothing but maybe a link */
	FWD_HELD,		/* held here, queued or running: its mailbox */
	FWD_MOVING,		/* held here but moving, or stopping: wait */
	FWD_ENDED,		/* it has ended (state) */
	FWD_AT			/* its home's record: it is at host, epoch */
};

struct fwd_where {
	enum fwd_here	 here;
	char		 host[LB_ID_MAX];	/* FWD_AT */
	uint32_t	 epoch;			/* FWD_HELD, FWD_AT */
	char		 state[24];		/* FWD_ENDED */
	char		 link[LB_ID_MAX];	/* a link the task core left
						 * when the task moved away */
	uint32_t	 link_epoch;
	/* The peer acting as its home, as known here (this one, when it
	 * is; a replica that took over, when this peer was told), or "":
	 * the one its id names. */
	char		 home[LB_ID_MAX];
};

struct fwd_env {
	void	*arg;
	void	 (*where)(void *, const char *id, struct fwd_where *);
	int	 (*alive)(void *, const char *peer);
};

enum fwd_action_kind {
	FA_SEND = 1,	/* send `msg` (a packed PeerMsg) to peer `to` */
	FA_LOCATE,	/* send `msg` (a TaskLocate) to every live peer */
	FA_DONE,	/* a send of this peer ended: `res` */
	FA_MAIL,	/* the mailbox of `id` has a message now */
	FA_TAIL,	/* a tail probe reached the holder (here): send
			 * `to` a TaskMsgAck with the output of `id` from
			 * `tail_offset` (`res`: host, epoch, path) */
	FA_CHECKPOINT,	/* a checkpoint probe reached the holder (here):
			 * ask the task to checkpoint, and tell `to` (a
			 * TaskMsgAck, its detail why not) */
	FA_KEEP		/* home: the messages kept for `id` changed: add
			 * `msg` (a packed MailMsg) to what is on disk, or,
			 * with no `msg`, write them all anew
			 * (fwd_keep_export; none: remove the file) */
};

/* How a send ended. */
struct fwd_result {
	uint64_t	 handle;
	int		 done;		/* 0: its deadline passed */
	Lb__MsgStatus	 status;
	char		 host[LB_ID_MAX];
	uint32_t	 epoch;
	char		 detail[96];
	char		 sender[FWD_ID_MAX];
	uint64_t	 seq;
	size_t		 nhops;		/* the peers passed after this one */
	char		 hops[FWD_MAX_HOPS + 1][LB_ID_MAX];
	ProtobufCBinaryData tail;	/* a tail: its output (owned) */
};

struct fwd_action {
	enum fwd_action_kind	 kind;
	char			 id[FWD_ID_MAX];
	char			 to[LB_ID_MAX];
	uint8_t			*msg;		/* owned by the list */
	size_t			 len;
	struct fwd_result	 res;
	uint64_t		 probe_req;	/* FA_TAIL */
	uint64_t		 tail_offset;
	int			 tail_stderr;
};

struct fwd_out {
	struct fwd_action	*v;
	size_t			 n, cap;
};

struct fwd_stats {
	uint64_t	sent;		/* messages this peer sent (first try) */
	uint64_t	retries;
	uint64_t	acked;		/* sends that ended delivered */
	uint64_t	refused;	/* sends that ended refused */
	uint64_t	timed_out;
	uint64_t	delivered;	/* into mailboxes here */
	uint64_t	duplicates;	/* copies acknowledged, not taken */
	uint64_t	forwarded;	/* passed on along a link */
	uint64_t	to_home;	/* passed to the home: no link */
	uint64_t	to_acting;	/* passed to a replica acting for a
					 * dead home */
	uint64_t	queries;	/* TaskLocate asked: home out of reach */
	uint64_t	full;		/* refused: mailbox full */
	uint64_t	received;	/* taken out of mailboxes by tasks */
	uint64_t	compressions;	/* TaskLocation sent */
	uint64_t	drop_invalid;	/* malformed messages */
	uint64_t	drop_loop;	/* a path too long */
	uint64_t	kept;		/* home: copies of messages kept */
	uint64_t	unkept_marked;	/* home: a copy a checkpoint here took
					 * let go to keep a new one */
	uint64_t	unkept;		/* home: no room to keep one: taken
					 * without a copy */
	uint64_t	copies;		/* holder: copies sent to homes */
	uint64_t	waits_home;	/* holder: told to wait, the home
					 * dead and no replica acting yet */
	/* Hops of the messages delivered here: hops[i] counts those that
	 * took i + 1 hops, the last all the longer ones. */
#define FWD_HOPS_BUCKETS	8
	uint64_t	hops[FWD_HOPS_BUCKETS];
	uint64_t	hops_sum;
};

struct fwd;

struct fwd	*fwd_new(const struct fwd_conf *, const char *self,
		    const struct fwd_env *);
void		 fwd_free(struct fwd *);

/*
 * Send `body` to task `id` from `sender` (a task held here, or this node).
 * Its seq is above every one `sender` used since `base` was given: the
 * shell makes base rise with every life of the sender (a node's
 * incarnation, a task's epoch and start).  The result comes as FA_DONE
 * with *handle, by `deadline` at the latest.  -1 and why (a bad id or
 * size, the outbox full).
 */
int		 fwd_send(struct fwd *, uint64_t now, const char *sender,
		    uint64_t base, const char *id, const void *body,
		    size_t len, uint64_t deadline, uint64_t *handle,
		    struct fwd_out *, char **cause);
/* Find the holder of `id` and the path to it (lbctl locate), or ask it
 * for the task's output from `offset` (lbctl tail), or to checkpoint. */
enum fwd_probe { FP_LOCATE = 0, FP_TAIL, FP_CHECKPOINT };
int		 fwd_probe(struct fwd *, uint64_t now, const char *id,
		    enum fwd_probe, uint64_t offset, int tail_stderr,
		    uint64_t deadline, uint64_t *handle, struct fwd_out *,
		    char **cause);
/* Messages from peer `from`: TaskMsg, TaskMsgAck, TaskLocation,
 * TaskLocate.  0, or -1 when it is none of them. */
int		 fwd_recv(struct fwd *, uint64_t now, const char *from,
		    const Lb__PeerMsg *, struct fwd_out *);
/* Retries, deadlines, expiry, and mailboxes of tasks no longer here. */
void		 fwd_tick(struct fwd *, uint64_t now, struct fwd_out *);
/* Learn that `id` is at `peer` in placement `epoch`. */
void		 fwd_learn(struct fwd *, uint64_t now, const char *id,
		    const char *peer, uint32_t epoch);
/* The link this peer has for `id`: 0 and the peer, or -1. */
int		 fwd_link(const struct fwd *, const char *id, char *peer,
		    uint32_t *epoch);

/* Mailboxes. */
/* The oldest message of `id`'s mailbox, taken out (free it with
 * lb__mail_msg__free_unpacked), or NULL. */
Lb__MailMsg	*fwd_take(struct fwd *, const char *id);
/* A copy of the oldest message of task `id`'s mailbox, left in it (free
 * with lb__mail_msg__free_unpacked), or NULL. */
Lb__MailMsg	*fwd_peek(const struct fwd *, const char *id);
size_t		 fwd_mailbox_count(const struct fwd *, const char *id,
		    size_t *bytes);
/* A mailbox as it travels: its messages, oldest first, and the last seq
 * taken from each sender. */
struct fwd_box {
	size_t		  n, ns;
	Lb__MailMsg	**v;
	Lb__MailSeen	**s;
	/* (a home's keep: what a checkpoint only the home holds took,
	 * MailboxKeep.checkpointed) */
	size_t		  nck;
	Lb__MailSeen	**ck;
};
/* `id`'s mailbox (or what an ended one took) to send along, in a
 * Transfer, a TaskReturn or a result; it stays here until the task is not
 * here any more.  Free with fwd_export_free. */
void		 fwd_export(const struct fwd *, const char *id, struct fwd_box *);
void		 fwd_export_free(struct fwd_box *);
/* A Transfer or a TaskReturn brought `id`'s mailbox: it is the one here
 * now, all of it. */
void		 fwd_import(struct fwd *, uint64_t now, const char *id,
		    const struct fwd_box *);
/* The result of `id` came with what its mailbox took (the home keeps it:
 * a sender's retry after the end is told "delivered"). */
void		 fwd_ended(struct fwd *, uint64_t now, const char *id,
		    const struct fwd_box *);
/* Home: the messages kept for `id`, read back at start (`unmark`: no
 * checkpoint here took any: a replica's copies, taken over). */
void		 fwd_keep_load(struct fwd *, uint64_t now, const char *id,
		    const struct fwd_box *, int unmark);
/* Home: the messages kept for `id` (to write them): free with
 * fwd_export_free. */
void		 fwd_keep_export(const struct fwd *, const char *id,
		    struct fwd_box *);
/* Home: how many of `id`'s kept messages no checkpoint it holds took. */
size_t		 fwd_kept_unmarked(const struct fwd *, const char *id);
/* Home: every task with kept messages. */
void		 fwd_each_keep(const struct fwd *,
		    void (*)(void *, const char *id), void *);
/* What task `id`, held here, has taken from its mailbox: from each
 * sender, up to which seq (into b->s; free with fwd_export_free). */
void		 fwd_consumed(const struct fwd *, const char *id,
		    struct fwd_box *);
/* Home: a checkpoint of `id` that the home holds now has in it what
 * `consumed` names (fwd_consumed's, when it was written): those kept
 * messages go; with home_failover they stay, marked (the checkpoint is
 * the home's alone: a replica that takes over runs the task from its
 * start, and needs them all). */
void		 fwd_checkpointed(struct fwd *, const char *id,
		    const struct fwd_box *consumed, struct fwd_out *);
/* Home: `id` runs again at its home, from the home's checkpoint or (with
 * `from_start`) from its start: its mailbox is what the home kept (from
 * the checkpoint, less what it took), and after it what the mailbox here
 * has above that (taken without a copy, handed back).  1: from its start,
 * the marks went (the keep is to be written anew). */
int		 fwd_replay(struct fwd *, uint64_t now, const char *id,
		    int from_start);
/* Add to `id`'s mailbox what `b` has above what it took from each sender
 * (a mailbox saved across a stop, after a replay). */
void		 fwd_merge(struct fwd *, uint64_t now, const char *id,
		    const struct fwd_box *);
/* Every mailbox here, by task id (for keeping them across a stop). */
void		 fwd_each_mailbox(const struct fwd *,
		    void (*)(void *, const char *id), void *);
/* The task is not held here any more: its mailbox goes. */
void		 fwd_drop(struct fwd *, const char *id);

const struct fwd_stats *fwd_stats(const struct fwd *);
size_t		 fwd_counts(const struct fwd *, size_t *mailboxes,
		    size_t *outbox);

/* A sender: a node id, or a task id "NODE.SEQ". */
int		 fwd_sender_valid(const char *);
int		 fwd_task_valid(const char *);

void		 fwd_out_reset(struct fwd_out *);
void		 fwd_out_free(struct fwd_out *);

#endif
