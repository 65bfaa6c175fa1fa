#!/bin/bash
# tcplat against sockperf's own figures, across the netlab: sockperf
# server --tcp in the server namespace (CPU 0), sockperf ping-pong --tcp
# --full-rtt -t 3 --mps max in the client namespace (CPU 1, held at a
# FIFO until tcplat runs), tcplat -p CLIENT --role client.
#
# Counts (measured, exact every run): sockperf's [Total Run] line counts
# every message of the run, its warm-up period included, and sockperf
# stops counting with its last message unanswered (SentMessages =
# ReceivedMessages + 1).  Its reply may still be read before sockperf
# exits (then tcplat counts a request more than ReceivedMessages) or not
# (an incomplete request): requests + incomplete = SentMessages exactly,
# and requests is ReceivedMessages or one more.  The bytes are the 14-byte
# messages: bytes out = 14 x SentMessages, bytes in = 14 x tcplat's
# requests.  sockperf's "Warmup stage (sending a few dummy messages)"
# adds nothing on the connection beyond those counts (the bytes say so).
#
# Latency: sockperf's percentiles (--full-rtt: round trips, us, 3
# decimals) cover its [Valid Duration] only (the run less the first 400
# ms and the end), tcplat's the whole run: the same kind of requests.
# Checked at the target (p50 within max(5%, 3 us), p99 within 10%) only
# when tcplat's -v says client requests start at the send syscall's
# entry: sockperf reads its clock before send(); on veth the send
# syscall carries the request through the server's stack (measured with
# the clock at send()'s return: tcplat p50 8.5 us against 12.9 on
# loopback).  The figures are printed either way (grep FIGURES).
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd sockperf
lk_need_bin tcplat
lk_lab_up
SECS=${TCPLAT_SOCKPERF_SECS:-3}
SRV_CPU=() CLI_CPU=()
if [ "$(nproc)" -ge 2 ]; then SRV_CPU=(taskset -c 0) CLI_CPU=(taskset -c 1); fi
PORT=$(lk_free_port "$LAB_S") || fail "no free port"

lk_bg ip netns exec "$LAB_S" "${SRV_CPU[@]}" sockperf server --tcp -i "$LAB_S_IP" -p "$PORT" \
	>"$LK_TMP/srv" 2>&1
lk_wait_for 10 ip netns exec "$LAB_S" bash -c "ss -Hltn 'sport = :$PORT' | grep -q ." ||
	{ cat "$LK_TMP/srv"; fail "sockperf server not listening"; }

lk_held "$LK_TMP/go" ip netns exec "$LAB_C" "${CLI_CPU[@]}" sockperf ping-pong --tcp \
	-i "$LAB_S_IP" -p "$PORT" --full-rtt -t "$SECS" --mps max >"$LK_TMP/cli" 2>&1
sp=$LK_LAST_PID
lk_tcplat_bg "$LK_TMP/t" -p "$sp" --role client
tp=$LK_TCPLAT_PID
lk_release "$LK_TMP/go"
wait "$sp" || { cat "$LK_TMP/cli"; fail "sockperf ping-pong failed"; }
wait "$tp" || { cat "$LK_TMP/t.err"; fail "tcplat failed"; }
# Without the colour escapes sockperf puts around some figures.
sed 's/\x1b\[[0-9;]*m//g' "$LK_TMP/cli" >"$LK_TMP/cli.txt"
grep -E "Total Run|Valid Duration|percentile (99.000|50.000)|dropped" "$LK_TMP/cli.txt"
t=$(lk_summary "$LK_TMP/t")
echo "tcplat: $t"

field() { awk -v k="$2=" -v tag="$1" 'index($0, tag) { for (i = 1; i <= NF; i++) if (index($i, k) == 1) { v = substr($i, length(k) + 1); sub(/;$/, "", v); print v; exit } }' "$LK_TMP/cli.txt"; }
sent=$(field "[Total Run]" SentMessages) recv=$(field "[Total Run]" ReceivedMessages)
[ -n "$sent" ] && [ -n "$recv" ] || fail "no [Total Run] counts in sockperf's output"
assert_ge "$recv" 1000 "sockperf's received messages"
assert_ge "$(jq .requests <<<"$t")" 1000 "tcplat requests"
assert_eq "$((sent - recv))" 1 "sockperf: the last message unanswered"
assert_eq "$(jq '.requests + .incomplete' <<<"$t")" "$sent" "tcplat requests + incomplete = SentMessages (total run)"
assert_ge "$(jq .requests <<<"$t")" "$recv" "tcplat requests >= ReceivedMessages"
assert_le "$(jq .requests <<<"$t")" "$sent" "tcplat requests <= SentMessages"
assert_eq "$(jq .bytes_out <<<"$t")" $((14 * sent)) "bytes out = 14 x SentMessages"
assert_eq "$(jq .bytes_in <<<"$t")" "$(jq '14 * .requests' <<<"$t")" "bytes in = 14 x requests"

pct() { awk -v p="$1" '$0 ~ "percentile " p " =" { print $NF; exit }' "$LK_TMP/cli.txt"; }
s50=$(pct 50.000) s99=$(pct 99.000)
[ -n "$s50" ] && [ -n "$s99" ] || fail "no percentiles in sockperf's output"
tp50=$(jq .p50_us <<<"$t") tp99=$(jq .p99_us <<<"$t")
echo "FIGURES|tcplat_sockperf|client|tcplat p50 $tp50 p99 $tp99|sockperf p50 $s50 p99 $s99 us"
if lk_tcplat_new_client_clock "$LK_TMP/t.err"; then
	assert_near "$tp50" "$s50" 5 3 "p50_us vs sockperf's"
	assert_near "$tp99" "$s99" 10 0 "p99_us vs sockperf's"
else
	echo "latency agreement not checked: old client clock"
fi
assert_ge "$tp50" 1 "p50 is a latency"
