/*
 * store.h - what a peer keeps on disk under state_dir: the journal of task
 * records, each task's directory (tasks/ID), its attachments, its output
 * beside it (tasks/ID.out, .err) and its checkpoint (tasks/ID.ck).  Every
 * path is built here, from validated ids and names only.
 */
#ifndef LB_STORE_H
#define LB_STORE_H

#include <stdint.h>

#include "src/lbpeer.pb-c.h"
#include "journal.h"

struct peer;
struct store;

/* Open state_dir/tasks and the journal, handing back every record. */
int	 store_open(struct peer *, journal_cb, void *arg, char **cause);
void	 store_close(struct peer *);
/* state_dir/tasks/ID (malloc'd); the id must be valid. */
char	*store_dir(struct peer *, const char *id);
/* Make a fresh, empty directory for a task (a leftover is removed). */
int	 store_mkdir(struct peer *, const char *id, char **cause);
/* Write attachments (with their bytes) into the task's directory: plain
 * names only, no file replaced, no link followed, setuid, setgid and
 * sticky bits dropped; on disk before it returns. */
int	 store_write_files(struct peer *, const char *id, Lb__TaskFile **,
	    size_t n, char **cause);
/* The output files of a task, as kept (malloc'd; empty when none). */
void	 store_read_output(struct peer *, const Lb__TaskRecord *,
	    ProtobufCBinaryData *out, ProtobufCBinaryData *err);
int	 store_write_output(struct peer *, const char *id,
	    const ProtobufCBinaryData *out, const ProtobufCBinaryData *err,
	    char **cause);
/* Whether the task's checkpoint directory holds anything. */
int	 store_has_checkpoint(struct peer *, const char *id);
/* A task ended here: keep its (empty) directory for the next task. */
void	 store_release_dir(struct peer *, const char *id);
/* An open directory (O_NOFOLLOW) of the task: tasks/ID, or with `ck`
 * its checkpoint tasks/ID.ck; -1 with *cause. */
/* A task's directory (ck 0), its checkpoint (1) or the snapshot of its
 * checkpoint (2), open for reading. */
int	 store_task_fd(struct peer *, const char *id, int ck, char **cause);
/* Snapshot the checkpoint of a task (tasks/ID.ck to tasks/ID.cks, a copy,
 * so that the task may go on writing its own); *bytes copied. */
int	 store_snapshot_ck(struct peer *, const char *id, uint64_t *bytes,
	    char **cause);
/* Home: a copy of a task's checkpoint, staged (staged/ck), replaces its
 * checkpoint here. */
int	 store_install_ck(struct peer *, const char *id, const char *staged,
	    char **cause);
/* state_dir/tasks/NAME (malloc'd), for the store's own subdirectories. */
char	*store_path(struct peer *, const char *name);
/* rm -r, never following a link out of the tree. */
void	 store_rmtree(const char *path);
/* Put a transfer's staged files in place: staged/att becomes the task's
 * directory (replacing what was there), staged/ck its checkpoint (when
 * there is one, replacing any older one). */
int	 store_install(struct peer *, const char *id, const char *staged,
	    char **cause);
/* Remove everything of a task here. */
void	 store_remove(struct peer *, const char *id);
/* Journal a record; a peer that cannot stops (see store.c). */
void	 store_save(struct peer *, const Lb__TaskRecord *, int sync);
void	 store_forget(struct peer *, const char *id);
uint64_t store_journal_size(struct peer *);
/* Whether the journal could not hold space ahead (the disk is full). */
int	 store_journal_short(struct peer *);
/* Task ids: start at the floor; reserve before issuing `seq`. */
uint64_t store_ids_floor(struct peer *);
int	 store_ids_reserve(struct peer *, uint64_t seq, char **cause);
/* Damage found in the journal at start. */
const struct journal_report *store_report(struct peer *);
/* Whether the journal holds more dead records than `live` live ones. */
int	 store_compact_due(struct peer *, size_t live);
int	 store_compact(struct peer *, journal_next_cb, void *, char **cause);

#endif
