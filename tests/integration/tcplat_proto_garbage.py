#!/usr/bin/env python3
"""Streams that a framer must survive, sent to a redis-server for
tcplat_proto_garbage.sh, each on a connection of its own, then valid
commands that must still be counted.  Bounded: every socket has a 10 s
timeout, every loop a fixed count.  Prints what it sent as JSON."""
import json
import random
import socket
import sys

port, pings = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(1234)


def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def drain(s):
    """Read until the server closes or stays quiet for 0.3 s."""
    s.settimeout(0.3)
    try:
        while s.recv(65536):
            pass
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def read_reply_line(s, buf):
    while b"\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            sys.exit("redis closed the connection")
        buf += d
    return buf[buf.index(b"\r\n") + 2:]


# Random bytes that begin with no protocol (first byte not *, a letter or 0x80).
s = conn()
garbage = bytes([0x01]) + bytes(rng.randrange(256) for _ in range(4095))
s.sendall(garbage)
drain(s)
# A Redis command cut off before its end, then the connection closed.
s = conn()
s.sendall(b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$10\r\nabc")
s.close()
# An HTTP request whose header line is longer than any framer keeps.
s = conn()
s.sendall(b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 20000 + b"\r\n\r\n")
drain(s)
# The HTTP/2 preface; memcached's binary protocol.
s = conn()
s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
drain(s)
s = conn()
s.sendall(bytes([0x80, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                 0, 0, 0, 0, 0, 0, 0, 0]))
drain(s)
# Valid commands after all that: PINGs one at a time, a SET whose value
# is far larger than what tcplat copies, and a SET written a byte at a
# time.
s = conn()
buf = b""
for _ in range(pings):
    s.sendall(resp(b"PING"))
    buf = read_reply_line(s, buf)
s.sendall(resp(b"SET", b"big", b"v" * 100000))
buf = read_reply_line(s, buf)
for b in resp(b"SET", b"small", b"value"):
    s.sendall(bytes([b]))
buf = read_reply_line(s, buf)
s.close()
print(json.dumps({"pings": pings, "sets": 2, "garbage_bytes": len(garbage)}))
