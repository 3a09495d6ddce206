#!/bin/bash
# rerun-ck.t - a checkpoint its home never got is no checkpoint.  A task of
# n1's yields its slot at its host n2 with a checkpoint (no copy goes home)
# and resumes there; n2 dies, n1 runs
# it again from the start; still waiting at n1, it is moved to n3: it must
# start there from the beginning and end with its one right result (it
# was started with LB_RESUME=1 and no checkpoint, and said checksum=bad:
# lbchaos, seed 7).
. "$top_srcdir/t/lib.sh"

lbcluster up 3 --set slots=1 --set balance.policy=none --set task.lease_ms=2000 \
    --set balance.preempt=true --set balance.preempt_slice_ms=100 \
    >/dev/null || bail "no cluster"
lbcluster wait 3 >/dev/null || bail "the cluster did not form"

state() { ctl n1 --json show "$1" | jq -r '.state + " " + .host'; }
blocker=$(ctl n1 submit -- sleep 120)
wait_for 10 eval 'test "$(state "$blocker")" = "running n1"' >/dev/null
# (12 s: it must still run at n2 when n2 is killed, on a loaded machine
# too; with 4 s it once ended there first)
id=$(ctl n1 submit --checkpointable -- lbwork --ms 12000 --state-kb 16)
out=$(ctl n1 migrate "$id" --to n2 2>&1); rc=$?
is "$rc:$out" "0:$id: moved to n2 (it was waiting)" "the task waits at n1 behind another; moved to n2"
wait_for 10 eval 'test "$(state "$id")" = "running n2"' >/dev/null
# (once lbwork catches SIGUSR1: before, the signal would kill it)
catches() {
	local p m
	for p in $(pgrep -x lbwork); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "LB_TASK_ID=$id" || continue
		m=$(awk '/^SigCgt:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		[ -n "$m" ] && (( 0x$m & 512 )) && return 0
	done
	return 1
}
wait_for 10 catches >/dev/null
# A task of n2's own, which has run less, takes the slot: n1's yields
# (it checkpoints, and its home gets no copy of that), then resumes.
short=$(ctl n2 submit -- sleep 0.5)
yielded() { grep -q "task $id checkpointed after .* it waits behind $short (preemption)" "$LBCLUSTER_DIR/n2/log"; }
wait_for 20 yielded >/dev/null
ok $? "it yields its slot at n2 to a task of n2's, with a checkpoint"
resumed() { grep -q "task $id started (resumed from its checkpoint)" "$LBCLUSTER_DIR/n2/log"; }
wait_for 20 resumed >/dev/null
ok $? "and resumes there from it"
counted() { test "$(ctl n1 --json show "$id" | jq .checkpoints)" -ge 1; }
wait_for 10 counted >/dev/null
ok $? "n1 hears of the checkpoint (its count), not of its files: $(ctl n1 --json show "$id" | jq -c '{checkpoints, home_checkpoint}')"

lbcluster kill n2 >/dev/null
again() { grep -q "task $id: its host is gone.*running it again here" "$LBCLUSTER_DIR/n1/log"; }
wait_for 30 again >/dev/null
ok $? "n2 killed: n1 runs it again, from the start (it has no copy)"
is "$(state "$id")" "queued n1" "it waits at n1 (its slot is taken)"
out=$(ctl n1 migrate "$id" --to n3 2>&1); rc=$?
is "$rc:$out" "0:$id: moved to n3 (it was waiting)" "moved on to n3"
out=$(ctl n1 wait "$id"); rc=$?
is "$rc:$out" "0:lbwork: done_ms=12000 resumes=0 checksum=ok" \
    "it ran from the beginning at n3, its result right"
ctl n1 cancel "$blocker" >/dev/null

done_testing
