/* log.c - stderr in the foreground, syslog otherwise. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <event2/event.h>

#include "log.h"

static int	 log_fg = 1;
static int	 log_lvl = LOG_LVL_INFO;
static const char *log_ident = "lbpeer";

static const int syslog_prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
static const char *const lvl_name[] = { "error", "warn", "info", "debug" };

void
log_init(int foreground, int level, const char *ident)
{
	log_fg = foreground;
	log_lvl = level;
	if (ident != NULL)
		log_ident = ident;
	if (!log_fg)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

int
log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(lvl_name) / sizeof(lvl_name[0]); i++)
		if (strcmp(name, lvl_name[i]) == 0)
			return (int)i;
	if (strcmp(name, "warning") == 0)
		return LOG_LVL_WARN;
	return -1;
}

/* Write one finished line at a level. */
static void
log_emit(int level, const char *msg)
{
	struct timespec	 ts;
	struct tm	 tm;

	if (level > log_lvl)
		return;
	if (!log_fg) {
		syslog(syslog_prio[level], "%s", msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s %s: %s\n", tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_ident,
	    lvl_name[level], msg);
	fflush(stderr);
}

/* Format, add strerror(saved) when saved is not 0, and emit. */
static void
vlog(int level, int saved, const char *fmt, va_list ap)
{
	char	buf[1024];
	int	n;

	if (level > log_lvl)
		return;
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (saved != 0 && n >= 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(saved));
	log_emit(level, buf);
}

#define LOG_FN(name, level, witherr)				\
void								\
name(const char *fmt, ...)					\
{								\
	int	saved = errno;					\
	va_list	ap;						\
	va_start(ap, fmt);					\
	vlog(level, (witherr) ? saved : 0, fmt, ap);		\
	va_end(ap);						\
	errno = saved;						\
}

LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	int	saved = errno;
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

static void
log_libevent_cb(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	default:
		log_warnx("libevent: %s", msg);
		break;
	}
}

void
log_hook_libevent(void)
{
	event_set_log_callback(log_libevent_cb);
}

int
log_limit_ok(struct log_limit *l, long long now_s, unsigned *suppressed)
{
	*suppressed = 0;
	if (now_s != l->window_s) {
		*suppressed = l->suppressed;
		l->window_s = now_s;
		l->sent = 0;
		l->suppressed = 0;
	}
	if (l->sent < 5) {
		l->sent++;
		return 1;
	}
	l->suppressed++;
	return 0;
}
