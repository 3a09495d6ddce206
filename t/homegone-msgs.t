#!/bin/bash
# homegone-msgs.t - acknowledged messages outlive a home that is gone for
# good.  A home keeps a copy of each message its tasks took (so that a run
# from the start, or from a checkpoint, gets them again); those copies go to
# its replica set before the message is acknowledged, and the replica that
# takes over as the home keeps them on.
#  1. A task running at its home n1 took three messages (one sent at n1
#     itself, answered once both replicas have it); n1 is killed for good:
#     the replica acting for it runs it again, with all three.
#  2. A task homed at n1 running at n3 (not of n1's set) took two; n1 is
#     killed for good; a third goes to n3 once the acting home is known
#     there (sent at the fourth peer, which goes to the acting home, not
#     to every peer; its copy kept by the acting home); then n3 is killed
#     too: the
#     acting home runs it again with all three.
#  3. A checkpointable task at n1 took two, then checkpointed there (n1
#     lets go of its copies of what a checkpoint it holds took; with
#     replicas it keeps them, marked: the checkpoint is n1's alone); n1
#     is killed for good: the replica acting for it runs it from its
#     start, with both (lbchaos seed 799351786, 180 s: a task waited
#     for ever for messages every replica had let go).
# In all, one more message ends it, and the run that ends received each
# acknowledged message once.
. "$top_srcdir/t/lib.sh"

lbcluster up 4 --set slots=2 --set balance.policy=none \
    --set task.lease_ms=2000 >/dev/null || bail "no cluster"
lbcluster wait 4 >/dev/null || bail "the cluster did not form"

set_of() { ctl n1 --json stats | jq -r '.replicas.set'; }
synced() { ctl n1 --json stats | jq -e '.replicas | .behind == 0 and .committed == .version and .version > 0' >/dev/null; }
state_host() { ctl "$1" --json show "$2" 2>/dev/null | jq -r '.state + " " + .host'; }
rkept() { echo "$LBCLUSTER_DIR/$1/state/replicas/kept/$2"; }

# a runs at n1 beside a sleeper; b waits behind them and is moved to the
# peer outside n1's set.
s1=$(ctl n1 submit --pin n1 -- sleep 600) || bail "submit"
a=$(ctl n1 submit -- lbwork --ms 300 --recv 4 --recv-timeout 120) || bail "submit"
b=$(ctl n1 submit -- lbwork --ms 300 --recv 4 --recv-timeout 120) || bail "submit"
wait_for 15 eval '[ "$(state_host n1 "$a")" = "running n1" ]' >/dev/null ||
    bail "$a did not start at n1"
wait_for 10 synced >/dev/null
set=$(set_of)
is "$(wc -w <<<"$set")" 2 "n1's replica set: two other peers ($set)"
other=
for n in n2 n3 n4; do
	case " $set " in *" $n "*) ;; *) other=$n ;; esac
done
[ -n "$other" ] || bail "no peer outside n1's set"
ctl n1 migrate "$b" --to "$other" >/dev/null || bail "migrate $b to $other"
wait_for 15 eval '[ "$(state_host n1 "$b")" = "running $other" ]' >/dev/null ||
    bail "$b never ran at $other"
ctl n1 cancel "$s1" >/dev/null
c=$(ctl n1 submit --checkpointable -- lbwork --ms 300 --recv 3 --recv-timeout 120) ||
    bail "submit"
wait_for 15 eval '[ "$(state_host n1 "$c")" = "running n1" ]' >/dev/null ||
    bail "$c did not start at n1"

# The messages, sent at a peer of the set; both acknowledged.
from=${set%% *}
sleep 0.5	# (lbwork is ready to receive)
r=
for m in 1 2; do
	ctl "$from" send "$a" "$m" >/dev/null; r="$r$?"
	ctl "$from" send "$b" "$m" >/dev/null; r="$r$?"
	ctl "$from" send "$c" "$m" >/dev/null; r="$r$?"
done
is "$r" 000000 "two messages each to $a (at n1), $b (at $other) and $c (at n1): acknowledged"
took_two() { ctl n1 --json show "$c" | jq -e '.checkpoints >= 1' >/dev/null; }
sleep 0.5	# (lbwork takes them)
ctl n1 checkpoint "$c" >/dev/null
wait_for 15 took_two >/dev/null
ok $? "$c checkpointed at n1, its home, after it took them"
both_kept() {
	for n in $set; do
		[ -s "$(rkept "$n" "$a")" ] && [ -s "$(rkept "$n" "$b")" ] ||
		    return 1
	done
}
ok "$(both_kept; echo $?)" "n1's copies of them are on both replicas' disks, before the acks"
keeps_in=$(for n in $set; do ctl "$n" --json stats | jq .replicas.keeps_in; done | tr '\n' ' ')
like "$keeps_in" '^[4-9][0-9]* [4-9][0-9]* $' "lbctl stats at each replica counts them ($keeps_in)"

# A message sent at n1 itself to $a, held there: lbctl's answer waits too
# until the copy is on a majority (both replicas paused: it waits).
pid_of() { cat "$LBCLUSTER_DIR/$1/pid"; }
for n in $set; do kill -STOP "$(pid_of "$n")"; done
( ctl n1 send "$a" 3 --timeout 30 >/dev/null 2>&1; echo $? >"$TMP/local.rc" ) &
sender=$!
held() { [ "$(ctl n1 --json stats | jq .replicas.waiting)" -ge 1 ] ||
    [ -e "$TMP/local.rc" ]; }
wait_for 10 held >/dev/null
ok "$([ ! -e "$TMP/local.rc" ]; echo $?)" \
    "a message sent at n1 to $a, held there, both replicas paused: its answer waits"
for n in $set; do kill -CONT "$(pid_of "$n")"; done
wait $sender
is "$(cat "$TMP/local.rc")" 0 "they go on: it is acknowledged"
sleep 0.5	# (the tasks take them)

lbcluster kill n1 >/dev/null
took_over() { grep -l "home n1 is gone: this peer acts as the home" \
    "$LBCLUSTER_DIR"/n[234]/log 2>/dev/null | head -1; }
wait_for 30 eval '[ -n "$(took_over)" ]' >/dev/null
acting=$(basename "$(dirname "$(took_over)")")
ok "$([ -n "$acting" ]; echo $?)" "n1 killed for good: a replica acts as its home ($acting)"
runs_again() { [ "$(state_host "$acting" "$a")" = "running $acting" ]; }
wait_for 30 runs_again >/dev/null
ok $? "$a runs again at $acting"
grep -q "task $a starts over here with the 3 messages its home kept" \
    "$LBCLUSTER_DIR/$acting/log"
ok $? "with the three messages n1 kept, from its replica's copy"
runs_again_c() { [ "$(state_host "$acting" "$c")" = "running $acting" ]; }
wait_for 30 runs_again_c >/dev/null
ok $? "$c runs again at $acting, from its start (n1's checkpoint is gone with it)"
grep -q "task $c starts over here with the 2 messages its home kept" \
    "$LBCLUSTER_DIR/$acting/log"
ok $? "with both messages its checkpoint at n1 had taken"

# 2: the host learns who acts as the home; a third message's copy goes
# there.
knows() { grep -q "task $b: $acting acts as its home now" "$LBCLUSTER_DIR/$other/log"; }
wait_for 30 knows >/dev/null
ok $? "$other, holding $b, learns that $acting acts as its home"
# (sent at the peer that is neither the acting home nor the host: it
# holds no record of $b, and was told who acts for n1, so it goes
# there, as to a home, rather than ask every peer)
third=
for n in n2 n3 n4; do
	[ "$n" != "$acting" ] && [ "$n" != "$other" ] && third=$n
done
ctl "$third" send "$b" 3 >/dev/null
is "$?" 0 "a third message to $b, sent at $third: acknowledged"
is "$(ctl "$third" --json stats | jq -c '.messages | [.to_acting >= 1, .queries]')" "[true,0]" \
    "$third passed it to $acting, acting for n1, and asked no peer where $b is"
ok "$([ -s "$LBCLUSTER_DIR/$acting/state/kept/$b" ]; echo $?)" \
    "$acting keeps the copies of $b's messages now"
sleep 0.5
lbcluster kill "$other" >/dev/null
again_b() { [ "$(state_host "$acting" "$b")" = "running $acting" ]; }
wait_for 40 again_b >/dev/null
ok $? "$other killed too: $acting runs $b again"
grep -q "task $b starts over here with the 3 messages its home kept" \
    "$LBCLUSTER_DIR/$acting/log"
ok $? "with all three"

ctl "$from" send "$a" 4 >/dev/null
ctl "$from" send "$b" 4 >/dev/null
ctl "$from" send "$c" 3 >/dev/null
out=$(ctl "$from" wait "$a" --timeout 60)
like "$out" '^lbwork: done_ms=300 resumes=0 checksum=ok received=4 sum=10 inorder=yes' \
    "$a: the run that ended received each of its four messages once"
out=$(ctl "$from" wait "$b" --timeout 60)
like "$out" '^lbwork: done_ms=300 resumes=0 checksum=ok received=4 sum=10 inorder=yes' \
    "$b: the run that ended received each of its four once"
out=$(ctl "$from" wait "$c" --timeout 60)
# (resumes: the checkpoints of the run from its start, at $acting, busy)
like "$out" '^lbwork: done_ms=300 resumes=[0-9]+ checksum=ok received=3 sum=6 inorder=yes' \
    "$c: the run that ended received each of its three once"

done_testing
