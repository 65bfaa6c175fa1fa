#!/bin/bash
# A server's response whose write is under way when the client resets
# the connection is a finished request, as the server sees it: its write
# returns the bytes it sent.  The server here (tcplat_reset.py) reads a
# request and answers with one 16 MiB send(); the client never reads,
# so the send waits for room, and meanwhile the client closes with
# SO_LINGER 0 (a reset).  The connection reaches CLOSE while the send is
# in the kernel; the send then returns what it had queued.  (A reset
# handled as the write releases the socket, seen with nginx under wrk
# -d, takes the same path.)
#  - tcplat -p SERVER --role server must count one request, none
#    incomplete, and the server's own count of bytes sent.
#  - With --proto http (an HTTP request, a header without
#    Content-Length, so that the body ends with the connection, then
#    the send): one GET, none incomplete, the header's and the send's
#    bytes out, nothing unparsed.  The close's record must come after
#    the send's, or the send's bytes go unparsed to a connection
#    already over and the GET holds the header's bytes only (nginx
#    under wrk: 3 of 105,250 whole responses counted incomplete).
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd python3
lk_need_bin tcplat
PY=$LK_TOP/tests/integration/tcplat_reset.py

# reset_run NAME REQ HDR [TCPLAT ARGS...]: one server, one reset
# client; tcplat's output in $LK_TMP/NAME, the send's result in SENT.
reset_run() {
	local name=$1 req=$2 hdr=$3 sp port
	shift 3
	port=$(lk_free_port) || fail "no free port"
	lk_held "$LK_TMP/go.$name" python3 "$PY" server "$port" "$LK_TMP/sent.$name" "$req" "$hdr"
	sp=$LK_LAST_PID
	lk_tcplat_bg "$LK_TMP/$name" -p "$sp" --role server "$@"
	lk_release "$LK_TMP/go.$name"
	lk_wait_for 10 bash -c "ss -Hltn 'sport = :$port' | grep -q ." || fail "server not listening"
	python3 "$PY" client "$port" "$req" || fail "client failed"
	wait "$sp" || fail "server failed"
	SENT=$(cat "$LK_TMP/sent.$name")
	echo "$name: the server's send returned $SENT"
	assert_ge "$SENT" 1 "$name: the server's send returned bytes"
	assert_le "$SENT" $((16 << 20)) "$name: the server's send returned at most what it was given"
	kill -INT "$LK_TCPLAT_PID"
	wait "$LK_TCPLAT_PID" || { cat "$LK_TMP/$name.err"; fail "tcplat ($name) failed"; }
	T=$(lk_summary "$LK_TMP/$name")
	echo "tcplat ($name): $T"
}

reset_run plain 'GET\n' ''
assert_eq "$(jq .requests <<<"$T")" 1 "tcplat requests"
assert_eq "$(jq .incomplete <<<"$T")" 0 "tcplat incomplete"
assert_eq "$(jq .bytes_out <<<"$T")" "$SENT" "tcplat bytes out = the server's send"
assert_eq "$(jq .bytes_in <<<"$T")" 4 "tcplat bytes in = the request"

HDR='HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n'
REQ='GET /r HTTP/1.1\r\nHost: t\r\n\r\n'
reset_run proto "$REQ" "$HDR" --proto http
jq -c 'select(.type == "operation")' "$LK_TMP/proto"
hlen=$(printf "$HDR" | wc -c) rlen=$(printf "$REQ" | wc -c)
assert_eq "$(lk_op "$LK_TMP/proto" http GET)" 1 "--proto: GET requests"
assert_eq "$(jq .requests <<<"$T")" 1 "--proto: requests"
assert_eq "$(jq .incomplete <<<"$T")" 0 "--proto: incomplete"
assert_eq "$(jq .unparsed_bytes <<<"$T")" 0 "--proto: bytes unparsed"
assert_eq "$(jq .lost_records <<<"$T")" 0 "--proto: records lost"
assert_eq "$(jq .bytes_out <<<"$T")" $((hlen + SENT)) "--proto: bytes out = the header and the server's send"
assert_eq "$(jq .bytes_in <<<"$T")" "$rlen" "--proto: bytes in = the request"
