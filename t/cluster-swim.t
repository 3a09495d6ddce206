#!/bin/bash
# cluster-swim.t - failure detection (SWIM with Lifeguard) on real peers,
# with the default probe settings: a peer paused by SIGSTOP for 1 s is
# never declared dead; a SIGKILLed one is dead to all within seconds.  The
# heartbeat backstop (suspect_ms, dead_ms) is set far off so that SWIM
# alone decides.  Times are printed; the bounds are loose (a shared
# machine): doc/bench.md has the measured figures.
. "$top_srcdir/t/lib.sh"

N=8
lbcluster up $N --set gossip.suspect_ms=20000 --set gossip.dead_ms=30000 \
    --set gossip.forget_ms=60000 >/dev/null || bail "no cluster"
sleep 2	# a probe round or two

dead_lines() { grep -h " is dead " "$LBCLUSTER_DIR"/n*/log 2>/dev/null | wc -l; }
d0=$(dead_lines)

# Three peers in turn, each paused for 1 s, then left to run for 3 s
# (longer than the suspicion timeout with one accuser would need to end).
for v in n2 n5 n7; do
	pid=$(cat "$LBCLUSTER_DIR/$v/pid")
	kill -STOP "$pid"
	sleep 1
	kill -CONT "$pid"
	sleep 3
done
d1=$(dead_lines)
is "$((d1 - d0))" 0 "SIGSTOP for 1 s (n2, n5, n7 in turn): no peer declared anyone dead"
alive8() { for n in $(lbcluster nodes); do
	[ "$(ctl $n --json status | jq .alive)" = 8 ] || return 1; done; }
ms=$(wait_for 5 alive8); ok $? "and all 8 see all 8 alive (${ms} ms)"
refuted=$(grep -h "refut\|is suspect" "$LBCLUSTER_DIR"/n*/log | wc -l)
diag "suspicions (refuted) meanwhile: $refuted"

# A crash: SWIM finds it.
others="n1 n2 n3 n4 n5 n6 n7"
lbcluster kill n8
all_dead() { for n in $others; do [ "$(state_of $n n8)" = dead ] || return 1; done; }
ms=$(wait_for 20 all_dead); rc=$?
ok $rc "SIGKILL: every other peer sees n8 dead (${ms} ms, polling included)"
ok $([ "$ms" -le 12000 ]; echo $?) "well before the heartbeat backstop (dead_ms 30000): $ms <= 12000 ms"
total=0
for n in $others; do
	total=$((total + $(ctl $n --json status | jq .counters.swim.suspicions)))
done
ok $([ "$total" -ge 1 ]; echo $?) "lbctl status counts the suspicions ($total) and probes ($(ctl n1 --json status | jq .counters.swim.probes) at n1)"
sus=$(for n in $others; do ctl $n --json peers | jq -r '.[] | select(.id != "n8" and .state != "alive") | .id'; done)
is "$sus" "" "no live peer is suspected meanwhile"

done_testing
