/*
 * disk.h - the disk a peer's tasks use: each running task's files against
 * task.disk_limit_mb, the free space of state_dir's disk against
 * task.disk_reserve_mb.
 */
#ifndef LBPEER_DISK_H
#define LBPEER_DISK_H

struct peer;
struct tasks_out;

/* Look (at most once a second): a task over its limit, or the one that
 * holds the most (at least task.disk_reserve_mb) while the disk is short,
 * is stopped and fails; while it is short nothing waiting starts here. */
void	 disk_check(struct peer *, struct tasks_out *);
/* Why this peer takes no new task now (the disk is short), or NULL. */
const char *disk_short(struct peer *);

#endif
