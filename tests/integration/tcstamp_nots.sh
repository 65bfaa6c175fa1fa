#!/bin/bash
# With TCP timestamps off (net.ipv4.tcp_timestamps=0 on both ends) RTT
# samples still come, one per round trip: the oracle is sockperf's count
# of replies.  No sample can have come from TSval/TSecr matching.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd sockperf
lk_need_cmd jq
lk_need_bin tcstamp
lk_lab_up
PORT=7103
OUT=$LK_TMP/tcstamp.json
lk_in_client sysctl -q -w net.ipv4.tcp_timestamps=0 || fail "cannot turn timestamps off"
lk_in_server sysctl -q -w net.ipv4.tcp_timestamps=0 || fail "cannot turn timestamps off"

lk_bg ip netns exec "$LAB_S" sockperf server --tcp -i "$LAB_S_IP" -p $PORT
lk_wait_for 5 lk_in_server sh -c "ss -Htln | grep -q ':$PORT '" || fail "sockperf server did not start"
lk_bg "$OUTPUT/tcstamp" -j -I veth0 --netns "$LAB_C" --rport $PORT >"$OUT"
TS_PID=$LK_LAST_PID
sleep 1
kill -0 "$TS_PID" 2>/dev/null || fail "tcstamp did not start"
lk_in_client sockperf ping-pong --tcp -i "$LAB_S_IP" -p $PORT -t 3 --mps 500 >"$LK_TMP/sp" 2>&1 ||
	fail "sockperf client failed"
sleep 0.3
kill -INT "$TS_PID"
wait "$TS_PID" || fail "tcstamp exited with an error"

replies=$(sed -n 's/.*\[Total Run\].*ReceivedMessages=\([0-9]*\).*/\1/p' "$LK_TMP/sp")
flow=$(jq -c 'select(.type == "flow" and .kind == "rtt")' "$OUT")
echo "sockperf replies: $replies; tcstamp: $flow"
[ "$(echo "$flow" | wc -l)" = 1 ] || fail "expected one flow"
assert_ge "$replies" 500 "sockperf round trips"
# sockperf's warm-up messages and the handshake come on top of its count.
assert_near "$(echo "$flow" | jq .samples)" "$replies" 5 30 "RTT samples vs round trips"
assert_eq "$(echo "$flow" | jq .ts_samples)" 0 "samples from timestamps"
assert_ge "$(echo "$flow" | jq .min_us)" 1 "RTT min above 1 us"
