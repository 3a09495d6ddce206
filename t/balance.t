#!/bin/bash
# balance.t - load balancing on a real cluster: a burst at one peer spreads
# over the others, every result recorded once at the home; receiver-initiated
# pulls; none keeps everything home; pin and needs are respected.
. "$top_srcdir/t/lib.sh"

# -- symmetric, 8 peers, a burst of 200 tasks at n1 --
lbcluster up 8 --set slots=1 --set gossip.interval_ms=100 --set balance.policy=symmetric \
    >/dev/null || bail "no cluster"
# (300 ms each: longer than a submit takes on a loaded machine, so that a
# queue builds at n1 -- with 50 ms ones, each could end before the next
# came, and n1 never had one to offer)
ids=$(for i in $(seq 200); do ctl n1 submit -- lbwork --ms 300; done)
is "$(echo "$ids" | wc -l | tr -d ' ')" 200 "200 tasks submitted at n1"
alldone() { [ "$(ctl n1 list --all --json | jq '[.[] | select(.state == "done")] | length')" = 200 ]; }
ms=$(wait_for 120 alldone); ok $? "all 200 are done, as the home records them (${ms} ms)"
j=$(ctl n1 list --all --json)
hosts=$(echo "$j" | jq -r '[.[].host] | unique | length')
ok $([ "$hosts" -ge 6 ]; echo $?) "they ran on $hosts of the 8 peers (at least 6)"
is "$(echo "$j" | jq '[.[] | select(.starts != 1 or .exit_code != 0)] | length')" 0 \
    "each ran exactly once and exited 0"
is "$(echo "$j" | jq '[.[] | select(.epoch > 3)] | length')" 0 "none moved more than max_moves (2)"
moved=$(echo "$j" | jq -r '[.[] | select(.host != "n1")][0].id')
out=$(ctl n5 wait "$moved")
is "$out" "lbwork: done_ms=300 resumes=0 checksum=ok" "wait from another peer gets a moved task's output from the home"
is "$(ctl n1 show --json "$moved" | jq -r '[.hosts[].node] | join(" ")')" \
    "n1 $(ctl n1 show --json "$moved" | jq -r .host)" "show lists every host it visited"
ok $(ctl n1 show --json "$moved" | jq -e '.hosts[0].left_ms > 0 and .hosts[1].arrived_ms >= .hosts[0].left_ms' >/dev/null; echo $?) \
    "with the times it arrived and left"
s=$(ctl n1 stats --json)
ok $(echo "$s" | jq -e '.transfers_out > 0 and .probes_sent > 0 and .transfers_aborted == 0' >/dev/null; echo $?) \
    "lbctl stats at n1: probes and transfers out ($(echo "$s" | jq -c '[.probes_sent, .transfers_out]'))"
tin=0 tout=0
for n in n1 n2 n3 n4 n5 n6 n7 n8; do
	st=$(ctl $n stats --json)
	tin=$((tin + $(echo "$st" | jq .transfers_in)))
	tout=$((tout + $(echo "$st" | jq .transfers_out)))
done
is "$tin" "$tout" "every transfer out was a transfer in somewhere ($tout)"
like "$(ctl n1 stats)" "transfers: +[0-9]+ in, [0-9]+ out, 0 aborted; mean transfer [0-9.]+ ms" "stats for people"

# -- pin and needs --
pinned=$(for i in 1 2 3 4 5 6; do ctl n1 submit --pin n1 -- lbwork --ms 100; done)
for id in $pinned; do ctl n1 wait "$id" >/dev/null; done
is "$(for id in $pinned; do ctl n1 show --json "$id" | jq -r .host; done | sort -u)" n1 \
    "tasks pinned to their busy home never move"
far=$(ctl n1 submit --pin n4 -- sh -c 'echo $LB_NODE')
is "$(ctl n1 wait "$far")" n4 "a task pinned to another node runs there"
out=$(ctl n1 submit --pin n99 -- true 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: --pin n99: there is no node n99" "a pin to no node is refused"
out=$(ctl n1 submit --needs gpu -- true 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: --needs gpu: no live peer has it" "a need no peer has is refused"
# Give n6 a gpu.
sed -i 's/^attributes = \[\];/attributes = ["gpu"];/' "$LBCLUSTER_DIR/n6/peer.conf"
lbcluster restart n6 >/dev/null
gpu() { ctl n1 --json peers | jq -e '.[] | select(.id == "n6" and .state == "alive" and (.attributes | index("gpu")))' >/dev/null; }
wait_for 10 gpu >/dev/null
g=$(for i in 1 2 3; do ctl n1 submit --needs gpu -- sh -c 'echo $LB_NODE'; done)
is "$(for id in $g; do ctl n1 wait "$id"; done | sort -u)" n6 \
    "tasks that need gpu, submitted where there is none, run where it is"
lbcluster down >/dev/null

# -- receiver-initiated: idle peers pull queued tasks from a loaded one --
lbcluster up 4 --set slots=1 --set gossip.interval_ms=100 --set balance.policy=receiver >/dev/null ||
    bail "no cluster"
# (600 ms each: a queue builds at n1 even when a submit is slow)
ids=$(for i in $(seq 20); do ctl n1 submit -- lbwork --ms 600; done)
for id in $ids; do ctl n1 wait "$id" >/dev/null; done
hosts=$(for id in $ids; do ctl n1 show --json "$id" | jq -r .host; done | sort -u | wc -l)
ok $([ "$hosts" -ge 3 ]; echo $?) "receiver: the idle peers pulled tasks ($hosts hosts ran them)"
is "$(ctl n2 stats --json | jq '.probes_sent > 0 and .offers_taken == 0')" true \
    "the idle peers asked (requests), nobody offered"
ok $([ "$(ctl n1 stats --json | jq .requests_served)" -gt 0 ]; echo $?) "and n1 served requests"

# A cancel at a peer that is neither the task's home nor its host: passed on
# to the home, which stops it where it runs.
far=$(ctl n1 submit --pin n2 -- lbwork --ms 30000)
there() { [ "$(ctl n1 show --json "$far" | jq -r '.host + " " + .state')" = "n2 running" ]; }
ms=$(wait_for 10 there); ok $? "a pinned task runs at n2 (${ms} ms)"
out=$(ctl n3 cancel "$far" 2>&1); rc=$?
is "$rc:$out" "0:$far: cancelled" "cancelled from n3: confirmed by its home"
is "$(ctl n3 show --json "$far" | jq -r .state)" cancelled "its home records it cancelled"
stopped() { [ "$(ctl n2 --json status | jq .running)" = 0 ]; }
ms=$(wait_for 10 stopped); ok $? "and n2 stopped it (${ms} ms)"
lbcluster down >/dev/null

# -- none: everything stays home --
lbcluster up 4 --set slots=1 --set gossip.interval_ms=100 --set balance.policy=none >/dev/null ||
    bail "no cluster"
ids=$(for i in $(seq 8); do ctl n1 submit -- lbwork --ms 50; done)
for id in $ids; do ctl n1 wait "$id" >/dev/null; done
is "$(for id in $ids; do ctl n1 show --json "$id" | jq -r .host; done | sort -u)" n1 \
    "policy none: every task runs at home"
is "$(ctl n1 stats --json | jq '.probes_sent + .transfers_out')" 0 "and nothing is polled or sent"

done_testing
