/* members.c - the shell around the gossip core: timers, wire conversion, log. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "peer.h"

#define LEAVE_FANOUT	4	/* peers told directly that we leave */

/* Send what the core asked for, and log the changes it saw. */
static void
members_flush(struct peer *p)
{
	struct gossip_out	*o = &p->gout;

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
	for (size_t i = 0; i < o->nmsgs; i++) {
		struct gossip_msg	*gm = &o->msgs[i];
		Lb__PeerMsg		 pm = LB__PEER_MSG__INIT;
		Lb__Gossip		 gg = LB__GOSSIP__INIT;
		Lb__Member		*mv, **mp;
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
			mv[j].attributes = lb_split_list(e->attrs,
			    &mv[j].n_attributes, &copies[j]);
			mp[j] = &mv[j];
		}
		gg.members = mp;
		gg.n_members = gm->n;
		gg.want_reply = gm->want_reply;
		gg.known = gm->known;
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
		free(gg.wants);
		free(mp);
		free(mv);
	}
	gossip_out_reset(o);
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
}

void
members_recv(struct peer *p, const char *from, const Lb__Gossip *g)
{
	struct gossip_entry	*v;
	struct gossip_msg	 in;
	size_t			 n = 0;

	memset(&in, 0, sizeof(in));
	if (p->leaving || g->n_members == 0 || g->n_members > 10000 ||
	    g->n_wants > 1000)
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
	gossip_recv(p->gossip, lb_mono_ms(), from, &in, &p->gout);
	free(in.wants);
	free(v);
	members_flush(p);
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
	gossip_out_free(&p->gout);
	gossip_free(p->gossip);
	p->gossip = NULL;
}
