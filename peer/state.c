/* state.c - the peer's state_dir: made at start, holds the incarnation. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peer.h"

/* mkdir -p with mode for the last component. */
static int
mkdirs(const char *path, mode_t mode, char **cause)
{
	char	*p = lb_strdup(path), *s;

	for (s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST) {
			*cause = lb_printf("cannot create %s: %s", p,
			    strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	if (mkdir(p, mode) == -1 && errno != EEXIST) {
		*cause = lb_printf("cannot create %s: %s", p, strerror(errno));
		free(p);
		return -1;
	}
	free(p);
	return 0;
}

int
state_open(struct peer *p, char **cause)
{
	char		*path, buf[64];
	FILE		*f;
	uint64_t	 prev = 0, now = lb_wall_ms();

	if (mkdirs(p->conf.state_dir, 0700, cause) == -1)
		return -1;
	path = lb_printf("%s/incarnation", p->conf.state_dir);
	if ((f = fopen(path, "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL)
			prev = strtoull(buf, NULL, 10);
		fclose(f);
	}
	free(path);
	/*
	 * Higher than any earlier life of this peer: the last one's + 1, and
	 * the wall clock, in case state_dir was lost.
	 */
	p->incarnation = prev + 1 > now ? prev + 1 : now;
	snprintf(buf, sizeof(buf), "%" PRIu64 "\n", p->incarnation);
	return lb_write_atomic(p->conf.state_dir, "incarnation", buf,
	    strlen(buf), cause);
}
