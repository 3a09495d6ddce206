#!/bin/bash
# preempt.t - with balance.preempt, a running task that can checkpoint and
# has run its slice yields its slot to a task waiting at its peer that has
# run less: it checkpoints, waits behind it, and goes on from its
# checkpoint, its work exact.  A task that cannot checkpoint keeps its slot.
. "$top_srcdir/t/lib.sh"

lbcluster up 1 --set slots=1 --set balance.policy=none \
    --set balance.preempt=true --set balance.preempt_slice_ms=300 \
    --set task.checkpoint_grace_ms=100 >/dev/null || bail "no cluster"

state() { ctl n1 show --json "$1" | jq -r .state; }
ended_ms() { ctl n1 show --json "$1" | jq -r .finished_at; }

# A long task that can checkpoint runs; a short one comes behind it.
long=$(ctl n1 submit --checkpointable -- lbwork --ms 4000)
wait_for 10 eval 'test "$(state "$long")" = running' >/dev/null || bail "$long never ran"
sleep 0.5
t0=$(now_ms)
short=$(ctl n1 submit -- lbwork --ms 200)
out=$(ctl n1 wait "$short" --timeout 30); rc=$?
t1=$(now_ms)
is "$rc:$out" "0:lbwork: done_ms=200 resumes=0 checksum=ok" "the short task ran"
ok $([ $((t1 - t0)) -lt 2500 ]; echo $?) \
    "it did not wait for the long one to end ($((t1 - t0)) ms; the long one had 3.5 s left)"
out=$(ctl n1 wait "$long" --timeout 30); rc=$?
is "$rc:$out" "0:lbwork: done_ms=4000 resumes=1 checksum=ok" \
    "the long one yielded once, and went on from its checkpoint: its work exact"
ok $([ "$(ended_ms "$short")" -lt "$(ended_ms "$long")" ]; echo $?) "the short one ended first"
is "$(ctl n1 --json stats | jq .yields)" 1 "lbctl stats --json counts the yield"
ctl n1 stats | grep -q '^preempted: *1 running tasks yielded their slot'
ok $? "lbctl stats says so"
grep -q "task $long checkpointed after [0-9]* ms of run; it waits behind $short (preemption)" \
    "$LBCLUSTER_DIR/n1/log"
ok $? "the log says which task it yielded to"

# A task that cannot checkpoint keeps its slot.
plain=$(ctl n1 submit -- lbwork --ms 1500)
wait_for 10 eval 'test "$(state "$plain")" = running' >/dev/null || bail "$plain never ran"
short=$(ctl n1 submit -- lbwork --ms 100)
ctl n1 wait "$short" --timeout 30 >/dev/null
ok $([ "$(ended_ms "$plain")" -le "$(ended_ms "$short")" ] 2>/dev/null; echo $?) \
    "a task that cannot checkpoint is not preempted: the short one waits for it"
is "$(ctl n1 --json stats | jq .yields)" 1 "and no yield was asked of it"

done_testing
