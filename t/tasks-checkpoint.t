#!/bin/bash
# tasks-checkpoint.t - the self-checkpointing convention, locally: signal,
# state written, exit 85, restart with LB_RESUME=1, no work lost or repeated.
. "$top_srcdir/t/lib.sh"

lbcluster up 1 --set slots=2 --set balance.policy=none >/dev/null || bail "no cluster"

# lbwork alone: it checkpoints on the signal and resumes with its state.
export LB_CHECKPOINT_DIR="$TMP/ck"
mkdir -p "$LB_CHECKPOINT_DIR"
lbwork --ms 600 --state-kb 16 >"$TMP/w1" & pid=$!
sleep 0.2; kill -USR1 $pid; wait $pid; rc=$?
is "$rc" 85 "lbwork exits 85 when asked to checkpoint"
out=$(LB_RESUME=1 lbwork --ms 600 --state-kb 16)
is "$out" "lbwork: done_ms=600 resumes=1 checksum=ok" "and resumed, it finishes the rest with its state intact"
printf 'done_ms=100 resumes=0 sum=1\n' >"$LB_CHECKPOINT_DIR/lbwork.state"
out=$(LB_RESUME=1 lbwork --ms 600 --state-kb 16)
like "$out" "checksum=bad" "a corrupt checkpoint is reported as checksum=bad"
unset LB_CHECKPOINT_DIR

# Through lbpeer.
id=$(ctl n1 submit --checkpointable -- lbwork --ms 2000 --state-kb 64)
sleep 0.5
out=$(ctl n1 checkpoint "$id"); rc=$?
like "$rc:$out" "^0:$id: checkpointed and resumed" "lbctl checkpoint: the task checkpoints and resumes"
out=$(ctl n1 wait "$id"); rc=$?
is "$rc:$out" "0:lbwork: done_ms=2000 resumes=1 checksum=ok" \
    "it ends with all its work done once and its state intact"
is "$(ctl n1 show --json "$id" | jq -c '[.starts, .resumes, .checkpoints]')" "[2,1,1]" \
    "show counts 2 starts, 1 resume, 1 checkpoint"

# Twice, and with another signal and exit code.
id=$(ctl n1 submit --checkpointable --checkpoint-signal USR2 --checkpoint-exit-code 86 \
    -- lbwork --ms 2000 --state-kb 8)
sleep 0.3; ctl n1 checkpoint "$id" >/dev/null
sleep 0.3; ctl n1 checkpoint "$id" >/dev/null
out=$(ctl n1 wait "$id")
is "$out" "lbwork: done_ms=2000 resumes=2 checksum=ok" "two checkpoints with SIGUSR2 and exit code 86"

# A task that was not submitted checkpointable.
id=$(ctl n1 submit -- lbwork --ms 3000)
sleep 0.2
out=$(ctl n1 checkpoint "$id" 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: task $id cannot checkpoint" "a task without --checkpointable: exit 1, says why"
ctl n1 cancel "$id" >/dev/null

# A task that ignores the signal keeps running, and the command says so.
id=$(ctl n1 submit --checkpointable -- sh -c 'trap "" USR1; sleep 3; echo survived')
sleep 0.3
out=$(ctl n1 checkpoint --timeout 1 "$id" 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: task $id did not checkpoint within 1 s; it keeps running" \
    "no answer within the grace time: exit 1 and a message"
is "$(ctl n1 show --json "$id" | jq -r .state)" running "and the task is still running"
is "$(ctl n1 wait "$id")" survived "and ends normally"

done_testing
