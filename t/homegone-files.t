#!/bin/bash
# homegone-files.t - a task's attachments outlive a home that is gone for
# good.  A home offers the attachments of each task it accepts to its
# replica set (pulled in chunks, as a move's are), and answers the submit
# once a majority of the set holds them; the replica that takes over runs
# the task with them.
#  a: runs at its home n1 (it waits for a file to appear before it reads
#     its attachments); n1 is killed for good; the acting home runs it
#     again, with them.
#  b: waits at n1 (its slots are taken) when n1 is killed; the acting home
#     runs it, with them.
# Each prints what it was given; every live peer reads that result.  And
# the output of tasks that ended before n1 died (too large for a record:
# in files), one at n1 and one at n4, is read at every live peer after.
#  f: checkpoints every second at the peer outside n1's set, copies of its
#     checkpoint going to n1; n1 killed: the acting home forgets n1's copy
#     (it stayed with n1); then that host is killed: the acting home runs
#     it again from a copy it got since, or from its start -- never from a
#     checkpoint it does not have.
. "$top_srcdir/t/lib.sh"

lbcluster up 4 --set slots=2 --set balance.policy=none \
    --set task.lease_ms=2000 >/dev/null || bail "no cluster"
lbcluster wait 4 >/dev/null || bail "the cluster did not form"

set_of() { ctl n1 --json stats | jq -r '.replicas.set'; }
state_host() { ctl "$1" --json show "$2" 2>/dev/null | jq -r '.state + " " + .host'; }
held() { echo "$LBCLUSTER_DIR/$1/state/replicas/files/$2"; }

echo "hello from the submitter" >"$TMP/in.txt"
head -c 3000000 /dev/urandom >"$TMP/big.bin"
sum=$(sha256sum <"$TMP/big.bin" | cut -d' ' -f1)
prog='while [ ! -e "$GO" ]; do sleep 0.1; done; cat in.txt; sha256sum <big.bin | cut -d" " -f1'

a=$(ctl n1 submit --env "GO=$TMP/go" --file "$TMP/in.txt" \
    --file "$TMP/big.bin" -- sh -c "$prog") || bail "submit"
set=$(set_of)
is "$(wc -w <<<"$set")" 2 "n1's replica set: two other peers ($set)"
n=0
for r in $set; do
	[ "$(sha256sum <"$(held "$r" "$a")/big.bin" 2>/dev/null | cut -d' ' -f1)" = "$sum" ] &&
	    n=$((n + 1))
done
ok "$([ $n -ge 1 ]; echo $?)" \
    "when the submit of $a is answered, its attachments are whole at a replica at least ($n)"
both() {
	for r in $set; do
		[ "$(sha256sum <"$(held "$r" "$a")/big.bin" 2>/dev/null | cut -d' ' -f1)" = "$sum" ] &&
		    cmp -s "$(held "$r" "$a")/in.txt" "$TMP/in.txt" || return 1
	done
}
wait_for 20 both >/dev/null
ok $? "both replicas hold them soon after"
is "$(ctl n1 --json stats | jq '.replicas | .files_acked, .files_pending' | tr '\n' ' ')" \
    "2 0 " "lbctl stats at n1: both members hold them, none pending"

# f at the peer outside the set, its checkpoints copied to n1.
outside=
for n in n2 n3 n4; do case " $set " in *" $n "*) ;; *) outside=$n ;; esac; done
f=$(ctl n1 submit --checkpointable --checkpoint-every 1 -- lbwork --ms 1500 \
    --state-kb 16 --recv 1 --recv-timeout 120) || bail "submit"
ctl n1 migrate "$f" --to "$outside" >/dev/null || bail "migrate $f"
copied() { [ "$(ctl n1 --json show "$f" | jq .home_checkpoint)" -ge 1 ]; }
wait_for 20 copied >/dev/null || bail "no checkpoint of $f copied to n1"

# Output in files: on the replicas before the result is acknowledged.
d=$(ctl n1 submit --pin n1 -- seq 1 20000) || bail "submit"
e=$(ctl n1 submit --pin n4 -- seq 5 30000) || bail "submit"
ctl n1 wait "$d" >/dev/null && ctl n1 wait "$e" >/dev/null || bail "$d, $e"
dsum=$(seq 1 20000 | sha256sum) esum=$(seq 5 30000 | sha256sum)
outs_held() {
	for r in $set; do
		[ "$(sha256sum <"$(held "$r" "$d").output/stdout" 2>/dev/null)" = "$dsum" ] &&
		    [ "$(sha256sum <"$(held "$r" "$e").output/stdout" 2>/dev/null)" = "$esum" ] ||
		    return 1
	done
}
wait_for 20 outs_held >/dev/null
ok $? "the output of $d (ended at n1) and $e (at n4) is on both replicas"

# With both replicas paused, the answer to a submit with attachments waits.
pid_of() { cat "$LBCLUSTER_DIR/$1/pid"; }
for r in $set; do kill -STOP "$(pid_of "$r")"; done
# (c waits for a file too: a task that ended needs its attachments no
# more, and the answer goes then)
( ctl n1 submit --env "GO=$TMP/go_c" --file "$TMP/in.txt" --file "$TMP/big.bin" \
      -- sh -c "$prog" >"$TMP/c.id" 2>&1
  echo $? >"$TMP/c.rc" ) &
sub=$!
waiting() { [ "$(ctl n1 --json stats | jq .replicas.files_waiting)" -ge 1 ] ||
    [ -e "$TMP/c.rc" ]; }
wait_for 10 waiting >/dev/null
ok "$([ ! -e "$TMP/c.rc" ] && waiting; echo $?)" \
    "both replicas paused: the answer to a submit with attachments waits"
for r in $set; do kill -CONT "$(pid_of "$r")"; done
wait $sub
is "$(cat "$TMP/c.rc")" 0 "they go on: it is answered"
touch "$TMP/go_c"
ctl n1 wait "$(cat "$TMP/c.id")" >/dev/null || bail "$(cat "$TMP/c.id")"

s1=$(ctl n1 submit --pin n1 -- sleep 600) || bail "submit"
wait_for 15 eval '[ "$(state_host n1 "$a")" = "running n1" ]' >/dev/null ||
    bail "$a did not start at n1"
b=$(ctl n1 submit --env "GO=$TMP/go" --file "$TMP/in.txt" \
    --file "$TMP/big.bin" -- sh -c "$prog") || bail "submit"
wait_for 5 eval '[ "$(state_host n1 "$b")" = "queued n1" ]' >/dev/null
is "$(state_host n1 "$b")" "queued n1" "$b waits at n1 (its slots are taken)"

lbcluster kill n1 >/dev/null
took_over() { grep -l "home n1 is gone: this peer acts as the home" \
    "$LBCLUSTER_DIR"/n[234]/log 2>/dev/null | head -1; }
wait_for 30 eval '[ -n "$(took_over)" ]' >/dev/null
acting=$(basename "$(dirname "$(took_over)")")
ok "$([ -n "$acting" ]; echo $?)" "n1 killed for good: a replica acts as its home ($acting)"
running() { [ "$(state_host "$acting" "$a")" = "running $acting" ] &&
    [ "$(state_host "$acting" "$b")" = "running $acting" ]; }
wait_for 30 running >/dev/null
ok $? "$a and $b run at $acting"
touch "$TMP/go"
want="hello from the submitter
$sum"
for n in n2 n3 n4; do
	out=$(ctl "$n" wait "$a" --timeout 60 2>&1); rc=$?
	is "$rc:$out" "0:$want" "$a: at $n, its output is what it was given"
	out=$(ctl "$n" wait "$b" --timeout 60 2>&1); rc=$?
	is "$rc:$out" "0:$want" "$b: at $n, too"
done
for n in n2 n3 n4; do
	is "$(ctl "$n" wait "$d" --timeout 30 2>&1 | sha256sum)" "$dsum" \
	    "$d (ended at n1 before it died): at $n, its whole output"
	is "$(ctl "$n" wait "$e" --timeout 30 2>&1 | sha256sum)" "$esum" \
	    "$e (ended at n4): at $n, its whole output"
done
# f's host dies too: the acting home runs it again, from its start.
lbcluster kill "$outside" >/dev/null
f_again() { [ "$(state_host "$acting" "$f")" = "running $acting" ]; }
wait_for 40 f_again >/dev/null
ok $? "$outside (f's host) killed too: $acting runs $f again"
ctl "$acting" send "$f" 5 >/dev/null || diag "send to $f: $?"
out=$(ctl "$acting" wait "$f" --timeout 60 2>&1)
grep -q "task $f: the copy of its checkpoint [0-9]* stayed at its home n1" \
    "$LBCLUSTER_DIR/$acting/log"
ok $? "$acting took $f over without n1's copy of its checkpoint"
like "$out" '^lbwork: done_ms=1500 resumes=[0-9]+ checksum=ok received=1 sum=5' \
    "$f ran again from what $acting has, and ended right"

is "$(ctl "$acting" --json stats | jq .replicas.files_missing)" 0 \
    "$acting ran no task without its attachments"
ok "$(grep -q "runs without them" "$LBCLUSTER_DIR/$acting/log"; [ $? -ne 0 ]; echo $?)" \
    "and logged none"
ctl "$acting" cancel "$s1" >/dev/null 2>&1

# The other replica lets its copies go once the tasks ended.
other=
for r in $set; do [ "$r" != "$acting" ] && other=$r; done
gone() { [ ! -e "$(held "$other" "$a")" ] && [ ! -e "$(held "$other" "$b")" ]; }
wait_for 40 gone >/dev/null
ok $? "once they ended, $other lets its copies go"

done_testing
