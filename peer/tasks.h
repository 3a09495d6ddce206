/*
 * tasks.h - the task table: records homed here (the journal), tasks that run
 * here (the executor), and answers from other homes.
 */
#ifndef LB_TASKS_H
#define LB_TASKS_H

#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

#include "src/lbpeer.pb-c.h"

struct peer;

/* Output up to this size stays in the record; beyond, it goes to files. */
#define TASK_INLINE	512

/* One task this peer knows: homed here, or running here. */
struct task {
	Lb__TaskRecord	*rec;		/* owned (protobuf-c, malloc'd) */
	char		*dir;		/* state_dir/tasks/ID */
	struct task	*hnext;		/* hash chain */
	struct task	*qnext;		/* the ready queue, FIFO */
	int		 queued;	/* in the ready queue */
	/* While it runs here: */
	pid_t		 pid;
	int		 out_fd, err_fd;	/* pipes from the task */
	int		 out_file, err_file;	/* what they go to */
	struct event	*out_ev, *err_ev;
	uint64_t	 out_n, err_n;		/* bytes kept */
	char		*out_buf, *err_buf;	/* the first TASK_INLINE bytes */
	int		 truncated;
	int		 cancelling;
	struct event	*kill_ev;
	int		 resume;	/* start with LB_RESUME=1 */
	uint64_t	 queued_ms;	/* when it joined the ready queue */
	/* Balancing: */
	int		 moving;	/* frozen: offered in a transfer */
	int		 held;		/* arrived, waiting for the commit */
	char		 from[64];	/* where it came from (held) */
	struct event	*hold_ev;	/* held too long: ask */
	struct event	*result_ev;	/* ended here, not home: resend */
};

/* tasks.c */
int		 tasks_open(struct peer *, char **cause);
void		 tasks_close(struct peer *);
struct task	*tasks_find(struct peer *, const char *id);
/* Accept a new task homed here; *id is its id (free it). */
int		 tasks_submit(struct peer *, const Lb__TaskSpec *, char **id,
		    char **cause);
int		 tasks_cancel(struct peer *, const char *id, char **cause);
int		 tasks_checkpoint(struct peer *, const char *id, char **cause);
/* Whether a task may run on this peer (its pin and needs). */
int		 tasks_runs_here(struct peer *, struct task *);
/* The home node of a task id (a static buffer). */
const char	*tasks_home_of(const char *id);
/* The home keeps a result's output (in the record when small). */
void		 tasks_store_output(struct peer *, struct task *,
		    const ProtobufCBinaryData *, const ProtobufCBinaryData *);
/* Whether this peer is the task's home. */
int		 tasks_is_home(struct peer *, const char *id);
/* Take a record (owned from now on) into the table. */
struct task	*tasks_install(struct peer *, Lb__TaskRecord *);
/* Forget a task held here for another home. */
void		 tasks_remove(struct peer *, struct task *);
/* A deep copy of a record. */
Lb__TaskRecord	*rec_clone(const Lb__TaskRecord *);
/* A task ended here: keep its (empty) directory for the next task. */
void		 tasks_release_dir(struct peer *, struct task *);
/* Write the record to the journal (sync: on disk before returning). */
void		 tasks_save(struct peer *, struct task *, int sync);
/* The output files of a task, as kept. */
void		 tasks_output(struct task *, ProtobufCBinaryData *out,
		    ProtobufCBinaryData *err);
/* A record, and for `want_output` its output, of a task homed elsewhere:
 * 0 with *answer (NULL while asking), or -1 with *cause. */
int		 tasks_remote(struct peer *, const char *id, int want_output,
		    const Lb__TaskAnswer **answer, char **cause);
void		 tasks_query_recv(struct peer *, const char *from,
		    const Lb__TaskQuery *);
void		 tasks_answer_recv(struct peer *, const char *from,
		    const Lb__TaskAnswer *);
/* Every task, for list (in id order). */
struct task	**tasks_all(struct peer *, size_t *n);
void		 tasks_counts(struct peer *, uint32_t *running,
		    uint32_t *queued, uint32_t *homed);
/* A malloc'd copy of bytes (never NULL). */
void		 bytes_copy(const ProtobufCBinaryData *, ProtobufCBinaryData *);
/* Set a string field of a record (protobuf-c owned). */
void		 rec_set_str(char **field, const char *v);
/* Wall-clock now, ms. */
const char	*task_state_name(Lb__TaskState);

/* exec.c: the executor */
void		 exec_start(struct peer *);
void		 exec_stop(struct peer *);
/* Put a task on the ready queue and start what the slots allow. */
void		 exec_enqueue(struct peer *, struct task *);
void		 exec_dequeue(struct peer *, struct task *);
void		 exec_schedule(struct peer *);
int		 exec_running(struct peer *);
int		 exec_queued(struct peer *);
struct task	*exec_queue_head(struct peer *);

/* balancer.c: the shell around the balancing core, and transfers */
void		 balancer_start(struct peer *);
void		 balancer_stop(struct peer *);
/* Something changed (a task arrived or ended): look again soon. */
void		 balancer_kick(struct peer *);
void		 balancer_recv(struct peer *, const char *from, const Lb__PeerMsg *);
/* A task not homed here started or ended: tell its home. */
void		 balancer_report(struct peer *, struct task *);
/* A peer died: its home runs the tasks it held again. */
void		 balancer_peer_dead(struct peer *, const char *id);
void		 balancer_stats(struct peer *, Lb__CtlStats *);
/* Kill the process groups a crashed earlier life left behind. */
void		 exec_reap_orphans(struct peer *, struct task *);

#endif
