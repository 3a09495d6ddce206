/* peer.h - the lbpeer daemon: the I/O shell around the cores. */
#ifndef LB_PEER_H
#define LB_PEER_H

#include <stdint.h>

#include <event2/event.h>

#include "src/conf.h"
#include "src/envelope.h"
#include "src/lbpeer.pb-c.h"
#include "src/log.h"
#include "src/util.h"
#include "gossip/gossip.h"

/* Counters of traffic, as `lbctl status` shows them. */
struct peer_counters {
	uint64_t	rx_msgs, rx_bytes, tx_msgs, tx_bytes, tx_drop;
	uint64_t	drop[ENV_NVERDICTS];	/* by env_verdict */
};

struct net;
struct ctl;
struct exec;
struct balancer;
struct store;
struct glue;
struct tasks;
struct drain;
struct xfer;
struct uploads;
struct http;
struct msgs;
struct replicas;

struct peer {
	struct lb_conf		 conf;
	struct event_base	*base;
	struct env_ctx		 env;
	uint64_t		 incarnation;
	uint64_t		 started_ms;	/* monotonic */
	struct lb_rng		 rng;
	struct peer_counters	 counters;
	struct net		*net;
	struct ctl		*ctl;
	struct gossip		*gossip;
	struct gossip_out	 gout;
	struct event		*gossip_ev;
	struct event		*swim_ev;	/* failure detector's timer */
	uint64_t		 swim_refutes;	/* logged so far */
	struct event		*sig_ev[3];
	struct event		*exit_ev;
	int			 leaving;
	int			 stopping;	/* a signal: drain, then leave */
	uint32_t		 load_extra;	/* lbctl debug load */
	struct tasks		*tc;		/* the task core */
	struct glue		*glue;		/* glue.c */
	struct store		*store;		/* store.c */
	struct exec		*ex;		/* exec.c */
	struct balancer		*bal;		/* balancer.c */
	struct drain		*drain;		/* drain.c */
	struct xfer		*xfer;		/* xfer.c */
	struct uploads		*uploads;	/* upload.c */
	struct http		*http;		/* http.c */
	struct msgs		*msgs;		/* msgs.c */
	struct replicas		*reps;		/* replicas.c */
	struct repfiles		*repfiles;	/* repfiles.c */
	struct reads		*reads;		/* reads.c */
	struct cluster		*cluster;	/* cluster.c */
	/* This peer's figures (lbctl stats): set by the control layer,
	 * used by the cluster's listing (so that calls run one way). */
	void			(*stats_fill)(struct peer *, Lb__CtlStats *);
	/* control.c: answer request `token`, which waited (msgs.c). */
	void			(*ctl_later)(struct peer *, uint64_t token,
				    Lb__CtlReply *);
	void			(*on_peer)(struct peer *, const char *id,
				    int restarted, uint64_t incarnation);
	int			(*on_move)(struct peer *, const char *task,
				    const char *to, uint64_t req_id);
	void			(*on_msg)(struct peer *, const Lb__Envelope *);
};

/* net.c: the peer-to-peer transport (NN_PULL in, one NN_PUSH per peer);
 * it knows no message type: what passes the envelope's checks goes to
 * `on_msg`. */
int	 net_open(struct peer *, void (*on_msg)(struct peer *,
	    const Lb__Envelope *), char **cause);
void	 net_close(struct peer *);
/* The largest datagram a peer takes (NN_RCVMAXSIZE). */
size_t	 net_max_message(const struct lb_conf *);
/* Seal a PeerMsg and send it to addr; lossy (the protocols retry). */
void	 net_send(struct peer *, const char *addr, const Lb__PeerMsg *);
/* The same for a packed PeerMsg. */
void	 net_send_bytes(struct peer *, const char *addr, const uint8_t *,
	    size_t);
/* Close push sockets unused for idle_ms. */
void	 net_reap(struct peer *, uint64_t idle_ms);

/* control.c: the control API on the ipc:// socket. */
int	 ctl_open(struct peer *, char **cause);
void	 ctl_close(struct peer *);
/* Answer one request as the socket would (the HTTP API asks so); the
 * reply borrows the peer's strings: free it with ctl_answer_free. */
void	 ctl_answer(struct peer *, const Lb__CtlRequest *, Lb__CtlReply *);
void	 ctl_answer_free(Lb__CtlReply *);

/* msgs.c: messages to tasks, the shell around forwarding/. */
int	 msgs_start(struct peer *, char **cause);
/* After the task core started: the mailboxes kept by the last stop. */
void	 msgs_restore(struct peer *);
/* Home: `id` starts over here; its mailbox is what the home kept. */
void	 msgs_replay(struct peer *, const char *id, int from_start);
/* Whether the last stop was clean (it kept the mailboxes); whether this
 * home keeps copies of messages to `id` that no checkpoint it has took. */
int	 msgs_stopped_cleanly(struct peer *);
int	 msgs_kept_unmarked(struct peer *, const char *id);
/* Kept messages to this home's replica set: `all`, every task's (at start,
 * once the set is known); else those of tasks this peer took over (their
 * files moved here from a replica's copies), into the core first. */
void	 msgs_keeps_sync(struct peer *, int all);
/* Held here, `id` checkpointed: what it had taken from its mailbox, into
 * `cc` (free with msgs_consumed_free). */
void	 msgs_consumed(struct peer *, const char *id, Lb__CheckpointCopy *cc);
void	 msgs_consumed_free(Lb__CheckpointCopy *cc);
/* Home: a checkpoint of `id` is here now (`cc`: a copy that says what the
 * task had taken; NULL: its own, taken here). */
void	 msgs_checkpointed(struct peer *, const char *id,
	    const Lb__CheckpointCopy *cc);
/* Keeps the mailboxes that hold messages in state_dir (before the task
 * core stops). */
void	 msgs_stop(struct peer *);
/* TaskMsg, TaskMsgAck, TaskLocation, TaskLocate from peer `from`. */
void	 msgs_recv(struct peer *, const char *from, const Lb__PeerMsg *);
/* A task's mailbox goes with it: into a Transfer or a TaskReturn leaving
 * (what its mailbox took, into a result), and out of one that arrived
 * once the task core took it. */
void	 msgs_attach(struct peer *, const char *id, Lb__PeerMsg *);
void	 msgs_arrived(struct peer *, const char *id, const Lb__PeerMsg *);
/* The control requests msgs.c answers (send, recv, locate, tail, and
 * checkpoint of a task not running here). */
int	 msgs_wants(struct peer *, const Lb__CtlRequest *);
/* 1: it answers request `token` through p->ctl_later (maybe at once);
 * 0: the answer is in *r now (an error). */
int	 msgs_ctl(struct peer *, const Lb__CtlRequest *, uint64_t token,
	    Lb__CtlReply *r);
void	 msgs_stats(struct peer *, Lb__CtlStats *);
/* Where task `id` is, for the page: 0 and *out (the answer to the latest
 * locate, which is asked again when older than a second), 1 while the
 * first is under way, -1 for a malformed id. */
#define MSGS_LOC_HOPS	16
struct msgs_loc {
	char		 host[LB_ID_MAX];
	uint32_t	 epoch;
	char		 state[24];
	char		 error[96];
	size_t		 nhops;
	char		 hops[MSGS_LOC_HOPS][LB_ID_MAX];
};
int	 msgs_locate(struct peer *, const char *id, struct msgs_loc *out);

/* http.c: the setting http: Prometheus metrics, the read-only JSON of
 * lbctl --json (peers, tasks, stats, show) and the live page over HTTP.  A port in use is an
 * error with the setting's FILE:LINE. */
int	 http_open(struct peer *, char **cause);
void	 http_close(struct peer *);

/* members.c: the shell around the gossip core; a peer seen dead, left or
 * back at a new incarnation is reported through `on_peer`. */
void	 members_start(struct peer *);
void	 members_on_peer(struct peer *, void (*)(struct peer *, const char *,
	    int restarted, uint64_t incarnation));
void	 members_recv(struct peer *, const char *from, const Lb__Gossip *);
/* The failure detector's messages (Ping, PingAck, PingReq): 1 when the
 * envelope held one (taken here), 0 for any other body. */
int	 members_dispatch(struct peer *, const Lb__Envelope *);
void	 members_leave(struct peer *);
/* Say in this peer's entry that it drains (or no longer does). */
void	 members_set_draining(struct peer *, int);
/* The load (running plus waiting tasks) to advertise. */
void	 members_set_load(struct peer *, uint32_t);
void	 members_set_tasks(struct peer *, uint32_t running, uint32_t waiting);
uint32_t members_load(struct peer *);
/* The address of a live member (NULL if unknown, dead or left); *state
 * names its state ("unknown" when it is not a member). */
const char *members_addr(struct peer *, const char *id, const char **state);
/* gossip.dead_ms as it applies with the members known now (it grows past
 * 64 members: gossip_age_limit). */
uint64_t members_dead_ms(struct peer *);
/* The protocol level a member announces (0: unknown, or before levels). */
uint32_t members_level(struct peer *, const char *id);
void	 members_stop(struct peer *);

/* state.c: state_dir. */
int	 state_open(struct peer *, char **cause);
/* The key file of a peer without secret_file (malloc'd). */
#define STATE_KEY_FILE	"cluster.key"
char	*state_key_path(const struct lb_conf *);
/* Read that key, making it first (random, 0600) if it is not there. */
int	 state_key(struct peer *, unsigned char key[LB_KEY_BYTES], int *made,
	    char **cause);

/* balancer.c: the shell around the balancing core.  A task to move is
 * handed to `on_move` (the task core freezes and transfers it). */
void	 balancer_start(struct peer *);
void	 balancer_stop(struct peer *);
void	 balancer_on_move(struct peer *, int (*)(struct peer *, const char *,
	    const char *, uint64_t));
/* Something changed (a task arrived or ended): look again soon. */
void	 balancer_kick(struct peer *);
void	 balancer_recv(struct peer *, const char *from, const Lb__PeerMsg *);
/* A task arrived: a reservation made for it is used up. */
void	 balancer_arrived(struct peer *);
void	 balancer_stats(struct peer *, Lb__CtlStats *);
/* A draining peer takes no task, asks for none, and moves every task it
 * has (but one pinned here) as a task that cannot run here. */
void	 balancer_set_draining(struct peer *, int);

/* drain.c: lbctl drain and SIGTERM.  drain_start's timeout_s -1: the
 * setting drain_timeout_s; asked again while draining, a new timeout. */
int	 drain_start(struct peer *, int timeout_s, char **cause);
/* 0, or 1 when it was not draining, or -1 and *cause. */
int	 drain_stop(struct peer *, char **cause);
/* Drain (unless draining already), then call on_done once nothing is
 * held here (SIGTERM: then leave). */
void	 drain_then(struct peer *, int timeout_s, void (*)(struct peer *));
int	 drain_active(struct peer *);
uint64_t drain_count(struct peer *);
/* How the drain goes, for lbctl; free with drain_report_free. */
void	 drain_report(struct peer *, Lb__CtlDrain *);
void	 drain_report_free(Lb__CtlDrain *);
void	 drain_free(struct peer *);

#endif
