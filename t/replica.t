#!/bin/bash
# replica.t - a home's task records are kept by its replica set
# (task.home_replicas, 3 here: the home and two peers chosen by rendezvous
# hashing), on their disks.  With the home killed, show and wait at any
# other peer read a task's record from a replica, its result and exit code
# included, also after a replica restarted; the home back, it sends its
# records again and answers itself.
. "$top_srcdir/t/lib.sh"

# (no replica takes over here: t/failover.t does that)
lbcluster up 4 --set slots=2 --set balance.policy=none \
    --set task.home_takeover_ms=600000 >/dev/null || bail "no cluster"
lbcluster wait 4 >/dev/null || bail "the cluster did not form"

# (a's output is too big for its record: it stays in files at its home)
a=$(ctl n1 submit -- sh -c 'head -c 2000 /dev/zero | tr "\0" a; exit 3')
b=$(ctl n1 submit -- echo out-b)
c=$(ctl n1 submit --pin n3 -- echo out-c)
for t in "$a" "$b" "$c"; do ctl n1 wait "$t" >/dev/null 2>&1; done
set_of() { ctl n1 --json stats | jq -r '.replicas.set'; }
synced() { ctl n1 --json stats | jq -e '.replicas | .behind == 0 and .committed == .version and .version > 0' >/dev/null; }
wait_for 20 synced >/dev/null
read -r r1 r2 <<<"$(set_of)"
like "$r1 $r2" '^n[234] n[234]$' "n1's replica set: two other peers ($r1 $r2)"
ok $(synced; echo $?) "all that n1 saved is on both: $(ctl n1 --json stats | jq -c .replicas)"
other=$(printf '%s\n' n2 n3 n4 | grep -v -x -e "$r1" -e "$r2")
held_at() { ctl "$1" --json stats | jq .replicas.held; }
is "$(held_at "$r1")/$(held_at "$r2")/$(held_at "$other")" "3/3/0" \
    "each replica keeps n1's 3 records; the third peer none"

# A submit is answered once its record is on a majority of the set: both
# replicas paused, the answer waits; they go on, and it comes, with the
# record kept by one of them at least.
pid_of() { cat "$LBCLUSTER_DIR/$1/pid"; }
kill -STOP "$(pid_of "$r1")" "$(pid_of "$r2")"
ctl n1 --timeout 60000 submit -- echo out-e >"$TMP/e.id" 2>"$TMP/e.err" &
sub=$!
waits() { ctl n1 --json stats | jq -e '.replicas.waiting >= 1' >/dev/null; }
wait_for 20 waits >/dev/null
ok $(waits && kill -0 "$sub" 2>/dev/null; echo $?) \
    "both replicas paused: the answer to a submit at n1 waits ($(ctl n1 --json stats | jq -c '.replicas | {waiting, version, committed}'))"
kill -CONT "$(pid_of "$r1")" "$(pid_of "$r2")"
wait "$sub"; rc=$?
is "$rc:$(cat "$TMP/e.err")" "0:" "they go on: the submit is answered"
e=$(cat "$TMP/e.id")
# (its id in a replica's journal on disk: the record of that very task)
on_disk() { grep -qa -- "$e" "$LBCLUSTER_DIR/$1/state/replicas/journal" 2>/dev/null; }
ok "$(on_disk "$r1" || on_disk "$r2"; echo $?)" \
    "and by then a replica has its record on disk ($(held_at "$r1"), $(held_at "$r2") held)"
is "$(ctl n1 wait "$e")" out-e "and it runs"
wait_for 20 synced >/dev/null

lbcluster kill n1 >/dev/null
wait_for 20 eval 'test "$(state_of n2 n1)" = dead' >/dev/null
out=$(ctl "$other" show "$a"); rc=$?
like "$rc:$out" "^0:.*state: +done: exit 3" "n1 killed: show at $other (no replica) reads $a's result"
like "$out" "record: +kept by n[234] \(its home is down" "and says which replica kept it"
ctl "$other" wait "$a" >/dev/null 2>"$TMP/wait.err"; rc=$?
is "$rc" 3 "wait at $other: the task's exit code"
like "$(cat "$TMP/wait.err")" "its output \(2000 bytes\) is at its home" "and that its output (in files) is at its home"
out=$(ctl "$other" wait "$b" 2>&1); rc=$?
is "$rc:$out" "0:out-b" "a small output is in the record: wait at $other prints it from a replica's copy"
is "$(ctl "$r1" --json show "$c" | jq -r '[.state, .replica] | join(" ")')" "done $r1" \
    "show --json at a replica: its own copy"

# A replica restarted reads back what it kept.
lbcluster restart "$r2" >/dev/null || bail "$r2 did not restart"
wait_for 20 eval 'test "$(state_of '"$r2"' '"$other"')" = alive' >/dev/null
is "$(held_at "$r2")" 4 "$r2 restarted: its 4 records of n1 are back from its disk"
is "$(ctl "$r2" --json show "$b" | jq -r '[.state, .exit_code, .replica] | join(" ")')" "done 0 $r2" \
    "and it answers from them"

out=$(ctl "$other" show n1.999 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: task n1.999: its home n1 is dead, and no replica of its records answered" \
    "a task no replica holds: an error, exit 1"

# The home back: a new stream, the set sent everything again, and the
# home answers itself.
lbcluster start n1 >/dev/null || bail "n1 did not start"
wait_for 20 eval 'test "$(state_of '"$other"' n1)" = alive' >/dev/null
d=$(ctl n1 submit -- echo out-d)
ctl n1 wait "$d" >/dev/null
wait_for 20 synced >/dev/null
ok $(synced; echo $?) "n1 back: its set holds all it saved again ($(ctl n1 --json stats | jq -c .replicas))"
out=$(ctl "$other" show "$a")
ok $(grep -q "kept by" <<<"$out" && echo 1 || echo 0) "show at $other is answered by the home again"
is "$(ctl "$other" wait "$d")" out-d "and wait brings the output"

done_testing
