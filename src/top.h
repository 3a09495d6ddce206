/* top.h - lbctl's terminal views: the top screen and the progress line. */
#ifndef LB_TOP_H
#define LB_TOP_H

#include <stdint.h>

#include <jansson.h>

#include "lbpeer.pb-c.h"

/* What lbctl top shows: the local peer's answers, taken at now_ms. */
struct top_view {
	const Lb__CtlStatus	*status;
	const Lb__CtlPeers	*peers;
	const Lb__CtlTaskList	*tasks;	/* running and waiting: lbctl list */
	const Lb__CtlStats	*stats;
	uint64_t		 now_ms;	/* wall clock */
};

/*
 * The view as text, lines ended by '\n': at most rows lines of at most cols
 * columns (0: no limit).  Free it.
 */
char	*top_render(const struct top_view *, int rows, int cols);
/* The same as one JSON object (lbctl top --json). */
json_t	*top_json(const struct top_view *);

/*
 * The full screen on the terminal at stdout: the alternate screen, no
 * cursor, keys read one at a time from stdin (when it is a terminal); all
 * restored at exit and on SIGINT, SIGTERM and SIGHUP.
 */
void	 top_screen_start(void);
/* Draw text (from top_render) over the screen, clearing what it leaves. */
void	 top_screen_draw(const char *text);
/* The terminal's size at fd, or 0 (then *rows and *cols are unchanged). */
int	 top_term_size(int fd, int *rows, int *cols);
/*
 * Wait up to ms for a key: 1 when it is q (quit), 0 when the time is up,
 * another key came, or the window changed size.
 */
int	 top_screen_wait(int ms);

/*
 * The progress line of lbctl wait on stderr, when stderr is a terminal:
 * the task's state, host, time and moves, written over itself; erased by
 * top_progress_end (and at exit).  Nothing when stderr is no terminal.
 */
void	 top_progress(const Lb__TaskRecord *, uint64_t now_ms);
void	 top_progress_end(void);

#endif
