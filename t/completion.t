#!/bin/bash
# completion.t - bash completion for lbctl (conf/bash-completion/lbctl):
# commands, a command's options (from its usage line), node ids and the
# task ids of the peer the line names with -s.
. "$top_srcdir/t/lib.sh"

lbcluster up 2 >/dev/null || bail "no cluster"
lbcluster wait 2 >/dev/null || bail "the cluster did not form"
sock="$LBCLUSTER_DIR/n1/control.sock"
id=$(ctl n1 submit -- true) || bail "submit"
ctl n1 wait "$id" >/dev/null

# complete LINE: what bash would offer for LINE (the cursor at its end),
# sorted, on one line.
complete_line() {
	bash -c '
		. "$1"
		read -ra COMP_WORDS <<<"$2"
		[[ $2 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$2
		COMP_POINT=${#2}
		_lbctl
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
	' _ "$top_srcdir/conf/bash-completion/lbctl" "$1"
}

is "$(complete_line 'lbctl sh')" "show " "a command: lbctl sh -> show"
like "$(complete_line 'lbctl ')" "cancel .*submit .*wait " "every command, from nothing"
like "$(complete_line 'lbctl list --c')" "^--cluster $" "list's options, from its usage line: --c -> --cluster"
like "$(complete_line 'lbctl submit --check')" "--checkpoint-every --checkpoint-exit-code --checkpoint-signal --checkpointable" \
    "submit's: --check -> its four"
is "$(complete_line "lbctl -s $sock show n1.")" "$id " "a task id of the peer -s names: n1. -> $id"
is "$(complete_line "lbctl -s $sock migrate $id --to ")" "n1 n2 " "--to: the node ids"
is "$(complete_line 'lbctl list --state ru')" "running " "--state: the states"
is "$(complete_line 'lbctl --js')" "--json " "a global option"

done_testing
