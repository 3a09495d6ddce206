#!/bin/bash
# forward.t - messages reach a task wherever it moved: along the chain of
# links it left (n1 -> n2 -> n3 -> n4), then in one hop once compressed;
# through its home when a link points at a dead peer; by asking the live
# peers when the home is dead too; while it moves; exactly once and in
# order (lbwork --recv counts and sums what it received); and bad input
# (unknown and malformed ids, a message too large, a full mailbox, an
# ended task, recv outside a task) each with a clear message and exit code.
. "$top_srcdir/t/lib.sh"

# (Homes without replicas: a message for a task whose home is dead is taken
# without a copy, so that the query fallback delivers it.  With replicas it
# waits for a replica to act for the home: t/homegone-msgs.t, fwd_test.)
lbcluster up 5 --set slots=2 --set balance.policy=none --set task.home_replicas=1 \
    --set gossip.interval_ms=100 --set gossip.suspect_ms=600 \
    --set gossip.dead_ms=1500 --set task.mailbox_msgs=3 \
    --set task.checkpoint_timeout_ms=5000 --set drain_timeout_s=1 \
    >/dev/null || bail "no cluster"
lbcluster wait 5 >/dev/null || bail "the cluster did not form"

running_at() { [ "$(ctl n5 show --json "$1" | jq -r '.state + " " + .host')" = "running $2" ]; }
move() {	# move ID TO: a running task, from wherever it is
	ctl n5 migrate "$1" --to "$2" >/dev/null || return 1
	wait_for 15 running_at "$1" "$2" >/dev/null
}
hops() { ctl "$1" --json locate "$2" | jq -c .hops; }
sent_hops() { echo "$1" | jq -c .hops; }

# A task homed at n5 that runs at n1, then moves n1 -> n2 -> n3 -> n4: each
# host leaves a link to the next.
id=$(ctl n5 submit --checkpointable -- lbwork --ms 300 --recv 6) || bail "submit"
ctl n5 migrate "$id" --to n1 >/dev/null
wait_for 15 running_at "$id" n1 >/dev/null || bail "$id never ran at n1"
sleep 0.6
for to in n2 n3 n4; do
	move "$id" $to || bail "$id did not move to $to"
	sleep 0.6
done
is "$(hops n1 "$id")" '["n2","n3","n4"]' "locate at n1: the chain n2, n3, n4 to the holder"
is "$(ctl n1 --json locate "$id" | jq -c '[.host, (.epoch > 0)]')" '["n4",true]' \
    "with the holder and its epoch"
out=$(ctl n1 --json send "$id" 1); rc=$?
is "$rc:$(sent_hops "$out")" '0:["n2","n3","n4"]' "the first message takes the chain"
out=$(ctl n1 --json send "$id" 2); rc=$?
is "$rc:$(sent_hops "$out")" '0:["n4"]' "the next takes one hop (path compression)"
is "$(hops n1 "$id")" '["n4"]' "and locate at n1 shows it"
is "$(hops n2 "$id")" '["n4"]' "n2, on the path, learned it too"
# The page asks the same (/api/locate), and the metrics count it.
h1=$(lbcluster http n1)
loc_ok() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$h1/api/locate?id=$id")" = 200 ]; }
wait_for 10 loc_ok >/dev/null
is "$(curl -s "http://$h1/api/locate?id=$id" | jq -c '[.host, .hops]')" '["n4",["n4"]]' \
    "/api/locate at n1: the holder and the hops, as lbctl locate"
is "$(curl -s -o /dev/null -w '%{http_code}' "http://$h1/api/locate?id=../x")" 400 \
    "/api/locate with a malformed id: 400"
like "$(curl -s "http://$(lbcluster http n2)/metrics" | grep '^lbpeer_messages_forwarded_total{via="link"}')" \
    ' [1-9][0-9]*$' "n2's metrics count the message it passed on a link"
like "$(curl -s "http://$(lbcluster http n4)/metrics" | grep '^lbpeer_message_hops_bucket{le="3"}')" \
    ' [1-9][0-9]*$' "n4's hops histogram has the message that took three hops"
out=$(ctl n3 send "$id" 3); rc=$?
is "$rc" 0 "lbctl send: exit 0 when delivered"
like "$(ctl n2 --json stats | jq '.messages.forwarded')" '^[1-9]' "n2 counts what it passed on"

# A link killed in the middle: n1's link points at n2, and n2 is dead: the
# message goes to the home (n5), whose record knows n4.
id2=$(ctl n5 submit --checkpointable -- lbwork --ms 300 --recv 2) || bail "submit"
ctl n5 migrate "$id2" --to n1 >/dev/null
wait_for 15 running_at "$id2" n1 >/dev/null || bail "$id2 never ran at n1"
sleep 0.6
move "$id2" n2 || bail "no move to n2"
sleep 0.6
move "$id2" n3 || bail "no move to n3"
lbcluster kill n2
dead2() { [ "$(state_of n1 n2)" = dead ]; }
wait_for 15 dead2 >/dev/null || bail "n1 never saw n2 dead"
out=$(ctl n1 --json send "$id2" 10); rc=$?
is "$rc:$(sent_hops "$out")" '0:["n5","n3"]' "a link to a dead peer: through the home (n5) to n3"

# Home and link dead: n1 -> n4 (dead) and the home n5 dead: n1 asks the live
# peers, and n3 answers.  ($id leaves n4 first: a task whose host dies
# starts again from its last checkpoint, and what it received since is
# gone with the host.)
move "$id" n1 || bail "no move of $id to n1"
id3=$(ctl n5 submit --checkpointable -- lbwork --ms 300 --recv 1) || bail "submit"
ctl n5 migrate "$id3" --to n1 >/dev/null
wait_for 15 running_at "$id3" n1 >/dev/null || bail "$id3 never ran at n1"
sleep 0.6
move "$id3" n4 || bail "no move to n4"
sleep 0.6
move "$id3" n3 || bail "no move to n3"
lbcluster kill n4
lbcluster kill n5
dead45() { [ "$(state_of n1 n4)" = dead ] && [ "$(state_of n1 n5)" = dead ]; }
wait_for 15 dead45 >/dev/null || bail "n1 never saw n4 and n5 dead"
out=$(ctl n1 --json send "$id3" 20 --timeout 10); rc=$?
is "$rc:$(sent_hops "$out")" '0:["n3"]' "link and home dead: the live peers are asked, n3 answers"
like "$(ctl n1 --json stats | jq '.messages.queries')" '^[1-9]' "n1 counts the query"
# id3 received its one message and ends; its home is dead: it waits for it.
lbcluster start n5 >/dev/null || bail "n5 did not start again"
lbcluster start n4 >/dev/null || bail "n4 did not start again"
lbcluster start n2 >/dev/null || bail "n2 did not start again"
lbcluster wait 5 >/dev/null || bail "the cluster did not form again"
out=$(ctl n5 wait "$id3" --timeout 30); rc=$?
like "$rc:$out" "^0:lbwork: .* received=1 sum=20 inorder=yes" \
    "the task got it exactly once and ended; its result reached its home"

# Messages sent while the task moves: every one arrives once, in order.
sum=0
(
	for i in 4 5 6; do
		ctl n1 send "$id" $i --timeout 30 >/dev/null || echo "send $i: $?" >&2
	done
) & sender=$!
for to in n3 n4; do
	ctl n5 migrate "$id" --to $to >/dev/null
done
wait $sender
out=$(ctl n5 wait "$id" --timeout 60); rc=$?
like "$rc:$out" "^0:lbwork: .* received=6 sum=21 inorder=yes" \
    "six messages, sent at three peers, some while it moved: each once, in order (sum 21)"

# cancel, checkpoint, show, tail from a peer that neither holds nor homes it.
out=$(ctl n1 checkpoint "$id2" 2>&1); rc=$?
is "$rc" 0 "lbctl checkpoint at n1 of a task running at n3: found and asked"
[ "$rc" -eq 0 ] || diag "  said: $out"
is "$(ctl n5 show --json "$id2" | jq '.checkpoints >= 1')" true "and it checkpointed"
talk=$(ctl n3 submit --pin n3 -- sh -c 'echo one; echo two >&2; echo three; exec sleep 600') ||
    bail "submit"
talk_runs() { [ "$(ctl n3 show --json "$talk" | jq -r .state)" = running ]; }
wait_for 15 talk_runs >/dev/null
sleep 0.3
is "$(ctl n1 tail "$talk")" $'one\nthree' "lbctl tail at n1: the output of a task running at n3"
is "$(ctl n4 tail --stderr "$talk")" two "and its stderr"
out=$(ctl n1 cancel "$talk"); rc=$?
is "$rc" 0 "lbctl cancel at n1 of a task homed and running at n3"
talk_ended() { [ "$(ctl n1 show --json "$talk" | jq -r .state)" = cancelled ]; }
ms=$(wait_for 15 talk_ended); ok $? "it is cancelled (${ms} ms)"
quick=$(ctl n3 submit --pin n3 -- sh -c 'echo ended-out') || bail "submit"
ctl n3 wait "$quick" >/dev/null
is "$(ctl n2 tail "$quick")" ended-out "tail of an ended task: its output, from its home's record"

# Bad input.
out=$(ctl n1 send n5.999999 hi 2>&1); rc=$?
like "$rc:$out" "^1:.*no such task" "a task its home does not know: exit 1, no such task"
out=$(ctl n1 send not-an-id hi 2>&1); rc=$?
like "$rc:$out" "^[12]:.*not a task id" "a malformed id: a clear refusal"
head -c 70000 /dev/zero >"$TMP/big"
out=$(ctl n1 send "$id" --file "$TMP/big" 2>&1); rc=$?
like "$rc:$out" "^1:.*(large|limit)" "a message over the limit is refused"
out=$(ctl n1 send "$id" late 2>&1); rc=$?
like "$rc:$out" "^1:.*(ended|done)" "a message to an ended task: refused with its state"
# A task that never calls recv: its mailbox fills.
quiet=$(ctl n2 submit --pin n2 -- sleep 600) || bail "submit"
quiet_runs() { [ "$(ctl n2 show --json "$quiet" | jq -r .state)" = running ]; }
wait_for 15 quiet_runs >/dev/null
for i in 1 2 3; do ctl n1 send "$quiet" $i >/dev/null; done
out=$(ctl n1 send "$quiet" 4 2>&1); rc=$?
like "$rc:$out" "^1:.*full" "a full mailbox (task.mailbox_msgs = 3): refused, and the sender told"
out=$(ctl n1 recv --timeout 1 2>&1); rc=$?
like "$rc:$out" "^2:.*(task|LB_TASK_ID)" "recv outside a task: a clear error, exit 2"
ctl n5 cancel "$id2" >/dev/null

# A peer that stops (SIGTERM: drain, then leave) keeps the mailboxes of
# the tasks it still holds, and has them again when it starts.
lbcluster stop n2 >/dev/null
grep -q "kept 1 mailbox with messages for the next start" "$LBCLUSTER_DIR/n2/log"
ok $? "n2, stopping, kept the mailbox of its task"
lbcluster start n2 >/dev/null || bail "n2 did not start again"
grep -Eq "task $quiet: 3 messages kept across the stop|task $quiet starts over here with the 3 messages its home kept" "$LBCLUSTER_DIR/n2/log"
ok $? "and had its 3 messages again when it started"
wait_for 15 quiet_runs >/dev/null
out=$(ctl n1 send "$quiet" 5 2>&1); rc=$?
like "$rc:$out" "^1:.*full" "its mailbox is still full after the restart (nothing lost)"
ctl n2 cancel "$quiet" >/dev/null

# A recv whose client goes away loses no message: the task's first recv is
# killed while it waits, a message comes after, and the task's next recv
# gets it.  (Before: the peer handed it to the recv that was gone.)
gone=$(ctl n1 submit --pin n1 -- sh -c "timeout 1 lbctl recv --timeout 30; echo \"first: \$?\"
	touch '$TMP/second'; lbctl recv --timeout 30; echo; echo \"second: \$?\"") ||
    bail "submit"
wait_for 20 test -e "$TMP/second" >/dev/null || bail "$gone never got to its second recv"
sleep 0.5	# (its second recv waits; the message may come at any time)
ctl n3 send "$gone" hello >/dev/null || bail "send"
out=$(ctl n1 wait "$gone" --timeout 30); rc=$?
is "$rc:$out" "0:first: 124
hello
second: 0" "a recv killed while it waited loses nothing: the next recv gets the message"
# And one gone after the peer answered, before it confirmed (recvdie): the
# next recv gets the same message.
twice=$(ctl n1 submit --pin n1 -- sh -c "recvdie 30000; lbctl recv --timeout 30; echo") ||
    bail "submit"
wait_for 20 eval '[ "$(ctl n1 show --json "$twice" | jq -r .state)" = running ]' >/dev/null
sleep 0.5
ctl n3 send "$twice" again >/dev/null || bail "send"
out=$(ctl n1 wait "$twice" --timeout 30); rc=$?
is "$rc:$out" "0:got again, not confirmed
again" "a receiver gone before it confirmed: the next recv gets the message again"

done_testing
