#!/bin/bash
# Kinds syn and synack, and a clean wire, against the kernel's counters.
#  1. No loss, request/response: no retransmission, and Tcp: RetransSegs
#     agrees in both namespaces; then a full-speed iperf3 (spurious
#     retransmissions from reordering): still equal.
#  2. SYNs dropped (netlab --loss 100 --dir to-server) through the
#     first retransmissions: the client's SYN retransmissions = its
#     TcpExt TCPSynRetrans.
#  3. SYN-ACKs dropped (--dir to-client) through the first
#     retransmissions: the server's SYN-ACK retransmissions = its
#     TCPSynRetrans; the flow they started is the
#     connection that then completed, reported once when it closed.
#  4. As 2 and 3, with every run a handshake makes dropped by the tools
#     (LK_TEST_SKIP_HANDSHAKES=1: SYN and SYN-ACK retransmissions,
#     LISTEN -> SYN_RECV, the ends of SYN_SENT and SYN_RECV), as when the
#     kernel runs none of the programs for a whole handshake, and a
#     server that listens while the tools run: the handshakes'
#     retransmissions are found when the connections close (the
#     sockets' total_retrans, no data resent), as SYNs and SYN-ACKs, and
#     still equal TCPSynRetrans.
#  5. SYN-ACKs dropped, every handshake run of the server tool dropped,
#     on the server that listened before the tools: its listener got
#     socket storage when the tool started (an iterator over the
#     namespace's sockets, said with -v), so what it accepts is known as
#     accepted and its SYN-ACK retransmissions, found at close, still
#     equal TCPSynRetrans.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcpretrans_cnt
lk_need_bin tcpreq
lk_lab_up
T=$OUTPUT/tcpretrans_cnt
PORT=7302
ADDR=$LAB_S_IP:$PORT

lk_bg ip netns exec "$LAB_S" "$OUTPUT/tcpreq" server "0.0.0.0:$PORT"
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "server not listening"

start_tools() {
	local side
	for side in client server; do
		local ns=$LAB_C
		[ $side = server ] && ns=$LAB_S
		lk_bg env ${TOOL_ENV:-} "$T" -v -j -F -n 0 --netns "$ns" >"$LK_TMP/$side.json" 2>"$LK_TMP/$side.err"
		eval "PID_$side=$LK_LAST_PID"
		lk_wait_for 60 grep -q counting "$LK_TMP/$side.err" ||
			{ cat "$LK_TMP/$side.err"; fail "tcpretrans_cnt did not start"; }
	done
	c0=$(lk_netstat "$LAB_C" "Tcp RetransSegs") cs0=$(lk_netstat "$LAB_C" "TcpExt TCPSynRetrans")
	s0=$(lk_netstat "$LAB_S" "Tcp RetransSegs") ss0=$(lk_netstat "$LAB_S" "TcpExt TCPSynRetrans")
}

# Wait for the lab's connections to close, read the counters, stop the tools.
stop_tools() {
	lk_lab_closed 30
	c1=$(lk_netstat "$LAB_C" "Tcp RetransSegs") cs1=$(lk_netstat "$LAB_C" "TcpExt TCPSynRetrans")
	s1=$(lk_netstat "$LAB_S" "Tcp RetransSegs") ss1=$(lk_netstat "$LAB_S" "TcpExt TCPSynRetrans")
	kill -INT "$PID_client" "$PID_server"
	wait "$PID_client" || fail "client-side tool failed"
	wait "$PID_server" || fail "server-side tool failed"
	C=$(jq -c 'select(.type == "summary")' "$LK_TMP/client.json")
	S=$(jq -c 'select(.type == "summary")' "$LK_TMP/server.json")
	echo "client: $C"
	echo "server: $S"
}

# A client started while the wire drops one direction (lk_syn_drop).
connect_through() {
	lk_syn_drop "$1" "$LK_TMP/c.json" timeout 40 "$OUTPUT/tcpreq" client -j --requests 20 "$ADDR" ||
		fail "client failed after the drop"
}

echo "== 1. clean wire"
start_tools
lk_in_client "$OUTPUT/tcpreq" client -j -n 4 --requests 2000 "$ADDR" >/dev/null || fail "client failed"
stop_tools
assert_eq "$(jq .segs <<<"$C")" "$((c1 - c0))" "client: segments = Tcp: RetransSegs"
assert_eq "$(jq .segs <<<"$S")" "$((s1 - s0))" "server: segments = Tcp: RetransSegs"
assert_eq "$(jq .segs <<<"$C")/$(jq .segs <<<"$S")" 0/0 "no retransmissions on a clean wire"

# Full-speed bulk over the veth retransmits without loss (reordering):
# those are spurious, and still counted exactly.
if command -v iperf3 >/dev/null; then
	echo "== 1b. clean wire, bulk"
	lk_bg ip netns exec "$LAB_S" iperf3 -s -1 -p $((PORT + 1))
	lk_wait_for 5 lk_listening "$LAB_S" "$((PORT + 1))" || fail "iperf3 not listening"
	start_tools
	lk_in_client iperf3 -c "$LAB_S_IP" -p $((PORT + 1)) -t 3 >/dev/null || fail "iperf3 failed"
	stop_tools
	assert_eq "$(jq .segs <<<"$C")" "$((c1 - c0))" "client: segments = Tcp: RetransSegs"
	assert_eq "$(jq .segs <<<"$S")" "$((s1 - s0))" "server: segments = Tcp: RetransSegs"
else
	echo "iperf3 not installed: no bulk phase"
fi

echo "== 2. SYNs dropped"
start_tools
connect_through to-server
stop_tools
assert_ge "$(jq .syn_segs <<<"$C")" 1 "client: SYN retransmissions"
assert_eq "$(jq .syn_segs <<<"$C")" "$((cs1 - cs0))" "client: syn = TCPSynRetrans"
assert_eq "$(jq .segs <<<"$C")" "$((c1 - c0))" "client: segments = Tcp: RetransSegs"
assert_eq "$(jq .synack_segs <<<"$S")" "$((ss1 - ss0))" "server: synack = TCPSynRetrans"
pid=$(jq 'select(.type == "summary") | .pid' "$LK_TMP/c.json")
assert_eq "$(jq -c 'select(.type == "flow" and .syn > 0) | [.pid, .rport, .closed]' "$LK_TMP/client.json")" \
	"[$pid,$PORT,true]" "client: the SYN flow, owned by tcpreq (connect), closed"

echo "== 3. SYN-ACKs dropped"
start_tools
connect_through to-client
stop_tools
assert_ge "$(jq .synack_segs <<<"$S")" 1 "server: SYN-ACK retransmissions"
assert_eq "$(jq .synack_segs <<<"$S")" "$((ss1 - ss0))" "server: synack = TCPSynRetrans"
assert_eq "$(jq .segs <<<"$S")" "$((s1 - s0))" "server: segments = Tcp: RetransSegs"
assert_eq "$(jq .syn_segs <<<"$C")" "$((cs1 - cs0))" "client: syn = TCPSynRetrans"
assert_eq "$(jq .segs <<<"$C")" "$((c1 - c0))" "client: segments = Tcp: RetransSegs"
assert_eq "$(jq -c 'select(.type == "flow" and .synack > 0) | [.lport, .closed, .comm]' "$LK_TMP/server.json")" \
	"[$PORT,true,\"tcpreq\"]" "server: the SYN-ACK flow, closed once, owned by the server"

echo "== 4. SYNs, then SYN-ACKs dropped, and every handshake run of the tools"
TOOL_ENV=LK_TEST_SKIP_HANDSHAKES=1 start_tools
for side in client server; do
	grep -q "LK_TEST_SKIP_HANDSHAKES: 1 in 1" "$LK_TMP/$side.err" || fail "LK_TEST_SKIP_HANDSHAKES not taken ($side)"
done
# Its listener's socket storage marks what it accepts as accepted.
lk_bg ip netns exec "$LAB_S" "$OUTPUT/tcpreq" server "0.0.0.0:$((PORT + 2))"
lk_wait_for 5 lk_listening "$LAB_S" "$((PORT + 2))" || fail "second server not listening"
ADDR=$LAB_S_IP:$((PORT + 2))
connect_through to-server
connect_through to-client
stop_tools
assert_ge "$(jq .syn_segs <<<"$C")" 2 "client: SYN retransmissions"
assert_eq "$(jq .syn_segs <<<"$C")" "$((cs1 - cs0))" "client: syn = TCPSynRetrans"
assert_eq "$(jq .segs <<<"$C")" "$((c1 - c0))" "client: segments = Tcp: RetransSegs"
assert_ge "$(jq .synack_segs <<<"$S")" 1 "server: SYN-ACK retransmissions"
assert_eq "$(jq .synack_segs <<<"$S")" "$((ss1 - ss0))" "server: synack = TCPSynRetrans"
assert_eq "$(jq .segs <<<"$S")" "$((s1 - s0))" "server: segments = Tcp: RetransSegs"
assert_eq "$(jq -c 'select(.type == "flow" and .synack > 0) | [.lport, .closed, .comm]' "$LK_TMP/server.json")" \
	"[$((PORT + 2)),true,\"tcpreq\"]" "server: the SYN-ACK flow, closed once, owned by the server"

echo "== 5. SYN-ACKs dropped, every handshake run of the tools, a listener older than the tools"
TOOL_ENV=LK_TEST_SKIP_HANDSHAKES=1 start_tools
grep -q "socket storage for [1-9][0-9]* listeners opened before the tool" "$LK_TMP/server.err" ||
	{ cat "$LK_TMP/server.err"; fail "-v: no listener given storage at the start"; }
ADDR=$LAB_S_IP:$PORT
connect_through to-client
stop_tools
assert_ge "$(jq .synack_segs <<<"$S")" 1 "server: SYN-ACK retransmissions"
assert_eq "$(jq .synack_segs <<<"$S")" "$((ss1 - ss0))" "server: synack = TCPSynRetrans"
assert_eq "$(jq .segs <<<"$S")" "$((s1 - s0))" "server: segments = Tcp: RetransSegs"
