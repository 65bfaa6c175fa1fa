#!/bin/bash
# --max-flows sizes the flow table.  Two tcstamp runs watch the same two
# connections: with a table of 4096 the flow rows hold every byte tcpreq
# sent (not 2, nor 64: the kernel's LRU hands free entries to each CPU
# 128 at a time, and a CPU that finds fewer left evicts a live entry,
# however empty the table); with a table of 1 the flows push each other
# out, the rows fall short, and the totals line says how many samples
# are outside them.
# A bad size is one line and exit 2.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcstamp
lk_need_bin tcpreq
T=$OUTPUT/tcstamp

for bad in 0 -1 1048577 x; do
	"$T" -I lo --max-flows "$bad" >"$LK_TMP/out" 2>"$LK_TMP/err"
	rc=$?
	assert_eq "$rc" 2 "--max-flows $bad: exit status"
	grep -q "max-flows must be 1 to 1048576" "$LK_TMP/err" || fail "--max-flows $bad: $(cat "$LK_TMP/err")"
done

lk_lab_up
PORT=7108
lk_bg ip netns exec "$LAB_S" "$OUTPUT/tcpreq" server "$LAB_S_IP:$PORT"
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "tcpreq server did not start"
start() {
	lk_bg "$T" -v -j -i 1 -I veth0 --netns "$LAB_C" --rport $PORT --max-flows "$1" \
		>"$LK_TMP/ts$1.json" 2>"$LK_TMP/ts$1.err"
	eval "PID_$1=$LK_LAST_PID"
	lk_wait_for 20 grep -q "attached to" "$LK_TMP/ts$1.err" || fail "tcstamp did not start: $(cat "$LK_TMP/ts$1.err")"
}
start 1
start 4096
lk_in_client "$OUTPUT/tcpreq" client -n 2 --size 2000 --rate 400 --duration 3 -j \
	"$LAB_S_IP:$PORT" >"$LK_TMP/req" || fail "tcpreq client failed"
sleep 0.5
for n in 1 4096; do
	eval "kill -INT \$PID_$n; wait \$PID_$n" || fail "tcstamp --max-flows $n exited with an error"
done
req_out=$(jq 'select(.type == "summary") | .bytes_out' "$LK_TMP/req")
assert_ge "$req_out" 1000000 "bytes tcpreq sent"
# rows N FIELD: the field summed over flow rows (RTT kind), all intervals.
rows() { jq -s "[.[] | select(.type == \"flow\" and .kind == \"rtt\") | .$2] | add // 0" "$LK_TMP/ts$1.json"; }
outside() { jq -s '[.[] | select(.type == "interval" or .type == "summary") | .samples_outside_rows] | add // 0' "$LK_TMP/ts$1.json"; }
assert_eq "$(($(rows 4096 bytes_out) - $(rows 4096 bytes_retrans)))" "$req_out" "--max-flows 4096: bytes out on the rows = tcpreq's"
assert_eq "$(outside 4096)" 0 "--max-flows 4096: no samples outside the rows"
assert_le "$(($(rows 1 bytes_out) - $(rows 1 bytes_retrans)))" "$((req_out - 1))" "--max-flows 1: bytes out on the rows, short of tcpreq's"
assert_ge "$(outside 1)" 1 "--max-flows 1: samples outside the rows, said"
