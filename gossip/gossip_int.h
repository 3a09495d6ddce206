/* gossip_int.h - what gossip.c and swim.c share inside the gossip core. */
#ifndef LB_GOSSIP_INT_H
#define LB_GOSSIP_INT_H

#include "gossip.h"

#define SWIM_CONFIRMS_MAX	16	/* probes of members heard suspected */
#define SWIM_RELAYS_MAX		32	/* PingReqs being served for others */
#define SWIM_FANOUT		3	/* peers a new notice is sent to */

/*
 * Where a digest finds its entries in a large table (digest.c): the
 * members whose news came last (rumours are the latest news), those whose
 * heartbeat was refreshed last (the freshest), and the stalest few, kept
 * as news arrives instead of by a pass over the whole table for every
 * digest.  At 10,000 members two passes a round were most of lbsim's time.
 * Tables of at most GOSSIP_RING_FRESH members are passed over as before.
 */
#define GOSSIP_RING_NEWS	64	/* powers of two */
#define GOSSIP_RING_FRESH	512
#define GOSSIP_STALE_KEEP	64
#define GOSSIP_GREW_ROUNDS	8

/* Our own probe of one member: direct, then through helpers. */
struct swim_probe {
	int		active, indirect;
	uint64_t	seq;
	char		id[LB_ID_MAX];
	uint64_t	t_direct, t_end;
	int		expect_nacks, nacks;
};

/* A direct ping of a member someone else suspects: a confirmation. */
struct swim_confirm {
	uint64_t	seq, deadline;
	char		id[LB_ID_MAX];
};

/* A PingReq served for `requester`: ping `target`, relay the ack. */
struct swim_relay {
	uint64_t	seq, orig_seq, deadline;
	char		requester[LB_ID_MAX];
	char		target[LB_ID_MAX];
};

struct gossip {
	struct lb_gossip_conf	 conf;
	struct lb_rng		 rng;
	struct strpool		*pool;	/* the members' strings */
	int			 own_pool;
	struct gossip_member	*m;	/* m[0] is this peer */
	size_t			 n, cap;
	/* The members by id (index.c): open addressing with linear
	 * probing, each slot a member's index + 1 (0: empty); ixcap a power
	 * of two, at least 1.5 times cap. */
	uint32_t		*ix;
	size_t			 ixcap;
	char			**seeds;
	size_t			 nseeds;
	uint64_t		 rounds;
	size_t			 cursor;	/* for digests: entries in turn */
	size_t			*scratch;	/* indices, for random picks */
	size_t			 scratchcap;
	uint64_t		 refused;	/* new members past max_members */
	uint64_t		 deaths;	/* members this peer judged dead */
	size_t			 ndead;		/* members held dead here */
	/* Members suspected here, and when one was last declared dead by
	 * SWIM: the passes that look for either are skipped when there is
	 * none (a table of 10,000 is not walked each probe for nothing). */
	size_t			 nsuspected;
	uint64_t		 swim_dead_ms;
	/* The members the heartbeat ages are scaled for (gossip_age_limit):
	 * those held here, dead aside, counted every round; or, while a
	 * digest is merged, its entries if more (a newcomer's table is small
	 * while the news in a full digest is not). */
	size_t			 age_n;
	/* No member's state changes by age, nor is one forgotten, before
	 * judge_due (a lower bound; 0: judge at the next round), while the
	 * ages stay those it was computed for: the round's pass
	 * over the table is skipped until then.  At 10,000 members the backstop's
	 * ages are minutes, and that pass was half of lbsim's time. */
	uint64_t		 judge_due, judge_suspect, judge_dead;
	/* digest.c: indices of members, the latest last, each with the
	 * news_ms or born_ms it had then; a slot may name a member since
	 * moved or forgotten (each is checked when chosen) */
	uint32_t		 ring_news[GOSSIP_RING_NEWS];
	uint64_t		 ring_news_ms[GOSSIP_RING_NEWS];
	uint32_t		 ring_fresh[GOSSIP_RING_FRESH];
	uint64_t		 ring_fresh_ms[GOSSIP_RING_FRESH];
	uint64_t		 nring_news, nring_fresh;	/* ever put */
	uint32_t		 mark;		/* the digest being made */
	/* The stalest live members, stalest first, with the born_ms each
	 * had then (a member refreshed since is not stale): every live
	 * member not in it has a born_ms of at least stale_thr (UINT64_MAX:
	 * every live member is in it).  stale_ok 0: to be made again. */
	size_t			 stale_idx[GOSSIP_STALE_KEEP];
	uint64_t		 stale_born[GOSSIP_STALE_KEEP];
	size_t			 nstale;
	uint64_t		 stale_thr;
	int			 stale_ok;
	/* Bucket sums of the members held here, dead aside (sums.c), by
	 * the hash's low 10 bits; folded to fewer buckets to be sent. */
	uint32_t		 sum_n[GOSSIP_SUMS_MAX];
	uint32_t		 sum_x[GOSSIP_SUMS_MAX];
	/* A member knows more members than this peer (behind), or the
	 * table grew in the last GOSSIP_GREW_ROUNDS rounds (from `grew`, a
	 * cluster forming, where no one knows all yet): the next push
	 * carries bucket sums. */
	int			 behind;
	uint64_t		 grew;
	size_t			 heard;		/* members the last that knew
						 * more knew */

	/* SWIM (swim.c) */
	uint64_t		 seq;
	const char		**plist;	/* probe order: ids, from
						 * the pool, each held */
	size_t			 plen, pidx, pcap;
	uint64_t		 next_probe;
	struct swim_probe	 probe;
	struct swim_confirm	 confirms[SWIM_CONFIRMS_MAX];
	size_t			 nconfirms;
	struct swim_relay	 relays[SWIM_RELAYS_MAX];
	size_t			 nrelays;
	struct gossip_swim_stats stats;
};

/* index.c: the members by id */
void	gossip_ix_rebuild(struct gossip *);	/* sized for cap */
void	gossip_ix_put(struct gossip *, size_t i);
void	gossip_ix_del(struct gossip *, const char *id);
void	gossip_ix_move(struct gossip *, size_t from, size_t to);

/* digest.c: a digest for the member at `to` (SIZE_MAX: a seed), every
 * entry with `full`; with wants, also the ids to ask the other side for
 * news of (allocated). */
struct gossip_entry *gossip_digest(struct gossip *, size_t to, uint64_t now,
	    int full, const struct gossip_msg *asked,
	    char (**wants)[LB_ID_MAX], size_t *nwants, size_t *np);
/* The same, also every member (in full) of the buckets marked in `want`
 * (nbuckets of them; a member's bucket is sumh & (nbuckets - 1)). */
struct gossip_entry *gossip_digest_buckets(struct gossip *, size_t to,
	    uint64_t now, const struct gossip_msg *asked, const uint8_t *want,
	    size_t nbuckets, size_t *np);

/* Tell the digest's rings: m[i]'s news came now; m[i]'s born_ms rose;
 * m[i] became live (new, or back from the dead); members moved or were
 * forgotten. */
void	gossip_note_news(struct gossip *, size_t i);
void	gossip_note_born(struct gossip *, size_t i);
void	gossip_note_live(struct gossip *, size_t i);
void	gossip_note_moved(struct gossip *);

/* sums.c: bucket sums */
void	gossip_sums_toggle(struct gossip *, const struct gossip_member *,
	    int d);
/* Around a change of a member's incarnation, refute or left. */
void	gossip_sums_out(struct gossip *, const struct gossip_member *);
void	gossip_sums_in(struct gossip *, const struct gossip_member *);
/* Attach this peer's sums, folded to fit its table, to msg. */
void	gossip_sums_attach(struct gossip *, struct gossip_msg *);
/* Mark (want[b] = 1) the buckets of in's sums that differ from ours;
 * how many; 0 if in carries no valid sums. */
size_t	gossip_sums_diff(const struct gossip *, const struct gossip_msg *in,
	    uint8_t *want);

/* gossip.c */
struct gossip_member *gossip_find_mut(const struct gossip *, const char *);
void	gossip_rejudge(struct gossip *, struct gossip_member *, uint64_t now,
	    struct gossip_out *);
struct gossip_msg *gossip_out_msg(struct gossip *, struct gossip_out *,
	    const char *to, int want_reply, struct gossip_entry *, size_t n);
size_t	gossip_pick_live(struct gossip *, size_t *out, size_t max,
	    const char *skip1, const char *skip2);

/* swim.c */
void	swim_member_added(struct gossip *, const char *id);	/* pooled */
void	swim_recv_notices(struct gossip *, uint64_t now, const char *from,
	    const struct gossip_msg *, struct gossip_out *);
void	swim_add_notices(struct gossip *, uint64_t now, struct gossip_msg *);
void	swim_heard_from(struct gossip *, struct gossip_member *,
	    struct gossip_out *);
void	swim_clear(struct gossip *, struct gossip_member *);

#endif
