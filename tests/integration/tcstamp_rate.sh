#!/bin/bash
# A rate limit that builds a queue raises the RTT tcstamp reports, as
# expected from the rate and the bytes in flight: the oracle is ss's
# count of unacknowledged segments times their frame size (mss + 66:
# tbf counts whole frames), sampled during a bulk transfer, over the rate.  Reno, not the default BBR: BBR drains
# its queue in cycles, so the queue (and RTT) swing too fast for
# snapshots of ss to stand for the same time as tcstamp's samples.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd iperf3
lk_need_cmd jq
lk_need_bin tcstamp
lk_lab_up
PORT=7102
RATE_MBIT=20
OUT=$LK_TMP/tcstamp.json

if "$OUTPUT/netlab" set --prefix "$LAB" --dir to-server --rate ${RATE_MBIT}mbit >/dev/null 2>&1; then
	echo "rate: netlab --rate ${RATE_MBIT}mbit"
else
	# 200 KB: room for Reno's window in a few seconds, so no drops.
	lk_in_client tc qdisc add dev veth0 root tbf rate ${RATE_MBIT}mbit burst 16kb limit 200kb ||
		skip "neither netlab --rate nor tbf available"
	echo "rate: tbf on the client's egress"
fi

lk_bg ip netns exec "$LAB_S" iperf3 -s -1 -p $PORT
lk_wait_for 5 lk_in_server sh -c "ss -Htln | grep -q ':$PORT '" || fail "iperf3 server did not start"
# Long enough to outlast tcstamp's start on a slow (emulated) machine;
# ended once measured.
lk_bg ip netns exec "$LAB_C" iperf3 -c "$LAB_S_IP" -p $PORT -C reno -t 30 -l 64k
IPERF=$LK_LAST_PID
# Past slow start, time the flow (already running: tcstamp meets it in
# mid-transfer) and sample its bytes in flight together.
sleep 1.5
lk_bg "$OUTPUT/tcstamp" -v -j -I veth0 --netns "$LAB_C" --rport $PORT >"$OUT" 2>"$LK_TMP/ts.err"
TS_PID=$LK_LAST_PID
lk_wait_lines 60 "$LK_TMP/ts.err" "attached to" || fail "tcstamp did not start: $(cat "$LK_TMP/ts.err")"
sleep 0.5
kill -0 "$IPERF" 2>/dev/null || fail "the transfer ended before tcstamp was attached"
for i in $(seq 1 15); do
	lk_in_client ss -Hti state established "( dport = :$PORT )" |
		grep -oE '(^|[[:space:]])(mss|unacked):[0-9]+' | tr '\n' ' '
	echo
	sleep 0.2
done >"$LK_TMP/ss"
kill -INT "$TS_PID"
wait "$TS_PID" || fail "tcstamp exited with an error"
kill -0 "$IPERF" 2>/dev/null || fail "iperf3 ended early"
kill -INT "$IPERF" 2>/dev/null
wait "$IPERF"

flow=$(jq -c 'select(.type == "flow" and .kind == "rtt")' "$OUT" | jq -s -c 'max_by(.bytes_out)')
echo "data flow: $flow"
samples=$(echo "$flow" | jq .samples)
mean=$(echo "$flow" | jq .mean_us)
# Expected queueing delay: median of in-flight bytes over the rate, in us.
exp=$(awk -v r=$RATE_MBIT '{ m = 0; u = 0
		for (i = 1; i <= NF; i++) { split($i, kv, ":"); if (kv[1] == "mss") m = kv[2]; if (kv[1] == "unacked") u = kv[2] }
		if (m && u) print u * (m + 66) * 8 / r }' "$LK_TMP/ss" | sort -g |
	awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }')
echo "ss samples (mss, unacked segments):"; cat "$LK_TMP/ss"
echo "expected from in-flight bytes: $exp us; tcstamp mean: $mean us ($samples samples)"
assert_ge "$samples" 50 "RTT samples under the rate limit"
assert_ge "$exp" 5000 "in-flight bytes build a queue of at least 5 ms"
assert_near "$mean" "$exp" 30 2000 "RTT mean vs in-flight bytes / rate (us)"
