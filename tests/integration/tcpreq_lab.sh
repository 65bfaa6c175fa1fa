#!/bin/bash
# tcpreq across the netlab lab (client and server in two namespaces):
# ping/echo, push and threaded runs give the same counts on both ends,
# the server namespace's IpExt InOctets equals the client's bytes plus
# headers, --sleep-ms shows in both ends' latency, and --linger0 leaves no
# TIME_WAIT behind.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcpreq
lk_lab_up
T=$OUTPUT/tcpreq
PORT=23324
ADDR=$LAB_S_IP:$PORT
summary() { jq -c 'select(.type == "summary")' "$1"; }

# Start a server in the lab's server namespace: server OUTFILE ARGS...
server() {
	local out=$1; shift
	lk_bg ip netns exec "$LAB_S" "$T" server -j "$@" "0.0.0.0:$PORT" >"$out"
	SERVER=$LK_LAST_PID
	lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "server not listening"
}
stop_server() {
	kill -INT "$SERVER" 2>/dev/null
	wait "$SERVER" || fail "server exited with $?"
}

# 1. ping/echo, 8 connections, exactly 3000 requests.
server "$LK_TMP/s1" --nodelay
o0=$(lk_netstat "$LAB_S" "IpExt InOctets")
g0=$(lk_netstat "$LAB_S" "Tcp InSegs")
lk_in_client "$T" client -j -n 8 --nodelay --requests 3000 "$ADDR" >"$LK_TMP/c1" ||
	fail "client failed"
# Nothing more comes in once no server socket can still receive (each
# has the client's FIN, or is gone after the last ACK).
inbound_done() { ! ip netns exec "$LAB_S" ss -Htan | grep -vqE '^(LISTEN|CLOSE-WAIT|TIME-WAIT) '; }
lk_wait_for 10 inbound_done || { ip netns exec "$LAB_S" ss -tan; fail "the connections did not close"; }
o1=$(lk_netstat "$LAB_S" "IpExt InOctets")
g1=$(lk_netstat "$LAB_S" "Tcp InSegs")
stop_server
c=$(summary "$LK_TMP/c1"); s=$(summary "$LK_TMP/s1")
assert_eq "$(jq .requests <<<"$c")" 3000 "client requests"
assert_eq "$(jq .requests <<<"$s")" 3000 "server requests answered"
assert_eq "$(jq .errors <<<"$c")/$(jq .errors <<<"$s")" 0/0 "errors"
assert_eq "$(jq .bytes_in <<<"$s")" "$(jq .bytes_out <<<"$c")" "server bytes in = client bytes out"
assert_eq "$(jq .bytes_in <<<"$c")" "$(jq .bytes_out <<<"$s")" "client bytes in = server bytes out"
assert_ge "$((g1 - g0))" 3000 "segments into the server namespace"
# Headers: 52 bytes a segment (IPv4 20, TCP 20, timestamps 12), 60 a
# SYN (20 bytes of options: MSS, SACK permitted, timestamps, window
# scale), one SYN a connection.
assert_eq "$((o1 - o0))" "$(( $(jq .bytes_out <<<"$c") + 52 * (g1 - g0) + 8 * 8 ))" \
	"server ns IpExt InOctets = client bytes + headers"

# 2. push: exactly 2000 messages of 512 bytes at 4000/s; the server stops
# by itself after 2000 (--requests) and recorded each one-way latency.
server "$LK_TMP/s2" --requests 2000
lk_in_client "$T" client -j --mode push --size 512 --rate 4000 --requests 2000 "$ADDR" \
	>"$LK_TMP/c2" || fail "push client failed"
for i in $(seq 50); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SERVER" 2>/dev/null && fail "server did not stop after --requests 2000"
wait "$SERVER" || fail "server exited with $?"
c=$(summary "$LK_TMP/c2"); s=$(summary "$LK_TMP/s2")
assert_eq "$(jq .requests <<<"$c")" 2000 "pushes sent"
assert_eq "$(jq .requests <<<"$s")" 2000 "pushes received"
assert_eq "$(jq .samples <<<"$s")" 2000 "one-way latency samples"
assert_eq "$(jq .bytes_in <<<"$s")" $((2000 * (24 + 512))) "push bytes received"
jq -e '.p50_us > 0 and .p50_us < 100000' <<<"$s" >/dev/null || fail "one-way p50: $s"
ok "one-way p50 $(jq .p50_us <<<"$s") us"

# 3. echo with --sleep-ms 2, open loop at 200/s: service time and round
# trip both at least 2 ms.  400 requests, not 2 s of them: how many fit
# in a time depends on how soon the connections come up (the ticks
# start at the first), which a loaded host or a qemu guest stretches;
# the pacing shows in the run's length instead, which cannot be shorter
# than the 400th request's due time, 399 x 5 ms after the first.
server "$LK_TMP/s3" --sleep-ms 2
lk_in_client "$T" client -j -n 2 --rate 200 --requests 400 "$ADDR" >"$LK_TMP/c3" ||
	fail "client failed"
stop_server
c=$(summary "$LK_TMP/c3"); s=$(summary "$LK_TMP/s3")
assert_eq "$(jq .requests <<<"$c")" 400 "requests at 200/s"
assert_ge "$(jq .duration_s <<<"$c")" 1.995 "400 requests at 200/s: the last due 1.995 s after the first (s)"
assert_eq "$(jq .overruns <<<"$c")" 0 "open-loop sends dropped"
assert_eq "$(jq .requests <<<"$s")" "$(jq .requests <<<"$c")" "server answered them all"
assert_ge "$(jq .p50_us <<<"$s")" 2000 "server service time p50 with --sleep-ms 2"
assert_le "$(jq .p50_us <<<"$s")" 20000 "server service time p50 with --sleep-ms 2"
assert_ge "$(jq .p50_us <<<"$c")" 2000 "client round trip p50 with --sleep-ms 2"

# 4. Two threads each side, 16 connections, 2 s, --linger0 on the client.
server "$LK_TMP/s4" --threads 2
# The client namespace's TIME_WAIT sockets, as sorted 4-tuples; new_tw
# OLD NEW: how many of NEW were not in OLD (a count would also see the
# sockets of step 1 expire, 60 s on).
time_wait() { lk_in_client ss -Htan state time-wait | awk '{ print $(NF - 1), $NF }' | sort; }
new_tw() { comm -13 <(printf '%s\n' "$1") <(printf '%s\n' "$2") | grep -c .; }
tw0=$(time_wait)
lk_in_client "$T" client -j -n 16 --threads 2 --duration 2 --linger0 "$ADDR" >"$LK_TMP/c4" ||
	fail "threaded client failed"
stop_server
c=$(summary "$LK_TMP/c4"); s=$(summary "$LK_TMP/s4")
assert_eq "$(jq .conns <<<"$c")" 16 "client connections"
assert_ge "$(jq .requests <<<"$c")" 1000 "threaded requests"
assert_eq "$(jq .requests <<<"$s")" "$(jq .requests <<<"$c")" "threaded: server = client"
assert_eq "$(jq .errors <<<"$c")/$(jq .errors <<<"$s")" 0/0 "threaded errors"
tw=$(time_wait)
assert_eq "$(new_tw "$tw0" "$tw")" 0 "new TIME_WAIT sockets after --linger0"
# Without --linger0 the client (closing first) keeps TIME_WAIT: the check
# above can fail.
server "$LK_TMP/s5"
lk_in_client "$T" client -j -n 4 --requests 40 "$ADDR" >/dev/null || fail "client failed"
stop_server
assert_eq "$(new_tw "$tw" "$(time_wait)")" 4 "new TIME_WAIT sockets without --linger0"
