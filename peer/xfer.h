/*
 * xfer.h - files of any size between peers, and from lbctl to its peer.
 *
 * A task's attachments and checkpoint move apart from its Transfer: the
 * source offers them (xfer_offer fills the Transfer's manifest), and the
 * destination pulls them in chunks (xfer_fetch), a few requests at a time,
 * into a staging directory under state_dir/tasks/.in, checking each file's
 * hash against the source's.  Memory stays at a few chunks on both sides
 * whatever the files weigh, and no message is larger than a chunk.
 *
 * Uploads are the same for a submit: lbctl sends a large attachment to its
 * peer in pieces over the control socket before the submit names it.
 */
#ifndef LB_XFER_H
#define LB_XFER_H

#include <stdint.h>

#include "src/lbpeer.pb-c.h"

#define XFER_CHUNK	(512 * 1024)	/* bytes a ChunkData carries at most */
#define XFER_HASH	32		/* crypto_generichash of a file */

struct peer;

/*
 * A fetch ended: `staged` is its staging directory (attachments in
 * staged/att, the checkpoint in staged/ck), or `error` says why it failed
 * (the staging is gone then).  `msg` is the Transfer's PeerMsg, as given
 * to xfer_fetch, which `arrived_us` (lb_mono_us) called.  What the callback leaves in `staged` is removed after it.
 */
typedef void (*xfer_done_cb)(struct peer *, const char *from, uint64_t inc,
    const Lb__PeerMsg *msg, uint64_t arrived_us, const char *staged,
    const char *error);

/* Where to send to a peer (NULL: not a live member). */
typedef const char *(*xfer_addr_cb)(struct peer *, const char *id);

/* Counters, for lbctl stats. */
struct xfer_stats {
	uint64_t	bytes_in, bytes_out, done;
	uint64_t	failed_hash, failed_source, failed_invalid, failed_disk;
};

int	 xfer_start(struct peer *, xfer_done_cb, xfer_addr_cb, char **cause);
void	 xfer_stop(struct peer *);

#define XFER_CK_COPY	2	/* xfer_offer: a checkpoint copy */
#define XFER_REPLICA	3	/* xfer_offer: attachments to a replica */
#define XFER_REPLICA_OUT 4	/* xfer_offer: output files to a replica */

/* Source: offer the files of task `id` (its attachments as on disk now,
 * and with `ck` every regular file of its checkpoint directory) to peer
 * `to`, and fill the Transfer's manifest, xfer_id and bytes.  With `ck`
 * 2, a copy of its checkpoint for its home: the files of its snapshot
 * (store_snapshot_ck) only, on offer until idle, replacing an earlier
 * copy still on offer.  With `ck` 3 (XFER_REPLICA), its attachments for
 * a member of this home's replica set (repfiles.c), on offer until idle;
 * with 4 (XFER_REPLICA_OUT), its output files likewise. */
int	 xfer_offer(struct peer *, const char *to, const char *id, int ck,
	    Lb__Transfer *, char **cause);
/* Whether attachments (or with `out`, the output files) of task `id` are
 * on offer to replica `to` still (an offer idle for long goes). */
int	 xfer_offered(struct peer *, const char *to, const char *id, int out);
/* Forget that offer (the replica holds them). */
void	 xfer_unoffer(struct peer *, const char *to, const char *id, int out);
/* Forget the offers of a task (it runs here again, or is gone; with
 * `copies`, its checkpoint copies too). */
void	 xfer_drop_task(struct peer *, const char *id, int copies);
/* Forget the offers whose task `keep` says no longer needs them (the
 * move was acknowledged or abandoned). */
void	 xfer_prune(struct peer *, int (*keep)(struct peer *, const char *));
/* A ChunkReq: answered from the offer, if it is for `from`. */
void	 xfer_chunk_req(struct peer *, const char *from, const Lb__ChunkReq *);
/* Called whenever a chunk of task `id`'s offer is served (may be NULL);
 * `whole`: the offer's bytes once every file of it was served to its end,
 * else 0. */
void	 xfer_on_serve(struct peer *, void (*)(struct peer *, const char *id,
	    uint64_t whole));

/* Destination: pull the files a Transfer (or a CheckpointCopy's) names
 * (the PeerMsg is copied);
 * the callback is told of the end.  -1 with *cause when the manifest is
 * refused (nothing staged then). */
int	 xfer_fetch(struct peer *, const char *from, uint64_t inc,
	    const Lb__PeerMsg *, char **cause);
/* Whether a fetch of this offer is in progress. */
int	 xfer_fetching(struct peer *, const char *from, uint64_t xfer_id);
void	 xfer_chunk_data(struct peer *, const char *from,
	    const Lb__ChunkData *);

const struct xfer_stats *xfer_stats(struct peer *);
/* The attachment limit as the configuration names it ("4096 MiB
 * (task.attach_limit_mb)"), in a static buffer. */
const char *xfer_limit_name(struct peer *);

#endif
