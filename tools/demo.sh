#!/bin/bash
# demo.sh - `make demo`: a 4-peer localhost cluster, its membership as one
# peer sees it, a crash seen by all, and the cluster taken down.
set -eu
DIR=$(mktemp -d "${TMPDIR:-/tmp}/lbdemo.XXXXXX")
export LBCLUSTER_DIR="$DIR/cluster"
trap 'lbcluster down >/dev/null 2>&1; rm -rf "$DIR"' EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "lbcluster up 4: four lbpeer daemons on loopback, one shared key"
lbcluster up 4 --set gossip.interval_ms=200
say "lbctl peers, as n1 sees the cluster"
lbcluster ctl n1 peers
say "lbctl status on n2"
lbcluster ctl n2 status
say "n3 crashes (SIGKILL); every other peer notices within a few rounds"
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
echo "done: tasks and load balancing arrive with the next issues."
