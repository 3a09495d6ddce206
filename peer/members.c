/* members.c - the shell around the gossip core: timers, wire conversion, log. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "peer.h"

#define LEAVE_FANOUT	1024	/* peers told directly that we leave: all */

static void	members_arm(struct peer *);

static void
notice_to_wire(const struct gossip_notice *n, Lb__Member *m)
{
	lb__member__init(m);
	m->id = (char *)n->id;
	m->addr = "";
	m->incarnation = n->incarnation;
	m->refute = n->refute;
	m->accuser = (char *)n->accuser;
	m->state = n->dead ? LB__MEMBER_STATE__MEMBER_DEAD :
	    LB__MEMBER_STATE__MEMBER_SUSPECT;
}

static void
swim_send(struct peer *p, const struct gossip_swim *s)
{
	Lb__PeerMsg	pm = LB__PEER_MSG__INIT;
	Lb__Ping	ping = LB__PING__INIT;
	Lb__PingAck	ack = LB__PING_ACK__INIT;
	Lb__PingReq	req = LB__PING_REQ__INIT;

	switch (s->type) {
	case GOSSIP_PING:
		ping.seq = s->seq;
		ping.target = (char *)s->target;
		ping.reply_to = (char *)s->addr;
		pm.body_case = LB__PEER_MSG__BODY_PING;
		pm.ping = &ping;
		break;
	case GOSSIP_PING_ACK:
		ack.seq = s->seq;
		ack.target = (char *)s->target;
		ack.nack = s->nack;
		pm.body_case = LB__PEER_MSG__BODY_PING_ACK;
		pm.ping_ack = &ack;
		break;
	case GOSSIP_PING_REQ:
		req.seq = s->seq;
		req.target = (char *)s->target;
		req.target_addr = (char *)s->addr;
		pm.body_case = LB__PEER_MSG__BODY_PING_REQ;
		pm.ping_req = &req;
		break;
	}
	net_send(p, s->to, &pm);
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
		struct gossip_msg	*gm = &o->msgs[i];
		Lb__PeerMsg		 pm = LB__PEER_MSG__INIT;
		Lb__Gossip		 gg = LB__GOSSIP__INIT;
		Lb__Member		*mv, **mp, *nv, **np;
		char			**copies;

		mv = lb_calloc(gm->n, sizeof(*mv));
		mp = lb_calloc(gm->n, sizeof(*mp));
		copies = lb_calloc(gm->n, sizeof(*copies));
		for (size_t j = 0; j < gm->n; j++) {
			struct gossip_entry *e = &gm->entries[j];
			lb__member__init(&mv[j]);
			mv[j].id = e->id;
			mv[j].addr = e->addr;
			mv[j].incarnation = e->incarnation;
			mv[j].heartbeat = e->heartbeat;
			mv[j].state = e->left ? LB__MEMBER_STATE__MEMBER_LEFT :
			    LB__MEMBER_STATE__MEMBER_ALIVE;
			mv[j].age_ms = e->age_ms;
			mv[j].load = e->load;
			mv[j].slots = e->slots;
			mv[j].draining = e->draining;
			mv[j].refute = e->refute;
			mv[j].level = e->level;
			mv[j].attributes = lb_split_list(e->attrs,
			    &mv[j].n_attributes, &copies[j]);
			mp[j] = &mv[j];
		}
		gg.members = mp;
		gg.n_members = gm->n;
		gg.want_reply = gm->want_reply;
		gg.known = gm->known;
		nv = lb_calloc(gm->nnotices, sizeof(*nv));
		np = lb_calloc(gm->nnotices, sizeof(*np));
		for (size_t j = 0; j < gm->nnotices; j++) {
			notice_to_wire(&gm->notices[j], &nv[j]);
			np[j] = &nv[j];
		}
		gg.notices = np;
		gg.n_notices = gm->nnotices;
		gg.n_wants = gm->nwants;
		gg.wants = lb_calloc(gm->nwants, sizeof(char *));
		for (size_t j = 0; j < gm->nwants; j++)
			gg.wants[j] = gm->wants[j];
		pm.body_case = LB__PEER_MSG__BODY_GOSSIP;
		pm.gossip = &gg;
		net_send(p, gm->to, &pm);
		for (size_t j = 0; j < gm->n; j++) {
			free(mv[j].attributes);
			free(copies[j]);
		}
		free(copies);
		free(np);
		free(nv);
		free(gg.wants);
		free(mp);
		free(mv);
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
	struct gossip_entry	*v;
	struct gossip_msg	 in;
	size_t			 n = 0;

	memset(&in, 0, sizeof(in));
	if (p->leaving || (g->n_members == 0 && g->n_notices == 0) ||
	    g->n_members > 10000 || g->n_wants > 1000 ||
	    g->n_notices > GOSSIP_NOTICES_MAX)
		return;
	v = lb_calloc(g->n_members, sizeof(*v));
	for (size_t i = 0; i < g->n_members; i++) {
		const Lb__Member	*m = g->members[i];
		struct gossip_entry	*e = &v[n];

		/* Bad entries are skipped, never half-merged.  An entry
		 * without an address is a heartbeat (compact). */
		if (!lb_id_valid(m->id) || strlen(m->addr) >= sizeof(e->addr) ||
		    (m->addr[0] != '\0' && strncmp(m->addr, "tcp://", 6) != 0))
			continue;
		lb_strlcpy(e->id, m->id, sizeof(e->id));
		lb_strlcpy(e->addr, m->addr, sizeof(e->addr));
		e->incarnation = m->incarnation;
		e->heartbeat = m->heartbeat;
		e->left = m->state == LB__MEMBER_STATE__MEMBER_LEFT;
		e->age_ms = m->age_ms;
		e->load = m->load;
		e->slots = m->slots;
		e->draining = m->draining;
		e->level = m->level;
		e->refute = m->refute;
		for (size_t j = 0; j < m->n_attributes; j++) {
			if (j > 0)
				strncat(e->attrs, ",", sizeof(e->attrs) -
				    strlen(e->attrs) - 1);
			strncat(e->attrs, m->attributes[j], sizeof(e->attrs) -
			    strlen(e->attrs) - 1);
		}
		n++;
	}
	in.entries = v;
	in.n = n;
	in.want_reply = g->want_reply;
	in.known = g->known;
	in.wants = lb_calloc(g->n_wants, sizeof(*in.wants));
	for (size_t i = 0; i < g->n_wants; i++)
		if (lb_id_valid(g->wants[i]))
			lb_strlcpy(in.wants[in.nwants++], g->wants[i],
			    LB_ID_MAX);
	in.notices = lb_calloc(g->n_notices, sizeof(*in.notices));
	for (size_t i = 0; i < g->n_notices; i++) {
		const Lb__Member	*m = g->notices[i];
		struct gossip_notice	*nt = &in.notices[in.nnotices];

		if (!lb_id_valid(m->id) || !lb_id_valid(m->accuser) ||
		    (m->state != LB__MEMBER_STATE__MEMBER_SUSPECT &&
		    m->state != LB__MEMBER_STATE__MEMBER_DEAD))
			continue;
		lb_strlcpy(nt->id, m->id, sizeof(nt->id));
		lb_strlcpy(nt->accuser, m->accuser, sizeof(nt->accuser));
		nt->incarnation = m->incarnation;
		nt->refute = m->refute;
		nt->dead = m->state == LB__MEMBER_STATE__MEMBER_DEAD;
		in.nnotices++;
	}
	gossip_recv(p->gossip, lb_mono_ms(), from, &in, &p->gout);
	free(in.notices);
	free(in.wants);
	free(v);
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

static int
swim_str(const char *s, size_t max)
{
	return s != NULL && strnlen(s, max) < max;
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
	memset(&in, 0, sizeof(in));
	switch (m->body_case) {
	case LB__PEER_MSG__BODY_PING:
		in.type = GOSSIP_PING;
		in.seq = m->ping->seq;
		ok = swim_str(m->ping->target, sizeof(in.target)) &&
		    swim_str(m->ping->reply_to, sizeof(in.addr));
		if (ok) {
			lb_strlcpy(in.target, m->ping->target, sizeof(in.target));
			lb_strlcpy(in.addr, m->ping->reply_to, sizeof(in.addr));
		}
		break;
	case LB__PEER_MSG__BODY_PING_ACK:
		in.type = GOSSIP_PING_ACK;
		in.seq = m->ping_ack->seq;
		in.nack = m->ping_ack->nack;
		ok = swim_str(m->ping_ack->target, sizeof(in.target));
		if (ok)
			lb_strlcpy(in.target, m->ping_ack->target,
			    sizeof(in.target));
		break;
	case LB__PEER_MSG__BODY_PING_REQ:
		in.type = GOSSIP_PING_REQ;
		in.seq = m->ping_req->seq;
		ok = swim_str(m->ping_req->target, sizeof(in.target)) &&
		    swim_str(m->ping_req->target_addr, sizeof(in.addr));
		if (ok) {
			lb_strlcpy(in.target, m->ping_req->target,
			    sizeof(in.target));
			lb_strlcpy(in.addr, m->ping_req->target_addr,
			    sizeof(in.addr));
		}
		break;
	default:
		ok = 0;
		break;
	}
	if (ok && !p->leaving && p->gossip != NULL &&
	    lb_id_valid(in.target) && lb_id_valid(e->sender))
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

uint32_t
members_level(struct peer *p, const char *id)
{
	const struct gossip_member	*m = gossip_find(p->gossip, id);

	return m != NULL ? m->e.level : 0;
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
