#!/bin/bash
# demo.sh - `make demo`: a 4-peer localhost cluster running real work.
# Tasks submitted at two peers run under each peer's slots; their results
# go home, where `lbctl wait` finds them from any peer.  Then a crash.
set -eu
DIR=$(mktemp -d "${TMPDIR:-/tmp}/lbdemo.XXXXXX")
export LBCLUSTER_DIR="$DIR/cluster"
trap 'lbcluster down >/dev/null 2>&1; rm -rf "$DIR"' EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "lbcluster up 4: four lbpeer daemons on loopback, one shared key, 2 slots each"
lbcluster up 4 --set gossip.interval_ms=200
lbcluster ctl n1 peers

say "submit 6 lbwork tasks at n1 and 6 at n2 (200 to 700 ms of work each)"
ids=""
for i in 1 2 3 4 5 6; do
	ids="$ids $(lbcluster ctl n1 submit -- lbwork --ms $((100 * i + 100)))"
	ids="$ids $(lbcluster ctl n2 submit -- lbwork --ms $((100 * i + 100)) --spin)"
done
echo "submitted:$ids"
lbcluster ctl n1 peers

say "lbctl wait, from n3, for each: the output comes from the task's home"
for id in $ids; do
	printf '%-6s ' "$id"
	lbcluster ctl n3 wait "$id"
done

say "where each ran and how long it took (lbctl show --json, from n4)"
printf '%-6s  %-4s  %8s  %9s  %s\n' TASK HOST RAN_MS RESPONSE COMMAND
for id in $ids; do
	lbcluster ctl n4 show --json "$id" | jq -r '"\(.id)  \(.host)  \(.finished_at - .started_at)  \(.finished_at - .submitted_at)  \(.argv | join(" "))"' |
	    awk '{ printf "%-6s  %-4s  %8s  %9s  ", $1, $2, $3, $4; for (i = 5; i <= NF; i++) printf "%s ", $i; print "" }'
done
lbcluster ctl n1 list --all | head -4
echo "(tasks run at their home for now: load balancing comes next)"

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
