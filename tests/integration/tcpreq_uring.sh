#!/bin/bash
# tcpreq client --io-uring against what it does not compute, in a
# throw-away namespace: (1) strace counts its system calls: one
# io_uring_enter a request, no recvfrom, and sendto for the first request
# only; the server (blocking calls, not the ring) answered every request
# and the namespace's Tcp OutSegs grew; (2) tcplat -p, from its hooks in
# TCP, sees the same requests and bytes, its round trips inside tcpreq's;
# (3) SIGINT ends a run with a summary, and the socket closes (the ring
# does not hold it open); (4) requests larger than the socket's send
# buffer: the ring sends part, send() the rest, counts still exact;
# (5) where io_uring is denied (a seccomp filter, as containers have)
# one line and exit 1; (6) options the ring cannot serve are refused.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd strace
lk_need_bin tcpreq
lk_need_bin tcplat
lk_need_prog noring
T=$OUTPUT/tcpreq
lk_ns_up
PORT=23324
ADDR=127.0.0.1:$PORT
N=2000

# A kernel without what the ring needs (before 6.1) says so at start.
if ! why=$(inns "$T" client --io-uring --requests 1 "$ADDR" 2>&1 >/dev/null) &&
	[[ $why == *--io-uring:* ]]; then
	skip "$why"
fi

lk_bg ip netns exec "$NS" "$T" server -j --nodelay --sleep-ms 0.2 "$ADDR" >"$LK_TMP/srv"
SERVER=$LK_LAST_PID
lk_wait_for 5 lk_listening "$NS" "$PORT" || fail "server not listening"

# (1) System calls, as strace counts them (calls: the fourth column).
o0=$(lk_netstat "$NS" "Tcp OutSegs")
inns strace -f -c -o "$LK_TMP/strace" "$T" client -j --io-uring --nodelay --requests "$N" \
	"$ADDR" >"$LK_TMP/a" || fail "client --io-uring failed"
o1=$(lk_netstat "$NS" "Tcp OutSegs")
cat "$LK_TMP/strace"
calls() { awk -v s="$1" '$NF == s { n = $4 } END { print n + 0 }' "$LK_TMP/strace"; }
# exact FILE N SIZE: the client's summary says N requests of SIZE bytes
# each way (24 of header), no error.
exact() {
	local s
	s=$(lk_summary "$1")
	assert_eq "$(jq .requests <<<"$s")" "$2" "requests of $3 bytes"
	assert_eq "$(jq .errors <<<"$s")" 0 "errors"
	assert_eq "$(jq .bytes_out <<<"$s")" $(($2 * (24 + $3))) "bytes out"
	assert_eq "$(jq .bytes_in <<<"$s")" $(($2 * (24 + $3))) "bytes in"
}
exact "$LK_TMP/a" "$N" 64
# The first request goes by send() (before the connection waits in the
# ring), each other with the wait for the one before's reply, and the
# last wait ends the run: N calls of io_uring_enter and a few to set up
# and to cancel at the end.
assert_ge "$(calls io_uring_enter)" "$N" "io_uring_enter calls"
assert_le "$(calls io_uring_enter)" $((N + 4)) "io_uring_enter calls"
assert_le "$(calls sendto)" 1 "sendto calls"
assert_eq "$(calls recvfrom)" 0 "recvfrom calls"
# Both ends' segments: each request and each reply one at least.
assert_ge "$((o1 - o0))" $((2 * N)) "Tcp OutSegs in the namespace"

# (2) tcplat on the client: requests and bytes exact, round trips nested.
lk_held "$LK_TMP/go" ip netns exec "$NS" "$T" client -j --io-uring --nodelay \
	--requests "$N" "$ADDR" >"$LK_TMP/b"
cp=$LK_LAST_PID
lk_tcplat_bg "$LK_TMP/t" -p "$cp" --role client
lk_release "$LK_TMP/go"
wait "$cp" || fail "client --io-uring failed under tcplat"
kill -INT "$LK_TCPLAT_PID"
wait "$LK_TCPLAT_PID" || { cat "$LK_TMP/t.err"; fail "tcplat failed"; }
t=$(lk_summary "$LK_TMP/t"); b=$(lk_summary "$LK_TMP/b")
echo "tcplat: $t"; echo "tcpreq: $b"
lk_same_counts "$t" "$b" "$N"
assert_eq "$(jq .incomplete <<<"$t")" 0 "incomplete requests"
# tcplat's round trip (the request's entry into TCP to the reply's
# receipt) lies inside tcpreq's; one histogram bucket aside, as in
# tcplat_client.
assert_le "$(jq .p50_us <<<"$t")" "$(lk_nested_bound "$(jq .p50_us <<<"$b")")" "p50_us <= tcpreq's (nested)"
assert_le "$(jq .mean_us <<<"$t")" "$(jq .mean_us <<<"$b")" "mean_us <= tcpreq's (nested)"

# (3) SIGINT mid-run: a summary, exit 0, and the connection gone.
lk_bg ip netns exec "$NS" "$T" client -j --io-uring --nodelay --duration 60 "$ADDR" >"$LK_TMP/c"
cp=$LK_LAST_PID
estab() { inns ss -Htn state established "( sport = :$PORT )" | grep -q .; }
lk_wait_for 10 estab || fail "no connection from the client"
sleep 0.5
kill -INT "$cp"
wait "$cp" || fail "client --io-uring exited with $? after SIGINT"
c=$(lk_summary "$LK_TMP/c")
[ -n "$c" ] || fail "no summary after SIGINT"
assert_ge "$(jq .requests <<<"$c")" 1 "requests before SIGINT"
assert_eq "$(jq .errors <<<"$c")" 0 "errors after SIGINT"
lk_wait_for 5 bash -c "! ip netns exec '$NS' ss -Htn state established '( sport = :$PORT )' | grep -q ." ||
	fail "the server's end still established after the client exited"
ok "the connection closed with the client"

# (4) A send buffer of 4 KiB (the namespace's tcp_wmem) and requests of
# 64 KiB, more than one segment of lo's: every send stops short, the ring
# says how much went, and send() on the epoll path does the rest.
inns sysctl -qw net.ipv4.tcp_wmem="4096 4096 4096" || fail "cannot set tcp_wmem"
M=300
inns strace -f -c -o "$LK_TMP/strace" "$T" client -j --io-uring --nodelay --size 65536 \
	--requests "$M" "$ADDR" >"$LK_TMP/d" || fail "client --io-uring --size 65536 failed"
exact "$LK_TMP/d" "$M" 65536
assert_ge "$(calls sendto)" "$M" "sendto calls (the rest of each request)"

kill -INT "$SERVER"
wait "$SERVER" || fail "server exited with $?"
srv=$(lk_summary "$LK_TMP/srv")
assert_eq "$(jq .requests <<<"$srv")" $((2 * N + M + $(jq .requests <<<"$c"))) "server: requests answered"
assert_eq "$(jq .bytes_in <<<"$srv")" \
	$((2 * N * 88 + M * (24 + 65536) + $(jq .bytes_out <<<"$c"))) "server: bytes in"
assert_eq "$(jq .errors <<<"$srv")" 0 "server errors"

# (5) io_uring denied to the process (io_uring_setup: EPERM): one line,
# exit 1.
"$OUTPUT/tests/progs/noring" "$T" client --io-uring --requests 1 "$ADDR" \
	>/dev/null 2>"$LK_TMP/off.err"
rc=$?
cat "$LK_TMP/off.err"
assert_eq "$rc" 1 "exit status with io_uring denied"
assert_eq "$(wc -l <"$LK_TMP/off.err")" 1 "lines on stderr"
grep -q "not allowed" "$LK_TMP/off.err" || fail "the line does not name the cause"

# (6) What the ring does not serve is refused up front.
for args in "server --io-uring" "client --io-uring --mode push" "client --io-uring --rate 100" \
	"client --io-uring -n 2"; do
	# shellcheck disable=SC2086
	"$T" $args --requests 1 "$ADDR" >/dev/null 2>"$LK_TMP/use.err" && fail "tcpreq $args: accepted"
	grep -q -- "--io-uring" "$LK_TMP/use.err" || { cat "$LK_TMP/use.err"; fail "tcpreq $args: no reason given"; }
	ok "tcpreq $args: $(head -n 1 "$LK_TMP/use.err")"
done
