#!/bin/bash
# Connects to a closed port across a netlab: the server's stack answers
# each SYN with a RST, connect() fails with ECONNREFUSED, and tcpconnlat
# counts exactly those as refused (sk_err ECONNREFUSED at SYN_SENT ->
# CLOSE), with no open and no other cause; -F puts them on the closed
# port's row.  Once with the methods -v chooses here and once with
# LK_METHODS=raw_tp (the fallback, typed pointers not needed).
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcpconnlat
lk_need_bin tests/progs/tcpconnlat_client
lk_lab_up
T=$OUTPUT/tcpconnlat
CL=$OUTPUT/tests/progs/tcpconnlat_client
N=50
[ "${LK_TCG:-0}" = 1 ] && N=20
PORT=$(lk_free_port "$LAB_S") || fail "no free port"

for methods in "" raw_tp; do
	echo "== LK_METHODS=${methods:-(unset)}"
	LK_METHODS=$methods lk_bg "$T" -v -j -F --netns "$LAB_C" >"$LK_TMP/t.json" 2>"$LK_TMP/t.err"
	pid=$LK_LAST_PID
	lk_wait_lines 60 "$LK_TMP/t.err" "ready: programs attached" || { cat "$LK_TMP/t.err"; fail "tcpconnlat did not start"; }
	if [ -n "$methods" ]; then
		assert_eq "$(grep -c "using $methods" "$LK_TMP/t.err")" 3 "hooks using $methods"
	fi
	lk_in_client timeout 60 "$CL" -n "$N" "$LAB_S_IP" "$PORT" >"$LK_TMP/conn.out" || fail "client failed"
	kill -INT $pid
	wait $pid || fail "tcpconnlat failed"
	S=$(lk_summary "$LK_TMP/t.json")
	echo "$S"
	refused=$(grep -c '^err ECONNREFUSED ' "$LK_TMP/conn.out")
	assert_eq "$refused" "$N" "connects refused (the client's errno)"
	assert_eq "$(jq .active.refused <<<"$S")" "$refused" "refusals = the client's ECONNREFUSED"
	assert_eq "$(jq -c '.active | [.failed, .opens, .timeout, .reset, .other]' <<<"$S")" "[$refused,0,0,0,0]" \
		"failures, all refused; no opens"
	assert_eq "$(jq -c 'select(.type == "flow") | [.dir, .raddr, .port, .refused]' "$LK_TMP/t.json")" \
		"[\"active\",\"$LAB_S_IP\",$PORT,$refused]" "-F: the closed port's row"
done
