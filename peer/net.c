/*
 * net.c - peer-to-peer transport: one NN_PULL bound on `listen`, one NN_PUSH
 * per peer address.  Every datagram is sealed and opened by envelope.c; what
 * fails is dropped, counted and logged (rate limited), never acted upon.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nanomsg/nn.h>
#include <nanomsg/pipeline.h>
#include <nanomsg/tcp.h>

#include "peer.h"
#include "xfer.h"

#define NET_DRAIN_MAX	1024	/* datagrams per wake-up, then yield */
#define NET_QUEUE_MAX	64	/* datagrams waiting per peer; then the oldest go */

/* A datagram nanomsg would not take yet. */
struct net_pending {
	uint8_t		*buf;
	size_t		 len;
};

struct net_conn {
	char			 addr[LB_ADDR_MAX];
	int			 sock;
	uint64_t		 used_ms;
	struct event		*tx_ev;	/* NN_SNDFD: room to send again */
	struct net_pending	 q[NET_QUEUE_MAX];	/* a ring */
	size_t			 qhead, qlen;
	struct peer		*p;
};

struct net {
	int			 pull;
	struct event		*rx_ev;
	struct net_conn		**conns;
	size_t			 nconns, capconns;
	struct log_limit	 droplog;
	/* LBPEER_TEST_FAULTS="loss=P,dup=Q": for tests of the protocols, lose
	 * P% of the datagrams sent and send Q% twice (sealed apart, as a
	 * sender's retry would be).  Unset: none. */
	uint32_t		 loss_pct, dup_pct;
};

/* NN_RCVFD is level-triggered: drain with NN_DONTWAIT until EAGAIN. */
static void
net_rx_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer		*p = arg;
	struct net		*n = p->net;
	void			*buf;
	Lb__Envelope		*e;
	enum env_verdict	 v;
	unsigned		 supp;
	int			 len;

	for (int i = 0; i < NET_DRAIN_MAX; i++) {
		len = nn_recv(n->pull, &buf, NN_MSG, NN_DONTWAIT);
		if (len < 0) {
			if (nn_errno() != EAGAIN)
				log_warnx("receive: %s", nn_strerror(nn_errno()));
			return;
		}
		p->counters.rx_msgs++;
		p->counters.rx_bytes += (uint64_t)len;
		v = env_open(&p->env, lb_wall_ms(), buf, (size_t)len, &e);
		nn_freemsg(buf);
		if (v != ENV_OK) {
			p->counters.drop[v]++;
			if (log_limit_ok(&n->droplog, (long long)(lb_mono_ms() /
			    1000), &supp))
				log_warnx("dropped a %d-byte message: %s%s", len,
				    env_verdict_name(v), supp ? " (and more "
				    "suppressed)" : "");
			continue;
		}
		p->on_msg(p, e);
		lb__envelope__free_unpacked(e, NULL);
	}
}

/*
 * Files travel in chunks (xfer.c), so the limit is the larger of a chunk
 * and message_max_kb (a result with its output): never what limits a
 * transfer.  4 KiB more for the envelope.
 */
size_t
net_max_message(const struct lb_conf *c)
{
	size_t	max = (size_t)c->message_max_kb * 1024;

	if (max < XFER_CHUNK + 64 * 1024)
		max = XFER_CHUNK + 64 * 1024;
	return max + 4096;
}

int
net_open(struct peer *p, void (*on_msg)(struct peer *, const Lb__Envelope *),
    char **cause)
{
	struct net	*n = lb_calloc(1, sizeof(*n));
	int		 fd, max;
	size_t		 fdsz = sizeof(fd);
	const char	*faults = getenv("LBPEER_TEST_FAULTS");

	if (faults != NULL && *faults != '\0') {
		unsigned l = 0, d = 0;

		if (sscanf(faults, "loss=%u,dup=%u", &l, &d) != 2 || l > 100 ||
		    d > 100) {
			*cause = lb_printf("LBPEER_TEST_FAULTS=\"%s\": expected "
			    "loss=P,dup=Q (percent)", faults);
			free(n);
			return -1;
		}
		n->loss_pct = l;
		n->dup_pct = d;
		log_warnx("LBPEER_TEST_FAULTS: losing %u%% of the messages sent "
		    "and sending %u%% twice (a test)", l, d);
	}

	if ((n->pull = nn_socket(AF_SP, NN_PULL)) < 0) {
		*cause = lb_printf("nn_socket: %s", nn_strerror(nn_errno()));
		free(n);
		return -1;
	}
	/* The largest message we take, set explicitly (see DESIGN). */
	max = (int)net_max_message(&p->conf);
	nn_setsockopt(n->pull, NN_SOL_SOCKET, NN_RCVMAXSIZE, &max, sizeof(max));
	if (nn_bind(n->pull, p->conf.listen) < 0) {
		*cause = lb_printf("listen %s: %s", p->conf.listen,
		    nn_strerror(nn_errno()));
		nn_close(n->pull);
		free(n);
		return -1;
	}
	if (nn_getsockopt(n->pull, NN_SOL_SOCKET, NN_RCVFD, &fd, &fdsz) < 0) {
		*cause = lb_printf("NN_RCVFD: %s", nn_strerror(nn_errno()));
		nn_close(n->pull);
		free(n);
		return -1;
	}
	p->on_msg = on_msg;
	n->rx_ev = event_new(p->base, fd, EV_READ | EV_PERSIST, net_rx_cb, p);
	event_add(n->rx_ev, NULL);
	p->net = n;
	return 0;
}

static void	net_tx_cb(evutil_socket_t, short, void *);

static struct net_conn *
net_conn(struct peer *p, const char *addr)
{
	struct net	*n = p->net;
	struct net_conn	*c;
	int		 s, zero = 0, one = 1, fd;
	size_t		 fdsz = sizeof(fd);

	for (size_t i = 0; i < n->nconns; i++)
		if (strcmp(n->conns[i]->addr, addr) == 0)
			return n->conns[i];
	if ((s = nn_socket(AF_SP, NN_PUSH)) < 0) {
		log_warnx("nn_socket: %s", nn_strerror(nn_errno()));
		return NULL;
	}
	nn_setsockopt(s, NN_SOL_SOCKET, NN_LINGER, &zero, sizeof(zero));
	/* A request and its reply are small messages in a row: without this,
	 * Nagle holds the second for the first's delayed ACK (40 ms). */
	nn_setsockopt(s, NN_TCP, NN_TCP_NODELAY, &one, sizeof(one));
	if (nn_connect(s, addr) < 0 || nn_getsockopt(s, NN_SOL_SOCKET,
	    NN_SNDFD, &fd, &fdsz) < 0) {
		log_warnx("connect %s: %s", addr, nn_strerror(nn_errno()));
		nn_close(s);
		return NULL;
	}
	if (n->nconns == n->capconns) {
		n->capconns = n->capconns ? 2 * n->capconns : 16;
		n->conns = lb_reallocarray(n->conns, n->capconns,
		    sizeof(*n->conns));
	}
	c = lb_calloc(1, sizeof(*c));
	n->conns[n->nconns++] = c;
	lb_strlcpy(c->addr, addr, sizeof(c->addr));
	c->sock = s;
	c->p = p;
	c->used_ms = lb_mono_ms();
	c->tx_ev = event_new(p->base, fd, EV_READ | EV_PERSIST, net_tx_cb, c);
	log_debug("connected to %s", addr);
	return c;
}

static void
net_conn_free(struct net_conn *c)
{
	for (size_t i = 0; i < c->qlen; i++)
		free(c->q[(c->qhead + i) % NET_QUEUE_MAX].buf);
	event_free(c->tx_ev);
	nn_close(c->sock);
	free(c);
}

/* Hand queued datagrams to nanomsg while it takes them. */
static void
net_flush(struct net_conn *c)
{
	struct net_pending	*m;

	while (c->qlen > 0) {
		m = &c->q[c->qhead];
		if (nn_send(c->sock, m->buf, m->len, NN_DONTWAIT) < 0) {
			if (nn_errno() != EAGAIN) {
				log_warnx("send to %s: %s", c->addr,
				    nn_strerror(nn_errno()));
				c->p->counters.tx_drop++;
			} else
				return;	/* wait for NN_SNDFD */
		} else {
			c->p->counters.tx_msgs++;
			c->p->counters.tx_bytes += m->len;
		}
		free(m->buf);
		c->qhead = (c->qhead + 1) % NET_QUEUE_MAX;
		c->qlen--;
	}
	event_del(c->tx_ev);
}

/* NN_SNDFD is readable when a send would succeed (level-triggered). */
static void
net_tx_cb(evutil_socket_t fd, short ev, void *arg)
{
	net_flush(arg);
}

void
net_send(struct peer *p, const char *addr, const Lb__PeerMsg *m)
{
	uint8_t		*body;
	size_t		 blen;

	blen = lb__peer_msg__get_packed_size(m);
	body = lb_calloc(1, blen + 1);
	lb__peer_msg__pack(m, body);
	net_send_bytes(p, addr, body, blen);
	free(body);
}

void
net_send_bytes(struct peer *p, const char *addr, const uint8_t *body,
    size_t blen)
{
	struct net_conn	*c;
	uint8_t		*out;
	size_t		 olen;
	int		 copies = 1;

	if ((c = net_conn(p, addr)) == NULL)
		return;
	c->used_ms = lb_mono_ms();
	if (p->net->loss_pct > 0 &&
	    lb_rng_below(&p->rng, 100) < p->net->loss_pct)
		return;
	if (p->net->dup_pct > 0 &&
	    lb_rng_below(&p->rng, 100) < p->net->dup_pct)
		copies = 2;
	while (copies-- > 0) {
		env_seal(&p->env, lb_wall_ms(), body, blen, &out, &olen);
		/*
		 * Queue it, keeping order, and send what nanomsg takes now;
		 * the rest goes when NN_SNDFD says there is room.  A full
		 * queue (a peer that is gone) loses its oldest datagram:
		 * sending on PUSH is no delivery anyway (see DESIGN), and the
		 * protocols acknowledge and retry.
		 */
		if (c->qlen == NET_QUEUE_MAX) {
			free(c->q[c->qhead].buf);
			c->qhead = (c->qhead + 1) % NET_QUEUE_MAX;
			c->qlen--;
			p->counters.tx_drop++;
		}
		c->q[(c->qhead + c->qlen) % NET_QUEUE_MAX] =
		    (struct net_pending){ out, olen };
		c->qlen++;
	}
	net_flush(c);
	if (c->qlen > 0)
		event_add(c->tx_ev, NULL);
}

void
net_reap(struct peer *p, uint64_t idle_ms)
{
	struct net	*n = p->net;
	uint64_t	 now = lb_mono_ms();

	for (size_t i = 0; i < n->nconns; ) {
		if (now - n->conns[i]->used_ms > idle_ms) {
			log_debug("closing idle connection to %s",
			    n->conns[i]->addr);
			net_conn_free(n->conns[i]);
			n->conns[i] = n->conns[--n->nconns];
			continue;
		}
		i++;
	}
}

void
net_close(struct peer *p)
{
	struct net	*n = p->net;

	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nconns; i++)
		net_conn_free(n->conns[i]);
	free(n->conns);
	event_free(n->rx_ev);
	nn_close(n->pull);
	free(n);
	p->net = NULL;
}
