/* top.c - lbctl's terminal views: the top screen and the progress line. */
#include "config.h"

#include <sys/ioctl.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "top.h"
#include "util.h"

/* A task's time for people: "850ms", "12.3s", "3m12s", "2h05m". */
static const char *
top_dur(uint64_t ms, char *buf, size_t len)
{
	if (ms < 1000)
		snprintf(buf, len, "%" PRIu64 "ms", ms);
	else if (ms < 60000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000);
	else if (ms < 3600000)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", ms / 60000,
		    (ms / 1000) % 60);
	else
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", ms / 3600000,
		    (ms / 60000) % 60);
	return buf;
}

/* Since then, or 0 for a time ahead of ours (another host's clock). */
static uint64_t
top_since(uint64_t now, uint64_t then)
{
	return then != 0 && now > then ? now - then : 0;
}

/* How long a task has run (running) or waited (queued), as now goes. */
static uint64_t
top_task_ms(const Lb__TaskRecord *r, uint64_t now)
{
	if (r->state == LB__TASK_STATE__TASK_RUNNING)
		return top_since(now, r->started_ms);
	return top_since(now, r->submitted_ms);
}

/* Running tasks first, the longest running first; then the waiting. */
static int
top_task_cmp(const void *a, const void *b)
{
	const Lb__TaskRecord *ra = *(Lb__TaskRecord * const *)a;
	const Lb__TaskRecord *rb = *(Lb__TaskRecord * const *)b;
	int ka = ra->state != LB__TASK_STATE__TASK_RUNNING;
	int kb = rb->state != LB__TASK_STATE__TASK_RUNNING;
	uint64_t ta = ka ? ra->submitted_ms : ra->started_ms;
	uint64_t tb = kb ? rb->submitted_ms : rb->started_ms;

	if (ka != kb)
		return ka - kb;
	if (ta != tb)
		return ta < tb ? -1 : 1;
	return strverscmp(ra->id, rb->id);
}

static int
top_peer_cmp(const void *a, const void *b)
{
	const Lb__CtlPeer *pa = *(Lb__CtlPeer * const *)a;
	const Lb__CtlPeer *pb = *(Lb__CtlPeer * const *)b;

	return strverscmp(pa->id, pb->id);
}

/* The tasks that have not ended, in the order top shows them; free it. */
static Lb__TaskRecord **
top_tasks(const struct top_view *v, size_t *n)
{
	Lb__TaskRecord	**t;

	*n = 0;
	t = lb_calloc(v->tasks->n_tasks + 1, sizeof(*t));
	for (size_t i = 0; i < v->tasks->n_tasks; i++) {
		Lb__TaskRecord *r = v->tasks->tasks[i];
		if (r->state == LB__TASK_STATE__TASK_RUNNING ||
		    r->state == LB__TASK_STATE__TASK_QUEUED)
			t[(*n)++] = r;
	}
	qsort(t, *n, sizeof(*t), top_task_cmp);
	return t;
}

/* Tasks of the list in state on the node: those this peer knows of. */
static unsigned
top_count(const struct top_view *v, const char *node, Lb__TaskState state)
{
	unsigned	n = 0;

	for (size_t i = 0; i < v->tasks->n_tasks; i++)
		if (v->tasks->tasks[i]->state == state &&
		    strcmp(v->tasks->tasks[i]->host, node) == 0)
			n++;
	return n;
}

/* The command line, printable bytes only, cut to len. */
static void
top_argv(const Lb__TaskRecord *r, char *buf, size_t len)
{
	size_t	o = 0;

	for (size_t i = 0; r->spec != NULL && i < r->spec->n_argv; i++) {
		for (const char *p = r->spec->argv[i]; *p != '\0' && o + 1 < len;
		    p++)
			buf[o++] = *p >= ' ' && *p < 0x7f ? *p : '?';
		if (i + 1 < r->spec->n_argv && o + 1 < len)
			buf[o++] = ' ';
	}
	buf[o] = '\0';
}

/* Text under construction: lines kept to rows and cols. */
struct top_text {
	char	*buf;
	size_t	 len, size;
	int	 lines, rows, cols;
};

static void __attribute__((format(printf, 2, 3)))
top_line(struct top_text *t, const char *fmt, ...)
{
	char	line[1024];
	va_list	ap;
	size_t	n;

	if (t->rows > 0 && t->lines >= t->rows)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	n = strlen(line);
	if (t->cols > 0 && n > (size_t)t->cols)
		n = (size_t)t->cols;
	while (n > 0 && line[n - 1] == ' ')
		n--;
	if (t->len + n + 2 > t->size) {
		t->size = (t->len + n + 2) * 2;
		t->buf = lb_reallocarray(t->buf, t->size, 1);
	}
	memcpy(t->buf + t->len, line, n);
	t->len += n;
	t->buf[t->len++] = '\n';
	t->buf[t->len] = '\0';
	t->lines++;
}

/* "[####      ]": load against slots, over may overflow the bar. */
static void
top_bar(unsigned load, unsigned slots, char *buf, size_t len)
{
	unsigned	w = 10, fill;

	fill = slots > 0 ? (load * w + slots - 1) / slots : (load ? w : 0);
	if (fill > w)
		fill = w;
	snprintf(buf, len, "[%.*s%*s]%s", (int)fill, "##########",
	    (int)(w - fill), "", load > slots ? "+" : "");
}

char *
top_render(const struct top_view *v, int rows, int cols)
{
	const Lb__CtlStatus	*s = v->status;
	const Lb__CtlStats	*st = v->stats;
	struct top_text		 t = { NULL, 0, 0, 0, rows, cols };
	Lb__CtlPeer		**peers;
	Lb__TaskRecord		**tasks;
	size_t			 ntasks, shown;
	time_t			 now = (time_t)(v->now_ms / 1000);
	struct tm		 tm;
	char			 clock[16], d[32], bar[32], cmd[256];

	localtime_r(&now, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	top_line(&t, "lbpeer %s, cluster %s: %u alive, %u suspect, %u dead"
	    "%s   %s", s->id, s->cluster, s->alive, s->suspect, s->dead,
	    s->draining ? ", draining" : "", clock);
	top_line(&t, "here: load %u/%u (%u running, %u waiting), %u homed; "
	    "in/out: transfers %" PRIu64 "/%" PRIu64 ", migrations %" PRIu64
	    "/%" PRIu64 "; results %" PRIu64, s->load, s->slots, s->running,
	    s->queued, s->tasks_homed, st->transfers_in, st->transfers_out,
	    st->migrations_in, st->migrations_out, st->results);
	top_line(&t, "%s", "");

	peers = lb_calloc(v->peers->n_peers + 1, sizeof(*peers));
	memcpy(peers, v->peers->peers, v->peers->n_peers * sizeof(*peers));
	qsort(peers, v->peers->n_peers, sizeof(*peers), top_peer_cmp);
	top_line(&t, "  %-12s %-8s %-17s %5s %4s %4s %6s %7s", "PEER",
	    "STATE", "LOAD", "SLOTS", "RUN", "WAIT", "XFERIN", "XFEROUT");
	for (size_t i = 0; i < v->peers->n_peers; i++) {
		const Lb__CtlPeer *p = peers[i];
		char run[16], wait[16], xin[24] = "-", xout[24] = "-";
		unsigned nr, nw;

		if (p->self) {
			nr = s->running;
			nw = s->queued;
			snprintf(xin, sizeof(xin), "%" PRIu64, st->transfers_in);
			snprintf(xout, sizeof(xout), "%" PRIu64,
			    st->transfers_out);
		} else if (p->level >= 4) {
			/* (as it says, in its gossip entry) */
			nr = p->running;
			nw = p->waiting;
		} else {
			nr = top_count(v, p->id, LB__TASK_STATE__TASK_RUNNING);
			nw = top_count(v, p->id, LB__TASK_STATE__TASK_QUEUED);
		}
		snprintf(run, sizeof(run), "%u", nr);
		snprintf(wait, sizeof(wait), "%u", nw);
		top_bar(p->load, p->slots, bar, sizeof(bar));
		top_line(&t, "%c %-12s %-8s %3u %-13s %5u %4s %4s %6s %7s",
		    p->self ? '*' : ' ', p->id, p->state, p->load, bar,
		    p->slots, run, wait, xin, xout);
	}
	free(peers);
	/* (in place of a blank line: the screen's rows are counted) */
	top_line(&t, "the cluster's tasks: %" PRIu64 " running, %" PRIu64
	    " waiting%s", v->tasks->running, v->tasks->queued,
	    v->tasks->n_missing ? " (some peers did not answer)" : "");

	tasks = top_tasks(v, &ntasks);
	top_line(&t, "  %-14s %-10s %-10s %-8s %8s %5s %7s  %s", "TASK",
	    "HOME", "HOST", "STATE", "TIME", "MOVES", "RESUMES", "COMMAND");
	for (shown = 0; shown < ntasks; shown++) {
		const Lb__TaskRecord *r = tasks[shown];
		/* Keep the last row for what does not fit. */
		if (rows > 0 && t.lines >= rows - 1 && shown + 1 < ntasks)
			break;
		char home[LB_ID_MAX];

		top_argv(r, cmd, sizeof(cmd));
		lb_strlcpy(home, r->home_peer != NULL && r->home_peer[0] ?
		    r->home_peer : r->id, sizeof(home));
		if (strchr(home, '.') != NULL)
			*strchr(home, '.') = '\0';
		top_line(&t, "  %-14s %-10s %-10s %-8s %8s %5u %7u  %s", r->id,
		    home, r->host, r->state == LB__TASK_STATE__TASK_RUNNING ?
		    "running" : "waiting", top_dur(top_task_ms(r, v->now_ms), d,
		    sizeof(d)), r->moves, r->resumes, cmd);
	}
	if (ntasks == 0)
		top_line(&t, "  (no task running or waiting in the cluster)");
	else if (shown < ntasks)
		top_line(&t, "  ... and %zu more", ntasks - shown);
	free(tasks);
	if (t.buf == NULL)
		t.buf = lb_strdup("");
	return t.buf;
}

json_t *
top_json(const struct top_view *v)
{
	const Lb__CtlStatus	*s = v->status;
	const Lb__CtlStats	*st = v->stats;
	Lb__TaskRecord		**tasks;
	size_t			 ntasks;
	json_t			*j, *jp, *jt;

	j = json_pack("{s:s, s:s, s:I, s:i, s:i, s:i, s:i, s:i, s:i, s:i, "
	    "s:b, s:I, s:I, s:I, s:I}", "id", s->id, "cluster", s->cluster,
	    "time_ms", (json_int_t)v->now_ms, "alive", s->alive,
	    "suspect", s->suspect, "dead", s->dead, "load", s->load,
	    "slots", s->slots, "running", s->running, "queued", s->queued,
	    "draining", s->draining,
	    "transfers_in", (json_int_t)st->transfers_in,
	    "transfers_out", (json_int_t)st->transfers_out,
	    "migrations_in", (json_int_t)st->migrations_in,
	    "migrations_out", (json_int_t)st->migrations_out);
	jp = json_array();
	for (size_t i = 0; i < v->peers->n_peers; i++) {
		const Lb__CtlPeer *p = v->peers->peers[i];
		json_array_append_new(jp, json_pack("{s:s, s:s, s:b, s:i, s:i, "
		    "s:i, s:i}", "id", p->id, "state", p->state, "self", p->self,
		    "load", p->load, "slots", p->slots,
		    "running", p->self ? s->running : top_count(v, p->id,
		    LB__TASK_STATE__TASK_RUNNING),
		    "waiting", p->self ? s->queued : top_count(v, p->id,
		    LB__TASK_STATE__TASK_QUEUED)));
	}
	json_object_set_new(j, "peers", jp);
	jt = json_array();
	tasks = top_tasks(v, &ntasks);
	for (size_t i = 0; i < ntasks; i++) {
		const Lb__TaskRecord *r = tasks[i];
		json_array_append_new(jt, json_pack("{s:s, s:s, s:s, s:I, s:i, "
		    "s:i}", "id", r->id, "host", r->host, "state",
		    r->state == LB__TASK_STATE__TASK_RUNNING ? "running" :
		    "queued", "time_ms", (json_int_t)top_task_ms(r, v->now_ms),
		    "moves", (int)r->moves, "resumes", (int)r->resumes));
	}
	free(tasks);
	json_object_set_new(j, "tasks", jt);
	return j;
}

/* ---- the screen ---- */

static int		 top_progress_shown;
static struct termios	 top_saved, top_rawtio;
static int		 top_raw;	/* stdin's modes are changed */
static int		 top_on;	/* the alternate screen is up */
static int		 top_screen;	/* top_screen_start ran */
static int		 top_rawable;	/* stdin can take top_rawtio */
static const char	 top_enter[] = "\033[?1049h\033[?25l\033[H\033[2J";
static volatile sig_atomic_t top_resized;

static void
top_write(int fd, const char *s, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = write(fd, s, n)) == -1) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += w;
		n -= (size_t)w;
	}
}

/*
 * Put the terminal back: the screen, stdin's modes, and no progress line
 * (async-signal-safe: a signal handler calls it).
 */
static void
top_restore(void)
{
	static const char leave[] = "\033[?25h\033[?1049l";

	if (top_progress_shown)
		top_write(2, "\r\033[K", 4);
	top_progress_shown = 0;
	if (top_on)
		top_write(1, leave, sizeof(leave) - 1);
	top_on = 0;
	if (top_raw)
		tcsetattr(0, TCSAFLUSH, &top_saved);
	top_raw = 0;
}

static void
top_signal(int sig)
{
	int	saved = errno;

	top_restore();
	signal(sig, SIG_DFL);
	raise(sig);
	errno = saved;
}

/*
 * Ctrl-Z: the terminal as it was while lbctl is stopped, then the screen
 * again when it goes on (the stop happens inside: SIGTSTP is unblocked and
 * raised with its default action).
 */
static void
top_tstp(int sig)
{
	struct sigaction	sa;
	sigset_t		set;
	int			saved = errno;

	top_restore();
	signal(SIGTSTP, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGTSTP);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGTSTP);
	/* Continued. */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = top_tstp;
	sigaction(SIGTSTP, &sa, NULL);
	if (top_screen) {
		if (top_rawable && tcsetattr(0, TCSAFLUSH, &top_rawtio) == 0)
			top_raw = 1;
		top_on = 1;
		top_write(1, top_enter, sizeof(top_enter) - 1);
		top_resized = 1;	/* redraw it all */
	}
	errno = saved;
}

static void
top_winch(int sig)
{
	(void)sig;
	top_resized = 1;
}

/* Restore the terminal at exit and on the signals that end lbctl. */
static void
top_restore_on_exit(void)
{
	static int		done;
	struct sigaction	sa;

	if (done++)
		return;
	atexit(top_restore);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = top_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = top_tstp;
	sigaction(SIGTSTP, &sa, NULL);
}

void
top_screen_start(void)
{
	struct sigaction	sa;

	top_restore_on_exit();
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = top_winch;	/* no SA_RESTART: poll returns */
	sigaction(SIGWINCH, &sa, NULL);
	if (isatty(0) && tcgetattr(0, &top_saved) == 0) {
		top_rawtio = top_saved;
		top_rawtio.c_lflag &= ~(ICANON | ECHO);
		top_rawtio.c_cc[VMIN] = 1;
		top_rawtio.c_cc[VTIME] = 0;
		if (tcsetattr(0, TCSAFLUSH, &top_rawtio) == 0)
			top_raw = top_rawable = 1;
	}
	top_screen = top_on = 1;
	top_write(1, top_enter, sizeof(top_enter) - 1);
}

void
top_screen_draw(const char *text)
{
	char		*out, *o;
	const char	*p;
	size_t		 n = 0;

	for (p = text; *p != '\0'; p++)
		n += *p == '\n' ? 5 : 1;
	o = out = lb_calloc(n + 16, 1);
	o += sprintf(o, "\033[H");
	for (p = text; *p != '\0'; p++) {
		if (*p != '\n') {
			*o++ = *p;
			continue;
		}
		/* Clear the rest of the line; no newline after the last
		 * (it would scroll a full screen). */
		o += sprintf(o, "\033[K");
		if (p[1] != '\0')
			o += sprintf(o, "\r\n");
	}
	o += sprintf(o, "\033[J");
	top_write(1, out, (size_t)(o - out));
	free(out);
}

int
top_term_size(int fd, int *rows, int *cols)
{
	struct winsize	ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) == -1 || ws.ws_row == 0 ||
	    ws.ws_col == 0)
		return 0;
	*rows = ws.ws_row;
	*cols = ws.ws_col;
	return 1;
}

int
top_screen_wait(int ms)
{
	struct pollfd	pfd = { 0, POLLIN, 0 };
	char		ch;

	if (top_resized) {
		top_resized = 0;
		return 0;
	}
	if (!top_raw) {
		poll(NULL, 0, ms);
		return 0;
	}
	if (poll(&pfd, 1, ms) <= 0)
		return 0;
	switch (read(0, &ch, 1)) {
	case 1:
		break;
	case -1:
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		/* FALLTHROUGH */
	default:
		return 1;	/* the terminal went away */
	}
	return ch == 'q' || ch == 'Q';
}

/* ---- the progress line ---- */

void
top_progress(const Lb__TaskRecord *r, uint64_t now)
{
	int	rows = 0, cols = 80;
	char	line[512], d1[32], d2[32];
	size_t	n;

	if (!isatty(2))
		return;
	/* An error message or the shell's prompt starts on a clean line. */
	top_restore_on_exit();
	top_term_size(2, &rows, &cols);
	if (r->state == LB__TASK_STATE__TASK_RUNNING)
		snprintf(line, sizeof(line), "%s: running on %s for %s, "
		    "%u move%s, %u resume%s (submitted %s ago)", r->id, r->host,
		    top_dur(top_since(now, r->started_ms), d1, sizeof(d1)),
		    r->moves, r->moves == 1 ? "" : "s", r->resumes,
		    r->resumes == 1 ? "" : "s", top_dur(top_since(now,
		    r->submitted_ms), d2, sizeof(d2)));
	else
		snprintf(line, sizeof(line), "%s: waiting on %s for %s, "
		    "%u move%s", r->id, r->host, top_dur(top_since(now,
		    r->submitted_ms), d1, sizeof(d1)), r->moves,
		    r->moves == 1 ? "" : "s");
	/* One column short of the width: a full line would wrap. */
	n = strlen(line);
	if (cols > 1 && n > (size_t)cols - 1)
		n = (size_t)cols - 1;
	top_write(2, "\r", 1);
	top_write(2, line, n);
	top_write(2, "\033[K", 3);
	top_progress_shown = 1;
}

void
top_progress_end(void)
{
	if (top_progress_shown)
		top_write(2, "\r\033[K", 4);
	top_progress_shown = 0;
}
