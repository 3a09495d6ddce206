#!/bin/bash
# chaos.t - short seeded runs of tools/lbchaos: peers killed, paused
# (shorter than detection) and drained while plain and checkpointable tasks
# run; then paused and drained while tasks also receive messages; then a
# home killed for good among kills and stops (and, as root, full disks).
# Each run
# checks that every task has one exact result, that no two copies of a task
# ran at once, and that every acknowledged message was received once.  As
# root, a run with each peer in its own network namespace: partitions,
# cuts between two peers alone, packet loss and kills.  And lbchaos's bad input, and what it refuses on a
# machine that cannot make namespaces or a fault.
. "$top_srcdir/t/lib.sh"

out=$(lbchaos --seed nope --no-netns 2>&1); rc=$?
like "$rc:$out" "^2:lbchaos: --seed: expected a number" "a bad seed: exit 2, said"
out=$(lbchaos --faults kill,fire --no-netns 2>&1); rc=$?
like "$rc:$out" "^2:lbchaos: --faults: unknown fault \"fire\"" "an unknown fault: exit 2, named"
if [ "$(id -u)" -ne 0 ]; then
	out=$(lbchaos --faults diskfull --no-netns 2>&1); rc=$?
	like "$rc:$out" "^2:lbchaos: --faults: diskfull needs root" "diskfull, not root: refused"
fi
out=$(lbchaos --faults kill,upgrade --no-netns 2>&1); rc=$?
like "$rc:$out" "^2:lbchaos: --faults: upgrade needs --old-lbpeer PATH" \
    "upgrade without an older build: refused, exit 2"
out=$(lbchaos --faults upgrade --old-lbpeer "$(type -P true)" --no-netns 2>&1); rc=$?
like "$rc:$out" "^2:lbchaos: --old-lbpeer: .* -V failed: not an lbpeer" \
    "an --old-lbpeer that is not an lbpeer: refused, exit 2"
out=$(lbchaos --peers 99 --no-netns 2>&1); rc=$?
like "$rc:$out" "^2:lbchaos: --peers: expected 3 to 16" "a bad peer count: exit 2"
out=$(lbchaos --faults partition --no-netns 2>&1); rc=$?
like "$rc:$out" "^2:lbchaos: --faults: partition needs network namespaces" \
    "partition faults without namespaces: refused"
out=$(lbchaos --faults link --no-netns 2>&1); rc=$?
like "$rc:$out" "^2:lbchaos: --faults: link needs network namespaces" \
    "link without namespaces: refused"
out=$(lbchaos --faults kill,loss --no-netns 2>&1); rc=$?
like "$rc:$out" "^2:lbchaos: --faults: loss needs network namespaces" \
    "loss without namespaces: refused"
# Not root: no namespaces, and no quiet fall back to loopback.  (As root,
# as nobody, where nobody can reach the build.)
nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups env PATH="$PATH" "$@"; }
if [ "$(id -u)" -ne 0 ]; then
	out=$(lbchaos --duration 5 2>&1); rc=$?
elif command -v setpriv >/dev/null && nobody lbchaos --help >/dev/null 2>&1 &&
    nobody lbcluster --help >/dev/null 2>&1; then
	out=$(nobody lbchaos --duration 5 2>&1); rc=$?
else
	out="" rc=
fi
if [ -n "$rc" ]; then
	like "$rc:$out" "^2:lbchaos: cannot set up network namespaces: not root; --no-netns runs the peers on loopback" \
	    "without --no-netns and not root: says namespaces cannot be set up, exit 2"
else
	skip "lbchaos not as root: no setpriv, or nobody cannot run the build's programs"
fi

export TMPDIR=$TMP
# A failed run: its directory goes with the test's, so what the peers
# logged of the tasks it names is shown here.
why_failed() { # lbchaos's output
	local kept ids
	kept=$(sed -n 's/^lbchaos: kept //p' <<<"$1" | tail -1)
	ids=$(grep -o 'check [^:]*:' <<<"$1" | awk '{ sub(":", "", $2); print $2 }' | sort -u)
	[ -d "$kept" ] && [ -n "$ids" ] || return 0
	find "$kept" -name log -path '*/n*/log' -exec grep -H -F "$(printf '%s\n' $ids)" {} + |
	    sed 's|^.*/\(n[0-9]*\)/log:|\1 |' | sort -k2,2 | tail -120 |
	    while IFS= read -r l; do diag "$l"; done
}
out=$(lbchaos --no-netns --seed 1 --duration 15 --faults kill,stop,term --work plain,ckpt 2>&1); rc=$?
like "$rc:$out" "^0:.*lbchaos: seed=1 peers=5 faults=[1-9][0-9]* tasks=[1-9][0-9]* results=([0-9]+) lost=0 duplicated=0 overlaps=0 messages=0 undelivered=0 unreadable=0" \
    "kill, stop and term under plain and checkpointable tasks: nothing lost, nothing run twice at once"
[ $rc -eq 0 ] || { diag "$out"; why_failed "$out"; }
out=$(lbchaos --no-netns --seed 2 --duration 15 --faults stop,term --work plain,ckpt,msgs 2>&1); rc=$?
like "$rc:$out" "^0:.*lbchaos: seed=2 peers=5 faults=[1-9][0-9]* tasks=[1-9][0-9]* results=[0-9]+ lost=0 duplicated=0 overlaps=0 messages=[1-9][0-9]* undelivered=0 unreadable=0" \
    "stop and term with messages: every acknowledged message received once"
[ $rc -eq 0 ] || { diag "$out"; why_failed "$out"; }
# (as root, disks filled too: each peer's state_dir on a tmpfs)
full=
[ "$(id -u)" -eq 0 ] && full=,diskfull
out=$(lbchaos --no-netns --seed 3 --duration 15 --faults homegone,kill,stop$full --work plain,ckpt,msgs 2>&1); rc=$?
like "$rc:$out" "^0:.*lbchaos: seed=3 peers=5 faults=[1-9][0-9]* tasks=[1-9][0-9]* results=[0-9]+ lost=0 duplicated=0 overlaps=0 messages=[1-9][0-9]* undelivered=0 unreadable=0" \
    "a home killed for good among kills, stops${full:+ and full disks}, with messages: every task ends once, its result read at every live peer, every acknowledged message received once"
[ $rc -eq 0 ] || { diag "$out"; why_failed "$out"; }

# As root: peers in namespaces, partitions (6-12 s, longer than detection),
# packet loss and kills.  A fault kind this kernel cannot do is refused.
check=$(lbcluster netcheck 2>&1)
if grep -q '^netns yes' <<<"$check"; then
	for f in delay loss; do
		why=$(sed -n "s/^$f no: //p" <<<"$check")
		[ -n "$why" ] || continue
		out=$(lbchaos --faults "kill,$f" --duration 5 2>&1); rc=$?
		like "$rc:$out" "^2:lbchaos: --faults: $f is not available here: " \
		    "$f, which this machine cannot do ($why): refused, exit 2"
	done
	if grep -q '^cut yes' <<<"$check" && grep -q '^loss yes' <<<"$check"; then
		out=$(lbchaos --seed 4 --duration 10 --faults partition,link,loss,kill --work plain,ckpt 2>&1); rc=$?
		like "$rc:$out" "^0:.*lbchaos: seed=4 peers=5 faults=[1-9][0-9]* tasks=[1-9][0-9]* results=[0-9]+ lost=0 duplicated=0 overlaps=0 messages=0 undelivered=0 unreadable=0" \
		    "in namespaces, partition, link, loss and kill: nothing lost, nothing run twice at once, every result read at every live peer"
		[ $rc -eq 0 ] || { diag "$out"; why_failed "$out"; }
	else
		skip "partition and loss in namespaces: $(grep ' no: ' <<<"$check" | tr '\n' ' ')"
	fi
else
	skip "a run in network namespaces: $(sed -n 's/^netns no: //p' <<<"$check")"
fi
for l in $(ls -d "$TMP"/lbchaos.* 2>/dev/null); do diag "left behind: $l"; done

done_testing
