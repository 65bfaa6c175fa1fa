#!/bin/bash
# tcplat against nginx's access log and wrk's own figures, on loopback:
# an nginx of the test's own (its prefix, config, logs and pid file in the
# test's temp dir, one worker, a free port, a 1 KiB static file) and
# wrk -t1 -c8 -d3s --latency (bounded by time), held at a FIFO until both
# tcplats run.
#
# (a) Server side, tcplat -p WORKER --role server: one request per
# access log line whose response left ($bytes_sent > 0); a line with
# nothing sent is a response whose write failed because wrk had already
# closed the connection (seen under load: 8 such lines, status 200,
# bytes_sent 0), which tcplat counts as incomplete; bytes in = the sum
# of $request_length, bytes out = the sum of $bytes_sent (both logged).
# (b) Client side, tcplat -p WRK --role client: requests = wrk's "N
# requests in".  When -d ends wrk stops its event loop with up to one
# request in flight per connection and exits without reading the
# replies (measured: 8 or 0 of them in flight); nginx answers and logs
# them, tcplat counts them as incomplete when wrk's exit closes the
# sockets.  So, exactly: client requests + incomplete = access log
# lines = server requests + incomplete, and client bytes out = server
# bytes in.
# Latency, request by request: tcplat_nginx.lua records each of wrk's
# requests as "start_ns end_ns" on CLOCK_MONOTONIC (the clock of
# tcplat's events) at wrk's own clock points, and the client tcplat runs
# with --events.  wrk runs one thread (-t1), which makes its requests
# one after another: Lua's start, then the write in which tcplat's
# request starts, then the next request's Lua start.  So sorted by
# start, request i of tcplat is request i of wrk, and each must lie
# inside wrk's (exact, but for the 10 ns of lat_us's printed
# precision).  Then the median a request of wrk's own time outside
# tcplat's clock (its user code, the send syscall's path to TCP, the
# read's return to Lua): at most 8 us, where tcplat's -v says client
# requests start at their first send's entry (not on a kernel without
# a hook for it).  Measured 3.7 to 3.9 us, alone and beside two CPU
# hogs; a clock that started at the send's return would add the
# transmit path and, on loopback, nginx's receive (4.4 us beside
# sockperf).  tcplat's p99 within 10% of wrk's per-request p99.  The
# two p50s are printed, not compared: their difference swings with the
# spread of wrk's own time, not with its median (3.9 to 5.3 us apart in
# the runs above; 6.1 to 8.5 before Lua's start moved after
# wrk.format(), and a CI run failed at 6.3 apart against 5% of 125 us).  Not wrk's printed "Latency
# Distribution": wrk adds samples to it for coordinated omission,
# measured 99% 161 ms where its requests' own 99% was a few ms.  Both
# are printed (grep FIGURES in the log).  --events at this rate (some
# 35,000 a second) takes CPU from wrk and nginx; the 4 MiB ring holds
# about a second of them, and a drop fails the test.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd nginx
lk_need_cmd wrk
lk_need_bin tcplat
DUR=${TCPLAT_NGINX_SECS:-3}

# nginx on CPU 0, wrk on CPU 1 (where there are two).
lk_pin_pair

lk_nginx_up "${SRV_CPU[@]}"

lk_nginx_wrk "" "--events" env LK_WRK_LAT="$LK_TMP/wrk.lat" "${CLI_CPU[@]}" \
	wrk -t1 -c8 -d"${DUR}s" --latency -s "$LK_TOP/tests/integration/tcplat_nginx.lua" \
	"http://127.0.0.1:$PORT/file"
s=$(lk_summary "$LK_TMP/s") c=$(lk_summary "$LK_TMP/c")
echo "tcplat server: $s"
echo "tcplat client: $c"

nreq=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$LK_TMP/wrk")
[ -n "$nreq" ] || fail "no request count in wrk's output"
lines=$(wc -l <"$NX/logs/access.log")
assert_eq "$(awk '$3 != 200' "$NX/logs/access.log" | wc -l)" 0 "access log: every status 200"
assert_ge "$nreq" 100 "wrk's requests"
assert_eq "$(jq .requests <<<"$c")" "$nreq" "client: tcplat requests = wrk's"
assert_le "$(jq .incomplete <<<"$c")" 8 "client: incomplete (in flight when wrk stopped) <= connections"
assert_eq "$(jq '.requests + .incomplete' <<<"$c")" "$lines" "client: requests + incomplete = access log lines"
unsent=$(awk '$2 == 0' "$NX/logs/access.log" | wc -l)
assert_eq "$(jq .requests <<<"$s")" $((lines - unsent)) "server: tcplat requests = access log lines with bytes sent"
assert_eq "$(jq .incomplete <<<"$s")" "$unsent" "server: incomplete = access log lines with nothing sent"
assert_eq "$(jq .bytes_in <<<"$s")" "$(awk '{ n += $1 } END { print n + 0 }' "$NX/logs/access.log")" \
	"server: bytes in = sum of \$request_length"
assert_eq "$(jq .bytes_out <<<"$s")" "$(awk '{ n += $2 } END { print n + 0 }' "$NX/logs/access.log")" \
	"server: bytes out = sum of \$bytes_sent"
assert_eq "$(jq .bytes_out <<<"$c")" "$(jq .bytes_in <<<"$s")" "client bytes out = server bytes in"

# wrk's printed (corrected) 50% and 99%, for the record.
wpct() { awk -v p="$1%" '$1 == p { print $2; exit }' "$LK_TMP/wrk"; }
# wrk's own samples: one per request it counted, "start_ns end_ns" on
# CLOCK_MONOTONIC, the clock of tcplat's events.
assert_eq "$(wc -l <"$LK_TMP/wrk.lat")" "$nreq" "wrk's latency samples = its requests"
assert_eq "$(jq .drops_events <<<"$c")" 0 "client: events dropped"
sort -n "$LK_TMP/wrk.lat" >"$LK_TMP/msgs"
lk_requests "$LK_TMP/c" >"$LK_TMP/reqs"
assert_eq "$(wc -l <"$LK_TMP/reqs")" "$nreq" "client: tcplat's request events = wrk's requests"
lk_nested 10 "$LK_TMP/msgs" "$LK_TMP/reqs" >"$LK_TMP/parts" || fail "a request not inside wrk's"
ok "every tcplat request inside wrk's own clock of it"
w50=$(awk '{ print $1 }' "$LK_TMP/parts" | lk_pct 50) w99=$(awk '{ print $1 }' "$LK_TMP/parts" | lk_pct 99)
own50=$(awk '{ print $2 }' "$LK_TMP/parts" | lk_pct 50) own90=$(awk '{ print $2 }' "$LK_TMP/parts" | lk_pct 90)
tp50=$(jq .p50_us <<<"$c") tp99=$(jq .p99_us <<<"$c")
echo "FIGURES|tcplat_nginx|client -c 8|tcplat p50 $tp50 p99 $tp99|wrk per request p50 $w50 p99 $w99 us|wrk printed (corrected) 50% $(wpct 50) 99% $(wpct 99)|wrk's own a request: median $own50 p90 $own90 us"
echo "FIGURES|tcplat_nginx|server|tcplat p50 $(jq .p50_us <<<"$s") p99 $(jq .p99_us <<<"$s") us"
if lk_tcplat_entry_clock "$LK_TMP/c.err"; then
	lk_latency_tol
	own_max=8
	# Under qemu TCG (make vmtest) wrk's own time is slower too: held
	# to LK_P50_PCT (30%) of wrk's p50 there, as in tcplat_sockperf.
	if [ "${LK_TCG:-0}" = 1 ]; then
		own_max=$(awk -v a="$w50" -v p="$LK_P50_PCT" 'BEGIN { print a * p / 100 }')
	fi
	assert_le "$own50" "$own_max" "median a request of wrk's own time outside tcplat's clock (us)"
	assert_near "$tp99" "$w99" $LK_P99_PCT 0 "p99_us vs wrk's"
else
	echo "latency agreement not checked: this kernel has no hook for a send's entry"
fi
assert_ge "$tp50" 1 "client p50 is a latency"
assert_ge "$(jq .p50_us <<<"$s")" 1 "server p50 is a latency"
