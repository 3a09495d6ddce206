/*
 * exec.c - the executor: starts, signals and reaps task processes, and
 * reports each exit through a callback; it decides nothing (the task core
 * says what to start and stop).  Each task gets its own directory, process
 * group and PR_SET_PDEATHSIG(SIGKILL); its output goes through pipes into
 * memory while small, then files beside its directory, cut at
 * task.output_limit_kb.  Children are reaped from the event loop on SIGCHLD.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "peer.h"
#include "exec.h"
#include "keeper.h"

/* A task process. */
struct task {
	char		 id[TASKS_ID_MAX];
	char		*dir;		/* state_dir/tasks/ID */
	pid_t		 pid;
	int		 out_fd, err_fd;	/* pipes from the task */
	int		 out_file, err_file;	/* what they go to */
	struct event	*out_ev, *err_ev;
	uint64_t	 out_n, err_n;		/* bytes kept */
	char		*out_buf, *err_buf;	/* the first TASKS_INLINE bytes */
	int		 truncated;
	int		 ck_code;	/* its checkpoint exit code, or -1 */
	int		 stopping;
	int		 frozen;	/* its lease ran out: SIGSTOP */
	struct event	*kill_ev;
};

struct exec {
	struct task	**run;
	size_t		  nrun, caprun;
	struct event	 *chld_ev;
	exec_exit_cb	  on_exit;
	int		  output_limit_kb;
	int		  kill_grace_ms;
	const char	 *control;
	const char	 *node;
};

extern char **environ;


/* The program's path: as given when it has a '/', else found on PATH. */
static char *
find_program(const char *prog, const char *path)
{
	char	*copy, *dir, *save = NULL, *cand;

	if (strchr(prog, '/') != NULL)
		return lb_strdup(prog);
	copy = lb_strdup(path);
	for (dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":",
	    &save)) {
		cand = lb_printf("%s/%s", *dir ? dir : ".", prog);
		if (access(cand, X_OK) == 0) {
			free(copy);
			return cand;
		}
		free(cand);
	}
	free(copy);
	return NULL;
}

/*
 * An output file beside the task's directory (ID.out, ID.err), opened when
 * the first byte comes: most tasks write little, and every file made costs.
 * A resumed task adds to its output; a fresh start replaced it at spawn.
 */
static int
open_out(struct task *t, const char *suffix)
{
	char	*path = lb_printf("%s%s", t->dir, suffix);
	int	 fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd == -1)
		log_warn("%s", path);
	free(path);
	return fd;
}

/* Remove the task's output files (ID.out, ID.err). */
static void
unlink_out(struct task *t)
{
	for (int i = 0; i < 2; i++) {
		char *path = lb_printf("%s%s", t->dir, i ? ".err" : ".out");

		if (unlink(path) == -1 && errno != ENOENT)
			log_warn("%s", path);
		free(path);
	}
}

/* A resumed task's output file: cut to the `bytes` its record counts (what
 * it wrote up to its checkpoint); where fewer are there, what is there. */
static uint64_t
resume_at(struct task *t, int fd, uint64_t bytes)
{
	struct stat	st;

	if (fd == -1 || fstat(fd, &st) == -1)
		return 0;
	if ((uint64_t)st.st_size > bytes) {
		if (ftruncate(fd, (off_t)bytes) == -1) {
			log_warn("task %s: output", t->id);
			return (uint64_t)st.st_size;
		}
		return bytes;
	}
	if ((uint64_t)st.st_size < bytes)
		log_warnx("task %s: %" PRIu64 " bytes of its output are "
		    "missing", t->id, bytes - (uint64_t)st.st_size);
	return (uint64_t)st.st_size;
}

/* Move output kept in memory (`kept` bytes) to its file. */
static void
spill(struct task *t, int *file, const char *suffix, char **mem, uint64_t kept)
{
	if (*file != -1)
		return;
	/* What is in memory is `kept` bytes, never more than TASKS_INLINE
	 * (keep_output spills before that). */
	if (kept > TASKS_INLINE)
		kept = TASKS_INLINE;
	if ((*file = open_out(t, suffix)) != -1 && *mem != NULL && kept > 0 &&
	    write(*file, *mem, kept) != (ssize_t)kept)
		log_warn("task %s: output", t->id);
	free(*mem);
	*mem = NULL;
}

/* Keep `len` bytes of output: in memory while small, then in the file. */
static void
keep_output(struct task *t, const char *buf, size_t len, int *file,
    const char *suffix, char **mem, uint64_t kept)
{
	if (*file == -1 && kept + len <= TASKS_INLINE) {
		if (*mem == NULL)
			*mem = lb_calloc(1, TASKS_INLINE);
		if (len > 0)
			memcpy(*mem + kept, buf, len);
		return;
	}
	spill(t, file, suffix, mem, kept);
	if (*file != -1 && write(*file, buf, len) != (ssize_t)len)
		log_warn("task %s: output", t->id);
}

/* Copy what the task wrote, up to the limit; count and drop the rest. */
static void
drain(struct peer *p, struct task *t, int fd, int *file, const char *suffix,
    uint64_t *kept)
{
	char	**mem = file == &t->out_file ? &t->out_buf : &t->err_buf;

	char		buf[65536];
	uint64_t	limit = (uint64_t)p->ex->output_limit_kb * 1024;
	ssize_t		n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			return;
		if (t->stopping)
			continue;	/* a copy being stopped: nothing kept */
		if (*kept < limit) {
			size_t keep = (uint64_t)n > limit - *kept ?
			    (size_t)(limit - *kept) : (size_t)n;
			keep_output(t, buf, keep, file, suffix, mem, *kept);
			*kept += keep;
			if (keep < (size_t)n)
				t->truncated = 1;
		} else
			t->truncated = 1;
	}
}

/* Output readiness: the task is the callback argument; the peer is found
 * through a static (one peer per process). */
static struct peer *exec_peer;

static void
pipe_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct task	*t = arg;

	if (fd == t->out_fd)
		drain(exec_peer, t, fd, &t->out_file, ".out", &t->out_n);
	else
		drain(exec_peer, t, fd, &t->err_file, ".err", &t->err_n);
}

static void
kill_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct task	*t = arg;

	if (t->pid > 0) {
		log_info("task %s did not end on SIGTERM: SIGKILL", t->id);
		kill(-t->pid, SIGKILL);
	}
}

/* The environment: what the submitter gave, PATH, and lbpeer's own. */
static char **
task_env(struct peer *p, struct task *t, const Lb__TaskRecord *rec,
    int resume, const char **pathp)
{
	Lb__TaskSpec	*s = rec->spec;
	char		**env = lb_calloc(s->n_env + 16, sizeof(char *));
	size_t		  n = 0;
	int		  has_path = 0, has_home = 0;
	const char	 *path = getenv("PATH");

	for (size_t i = 0; i < s->n_env; i++) {
		if (strncmp(s->env[i], "LB_", 3) == 0)
			continue;	/* ours to set */
		if (strncmp(s->env[i], "PATH=", 5) == 0) {
			has_path = 1;
			*pathp = s->env[i] + 5;
		}
		if (strncmp(s->env[i], "HOME=", 5) == 0)
			has_home = 1;
		env[n++] = lb_strdup(s->env[i]);
	}
	if (!has_path) {
		if (path == NULL)
			path = "/usr/local/bin:/usr/bin:/bin";
		env[n++] = lb_printf("PATH=%s", path);
		*pathp = path;
	}
	if (!has_home)
		env[n++] = lb_printf("HOME=%s", t->dir);
	env[n++] = lb_printf("TMPDIR=%s", t->dir);
	env[n++] = lb_printf("LB_TASK_ID=%s", t->id);
	env[n++] = lb_printf("LB_HOME=%.*s", (int)(strrchr(t->id, '.') -
	    t->id), t->id);
	env[n++] = lb_printf("LB_CONTROL=%s", p->ex->control);
	env[n++] = lb_printf("LB_NODE=%s", p->ex->node);
	if (s->checkpointable) {
		env[n++] = lb_printf("LB_CHECKPOINT_DIR=%s.ck", t->dir);
		env[n++] = lb_printf("LB_CHECKPOINT_SIGNAL=%d",
		    s->checkpoint_signal);
		env[n++] = lb_printf("LB_CHECKPOINT_EXIT_CODE=%d",
		    s->checkpoint_exit_code);
	}
	if (resume)
		env[n++] = lb_strdup("LB_RESUME=1");
	env[n] = NULL;
	return env;
}

static void
free_vec(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void
task_free(struct task *t)
{
	free(t->out_buf);
	free(t->err_buf);
	free(t->dir);
	free(t);
}

#define CHILD_STACK	(64 * 1024)

/* What the child needs, made before it starts: it allocates nothing. */
struct child_args {
	const char	 *prog, *dir;
	char		**argv, **envp;
	int		  out, err;
	pid_t		  parent;
	sigset_t	  mask;		/* the parent's, to restore */
	int		  error;	/* why it could not exec, or 0 */
};

/*
 * The child: it shares the daemon's memory until execve, so it writes
 * nothing but `error`, calls only async-signal-safe functions and no
 * nanomsg.  Its own process group, dead with its peer, default signal
 * handling, then exec.
 */
__attribute__((no_sanitize_address)) static int
child_main(void *arg)
{
	struct child_args	*ca = arg;
	sigset_t		 none;
	int			 null;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != ca->parent)
		_exit(127);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if ((null = open("/dev/null", O_RDONLY | O_CLOEXEC)) != -1)
		dup2(null, 0);
	dup2(ca->out, 1);
	dup2(ca->err, 2);
	if (chdir(ca->dir) == -1) {
		ca->error = errno;
		_exit(127);
	}
	execve(ca->prog, ca->argv, ca->envp);
	ca->error = errno ? errno : ENOEXEC;
	_exit(127);
}

int
exec_spawn(struct peer *p, const Lb__TaskRecord *rec, const char *dir,
    int resume, uint32_t *pgidp, char **why)
{
	Lb__TaskSpec	*s = rec->spec;
	struct task	*t;
	char		**argv, **envp, *prog, *ckdir;
	const char	 *path = NULL;
	int		  outp[2], errp[2], rc = -1;
	sigset_t	  all;
	pid_t		  pid, parent = getpid();
	struct child_args ca;
	char		 *stack;

	t = lb_calloc(1, sizeof(*t));
	lb_strlcpy(t->id, rec->id, sizeof(t->id));
	t->dir = lb_strdup(dir);
	t->out_fd = t->err_fd = t->out_file = t->err_file = -1;
	mkdir(t->dir, 0700);
	if (s->checkpointable) {
		ckdir = lb_printf("%s.ck", t->dir);
		mkdir(ckdir, 0700);
		free(ckdir);
	}
	envp = task_env(p, t, rec, resume, &path);
	/* Everything the child needs is made before fork: it only execs. */
	argv = lb_calloc(s->n_argv + 1, sizeof(char *));
	for (size_t i = 0; i < s->n_argv; i++)
		argv[i] = s->argv[i];
	if ((prog = find_program(s->argv[0], path)) == NULL) {
		*why = lb_printf("cannot execute \"%s\": not found on PATH (%s)",
		    s->argv[0], path);
		goto out;
	}
	if (pipe2(outp, O_CLOEXEC) == -1) {
		*why = lb_printf("pipe: %s", strerror(errno));
		goto out;
	}
	if (pipe2(errp, O_CLOEXEC) == -1) {
		*why = lb_printf("pipe: %s", strerror(errno));
		close(outp[0]);
		close(outp[1]);
		goto out;
	}
	/* A fresh start: the output of an earlier run goes. */
	if (!resume && (rec->output_in_files || rec->starts > 0))
		unlink_out(t);
	ca.prog = prog;
	ca.argv = argv;
	ca.envp = envp;
	ca.dir = t->dir;
	ca.out = outp[1];
	ca.err = errp[1];
	ca.parent = parent;
	ca.error = 0;
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &ca.mask);
	/*
	 * The child shares this process's memory and the parent waits until
	 * it has exec'd or failed (CLONE_VM | CLONE_VFORK, as posix_spawn
	 * does): no copy of the daemon's page tables per task.  It runs on a
	 * stack of its own.
	 */
	stack = lb_calloc(1, CHILD_STACK);
	pid = clone(child_main, stack + CHILD_STACK, CLONE_VM | CLONE_VFORK |
	    SIGCHLD, &ca);
	sigprocmask(SIG_SETMASK, &ca.mask, NULL);
	free(stack);
	close(outp[1]);
	close(errp[1]);
	if (pid == -1) {
		*why = lb_printf("clone: %s", strerror(errno));
		close(outp[0]);
		close(errp[0]);
		goto out;
	}
	if (ca.error != 0) {
		waitpid(pid, NULL, 0);
		close(outp[0]);
		close(errp[0]);
		*why = lb_printf("cannot execute \"%s\": %s", prog,
		    strerror(ca.error));
		goto out;
	}
	t->pid = pid;
	t->ck_code = rec->spec->checkpointable ?
	    (int)rec->spec->checkpoint_exit_code : -1;
	t->out_fd = outp[0];
	t->err_fd = errp[0];
	if (resume) {
		/* A resumed task adds to what it wrote up to its checkpoint:
		 * what the record counts, and never more (a run stopped after
		 * its checkpoint wrote more, which it writes again) nor a
		 * count of bytes that are not there. */
		if (rec->output_in_files) {
			t->out_file = open_out(t, ".out");
			t->err_file = open_out(t, ".err");
			t->out_n = resume_at(t, t->out_file, rec->stdout_bytes);
			t->err_n = resume_at(t, t->err_file, rec->stderr_bytes);
		} else {
			/* All it wrote is in the record: a file left by a
			 * run that wrote more is not its output. */
			unlink_out(t);
			keep_output(t, (char *)rec->stdout_inline.data,
			    rec->stdout_inline.len, &t->out_file, ".out",
			    &t->out_buf, 0);
			keep_output(t, (char *)rec->stderr_inline.data,
			    rec->stderr_inline.len, &t->err_file, ".err",
			    &t->err_buf, 0);
			t->out_n = rec->stdout_inline.len;
			t->err_n = rec->stderr_inline.len;
		}
		t->truncated = rec->output_truncated;
	}
	evutil_make_socket_nonblocking(t->out_fd);
	evutil_make_socket_nonblocking(t->err_fd);
	t->out_ev = event_new(p->base, t->out_fd, EV_READ | EV_PERSIST,
	    pipe_cb, t);
	t->err_ev = event_new(p->base, t->err_fd, EV_READ | EV_PERSIST,
	    pipe_cb, t);
	t->kill_ev = evtimer_new(p->base, kill_cb, t);
	event_add(t->out_ev, NULL);
	event_add(t->err_ev, NULL);
	if (p->ex->nrun == p->ex->caprun) {
		p->ex->caprun = p->ex->caprun ? 2 * p->ex->caprun : 8;
		p->ex->run = lb_reallocarray(p->ex->run, p->ex->caprun,
		    sizeof(*p->ex->run));
	}
	p->ex->run[p->ex->nrun++] = t;
	*pgidp = (uint32_t)pid;
	log_info("task %s started%s: pid %d", t->id, resume ?
	    " (resumed from its checkpoint)" : "", (int)pid);
	t = NULL;
	rc = 0;
out:
	if (t != NULL)
		task_free(t);
	free(prog);
	free(argv);
	free_vec(envp);
	return rc;
}

static struct task *
running(struct peer *p, const char *id)
{
	for (size_t i = 0; p->ex && i < p->ex->nrun; i++)
		if (strcmp(p->ex->run[i]->id, id) == 0)
			return p->ex->run[i];
	return NULL;
}

int
exec_signal(struct peer *p, const char *id, int sig)
{
	struct task	*t = running(p, id);

	if (t == NULL || t->pid <= 0) {
		errno = ESRCH;
		return -1;
	}
	return kill(t->pid, sig);
}

void
exec_kill(struct peer *p, const char *id)
{
	struct task	*t = running(p, id);
	struct timeval	 tv = { p->ex->kill_grace_ms / 1000,
			    (p->ex->kill_grace_ms % 1000) * 1000 };

	siginfo_t	 si;

	if (t == NULL || t->pid <= 0 || t->stopping)
		return;
	/* Ended already (its exit not reaped yet): it ended by itself, and
	 * its exit is a run like any other; no signal of ours reached it.
	 * What it left in its group (its zombie holds the group id) is
	 * stopped all the same. */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)t->pid, &si, WEXITED | WNOHANG | WNOWAIT) ==
	    0 && si.si_pid == t->pid) {
		kill(-t->pid, t->frozen || keeper_frozen(t->pid) ? SIGKILL :
		    SIGTERM);
		return;
	}
	/* From now on, whatever its exit, lbpeer ended it (x.stopped). */
	t->stopping = 1;
	if (t->frozen || keeper_frozen(t->pid)) {
		/* Frozen, it would not see a SIGTERM until let run, and it
		 * may not run again: another copy may run now. */
		log_info("task %s is frozen: SIGKILL", t->id);
		kill(-t->pid, SIGKILL);
		return;
	}
	kill(-t->pid, SIGTERM);
	evtimer_add(t->kill_ev, &tv);
}

void
exec_lease(struct peer *p, const char *id, uint64_t until)
{
	struct task	*t = running(p, id);

	if (t == NULL || t->pid <= 0)
		return;
	switch (keeper_set(t->pid, until)) {
	case 1:
		log_info("task %s: the lease keeper had frozen it; its lease "
		    "is back: it runs on", t->id);
		t->frozen = 0;
		break;
	case -1:
		if (until != 0)
			log_warnx("task %s: no lease keeper slot: only the "
			    "daemon freezes it", t->id);
		break;
	}
}

void
exec_freeze(struct peer *p, const char *id, int frozen)
{
	struct task	*t = running(p, id);

	if (t == NULL || t->pid <= 0 || t->stopping)
		return;
	t->frozen = frozen;
	keeper_mark(t->pid, frozen);
	if (kill(-t->pid, frozen ? SIGSTOP : SIGCONT) == -1) {
		/* Its group is gone, its first process a zombie: its exit is
		 * on its way. */
		log_warn("task %s: kill(-%d, %s)", t->id, (int)t->pid,
		    frozen ? "SIGSTOP" : "SIGCONT");
		return;
	}
	log_info("task %s: process group %d %s", t->id, (int)t->pid,
	    frozen ? "frozen (SIGSTOP)" : "runs again (SIGCONT)");
}

/* The process ended: collect the rest of its output and report. */
static void
exec_finish(struct peer *p, struct task *t, int status)
{
	struct tasks_exit	x;

	drain(p, t, t->out_fd, &t->out_file, ".out", &t->out_n);
	drain(p, t, t->err_fd, &t->err_file, ".err", &t->err_n);
	event_free(t->out_ev);
	event_free(t->err_ev);
	event_free(t->kill_ev);
	close(t->out_fd);
	close(t->err_fd);
	keeper_clear(t->pid);
	memset(&x, 0, sizeof(x));
	if (t->stopping) {
		/* A copy that was stopped: its output is nobody's. */
		free(t->out_buf);
		free(t->err_buf);
		t->out_buf = t->err_buf = NULL;
		t->truncated = 0;
	}
	/* The marker ends the output once, at the run's end: a checkpoint
	 * exit is no end (the run resumed from it writes it then). */
	if (t->truncated && !(WIFEXITED(status) && WEXITSTATUS(status) ==
	    t->ck_code)) {
		char marker[128];
		int n = snprintf(marker, sizeof(marker), "\n[lbpeer: output cut "
		    "off at %d KiB (task.output_limit_kb)]\n",
		    p->ex->output_limit_kb);
		keep_output(t, marker, (size_t)n, &t->out_file, ".out",
		    &t->out_buf, t->out_n);
		t->out_n += (uint64_t)n;
	}
	x.truncated = t->truncated;
	/* Small output goes into the record; the rest is in files. */
	x.output_in_files = t->out_file != -1 || t->err_file != -1;
	if (x.output_in_files) {
		/* Whatever stayed in memory goes to its file too. */
		spill(t, &t->out_file, ".out", &t->out_buf, t->out_n);
		spill(t, &t->err_file, ".err", &t->err_buf, t->err_n);
	} else {
		/* In memory: out_n bytes, at most TASKS_INLINE. */
		x.out_inline.data = (uint8_t *)t->out_buf;
		x.out_inline.len = t->out_buf == NULL ? 0 :
		    t->out_n > TASKS_INLINE ? TASKS_INLINE : t->out_n;
		x.err_inline.data = (uint8_t *)t->err_buf;
		x.err_inline.len = t->err_buf == NULL ? 0 :
		    t->err_n > TASKS_INLINE ? TASKS_INLINE : t->err_n;
		t->out_buf = t->err_buf = NULL;
		t->out_n = x.out_inline.len;
		t->err_n = x.err_inline.len;
	}
	if (t->out_file != -1)
		close(t->out_file);
	if (t->err_file != -1)
		close(t->err_file);
	x.stdout_bytes = t->out_n;
	x.stderr_bytes = t->err_n;
	x.exited = WIFEXITED(status);
	x.code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
	x.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	x.stopped = t->stopping;
	log_info("task %s: process %d ended: %s %d", t->id, (int)t->pid,
	    x.signal ? "signal" : "exit", x.signal ? x.signal : x.code);
	p->ex->on_exit(p, t->id, &x);
	free(x.out_inline.data);
	free(x.err_inline.data);
	task_free(t);
}

static void
chld_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct peer	*p = arg;
	struct exec	*x = p->ex;
	int		 status;
	pid_t		 pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == keeper_pid())
			log_warnx("the lease keeper (pid %d) died: tasks are "
			    "frozen by the daemon alone now", (int)pid);
		for (size_t i = 0; i < x->nrun; i++) {
			struct task *t = x->run[i];
			if (t->pid != pid)
				continue;
			x->run[i] = x->run[--x->nrun];
			exec_finish(p, t, status);
			break;
		}
	}
}

void
exec_start(struct peer *p, exec_exit_cb on_exit)
{
	p->ex = lb_calloc(1, sizeof(*p->ex));
	p->ex->on_exit = on_exit;
	p->ex->output_limit_kb = p->conf.task.output_limit_kb;
	p->ex->kill_grace_ms = p->conf.task.kill_grace_ms;
	p->ex->control = p->conf.control;
	p->ex->node = p->conf.id;
	exec_peer = p;
	p->ex->chld_ev = evsignal_new(p->base, SIGCHLD, chld_cb, p);
	evsignal_add(p->ex->chld_ev, NULL);
}

/* At shutdown: the tasks die with their peer (as with their host). */
void
exec_stop(struct peer *p)
{
	struct exec	*x = p->ex;

	if (x == NULL)
		return;
	for (size_t i = 0; i < x->nrun; i++) {
		struct task *t = x->run[i];
		if (t->pid > 0)
			kill(-t->pid, SIGKILL);
		if (t->out_ev)
			event_free(t->out_ev);
		if (t->err_ev)
			event_free(t->err_ev);
		if (t->kill_ev)
			event_free(t->kill_ev);
		close(t->out_fd);
		close(t->err_fd);
		close(t->out_file);
		close(t->err_file);
		task_free(t);
	}
	free(x->run);
	event_free(x->chld_ev);
	free(x);
	p->ex = NULL;
}

/* Whether process `pid` is in group `pgid` and belongs to task `id`. */
static int
is_task_process(int pid, int pgid, const char *id)
{
	char	*path = lb_printf("/proc/%d/stat", pid), buf[4096], *rp;
	char	*want = lb_printf("LB_TASK_ID=%s", id);
	FILE	*f;
	int	 ok = 0, grp = -1;
	size_t	 n;

	if ((f = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		/* pid (comm) state ppid pgrp ...: comm may hold spaces. */
		if ((rp = strrchr(buf, ')')) != NULL)
			sscanf(rp + 1, " %*c %*d %d", &grp);
	}
	free(path);
	if (grp == pgid) {
		path = lb_printf("/proc/%d/environ", pid);
		if ((f = fopen(path, "r")) != NULL) {
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			for (size_t i = 0; i < n && !ok; i += strlen(buf + i) + 1) {
				buf[n] = '\0';
				if (strcmp(buf + i, want) == 0)
					ok = 1;
			}
		}
		free(path);
	}
	free(want);
	return ok;
}

/*
 * A task that was running when an earlier life of this peer was killed:
 * PR_SET_PDEATHSIG took the task itself, but what it started may live on in
 * its process group.  Kill what is left of the group, checking each process
 * by its LB_TASK_ID (a process group id can be reused).
 */
void
exec_reap_orphans(uint32_t pgid32, const char *id)
{
	DIR		*d;
	struct dirent	*e;
	int		 pgid = (int)pgid32, killed = 0;

	if (pgid <= 1 || kill(-pgid, 0) == -1 || (d = opendir("/proc")) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		int pid = atoi(e->d_name);
		if (pid > 1 && is_task_process(pid, pgid, id) &&
		    kill(pid, SIGKILL) == 0)
			killed++;
	}
	closedir(d);
	if (killed)
		log_info("task %s: killed %d processes left by its earlier run",
		    id, killed);
}

/* Output of the running task `id` (err: its stderr) from `offset`, at most
 * `max` bytes (malloc'd into *data).  -1: it does not run here. */
int
exec_output(struct peer *p, const char *id, int err, uint64_t offset,
    size_t max, ProtobufCBinaryData *data)
{
	struct task	*t = NULL;
	uint64_t	 n;
	int		 file;
	const char	*mem;

	data->data = NULL;
	data->len = 0;
	for (size_t i = 0; i < p->ex->nrun; i++)
		if (strcmp(p->ex->run[i]->id, id) == 0)
			t = p->ex->run[i];
	if (t == NULL)
		return -1;
	n = err ? t->err_n : t->out_n;
	file = err ? t->err_file : t->out_file;
	mem = err ? t->err_buf : t->out_buf;
	if (file == -1 && (mem == NULL || n > TASKS_INLINE))
		n = 0;		/* nothing of it in memory (a resumed task's
				 * count may be its earlier runs') */
	if (offset >= n)
		return 0;
	if (n - offset < max)
		max = (size_t)(n - offset);
	data->data = lb_calloc(1, max + 1);
	if (file == -1) {
		memcpy(data->data, mem + offset, max);
		data->len = max;
		return 0;
	} else {
		char	*path = lb_printf("%s%s", t->dir, err ? ".err" : ".out");
		int	 fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t	 r = -1;

		free(path);
		if (fd != -1) {
			r = pread(fd, data->data, max, (off_t)offset);
			close(fd);
		}
		data->len = r > 0 ? (size_t)r : 0;
	}
	return 0;
}
