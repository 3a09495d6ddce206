/* glue.h - the shell around the task core (see glue.c). */
#ifndef LB_GLUE_H
#define LB_GLUE_H

#include <stdint.h>

#include "src/lbpeer.pb-c.h"

struct peer;

/* Open the store, read the journal back, start what was ours. */
int	 glue_start(struct peer *, char **cause);
void	 glue_stop(struct peer *);
/* The peer leaves: start nothing more. */
void	 glue_leaving(struct peer *);
/* The peer drains: start nothing from the queue, take no transfer. */
void	 glue_draining(struct peer *, int);
/* Hand what is held here of `id` back to its home (tasks_give_back); a
 * task that can checkpoint is first moved home with its checkpoint.  0
 * handed back; -1 not (yet): ask again later. */
int	 glue_give_back(struct peer *, const char *id, const char *why);
/* An authenticated envelope from the transport. */
void	 glue_recv(struct peer *, const Lb__Envelope *);

/* A new task; the spec's files without bytes come from `uploads`: 0 and
 * its id.  1 and the id of the task the spec's request_id made already
 * (a submit sent again: no task is made, and `uploads` are not touched);
 * -1 and why not. */
int	 glue_submit(struct peer *, const Lb__TaskSpec *,
	    const uint64_t *uploads, size_t nuploads, char **id, char **cause);
/* 0 cancelled (or passed on to its home); 1 it was cancelled already; -1
 * and why not. */
int	 glue_cancel(struct peer *, const char *id, char **cause);
int	 glue_checkpoint(struct peer *, const char *id, char **cause);
/* lbctl migrate: start moving a task (to `to`, or "" for the least loaded
 * peer that can run it), wherever it is; *token names the request. */
int	 glue_migrate(struct peer *, const char *id, const char *to,
	    uint64_t *token, char **cause);
/* 1 and the result (the caller frees it) once decided, 0 while not yet,
 * -1 for a token not known (expired, or read already). */
int	 glue_migrate_poll(struct peer *, uint64_t token,
	    Lb__MigrateDone **result);
void	 glue_output(struct peer *, const Lb__TaskRecord *,
	    ProtobufCBinaryData *out, ProtobufCBinaryData *err);
void	 glue_counts(struct peer *, uint32_t *running, uint32_t *queued,
	    uint32_t *homed);
void	 glue_stats(struct peer *, Lb__CtlStats *);
void	 glue_journal_damage(struct peer *, uint64_t *spans, uint64_t *bytes);
/* The synthetic load changed (lbctl debug load). */
void	 glue_load_changed(struct peer *);

#endif
