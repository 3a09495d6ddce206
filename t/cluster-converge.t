#!/bin/bash
# cluster-converge.t - 8 peers find each other through seeds and agree.
. "$top_srcdir/t/lib.sh"

N=8
out=$(lbcluster up $N --set gossip.interval_ms=100 --set gossip.suspect_ms=800 \
    --set gossip.dead_ms=1600 --timeout 30 2>&1)
ok $? "lbcluster up $N: every peer sees $N alive" || { diag "$out"; bail "no cluster"; }

all_ok=0
for n in $(lbcluster nodes); do
	j=$(ctl "$n" --json peers)
	got=$(echo "$j" | jq -r '[.[] | select(.state == "alive") | .id] | sort | join(" ")')
	[ "$got" = "n1 n2 n3 n4 n5 n6 n7 n8" ] || { all_ok=1; diag "$n sees: $got"; }
done
ok $all_ok "every peer lists all 8 ids alive"

j=$(ctl n1 --json peers)
is "$(echo "$j" | jq -r '.[0] | [has("id"), has("addr"), has("state"), has("incarnation"),
    has("load"), has("slots"), has("age_ms")] | all')" true \
    "peers --json has id, addr, state, incarnation, load, slots, age_ms"
is "$(echo "$j" | jq -r '[.[] | .slots] | unique | join(",")')" 2 "slots travel with each entry"
is "$(echo "$j" | jq -r '[.[] | .load] | unique | join(",")')" 0 "load is 0 without tasks"
is "$(echo "$j" | jq -r '[.[] | .level] | unique | join(",")')" \
    "$(sed -n 's/^#define LB_PROTO_LEVEL[[:space:]]*//p' "$top_srcdir/src/util.h")" \
    "each entry carries its peer's protocol level (what it can be asked)"
is "$(echo "$j" | jq -r '[.[] | select(.age_ms > 1000)] | length')" 0 \
    "every entry's news is fresh (age under 1 s)"
addr5=$(lbcluster addr n5)
is "$(echo "$j" | jq -r '.[] | select(.id == "n5") | .addr')" "$addr5" "addresses are right"

# The human table has a header and one line per member.
is "$(ctl n2 peers | wc -l | tr -d ' ')" $((N + 1)) "lbctl peers prints a header and $N rows"
like "$(ctl n2 status)" "members: +8 alive, 0 suspect, 0 dead, 0 left" "lbctl status counts members"

# A change of load at one peer reaches every other.
ctl n4 debug load 3
loaded() { for n in n1 n2 n3 n5 n6 n7 n8; do
	[ "$(ctl $n --json peers | jq '.[] | select(.id == "n4") | .load')" = 3 ] || return 1; done; }
ms=$(wait_for 10 loaded); ok $? "n4's new load (3) reaches every peer (${ms} ms)"
is "$(ctl n4 --json status | jq .load)" 3 "and n4's status shows it"

# A peer that stops cleanly says so: the others see it "left", not dead.
lbcluster stop n8
left() { for n in n1 n2 n3 n4 n5 n6 n7; do [ "$(state_of $n n8)" = left ] || return 1; done; }
ms=$(wait_for 10 left); ok $? "SIGTERM: every other peer sees n8 left (${ms} ms)"
lbcluster start n8 >/dev/null
back() { for n in n1 n2 n3 n4 n5 n6 n7; do [ "$(state_of $n n8)" = alive ] || return 1; done; }
ms=$(wait_for 10 back); ok $? "started again, n8 is alive to every peer (${ms} ms)"

done_testing
