/*
 * lbjunk.c - what an outsider can send to a peer's listen address:
 *
 *   lbjunk tcp://HOST:PORT COUNT [SEED]
 *	COUNT random byte strings;
 *   lbjunk --forge KEY [--cluster NAME] [--member ID] tcp://HOST:PORT COUNT
 *	COUNT well-formed gossip messages announcing a member ID (default
 *	"forged") that does not exist, sealed with KEY: a key file, or
 *	"zero" for the all-zero key (what a peer without a key once used);
 *   lbjunk --signed KEY [--cluster NAME] [--member ID] tcp://HOST:PORT COUNT
 *	[SEED]
 *	COUNT random PeerMsgs, sealed with KEY in a valid envelope from ID
 *	(default "forged"), so that they pass the tag and reach the handlers:
 *	every body kind, fields filled at random from the .proto's
 *	descriptors (ids of the cluster's peers and tasks, junk ids, edge
 *	numbers, nested messages), a quarter of them with their packed bytes
 *	then damaged (still sealed).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <sodium.h>

#include "src/envelope.h"
#include "src/util.h"

/* A gossip digest announcing the member `id`, sealed by `env`. */
static void
forge(struct env_ctx *env, const char *id, uint64_t heartbeat, uint8_t **out,
    size_t *len)
{
	Lb__PeerMsg	 pm = LB__PEER_MSG__INIT;
	Lb__Gossip	 g = LB__GOSSIP__INIT;
	Lb__Member	 m = LB__MEMBER__INIT, *mp = &m;
	uint8_t		*body;
	size_t		 n;

	m.id = (char *)id;
	m.addr = (char *)"tcp://127.0.0.1:1";
	m.incarnation = env->incarnation;
	m.heartbeat = heartbeat;
	m.slots = 64;
	g.members = &mp;
	g.n_members = 1;
	g.known = 1;
	pm.body_case = LB__PEER_MSG__BODY_GOSSIP;
	pm.gossip = &g;
	n = lb__peer_msg__get_packed_size(&pm);
	body = lb_calloc(1, n);
	lb__peer_msg__pack(&pm, body);
	env_seal(env, lb_wall_ms(), body, n, out, len);
	free(body);
}

/* ---- random PeerMsgs (--signed) ---- */

static struct lb_rng	*R;

static uint64_t
rnd_num(void)
{
	static const uint64_t edge[] = { 0, 1, 2, 3, 85, 255, 65535,
	    UINT32_MAX, (uint64_t)UINT32_MAX + 1, INT64_MAX, UINT64_MAX };

	switch (lb_rng_below(R, 4)) {
	case 0:
		return edge[lb_rng_below(R, sizeof(edge) / sizeof(edge[0]))];
	case 1:
		return lb_rng_next(R);
	default:
		return lb_rng_below(R, 8);
	}
}

static char *
rnd_str(void)
{
	static const char *const pick[] = { "n1", "n2", "n3", "n1.1",
	    "n1.2", "n2.1", "n3.1", "n1.0", "n1.01", "n9.99999999999999999999",
	    "", ".", "..", "../etc", "a/b", "tcp://127.0.0.1:1", "forged",
	    "gpu", "SIGUSR1", "/bin/true", "held", "n1.18446744073709551615" };
	size_t	n;
	char	*s;

	if (lb_rng_below(R, 4) != 0)
		return lb_strdup(pick[lb_rng_below(R, sizeof(pick) /
		    sizeof(pick[0]))]);
	n = lb_rng_below(R, 8) == 0 ? lb_rng_below(R, 300) : lb_rng_below(R, 24);
	s = lb_calloc(1, n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)(1 + lb_rng_below(R, 255));
	return s;
}

static ProtobufCMessage *rnd_msg(const ProtobufCMessageDescriptor *, int);

/* One value of field f at p. */
static void
rnd_value(const ProtobufCFieldDescriptor *f, void *p, int depth)
{
	uint64_t v = rnd_num();

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		*(uint32_t *)p = (uint32_t)v;
		break;
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		*(uint64_t *)p = v;
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		*(float *)p = (float)v;
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		*(double *)p = (double)v;
		break;
	case PROTOBUF_C_TYPE_BOOL:
		*(protobuf_c_boolean *)p = (protobuf_c_boolean)(v & 1);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *e = f->descriptor;
		*(int *)p = lb_rng_below(R, 8) == 0 ? (int)v :
		    e->values[lb_rng_below(R, e->n_values)].value;
		break;
	}
	case PROTOBUF_C_TYPE_STRING:
		*(char **)p = rnd_str();
		break;
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = p;
		b->len = lb_rng_below(R, 4) == 0 ? lb_rng_below(R, 2048) :
		    lb_rng_below(R, 16);
		b->data = b->len ? lb_calloc(1, b->len) : NULL;
		for (size_t i = 0; i < b->len; i++)
			b->data[i] = (uint8_t)lb_rng_next(R);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		*(ProtobufCMessage **)p = depth > 0 && lb_rng_below(R, 5) != 0 ?
		    rnd_msg(f->descriptor, depth - 1) : NULL;
		break;
	}
}

static size_t
type_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	default:
		return 4;
	}
}

/* A message of type d, its fields at random (a oneof: one of them). */
static ProtobufCMessage *
rnd_msg(const ProtobufCMessageDescriptor *d, int depth)
{
	ProtobufCMessage	*m = lb_calloc(1, d->sizeof_message);
	uint8_t			*base = (uint8_t *)m;
	uint32_t		*oneof_case = NULL;

	protobuf_c_message_init(d, m);
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];

		if (lb_rng_below(R, 4) == 0)
			continue;	/* left at its default */
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			uint32_t *c = (uint32_t *)(base + f->quantifier_offset);
			if (*c != 0 || oneof_case == c)
				continue;	/* one member set already */
			if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth <= 0)
				continue;
			oneof_case = c;
			rnd_value(f, base + f->offset, depth);
			if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    *(void **)(base + f->offset) == NULL)
				continue;
			*c = f->id;
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t	 n = lb_rng_below(R, 4), sz = type_size(f);
			uint8_t	*v;

			if (f->type == PROTOBUF_C_TYPE_MESSAGE && depth <= 0)
				n = 0;
			v = n ? lb_calloc(n, sz) : NULL;
			for (size_t k = 0; k < n; k++) {
				rnd_value(f, v + k * sz, depth);
				if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
				    *(void **)(v + k * sz) == NULL)
					*(void **)(v + k * sz) = rnd_msg(
					    f->descriptor, 0);
			}
			*(size_t *)(base + f->quantifier_offset) = n;
			*(void **)(base + f->offset) = v;
			continue;
		}
		rnd_value(f, base + f->offset, depth);
	}
	return m;
}

/* Free what rnd_msg made (all of it malloc'd, as protobuf-c would). */
static void
rnd_free(ProtobufCMessage *m)
{
	protobuf_c_message_free_unpacked(m, NULL);
}

/* A random PeerMsg, packed, sealed by env. */
static void
signed_junk(struct env_ctx *env, struct lb_rng *rng, uint8_t **out,
    size_t *len)
{
	const ProtobufCMessageDescriptor *d = &lb__peer_msg__descriptor;
	const ProtobufCFieldDescriptor *f;
	ProtobufCMessage *m, *body;
	uint8_t		*buf;
	size_t		 n;

	R = rng;
	m = lb_calloc(1, d->sizeof_message);
	protobuf_c_message_init(d, m);
	/* Every body kind, each as likely. */
	f = &d->fields[lb_rng_below(R, d->n_fields)];
	body = rnd_msg(f->descriptor, 3);
	*(ProtobufCMessage **)((uint8_t *)m + f->offset) = body;
	*(uint32_t *)((uint8_t *)m + f->quantifier_offset) = f->id;
	n = protobuf_c_message_get_packed_size(m);
	buf = lb_calloc(1, n + 1);
	protobuf_c_message_pack(m, buf);
	rnd_free(m);
	if (n > 0 && lb_rng_below(R, 4) == 0)
		for (int k = 1 + (int)lb_rng_below(R, 3); k > 0; k--)
			buf[lb_rng_below(R, (uint32_t)n)] ^=
			    (uint8_t)(1 + lb_rng_below(R, 255));
	env_seal(env, lb_wall_ms(), buf, n, out, len);
	free(buf);
}

int
main(int argc, char **argv)
{
	struct lb_rng	 rng;
	struct env_ctx	 env;
	unsigned char	 buf[2048], key[LB_KEY_BYTES];
	const char	*keyfile = NULL, *cluster = "lbpeer", *member = "forged";
	char		*cause;
	uint8_t		*msg;
	size_t		 len;
	int		 s, count, sent = 0, tries = 0, sign = 0;

	while (argc > 2 && strncmp(argv[1], "--", 2) == 0) {
		if (strcmp(argv[1], "--forge") == 0)
			keyfile = argv[2];
		else if (strcmp(argv[1], "--signed") == 0) {
			keyfile = argv[2];
			sign = 1;
		}
		else if (strcmp(argv[1], "--cluster") == 0)
			cluster = argv[2];
		else if (strcmp(argv[1], "--member") == 0)
			member = argv[2];
		else
			break;
		argc -= 2;
		argv += 2;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: lbjunk tcp://HOST:PORT COUNT [SEED]\n"
		    "       lbjunk --forge KEYFILE|zero [--cluster NAME] "
		    "[--member ID] tcp://HOST:PORT COUNT\n"
		    "       lbjunk --signed KEYFILE [--cluster NAME] "
		    "[--member ID] tcp://HOST:PORT COUNT [SEED]\n");
		return 2;
	}
	count = atoi(argv[2]);
	lb_rng_seed(&rng, argc > 3 ? strtoull(argv[3], NULL, 10) : 1);
	if (keyfile != NULL) {
		if (sodium_init() < 0)
			return 1;
		memset(key, 0, sizeof(key));
		if (strcmp(keyfile, "zero") != 0 && lb_key_read(keyfile, key,
		    &cause) == -1) {
			fprintf(stderr, "lbjunk: %s\n", cause);
			return 1;
		}
		env_init(&env, key, cluster, sign ? member : "forged",
		    lb_wall_ms(), 1 << 20,
		    60000);
	}
	if ((s = nn_socket(AF_SP, NN_PUSH)) < 0 || nn_connect(s, argv[1]) < 0) {
		fprintf(stderr, "lbjunk: %s\n", nn_strerror(nn_errno()));
		return 1;
	}
	while (sent < count && tries < count * 100) {
		int rc;

		tries++;
		if (sign) {
			signed_junk(&env, &rng, &msg, &len);
			rc = nn_send(s, msg, len, NN_DONTWAIT);
			free(msg);
		} else if (keyfile != NULL) {
			forge(&env, member, (uint64_t)sent + 1, &msg, &len);
			rc = nn_send(s, msg, len, NN_DONTWAIT);
			free(msg);
			/* A refused send burnt a msg_id; that is no matter. */
		} else {
			/* Mostly small strings, some up to 2 KiB, some empty. */
			len = lb_rng_below(&rng, 8) == 0 ? lb_rng_below(&rng,
			    sizeof(buf)) : lb_rng_below(&rng, 120);
			for (size_t i = 0; i < len; i++)
				buf[i] = (unsigned char)lb_rng_next(&rng);
			rc = nn_send(s, buf, len, NN_DONTWAIT);
		}
		if (rc < 0) {
			usleep(1000);
			continue;
		}
		sent++;
	}
	/* NN_LINGER is ignored: give the queue time to drain before closing. */
	usleep(500000);
	nn_close(s);
	if (keyfile != NULL)
		env_free(&env);
	printf("%d\n", sent);
	return sent == count ? 0 : 1;
}
