/*
 * keeper.h - the lease keeper: a small process beside the daemon that
 * freezes a task whose lease ran out even while the daemon is stopped.
 */
#ifndef LB_KEEPER_H
#define LB_KEEPER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Fork the keeper, with room for `nslots` processes.  Before any thread
 * exists (nanomsg's do not survive fork).  -1 and why: the daemon runs on
 * without it, freezing from its own loop only. */
int	keeper_start(size_t nslots, char **cause);
/* Process group `pgid` may run until `until` (lb_mono_ms; 0: no end).  When
 * the keeper had frozen it and `until` is still ahead, it runs again: 1;
 * else 0.  -1 when no slot is free. */
int	keeper_set(pid_t pgid, uint64_t until);
/* `pgid` was frozen (1) or let run (0) by the daemon itself. */
void	keeper_mark(pid_t pgid, int frozen);
/* Whether the keeper, or the daemon, froze `pgid` last. */
int	keeper_frozen(pid_t pgid);
/* The keeper's process id, or 0. */
pid_t	keeper_pid(void);
/* Its process ended: the slot is free. */
void	keeper_clear(pid_t pgid);

#endif
