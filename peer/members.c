/* members.c - the shell around the gossip core: timers, sends, log (the
 * wire conversion is node/gossip_wire.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "node/gossip_wire.h"
#include "peer.h"

#define LEAVE_FANOUT	1024	/* peers told directly that we leave: all */

static void	members_arm(struct peer *);

static void
swim_send(struct peer *p, const struct gossip_swim *s)
{
	size_t	 len;
	uint8_t	*buf = node_swim_pack(s, &len);

	net_send_bytes(p, s->to, buf, len);
	free(buf);
}

/* Send what the core asked for, and log the changes it saw. */
static void
members_flush(struct peer *p)
{
	struct gossip_out	*o = &p->gout;
	struct gossip_swim_stats st;

	if (p->gossip == NULL)
		return;
	gossip_swim_stats(p->gossip, &st);
	if (st.refutes != p->swim_refutes) {
		size_t n;
		p->swim_refutes = st.refutes;
		log_info("refuted a suspicion of this peer (refute %llu, "
		    "health score %d)", (unsigned long long)
		    gossip_members(p->gossip, &n)[0].e.refute, st.awareness);
	}
	for (size_t i = 0; i < o->nchanges; i++) {
		struct gossip_change *c = &o->changes[i];
		if (c->restarted) {
			log_info("peer %s restarted (incarnation %llu)", c->id,
			    (unsigned long long)c->incarnation);
			if (p->on_peer)
				p->on_peer(p, c->id, 1, c->incarnation);
		} else if (c->from == c->to)
			log_info("peer %s joined (%s)", c->id,
			    gossip_state_name(c->to));
		else
			log_info("peer %s is %s (was %s)", c->id,
			    gossip_state_name(c->to), gossip_state_name(c->from));
		if ((c->to == GOSSIP_DEAD || c->to == GOSSIP_LEFT) && p->on_peer)
			p->on_peer(p, c->id, 0, c->incarnation);
	}
	for (size_t i = 0; i < o->nswims; i++)
		swim_send(p, &o->swims[i]);
	for (size_t i = 0; i < o->nmsgs; i++) {
		size_t	 len;
		uint8_t	*buf = node_gossip_pack(&o->msgs[i], &len);

		net_send_bytes(p, o->msgs[i].to, buf, len);
		free(buf);
	}
	gossip_out_reset(o);
	members_arm(p);
}

/* The failure detector's timer: whatever it asked for next. */
static void
members_swim_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer	*p = arg;

	(void)fd;
	(void)ev;
	gossip_swim_tick(p->gossip, lb_mono_ms(), &p->gout);
	members_flush(p);
}

static void
members_arm(struct peer *p)
{
	uint64_t	next, now;
	struct timeval	tv;

	if (p->swim_ev == NULL || p->gossip == NULL)
		return;
	next = gossip_swim_next(p->gossip);
	evtimer_del(p->swim_ev);
	if (next == UINT64_MAX)
		return;
	now = lb_mono_ms();
	next = next > now ? next - now : 0;
	if (next > 60000)
		next = 60000;
	tv.tv_sec = (time_t)(next / 1000);
	tv.tv_usec = (suseconds_t)(next % 1000) * 1000;
	evtimer_add(p->swim_ev, &tv);
}

/* Every interval, with up to 10% jitter so that peers do not march in step. */
static void
members_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct peer	*p = arg;
	int		 iv = p->conf.gossip.interval_ms;
	struct timeval	 tv;
	int		 ms;

	gossip_tick(p->gossip, lb_mono_ms(), &p->gout);
	members_flush(p);
	net_reap(p, (uint64_t)p->conf.gossip.forget_ms);
	ms = iv - iv / 10 + (int)lb_rng_below(&p->rng, (uint32_t)(iv / 5 + 1));
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(p->gossip_ev, &tv);
}

void
members_start(struct peer *p)
{
	struct gossip_entry	self;
	struct timeval		tv = { 0, 0 };

	memset(&self, 0, sizeof(self));
	lb_strlcpy(self.id, p->conf.id, sizeof(self.id));
	lb_strlcpy(self.addr, p->conf.advertise, sizeof(self.addr));
	self.incarnation = p->incarnation;
	self.slots = (uint32_t)p->conf.slots;
	self.level = LB_PROTO_LEVEL;
	for (size_t i = 0; i < p->conf.nattributes; i++) {
		if (i > 0)
			strncat(self.attrs, ",", sizeof(self.attrs) -
			    strlen(self.attrs) - 1);
		strncat(self.attrs, p->conf.attributes[i], sizeof(self.attrs) -
		    strlen(self.attrs) - 1);
	}
	p->gossip = gossip_new(&p->conf.gossip, &self, lb_mono_ms(),
	    lb_rng_next(&p->rng));
	for (size_t i = 0; i < p->conf.nseeds; i++)
		gossip_add_seed(p->gossip, p->conf.seeds[i]);
	p->gossip_ev = evtimer_new(p->base, members_tick_cb, p);
	evtimer_add(p->gossip_ev, &tv);
	p->swim_ev = evtimer_new(p->base, members_swim_cb, p);
	members_arm(p);
}

void
members_recv(struct peer *p, const char *from, const Lb__Gossip *g)
{
	struct gossip_msg	 in;

	if (p->leaving || node_gossip_from_wire(g, &in) == -1)
		return;
	gossip_recv(p->gossip, lb_mono_ms(), from, &in, &p->gout);
	node_gossip_in_free(&in);
	members_flush(p);
}

/* The field number of a PeerMsg's body: its first key (one oneof). */
static uint32_t
body_field(const uint8_t *b, size_t len)
{
	uint64_t	key = 0;

	for (size_t i = 0; i < len && i < 5; i++) {
		key |= (uint64_t)(b[i] & 0x7f) << (7 * i);
		if ((b[i] & 0x80) == 0)
			return (uint32_t)(key >> 3);
	}
	return 0;
}

int
members_dispatch(struct peer *p, const Lb__Envelope *e)
{
	Lb__PeerMsg		*m;
	struct gossip_swim	 in;
	uint32_t		 f = body_field(e->body.data, e->body.len);
	int			 ok = 1;

	if (f < LB__PEER_MSG__BODY_PING || f > LB__PEER_MSG__BODY_PING_REQ)
		return 0;
	m = lb__peer_msg__unpack(NULL, e->body.len, e->body.data);
	if (m == NULL) {
		p->counters.drop[ENV_DROP_DECODE]++;
		return 1;
	}
	ok = node_swim_from_wire(m, &in) == 0;
	if (ok && !p->leaving && p->gossip != NULL &&
	    lb_id_valid(e->sender))
		ok = gossip_swim_recv(p->gossip, lb_mono_ms(), e->sender, &in,
		    &p->gout) == 0;
	else if (!p->leaving)
		ok = 0;
	if (!ok)
		p->counters.drop[ENV_DROP_DECODE]++;
	lb__peer_msg__free_unpacked(m, NULL);
	members_flush(p);
	return 1;
}

void
members_on_peer(struct peer *p, void (*cb)(struct peer *, const char *, int,
    uint64_t))
{
	p->on_peer = cb;
}

void
members_set_load(struct peer *p, uint32_t load)
{
	if (p->gossip != NULL)
		gossip_set_load(p->gossip, load);
}

uint32_t
members_load(struct peer *p)
{
	size_t	n;

	return p->gossip != NULL ? gossip_members(p->gossip, &n)[0].e.load : 0;
}

void
members_set_tasks(struct peer *p, uint32_t running, uint32_t waiting)
{
	if (p->gossip != NULL)
		gossip_set_tasks(p->gossip, running, waiting);
}

uint32_t
members_level(struct peer *p, const char *id)
{
	const struct gossip_member	*m = gossip_find(p->gossip, id);

	return m != NULL ? m->e.level : 0;
}

uint64_t
members_dead_ms(struct peer *p)
{
	if (p->gossip == NULL)
		return (uint64_t)p->conf.gossip.dead_ms;
	return gossip_age_limit(p->gossip, p->conf.gossip.dead_ms);
}

const char *
members_addr(struct peer *p, const char *id, const char **state)
{
	const struct gossip_member	*m = gossip_find(p->gossip, id);

	if (state != NULL)
		*state = m ? gossip_state_name(m->state) : "unknown";
	if (m == NULL || m->state == GOSSIP_DEAD || m->state == GOSSIP_LEFT)
		return NULL;
	return m->e.addr;
}

void
members_set_draining(struct peer *p, int draining)
{
	if (p->gossip != NULL)
		gossip_set_draining(p->gossip, draining);
}

void
members_leave(struct peer *p)
{
	gossip_leave(p->gossip, lb_mono_ms(), LEAVE_FANOUT, &p->gout);
	members_flush(p);
}

void
members_stop(struct peer *p)
{
	if (p->gossip_ev != NULL)
		event_free(p->gossip_ev);
	p->gossip_ev = NULL;
	if (p->swim_ev != NULL)
		event_free(p->swim_ev);
	p->swim_ev = NULL;
	gossip_out_free(&p->gout);
	gossip_free(p->gossip);
	p->gossip = NULL;
}
