#!/bin/bash
# tasks-restart.t - a home killed with SIGKILL leaves no orphan process and,
# restarted, still knows every task it accepted; queued and running tasks
# run again (from their checkpoint when they have one) until each has a
# result.  A torn last journal record is skipped with a warning.
. "$top_srcdir/t/lib.sh"

lbcluster up 2 --set slots=2 --set balance.policy=none >/dev/null || bail "no cluster"
mark=$((60000 + RANDOM % 5000))

done1=$(ctl n1 submit -- sh -c 'echo finished-before')
ctl n1 wait "$done1" >/dev/null
ck=$(ctl n1 submit --checkpointable -- lbwork --ms 3000 --step-ms $((mark + 1)) --state-kb 32)
run=$(ctl n1 submit -- sh -c "sleep $((mark + 2)) & wait")
grand=$(ctl n1 submit -- lbwork --ms 20000 --step-ms $mark)
q1=$(ctl n1 submit -- lbwork --ms 200)
q2=$(ctl n1 submit -- sh -c 'echo queued-ran')
sleep 0.4
ctl n1 checkpoint "$ck" >/dev/null; ok $? "a checkpointable task checkpointed once before the crash"
is "$(ctl n1 list --json | jq -c '[.[] | .state] | sort')" \
    '["queued","queued","queued","running","running"]' "two tasks run, three wait"

orphan=$(pgrep -f "^sleep $((mark + 2))")
lbcluster kill n1
sleep 0.3
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

done_testing
