/* util.h - small helpers every part shares: time, random, strings, addresses, keys. */
#ifndef LB_UTIL_H
#define LB_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define LB_ID_MAX	64	/* node id, with its NUL */
#define LB_ADDR_MAX	128	/* nanomsg address, with its NUL */
#define LB_KEY_BYTES	32	/* cluster key */

/*
 * The protocol level of this build, announced in its gossip entry
 * (Member.level): what it can be asked.  A peer asks another for a feature
 * only at the level that brought it, so that older and newer builds share
 * a cluster while it is upgraded one peer at a time (doc/protocol.md,
 * "Rolling upgrades").  Raise it with every feature another peer must
 * know of before it is asked.
 *   0  a build from before levels: envelopes of version 2, leases,
 *      replicated homes, transfer file kind 2 (output)
 *   1  it announces its level; as a holder of a task whose home is dead,
 *      it answers MSG_WAIT until a replica acts for the home (asks
 *      nothing new of others)
 *   2  as a replica, it holds a home's attachments and output files
 *      (ReplicaFiles): a home offers them only to members at level 2
 *   3  as a member of a home's set, it holds a winner's win before the
 *      winner acts (HomeActing.confirm, HomeVoteReply.win_held): a
 *      winner asks it only of members at level 3; an older member's
 *      vote stands for its hold, as before
 *   4  it answers ClusterQuery (the cluster's tasks, listed from any peer):
 *      asked only of peers at level 4; an older one is named as missing
 *   5  it takes Probe.idle (an idle notice) and Probe.release (a slot held
 *      for an offer freed) for what they are: sent only to peers at level
 *      5 (an older one would read either as an offer); ProbeReply.hint,
 *      which an older one ignores, goes to all
 *   6  a digest of one that knows fewer members than its sender may carry
 *      bucket sums of its table (Gossip.sum_counts, sum_hashes): the
 *      answer holds the members of the buckets that differ, not the whole
 *      table; so a peer at level 6 that missed a few members is sent no
 *      whole table, and one before it is, as before
 */
#define LB_PROTO_LEVEL	6
#define LB_LEVEL_HOLDS_WINS	3
#define LB_LEVEL_CLUSTER_LIST	4
#define LB_LEVEL_HINTS	5
#define LB_LEVEL_SUMS	6

/* Monotonic milliseconds: for timers and ages.  (Shell only: cores get `now`.) */
uint64_t lb_mono_ms(void);
/* The same in microseconds: for measurements. */
uint64_t lb_mono_us(void);
/* Wall clock, milliseconds since the Unix epoch. */
uint64_t lb_wall_ms(void);

/* A small seeded generator (xorshift64*), so that cores are deterministic. */
struct lb_rng {
	uint64_t	s;
};
void	 lb_rng_seed(struct lb_rng *, uint64_t seed);
uint64_t lb_rng_next(struct lb_rng *);
/* Uniform in [0, n); 0 when n is 0. */
uint32_t lb_rng_below(struct lb_rng *, uint32_t n);

size_t	 lb_strlcpy(char *dst, const char *src, size_t size);
/* FNV-1a, 64 bits: for hash tables of ids (not against an adversary:
 * the tables compare the strings).  lb_hash_str(s) is the hash of s;
 * lb_hash_more continues h over s, lb_hash_byte over one byte. */
#define LB_HASH_INIT	0xcbf29ce484222325ULL
uint64_t lb_hash_more(uint64_t h, const char *s);
uint64_t lb_hash_byte(uint64_t h, uint8_t b);
uint64_t lb_hash_str(const char *s);
/* SplitMix64's finaliser: every bit of x mixed into every bit of the
 * result (for seeds, buckets, weights; not against an adversary). */
uint64_t lb_mix64(uint64_t x);
/* pread/pwrite all of len bytes at off (EINTR retried); -1 on an error or
 * a short file. */
int	 lb_pread_full(int fd, void *buf, size_t len, uint64_t off);
int	 lb_pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
/* asprintf that aborts on memory exhaustion, for error messages. */
char	*lb_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	*lb_calloc(size_t n, size_t size);
void	*lb_reallocarray(void *p, size_t n, size_t size);
char	*lb_strdup(const char *);

/* Split "a,b,c" into a vector of pointers into *copy (free both). */
char	**lb_split_list(const char *list, size_t *n, char **copy);
/* "a,b,c" from a vector (malloc'd). */
char	*lb_join_list(char **v, size_t n);

/*
 * A node id: 1..63 characters of [A-Za-z0-9_-], starting with a letter or a
 * digit (ids appear in task ids "<node>.<seq>", so no dots).
 */
int	 lb_id_valid(const char *id);
/*
 * A task id "<node>.<seq>": a node id, a dot, and 1..19 digits that do not
 * start with 0 (tasks_id_valid's rule, for those that know no core).
 */
int	 lb_task_id_valid(const char *id);
/* Task states named in a list with commas (queued, running, done, failed,
 * cancelled; active: queued and running; all) as bits by TaskState
 * (1 << state); -1 for a word that is none of them. */
int64_t	 lb_task_states(const char *words);

/*
 * Parse a peer address "tcp://HOST:PORT" (HOST a name, an IPv4 address or a
 * bracketed IPv6 address).  0, or -1 with *cause set.
 */
int	 lb_addr_parse(const char *addr, char *host, size_t hostlen, int *port,
	    char **cause);
/* Whether HOST is a wildcard (0.0.0.0, ::, *): to listen on, not to reach. */
int	 lb_host_is_wildcard(const char *host);
/* 127.0.0.0/8, ::1 or localhost: only this host reaches it. */
int	 lb_host_is_loopback(const char *host);

/*
 * Read a key file (64 hex digits, optional trailing newline). 0 or -1; the
 * all-zero key is refused, and so is a file that is not a regular file or
 * that its group or others may read or write.
 */
int	 lb_key_read(const char *path, unsigned char key[LB_KEY_BYTES],
	    char **cause);
/* Make a new random key file with mode 0600 (O_EXCL: never overwrites). */
int	 lb_key_write(const char *path, char **cause);
/* fsync a directory, so that the names made or renamed in it last. */
int	 lb_fsync_dir(const char *dir, char **cause);
/*
 * Replace dir/name with `data` atomically and durably: write dir/.name.tmp,
 * fsync it, rename it over dir/name, fsync dir.  After a crash dir/name is
 * the old file or the new one, whole; a stray dir/.name.tmp may be left.
 */
int	 lb_write_atomic(const char *dir, const char *name, const void *data,
	    size_t len, char **cause);

#endif
