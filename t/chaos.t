#!/bin/bash
# chaos.t - short seeded runs of tools/lbchaos: peers killed, paused
# (shorter than detection) and drained while plain and checkpointable tasks
# run; then paused and drained while tasks also receive messages.  Each run
# checks that every task has one exact result, that no two copies of a task
# ran at once, and that every acknowledged message was received once.  And
# lbchaos's bad input.
. "$top_srcdir/t/lib.sh"

out=$(lbchaos --seed nope --no-netns 2>&1); rc=$?
like "$rc:$out" "^2:lbchaos: --seed: expected a number" "a bad seed: exit 2, said"
out=$(lbchaos --faults kill,fire --no-netns 2>&1); rc=$?
like "$rc:$out" "^2:lbchaos: --faults: unknown fault \"fire\"" "an unknown fault: exit 2, named"
out=$(lbchaos --peers 99 --no-netns 2>&1); rc=$?
like "$rc:$out" "^2:lbchaos: --peers: expected 3 to 16" "a bad peer count: exit 2"
out=$(lbchaos --faults partition --no-netns 2>&1); rc=$?
like "$rc:$out" "^2:lbchaos: --faults: partition needs network namespaces" \
    "partition faults without namespaces: refused"
out=$(lbchaos 2>&1); rc=$?
like "$rc:$out" "^2:lbchaos: peers in their own network namespaces are not built yet" \
    "without --no-netns: says namespaces are not there yet, and falls back to nothing"

export TMPDIR=$TMP
out=$(lbchaos --no-netns --seed 1 --duration 15 --faults kill,stop,term --work plain,ckpt 2>&1); rc=$?
like "$rc:$out" "lbchaos: seed=1 peers=5 faults=[1-9][0-9]* tasks=[1-9][0-9]* results=([0-9]+) lost=0 duplicated=0 overlaps=0 messages=0 undelivered=0" \
    "kill, stop and term under plain and checkpointable tasks: nothing lost, nothing run twice at once"
[ $rc -eq 0 ] || diag "$out"
out=$(lbchaos --no-netns --seed 2 --duration 15 --faults stop,term --work plain,ckpt,msgs 2>&1); rc=$?
like "$rc:$out" "lbchaos: seed=2 peers=5 faults=[1-9][0-9]* tasks=[1-9][0-9]* results=[0-9]+ lost=0 duplicated=0 overlaps=0 messages=[1-9][0-9]* undelivered=0" \
    "stop and term with messages: every acknowledged message received once"
[ $rc -eq 0 ] || diag "$out"
for l in $(ls -d "$TMP"/lbchaos.* 2>/dev/null); do diag "left behind: $l"; done

done_testing
