#!/bin/bash
# fuzz-corpus.t - the fuzzers' seed corpus and the inputs of their findings
# (t/fuzz-corpus/NAME/) replayed through the harnesses of t/fuzz/, built
# here with the compiler of the build and a main() that reads files: a
# finding that comes back shows without clang.  (`make fuzz` fuzzes.)
TAP_N=0 TAP_FAILED=0
ok() { TAP_N=$((TAP_N + 1)); if [ "$1" -eq 0 ]; then echo "ok $TAP_N - $2";
	else TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $2"; fi; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
for h in envelope peer ctl journal; do
	out=$(TMPDIR="$tmp" "$top_builddir/t/fuzz/replay_$h" \
	    "$top_srcdir/t/fuzz-corpus/$h" 2>&1)
	rc=$?
	[ $rc -eq 0 ] || echo "$out" | sed 's/^/# /'
	ok $rc "$h: $(echo "$out" | tail -1)"
done
echo "1..$TAP_N"
[ "$TAP_FAILED" -eq 0 ]
