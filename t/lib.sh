# t/lib.sh - TAP helpers and cluster set-up for the shell tests.
# Every test gets its own temporary directory and cleans up on exit.

set -u
TAP_N=0
TAP_FAILED=0

plan() { echo "1..$1"; }
diag() { echo "# $*"; }
pass() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N # SKIP $*"; }
fail() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"; }
ok() { # cond-status description
	local rc=$1; shift
	if [ "$rc" -eq 0 ]; then pass "$@"; else fail "$@"; fi
}
is() { # got want description
	local got=$1 want=$2; shift 2
	if [ "$got" = "$want" ]; then pass "$@"
	else fail "$@"; diag "  got:      '$got'"; diag "  expected: '$want'"; fi
}
like() { # got regex description
	local got=$1 re=$2; shift 2
	if [[ $got =~ $re ]]; then pass "$@"
	else fail "$@"; diag "  got:      '$got'"; diag "  expected to match: '$re'"; fi
}
done_testing() { echo "1..$TAP_N"; [ "$TAP_FAILED" -eq 0 ]; }
bail() { echo "Bail out! $*"; exit 1; }

# Under --enable-sanitizers, ASan keeps freed memory in a quarantine (256
# MiB by default) that shows in a peer's RSS: the tests that bound a peer's
# peak memory would measure ASan, not lbpeer.  A small one still catches a
# use after free of anything recent.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/lbtest.XXXXXX")
export LBCLUSTER_DIR="$TMP/cluster"
cleanup() {
	local d
	for d in "$TMP"/cluster*; do
		[ -d "$d" ] && lbcluster --dir "$d" down >/dev/null 2>&1
	done
	if [ "$TAP_FAILED" -gt 0 ] || [ -n "${KEEP_TMP:-}" ]; then
		for d in "$TMP"/cluster*/*/log; do
			[ -f "$d" ] || continue
			echo "# --- $d (last 15 lines)"
			tail -15 "$d" | sed 's/^/#   /'
		done
	fi
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

# Milliseconds, monotonic enough for tests.
now_ms() { date +%s%3N; }

# ctl NODE ARGS...: lbctl against a node of the default cluster.
ctl() { lbcluster ctl "$@"; }

# The state NODE has for PEER ("" if it does not list it).
state_of() { # node peer [dir]
	lbcluster --dir "${3:-$LBCLUSTER_DIR}" ctl "$1" --json peers 2>/dev/null |
	    jq -r --arg p "$2" '.[] | select(.id == $p) | .state'
}

# Wait until COND (a shell command) succeeds, polling every 0.1 s, at most
# TIMEOUT seconds.  Prints the milliseconds it took.
wait_for() { # timeout_s cmd...
	local limit=$1; shift
	local start end
	start=$(now_ms)
	end=$((start + limit * 1000))
	while [ "$(now_ms)" -lt "$end" ]; do
		if "$@"; then echo $(( $(now_ms) - start )); return 0; fi
		sleep 0.1
	done
	echo $(( $(now_ms) - start ))
	return 1
}
