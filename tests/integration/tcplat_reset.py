#!/usr/bin/env python3
"""A server whose one large send() is under way when its client resets.

server PORT SENTFILE REQ HDR: accept one connection, read REQ, send HDR,
then 16 MiB in one blocking send(); write what that send returned (or
-errno) to SENTFILE.
client PORT REQ: send REQ, never read; once the server's data has stopped
arriving (its send then waits for room), close with SO_LINGER 0 (a
reset).
REQ and HDR take C escapes (\\r\\n); HDR may be empty.
"""
import fcntl
import signal
import socket
import struct
import sys
import termios
import time


def unescape(s):
    return s.encode().decode("unicode_escape").encode()


def server(port, sentfile, req, hdr):
    signal.alarm(30)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1)
    # Blocking (no timeout: Python would make the socket non-blocking),
    # so that the send waits in the kernel for room.
    c, _ = ls.accept()
    got = b""
    while len(got) < len(req):
        b = c.recv(100)
        assert b
        got += b
    assert got == req, got
    if hdr:
        c.sendall(hdr)
    try:
        n = c.send(b"x" * (16 << 20))
    except OSError as e:
        n = -e.errno
    with open(sentfile, "w") as f:
        f.write("%d\n" % n)


def client(port, req):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    # Until what the server sent has stopped growing in our receive
    # queue, at most 20 s.
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


if sys.argv[1] == "server":
    server(int(sys.argv[2]), sys.argv[3], unescape(sys.argv[4]), unescape(sys.argv[5]))
else:
    client(int(sys.argv[2]), unescape(sys.argv[3]))
