#!/bin/bash
# balance-chaos.t - a destination killed in the middle of a transfer: the
# source keeps the task and it runs exactly once.  A host killed while it
# runs a task that moved there: the home runs it again and records one
# result.  A home that was down when that happened notices when it is back.
. "$top_srcdir/t/lib.sh"

# The destination waits 1.5 s before it acknowledges (a test setting), and
# the source gives up after 3 s: a window in which to kill the destination.
lbcluster up 2 --set slots=1 --set gossip.interval_ms=100 --set balance.policy=sender \
    --set balance.transfer_delay_ms=1500 --set balance.transfer_timeout_ms=3000 \
    >/dev/null || bail "no cluster"
first=$(ctl n1 submit -- lbwork --ms 4000)
sleep 0.2
moving=$(ctl n1 submit -- sh -c 'echo ran on $LB_NODE')
held() { grep -q "task $moving held, from n1" "$LBCLUSTER_DIR/n2/log"; }
ms=$(wait_for 10 held); ok $? "n1 offered $moving to n2, which holds it (${ms} ms)"
lbcluster kill n2
ok $? "n2 is killed before it acknowledges"
out=$(ctl n1 wait --timeout 30 "$moving"); rc=$?
is "$rc:$out" "0:ran on n1" "the transfer is aborted: the task runs at n1"
j=$(ctl n1 show --json "$moving")
is "$(echo "$j" | jq -c '[.state, .host, .starts, .epoch]')" '["done","n1",1,1]' \
    "exactly once, at n1, at its first epoch"
is "$(ctl n1 stats --json | jq '[.transfers_aborted, .transfers_out] | @csv' -r)" "1,0" \
    "stats count one aborted transfer and none out"
ctl n1 cancel "$first" >/dev/null 2>&1
lbcluster down >/dev/null

# A host that dies while it runs a task that moved there.
lbcluster up 3 --set slots=1 --set gossip.interval_ms=100 --set gossip.suspect_ms=500 \
    --set gossip.dead_ms=1000 --set balance.policy=sender >/dev/null || bail "no cluster"
# move_away MS WHAT: keep n1 busy with a pinned task, submit one of MS ms
# there, and wait until it runs elsewhere; sets busy, task and host.
away() { h=$(ctl n1 show --json "$task" | jq -r .host); [ "$h" != n1 ] && [ "$(ctl n1 show --json "$task" | jq -r .state)" = running ]; }
move_away() {
	busy=$(ctl n1 submit --pin n1 -- lbwork --ms 3000)
	sleep 0.2
	task=$(ctl n1 submit -- lbwork --ms "$1")
	ms=$(wait_for 10 away); ok $? "$2 moved and runs elsewhere (${ms} ms)"
	host=$(ctl n1 show --json "$task" | jq -r .host)
}
move_away 2500 "the task"
lbcluster kill "$host"
out=$(ctl n1 wait --timeout 40 "$task"); rc=$?
is "$rc:$out" "0:lbwork: done_ms=2500 resumes=0 checksum=ok" "its host $host killed: the task still finishes"
j=$(ctl n1 show --json "$task")
is "$(echo "$j" | jq -r '.state')" done "the home records one result"
ok $([ "$(echo "$j" | jq -r .host)" != "$host" ]; echo $?) "from a live host ($(echo "$j" | jq -r .host)), at epoch $(echo "$j" | jq .epoch)"
is "$(ctl n1 stats --json | jq .tasks_rerun)" 1 "the home counts one task run again"
ctl n1 wait "$busy" >/dev/null

# A host that is killed and back at once (no one saw it dead): what it held
# in memory is gone, and its new incarnation says so.
move_away 2000 "another task"
lbcluster kill "$host"
lbcluster start "$host" >/dev/null
out=$(ctl n1 wait --timeout 40 "$task"); rc=$?
is "$rc:$out" "0:lbwork: done_ms=2000 resumes=0 checksum=ok" \
    "its host $host restarted at once: the task still finishes"
grep -q "peer $host restarted" "$LBCLUSTER_DIR/n1/log"; ok $? "the home saw the restart"
is "$(ctl n1 stats --json | jq .tasks_rerun)" 2 "and ran the task again"
ctl n1 wait "$busy" >/dev/null

# The home is down when the host of its task dies: back, it notices.
move_away 4000 "a third task"
lbcluster stop n1
lbcluster kill "$host"
lbcluster start n1 >/dev/null
out=$(ctl n1 wait --timeout 40 "$task"); rc=$?
is "$rc:$out" "0:lbwork: done_ms=4000 resumes=0 checksum=ok" \
    "its host died while the home was down: back, the home runs it again"

done_testing
