/* log.h - one log for the whole program (the OpenBSD log API). */
#ifndef LB_LOG_H
#define LB_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERROR = 0,	/* only errors */
	LOG_LVL_WARN,		/* and warnings */
	LOG_LVL_INFO,		/* and what an operator wants to see (default) */
	LOG_LVL_DEBUG		/* and everything */
};

/* Start logging: to stderr when foreground, to syslog otherwise. */
void	log_init(int foreground, int level, const char *ident);
/* Parse "error", "warn", "info", "debug"; -1 when unknown. */
int	log_level_parse(const char *name);
/* Hook libevent's own messages into this log. */
void	log_hook_libevent(void);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * A limiter for messages that a flood of bad input could repeat: at most
 * `burst` messages, then one a second, with a count of what was suppressed.
 */
struct log_limit {
	long long	window_s;
	unsigned	sent;
	unsigned	suppressed;
};
int	log_limit_ok(struct log_limit *, long long now_s, unsigned *suppressed);

#endif
