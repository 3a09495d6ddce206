#!/bin/bash
# homepause.t - a home whose daemon is paused (SIGSTOP) longer than a
# takeover: a replica runs its tasks again, and the copy that ran on the
# paused home itself must not run on meanwhile.  Its process is frozen by
# the lease keeper when the home lease ends (the daemon cannot: it is
# stopped); the home, going on, learns it was taken over and lets it go.
. "$top_srcdir/t/lib.sh"

lbcluster up 4 --set slots=2 --set balance.policy=none --set task.lease_ms=2000 \
    >/dev/null || bail "no cluster"
lbcluster wait 4 >/dev/null || bail "the cluster did not form"

pid_of() { cat "$LBCLUSTER_DIR/$1/pid"; }
D=$TMP/runs
mkdir -p "$D"
# One run appends its pid to runs, and a line to beats every 0.1 s.
id=$(ctl n1 submit -- sh -c "echo \$\$ >>$D/runs; i=0; while [ \$i -lt 150 ]; do echo \$\$ >>$D/beats; sleep 0.1; i=\$((i + 1)); done; echo out")
started() { test -s "$D/runs"; }
wait_for 10 started >/dev/null || bail "the task did not start at n1"
first=$(head -1 "$D/runs")
synced() { ctl n1 --json stats | jq -e '.replicas | .behind == 0 and .committed == .version and .version > 0' >/dev/null; }
wait_for 10 synced >/dev/null

kill -STOP "$(pid_of n1)"
again() { test "$(wc -l <"$D/runs")" -ge 2; }
wait_for 60 again >/dev/null
ok $? "n1 paused: a replica runs its task again"
second=$(sed -n 2p "$D/runs")
pstate() { sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null || echo X; }
is "$(pstate "$first")" T "the copy on n1 is frozen by the lease keeper (its daemon is stopped)"
# (its beats stopped: none of the first copy after the second began)
n0=$(grep -c -x "$first" "$D/beats")
wait_for 5 eval 'test "$(grep -c -x "$second" "$D/beats")" -ge 10' >/dev/null
is "$(grep -c -x "$first" "$D/beats")" "$n0" "and it does not run while the second copy does"

kill -CONT "$(pid_of n1)"
gone() { grep -q "took over this peer's tasks below number" "$LBCLUSTER_DIR/n1/log"; }
wait_for 30 gone >/dev/null
ok $? "n1 goes on: it learns a replica took over"
wait_for 10 eval 'test "$(pstate "$first")" = X' >/dev/null
is "$(pstate "$first")" X "and its copy is gone"
out=$(ctl n3 wait --timeout 60 "$id" 2>&1); rc=$?
is "$rc:$out" "0:out" "the task ends once, read at n3"

done_testing
