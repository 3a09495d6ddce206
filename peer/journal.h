/*
 * journal.h - the home's journal of task records, under state_dir.
 *
 * Files, all in the directory given to journal_open:
 *
 *   journal		the records, appended one after another
 *   .journal.tmp	a compaction that has not finished (removed at open)
 *   journal.ids	the id reservation mark (see journal_ids_reserve)
 *   .journal.ids.tmp	a reservation that has not finished (removed at open)
 *
 * A record on disk is a frame of a 16-byte header and a payload:
 *
 *   [magic f5 4c 42 4a][length u32 LE][check 8][payload: a TaskRecord]
 *
 * where check is BLAKE2b-64 of the magic, the length and the payload.  The
 * magic lets replay find the next frame after damage: it scans forward for
 * a header whose length and check hold, so one damaged record costs that
 * record and no other.  (0xf5 never occurs in UTF-8, so argv and other
 * strings rarely hold the magic.)
 *
 * At open every record is read back, in order, and handed to the caller:
 *
 * - Bytes at the end that hold no good frame (a crash in the middle of a
 *   write) are cut off (ftruncate), so that new records follow good ones.
 * - A damaged span in the middle (a damaged record, garbage) is skipped and
 *   reported; every good record after it is kept.  The span stays in the
 *   file until the next compaction.
 * - A journal of the format before the magic (frames of [length][check]
 *   [payload]) is refused with a clear message: journal_open fails, and
 *   nothing is read or changed.
 *
 * The journal does not interpret records.  The caller decides that the
 * last record of a task wins, and what a record with `forgotten` set (a
 * tombstone) means; compaction writes what the caller yields.
 *
 * Not thread-safe; one process per directory.
 */
#ifndef LB_JOURNAL_H
#define LB_JOURNAL_H

#include <stdint.h>

#include "src/lbpeer.pb-c.h"

struct journal;

/* What journal_open found (also logged, as a warning when anything was wrong). */
struct journal_report {
	uint64_t	records;	/* good records read back */
	uint64_t	damaged;	/* damaged spans skipped, each one or more
					   records or garbage, with good records
					   after it */
	uint64_t	damaged_bytes;	/* the bytes of those spans */
	uint64_t	torn_bytes;	/* bytes cut from the end */
};

/* Called for each good record read back, in file order; the callee owns it. */
typedef void (*journal_cb)(Lb__TaskRecord *, void *arg);

/*
 * Called by journal_compact for the next record to keep, NULL at the end.
 * The record stays the caller's; the journal has packed it before it asks
 * for the next one.  It must not call back into the journal.  After an
 * error compaction stops asking.
 */
typedef const Lb__TaskRecord *(*journal_next_cb)(void *arg);

/*
 * Open (or create) DIR/journal and read it back through cb; fill *report
 * when report is not NULL.  NULL with *cause set when the journal cannot be
 * read, is of an older format, or when DIR/journal.ids is missing or
 * damaged while the journal holds anything (the ids issued before would be
 * unknown; see journal_ids_reserve).  A failure comes before any call of cb.
 */
struct journal	*journal_open(const char *dir, journal_cb cb, void *arg,
		    struct journal_report *report, char **cause);

/*
 * Append a record; with sync, it is on disk (fdatasync) when this returns
 * 0.  On -1 no part of the record is left in the file.
 */
int		 journal_append(struct journal *, const Lb__TaskRecord *,
		    int sync, char **cause);

/*
 * Replace the journal with the records next yields (the live ones, in the
 * order replay should hand them back): they are written to
 * DIR/.journal.tmp, which is fsynced and renamed over DIR/journal; the
 * directory is fsynced, and appends go on in the new file.  A crash at any
 * point leaves the old journal or the new one, whole.  On -1 before the
 * rename the old journal is kept and appends go on there; on -1 after it
 * (the directory could not be fsynced) the new journal is in use but may
 * not survive a crash.
 */
int		 journal_compact(struct journal *, journal_next_cb next,
		    void *arg, char **cause);

/*
 * Counts for deciding when to compact.  journal_records is the number of
 * good records in the file: those read back at open (or written by the
 * last compaction) and those appended since.  A caller that keeps L live
 * tasks compacts when journal_records - L > L, say (more dead records than
 * live), or when the open report showed damage.
 */
uint64_t	 journal_size(const struct journal *);	   /* bytes in the file */
/* Whether the space held ahead of the journal could not be renewed (the
 * disk is full): new work is refused until it can. */
int		 journal_short(const struct journal *);
/* Try again to hold space ahead (after a shortage). */
void		 journal_hold_space(struct journal *);
uint64_t	 journal_records(const struct journal *);
uint64_t	 journal_appended(const struct journal *); /* since open or the
							      last compaction */

/*
 * Task ids: never issued twice, whatever happens to the journal.  The
 * caller issues sequence numbers; the journal keeps a mark in
 * DIR/journal.ids below which every sequence may have been issued, and
 * at or above which none was.  The contract:
 *
 * - At open, start at journal_ids_floor() or above (and above any sequence
 *   seen in a record, for good measure).
 * - Issue a sequence s only while s < journal_ids_reserved().  Before that,
 *   journal_ids_reserve(j, s + block): it writes the new mark atomically
 *   (temp file, fsync, rename, fsync of the directory) and returns 0 only
 *   once it is durable.  Reserve in blocks (say 1024), so that this costs
 *   one sync per block and not one per task; a restart skips the rest of
 *   the block.
 *
 * The mark never goes down: reserving below it does nothing.  Compaction
 * and damage to the journal do not touch it, so the records of forgotten
 * tasks may go while their ids stay used.  An operator who has lost
 * journal.ids can write one line "reserved N" to it, N above every
 * sequence this peer ever issued.
 */
int		 journal_ids_reserve(struct journal *, uint64_t upto,
		    char **cause);
/* The mark read at open (0 without journal.ids): the lowest never issued. */
uint64_t	 journal_ids_floor(const struct journal *);
/* The mark now: sequences below it may be issued without a reservation. */
uint64_t	 journal_ids_reserved(const struct journal *);

void		 journal_close(struct journal *);

#endif
