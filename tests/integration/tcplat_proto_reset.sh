#!/bin/bash
# tcplat --proto: a server's write under way when the client resets the
# connection returns after the connection reached CLOSE, so its record
# comes after the close's unless the close waits for it (a reset handled
# as the write releases the socket, seen with nginx under wrk -d: 3 of
# 105,250 responses nginx logged as whole were counted incomplete and
# their 3 x 1264 bytes unparsed).  The server here reads an HTTP request,
# sends a header with no Content-Length (the body ends with the
# connection), then the body in one 16 MiB send(); the client never
# reads, so that send waits for room, and meanwhile the client closes
# with SO_LINGER 0 (a reset).  The send then returns what it had queued.
# tcplat --proto http -p SERVER --role server must count one GET 2xx,
# none incomplete, the header's and the send's bytes out, nothing
# unparsed.  (A close recorded first would leave one GET 2xx of the
# header's bytes only, the send's bytes unparsed.)
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd python3
lk_need_bin tcplat

HDR='HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n'
REQ='GET /r HTTP/1.1\r\nHost: t\r\n\r\n'
PORT=$(lk_free_port) || fail "no free port"
cat >"$LK_TMP/server.py" <<'EOF'
import signal, socket, sys
signal.alarm(30)
req = sys.argv[3].encode().decode("unicode_escape").encode()
hdr = sys.argv[4].encode().decode("unicode_escape").encode()
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(1)
# Blocking (no timeout: Python would make the socket non-blocking), so
# that the send waits in the kernel for room.
c, _ = ls.accept()
got = b""
while not got.endswith(b"\r\n\r\n"):
    b = c.recv(100)
    assert b
    got += b
assert got == req, got
c.sendall(hdr)
try:
    n = c.send(b"x" * (16 << 20))
except OSError as e:
    n = -e.errno
open(sys.argv[2], "w").write("%d\n" % n)
EOF
lk_held "$LK_TMP/go" python3 "$LK_TMP/server.py" "$PORT" "$LK_TMP/sent" "$REQ" "$HDR"
sp=$LK_LAST_PID
lk_tcplat_bg "$LK_TMP/t" -p "$sp" --role server --proto http
lk_release "$LK_TMP/go"
lk_wait_for 10 bash -c "ss -Hltn 'sport = :$PORT' | grep -q ." || fail "server not listening"
python3 - "$PORT" "$REQ" <<'EOF' || fail "client failed"
import fcntl, socket, struct, sys, termios, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
# Until what the server sent has stopped growing in our receive queue
# (its send then waits for room), at most 20 s.
last, same = -1, 0
for _ in range(400):
    time.sleep(0.05)
    n = struct.unpack("i", fcntl.ioctl(s, termios.FIONREAD, b"\0" * 4))[0]
    same = same + 1 if n == last and n > 0 else 0
    last = n
    if same >= 4:
        break
else:
    sys.exit("the server's data never stopped arriving")
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
EOF
wait "$sp" || fail "server failed"
sent=$(cat "$LK_TMP/sent")
hlen=$(printf "$HDR" | wc -c) rlen=$(printf "$REQ" | wc -c)
echo "server's send returned $sent after a header of $hlen bytes"
assert_ge "$sent" 1 "the server's send returned bytes"
assert_le "$sent" $((16 << 20)) "the server's send returned at most what it was given"
kill -INT "$LK_TCPLAT_PID"
wait "$LK_TCPLAT_PID" || { cat "$LK_TMP/t.err"; fail "tcplat failed"; }
t=$(lk_summary "$LK_TMP/t")
echo "tcplat: $t"
jq -c 'select(.type == "operation")' "$LK_TMP/t"
assert_eq "$(lk_op "$LK_TMP/t" http GET)" 1 "tcplat GET requests"
assert_eq "$(jq .requests <<<"$t")" 1 "tcplat requests"
assert_eq "$(jq .incomplete <<<"$t")" 0 "tcplat incomplete"
assert_eq "$(jq .unparsed_bytes <<<"$t")" 0 "tcplat bytes unparsed"
assert_eq "$(jq .lost_records <<<"$t")" 0 "tcplat records lost"
assert_eq "$(jq .bytes_out <<<"$t")" $((hlen + sent)) "tcplat bytes out = the header and the server's send"
assert_eq "$(jq .bytes_in <<<"$t")" "$rlen" "tcplat bytes in = the request"
