#!/bin/bash
# tcplat on a tcpreq ping client across the netlab, against tcpreq's own
# figures: (1) -p CLIENT --role client, 4 connections: requests, bytes in
# and out exactly equal (tcplat is attached before the first request and
# reports after the process exits, so nothing is in flight at either
# edge).  Each of tcplat's round trips (the request's entry into TCP to
# recv()'s return) lies inside tcpreq's (its clock before the send to
# its clock after the recv), so p50, p99 and the mean are at most
# tcpreq's (one bucket of each histogram aside for the percentiles) and
# below them by tcpreq's own user time (the server sleeps 0.5 ms per
# request: about 1 us of that on this machine, many times that under
# qemu TCG); (2) 32 connections with -F: one row per connection, rows
# add up to the total, and the total equals tcpreq's count; (3) reports
# every 50 ms with -P add up to the same counts.  Run (1) also has
# --events: one event per request, each with a latency, the 4-tuple and
# the bytes, and tcpreq --log, one line per request: the nesting holds
# request by request.
. "$(dirname "$0")/../lib.sh"
lk_tcplat_lab
PORT=23324
ADDR=$LAB_S_IP:$PORT
N=${TCPLAT_N:-2000}

lk_bg ip netns exec "$LAB_S" "$T" server --nodelay --sleep-ms 0.5 "0.0.0.0:$PORT"
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "server not listening"

# run OUT CONNS TCPLAT_ARGS...: a client held at a FIFO (its PID is known
# before it connects), tcplat -p on it, then the client released.
run() {
	local out=$1 conns=$2 fifo=$LK_TMP/go.$RANDOM cp tp; shift 2
	mkfifo "$fifo"
	lk_bg ip netns exec "$LAB_C" bash -c \
		"read -r _ <'$fifo'; exec '$T' client -j --nodelay -n $conns --requests $N --log '$out.log' '$ADDR'" \
		>"$out.tcpreq"
	cp=$LK_LAST_PID
	timeout -s INT "$LK_HANG" "$OUTPUT/tcplat" -v -j -p "$cp" "$@" >"$out" 2>"$out.err" &
	tp=$!; LK_PIDS+=($tp)
	lk_wait_for 20 grep -q tracing "$out.err" || { cat "$out.err"; fail "tcplat did not start"; }
	echo go >"$fifo"
	wait "$cp" || fail "tcpreq client failed"
	wait "$tp" || { cat "$out.err"; fail "tcplat $* failed"; }
	cat "$out.err" >&2
}
sum() { jq -c 'select(.type == "summary")' "$1"; }

run "$LK_TMP/a" 4 --role client --events
t=$(sum "$LK_TMP/a"); c=$(sum "$LK_TMP/a.tcpreq")
echo "tcplat: $t"; echo "tcpreq: $c"
lk_same_counts "$t" "$c" "$N"
assert_ge "$(jq .bytes_out <<<"$t")" $((N * 88)) "bytes out: every request"
assert_eq "$(jq .incomplete <<<"$t")" 0 "incomplete requests"
# Under emulation (qemu TCG in make vmtest) tcpreq's own share is many
# times larger: there 30% is allowed (measured: tcplat's p50 from 0.9%
# above tcpreq's to 4.3% below it, on the host and in the guests).
tol=10
[ "${LK_TCG:-0}" = 1 ] && tol=30
assert_le "$(jq .p50_us <<<"$t")" "$(lk_nested_bound "$(jq .p50_us <<<"$c")")" "p50_us <= tcpreq's (nested)"
assert_le "$(jq .p99_us <<<"$t")" "$(lk_nested_bound "$(jq .p99_us <<<"$c")")" "p99_us <= tcpreq's (nested)"
assert_ge "$(jq .p50_us <<<"$t")" "$(jq "[.p50_us * (1 - $tol / 100), .p50_us - 20] | min" <<<"$c")" \
	"p50_us >= tcpreq's - $tol% (or 20 us)"
# The means are exact sums, so the nesting holds for them with no bucket
# aside, and from below they move by a CPU wait outside tcplat's window
# (tcpreq's thread waiting for a CPU between recv() and its clock) by
# that wait over N, not by a place in the ranking.
assert_le "$(jq .mean_us <<<"$t")" "$(jq .mean_us <<<"$c")" "mean_us <= tcpreq's (nested)"
assert_ge "$(jq .mean_us <<<"$t")" "$(jq ".mean_us * (1 - $tol / 100)" <<<"$c")" "mean_us >= tcpreq's - $tol%"
# p99: below tcpreq's by up to 25%, since tcpreq's tail also holds those
# waits, which a loaded machine makes long.  Not under emulation: there
# the top 1% (20 requests) are stalls of milliseconds, and where a few
# of them fall decides p99 (the 6.1 guest, fentry and fexit: tcplat's
# p99 2458 us against tcpreq's 3613, p90 1121 against 1141, means 1048
# and 1075, p99.9 12321 and 12419).
[ "${LK_TCG:-0}" = 1 ] ||
	assert_ge "$(jq .p99_us <<<"$t")" "$(jq ".p99_us * 0.75" <<<"$c")" "p99_us >= tcpreq's - 25%"
assert_ge "$(jq .p50_us <<<"$t")" 1 "p50 is a latency"
# Exact from below: the server sleeps 0.5 ms after the request has
# arrived, which is after its send entered TCP.
assert_ge "$(jq -s '[.[] | select(.type == "event") | .lat_us] | min' "$LK_TMP/a")" 500 \
	"every round trip holds the server's 0.5 ms sleep (us)"
# The nesting itself, from each request's figures: the k-th smallest of
# tcplat's round trips is at most tcpreq's k-th (--log: start and end
# ns), but for the 10 ns of lat_us's printed precision.
lk_requests "$LK_TMP/a" | awk '{ print $2 }' | sort -g >"$LK_TMP/a.tl"
awk '{ printf "%.3f\n", ($2 - $1) / 1000 }' "$LK_TMP/a.log" | sort -g >"$LK_TMP/a.ql"
assert_eq "$(wc -l <"$LK_TMP/a.ql")" "$N" "tcpreq --log lines"
assert_eq "$(paste "$LK_TMP/a.tl" "$LK_TMP/a.ql" | awk '$1 > $2 + 0.01 { n++ } END { print n + 0 }')" 0 \
	"round trips, k-th smallest of tcplat's above tcpreq's k-th"
assert_eq "$(jq -s '[.[] | select(.type == "event")] | length' "$LK_TMP/a")" "$N" "events"
assert_eq "$(jq -r 'select(.type == "event") | "\(.role) \(.rport) \(.req_bytes_out) \(.lat_us > 0)"' "$LK_TMP/a" | sort -u)" \
	"client $PORT 88 true" "events: role, port, bytes, latency"
grep -q "sock_recv_length: using" "$LK_TMP/a.err" || grep -q "tcp_recvmsg" "$LK_TMP/a.err" ||
	fail "-v does not say which method was chosen"

run "$LK_TMP/f" 32 -F
t=$(sum "$LK_TMP/f"); c=$(sum "$LK_TMP/f.tcpreq")
assert_eq "$(jq .requests <<<"$t")" "$(jq .requests <<<"$c")" "32 connections: total = tcpreq's"
assert_eq "$(jq -s '[.[] | select(.type == "flow")] | length' "$LK_TMP/f")" 32 "flow rows"
assert_eq "$(jq -s '[.[] | select(.type == "flow") | .requests] | add' "$LK_TMP/f")" \
	"$(jq .requests <<<"$t")" "flow rows add up to the total"
assert_eq "$(jq -s '[.[] | select(.type == "flow") | .bytes_in] | add' "$LK_TMP/f")" \
	"$(jq .bytes_in <<<"$c")" "flow bytes in add up to tcpreq's"
assert_eq "$(jq -r 'select(.type == "flow") | "\(.role) \(.comm) \(.rport) \(.raddr)"' "$LK_TMP/f" | sort -u)" \
	"client tcpreq $PORT $LAB_S_IP" "flow role, comm and remote end"

# (3) Interval reports (two generations in the kernel, one read and
# cleared while the other fills) with -P: they add up exactly.
run "$LK_TMP/i" 4 -P 0.05
assert_ge "$(jq -s '[.[] | select(.type == "interval")] | length' "$LK_TMP/i")" 2 "interval reports"
assert_eq "$(jq -s '[.[] | select(.type == "interval" or .type == "summary") | .requests] | add' "$LK_TMP/i")" \
	"$N" "requests summed over the intervals"
assert_eq "$(jq -s '[.[] | select(.type == "process") | .requests] | add' "$LK_TMP/i")" \
	"$N" "process rows summed over the intervals"
assert_eq "$(jq -s '[.[] | select(.type == "interval" or .type == "summary") | .bytes_out] | add' "$LK_TMP/i")" \
	"$(jq 'select(.type == "summary") | .bytes_out' "$LK_TMP/i.tcpreq")" "bytes out summed over the intervals"
