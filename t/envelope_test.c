/* envelope_test.c - what the envelope lets through, and what it drops. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "src/envelope.h"
#include "t/tap.h"

static unsigned char key1[LB_KEY_BYTES], key2[LB_KEY_BYTES];

static enum env_verdict
open_drop(struct env_ctx *rx, uint64_t now, const uint8_t *buf, size_t len)
{
	Lb__Envelope		*e;
	enum env_verdict	 v = env_open(rx, now, buf, len, &e);

	if (e != NULL)
		lb__envelope__free_unpacked(e, NULL);
	return v;
}

/*
 * Thousands of senders: each found through the index (a replay of any
 * remembered one refused), at most 8,192 remembered, the least recently
 * heard forgotten first.
 */
static void
test_many_senders(void)
{
	enum { N = 9000, KEEP = 8192 };
	struct env_ctx	 rx, tx;
	uint8_t		**bufs = calloc(N, sizeof(*bufs));
	size_t		*lens = calloc(N, sizeof(*lens));
	const uint8_t	 body[] = "x";
	uint64_t	 t0 = 2000000000;
	int		 ok_all = 1, refused = 1;
	char		 id[16];

	env_init(&rx, key1, "alpha", "rx", 1, 4096, 60000);
	for (int i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		env_init(&tx, key1, "alpha", id, 1, 4096, 60000);
		env_seal(&tx, t0 + (uint64_t)i, body, sizeof(body), &bufs[i],
		    &lens[i]);
		env_free(&tx);
		ok_all &= open_drop(&rx, t0 + (uint64_t)i, bufs[i], lens[i]) ==
		    ENV_OK;
	}
	ok(ok_all, "%d senders, each message opens", N);
	is(rx.nsenders, KEEP, "%d senders remembered, no more", KEEP);
	for (int i = N - KEEP; i < N; i++)
		refused &= open_drop(&rx, t0 + N, bufs[i], lens[i]) ==
		    ENV_DROP_REPLAY;
	ok(refused, "a replay of each of the last %d is refused (found "
	    "among them)", KEEP);
	is(open_drop(&rx, t0 + N, bufs[0], lens[0]), ENV_OK,
	    "the least recently heard was forgotten: its message opens again");
	is(open_drop(&rx, t0 + N, bufs[0], lens[0]), ENV_DROP_REPLAY,
	    "and is remembered again");
	is(open_drop(&rx, t0 + N, bufs[N - KEEP], lens[N - KEEP]), ENV_OK,
	    "in place of the least recently heard then");
	for (int i = 0; i < N; i++)
		free(bufs[i]);
	free(bufs);
	free(lens);
	env_free(&rx);
}

int
main(void)
{
	struct env_ctx	 tx, rx, other, stranger, old;
	uint8_t		*buf, *buf2, *big;
	size_t		 len, len2;
	Lb__Envelope	*e;
	const uint8_t	 body[] = "hello";
	uint64_t	 now = 1000000000;

	if (sodium_init() < 0)
		return 1;
	memset(key1, 1, sizeof(key1));
	memset(key2, 2, sizeof(key2));
	test_many_senders();
	env_init(&tx, key1, "alpha", "n1", 5, 4096, 60000);
	env_init(&rx, key1, "alpha", "n2", 1, 4096, 60000);
	env_init(&other, key2, "alpha", "n9", 1, 4096, 60000);
	env_init(&stranger, key1, "beta", "n8", 1, 4096, 60000);

	env_seal(&tx, now, body, sizeof(body), &buf, &len);
	is(env_open(&rx, now, buf, len, &e), ENV_OK, "a good envelope opens");
	ok(e != NULL && strcmp(e->sender, "n1") == 0 && e->incarnation == 5 &&
	    e->body.len == sizeof(body) && memcmp(e->body.data, body,
	    sizeof(body)) == 0, "with its sender, incarnation and body");
	if (e)
		lb__envelope__free_unpacked(e, NULL);
	is(open_drop(&rx, now, buf, len), ENV_DROP_REPLAY,
	    "the same envelope again is a replay");

	env_seal(&tx, now, body, sizeof(body), &buf2, &len2);
	buf2[len2 - 2] ^= 0x40;
	is(open_drop(&rx, now, buf2, len2), ENV_DROP_AUTH,
	    "a flipped bit in the body fails the tag");
	buf2[len2 - 2] ^= 0x40;
	buf2[3] ^= 1;
	is(open_drop(&rx, now, buf2, len2), ENV_DROP_AUTH,
	    "a flipped bit in the tag fails it too");
	buf2[3] ^= 1;
	is(open_drop(&rx, now, buf2, len2 - 1), ENV_DROP_AUTH,
	    "a truncated envelope fails the tag");
	is(open_drop(&rx, now, buf2, 10), ENV_DROP_SIZE,
	    "one too short to hold a tag is dropped for its size");
	is(open_drop(&rx, now, buf2, len2), ENV_OK,
	    "the untouched one still opens (nothing was recorded)");
	free(buf2);

	env_seal(&other, now, body, sizeof(body), &buf2, &len2);
	is(open_drop(&rx, now, buf2, len2), ENV_DROP_AUTH,
	    "another cluster key is refused");
	free(buf2);
	env_seal(&stranger, now, body, sizeof(body), &buf2, &len2);
	is(open_drop(&rx, now, buf2, len2), ENV_DROP_CLUSTER,
	    "the same key with another cluster name is refused");
	free(buf2);

	big = calloc(1, 5000);
	env_seal(&tx, now, big, 5000, &buf2, &len2);
	is(open_drop(&rx, now, buf2, len2), ENV_DROP_SIZE,
	    "an envelope over the size limit is dropped");
	free(buf2);
	free(big);

	env_seal(&tx, now - 61000, body, sizeof(body), &buf2, &len2);
	is(open_drop(&rx, now, buf2, len2), ENV_DROP_REPLAY,
	    "one sent before the replay window is dropped");
	free(buf2);
	env_seal(&tx, now + 61000, body, sizeof(body), &buf2, &len2);
	is(open_drop(&rx, now, buf2, len2), ENV_DROP_REPLAY,
	    "and one from too far in the future");
	free(buf2);

	/* Out of order within the window is fine; twice is not. */
	uint8_t *a, *b;
	size_t la, lb;
	env_seal(&tx, now, body, sizeof(body), &a, &la);
	env_seal(&tx, now, body, sizeof(body), &b, &lb);
	is(open_drop(&rx, now, b, lb), ENV_OK, "a later message first");
	is(open_drop(&rx, now, a, la), ENV_OK, "then an earlier one");
	is(open_drop(&rx, now, a, la), ENV_DROP_REPLAY, "but not twice");
	free(a);
	free(b);

	/* A restarted sender (higher incarnation) starts its ids again. */
	env_init(&old, key1, "alpha", "n1", 6, 4096, 60000);
	env_seal(&old, now, body, sizeof(body), &buf2, &len2);
	is(open_drop(&rx, now, buf2, len2), ENV_OK,
	    "a new incarnation of a sender is accepted from id 1");
	free(buf2);
	env_seal(&tx, now, body, sizeof(body), &buf2, &len2);
	is(open_drop(&rx, now, buf2, len2), ENV_DROP_REPLAY,
	    "and its old incarnation no longer");
	free(buf2);

	/* Garbage that passes the tag (made with the key) but is no envelope. */
	big = calloc(1, 64);
	memset(big + ENV_TAG_BYTES, 0xff, 32);
	crypto_auth(big, big + ENV_TAG_BYTES, 32, key1);
	is(open_drop(&rx, now, big, 64), ENV_DROP_DECODE,
	    "an authentic datagram that does not decode is dropped");
	free(big);

	free(buf);
	env_free(&tx);
	env_free(&rx);
	env_free(&other);
	env_free(&stranger);
	env_free(&old);
	return done_testing();
}
