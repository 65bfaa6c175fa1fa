#!/bin/bash
# tcplat against Redis's own figures, on loopback: a redis-server of the
# test's own (own port, no persistence, its dir in the test's temp dir)
# and redis-benchmark.
#
# (a) Server side, tcplat -p REDIS --role server over redis-cli CONFIG
# RESETSTAT, redis-benchmark -c 50 and -c 1 (-t set,get -P 1) and
# redis-cli INFO: tcplat's requests equal the commands in Redis's
# commandstats, with two corrections, both measured:
#   - redis-benchmark starts with CONFIG GET save and CONFIG GET
#     appendonly written in one write() on a connection of their own
#     (hiredis queues both, then reads both replies): commandstats counts
#     2 calls, tcplat 1 request (one arrival, one reply write, as a
#     server sees a pipeline);
#   - INFO is not in the commandstats it prints (a command is counted
#     after it ran), tcplat counts it.
# CONFIG RESETSTAT is: Redis counts it after it reset the counters.
# Bytes too: tcplat's bytes in are total_net_input_bytes plus the
# RESETSTAT command (read before the reset), its bytes out
# total_net_output_bytes plus the INFO reply (written after INFO ran).
#
# (b) Client side, tcplat -p BENCH --role client on redis-benchmark -c 1
# and -c 50, -P 1 -t get -n N (held at a FIFO until tcplat runs): N
# requests plus 1 for the CONFIG GET pair (one write, one reply read),
# none incomplete; Redis counted N GETs; bytes out = what Redis read,
# bytes in = what it wrote.  Latency: redis-benchmark's p50 and p99 (its
# report's latency summary) against tcplat's, at the target (p50 within
# max(5%, 3 us), p99 within 10%), checked where tcplat's -v says client
# requests start at their first send's entry (not on a kernel without a
# hook for it):
# redis-benchmark's clock starts before its write() and stops when its
# read handler is called; a clock that starts when send() returns leaves
# out the send syscall, on loopback the whole delivery to the server
# (measured: tcplat p50 14 us against 16-23 us).  Below redis-benchmark's
# bucket, 5 us more are allowed: tcplat's p50 trails it by the client's
# own time outside the syscalls and the send's path to TCP, which
# redis-benchmark cannot show request by request.  Where a client could
# (tcplat_sockperf, tcplat_nginx, tcplat_clock), that measured 2 to 4 us
# a request at the median, and the p50s of the same requests 1.5 to 8.5 us
# apart, as their difference swings with the spread of the client's own
# time.  At -c 1 the bucket's bottom less max(5%, 3 us) fails whenever
# that lead exceeds 3 us plus the true p50's height above the bottom,
# which is anywhere in the 8 us bucket (tcplat's p50 was 0.3 and 0.6 us
# above the bottom in two of six runs).  The figures are
# printed either way (grep FIGURES in the log).
#
# redis-benchmark records latencies in an HDR histogram whose lowest
# discernible value is 10 us, so its unit is 8 us (below 16.384 ms, 16
# us above, ...) and its percentiles are a bucket's highest value: a
# printed p50 of 0.023 ms is a true p50 between 16 and 23 us.  The
# comparison is with that interval.
#
# At N = 20000, tcplat's p99 is the 19801st of 20001 latencies (the CONFIG GET pair is
# one more), redis-benchmark's the 19800th of 20000: tcplat's is the
# 19800th or the 19801st GET.  The band is from the bottom of
# redis-benchmark's p99 bucket to the lowest point of its report's
# distribution ("99.440% <= 3.103 milliseconds (cumulative count
# 19888)", both of its lists) that counts at least 19801 requests.  A
# p99 alone is not enough where the tail has a gap at 99% (requests
# that waited for a CPU lie milliseconds above the rest): two
# neighbouring ranks are then far apart.  Measured in a loaded run:
# tcplat p99 2,058.9 us against redis-benchmark's 1,296-1,303 us, with
# p50 (325.7 against 320-327 us) and the mean (388.7 against 385 us) in
# agreement.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd redis-server
lk_need_cmd redis-cli
lk_need_cmd redis-benchmark
lk_need_bin tcplat
N=${TCPLAT_REDIS_N:-20000}
# Under qemu TCG (make vmtest) a request costs some 50 times more.
[ "${LK_TCG:-0}" = 1 ] && N=${TCPLAT_REDIS_N:-2000}
lk_latency_tol

lk_pin_pair

lk_redis_up "${SRV_CPU[@]}"
# A command's length in Redis's protocol, as redis-cli sends it.
resp_len() { { printf '*%d\r\n' $#; for a; do printf '$%d\r\n%s\r\n' ${#a} "$a"; done; } | wc -c; }
# INFO's figures: stat NAME FILE, calls CMD FILE (0 when never called).
stat() { tr -d '\r' <"$2" | awk -F: -v k="$1" '$1 == k { print $2 }'; }
calls() { tr -d '\r' <"$2" | awk -F'[:=,]' -v k="cmdstat_$1" '$1 == k { n = $3 } END { print n + 0 }'; }
allcalls() { tr -d '\r' <"$1" | awk -F'[:=,]' '$1 ~ /^cmdstat_/ { n += $3 } END { print n + 0 }'; }
# The length of the bulk-string reply redis-cli printed: "$LEN\r\n" BODY
# "\r\n" (redis-cli prints the body as it is, its own "\r\n" at the end).
bulk_len() { local b; b=$(wc -c <"$1"); echo $((1 + ${#b} + 2 + b + 2)); }

# (a) server side
lk_tcplat_bg "$LK_TMP/a" -p "$RP" --role server
tp=$LK_TCPLAT_PID
assert_eq "$(rcli CONFIG RESETSTAT)" OK "CONFIG RESETSTAT"
for c in 50 1; do
	"${CLI_CPU[@]}" redis-benchmark -h 127.0.0.1 -p "$PORT" -c $c -n "$N" -t set,get -P 1 -q \
		>"$LK_TMP/bench.$c" 2>&1 || { cat "$LK_TMP/bench.$c"; fail "redis-benchmark -c $c failed"; }
done
rcli INFO stats commandstats >"$LK_TMP/info.a" || fail "INFO failed"
kill -INT "$tp"
wait "$tp" || { cat "$LK_TMP/a.err"; fail "tcplat (server) failed"; }
t=$(lk_summary "$LK_TMP/a")
echo "tcplat: $t"
grep cmdstat "$LK_TMP/info.a"
assert_eq "$(calls set "$LK_TMP/info.a")" $((2 * N)) "Redis: SET calls"
assert_eq "$(calls get "$LK_TMP/info.a")" $((2 * N)) "Redis: GET calls"
cfg=$(calls 'config|get' "$LK_TMP/info.a")
assert_eq "$cfg" 4 "Redis: CONFIG GET calls (2 per redis-benchmark)"
want=$(($(allcalls "$LK_TMP/info.a") - cfg / 2 + 1))
assert_ge "$(jq .requests <<<"$t")" $((4 * N)) "tcplat requests: every SET and GET"
assert_eq "$(jq .requests <<<"$t")" "$want" \
	"tcplat requests = commandstats - 1 per CONFIG GET pair + INFO"
assert_eq "$(jq .incomplete <<<"$t")" 0 "incomplete requests"
assert_eq "$(jq .bytes_in <<<"$t")" \
	$(($(stat total_net_input_bytes "$LK_TMP/info.a") + $(resp_len CONFIG RESETSTAT))) \
	"bytes in = total_net_input_bytes + RESETSTAT"
assert_eq "$(jq .bytes_out <<<"$t")" \
	$(($(stat total_net_output_bytes "$LK_TMP/info.a") + $(bulk_len "$LK_TMP/info.a"))) \
	"bytes out = total_net_output_bytes + INFO's reply"

# (b) client side, at one connection and at 50
bucket_lo() { awk -v v="$1" 'BEGIN { w = 8; while (v >= 2048 * w) w *= 2; print v - w + 1 }'; }
for c in 1 50; do
	assert_eq "$(rcli CONFIG RESETSTAT)" OK "CONFIG RESETSTAT"
	lk_held "$LK_TMP/go.$c" "${CLI_CPU[@]}" redis-benchmark -h 127.0.0.1 -p "$PORT" \
		-c $c -n "$N" -t get -P 1 >"$LK_TMP/bench.b$c" 2>&1
	bp=$LK_LAST_PID
	lk_tcplat_bg "$LK_TMP/b$c" -p "$bp" --role client
	tp=$LK_TCPLAT_PID
	lk_release "$LK_TMP/go.$c"
	wait "$bp" || { cat "$LK_TMP/bench.b$c"; fail "redis-benchmark -c $c failed"; }
	wait "$tp" || { cat "$LK_TMP/b$c.err"; fail "tcplat (client -c $c) failed"; }
	rcli INFO stats commandstats >"$LK_TMP/info.b$c" || fail "INFO failed"
	t=$(lk_summary "$LK_TMP/b$c")
	echo "tcplat -c $c: $t"
	tr '\r' '\n' <"$LK_TMP/bench.b$c" | grep -v '^GET: rps=' >"$LK_TMP/report.b$c"
	cat "$LK_TMP/report.b$c"
	assert_eq "$(calls get "$LK_TMP/info.b$c")" "$N" "-c $c: Redis: GET calls"
	assert_eq "$(calls 'config|get' "$LK_TMP/info.b$c")" 2 "-c $c: Redis: CONFIG GET calls"
	assert_ge "$(jq .requests <<<"$t")" "$N" "-c $c: tcplat requests: every GET"
	assert_eq "$(jq .requests <<<"$t")" $((N + 1)) "-c $c: tcplat requests = GETs + the CONFIG GET pair"
	assert_eq "$(jq .incomplete <<<"$t")" 0 "-c $c: incomplete requests"
	assert_eq "$(jq .bytes_out <<<"$t")" \
		$(($(stat total_net_input_bytes "$LK_TMP/info.b$c") - $(resp_len INFO stats commandstats))) \
		"-c $c: bytes out = what Redis read (less the INFO)"
	assert_eq "$(jq .bytes_in <<<"$t")" $(($(stat total_net_output_bytes "$LK_TMP/info.b$c") - 5)) \
		"-c $c: bytes in = what Redis wrote (less RESETSTAT's +OK)"

	# redis-benchmark's p50 and p99 in us (the line under "avg min p50
	# p95 p99 max"), and the bottom of their buckets.
	read -r rp50 rp99 <<<"$(awk '/latency summary/ { getline; getline
		printf "%d %d\n", $3 * 1000 + 0.5, $5 * 1000 + 0.5; exit }' "$LK_TMP/report.b$c")"
	[ -n "$rp50" ] && [ "$rp50" -gt 0 ] || fail "no p50 in redis-benchmark's latency summary"
	# The lowest point of its distribution that counts tcplat's p99 rank
	# (lh_percentile()'s: ceil(99 / 100.0 * count)).
	rank=$(awk -v n=$((N + 1)) 'BEGIN { r = 99 / 100 * n; print (r == int(r)) ? r : int(r) + 1 }')
	rhi=$(sed -n 's/^[0-9.]*% <= \([0-9.]*\) milliseconds (cumulative count \([0-9]*\))$/\1 \2/p' \
		"$LK_TMP/report.b$c" | awk -v r="$rank" '$2 >= r { v = int($1 * 1000 + 0.5)
			if (m == "" || v < m) m = v } END { print m }')
	[ -n "$rhi" ] || fail "no point of redis-benchmark's distribution counts $rank requests"
	[ "$rhi" -ge "$rp99" ] || rhi=$rp99
	tp50=$(jq .p50_us <<<"$t") tp99=$(jq .p99_us <<<"$t")
	echo "FIGURES|tcplat_redis|client -c $c|tcplat p50 $tp50 p99 $tp99|redis-benchmark p50 $(bucket_lo "$rp50")-$rp50 p99 $(bucket_lo "$rp99")-$rp99 (to rank $rank: -$rhi) us"
	if lk_tcplat_entry_clock "$LK_TMP/b$c.err"; then
		assert_in_range "$tp50" $(($(bucket_lo "$rp50") - 5)) "$rp50" $LK_P50_PCT 3 \
			"-c $c: p50_us vs redis-benchmark's (its bucket, 5 us lower)"
		assert_in_range "$tp99" "$(bucket_lo "$rp99")" "$rhi" $LK_P99_PCT 0 \
			"-c $c: p99_us vs redis-benchmark's p99 to rank $rank"
	else
		echo "latency agreement not checked: this kernel has no hook for a send's entry"
	fi
	assert_ge "$tp50" 1 "-c $c: p50 is a latency"
done
