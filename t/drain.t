#!/bin/bash
# drain.t - lbctl drain: waiting tasks move away, running ones finish at the
# draining peer, new submissions run elsewhere; a drain whose timeout passes
# hands a task back to its home, which runs it again; SIGTERM drains, then
# leaves; nothing is lost.  (Balancing off: only drains move tasks.)
. "$top_srcdir/t/lib.sh"

lbcluster up 3 --set slots=2 --set balance.policy=none --set gossip.interval_ms=100 \
    --set drain_timeout_s=20 >/dev/null || bail "no cluster"
sub() { ctl n1 submit -- lbwork --ms "$1"; }
field() { ctl n1 show --json "$1" | jq -r "$2"; }
running() { [ "$(field "$1" .state)" = running ]; }
done_all() { for i in "$@"; do [ "$(field "$i" .state)" = done ] || return 1; done; }

# -- n1 drains: two running, two waiting, then new submissions --
# (6 s: the drain must begin while both still run; on a loaded machine
# the submits and the checks before it can take seconds, and with 2.5 s
# one of them ended first and a waiting one ran here in its slot)
r1=$(sub 6000); r2=$(sub 6000); w1=$(sub 300); w2=$(sub 300)
wait_for 5 running "$r1" >/dev/null && wait_for 5 running "$r2" >/dev/null
ok $? "n1 runs two tasks and holds two waiting"
like "$(ctl n1 drain)" "^draining: [0-9]+ tasks still here" "lbctl drain starts a drain"
ms=$(wait_for 5 sh -c '[ "$(lbcluster ctl n2 --json peers | jq -r ".[] | select(.id == \"n1\") | .state")" = draining ]')
ok $? "n2 sees n1 draining in lbctl peers (${ms} ms)"
like "$(ctl n2 peers)" "n1 +[^ ]+ +draining " "lbctl peers prints it"
is "$(ctl n1 status --json | jq .draining)" true "lbctl status --json says draining"
s1=$(sub 300)
out=$(ctl n1 --json drain --wait); rc=$?
is "$rc:$(echo "$out" | jq -c '[.draining, .done, .held]')" "0:[true,true,0]" \
    "drain --wait returns once nothing is held at n1"
fate() { echo "$out" | jq -r --arg i "$1" '.tasks[] | select(.id == $i) | .fate'; }
is "$(fate "$r1") $(fate "$r2")" "finished finished" "the running tasks finished at n1"
is "$(fate "$w1") $(fate "$w2") $(fate "$s1")" "moved moved moved" \
    "the waiting ones and the new submission moved away"
wait_for 30 done_all "$r1" "$r2" "$w1" "$w2" "$s1" >/dev/null
ok $? "all five are done"
is "$(for i in "$w1" "$w2" "$s1"; do field "$i" .host; done | grep -c n1)" 0 \
    "none of the waiting or new ones ran at n1"
is "$(for i in "$r1" "$r2" "$w1" "$w2" "$s1"; do field "$i" '"\(.starts) \(.exit_code)"'; done | sort -u)" \
    "1 0" "each ran once and exited 0"
like "$(ctl n1 drain --wait)" "^drained: nothing is held here" "drain --wait says so for people"
is "$(ctl n1 stats --json | jq .drains)" 1 "lbctl stats counts the drain"

# A long task submitted while n1 drains runs elsewhere; n1 then undrains.
long=$(sub 3500)
wait_for 5 running "$long" >/dev/null; ok $? "a task submitted at draining n1 runs"
host=$(field "$long" .host)
ok $([ "$host" != n1 ]; echo $?) "elsewhere ($host)"
like "$(ctl n1 undrain)" "^undrained" "lbctl undrain ends it"
ms=$(wait_for 5 sh -c '[ "$(lbcluster ctl n2 --json peers | jq -r ".[] | select(.id == \"n1\") | .state")" = alive ]')
ok $? "n2 sees n1 alive again (${ms} ms)"

# -- the timeout passes while a long plain task runs: handed back --
out=$(ctl "$host" --json drain --timeout 1 --wait); rc=$?
is "$rc:$(echo "$out" | jq -r --arg i "$long" '.tasks[] | select(.id == $i) | "\(.fate) \(.to)"')" \
    "0:handed back n1" "after 1 s, $host hands the long task back to its home"
out=$(ctl n1 wait --timeout 20 "$long"); rc=$?
is "$rc:$out" "0:lbwork: done_ms=3500 resumes=0 checksum=ok" "it runs again and ends once"
is "$(field "$long" '"\(.state) \(.starts) \(.host)"')" "done 2 n1" \
    "its home ran it again itself (one result, two starts)"
is "$(ctl n1 stats --json | jq .returned):$(ctl "$host" stats --json | jq .given_back)" "1:1" \
    "lbctl stats: handed back once, placed anew once"
ctl "$host" undrain >/dev/null

# -- a task that catches the hand-back's SIGTERM and exits 0: lbpeer ended
# that run, so it is no result; the task runs again (elsewhere: n1 drains)
m=$TMP/trap-marker
trapper=$(ctl n1 submit -- sh -c "trap 'echo trapped; exit 0' TERM
	if [ -e $m ]; then echo second-run; exit 0; fi
	touch $m; sleep 60 & wait")
wait_for 5 running "$trapper" >/dev/null; ok $? "a task that traps SIGTERM runs at n1"
wait_for 5 test -e "$m" >/dev/null
ctl n1 drain --timeout 1 --wait >/dev/null; ok $? "n1 drains, and stops it after 1 s"
out=$(ctl n1 wait --timeout 20 "$trapper"); rc=$?
is "$rc:$out" "0:second-run" "its exit 0 after the stop is no result: it ran again"
is "$(field "$trapper" '"\(.state) \(.starts)"')" "done 2" "one result, two starts"
ctl n1 undrain >/dev/null

# -- SIGTERM: drain, then leave --
ctl n1 drain >/dev/null
t=$(sub 1500)
wait_for 5 running "$t" >/dev/null; ok $? "a task runs away from draining n1"
ctl n1 undrain >/dev/null
th=$(field "$t" .host)
start=$(now_ms)
lbcluster stop "$th"
el=$(( $(now_ms) - start ))
grep -q "drain: nothing is held here any more" "$LBCLUSTER_DIR/$th/log" &&
    grep -q "$th stopped" "$LBCLUSTER_DIR/$th/log"
ok $? "SIGTERM: $th drained, then stopped by itself (${el} ms)"
is "$(field "$t" '"\(.state) \(.starts) \(.host)"')" "done 1 $th" "the task finished there, once"
ms=$(wait_for 5 sh -c "[ \"\$(lbcluster ctl n1 --json peers | jq -r '.[] | select(.id == \"$th\") | .state')\" = left ]")
ok $? "and the others see it left"

# -- bad input --
ctl n1 drain --bogus >/dev/null 2>"$TMP/err"; rc=$?
is "$rc" 2 "drain --bogus: usage error"
like "$(cat "$TMP/err")" 'unknown option "--bogus"' "with a message"
for bad in abc 0 -3 99999999; do
	ctl n1 drain --timeout "$bad" >/dev/null 2>"$TMP/err"; rc=$?
	is "$rc:$(head -1 "$TMP/err")" \
	    "2:lbctl: drain: --timeout: expected seconds 1..86400, got \"$bad\"" "drain --timeout $bad"
done
ctl n1 drain now >/dev/null 2>&1; is $? 2 "drain takes no argument"
out=$(ctl n1 undrain 2>&1); rc=$?
is "$rc:$out" "0:not draining: nothing to end" "undrain of a peer that is not draining changes nothing"
ctl n1 undrain --x >/dev/null 2>&1; is $? 2 "undrain --x: usage error"
is "$(ctl n1 status --json | jq .draining)" false "and n1 is not draining"

done_testing
