#!/bin/bash
# tcplat against sockperf's own figures, across the netlab: sockperf
# server --tcp in the server namespace (CPU 0), sockperf ping-pong --tcp
# --full-rtt -t 3 --mps 5000 in the client namespace (CPU 1, held at a
# FIFO until tcplat runs), two tcplat -p CLIENT --role client --events.  A
# paced 5000 messages a second rather than --mps max: at max, tcplat's
# own printing of some 17,000 events a second took CPU from the two
# programs under test, and under other load sockperf's median lead over
# tcplat grew from 1.3 to 3.0 us (1.8 to 2.3 paced, under the same load).
#
# Counts (measured, exact every run): sockperf's [Total Run] line counts
# every message of the run, its warm-up period included.  When the run's
# time is up, sockperf stops counting, its last message answered or not
# (paced, both happen: SentMessages = ReceivedMessages, or one more).  An
# unanswered one's reply may still be read before sockperf exits (then
# tcplat counts a request more than ReceivedMessages) or not (an
# incomplete request): requests + incomplete = SentMessages exactly, and
# requests is ReceivedMessages or one more.  The bytes are the 14-byte
# messages: bytes out = 14 x SentMessages, bytes in = 14 x tcplat's
# requests.  sockperf's "Warmup stage (sending a few dummy messages)"
# adds nothing on the connection beyond those counts (the bytes say so).
#
# Latency, request by request: sockperf --full-log (with --no-rdtsc, on
# CLOCK_MONOTONIC, the clock of tcplat's events) lists the messages of
# its [Valid Duration] (the run less its first 400 ms and its end), each
# with the time it read its clock before send() and after the reply was
# read.  Two tcplats trace the client at once, with --events: the
# default, whose requests start when their first send enters TCP, and
# --syscall-entry, whose start at the send syscall's entry; both end at
# the recv's return.  The requests that started inside the log's span
# are exactly its messages (in ping-pong the next message leaves after
# the previous reply is read), so the counts must be equal, and each
# request's intervals must nest: the default's inside --syscall-entry's
# start (exact), both inside the message's (1 us of slack for the log's
# printed precision).  Then, where tcplat's -v says client requests
# start at their first send's entry (not on a kernel without a hook for
# it), each request against its message, by medians of the per-request
# differences (steadier than differences of medians over round trips
# of 30 to 500 us):
#  - from the syscall's entry to TCP's, what the default leaves out
#    inside the send: at most 3 us.  Measured 0.5 to 0.6 us here, 1.5
#    in a noisy minute; a clock that started at the send's return
#    would also leave out the transmit path and, on veth, the server's
#    receive, which run inside the send (8.5 us against sockperf's 12.9
#    on loopback: 4.4 us);
#  - sockperf's own time outside the syscalls (its clock reads, user
#    code, syscall entry and exit: the message's span less the
#    --syscall-entry clock's), which no kernel clock holds: at most
#    8 us.  Measured 1.9 to 2.0 us here, alone and beside two CPU hogs,
#    3.8 in a noisy minute; in one CI run on the shared host sockperf's
#    whole lead over the default was 5.5 us at the median a message
#    (p50s 117.4 against 111.2 us).
#    An end at the reply's arrival rather than the recv's return would
#    add the client's wakeup to it;
#  - the default's p99 within 10% of sockperf's printed p99.
# The two p50s are printed, not compared: over the same messages their
# difference swings with the spread of sockperf's own time, not with
# its median (with a qemu guest beside: 7.8 us apart, where the medians
# a message were 3.6 us of sockperf's own and 1.0 inside the syscall).
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd sockperf
lk_need_bin tcplat
lk_lab_up
# A run long enough for 1000 round trips, for the latency check below:
# its p99 over the [Valid Duration] messages (some 60% of the run's) is
# then at least the 6th largest of 600, not the largest of a few dozen,
# one stall.  3 s give well over 1000 (5779 on a loaded host); qemu TCG
# (make vmtest) made 311/s with tcplat attached, so 6 s there; but a
# guest beside another on 2 cores received 821 in 6 s (137/s).  So
# the run's length follows the rate: a run that received fewer than 1000
# is run again for as long as its own rate needs for 1500 (at least
# twice as long, 60 s at most, three runs in all), and the last run is
# the one checked.
SECS=3
[ "${LK_TCG:-}" = 1 ] && SECS=6
SECS=${TCPLAT_SOCKPERF_SECS:-$SECS}
lk_pin_pair
PORT=$(lk_free_port "$LAB_S") || fail "no free port"

lk_bg ip netns exec "$LAB_S" "${SRV_CPU[@]}" sockperf server --tcp -i "$LAB_S_IP" -p "$PORT" \
	>"$LK_TMP/srv" 2>&1
lk_wait_for 10 ip netns exec "$LAB_S" bash -c "ss -Hltn 'sport = :$PORT' | grep -q ." ||
	{ cat "$LK_TMP/srv"; fail "sockperf server not listening"; }

# field TAG KEY: KEY=value of sockperf's line with TAG, in the run's output.
field() { awk -v k="$2=" -v tag="$1" 'index($0, tag) { for (i = 1; i <= NF; i++) if (index($i, k) == 1) { v = substr($i, length(k) + 1); sub(/;$/, "", v); print v; exit } }' "$R/cli.txt"; }
for run in 1 2 3; do
	R=$LK_TMP/run$run
	mkdir "$R" || fail "mkdir $R"
	echo "run $run: sockperf ping-pong for $SECS s"
	lk_held "$R/go" ip netns exec "$LAB_C" "${CLI_CPU[@]}" sockperf ping-pong --tcp \
		-i "$LAB_S_IP" -p "$PORT" --full-rtt -t "$SECS" --mps 5000 --no-rdtsc \
		--full-log "$R/full.csv" >"$R/cli" 2>&1
	sp=$LK_LAST_PID
	lk_tcplat_bg "$R/t" -p "$sp" --role client --events
	tp=$LK_TCPLAT_PID
	lk_tcplat_bg "$R/s" -p "$sp" --role client --events --syscall-entry
	tq=$LK_TCPLAT_PID
	lk_release "$R/go"
	wait "$sp" || { cat "$R/cli"; fail "sockperf ping-pong failed"; }
	wait "$tp" || { cat "$R/t.err"; fail "tcplat failed"; }
	wait "$tq" || { cat "$R/s.err"; fail "tcplat --syscall-entry failed"; }
	# Without the colour escapes sockperf puts around some figures.
	sed 's/\x1b\[[0-9;]*m//g' "$R/cli" >"$R/cli.txt"
	grep -E "Total Run|Valid Duration|percentile (99.000|50.000)|dropped" "$R/cli.txt"
	recv=$(field "[Total Run]" ReceivedMessages) rt=$(field "[Total Run]" RunTime)
	[ -n "$recv" ] && [ -n "$rt" ] || fail "no [Total Run] counts in sockperf's output"
	[ "$recv" -ge 1000 ] || [ "$run" = 3 ] || [ "$SECS" -ge 60 ] && break
	SECS=$(awk -v n="$recv" -v t="$rt" -v s="$SECS" 'BEGIN {
		x = n > 0 ? int(1500 * t / n) + 1 : 60; if (x < 2 * s) x = 2 * s; print (x > 60 ? 60 : x) }')
	echo "run $run: $recv round trips in $rt s, fewer than 1000: again, for $SECS s"
done
t=$(lk_summary "$R/t") u=$(lk_summary "$R/s")
echo "tcplat: $t"
echo "tcplat --syscall-entry: $u"

sent=$(field "[Total Run]" SentMessages) recv=$(field "[Total Run]" ReceivedMessages)
[ -n "$sent" ] && [ -n "$recv" ] || fail "no [Total Run] counts in sockperf's output"
assert_ge "$recv" 1000 "sockperf's received messages"
assert_ge "$(jq .requests <<<"$t")" 1000 "tcplat requests"
assert_le "$((sent - recv))" 1 "sockperf: at most the last message unanswered"
assert_ge "$((sent - recv))" 0 "sockperf: no more answers than messages"
assert_eq "$(jq '.requests + .incomplete' <<<"$t")" "$sent" "tcplat requests + incomplete = SentMessages (total run)"
assert_ge "$(jq .requests <<<"$t")" "$recv" "tcplat requests >= ReceivedMessages"
assert_le "$(jq .requests <<<"$t")" "$sent" "tcplat requests <= SentMessages"
assert_eq "$(jq .bytes_out <<<"$t")" $((14 * sent)) "bytes out = 14 x SentMessages"
assert_eq "$(jq .bytes_in <<<"$t")" "$(jq '14 * .requests' <<<"$t")" "bytes in = 14 x requests"

pct() { awk -v p="$1" '$0 ~ "percentile " p " =" { print $NF; exit }' "$R/cli.txt"; }
s50=$(pct 50.000) s99=$(pct 99.000)
[ -n "$s50" ] && [ -n "$s99" ] || fail "no percentiles in sockperf's output"
assert_eq "$(jq .drops_events <<<"$t")" 0 "events dropped"
assert_eq "$(jq '.requests + .incomplete' <<<"$u")" "$sent" "tcplat --syscall-entry requests + incomplete = SentMessages"
assert_eq "$(jq .drops_events <<<"$u")" 0 "--syscall-entry events dropped"
# The log's messages: "seq, tx_s, rx_s, rtt_us" -> "tx_ns rx_ns".
awk -F', *' '$1 ~ /^[0-9]+$/ { printf "%.0f %.0f\n", $2 * 1e9, $3 * 1e9 }' "$R/full.csv" >"$R/msgs"
nmsg=$(wc -l <"$R/msgs")
assert_eq "$nmsg" "$(field "[Valid Duration]" SentMessages)" "full log = [Valid Duration] messages"
read -r lo hi < <(awk 'NR == 1 { lo = $1 } { hi = $2 } END { print lo, hi }' "$R/msgs")
lk_requests "$R/t" "$lo" "$hi" >"$R/reqs"
assert_eq "$(wc -l <"$R/reqs")" "$nmsg" "tcplat requests started in the log's span = its messages"
lk_requests "$R/s" "$lo" "$hi" >"$R/sreqs"
assert_eq "$(wc -l <"$R/sreqs")" "$nmsg" "tcplat --syscall-entry requests started in the log's span = its messages"
# Request i against message i: its two clocks nested in the message's,
# the default's start after the syscall's entry (the same clock, the
# same syscall: exact); per request (lk_nested) what the default leaves
# out inside the syscall, and the client's own time outside both clocks.
lk_nested 1000 "$R/msgs" "$R/reqs" "$R/sreqs" >"$R/parts" ||
	fail "a request not inside its message's send and reply"
ok "every request inside its syscall's clock, both inside their message's send and reply"
in50=$(awk '{ print $3 }' "$R/parts" | lk_pct 50) own50=$(awk '{ print $2 }' "$R/parts" | lk_pct 50)
tp50=$(awk '{ print $2 }' "$R/reqs" | lk_pct 50) tp99=$(awk '{ print $2 }' "$R/reqs" | lk_pct 99)
sp50=$(awk '{ print $2 }' "$R/sreqs" | lk_pct 50) m50=$(awk '{ print ($2 - $1) / 1000 }' "$R/msgs" | lk_pct 50)
echo "FIGURES|tcplat_sockperf|client|tcplat p50 $tp50 p99 $tp99|--syscall-entry p50 $sp50|sockperf p50 $s50 (its log's $m50) p99 $s99 us|median syscall entry to TCP $in50, sockperf's own $own50 us"
if lk_tcplat_entry_clock "$R/t.err"; then
	lk_latency_tol
	in_max=3 own_max=8
	# Under qemu TCG (make vmtest) everything in the kernel and out of it
	# is slower: a 6.1 guest measured 5.0 us inside the syscall and 13.8
	# of sockperf's own at a p50 of 306 us, so there both are held to
	# LK_P50_PCT (30%) of sockperf's p50.
	if [ "${LK_TCG:-0}" = 1 ]; then
		in_max=$(awk -v a="$s50" -v p="$LK_P50_PCT" 'BEGIN { print a * p / 100 }') own_max=$in_max
	fi
	assert_le "$in50" "$in_max" "median a request from the send syscall's entry to TCP's (us)"
	assert_le "$own50" "$own_max" "median a message of sockperf's own time outside the syscalls (us)"
	assert_near "$tp99" "$s99" $LK_P99_PCT 0 "p99_us vs sockperf's"
else
	echo "latency agreement not checked: this kernel has no hook for a send's entry"
fi
assert_ge "$tp50" 1 "p50 is a latency"
