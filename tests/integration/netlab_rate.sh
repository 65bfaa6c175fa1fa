#!/bin/bash
# netlab --rate: tbf on the sender's egress limits one direction to the
# rate (iperf3's own figures are the oracle), the other stays fast, and
# netlab set changes the rate under a running transfer.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd iperf3
lk_need_cmd jq
lk_need_bin netlab
NL=$OUTPUT/netlab
PORT=5201

lk_lab_up --dir to-server --rate 20mbit
P=$LAB
"$NL" status --prefix "$P" | awk '$1 == "to-server" { r = $5 } $1 == "to-client" { c = $5 }
	END { exit !(r == "20mbit" && c == "-") }' || fail "status: $("$NL" status --prefix "$P")"
ok "status shows 20mbit to-server only"

# One iperf3 server for the whole test (it serves clients one by one).
# Not through lk_in_server, a shell function: lk_bg would hold the
# subshell's PID, and iperf3 outlived the test (timeout's 120 s).
lk_bg ip netns exec "$LAB_S" timeout 120 iperf3 -s -J -p $PORT >/dev/null
listening() { lk_in_server awk '$2 ~ /:1451$/ && $4 == "0A" { f = 1 } END { exit !f }' /proc/net/tcp /proc/net/tcp6; }
lk_wait_for 10 listening || fail "iperf3 server did not start"
# iperf ARGS...: one bounded run; iperf3's JSON on stdout.
iperf() { lk_in_client timeout 30 iperf3 -c "$LAB_S_IP" -p $PORT -J "$@" || fail "iperf3 $*"; }
mbit() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1e6 }'; }

up=$(iperf -t 3 | jq '.end.sum_received.bits_per_second')
echo "to-server at --rate 20mbit: $(mbit "$up") Mbit/s"
# TCP payload is ~95% of the wire rate (19 of 20 Mbit/s here, every
# time); tbf's burst adds a little.  The limit is the upper bound; the
# lower one is loose for slow machines (15 Mbit/s under qemu TCG).
within() { # VALUE LOW HIGH what
	awk -v v="$1" -v l="$2" -v h="$3" 'BEGIN { exit !(v >= l && v <= h) }' ||
		fail "$4: $1 not in [$2, $3]"
	ok "$4: $1 in [$2, $3]"
}
within "$(mbit "$up")" 13 20.4 "to-server goodput at 20mbit, Mbit/s"
down=$(iperf -t 1 -R -b 200M | jq '.end.sum_received.bits_per_second')
echo "to-client, unlimited: $(mbit "$down") Mbit/s"
assert_ge "$(mbit "$down")" 60 "to-client goodput is not limited (3x the limit), Mbit/s"

# Change under traffic: 20mbit for 2 s, then 5mbit; compare, as the
# receiving iperf3 saw them, second 2 and the mean of seconds 5 to 8
# (the old rate's queue drains between).  Four seconds, not two: the
# receiver's per-second figures count bytes when it reads them, and a
# loaded machine delays its reads across a second's edge (a run read
# 19.3 19.1 8.6 4.1 6.3 4.8: seconds 5-6 averaged 5.51 for 4.75 on the
# wire); over four seconds such a shift weighs half as much.
iperf -t 8 -i 1 -b 0 --get-server-output >"$LK_TMP/run.json" &
IPERF=$!
LK_PIDS+=($IPERF)
sleep 2.3
"$NL" set --prefix "$P" --dir to-server --rate 5mbit || fail "set --rate 5mbit"
wait $IPERF || fail "iperf3 during set"
jq -r '.server_output_json.intervals[].sum.bits_per_second' "$LK_TMP/run.json" | head -8 >"$LK_TMP/iv"
echo "received per second, Mbit/s: $(while read -r b; do printf '%s ' "$(mbit "$b")"; done <"$LK_TMP/iv")"
assert_eq "$(wc -l <"$LK_TMP/iv")" 8 "intervals of the 8 s run"
within "$(mbit "$(sed -n 2p "$LK_TMP/iv")")" 13 21 "second 2 (20mbit), Mbit/s"
late=$(awk 'NR >= 5 { s += $1; n++ } END { print s / n }' "$LK_TMP/iv")
within "$(mbit "$late")" 3.2 5.1 "seconds 5-8 (set to 5mbit), Mbit/s"

"$NL" set --prefix "$P" --rate none || fail "set --rate none"
"$NL" status --prefix "$P" | awk '$1 ~ /^to-/ && $5 != "-" { bad = 1 } END { exit bad }' ||
	fail "rate left after --rate none: $("$NL" status --prefix "$P")"
up=$(iperf -t 1 -b 200M | jq '.end.sum_received.bits_per_second')
assert_ge "$(mbit "$up")" 60 "to-server goodput after --rate none (3x the old limit), Mbit/s"
