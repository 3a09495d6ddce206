#!/bin/bash
# lbsim.t - the simulator (sim/lbsim): 64 peers for 120 simulated seconds
# with crashes and 1% loss, the real gossip core: every crash known to all,
# within 5 s at the median, no live peer held dead, no crashed one back
# from the dead, under 2 KiB/s of membership traffic a peer; the same seed
# gives the same run (its trace hash), another seed another; crashed peers
# that restart are held alive by all again, paused ones never dead; 128 peers
# suspect no live one (the heartbeat ages grow with the members); bad
# input is refused with exit 2.
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
b=$(run 7) || true
is "$(v "$b" trace_hash)" "$(v "$a" trace_hash)" "the same seed gives the same run (trace hash)"
c=$(run 8) || true
ok "$([ "$(v "$c" trace_hash)" != "$(v "$a" trace_hash)" ]; echo $?)" "another seed, another run"

r=$(lbsim --peers 64 --seconds 120 --seed 2 --faults restart,pause,loss --json)
[ -n "$r" ] || bail "lbsim with restarts printed nothing"
ok "$([ "$(v "$r" restarts)" -ge 1 ] && [ "$(v "$r" rejoined_to_all)" = "$(v "$r" restarts)" ]; echo $?)" \
    "every restarted peer is held alive by all again ($(v "$r" rejoined_to_all) of $(v "$r" restarts), median $(v "$r" rejoin_ms_median) ms)"
ok "$([ "$(v "$r" pauses)" -ge 1 ] && [ "$(v "$r" false_deaths)" = 0 ] && [ "$(v "$r" invariant_violations)" = 0 ]; echo $?)" \
    "$(v "$r" pauses) peers paused for 1 s: none held dead, no invariant broken"

d=$(lbsim --peers 128 --seconds 60 --seed 3 --json) || bail "lbsim 128 failed"
is "$(v "$d" false_suspicions)" 0 "128 peers without faults: no live peer suspected"
like "$(v "$d" converged_ms)" '^[0-9]+$' "and every peer came to know every other ($(v "$d" converged_ms) ms)"

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
done_testing
