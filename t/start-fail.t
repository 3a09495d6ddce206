#!/bin/bash
# start-fail.t - a start that fails for a reason of its host (here: the
# program is missing there) is not final: the task is placed on another
# peer, never again on one where it could not start, until it has failed
# on task.max_start_failures hosts; show lists each failure and why.  Past
# the limit the task fails, saying so; a task pinned to such a host fails
# at once.
. "$top_srcdir/t/lib.sh"

lbcluster up 3 --set slots=2 --set balance.policy=none >/dev/null || bail "no cluster"
lbcluster wait 3 >/dev/null || bail "the cluster did not form"

# The program exists at n3 alone: it is on the PATH of n3's lbpeer only
# (a task without PATH in its environment gets its peer's).
mkdir -p "$TMP/bin3"
cat >"$TMP/bin3/lbsf-tool" <<'TOOL'
#!/bin/sh
echo "ran at $(basename "$(cd ../../.. && pwd)")"
TOOL
chmod +x "$TMP/bin3/lbsf-tool"
lbcluster stop n3 >/dev/null
PATH="$TMP/bin3:$PATH" lbcluster start n3 >/dev/null || bail "n3 did not start"
wait_for 20 eval 'test "$(state_of n1 n3)" = alive && test "$(state_of n2 n3)" = alive' >/dev/null ||
    bail "n3 is not back"

id=$(ctl n1 submit -- lbsf-tool) || bail "submit refused"
out=$(ctl n1 wait --timeout 60 "$id"); rc=$?
is "$rc:$out" "0:ran at n3" "missing at its home n1: the task is placed elsewhere and runs at n3"
j=$(ctl n2 show --json "$id")
hosts=$(jq -r '[.start_failures[].host] | join(" ")' <<<"$j")
like "$hosts" '^n1( n2)?$' "show --json lists where it could not start, its home first ($hosts)"
like "$(jq -r '.start_failures[0].reason' <<<"$j")" 'cannot execute "lbsf-tool": not found on PATH' "with the reason"
is "$(jq -c '[.state, .starts, .host]' <<<"$j")" '["done",1,"n3"]' "it started once, at n3"
like "$(ctl n1 show "$id")" "could not start:
  n1 +at .*: cannot execute" "lbctl show says so too"
like "$(ctl n1 --json stats | jq .start_failures)" '^[1-9]' "n1's stats count the failures"

# Missing everywhere: it fails after task.max_start_failures (3) hosts.
id2=$(ctl n1 submit -- lbsf-nothing) || bail "submit refused"
ctl n1 wait --timeout 60 "$id2" >/dev/null 2>&1
j=$(ctl n1 show --json "$id2")
is "$(jq -c '[.state, .starts, ([.start_failures[].host] | sort)]' <<<"$j")" \
    '["failed",0,["n1","n2","n3"]]' "missing everywhere: failed after one try at each of the 3 peers"
like "$(jq -r .error <<<"$j")" "^it could not start on 3 hosts \(task.max_start_failures, or every peer alive\); at n[123]: cannot execute \"lbsf-nothing\"" \
    "its error says why"

# Pinned to a peer where it cannot start: it fails there at once.
id3=$(ctl n1 submit --pin n2 -- lbsf-tool) || bail "submit refused"
ctl n1 wait --timeout 60 "$id3" >/dev/null 2>&1
is "$(ctl n1 show --json "$id3" | jq -c '[.state, [.start_failures[].host]]')" '["failed",["n2"]]' \
    "pinned to n2, where it cannot start: failed at once"

done_testing
