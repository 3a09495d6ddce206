#!/bin/bash
# cluster-fuzz.t - 10,000 random byte strings sent to a peer's listen address
# leave it running and its membership unchanged.
. "$top_srcdir/t/lib.sh"

lbcluster up 3 --set gossip.interval_ms=100 >/dev/null || bail "no cluster"
before=$(ctl n1 --json peers | jq -r '[.[] | "\(.id)/\(.state)/\(.incarnation)"] | sort | join(" ")')
pid=$(cat "$LBCLUSTER_DIR/n1/pid")
sent=$(lbjunk "$(lbcluster addr n1)" 10000 42)
is "$sent" 10000 "10,000 random byte strings sent"
# Wait until the peer has read them all (they are counted as drops).
dropped() {
	local c
	c=$(ctl n1 --json status | jq '.counters | .drop_size + .drop_auth + .drop_decode + .drop_version + .drop_cluster + .drop_replay')
	[ "${c:-0}" -ge 10000 ]
}
ms=$(wait_for 20 dropped); ok $? "all of them were dropped and counted (${ms} ms)"
kill -0 "$pid" 2>/dev/null; ok $? "the peer is still running"
after=$(ctl n1 --json peers | jq -r '[.[] | "\(.id)/\(.state)/\(.incarnation)"] | sort | join(" ")')
is "$after" "$before" "its membership is unchanged"
is "$(ctl n2 --json peers | jq -r '.[] | select(.id == "n1") | .state')" alive \
    "and the others still see it alive"

lines=$(grep -c "dropped a" "$LBCLUSTER_DIR/n1/log")
ok $([ "$lines" -lt 200 ]; echo $?) "the log of drops is rate limited ($lines lines for 10,000)"

done_testing
