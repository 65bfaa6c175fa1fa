#!/bin/bash
# Hostile peers do not stop the tcpreq server: garbage, a length above
# --max-size, a close mid-header and mid-payload, an unknown type, and a
# client that floods requests without reading replies.  Each bad
# connection is dropped and counted once; good clients are served
# throughout, and the server never grows by what a peer announces.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd python3
lk_need_bin tcpreq
T=$OUTPUT/tcpreq
lk_ns_up
PORT=23324
ADDR=127.0.0.1:$PORT

lk_bg ip netns exec "$NS" "$T" server -j --max-size 4096 "$ADDR" >"$LK_TMP/srv" 2>"$LK_TMP/srv.err"
SERVER=$LK_LAST_PID
lk_wait_for 5 lk_listening "$NS" "$PORT" || fail "server not listening"

# A good client keeps running while the bad ones come and go.
lk_bg ip netns exec "$NS" "$T" client -j --duration 6 "$ADDR" >"$LK_TMP/good"
GOOD=$LK_LAST_PID
sleep 0.5
cat >"$LK_TMP/bad.py" <<'PY'
import socket, struct, sys, time
port = int(sys.argv[1])
def hdr(t, n, seq=1, ts=1, magic=0x4b4c, ver=1):
    return struct.pack('<HBBIQQ', magic, ver, t, n, seq, ts)
def conn():
    return socket.create_connection(('127.0.0.1', port))
def closed_by_server(s):
    s.settimeout(3)
    try:
        while s.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
bad = 0
# Dropped by the server: it must close them.
for data in (b'GET / HTTP/1.0\r\n\r\n', hdr(1, 1 << 30), hdr(1, 4097),
             hdr(9, 3) + b'abc', hdr(1, 3, ver=7)):
    s = conn(); s.sendall(data)
    if not closed_by_server(s):
        sys.exit('server kept a bad connection open: %r' % data[:8])
    s.close(); bad += 1
# Closed by us mid-message.
for data in (hdr(1, 100)[:10], hdr(1, 100) + b'x' * 50):
    s = conn(); s.sendall(data); time.sleep(0.1); s.close(); bad += 1
# A flood of 20 MB of requests without reading replies: the server must
# stop reading (bounded queue), not buffer replies without end.
s = conn(); s.setblocking(False)
chunk = (hdr(1, 1000) + b'z' * 1000) * 64
sent = 0
deadline = time.time() + 3
while sent < 20 << 20 and time.time() < deadline:
    try:
        # Keep the framing across partial sends.
        sent += s.send(chunk[sent % len(chunk):])
    except BlockingIOError:
        time.sleep(0.01)
print('flood: sent %d bytes before the server stopped reading' % sent)
if sent >= 20 << 20:
    sys.exit('server read 20 MB without the client reading a reply')
s.close(); bad += 1
print(bad)
PY
ip netns exec "$NS" python3 "$LK_TMP/bad.py" "$PORT" >"$LK_TMP/bad" ||
	{ cat "$LK_TMP/srv.err"; fail "bad peers: $(cat "$LK_TMP/bad")"; }
cat "$LK_TMP/bad"
nbad=$(tail -n 1 "$LK_TMP/bad")
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$SERVER/status")
assert_le "$rss" 65536 "server RSS in KiB after hostile peers"
kill -0 "$SERVER" 2>/dev/null || fail "server died"
wait "$GOOD" || fail "good client failed while bad peers came"
good=$(jq -c 'select(.type == "summary")' "$LK_TMP/good")
assert_eq "$(jq .errors <<<"$good")" 0 "good client errors"
assert_ge "$(jq .requests <<<"$good")" 1000 "good client requests"

# The server still answers a new client.
ip netns exec "$NS" "$T" client -j --requests 100 "$ADDR" >"$LK_TMP/after" ||
	fail "client after the bad peers failed"
assert_eq "$(jq 'select(.type == "summary") | .requests' "$LK_TMP/after")" 100 "requests after"

kill -TERM "$SERVER"
wait "$SERVER" || fail "server exited with $?"
srv=$(jq -c 'select(.type == "summary")' "$LK_TMP/srv")
cat "$LK_TMP/srv.err"
assert_eq "$(jq .errors <<<"$srv")" "$nbad" "server errors = bad connections"
assert_ge "$(jq .requests <<<"$srv")" "$(( $(jq .requests <<<"$good") + 100 ))" "server requests"
# One line per bad connection.
assert_eq "$(grep -c 'connection dropped' "$LK_TMP/srv.err")" "$nbad" "log lines"
