#!/bin/bash
# tcpreq ping-pong across a netlab, tcstamp on the client's veth, and a
# packet capture on the same
# interface at the same time: per flow, the median tc-layer RTT is within
# 10% (or 20 us) of tshark's tcp.analysis.ack_rtt median, and the sample
# counts are of the same order.  With --peer on the server's veth, the
# one-way delays must be non-zero and fit inside the RTT.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd tshark
lk_need_cmd jq
lk_need_bin tcstamp
lk_need_bin tcpreq
lk_lab_up
PORT=7100
CAP=$LK_TMP/cap.pcap
OUT=$LK_TMP/tcstamp.json

lk_bg ip netns exec "$LAB_S" "$OUTPUT/tcpreq" server "$LAB_S_IP:$PORT"
lk_wait_for 5 lk_in_server sh -c "ss -Htln | grep -q ':$PORT '" || fail "tcpreq server did not start"

# Bounded capture: it stops by itself after 15 s or 100000 packets.
lk_bg ip netns exec "$LAB_C" tshark -q -i veth0 -a duration:15 -c 100000 \
	-f "tcp port $PORT" -w "$CAP" 2>"$LK_TMP/tshark.err"
CAP_PID=$LK_LAST_PID
lk_bg "$OUTPUT/tcstamp" -v -j -I veth0 --netns "$LAB_C" --peer "$LAB_S" --rport $PORT >"$OUT" 2>"$LK_TMP/ts.err"
TS_PID=$LK_LAST_PID
lk_wait_for 10 grep -q Capturing "$LK_TMP/tshark.err" || fail "tshark did not start"
# Both sides (--peer): two "attached" lines.
lk_wait_lines 60 "$LK_TMP/ts.err" "attached to" 2 || fail "tcstamp did not start: $(cat "$LK_TMP/ts.err")"

lk_in_client "$OUTPUT/tcpreq" client --rate 1000 --duration 4 -j "$LAB_S_IP:$PORT" >"$LK_TMP/req" ||
	fail "tcpreq client failed"
sleep 0.5
kill -INT "$TS_PID"
wait "$TS_PID" || fail "tcstamp exited with an error"
kill -INT "$CAP_PID" 2>/dev/null
wait "$CAP_PID" 2>/dev/null
cat "$OUT"

rows() { jq -c "select(.type == \"flow\" and .kind == \"$1\" and .interface == \"veth0\" and $2)" "$OUT"; }
client='.laddr == "'$LAB_C_IP'"'
server='.laddr == "'$LAB_S_IP'"'
[ "$(rows rtt "$client" | wc -l)" = 1 ] || fail "expected one client flow in tcstamp's output"
samples=$(rows rtt "$client" | jq .samples)
p50=$(rows rtt "$client" | jq .p50_us)
lport=$(rows rtt "$client" | jq .lport)
assert_ge "$samples" 1000 "tcstamp RTT samples (client side)"

# The oracle: tshark's RTT of each ACK from the server for client data.
tshark -r "$CAP" -Y "ip.src == $LAB_S_IP && tcp.dstport == $lport && tcp.analysis.ack_rtt" \
	-T fields -e tcp.analysis.ack_rtt 2>/dev/null | sort -g >"$LK_TMP/rtt"
n=$(wc -l <"$LK_TMP/rtt")
assert_ge "$n" 1000 "capture RTT samples"
cap_p50=$(awk '{ v[NR] = $1 * 1e6 } END { print v[int((NR + 1) / 2)] }' "$LK_TMP/rtt")
echo "tcstamp: $samples samples, p50 $p50 us; capture: $n samples, p50 $cap_p50 us"
echo "tcpreq (application round trips): $(cat "$LK_TMP/req")"
# The capture taps each packet on the far side of tc (after tc egress,
# before tc ingress), so tcstamp's round trip holds the tap's own work
# twice: never shorter, longer by that cost.  Under qemu TCG (LK_TCG=1)
# that work is some 30 us, not 1.
slack=20
[ "${LK_TCG:-}" = 1 ] && slack=60
assert_ge "$p50" "$(awk -v c="$cap_p50" 'BEGIN { print c * 0.98 }')" "median RTT, tcstamp vs capture - 2% (us)"
assert_near "$p50" "$cap_p50" 10 $slack "median RTT, tcstamp vs capture (us)"
assert_le "$samples" $((n * 2)) "tcstamp samples at most twice the capture's"
assert_ge "$samples" $((n / 2)) "tcstamp samples at least half the capture's"

# One-way delay, both directions: non-zero, one per request or reply,
# and each well below the round trip it is part of.
for side in "$client" "$server"; do
	o=$(rows owd-in "$side")
	[ -n "$o" ] || fail "no one-way delay row for $side"
	assert_ge "$(echo "$o" | jq .samples)" 1000 "one-way delay samples ($side)"
	assert_le "$(echo "$o" | jq .p50_us)" "$p50" "one-way delay p50 below RTT p50 ($side)"
	assert_ge "$(echo "$o" | jq .min_us)" 0.1 "one-way delay min > 0 ($side)"
done
