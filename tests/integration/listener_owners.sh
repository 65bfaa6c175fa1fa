#!/bin/bash
# Listeners opened before the tools started: tcpconnlat and
# tcpretrans_cnt find their owners in the processes' open files
# (lk_iter_listeners()), so that -p SERVER counts what such a listener
# accepts, as it does for one opened while they run.  A tcpreq server
# listens before the tools, an untraced one beside it; both get
# connections.  Under -p SERVER:
#  - -v: one listener given storage, with its owner;
#  - tcpconnlat: passive opens = the server's connections (N from one
#    client, then one through dropped SYN-ACKs), none of the other's;
#    its -P row is the server's process;
#  - tcpretrans_cnt: the SYN-ACKs resent for that last connection = the
#    namespace's TcpExt TCPSynRetrans, in a flow owned by the server.
# Were the listener's owner unknown, -p would leave all of it out.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcpconnlat
lk_need_bin tcpretrans_cnt
lk_need_bin tcpreq
lk_lab_up
PORT=$(lk_free_port "$LAB_S") || fail "no free port"
OTHER=$((PORT + 1))
N=20

lk_bg ip netns exec "$LAB_S" "$OUTPUT/tcpreq" server "0.0.0.0:$PORT"
sp=$LK_LAST_PID
lk_bg ip netns exec "$LAB_S" "$OUTPUT/tcpreq" server "0.0.0.0:$OTHER"
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "server not listening"
lk_wait_for 5 lk_listening "$LAB_S" "$OTHER" || fail "the other server not listening"

lk_bg timeout -s INT "$LK_HANG" "$OUTPUT/tcpconnlat" -v -j -P -p "$sp" --netns "$LAB_S" \
	>"$LK_TMP/cl.json" 2>"$LK_TMP/cl.err"
pid_cl=$LK_LAST_PID
lk_bg timeout -s INT "$LK_HANG" "$OUTPUT/tcpretrans_cnt" -v -j -F -n 0 -p "$sp" --netns "$LAB_S" \
	>"$LK_TMP/rt.json" 2>"$LK_TMP/rt.err"
pid_rt=$LK_LAST_PID
lk_wait_lines 60 "$LK_TMP/cl.err" "ready: programs attached" ||
	{ cat "$LK_TMP/cl.err"; fail "tcpconnlat did not start"; }
lk_wait_lines 60 "$LK_TMP/rt.err" counting || { cat "$LK_TMP/rt.err"; fail "tcpretrans_cnt did not start"; }
for t in cl rt; do
	grep 'listeners opened before' "$LK_TMP/$t.err"
	grep -q "socket storage for 1 listeners opened before the tool, 1 with their owners" "$LK_TMP/$t.err" ||
		{ cat "$LK_TMP/$t.err"; fail "-v ($t): not the server's listener, with its owner"; }
done

lk_in_client "$OUTPUT/tcpreq" client -n $N --requests $N "$LAB_S_IP:$PORT" >/dev/null ||
	fail "client failed"
lk_in_client "$OUTPUT/tcpreq" client -n 5 --requests 5 "$LAB_S_IP:$OTHER" >/dev/null ||
	fail "the other client failed"
ss0=$(lk_netstat "$LAB_S" "TcpExt TCPSynRetrans")
lk_syn_drop to-client "$LK_TMP/c.json" timeout 40 "$OUTPUT/tcpreq" client -j --requests 1 "$LAB_S_IP:$PORT" ||
	fail "client failed after the drop"
lk_wait_for 30 sh -c "! ip netns exec $LAB_S ss -Htan | grep -vqE '^(LISTEN|TIME-WAIT) '" ||
	fail "connections did not close"
ss1=$(lk_netstat "$LAB_S" "TcpExt TCPSynRetrans")
kill -INT "$pid_cl" "$pid_rt"
wait "$pid_cl" || { cat "$LK_TMP/cl.err"; fail "tcpconnlat failed"; }
wait "$pid_rt" || { cat "$LK_TMP/rt.err"; fail "tcpretrans_cnt failed"; }

C=$(lk_summary "$LK_TMP/cl.json")
R=$(lk_summary "$LK_TMP/rt.json")
echo "tcpconnlat: $C"
echo "tcpretrans_cnt: $R"
assert_eq "$(jq .passive.opens <<<"$C")" $((N + 1)) "tcpconnlat -p: passive opens = the server's connections"
assert_eq "$(jq .active.opens <<<"$C")" 0 "tcpconnlat -p: no active opens"
assert_eq "$(jq -c 'select(.type == "process") | [.dir, .pid, .opens]' "$LK_TMP/cl.json")" \
	"[\"passive\",$sp,$((N + 1))]" "tcpconnlat -P: the server's process"
assert_ge "$(jq .synack_segs <<<"$R")" 1 "tcpretrans_cnt -p: SYN-ACK retransmissions"
assert_eq "$(jq .synack_segs <<<"$R")" "$((ss1 - ss0))" "tcpretrans_cnt -p: synack = TCPSynRetrans"
assert_eq "$(jq -c 'select(.type == "flow" and .synack > 0) | [.pid, .lport, .closed]' "$LK_TMP/rt.json")" \
	"[$sp,$PORT,true]" "tcpretrans_cnt: the SYN-ACK flow, owned by the server, closed"
