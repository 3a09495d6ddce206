/*
 * fwd.c - links, routing, path compression, mailboxes and the outbox of
 * messages to tasks.  See fwd.h for the protocol.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fwd.h"

struct link {
	char		 id[FWD_ID_MAX];
	char		 peer[LB_ID_MAX];
	uint32_t	 epoch;
	uint64_t	 used;
	struct link	*next;
};

struct mail {
	char		 sender[FWD_ID_MAX];
	uint64_t	 seq;
	uint8_t		*body;
	size_t		 len;
	struct mail	*next;
};

struct seen {
	char		 sender[FWD_ID_MAX];
	uint64_t	 seq;
	uint64_t	 at;		/* last taken (now) */
};

/* What a mailbox took from each sender (grows up to max_senders). */
struct seens {
	struct seen	*v;
	size_t		 n, cap;
};

struct mbox {
	char		 id[FWD_ID_MAX];
	struct mail	*head, *tail;
	size_t		 n, bytes;
	struct seens	 seen;
	struct seens	 ck;		/* a keep: taken by a checkpoint only
					 * the home holds (fwd_checkpointed) */
	struct mbox	*next;
};

/*
 * A sender forgotten by a mailbox could have a late copy taken again: a
 * sender is forgotten only once it has been quiet longer than any send
 * lasts (lbctl's longest timeout), else the mailbox refuses new senders.
 */
#define SEEN_KEEP_MS	(25ULL * 3600 * 1000)

/* What the mailboxes of ended tasks took, so that a sender whose ack was
 * lost is told "delivered" rather than "ended" (a ring). */
#define ENDED_MAX	1024

struct ended {
	char		 id[FWD_ID_MAX];
	struct seens	 seen;
};

/* A message (or a probe) this peer sends until it hears how it went. */
struct osend {
	uint64_t	 handle;
	char		 id[FWD_ID_MAX];
	char		 sender[FWD_ID_MAX];
	uint64_t	 seq;
	uint8_t		*body;
	size_t		 len;
	uint64_t	 deadline, due;
	uint32_t	 backoff;
	int		 active;	/* the first of its (sender, task) */
	int		 tries;
	int		 probe, tail, tail_stderr, checkpoint;
	uint64_t	 tail_offset;
	struct osend	*next;
};

/* The seqs a sender used in its current life. */
struct sseq {
	char		 sender[FWD_ID_MAX];
	uint64_t	 base, last, used;
};

/* Holder: a message whose copy went to the task's home, not answered
 * yet; it is taken, and acknowledged, when the home says it keeps it. */
struct pend {
	int		 used;
	char		 id[FWD_ID_MAX];
	char		 sender[FWD_ID_MAX];
	uint64_t	 seq;
	uint8_t		*body;
	size_t		 len;
	char		 origin[LB_ID_MAX];
	char		 path[FWD_MAX_HOPS][LB_ID_MAX];
	size_t		 npath;
	uint64_t	 sent;		/* its copy, last sent */
};

#define PEND_MAX	256
#define PEND_RESEND_MS	200	/* a retry from the origin sends the copy
				 * again at most this often */
#define PEND_KEEP_MS	60000	/* nobody asked for it this long: forgotten */

#define LOCATE_RECENT	64	/* ids asked about lately (a ring) */
#define LOCATE_EVERY_MS	500	/* ask about one id at most this often */
#define SWEEP_MS	1000

struct fwd {
	struct fwd_conf	 conf;
	struct fwd_env	 env;
	char		 self[LB_ID_MAX];
	struct link	**links;
	size_t		 nlinks, lbuckets;
	struct mbox	**mboxes;
	size_t		 nmboxes, mbuckets;
	struct mbox	**keeps;	/* home: the messages kept, by task */
	size_t		 nkeeps;
	struct pend	 pend[PEND_MAX];
	struct osend	*outbox, *outtail;
	size_t		 nout;
	uint64_t	 next_handle;
	struct sseq	*seqs;
	size_t		 nseqs, seqcap;
	uint64_t	 seqclock;
	struct {
		char	 id[FWD_ID_MAX];
		uint64_t at;
	}		 asked[LOCATE_RECENT];
	size_t		 askpos;
	struct ended	 ended[ENDED_MAX];
	size_t		 endpos;
	uint64_t	 next_locate;
	uint64_t	 swept;
	struct fwd_stats stats;
};

/* ---- names ---- */

int
fwd_task_valid(const char *id)
{
	return id != NULL && strlen(id) < FWD_ID_MAX && lb_task_id_valid(id);
}

int
fwd_sender_valid(const char *s)
{
	return s != NULL && (lb_id_valid(s) || fwd_task_valid(s));
}

static void
home_of(const char *id, char *home)
{
	size_t	n = (size_t)(strrchr(id, '.') - id);

	memcpy(home, id, n);
	home[n] = '\0';
}

static size_t
hash(const char *s, size_t buckets)
{
	return (size_t)(lb_hash_str(s) & (buckets - 1));
}

static size_t
pow2(size_t n)
{
	size_t	b = 16;

	while (b < n * 2)
		b <<= 1;
	return b;
}

/* ---- actions ---- */

static struct fwd_action *
out_add(struct fwd_out *o, enum fwd_action_kind kind, const char *id)
{
	struct fwd_action	*a;

	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 8;
		o->v = lb_reallocarray(o->v, o->cap, sizeof(*o->v));
	}
	a = &o->v[o->n++];
	memset(a, 0, sizeof(*a));
	a->kind = kind;
	if (id != NULL)
		lb_strlcpy(a->id, id, sizeof(a->id));
	return a;
}

static void
out_msg(struct fwd_out *o, enum fwd_action_kind kind, const char *to,
    const char *id, const Lb__PeerMsg *m)
{
	struct fwd_action	*a = out_add(o, kind, id);

	if (to != NULL)
		lb_strlcpy(a->to, to, sizeof(a->to));
	a->len = lb__peer_msg__get_packed_size(m);
	a->msg = lb_calloc(1, a->len + 1);
	lb__peer_msg__pack(m, a->msg);
}

void
fwd_out_reset(struct fwd_out *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].msg);
		free(o->v[i].res.tail.data);
	}
	o->n = 0;
}

void
fwd_out_free(struct fwd_out *o)
{
	fwd_out_reset(o);
	free(o->v);
	o->v = NULL;
	o->cap = 0;
}

/* ---- links ---- */

static struct link *
link_find(const struct fwd *f, const char *id)
{
	struct link	*l;

	for (l = f->links[hash(id, f->lbuckets)]; l != NULL; l = l->next)
		if (strcmp(l->id, id) == 0)
			return l;
	return NULL;
}

static void
link_remove(struct fwd *f, const char *id)
{
	struct link	**lp, *l;

	for (lp = &f->links[hash(id, f->lbuckets)]; (l = *lp) != NULL;
	    lp = &l->next) {
		if (strcmp(l->id, id) == 0) {
			*lp = l->next;
			free(l);
			f->nlinks--;
			return;
		}
	}
}

/* The link used longest ago goes, to make room. */
static void
link_evict(struct fwd *f)
{
	struct link	*old = NULL;

	for (size_t b = 0; b < f->lbuckets; b++)
		for (struct link *l = f->links[b]; l != NULL; l = l->next)
			if (old == NULL || l->used < old->used)
				old = l;
	if (old != NULL)
		link_remove(f, old->id);
}

void
fwd_learn(struct fwd *f, uint64_t now, const char *id, const char *peer,
    uint32_t epoch)
{
	struct link	*l;
	size_t		 b;

	if (!fwd_task_valid(id) || !lb_id_valid(peer) || f->conf.max_links == 0)
		return;
	l = link_find(f, id);
	if (l != NULL && epoch < l->epoch)
		return;			/* older news */
	if (strcmp(peer, f->self) == 0) {
		/* It is here: whether it is held is the task core's word. */
		if (l != NULL)
			link_remove(f, id);
		return;
	}
	if (l == NULL) {
		if (f->nlinks >= f->conf.max_links)
			link_evict(f);
		l = lb_calloc(1, sizeof(*l));
		lb_strlcpy(l->id, id, sizeof(l->id));
		b = hash(id, f->lbuckets);
		l->next = f->links[b];
		f->links[b] = l;
		f->nlinks++;
	}
	lb_strlcpy(l->peer, peer, sizeof(l->peer));
	l->epoch = epoch;
	l->used = now;
}

int
fwd_link(const struct fwd *f, const char *id, char *peer, uint32_t *epoch)
{
	const struct link	*l = link_find(f, id);

	if (l == NULL)
		return -1;
	if (peer != NULL)
		lb_strlcpy(peer, l->peer, LB_ID_MAX);
	if (epoch != NULL)
		*epoch = l->epoch;
	return 0;
}

static void
links_expire(struct fwd *f, uint64_t now)
{
	uint64_t	keep = (uint64_t)f->conf.link_keep_s * 1000;

	for (size_t b = 0; b < f->lbuckets; b++) {
		struct link **lp = &f->links[b], *l;

		while ((l = *lp) != NULL) {
			if (now > l->used + keep) {
				*lp = l->next;
				free(l);
				f->nlinks--;
			} else
				lp = &l->next;
		}
	}
}

/* ---- mailboxes, and what a home keeps: tables of `struct mbox` ---- */

/* A table of boxes by task id (the mailboxes, or the keeps), and how many
 * it holds: both have f->mbuckets buckets and max_mailboxes boxes. */
struct btab {
	struct mbox	**v;
	size_t		 *n;
};

static struct btab
mailboxes(struct fwd *f)
{
	return (struct btab){ f->mboxes, &f->nmboxes };
}

static struct btab
keeps(struct fwd *f)
{
	return (struct btab){ f->keeps, &f->nkeeps };
}

static struct mbox *
box_find(const struct fwd *f, struct mbox *const *v, const char *id)
{
	struct mbox	*m;

	for (m = v[hash(id, f->mbuckets)]; m != NULL; m = m->next)
		if (strcmp(m->id, id) == 0)
			return m;
	return NULL;
}

/* `id`'s box, made if need be: NULL when max_mailboxes are there, unless
 * `force` (one that came with its task is kept whatever). */
static struct mbox *
box_get(struct fwd *f, struct btab t, const char *id, int force)
{
	struct mbox	*m = box_find(f, t.v, id);
	size_t		 b;

	if (m != NULL)
		return m;
	if (!force && *t.n >= f->conf.max_mailboxes)
		return NULL;
	m = lb_calloc(1, sizeof(*m));
	lb_strlcpy(m->id, id, sizeof(m->id));
	b = hash(id, f->mbuckets);
	m->next = t.v[b];
	t.v[b] = m;
	(*t.n)++;
	return m;
}

static void
mbox_clear(struct mbox *m)
{
	struct mail	*x;

	while ((x = m->head) != NULL) {
		m->head = x->next;
		free(x->body);
		free(x);
	}
	m->tail = NULL;
	m->n = m->bytes = 0;
	m->seen.n = 0;
	m->ck.n = 0;
}

static void
box_drop(struct fwd *f, struct btab t, const char *id)
{
	struct mbox	**mp, *m;

	for (mp = &t.v[hash(id, f->mbuckets)]; (m = *mp) != NULL;
	    mp = &m->next) {
		if (strcmp(m->id, id) == 0) {
			*mp = m->next;
			mbox_clear(m);
			free(m->seen.v);
			free(m->ck.v);
			free(m);
			(*t.n)--;
			return;
		}
	}
}

static int	ck_raise(struct fwd *, struct mbox *, const char *, uint64_t,
		    uint64_t);

#define mbox_find(f, id)	box_find((f), (f)->mboxes, (id))
#define mbox_get(f, id, force)	box_get((f), mailboxes(f), (id), (force))
#define keep_find(f, id)	box_find((f), (f)->keeps, (id))
#define keep_get(f, id, force)	box_get((f), keeps(f), (id), (force))
#define keep_drop(f, id)	box_drop((f), keeps(f), (id))

void
fwd_drop(struct fwd *f, const char *id)
{
	box_drop(f, mailboxes(f), id);
}

static struct seen *
seen_find(const struct seens *t, const char *sender)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].sender, sender) == 0)
			return &t->v[i];
	return NULL;
}

/*
 * Remember that `sender`'s `seq` was taken.  A new sender takes a free
 * entry, or the place of one quiet for SEEN_KEEP_MS; -1 when there is
 * none (and `force` is not set: an import keeps what came).
 */
static int
seen_note(const struct fwd *f, struct seens *t, const char *sender,
    uint64_t seq, uint64_t now, int force)
{
	struct seen	*s = seen_find(t, sender);

	if (s == NULL) {
		if (t->n == t->cap && t->cap < f->conf.max_senders) {
			t->cap = t->cap ? t->cap * 2 : 4;
			if (t->cap > f->conf.max_senders)
				t->cap = f->conf.max_senders;
			t->v = lb_reallocarray(t->v, t->cap, sizeof(*t->v));
		}
		if (t->n < t->cap)
			s = &t->v[t->n++];
		else {
			for (size_t i = 0; i < t->n; i++)
				if (s == NULL || t->v[i].at < s->at)
					s = &t->v[i];
			if (s == NULL || (!force && now < s->at + SEEN_KEEP_MS))
				return -1;
		}
		lb_strlcpy(s->sender, sender, sizeof(s->sender));
		s->seq = 0;
	}
	if (seq > s->seq)
		s->seq = seq;
	s->at = now;
	return 0;
}

static void
seens_copy(struct seens *d, const struct seens *src)
{
	d->n = d->cap = src->n;
	free(d->v);
	d->v = d->n ? lb_calloc(d->n, sizeof(*d->v)) : NULL;
	if (d->n)
		memcpy(d->v, src->v, d->n * sizeof(*d->v));
}

/* The ended task `id`'s table (or a new one, replacing the oldest). */
static struct ended *
ended_get(struct fwd *f, const char *id, int make)
{
	struct ended	*e;

	for (size_t i = 0; i < ENDED_MAX; i++)
		if (strcmp(f->ended[i].id, id) == 0)
			return &f->ended[i];
	if (!make)
		return NULL;
	e = &f->ended[f->endpos];
	f->endpos = (f->endpos + 1) % ENDED_MAX;
	free(e->seen.v);
	memset(e, 0, sizeof(*e));
	lb_strlcpy(e->id, id, sizeof(e->id));
	return e;
}

/* Whether the mailbox of `id` (held here, or ended) took `seq` from
 * `sender` already. */
static int
taken(const struct fwd *f, const char *id, const char *sender, uint64_t seq)
{
	const struct mbox	*m = mbox_find(f, id);
	const struct seen	*s;

	/* Both: a mailbox here may be an older stay's, not yet swept, and
	 * the task's last word came in its result. */
	if (m != NULL && (s = seen_find(&m->seen, sender)) != NULL &&
	    seq <= s->seq)
		return 1;
	for (size_t i = 0; i < ENDED_MAX; i++)
		if (strcmp(f->ended[i].id, id) == 0 &&
		    (s = seen_find(&f->ended[i].seen, sender)) != NULL &&
		    seq <= s->seq)
			return 1;
	return 0;
}

static void
mail_append(struct mbox *m, const char *sender, uint64_t seq,
    const uint8_t *body, size_t len)
{
	struct mail	*x = lb_calloc(1, sizeof(*x));

	lb_strlcpy(x->sender, sender, sizeof(x->sender));
	x->seq = seq;
	x->len = len;
	x->body = lb_calloc(1, len + 1);
	if (len > 0)
		memcpy(x->body, body, len);
	if (m->tail != NULL)
		m->tail->next = x;
	else
		m->head = x;
	m->tail = x;
	m->n++;
	m->bytes += len;
}

Lb__MailMsg *
fwd_take(struct fwd *f, const char *id)
{
	struct mbox	*m = mbox_find(f, id);
	struct mail	*x;
	Lb__MailMsg	*r;

	if (m == NULL || (x = m->head) == NULL)
		return NULL;
	m->head = x->next;
	if (m->head == NULL)
		m->tail = NULL;
	m->n--;
	m->bytes -= x->len;
	r = lb_calloc(1, sizeof(*r));
	lb__mail_msg__init(r);
	r->sender = lb_strdup(x->sender);
	r->seq = x->seq;
	r->body.data = x->body;		/* handed over */
	r->body.len = x->len;
	free(x);
	f->stats.received++;
	return r;
}

Lb__MailMsg *
fwd_peek(const struct fwd *f, const char *id)
{
	const struct mbox	*m = mbox_find(f, id);
	const struct mail	*x;
	Lb__MailMsg		*r;

	if (m == NULL || (x = m->head) == NULL)
		return NULL;
	r = lb_calloc(1, sizeof(*r));
	lb__mail_msg__init(r);
	r->sender = lb_strdup(x->sender);
	r->seq = x->seq;
	r->body.data = lb_calloc(1, x->len + 1);
	memcpy(r->body.data, x->body, x->len);
	r->body.len = x->len;
	return r;
}

void
fwd_each_mailbox(const struct fwd *f, void (*fn)(void *, const char *),
    void *arg)
{
	for (size_t b = 0; b < f->mbuckets; b++)
		for (const struct mbox *m = f->mboxes[b]; m != NULL;
		    m = m->next)
			fn(arg, m->id);
}

size_t
fwd_mailbox_count(const struct fwd *f, const char *id, size_t *bytes)
{
	const struct mbox	*m = mbox_find(f, id);

	if (bytes != NULL)
		*bytes = m ? m->bytes : 0;
	return m ? m->n : 0;
}

/* Copies of `m`'s messages, oldest first, into b->v. */
static void
box_mails(const struct mbox *m, struct fwd_box *b)
{
	size_t i = 0;

	if (m == NULL || m->n == 0)
		return;
	b->v = lb_calloc(m->n, sizeof(*b->v));
	for (const struct mail *x = m->head; x != NULL; x = x->next) {
		Lb__MailMsg *mm = lb_calloc(1, sizeof(*mm));

		lb__mail_msg__init(mm);
		mm->sender = lb_strdup(x->sender);
		mm->seq = x->seq;
		mm->body.len = x->len;
		mm->body.data = lb_calloc(1, x->len + 1);
		if (x->len > 0)
			memcpy(mm->body.data, x->body, x->len);
		b->v[i++] = mm;
	}
	b->n = i;
}

/* Copies of a seen table, into b->s. */
static void
box_seen(const struct seens *t, struct fwd_box *b)
{
	if (t == NULL || t->n == 0)
		return;
	b->s = lb_calloc(t->n, sizeof(*b->s));
	for (size_t i = 0; i < t->n; i++) {
		Lb__MailSeen *ss = lb_calloc(1, sizeof(*ss));

		lb__mail_seen__init(ss);
		ss->sender = lb_strdup(t->v[i].sender);
		ss->seq = t->v[i].seq;
		b->s[i] = ss;
	}
	b->ns = t->n;
}

void
fwd_export(const struct fwd *f, const char *id, struct fwd_box *b)
{
	const struct mbox	*m = mbox_find(f, id);
	const struct seens	*t = NULL;

	memset(b, 0, sizeof(*b));
	if (m != NULL)
		t = &m->seen;
	else
		for (size_t k = 0; k < ENDED_MAX && t == NULL; k++)
			if (strcmp(f->ended[k].id, id) == 0)
				t = &f->ended[k].seen;
	box_mails(m, b);
	box_seen(t, b);
}

void
fwd_export_free(struct fwd_box *b)
{
	for (size_t i = 0; i < b->n; i++)
		lb__mail_msg__free_unpacked(b->v[i], NULL);
	for (size_t i = 0; i < b->ns; i++)
		lb__mail_seen__free_unpacked(b->s[i], NULL);
	for (size_t i = 0; i < b->nck; i++)
		lb__mail_seen__free_unpacked(b->ck[i], NULL);
	free(b->v);
	free(b->s);
	free(b->ck);
	memset(b, 0, sizeof(*b));
}

void
fwd_import(struct fwd *f, uint64_t now, const char *id,
    const struct fwd_box *b)
{
	struct mbox	*m;

	if (!fwd_task_valid(id))
		return;
	if (b->n == 0 && b->ns == 0) {
		/* Nothing came with it; what is here (of an earlier stay)
		 * is older. */
		if ((m = mbox_find(f, id)) != NULL)
			mbox_clear(m);
		return;
	}
	/* What came is the task's, and was bounded where it came from: it
	 * is all kept (the task core bounds the tasks held here). */
	m = mbox_get(f, id, 1);
	mbox_clear(m);
	for (size_t i = 0; i < b->ns; i++) {
		const Lb__MailSeen *ss = b->s[i];

		if (fwd_sender_valid(ss->sender))
			(void)seen_note(f, &m->seen, ss->sender, ss->seq, now,
			    1);
		else
			f->stats.drop_invalid++;
	}
	for (size_t i = 0; i < b->n; i++) {
		const Lb__MailMsg *x = b->v[i];

		if (!fwd_sender_valid(x->sender)) {
			f->stats.drop_invalid++;
			continue;
		}
		mail_append(m, x->sender, x->seq, x->body.data, x->body.len);
		(void)seen_note(f, &m->seen, x->sender, x->seq, now, 1);
	}
}

void
fwd_ended(struct fwd *f, uint64_t now, const char *id,
    const struct fwd_box *b)
{
	struct ended	*e;

	if (!fwd_task_valid(id) || b->ns == 0)
		return;
	e = ended_get(f, id, 1);
	for (size_t i = 0; i < b->ns; i++)
		if (fwd_sender_valid(b->s[i]->sender))
			(void)seen_note(f, &e->seen, b->s[i]->sender,
			    b->s[i]->seq, now, 1);
}

void
fwd_keep_load(struct fwd *f, uint64_t now, const char *id,
    const struct fwd_box *b, int unmark)
{
	struct mbox	*k;

	if (!fwd_task_valid(id) || (b->n == 0 && b->ns == 0))
		return;
	k = keep_get(f, id, 1);
	mbox_clear(k);
	for (size_t i = 0; i < b->ns; i++)
		if (fwd_sender_valid(b->s[i]->sender))
			(void)seen_note(f, &k->seen, b->s[i]->sender,
			    b->s[i]->seq, now, 1);
	for (size_t i = 0; i < b->nck && !unmark; i++)
		if (fwd_sender_valid(b->ck[i]->sender))
			ck_raise(f, k, b->ck[i]->sender, b->ck[i]->seq, now);
	for (size_t i = 0; i < b->n; i++) {
		const Lb__MailMsg *x = b->v[i];

		if (!fwd_sender_valid(x->sender)) {
			f->stats.drop_invalid++;
			continue;
		}
		mail_append(k, x->sender, x->seq, x->body.data, x->body.len);
		(void)seen_note(f, &k->seen, x->sender, x->seq, now, 1);
	}
}

/* A box of `m`'s messages and seen table (a mailbox or a keep). */
static void
box_of(const struct mbox *m, struct fwd_box *b)
{
	memset(b, 0, sizeof(*b));
	if (m == NULL)
		return;
	box_mails(m, b);
	box_seen(&m->seen, b);
}

void
fwd_keep_export(const struct fwd *f, const char *id, struct fwd_box *b)
{
	const struct mbox	*k = keep_find(f, id);
	struct fwd_box		 c;

	box_of(k, b);
	if (k == NULL || k->ck.n == 0)
		return;
	memset(&c, 0, sizeof(c));
	box_seen(&k->ck, &c);
	b->ck = c.s;
	b->nck = c.ns;
}

size_t
fwd_kept_unmarked(const struct fwd *f, const char *id)
{
	const struct mbox	*k = keep_find(f, id);
	size_t			 n = 0;

	if (k == NULL)
		return 0;
	for (const struct mail *x = k->head; x != NULL; x = x->next) {
		const struct seen *c = seen_find(&k->ck, x->sender);

		if (c == NULL || x->seq > c->seq)
			n++;
	}
	return n;
}

void
fwd_each_keep(const struct fwd *f, void (*fn)(void *, const char *),
    void *arg)
{
	for (size_t b = 0; b < f->mbuckets; b++)
		for (const struct mbox *k = f->keeps[b]; k != NULL;
		    k = k->next)
			fn(arg, k->id);
}

void
fwd_consumed(const struct fwd *f, const char *id, struct fwd_box *b)
{
	const struct mbox	*m = mbox_find(f, id);

	memset(b, 0, sizeof(*b));
	if (m == NULL || m->seen.n == 0)
		return;
	b->s = lb_calloc(m->seen.n, sizeof(*b->s));
	for (size_t i = 0; i < m->seen.n; i++) {
		Lb__MailSeen	*ss = lb_calloc(1, sizeof(*ss));
		uint64_t	 c = m->seen.v[i].seq;

		/* Up to the first one still in the mailbox (seqs rise, with
		 * gaps: a sender numbers its messages to every task). */
		for (const struct mail *x = m->head; x != NULL; x = x->next)
			if (strcmp(x->sender, m->seen.v[i].sender) == 0) {
				c = x->seq - 1;
				break;
			}
		lb__mail_seen__init(ss);
		ss->sender = lb_strdup(m->seen.v[i].sender);
		ss->seq = c;
		b->s[b->ns++] = ss;
	}
}

/* Raise what a checkpoint only the home holds took from `sender`: 1 if it
 * rose. */
static int
ck_raise(struct fwd *f, struct mbox *k, const char *sender, uint64_t seq,
    uint64_t now)
{
	const struct seen	*s = seen_find(&k->ck, sender);

	if (s != NULL && s->seq >= seq)
		return 0;
	(void)seen_note(f, &k->ck, sender, seq, now, 1);
	return 1;
}

void
fwd_checkpointed(struct fwd *f, const char *id, const struct fwd_box *c,
    struct fwd_out *o)
{
	struct mbox	*k = keep_find(f, id);
	struct mail	**xp, *x;
	int		 changed = 0;

	if (k == NULL)
		return;
	/* With replicas the checkpoint is this home's alone: a replica that
	 * takes over runs the task from its start and needs every message
	 * (lbchaos seed 799351786, 180 s: trimmed on every replica, they
	 * were gone for good).  They stay, marked. */
	if (f->conf.home_failover) {
		/* (the marks say what the checkpoint there now took: not
		 * raised only, an earlier one's, or another home's, may be
		 * above) */
		size_t was = k->ck.n;

		for (size_t i = 0; i < c->ns && !changed; i++) {
			const struct seen *s = c->s[i]->sender == NULL ? NULL :
			    seen_find(&k->ck, c->s[i]->sender);

			if (s == NULL || s->seq != c->s[i]->seq)
				changed = 1;
		}
		k->ck.n = 0;
		for (size_t i = 0; i < c->ns; i++)
			if (c->s[i]->sender != NULL &&
			    fwd_sender_valid(c->s[i]->sender))
				(void)ck_raise(f, k, c->s[i]->sender,
				    c->s[i]->seq, 1);
		if (changed || k->ck.n != was)
			out_add(o, FA_KEEP, id);	/* written anew */
		return;
	}
	for (xp = &k->head; (x = *xp) != NULL; ) {
		int gone = 0;

		for (size_t i = 0; i < c->ns; i++)
			if (c->s[i]->sender != NULL &&
			    strcmp(c->s[i]->sender, x->sender) == 0 &&
			    x->seq <= c->s[i]->seq)
				gone = 1;
		if (!gone) {
			xp = &x->next;
			continue;
		}
		*xp = x->next;
		k->n--;
		k->bytes -= x->len;
		free(x->body);
		free(x);
		changed = 1;
	}
	k->tail = NULL;
	for (x = k->head; x != NULL; x = x->next)
		k->tail = x;
	if (changed)
		out_add(o, FA_KEEP, id);	/* written anew */
}

int
fwd_replay(struct fwd *f, uint64_t now, const char *id, int from_start)
{
	struct mbox		*k = keep_find(f, id);
	struct mbox		*m, old;

	if (!fwd_task_valid(id) || k == NULL)
		return 0;		/* nothing kept: the mailbox is all there is */
	m = mbox_get(f, id, 1);
	/* The kept ones first, then those of the mailbox here that the home
	 * did not keep (taken without a copy, handed back with the task):
	 * above what was kept from their sender. */
	old = *m;
	m->head = m->tail = NULL;
	m->n = m->bytes = 0;
	m->seen.v = NULL;
	m->seen.n = m->seen.cap = 0;
	for (size_t i = 0; i < k->seen.n; i++)
		(void)seen_note(f, &m->seen, k->seen.v[i].sender,
		    k->seen.v[i].seq, now, 1);
	for (const struct mail *x = k->head; x != NULL; x = x->next) {
		const struct seen *c = from_start ? NULL :
		    seen_find(&k->ck, x->sender);

		if (c == NULL || x->seq > c->seq)
			mail_append(m, x->sender, x->seq, x->body, x->len);
	}
	for (struct mail *x = old.head; x != NULL; x = x->next) {
		const struct seen *s = seen_find(&k->seen, x->sender);

		if (s == NULL || x->seq > s->seq)
			mail_append(m, x->sender, x->seq, x->body, x->len);
	}
	for (size_t i = 0; i < old.seen.n; i++)
		(void)seen_note(f, &m->seen, old.seen.v[i].sender,
		    old.seen.v[i].seq, now, 1);
	mbox_clear(&old);
	free(old.seen.v);
	/* From its start: no checkpoint took any of them now. */
	if (from_start && k->ck.n > 0) {
		k->ck.n = 0;
		return 1;
	}
	return 0;
}

void
fwd_merge(struct fwd *f, uint64_t now, const char *id,
    const struct fwd_box *b)
{
	struct mbox	*m;

	if (!fwd_task_valid(id) || (b->n == 0 && b->ns == 0))
		return;
	m = mbox_get(f, id, 1);
	for (size_t i = 0; i < b->n; i++) {
		const Lb__MailMsg	*x = b->v[i];
		const struct seen	*s;

		if (!fwd_sender_valid(x->sender)) {
			f->stats.drop_invalid++;
			continue;
		}
		if ((s = seen_find(&m->seen, x->sender)) != NULL &&
		    x->seq <= s->seq)
			continue;
		mail_append(m, x->sender, x->seq, x->body.data, x->body.len);
		(void)seen_note(f, &m->seen, x->sender, x->seq, now, 1);
	}
	for (size_t i = 0; i < b->ns; i++)
		if (fwd_sender_valid(b->s[i]->sender))
			(void)seen_note(f, &m->seen, b->s[i]->sender,
			    b->s[i]->seq, now, 1);
}

/* ---- the outbox ---- */

static struct osend *
out_find_msg(struct fwd *f, const char *id, const char *sender, uint64_t seq)
{
	for (struct osend *s = f->outbox; s != NULL; s = s->next)
		if (!s->probe && s->active && s->seq == seq &&
		    strcmp(s->id, id) == 0 && strcmp(s->sender, sender) == 0)
			return s;
	return NULL;
}

static struct osend *
out_find_probe(struct fwd *f, uint64_t handle)
{
	for (struct osend *s = f->outbox; s != NULL; s = s->next)
		if (s->probe && s->handle == handle)
			return s;
	return NULL;
}

static void	transmit(struct fwd *, uint64_t, struct osend *,
		    struct fwd_out *);

/* The send ends: tell the shell, and let the next of its (sender, task)
 * go. */
static void
finish(struct fwd *f, uint64_t now, struct osend *s, int done,
    const Lb__TaskMsgAck *ack, struct fwd_out *o)
{
	struct fwd_action	*a = out_add(o, FA_DONE, s->id);
	struct fwd_result	*r = &a->res;
	struct osend		**sp, *next = NULL;

	r->handle = s->handle;
	r->done = done;
	lb_strlcpy(r->sender, s->sender, sizeof(r->sender));
	r->seq = s->seq;
	if (ack != NULL) {
		r->status = ack->status;
		lb_strlcpy(r->host, ack->host, sizeof(r->host));
		r->epoch = ack->epoch;
		lb_strlcpy(r->detail, ack->detail, sizeof(r->detail));
		for (size_t i = 1; i < ack->n_path &&
		    r->nhops < FWD_MAX_HOPS; i++)
			lb_strlcpy(r->hops[r->nhops++], ack->path[i],
			    LB_ID_MAX);
		if (strcmp(ack->host, f->self) != 0)
			lb_strlcpy(r->hops[r->nhops++], ack->host, LB_ID_MAX);
		if (s->tail && ack->tail_data.len > 0) {
			r->tail.len = ack->tail_data.len;
			r->tail.data = lb_calloc(1, r->tail.len + 1);
			memcpy(r->tail.data, ack->tail_data.data, r->tail.len);
		}
		if (ack->status == LB__MSG_STATUS__MSG_DELIVERED ||
		    ack->status == LB__MSG_STATUS__MSG_DUPLICATE)
			f->stats.acked++;
		else if (ack->status != LB__MSG_STATUS__MSG_LOCATED)
			f->stats.refused++;
	} else if (!s->probe)
		f->stats.timed_out++;
	for (sp = &f->outbox; *sp != NULL; sp = &(*sp)->next)
		if (*sp == s)
			break;
	*sp = s->next;
	if (f->outtail == s) {
		f->outtail = NULL;
		for (struct osend *t = f->outbox; t != NULL; t = t->next)
			f->outtail = t;
	}
	f->nout--;
	if (!s->probe && s->active)
		for (struct osend *t = f->outbox; t != NULL; t = t->next)
			if (!t->probe && strcmp(t->id, s->id) == 0 &&
			    strcmp(t->sender, s->sender) == 0) {
				next = t;
				break;
			}
	free(s->body);
	free(s);
	if (next != NULL) {
		next->active = 1;
		transmit(f, now, next, o);
	}
}

static struct osend *
out_new(struct fwd *f, const char *id, uint64_t deadline, char **cause)
{
	struct osend	*s;

	if (!fwd_task_valid(id)) {
		*cause = lb_printf("\"%s\" is not a task id (NODE.NUMBER)", id);
		return NULL;
	}
	if (f->nout >= f->conf.outbox_max) {
		*cause = lb_printf("this peer is sending %zu messages already "
		    "(its limit); try again later", f->nout);
		return NULL;
	}
	s = lb_calloc(1, sizeof(*s));
	s->handle = ++f->next_handle;
	lb_strlcpy(s->id, id, sizeof(s->id));
	s->deadline = deadline;
	s->backoff = (uint32_t)f->conf.retry_ms;
	if (f->outtail != NULL)
		f->outtail->next = s;
	else
		f->outbox = s;
	f->outtail = s;
	f->nout++;
	return s;
}

/*
 * The next seq of `sender`, above every one it used since `base` was given.
 * A sender's entry goes only when it cannot send again in this life: not
 * this node, not a task held here, nothing of it in the outbox.  0: no
 * room.
 */
static uint64_t
seq_next(struct fwd *f, const char *sender, uint64_t base)
{
	struct sseq	*q = NULL;

	for (size_t i = 0; i < f->nseqs; i++)
		if (strcmp(f->seqs[i].sender, sender) == 0) {
			q = &f->seqs[i];
			break;
		}
	if (q == NULL && f->nseqs < f->seqcap)
		q = &f->seqs[f->nseqs++];
	for (size_t i = 0; q == NULL && i < f->nseqs; i++) {
		struct sseq		*c = &f->seqs[i];
		struct fwd_where	 w;
		int			 busy = 0;

		if (!fwd_task_valid(c->sender))
			continue;	/* a node: never forgotten */
		memset(&w, 0, sizeof(w));
		f->env.where(f->env.arg, c->sender, &w);
		if (w.here == FWD_HELD || w.here == FWD_MOVING)
			continue;
		for (struct osend *t = f->outbox; t != NULL && !busy;
		    t = t->next)
			busy = strcmp(t->sender, c->sender) == 0;
		if (!busy)
			q = c;
	}
	if (q == NULL)
		return 0;
	if (strcmp(q->sender, sender) != 0) {
		lb_strlcpy(q->sender, sender, sizeof(q->sender));
		q->base = q->last = base;
	}
	if (base > q->base) {
		q->base = base;
		if (q->last < base)
			q->last = base;
	}
	q->used = ++f->seqclock;
	return ++q->last;
}

int
fwd_send(struct fwd *f, uint64_t now, const char *sender, uint64_t base,
    const char *id, const void *body, size_t len, uint64_t deadline,
    uint64_t *handle, struct fwd_out *o, char **cause)
{
	struct osend	*s;
	uint64_t	 seq;
	int		 first = 1;

	if (!fwd_sender_valid(sender)) {
		*cause = lb_printf("\"%s\" cannot send (not a node or task id)",
		    sender);
		return -1;
	}
	if (len > f->conf.msg_max) {
		*cause = lb_printf("a message of %zu bytes is over the limit "
		    "of %zu", len, f->conf.msg_max);
		return -1;
	}
	for (struct osend *t = f->outbox; t != NULL; t = t->next)
		if (!t->probe && strcmp(t->id, id) == 0 &&
		    strcmp(t->sender, sender) == 0)
			first = 0;
	if ((seq = seq_next(f, sender, base)) == 0) {
		*cause = lb_printf("this peer has too many senders at once; "
		    "try again later");
		return -1;
	}
	if ((s = out_new(f, id, deadline, cause)) == NULL)
		return -1;
	lb_strlcpy(s->sender, sender, sizeof(s->sender));
	s->seq = seq;
	s->len = len;
	s->body = lb_calloc(1, len + 1);
	if (len > 0)
		memcpy(s->body, body, len);
	*handle = s->handle;
	f->stats.sent++;
	if (first) {
		s->active = 1;
		transmit(f, now, s, o);
	}
	return 0;
}

int
fwd_probe(struct fwd *f, uint64_t now, const char *id, enum fwd_probe what,
    uint64_t offset, int tail_stderr, uint64_t deadline, uint64_t *handle,
    struct fwd_out *o, char **cause)
{
	struct osend	*s;

	if ((s = out_new(f, id, deadline, cause)) == NULL)
		return -1;
	lb_strlcpy(s->sender, f->self, sizeof(s->sender));
	s->probe = 1;
	s->active = 1;
	s->tail = what == FP_TAIL;
	s->checkpoint = what == FP_CHECKPOINT;
	s->tail_offset = offset;
	s->tail_stderr = tail_stderr;
	*handle = s->handle;
	transmit(f, now, s, o);
	return 0;
}

/* ---- routing ---- */

static int
on_path(const Lb__TaskMsg *m, const char *peer)
{
	for (size_t i = 0; i < m->n_path; i++)
		if (strcmp(m->path[i], peer) == 0)
			return 1;
	return 0;
}

static int	ack_in(struct fwd *, uint64_t, const char *,
		    const Lb__TaskMsgAck *, struct fwd_out *);

/* Answer the origin of `m`. */
static void
reply(struct fwd *f, uint64_t now, const Lb__TaskMsg *m, Lb__MsgStatus st,
    uint32_t epoch, const char *detail, struct fwd_out *o)
{
	Lb__PeerMsg	pm = LB__PEER_MSG__INIT;
	Lb__TaskMsgAck	a = LB__TASK_MSG_ACK__INIT;
	char		*path[FWD_MAX_HOPS + 1];
	size_t		 n = 0;

	a.task_id = m->task_id;
	a.sender = m->sender;
	a.seq = m->seq;
	a.status = st;
	a.host = f->self;
	a.epoch = epoch;
	a.detail = (char *)(detail ? detail : "");
	a.probe_req = m->probe_req;
	for (size_t i = 0; i < m->n_path && n < FWD_MAX_HOPS; i++)
		path[n++] = m->path[i];
	a.path = path;
	a.n_path = n;
	if (strcmp(m->origin, f->self) == 0) {
		ack_in(f, now, f->self, &a, o);
		return;
	}
	pm.body_case = LB__PEER_MSG__BODY_TASK_MSG_ACK;
	pm.task_msg_ack = &a;
	out_msg(o, FA_SEND, m->origin, m->task_id, &pm);
}

/* Pass `m` on to `to`, this peer added to its path. */
static void
pass(struct fwd *f, const Lb__TaskMsg *m, const char *to, struct fwd_out *o)
{
	Lb__PeerMsg	 pm = LB__PEER_MSG__INIT;
	Lb__TaskMsg	 c = *m;
	char		*path[FWD_MAX_HOPS + 1];

	if (m->n_path >= FWD_MAX_HOPS) {
		f->stats.drop_loop++;
		return;
	}
	for (size_t i = 0; i < m->n_path; i++)
		path[i] = m->path[i];
	path[m->n_path] = f->self;
	c.path = path;
	c.n_path = m->n_path + 1;
	pm.body_case = LB__PEER_MSG__BODY_TASK_MSG;
	pm.task_msg = &c;
	out_msg(o, FA_SEND, to, m->task_id, &pm);
}

static void
locate(struct fwd *f, uint64_t now, const char *id, struct fwd_out *o)
{
	Lb__PeerMsg	pm = LB__PEER_MSG__INIT;
	Lb__TaskLocate	q = LB__TASK_LOCATE__INIT;

	for (size_t i = 0; i < LOCATE_RECENT; i++)
		if (strcmp(f->asked[i].id, id) == 0 &&
		    now < f->asked[i].at + LOCATE_EVERY_MS)
			return;
	lb_strlcpy(f->asked[f->askpos].id, id, sizeof(f->asked[0].id));
	f->asked[f->askpos].at = now;
	f->askpos = (f->askpos + 1) % LOCATE_RECENT;
	q.req_id = ++f->next_locate;
	q.task_id = (char *)id;
	pm.body_case = LB__PEER_MSG__BODY_TASK_LOCATE;
	pm.task_locate = &q;
	out_msg(o, FA_LOCATE, NULL, id, &pm);
	f->stats.queries++;
}

static void	take_in(struct fwd *, uint64_t, struct mbox *,
		    const Lb__TaskMsg *, uint32_t, struct fwd_out *);

/* Home: keep a copy of a message taken for its task (0), or -1 when
 * there is no room.  One kept already is not kept twice. */
/* A home keeps, for one task, this many times what its mailbox may hold:
 * the messages it took since the home's latest checkpoint of it too. */
#define KEEP_FACTOR	4

/* Let go of the oldest copy a checkpoint here took: 1 if there was one. */
static int
keep_evict_marked(struct mbox *k)
{
	struct mail	**xp, *x;

	for (xp = &k->head; (x = *xp) != NULL; xp = &x->next) {
		const struct seen *c = seen_find(&k->ck, x->sender);

		if (c == NULL || x->seq > c->seq)
			continue;
		*xp = x->next;
		k->n--;
		k->bytes -= x->len;
		free(x->body);
		free(x);
		k->tail = NULL;
		for (x = k->head; x != NULL; x = x->next)
			k->tail = x;
		return 1;
	}
	return 0;
}

static int
keep_add(struct fwd *f, uint64_t now, const char *id, const char *sender,
    uint64_t seq, const uint8_t *body, size_t len, struct fwd_out *o)
{
	Lb__MailMsg	 mm = LB__MAIL_MSG__INIT;
	struct mbox	*k = keep_find(f, id);
	struct seen	*s;
	struct fwd_action *a;

	if (k != NULL && (s = seen_find(&k->seen, sender)) != NULL &&
	    seq <= s->seq)
		return 0;
	/* Full: copies a checkpoint here took make room first (kept only
	 * for a run from the start, after a takeover; the oldest go). */
	if ((k = keep_get(f, id, 0)) != NULL)
		while ((k->n >= f->conf.mbox_msgs * KEEP_FACTOR ||
		    k->bytes + len > f->conf.mbox_bytes * KEEP_FACTOR) &&
		    keep_evict_marked(k))
			f->stats.unkept_marked++;
	if (k == NULL ||
	    k->n >= f->conf.mbox_msgs * KEEP_FACTOR ||
	    k->bytes + len > f->conf.mbox_bytes * KEEP_FACTOR ||
	    seen_note(f, &k->seen, sender, seq, now, 0) == -1)
		return -1;
	mail_append(k, sender, seq, body, len);
	f->stats.kept++;
	mm.sender = (char *)sender;
	mm.seq = seq;
	mm.body.data = (uint8_t *)body;
	mm.body.len = len;
	a = out_add(o, FA_KEEP, id);
	a->len = lb__mail_msg__get_packed_size(&mm);
	a->msg = lb_calloc(1, a->len + 1);
	lb__mail_msg__pack(&mm, a->msg);
	return 0;
}

/* Holder: send the home of `m`'s task a copy, and wait for its answer
 * before taking the message; a copy already on its way is sent again
 * (now and then), as the origin retries. */
static void
copy_out(struct fwd *f, uint64_t now, const Lb__TaskMsg *m, const char *home,
    struct fwd_out *o)
{
	Lb__PeerMsg	 pm = LB__PEER_MSG__INIT;
	Lb__MailCopy	 c = LB__MAIL_COPY__INIT;
	Lb__MailMsg	 mm = LB__MAIL_MSG__INIT;
	struct pend	*p = NULL, *fr = NULL;

	for (size_t i = 0; i < PEND_MAX; i++) {
		struct pend *q = &f->pend[i];

		if (!q->used) {
			if (fr == NULL)
				fr = q;
		} else if (q->seq == m->seq && strcmp(q->id, m->task_id) == 0 &&
		    strcmp(q->sender, m->sender) == 0) {
			p = q;
			break;
		}
	}
	if (p != NULL) {
		if (now < p->sent + PEND_RESEND_MS)
			return;
	} else {
		if (fr == NULL)
			return;		/* too many: the origin retries */
		p = fr;
		memset(p, 0, sizeof(*p));
		p->used = 1;
		lb_strlcpy(p->id, m->task_id, sizeof(p->id));
		lb_strlcpy(p->sender, m->sender, sizeof(p->sender));
		p->seq = m->seq;
		p->len = m->body.len;
		p->body = lb_calloc(1, p->len + 1);
		if (p->len > 0)
			memcpy(p->body, m->body.data, p->len);
		lb_strlcpy(p->origin, m->origin, sizeof(p->origin));
		for (size_t i = 0; i < m->n_path && i < FWD_MAX_HOPS; i++)
			lb_strlcpy(p->path[p->npath++], m->path[i],
			    LB_ID_MAX);
	}
	p->sent = now;
	mm.sender = p->sender;
	mm.seq = p->seq;
	mm.body.data = p->body;
	mm.body.len = p->len;
	c.task_id = p->id;
	c.msg = &mm;
	pm.body_case = LB__PEER_MSG__BODY_MAIL_COPY;
	pm.mail_copy = &c;
	out_msg(o, FA_SEND, home, p->id, &pm);
	f->stats.copies++;
}

static void
copy_answer(struct fwd *f, const char *to, const Lb__MailCopy *c,
    Lb__MsgStatus st, struct fwd_out *o)
{
	Lb__PeerMsg	pm = LB__PEER_MSG__INIT;
	Lb__MailCopyAck	a = LB__MAIL_COPY_ACK__INIT;

	a.task_id = c->task_id;
	a.sender = c->msg->sender;
	a.seq = c->msg->seq;
	a.status = st;
	pm.body_case = LB__PEER_MSG__BODY_MAIL_COPY_ACK;
	pm.mail_copy_ack = &a;
	out_msg(o, FA_SEND, to, c->task_id, &pm);
}

/* Home: a holder's copy of a message for our task. */
static void
copy_in(struct fwd *f, uint64_t now, const char *from, const Lb__MailCopy *c,
    struct fwd_out *o)
{
	struct fwd_where	w;
	char			home[LB_ID_MAX];

	if (!fwd_task_valid(c->task_id) || c->msg == NULL ||
	    !fwd_sender_valid(c->msg->sender) || c->msg->seq == 0 ||
	    c->msg->body.len > f->conf.msg_max) {
		f->stats.drop_invalid++;
		return;
	}
	memset(&w, 0, sizeof(w));
	f->env.where(f->env.arg, c->task_id, &w);
	/* (homed here: by its number, or taken over) */
	if (w.home[0] != '\0')
		lb_strlcpy(home, w.home, sizeof(home));
	else
		home_of(c->task_id, home);
	if (strcmp(home, f->self) != 0) {
		f->stats.drop_invalid++;
		return;
	}
	if (w.here != FWD_AT || strcmp(w.host, from) != 0) {
		/* Not its host as the record says (it moves, or ended): the
		 * origin's next try finds out. */
		copy_answer(f, from, c, LB__MSG_STATUS__MSG_WAIT, o);
		return;
	}
	if (keep_add(f, now, c->task_id, c->msg->sender, c->msg->seq,
	    c->msg->body.data, c->msg->body.len, o) == -1) {
		/* No room: the holder takes it without. */
		f->stats.unkept++;
		copy_answer(f, from, c, LB__MSG_STATUS__MSG_FULL, o);
		return;
	}
	copy_answer(f, from, c, LB__MSG_STATUS__MSG_DELIVERED, o);
}

/* Holder: the home's answer to a copy. */
static void
copy_ack_in(struct fwd *f, uint64_t now, const char *from,
    const Lb__MailCopyAck *a, struct fwd_out *o)
{
	struct pend		*p = NULL;
	struct fwd_where	 w;
	struct mbox		*mb;
	struct seen		*s;
	char			 home[LB_ID_MAX];
	Lb__TaskMsg		 tm = LB__TASK_MSG__INIT;
	char			*path[FWD_MAX_HOPS];

	if (!fwd_task_valid(a->task_id) || !fwd_sender_valid(a->sender)) {
		f->stats.drop_invalid++;
		return;
	}
	/* From its home (or the one acting as its home). */
	memset(&w, 0, sizeof(w));
	f->env.where(f->env.arg, a->task_id, &w);
	home_of(a->task_id, home);
	if (strcmp(home, from) != 0 && strcmp(w.home, from) != 0) {
		f->stats.drop_invalid++;
		return;
	}
	for (size_t i = 0; i < PEND_MAX; i++)
		if (f->pend[i].used && f->pend[i].seq == a->seq &&
		    strcmp(f->pend[i].id, a->task_id) == 0 &&
		    strcmp(f->pend[i].sender, a->sender) == 0) {
			p = &f->pend[i];
			break;
		}
	if (p == NULL)
		return;		/* answered already */
	tm.task_id = p->id;
	tm.sender = p->sender;
	tm.seq = p->seq;
	tm.body.data = p->body;
	tm.body.len = p->len;
	tm.origin = p->origin;
	for (size_t i = 0; i < p->npath; i++)
		path[i] = p->path[i];
	tm.path = path;
	tm.n_path = p->npath;
	/* Kept (or no room there: taken without a copy). */
	if ((a->status == LB__MSG_STATUS__MSG_DELIVERED ||
	    a->status == LB__MSG_STATUS__MSG_FULL) && w.here == FWD_HELD && (mb = mbox_get(f, p->id, 0)) != NULL &&
	    mb->n < f->conf.mbox_msgs &&
	    mb->bytes + p->len <= f->conf.mbox_bytes &&
	    ((s = seen_find(&mb->seen, p->sender)) == NULL || p->seq > s->seq) &&
	    (s != NULL || seen_note(f, &mb->seen, p->sender, 0, now, 0) == 0))
		take_in(f, now, mb, &tm, w.epoch, o);
	/* Else (it moved meanwhile, or no room now): the origin tries
	 * again, and the home has it already. */
	free(p->body);
	memset(p, 0, sizeof(*p));
}

/* The task is held here: the message goes into its mailbox. */
static void
deliver(struct fwd *f, uint64_t now, const Lb__TaskMsg *m, uint32_t epoch,
    const char *acting, struct fwd_out *o)
{
	struct mbox	*mb;
	struct seen	*s;
	char		 home[LB_ID_MAX];

	if (m->probe) {
		if (m->tail || m->checkpoint) {
			struct fwd_action *a = out_add(o, m->tail ? FA_TAIL :
			    FA_CHECKPOINT, m->task_id);

			lb_strlcpy(a->to, m->origin, sizeof(a->to));
			a->probe_req = m->probe_req;
			a->tail_offset = m->tail_offset;
			a->tail_stderr = m->tail_stderr;
			a->res.epoch = epoch;
			lb_strlcpy(a->res.host, f->self, sizeof(a->res.host));
			for (size_t i = 0; i < m->n_path &&
			    a->res.nhops < FWD_MAX_HOPS; i++)
				lb_strlcpy(a->res.hops[a->res.nhops++],
				    m->path[i], LB_ID_MAX);
			return;
		}
		reply(f, now, m, LB__MSG_STATUS__MSG_LOCATED, epoch, NULL, o);
		return;
	}
	if (m->body.len > f->conf.msg_max) {
		reply(f, now, m, LB__MSG_STATUS__MSG_TOO_LARGE, epoch,
		    "the message is over the limit", o);
		return;
	}
	if ((mb = mbox_get(f, m->task_id, 0)) == NULL) {
		f->stats.full++;
		reply(f, now, m, LB__MSG_STATUS__MSG_FULL, epoch,
		    "too many mailboxes at its host", o);
		return;
	}
	if ((s = seen_find(&mb->seen, m->sender)) != NULL && m->seq <= s->seq) {
		f->stats.duplicates++;
		reply(f, now, m, LB__MSG_STATUS__MSG_DUPLICATE, epoch, NULL, o);
		return;
	}
	if (s == NULL && seen_note(f, &mb->seen, m->sender, 0, now, 0) == -1) {
		f->stats.full++;
		reply(f, now, m, LB__MSG_STATUS__MSG_FULL, epoch,
		    "the task's mailbox has heard from too many senders", o);
		return;
	}
	if (mb->n >= f->conf.mbox_msgs ||
	    mb->bytes + m->body.len > f->conf.mbox_bytes) {
		f->stats.full++;
		reply(f, now, m, LB__MSG_STATUS__MSG_FULL, epoch,
		    "the task's mailbox is full", o);
		return;
	}
	if (acting[0] != '\0')
		lb_strlcpy(home, acting, sizeof(home));	/* (a replica took
							 * over as its home) */
	else
		home_of(m->task_id, home);
	if (strcmp(home, f->self) != 0) {
		/* Its home keeps a copy first -- while it is alive.  A home
		 * seen dead keeps nothing: with replicas, one of them takes
		 * over and keeps it (the sender tries again meanwhile);
		 * without, the message is taken without a copy (it outlives
		 * its holder only when the home is there). */
		if (f->env.alive(f->env.arg, home)) {
			copy_out(f, now, m, home, o);
			return;
		}
		if (f->conf.home_failover) {
			f->stats.waits_home++;
			reply(f, now, m, LB__MSG_STATUS__MSG_WAIT, epoch,
			    "its home is gone; a replica takes over", o);
			return;
		}
		take_in(f, now, mb, m, epoch, o);
		return;
	}
	/* Beyond what a home keeps (bounded), it is taken without. */
	if (keep_add(f, now, m->task_id, m->sender, m->seq, m->body.data,
	    m->body.len, o) == -1)
		f->stats.unkept++;
	take_in(f, now, mb, m, epoch, o);
}

/* Into the mailbox, acknowledged, and the path compressed. */
static void
take_in(struct fwd *f, uint64_t now, struct mbox *mb, const Lb__TaskMsg *m,
    uint32_t epoch, struct fwd_out *o)
{
	char		 home[LB_ID_MAX];
	size_t		 hops;

	mail_append(mb, m->sender, m->seq, m->body.data, m->body.len);
	(void)seen_note(f, &mb->seen, m->sender, m->seq, now, 1);
	f->stats.delivered++;
	hops = strcmp(m->origin, f->self) == 0 ? 0 : m->n_path;
	if (hops > 0) {
		f->stats.hops[hops > FWD_HOPS_BUCKETS ? FWD_HOPS_BUCKETS - 1 :
		    hops - 1]++;
		f->stats.hops_sum += hops;
	}
	/* The acknowledgement first: the sender waits on it, the task's
	 * recv (FA_MAIL) can come a moment later. */
	reply(f, now, m, LB__MSG_STATUS__MSG_DELIVERED, epoch, NULL, o);
	out_add(o, FA_MAIL, m->task_id);
	/* Path compression: every peer it passed (the origin hears from
	 * the ack; the home knows from its record) learns where it is. */
	home_of(m->task_id, home);
	for (size_t i = 1; i < m->n_path; i++) {
		Lb__PeerMsg	 pm = LB__PEER_MSG__INIT;
		Lb__TaskLocation l = LB__TASK_LOCATION__INIT;

		if (strcmp(m->path[i], home) == 0 ||
		    strcmp(m->path[i], f->self) == 0)
			continue;
		l.task_id = m->task_id;
		l.host = f->self;
		l.epoch = epoch;
		pm.body_case = LB__PEER_MSG__BODY_TASK_LOCATION;
		pm.task_location = &l;
		out_msg(o, FA_SEND, m->path[i], m->task_id, &pm);
		f->stats.compressions++;
	}
}

/* `m` is at this peer (just arrived, or sent from here): where next. */
static void
route(struct fwd *f, uint64_t now, const Lb__TaskMsg *m, struct fwd_out *o)
{
	struct fwd_where	 w;
	struct link		*l;
	char			 home[LB_ID_MAX];
	char			 why[96];

	memset(&w, 0, sizeof(w));
	f->env.where(f->env.arg, m->task_id, &w);
	switch (w.here) {
	case FWD_HELD:
		deliver(f, now, m, w.epoch, w.home, o);
		return;
	case FWD_MOVING:
		reply(f, now, m, LB__MSG_STATUS__MSG_WAIT, w.epoch,
		    "it is moving", o);
		return;
	case FWD_ENDED:
		/* A retry of one it took before it ended (the ack was lost):
		 * delivered, not refused. */
		if (!m->probe && taken(f, m->task_id, m->sender, m->seq)) {
			f->stats.duplicates++;
			reply(f, now, m, LB__MSG_STATUS__MSG_DUPLICATE, 0, NULL,
			    o);
			return;
		}
		reply(f, now, m, LB__MSG_STATUS__MSG_ENDED, 0, w.state, o);
		return;
	case FWD_AT:
		if (strcmp(w.host, f->self) != 0 &&
		    f->env.alive(f->env.arg, w.host) && !on_path(m, w.host)) {
			pass(f, m, w.host, o);
			f->stats.forwarded++;
			return;
		}
		snprintf(why, sizeof(why), "its host %s is out of reach",
		    w.host);
		reply(f, now, m, LB__MSG_STATUS__MSG_WAIT, 0, why, o);
		return;
	case FWD_NOTHING:
		break;
	}
	if (w.link[0] != '\0')
		fwd_learn(f, now, m->task_id, w.link, w.link_epoch);
	if ((l = link_find(f, m->task_id)) != NULL &&
	    f->env.alive(f->env.arg, l->peer) && !on_path(m, l->peer)) {
		l->used = now;
		pass(f, m, l->peer, o);
		f->stats.forwarded++;
		return;
	}
	home_of(m->task_id, home);
	/* A replica took over for the home, as this peer was told: it
	 * holds the home's records, even once the home is back (it dropped
	 * them).  Not a broadcast to every peer: at 4,096 peers that was
	 * 4,096 messages for each first message to a task of a home that
	 * died (lbsim --moves, doc/scale.md). */
	if (w.home[0] != '\0' && strcmp(w.home, home) != 0 &&
	    strcmp(w.home, f->self) != 0 && f->env.alive(f->env.arg, w.home) &&
	    !on_path(m, w.home)) {
		pass(f, m, w.home, o);
		f->stats.to_acting++;
		return;
	}
	if (strcmp(home, f->self) == 0) {
		reply(f, now, m, LB__MSG_STATUS__MSG_UNKNOWN, 0,
		    "no such task (or forgotten)", o);
		return;
	}
	if (f->env.alive(f->env.arg, home) && !on_path(m, home)) {
		pass(f, m, home, o);
		f->stats.to_home++;
		return;
	}
	/* The chain is broken and the home is out of reach: ask around. */
	locate(f, now, m->task_id, o);
	reply(f, now, m, LB__MSG_STATUS__MSG_WAIT, 0,
	    "looking for it (its home is out of reach)", o);
}

static void
transmit(struct fwd *f, uint64_t now, struct osend *s, struct fwd_out *o)
{
	Lb__TaskMsg	m = LB__TASK_MSG__INIT;
	/* A message delivered here ends its send (and frees s) before
	 * route returns: route works on copies. */
	char		id[FWD_ID_MAX], sender[FWD_ID_MAX];

	if (s->tries++ > 0)
		f->stats.retries++;
	s->due = now + s->backoff;
	s->backoff = s->backoff * 2 > (uint32_t)f->conf.retry_max_ms ?
	    (uint32_t)f->conf.retry_max_ms : s->backoff * 2;
	lb_strlcpy(id, s->id, sizeof(id));
	lb_strlcpy(sender, s->sender, sizeof(sender));
	m.task_id = id;
	m.sender = sender;
	m.seq = s->seq;
	m.body.data = s->body;
	m.body.len = s->len;
	m.origin = f->self;
	m.probe = s->probe;
	m.probe_req = s->probe ? s->handle : 0;
	m.tail = s->tail;
	m.tail_offset = s->tail_offset;
	m.tail_stderr = s->tail_stderr;
	m.checkpoint = s->checkpoint;
	route(f, now, &m, o);
}

/* ---- messages in ---- */

static int
msg_valid(const struct fwd *f, const char *from, const Lb__TaskMsg *m)
{
	if (!fwd_task_valid(m->task_id) || !lb_id_valid(m->origin) ||
	    m->n_path == 0 || m->n_path > FWD_MAX_HOPS ||
	    strcmp(m->path[0], m->origin) != 0 ||
	    strcmp(m->path[m->n_path - 1], from) != 0)
		return 0;
	if (!m->probe && !fwd_sender_valid(m->sender))
		return 0;
	for (size_t i = 0; i < m->n_path; i++)
		if (!lb_id_valid(m->path[i]))
			return 0;
	(void)f;
	return 1;
}

static int
ack_in(struct fwd *f, uint64_t now, const char *from,
    const Lb__TaskMsgAck *a, struct fwd_out *o)
{
	struct osend	*s;

	if (!fwd_task_valid(a->task_id) || !lb_id_valid(a->host) ||
	    a->n_path > FWD_MAX_HOPS || strcmp(a->host, from) != 0) {
		f->stats.drop_invalid++;
		return 0;
	}
	for (size_t i = 0; i < a->n_path; i++)
		if (!lb_id_valid(a->path[i])) {
			f->stats.drop_invalid++;
			return 0;
		}
	s = a->probe_req != 0 ? out_find_probe(f, a->probe_req) :
	    out_find_msg(f, a->task_id, a->sender, a->seq);
	if (s == NULL || strcmp(s->id, a->task_id) != 0)
		return 0;		/* late: it ended already */
	switch (a->status) {
	case LB__MSG_STATUS__MSG_WAIT:
		/* Moving, or being looked for: soon again. */
		if (s->due > now + (uint64_t)f->conf.retry_ms)
			s->due = now + (uint64_t)f->conf.retry_ms;
		return 0;
	case LB__MSG_STATUS__MSG_DELIVERED:
	case LB__MSG_STATUS__MSG_DUPLICATE:
	case LB__MSG_STATUS__MSG_FULL:
	case LB__MSG_STATUS__MSG_TOO_LARGE:
		/* The holder's own word, now: whatever epoch a link says. */
		if (strcmp(a->host, f->self) != 0 && a->epoch > 0)
			link_remove(f, a->task_id);
		fwd_learn(f, now, a->task_id, a->host, a->epoch);
		break;
	case LB__MSG_STATUS__MSG_LOCATED:
		break;		/* a probe looks, and changes nothing */
	case LB__MSG_STATUS__MSG_ENDED:
	case LB__MSG_STATUS__MSG_UNKNOWN:
		link_remove(f, a->task_id);
		break;
	default:
		f->stats.drop_invalid++;
		return 0;
	}
	finish(f, now, s, 1, a, o);
	return 0;
}

int
fwd_recv(struct fwd *f, uint64_t now, const char *from, const Lb__PeerMsg *pm,
    struct fwd_out *o)
{
	switch (pm->body_case) {
	case LB__PEER_MSG__BODY_TASK_MSG:
		if (!msg_valid(f, from, pm->task_msg)) {
			f->stats.drop_invalid++;
			return 0;
		}
		if (on_path(pm->task_msg, f->self) &&
		    pm->task_msg->n_path >= FWD_MAX_HOPS) {
			f->stats.drop_loop++;
			return 0;
		}
		route(f, now, pm->task_msg, o);
		return 0;
	case LB__PEER_MSG__BODY_TASK_MSG_ACK:
		return ack_in(f, now, from, pm->task_msg_ack, o);
	case LB__PEER_MSG__BODY_MAIL_COPY:
		copy_in(f, now, from, pm->mail_copy, o);
		return 0;
	case LB__PEER_MSG__BODY_MAIL_COPY_ACK:
		copy_ack_in(f, now, from, pm->mail_copy_ack, o);
		return 0;
	case LB__PEER_MSG__BODY_TASK_LOCATION: {
		const Lb__TaskLocation *l = pm->task_location;

		/* Only the holder says where it is. */
		if (!fwd_task_valid(l->task_id) || !lb_id_valid(l->host) ||
		    strcmp(l->host, from) != 0) {
			f->stats.drop_invalid++;
			return 0;
		}
		fwd_learn(f, now, l->task_id, l->host, l->epoch);
		return 0;
	}
	case LB__PEER_MSG__BODY_TASK_LOCATE: {
		const Lb__TaskLocate	*q = pm->task_locate;
		Lb__PeerMsg		 r = LB__PEER_MSG__INIT;
		Lb__TaskLocation	 l = LB__TASK_LOCATION__INIT;
		struct fwd_where	 w;

		if (!fwd_task_valid(q->task_id)) {
			f->stats.drop_invalid++;
			return 0;
		}
		memset(&w, 0, sizeof(w));
		f->env.where(f->env.arg, q->task_id, &w);
		if (w.here != FWD_HELD)
			return 0;	/* a move here may yet abort */
		l.task_id = q->task_id;
		l.host = f->self;
		l.epoch = w.epoch;
		l.req_id = q->req_id;
		r.body_case = LB__PEER_MSG__BODY_TASK_LOCATION;
		r.task_location = &l;
		out_msg(o, FA_SEND, from, q->task_id, &r);
		return 0;
	}
	default:
		return -1;
	}
}

/* ---- time ---- */

static struct osend *
out_find_handle(struct fwd *f, uint64_t handle)
{
	for (struct osend *s = f->outbox; s != NULL; s = s->next)
		if (s->handle == handle)
			return s;
	return NULL;
}

void
fwd_tick(struct fwd *f, uint64_t now, struct fwd_out *o)
{
	uint64_t	*due;
	size_t		 n = 0;

	/* A send may end another (one delivered here lets the next of its
	 * sender go, and that one may be delivered here too): pick them by
	 * handle first, then act on those still there. */
	due = lb_calloc(f->nout + 1, sizeof(*due));
	for (struct osend *s = f->outbox; s != NULL; s = s->next)
		if (now >= s->deadline || (s->active && now >= s->due))
			due[n++] = s->handle;
	for (size_t i = 0; i < n; i++) {
		struct osend *s = out_find_handle(f, due[i]);

		if (s == NULL)
			continue;
		if (now >= s->deadline)
			finish(f, now, s, 0, NULL, o);
		else if (s->active && now >= s->due)
			transmit(f, now, s, o);
	}
	free(due);
	if (now < f->swept + SWEEP_MS)
		return;
	f->swept = now;
	links_expire(f, now);
	/* Copies the home never answered, and nobody asks about. */
	for (size_t i = 0; i < PEND_MAX; i++)
		if (f->pend[i].used && now > f->pend[i].sent + PEND_KEEP_MS) {
			free(f->pend[i].body);
			memset(&f->pend[i], 0, sizeof(f->pend[i]));
		}
	/* Home: what it kept for tasks that ended, or that it forgot. */
	for (size_t b = 0; b < f->mbuckets; b++) {
		struct mbox *k = f->keeps[b], *knext;

		for (; k != NULL; k = knext) {
			struct fwd_where w;

			knext = k->next;
			memset(&w, 0, sizeof(w));
			f->env.where(f->env.arg, k->id, &w);
			if (w.here != FWD_ENDED && w.here != FWD_NOTHING)
				continue;
			out_add(o, FA_KEEP, k->id);	/* no msg: none */
			keep_drop(f, k->id);
		}
	}
	/* Mailboxes of tasks that are not held here any more (moved away,
	 * ended, a move here aborted). */
	for (size_t b = 0; b < f->mbuckets; b++) {
		struct mbox *m = f->mboxes[b], *mnext;

		for (; m != NULL; m = mnext) {
			struct fwd_where w;

			mnext = m->next;
			memset(&w, 0, sizeof(w));
			f->env.where(f->env.arg, m->id, &w);
			if (w.here == FWD_HELD || w.here == FWD_MOVING)
				continue;
			if (w.here == FWD_ENDED && m->seen.n > 0)
				seens_copy(&ended_get(f, m->id, 1)->seen,
				    &m->seen);
			fwd_drop(f, m->id);
		}
	}
}

/* ---- life ---- */

struct fwd *
fwd_new(const struct fwd_conf *c, const char *self, const struct fwd_env *env)
{
	struct fwd	*f = lb_calloc(1, sizeof(*f));

	f->conf = *c;
	f->env = *env;
	lb_strlcpy(f->self, self, sizeof(f->self));
	f->lbuckets = pow2(c->max_links);
	f->links = lb_calloc(f->lbuckets, sizeof(*f->links));
	f->mbuckets = pow2(c->max_mailboxes);
	f->mboxes = lb_calloc(f->mbuckets, sizeof(*f->mboxes));
	f->keeps = lb_calloc(f->mbuckets, sizeof(*f->keeps));
	f->seqcap = c->outbox_max * 2 + 1;
	f->seqs = lb_calloc(f->seqcap, sizeof(*f->seqs));
	return f;
}

void
fwd_free(struct fwd *f)
{
	if (f == NULL)
		return;
	for (size_t b = 0; b < f->lbuckets; b++)
		while (f->links[b] != NULL) {
			struct link *l = f->links[b];
			f->links[b] = l->next;
			free(l);
		}
	for (size_t b = 0; b < f->mbuckets; b++) {
		while (f->mboxes[b] != NULL)
			fwd_drop(f, f->mboxes[b]->id);
		while (f->keeps[b] != NULL)
			keep_drop(f, f->keeps[b]->id);
	}
	for (size_t i = 0; i < PEND_MAX; i++)
		free(f->pend[i].body);
	free(f->keeps);
	while (f->outbox != NULL) {
		struct osend *s = f->outbox;
		f->outbox = s->next;
		free(s->body);
		free(s);
	}
	for (size_t i = 0; i < ENDED_MAX; i++)
		free(f->ended[i].seen.v);
	free(f->links);
	free(f->mboxes);
	free(f->seqs);
	free(f);
}

const struct fwd_stats *
fwd_stats(const struct fwd *f)
{
	return &f->stats;
}

size_t
fwd_counts(const struct fwd *f, size_t *mailboxes, size_t *outbox)
{
	if (mailboxes != NULL)
		*mailboxes = f->nmboxes;
	if (outbox != NULL)
		*outbox = f->nout;
	return f->nlinks;
}
