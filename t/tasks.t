#!/bin/bash
# tasks.t - (balancing off: the executor of one peer) tasks run exactly as submitted: argv, env, files, exit codes,
# signals, output limits, slots; wait and show from any peer; bad input.
. "$top_srcdir/t/lib.sh"

lbcluster up 2 --set slots=2 --set task.output_limit_kb=64 --set balance.policy=none \
    --set task.attach_limit_kb=256 >/dev/null || bail "no cluster"
sub() { ctl n1 submit "$@"; }

# argv arrives exactly: spaces, quotes, empty strings, non-ASCII, dashes.
out=$(ctl n1 submit --wait -- printf '[%s]\n' "a b" "q\"uo'te" "" "héllo ünï 中文" "--" "-x" '$HOME')
want=$(printf '[%s]\n' "a b" "q\"uo'te" "" "héllo ünï 中文" "--" "-x" '$HOME')
is "$out" "$want" "argv arrives exactly (spaces, quotes, empty, non-ASCII, dashes)"

# env: what was given, lbpeer's own, and nothing of the submitter's.
export LB_TEST_SUBMITTER_SECRET=leak
id=$(sub --env FOO=bar --env 'SP=a b' --env 'EQ=x=y' -- env)
out=$(ctl n1 wait "$id")
echo "$out" | grep -qx 'FOO=bar' && echo "$out" | grep -qx 'SP=a b' && echo "$out" | grep -qx 'EQ=x=y'
ok $? "--env values arrive exactly"
echo "$out" | grep -qx "LB_TASK_ID=$id" && echo "$out" | grep -qx 'LB_HOME=n1' &&
    echo "$out" | grep -qx "LB_CONTROL=$LBCLUSTER_DIR/n1/control.sock"
ok $? "LB_TASK_ID, LB_HOME and LB_CONTROL are set"
echo "$out" | grep -q LB_TEST_SUBMITTER_SECRET; ok $((! $?)) "the submitter's environment is not copied"
echo "$out" | grep -q LB_CHECKPOINT_DIR; ok $((! $?)) "no LB_CHECKPOINT_DIR without --checkpointable"

# Attached files arrive byte for byte, with their mode.
head -c 100000 /dev/urandom >"$TMP/blob.bin"
printf '#!/bin/sh\necho "script ran in $(basename "$PWD") with $1"\n' >"$TMP/job.sh"
chmod 755 "$TMP/job.sh"
out=$(sub --wait --file "$TMP/blob.bin" -- sha256sum blob.bin)
is "${out%% *}" "$(sha256sum <"$TMP/blob.bin" | cut -d' ' -f1)" "an attached binary file arrives byte for byte"
out=$(cd "$TMP" && ctl n1 submit --wait --file job.sh -- ./job.sh arg1)
like "$out" '^script ran in n1\.[0-9]+ with arg1$' "an attached script keeps its mode and runs as ./job.sh in its own directory"

# Exit codes and signals come back.
sub --wait -- sh -c 'exit 3'; is $? 3 "wait exits with the task's exit code"
sub --wait -- sh -c 'kill -TERM $$'; is $? 143 "and 128+N for a signal"
id=$(sub -- sh -c 'kill -KILL $$')
ctl n1 wait "$id" >/dev/null
is "$(ctl n1 show --json "$id" | jq -c '[.state, .exit_code, .signal]')" '["done",null,9]' \
    "show --json reports the signal"
out=$(sub --wait -- sh -c 'echo to-out; echo to-err >&2' 2>"$TMP/err")
is "$out:$(cat "$TMP/err")" "to-out:to-err" "stdout and stderr go to wait's own"

# Output beyond the limit is cut off with a marker.
id=$(sub -- sh -c 'head -c 300000 /dev/zero | tr "\0" x')
ctl n1 wait "$id" >"$TMP/big"
size=$(stat -c %s "$TMP/big")
ok $([ "$size" -ge 65536 ] && [ "$size" -lt 66000 ]; echo $?) "output is cut at 64 KiB ($size bytes)"
tail -1 "$TMP/big" | grep -q 'output cut off at 64 KiB'; ok $? "with a marker line"
is "$(ctl n1 show --json "$id" | jq .output_truncated)" true "and show says so"

# Never more than `slots` tasks at once (from their start and end times).
ids=$(for i in 1 2 3 4 5 6; do sub -- lbwork --ms 300; done)
for id in $ids; do ctl n1 wait "$id" >/dev/null; done
spans=$(for id in $ids; do ctl n1 show --json "$id" | jq -r '"\(.started_at) \(.finished_at)"'; done)
maxpar=$(echo "$spans" | awk '{ print $1, 1; print $2, -1 }' | sort -k1,1n -k2,2n |
    awk '{ c += $2; if (c > m) m = c } END { print m }')
is "$maxpar" 2 "6 tasks with slots = 2: at most 2 ran at once, and 2 did"

# wait and show from a peer that is not the home.
id=$(sub -- sh -c 'sleep 0.3; echo remote; exit 5')
out=$(ctl n2 wait "$id"); rc=$?
is "$rc:$out" "5:remote" "wait on n2 for a task homed on n1: its output and exit code"
is "$(ctl n2 show --json "$id" | jq -r '[.id, .state, .host, (.hosts | length)] | join(" ")')" \
    "$id done n1 1" "show on n2 reads the home's record"
j=$(ctl n1 show --json "$id")
is "$(echo "$j" | jq '[has("id"), has("state"), has("host"), has("epoch"), has("hosts"),
    has("exit_code"), has("signal"), has("submitted_at"), has("started_at"), has("finished_at"), has("request_id")] | all')" \
    true "show --json has every documented field"
ok $(echo "$j" | jq -e '.submitted_at <= .started_at and .started_at <= .finished_at and .submitted_at > 1700000000000' >/dev/null; echo $?) \
    "with times in ms since the epoch, in order"

# Unknown ids.
out=$(ctl n1 show n1.9999 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: no task n1.9999" "an unknown id at its home: exit 1 and a message"
out=$(ctl n2 show n1.9999 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: no task n1.9999" "the same asked from another peer"
out=$(ctl n1 wait nosuch.1 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: no task nosuch.1: there is no node nosuch" "an id of no node"
out=$(ctl n1 show garbage 2>&1); rc=$?
like "$rc:$out" '^1:lbctl: "garbage" is not a task id' "something that is not an id"

# A program that does not exist: tried on every peer (a start that fails
# for a reason of its host is not final), then the task fails with a
# clear message.
id=$(sub -- /no/such/program)
out=$(ctl n1 wait "$id" 2>&1); rc=$?
like "$rc:$out" "^127:lbctl: task $id failed: it could not start on 2 hosts \(task.max_start_failures, or every peer alive\); at n[12]: cannot execute \"/no/such/program\": No such file" \
    "a missing program: the task fails on both peers, wait says why and exits 127"
is "$(ctl n1 show --json "$id" | jq -r .state)" failed "and its state is failed"
failed_id=$id

# Bad attachments: submit fails and nothing is queued.
before=$(ctl n1 list --all --json | jq length)
out=$(sub --file "$TMP/absent" -- true 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: --file $TMP/absent: No such file" "a missing attachment: submit fails"
out=$(sub --file "$TMP" -- true 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: --file $TMP: not a regular file" "a directory as attachment: submit fails"
head -c 300000 /dev/zero >"$TMP/huge"
out=$(sub --file "$TMP/huge" -- true 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: --file huge: 300000 bytes, over the limit of 256 KiB \(task.attach_limit_kb\)" \
    "an oversized attachment: submit fails with the limit, before it is sent"
head -c 200000 /dev/zero >"$TMP/half1"
head -c 200000 /dev/zero >"$TMP/half2"
out=$(sub --file "$TMP/half1" --file "$TMP/half2" -- true 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: the attachments take 400000 bytes; the limit is 256 KiB \(task.attach_limit_kb\)" \
    "attachments over the limit together: submit fails with the limit"
is "$(ctl n1 list --all --json | jq length)" "$before" "and nothing was queued"
out=$(sub --env NOEQUALS -- true 2>&1); rc=$?
like "$rc:$out" "^2:lbctl: --env: expected KEY=VALUE" "a bad --env is a usage error"
out=$(sub 2>&1); rc=$?
like "$rc:$out" "^2:lbctl: submit: no program" "submit without a program is a usage error"

# Cancel: a queued task and a running one.
long1=$(sub -- lbwork --ms 20000)
long2=$(sub -- lbwork --ms 20000)
queued=$(sub -- lbwork --ms 20000)
sleep 0.3
is "$(ctl n1 show --json "$queued" | jq -r .state)" queued "a third long task waits for a slot"
load3() { [ "$(ctl n2 --json peers | jq '.[] | select(.id == "n1") | .load')" = 3 ]; }
ms=$(wait_for 10 load3); ok $? "n2 hears n1's load: 2 running + 1 waiting = 3 (${ms} ms)"
is "$(ctl n1 --json status | jq -c '[.running, .queued, .load]')" "[2,1,3]" "status counts them"
ctl n1 cancel "$queued" >/dev/null; ok $? "cancel a queued task"
is "$(ctl n1 show --json "$queued" | jq -r .state)" cancelled "it is cancelled"
ctl n1 cancel "$long1" >/dev/null
ctl n1 wait "$long1" >/dev/null 2>&1; rc=$?
is "$rc:$(ctl n1 show --json "$long1" | jq -r .state)" "125:cancelled" "cancel a running one: wait exits 125"
ctl n1 cancel "$long2" >/dev/null
out=$(ctl n1 cancel "$long1" 2>&1); rc=$?
is "$rc:$out" "0:$long1: already cancelled" "cancelling it again is no failure: exit 0, already cancelled"
out=$(ctl n1 --json cancel "$long1" 2>&1); rc=$?
is "$rc:$(jq -c . <<<"$out")" '0:{"id":"'"$long1"'","cancelled":true,"already":true}' "and --json says so"
out=$(ctl n1 cancel "$failed_id" 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: task $failed_id has already ended \(failed\)" "cancelling a task that ended otherwise: exit 1"
like "$(ctl n1 list)" "^ID +STATE" "list prints a table"
is "$(ctl n1 list --json | jq '[.[] | select(.state == "done")] | length')" 0 "list without --all shows no finished task"

done_testing
