/* envelope.c - the envelope: authentication, cluster and replay checks. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "envelope.h"

#define ENV_MAX_SENDERS	8192	/* remembered senders; the oldest go first */

void
env_init(struct env_ctx *c, const unsigned char *key, const char *cluster,
    const char *self, uint64_t incarnation, size_t max_size,
    uint64_t window_ms)
{
	if (key == NULL)
		abort();	/* a caller bug: no peer runs without a key */
	memset(c, 0, sizeof(*c));
	memcpy(c->key, key, LB_KEY_BYTES);
	lb_strlcpy(c->cluster, cluster, sizeof(c->cluster));
	lb_strlcpy(c->self, self, sizeof(c->self));
	c->incarnation = incarnation;
	c->next_id = 1;
	c->max_size = max_size;
	c->window_ms = window_ms;
}

void
env_free(struct env_ctx *c)
{
	sodium_memzero(c->key, sizeof(c->key));
	free(c->senders);
	c->senders = NULL;
	c->nsenders = c->maxsenders = 0;
	free(c->ix);
	c->ix = NULL;
	c->ixcap = 0;
}

void
env_seal(struct env_ctx *c, uint64_t now_ms, const uint8_t *body, size_t len,
    uint8_t **out, size_t *outlen)
{
	Lb__Envelope	 e = LB__ENVELOPE__INIT;
	size_t		 n;
	uint8_t		*buf;

	e.version = LB__VERSION__VERSION_CURRENT;
	e.cluster = c->cluster;
	e.sender = c->self;
	e.incarnation = c->incarnation;
	e.msg_id = c->next_id++;
	e.sent_ms = now_ms;
	e.body.data = (uint8_t *)body;
	e.body.len = len;
	n = lb__envelope__get_packed_size(&e);
	buf = lb_calloc(1, ENV_TAG_BYTES + n);
	lb__envelope__pack(&e, buf + ENV_TAG_BYTES);
	crypto_auth(buf, buf + ENV_TAG_BYTES, n, c->key);
	*out = buf;
	*outlen = ENV_TAG_BYTES + n;
}

static size_t
ix_home(const struct env_ctx *c, const char *id)
{
	uint64_t	h = lb_hash_str(id);

	return (size_t)(h ^ (h >> 29)) & (c->ixcap - 1);
}

/* The slot holding sender `id`, or ixcap. */
static size_t
ix_slot(const struct env_ctx *c, const char *id)
{
	size_t	k;

	if (c->ixcap == 0)
		return 0;	/* (no sender yet: ixcap) */
	for (k = ix_home(c, id); c->ix[k] != 0; k = (k + 1) & (c->ixcap - 1))
		if (strcmp(c->senders[c->ix[k] - 1].id, id) == 0)
			return k;
	return c->ixcap;
}

static void
ix_put(struct env_ctx *c, size_t i)
{
	size_t	k = ix_home(c, c->senders[i].id);

	while (c->ix[k] != 0)
		k = (k + 1) & (c->ixcap - 1);
	c->ix[k] = (uint32_t)i + 1;
}

/* Sender `id` leaves the index (backward-shift deletion: the slots after
 * it that would be found through it move up, no tombstones). */
static void
ix_del(struct env_ctx *c, const char *id)
{
	size_t	k = ix_slot(c, id), j, h;

	if (k >= c->ixcap)
		return;
	j = k;
	for (;;) {
		c->ix[k] = 0;
		for (;;) {
			j = (j + 1) & (c->ixcap - 1);
			if (c->ix[j] == 0)
				return;
			h = ix_home(c, c->senders[c->ix[j] - 1].id);
			/* j's entry may move to k unless its home lies
			 * cyclically in (k, j] */
			if (k <= j ? (h <= k || h > j) : (h <= k && h > j))
				break;
		}
		c->ix[k] = c->ix[j];
		k = j;
	}
}

/* The replay record of `id`, made (evicting the least recently used) if new. */
static struct env_sender *
env_sender(struct env_ctx *c, const char *id, uint64_t now_ms)
{
	struct env_sender	*s;
	size_t			 k = ix_slot(c, id);

	if (k < c->ixcap)
		return &c->senders[c->ix[k] - 1];
	if (c->nsenders == ENV_MAX_SENDERS) {
		/* Full: the least recently used goes (a scan, but only for
		 * a sender not remembered, when thousands are). */
		s = &c->senders[0];
		for (size_t i = 1; i < c->nsenders; i++)
			if (c->senders[i].used_ms < s->used_ms)
				s = &c->senders[i];
		ix_del(c, s->id);
	} else {
		if (c->nsenders == c->maxsenders) {
			c->maxsenders = c->maxsenders ? 2 * c->maxsenders : 16;
			c->senders = lb_reallocarray(c->senders, c->maxsenders,
			    sizeof(*c->senders));
			/* (the index, sized for the new room, anew) */
			free(c->ix);
			c->ixcap = 2 * c->maxsenders;
			c->ix = lb_calloc(c->ixcap, sizeof(*c->ix));
			for (size_t i = 0; i < c->nsenders; i++)
				ix_put(c, i);
		}
		s = &c->senders[c->nsenders++];
	}
	memset(s, 0, sizeof(*s));
	lb_strlcpy(s->id, id, sizeof(s->id));
	s->used_ms = now_ms;
	ix_put(c, (size_t)(s - c->senders));
	return s;
}

/* Whether (incarnation, msg_id) is new from s; records it if so. */
static int
env_replay_ok(struct env_sender *s, uint64_t inc, uint64_t id)
{
	if (id == 0 || inc < s->incarnation)
		return 0;
	if (inc > s->incarnation) {
		s->incarnation = inc;
		s->top = id;
		s->seen = 1;
		return 1;
	}
	if (id > s->top) {
		uint64_t shift = id - s->top;
		s->seen = shift >= 64 ? 0 : s->seen << shift;
		s->seen |= 1;
		s->top = id;
		return 1;
	}
	if (s->top - id >= 64 || (s->seen & (1ULL << (s->top - id))))
		return 0;
	s->seen |= 1ULL << (s->top - id);
	return 1;
}

enum env_verdict
env_open(struct env_ctx *c, uint64_t now_ms, const uint8_t *buf, size_t len,
    Lb__Envelope **out)
{
	Lb__Envelope		*e;
	struct env_sender	*s;
	uint64_t		 skew;

	*out = NULL;
	if (len <= ENV_TAG_BYTES || len > c->max_size)
		return ENV_DROP_SIZE;
	if (crypto_auth_verify(buf, buf + ENV_TAG_BYTES, len - ENV_TAG_BYTES,
	    c->key) != 0)
		return ENV_DROP_AUTH;
	e = lb__envelope__unpack(NULL, len - ENV_TAG_BYTES,
	    buf + ENV_TAG_BYTES);
	if (e == NULL)
		return ENV_DROP_DECODE;
	if (e->version != LB__VERSION__VERSION_CURRENT) {
		lb__envelope__free_unpacked(e, NULL);
		return ENV_DROP_VERSION;
	}
	if (strcmp(e->cluster, c->cluster) != 0) {
		lb__envelope__free_unpacked(e, NULL);
		return ENV_DROP_CLUSTER;
	}
	if (!lb_id_valid(e->sender)) {
		lb__envelope__free_unpacked(e, NULL);
		return ENV_DROP_DECODE;
	}
	skew = e->sent_ms > now_ms ? e->sent_ms - now_ms : now_ms - e->sent_ms;
	if (skew > c->window_ms) {
		lb__envelope__free_unpacked(e, NULL);
		return ENV_DROP_REPLAY;
	}
	s = env_sender(c, e->sender, now_ms);
	if (!env_replay_ok(s, e->incarnation, e->msg_id)) {
		lb__envelope__free_unpacked(e, NULL);
		return ENV_DROP_REPLAY;
	}
	s->used_ms = now_ms;
	*out = e;
	return ENV_OK;
}

const char *
env_verdict_name(enum env_verdict v)
{
	static const char *const names[] = { "ok", "size", "auth", "decode",
	    "version", "cluster", "replay" };

	return v < ENV_NVERDICTS ? names[v] : "?";
}
