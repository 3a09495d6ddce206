/*
 * out.c - the actions the task core puts out: messages to send, records to
 * save, notes for the log.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/tasks_int.h"

/* ---- actions ---- */

struct tasks_action *
tk_out_push(struct tasks_out *o, enum tasks_action_kind kind, const char *id)
{
	struct tasks_action	*a;

	if (o->n == o->cap) {
		o->cap = o->cap ? 2 * o->cap : 16;
		o->v = lb_reallocarray(o->v, o->cap, sizeof(*o->v));
	}
	a = &o->v[o->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	if (id != NULL)
		lb_strlcpy(a->id, id, sizeof(a->id));
	return a;
}

void
tasks_out_reset(struct tasks_out *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i].msg);
	o->n = 0;
}

void
tasks_out_free(struct tasks_out *o)
{
	tasks_out_reset(o);
	free(o->v);
	o->v = NULL;
	o->cap = 0;
}

void
tk_note(struct tasks_out *o, const char *id, const char *fmt, ...)
{
	struct tasks_action	*a = tk_out_push(o, TA_NOTE, id);
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(a->note, sizeof(a->note), fmt, ap);
	va_end(ap);
}

struct tasks_action *
tk_send_msg(struct tasks_out *o, const char *to, const char *id,
    const Lb__PeerMsg *m)
{
	struct tasks_action	*a = tk_out_push(o, TA_SEND, id);

	lb_strlcpy(a->to, to, sizeof(a->to));
	a->len = lb__peer_msg__get_packed_size(m);
	a->msg = lb_calloc(1, a->len + 1);
	lb__peer_msg__pack(m, a->msg);
	return a;
}

void
tk_save(struct tasks_out *o, const struct tasks_task *k, int sync)
{
	tk_out_push(o, TA_SAVE, k->rec->id)->sync = sync;
}
