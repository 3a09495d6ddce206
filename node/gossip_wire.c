/*
 * gossip_wire.c - the gossip core's messages to and from the wire: see
 * gossip_wire.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "src/util.h"
#include "node/gossip_wire.h"

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

static uint8_t *
pack(const Lb__PeerMsg *pm, size_t *len)
{
	uint8_t	*buf;

	*len = lb__peer_msg__get_packed_size(pm);
	buf = lb_calloc(1, *len + 1);
	lb__peer_msg__pack(pm, buf);
	return buf;
}

uint8_t *
node_gossip_pack(const struct gossip_msg *gm, size_t *len)
{
	Lb__PeerMsg	 pm = LB__PEER_MSG__INIT;
	Lb__Gossip	 gg = LB__GOSSIP__INIT;
	Lb__Member	*mv, **mp, *nv, **np;
	char		**copies;
	uint8_t		*buf;

	mv = lb_calloc(gm->n + 1, sizeof(*mv));
	mp = lb_calloc(gm->n + 1, sizeof(*mp));
	copies = lb_calloc(gm->n + 1, sizeof(*copies));
	for (size_t j = 0; j < gm->n; j++) {
		const struct gossip_entry *e = &gm->entries[j];

		lb__member__init(&mv[j]);
		mv[j].id = (char *)e->id;
		mv[j].addr = (char *)e->addr;
		mv[j].incarnation = e->incarnation;
		mv[j].heartbeat = e->heartbeat;
		mv[j].state = e->left ? LB__MEMBER_STATE__MEMBER_LEFT :
		    LB__MEMBER_STATE__MEMBER_ALIVE;
		mv[j].age_ms = e->age_ms;
		mv[j].load = e->load;
		mv[j].running = e->running;
		mv[j].waiting = e->waiting;
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
	nv = lb_calloc(gm->nnotices + 1, sizeof(*nv));
	np = lb_calloc(gm->nnotices + 1, sizeof(*np));
	for (size_t j = 0; j < gm->nnotices; j++) {
		notice_to_wire(&gm->notices[j], &nv[j]);
		np[j] = &nv[j];
	}
	gg.notices = np;
	gg.n_notices = gm->nnotices;
	gg.n_wants = gm->nwants;
	gg.wants = lb_calloc(gm->nwants + 1, sizeof(char *));
	for (size_t j = 0; j < gm->nwants; j++)
		gg.wants[j] = gm->wants[j];
	gg.n_sum_counts = gg.n_sum_hashes = gm->nsums;
	gg.sum_counts = gm->sum_n;
	gg.sum_hashes = gm->sum_x;
	pm.body_case = LB__PEER_MSG__BODY_GOSSIP;
	pm.gossip = &gg;
	buf = pack(&pm, len);
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
	return buf;
}

uint8_t *
node_swim_pack(const struct gossip_swim *s, size_t *len)
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
	return pack(&pm, len);
}

int
node_gossip_from_wire(const Lb__Gossip *g, struct gossip_msg *in)
{
	struct gossip_entry	*v;
	size_t			 n = 0;

	memset(in, 0, sizeof(*in));
	if ((g->n_members == 0 && g->n_notices == 0) ||
	    g->n_members > NODE_GOSSIP_MEMBERS_MAX ||
	    g->n_wants > NODE_GOSSIP_WANTS_MAX ||
	    g->n_notices > GOSSIP_NOTICES_MAX)
		return -1;
	v = lb_calloc(g->n_members + 1, sizeof(*v));
	for (size_t i = 0; i < g->n_members; i++) {
		const Lb__Member	*m = g->members[i];
		struct gossip_entry	*e = &v[n];

		/* An entry without an address is a heartbeat (compact). */
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
		e->running = m->running;
		e->waiting = m->waiting;
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
	in->entries = v;
	in->n = n;
	in->want_reply = g->want_reply;
	in->known = g->known;
	in->wants = lb_calloc(g->n_wants + 1, sizeof(*in->wants));
	for (size_t i = 0; i < g->n_wants; i++)
		if (lb_id_valid(g->wants[i]))
			lb_strlcpy(in->wants[in->nwants++], g->wants[i],
			    LB_ID_MAX);
	/* Bucket sums: a power of two of them, both lists alike, or none
	 * (what does not fit is dropped: the answer is a plain one). */
	if (g->n_sum_counts == g->n_sum_hashes &&
	    g->n_sum_counts >= GOSSIP_SUMS_MIN &&
	    g->n_sum_counts <= GOSSIP_SUMS_MAX &&
	    (g->n_sum_counts & (g->n_sum_counts - 1)) == 0) {
		in->nsums = g->n_sum_counts;
		in->sum_n = lb_calloc(in->nsums, sizeof(*in->sum_n));
		in->sum_x = lb_calloc(in->nsums, sizeof(*in->sum_x));
		memcpy(in->sum_n, g->sum_counts, in->nsums * sizeof(*in->sum_n));
		memcpy(in->sum_x, g->sum_hashes, in->nsums * sizeof(*in->sum_x));
	}
	in->notices = lb_calloc(g->n_notices + 1, sizeof(*in->notices));
	for (size_t i = 0; i < g->n_notices; i++) {
		const Lb__Member	*m = g->notices[i];
		struct gossip_notice	*nt = &in->notices[in->nnotices];

		if (!lb_id_valid(m->id) || !lb_id_valid(m->accuser) ||
		    (m->state != LB__MEMBER_STATE__MEMBER_SUSPECT &&
		    m->state != LB__MEMBER_STATE__MEMBER_DEAD))
			continue;
		lb_strlcpy(nt->id, m->id, sizeof(nt->id));
		lb_strlcpy(nt->accuser, m->accuser, sizeof(nt->accuser));
		nt->incarnation = m->incarnation;
		nt->refute = m->refute;
		nt->dead = m->state == LB__MEMBER_STATE__MEMBER_DEAD;
		in->nnotices++;
	}
	return 0;
}

void
node_gossip_in_free(struct gossip_msg *in)
{
	free(in->entries);
	free(in->wants);
	free(in->notices);
	free(in->sum_n);
	free(in->sum_x);
	memset(in, 0, sizeof(*in));
}

static int
swim_str(const char *s, size_t max)
{
	return s != NULL && strnlen(s, max) < max;
}

int
node_swim_from_wire(const Lb__PeerMsg *m, struct gossip_swim *in)
{
	int	ok = 0;

	memset(in, 0, sizeof(*in));
	switch (m->body_case) {
	case LB__PEER_MSG__BODY_PING:
		in->type = GOSSIP_PING;
		in->seq = m->ping->seq;
		ok = swim_str(m->ping->target, sizeof(in->target)) &&
		    swim_str(m->ping->reply_to, sizeof(in->addr));
		if (ok) {
			lb_strlcpy(in->target, m->ping->target,
			    sizeof(in->target));
			lb_strlcpy(in->addr, m->ping->reply_to,
			    sizeof(in->addr));
		}
		break;
	case LB__PEER_MSG__BODY_PING_ACK:
		in->type = GOSSIP_PING_ACK;
		in->seq = m->ping_ack->seq;
		in->nack = m->ping_ack->nack;
		ok = swim_str(m->ping_ack->target, sizeof(in->target));
		if (ok)
			lb_strlcpy(in->target, m->ping_ack->target,
			    sizeof(in->target));
		break;
	case LB__PEER_MSG__BODY_PING_REQ:
		in->type = GOSSIP_PING_REQ;
		in->seq = m->ping_req->seq;
		ok = swim_str(m->ping_req->target, sizeof(in->target)) &&
		    swim_str(m->ping_req->target_addr, sizeof(in->addr));
		if (ok) {
			lb_strlcpy(in->target, m->ping_req->target,
			    sizeof(in->target));
			lb_strlcpy(in->addr, m->ping_req->target_addr,
			    sizeof(in->addr));
		}
		break;
	default:
		break;
	}
	return ok && lb_id_valid(in->target) ? 0 : -1;
}
