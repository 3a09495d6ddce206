/*
 * checkpoint.c - checkpoints: copies kept at the home, one being written
 * (it gets more time), and what migrations measured (freeze times).
 */
#include "config.h"

#include <string.h>

#include "tasks/tasks_int.h"

#define CK_WRITING_MAX	12	/* a checkpoint being written: at most this
				 * many checkpoint_timeout_ms in all */

int
tasks_checkpoint_wanted(const struct tasks *t, const char *id,
    const char *from, uint32_t seq)
{
	struct tasks_task	*k = tasks_find(t, id);

	return k != NULL && k->home && tasks_unfinished(k->rec) &&
	    strcmp(k->rec->host, from) == 0 && strcmp(from, t->self) != 0 &&
	    k->rec->spec->checkpointable && seq > k->rec->home_checkpoint;
}

void
tasks_checkpoint_copied(struct tasks *t, uint64_t now, const char *id,
    uint32_t seq, struct tasks_out *o)
{
	struct tasks_task	*k = tasks_find(t, id);

	if (k == NULL || !k->home || seq <= k->rec->home_checkpoint)
		return;
	k->rec->home_checkpoint = seq;
	k->rec->home_checkpoint_ms = tk_wall(t, now);
	t->stats.ck_copies++;
	tk_save(o, k, 0);
}

/*
 * A task asked to checkpoint is writing it (the shell saw its checkpoint
 * grow, or its process wait on the disk): it is not deaf, only slow.  Its
 * time runs checkpoint_timeout_ms from now again, up to CK_WRITING_MAX
 * times checkpoint_timeout_ms from the signal in all.
 */
void
tasks_checkpoint_writing(struct tasks *t, uint64_t now, const char *id)
{
	struct tasks_task	*k = tasks_find(t, id);
	uint64_t		 span = (uint64_t)t->conf.checkpoint_timeout_ms;
	uint64_t		 due = now + span, cap;

	if (k == NULL || k->hold != HOLD_RUNNING)
		return;
	if (k->ck_asked && k->ck_signalled) {
		cap = k->ck_signalled + CK_WRITING_MAX * span;
		if (due > cap)
			due = cap;
		if (due > k->ck_due) {
			k->ck_due = due;
			t->stats.ck_slow++;
		}
	}
	if (k->yield && !k->ck_asked) {
		cap = k->yield_asked + CK_WRITING_MAX * span;
		if (due > cap)
			due = cap;
		if (due > k->yield_next) {
			k->yield_next = due;
			t->stats.ck_slow++;
		}
	}
}

int
tasks_checkpoint_ready(const struct tasks *t, const struct tasks_task *k,
    uint64_t now)
{
	return k->hold == HOLD_RUNNING && k->rec->spec->checkpointable &&
	    !k->ck_asked && k->rec->pgid != 0 && now >= k->proc_at +
	    (uint64_t)t->conf.checkpoint_grace_ms;
}

int
tasks_migration_pending(const struct tasks_task *k)
{
	const Lb__TaskRecord	*r = k->rec;

	return r->n_migrations > 0 && r->migrations[r->n_migrations - 1]->
	    freeze_us == 0 && r->migrations[r->n_migrations - 1]->
	    checkpoint_ms > 0 && k->resume;
}

/* From a millisecond, where a small checkpoint on loopback lands, to ten
 * seconds, where a large one over a slow link does. */
const uint64_t tasks_freeze_le_us[TASKS_FREEZE_BUCKETS - 1] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 10000000
};

static void
freeze_count(struct tasks_stats *st, uint64_t us)
{
	size_t	 i;

	for (i = 0; i < TASKS_FREEZE_BUCKETS - 1; i++)
		if (us <= tasks_freeze_le_us[i])
			break;
	st->freeze_hist[i]++;
	st->freeze_us_sum += us;
}

void
tasks_migration_measured(struct tasks *t, const char *id, uint64_t freeze_us,
    uint64_t bytes)
{
	struct tasks_task	*k = tasks_find(t, id);
	Lb__TaskMigration	*m;

	if (k == NULL || !tasks_migration_pending(k))
		return;
	m = k->rec->migrations[k->rec->n_migrations - 1];
	m->freeze_us = freeze_us > 0 ? freeze_us : 1;
	m->bytes = bytes;
	t->stats.freeze_us[t->stats.nfreeze++ % TASKS_FREEZE_RING] =
	    m->freeze_us;
	freeze_count(&t->stats, m->freeze_us);
	t->stats.migrations_in++;
	t->stats.migrate_bytes += bytes;
}
