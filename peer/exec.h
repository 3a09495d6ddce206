/* exec.h - the executor: starts, signals and reaps task processes. */
#ifndef LB_EXEC_H
#define LB_EXEC_H

#include <stdint.h>

#include "src/lbpeer.pb-c.h"
#include "tasks/tasks.h"

struct peer;

/* A process ended; `x` is valid during the call (take its buffers). */
typedef void (*exec_exit_cb)(struct peer *, const char *id,
    struct tasks_exit *x);

void	exec_start(struct peer *, exec_exit_cb);
/* At shutdown: the tasks die with their peer, as with their host. */
void	exec_stop(struct peer *);
/* Start a task's process in `dir`; 0 and its process group, or -1 and why
 * (malloc'd). */
int	exec_spawn(struct peer *, const Lb__TaskRecord *, const char *dir,
	    int resume, uint32_t *pgid, char **why);
/* SIGTERM to its process group, SIGKILL after task.kill_grace_ms. */
void	exec_kill(struct peer *, const char *id);
/* Its lease runs until `until` (lb_mono_ms; 0: no end): past it, the lease
 * keeper freezes it, and lets it run again when a new end comes in time. */
void	exec_lease(struct peer *, const char *id, uint64_t until);
/* Freeze its process group (SIGSTOP), or let it run again (SIGCONT). */
void	exec_freeze(struct peer *, const char *id, int frozen);
/* A signal to its process (a checkpoint request). */
int	exec_signal(struct peer *, const char *id, int sig);
/* Kill what a crashed earlier life left of a task's process group. */
void	exec_reap_orphans(uint32_t pgid, const char *id);

/* The output of a running task from `offset` (lbctl tail); -1: it does not
 * run here. */
int	exec_output(struct peer *, const char *id, int err, uint64_t offset,
	    size_t max, ProtobufCBinaryData *);

#endif
