#!/bin/bash
# cluster-auth.t - a peer with another key, or another cluster name, never
# enters anyone's membership; its messages are dropped and counted.
. "$top_srcdir/t/lib.sh"

lbcluster up 4 --set gossip.interval_ms=100 >/dev/null || bail "no cluster"
seeds=$(for n in n1 n2 n3 n4; do lbcluster addr $n; done | paste -sd, -)

# An intruder with its own key, seeding at every member of the cluster.
lbcluster --dir "$TMP/cluster-x" up 2 --prefix x --cluster lbcluster \
    --seeds "$seeds" --set gossip.interval_ms=100 >/dev/null
ok $? "a second cluster (x1, x2) with another key starts beside it"
# Same key, another cluster name.
lbcluster --dir "$TMP/cluster-y" up 1 --prefix y --cluster other \
    --key "$LBCLUSTER_DIR/cluster.key" --seeds "$seeds" \
    --set gossip.interval_ms=100 >/dev/null
ok $? "a peer with the right key but another cluster name starts"

# Let them gossip at the cluster for a while (30 rounds).
sleep 3
leak=""
for n in n1 n2 n3 n4; do
	leak="$leak$(ctl $n --json peers | jq -r '.[] | select(.id | test("^[xy]")) | .id')"
done
is "$leak" "" "no intruder appears in any member's table"
is "$(ctl n1 --json status | jq .alive)" 4 "the cluster still counts exactly 4"
xs=$(lbcluster --dir "$TMP/cluster-x" ctl x1 --json peers | jq -r '[.[].id] | sort | join(" ")')
is "$xs" "x1 x2" "and the intruders learned nothing of it"
auth=0 clus=0
for n in n1 n2 n3 n4; do
	s=$(ctl $n --json status)
	auth=$((auth + $(echo "$s" | jq .counters.drop_auth)))
	clus=$((clus + $(echo "$s" | jq .counters.drop_cluster)))
done
ok $([ $auth -gt 0 ]; echo $?) "messages with the wrong key were dropped and counted ($auth)"
ok $([ $clus -gt 0 ]; echo $?) "messages from the other cluster were dropped and counted ($clus)"
grep -q "dropped a .*auth" "$LBCLUSTER_DIR"/n*/log; ok $? "and logged"
done_testing
