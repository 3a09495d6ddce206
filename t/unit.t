#!/bin/bash
# unit.t - the systemd unit lets a stop drain: its stop timeout is longer
# than the drain's (drain_timeout_s, as conf/peer.conf and the built-in
# default say) plus a margin for the hand-backs and the leave.
. "$top_srcdir/t/lib.sh"

unit=$top_srcdir/conf/lbpeer.service
conf=$top_srcdir/conf/peer.conf
margin=20

stop=$(sed -n 's/^TimeoutStopSec=\([0-9][0-9]*\)$/\1/p' "$unit")
[ -n "$stop" ]; ok $? "the unit sets TimeoutStopSec in seconds ($stop)"
drain=$(sed -n 's/^drain_timeout_s *= *\([0-9][0-9]*\);.*/\1/p' "$conf")
[ -n "$drain" ]; ok $? "conf/peer.conf sets drain_timeout_s ($drain)"
builtin=$(sed -n 's/.*c->drain_timeout_s = \([0-9][0-9]*\);.*/\1/p' \
    "$top_srcdir/src/conf.c")
is "$builtin" "$drain" "conf/peer.conf shows the built-in default of drain_timeout_s"
[ -n "$stop" ] && [ -n "$drain" ] && [ "$stop" -ge $((drain + margin)) ]
ok $? "TimeoutStopSec ($stop) >= drain_timeout_s ($drain) + $margin"
grep -q '^KillMode=mixed$' "$unit"
ok $? "SIGTERM goes to lbpeer alone (KillMode=mixed)"
done_testing
