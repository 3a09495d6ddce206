/*
 * tasks_int.h - what the files of the task core share (tasks.c, record.c,
 * out.c, table.c, submit.c, queue.c, lease.c, results.c, moves.c,
 * transfer.c, checkpoint.c, proc.c, giveback.c, home.c): the state of a
 * peer's tasks and the helpers one file calls in another; not for their
 * callers, who have tasks.h.  Each helper's comment is at its definition.
 */
#ifndef LB_TASKS_INT_H
#define LB_TASKS_INT_H

#include "tasks/tasks.h"

#define BUCKETS		4096
#define PRE_MAX		256	/* preemptible slots counted */
#define VISITS_MAX	64	/* hosts a record remembers: the first, then
				 * the latest */
#define MIGRATIONS_MAX	32	/* moves a record remembers: the latest */

struct tasks_link {
	char		id[TASKS_ID_MAX];
	char		peer[LB_ID_MAX];
	uint32_t	epoch;
	char		by[LB_ID_MAX];
	uint64_t	at;
};

#define TK_MOVED_MAX	512

struct tasks {
	struct tasks_conf	  conf;
	char			  self[LB_ID_MAX];
	char			**alive;	/* peers alive, this one too */
	size_t			  nalive;	/* (0: not known) */
	int			  disk_short;	/* start nothing: no room */
	int			  home_hold;	/* decide nothing as a home: it
						 * may not act (failover) */
	int			  mail_lost;	/* started after a crash
						 * (tasks_mailboxes_lost) */
	struct tasks_moved	  moved[TK_MOVED_MAX];
	size_t			  nmoved;
	/* Its own tasks below this number another acts for (let go): a
	 * holder that asks here about one is not told "unknown". */
	uint64_t		  given_up_upto;
	/* Request ids of tasks let go to another: a ring, oldest first. */
	struct tasks_gone	 *gone;
	size_t			  gone_first, ngone;
	uint64_t		  home_lease_end;	/* its home lease ends
						 * then (0: it has none) */
	uint64_t		  home_lease_told;	/* its own tasks'
						 * lease, as told (TA_LEASE) */
	uint64_t		  inc;
	char			 *attrs;
	int64_t			  wall_off;
	struct tasks_task	**buckets;
	/* The tasks homed here that have a request id, by it: as long as
	 * their records (tk_task_add and tk_task_remove keep it). */
	struct tasks_task	**rbuckets;
	size_t			  n, homed;
	struct tasks_task	 *qhead, *qtail;
	uint32_t		  nqueued, nrunning;
	uint64_t		  next_seq;
	struct tasks_link	 *links;
	size_t			  nlinks, linkpos;
	struct tasks_stats	  stats;
	struct tasks_task	**sorted;
	int			  leaving;
	int			  draining;
	/* Leases: the next round of asks, when the last one left, and
	 * whether a placement waits for one now. */
	uint64_t		  lease_next, lease_sent;
	int			  lease_asap;
	/* The newest incarnation seen of each peer (bounded: a move to a
	 * peer beyond it is judged without). */
	struct { char id[LB_ID_MAX]; uint64_t inc; } incs[256];
	size_t			  nincs;
	/* Preemption, as of the last tick: the running tasks that would
	 * yield their slot, with what each has run (bounded). */
	uint64_t		  pre_served[PRE_MAX];
	size_t			  npre;
};

/* tasks.c */
uint64_t	 tk_inc_known(struct tasks *t, const char *peer, uint64_t seen);

/* record.c */
void		 tk_set_str(char **field, const char *v);
void		 tk_set_bytes(ProtobufCBinaryData *d,
		    const ProtobufCBinaryData *src);
uint64_t	 tk_wall(const struct tasks *t, uint64_t now);
int		 tk_same(uint32_t e1, const char *b1, uint32_t e2,
		    const char *b2);
int		 tk_is_home_of(const struct tasks *t, const char *id);
void		 tk_home_peer_of(const Lb__TaskRecord *r, char *home);
int		 tk_known_alive(const struct tasks *t, const char *id);
void		 tk_progress_copy(Lb__TaskRecord *h, const Lb__TaskRecord *r);
/* Home: its task could not start at `host`: placed anew elsewhere, or
 * failed (task.max_start_failures). */
void		 tk_start_failed_home(struct tasks *t, uint64_t now,
		    struct tasks_task *k, const char *host, const char *why,
		    uint64_t at_ms, struct tasks_out *o);
const struct tasks_gone *tk_gone_find(const struct tasks *t,
		    const uint8_t *rid);
/* Where to send what a holder says to a task's home: its home, or the
 * peer that acts for that home now (tasks_home_acting). */
void		 tk_home_to(const struct tasks *t, const Lb__TaskRecord *r,
		    char *home);
int		 tk_home_is(const struct tasks *t, const char *id,
		    const char *node);
int		 tk_acting_home_is(const struct tasks *t, const char *id,
		    const char *node);
uint64_t	 tk_own_seq(const struct tasks *t, const char *id);
uint32_t	 tk_max3(uint32_t a, uint32_t b, uint32_t c);
uint32_t	 tk_alloc_epoch(Lb__TaskRecord *r);
void		 tk_visit_add(Lb__TaskRecord *r, const char *node,
		    uint64_t wall_ms);
void		 tk_migration_add(Lb__TaskRecord *r, const char *from,
		    const char *to, uint64_t wall_ms, uint32_t ck_ms);
void		 tk_migrations_copy(Lb__TaskRecord *h, const Lb__TaskRecord *r);
void		 tk_output_take(Lb__TaskRecord *h, const Lb__TaskRecord *r);
void		 tk_counts_merge(Lb__TaskRecord *h, const Lb__TaskRecord *r);

/* out.c */
struct tasks_action *tk_out_push(struct tasks_out *o,
		    enum tasks_action_kind kind, const char *id);
void		 tk_note(struct tasks_out *o, const char *id, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));
struct tasks_action *tk_send_msg(struct tasks_out *o, const char *to,
		    const char *id, const Lb__PeerMsg *m);
void		 tk_save(struct tasks_out *o, const struct tasks_task *k,
		    int sync);

/* table.c */
void		 tk_request_index(struct tasks *t, struct tasks_task *k);
void		 tk_request_unindex(struct tasks *t, struct tasks_task *k);
struct tasks_task *tk_task_add(struct tasks *t, Lb__TaskRecord *rec);
void		 tk_mig_tell(struct tasks_task *k, int ok, const char *host,
		    const char *why, struct tasks_out *o);
void		 tk_ck_fail(struct tasks_task *k, const char *why,
		    struct tasks_out *o);
void		 tk_set_hold(struct tasks *t, uint64_t now,
		    struct tasks_task *k, enum tasks_hold h,
		    struct tasks_out *o);
void		 tk_task_remove(struct tasks *t, struct tasks_task *k);
void		 tk_forget(struct tasks *t, struct tasks_task *k,
		    struct tasks_out *o);
void		 tk_arm(struct tasks *t, uint64_t now, struct tasks_task *k);
void		 tk_disarm(struct tasks_task *k);
void		 tk_link_add(struct tasks *t, uint64_t now, const char *id,
		    const char *peer, uint32_t epoch, const char *by);

/* submit.c */
int		 tk_str_ok(const char *s);
int		 tk_rec_valid(const struct tasks *t, const Lb__TaskRecord *r);

/* queue.c */
void		 tk_schedule(struct tasks *t, uint64_t now,
		    struct tasks_out *o);
struct tasks_task *tk_yield_to(struct tasks *t, uint64_t now, uint64_t served);
void		 tk_preempt_round(struct tasks *t, uint64_t now,
		    struct tasks_out *o);

/* home.c */
void		 tk_home_announce(struct tasks *t, struct tasks_task *k,
		    uint32_t term, struct tasks_out *o);
void		 tk_rerun(struct tasks *t, uint64_t now, struct tasks_task *k,
		    const char *why, struct tasks_out *o);

/* giveback.c */
void		 tk_start_failed_here(struct tasks *t, uint64_t now,
		    struct tasks_task *k, const char *why, struct tasks_out *o);
void		 tk_return_send(struct tasks *t, uint64_t now,
		    struct tasks_task *k, struct tasks_out *o);
void		 tk_return_now(struct tasks *t, uint64_t now,
		    struct tasks_task *k, struct tasks_out *o);
void		 tk_return_recv(struct tasks *t, uint64_t now, const char *from,
		    uint64_t inc, const Lb__TaskReturn *rt,
		    struct tasks_out *o);
void		 tk_return_ack_recv(struct tasks *t, uint64_t now,
		    const char *from, const Lb__TaskReturnAck *a,
		    struct tasks_out *o);

/* lease.c */
uint32_t	 tk_grant_ms(const struct tasks *t, uint64_t now);
int		 tk_leased(const struct tasks *t, const struct tasks_task *k);
uint64_t	 tk_own_until(const struct tasks *t);
uint64_t	 tk_lease_lead(const struct tasks *t);
void		 tk_lease_soon(struct tasks *t, struct tasks_task *k,
		    uint64_t now, struct tasks_out *o);
int		 tk_lease_ok(const struct tasks *t, const struct tasks_task *k,
		    uint64_t now);
void		 tk_lease_round(struct tasks *t, uint64_t now,
		    struct tasks_out *o);
void		 tk_quiet_arm(struct tasks *t, uint64_t now,
		    struct tasks_task *k);
void		 tk_lease_heard(struct tasks *t, uint64_t now,
		    struct tasks_task *k);
void		 tk_lease_reset(struct tasks *t, uint64_t now,
		    struct tasks_task *k);
void		 tk_lease_ask_recv(struct tasks *t, uint64_t now,
		    const char *from, uint64_t inc, const Lb__LeaseAsk *a,
		    struct tasks_out *o);
void		 tk_lease_grant_recv(struct tasks *t, uint64_t now,
		    const char *from, const Lb__LeaseGrant *g,
		    struct tasks_out *o);
void		 tk_lease_check(struct tasks *t, uint64_t now,
		    struct tasks_task *k, struct tasks_out *o);
uint64_t	 tk_lease_wait(const struct tasks *t);

/* results.c */
void		 tk_record_result(struct tasks *t, uint64_t now,
		    struct tasks_task *k, const Lb__TaskRecord *r,
		    const ProtobufCBinaryData *out,
		    const ProtobufCBinaryData *err, struct tasks_out *o);
void		 tk_stop_current(struct tasks *t, uint64_t now,
		    struct tasks_task *k, const char *why, struct tasks_out *o);
void		 tk_drop_copy(struct tasks *t, uint64_t now,
		    struct tasks_task *k, struct tasks_out *o);
void		 tk_notice_send(struct tasks *t, uint64_t now,
		    struct tasks_task *k, struct tasks_out *o);
void		 tk_notice(struct tasks *t, uint64_t now, struct tasks_task *k,
		    struct tasks_out *o);
void		 tk_home_notice(struct tasks *t, uint64_t now, const char *from,
		    uint64_t inc, const Lb__TaskNotice *n, struct tasks_out *o);
void		 tk_holder_verdict(struct tasks *t, uint64_t now,
		    struct tasks_task *k, Lb__Verdict v, Lb__TaskState state,
		    struct tasks_out *o);
void		 tk_stop_recv(struct tasks *t, uint64_t now, const char *from,
		    const Lb__TaskStop *s, struct tasks_out *o);
void		 tk_stop_ack_recv(struct tasks *t, const char *from,
		    const Lb__TaskStopAck *a, struct tasks_out *o);

/* moves.c */
void		 tk_freeze_move(struct tasks *t, uint64_t now,
		    struct tasks_task *k, const char *to, uint64_t inc,
		    uint64_t req_id, uint32_t ck_ms, struct tasks_out *o);
void		 tk_ck_signal(struct tasks *t, uint64_t now,
		    struct tasks_task *k, struct tasks_out *o);
void		 tk_ask_home(struct tasks *t, uint64_t now,
		    struct tasks_task *k, int commit, struct tasks_out *o);
void		 tk_move_recv(struct tasks *t, uint64_t now, const char *from,
		    const Lb__TaskMove *mv, struct tasks_out *o);
void		 tk_move_reply_recv(struct tasks *t, uint64_t now,
		    const Lb__TaskMoveReply *r, struct tasks_out *o);

/* transfer.c */
void		 tk_transfer_recv(struct tasks *t, uint64_t now,
		    const char *from, const Lb__Transfer *tr,
		    struct tasks_out *o);
void		 tk_transfer_ack_recv(struct tasks *t, uint64_t now,
		    const char *from, const Lb__TransferAck *a,
		    struct tasks_out *o);

#endif
