#!/bin/bash
# netlab --delay: netem adds the delay to ping's round trip, alone and
# under a rate.  Where the kernel has no netem (this project's 6.18
# machine), checks the one-line message and that the rate already in
# place survives the failed change, then skips.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd ping
lk_need_bin netlab
NL=$OUTPUT/netlab

lk_lab_up --dir to-server --rate 50mbit
P=$LAB
col() { "$NL" status --prefix "$P" | awk -v d="$1" -v c="$2" '$1 == d { print $c }'; }
# Minimum round trip in ms, from iputils' or busybox's summary line: a
# delay can only add to it, and the minimum is the least noisy figure on
# a loaded machine or under qemu.
rtt() {
	lk_in_client ping -c "$1" -i 0.2 -W 2 "$LAB_S_IP" |
		awk '/min\/avg/ { split($0, a, "= "); split(a[2], v, "/"); print v[1] }'
}
# added MS TOTAL: the round trip grew by at least MS (netem never sends
# early) and by at most MS plus 10 ms of scheduling noise, which every
# one of the pings would have to meet (a 6.1 guest under qemu TCG, with
# a host busy beside it: 1.5 and 1.7 ms above MS and the base).
added() {
	awk -v g="$got" -v b="$base" -v d="$1" 'BEGIN { exit !(g >= d && g <= b + d + 10) }' ||
		fail "$2: $got ms, expected $1 ms more than $base ms"
	ok "$2: $got ms ($base ms without delay)"
}
base=$(rtt 3)
[ -n "$base" ] || fail "no round trip without delay"

rc=0; "$NL" set --prefix "$P" --delay 10 2>"$LK_TMP/err" || rc=$?
if [ $rc != 0 ]; then
	cat "$LK_TMP/err"
	assert_eq "$(wc -l <"$LK_TMP/err")" 1 "lines of the error"
	assert_eq "$(cat "$LK_TMP/err")" "netlab: netem (sch_netem) is not available in this kernel (needed for --delay)" "error"
	assert_eq "$(col to-server 5)" "50mbit" "rate kept after the refused --delay"
	assert_eq "$(col to-server 6)" "-" "delay after the refused --delay"
	[ -n "$(rtt 2)" ] || fail "no traffic after the refused --delay"
	ok "traffic still flows"
	skip "netem is not available in this kernel (its message was checked)"
fi

assert_eq "$(col to-server 6) $(col to-client 6)" "10ms 10ms" "delay column"
assert_eq "$(col to-server 5)" "50mbit" "rate kept under the delay"
got=$(rtt 5)
added 20 "round trip with --delay 10 both ways"
"$NL" set --prefix "$P" --dir to-client --delay 30 || fail "set --delay 30"
got=$(rtt 5)
added 40 "round trip with 10 ms + 30 ms"
"$NL" set --prefix "$P" --delay none || fail "set --delay none"
assert_eq "$(col to-server 6) $(col to-client 6)" "- -" "delay column after none"
assert_eq "$(col to-server 5)" "50mbit" "rate kept after --delay none"
got=$(rtt 3)
assert_le "$got" "$(awk -v b="$base" 'BEGIN { print b + 10 }')" "round trip after --delay none, ms"
