#!/bin/bash
# disk.t - a task that fills the disk never takes its peer down.  With
# n1's state_dir on a tmpfs of 160 MiB (as root): a task that writes more than
# task.disk_limit_mb is stopped and fails, saying so; a task that fills the
# whole disk at once ends (its own writes fail) and the peer runs on: its
# journal holds space ahead, it refuses new tasks while the disk is below
# task.disk_reserve_mb, and takes them again once there is room.
. "$top_srcdir/t/lib.sh"

skip_all() { echo "1..0 # SKIP $*"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip_all "not root: the test mounts a small tmpfs"
mkdir "$TMP/probe"
mount -t tmpfs -o size=1m lbdisk "$TMP/probe" 2>/dev/null ||
    skip_all "cannot mount a tmpfs here"
umount "$TMP/probe"

lbcluster up 2 --set slots=16 --set balance.policy=none \
    --set task.disk_limit_mb=20 --set task.disk_reserve_mb=40 >/dev/null ||
    bail "no cluster"
# n1's state_dir on a tmpfs of 160 MiB of its own.
S="$LBCLUSTER_DIR/n1/state"
lbcluster stop n1 >/dev/null
mv "$S" "$S.orig" && mkdir "$S" && mount -t tmpfs -o size=160m,mode=0700 lbdisk "$S" &&
    cp -a "$S.orig/." "$S/" || bail "cannot put n1's state on a tmpfs"
trap 'lbcluster down >/dev/null 2>&1; umount -l "$S"; cleanup' EXIT
lbcluster start n1 >/dev/null || bail "n1 did not start again"
wait_for 20 eval 'test "$(state_of n2 n1)" = alive' >/dev/null || bail "n2 does not see n1"

# Over its limit, written a MiB at a time: stopped, failed, said why.
id=$(ctl n1 submit -- sh -c 'i=0; while [ $i -lt 100 ]; do
	head -c 1048576 /dev/zero >>big; i=$((i + 1)); sleep 0.05; done
	echo wrote it all') || bail "submit refused"
out=$(ctl n1 wait --timeout 60 "$id" 2>&1)
like "$out" "task $id failed: it used more than task.disk_limit_mb \(20 MiB\) of its peer's disk" \
    "a task over task.disk_limit_mb is stopped, and fails saying so"
is "$(ctl n1 show --json "$id" | jq -r .state)" failed "show says failed"
ok $(test -e "$LBCLUSTER_DIR/n1/pid" && kill -0 "$(cat "$LBCLUSTER_DIR/n1/pid")"; echo $?) "n1 runs on"
is "$(ctl n1 submit --wait -- echo next)" next "and runs the next task"

# The whole disk at once, while 12 other tasks run: the task's own writes
# fail; the others end, and their records go to a journal on a full disk
# (it holds space ahead); the peer runs on.
id=$(ctl n1 submit --pin n1 -- sh -c "while [ ! -e '$TMP/go' ]; do sleep 0.1; done
	head -c 300000000 /dev/zero >'$S/filler'; echo \"exit \$?\"") || bail "submit refused"
ids=()
for i in $(seq 12); do
	ids+=("$(ctl n1 submit --pin n1 -- sh -c "while [ ! -e '$TMP/go' ]; do sleep 0.1; done
	    sleep 2; echo task $i $(printf '%0200d' 0)")") || bail "submit refused"
done
running() { [ "$(ctl n1 --json status | jq .running)" -ge 13 ]; }
wait_for 30 running >/dev/null || bail "the 13 tasks do not all run"
touch "$TMP/go"
out=$(ctl n1 wait --timeout 60 "$id" 2>&1); rc=$?
like "$out" "exit 1" "a task that fills the disk (outside its own directory) ends: its writes failed"
done=0
for t in "${ids[@]}"; do
	ctl n1 wait --timeout 60 "$t" >/dev/null 2>&1
	[ "$(ctl n1 show --json "$t" | jq -r .state)" = done ] && done=$((done + 1))
done
is "$done" 12 "the 12 others end, done, on a full disk"
ok $(kill -0 "$(cat "$LBCLUSTER_DIR/n1/pid")"; echo $?) "n1 runs on, its journal intact"
short() { ! ctl n1 submit -- true >/dev/null 2>&1; }
wait_for 10 short >/dev/null
out=$(ctl n1 submit -- true 2>&1); rc=$?
like "$rc:$out" "^1:.*the disk of this peer is (nearly )?full" \
    "with the disk below task.disk_reserve_mb, it refuses new tasks, saying why"
is "$(ctl n2 submit --wait -- echo elsewhere)" elsewhere "another peer takes them"
rm -f "$S/filler"
room() { ctl n1 submit -- true >/dev/null 2>&1; }
ms=$(wait_for 10 room); ok $? "room again: n1 takes tasks again (${ms} ms)"
before=$(ctl n1 list --all --json | jq -c '[.[] | [.id, .state]]')
lbcluster restart n1 >/dev/null || bail "n1 did not restart"
is "$(ctl n1 list --all --json | jq -c '[.[] | [.id, .state]]')" "$before" \
    "restarted, n1 reads its whole journal back"

done_testing
