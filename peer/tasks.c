/*
 * tasks.c - the task table: ids, records, the journal, submit, cancel,
 * checkpoint requests, and queries to the homes of tasks homed elsewhere.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peer.h"
#include "journal.h"
#include "tasks.h"
#include "balance/balance.h"

#define TASK_BUCKETS	4096
#define REMOTE_MAX	256	/* answers from other homes kept */
#define REMOTE_ASK_MS	200	/* ask a home again after this */
#define SPARE_MAX	64	/* empty task directories kept for reuse */
#define SEQ_BLOCK	1024	/* task ids reserved in the journal at once */

/* An answer from another home, and when we asked. */
struct remote {
	char		 id[LB_ID_MAX + 24];
	uint64_t	 req_id;
	uint64_t	 asked_ms;
	uint64_t	 answered_ms;
	int		 want_output;	/* someone wants the output too */
	int		 asked_output;	/* the last query asked for it */
	int		 ans_output;	/* the answer we have carries it */
	Lb__TaskAnswer	*ans;
};

struct task_table {
	struct task	**buckets;
	size_t		  n;
	size_t		  homed;	/* of them, homed here */
	uint64_t	  next_seq;
	struct journal	 *journal;
	struct remote	  remote[REMOTE_MAX];
	uint64_t	  next_req;
	struct task	**sorted;	/* for tasks_all */
	unsigned	  spare[SPARE_MAX];	/* names in tasks/.spare */
	size_t		  nspare;
	unsigned	  spare_seq;
};

const char *
task_state_name(Lb__TaskState s)
{
	switch (s) {
	case LB__TASK_STATE__TASK_QUEUED: return "queued";
	case LB__TASK_STATE__TASK_RUNNING: return "running";
	case LB__TASK_STATE__TASK_DONE: return "done";
	case LB__TASK_STATE__TASK_FAILED: return "failed";
	case LB__TASK_STATE__TASK_CANCELLED: return "cancelled";
	default: return "?";
	}
}

void
rec_set_str(char **field, const char *v)
{
	if (*field != NULL && *field != protobuf_c_empty_string)
		free(*field);
	*field = lb_strdup(v);
}

static uint32_t
hash_id(const char *s)
{
	uint32_t	h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

struct task *
tasks_find(struct peer *p, const char *id)
{
	struct task	*t;

	for (t = p->tt->buckets[hash_id(id) % TASK_BUCKETS]; t; t = t->hnext)
		if (strcmp(t->rec->id, id) == 0)
			return t;
	return NULL;
}

/* The sequence number of an id homed here, or 0. */
static uint64_t
own_seq(struct peer *p, const char *id)
{
	size_t	len = strlen(p->conf.id);

	if (strncmp(id, p->conf.id, len) != 0 || id[len] != '.')
		return 0;
	return strtoull(id + len + 1, NULL, 10);
}

static struct task *
task_new(struct peer *p, Lb__TaskRecord *rec)
{
	struct task	*t = lb_calloc(1, sizeof(*t));
	uint32_t	 b = hash_id(rec->id) % TASK_BUCKETS;

	t->rec = rec;
	t->dir = lb_printf("%s/tasks/%s", p->conf.state_dir, rec->id);
	t->pid = -1;
	t->out_fd = t->err_fd = t->out_file = t->err_file = -1;
	t->hnext = p->tt->buckets[b];
	p->tt->buckets[b] = t;
	p->tt->n++;
	if (own_seq(p, rec->id) != 0)
		p->tt->homed++;
	free(p->tt->sorted);
	p->tt->sorted = NULL;
	return t;
}

/* Journal replay: the last record of each task wins. */
static void
replay_cb(Lb__TaskRecord *rec, void *arg)
{
	struct peer	*p = arg;
	struct task	*t;
	uint64_t	 seq;

	if ((seq = own_seq(p, rec->id)) >= p->tt->next_seq)
		p->tt->next_seq = seq + 1;
	if ((t = tasks_find(p, rec->id)) != NULL) {
		lb__task_record__free_unpacked(t->rec, NULL);
		t->rec = rec;
	} else
		task_new(p, rec);
}

static int
rec_unfinished(const Lb__TaskRecord *r)
{
	return r->state == LB__TASK_STATE__TASK_QUEUED ||
	    r->state == LB__TASK_STATE__TASK_RUNNING;
}

/* rm -r, for a task whose submission failed half way. */
static void
remove_tree(const char *path)
{
	DIR		*d = opendir(path);
	struct dirent	*e;

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			char *sub;
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			sub = lb_printf("%s/%s", path, e->d_name);
			if (e->d_type == DT_DIR)
				remove_tree(sub);
			else
				unlink(sub);
			free(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

/* Whether a directory has anything in it. */
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
 * allocates an inode, which on some filesystems (ext4 without a journal,
 * after many deletions) costs more than everything else lbpeer does for a
 * short task; a rename costs little.
 */
static char *
spare_path(struct peer *p, unsigned k)
{
	return lb_printf("%s/tasks/.spare/%u", p->conf.state_dir, k);
}

static void
spare_scan(struct peer *p)
{
	char		*dir = lb_printf("%s/tasks/.spare", p->conf.state_dir);
	DIR		*d;
	struct dirent	*e;

	mkdir(dir, 0700);
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			char *ep;
			unsigned long k = strtoul(e->d_name, &ep, 10);
			if (*e->d_name == '.' || *ep != '\0')
				continue;
			if (p->tt->nspare < SPARE_MAX)
				p->tt->spare[p->tt->nspare++] = (unsigned)k;
			if (k >= p->tt->spare_seq)
				p->tt->spare_seq = (unsigned)k + 1;
		}
		closedir(d);
	}
	free(dir);
}

/* Make a task's directory, from a spare one when there is one. */
static int
task_mkdir(struct peer *p, const char *dir)
{
	while (p->tt->nspare > 0) {
		char *sp = spare_path(p, p->tt->spare[--p->tt->nspare]);
		int rc = rename(sp, dir);
		free(sp);
		if (rc == 0)
			return 0;
	}
	return mkdir(dir, 0700);
}

void
tasks_release_dir(struct peer *p, struct task *t)
{
	char	*sp;

	/* Only an empty directory: what a task leaves there is the user's. */
	if (p->tt->nspare == SPARE_MAX || dir_has_files(t->dir))
		return;
	sp = spare_path(p, p->tt->spare_seq);
	if (rename(t->dir, sp) == 0)
		p->tt->spare[p->tt->nspare++] = p->tt->spare_seq++;
	else if (errno != ENOENT)
		log_debug("%s: %s", t->dir, strerror(errno));
	free(sp);
}

int
tasks_open(struct peer *p, char **cause)
{
	char		*dir;
	size_t		 n, again = 0;
	struct task	**all;

	p->tt = lb_calloc(1, sizeof(*p->tt));
	p->tt->buckets = lb_calloc(TASK_BUCKETS, sizeof(*p->tt->buckets));
	p->tt->next_seq = 1;
	dir = lb_printf("%s/tasks", p->conf.state_dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		*cause = lb_printf("cannot create %s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	free(dir);
	spare_scan(p);
	p->tt->journal = journal_open(p->conf.state_dir, replay_cb, p, NULL,
	    cause);
	if (p->tt->journal == NULL)
		return -1;
	if (p->tt->next_seq < journal_ids_floor(p->tt->journal))
		p->tt->next_seq = journal_ids_floor(p->tt->journal);
	/*
	 * Tasks that were queued or running here when the last life of this
	 * peer ended run again: from their latest checkpoint if they have one.
	 */
	all = tasks_all(p, &n);
	for (size_t i = 0; i < n; i++) {
		struct task *t = all[i];
		char *ck;

		if (!rec_unfinished(t->rec) || strcmp(t->rec->host, p->conf.id))
			continue;
		exec_reap_orphans(p, t);
		ck = lb_printf("%s.ck", t->dir);
		t->resume = t->rec->spec->checkpointable && dir_has_files(ck);
		free(ck);
		t->rec->state = LB__TASK_STATE__TASK_QUEUED;
		exec_enqueue(p, t);
		again++;
	}
	if (p->tt->n > 0)
		log_info("journal: %zu tasks homed or held here, %zu to run "
		    "again", p->tt->n, again);
	return 0;
}

void
tasks_close(struct peer *p)
{
	struct task	*t, *next;

	if (p->tt == NULL)
		return;
	for (size_t b = 0; b < TASK_BUCKETS; b++)
		for (t = p->tt->buckets[b]; t; t = next) {
			next = t->hnext;
			if (t->hold_ev)
				event_free(t->hold_ev);
			if (t->result_ev)
				event_free(t->result_ev);
			lb__task_record__free_unpacked(t->rec, NULL);
			free(t->dir);
			free(t);
		}
	for (size_t i = 0; i < REMOTE_MAX; i++)
		if (p->tt->remote[i].ans != NULL)
			lb__task_answer__free_unpacked(p->tt->remote[i].ans,
			    NULL);
	journal_close(p->tt->journal);
	free(p->tt->buckets);
	free(p->tt->sorted);
	free(p->tt);
	p->tt = NULL;
}

int
tasks_runs_here(struct peer *p, struct task *t)
{
	Lb__TaskSpec	*s = t->rec->spec;
	size_t		 n;
	char		*needs;
	int		 ok;

	if (s->pin[0] != '\0' && strcmp(s->pin, p->conf.id) != 0)
		return 0;
	if (s->n_needs == 0)
		return 1;
	needs = lb_join_list(s->needs, s->n_needs);
	ok = balance_attrs_ok(needs, gossip_members(p->gossip, &n)[0].e.attrs);
	free(needs);
	return ok;
}

const char *
tasks_home_of(const char *id)
{
	static char	home[LB_ID_MAX];
	const char	*dot = strrchr(id, '.');
	size_t		 n = dot ? (size_t)(dot - id) : strlen(id);

	if (n >= sizeof(home))
		n = sizeof(home) - 1;
	memcpy(home, id, n);
	home[n] = '\0';
	return home;
}

/* Keep a result's output at the home: in the record when small. */
void
tasks_store_output(struct peer *p, struct task *t, const ProtobufCBinaryData *out,
    const ProtobufCBinaryData *err)
{
	const ProtobufCBinaryData *d[2] = { out, err };
	const char	*suffix[2] = { ".out", ".err" };

	t->rec->output_in_files = out->len > TASK_INLINE || err->len >
	    TASK_INLINE;
	if (!t->rec->output_in_files) {
		bytes_copy(out, &t->rec->stdout_inline);
		bytes_copy(err, &t->rec->stderr_inline);
		return;
	}
	for (int i = 0; i < 2; i++) {
		char *path = lb_printf("%s%s", t->dir, suffix[i]);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		    0600);
		if (fd == -1 || (d[i]->len > 0 && write(fd, d[i]->data,
		    d[i]->len) != (ssize_t)d[i]->len))
			log_warn("%s", path);
		if (fd != -1)
			close(fd);
		free(path);
	}
}

int
tasks_is_home(struct peer *p, const char *id)
{
	return own_seq(p, id) != 0;
}

struct task *
tasks_install(struct peer *p, Lb__TaskRecord *rec)
{
	return task_new(p, rec);
}

Lb__TaskRecord *
rec_clone(const Lb__TaskRecord *r)
{
	size_t		 len = lb__task_record__get_packed_size(r);
	uint8_t		*buf = lb_calloc(1, len);
	Lb__TaskRecord	*c;

	lb__task_record__pack(r, buf);
	c = lb__task_record__unpack(NULL, len, buf);
	free(buf);
	if (c == NULL)
		fatalx("cannot copy a task record");
	return c;
}

void
tasks_remove(struct peer *p, struct task *t)
{
	struct task	**pp = &p->tt->buckets[hash_id(t->rec->id) % TASK_BUCKETS];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == t) {
			*pp = t->hnext;
			break;
		}
	p->tt->n--;
	free(p->tt->sorted);
	p->tt->sorted = NULL;
	if (t->hold_ev)
		event_free(t->hold_ev);
	if (t->result_ev)
		event_free(t->result_ev);
	remove_tree(t->dir);
	{
		/* What lives beside the directory goes too. */
		static const char *const beside[] = { ".out", ".err", ".ck" };
		for (size_t i = 0; i < 3; i++) {
			char *path = lb_printf("%s%s", t->dir, beside[i]);
			if (i == 2)
				remove_tree(path);
			else
				unlink(path);
			free(path);
		}
	}
	lb__task_record__free_unpacked(t->rec, NULL);
	free(t->dir);
	free(t);
}

void
tasks_save(struct peer *p, struct task *t, int sync)
{
	char	*cause;

	if (own_seq(p, t->rec->id) == 0) {
		/* Only the home keeps a journal of it: tell it. */
		balancer_report(p, t);
		return;
	}
	if (journal_append(p->tt->journal, t->rec, sync, &cause) == -1) {
		log_warnx("journal: %s", cause);
		free(cause);
	}
}

static int
id_cmp(const void *a, const void *b)
{
	const struct task *ta = *(struct task * const *)a;
	const struct task *tb = *(struct task * const *)b;

	return strverscmp(ta->rec->id, tb->rec->id);
}

struct task **
tasks_all(struct peer *p, size_t *n)
{
	size_t	k = 0;

	if (p->tt->sorted == NULL) {
		p->tt->sorted = lb_calloc(p->tt->n + 1, sizeof(struct task *));
		for (size_t b = 0; b < TASK_BUCKETS; b++)
			for (struct task *t = p->tt->buckets[b]; t; t = t->hnext)
				p->tt->sorted[k++] = t;
		qsort(p->tt->sorted, k, sizeof(struct task *), id_cmp);
	}
	*n = p->tt->n;
	return p->tt->sorted;
}

void
tasks_counts(struct peer *p, uint32_t *running, uint32_t *queued,
    uint32_t *homed)
{
	*running = (uint32_t)exec_running(p);
	*queued = (uint32_t)exec_queued(p);
	*homed = (uint32_t)p->tt->homed;
}

/* Write one attached file into dir, on disk before we go on. */
static int
write_file(const char *dir, const Lb__TaskFile *f, char **cause)
{
	char	*path = lb_printf("%s/%s", dir, f->name);
	int	 fd;
	size_t	 done = 0;
	ssize_t	 w;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    (f->mode & 0777) | 0600);
	if (fd == -1) {
		*cause = lb_printf("%s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	while (done < f->data.len) {
		if ((w = write(fd, f->data.data + done, f->data.len - done)) < 0) {
			*cause = lb_printf("%s: %s", path, strerror(errno));
			close(fd);
			free(path);
			return -1;
		}
		done += (size_t)w;
	}
	fchmod(fd, f->mode & 07777);
	if (fsync(fd) == -1) {
		*cause = lb_printf("%s: %s", path, strerror(errno));
		close(fd);
		free(path);
		return -1;
	}
	close(fd);
	free(path);
	return 0;
}

/* Refuse what cannot run anywhere, with a message the user can act on. */
static int
spec_check(struct peer *p, const Lb__TaskSpec *s, char **cause)
{
	uint64_t	total = 0;

	if (s->n_argv == 0 || s->argv[0][0] == '\0') {
		*cause = lb_strdup("no program to run");
		return -1;
	}
	for (size_t i = 0; i < s->n_env; i++)
		if (strchr(s->env[i], '=') == NULL || s->env[i][0] == '=') {
			*cause = lb_printf("--env \"%s\": expected KEY=VALUE",
			    s->env[i]);
			return -1;
		}
	for (size_t i = 0; i < s->n_files; i++) {
		const char *n = s->files[i]->name;
		if (*n == '\0' || strchr(n, '/') || !strcmp(n, ".") ||
		    !strcmp(n, "..")) {
			*cause = lb_printf("attachment name \"%s\" is not a "
			    "plain file name", n);
			return -1;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(n, s->files[j]->name) == 0) {
				*cause = lb_printf("two attachments are named "
				    "\"%s\"", n);
				return -1;
			}
		total += s->files[i]->data.len;
	}
	if (total > (uint64_t)p->conf.task.attach_limit_kb * 1024) {
		*cause = lb_printf("the attachments take %" PRIu64 " bytes; the "
		    "limit is %d KiB (task.attach_limit_kb)", total,
		    p->conf.task.attach_limit_kb);
		return -1;
	}
	if (s->checkpoint_signal < 0 || s->checkpoint_signal >= NSIG ||
	    s->checkpoint_exit_code < 0 || s->checkpoint_exit_code > 255) {
		*cause = lb_strdup("bad checkpoint signal or exit code");
		return -1;
	}
	/* A task that could run nowhere is refused now, not queued forever. */
	if (s->pin[0] != '\0' && gossip_find(p->gossip, s->pin) == NULL) {
		*cause = lb_printf("--pin %s: there is no node %s in the cluster",
		    s->pin, s->pin);
		return -1;
	}
	if (s->n_needs > 0) {
		const struct gossip_member *m;
		size_t n, i;
		char *needs = lb_join_list(s->needs, s->n_needs);

		m = gossip_members(p->gossip, &n);
		for (i = 0; i < n; i++)
			if (m[i].state == GOSSIP_ALIVE && balance_attrs_ok(needs,
			    m[i].e.attrs) && (s->pin[0] == '\0' ||
			    strcmp(s->pin, m[i].e.id) == 0))
				break;
		if (i == n) {
			*cause = lb_printf("--needs %s: no live peer%s has %s",
			    needs, s->pin[0] ? " of the --pin" : "",
			    s->n_needs > 1 ? "all of them" : "it");
			free(needs);
			return -1;
		}
		free(needs);
	}
	return 0;
}

int
tasks_submit(struct peer *p, const Lb__TaskSpec *spec, char **idp,
    char **cause)
{
	Lb__TaskRecord	 r = LB__TASK_RECORD__INIT;
	Lb__TaskSpec	 s = *spec;
	Lb__TaskVisit	 v = LB__TASK_VISIT__INIT, *vp = &v;
	Lb__TaskFile	**files, *fv;
	Lb__TaskRecord	*rec;
	struct task	*t;
	char		*id, *dir;

	if (spec_check(p, spec, cause) == -1)
		return -1;
	/* An id is issued only below the journal's durable mark. */
	if (p->tt->next_seq >= journal_ids_reserved(p->tt->journal) &&
	    journal_ids_reserve(p->tt->journal, p->tt->next_seq + SEQ_BLOCK,
	    cause) == -1)
		return -1;
	id = lb_printf("%s.%" PRIu64, p->conf.id, p->tt->next_seq);
	dir = lb_printf("%s/tasks/%s", p->conf.state_dir, id);
	remove_tree(dir);	/* a leftover of a submission that failed */
	if (task_mkdir(p, dir) == -1) {
		*cause = lb_printf("cannot create %s: %s", dir, strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < spec->n_files; i++)
		if (write_file(dir, spec->files[i], cause) == -1)
			goto fail;
	/* The record keeps the files' names, not their bytes. */
	files = lb_calloc(spec->n_files, sizeof(*files));
	fv = lb_calloc(spec->n_files, sizeof(*fv));
	for (size_t i = 0; i < spec->n_files; i++) {
		fv[i] = *spec->files[i];
		fv[i].size = spec->files[i]->data.len;
		fv[i].data.len = 0;
		fv[i].data.data = NULL;
		files[i] = &fv[i];
	}
	s.files = files;
	if (s.checkpoint_signal == 0)
		s.checkpoint_signal = SIGUSR1;
	r.id = id;
	r.spec = &s;
	r.state = LB__TASK_STATE__TASK_QUEUED;
	r.epoch = 1;
	r.host = p->conf.id;
	v.node = p->conf.id;
	v.arrived_ms = lb_wall_ms();
	r.hosts = &vp;
	r.n_hosts = 1;
	r.submitted_ms = v.arrived_ms;
	/* A deep copy that this table owns. */
	rec = rec_clone(&r);
	free(files);
	free(fv);
	if (journal_append(p->tt->journal, rec, 1, cause) == -1) {
		lb__task_record__free_unpacked(rec, NULL);
		goto fail;
	}
	p->tt->next_seq++;
	t = task_new(p, rec);
	log_info("task %s accepted: %s", id, rec->spec->argv[0]);
	exec_enqueue(p, t);
	/* A new task may move before it starts: ask the balancer first. */
	balancer_kick(p);
	exec_schedule(p);
	free(dir);
	*idp = id;
	return 0;
fail:
	remove_tree(dir);
	free(id);
	free(dir);
	return -1;
}

int
tasks_cancel(struct peer *p, const char *id, char **cause)
{
	struct task	*t = tasks_find(p, id);

	if (t == NULL || strcmp(t->rec->host, p->conf.id) != 0) {
		*cause = lb_printf("task %s is not here", id);
		return -1;
	}
	switch (t->rec->state) {
	case LB__TASK_STATE__TASK_QUEUED:
		exec_dequeue(p, t);
		t->rec->state = LB__TASK_STATE__TASK_CANCELLED;
		t->rec->finished_ms = lb_wall_ms();
		rec_set_str(&t->rec->error, "cancelled before it started");
		tasks_save(p, t, 1);
		log_info("task %s cancelled", id);
		return 0;
	case LB__TASK_STATE__TASK_RUNNING: {
		struct timeval tv = { p->conf.task.kill_grace_ms / 1000,
		    (p->conf.task.kill_grace_ms % 1000) * 1000 };
		if (!t->cancelling && t->pid > 0) {
			t->cancelling = 1;
			kill(-t->pid, SIGTERM);
			evtimer_add(t->kill_ev, &tv);
		}
		return 0;
	}
	default:
		*cause = lb_printf("task %s has already ended (%s)", id,
		    task_state_name(t->rec->state));
		return -1;
	}
}

int
tasks_checkpoint(struct peer *p, const char *id, char **cause)
{
	struct task	*t = tasks_find(p, id);

	if (t == NULL || strcmp(t->rec->host, p->conf.id) != 0) {
		*cause = lb_printf("task %s is not running here", id);
		return -1;
	}
	if (!t->rec->spec->checkpointable) {
		*cause = lb_printf("task %s cannot checkpoint (it was not "
		    "submitted with --checkpointable)", id);
		return -1;
	}
	if (t->rec->state != LB__TASK_STATE__TASK_RUNNING || t->pid <= 0) {
		*cause = lb_printf("task %s is %s, not running", id,
		    task_state_name(t->rec->state));
		return -1;
	}
	if (kill(t->pid, t->rec->spec->checkpoint_signal) == -1) {
		*cause = lb_printf("task %s: %s", id, strerror(errno));
		return -1;
	}
	log_info("task %s: asked to checkpoint (%s)", id,
	    strsignal(t->rec->spec->checkpoint_signal));
	return 0;
}

static void
read_all(const char *path, ProtobufCBinaryData *d)
{
	FILE		*f = fopen(path, "r");
	struct stat	 st;

	d->data = NULL;
	d->len = 0;
	if (f == NULL)
		return;
	if (fstat(fileno(f), &st) == 0 && st.st_size > 0) {
		d->data = lb_calloc(1, (size_t)st.st_size);
		d->len = fread(d->data, 1, (size_t)st.st_size, f);
	}
	fclose(f);
}

void
bytes_copy(const ProtobufCBinaryData *src, ProtobufCBinaryData *d)
{
	d->len = src->len;
	d->data = lb_calloc(1, src->len + 1);
	if (src->len)
		memcpy(d->data, src->data, src->len);
}

void
tasks_output(struct task *t, ProtobufCBinaryData *out, ProtobufCBinaryData *err)
{
	char	*po, *pe;

	if (!t->rec->output_in_files) {
		bytes_copy(&t->rec->stdout_inline, out);
		bytes_copy(&t->rec->stderr_inline, err);
		return;
	}
	po = lb_printf("%s.out", t->dir);
	pe = lb_printf("%s.err", t->dir);
	read_all(po, out);
	read_all(pe, err);
	free(po);
	free(pe);
}

int
tasks_remote(struct peer *p, const char *id, int want_output,
    const Lb__TaskAnswer **answer, char **cause)
{
	struct remote	*r = NULL, *old = NULL;
	const char	*dot = strrchr(id, '.'), *addr, *state;
	char		 home[LB_ID_MAX];
	uint64_t	 now = lb_mono_ms();

	*answer = NULL;
	if (dot == NULL || (size_t)(dot - id) >= sizeof(home) || dot == id) {
		*cause = lb_printf("\"%s\" is not a task id (NODE.NUMBER)", id);
		return -1;
	}
	memcpy(home, id, (size_t)(dot - id));
	home[dot - id] = '\0';
	if ((addr = members_addr(p, home, &state)) == NULL) {
		if (strcmp(state, "unknown") == 0) {
			*cause = lb_printf("no task %s: there is no node %s in "
			    "the cluster", id, home);
			return -1;
		}
		*cause = lb_printf("task %s: its home %s is %s, so its record "
		    "cannot be read now", id, home, state);
		return -2;
	}
	for (size_t i = 0; i < REMOTE_MAX; i++) {
		struct remote *c = &p->tt->remote[i];
		if (strcmp(c->id, id) == 0) {
			r = c;
			break;
		}
		if (old == NULL || c->asked_ms < old->asked_ms)
			old = c;
	}
	if (r == NULL) {
		r = old;
		if (r->ans != NULL)
			lb__task_answer__free_unpacked(r->ans, NULL);
		memset(r, 0, sizeof(*r));
		lb_strlcpy(r->id, id, sizeof(r->id));
	}
	if (want_output)
		r->want_output = 1;
	if (now - r->asked_ms >= REMOTE_ASK_MS &&
	    (r->ans == NULL || now - r->answered_ms >= REMOTE_ASK_MS)) {
		Lb__PeerMsg	m = LB__PEER_MSG__INIT;
		Lb__TaskQuery	q = LB__TASK_QUERY__INIT;

		r->req_id = ++p->tt->next_req;
		r->asked_ms = now;
		r->asked_output = r->want_output;
		q.req_id = r->req_id;
		q.task_id = (char *)id;
		q.want_output = r->want_output;
		m.body_case = LB__PEER_MSG__BODY_TASK_QUERY;
		m.task_query = &q;
		net_send(p, addr, &m);
	}
	if (r->ans != NULL && (!want_output || r->ans_output))
		*answer = r->ans;
	return 0;
}

void
tasks_query_recv(struct peer *p, const char *from, const Lb__TaskQuery *q)
{
	Lb__PeerMsg	 m = LB__PEER_MSG__INIT;
	Lb__TaskAnswer	 a = LB__TASK_ANSWER__INIT;
	struct task	*t = tasks_find(p, q->task_id);
	const char	*addr, *state;

	if ((addr = members_addr(p, from, &state)) == NULL)
		return;
	a.req_id = q->req_id;
	a.task_id = q->task_id;
	if (t != NULL && own_seq(p, t->rec->id)) {
		a.found = 1;
		a.record = t->rec;
		if (q->want_output)
			tasks_output(t, &a.stdout, &a.stderr);
	}
	m.body_case = LB__PEER_MSG__BODY_TASK_ANSWER;
	m.task_answer = &a;
	net_send(p, addr, &m);
	free(a.stdout.data);
	free(a.stderr.data);
}

void
tasks_answer_recv(struct peer *p, const char *from, const Lb__TaskAnswer *a)
{
	for (size_t i = 0; i < REMOTE_MAX; i++) {
		struct remote *r = &p->tt->remote[i];
		uint8_t *buf;
		size_t len;

		if (strcmp(r->id, a->task_id) != 0 || r->req_id != a->req_id)
			continue;
		if (r->ans != NULL)
			lb__task_answer__free_unpacked(r->ans, NULL);
		len = lb__task_answer__get_packed_size(a);
		buf = lb_calloc(1, len);
		lb__task_answer__pack(a, buf);
		r->ans = lb__task_answer__unpack(NULL, len, buf);
		free(buf);
		r->answered_ms = lb_mono_ms();
		r->ans_output = r->asked_output;
		return;
	}
}
