/*
 * state.c - the peer's state_dir: made at start, holds the incarnation and,
 * without secret_file, the peer's own cluster key.
 */
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

char *
state_key_path(const struct lb_conf *c)
{
	return lb_printf("%s/%s", c->state_dir, STATE_KEY_FILE);
}

int
state_key(struct peer *p, unsigned char key[LB_KEY_BYTES], int *made,
    char **cause)
{
	char	*path = state_key_path(&p->conf), *why;
	int	 rc;

	*made = 0;
	/*
	 * O_EXCL: a key that exists is never replaced, since other hosts may
	 * hold a copy of it.
	 */
	if (access(path, F_OK) == -1 && errno == ENOENT) {
		if (lb_key_write(path, &why) == -1) {
			*cause = lb_printf("cannot make the cluster key: %s",
			    why);
			free(why);
			free(path);
			return -1;
		}
		*made = 1;
	}
	if ((rc = lb_key_read(path, key, &why)) == -1) {
		*cause = lb_printf("%s (this peer's own cluster key, as no "
		    "secret_file is set)", why);
		free(why);
	}
	free(path);
	return rc;
}
