/* util.c - small helpers every part shares. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "util.h"

/*
 * The daemon's clock: CLOCK_BOOTTIME, monotonic and counting the time the
 * machine was suspended too, so that a lease measured on it does not
 * outlive a suspend (CLOCK_MONOTONIC stops meanwhile).
 */
uint64_t
lb_mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
lb_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
lb_wall_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
lb_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void
lb_rng_seed(struct lb_rng *r, uint64_t seed)
{
	/* splitmix64 of the seed, so that small seeds give good states. */
	uint64_t z = lb_mix64(seed + 0x9e3779b97f4a7c15ULL);

	r->s = z ? z : 0x2545f4914f6cdd1dULL;
}

uint64_t
lb_rng_next(struct lb_rng *r)
{
	uint64_t x = r->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

uint32_t
lb_rng_below(struct lb_rng *r, uint32_t n)
{
	if (n == 0)
		return 0;
	return (uint32_t)((lb_rng_next(r) >> 32) % n);
}

uint64_t
lb_hash_byte(uint64_t h, uint8_t b)
{
	return (h ^ b) * 0x100000001b3ULL;
}

uint64_t
lb_hash_more(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = lb_hash_byte(h, (uint8_t)*s);
	return h;
}

uint64_t
lb_hash_str(const char *s)
{
	return lb_hash_more(LB_HASH_INIT, s);
}

size_t
lb_strlcpy(char *dst, const char *src, size_t size)
{
	size_t	len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

char *
lb_printf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		abort();
	va_end(ap);
	return s;
}

void *
lb_calloc(size_t n, size_t size)
{
	void	*p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		abort();
	return p;
}

void *
lb_reallocarray(void *p, size_t n, size_t size)
{
	size_t	total;

	if (size != 0 && n > SIZE_MAX / size)
		abort();
	total = n * size;
	p = realloc(p, total != 0 ? total : 1);
	if (p == NULL)
		abort();
	return p;
}

char *
lb_strdup(const char *s)
{
	char	*d = strdup(s);

	if (d == NULL)
		abort();
	return d;
}

char **
lb_split_list(const char *list, size_t *n, char **copy)
{
	char	**v = NULL, *tok, *save = NULL;

	*n = 0;
	*copy = lb_strdup(list);
	for (tok = strtok_r(*copy, ",", &save); tok; tok = strtok_r(NULL, ",",
	    &save)) {
		v = lb_reallocarray(v, *n + 1, sizeof(*v));
		v[(*n)++] = tok;
	}
	return v;
}

char *
lb_join_list(char **v, size_t n)
{
	size_t	len = 1;
	char	*s;

	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	s = lb_calloc(1, len);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, v[i]);
	}
	return s;
}

int
lb_id_valid(const char *id)
{
	size_t	len = strlen(id);

	if (len == 0 || len >= LB_ID_MAX || !isalnum((unsigned char)id[0]))
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '_' &&
		    id[i] != '-')
			return 0;
	return 1;
}


int64_t
lb_task_states(const char *words)
{
	/* (in the order of TaskState in src/lbpeer.proto) */
	static const char *const names[] = { "queued", "running", "done",
	    "failed", "cancelled" };
	const size_t	 nn = sizeof(names) / sizeof(names[0]);
	char		*copy = lb_strdup(words), *w, *save = NULL;
	int64_t		 bits = 0;

	for (w = strtok_r(copy, ",", &save); w != NULL;
	    w = strtok_r(NULL, ",", &save)) {
		size_t i;

		if (strcmp(w, "all") == 0)
			bits |= ((int64_t)1 << nn) - 1;
		else if (strcmp(w, "active") == 0)
			bits |= 1 << 0 | 1 << 1;
		else {
			for (i = 0; i < nn && strcmp(w, names[i]) != 0; i++)
				;
			if (i == nn) {
				free(copy);
				return -1;
			}
			bits |= (int64_t)1 << i;
		}
	}
	free(copy);
	return bits;
}

int
lb_task_id_valid(const char *id)
{
	const char	*dot = strrchr(id, '.');
	char		 node[LB_ID_MAX];
	size_t		 n, digits;

	if (dot == NULL || (n = (size_t)(dot - id)) == 0 || n >= LB_ID_MAX)
		return 0;
	memcpy(node, id, n);
	node[n] = '\0';
	if (!lb_id_valid(node))
		return 0;
	digits = strlen(dot + 1);
	if (digits == 0 || digits > 19 || dot[1] == '0')
		return 0;
	for (size_t i = 1; i <= digits; i++)
		if (!isdigit((unsigned char)dot[i]))
			return 0;
	return 1;
}

int
lb_addr_parse(const char *addr, char *host, size_t hostlen, int *port,
    char **cause)
{
	const char	*p, *colon, *end;
	char		*ep;
	long		 n;
	size_t		 hl;

	if (strncmp(addr, "tcp://", 6) != 0) {
		*cause = lb_printf("address \"%s\" is not tcp://HOST:PORT", addr);
		return -1;
	}
	p = addr + 6;
	if (*p == '[') {
		end = strchr(p, ']');
		if (end == NULL || end[1] != ':') {
			*cause = lb_printf("address \"%s\": bad IPv6 host", addr);
			return -1;
		}
		hl = (size_t)(end - p - 1);
		p++;
		colon = end + 1;
	} else {
		colon = strrchr(p, ':');
		if (colon == NULL) {
			*cause = lb_printf("address \"%s\" has no port", addr);
			return -1;
		}
		hl = (size_t)(colon - p);
	}
	if (hl == 0 || hl >= hostlen) {
		*cause = lb_printf("address \"%s\": bad host", addr);
		return -1;
	}
	memcpy(host, p, hl);
	host[hl] = '\0';
	errno = 0;
	n = strtol(colon + 1, &ep, 10);
	if (colon[1] == '\0' || *ep != '\0' || errno != 0 || n < 1 ||
	    n > 65535) {
		*cause = lb_printf("address \"%s\": port must be 1..65535",
		    addr);
		return -1;
	}
	*port = (int)n;
	return 0;
}

int
lb_host_is_wildcard(const char *host)
{
	return strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0 ||
	    strcmp(host, "*") == 0;
}

int
lb_host_is_loopback(const char *host)
{
	return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
	    strcmp(host, "localhost") == 0;
}

int
lb_key_read(const char *path, unsigned char key[LB_KEY_BYTES], char **cause)
{
	char		 buf[256];
	struct stat	 st;
	size_t		 n, len;
	ssize_t		 r = 0;
	int		 fd, bad;

	/* O_NONBLOCK: a FIFO put there must not hang the start. */
	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		*cause = lb_printf("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		*cause = lb_printf("%s is not a regular file", path);
		close(fd);
		return -1;
	}
	/* Whoever can read the key can forge any message; who can write
	 * it can lock this peer out. */
	if (st.st_mode & 066) {
		int others = (st.st_mode & 006) != 0;
		mode_t bits = others ? st.st_mode & 006 : st.st_mode & 060;

		*cause = lb_printf("%s is %s by %s (mode %04o); chmod 600 it",
		    path, bits & 044 ? "readable" : "writable", others ?
		    "others" : "its group", (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	/* read(2), not stdio: no copy of the key left in a stdio buffer. */
	for (n = 0; n < sizeof(buf) - 1; n += (size_t)r)
		if ((r = read(fd, buf + n, sizeof(buf) - 1 - n)) <= 0)
			break;
	close(fd);
	if (r < 0) {
		*cause = lb_printf("%s: %s", path, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	len = strcspn(buf, "\r\n");
	bad = len != 2 * LB_KEY_BYTES || buf[len + strspn(buf + len, "\r\n")]
	    != '\0' || sodium_hex2bin(key, LB_KEY_BYTES, buf, len, NULL, NULL,
	    NULL) != 0;
	sodium_memzero(buf, sizeof(buf));
	if (bad) {
		*cause = lb_printf("%s: not a key (expected %d hex digits; "
		    "make one with `lbctl keygen FILE`)", path,
		    2 * LB_KEY_BYTES);
		return -1;
	}
	if (sodium_is_zero(key, LB_KEY_BYTES)) {
		*cause = lb_printf("%s: the all-zero key authenticates nothing "
		    "(anyone can forge it); make a key with `lbctl keygen "
		    "FILE`", path);
		return -1;
	}
	return 0;
}

int
lb_key_write(const char *path, char **cause)
{
	unsigned char	key[LB_KEY_BYTES];
	char		hex[2 * LB_KEY_BYTES + 2];
	int		fd;
	size_t		len;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) ==
	    -1) {
		*cause = lb_printf("%s: %s", path, strerror(errno));
		return -1;
	}
	randombytes_buf(key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	len = strlen(hex);
	hex[len++] = '\n';
	if (write(fd, hex, len) != (ssize_t)len || fsync(fd) == -1) {
		*cause = lb_printf("%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	sodium_memzero(hex, sizeof(hex));
	close(fd);
	{
		/* The new name lasts once its directory does. */
		char *dir = lb_strdup(path), *slash = strrchr(dir, '/');
		char *ignore = NULL;
		if (slash == NULL)
			strcpy(dir, ".");
		else if (slash == dir)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (lb_fsync_dir(dir, &ignore) == -1)
			free(ignore);
		free(dir);
	}
	return 0;
}

int
lb_fsync_dir(const char *dir, char **cause)
{
	int	fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1) {
		*cause = lb_printf("%s: %s", dir, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
lb_write_atomic(const char *dir, const char *name, const void *data,
    size_t len, char **cause)
{
	char		*tmp = lb_printf("%s/.%s.tmp", dir, name);
	char		*dst = lb_printf("%s/%s", dir, name);
	const uint8_t	*p = data;
	ssize_t		 w;
	size_t		 done = 0;
	int		 fd, rc = -1;

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		*cause = lb_printf("%s: %s", tmp, strerror(errno));
		goto out;
	}
	while (done < len) {
		if ((w = write(fd, p + done, len - done)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		done += (size_t)w;
	}
	if (done < len || fsync(fd) == -1) {
		*cause = lb_printf("%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, dst) == -1) {
		*cause = lb_printf("%s: %s", dst, strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* The rename is durable only once the directory is. */
	rc = lb_fsync_dir(dir, cause);
out:
	free(tmp);
	free(dst);
	return rc;
}

int
lb_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	size_t	done = 0;
	ssize_t	r;

	while (done < len) {
		r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

int
lb_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	size_t	done = 0;
	ssize_t	w;

	while (done < len) {
		w = pwrite(fd, (const char *)buf + done, len - done,
		    (off_t)(off + done));
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}
