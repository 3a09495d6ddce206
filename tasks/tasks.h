/*
 * tasks.h - the task protocol, as a core without I/O.
 *
 * One `struct tasks` is what one peer knows of tasks: the records of the
 * tasks homed here (the home's word is final: where a task is, its epoch,
 * its result), the placements held here (a task queued, running, or ended
 * and waiting for its home to take the result), and the links that moves
 * left behind.  Events go in (a submit, a message, a process that started or
 * ended, a peer dead or back at a new incarnation, a tick); actions come out
 * (messages to send, records to journal, processes to start or stop, files
 * to drop).  It reads no clock, socket, file or process: time is a
 * parameter, and the shell in peer/ carries the actions out, in order.
 *
 * The protocol (doc/protocol.md has the whole of it):
 *
 * - A placement of a task is named by (epoch, epoch_by): a counter and the
 *   node that allocated it.  A node allocates above every counter it has
 *   seen for the task and journals the allocation before it is used, so no
 *   two placements ever share an epoch.
 * - Only the home changes where a task is.  A move is prepared by the
 *   source (Transfer: the destination holds the task, not runnable) and
 *   committed or aborted by the home (TaskMove), which commits only a move
 *   away from its current placement and above its fence (epoch_floor).
 *   Both sides ask until the home answers, so a lost message delays a move
 *   but never splits a task.
 * - A holder tells the home of a start and of the end (TaskNotice, with the
 *   result), retried with capped backoff and journaled where it matters,
 *   until acknowledged.  The acknowledgement carries the home's verdict:
 *   go on, or stop (another placement replaced this one, or the task has
 *   its result).  The first result to reach the home is recorded, once; a
 *   complete run of an older placement is kept rather than thrown away, and
 *   the current placement is stopped (TaskStop, retried until acknowledged).
 * - When the host of a placement dies, or comes back at a new incarnation
 *   without having confirmed the placement, the home runs the task again in
 *   a new placement of its own.
 * - A draining host hands a placement back (TaskReturn, retried until
 *   acknowledged) once its process, if any, has exited; the home places
 *   the task anew as on a death, only if the placement is its current one.
 * - Leases (lease_ms > 0): a host starts or keeps running a placement of a
 *   task homed elsewhere only while its home confirms it (LeaseAsk, every
 *   lease_ms / 4, one per home; the LeaseGrant echoes the time the host
 *   asked, and the lease lasts lease_ms from then).  Near the end of a
 *   lease a checkpointable task is asked to checkpoint; at the end the
 *   process is frozen (TA_FREEZE) until the home confirms again (TA_THAW)
 *   or says another placement replaced it (it is stopped).  A home that
 *   hears its host is dead runs the task again only once the host has been
 *   silent for lease_ms (+1% for clock rates) + lease_margin_ms; a host
 *   that restarted at a new incarnation lost its processes, so that rerun
 *   is at once.
 */
#ifndef LB_TASKS_H
#define LB_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "src/lbpeer.pb-c.h"
#include "src/util.h"

#define TASKS_ID_MAX	(LB_ID_MAX + 24)	/* "<node>.<seq>" with its NUL */
#define TASKS_INLINE	512	/* output up to this stays in the record */
#define TASKS_START_FAILURES_MAX 16	/* task.max_start_failures at most */

/* What a placement held here is doing. */
enum tasks_hold {
	HOLD_NONE = 0,	/* nothing held here (a home's record, or a link) */
	HOLD_PENDING,	/* arrived in a transfer; the home has not committed */
	HOLD_CONFIRM,	/* restored after a restart: waits for the home's word */
	HOLD_QUEUED,	/* waits for a slot */
	HOLD_RUNNING,	/* its process runs */
	HOLD_FROZEN,	/* offered to another peer; the move is not decided */
	HOLD_ENDED,	/* ended here; its result waits for the home's ack */
	HOLD_STOPPING,	/* told to stop; its process has not exited yet */
	HOLD_RETURNING	/* handed back to its home; waits for its ack */
};

struct tasks_conf {
	int		 slots;			/* processes at once */
	int		 transfer_timeout_ms;	/* no TransferAck: abort */
	int		 retry_min_ms;		/* first retry of a notice */
	int		 retry_max_ms;		/* the backoff's cap */
	int		 keep_finished_s;	/* a home forgets results then */
	size_t		 max_tasks;		/* records and placements here */
	size_t		 max_links;
	int		 link_keep_s;		/* a link expires then */
	uint64_t	 attach_limit;		/* bytes of attachments a task */
	int		 checkpoint_timeout_ms;	/* asked to checkpoint for a
						 * move: no exit by then, it
						 * stays and keeps running */
	uint32_t	 checkpoint_every_s;	/* a checkpointable task's
						 * default period, or 0 */
	int		 checkpoint_grace_ms;	/* no checkpoint signal to a
						 * process younger than this:
						 * its handler may not be
						 * there yet */
	int		 lease_ms;		/* 0: no leases */
	int		 lease_margin_ms;	/* a home waits this much more */
	int		 max_start_failures;	/* hosts a task may fail to
						 * start on (1..16); then it
						 * fails */
	int		 preempt_slice_ms;	/* 0: a running task keeps its
						 * slot; else a checkpointable
						 * one that has run this long
						 * yields it to a task waiting
						 * here that has run less */
};

/* One task as this peer knows it. */
struct tasks_task {
	Lb__TaskRecord	*rec;	/* home: the record; else: the placement's */
	int		 home;	/* homed here */
	enum tasks_hold	 hold;
	uint32_t	 h_epoch;	/* the placement held here */
	char		 h_by[LB_ID_MAX];
	uint32_t	 h_parent;	/* HOLD_PENDING: the one it replaces */
	char		 h_parent_by[LB_ID_MAX];
	char		 from[LB_ID_MAX];	/* HOLD_PENDING: the source */
	uint64_t	 pend_at;	/* ... since when (before any commit) */
	Lb__TaskRecord	*incoming;	/* HOLD_PENDING at its home: the record
					 * the Transfer brought, merged into
					 * the home's when the move commits */
	int		 mail_lost;	/* back from a crash: its mailbox
					 * is gone (TaskNotice.mailbox_lost) */
	int		 resume;	/* start from its checkpoint */
	uint64_t	 queued_at;	/* when it joined the queue (FIFO order) */
	/* The one message this task is retrying, and when. */
	int		 notice;	/* a TaskNotice to (re)send */
	int		 ask;		/* a TaskMove to (re)send */
	int		 ask_commit;	/* ... asking to commit (else abort) */
	uint64_t	 due;		/* next retry, or 0 */
	uint32_t	 backoff;	/* ms, doubling up to retry_max_ms */
	/* HOLD_FROZEN: the move out. */
	char		 move_to[LB_ID_MAX];
	uint64_t	 move_inc;	/* the destination's incarnation */
	uint32_t	 move_epoch;
	uint64_t	 move_req;
	uint64_t	 move_started;
	int		 move_acked;	/* the destination holds it */
	uint32_t	 move_ck_ms;	/* a running task that checkpointed */
	uint64_t	 move_held;	/* the destination's held_ms (its ack) */
	/* HOLD_RUNNING: asked to checkpoint so that it can move (ck_asked,
	 * or 0); when it exits with its checkpoint code it moves. */
	char		 ck_to[LB_ID_MAX];
	uint64_t	 ck_inc, ck_req;
	uint64_t	 ck_asked, ck_due;
	uint32_t	 ck_epoch;	/* allocated (on disk) when the move was
					 * asked, for the placement it makes
					 * once it has checkpointed; 0: none */
	uint64_t	 ck_signalled;	/* when the signal went (0: not yet,
					 * at the end of the grace) */
	uint64_t	 proc_at;	/* when its process started here */
	uint64_t	 ckp_due;	/* the next periodic checkpoint, or 0 */
	/* Asked to checkpoint to yield its slot (preempt_slice_ms): when it
	 * exits with its checkpoint code it waits behind the tasks that have
	 * run less.  Not asked again before yield_next. */
	int		 yield;
	uint64_t	 yield_next;
	uint64_t	 yield_asked;	/* when the last yield was asked */
	uint32_t	 yield_cost;	/* ms the last one took to checkpoint:
					 * a slice is at least 10 times it */
	uint64_t	 ckp_copied;	/* when its checkpoint last went home */
	/* lbctl migrate: who asked (a peer and its request), told once the
	 * move is decided. */
	char		 mig_origin[LB_ID_MAX];
	uint64_t	 mig_req;
	/* The shell's scratch for measuring a migration in (µs); the core
	 * neither reads nor writes these. */
	uint64_t	 sh_arrived_us, sh_src_us, sh_bytes;
	uint64_t	 sh_ck_bytes;	/* its checkpoint's size + 1, last
					 * seen (disk.c) */
	int		 sh_home_tried;	/* a drain tried to move it home */
	int		 sh_files_held;	/* its attachments (1) and output
					 * (2) are on every member of this
					 * home's set (repfiles.c) */
	int		 home_frozen;	/* stopped: its home (here) may not
					 * act (tasks_set_home_hold) */
	uint64_t	 announce;	/* adopted: its host was last told who
					 * its home is now, until it asks */
	/* Leases.  Held here for another home: the lease runs until
	 * lease_until (0: none yet); near its end a checkpointable task was
	 * asked to checkpoint (lease_ck), at its end the process was frozen
	 * (lease_frozen).  Home: when the current host was last heard of, and
	 * a rerun put off until its lease has run out (rerun_at, for the
	 * placement rerun_epoch). */
	uint64_t	 lease_until;
	uint64_t	 lease_asked;	/* when it was last in a LeaseAsk */
	int		 lease_ck, lease_frozen;
	uint64_t	 lease_heard;
	uint64_t	 rerun_at;
	uint32_t	 rerun_epoch;
	/* Home, leases on: a host runs a task of this home only under the
	 * leases it grants (every peer has the same lease settings), so a
	 * host not heard of, for this placement, for lease_wait has frozen
	 * its copy: at quiet_at the task runs again, even if the host is
	 * alive to the others (a cut between the two alone, either way).
	 * lapsed_since: since when (the host's clock) its asks say its lease
	 * ran out though this home grants it; revoked: no more grants for
	 * this placement. */
	uint64_t	 quiet_at;
	uint32_t	 quiet_epoch;
	uint64_t	 lapsed_since;
	uint64_t	 ask_newest;	/* the newest ask's sent_ms (host's) */
	int		 revoked;
	/* Home: a placement that must stop (TaskStop until acknowledged). */
	int		 stop;
	char		 stop_why[64];
	/* HOLD_STOPPING: hand it back to its home once it has exited;
	 * HOLD_RETURNING: why (for the home's log). */
	int		 give_back;
	char		 give_why[48];
	/* Running here, it must end as failed, for this reason (it used too
	 * much of the peer's disk): its stop is no rerun. */
	char		 fail_why[160];
	/* HOLD_RETURNING because it could not start here: why, and when. */
	int		 start_failed;
	char		 start_why[160];
	uint64_t	 start_failed_at;
	struct tasks_task *hnext;	/* hash chain */
	struct tasks_task *rnext;	/* the request ids' hash chain */
	int		 rindexed;	/* in it (homed here, with one) */
	struct tasks_task *qnext, *qprev;	/* the ready queue */
};

enum tasks_action_kind {
	TA_SEND = 1,	/* send `msg` (a packed PeerMsg) to peer `to` */
	TA_SAVE,	/* journal the record of `id`; `sync`: on disk first */
	TA_FORGET,	/* journal that `id` is forgotten; drop its files here */
	TA_START,	/* start the process of `id` (`resume`: from checkpoint) */
	TA_STOP,	/* stop the process of `id` (TERM, then KILL) */
	TA_OUTPUT,	/* home: keep `out`/`err` as the output of `id` */
	TA_LOAD,	/* the load (queued + running) changed */
	TA_NOTE,	/* something an operator reads in the log: `note` */
	TA_CHECKPOINT,	/* ask the process of `id` to checkpoint (its signal) */
	TA_CKCOPY,	/* copy the checkpoint of `id` (held here) to its home,
			 * before the task starts again from it; `seq` is
			 * its count of checkpoints (at its home: the home
			 * holds that checkpoint now) */
	TA_MIGRATED,	/* tell peer `to` (request `req`) how its lbctl
			 * migrate ended: `ok`, `host`, or why not in `note` */
	TA_LEASE,	/* the process of `id` may run until `until` (ms, the
			 * clock of the events); past it, it is frozen */
	TA_FREEZE,	/* freeze the process of `id` (SIGSTOP): its lease ran
			 * out */
	TA_THAW,	/* let it run again (SIGCONT): the lease is back */
	TA_REPLAY	/* home: `id` starts over here, from the home's
			 * checkpoint (`resume`) or from its start: its
			 * mailbox is what the home kept of its messages */
};

struct tasks_action {
	enum tasks_action_kind	 kind;
	char			 id[TASKS_ID_MAX];
	char			 to[LB_ID_MAX];
	uint8_t			*msg;		/* TA_SEND: owned by the list */
	size_t			 len;
	int			 with_files;	/* TA_SEND Transfer: add files */
	int			 with_output;	/* TA_SEND TaskNotice: add output */
	int			 as_home;	/* TA_SEND: this peer's word as a
						 * home, for no one task (a lease
						 * grant's verdicts) */
	int			 sync;
	int			 resume;
	const ProtobufCBinaryData *out, *err;	/* TA_OUTPUT, valid during
						 * the call only */
	char			 note[160];	/* TA_NOTE; TA_MIGRATED: why not */
	uint32_t		 seq;		/* TA_CKCOPY */
	/* TA_MIGRATED */
	uint64_t		 req;
	int			 ok;
	char			 host[LB_ID_MAX];
	uint64_t		 freeze_us, bytes;
	uint32_t		 checkpoint_ms;
	uint64_t		 until;		/* TA_LEASE, TA_START: the lease's
						 * end, or 0 (no lease) */
};

struct tasks_out {
	struct tasks_action	*v;
	size_t			 n, cap;
};

/* What happened, for `lbctl stats` and the tests. */
struct tasks_stats {
	uint64_t	submitted;
	uint64_t	results;	/* results recorded here as home */
	uint64_t	reruns;		/* placements made after a host died */
	uint64_t	transfers_in, transfers_out, transfers_aborted;
	uint64_t	transfer_ms;	/* freeze to commit, over transfers_out */
	uint64_t	stale_stopped;	/* copies stopped: another placement won */
	uint64_t	retries;	/* notices and asks sent again */
	uint64_t	drop_sender;	/* a message from a peer with no say */
	uint64_t	drop_invalid;	/* a malformed id, record or size */
	uint64_t	drop_unknown;	/* about a task or placement not here */
	uint64_t	refused_full;	/* max_tasks reached */
	uint64_t	migrations_in, migrations_out;	/* running tasks moved */
	uint64_t	checkpoint_timeouts;	/* asked for a move, no exit */
	uint64_t	ck_slow;	/* waited longer: it was writing it */
	uint64_t	checkpoint_ms;	/* over migrations_out */
	uint64_t	migrate_bytes;	/* moved in by migrations */
	uint64_t	periodic;	/* periodic checkpoints asked */
	uint64_t	yields;		/* running tasks that yielded a slot */
	uint64_t	yield_asks;	/* ... asked to (some do not checkpoint) */
	uint64_t	ck_copies;	/* checkpoints copied to us as home */
	/* The freeze times of the latest moves in (µs), a ring. */
#define TASKS_FREEZE_RING	1024
	uint64_t	freeze_us[TASKS_FREEZE_RING];
	uint64_t	nfreeze;
	/* The same, every one of them, counted by bucket (a histogram,
	 * as metrics export it): freeze_hist[i] counts the freezes of
	 * at most tasks_freeze_le_us[i] and more than the bound before;
	 * the last counts the rest.  freeze_us_sum adds them all up. */
#define TASKS_FREEZE_BUCKETS	13
	uint64_t	freeze_hist[TASKS_FREEZE_BUCKETS];
	uint64_t	freeze_us_sum;
	uint64_t	given_back;	/* placements handed back, acknowledged */
	uint64_t	returned;	/* handed back to us as home, placed anew */
	uint64_t	lease_asks;	/* LeaseAsks sent */
	uint64_t	lease_frozen;	/* processes frozen: their lease ran out */
	uint64_t	lease_thawed;	/* ... and let run again */
	uint64_t	lease_waits;	/* reruns put off for a silent host's lease */
	uint64_t	start_failures;	/* home: starts that failed at a host,
					 * the task placed anew or failed */
	uint64_t	lease_quiet;	/* reruns: a host alive to others, not
					 * heard of here for longer than a lease */
};

/* How a process ended (or did not start), as the executor saw it. */
struct tasks_exit {
	int		 exited;	/* WIFEXITED: code is valid */
	int		 code;
	int		 signal;	/* the signal that ended it, or 0 */
	int		 stopped;	/* lbpeer's stop (TA_STOP) reached it
					 * before it ended: whatever its exit,
					 * not a run that ended by itself */
	const char	*error;		/* it could not start: why; else NULL */
	uint64_t	 stdout_bytes, stderr_bytes;
	int		 truncated;
	int		 output_in_files;
	ProtobufCBinaryData out_inline, err_inline;	/* taken (malloc'd) */
};

struct tasks;

struct tasks	*tasks_new(const struct tasks_conf *, const char *self,
		    uint64_t incarnation, const char *self_attrs,
		    int64_t wall_offset);
void		 tasks_free(struct tasks *);

/* At start, before tasks_start: a record read back from the journal
 * (owned from now on); the last of each id wins, tombstones forget. */
void		 tasks_restore(struct tasks *, Lb__TaskRecord *);
/* Ids below `seq` may have been issued: never issue them again. */
void		 tasks_seq_floor(struct tasks *, uint64_t seq);
/* The sequence number the next submit takes. */
uint64_t	 tasks_next_seq(const struct tasks *);
/* After restore: queue what was ours, ask the homes about the rest.
 * tasks_mailboxes_lost, before it: this start follows a crash, the
 * mailboxes of the tasks held here are gone (the homes are told so). */
void		 tasks_mailboxes_lost(struct tasks *);
void		 tasks_start(struct tasks *, uint64_t now, struct tasks_out *);

/* Structural checks of a spec, the same for a submit and the wire. */
int		 tasks_spec_valid(const struct tasks *, const Lb__TaskSpec *,
		    char **cause);
/* Accept a new task homed here (the spec is copied, files without their
 * bytes); *id is its id (malloc'd).  Idempotent by the spec's request_id:
 * a request id that a task homed here has already (its record is kept)
 * makes no new task and no action: 0, and *id is that task's id, so that
 * every caller answers a submit sent again as it answered the first; -1
 * when that task's program (argv) is another (the id was reused). */
int		 tasks_submit(struct tasks *, uint64_t now, const Lb__TaskSpec *,
		    char **id, struct tasks_out *, char **cause);
/* The task homed here whose spec has this request_id, or NULL (an empty
 * id, or one no record kept here has). */
struct tasks_task *tasks_find_request(const struct tasks *,
		    const ProtobufCBinaryData *request_id);
#define TASKS_REQUEST_ID_LEN	16
/* Cancel a task homed here: 0 cancelled now; 1 it was cancelled already
 * (nothing done: a cancel sent again is no failure); -1 and why not (not
 * homed here, or it ended otherwise). */
int		 tasks_cancel(struct tasks *, uint64_t now, const char *id,
		    struct tasks_out *, char **cause);

/* A message from peer `from` (its incarnation `inc`), authenticated by the
 * shell; the core checks everything in it. */
void		 tasks_recv(struct tasks *, uint64_t now, const char *from,
		    uint64_t inc, const Lb__PeerMsg *, struct tasks_out *);
/* The files of `id`'s move out are still flowing (a chunk was served):
 * a frozen move not yet acknowledged waits transfer_timeout_ms more, and
 * `extra_ms` (the destination's time to put what it pulled on disk, once
 * all of it is served). */
void		 tasks_move_progress(struct tasks *, uint64_t now,
		    const char *id, uint64_t extra_ms);
/* The process of `id` started as process group `pgid`. */
void		 tasks_proc_started(struct tasks *, uint64_t now,
		    const char *id, uint32_t pgid, struct tasks_out *);
/* The process of `id` ended (or could not start). */
void		 tasks_proc_exited(struct tasks *, uint64_t now, const char *id,
		    struct tasks_exit *, struct tasks_out *);
void		 tasks_peer_dead(struct tasks *, uint64_t now, const char *peer,
		    struct tasks_out *);
void		 tasks_peer_restarted(struct tasks *, uint64_t now,
		    const char *peer, uint64_t incarnation, struct tasks_out *);
/* Retries, timeouts, expiry, and starts the slots allow. */
void		 tasks_tick(struct tasks *, uint64_t now, struct tasks_out *);
/* A peer that leaves starts nothing more. */
void		 tasks_set_leaving(struct tasks *, int);
/* A draining peer starts nothing from its queue (the balancer moves the
 * waiting tasks away) and takes no transfer; what runs goes on. */
void		 tasks_set_draining(struct tasks *, int);
/*
 * Hand what is held here of `id` back to its home, which places the task
 * anew: a running process is stopped first, and the home hears of it only
 * once it has exited (a process that ends by itself meanwhile keeps its
 * result).  A task homed here that runs here is placed anew here, queued.
 * -1 when there is nothing to hand back (not held here, moving, ended, or
 * queued at its home already).
 */
int		 tasks_give_back(struct tasks *, uint64_t now, const char *id,
		    const char *why, struct tasks_out *);

/* The balancer: freeze a waiting task and offer it to `to` (whose
 * incarnation is `inc`); a running task that can checkpoint is asked to
 * first, and moves when it exits with its checkpoint code (within
 * checkpoint_timeout_ms, else it stays).  -1 when it cannot move now. */
int		 tasks_move(struct tasks *, uint64_t now, const char *id,
		    const char *to, uint64_t inc, uint64_t req_id,
		    struct tasks_out *);
/* lbctl migrate, at the task's holder: the same, for peer `origin`'s
 * request `req` (told by TA_MIGRATED how it ended); -1 and why not. */
int		 tasks_migrate(struct tasks *, uint64_t now, const char *id,
		    const char *to, uint64_t inc, const char *origin,
		    uint64_t req, uint64_t req_id, struct tasks_out *,
		    char **cause);
/* Some peer says task `id` is at placement `epoch` now (forwarding's
 * path compression): if that is newer than the one held here, ask its home
 * about it at the next tick rather than at the next round of leases (the
 * claim itself is not the home's word). */
void		 tasks_heard_epoch(struct tasks *, const char *id,
		    uint32_t epoch);
/* Whether a Transfer from `from` would be taken (asked before its files
 * are pulled; a duplicate of one held already is not wanted again). */
int		 tasks_transfer_wanted(struct tasks *, const char *from,
		    const Lb__Transfer *);
/* Why a task homed here cannot be migrated now (NULL: it can). */
const char	*tasks_unmovable(const struct tasks_task *);
/* A running task that can be asked to checkpoint now (its process is past
 * the grace, and no checkpoint is asked already). */
/*
 * Replicated homes (doc/replication.md).  tasks_set_home_hold: while on,
 * this peer decides nothing as a home (no lease granted, no rerun, no move
 * decided, none of its own tasks started; those running here are frozen
 * and thawed when it ends): it may not act.  tasks_set_home_lease: the
 * end of its home lease (0: none); no lease it grants runs past it, and
 * its own tasks running here have it as their lease (TA_LEASE; with `o`
 * NULL, only the grants are bounded: the caller tells them later).
 * tasks_adopt: act as the home
 * of a record a replica kept, its home gone (term: the home term it was
 * elected in); 1 when adopted.  tasks_relinquish: another took over this
 * peer's tasks numbered below `upto`, and those it had itself taken over
 * at or below version `upto_version` of its stream (adopted_version):
 * they are let go here.
 */
/*
 * The request ids of tasks let go to another (tasks_relinquish): a submit
 * sent again with one names that task, wherever it is acted for now.
 * tasks_gone: the i-th of those kept, oldest first, or NULL past the last
 * (at most TASKS_GONE_MAX: the oldest is given up first; the caller keeps
 * them on disk); tasks_gone_add: one read back at start.
 */
#define TASKS_GONE_MAX	1024
struct tasks_gone {
	uint8_t		 rid[TASKS_REQUEST_ID_LEN];
	char		 id[TASKS_ID_MAX];
	uint64_t	 argv_hash;	/* (tasks_argv_hash) */
};
const struct tasks_gone *tasks_gone(const struct tasks *, size_t i);
void		 tasks_gone_add(struct tasks *, const struct tasks_gone *);
uint64_t	 tasks_argv_hash(const Lb__TaskSpec *);
/* Whether a submit with this request id was taken here before (its task
 * is here, or was let go to another): tasks_submit answers with its id. */
int		 tasks_request_seen(const struct tasks *,
		    const ProtobufCBinaryData *request_id);
/* A peer acts for a home that is gone, for its tasks [floor, upto) in a
 * term.  tasks_moved_learn keeps one in a table of at most `max` (one
 * entry a home and term: a range learned again only grows; full, the
 * lowest term goes). */
struct tasks_moved {
	char		 home[LB_ID_MAX];
	char		 acting[LB_ID_MAX];
	uint32_t	 term;
	uint64_t	 upto, floor;
};
void		 tasks_moved_learn(struct tasks_moved *v, size_t *n,
		    size_t max, const char *home, const char *acting,
		    uint32_t term, uint64_t upto, uint64_t floor);
/* `acting` acts for `home`'s tasks numbered from `floor` (0, or where an
 * earlier takeover ends) below `upto` (and those that home had taken
 * over) in `term`: what this peer says to that home about
 * them goes there (node/home.c tells it what the replica core learns). */
void		 tasks_home_acting(struct tasks *, const char *home,
		    const char *acting, uint32_t term, uint64_t upto,
		    uint64_t floor);
/* The peer that acts for the home of task `id` as this peer was told
 * (tasks_home_acting), though it holds no record of the task: into
 * `home`, and 1; 0 when none was told (`home`: the one its id names). */
int		 tasks_acting_home(const struct tasks *, const char *id,
		    char *home);
void		 tasks_set_home_hold(struct tasks *, uint64_t now, int on,
		    struct tasks_out *);
void		 tasks_set_home_lease(struct tasks *, uint64_t end,
		    struct tasks_out *);
int		 tasks_home_held(const struct tasks *);
int		 tasks_adopt(struct tasks *, uint64_t now, Lb__TaskRecord *,
		    uint32_t term, struct tasks_out *);
size_t		 tasks_relinquish(struct tasks *, uint64_t upto,
		    uint64_t upto_version,
		    struct tasks_out *);
/* The task asked to checkpoint (for a move or to yield) is writing it: its
 * time to do so starts again, within bounds. */
void		 tasks_checkpoint_writing(struct tasks *, uint64_t now,
		    const char *id);
int		 tasks_checkpoint_ready(const struct tasks *,
		    const struct tasks_task *, uint64_t now);
/* The task arrived by a migration and has not been measured yet. */
int		 tasks_migration_pending(const struct tasks_task *);
/* Home: a copy of the task's checkpoint number `seq` is here now. */
void		 tasks_checkpoint_copied(struct tasks *, uint64_t now,
		    const char *id, uint32_t seq, struct tasks_out *);
/* Home: whether a copy of checkpoint `seq` of `id` from `from` is welcome
 * (from its current host, newer than the one here). */
int		 tasks_checkpoint_wanted(const struct tasks *, const char *id,
		    const char *from, uint32_t seq);
/* The shell measured that migration as the task started again here. */
void		 tasks_migration_measured(struct tasks *, const char *id,
		    uint64_t freeze_us, uint64_t bytes);

/* Queries (no events). */
struct tasks_task *tasks_find(const struct tasks *, const char *id);
/* The waiting tasks, oldest first. */
struct tasks_task *tasks_queue_head(const struct tasks *);
uint32_t	 tasks_running(const struct tasks *);
uint32_t	 tasks_queued(const struct tasks *);
/* The load (running + queued) as a task arriving now that has run `served`
 * ms finds it: with preemption, the slots whose tasks would yield to it (as
 * of the last tick; none while some wait here already) count as free.  0
 * for a new task (the load others are told); UINT64_MAX for the load as it
 * is (nothing yields to a task that has run that long). */
uint32_t	 tasks_load(const struct tasks *, uint64_t served);
size_t		 tasks_count(const struct tasks *, size_t *homed);
/* Every task, in id order (valid until the next event). */
struct tasks_task **tasks_all(struct tasks *, size_t *n);
/* Where a task that left this peer went: 0 and the peer, or -1. */
int		 tasks_link(const struct tasks *, const char *id, char *peer,
		    uint32_t *epoch, char *by);
/* Whether this peer may run the task (pin, needs). */
int		 tasks_runs_here(const struct tasks *, const struct tasks_task *);
/* Stop the running task `id` and record it failed, `why` (a limit of this
 * peer's it broke); -1 when it is not running here. */
int		 tasks_fail_running(struct tasks *, uint64_t, const char *id,
		    const char *why, struct tasks_out *);
/* The disk of this peer is short of room (or has it again): nothing
 * waiting starts meanwhile. */
void		 tasks_set_disk_short(struct tasks *, uint64_t, int,
		    struct tasks_out *);
/* The peers alive now, this one included (n 0: not known yet): a task
 * that could not start on any of them is not placed again. */
void		 tasks_set_alive(struct tasks *, const char *const *ids,
		    size_t n);
/* Whether the task failed to start at `peer` (it is not placed there). */
int		 tasks_avoids(const Lb__TaskRecord *, const char *);
const struct tasks_stats *tasks_stats(const struct tasks *);
/* The upper bounds (µs) of the freeze_hist buckets but the last. */
extern const uint64_t tasks_freeze_le_us[TASKS_FREEZE_BUCKETS - 1];
int		 tasks_unfinished(const Lb__TaskRecord *);
const char	*tasks_state_name(Lb__TaskState);
const char	*tasks_hold_name(enum tasks_hold);

/* A listing of the cluster's tasks (list.c): each peer lists those it
 * acts as the home of; the order is the same at every peer. */
#define TASKS_NSTATES	5	/* queued, running, done, failed, cancelled */
struct tasks_filter {
	uint32_t	 states;	/* bits by state; 0: all */
	const char	*host;		/* NULL or "": any */
	const char	*text;		/* in the id or the command line */
	const char	*after;		/* those after this id */
};
/* Task ids in cluster order: node id, then number. */
int		 tasks_id_cmp(const char *, const char *);
int		 tasks_match(const Lb__TaskRecord *, const struct tasks_filter *);
/* The tasks this peer acts as the home of that match, after f->after, in
 * order, at most max into out (valid until the next event); how many match
 * in all into *matching, and all of them by state into counts. */
size_t		 tasks_select(struct tasks *, const struct tasks_filter *,
		    const Lb__TaskRecord **out, size_t max, uint64_t *matching,
		    uint64_t counts[TASKS_NSTATES]);

/* The tasks this peer acts as the home of, by state. */
void		 tasks_homed_by_state(struct tasks *, uint64_t counts[TASKS_NSTATES]);

/* Task ids "NODE.SEQ": NODE a node id, SEQ decimal without a leading 0. */
int		 tasks_id_valid(const char *id);
/* The home node of a valid id, into home[LB_ID_MAX]. */
void		 tasks_home_of(const char *id, char *home);
/* A plain file name: no '/', not "." or "..", no control characters. */
int		 tasks_name_valid(const char *name);
/* A deep copy of a record. */
Lb__TaskRecord	*tasks_rec_clone(const Lb__TaskRecord *);

void		 tasks_out_reset(struct tasks_out *);
void		 tasks_out_free(struct tasks_out *);

#endif
