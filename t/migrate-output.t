#!/bin/bash
# migrate-output.t - a running task that printed output and then moves ends
# with exactly the bytes it printed, before and after each move, once each:
# small output (kept in the record) and large (in files), moved away from
# its home and back to it; and no byte that the task did not print.
. "$top_srcdir/t/lib.sh"

lbcluster up 3 --set slots=2 --set balance.policy=none \
    --set task.checkpoint_timeout_ms=5000 >/dev/null || bail "no cluster"
for n in n2 n3; do
	wait_for 10 eval 'test "$(state_of n1 $n)" = alive' >/dev/null || bail "n1 never saw $n"
done

# A checkpointable shell task: prints line 1..N (each line one command, so
# that its checkpoint trap never falls between a line and its count), a
# marker file after each line, and on SIGUSR1 saves its count and exits 85.
task() { # lines pad
	local pad=$2
	echo "n=0; [ \"\$LB_RESUME\" = 1 ] && n=\$(cat \"\$LB_CHECKPOINT_DIR/n\")
trap 'echo \$n >\"\$LB_CHECKPOINT_DIR/n\"; exit 85' USR1
while [ \$n -lt $1 ]; do
	echo \"line \$((n += 1)) $pad\"; touch \"$TMP/line-\$n.$3\"
	sleep 0.1
done"
}
want() { # lines pad
	for i in $(seq 1 "$1"); do echo "line $i $2"; done
}
running_at() { [ "$(ctl n1 show --json "$1" | jq -r '.state + " " + .host')" = "running $2" ]; }

check() { # tag lines pad
	local tag=$1 lines=$2 pad=$3 id out
	id=$(ctl n1 submit --checkpointable -- sh -c "$(task "$lines" "$pad" "$tag")")
	wait_for 20 test -e "$TMP/line-5.$tag" >/dev/null
	out=$(ctl n1 migrate "$id" --to n2); rc=$?
	like "$rc:$out" "^0:$id: moved to n2" "$tag: moved to n2 after it printed 5 lines or more"
	wait_for 20 test -e "$TMP/line-$((lines / 2)).$tag" >/dev/null
	wait_for 10 running_at "$id" n2 >/dev/null
	out=$(ctl n2 migrate "$id" --to n1); rc=$?
	like "$rc:$out" "^0:$id: moved to n1" "$tag: and back to its home, n1, later"
	ctl n1 wait --timeout 60 "$id" >"$TMP/got.$tag"; rc=$?
	want "$lines" "$pad" >"$TMP/want.$tag"
	cmp -s "$TMP/got.$tag" "$TMP/want.$tag"; ok $? \
	    "$tag: its output is every line it printed, once, in order ($(wc -c <"$TMP/want.$tag") bytes)"
	if ! cmp -s "$TMP/got.$tag" "$TMP/want.$tag"; then
		diag "$(diff <(od -c "$TMP/want.$tag") <(od -c "$TMP/got.$tag") | head -20)"
	fi
	is "$rc:$(ctl n1 show --json "$id" | jq -c '[.state, .stdout_bytes, .resumes]')" \
	    "0:[\"done\",$(wc -c <"$TMP/want.$tag"),2]" "$tag: done, its byte count, two resumes"
	is "$(ctl n3 wait "$id" | md5sum)" "$(md5sum <"$TMP/want.$tag")" \
	    "$tag: a peer that neither homed nor ran it reads the same output"
}

check small 24 "x"		# 24 short lines (about 220 bytes): kept in the record
check large 30 "$(printf '%070d' 0)"	# about 2.3 KiB: in files

# Output over the limit (task.output_limit_kb, 1024 here), then periodic
# checkpoints: the output is cut at the limit and says so once, at its end
# (not once per checkpoint), and a move keeps it so.
cut='n=0; [ "$LB_RESUME" = 1 ] && n=$(cat "$LB_CHECKPOINT_DIR/n")
trap '"'"'echo $n >"$LB_CHECKPOINT_DIR/n"; exit 85'"'"' USR1
[ $n = 0 ] && head -c 1100000 /dev/zero | tr "\0" x && n=1
while [ $n -lt 30 ]; do n=$((n + 1)); sleep 0.1; done'
id=$(ctl n1 submit --checkpointable --checkpoint-every 1 -- sh -c "$cut")
wait_for 20 eval '[ "$(ctl n1 show --json "$id" | jq .checkpoints)" -ge 1 ]' >/dev/null
ctl n1 migrate "$id" --to n2 >/dev/null
ctl n1 wait --timeout 60 "$id" >"$TMP/got.cut"
j=$(ctl n1 show --json "$id")
like "$(echo "$j" | jq -c '[.state, .checkpoints >= 2, .output_truncated]')" '^\["done",true,true\]$' \
    "over the limit: done after checkpoints, its output said to be cut"
is "$(grep -c "output cut off at 1024 KiB" "$TMP/got.cut")" 1 "the cut is said once"
is "$(head -c 1048576 "$TMP/got.cut" | tr -d x | wc -c)" 0 "before it, the first 1024 KiB the task printed"
is "$(tail -c 60 "$TMP/got.cut" | tail -1)" "[lbpeer: output cut off at 1024 KiB (task.output_limit_kb)]" \
    "and it is the output's last line"

done_testing
