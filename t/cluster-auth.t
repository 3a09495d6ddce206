#!/bin/bash
# cluster-auth.t - a peer with another key, or another cluster name, never
# enters anyone's membership; its messages are dropped and counted.  A peer
# without secret_file makes its own key: forgeries with the all-zero key
# are refused.
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

# A peer without secret_file makes its own key and authenticates everything
# with it: the all-zero key (what such a peer once used) gets nothing in.
S="$TMP/cluster-solo"
lbcluster --dir "$S" up 1 --prefix s --own-key --set gossip.interval_ms=100 \
    --set gossip.max_members=2 >/dev/null
ok $? "a peer without secret_file starts"
skey="$S/s1/state/cluster.key"
is "$(stat -c %a "$skey" 2>&1)" 600 "it made its own key, state_dir/cluster.key, mode 0600"
is "$(lbcluster --dir "$S" ctl s1 --json status | jq .authenticated)" true \
    "and reports itself authenticated"
grep -q "cluster key: $skey, this peer's own .*made now.*other hosts can join only with a copy" "$S/s1/log"
ok $? "its log names the key file and says other hosts need a copy"
solo_auth() { lbcluster --dir "$S" ctl s1 --json status | jq .counters.drop_auth; }
solo_has_forged() {
	lbcluster --dir "$S" ctl s1 --json peers | jq -e 'any(.[]; .id == "forged")' >/dev/null
}
before=$(solo_auth)
sent=$(lbjunk --forge zero --cluster lbcluster "$(lbcluster --dir "$S" addr s1)" 50)
is "$sent" 50 "50 gossip messages forged with the all-zero key sent"
ms=$(wait_for 10 eval '[ "$(solo_auth)" -ge $((before + 50)) ]')
ok $? "all refused as auth drops (${ms} ms)"
solo_has_forged; ok $((!$?)) "and the forged member is in no table"
# The same forgery with the peer's own key gets in: it was the key alone
# that kept it out.
lbjunk --forge "$skey" --cluster lbcluster "$(lbcluster --dir "$S" addr s1)" 1 >/dev/null
ms=$(wait_for 10 solo_has_forged)
ok $? "the same message sealed with the peer's key is taken (${ms} ms)"
# Its table holds gossip.max_members (here 2: itself and "forged"); more
# newcomers are ignored and counted.
lbjunk --forge "$skey" --cluster lbcluster --member forged2 \
    "$(lbcluster --dir "$S" addr s1)" 3 >/dev/null
refused() { [ "$(lbcluster --dir "$S" ctl s1 --json status | jq .counters.members_refused)" -ge 3 ]; }
ms=$(wait_for 10 refused)
ok $? "a newcomer past gossip.max_members is counted in members_refused (${ms} ms)"
is "$(lbcluster --dir "$S" ctl s1 --json peers | jq -r '[.[].id] | sort | join(" ")')" \
    "forged s1" "and not let into the table"
sum=$(sha256sum <"$skey")
lbcluster --dir "$S" restart s1 >/dev/null
is "$(sha256sum <"$skey")" "$sum" "restarted, the peer keeps its key"
grep -q "cluster key: $skey, .*made at its first start" "$S/s1/log"
ok $? "and reads it back"
done_testing
