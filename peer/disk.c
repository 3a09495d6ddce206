/*
 * disk.c - the disk a peer's tasks use.  A task may fill the disk its peer
 * keeps its journal on; the journal holds space ahead (journal.c), and
 * this file keeps the tasks within bounds: each running task's files (its
 * directory, its checkpoint, its output) within task.disk_limit_mb, and
 * the free space of state_dir's disk above task.disk_reserve_mb, by
 * stopping the task that broke the bound; it fails, saying why.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "src/log.h"
#include "src/util.h"
#include "tasks/tasks.h"
#include "peer.h"
#include "store.h"
#include "disk.h"

#define DISK_EVERY_MS	1000
#define DISK_DEPTH	32	/* directories deeper are not counted */
#define DISK_ENTRIES	100000	/* entries looked at, per task and look */

static uint64_t	disk_last;
static char	disk_why[160];

/* Bytes of disk under dfd (closed here), counted until `stop`. */
static uint64_t
du(int dfd, int depth, uint64_t stop, size_t *entries)
{
	DIR		*d;
	struct dirent	*e;
	struct stat	 st;
	uint64_t	 sum = 0;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return 0;
	}
	while (sum < stop && (e = readdir(d)) != NULL && ++*entries <
	    DISK_ENTRIES) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		sum += (uint64_t)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode) && depth < DISK_DEPTH && sum < stop) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub != -1)
				sum += du(sub, depth + 1, stop - sum, entries);
		}
	}
	closedir(d);
	return sum;
}

/* Bytes of disk the task `id` holds here: its directory, its checkpoint
 * and its output files. */
static uint64_t
task_bytes(struct peer *p, const char *id, uint64_t stop)
{
	char		*dir = store_dir(p, id), *path;
	struct stat	 st;
	uint64_t	 sum = 0;
	size_t		 entries = 0;
	int		 fd;

	for (int i = 0; i < 4 && sum < stop; i++) {
		static const char *const sfx[] = { "", ".ck", ".out", ".err" };

		path = lb_printf("%s%s", dir, sfx[i]);
		if (i < 2) {
			if ((fd = open(path, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC)) != -1)
				sum += du(fd, 0, stop - sum, &entries);
		} else if (lstat(path, &st) == 0)
			sum += (uint64_t)st.st_blocks * 512;
		free(path);
	}
	free(dir);
	return sum;
}

/* Whether process `pid` waits on the disk now (state D). */
static int
in_disk_wait(uint32_t pid)
{
	char	 path[64], buf[256], *rp;
	ssize_t	 n;
	int	 fd;

	if (pid == 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold anything, the state follows
	 * its last parenthesis. */
	if ((rp = strrchr(buf, ')')) == NULL || rp[1] != ' ')
		return 0;
	return rp[2] == 'D';
}

/*
 * A task asked to checkpoint that is writing it (its checkpoint grew since
 * the last look, or its process waits on the disk, as in an fsync of a
 * large state) is given more time: a slow disk is not a deaf task.
 */
static void
ck_progress(struct peer *p, uint64_t now, struct tasks_task *k)
{
	char		*dir, *path;
	uint64_t	 bytes = 0;
	size_t		 entries = 0;
	int		 fd;

	if (!((k->ck_asked && k->ck_signalled) || k->yield)) {
		k->sh_ck_bytes = 0;
		return;
	}
	dir = store_dir(p, k->rec->id);
	path = lb_printf("%s.ck", dir);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) != -1)
		bytes = du(fd, 0, UINT64_MAX, &entries);
	free(path);
	free(dir);
	/* (sh_ck_bytes is the size + 1; 0 before the first look.) */
	if ((k->sh_ck_bytes != 0 && bytes + 1 > k->sh_ck_bytes) ||
	    in_disk_wait(k->rec->pgid))
		tasks_checkpoint_writing(p->tc, now, k->rec->id);
	k->sh_ck_bytes = bytes + 1;
}

const char *
disk_short(struct peer *p)
{
	if (store_journal_short(p))
		return "the disk of this peer is full (its journal cannot hold "
		    "space ahead)";
	return disk_why[0] != '\0' ? disk_why : NULL;
}

void
disk_check(struct peer *p, struct tasks_out *o)
{
	uint64_t		 now = lb_mono_ms(), mb = 1024 * 1024;
	uint64_t		 limit = (uint64_t)p->conf.task.disk_limit_mb * mb;
	uint64_t		 reserve = (uint64_t)p->conf.task.disk_reserve_mb *
				    mb, most = 0, avail = UINT64_MAX;
	struct tasks_task	**all;
	const char		*worst = NULL;
	struct statvfs		 vfs;
	size_t			 n;
	char			*why;
	int			 stopping = 0, is_short;

	if (disk_last != 0 && now - disk_last < DISK_EVERY_MS)
		return;
	disk_last = now;
	if (statvfs(p->conf.state_dir, &vfs) == 0)
		avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	all = tasks_all(p->tc, &n);
	for (size_t i = 0; i < n; i++) {
		struct tasks_task *k = all[i];
		uint64_t used;

		if (k->hold != HOLD_RUNNING)
			continue;
		ck_progress(p, now, k);
		if (k->fail_why[0] != '\0') {
			stopping = 1;	/* one stopped already: its room
					 * comes when it has ended */
			continue;
		}
		used = task_bytes(p, k->rec->id, limit + 1);
		if (used > limit) {
			why = lb_printf("it used more than task.disk_limit_mb "
			    "(%d MiB) of its peer's disk",
			    p->conf.task.disk_limit_mb);
			log_warnx("task %s: %s", k->rec->id, why);
			tasks_fail_running(p->tc, now, k->rec->id, why, o);
			free(why);
			continue;
		}
		if (used > most) {
			most = used;
			worst = k->rec->id;
		}
	}
	is_short = avail < reserve || store_journal_short(p);
	tasks_set_disk_short(p->tc, now, is_short, o);
	if (!is_short) {
		if (disk_why[0] != '\0')
			log_info("disk: %" PRIu64 " MiB free again: this peer "
			    "takes tasks again", avail / mb);
		disk_why[0] = '\0';
		return;
	}
	if (avail >= reserve)
		return;		/* (the journal: disk_short says so) */
	if (disk_why[0] == '\0')
		log_warnx("disk: %" PRIu64 " MiB free on %s, below "
		    "task.disk_reserve_mb (%d): no new task here", avail / mb,
		    p->conf.state_dir, p->conf.task.disk_reserve_mb);
	snprintf(disk_why, sizeof(disk_why), "the disk of this peer is "
	    "nearly full (%" PRIu64 " MiB free, task.disk_reserve_mb %d)",
	    avail / mb, p->conf.task.disk_reserve_mb);
	/* The task that fills it, not any: one holding at least the reserve,
	 * and none while the one stopped before has not ended. */
	if (worst != NULL && !stopping && most >= reserve) {
		why = lb_printf("its peer's disk was nearly full (%" PRIu64
		    " MiB free, task.disk_reserve_mb %d) and it held the most "
		    "(%" PRIu64 " MiB)", avail / mb,
		    p->conf.task.disk_reserve_mb, most / mb);
		log_warnx("task %s: %s", worst, why);
		tasks_fail_running(p->tc, now, worst, why, o);
		free(why);
	}
}
