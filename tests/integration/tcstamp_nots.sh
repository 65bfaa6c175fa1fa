#!/bin/bash
# With TCP timestamps off (net.ipv4.tcp_timestamps=0 on both ends) RTT
# samples still come, one per round trip: the oracle is tcpreq's count
# of requests.  No sample can have come from TSval/TSecr matching.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcstamp
lk_need_bin tcpreq
lk_lab_up
PORT=7103
OUT=$LK_TMP/tcstamp.json
lk_in_client sysctl -q -w net.ipv4.tcp_timestamps=0 || fail "cannot turn timestamps off"
lk_in_server sysctl -q -w net.ipv4.tcp_timestamps=0 || fail "cannot turn timestamps off"

lk_bg ip netns exec "$LAB_S" "$OUTPUT/tcpreq" server "$LAB_S_IP:$PORT"
lk_wait_for 5 lk_in_server sh -c "ss -Htln | grep -q ':$PORT '" || fail "tcpreq server did not start"
lk_bg "$OUTPUT/tcstamp" -v -j -I veth0 --netns "$LAB_C" --rport $PORT >"$OUT" 2>"$LK_TMP/ts.err"
TS_PID=$LK_LAST_PID
lk_wait_lines 60 "$LK_TMP/ts.err" "attached to" || fail "tcstamp did not start: $(cat "$LK_TMP/ts.err")"
lk_in_client "$OUTPUT/tcpreq" client --rate 500 --duration 3 -j "$LAB_S_IP:$PORT" >"$LK_TMP/req" ||
	fail "tcpreq client failed"
sleep 0.3
kill -INT "$TS_PID"
wait "$TS_PID" || fail "tcstamp exited with an error"

replies=$(jq 'select(.type == "summary") | .requests' "$LK_TMP/req")
flow=$(jq -c 'select(.type == "flow" and .kind == "rtt")' "$OUT")
echo "tcpreq requests: $replies; tcstamp: $flow"
[ "$(echo "$flow" | wc -l)" = 1 ] || fail "expected one flow"
assert_ge "$replies" 500 "tcpreq round trips"
# The handshake (SYN, SYN-ACK) gives one sample more.
assert_near "$(echo "$flow" | jq .samples)" "$replies" 5 30 "RTT samples vs round trips"
assert_eq "$(echo "$flow" | jq .ts_samples)" 0 "samples from timestamps"
assert_ge "$(echo "$flow" | jq .min_us)" 1 "RTT min above 1 us"
