#!/bin/bash
# layering.t - the shape DESIGN asks for, checked on the built objects:
# in peer/, calls run one way (no two files call each other); src/ (the
# shared library and lbctl) knows no core and no daemon; the cores
# (gossip/, balance/, tasks/, forwarding/, node/) do no I/O, read no clock and
# log nothing.  Symbols, not text: a call through a callback is no edge, a
# comment is no call.
. "$top_srcdir/t/lib.sh"
B=$top_builddir

# defined FILE.o / used FILE.o: its global symbols.
defined() { nm --defined-only -g "$1" | awk '$2 ~ /[TDBR]/ {print $3}' | sort -u; }
used() { nm -u "$1" | awk '{print $2}' | sort -u; }

objs=()
for c in "$top_srcdir"/peer/*.c; do
	o="$B/peer/$(basename "${c%.c}").o"
	[ -f "$o" ] || bail "no $o: build first"
	objs+=("$o")
done
edges=()
for a in "${objs[@]}"; do
	for b in "${objs[@]}"; do
		[ "$a" = "$b" ] && continue
		if comm -12 <(used "$a") <(defined "$b") | grep -q .; then
			edges+=("$(basename "$a" .o)>$(basename "$b" .o)")
		fi
	done
done
two=""
for e in "${edges[@]}"; do
	rev="${e#*>}>${e%>*}"
	for f in "${edges[@]}"; do
		[ "$f" = "$rev" ] && two="$two $e"
	done
done
diag "peer/ calls: ${edges[*]}"
is "${two# }" "" "no two files of peer/ call each other"

# Every file of every core (the task core is several, tasks/tasks_int.h).
cores=()
for c in "$top_srcdir"/{gossip,balance,tasks,forwarding,node}/*.c; do
	d=$(basename "$(dirname "$c")")
	o="$B/$d/$(basename "${c%.c}").o"
	[ -f "$o" ] || bail "no $o: build first"
	cores+=("$o")
done
core_syms=$(for o in "${cores[@]}" "${objs[@]}"; do defined "$o"; done |
    sort -u)
bad=""
for o in "$B"/src/util.o "$B"/src/conf.o "$B"/src/envelope.o "$B"/src/client.o \
    "$B"/src/log.o "$B"/src/ctljson.o "$B"/src/lbctl.o "$B"/src/msg.o \
    "$B"/src/liblbtask_la-lbtask.o; do
	hit=$(comm -12 <(used "$o") <(echo "$core_syms") | tr '\n' ' ')
	[ -n "$hit" ] && bad="$bad $(basename "$o"): $hit"
done
is "${bad# }" "" "src/ uses nothing of a core or of the daemon"
# The library for tasks: its own names only (it carries copies of src/).
so=$B/src/.libs/liblbtask.so
if [ -f "$so" ]; then
	hit=$(nm -D --defined-only "$so" | awk '$2 ~ /[TDBR]/ {print $3}' |
	    grep -v '^lbt_' | tr '\n' ' ')
	is "$hit" "" "liblbtask exports only lbt_ names"
else
	skip "no shared liblbtask (--disable-shared)"
fi

io='^(nn_.*|event_.*|evtimer_.*|open|open64|openat|read|write|pread|pwrite|fopen|fopen64|fread|fwrite|close|stat|stat64|lstat|lstat64|fstat|mkdir|unlink|rename|fsync|fdatasync|socket|connect|bind|fork|execve|kill|waitpid|poll|select|clock_gettime|gettimeofday|time|lb_mono_ms|lb_mono_us|lb_wall_ms|rand|random|getrandom|arc4random.*|randombytes.*|getpid|sleep|usleep|nanosleep|printf|fprintf|vfprintf|puts|fputs|fflush|perror|syslog|log_.*)$'
for o in "${cores[@]}"; do
	hit=$(used "$o" | grep -E "$io" | tr '\n' ' ')
	is "$hit" "" "$(basename "$(dirname "$o")")/$(basename "$o" .o) does no I/O and reads no clock"
done
done_testing
