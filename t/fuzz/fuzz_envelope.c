/*
 * fuzz_envelope.c - the envelope behind the tag (src/envelope.c).
 *
 * The first byte chooses:
 *   0: the rest is records, each an Envelope's bytes, tagged with the test
 *      key and opened in turn by one receiver (so the Envelope decoder, the
 *      cluster, sender and window checks and the replay record all see
 *      fuzzed fields, and the records of one input form a sequence);
 *   1: the rest as a raw datagram (an outsider without the key);
 *   2: the rest is records, each a body sealed by env_seal from one of a
 *      few senders and opened: it must open as it was sealed, and the body
 *      is decoded as a PeerMsg, as glue_recv does next.
 */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"

static void
check(struct env_ctx *rx, uint64_t now, const uint8_t *d, size_t n)
{
	Lb__Envelope	*e = NULL;
	Lb__PeerMsg	*m;

	if (env_open(rx, now, d, n, &e) == ENV_OK) {
		/* What the shell does with an envelope that opened. */
		m = lb__peer_msg__unpack(NULL, e->body.len, e->body.data);
		if (m != NULL)
			lb__peer_msg__free_unpacked(m, NULL);
		lb__envelope__free_unpacked(e, NULL);
	} else if (e != NULL)
		abort();	/* a drop must not hand out an envelope */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct env_ctx	 rx, tx[3];
	struct fz_rd	 r;
	uint8_t		 mode, ctl, *d;
	const uint8_t	*b;
	size_t		 len, dl;
	uint64_t	 now = FZ_WALL;
	static const char *const ids[] = { "n2", "n3", "n4" };

	fz_init();
	if (size < 1)
		return 0;
	mode = data[0] % 3;
	r.p = data + 1;
	r.n = size - 1;
	env_init(&rx, fz_key, FZ_CLUSTER, "n1", 1, 65536, FZ_WINDOW);
	switch (mode) {
	case 0:
		while (fz_record(&r, &ctl, &b, &len) == 0) {
			now += ctl & 0x80 ? (uint64_t)(ctl & 0x7f) * 1000 : 0;
			d = fz_tag(b, len, &dl);
			check(&rx, now, d, dl);
			free(d);
		}
		break;
	case 1:
		check(&rx, now, r.p, r.n);
		break;
	case 2:
		for (int i = 0; i < 3; i++)
			env_init(&tx[i], fz_key, FZ_CLUSTER, ids[i], 7, 65536,
			    FZ_WINDOW);
		while (fz_record(&r, &ctl, &b, &len) == 0) {
			struct env_ctx	*t = &tx[ctl % 3];
			Lb__Envelope	*e = NULL;
			enum env_verdict v;

			if (ctl & 0x10)		/* a sender that restarted */
				t->incarnation++;
			if (ctl & 0x20)		/* a message lost on the way */
				t->next_id += ctl >> 6;
			env_seal(t, now, b, len, &d, &dl);
			if (ctl & 0x08) {	/* a replay of it */
				check(&rx, now, d, dl);
				check(&rx, now, d, dl);
			} else if ((v = env_open(&rx, now, d, dl, &e)) ==
			    ENV_OK) {
				/* Sealed here, it opens as it was sealed. */
				if (e->body.len != len || (len > 0 &&
				    memcmp(e->body.data, b, len) != 0) ||
				    strcmp(e->sender, t->self) != 0)
					abort();
				lb__envelope__free_unpacked(e, NULL);
			} else if (v != ENV_DROP_SIZE)
				abort();
			free(d);
		}
		for (int i = 0; i < 3; i++)
			env_free(&tx[i]);
		break;
	}
	env_free(&rx);
	return 0;
}
