/* msgs.c - a peer's messaging between the cores (see msgs.h). */
#include "config.h"

#include <string.h>

#include "node/msgs.h"

#define LINKS_MAX	4096
#define LINK_KEEP_S	3600
#define SENDERS_MAX	256	/* senders a mailbox remembers */
#define OUTBOX_MAX	4096
#define RETRY_MS	200
#define RETRY_MAX_MS	2000
#define MAILBOXES_MAX	65536

void
nmsg_conf(const struct lb_conf *lc, struct fwd_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->max_links = LINKS_MAX;
	c->link_keep_s = LINK_KEEP_S;
	c->max_mailboxes = (size_t)lc->task.max_tasks;
	if (c->max_mailboxes > MAILBOXES_MAX)
		c->max_mailboxes = MAILBOXES_MAX;
	c->mbox_msgs = (size_t)lc->task.mailbox_msgs;
	c->mbox_bytes = (size_t)lc->task.mailbox_kb * 1024;
	c->msg_max = (size_t)lc->task.msg_max_kb * 1024;
	c->max_senders = SENDERS_MAX;
	c->outbox_max = OUTBOX_MAX;
	c->retry_ms = RETRY_MS;
	c->retry_max_ms = RETRY_MAX_MS;
	/* Homes have replicas (with leases): a message for a task whose
	 * home is dead waits for the replica acting for it. */
	c->home_failover = lc->task.home_replicas > 1 &&
	    lc->task.lease_ms > 0;
}

int
nmsg_reachable(const struct gossip_member *m)
{
	return m->state == GOSSIP_ALIVE || m->state == GOSSIP_SUSPECT;
}

uint64_t
nmsg_node_base(uint64_t incarnation)
{
	return incarnation << 22;
}
