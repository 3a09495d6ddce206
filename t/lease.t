#!/bin/bash
# lease.t - at most one running copy of a task, with the default leases
# (task.lease_ms 5000, lease_margin_ms 1000):
#  - the host's lbpeer stopped (SIGSTOP) longer than failure detection and
#    the lease: the lease keeper freezes the task before its home runs it
#    again elsewhere; back, the host kills its frozen copy; one result;
#  - a pause of 1 s changes nothing: no freeze, no second start;
#  - the home crashed while its tasks run elsewhere: a plain one is frozen
#    when its lease runs out and runs on where it was when the home is
#    back; a checkpointable one checkpoints and waits, and resumes there;
#    one that ended meanwhile keeps its result; every result reaches the
#    home, and nothing started twice.
. "$top_srcdir/t/lib.sh"

lbcluster up 3 --set slots=2 --set balance.policy=none \
    --set task.checkpoint_timeout_ms=5000 >/dev/null || bail "no cluster"
lbcluster wait 3 >/dev/null || bail "the cluster did not form"

runlog=$TMP/runlog
: >"$runlog"
pid_of() { cat "$LBCLUSTER_DIR/$1/pid"; }
# The pid of the latest start of task $1 in the run log.
last_pid() { awk -v id="$1" '$1 == "start" && $2 == id { p = $3 } END { print p }' "$runlog"; }
starts() { awk -v id="$1" '$1 == "start" && $2 == id' "$runlog" | wc -l; }
pstate() { local s=X; { read -r _ _ s _ <"/proc/$1/stat"; } 2>/dev/null; echo "$s"; }
running_at() { [ "$(ctl n1 show --json "$1" | jq -r '.state + " " + .host')" = "running $2" ]; }
stats() { ctl "$1" --json stats | jq -r "$2"; }

# 1. A task of n1's running at n2, n2's lbpeer stopped for 12 s.
id=$(ctl n1 submit --checkpointable --env LBWORK_RUNLOG="$runlog" -- \
    lbwork --ms 20000) || bail "submit"
ctl n1 migrate "$id" --to n2 >/dev/null
wait_for 15 running_at "$id" n2 >/dev/null || bail "$id never ran at n2"
old=$(last_pid "$id")
is "$(starts "$id")" 2 "setup: $id started at n1 and resumed at n2"
kill -STOP "$(pid_of n2)"
t0=$(now_ms)
frozen() { [ "$(pstate "$old")" = T ]; }
wait_for 10 frozen >/dev/null
t1=$(now_ms)
is "$(pstate "$old")" T "with n2's lbpeer stopped, the lease keeper froze the copy at n2"
ok $(( t1 - t0 >= 3500 ? 0 : 1 )) "not before its lease ran out ($((t1 - t0)) ms after the stop)"
rerun() { [ "$(starts "$id")" -ge 3 ]; }
wait_for 15 rerun >/dev/null
is "$(starts "$id")" 3 "its home ran it again ($(( $(now_ms) - t0 )) ms after the stop)"
is "$(pstate "$old")" T "and the copy at n2 was still frozen when the new one started"
kill -CONT "$(pid_of n2)"
gone() { [ "$(pstate "$old")" = X ] || [ "$(pstate "$old")" = Z ]; }
wait_for 20 gone >/dev/null
ok "$(gone; echo $?)" "back, n2 learned that another placement replaced its own and killed the frozen copy"
out=$(ctl n1 wait "$id" --timeout 60)
like "$out" '^lbwork: done_ms=20000 resumes=[0-9]+ checksum=ok' "$id ended once, its work exact"
is "$(cat "$LBCLUSTER_DIR"/n*/log | grep -c "task $id: result recorded")" 1 "one result recorded"
like "$(stats n2 .leases.frozen)" '^[1-9]' "n2's stats count the freeze"

# 2. A pause of 1 s changes nothing.
id2=$(ctl n1 submit --checkpointable --env LBWORK_RUNLOG="$runlog" -- \
    lbwork --ms 8000) || bail "submit"
ctl n1 migrate "$id2" --to n2 >/dev/null
wait_for 15 running_at "$id2" n2 >/dev/null || bail "$id2 never ran at n2"
f0=$(stats n2 .leases.frozen)
kill -STOP "$(pid_of n2)"; sleep 1; kill -CONT "$(pid_of n2)"
out=$(ctl n1 wait "$id2" --timeout 60)
like "$out" '^lbwork: done_ms=8000 resumes=1 checksum=ok' "$id2 ran on at n2 after a pause of 1 s"
is "$(starts "$id2")" 2 "it did not start again"
is "$(stats n2 .leases.frozen)" "$f0" "nothing was frozen"

# 3. The home crashes while its tasks run elsewhere: a plain one at n3, a
# checkpointable one at n2, and a short one at n2 that ends while the home
# is down (long enough that a replica may take over in its place: either
# way they go on, and a thaw is a thaw).
id3=$(ctl n1 submit --pin n3 --env LBWORK_RUNLOG="$runlog" -- lbwork --ms 14000) ||
    bail "submit"
id4=$(ctl n1 submit --pin n2 --checkpointable --env LBWORK_RUNLOG="$runlog" -- \
    lbwork --ms 14000) || bail "submit"
id5=$(ctl n1 submit --pin n2 --env LBWORK_RUNLOG="$runlog" -- lbwork --ms 2500) ||
    bail "submit"
wait_for 15 running_at "$id3" n3 >/dev/null || bail "$id3 never ran at n3"
wait_for 15 running_at "$id4" n2 >/dev/null || bail "$id4 never ran at n2"
wait_for 15 running_at "$id5" n2 >/dev/null || bail "$id5 never ran at n2"
p3=$(last_pid "$id3") p4=$(last_pid "$id4")
lbcluster kill n1 >/dev/null
f3() { [ "$(pstate "$p3")" = T ]; }
wait_for 12 f3 >/dev/null
is "$(pstate "$p3")" T "its home down, n3 froze the plain task when its lease ran out"
# (n2's lease runs out on its own clock: a moment after n3's, maybe)
f4() { [ "$(pstate "$p4")" = X ]; }
wait_for 12 f4 >/dev/null
is "$(pstate "$p4")" X "and n2's checkpointable task checkpointed and exited: it waits"
sleep 2
lbcluster start n1 >/dev/null || bail "n1 did not start again"
thawed() { [ "$(pstate "$p3")" = S ] || [ "$(pstate "$p3")" = R ]; }
wait_for 15 thawed >/dev/null
like "$(pstate "$p3")" '^[SR]$' "the home back, the plain task runs on at n3"
out=$(ctl n1 wait "$id3" --timeout 60)
like "$out" '^lbwork: done_ms=14000 resumes=0 checksum=ok' "its result reached its home"
is "$(starts "$id3")" 1 "it started once"
out=$(ctl n1 wait "$id4" --timeout 60)
like "$out" '^lbwork: done_ms=14000 resumes=1 checksum=ok' \
    "the checkpointable one resumed at n2 from its checkpoint, its work exact"
is "$(starts "$id4")" 2 "it started twice: once, and once again from its checkpoint"
out=$(ctl n1 wait "$id5" --timeout 30)
like "$out" '^lbwork: done_ms=2500 resumes=0 checksum=ok' \
    "the result of the one that ended while its home was down reached it"
like "$(stats n3 .leases.thawed)" '^[1-9]' "n3's stats count the thaw"

done_testing
