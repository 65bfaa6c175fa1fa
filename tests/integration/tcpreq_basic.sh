#!/bin/bash
# tcpreq ping/echo and push on loopback in a throw-away namespace: both
# ends agree on counts and bytes, and the kernel's own counters of the
# namespace (Tcp InSegs, IpExt InOctets) account for those bytes.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcpreq
T=$OUTPUT/tcpreq
lk_ns_up
PORT=23324
ADDR=127.0.0.1:$PORT

lk_bg ip netns exec "$NS" "$T" server -j --nodelay "$ADDR" >"$LK_TMP/srv"
SERVER=$LK_LAST_PID
lk_wait_for 5 lk_listening "$NS" "$PORT" || fail "server not listening"
[ -n "$(inns ss -Hltn "sport = :$PORT")" ] || fail "server not listening"
o0=$(lk_netstat "$NS" "IpExt InOctets")
s0=$(lk_netstat "$NS" "Tcp InSegs")
r0=$(lk_netstat "$NS" "Tcp RetransSegs")

# Exactly 2000 round trips over 4 connections.
inns "$T" client -j -n 4 --nodelay --requests 2000 "$ADDR" >"$LK_TMP/ping" ||
	fail "ping client failed"
ping=$(jq -c 'select(.type == "summary")' "$LK_TMP/ping")
assert_eq "$(jq .requests <<<"$ping")" 2000 "ping requests"
assert_eq "$(jq .errors <<<"$ping")" 0 "ping errors"
assert_eq "$(jq .bytes_out <<<"$ping")" $((2000 * (24 + 64))) "ping bytes out"
assert_eq "$(jq .bytes_in <<<"$ping")" $((2000 * (24 + 64))) "ping bytes in"
assert_eq "$(jq .samples <<<"$ping")" 2000 "ping latency samples"
jq -e '.p50_us > 0 and .p50_us <= .p90_us and .p90_us <= .p99_us and
	.p99_us <= .p999_us and .p999_us <= .max_us and .rps > 0' <<<"$ping" >/dev/null ||
	fail "ping percentiles out of order: $ping"
ok "ping percentiles ordered: $(jq -c '[.p50_us, .p99_us, .max_us]' <<<"$ping")"

# 500 pushes of 1000 bytes, open loop at 5000/s.
inns "$T" client -j --mode push --size 1000 --rate 5000 --requests 500 "$ADDR" \
	>"$LK_TMP/push" || fail "push client failed"
push=$(jq -c 'select(.type == "summary")' "$LK_TMP/push")
assert_eq "$(jq .requests <<<"$push")" 500 "pushes sent"
assert_eq "$(jq .bytes_out <<<"$push")" $((500 * 1024)) "push bytes out"
# The 500th push is due 499 x 200 us after the first, so the run is never
# shorter (pacing that ran ahead would be).  A stall of the host makes it
# longer (the pushes due meanwhile go at once after it), so above, only
# a bound against pacing far too slow: a 50 ms stall at the end would
# have failed a bound of 0.15 s.
assert_ge "$(jq .duration_s <<<"$push")" 0.0998 "500 pushes at 5000/s: the last due 0.0998 s after the first (s)"
assert_le "$(jq .duration_s <<<"$push")" 1 "500 pushes at 5000/s (s)"

# The positional form of the original demo: 2 connections, echo side sleeps 1 ms.
inns "$T" client -j --requests 100 2 ping 16 "$ADDR" >"$LK_TMP/pos" ||
	fail "positional client failed"
pos=$(jq -c 'select(.type == "summary")' "$LK_TMP/pos")
assert_eq "$(jq .requests <<<"$pos")" 100 "positional requests"
assert_eq "$(jq .bytes_out <<<"$pos")" $((100 * (24 + 16))) "positional bytes out"

# Interval records carry the promised fields and add up to the summary.
inns "$T" client -j -i 0.5 --duration 1.8 "$ADDR" >"$LK_TMP/ival" || fail "interval client failed"
nival=$(jq -s 'map(select(.type == "interval")) | length' "$LK_TMP/ival")
assert_ge "$nival" 3 "interval records"
jq -s -e 'map(select(.type == "interval")) | all(has("requests") and has("rps") and
	has("mean_us") and has("kib_in") and has("kib_out") and .requests > 0)' "$LK_TMP/ival" >/dev/null ||
	fail "interval record lacks a field: $(head -n 1 "$LK_TMP/ival")"
isum=$(jq -s 'map(select(.type == "interval") | .requests) | add' "$LK_TMP/ival")
ival=$(jq -c 'select(.type == "summary")' "$LK_TMP/ival")
assert_eq "$isum" "$(jq .requests <<<"$ival")" "interval requests add up to the summary's"

o1=$(lk_netstat "$NS" "IpExt InOctets")
s1=$(lk_netstat "$NS" "Tcp InSegs")
r1=$(lk_netstat "$NS" "Tcp RetransSegs")
kill -INT "$SERVER"
wait "$SERVER" || fail "server exited with $?"
srv=$(jq -c 'select(.type == "summary")' "$LK_TMP/srv")
[ -n "$srv" ] || fail "no summary from the server after SIGINT"
assert_eq "$(jq .requests <<<"$srv")" $((2000 + 500 + 100 + $(jq .requests <<<"$ival"))) \
	"server: requests answered + pushes received"
assert_eq "$(jq .errors <<<"$srv")" 0 "server errors"
cin=$(jq -s 'map(.bytes_in) | add' <<<"$ping $push $pos $ival")
cout=$(jq -s 'map(.bytes_out) | add' <<<"$ping $push $pos $ival")
assert_eq "$(jq .bytes_in <<<"$srv")" "$cout" "server bytes in = clients' bytes out"
assert_eq "$(jq .bytes_out <<<"$srv")" "$cin" "server bytes out = clients' bytes in"

# Oracle: every byte crosses lo once; IpExt InOctets is the payload plus
# 52 bytes of IP+TCP+timestamp headers per segment (SYNs carry 8 more).
# A retransmitted segment (a tail loss probe when a qemu TCG guest
# stalls) carries its payload again, up to the MSS, 65,483 on lo (once
# in a loaded guest: 20,620 bytes, 1.4%, over payload and headers).
payload=$((cin + cout))
segs=$((s1 - s0))
octets=$((o1 - o0))
rtx=$((r1 - r0))
assert_ge "$segs" 1000 "segments on lo"
if [ "$rtx" = 0 ]; then
	assert_near "$octets" $((payload + 52 * segs)) 1 200 "IpExt InOctets vs tcpreq bytes + headers"
else
	assert_in_range "$octets" $((payload + 52 * segs)) $((payload + 52 * segs + 65483 * rtx)) 1 200 \
		"IpExt InOctets vs tcpreq bytes + headers, $rtx segments retransmitted"
fi

# The single-connection fast path: the thread blocks in recv() with the
# connection out of its epoll set and no SO_RCVTIMEO, so only a kick
# (SIGURG from the main thread) ends the wait.  Each of these would hang
# or run long if a kick were lost.
since() { awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.2f\n", t1 - t0 }'; }
P2=$((PORT + 1))
lk_bg ip netns exec "$NS" "$T" server -j --nodelay --sleep-ms 10000 "127.0.0.1:$P2" >"$LK_TMP/slow"
SLOW=$LK_LAST_PID
P3=$((PORT + 2))
lk_bg ip netns exec "$NS" "$T" server -j --nodelay "127.0.0.1:$P3" >"$LK_TMP/fast"
FAST=$LK_LAST_PID
lk_wait_for 5 lk_listening "$NS" "$P2" || fail "slow server not listening"
lk_wait_for 5 lk_listening "$NS" "$P3" || fail "server not listening"

# --duration ends a client blocked on a reply 10 s away: stop at 0.5 s,
# drain up to 1 s, done.
t0=$(date +%s.%N)
inns "$T" client -j --duration 0.5 "127.0.0.1:$P2" >"$LK_TMP/blocked" || fail "blocked client failed"
assert_le "$(since "$t0")" 6 "seconds for a --duration 0.5 client blocked on a reply"
kill -INT "$SLOW"
wait "$SLOW"

# A server blocked on an idle connection (an open-loop client at 2/s)
# still accepts a second client, and ends on SIGINT.
lk_bg ip netns exec "$NS" "$T" client -j --rate 2 --duration 8 "127.0.0.1:$P3" >"$LK_TMP/idle"
IDLE=$LK_LAST_PID
lk_wait_for 5 sh -c "ip netns exec '$NS' ss -Htn state established 'sport = :$P3' | grep -q ." ||
	fail "idle client not connected"
t0=$(date +%s.%N)
inns "$T" client -j --nodelay --requests 200 "127.0.0.1:$P3" >"$LK_TMP/second" ||
	fail "second client failed"
assert_eq "$(jq -c 'select(.type == "summary") | [.requests, .errors]' "$LK_TMP/second")" \
	"[200,0]" "second client's requests and errors"
assert_le "$(since "$t0")" 6 "seconds for 200 requests beside a blocked connection"
sleep 0.6	# the second client gone, the server blocks on the idle one again
t0=$(date +%s.%N)
kill -INT "$FAST"
wait "$FAST" || fail "server exited with $?"
assert_le "$(since "$t0")" 3 "seconds for a server blocked in recv() to end on SIGINT"
jq -e 'select(.type == "summary") | .requests >= 200' "$LK_TMP/fast" >/dev/null ||
	fail "no summary from the server blocked in recv(): $(cat "$LK_TMP/fast")"
wait "$IDLE"

# A server blocked in recv() ends at its own --duration.
lk_bg ip netns exec "$NS" "$T" server -j --duration 1.5 "127.0.0.1:$P3" >"$LK_TMP/dur"
DUR=$LK_LAST_PID
lk_wait_for 5 lk_listening "$NS" "$P3" || fail "server not listening"
lk_bg ip netns exec "$NS" "$T" client -j --rate 2 --duration 8 "127.0.0.1:$P3" >/dev/null 2>&1
IDLE=$LK_LAST_PID
t0=$(date +%s.%N)
wait "$DUR" || fail "server with --duration exited with $?"
assert_le "$(since "$t0")" 5 "seconds for a blocked server with --duration 1.5"
jq -e 'select(.type == "summary") | .requests >= 1' "$LK_TMP/dur" >/dev/null ||
	fail "server with --duration: $(cat "$LK_TMP/dur")"
wait "$IDLE"

# One send() and one recv() per round trip, nothing else per message
# (strace counts the calls; it slows them, not their number).
if command -v strace >/dev/null; then
	lk_bg ip netns exec "$NS" "$T" server --nodelay "127.0.0.1:$P3" >/dev/null
	FAST=$LK_LAST_PID
	lk_wait_for 5 lk_listening "$NS" "$P3" || fail "server not listening"
	inns strace -f -c -o "$LK_TMP/strace" "$T" client --nodelay --requests 2000 \
		"127.0.0.1:$P3" >/dev/null || fail "client under strace failed"
	calls() { awk -v s="$1" '$NF == s { n = $4 } END { print n + 0 }' "$LK_TMP/strace"; }
	assert_eq "$(calls sendto)" 2000 "client send() calls for 2000 requests"
	assert_ge "$(calls recvfrom)" 2000 "client recv() calls for 2000 replies"
	assert_le "$(calls recvfrom)" 2010 "client recv() calls for 2000 replies"
	assert_le "$(( $(calls epoll_pwait2) + $(calls epoll_wait) ))" 20 "client epoll waits"
	assert_eq "$(calls sendmsg)" 0 "client sendmsg() calls"
	kill -INT "$FAST"
	wait "$FAST" || fail "server exited with $?"
else
	echo "strace not installed: the fast path's system calls not counted"
fi
