#!/bin/bash
# A handshake's final ACK processed twice at once, on two CPUs: the kernel
# can build a child socket from each copy, and frees the one that loses
# the race into the established table (SYN-RECV -> CLOSE).  Both start
# with the request's SYN-ACK retransmissions in total_retrans.  The
# server-side tools must count each open and each SYN-ACK once.
#
# tests/progs/handshake_dupack makes 3 x 128 handshakes by hand from the
# client's namespace, whose ingress drops everything (netlab --dir
# to-client --loss 100, so that its kernel never answers the server):
# each has its SYN-ACK resent, then two threads pinned to the two CPUs
# send its final ACK together, and it is reset.  Four tools watch the
# server: tcpretrans_cnt and tcpconnlat as users run them, and each with
# the runs a handshake makes dropped (tcpretrans_cnt:
# LK_TEST_SKIP_HANDSHAKES=1, so a socket settles only when it closes or
# is freed; tcpconnlat: LK_TEST_SKIP_RUNS=1, no SYN-ACK event and no
# SYN_RECV -> ESTABLISHED).  Checked against the server's counters:
#  - SYN-ACK retransmissions = TcpExt TCPSynRetrans, for all four;
#  - tcpretrans_cnt: one closed row per handshake;
#  - tcpconnlat: passive opens = the handshakes, none failed;
#  - duplicate children (as users run them) at most Tcp PassiveOpens -
#    the handshakes: the kernel counts an open for every child it builds.
# How many duplicates the kernel makes varies (from 0 to 59 of 64
# handshakes on this project's 2-vCPU VM, 2026-12-03); every count above
# is exact whatever their number.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcpretrans_cnt
lk_need_bin tcpconnlat
lk_need_bin tcpreq
DUP=$OUTPUT/tests/progs/handshake_dupack
lk_need_prog handshake_dupack
lk_need_cpus 2
lk_lab_up
PORT=7312
N=128

lk_bg ip netns exec "$LAB_S" "$OUTPUT/tcpreq" server "0.0.0.0:$PORT"
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "server not listening"

TOOLS="rt rt_skip cl cl_skip"
for t in $TOOLS; do
	case $t in
	rt) cmd=("$OUTPUT/tcpretrans_cnt" -F -n 0) ;;
	rt_skip) cmd=(env LK_TEST_SKIP_HANDSHAKES=1 "$OUTPUT/tcpretrans_cnt" -F -n 0) ;;
	cl) cmd=("$OUTPUT/tcpconnlat") ;;
	cl_skip) cmd=(env LK_TEST_SKIP_RUNS=1 "$OUTPUT/tcpconnlat") ;;
	esac
	lk_bg "${cmd[@]}" -v -j --netns "$LAB_S" >"$LK_TMP/$t.json" 2>"$LK_TMP/$t.err"
	eval "PID_$t=$LK_LAST_PID"
	lk_wait_for 60 grep -q 'counting\|measuring' "$LK_TMP/$t.err" ||
		{ cat "$LK_TMP/$t.err"; fail "$t did not start"; }
done
grep -q "LK_TEST_SKIP_HANDSHAKES: 1 in 1" "$LK_TMP/rt_skip.err" || fail "LK_TEST_SKIP_HANDSHAKES not taken"
grep -q "LK_TEST_SKIP_RUNS: 1 in 1" "$LK_TMP/cl_skip.err" || fail "LK_TEST_SKIP_RUNS not taken"

s0=$(lk_netstat "$LAB_S" "TcpExt TCPSynRetrans") p0=$(lk_netstat "$LAB_S" "Tcp PassiveOpens")
"$OUTPUT/netlab" set --prefix "$LAB" --dir to-client --loss 100 >/dev/null || fail "netlab set"
for batch in 0 1 2; do
	lk_in_client "$DUP" -n $N -b $((40000 + batch * N)) "$LAB_C_IP" "$LAB_S_IP" "$PORT" ||
		fail "handshake_dupack failed (batch $batch)"
done
# Every child is reset: none left but the listener.
lk_wait_for 30 sh -c "! ip netns exec $LAB_S ss -Htan | grep -vq '^LISTEN '" ||
	{ lk_in_server ss -tan; fail "connections did not close"; }
s1=$(lk_netstat "$LAB_S" "TcpExt TCPSynRetrans") p1=$(lk_netstat "$LAB_S" "Tcp PassiveOpens")
for t in $TOOLS; do
	kill -INT "$(eval echo "\$PID_$t")"
	wait "$(eval echo "\$PID_$t")" || fail "$t failed"
done

HS=$((3 * N)) RTX=$((s1 - s0)) DUPS=$((p1 - p0 - 3 * N))
echo "handshakes $HS, TCPSynRetrans $RTX, PassiveOpens $((p1 - p0)): duplicate children $DUPS"
assert_ge "$RTX" "$HS" "TCPSynRetrans: a SYN-ACK resent per handshake at least"
for t in $TOOLS; do
	S=$(jq -c 'select(.type == "summary")' "$LK_TMP/$t.json")
	echo "$t: $S"
	case $t in
	rt*)
		assert_eq "$(jq .synack_segs <<<"$S")" "$RTX" "$t: synack = TCPSynRetrans"
		assert_eq "$(jq -r 'select(.type == "flow" and .synack > 0) | "\(.rport) \(.closed)"' \
			"$LK_TMP/$t.json" | sort | uniq -c | awk '$1 == 1 && $3 == "true"' | wc -l)" "$HS" \
			"$t: one closed row per handshake" ;;
	cl*)
		assert_eq "$(jq .synack_retrans <<<"$S")" "$RTX" "$t: synack_retrans = TCPSynRetrans"
		assert_eq "$(jq -c '.passive | [.opens, .failed]' <<<"$S")" "[$HS,0]" "$t: passive opens, failed" ;;
	esac
	# At most the kernel's figure, and some when there were any: not
	# asserted equal, since on 6.18 a few runs per thousand of a
	# tracepoint never reach the program (tcpretrans_cnt(8), "unseen"),
	# and a duplicate whose run was lost goes uncounted (it costs no
	# other count).  Equal in every run so far: 300 and 295 on the host,
	# 73 on 6.1, 7 on 6.12 (2026-12-03).
	case $t in
	rt | cl)
		assert_le "$(jq .dup_children <<<"$S")" "$DUPS" "$t: duplicate children <= PassiveOpens - handshakes"
		[ "$DUPS" = 0 ] || assert_ge "$(jq .dup_children <<<"$S")" 1 "$t: duplicate children found" ;;
	esac
done
