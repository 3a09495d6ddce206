#!/bin/bash
# migrate.t - running tasks move: freeze (checkpoint), transfer, resume.
# lbctl migrate from any peer, wherever the task is; the work is exact after
# every move (lbwork: done_ms, resumes = moves, checksum=ok); a task that
# cannot move is refused clearly; a destination killed in the middle leaves
# the task running at its source; a checkpoint of hundreds of MiB moves with
# the peers' memory bounded.
. "$top_srcdir/t/lib.sh"

lbcluster up 4 --set slots=2 --set balance.policy=none \
    --set task.checkpoint_timeout_ms=5000 >/dev/null || bail "no cluster"
for n in n2 n3 n4; do
	wait_for 10 eval 'test "$(state_of n1 $n)" = alive' >/dev/null || bail "n1 never saw $n"
done
for n in n1 n2 n3; do
	wait_for 10 eval 'test "$(state_of n4 $n)" = alive' >/dev/null || bail "n4 never saw $n"
done

host_of() { ctl "$1" show --json "$2" | jq -r .host; }
state() { ctl "$1" show --json "$2" | jq -r .state; }
# Running, and its own progress under way (lbwork sets its trap at once).
running_at() { [ "$(ctl n1 show --json "$1" | jq -r '.state + " " + .host')" = "running $2" ]; }

# A running task moves n1 -> n2 (asked at n1), then n2 -> n3 (asked at n4,
# which neither is its home nor holds it).
id=$(ctl n1 submit --checkpointable -- lbwork --ms 3000 --state-kb 256)
wait_for 10 running_at "$id" n1 >/dev/null
sleep 0.3
out=$(ctl n1 migrate "$id" --to n2); rc=$?
like "$rc:$out" "^0:$id: moved to n2 \(freeze [0-9.]+ ms; the task took [0-9]+ ms to checkpoint; [0-9]+ bytes\)" \
    "lbctl migrate: a running task moves to n2, with its freeze time"
is "$(host_of n1 "$id")" n2 "its home's record names n2"
wait_for 10 running_at "$id" n2 >/dev/null
sleep 0.3
out=$(ctl n4 --json migrate "$id"); rc=$?
is "$rc:$(echo "$out" | jq -r '.moved')" "0:true" "lbctl migrate at n4, neither home nor host: moves it"
to=$(echo "$out" | jq -r .host)
like "$to" '^n[134]$' "without --to it goes to another peer ($to)"
out=$(ctl n3 wait "$id"); rc=$?
is "$rc:$out" "0:lbwork: done_ms=3000 resumes=2 checksum=ok" \
    "it ends once, its work exact after two moves (resumes=2, state intact)"
j=$(ctl n1 show --json "$id")
is "$(echo "$j" | jq -c '[(.migrations | length), (.migrations[0] | .from, .to)]')" '[2,"n1","n2"]' \
    "show lists both moves, the first n1 -> n2"
is "$(echo "$j" | jq '[.migrations[] | select(.freeze_ms > 0 and .bytes > 262144)] | length')" 2 \
    "each with its freeze time and the bytes moved (state and checkpoint)"
ctl n1 show "$id" | grep -q '^  n1 -> n2 at .*: checkpoint [0-9]* ms, freeze [0-9.]* ms, [0-9]* bytes$'
ok $? "lbctl show prints the moves"
s=$(ctl n2 --json stats | jq -c '.migrations | [.in, .out]')
is "$s" "[1,1]" "n2's stats: one move in, one out"
like "$(ctl n2 --json stats | jq '.migrations.freeze_ms_max')" '^[0-9.]+$' "and the freeze time figures"

# A waiting task (behind two long ones) moves too.
b1=$(ctl n1 submit --pin n1 -- lbwork --ms 20000)
b2=$(ctl n1 submit --pin n1 -- lbwork --ms 20000)
w=$(ctl n1 submit -- lbwork --ms 100)
out=$(ctl n2 migrate "$w" --to n3); rc=$?
is "$rc:$out" "0:$w: moved to n3 (it was waiting)" "a waiting task moves at once"
is "$(ctl n1 wait "$w")" "lbwork: done_ms=100 resumes=0 checksum=ok" "and runs there"

# What cannot move is refused, with the reason, exit 1.
out=$(ctl n1 migrate "$b1" --to n2 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: task $b1 did not move: it is pinned" "a pinned task: refused"
# (b1 and b2 fill n1's two slots: one goes, so that the next task runs.)
ctl n1 cancel "$b1" >/dev/null
p=$(ctl n1 submit -- lbwork --ms 20000)
wait_for 10 running_at "$p" n1 >/dev/null
out=$(ctl n3 migrate "$p" 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: task $p did not move: it is running and cannot checkpoint" \
    "a running task that cannot checkpoint: refused (asked at n3)"
out=$(ctl n1 migrate "$w" 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: task $w did not move: it has ended" "a finished task: refused"
out=$(ctl n1 migrate "$p" --to n9 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: --to n9: there is no node n9" "an unknown node: refused"
out=$(ctl n1 migrate n1.99999 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: task n1.99999 did not move: no such task" "an unknown task: refused"
out=$(ctl n2 migrate n1.99999 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: task n1.99999 did not move: no such task" "the same, asked at another peer"
out=$(ctl n1 migrate not-an-id 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: \"not-an-id\" is not a task id" "a malformed id: refused"
out=$(ctl n1 migrate "$p" --to 'n 1' 2>&1); rc=$?
like "$rc:$out" "^2:lbctl: --to n 1: not a node id" "a malformed node: usage error"
for t in "$b2" "$p"; do ctl n1 cancel "$t" >/dev/null; done

# A task that does not checkpoint when asked stays where it is and runs on.
d=$(ctl n1 submit --checkpointable -- sh -c 'trap "" USR1; sleep 7; echo survived')
wait_for 10 running_at "$d" n1 >/dev/null
out=$(ctl n1 migrate "$d" --to n2 2>&1); rc=$?
like "$rc:$out" "^1:lbctl: task $d did not move: it did not checkpoint in time; it keeps running" \
    "a task deaf to its signal: not moved (task.checkpoint_timeout_ms)"
is "$(state n1 "$d")/$(host_of n1 "$d")" running/n1 "it runs on at n1"
is "$(ctl n1 wait "$d")" survived "and ends normally, once"
is "$(ctl n1 --json stats | jq .migrations.checkpoint_timeouts)" 1 "counted in stats"

# A task slow to write its checkpoint (7 s of writes, over the 5 s of
# task.checkpoint_timeout_ms) is waited for while it writes, and moves.
slow=$(ctl n1 submit --checkpointable -- sh -c '
	if [ -n "$LB_RESUME" ]; then echo "resumed with $(wc -c <"$LB_CHECKPOINT_DIR/state") bytes"; exit 0; fi
	trap "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14; do head -c 65536 /dev/zero >>\"\$LB_CHECKPOINT_DIR/state\"; sleep 0.5; done; exit \$LB_CHECKPOINT_EXIT_CODE" USR1
	sleep 60 & wait; sleep 60 & wait')
wait_for 10 running_at "$slow" n1 >/dev/null
t0=$(date +%s%N)
out=$(ctl n1 migrate "$slow" --to n2 --timeout 60 2>&1); rc=$?
el=$(( ($(date +%s%N) - t0) / 1000000 ))
like "$rc:$out" "^0:$slow: moved to n2 \(freeze [0-9.]+ ms; the task took [0-9]{4,} ms to checkpoint" \
    "a task slow to write its checkpoint moves ($el ms)"
is "$(ctl n1 wait "$slow")" "resumed with 917504 bytes" "with all of its checkpoint"
is "$(ctl n1 --json stats | jq '.migrations | [.checkpoint_timeouts, .checkpoint_slow > 0]' -c)" \
    "[1,true]" "counted as given more time, not as a timeout"

# A destination killed in the middle of the transfer: the task resumes at
# its source from the same checkpoint, and ends once with its work exact.
big=$(ctl n1 submit --checkpointable -- lbwork --ms 4000 --state-kb 300000)
wait_for 20 running_at "$big" n1 >/dev/null
sleep 1
staging() { compgen -G "$LBCLUSTER_DIR/n4/state/tasks/.in/*" >/dev/null; }
ctl n1 migrate "$big" --to n4 >"$TMP/mig.out" 2>&1 &
mpid=$!
if wait_for 20 staging >/dev/null; then
	lbcluster kill n4 >/dev/null
	pass "the transfer to n4 began; n4 killed in the middle"
else
	fail "the transfer to n4 never began"
fi
wait $mpid; rc=$?
like "$rc:$(cat "$TMP/mig.out")" "^1:lbctl: task $big did not move: the destination did not take it; it resumes where it was" \
    "lbctl migrate says it did not move"
wait_for 20 running_at "$big" n1 >/dev/null
is "$(host_of n1 "$big")" n1 "the task runs at its source again"
out=$(ctl n1 wait "$big"); rc=$?
is "$rc:$out" "0:lbwork: done_ms=4000 resumes=1 checksum=ok" \
    "and ends once, resumed from its checkpoint, its work exact"
lbcluster start n4 >/dev/null

# Hundreds of MiB of checkpoint move with the peers' memory bounded.
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$(cat "$LBCLUSTER_DIR/$1/pid")/status"; }
wait_for 20 eval 'test "$(state_of n2 n4)" = alive' >/dev/null
h2=$(hwm n2) h3=$(hwm n3)
big=$(ctl n2 submit --checkpointable -- lbwork --ms 3000 --state-kb 300000)
wait_for 20 running_at "$big" n2 >/dev/null
sleep 1
out=$(ctl n2 --json migrate "$big" --to n3 --timeout 120 2>"$TMP/big.err"); rc=$?
is "$rc:$(echo "$out" | jq -r .host)" "0:n3" "a 300 MiB checkpoint moves n2 -> n3"
[ -s "$TMP/big.err" ] && diag "lbctl: $(cat "$TMP/big.err")"
like "$(echo "$out" | jq .bytes)" '^3[0-9]{8}$' "its bytes counted ($(echo "$out" | jq .bytes))"
g2=$(( ($(hwm n2) - h2) / 1024 )) g3=$(( ($(hwm n3) - h3) / 1024 ))
ok $(( g2 < 64 && g3 < 64 ? 0 : 1 )) "the peers' peak memory grew by $g2 and $g3 MiB (< 64)"
out=$(ctl n1 wait "$big"); rc=$?
is "$rc:$out" "0:lbwork: done_ms=3000 resumes=1 checksum=ok" "and the task ends with its state intact"

# A drain moves a running task that can checkpoint away (not handed back).
id=$(ctl n2 submit --checkpointable -- lbwork --ms 3000 --state-kb 64)
wait_for 10 running_at "$id" n2 >/dev/null
sleep 0.5
ctl n2 drain --timeout 30 >/dev/null
wait_for 15 eval 'test "$(host_of n2 "$id")" != n2' >/dev/null
to=$(host_of n2 "$id")
like "$to" '^n[134]$' "a drain moves a running task that can checkpoint away (to $to)"
out=$(ctl n1 wait "$id"); rc=$?
is "$rc:$out" "0:lbwork: done_ms=3000 resumes=1 checksum=ok" "it goes on there with its work exact"
is "$(ctl n2 --json stats | jq .given_back)" 0 "nothing was handed back"
ctl n2 undrain >/dev/null

# Periodic checkpoints outlive their host: a task of n1's runs at n3 with a
# checkpoint every second, each copied home; n3 is killed; n1 runs it again
# from the latest copy, repeating at most about that second of work.
# (8 s of work: on a loaded machine the steps before the kill take seconds,
# and a shorter task could end at n3 before it)
id=$(ctl n1 submit --checkpointable --checkpoint-every 1 -- lbwork --ms 8000 --state-kb 64)
wait_for 10 running_at "$id" n1 >/dev/null
t_start=$(now_ms)
ctl n1 migrate "$id" --to n3 >/dev/null
wait_for 10 running_at "$id" n3 >/dev/null
sleep 3.3
copy=$(ctl n1 show --json "$id" | jq .home_checkpoint)
ok $(( copy >= 2 ? 0 : 1 )) "its home holds a copy of a recent checkpoint (number $copy)"
like "$(ctl n3 --json stats | jq .periodic_checkpoints.copies_out)" '^[2-9]' \
    "n3 sent its copies home"
t_kill=$(now_ms)
lbcluster kill n3 >/dev/null
out=$(ctl n1 wait "$id" --timeout 60); rc=$?
like "$rc:$out" "^0:lbwork: done_ms=8000 resumes=[0-9]+ checksum=ok" \
    "the host killed, the task ends once, its work exact"
j=$(ctl n1 show --json "$id")
is "$(echo "$j" | jq -r .host)" n1 "it ran again at its home"
rerun=$(echo "$j" | jq '.finished_at - .started_at')
ran=$((t_kill - t_start))
ok $(( rerun <= 8000 - ran + 1000 + 700 ? 0 : 1 )) \
    "it resumed from the copy: ran $ran ms before the kill, $rerun ms after (at most 1 s repeated)"
lbcluster start n3 >/dev/null

# A drain whose timeout passes while a task that can checkpoint runs and
# no other peer can take it (it needs what only its host has): it goes home
# with its checkpoint, waits there (its home cannot run it), and resumes
# at its host again once the drain ends; its work exact.
sed -i 's/^attributes = \[\];/attributes = ["only4"];/' "$LBCLUSTER_DIR/n4/peer.conf"
lbcluster restart n4 >/dev/null
attr_of_n4() { ctl n1 --json peers | jq -r '.[] | select(.id == "n4") | .attributes[0]'; }
wait_for 20 eval 'test "$(attr_of_n4)" = only4' >/dev/null
id=$(ctl n1 submit --checkpointable --needs only4 -- lbwork --ms 4000 --state-kb 64)
wait_for 20 running_at "$id" n4 >/dev/null
sleep 1
ctl n4 drain --timeout 1 >/dev/null
wait_for 20 eval 'test "$(host_of n1 "$id")" = n1' >/dev/null
is "$(host_of n1 "$id")/$(state n1 "$id")" n1/queued \
    "at the drain's timeout it went home with its checkpoint, and waits there"
is "$(ctl n4 --json stats | jq .given_back)" 0 "it was not handed back (no rerun from the start)"
ctl n4 undrain >/dev/null
ms=$(wait_for 20 eval 'test "$(host_of n1 "$id")" = n4')
diag "back at n4 $ms ms after the undrain"
out=$(ctl n1 wait "$id" --timeout 60); rc=$?
is "$rc:$out" "0:lbwork: done_ms=4000 resumes=1 checksum=ok" \
    "undrained, n4 takes it back; it resumes and ends once, its work exact"

done_testing
