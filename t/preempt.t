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

# Across peers: a slot whose task would yield counts as free in the load
# others see and in the answer to an offer, so a new task is sent there.
# n1's one slot holds a task that cannot checkpoint, n2's one that can; a
# short task submitted at n1 goes to n2, which yields to it.
export LBCLUSTER_DIR="$TMP/cluster2"
lbcluster up 2 --set slots=1 --set balance.policy=symmetric \
    --set balance.preempt=true --set balance.preempt_slice_ms=300 \
    --set task.checkpoint_grace_ms=100 >/dev/null || bail "no second cluster"
wait_for 10 eval 'test "$(state_of n1 n2)" = alive' >/dev/null || bail "n1 never saw n2"
state2() { ctl "$1" show --json "$2" | jq -r .state; }
plain=$(ctl n1 submit --pin n1 -- lbwork --ms 5000)
long=$(ctl n2 submit --pin n2 --checkpointable -- lbwork --ms 5000)
wait_for 10 eval 'test "$(state2 n1 "$plain")" = running' >/dev/null || bail "$plain never ran"
wait_for 10 eval 'test "$(state2 n2 "$long")" = running' >/dev/null || bail "$long never ran"
sleep 1
t0=$(now_ms)
short=$(ctl n1 submit -- lbwork --ms 200)
out=$(ctl n1 wait "$short" --timeout 30); rc=$?
t1=$(now_ms)
is "$rc:$out" "0:lbwork: done_ms=200 resumes=0 checksum=ok" "the short task ran"
is "$(ctl n1 show --json "$short" | jq -r .host)" n2 \
    "it was sent to n2, whose running task would yield (its load counted it free)"
ok $([ $((t1 - t0)) -lt 3000 ]; echo $?) \
    "it did not wait for either long task ($((t1 - t0)) ms; they had 4 s left)"
is "$(ctl n2 --json stats | jq .yields)" 1 "n2 yielded its slot once"
is "$(ctl n2 wait "$long" --timeout 30)" "lbwork: done_ms=5000 resumes=1 checksum=ok" \
    "and the task that yielded ended with its work exact"

done_testing
