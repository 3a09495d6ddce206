/*
 * repkeep.c - the copies a home keeps of its tasks' messages, in its
 * replica stream.
 *
 * A message acknowledged to its sender is kept by the task's home (so that
 * a run of the task from its start or its checkpoint gets it again); a home
 * gone for good would take those copies with it.  So every change to what
 * the home keeps for a task is an item of the home's stream, stamped with a
 * version like its records: a message added, or the task's keep anew (after
 * a checkpoint let some go; empty when none is left).  The home keeps, per
 * task, the items since its last "anew" -- together they are what it keeps
 * now, so a member sent the stream from the start holds it whole -- until
 * the task ends (a replica's copy of an ended task's keep is of no use: it
 * does not run again).  A replica applies an item once (above what it
 * holds of the stream, after the records of the same put, and only from a
 * put it takes whole) and the caller keeps it on disk before the ack goes
 * (a write that fails: no ack, the stream starts over); a stream sent
 * again from its start (the home's or this peer's restart) appends
 * messages it holds already, which count once when the copy is read back
 * (peer/keepfile.c).
 */
#include <stdlib.h>
#include <string.h>

#include "src/util.h"
#include "tasks/replica_int.h"

static void
kitem_free(struct rep_kitem *k)
{
	if (k->kb != NULL)
		lb__mailbox_keep__free_unpacked(k->kb, NULL);
	k->kb = NULL;
}

int
rep_keep(struct rep *r, const char *id, int anew, const uint8_t *buf,
    size_t len)
{
	Lb__MailboxKeep	*kb;
	size_t		 k = 0;

	if (!tasks_id_valid(id) ||
	    (kb = lb__mailbox_keep__unpack(NULL, len, buf)) == NULL) {
		r->stats.keeps_refused++;
		return -1;
	}
	if (anew)
		rep_keeps_drop(r, id);	/* (superseded: room first) */
	if (kb->task_id == NULL || strcmp(kb->task_id, id) != 0 ||
	    r->nkeeps >= REP_KEEPS_MAX) {
		lb__mailbox_keep__free_unpacked(kb, NULL);
		r->stats.keeps_refused++;
		return -1;
	}
	if (r->nkeeps == r->capkeeps) {
		r->capkeeps = r->capkeeps ? 2 * r->capkeeps : 64;
		r->keeps = lb_reallocarray(r->keeps, r->capkeeps,
		    sizeof(*r->keeps));
	}
	k = r->nkeeps++;
	memset(&r->keeps[k], 0, sizeof(r->keeps[k]));
	r->keeps[k].version = ++r->version;
	lb_strlcpy(r->keeps[k].id, id, sizeof(r->keeps[k].id));
	r->keeps[k].anew = anew;
	r->keeps[k].kb = kb;
	return 0;
}

size_t
rep_nkeeps(const struct rep *r)
{
	return r->nkeeps;
}

size_t
rep_keeps_in_range(const struct rep *r, uint64_t after, uint64_t top,
    const struct rep_kitem **first)
{
	size_t	lo = 0, hi = r->nkeeps, n = 0;

	/* (in version order: the first above `after`) */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->keeps[mid].version <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = r->nkeeps > 0 ? &r->keeps[lo] : NULL;
	while (lo + n < r->nkeeps && r->keeps[lo + n].version <= top)
		n++;
	return n;
}

void
rep_keeps_drop(struct rep *r, const char *id)
{
	size_t	k = 0;

	for (size_t i = 0; i < r->nkeeps; i++) {
		if (strcmp(r->keeps[i].id, id) == 0)
			kitem_free(&r->keeps[i]);
		else
			r->keeps[k++] = r->keeps[i];
	}
	r->nkeeps = k;
}

int
rep_keep_in(struct rep *r, struct home *h, const Lb__ReplicaItem *it,
    uint64_t after, uint64_t top, struct rep_out *o)
{
	const Lb__MailboxKeep	*kb = it->keep;
	const Lb__TaskRecord	*rec;
	char			 acting[LB_ID_MAX];
	size_t			 len;
	struct rep_action	*a;

	if (kb->task_id == NULL || !tasks_id_valid(kb->task_id) ||
	    it->keep_version <= after || it->keep_version > top) {
		r->stats.refused++;
		return -1;
	}
	/* The sender's task: by its number, or one it acts for. */
	if ((rec = rep_held(r, kb->task_id)) != NULL)
		rep_record_home(rec, acting);
	else
		tasks_home_of(kb->task_id, acting);
	if (strcmp(acting, h->id) != 0) {
		r->stats.refused++;
		return -1;
	}
	if (it->keep_version <= h->applied)
		return 0;	/* applied before (a put sent again) */
	/* (what it holds, for elections: a replica that missed copies of
	 * messages is no better a candidate than one that missed records) */
	if (it->keep_version > h->newest)
		h->newest = it->keep_version;
	a = rep_push(o, RA_KEPT);
	lb_strlcpy(a->to, h->id, sizeof(a->to));
	lb_strlcpy(a->id, kb->task_id, sizeof(a->id));
	a->anew = it->keep_anew;
	len = lb__mailbox_keep__get_packed_size(kb);
	a->msg = lb_calloc(1, len + 1);
	a->len = lb__mailbox_keep__pack(kb, a->msg);
	o->sync = 1;
	r->stats.keeps_kept++;
	return 0;
}

void
rep_keeps_free(struct rep *r)
{
	for (size_t i = 0; i < r->nkeeps; i++)
		kitem_free(&r->keeps[i]);
	free(r->keeps);
	r->keeps = NULL;
	r->nkeeps = r->capkeeps = 0;
}
