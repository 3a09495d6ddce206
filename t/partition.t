#!/bin/bash
# partition.t - a peer cut off by a partition, in network namespaces
# (lbcluster up --netns, as root), while it runs a long task homed at
# another peer: the others see it dead during the cut and alive after it;
# the task ends exactly once, its work exact; and its old copy, on the cut
# peer, is not running (stopped, state T, or gone) by the time its new copy
# starts.  (Without task leases, the last fails: the old copy runs on
# through the cut.)  A poller like lbchaos's watches every copy's pid every 20 ms:
# a copy's active intervals end when it ends, is gone or is stopped, and
# begin again when it is seen running again.  Then the same for a cut
# between the task's home and its host alone, that no one sees as a death.
. "$top_srcdir/t/lib.sh"

skip_all() { echo "1..0 # SKIP $*"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip_all "not root: network namespaces need root"
check=$(lbcluster netcheck 2>&1)
grep -q '^netns yes' <<<"$check" ||
    skip_all "network namespaces cannot be set up here: $(sed -n 's/^netns no: //p' <<<"$check")"
grep -q '^cut yes' <<<"$check" ||
    skip_all "a partition cannot be made here: $(sed -n 's/^cut no: //p' <<<"$check")"

# Task leases (task.lease_ms), where lbpeer has them: short, so that the
# task runs again well within the cut.
lease=()
if lbcluster --dir "$TMP/cluster-probe" up 1 --no-wait --set task.lease_ms=2000 >/dev/null 2>&1; then
	lease=(--set task.lease_ms=2000)
	diag "lbpeer has task.lease_ms: 2000 ms here"
else
	diag "lbpeer has no task.lease_ms (no leases yet)"
fi
lbcluster --dir "$TMP/cluster-probe" down --clean >/dev/null 2>&1
lbcluster up 3 --netns --set slots=2 --set balance.policy=none \
    --set gossip.interval_ms=100 --set gossip.suspect_ms=1000 \
    --set gossip.dead_ms=3000 --set task.checkpoint_timeout_ms=3000 \
    "${lease[@]}" >/dev/null || bail "no cluster in namespaces"
like "$(lbcluster addr n2)" '^tcp://10\.213\.[0-9]+\.[0-9]+:[0-9]+$' \
    "each peer listens on its namespace's own address"

runlog=$TMP/runlog
poll=$TMP/poll
: >"$runlog"
: >"$poll"

# The poller: lbchaos's, alone (see tools/lbchaos.in).
poller() {
	local n=0 line what id pid us how st
	local -a new
	declare -A live frozen
	while :; do
		mapfile -s "$n" new <"$runlog"
		for line in "${new[@]}"; do
			[ "${line: -1}" = $'\n' ] || break
			n=$((n + 1))
			read -r what id pid us how <<<"$line"
			case $what in
			start) live[$pid]=$id ;;
			end) unset "live[$pid]" "frozen[$pid]" ;;
			esac
		done
		for pid in "${!live[@]}"; do
			st=X
			{ read -r line <"/proc/$pid/stat"; } 2>/dev/null && { line=${line##*) }; st=${line%% *}; }
			case $st in
			X|Z)
				echo "gone ${live[$pid]} $pid $(date +%s%6N)" >>"$poll"
				unset "live[$pid]" "frozen[$pid]" ;;
			T|t)
				[ -n "${frozen[$pid]:-}" ] && continue
				frozen[$pid]=1
				echo "frozen ${live[$pid]} $pid $(date +%s%6N)" >>"$poll" ;;
			*)
				[ -n "${frozen[$pid]:-}" ] || continue
				unset "frozen[$pid]"
				echo "thawed ${live[$pid]} $pid $(date +%s%6N)" >>"$poll" ;;
			esac
		done
		sleep 0.02
	done
}
poller 2>/dev/null &
poller_pid=$!
trap 'kill $poller_pid 2>/dev/null; cleanup' EXIT

host_of() { ctl n1 show --json "$1" 2>/dev/null | jq -r '.state + " " + .host'; }
starts() { grep -c "^start $1 " "$runlog"; }

# Active intervals of each copy of task $1, from the run log and the
# poller's lines: "none", or where two overlapped.
overlaps() {
	local id=$1 us what tid pid how s e prev_end=0 prev_pid="" overlap=""
	local -A open_at
	local -a runs=()
	while read -r us what tid pid how; do
		[ "$tid" = "$id" ] || continue
		case $what in
		start|thawed) [ -n "${open_at[$pid]:-}" ] || open_at[$pid]=$us ;;
		end|gone|frozen)
			[ -n "${open_at[$pid]:-}" ] || continue
			runs+=("${open_at[$pid]}:$us:$pid")
			unset "open_at[$pid]" ;;
		esac
	done < <(cat "$runlog" "$poll" | awk '{ print $4, $1, $2, $3, $5 }' | sort -k1,1n -s)
	for pid in "${!open_at[@]}"; do runs+=("${open_at[$pid]}:$(date +%s%6N):$pid"); done
	while IFS=: read -r s e pid; do
		[ -n "$s" ] || continue
		if [ "$s" -lt "$prev_end" ]; then
			overlap="$overlap copy $pid started $(( (prev_end - s) / 1000 )) ms before copy $prev_pid stopped;"
		fi
		[ "$e" -gt "$prev_end" ] && { prev_end=$e; prev_pid=$pid; }
	done < <(printf '%s\n' "${runs[@]}" | sort -t: -k1,1n)
	echo "${overlap:-none}"
}

# A long checkpointable task, homed at n1, moved to n2 while it runs.
id=$(ctl n1 submit --checkpointable --env "LBWORK_RUNLOG=$runlog" -- \
    lbwork --ms 20000 --state-kb 16) || bail "submit refused"
wait_for 10 eval '[ "$(host_of "$id")" = "running n1" ]' >/dev/null ||
    bail "$id never ran at n1: $(host_of "$id")"
sleep 0.5
ctl n1 migrate "$id" --to n2 >/dev/null || bail "$id did not move to n2"
wait_for 10 eval '[ "$(host_of "$id")" = "running n2" ] && [ "$(starts "$id")" -ge 2 ]' >/dev/null
ok $? "$id, homed at n1, runs at n2"
old_pid=$(grep "^start $id " "$runlog" | tail -1 | cut -d' ' -f3)
sleep 1

# Cut n2 off for 12 s (failure detection: 3 s), then heal.
t_cut=$(now_ms)
lbcluster cut n2 || bail "cut failed"
diag "n2 cut off at $(date -u +%T.%3N)"
ms=$(wait_for 10 eval '[ "$(state_of n1 n2)" = dead ] && [ "$(state_of n3 n2)" = dead ]'); rc=$?
ok $rc "n2 is seen dead by n1 and n3 during the cut (in ${ms} ms)"
ms=$(wait_for 10 eval '[ "$(starts "$id")" -ge 3 ]'); rc=$?
ok $rc "the task starts again elsewhere during the cut (${ms} ms after n2 was seen dead)"
new_pid=$(grep "^start $id " "$runlog" | tail -1 | cut -d' ' -f3)
left=$(( t_cut + 12000 - $(now_ms) ))
[ $left -gt 0 ] && sleep "$(printf '%d.%03d' $((left / 1000)) $((left % 1000)))"
lbcluster heal || bail "heal failed"
diag "healed at $(date -u +%T.%3N)"
ms=$(wait_for 15 eval '[ "$(state_of n1 n2)" = alive ] && [ "$(state_of n3 n2)" = alive ] && [ "$(state_of n2 n1)" = alive ]'); rc=$?
ok $rc "n2 is alive again after the heal, for n1, n3 and itself (in ${ms} ms)"

out=$(ctl n1 wait "$id" --timeout 45 2>&1); rc=$?
like "$rc:$out" "^0:lbwork: done_ms=20000 resumes=[0-9]+ checksum=ok" \
    "the task ends, its work exact (checksum=ok)"
sleep 0.2
is "$(grep -c "^end $id .* done$" "$runlog")" 1 "exactly one copy finished its work"
is "$(cat "$LBCLUSTER_DIR"/n*/log | grep -c "task $id: result recorded")" 1 \
    "its result is recorded once"

is "$(overlaps "$id")" none \
    "the old copy (pid $old_pid, at n2) is stopped or gone before the new one (pid $new_pid) starts: no two copies active at once"

# A cut between the home and the host alone, both ways: n3 reaches both,
# so no one sees a death.  The host's lease runs out and its copy is
# frozen; the home, that no longer hears it, runs the task again once the
# last lease it granted has run out; after the heal the frozen copy is
# killed, and the task ends once.  (Before: the home waited for a death no
# one saw, and the task stood frozen until the heal.)
id2=$(ctl n1 submit --checkpointable --env "LBWORK_RUNLOG=$runlog" -- \
    lbwork --ms 12000 --state-kb 16) || bail "submit refused"
wait_for 10 eval '[ "$(host_of "$id2")" = "running n1" ]' >/dev/null ||
    bail "$id2 never ran at n1: $(host_of "$id2")"
sleep 0.5
ctl n1 migrate "$id2" --to n2 >/dev/null || bail "$id2 did not move to n2"
wait_for 10 eval '[ "$(host_of "$id2")" = "running n2" ] && [ "$(starts "$id2")" -ge 2 ]' >/dev/null ||
    bail "$id2 does not run at n2"
deaths_before=$(grep -c "peer n2 is dead" "$LBCLUSTER_DIR/n1/log")
t_cut=$(now_ms)
lbcluster cut --link n1 n2 || bail "cut --link failed"
# Across the cut, a show at n2 of a task homed at n1 that ended: n1 is alive
# to the membership but silent to n2; a replica's copy answers (n2 holds
# one), within lbctl's 2 s.
out=$(ctl n2 show "$id" 2>&1); rc=$?
like "$rc:$out" "^0:.*done" "across a cut between home and peer, a show at the peer reads a replica's copy"
ms=$(wait_for 15 eval '[ "$(starts "$id2")" -ge 3 ]'); rc=$?
ok $rc "cut off from its host alone, the home runs the task again (${ms} ms after the cut; lease 2000 ms)"
ok $(( $(now_ms) - t_cut >= 2000 ? 0 : 1 )) "not before the lease ran out"
like "$(ctl n1 --json stats | jq .leases.quiet)" '^[1-9]' "n1's stats count it (leases.quiet)"
seen=$(grep -c "peer n2 is dead" "$LBCLUSTER_DIR/n1/log")
diag "n1 saw n2 dead $((seen - deaths_before)) times during the cut (n3 relays its probes)"
is "$(state_of n3 n2)/$(state_of n3 n1)" alive/alive "n3 sees both alive all along"
lbcluster heal || bail "heal failed"
out=$(ctl n1 wait "$id2" --timeout 45 2>&1); rc=$?
like "$rc:$out" "^0:lbwork: done_ms=12000 resumes=[0-9]+ checksum=ok" \
    "the task ends, its work exact (checksum=ok)"
sleep 0.2
is "$(grep -c "^end $id2 .* done$" "$runlog")" 1 "exactly one copy finished its work"
is "$(overlaps "$id2")" none "the copy at n2 was frozen before the new one started: no two copies active at once"
kill $poller_pid 2>/dev/null
wait $poller_pid 2>/dev/null
if [ "$TAP_FAILED" -gt 0 ]; then
	diag "run log and poller, µs:"
	cat "$runlog" "$poll" | sort -k4,4n | sed 's/^/#   /'
fi

tag=$(. "$LBCLUSTER_DIR/cluster.env"; echo "$NETNS_TAG")
lbcluster down >/dev/null
is "$(ip netns list | awk '{print $1}' | grep -c "^$tag-")" 0 \
    "lbcluster down deletes the cluster's namespaces ($tag-*)"

done_testing
