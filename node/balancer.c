/* balancer.c - the balancing composition lbpeer and lbsim share (no I/O). */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "node/balancer.h"

/* The settings' enums and the core's are in the same order. */
_Static_assert((int)LB_POLICY_SYMMETRIC == (int)BALANCE_SYMMETRIC &&
    (int)LB_POLICY_NONE == (int)BALANCE_NONE &&
    (int)LB_POLICY_SENDER == (int)BALANCE_SENDER &&
    (int)LB_LOCATION_MIXED == (int)LOCATION_MIXED &&
    (int)LB_LOCATION_RANDOM == (int)LOCATION_RANDOM,
    "conf.h and balance.h disagree on the balancing enums");

void
nbal_conf(const struct lb_balance_conf *bc, struct balance_conf *c)
{
	*c = (struct balance_conf){ 0 };
	c->policy = (enum balance_policy)bc->policy;
	c->location = (enum balance_location)bc->location;
	c->lower = bc->lower_threshold;
	c->upper = bc->upper_threshold;
	c->probe_limit = bc->probe_limit;
	c->probe_timeout_ms = bc->probe_timeout_ms;
	c->reserve_ms = bc->reserve_ms;
	c->backoff_ms = bc->backoff_ms;
	c->backoff_max_ms = bc->backoff_max_ms;
	c->max_moves = bc->max_moves;
	c->preempt = bc->preempt;
	c->hints = bc->idle_hints;
	c->hint_ms = bc->hint_ms;
	c->idle_notify = bc->idle_notify;
}

size_t
nbal_vector(const struct gossip_member *m, size_t n, struct balance_peer *v)
{
	size_t	k = 0;

	for (size_t i = 0; i < n; i++) {
		if (m[i].self || m[i].state != GOSSIP_ALIVE || m[i].e.draining)
			continue;
		v[k].id = m[i].e.id;
		v[k].load = m[i].e.load;
		v[k].slots = m[i].e.slots;
		v[k].attrs = m[i].e.attrs;
		k++;
	}
	return k;
}

int
nbal_fresh(uint32_t moves, uint32_t reruns, uint64_t served_ms,
    uint64_t queued_at, uint64_t now, int interval_ms)
{
	return moves == 0 && reruns == 0 && served_ms == 0 &&
	    now - queued_at < (uint64_t)interval_ms * 2;
}

void
nbal_tick(struct balance *b, uint64_t now, int leaving, uint32_t load,
    uint32_t slots, const struct gossip_member *m, size_t nm,
    const struct balance_task *tasks, size_t nt, struct balance_out *o)
{
	struct balance_peer	*v;
	size_t			 np;

	if (leaving)
		return;
	if (!balance_needs_peers(b, now, load, slots, tasks, nt)) {
		balance_tick(b, now, load, slots, NULL, 0, tasks, nt, o);
		return;
	}
	v = lb_calloc(nm + 1, sizeof(*v));
	np = nbal_vector(m, nm, v);
	balance_tick(b, now, load, slots, v, np, tasks, nt, o);
	free(v);
}

void
nbal_probe(struct balance *b, uint64_t now, const char *from,
    const struct nbal_probe *pr, int leaving, uint32_t load_offer,
    uint32_t load, uint32_t slots, const struct balance_task *tasks,
    size_t nt, struct balance_out *o)
{
	if (leaving)		/* as full as can be, needing what none has */
		balance_offer(b, now, from, pr->req_id, UINT32_MAX / 2, 1,
		    "-", 0, o);
	else if (!pr->request)
		balance_offer(b, now, from, pr->req_id, load_offer, slots,
		    pr->needs, pr->must, o);
	else
		balance_request(b, now, from, pr->attrs, pr->req_id, load,
		    slots, tasks, nt, o);
}
