#!/bin/bash
# lbsim.t - the simulator (sim/lbsim): 64 peers for 120 simulated seconds
# with crashes and 1% loss, the real gossip core: every crash known to all,
# within 5 s at the median, no live peer held dead, no crashed one back
# from the dead, under 2 KiB/s of membership traffic a peer, every load
# change heard by all within 15 s; the same seed
# gives the same run (its trace hash), another seed another; crashed peers
# that restart are held alive by all again, paused ones never dead; 128 peers
# suspect no live one (the heartbeat ages grow with the members); 600
# peers (digests from rings, catching up by bucket sums) converge and
# detect as well; messages
# to tasks moved k times (--moves) take the hops forwarding promises, a
# dead home's through the replica acting for it.  With
# tasks (--rho, --trace): every task ends, once; balancing (the real core)
# cuts the response time well below none's at high load, and none's is
# the M/M/1 queue's; a trace gives the exact times it must; bad input is
# refused with exit 2, a bad trace line with FILE:LINE.
. "$top_srcdir/t/lib.sh"

command -v lbsim >/dev/null || bail "no lbsim (make)"
out=$(lbsim --help); rc=$?
like "$rc:$out" "^0:usage: lbsim --peers N --seconds S --seed X" "--help prints the usage"

run() { lbsim --peers 64 --seconds 120 --seed "$1" --faults crash,loss --json; }
a=$(run 7); rc=$?
[ -n "$a" ] || bail "lbsim printed nothing (exit $rc)"
diag "$a"
is "$rc" 0 "lbsim exits 0 (1 when an invariant broke)"
v() { echo "$1" | jq -r ".$2"; }
is "$(v "$a" invariant_violations)" 0 "no invariant broken (no crashed peer alive again once all held it dead)"
like "$(v "$a" crashes)" '^[1-9]' "peers crashed ($(v "$a" crashes))"
is "$(v "$a" crashes_not_known_to_all)" 0 "every crash became known to every live peer"
ok "$([ "$(v "$a" dead_to_all_ms_median)" -le 5000 ] && [ "$(v "$a" dead_to_all_ms_max)" -le 10000 ]; echo $?)" \
    "dead to all: median $(v "$a" dead_to_all_ms_median) ms (at most 5000), max $(v "$a" dead_to_all_ms_max) ms (at most 10000)"
is "$(v "$a" false_deaths)" 0 "no live peer was held dead"
is "$(v "$a" messages_refused)" 0 "no message refused by its envelope (a pair's messages arrive in order)"
ok "$(awk -v b="$(v "$a" membership_bytes_per_peer_s)" 'BEGIN { exit !(b > 0 && b <= 2048) }'; echo $?)" \
    "membership traffic $(v "$a" membership_bytes_per_peer_s) bytes/s a peer (at most 2 KiB/s)"
# a load change (one every 5 s) reaches every live peer in O(log N) rounds:
# at 64 peers about 4 s; 15 s would be a rumour lost and found by chance
ok "$([ "$(v "$a" load_changes)" -ge 10 ] && [ "$(v "$a" load_changes_not_heard_by_all)" = 0 ] && [ "$(v "$a" load_spread_ms_max)" -le 15000 ]; echo $?)" \
    "$(v "$a" load_changes) load changes heard by every live peer: median $(v "$a" load_spread_ms_median) ms ($(v "$a" load_spread_rounds_median) rounds), max $(v "$a" load_spread_ms_max) ms (at most 15000)"
b=$(run 7) || true
is "$(v "$b" trace_hash)" "$(v "$a" trace_hash)" "the same seed gives the same run (trace hash)"
c=$(run 8) || true
ok "$([ "$(v "$c" trace_hash)" != "$(v "$a" trace_hash)" ]; echo $?)" "another seed, another run"

# Messages to tasks moved k times (the real forwarding core): from a peer
# that knows nothing, two hops by the home (one when the home holds it);
# once more, one (path compression); from an old host, along the links
# (k - 1); with the home dead, two by the replica acting for it (every
# peer was told who acts), not a question to every peer.
f=$(lbsim --peers 32 --seconds 60 --seed 4 --moves 4 --faults crash --json); rc=$?
[ -n "$f" ] || bail "lbsim --moves printed nothing (exit $rc)"
fr() { echo "$f" | jq -r ".forwarding[] | select(.moves == $1 and .home == \"$2\") | .$3"; }
is "$(echo "$f" | jq '[.forwarding[] | .sends == .delivered and .sends > 0] | all')" true \
    "every message to a moved task delivered ($(echo "$f" | jq '[.forwarding[].delivered] | add') sends)"
is "$(fr 0 alive first_hops_max)/$(fr 1 alive first_hops_max)/$(fr 4 alive first_hops_max)" 1/2/2 \
    "first message: 1 hop to a task at its home, 2 (by the home) to one moved 1 or 4 times"
is "$(fr 4 alive again_hops_max)/$(fr 4 dead again_hops_max)" 1/1 "the next message from the same peer: 1 hop (path compression)"
is "$(fr 2 alive link_hops_max)/$(fr 4 alive link_hops_max)" 1/3 "from the first host after the home along the links: k - 1 hops"
ok "$([ "$(fr 3 dead first_hops_max)" = 2 ] && [ "$(fr 3 dead first_messages_mean | cut -d. -f1)" -le 8 ]; echo $?)" \
    "home dead: 2 hops by the replica acting for it, $(fr 3 dead first_messages_mean) messages (not one to every peer)"
is "$(lbsim --peers 32 --seconds 60 --seed 4 --moves 4 --faults crash --json | jq -r .trace_hash)" "$(echo "$f" | jq -r .trace_hash)" \
    "with --moves, the same seed gives the same run"

r=$(lbsim --peers 64 --seconds 120 --seed 2 --faults restart,pause,loss --json)
[ -n "$r" ] || bail "lbsim with restarts printed nothing"
ok "$([ "$(v "$r" restarts)" -ge 1 ] && [ "$(v "$r" rejoined_to_all)" = "$(v "$r" restarts)" ]; echo $?)" \
    "every restarted peer is held alive by all again ($(v "$r" rejoined_to_all) of $(v "$r" restarts), median $(v "$r" rejoin_ms_median) ms)"
ok "$([ "$(v "$r" pauses)" -ge 1 ] && [ "$(v "$r" false_deaths)" = 0 ] && [ "$(v "$r" invariant_violations)" = 0 ]; echo $?)" \
    "$(v "$r" pauses) peers paused for 1 s: none held dead, no invariant broken"

d=$(lbsim --peers 128 --seconds 60 --seed 3 --json) || bail "lbsim 128 failed"
is "$(v "$d" false_suspicions)" 0 "128 peers without faults: no live peer suspected"
like "$(v "$d" converged_ms)" '^[0-9]+$' "and every peer came to know every other ($(v "$d" converged_ms) ms)"

# More than 512 members: digests chosen from the rings and the kept
# stalest (not a pass over the table), a forming cluster caught up by
# bucket sums; every peer comes to know every other, a crash is known to
# all, no live peer held dead, traffic under 2 KiB/s a peer.
w=$(lbsim --peers 600 --seconds 40 --seed 3 --faults crash,loss --json) || bail "lbsim 600 failed"
diag "$(echo "$w" | jq -c '{converged_ms, crashes, dead_to_all_ms_median, false_suspicions, false_deaths, membership_bytes_per_peer_s}')"
ok "$([ "$(v "$w" converged_ms)" -le 20000 ] && [ "$(v "$w" crashes)" -ge 1 ] && [ "$(v "$w" crashes_not_known_to_all)" = 0 ]; echo $?)" \
    "600 peers: all know all after $(v "$w" converged_ms) ms (at most 20000), every crash known to all"
ok "$([ "$(v "$w" false_deaths)" = 0 ] && [ "$(v "$w" invariant_violations)" = 0 ] && awk -v b="$(v "$w" membership_bytes_per_peer_s)" 'BEGIN { exit !(b > 0 && b <= 2048) }'; echo $?)" \
    "600 peers: no live peer held dead, $(v "$w" membership_bytes_per_peer_s) bytes/s a peer (at most 2 KiB/s)"

# Tasks: 16 peers, slots 1, exponential service, S = 100 ms.
t() { lbsim --peers 16 --seconds 120 --seed 5 --json "$@"; }
sym=$(t --rho 0.9 --faults pause,loss); rc=$?
[ -n "$sym" ] || bail "lbsim --rho printed nothing (exit $rc)"
diag "$(echo "$sym" | jq -c '{policy, rho, tasks, results, mean_response_S, p95_response_S, probes_per_task, transfers_per_task, mmc_mean_S, pauses}')"
is "$rc" 0 "lbsim with tasks, pauses and loss exits 0"
ok "$([ "$(v "$sym" tasks)" -gt 10000 ] && [ "$(v "$sym" results)" = "$(v "$sym" tasks)" ] && [ "$(v "$sym" task_violations)" = 0 ]; echo $?)" \
    "every task of $(v "$sym" tasks) ended, once"
none=$(t --rho 0.9 --faults pause,loss --policy none) || true
diag "$(echo "$none" | jq -c '{policy, mean_response_S, mm1_mean_S, probes_per_task}')"
ok "$(awk -v a="$(v "$sym" mean_response_S)" -v b="$(v "$none" mean_response_S)" -v m="$(v "$sym" mmc_mean_S)" \
    'BEGIN { exit !(a < b / 2 && a >= m * 0.95) }'; echo $?)" \
    "rho 0.9: symmetric $(v "$sym" mean_response_S) S, under half of none's $(v "$none" mean_response_S) S, not below M/M/16's $(v "$sym" mmc_mean_S)"
ok "$(awk -v p="$(v "$sym" probes_per_task)" -v q="$(v "$none" probes_per_task)" -v x="$(v "$sym" transfers_per_task)" \
    'BEGIN { exit !(p > 0 && q == 0 && x > 0) }'; echo $?)" \
    "the balancer polls ($(v "$sym" probes_per_task) a task) and moves tasks ($(v "$sym" transfers_per_task)); none does neither"
low=$(t --rho 0.5 --policy none) || true
ok "$(awk -v a="$(v "$low" mean_response_S)" 'BEGIN { exit !(a > 1.6 && a < 2.5) }'; echo $?)" \
    "no balancing at rho 0.5: $(v "$low" mean_response_S) S, as M/M/1's 2.0"
# The oracle (global join-the-shortest-queue) and the hints switched off
# with --set: the same tasks, the oracle at least as good as lbpeer and
# hints no worse than none of them.
orc=$(t --rho 0.9 --oracle jsq) || true
old=$(t --rho 0.9 --set balance.idle_hints=false --set balance.idle_notify=0) || true
new=$(t --rho 0.9) || true
diag "oracle $(v "$orc" mean_response_S), without hints $(v "$old" mean_response_S), with $(v "$new" mean_response_S) S"
ok "$(awk -v o="$(v "$orc" mean_response_S)" -v a="$(v "$old" mean_response_S)" -v b="$(v "$new" mean_response_S)" \
    -v m="$(v "$orc" mmc_mean_S)" -v p="$(v "$orc" probes_per_task)" -v n="$(v "$orc" tasks)" -v k="$(v "$new" tasks)" \
    'BEGIN { exit !(o >= m && o < b && b < a && p == 0 && n == k) }'; echo $?)" \
    "rho 0.9: M/M/16 <= the oracle < symmetric with idle hints < without them"
is "$(v "$orc" policy)" oracle-jsq "the oracle's runs say so"
ok "$(awk -v a="$(v "$new" idle_while_waiting)" -v b="$(v "$old" idle_while_waiting)" 'BEGIN { exit !(a > 0 && a < b) }'; echo $?)" \
    "slots idle while tasks waited: $(v "$new" idle_while_waiting) with hints, $(v "$old" idle_while_waiting) without"
again=$(t --rho 0.9 --faults pause,loss) || true
is "$(v "$again" trace_hash)" "$(v "$sym" trace_hash)" "with tasks, the same seed gives the same run"

dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
# The policy table (lbbench policies runs lbsim): a row a policy and load,
# the oracle and the hints among them.
pt=$(lbbench policies --peers 4 --seconds 20 --seeds 1 --rhos 0.7 --out "$dir/pol" --json 2>/dev/null)
is "$(jq -c '[.[].policy]' <<<"$pt")" \
    '["none","oracle-jsq","sender","receiver","symmetric","sender+hints","receiver+hints","symmetric+hints","symmetric+hints,backoff20"]' \
    "lbbench policies --json: a row for every policy"
ok "$(jq -e 'all(.[]; .rho == 0.7 and .mean_S >= .mmN_mean_S * 0.9 and (.probes_per_task | type) == "number")' <<<"$pt" >/dev/null; echo $?)" \
    "each with its mean (at least about M/M/4's), probes and the rest"
ok "$([ -s "$dir/pol/policies.md" ] && grep -q '^| symmetric+hints | 0.7 |' "$dir/pol/policies.md"; echo $?)" \
    "and the table in policies.md"
printf 'submit_ms,duration_ms,peer,checkpointable,size_bytes\n0,100,n1,0,0\n0,100,n1,0,0\n0,100,1,1,4096\n' >"$dir/three.csv"
tr=$(lbsim --peers 4 --seconds 20 --trace "$dir/three.csv" --policy none --json) || true
ok "$([ "$(v "$tr" results)" = 3 ] && [ "$(v "$tr" mean_response_S)" = 2 ]; echo $?)" \
    "a trace of three 100 ms tasks at n1, not balanced: they end at 100, 200 and 300 ms (mean $(v "$tr" mean_response_S) S)"
tr=$(lbsim --peers 4 --seconds 20 --trace "$dir/three.csv" --json) || true
ok "$(awk -v a="$(v "$tr" mean_response_S)" 'BEGIN { exit !(a < 2) }'; echo $?)" \
    "balanced, the other peers take two of them (mean $(v "$tr" mean_response_S) S)"
printf '0,100,n1,0,0\n5,ten,n2,0,0\n' >"$dir/bad.csv"
printf '0,100,n1,0,0\n# a comment\n9,100,n7,0,0\n' >"$dir/peer.csv"
printf '50,100,n1,0,0\n10,100,n2,0,0\n' >"$dir/back.csv"

bad() { # expected-message args...
	local want=$1; shift
	out=$(lbsim "$@" 2>&1); rc=$?
	like "$rc:$out" "^2:.*$want" "lbsim $*: refused (exit 2)"
}
bad "--peers: '1' is not a number from 2 to 10000" --peers 1
bad "--peers: 'x' is not a number" --peers x
bad "--seconds: '0' is not a number" --seconds 0
bad "--loss: '51' is not a number from 0 to 50" --loss 51
bad "unknown fault 'bogus' .crash, restart, pause, loss." --faults crash,bogus
bad "--latency: '5:1' is not MIN:MAX" --latency 5:1
bad "--crashes needs --faults crash" --crashes 2
bad "unexpected argument 'extra'" --peers 4 extra
bad "--rho: '1' is not a load from 0.01 to 0.99" --rho 1
bad "--rho: 'x' is not a load" --rho x
bad "--service: 'gauss' is not one of exp, pareto, bimodal" --rho 0.5 --service gauss
bad "--policy: 'best' is not one of none, sender, receiver, symmetric" --rho 0.5 --policy best
bad "crash or restart with tasks: not simulated yet" --rho 0.5 --faults crash
bad "--trace and --rho: one or the other" --rho 0.5 --trace "$dir/three.csv"
bad "$dir/bad.csv:2: not submit_ms,duration_ms,peer,checkpointable,size_bytes" --peers 4 --trace "$dir/bad.csv"
bad "$dir/peer.csv:3: peer 'n7' is not one of n1 to n4" --peers 4 --trace "$dir/peer.csv"
bad "$dir/back.csv:2: submit time 10 goes back" --peers 4 --trace "$dir/back.csv"
bad "$dir/none.csv: No such file" --peers 4 --trace "$dir/none.csv"
bad "--moves: '13' is not a number from 0 to 12" --moves 13
bad "--moves runs without tasks" --moves 2 --rho 0.5
bad "--oracle places tasks: it needs --rho or --trace" --oracle jsq
bad "--oracle: 'best' is not one of jsq" --rho 0.5 --oracle best
bad "--set balance.hint_ms=0: balance.hint_ms = 0 is out of range" --rho 0.5 --set balance.hint_ms=0
bad "--set balance.colour=1: unknown setting \"balance.colour\"" --rho 0.5 --set balance.colour=1
bad "--set balance.idle_hints: not KEY=VALUE" --rho 0.5 --set balance.idle_hints
bad "--set balance.idle_hints=maybe: balance.idle_hints must be true or false, not a string" --rho 0.5 --set balance.idle_hints=maybe
done_testing
