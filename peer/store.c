/*
 * store.c - task directories, attachments, output files and the journal,
 * under state_dir (see store.h).  Paths come from ids that tasks_id_valid
 * accepted and names that tasks_name_valid accepted; files are opened
 * relative to the task's directory with O_NOFOLLOW.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peer.h"
#include "store.h"
#include "tasks/tasks.h"

#define SPARE_MAX	64	/* empty task directories kept for reuse */

#define SEQ_BLOCK	1024	/* task ids reserved in the journal at once */

struct store {
	char		*tasks;		/* state_dir/tasks */
	struct journal	*journal;
	struct journal_report report;	/* what the journal was found like */
	unsigned	 spare[SPARE_MAX];	/* names in tasks/.spare */
	size_t		 nspare;
	unsigned	 spare_seq;
};

char *
store_dir(struct peer *p, const char *id)
{
	if (!tasks_id_valid(id))
		fatalx("store: an invalid task id reached the store");
	return lb_printf("%s/%s", p->store->tasks, id);
}

void
store_rmtree(const char *path)
{
	DIR		*d;
	struct dirent	*e;
	struct stat	 st;

	if (lstat(path, &st) == -1)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	if ((d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			char *sub;
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			sub = lb_printf("%s/%s", path, e->d_name);
			store_rmtree(sub);
			free(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

static int
dir_has_files(const char *path)
{
	DIR		*d = opendir(path);
	struct dirent	*e;
	int		 any = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			any = 1;
			break;
		}
	closedir(d);
	return any;
}

/*
 * Task directories: an empty one left by a finished task is renamed into
 * tasks/.spare and renamed again for the next task.  Making a directory
 * allocates an inode, which on some filesystems costs more than everything
 * else lbpeer does for a short task; a rename costs little.
 */
static char *
spare_path(struct store *s, unsigned k)
{
	return lb_printf("%s/.spare/%u", s->tasks, k);
}

static void
spare_scan(struct store *s)
{
	char		*dir = lb_printf("%s/.spare", s->tasks);
	DIR		*d;
	struct dirent	*e;

	mkdir(dir, 0700);
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			char *ep;
			unsigned long k = strtoul(e->d_name, &ep, 10);
			if (*e->d_name == '.' || *ep != '\0')
				continue;
			if (s->nspare < SPARE_MAX)
				s->spare[s->nspare++] = (unsigned)k;
			if (k >= s->spare_seq)
				s->spare_seq = (unsigned)k + 1;
		}
		closedir(d);
	}
	free(dir);
}

int
store_mkdir(struct peer *p, const char *id, char **cause)
{
	struct store	*s = p->store;
	char		*dir = store_dir(p, id);

	store_rmtree(dir);	/* a leftover of a start that failed */
	while (s->nspare > 0) {
		char *sp = spare_path(s, s->spare[--s->nspare]);
		int rc = rename(sp, dir);
		free(sp);
		if (rc == 0) {
			/* Spare directories are empty: only an empty one is
			 * ever put there. */
			free(dir);
			return 0;
		}
	}
	if (mkdir(dir, 0700) == -1) {
		*cause = lb_printf("cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	free(dir);
	return 0;
}

void
store_release_dir(struct peer *p, const char *id)
{
	struct store	*s = p->store;
	char		*dir = store_dir(p, id), *sp;

	/* Only an empty directory: what a task leaves there is the user's. */
	if (s->nspare == SPARE_MAX || dir_has_files(dir)) {
		free(dir);
		return;
	}
	sp = spare_path(s, s->spare_seq);
	if (rename(dir, sp) == 0)
		s->spare[s->nspare++] = s->spare_seq++;
	else if (errno != ENOENT)
		log_debug("%s: %s", dir, strerror(errno));
	free(sp);
	free(dir);
}

void
store_remove(struct peer *p, const char *id)
{
	static const char *const beside[] = { "", ".out", ".err", ".ck",
	    ".cks" };
	char	*dir = store_dir(p, id);

	for (size_t i = 0; i < 5; i++) {
		char *path = lb_printf("%s%s", dir, beside[i]);
		store_rmtree(path);
		free(path);
	}
	free(dir);
}

static int
open_dir(struct peer *p, const char *id, char **cause)
{
	char	*dir = store_dir(p, id);
	int	 fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd == -1)
		*cause = lb_printf("%s: %s", dir, strerror(errno));
	free(dir);
	return fd;
}

int
store_write_files(struct peer *p, const char *id, Lb__TaskFile **files,
    size_t n, char **cause)
{
	int	dfd, fd;

	if (n == 0)
		return 0;
	if ((dfd = open_dir(p, id, cause)) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const Lb__TaskFile *f = files[i];
		size_t done = 0;
		ssize_t w;

		if (!tasks_name_valid(f->name)) {
			*cause = lb_printf("attachment name \"%.64s\" is not a "
			    "plain file name", f->name);
			close(dfd);
			return -1;
		}
		/* Permission bits only: no setuid, setgid or sticky. */
		fd = openat(dfd, f->name, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd == -1) {
			*cause = lb_printf("%s: %s", f->name, strerror(errno));
			close(dfd);
			return -1;
		}
		while (done < f->data.len) {
			if ((w = write(fd, f->data.data + done, f->data.len -
			    done)) < 0) {
				*cause = lb_printf("%s: %s", f->name,
				    strerror(errno));
				close(fd);
				close(dfd);
				return -1;
			}
			done += (size_t)w;
		}
		if (fchmod(fd, (f->mode & 0777) | 0600) == -1 ||
		    fsync(fd) == -1) {
			*cause = lb_printf("%s: %s", f->name, strerror(errno));
			close(fd);
			close(dfd);
			return -1;
		}
		close(fd);
	}
	close(dfd);
	return 0;
}

/* Read a whole file (at most `max` bytes) opened at dfd/name. */
static int
read_at(int dfd, const char *name, uint64_t max, ProtobufCBinaryData *d)
{
	int		 fd;
	struct stat	 st;
	ssize_t		 r;

	d->data = NULL;
	d->len = 0;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > max) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	d->data = lb_calloc(1, (size_t)st.st_size + 1);
	while (d->len < (size_t)st.st_size) {
		r = read(fd, d->data + d->len, (size_t)st.st_size - d->len);
		if (r <= 0)
			break;
		d->len += (size_t)r;
	}
	close(fd);
	return 0;
}

void
store_read_output(struct peer *p, const Lb__TaskRecord *r,
    ProtobufCBinaryData *out, ProtobufCBinaryData *err)
{
	ProtobufCBinaryData	*d[2] = { out, err };
	const char		*suffix[2] = { ".out", ".err" };
	int			 dfd;
	uint64_t		 max = (uint64_t)p->conf.task.output_limit_kb *
				    1024 + 4096;
	char			*name;

	out->data = err->data = NULL;
	out->len = err->len = 0;
	if (!r->output_in_files) {
		const ProtobufCBinaryData *s[2] = { &r->stdout_inline,
		    &r->stderr_inline };
		for (int i = 0; i < 2; i++) {
			d[i]->data = lb_calloc(1, s[i]->len + 1);
			d[i]->len = s[i]->len;
			if (s[i]->len)
				memcpy(d[i]->data, s[i]->data, s[i]->len);
		}
		return;
	}
	dfd = open(p->store->tasks, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1)
		return;
	for (int i = 0; i < 2; i++) {
		name = lb_printf("%s%s", r->id, suffix[i]);
		if (tasks_id_valid(r->id))
			(void)read_at(dfd, name, max, d[i]);
		free(name);
	}
	close(dfd);
}

int
store_write_output(struct peer *p, const char *id,
    const ProtobufCBinaryData *out, const ProtobufCBinaryData *err,
    char **cause)
{
	const ProtobufCBinaryData *d[2] = { out, err };
	const char	*suffix[2] = { ".out", ".err" };
	char		*dir = store_dir(p, id);

	for (int i = 0; i < 2; i++) {
		char *path = lb_printf("%s%s", dir, suffix[i]);
		int fd;
		size_t done = 0;
		ssize_t w;

		unlink(path);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd == -1) {
			*cause = lb_printf("%s: %s", path, strerror(errno));
			free(path);
			free(dir);
			return -1;
		}
		while (d[i] != NULL && done < d[i]->len) {
			if ((w = write(fd, d[i]->data + done, d[i]->len -
			    done)) < 0)
				break;
			done += (size_t)w;
		}
		if ((d[i] != NULL && done < d[i]->len) || fsync(fd) == -1) {
			*cause = lb_printf("%s: %s", path, strerror(errno));
			close(fd);
			free(path);
			free(dir);
			return -1;
		}
		close(fd);
		free(path);
	}
	free(dir);
	return 0;
}

int
store_task_fd(struct peer *p, const char *id, int ck, char **cause)
{
	char	*dir = store_dir(p, id), *path = lb_printf("%s%s", dir,
		    ck == 2 ? ".cks" : ck ? ".ck" : "");
	int	 fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd == -1)
		*cause = lb_printf("%s: %s", path, strerror(errno));
	free(path);
	free(dir);
	return fd;
}

char *
store_path(struct peer *p, const char *name)
{
	return lb_printf("%s/%s", p->store->tasks, name);
}

int
store_install(struct peer *p, const char *id, const char *staged,
    char **cause)
{
	char		*dir = store_dir(p, id), *ck = lb_printf("%s.ck", dir);
	char		*att = lb_printf("%s/att", staged);
	char		*sck = lb_printf("%s/ck", staged);
	struct stat	 st;
	int		 rc = -1;

	store_rmtree(dir);
	if (rename(att, dir) == -1) {
		*cause = lb_printf("%s: %s", dir, strerror(errno));
		goto out;
	}
	if (lstat(sck, &st) == 0) {
		store_rmtree(ck);
		if (rename(sck, ck) == -1) {
			*cause = lb_printf("%s: %s", ck, strerror(errno));
			goto out;
		}
	}
	/* What the task printed so far came with it (or nothing did: an
	 * output file left here by an earlier run is not its). */
	for (int i = 0; i < 2; i++) {
		char *from = lb_printf("%s/out/%s", staged, i ? "stderr" :
		    "stdout"), *to = lb_printf("%s.%s", dir, i ? "err" : "out");
		int bad = 0;

		if (lstat(from, &st) == 0) {
			if ((bad = rename(from, to) == -1))
				*cause = lb_printf("%s: %s", to,
				    strerror(errno));
		} else
			unlink(to);
		free(from);
		free(to);
		if (bad)
			goto out;
	}
	rc = 0;
out:
	free(sck);
	free(att);
	free(ck);
	free(dir);
	return rc;
}

/* Copy the tree at dfd into new directory `to` (relative to tfd). */
static int
copy_tree(int sfd, int tfd, const char *to, int depth, uint64_t *bytes,
    char **cause)
{
	DIR		*d;
	struct dirent	*e;
	struct stat	 st;
	int		 dfd, rc = 0;

	if (depth > 16) {
		*cause = lb_strdup("its checkpoint is nested too deep");
		return -1;
	}
	if (mkdirat(tfd, to, 0700) == -1 || (dfd = openat(tfd, to,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		*cause = lb_printf("%s: %s", to, strerror(errno));
		return -1;
	}
	if ((d = fdopendir(dup(sfd))) == NULL) {
		*cause = lb_printf("checkpoint: %s", strerror(errno));
		close(dfd);
		return -1;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(sfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(sfd, e->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub == -1)
				continue;
			rc = copy_tree(sub, dfd, e->d_name, depth + 1, bytes,
			    cause);
			close(sub);
		} else if (S_ISREG(st.st_mode)) {
			int in = openat(sfd, e->d_name, O_RDONLY | O_NOFOLLOW |
			    O_CLOEXEC), out;
			off_t left = st.st_size;
			if (in == -1)
				continue;
			out = openat(dfd, e->d_name, O_WRONLY | O_CREAT |
			    O_EXCL | O_NOFOLLOW | O_CLOEXEC, st.st_mode & 0777);
			while (out != -1 && left > 0) {
				ssize_t n = copy_file_range(in, NULL, out, NULL,
				    (size_t)left, 0);
				if (n <= 0)
					break;
				left -= n;
			}
			if (out == -1 || left > 0) {
				*cause = lb_printf("copying %s: %s", e->d_name,
				    strerror(errno ? errno : EIO));
				rc = -1;
			} else
				*bytes += (uint64_t)st.st_size;
			if (out != -1)
				close(out);
			close(in);
		}
	}
	closedir(d);
	close(dfd);
	return rc;
}

int
store_snapshot_ck(struct peer *p, const char *id, uint64_t *bytes,
    char **cause)
{
	char	*dir = store_dir(p, id), *snap = lb_printf("%s.cks", dir);
	char	*name = lb_printf("%s.cks", id);
	int	 sfd, tfd, rc = -1;

	*bytes = 0;
	store_rmtree(snap);
	if ((sfd = store_task_fd(p, id, 1, cause)) == -1)
		goto out;
	if ((tfd = open(p->store->tasks, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		*cause = lb_printf("%s: %s", p->store->tasks, strerror(errno));
		close(sfd);
		goto out;
	}
	rc = copy_tree(sfd, tfd, name, 0, bytes, cause);
	close(tfd);
	close(sfd);
	if (rc == -1)
		store_rmtree(snap);
out:
	free(name);
	free(snap);
	free(dir);
	return rc;
}

int
store_install_ck(struct peer *p, const char *id, const char *staged,
    char **cause)
{
	char	*dir = store_dir(p, id), *ck = lb_printf("%s.ck", dir);
	char	*sck = lb_printf("%s/ck", staged);
	int	 rc = 0;

	store_rmtree(ck);
	if (rename(sck, ck) == -1) {
		*cause = lb_printf("%s: %s", ck, strerror(errno));
		rc = -1;
	}
	free(sck);
	free(ck);
	free(dir);
	return rc;
}

int
store_has_checkpoint(struct peer *p, const char *id)
{
	char	*dir = store_dir(p, id), *ck = lb_printf("%s.ck", dir);
	int	 any = dir_has_files(ck);

	free(ck);
	free(dir);
	return any;
}

int
store_open(struct peer *p, journal_cb cb, void *arg, char **cause)
{
	struct store	*s = lb_calloc(1, sizeof(*s));

	s->tasks = lb_printf("%s/tasks", p->conf.state_dir);
	p->store = s;
	if (mkdir(s->tasks, 0700) == -1 && errno != EEXIST) {
		*cause = lb_printf("cannot create %s: %s", s->tasks,
		    strerror(errno));
		return -1;
	}
	spare_scan(s);
	s->journal = journal_open(p->conf.state_dir, cb, arg, &s->report,
	    cause);
	return s->journal == NULL ? -1 : 0;
}

int
store_journal_short(struct peer *p)
{
	if (journal_short(p->store->journal))
		journal_hold_space(p->store->journal);
	return journal_short(p->store->journal);
}

uint64_t
store_ids_floor(struct peer *p)
{
	return journal_ids_floor(p->store->journal);
}

int
store_ids_reserve(struct peer *p, uint64_t seq, char **cause)
{
	/* An id is issued only below the journal's durable mark. */
	if (seq < journal_ids_reserved(p->store->journal))
		return 0;
	return journal_ids_reserve(p->store->journal, seq + SEQ_BLOCK, cause);
}

const struct journal_report *
store_report(struct peer *p)
{
	return &p->store->report;
}

int
store_compact_due(struct peer *p, size_t live)
{
	uint64_t	n = journal_records(p->store->journal);

	return n > 64 && n - live > live;
}

int
store_compact(struct peer *p, journal_next_cb next, void *arg, char **cause)
{
	return journal_compact(p->store->journal, next, arg, cause);
}

void
store_close(struct peer *p)
{
	if (p->store == NULL)
		return;
	journal_close(p->store->journal);
	free(p->store->tasks);
	free(p->store);
	p->store = NULL;
}

/*
 * A record that cannot be journaled is a promise that cannot be kept (a
 * result acknowledged, a move committed): the peer stops rather than go on
 * with a state its disk does not hold.  Restarted, it reads the journal
 * back, and the others retry what it did not acknowledge.
 */
void
store_save(struct peer *p, const Lb__TaskRecord *r, int sync)
{
	char	*cause;

	if (journal_append(p->store->journal, r, sync, &cause) == -1)
		fatalx("journal: %s: stopping, so that nothing is promised "
		    "that the disk does not hold", cause);
}

void
store_forget(struct peer *p, const char *id)
{
	Lb__TaskRecord	r = LB__TASK_RECORD__INIT;
	Lb__TaskSpec	s = LB__TASK_SPEC__INIT;

	r.id = (char *)id;
	r.spec = &s;
	r.forgotten = 1;
	store_save(p, &r, 0);
	store_remove(p, id);
}

uint64_t
store_journal_size(struct peer *p)
{
	return journal_size(p->store->journal);
}
