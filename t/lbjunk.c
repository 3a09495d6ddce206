/* lbjunk.c - send COUNT random byte strings to a peer's listen address. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>

#include "src/util.h"

int
main(int argc, char **argv)
{
	struct lb_rng	rng;
	unsigned char	buf[2048];
	int		s, count, sent = 0, tries = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: lbjunk tcp://HOST:PORT COUNT [SEED]\n");
		return 2;
	}
	count = atoi(argv[2]);
	lb_rng_seed(&rng, argc > 3 ? strtoull(argv[3], NULL, 10) : 1);
	if ((s = nn_socket(AF_SP, NN_PUSH)) < 0 || nn_connect(s, argv[1]) < 0) {
		fprintf(stderr, "lbjunk: %s\n", nn_strerror(nn_errno()));
		return 1;
	}
	while (sent < count && tries < count * 100) {
		/* Mostly small strings, some up to 2 KiB, some empty. */
		size_t len = lb_rng_below(&rng, 8) == 0 ?
		    lb_rng_below(&rng, sizeof(buf)) : lb_rng_below(&rng, 120);
		for (size_t i = 0; i < len; i++)
			buf[i] = (unsigned char)lb_rng_next(&rng);
		tries++;
		if (nn_send(s, buf, len, NN_DONTWAIT) < 0) {
			usleep(1000);
			continue;
		}
		sent++;
	}
	/* NN_LINGER is ignored: give the queue time to drain before closing. */
	usleep(500000);
	nn_close(s);
	printf("%d\n", sent);
	return sent == count ? 0 : 1;
}
