/* ctljson.h - JSON of the control replies (lbctl --json, the HTTP API). */
#ifndef LB_CTLJSON_H
#define LB_CTLJSON_H

#include <jansson.h>

#include "lbpeer.pb-c.h"

const char	*ctljson_state_name(Lb__TaskState);
/* Peers in id order, n2 before n10 (the order every listing uses). */
void		 ctljson_sort_peers(Lb__CtlPeers *);
json_t		*ctljson_peers(const Lb__CtlPeers *);
json_t		*ctljson_task(const Lb__TaskRecord *);
json_t		*ctljson_tasks(const Lb__CtlTaskList *);
json_t		*ctljson_stats(const Lb__CtlStats *);

#endif
