#!/bin/bash
# cluster-fuzz-signed.t - 3,000 random PeerMsgs sealed with the cluster's own
# key (lbjunk --signed: every body kind, fields at random, some damaged after
# packing) pass the tag and reach the handlers behind it; the peer stays up,
# answers lbctl, counts what it drops, stays in its cluster and still runs
# a task.
. "$top_srcdir/t/lib.sh"

N=3000
lbcluster up 3 --set gossip.interval_ms=100 >/dev/null || bail "no cluster"
key="$LBCLUSTER_DIR/cluster.key"
[ -r "$key" ] || bail "no key file $key"
pid=$(cat "$LBCLUSTER_DIR/n1/pid")
counters() { ctl n1 --json status | jq '.counters'; }
rx0=$(counters | jq .rx_msgs)
sent=$(lbjunk --signed "$key" --cluster lbcluster --member n9 \
    "$(lbcluster addr n1)" "$N" 7)
is "$sent" "$N" "$N random PeerMsgs, sealed with the cluster key, sent"
read_all() {
	local rx
	rx=$(counters | jq .rx_msgs)
	[ "${rx:-0}" -ge $((rx0 + N)) ]
}
ms=$(wait_for 30 read_all); ok $? "the peer read them all (${ms} ms)"
kill -0 "$pid" 2>/dev/null; ok $? "the peer is still running"
c=$(counters)
auth=$(echo "$c" | jq '.drop_auth + .drop_replay + .drop_cluster + .drop_version')
is "$auth" 0 "none was dropped at the envelope: they passed the tag"
s=$(ctl n1 --json stats)
drops=$(echo "$c $s" | jq -s '.[0].drop_decode + .[1].drop_sender + .[1].drop_invalid + .[1].drop_unknown')
diag "drops behind the tag: decode $(echo "$c" | jq .drop_decode)," \
    "task messages: sender $(echo "$s" | jq .drop_sender)" \
    "invalid $(echo "$s" | jq .drop_invalid) unknown $(echo "$s" | jq .drop_unknown)"
ok $([ "${drops:-0}" -gt 0 ]; echo $?) "the handlers dropped and counted what was bad ($drops)"
# A second sender, the same messages: replays of none, a new sequence.
sent=$(lbjunk --signed "$key" --cluster lbcluster --member n8 \
    "$(lbcluster addr n1)" 1000 8)
is "$sent" 1000 "1,000 more from another sender"
rx0=$((rx0 + N)); N=1000
ms=$(wait_for 30 read_all); ok $? "read too (${ms} ms)"
kill -0 "$pid" 2>/dev/null; ok $? "the peer is still running"
alive() {
	[ "$(ctl n2 --json peers | jq -r '.[] | select(.id == "n1") | .state')" = alive ] &&
	[ "$(ctl n1 --json peers | jq -r '[.[] | select(.id == "n2" or .id == "n3") | .state] | join(" ")')" = "alive alive" ]
}
ms=$(wait_for 10 alive); ok $? "n1 and the others still see each other alive"
out=$(ctl n1 submit --wait -- echo still here 2>&1)
is "$out" "still here" "and n1 still runs a task"

done_testing
