#!/bin/bash
# netlab --plug: sch_plug steps traffic (buffer, release-one, release),
# counted by the server's kernel (Udp NoPorts).  Where the kernel has no
# sch_plug (this project's 6.18 machine), checks the one-line message and
# that nothing changed, then skips.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd ip
lk_need_bin netlab
NL=$OUTPUT/netlab

lk_lab_up
P=$LAB
lk_lab_ipv4_only
noports() { lk_netstat "$LAB_S" "Udp NoPorts"; }
send() { lk_in_client bash -c 'for ((i = 0; i < $1; i++)); do echo x >/dev/udp/$2/9; done' _ "$1" "$LAB_S_IP"; }
noports_ge() { [ "$(noports)" -ge "$1" ]; }
held_is() { [ "$(lk_plug_held)" = "$1" ]; }
# settled N HELD: N datagrams more than np0 reached the server and HELD
# are still in the plug, so that nothing else is on its way.
settled() { noports_ge $((np0 + $1)) && held_is "$2"; }
plug_col() { "$NL" status --prefix "$P" | awk '$1 == "to-server" { print $NF }'; }
# Resolve the neighbour first: an ARP request would be held by the plug too.
send 1
lk_wait_for 3 noports_ge 1 || fail "no datagram reached the server"

rc=0; "$NL" set --prefix "$P" --dir to-server --plug buffer 2>"$LK_TMP/err" || rc=$?
if [ $rc != 0 ]; then
	cat "$LK_TMP/err"
	assert_eq "$(wc -l <"$LK_TMP/err")" 1 "lines of the error"
	assert_eq "$(cat "$LK_TMP/err")" "netlab: sch_plug is not available in this kernel (needed for --plug)" "error"
	assert_eq "$(plug_col)" "-" "plug column after the refusal"
	np0=$(noports); send 5
	lk_wait_for 3 noports_ge $((np0 + 5)) || fail "traffic does not flow after the refused --plug"
	ok "traffic still flows"
	skip "sch_plug is not available in this kernel (its message was checked)"
fi

assert_eq "$(plug_col)" "yes" "plug column"
np0=$(noports)
# Each step waits until the datagrams are where they must end up (the
# server's count, the plug's queue): every one is then accounted for.
send 5				# epoch A
lk_wait_for 10 settled 0 5 || fail "epoch A not held: $(lk_plug_held) in the plug"
assert_eq "$(( $(noports) - np0 ))" 0 "arrived while buffering"
"$NL" set --prefix "$P" --dir to-server --plug buffer || fail "second buffer"
send 3				# epoch B
lk_wait_for 10 settled 0 8 || fail "epoch B not held: $(lk_plug_held) in the plug"
assert_eq "$(( $(noports) - np0 ))" 0 "arrived after the second buffer"
"$NL" set --prefix "$P" --dir to-server --plug release-one || fail "release-one"
lk_wait_for 10 settled 5 3 || fail "release-one: $(( $(noports) - np0 )) arrived, $(lk_plug_held) in the plug"
assert_eq "$(( $(noports) - np0 ))" 5 "arrived after release-one (epoch A only)"
"$NL" set --prefix "$P" --dir to-server --plug release || fail "release"
lk_wait_for 10 settled 8 0 || fail "release: $(( $(noports) - np0 )) arrived, $(lk_plug_held) in the plug"
assert_eq "$(( $(noports) - np0 ))" 8 "arrived after release (epoch B too)"
send 2
lk_wait_for 10 settled 10 0 || fail "after release: $(( $(noports) - np0 )) arrived, $(lk_plug_held) in the plug"
assert_eq "$(( $(noports) - np0 ))" 10 "arrived after release, new traffic passes"

# The plug cannot share a direction with a rate; none removes it.
rc=0; "$NL" set --prefix "$P" --dir to-server --rate 10mbit 2>"$LK_TMP/err" || rc=$?
[ $rc != 0 ] || fail "--rate accepted on a plugged direction"
"$NL" set --prefix "$P" --dir to-server --plug none || fail "plug none"
assert_eq "$(plug_col)" "-" "plug column after none"
rc=0; "$NL" set --prefix "$P" --dir to-server --plug release-one 2>"$LK_TMP/err" || rc=$?
[ $rc != 0 ] || fail "release-one without a plug succeeded"
assert_eq "$(wc -l <"$LK_TMP/err")" 1 "lines of the error for release-one without a plug"
