#!/bin/bash
# top.t - lbctl top and the progress line of lbctl wait, on a terminal:
# top's screen under tmux (every peer, a running task; q quits and the
# terminal is as it was); one printout when stdout is no terminal; wait's
# status line under a pseudo-terminal, and nothing of it when stderr is no
# terminal.
. "$top_srcdir/t/lib.sh"

lbcluster up 3 --set slots=4 --set balance.policy=none >/dev/null || bail "no cluster"
for p in n2 n3; do
	wait_for 10 eval 'test "$(state_of n1 '$p')" = alive' >/dev/null ||
	    bail "n1 never saw $p"
done
sock=$LBCLUSTER_DIR/n1/control.sock
export LB_CONTROL=$sock
t1=$(lbctl submit -- sleep 60) && t2=$(lbctl submit -- sleep 60) ||
    bail "cannot submit"
wait_for 10 eval 'test "$(lbctl show --json $t2 | jq -r .state)" = running' \
    >/dev/null || bail "$t2 never ran"

# Not a terminal: one printout, then exit 0.
out=$(set -o pipefail; lbctl top | cat); rc=$?
is "$rc" 0 "lbctl top | cat exits 0"
for w in PEER n1 n2 n3 "$t1" "$t2"; do
	grep -qw -- "$w" <<<"$out"; ok $? "and its printout shows $w"
done
grep -q $'\033' <<<"$out"; ok $((! $?)) "with no escape sequence"
# The cluster's tasks: one homed at n2 is on n1's top, with its home.
t3=$(lbcluster ctl n2 submit -- sleep 60) || bail "cannot submit at n2"
wait_for 10 eval 'test "$(lbcluster ctl n2 show --json $t3 | jq -r .state)" = running' >/dev/null
out=$(lbctl top | cat)
like "$(grep -w -- "$t3" <<<"$out")" "^  $t3 +n2 +n2 +running " "n1's top lists $t3, homed and running at n2 (the cluster's tasks)"
out=$(lbctl top --json </dev/null)
is "$(jq -r '[.peers[].id] | sort | join(" ")' <<<"$out")" "n1 n2 n3" \
    "lbctl top --json: every peer"
is "$(jq -r --arg t "$t1" '.tasks[] | select(.id == $t) | .state + " " + .host' <<<"$out")" \
    "running n1" "and the running task, with its host"

# The full screen, in a tmux window of 120x40.
if ! command -v tmux >/dev/null; then
	skip "tmux is not installed (./bootstrap installs it)"
else
	T=(tmux -S "$TMP/tmux.sock" -f /dev/null)
	"${T[@]}" new-session -d -x 120 -y 40 \
	    "lbctl top --interval 0.5; echo \"top-exit=\$?\"; stty -a | tr ' ;' '\n\n' | grep -x -- '-\\?icanon\\|-\\?echo'; sleep 600" ||
	    bail "tmux does not start"
	screen() { "${T[@]}" capture-pane -p; }
	wait_for 10 eval 'screen | grep -q "$t2"' >/dev/null
	s=$(screen)
	for w in n1 n2 n3 "$t1" "$t2"; do
		grep -qw -- "$w" <<<"$s"; ok $? "top's screen shows $w"
	done
	like "$(head -1 <<<"$s")" '^lbpeer n1, cluster ' "its first line names this peer and cluster"
	ok $([ "$(wc -l <<<"$s")" -le 40 ] && ! grep -q '.\{121\}' <<<"$s"; echo $?) \
	    "and it fits the window"
	# A small window: cut to its width, and the tasks that do not fit
	# counted on the last line.
	"${T[@]}" resize-window -x 50 -y 10
	wait_for 10 eval 'screen | grep -q "more\$"' >/dev/null
	s=$(screen)
	like "$(tail -1 <<<"$s")" '^  \.\.\. and [0-9]+ more$' "in a window of 50x10: the tasks that do not fit are counted"
	ok $([ "$(wc -l <<<"$s")" -le 10 ] && ! grep -q '.\{51\}' <<<"$s"; echo $?) \
	    "and all fits"
	"${T[@]}" resize-window -x 120 -y 40
	"${T[@]}" send-keys x
	"${T[@]}" send-keys q
	# Its exit, then (printed after it) the terminal's modes.
	wait_for 10 eval 'screen | grep -q "top-exit=" && screen | grep -qx -- "-\\?echo"' >/dev/null
	s=$(screen)
	like "$s" 'top-exit=0' "q quits top, exit 0"
	grep -q PEER <<<"$s"; ok $((! $?)) "and the screen before it is back"
	is "$(grep -x -- '-\?icanon\|-\?echo' <<<"$s" | tr '\n' ' ')" "icanon echo " \
	    "and the terminal's modes"
	# SIGTERM restores the terminal too.
	"${T[@]}" respawn-pane -k "lbctl top; stty -a | tr ' ;' '\n\n' | grep -x -- '-\\?icanon\\|-\\?echo'; sleep 600"
	wait_for 10 eval 'screen | grep -q PEER' >/dev/null
	pane=$("${T[@]}" display-message -p '#{pane_pid}')
	kill -TERM $(pgrep -P "$pane" -x lbctl) 2>/dev/null
	wait_for 10 eval 'screen | grep -qx icanon' >/dev/null
	s=$(screen)
	is "$(grep -x -- '-\?icanon\|-\?echo' <<<"$s" | tr '\n' ' ')" "icanon echo " \
	    "SIGTERM: the terminal's modes are restored"
	grep -q PEER <<<"$s"; ok $((! $?)) "and the screen"
	# A peer that does not answer: said so on the screen, and asked again.
	"${T[@]}" respawn-pane -k "lbctl -s '$TMP/none.sock' top --interval 0.2; echo \"top-exit=\$?\"; sleep 600"
	wait_for 10 eval 'screen | grep -q "cannot reach the peer"' >/dev/null
	like "$(screen)" "lbctl: cannot reach the peer at $TMP/none.sock" \
	    "an unreachable peer: top says so"
	"${T[@]}" send-keys q
	wait_for 10 eval 'screen | grep -q "top-exit="' >/dev/null
	like "$(screen)" 'top-exit=0' "and q still quits"
	"${T[@]}" kill-server
fi
out=$(set -o pipefail; lbctl -s "$TMP/none.sock" top 2>&1 | cat); rc=$?
is "$rc" 3 "lbctl top | cat with no peer: exit 3"
like "$out" '^lbctl: cannot reach the peer' "and why"

# wait's progress line on a terminal, erased before the output.
id=$(lbctl submit -- sh -c 'sleep 1.5; echo hello') || bail "cannot submit"
out=$(script -qec "lbctl wait $id" /dev/null </dev/null); rc=$?
is "$rc" 0 "lbctl wait on a terminal exits 0"
like "$out" "$id: running on n1 for " "it shows the status line"
like "$out" $'running on n1 [^\n]*\r\033\\[Khello' "then erases it, then the output"
id=$(lbctl submit -- sh -c 'sleep 0.5; echo hello') || bail "cannot submit"
out=$(lbctl wait "$id" 2>&1); rc=$?
is "$rc:$out" "0:hello" "stderr no terminal: only the output"
out=$(script -qec "lbctl submit --wait -- sh -c 'sleep 1; echo there'" /dev/null </dev/null)
like "$out" $'running on n1 [^\n]*\r\033\\[Kthere' "submit --wait shows it too"
out=$(script -qec "lbctl wait --timeout 1 $t1" /dev/null </dev/null); rc=$?
is "$rc" 124 "wait --timeout on a terminal: 124"
like "$out" $'running on n1 [^\n]*\r\033\\[Klbctl: task '"$t1"' has not ended' \
    "the line is erased before the message"

lbctl cancel "$t1" >/dev/null
lbctl cancel "$t2" >/dev/null
done_testing
