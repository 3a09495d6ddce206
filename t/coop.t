#!/bin/bash
# coop.t - two co-operating tasks talk by id (liblbtask) while they move:
# one asks 1..N and waits for each answer, the other answers each message
# to its sender.  The balancer places the second away from the first, and
# both are migrated back and forth during the exchange; every question is
# answered once, in order.
. "$top_srcdir/t/lib.sh"

lbcluster up 3 --set slots=1 --set balance.policy=sender \
    --set task.checkpoint_timeout_ms=5000 >/dev/null || bail "no cluster"
lbcluster wait 3 >/dev/null || bail "the cluster did not form"

host_of() { ctl n1 show --json "$1" | jq -r '.state + " " + .host'; }
srv=$(ctl n1 submit --checkpointable -- pingpong serve 100) || bail "submit"
ask=$(ctl n1 submit --checkpointable -- pingpong ask "$srv" 100 40) || bail "submit"
moved() { h=$(host_of "$ask"); [ "${h%% *}" = running ] && [ "${h#* }" != n1 ]; }
ms=$(wait_for 20 moved); ok $? "the balancer moved the second task away from the busy n1 (${ms} ms)"
diag "server at $(host_of "$srv"), asker at $(host_of "$ask")"

# Move both now and then while they talk, each to the peer with no task
# (slots = 1: two on one peer would wait for each other).
at() { h=$(host_of "$1"); echo "${h#* }"; }
moves=0
for round in 1 2 3; do
	sleep 0.5
	a=$(at "$srv"); b=$(at "$ask")
	for free in n1 n2 n3; do [ $free != "$a" ] && [ $free != "$b" ] && break; done
	ctl n1 migrate "$srv" --to $free --timeout 20 >/dev/null 2>&1 && moves=$((moves + 1))
	sleep 0.3
	ctl n1 migrate "$ask" --to "$a" --timeout 20 >/dev/null 2>&1 && moves=$((moves + 1))
done
diag "$moves moves while they talked"
ok "$([ $moves -ge 3 ] && echo 0 || echo 1)" "they moved while they talked ($moves moves)"
out=$(ctl n1 wait "$ask" --timeout 120); rc=$?
is "$rc:$out" "0:asked=100 answers=100 inorder=yes" "each of 100 questions answered once, in order"
out=$(ctl n1 wait "$srv" --timeout 60); rc=$?
is "$rc:$out" "0:served=100" "and the server answered 100"

done_testing
