#!/bin/bash
# A server's response whose write is under way when the client resets
# the connection is a finished request, as the server sees it: its write
# returns the bytes it sent.  The server here reads a request and
# answers with one 16 MiB send(); the client never reads, so the send
# waits for room, and meanwhile the client closes with SO_LINGER 0 (a
# reset).  The connection reaches CLOSE while the send is in the kernel;
# the send then returns what it had queued.  tcplat -p SERVER --role
# server must count one request, none incomplete, and the server's own
# count of bytes sent.  (A reset handled as the write releases the
# socket, seen with nginx under wrk -d, takes the same path.)
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd python3
lk_need_bin tcplat

PORT=$(lk_free_port) || fail "no free port"
cat >"$LK_TMP/server.py" <<'EOF'
import signal, socket, sys
signal.alarm(30)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(1)
# Blocking (no timeout: Python would make the socket non-blocking), so
# that the send waits in the kernel for room.
c, _ = ls.accept()
assert c.recv(100) == b"GET\n"
try:
    n = c.send(b"x" * (16 << 20))
except OSError as e:
    n = -e.errno
open(sys.argv[2], "w").write("%d\n" % n)
EOF
lk_held "$LK_TMP/go" python3 "$LK_TMP/server.py" "$PORT" "$LK_TMP/sent"
sp=$LK_LAST_PID
lk_tcplat_bg "$LK_TMP/t" -p "$sp" --role server
lk_release "$LK_TMP/go"
lk_wait_for 10 bash -c "ss -Hltn 'sport = :$PORT' | grep -q ." || fail "server not listening"
python3 - "$PORT" <<'EOF' || fail "client failed"
import fcntl, socket, struct, sys, termios, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET\n")
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
echo "server's send returned $sent"
assert_ge "$sent" 1 "the server's send returned bytes"
assert_le "$sent" $((16 << 20)) "the server's send returned at most what it was given"
kill -INT "$LK_TCPLAT_PID"
wait "$LK_TCPLAT_PID" || { cat "$LK_TMP/t.err"; fail "tcplat failed"; }
t=$(lk_summary "$LK_TMP/t")
echo "tcplat: $t"
assert_eq "$(jq .requests <<<"$t")" 1 "tcplat requests"
assert_eq "$(jq .incomplete <<<"$t")" 0 "tcplat incomplete"
assert_eq "$(jq .bytes_out <<<"$t")" "$sent" "tcplat bytes out = the server's send"
assert_eq "$(jq .bytes_in <<<"$t")" 4 "tcplat bytes in = the request"
