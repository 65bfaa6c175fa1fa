#!/bin/bash
# -4 and -6 mean the same in every tool with the flow options: an IPv6
# socket whose peer is IPv4-mapped is IPv4.  The server listens on [::]
# (dual stack) and accepts IPv4 clients, so each of its connections is an
# IPv6 socket with IPv4-mapped addresses, while its packets are IPv4 on
# the wire.  netlab loses 2% of what the server sends, so that its
# mapped sockets retransmit.  In the server's namespace, with -4 and
# again with -6, tcplat, tcpretrans_cnt, tcstamp and tcpconnlat watch
# the server's port; the oracles are the traffic's own counts:
#   tcplat -4 requests, bytes in and out  = tcpreq client's requests and bytes
#   tcpretrans_cnt -4 segments            = Tcp: RetransSegs of the namespace
#   tcstamp -4 bytes out - bytes resent   = what the client read
#   tcpconnlat -4 passive opens           = tcpreq client's connections
#   tcpconnlat -4 SYN-ACKs resent         = TcpExt TCPSynRetrans of the namespace
# each flow row says family 4 and the server's IPv4 address, and with -6
# every tool counts nothing.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
for b in tcplat tcpretrans_cnt tcstamp tcpconnlat tcpreq; do lk_need_bin "$b"; done
# The tools tested below are every tool that takes the flow options.
flow_tools=$(lk_tools_with LK_OPT_FLOW | sort | xargs)
assert_eq "$flow_tools" "tcpconnlat tcplat tcpretrans_cnt tcstamp" "tools with -4/-6 (LK_OPT_FLOW), each tested here"
lk_lab_up --loss 2 --dir to-client
PORT=7411
N=1500
if [ "${LK_TCG:-}" = 1 ]; then N=400; fi

lk_bg ip netns exec "$LAB_S" "$OUTPUT/tcpreq" server --nodelay "[::]:$PORT"
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "server not listening"
# ss shows a dual-stack [::] listener as *:PORT ([::]:PORT: IPv6 only).
lk_in_server ss -Hltn "sport = :$PORT" | grep -q " \*:$PORT " || fail "server not dual-stack on [::]"

# start NAME READY TOOL ARGS...: in the background until SIGINT, ready when
# its -v output has READY.
start() {
	local name=$1 ready=$2; shift 2
	timeout -s INT "$LK_HANG" "$OUTPUT/$@" -v -j >"$LK_TMP/$name" 2>"$LK_TMP/$name.err" &
	LK_PIDS+=($!)
	eval "PID_$name=$!"
	lk_wait_lines 30 "$LK_TMP/$name.err" "$ready" || { cat "$LK_TMP/$name.err"; fail "$name did not start"; }
}
for f in 4 6; do
	start "tl$f" tracing tcplat -F --netns "$LAB_S" --lport $PORT -$f
	start "rt$f" counting tcpretrans_cnt -F -n 0 --netns "$LAB_S" --lport $PORT -$f
	start "ts$f" "attached to" tcstamp -I veth0 --netns "$LAB_S" --lport $PORT -$f
	start "cl$f" measuring tcpconnlat -F --netns "$LAB_S" --lport $PORT -$f
done

rs0=$(lk_netstat "$LAB_S" "Tcp RetransSegs")
syn0=$(lk_netstat "$LAB_S" "TcpExt TCPSynRetrans")
lk_in_client timeout 100 "$OUTPUT/tcpreq" client -j -n 4 --size 300 --nodelay --requests $N \
	"$LAB_S_IP:$PORT" >"$LK_TMP/cli" || fail "client failed"
# Nothing but TIME_WAIT and the listener: no retransmission can still come.
lk_wait_for 60 sh -c "! ip netns exec $LAB_S ss -Htan | grep -vqE '^(LISTEN|TIME-WAIT) '" ||
	fail "connections did not close"
rs=$(($(lk_netstat "$LAB_S" "Tcp RetransSegs") - rs0))
syn=$(($(lk_netstat "$LAB_S" "TcpExt TCPSynRetrans") - syn0))
for n in tl4 tl6 rt4 rt6 ts4 ts6 cl4 cl6; do
	eval "kill -INT \$PID_$n; wait \$PID_$n" || { cat "$LK_TMP/$n.err"; fail "$n exited with an error"; }
done

cli() { jq "select(.type == \"summary\") | .$1" "$LK_TMP/cli"; }
sum() { jq "select(.type == \"summary\") | .$2" "$LK_TMP/$1"; }
rows() { jq -r 'select(.type == "flow") | "\(.family) \(.laddr) \(.lport)"' "$LK_TMP/$1" | sort -u; }
echo "tcpreq client: $(jq -c 'select(.type == "summary")' "$LK_TMP/cli")"
echo "server's Tcp: RetransSegs grew by $rs, TcpExt: TCPSynRetrans by $syn"
for n in tl4 tl6 rt4 rt6 ts4 ts6 cl4 cl6; do echo "$n: $(jq -c 'select(.type == "summary")' "$LK_TMP/$n")"; done
assert_eq "$(cli requests)" $N "the client's requests"
assert_ge "$rs" 1 "the server's retransmitted segments (the lab's loss)"

# tcplat: the server's requests, as tcpreq counted them.
assert_eq "$(sum tl4 requests)" "$(cli requests)" "tcplat -4: requests"
assert_eq "$(sum tl4 bytes_in)" "$(cli bytes_out)" "tcplat -4: bytes in = the client's bytes out"
assert_eq "$(sum tl4 bytes_out)" "$(cli bytes_in)" "tcplat -4: bytes out = the client's bytes in"
assert_eq "$(rows tl4)" "4 $LAB_S_IP $PORT" "tcplat -4: rows are IPv4, the server's address"
assert_eq "$(sum tl6 requests)" 0 "tcplat -6: requests"
assert_eq "$(sum tl6 bytes_in)" 0 "tcplat -6: bytes in"
assert_eq "$(rows tl6)" "" "tcplat -6: rows"

# tcpretrans_cnt: every segment the namespace retransmitted.
assert_eq "$(sum rt4 segs)" "$rs" "tcpretrans_cnt -4: segments = Tcp: RetransSegs"
assert_eq "$(rows rt4)" "4 $LAB_S_IP $PORT" "tcpretrans_cnt -4: rows are IPv4, the server's address"
assert_eq "$(sum rt6 segs)" 0 "tcpretrans_cnt -6: segments"
assert_eq "$(rows rt6)" "" "tcpretrans_cnt -6: rows"

# tcstamp: the server's replies on the wire, and round trips.
tsum() { jq -s "map(select(.type == \"flow\" and .kind == \"rtt\") | .$2) | add // 0" "$LK_TMP/$1"; }
assert_eq "$(($(tsum ts4 bytes_out) - $(tsum ts4 bytes_retrans)))" "$(cli bytes_in)" \
	"tcstamp -4: bytes out less bytes resent = the client's bytes in"
assert_ge "$(tsum ts4 samples)" "$((N / 2))" "tcstamp -4: RTT samples"
assert_eq "$(rows ts4)" "4 $LAB_S_IP $PORT" "tcstamp -4: rows are IPv4, the server's address"
assert_eq "$(sum ts6 flows)" 0 "tcstamp -6: flows"
assert_eq "$(sum ts6 samples)" 0 "tcstamp -6: samples"
assert_eq "$(rows ts6)" "" "tcstamp -6: rows"

# tcpconnlat: the server's passive opens, one a client connection; its
# rows are keyed by the remote address and the server's port.
crows() { jq -r 'select(.type == "flow") | "\(.dir) \(.family) \(.raddr) \(.port)"' "$LK_TMP/$1" | sort -u; }
assert_eq "$(sum cl4 passive.opens)" "$(cli conns)" "tcpconnlat -4: passive opens = the client's connections"
assert_eq "$(sum cl4 passive.failed)" 0 "tcpconnlat -4: failed passive opens"
assert_eq "$(sum cl4 synack_retrans)" "$syn" "tcpconnlat -4: SYN-ACKs resent = TcpExt: TCPSynRetrans"
assert_eq "$(crows cl4)" "passive 4 $LAB_C_IP $PORT" "tcpconnlat -4: rows are IPv4, the client's address"
assert_eq "$(sum cl6 passive.opens)" 0 "tcpconnlat -6: passive opens"
assert_eq "$(sum cl6 active.opens)" 0 "tcpconnlat -6: active opens"
assert_eq "$(crows cl6)" "" "tcpconnlat -6: rows"
