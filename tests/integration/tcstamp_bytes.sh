#!/bin/bash
# Byte counts per flow and interval (-i 1): summed over the intervals they
# equal what tcpreq itself wrote and read (TCP payload), and each
# interval holds only its own share, not the running total.  Two
# connections, requests larger than a segment.  The lab loses nothing,
# but a slow machine (qemu TCG) may time out and send a segment again:
# bytes out minus tcstamp's bytes_retrans is exact either way, and bytes
# in may exceed tcpreq's only by segments the server's kernel counted as
# retransmitted (Tcp: RetransSegs in its namespace).
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcstamp
lk_need_bin tcpreq
lk_lab_up
PORT=7106
OUT=$LK_TMP/tcstamp.json

lk_bg ip netns exec "$LAB_S" "$OUTPUT/tcpreq" server "$LAB_S_IP:$PORT"
lk_wait_for 5 lk_in_server sh -c "ss -Htln | grep -q ':$PORT '" || fail "tcpreq server did not start"
lk_bg "$OUTPUT/tcstamp" -v -j -i 1 -I veth0 --netns "$LAB_C" --rport $PORT >"$OUT" \
	2>"$LK_TMP/err"
TS_PID=$LK_LAST_PID
# Every byte must be seen: wait until the programs are attached.
lk_wait_for 20 grep -q "attached to" "$LK_TMP/err" || fail "tcstamp did not start: $(cat "$LK_TMP/err")"
rs0=$(lk_netstat "$LAB_S" "Tcp RetransSegs")
rc0=$(lk_netstat "$LAB_C" "Tcp RetransSegs")
lk_in_client "$OUTPUT/tcpreq" client -n 2 --size 5000 --rate 300 --duration 4 -j \
	"$LAB_S_IP:$PORT" >"$LK_TMP/req" || fail "tcpreq client failed"
sleep 0.5
kill -INT "$TS_PID"
wait "$TS_PID" || fail "tcstamp exited with an error"
rs=$(($(lk_netstat "$LAB_S" "Tcp RetransSegs") - rs0))
rc=$(($(lk_netstat "$LAB_C" "Tcp RetransSegs") - rc0))

req() { jq "select(.type == \"summary\") | .$1" "$LK_TMP/req"; }
rows() { jq -c 'select(.type == "flow" and .kind == "rtt")' "$OUT"; }
sum() { rows | jq -s "map(.$1) | add // 0"; }
echo "tcpreq: $(jq -c 'select(.type == "summary")' "$LK_TMP/req")"
rows | jq -c '{lport, bytes_out, bytes_in, segs_out, retrans, bytes_retrans, samples}'
echo "Tcp: RetransSegs grew by $rc in the client's namespace, $rs in the server's"
assert_ge "$(req bytes_out)" 1000000 "bytes tcpreq sent"
assert_eq "$(($(sum bytes_out) - $(sum bytes_retrans)))" "$(req bytes_out)" \
	"bytes out less bytes sent again, tcstamp (all intervals) vs tcpreq"
assert_le "$(sum retrans)" "$rc" "segments sent again <= the client's RetransSegs"
[ "$rc" = 0 ] && assert_eq "$(sum bytes_retrans)" 0 "bytes sent again, with no retransmission"
extra=$(($(sum bytes_in) - $(req bytes_in)))
assert_ge "$extra" 0 "bytes in, tcstamp (all intervals) - tcpreq's"
# At most one MSS (1448 on the lab's 1500-byte MTU) per server retransmission.
assert_le "$extra" $((rs * 1448)) "bytes in beyond tcpreq's, against the server's $rs retransmissions"
assert_eq "$(rows | jq -s 'map(.lport) | unique | length')" 2 "flows"
# A request of 5000 bytes is at least one segment (several without TSO).
assert_ge "$(sum segs_out)" "$(req requests)" "segments out vs requests"
# Four seconds at a steady rate: no interval may hold most of a flow's bytes.
for p in $(rows | jq -s -r 'map(.lport) | unique | .[]'); do
	n=$(rows | jq -s "map(select(.lport == $p)) | length")
	total=$(rows | jq -s "map(select(.lport == $p) | .bytes_out) | add")
	most=$(rows | jq -s "map(select(.lport == $p) | .bytes_out) | max")
	assert_ge "$n" 4 "intervals with flow $p"
	assert_le "$most" $((total / 2)) "bytes in flow $p's busiest interval, of $total"
done
# RTT samples per flow come from each flow's own entry, across interval
# boundaries: summed over flows and intervals they equal the per-CPU
# sample counter of the interval records (one port, no --peer: RTT only),
# and each row's minimum and maximum hold its median.
rsamples=$(sum samples)
tsamples=$(jq -s 'map(select(.type == "interval" or .type == "summary") | .samples) | add // 0' "$OUT")
assert_ge "$rsamples" "$(req requests)" "RTT samples, all flows and intervals, vs requests"
assert_eq "$rsamples" "$tsamples" "RTT samples in the flow rows vs the interval totals"
bad=$(rows | jq -s 'map(select(.samples > 0 and (.min_us > .p50_us or .p50_us > .max_us))) | length')
assert_eq "$bad" 0 "rows whose median is outside their min..max"
