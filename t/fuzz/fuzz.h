/*
 * fuzz.h - what the libFuzzer harnesses in t/fuzz/ share: the test key,
 * sealing with it (so that input passes the tag and reaches the decoders
 * and handlers behind it), and a reader that cuts an input into records.
 *
 * Each harness defines LLVMFuzzerTestOneInput and frees everything it
 * made (LeakSanitizer is on).  Built by `make fuzz` with clang and
 * -fsanitize=fuzzer,address,undefined; replayed over the seed corpus by
 * t/fuzz/replay.c (any compiler) in `make check`.
 */
#ifndef LB_FUZZ_H
#define LB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "src/envelope.h"
#include "src/log.h"
#include "src/util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FZ_CLUSTER	"fuzz"
#define FZ_WALL		1700000000000ULL	/* the fake wall clock, ms */
#define FZ_WINDOW	60000
#define FZ_MAX		(1 << 20)

/* The test key: every harness seals with it. */
static const unsigned char fz_key[LB_KEY_BYTES] = {
	0x6c, 0x62, 0x70, 0x65, 0x65, 0x72, 0x2d, 0x66,
	0x75, 0x7a, 0x7a, 0x2d, 0x74, 0x65, 0x73, 0x74,
	0x2d, 0x6b, 0x65, 0x79, 0x00, 0x01, 0x02, 0x03,
	0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b
};

static inline void
fz_init(void)
{
	static int	done;

	if (!done) {
		if (sodium_init() < 0)
			abort();
		log_init(1, LOG_LVL_ERROR, "fuzz");
		done = 1;
	}
}

/* Records of an input: [u8 ctl][u16 len LE][len bytes], the last one cut
 * short where the input ends. */
struct fz_rd {
	const uint8_t	*p;
	size_t		 n;
};

static inline int
fz_u8(struct fz_rd *r, uint8_t *v)
{
	if (r->n == 0)
		return -1;
	*v = *r->p++;
	r->n--;
	return 0;
}

static inline int
fz_record(struct fz_rd *r, uint8_t *ctl, const uint8_t **buf, size_t *len)
{
	uint8_t	lo = 0, hi = 0;
	size_t	l;

	if (fz_u8(r, ctl) == -1)
		return -1;
	(void)fz_u8(r, &lo);
	(void)fz_u8(r, &hi);
	l = (size_t)lo | (size_t)hi << 8;
	if (l > r->n)
		l = r->n;
	*buf = r->p;
	*len = l;
	r->p += l;
	r->n -= l;
	return 0;
}

/* Tag `len` bytes as a datagram would carry them: a malloc'd tag + bytes. */
static inline uint8_t *
fz_tag(const uint8_t *buf, size_t len, size_t *outlen)
{
	uint8_t	*out = lb_calloc(1, ENV_TAG_BYTES + len + 1);

	if (len > 0)
		memcpy(out + ENV_TAG_BYTES, buf, len);
	crypto_auth(out, out + ENV_TAG_BYTES, len, fz_key);
	*outlen = ENV_TAG_BYTES + len;
	return out;
}

#endif
