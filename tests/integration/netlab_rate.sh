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

# Change under traffic: 20mbit, then 5mbit.  The oracle is what left
# the client's veth0 (its tx_bytes: each frame counted as tbf hands it to
# the device, Ethernet header included; a GSO frame's headers once, where
# tbf charges them per segment, so never more than tbf charged: 19.25
# Mbit/s at 20mbit on an idle host), read with the clock in one process,
# no fork between: wire prints "T0 BYTES T1",
# the clock just before and just after the counter.  A token bucket
# passes at most burst + rate x time in any window, so from sample S to
# sample E the bytes are at most rate x (E.T1 - S.T0) + 2 bursts (the
# tokens at the start, and a frame taken from the queue before S but
# counted after it): exact, whatever stalls the machine had.  Not
# iperf3's per-second figures: its receiver counts bytes when
# it reads them, and after a stall its next interval is short (its timer
# keeps the old schedule), so the mean of per-interval rates counts the
# data the stall held back at the short interval's weight (a qemu TCG
# 6.12 guest, two guests on 2 cores, read 5.40 Mbit/s over seconds 5-8
# at 5mbit; the receiving iperf3 stopped for 0.8 s on a host made
# intervals of 1.44 and 0.56 s, the second at 7.87 Mbit/s, and seconds
# 5-8 averaged 5.25).  The lower bound is loose for
# slow machines (65% of the rate over E.T0 - S.T1): it fails a rate set
# far too low, not a stalled sender.
wire() {
	# shellcheck disable=SC2016
	lk_in_client env LC_ALL=C bash -c \
		'a=$EPOCHREALTIME; read -r b </sys/class/net/veth0/statistics/tx_bytes; c=$EPOCHREALTIME; echo "$a $b $c"'
}
burst() { tc -n "$LAB_C" -j qdisc show dev veth0 | jq '.[] | select(.kind == "tbf") | .options.burst'; }
# rate_within S E MBIT what: the bytes between samples S and E at a rate of MBIT.
rate_within() {
	local b
	b=$(burst)
	[ -n "$b" ] || fail "no tbf on the client's veth0"
	awk -v s="$1" -v e="$2" -v r="$3" -v burst="$b" -v what="$4" 'BEGIN {
		split(s, S, " "); split(e, E, " ")
		bytes = E[2] - S[2]; outer = E[3] - S[1]; inner = E[1] - S[3]
		hi = r * 1e6 / 8 * outer + 2 * burst; lo = 0.65 * r * 1e6 / 8 * inner
		printf "%s: %d bytes in %.3f s (%.3f to %.3f): %.2f Mbit/s; allowed %d to %d bytes (burst %d)\n",
			what, bytes, (outer + inner) / 2, inner, outer, bytes * 8 / 1e6 / ((outer + inner) / 2), lo, hi, burst
		exit !(inner > 0.5 && bytes >= lo && bytes <= hi) }' || fail "$4: out of bounds (or a window under 0.5 s)"
	ok "$4"
}
# Under way for as long as the samples take (30 s at most); interrupted
# after the last one, which the server takes in its stride.
b0=$(wire)
lk_bg ip netns exec "$LAB_C" timeout 40 iperf3 -c "$LAB_S_IP" -p $PORT -J -t 30 -b 0 >"$LK_TMP/run.json"
IPERF=$LK_LAST_PID
# shellcheck disable=SC2317
flowing() { [ "$(wire | awk '{ print $2 }')" -ge $(($(awk '{ print $2 }' <<<"$b0") + 250000)) ]; }
lk_wait_for 20 flowing || fail "no transfer to the server: $(cat "$LK_TMP/run.json")"
s1=$(wire)
sleep 1.5
s2=$(wire)
rate_within "$s1" "$s2" 20 "on the wire at 20mbit"
"$NL" set --prefix "$P" --dir to-server --rate 5mbit || fail "set --rate 5mbit"
# By then the old rate's queue (100 ms of 20mbit, 0.4 s at 5mbit) is out.
sleep 1.7
s3=$(wire)
sleep 4
s4=$(wire)
kill -INT "$IPERF"
wait "$IPERF"
# The next client only once the server has closed this run's sockets:
# until then it may still be on this run (a client right after read 0
# Mbit/s once in some 20 runs on the host).
idle() { [ -z "$(lk_in_server ss -Htan "sport = :$PORT" | awk '$1 != "LISTEN" && $1 != "TIME-WAIT"')" ]; }
lk_wait_for 20 idle || fail "iperf3 server still on the interrupted run: $(lk_in_server ss -Htan "sport = :$PORT")"
rate_within "$s3" "$s4" 5 "on the wire after set --rate 5mbit"

"$NL" set --prefix "$P" --rate none || fail "set --rate none"
"$NL" status --prefix "$P" | awk '$1 ~ /^to-/ && $5 != "-" { bad = 1 } END { exit bad }' ||
	fail "rate left after --rate none: $("$NL" status --prefix "$P")"
up=$(iperf -t 1 -b 200M | jq '.end.sum_received.bits_per_second')
assert_ge "$(mbit "$up")" 60 "to-server goodput after --rate none (3x the old limit), Mbit/s"
