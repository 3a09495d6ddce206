#!/bin/bash
# tasks-restart.t - a home killed with SIGKILL leaves no orphan process and,
# restarted, still knows every task it accepted; queued and running tasks
# run again (from their checkpoint when they have one) until each has a
# result.  A torn last journal record is skipped with a warning.
. "$top_srcdir/t/lib.sh"

# (no preemption: a checkpointable task that ran its slice would yield its
# slot to the queued ones, and wait when the test checkpoints it)
lbcluster up 2 --set slots=2 --set balance.policy=none --set balance.preempt=false \
    >/dev/null || bail "no cluster"
mark=$((60000 + RANDOM % 5000))

done1=$(ctl n1 submit -- sh -c 'echo finished-before')
ctl n1 wait "$done1" >/dev/null
ck=$(ctl n1 submit --checkpointable -- lbwork --ms 3000 --step-ms $((mark + 1)) --state-kb 32)
run=$(ctl n1 submit -- sh -c "sleep $((mark + 2)) & wait")
grand=$(ctl n1 submit -- lbwork --ms 20000 --step-ms $mark)
q1=$(ctl n1 submit -- lbwork --ms 200)
q2=$(ctl n1 submit -- sh -c 'echo queued-ran')
# On a loaded machine the first two take a while to start: wait for it.
states() { ctl n1 list --json | jq -c '[.[] | .state] | sort'; }
two_run() { [ "$(states)" = '["queued","queued","queued","running","running"]' ]; }
wait_for 20 two_run >/dev/null
ctl n1 checkpoint "$ck" >/dev/null; ok $? "a checkpointable task checkpointed once before the crash"
wait_for 20 two_run >/dev/null
is "$(states)" '["queued","queued","queued","running","running"]' "two tasks run, three wait"
wait_for 20 pgrep -f "^sleep $((mark + 2))" >/dev/null
orphan=$(pgrep -f "^sleep $((mark + 2))")
lbcluster kill n1
no_ck() { ! pgrep -f "lbwork --ms 3000 --step-ms $((mark + 1))" >/dev/null; }
wait_for 10 no_ck >/dev/null
left=$(pgrep -f "lbwork --ms 3000 --step-ms $((mark + 1))" | wc -l)
is "$left" 0 "SIGKILL of the peer: its running tasks died with it (PR_SET_PDEATHSIG)"

lbcluster start n1 >/dev/null || bail "n1 did not restart"
is "$(ctl n1 list --all --json | jq -r '[.[].id] | join(" ")')" "$done1 $ck $run $grand $q1 $q2" \
    "restarted, n1 still knows every task it accepted"
# What a task started itself outlives PDEATHSIG; the restart kills it.
gone() { # pid: not running (a zombie waiting for init counts as gone)
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ]
}
ok $([ -n "$orphan" ] && gone "$orphan"; echo $?) \
    "a process the task started itself (pid ${orphan:-?}) is killed at restart"
ctl n1 cancel "$grand" >/dev/null
ctl n1 cancel "$run" >/dev/null
is "$(ctl n1 wait "$q2")" queued-ran "a task that was queued runs after the restart"
ctl n1 wait "$q1" >/dev/null; ok $? "so does the other"
out=$(ctl n1 wait "$ck")
like "$out" "^lbwork: done_ms=3000 resumes=[12] checksum=ok$" \
    "the checkpointed one resumed from its checkpoint: $out"
is "$(ctl n1 show --json "$done1" | jq -c '[.state, .starts]')" '["done",1]' \
    "a task that had finished is not run again"
is "$(ctl n1 show --json "$q2" | jq -c '[.state, .starts]')" '["done",1]' \
    "and each result is recorded once"
out=$(ctl n2 show --json "$q2" | jq -r .state)
is "$out" done "another peer reads the results from the restarted home"

# A torn last record: cut into the journal's last record while n1 is down.
lbcluster stop n1
j="$LBCLUSTER_DIR/n1/state/journal"
size=$(stat -c %s "$j")
head -c 7 /dev/urandom >>"$j"
lbcluster start n1 >/dev/null || bail "n1 did not restart on a torn journal"
grep -q "journal.*torn or corrupt record" "$LBCLUSTER_DIR/n1/log"; ok $? "a torn last record is reported"
is "$(stat -c %s "$j")" "$size" "and cut off"
is "$(ctl n1 list --all --json | jq length)" 6 "every record before it is kept"
new=$(ctl n1 submit -- true)
# Ids are reserved in blocks (journal.ids): a restart skips the rest of one.
ok $([ "${new#n1.}" -gt 6 ] 2>/dev/null; echo $?) \
    "and new ids go on above every id issued before (never reused): $new"

# A record torn in the middle of being written (half a record at the end).
lbcluster stop n1
size=$(stat -c %s "$j")
truncate -s $((size - 5)) "$j"
lbcluster start n1 >/dev/null || bail "n1 did not restart"
is "$(ctl n1 list --all --json | jq -r '.[-1].id')" "$new" \
    "half a last record: it is dropped, the rest are kept"

# A damaged record in the middle: skipped and reported; every record after
# it is kept, and ids still go on above every one issued.
lbcluster stop n1
size=$(stat -c %s "$j")
printf '\377\377\377\377\377\377\377\377' |
    dd of="$j" bs=1 seek=$((size / 3)) conv=notrunc status=none
lbcluster start n1 >/dev/null || bail "n1 did not restart on a damaged journal"
grep -q "journal.*damaged" "$LBCLUSTER_DIR/n1/log"; ok $? "a damaged record in the middle is reported in the log"
like "$(ctl n1 status)" "journal: +[1-9][0-9]* damaged records skipped" "and by lbctl status"
ok $(ctl n1 --json status | jq -e '.journal_damaged >= 1' >/dev/null; echo $?) "and status --json"
is "$(ctl n1 list --all --json | jq -r '.[-1].id')" "$new" "the records after it are kept"
new2=$(ctl n1 submit -- true)
ok $([ "${new2#n1.}" -gt "${new#n1.}" ] 2>/dev/null; echo $?) \
    "and new ids go on above every one issued before: $new2"
lbcluster down >/dev/null

# Finished tasks are forgotten after task.keep_finished_s, and a journal
# that holds more dead records than live is compacted, without a stop.
D2="$TMP/cluster2"
lbcluster --dir "$D2" up 1 --set task.keep_finished_s=1 >/dev/null || bail "no cluster"
sock="$D2/n1/control.sock"
ids=$(for i in $(seq 40); do lbctl -s "$sock" submit -- true; done)
for id in $ids; do lbctl -s "$sock" wait "$id" >/dev/null; done
first=${ids%%$'\n'*}
gone() { ! lbctl -s "$sock" show "$first" >/dev/null 2>&1; }
ms=$(wait_for 10 gone); ok $? "a finished task is forgotten after keep_finished_s (${ms} ms)"
like "$(lbctl -s "$sock" show "$first" 2>&1)" "no task $first" "show says so"
compacted() { grep -q "journal compacted" "$D2/n1/log"; }
ms=$(wait_for 10 compacted); ok $? "the journal is compacted (${ms} ms)"
none() { [ "$(lbctl -s "$sock" --json status | jq .tasks_homed)" = 0 ]; }
ms=$(wait_for 10 none); ok $? "in the end memory keeps none of the 40 (${ms} ms)"
# Its largest size, as the compactions saw it ("N bytes to M").
peak=$(sed -n 's/.*journal compacted: .* \([0-9][0-9]*\) bytes to [0-9]*$/\1/p' "$D2/n1/log" | sort -n | tail -1)
# Smaller than before: what a compaction keeps, and the records of the
# tasks forgotten since (fewer than 64 records wait for the next).
size=$(stat -c %s "$D2/n1/state/journal")
ok $([ "$size" -lt "${peak:-0}" ]; echo $?) \
    "the journal shrank ($size bytes, from ${peak:-?} before its compaction)"
lbctl -s "$sock" status >/dev/null; ok $? "the peer kept running"

done_testing
