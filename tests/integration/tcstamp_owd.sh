#!/bin/bash
# One-way delay rows with interval reports (--peer, -i 0.05): the rows
# are written under two generations and each report reads and deletes
# its own.  Over all the reports (the summary covers only the time
# since the last interval), each direction holds one sample per data
# segment: tcpreq's requests into the server, its replies into the
# client (64-byte messages, one segment each).  A segment sent twice
# gives no sample: with retransmissions in a namespace (Tcp:
# RetransSegs) that direction may be short by as many, never over.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcstamp
lk_need_bin tcpreq
lk_lab_up
PORT=$(lk_free_port "$LAB_S") || fail "no free port in the lab"
OUT=$LK_TMP/tcstamp.json

lk_bg ip netns exec "$LAB_S" "$OUTPUT/tcpreq" server "$LAB_S_IP:$PORT"
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "tcpreq server did not start"
lk_bg "$OUTPUT/tcstamp" -v -j -i 0.05 -I veth0 --netns "$LAB_C" --peer "$LAB_S" --rport "$PORT" \
	>"$OUT" 2>"$LK_TMP/err"
TS_PID=$LK_LAST_PID
lk_wait_lines 60 "$LK_TMP/err" "attached to" 2 || fail "tcstamp did not start: $(cat "$LK_TMP/err")"
rs0=$(lk_netstat "$LAB_S" "Tcp RetransSegs")
rc0=$(lk_netstat "$LAB_C" "Tcp RetransSegs")
lk_in_client "$OUTPUT/tcpreq" client --rate 500 --duration 2 -j "$LAB_S_IP:$PORT" >"$LK_TMP/req" ||
	fail "tcpreq client failed"
sleep 0.3
kill -INT "$TS_PID"
wait "$TS_PID" || fail "tcstamp exited with an error"
rs=$(($(lk_netstat "$LAB_S" "Tcp RetransSegs") - rs0))
rc=$(($(lk_netstat "$LAB_C" "Tcp RetransSegs") - rc0))

n=$(jq 'select(.type == "summary") | .requests' "$LK_TMP/req")
owd() {
	jq -s --arg a "$1" '[.[] | select(.type == "flow" and .kind == "owd-in" and .laddr == $a) | .samples] | add // 0' "$OUT"
}
into_s=$(owd "$LAB_S_IP") into_c=$(owd "$LAB_C_IP")
echo "tcpreq: $n requests; one-way samples into the server $into_s, into the client $into_c;" \
	"$(jq -s '[.[] | select(.type == "flow" and .kind == "owd-in")] | length' "$OUT") owd-in rows" \
	"in $(jq -s '[.[] | select(.type == "interval" or .type == "summary")] | length' "$OUT") reports;" \
	"RetransSegs +$rc (client), +$rs (server)"
# Enough requests to mean something: 1,000 asked for; under qemu TCG
# the client falls behind its rate (a 6.1 guest beside another: 483).
min_n=500
[ "${LK_TCG:-0}" = 1 ] && min_n=200
assert_ge "$n" "$min_n" "tcpreq's requests"
assert_le "$into_s" "$n" "samples into the server, over the reports, <= requests"
assert_ge "$into_s" $((n - rc)) "samples into the server >= requests - the client's retransmissions"
assert_le "$into_c" "$n" "samples into the client, over the reports, <= replies"
assert_ge "$into_c" $((n - rs)) "samples into the client >= replies - the server's retransmissions"
assert_eq "$(jq -s '[.[] | select(.type == "interval" or .type == "summary") | .drops] | add' "$OUT")" 0 \
	"drops"
