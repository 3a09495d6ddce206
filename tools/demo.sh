#!/bin/bash
# demo.sh - `make demo`: a 4-peer localhost cluster balancing real work.
# A burst of tasks submitted at one peer spreads over all of them; the same
# burst with policy "none" stays where it was submitted.  Results go home,
# where `lbctl wait` finds them from any peer.  A running task moves
# twice, its work exact.  Then a crash.
set -eu
DIR=$(mktemp -d "${TMPDIR:-/tmp}/lbdemo.XXXXXX")
export LBCLUSTER_DIR="$DIR/cluster"
trap 'lbcluster down >/dev/null 2>&1; rm -rf "$DIR"' EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# burst POLICY: 24 tasks of 300 ms at n1; prints where they ran.
burst() {
	local ids id
	lbcluster up 4 --set slots=1 --set gossip.interval_ms=200 \
	    --set balance.policy="$1" >/dev/null
	ids=$(for i in $(seq 24); do lbcluster ctl n1 submit -- lbwork --ms 300; done)
	for id in $ids; do lbcluster ctl n3 wait "$id" >/dev/null; done
	for id in $ids; do lbcluster ctl n1 show --json "$id"; done |
	    jq -rs --arg pol "$1" '
		(map(.finished_at - .submitted_at) | add / length) as $mean |
		((map(.finished_at) | max) - (map(.submitted_at) | min)) as $span |
		(group_by(.host) | map("\(.[0].host): \(length)") | join("  ")) as $per |
		"policy \($pol | (. + "         ")[0:9]) tasks per peer: \($per)\n" +
		"                   mean response \($mean | floor) ms, all done in \($span) ms"'
	lbcluster ctl n1 stats | sed 's/^/                   /'
	lbcluster down >/dev/null
}

say "24 tasks of 300 ms submitted at n1 of a 4-peer cluster (1 slot each)"
burst symmetric
burst none
echo "(symmetric is the default: it came out best in doc/bench.md)"

say "lbcluster up 4, and tasks from two peers: wait from a third"
lbcluster up 4 --set gossip.interval_ms=200
ids=""
for i in 1 2 3; do
	ids="$ids $(lbcluster ctl n1 submit -- lbwork --ms $((100 * i + 100)))"
	ids="$ids $(lbcluster ctl n2 submit -- lbwork --ms $((100 * i + 100)) --spin)"
done
for id in $ids; do
	printf '%-6s ' "$id"
	lbcluster ctl n3 wait "$id"
done
lbcluster ctl n1 peers

say "a running task (1 MiB of state) moves n1 -> n4 -> n2 while it runs"
id=$(lbcluster ctl n1 submit --checkpointable -- lbwork --ms 2000 --state-kb 1024)
for _ in $(seq 50); do
	[ "$(lbcluster ctl n1 show --json "$id" | jq -r .state)" = running ] && break
	sleep 0.1
done
sleep 0.6
lbcluster ctl n1 migrate "$id" --to n4
sleep 0.6
lbcluster ctl n3 migrate "$id" --to n2
printf '%-6s ' "$id"
lbcluster ctl n3 wait "$id"
lbcluster ctl n1 show "$id" | sed -n '/^moves while running/,/^hosts/p' | sed '$d'

say "messages to a task follow it: it moves n1 -> n2 -> n4, n1 sends along its link"
id=$(lbcluster ctl n3 submit --checkpointable -- lbwork --ms 300 --recv 3)
lbcluster ctl n3 migrate "$id" --to n1 >/dev/null
for to in n2 n4; do
	for _ in $(seq 50); do
		[ "$(lbcluster ctl n3 show --json "$id" | jq -r .state)" = running ] && break
		sleep 0.1
	done
	sleep 0.6
	lbcluster ctl n3 migrate "$id" --to $to >/dev/null
done
lbcluster ctl n1 locate "$id"
for i in 1 2 3; do lbcluster ctl n1 send "$id" $i; done
printf '%-6s ' "$id"
lbcluster ctl n3 wait "$id"

say "n3 crashes (SIGKILL); every other peer sees it dead"
lbcluster kill n3
for _ in $(seq 60); do
	s=$(lbcluster ctl n1 --json peers | jq -r '.[] | select(.id == "n3") | .state')
	[ "$s" = dead ] && break
	sleep 0.1
done
lbcluster ctl n1 peers
say "n3 restarts and rejoins at a higher incarnation"
lbcluster start n3
lbcluster wait 4
lbcluster ctl n4 peers
say "lbcluster down"
lbcluster down
