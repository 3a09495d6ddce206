/*
 * lbjunk.c - what an outsider can send to a peer's listen address:
 *
 *   lbjunk tcp://HOST:PORT COUNT [SEED]
 *	COUNT random byte strings;
 *   lbjunk --forge KEY [--cluster NAME] [--member ID] tcp://HOST:PORT COUNT
 *	COUNT well-formed gossip messages announcing a member ID (default
 *	"forged") that does not exist, sealed with KEY: a key file, or
 *	"zero" for the all-zero key (what a peer without a key once used).
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
	int		 s, count, sent = 0, tries = 0;

	while (argc > 2 && strncmp(argv[1], "--", 2) == 0) {
		if (strcmp(argv[1], "--forge") == 0)
			keyfile = argv[2];
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
		    "[--member ID] tcp://HOST:PORT COUNT\n");
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
		env_init(&env, key, cluster, "forged", lb_wall_ms(), 1 << 20,
		    60000);
	}
	if ((s = nn_socket(AF_SP, NN_PUSH)) < 0 || nn_connect(s, argv[1]) < 0) {
		fprintf(stderr, "lbjunk: %s\n", nn_strerror(nn_errno()));
		return 1;
	}
	while (sent < count && tries < count * 100) {
		int rc;

		tries++;
		if (keyfile != NULL) {
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
