/*
 * cluster.h - the cluster's tasks from any peer (lbctl list --cluster,
 * the page): see cluster.c.
 */
#ifndef LB_CLUSTER_H
#define LB_CLUSTER_H

#include <stdint.h>

#include "src/lbpeer.pb-c.h"

struct peer;

#define CLUSTER_LIMIT_MAX	500	/* tasks a page, at most */
#define CLUSTER_LIMIT_DEFAULT	100

/* (a peer's figures, sent with its pages and summed, come from
 * p->stats_fill when the control layer has set it) */
void	 cluster_start(struct peer *);
void	 cluster_stop(struct peer *);
/* A page of the cluster's tasks that match `q` (its cluster fields):
 * 1 while the peers are asked (ask again), 0 with the page in `out`
 * (its records valid until the next call), -1 with why in *cause (a bad
 * request). */
int	 cluster_list(struct peer *, const Lb__CtlListReq *q,
	    Lb__CtlTaskList *out, char **cause);
/* ClusterQuery (answered from what this peer is the home of), and the
 * answers to this peer's. */
void	 cluster_query_in(struct peer *, const char *from,
	    const Lb__ClusterQuery *);
void	 cluster_answer_in(struct peer *, const char *from,
	    const Lb__ClusterAnswer *);

#endif
