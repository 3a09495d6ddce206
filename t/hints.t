#!/bin/bash
# hints.t - idle hints on a real cluster: a peer that becomes idle tells the
# others (balance.idle_notify), and a busy peer offers its next waiting task
# there first.  With balance.idle_hints = false the offers follow the
# vector, where n3 and n4 (idle all along) look as free as n2, and this
# test fails (all four rounds at n2 by chance: 1 in 81).
. "$top_srcdir/t/lib.sh"

# policy sender: offers only (no requests that would pull the tasks);
# location vector: offers go to peers the vector shows with a free slot
lbcluster up 4 --set slots=1 --set balance.policy=sender \
    --set balance.location=vector --set balance.idle_notify=3 \
    --set balance.hint_ms=600000 >/dev/null || bail "no cluster"

heard() { ctl n1 stats --json | jq .idle_notices_heard; }
# n1 busy for the whole test (pinned: it never moves).
blocker=$(ctl n1 submit --pin n1 -- lbwork --ms 600000)
wait_for 30 eval '[ "$(ctl n1 show --json "$blocker" | jq -r .state)" = running ]' >/dev/null
ok $? "n1 runs a long task"
# n2 works, then is idle: its notice is the freshest at n1.
h0=$(heard)
w=$(ctl n2 submit --pin n2 -- lbwork --ms 300)
ctl n2 wait "$w" >/dev/null
wait_for 30 eval '[ "$(heard)" -gt "$h0" ]' >/dev/null
ok $? "n2 ended a task and told n1 it is idle"

rounds=4 on_n2=0
for r in $(seq $rounds); do
	h0=$(heard)
	t=$(ctl n1 submit -- lbwork --ms 300)
	ctl n1 wait "$t" >/dev/null
	host=$(ctl n1 show --json "$t" | jq -r .host)
	diag "round $r: $t ran on $host"
	[ "$host" = n2 ] && on_n2=$((on_n2 + 1))
	# (n2, idle again, tells n1 so)
	[ "$host" = n2 ] && wait_for 30 eval '[ "$(heard)" -gt "$h0" ]' >/dev/null
done
is "$on_n2" "$rounds" "each task queued at busy n1 went to n2, the peer that had just become idle"
s=$(ctl n1 stats --json)
ok $(jq -e --argjson r "$rounds" '.hinted_accepted >= $r and .hinted_probes >= .hinted_accepted' <<<"$s" >/dev/null; echo $?) \
    "n1's stats: offers to hinted peers, taken ($(jq -c '[.hinted_probes, .hinted_accepted]' <<<"$s"))"
ok $(ctl n2 stats --json | jq -e --argjson r "$rounds" '.idle_notices_sent >= $r' >/dev/null; echo $?) \
    "n2's stats: idle notices sent"
like "$(ctl n1 stats)" "hints: +[0-9]+ polls to hinted peers, [0-9]+ taken; [0-9]+ redirects; idle notices [0-9]+ sent, [0-9]+ heard" \
    "lbctl stats for people shows the hints"
ctl n1 cancel "$blocker" >/dev/null

done_testing
