#!/bin/bash
# cli-usage.t - lbctl as its usage says.  Every usage line that lbctl --help
# prints is run against a live peer exactly as printed, its placeholders
# filled with real values: with every optional part and with none, with the
# options before and after the arguments, with -s and --json after them, and
# with an unknown option (exit 2, the option named, the line printed again).
# The lines come from --help, not from here: a line with a placeholder this
# test cannot fill fails it, so the two stay in step.
. "$top_srcdir/t/lib.sh"

lbcluster up 2 --set slots=4 --set 'attributes=["cli"]' \
    --set balance.policy=none >/dev/null || bail "no cluster"
wait_for 10 eval 'test "$(state_of n1 n2)" = alive' >/dev/null || bail "n1 never saw n2"
sock=$LBCLUSTER_DIR/n1/control.sock
conf=$LBCLUSTER_DIR/n1/peer.conf
export LB_CONTROL=$sock
echo attached >"$TMP/attach.txt"
done_id=$(lbctl submit -- true) && lbctl wait "$done_id" >/dev/null ||
    bail "cannot run a task"
# A task that checkpoints (exits 85) on SIGUSR1 and says when it can: it
# makes a file once its trap is set, each time it starts.
ck_id=$(lbctl submit --checkpointable -- sh -c \
    'trap "exit 85" USR1; : >"$1"; while :; do sleep 0.1; done' sh "$TMP/ck.ready") ||
    bail "cannot submit a checkpointable task"
ck_ready() {
	wait_for 10 test -e "$TMP/ck.ready" >/dev/null && rm "$TMP/ck.ready"
}
# A task with a mailbox, for send, locate and recv (recv runs as that task:
# each run first gets a message to take).  Until the peer side of messages
# (issue 9) is in, its commands are skipped, not failed.
msg_id=$(lbctl submit -- lbwork --ms 60000) || bail "cannot submit a task"
echo 1 >"$TMP/msg.txt"
msgs_ok=1
out=$(lbctl locate "$msg_id" 2>&1)
if [[ $out == *'unknown request'* ]]; then
	msgs_ok=0
	diag "the peer does not know messages to tasks yet: send, recv, locate and tail are skipped"
fi

# fill WORD PREV CMD: a real value for the placeholder WORD, which follows
# PREV in a line of command CMD ("" for lbctl's own line); 1 if unknown.
fill() {
	case $1 in
	ID)
		case $3 in
		wait|show) echo "$done_id" ;;
		cancel) lbctl submit -- lbwork --ms 30000 ;;
		checkpoint) ck_ready && echo "$ck_id" ;;
		# A running task that checkpoints, to move to n2 (and kept
		# short there: the test leaves it running).
		migrate) lbctl submit --checkpointable -- lbwork --ms 30000 ;;
		send|locate) echo "$msg_id" ;;
		tail) echo "$done_id" ;;	# ended: --follow ends at once
		list) echo "$done_id" ;;	# --after
		*) return 1 ;;
		esac ;;
	FILE)
		if [ "$2" = -c ]; then echo "$conf"
		else mktemp -u "$TMP/key.XXXXXX"; fi ;;
	SOCKET) echo "$sock" ;;
	MS) echo 2000 ;;
	S) echo 5 ;;
	N) echo 1 ;;
	KEY=VALUE) echo LB_TEST=1 ;;
	PATH) echo "$TMP/attach.txt" ;;
	SIG) echo USR1 ;;
	ATTR) echo cli ;;
	NODE) if [ "$3" = migrate ]; then echo n2; else echo n1; fi ;;
	SECONDS) echo 1 ;;
	HEX) od -An -N16 -tx1 /dev/urandom | tr -d ' \n' ;;	# a request id
	PROG) echo true ;;
	ARGS...) echo x ;;
	COMMAND) [ -z "$3" ] && echo list ;;
	ARGS) [ -z "$3" ] && echo --all ;;	# list's
	MESSAGE) echo 1 ;;
	STATES) echo active,done ;;
	TEXT) echo lbwork ;;
	F) echo "$TMP/msg.txt" ;;
	*) return 1 ;;
	esac
}

# split LINE: its top-level elements (a word, or a bracketed group with what
# is inside it) into ELEMS.
split() {
	local s=$1 cur="" ch depth=0 i
	ELEMS=()
	for ((i = 0; i < ${#s}; i++)); do
		ch=${s:i:1}
		case $ch in
		'[') depth=$((depth + 1)) ;;
		']') depth=$((depth - 1)) ;;
		esac
		if [ "$ch" = " " ] && [ $depth -eq 0 ]; then
			[ -n "$cur" ] && ELEMS+=("$cur")
			cur=""
		else
			cur+=$ch
		fi
	done
	[ -n "$cur" ] && ELEMS+=("$cur")
}

# expand ALT CMD ELEMENT...: the words of the elements, with every optional
# part in, alternative ALT of each "a | b", and the placeholders filled, into
# WORDS.  1 (with the word in UNFILLED) when a placeholder is unknown.
expand() {
	local alt=$1 cmd=$2 e w v prev="" alts ws
	shift 2
	WORDS=()
	for e in "$@"; do
		[[ $e == *']...' ]] && e=${e%...}
		[[ $e == '['*']' ]] && e=${e:1:${#e}-2}
		if [[ $e == *' | '* ]]; then
			IFS='|' read -ra alts <<<"${e// | /|}"
			e=${alts[alt % ${#alts[@]}]}
		fi
		e=${e//\[/}
		e=${e//\]/}
		read -ra ws <<<"$e"
		for w in "${ws[@]}"; do
			if [[ $w =~ ^[A-Z][A-Z_]*(=[A-Z_]+)?(\.\.\.)?$ ]]; then
				v=$(fill "$w" "$prev" "$cmd") && [ -n "$v" ] ||
				    { UNFILLED=$w; return 1; }
				WORDS+=("$v")
			else
				WORDS+=("$w")
			fi
			prev=$w
		done
	done
}

# The synopsis: from "usage: lbctl" to the first empty line, one entry per
# "lbctl" line, a more indented line continuing the one before it.
help=$(lbctl --help); rc=$?
is "$rc" 0 "lbctl --help exits 0"
entries=()
raw=()
while IFS= read -r l; do
	[ -z "$l" ] && break
	t=${l#usage: }
	t=${t#"${t%%[! ]*}"}
	if [[ $t == lbctl || $t == 'lbctl '* ]]; then
		entries+=("$t")
		raw+=("$l")
	elif [ ${#entries[@]} -gt 0 ]; then
		entries[-1]+=" $t"
		raw[-1]+=$'\n'"$l"
	fi
done <<<"$help"
like "${entries[0]:-}" '^lbctl \[' "--help starts with lbctl's own usage line"
ok $([ ${#entries[@]} -gt 1 ]; echo $?) "and a usage line per command (${#entries[@]} lines)"

# Each command the help describes has a usage line, and each line a command.
described=$(sed -n '/^Commands:$/,/^$/s/^  \([a-z][a-z]*\).*/\1/p' <<<"$help" | sort)
synopsised=$(for e in "${entries[@]:1}"; do split "${e#lbctl }"; echo "${ELEMS[0]}"; done | sort)
is "$(echo $synopsised)" "$(echo $described)" "the commands described are those with a usage line"

US=$'\x1f'
declare -A seen
for i in "${!entries[@]}"; do
	line=${entries[i]}
	split "${line#lbctl}"
	all=("${ELEMS[@]}")
	cmd=""
	[[ ${all[0]:-} =~ ^[a-z] ]] && cmd=${all[0]}

	# The parts: the command's name; its options and arguments up to a
	# "--"; from the "--" on (submit's program: nothing there is lbctl's).
	head=() opts=() args=() tail=() min=() nalt=1
	for ((k = 0; k < ${#all[@]}; k++)); do
		e=${all[k]}
		[[ $e == *' | '* ]] && nalt=2
		[[ $e == '['* ]] || min+=("$e")
		if [ $k -eq 0 ] && [ -n "$cmd" ]; then head=("$e")
		elif [ ${#tail[@]} -gt 0 ] || [[ $e == -- || $e == '[--]' ]]; then tail+=("$e")
		elif [[ $e == -* || $e == '[-'* ]]; then opts+=("$e")
		else args+=("$e"); fi
	done

	# variant: "ALT<US>HOW<US>ELEMENT<US>..." (HOW: run, globals, bogus).
	# lbctl's own line runs as printed, each alternative, and bare: its
	# options after COMMAND would be the command's.
	variants=()
	for ((a = 0; a < nalt; a++)); do
		variants+=("$a${US}run${US}$(IFS=$US; echo "${all[*]}")")
	done
	variants+=("0${US}run${US}$(IFS=$US; echo "${min[*]}")")
	if [ -n "$cmd" ]; then
		v=("${head[@]}" "${opts[@]}" "${args[@]}" "${tail[@]}")
		variants+=("0${US}run${US}$(IFS=$US; echo "${v[*]}")")
		v=("${head[@]}" "${args[@]}" "${opts[@]}" "${tail[@]}")
		variants+=("0${US}run${US}$(IFS=$US; echo "${v[*]}")")
		v=("${head[@]}" "${args[@]}" "${opts[@]}" "-s SOCKET" --json "${tail[@]}")
		variants+=("0${US}globals${US}$(IFS=$US; echo "${v[*]}")")
		v=("${head[@]}" "${args[@]}" "${opts[@]}" --no-such-option "${tail[@]}")
		variants+=("0${US}bogus${US}$(IFS=$US; echo "${v[*]}")")

		# Its usage line, as the command prints it, is the help's.
		want="usage: ${raw[i]#       }"
		out=$(lbctl "$cmd" --help 2>&1); rc=$?
		is "$rc:$out" "0:$want" "lbctl $cmd --help prints its usage line as --help does"
	fi

	for var in "${variants[@]}"; do
		[ -n "${seen[$var]:-}" ] && continue
		seen[$var]=1
		IFS=$US read -ra v <<<"$var"
		alt=${v[0]} how=${v[1]}
		if ! expand "$alt" "$cmd" "${v[@]:2}"; then
			fail "$line: cannot fill $UNFILLED"
			diag "  teach t/cli-usage.t's fill() what $UNFILLED stands for"
			break
		fi
		name="lbctl ${WORDS[*]}"
		name=${name//$TMP/\$TMP}
		envs=(LB_TEST_CLI=1)
		case $cmd in
		send|recv|locate|tail)
			if [ $msgs_ok -eq 0 ] && [ "$how" != bogus ]; then
				skip "$name: the peer has no messages to tasks yet"
				continue
			fi ;;&
		recv)
			# A task of its own, held at n1 (the lines before may
			# have drained n1 and moved msg_id away).
			rid=$(lbctl submit --pin n1 -- lbwork --ms 60000) ||
			    fail "a task for recv"
			envs=(LB_TASK_ID="$rid")
			[ "$how" = bogus ] || lbctl send "$rid" x >/dev/null ||
			    fail "a message to $rid for recv to take" ;;
		esac
		case $how in
		run)
			out=$(env "${envs[@]}" lbctl "${WORDS[@]}" 2>&1 </dev/null); rc=$?
			is "$rc" 0 "$name"
			[ "$rc" -eq 0 ] || diag "  said: $out" ;;
		globals)
			# No LB_CONTROL: only the -s after the arguments names it.
			out=$(env -u LB_CONTROL "${envs[@]}" lbctl "${WORDS[@]}" 2>&1 </dev/null); rc=$?
			is "$rc" 0 "$name (-s and --json after the arguments)"
			[ "$rc" -eq 0 ] || diag "  said: $out" ;;
		bogus)
			out=$(env "${envs[@]}" lbctl "${WORDS[@]}" 2>&1 >/dev/null </dev/null); rc=$?
			is "$rc:$out" "2:lbctl: $cmd: unknown option \"--no-such-option\""$'\n'"$want" \
			    "lbctl $cmd with an unknown option: exit 2, named, and the usage line" ;;
		esac
	done
done

# Leave nothing running.
for id in $(lbctl list --json | jq -r '.[] | select(.state == "running" or .state == "queued") | .id'); do
	lbctl cancel "$id" >/dev/null
done

done_testing
