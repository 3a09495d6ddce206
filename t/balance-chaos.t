#!/bin/bash
# balance-chaos.t - a host killed while it runs a task that moved there:
# the home runs it again and records one result.  A host killed and back at
# once.  A home that was down when its task's host died notices when it is
# back.  (A destination killed in the middle of a transfer, and every other
# interleaving of losses and crashes, is covered by t/tasks_sim.)
. "$top_srcdir/t/lib.sh"

# A host that dies while it runs a task that moved there.  (A home kept by
# itself alone, task.home_replicas 1: with 3, a home whose two replicas
# are both dead waits for one of them before it acts -- doc/replication.md
# -- and here both are killed in turn.)
lbcluster up 3 --set slots=1 --set gossip.interval_ms=100 --set gossip.suspect_ms=500 \
    --set gossip.dead_ms=1000 --set balance.policy=sender --set task.home_replicas=1 \
    >/dev/null || bail "no cluster"
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
is "$(ctl n1 show --json "$task" | jq -r .state)" done "and recorded one result"
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
