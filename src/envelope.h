/* envelope.h - sealing and opening peer-to-peer datagrams. */
#ifndef LB_ENVELOPE_H
#define LB_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "lbpeer.pb-c.h"
#include "util.h"

#define ENV_TAG_BYTES	32

/* Why a datagram was dropped; ENV_OK when it was not. */
enum env_verdict {
	ENV_OK = 0,
	ENV_DROP_SIZE,		/* too large, or too short to hold a tag */
	ENV_DROP_AUTH,		/* tag does not verify: other key or tampered */
	ENV_DROP_DECODE,	/* not an Envelope */
	ENV_DROP_VERSION,	/* another protocol version */
	ENV_DROP_CLUSTER,	/* another cluster's name */
	ENV_DROP_REPLAY,	/* seen before, from an old incarnation, or too old */
	ENV_NVERDICTS
};

/* What the replay window remembers of one sender. */
struct env_sender {
	char		id[LB_ID_MAX];
	uint64_t	incarnation;
	uint64_t	top;	/* highest msg_id accepted */
	uint64_t	seen;	/* bit i: top - i accepted */
	uint64_t	used_ms;	/* for eviction */
};

struct env_ctx {
	unsigned char	 key[LB_KEY_BYTES];
	char		 cluster[64];
	char		 self[LB_ID_MAX];
	uint64_t	 incarnation;
	uint64_t	 next_id;
	size_t		 max_size;	/* largest datagram accepted */
	uint64_t	 window_ms;	/* accepted |now - sent_ms| */
	struct env_sender *senders;
	size_t		 nsenders, maxsenders;
	/* The senders by id: open addressing with linear probing, each slot
	 * a sender's index + 1 (0: empty), ixcap a power of two at least
	 * twice maxsenders.  A cluster of thousands is not scanned for every
	 * message (lbsim at 10,000 peers: 8,192 strcmps a message). */
	uint32_t	*ix;
	size_t		 ixcap;
};

/*
 * key is the cluster key, LB_KEY_BYTES long; there is no way without one
 * (a NULL key aborts): every message is authenticated, always.
 */
void	env_init(struct env_ctx *, const unsigned char *key, const char *cluster,
	    const char *self, uint64_t incarnation, size_t max_size,
	    uint64_t window_ms);
void	env_free(struct env_ctx *);
/* Seal a body for sending at wall time now_ms; *out is malloc'd. */
void	env_seal(struct env_ctx *, uint64_t now_ms, const uint8_t *body,
	    size_t len, uint8_t **out, size_t *outlen);
/* Check a datagram; on ENV_OK *out is the envelope (free it with
 * lb__envelope__free_unpacked). */
enum env_verdict env_open(struct env_ctx *, uint64_t now_ms, const uint8_t *buf,
	    size_t len, Lb__Envelope **out);
const char *env_verdict_name(enum env_verdict);

#endif
