/*
 * repheld.c - the replica's side of repfiles (see repfiles.c): the copies
 * of other homes' task files kept here, and their adoption.
 *
 * A replica pulls what a home offers (xfer.c) into a staging directory,
 * renamed whole to state_dir/replicas/files/ID (ID.output for output
 * files): there, they are all there.  Attachments go when the task's
 * record held here has ended, output with its record, either RF_ORPHAN_S
 * after it came when no record did.  The replica that takes over moves
 * them into the task's directory (repfiles_adopting) and offers them to
 * its own set (repfiles_adopted).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "src/log.h"
#include "src/util.h"
#include "gossip/gossip.h"
#include "tasks/replica.h"
#include "tasks/tasks.h"
#include "peer.h"
#include "disk.h"
#include "replicas.h"
#include "repfiles.h"
#include "repfiles_int.h"
#include "store.h"
#include "xfer.h"

char *
rf_held_path(struct peer *p, const char *id, int out)
{
	return lb_printf("%s/%s%s", RF(p)->dir, id, out ? ".output" : "");
}

static void
ack_send(struct peer *p, const char *to, const char *id, int out,
    const char *error)
{
	Lb__PeerMsg		 m = LB__PEER_MSG__INIT;
	Lb__ReplicaFilesAck	 a = LB__REPLICA_FILES_ACK__INIT;
	const char		*addr = members_addr(p, to, NULL);

	if (addr == NULL)
		return;
	a.task_id = (char *)id;
	a.ok = error == NULL;
	a.error = (char *)(error != NULL ? error : "");
	a.output = out;
	m.body_case = LB__PEER_MSG__BODY_REPLICA_FILES_ACK;
	m.replica_files_ack = &a;
	net_send(p, addr, &m);
}

/* Replica: a home offers the attachments of one of its tasks. */
void
rf_files_in(struct peer *p, const char *from, uint64_t inc,
    const Lb__PeerMsg *m)
{
	const Lb__Transfer	*tr = m->replica_files->transfer;
	const Lb__TaskRecord	*rec;
	char			 home[LB_ID_MAX], *path, *cause = NULL;
	struct stat		 st;
	int			 out;

	if (tr == NULL || (rec = tr->record) == NULL || rec->spec == NULL ||
	    !tasks_id_valid(rec->id) || tr->xfer_id == 0) {
		log_debug("replica files from %s: malformed", from);
		return;
	}
	out = m->replica_files->output;
	for (size_t i = 0; i < tr->n_manifest; i++)
		if (tr->manifest[i]->kind != (out ? 2u : 0u)) {
			log_debug("task %s: files from %s of another kind",
			    rec->id, from);
			return;
		}
	/* From its home only (by its id, or the one acting for it). */
	tasks_home_of(rec->id, home);
	if (strcmp(home, from) != 0 && (rec->home_peer == NULL ||
	    strcmp(rec->home_peer, from) != 0)) {
		log_debug("task %s: attachments offered by %s, not its home",
		    rec->id, from);
		return;
	}
	path = rf_held_path(p, rec->id, out);
	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		free(path);
		ack_send(p, from, rec->id, out, NULL);	/* held already */
		return;
	}
	free(path);
	if (xfer_fetching(p, from, tr->xfer_id))
		return;
	if (disk_short(p) != NULL) {
		ack_send(p, from, rec->id, out, disk_short(p));
		return;
	}
	if (xfer_fetch(p, from, inc, m, &cause) == -1) {
		/* (one in progress: its end answers) */
		if (strstr(cause, "in progress") == NULL) {
			log_warnx("task %s: its %s from %s refused: %s",
			    rec->id, out ? "output" : "attachments", from,
			    cause);
			ack_send(p, from, rec->id, out, cause);
		}
		free(cause);
	}
}

void
repfiles_fetched(struct peer *p, const char *from, const Lb__PeerMsg *m,
    const char *staged, const char *error)
{
	const Lb__Transfer *tr = m->replica_files->transfer;
	const char	*id = tr->record->id;
	int		 out = m->replica_files->output;
	const char	*what = out ? "output" : "attachments";
	char		*att, *path, *why;
	struct stat	 st;

	if (RF(p) == NULL)
		return;
	if (error != NULL) {
		RF(p)->st.failed++;
		log_info("task %s: its %s from %s did not come: %s (its home "
		    "offers them again)", id, what, from, error);
		return;
	}
	att = lb_printf("%s/%s", staged, out ? "out" : "att");
	path = rf_held_path(p, id, out);
	store_rmtree(path);
	/* (an offer of no file leaves no directory: an empty one) */
	if (lstat(att, &st) == -1 && errno == ENOENT)
		(void)mkdir(att, 0700);
	/* The rename on disk before the answer: the home counts on it. */
	why = NULL;
	if (rename(att, path) == -1)
		why = lb_printf("%s: %s", path, strerror(errno));
	else
		(void)lb_fsync_dir(RF(p)->dir, &why);
	if (why != NULL) {
		RF(p)->st.failed++;
		log_warnx("task %s: its %s: %s", id, what, why);
		ack_send(p, from, id, out, why);
		free(why);
	} else {
		RF(p)->st.fetched++;
		log_debug("task %s: its %s held for %s", id, what, from);
		ack_send(p, from, id, out, NULL);
	}
	free(path);
	free(att);
}

static int
adopt_att(struct peer *p, const char *id, const char *dir)
{
	char		*from;
	struct stat	 st;
	int		 rc = 0;

	if (RF(p) == NULL)
		return 0;
	from = rf_held_path(p, id, 0);
	if (lstat(from, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* An empty directory is made for it: theirs instead.  One
		 * with files (it ran here) keeps them. */
		if ((rmdir(dir) == 0 || errno == ENOENT) &&
		    rename(from, dir) == 0)
			RF(p)->st.adopted++;
		else {
			store_rmtree(from);
			(void)mkdir(dir, 0700);	/* (its directory stays) */
		}
		rc = 1;
	}
	free(from);
	return rc;
}

static int
adopt_output(struct peer *p, const char *id)
{
	char		*from, *dir;
	struct stat	 st;
	int		 rc = 0;

	if (RF(p) == NULL)
		return 0;
	from = rf_held_path(p, id, 1);
	dir = store_dir(p, id);
	if (lstat(from, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = 1;
		for (int i = 0; i < 2; i++) {
			char *f = lb_printf("%s/%s", from, i ? "stderr" :
			    "stdout"), *to = lb_printf("%s.%s", dir, i ?
			    "err" : "out");

			if (lstat(f, &st) == 0 && rename(f, to) == -1) {
				log_warnx("task %s: its output: %s: %s", id,
				    to, strerror(errno));
				rc = 0;
			}
			free(f);
			free(to);
		}
		if (rc)		/* (else kept: the copy there is the one) */
			store_rmtree(from);
	} else {
		/* Moved in before (an adoption again after a restart). */
		char *o = lb_printf("%s.out", dir);

		rc = lstat(o, &st) == 0;
		free(o);
	}
	free(dir);
	free(from);
	return rc;
}

void
repfiles_adopting(struct peer *p, Lb__TaskRecord *rec,
    const char *home, const char *dir)
{
	if (RF(p) == NULL)
		return;
	/* The copy of its checkpoint its home held stayed there (copies
	 * are not replicated): run again here, it starts from its start,
	 * not from a checkpoint that is not here.  (Its host, alive, goes
	 * on from its own; its next copy comes here.) */
	if (tasks_unfinished(rec) && rec->home_checkpoint > 0) {
		char *ck = lb_printf("%s.ck", dir);

		log_info("task %s: the copy of its checkpoint %u stayed at its "
		    "home %s: run again here, it starts over", rec->id,
		    rec->home_checkpoint, home);
		rec->home_checkpoint = 0;
		rec->home_checkpoint_ms = 0;
		/* (one an earlier stay left is not its checkpoint now; but
		 * a copy held here keeps its own) */
		if (tasks_find(p->tc, rec->id) == NULL)
			store_rmtree(ck);
		free(ck);
	}
	if (rec->output_in_files && !tasks_unfinished(rec) &&
	    rec->stdout_bytes + rec->stderr_bytes > 0 &&
	    adopt_output(p, rec->id) == 0)
		log_warnx("task %s: its output stayed at its home %s, which "
		    "is gone, and is not here (its host may send it again)",
		    rec->id, home);
	if (rec->spec != NULL && rec->spec->n_files > 0 &&
	    tasks_unfinished(rec) && adopt_att(p, rec->id, dir) == 0) {
		RF(p)->st.missing++;
		log_warnx("task %s: its %zu attached files stayed at its home "
		    "%s, which is gone, and are not here: it runs without "
		    "them", rec->id, rec->spec->n_files, home);
	}
}

/* Replica: copies whose task ended, or that no record came for, go. */
void
rf_prune(struct peer *p)
{
	DIR		*d = opendir(RF(p)->dir);
	struct dirent	*e;
	size_t		 held = 0;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		const Lb__TaskRecord	*rec;
		struct stat		 st;
		char			*path, id[TASKS_ID_MAX];
		size_t			 len = strlen(e->d_name);
		int			 out = len > 7 &&
					    strcmp(e->d_name + len - 7,
					    ".output") == 0;

		if (len - (out ? 7 : 0) >= sizeof(id))
			continue;
		memcpy(id, e->d_name, len - (out ? 7 : 0));
		id[len - (out ? 7 : 0)] = '\0';
		if (!tasks_id_valid(id))
			continue;
		path = rf_held_path(p, id, out);
		rec = replicas_held(p, id);
		/* Attachments go once the task ended; output, with its
		 * record; either, when no record came. */
		if ((rec != NULL && !out && !tasks_unfinished(rec)) ||
		    (rec == NULL && lstat(path, &st) == 0 &&
		    time(NULL) - st.st_mtime > RF_ORPHAN_S)) {
			log_debug("task %s: its %s here go (%s)", id,
			    out ? "output" : "attachments", rec != NULL ?
			    "it ended" : "no record");
			store_rmtree(path);
		} else
			held++;
		free(path);
	}
	closedir(d);
	RF(p)->st.held = held;
}

/*
 * Replica: the homes some of whose tasks' files are not here (pulled
 * late, or never): for those, this peer stands in an election only after
 * the other members (one of them has them).
 */
void
rf_lacking(struct peer *p)
{
	size_t			 n, nh = 0, nm;
	const Lb__TaskRecord	*const *all;
	const struct gossip_member *m = gossip_members(p->gossip, &nm);
	char			 (*homes)[LB_ID_MAX];
	int			*lack;
	uint64_t		 wall = lb_wall_ms();

	/* (it matters for a home that is dead only: none, nothing to do) */
	for (n = 0; n < nm && m[n].state == GOSSIP_ALIVE; n++)
		;
	if (n == nm)
		return;
	all = replicas_all_held(p, &n);
	homes = lb_calloc(REP_HOMES_MAX, sizeof(*homes));
	lack = lb_calloc(REP_HOMES_MAX, sizeof(*lack));

	for (size_t i = 0; i < n; i++) {
		const Lb__TaskRecord	*rec = all[i];
		char			 home[LB_ID_MAX], *path;
		struct stat		 st;
		size_t			 h;
		int			 out;

		rep_record_home(rec, home);
		if (members_addr(p, home, NULL) != NULL)
			continue;	/* (alive: looked at when it dies) */
		for (h = 0; h < nh && strcmp(homes[h], home) != 0; h++)
			;
		if (h == nh) {
			if (nh == REP_HOMES_MAX)
				continue;
			lb_strlcpy(homes[nh], home, LB_ID_MAX);
			lack[nh++] = 0;
		}
		if (lack[h] || !tasks_id_valid(rec->id))
			continue;
		if (tasks_unfinished(rec) && rec->spec != NULL &&
		    rec->spec->n_files > 0)
			out = 0;
		else if (!tasks_unfinished(rec) && rec->output_in_files &&
		    rec->stdout_bytes + rec->stderr_bytes > 0 &&
		    rec->finished_ms + RF_RECENT_MS > wall)
			out = 1;	/* (the output of those that ended
					 * lately: the files of the others
					 * came long ago, or never will) */
		else
			continue;
		path = rf_held_path(p, rec->id, out);
		if (lstat(path, &st) == -1)
			lack[h] = 1;
		free(path);
	}
	for (size_t h = 0; h < nh; h++)
		replicas_set_lacking(p, homes[h], lack[h]);
	free(homes);
	free(lack);
}

