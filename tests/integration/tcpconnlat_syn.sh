#!/bin/bash
# Retransmitted handshakes (netlab --loss 100 in one direction while the
# client connects, through the first retransmissions, then none):
#  1. SYNs dropped: the client's first connect() takes at least the
#     initial RTO (1 s), and so does tcpconnlat's longest active open;
#     its SYN retransmissions (the total and the connections' own) equal
#     the growth of the client namespace's TcpExt TCPSynRetrans.
#  2. SYN-ACKs dropped: the server's SYN-ACK retransmissions equal its
#     TCPSynRetrans; the passive open that waited for them is measured
#     from the request's first SYN-ACK and takes at least 1 s; the
#     client's SYN retransmissions still equal its counter.
#  3. As 2, with 1 in 2 of the server tool's SYN-ACK runs, and 1 in 2 of
#     its runs at an accept's end, dropped on purpose (LK_TEST_SKIP_RUNS,
#     as the kernel sometimes skips a run without counting a miss): the
#     SYN-ACK retransmissions still equal TCPSynRetrans, from the
#     accepted sockets' total_retrans, at the handshake's end or, where
#     that run was dropped, when the accepted socket closes (it still
#     carries the copy of its listener's storage: the listener, opened
#     before the tools, got one at its first SYN-ACK retransmission the
#     tool saw); every accept is an open, those unmeasured.
#  4. No loss, 1 in 2 of the server tool's accept ends dropped: no
#     SYN-ACK is retransmitted, and the listener, opened before the
#     tools, got its storage when the tool started (an iterator over the
#     namespace's sockets, said with -v); every accept is still an open,
#     those dropped found at close, unmeasured.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcpconnlat
lk_need_bin tests/progs/tcpconnlat_client
lk_lab_up
T=$OUTPUT/tcpconnlat
CL=$OUTPUT/tests/progs/tcpconnlat_client
N=3
PORT=$(lk_free_port "$LAB_S") || fail "no free port"
lk_bg ip netns exec "$LAB_S" "$CL" -l "$PORT" -n 0
lk_wait_for 10 lk_listening "$LAB_S" "$PORT" || fail "server not listening"

start_tools() {
	local side ns
	for side in client server; do
		ns=$LAB_C
		[ $side = server ] && ns=$LAB_S
		if [ $side = server ]; then
			lk_bg env ${SERVER_ENV:-} "$T" -v -j --netns "$ns"
		else
			lk_bg "$T" -v -j --netns "$ns"
		fi >"$LK_TMP/$side.json" 2>"$LK_TMP/$side.err"
		eval "PID_$side=$LK_LAST_PID"
	done
	for side in client server; do
		lk_wait_lines 60 "$LK_TMP/$side.err" "ready: programs attached" ||
			{ cat "$LK_TMP/$side.err"; fail "tcpconnlat ($side) did not start"; }
	done
	cs0=$(lk_netstat "$LAB_C" "TcpExt TCPSynRetrans") ss0=$(lk_netstat "$LAB_S" "TcpExt TCPSynRetrans")
}

stop_tools() {
	lk_lab_closed 30
	cs1=$(lk_netstat "$LAB_C" "TcpExt TCPSynRetrans") ss1=$(lk_netstat "$LAB_S" "TcpExt TCPSynRetrans")
	kill -INT "$PID_client" "$PID_server"
	wait "$PID_client" || fail "tcpconnlat (client) failed"
	wait "$PID_server" || fail "tcpconnlat (server) failed"
	C=$(lk_summary "$LK_TMP/client.json")
	S=$(lk_summary "$LK_TMP/server.json")
	echo "client netns: $C"
	echo "server netns: $S"
	echo "TCPSynRetrans: client +$((cs1 - cs0)), server +$((ss1 - ss0)); connects: $(tr '\n' ' ' <"$LK_TMP/conn.out")"
}

# A client started while the wire drops one direction (lk_syn_drop).
connect_through() {
	lk_syn_drop "$1" "$LK_TMP/conn.out" timeout 50 "$CL" -n "$N" "$LAB_S_IP" "$PORT" ||
		fail "client failed"
	assert_eq "$(grep -c '^ok ' "$LK_TMP/conn.out")" "$N" "connects that succeeded"
	assert_ge "$(awk 'NR == 1 { print $2 }' "$LK_TMP/conn.out")" 1000000 "the first connect() (us), the client's clock"
}

echo "== 1. SYNs dropped"
start_tools
connect_through to-server
stop_tools
assert_ge "$(jq .syn_retrans <<<"$C")" 1 "SYN retransmissions"
assert_eq "$(jq .syn_retrans <<<"$C")" "$((cs1 - cs0))" "SYN retransmissions = TCPSynRetrans (client)"
assert_eq "$(jq .active.retrans <<<"$C")" "$((cs1 - cs0))" "the connections' own SYN retransmissions = TCPSynRetrans"
assert_eq "$(jq .active.opens <<<"$C")/$(jq .active.count <<<"$C")" "$N/$N" "active opens, measured"
assert_ge "$(jq .active.max_us <<<"$C")" 1000000 "the longest active open (us)"
assert_le "$(jq .active.max_us <<<"$C")" "$(sort -k2 -g "$LK_TMP/conn.out" | tail -n1 | awk '{ print $2 }')" \
	"the longest active open within the client's longest connect()"
assert_eq "$(jq .synack_retrans <<<"$S")" "$((ss1 - ss0))" "SYN-ACK retransmissions = TCPSynRetrans (server)"
assert_eq "$(jq .passive.opens <<<"$S")" "$N" "passive opens"

echo "== 2. SYN-ACKs dropped"
start_tools
connect_through to-client
stop_tools
assert_ge "$(jq .synack_retrans <<<"$S")" 1 "SYN-ACK retransmissions"
assert_eq "$(jq .synack_retrans <<<"$S")" "$((ss1 - ss0))" "SYN-ACK retransmissions = TCPSynRetrans (server)"
assert_eq "$(jq .passive.retrans <<<"$S")" "$((ss1 - ss0))" "the connections' own SYN-ACK retransmissions = TCPSynRetrans"
assert_eq "$(jq .passive.opens <<<"$S")/$(jq .passive.count <<<"$S")" "$N/$N" "passive opens, measured"
assert_ge "$(jq .passive.max_us <<<"$S")" 1000000 "the longest passive open, from the first SYN-ACK (us)"
assert_eq "$(jq .syn_retrans <<<"$C")" "$((cs1 - cs0))" "SYN retransmissions = TCPSynRetrans (client)"
assert_eq "$(jq .active.retrans <<<"$C")" "$((cs1 - cs0))" "the connections' own SYN retransmissions = TCPSynRetrans"

echo "== 3. SYN-ACKs dropped, and 1 in 2 of the tool's SYN-ACK runs and accept ends"
SERVER_ENV=LK_TEST_SKIP_RUNS=2 start_tools
grep -q "LK_TEST_SKIP_RUNS: 1 in 2" "$LK_TMP/server.err" || fail "LK_TEST_SKIP_RUNS not taken"
connect_through to-client
stop_tools
assert_ge "$(jq .synack_retrans <<<"$S")" 1 "SYN-ACK retransmissions"
assert_eq "$(jq .synack_retrans <<<"$S")" "$((ss1 - ss0))" "SYN-ACK retransmissions = TCPSynRetrans (server)"
assert_eq "$(jq .passive.retrans <<<"$S")" "$((ss1 - ss0))" "the connections' own SYN-ACK retransmissions = TCPSynRetrans"
assert_eq "$(jq .passive.opens <<<"$S")" "$N" "passive opens"
# Accept ends 1 and 3 of 3 dropped.
assert_eq "$(jq .passive.count <<<"$S")/$(jq .unmeasured <<<"$S")" "$((N / 2))/$(((N + 1) / 2))" \
	"passive opens measured / found at close, unmeasured"

echo "== 4. No loss, 1 in 2 of the tool's accept ends dropped"
SERVER_ENV=LK_TEST_SKIP_RUNS=2 start_tools
grep -q "socket storage for [1-9][0-9]* listeners opened before the tool" "$LK_TMP/server.err" ||
	{ cat "$LK_TMP/server.err"; fail "-v: no listener given storage at the start"; }
lk_in_client timeout 30 "$CL" -n "$N" "$LAB_S_IP" "$PORT" >"$LK_TMP/conn.out" || fail "client failed"
assert_eq "$(grep -c '^ok ' "$LK_TMP/conn.out")" "$N" "connects that succeeded"
stop_tools
assert_eq "$(jq .synack_retrans <<<"$S")" 0 "SYN-ACK retransmissions"
assert_eq "$(jq .passive.opens <<<"$S")" "$N" "passive opens"
assert_eq "$(jq .passive.count <<<"$S")/$(jq .unmeasured <<<"$S")" "$((N / 2))/$(((N + 1) / 2))" \
	"passive opens measured / found at close, unmeasured"
