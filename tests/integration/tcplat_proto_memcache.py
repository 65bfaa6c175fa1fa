#!/usr/bin/env python3
"""A memcached client for tcplat_proto_memcache.sh: CONNS connections,
each pipelining its commands (several in one write), answered in order.

Per connection: KEYS keys set (half with noreply), then ROUNDS rounds of
GETS multi-gets of 10 keys each in one write, one incr, one delete of a
missing key, and one get of 3 keys.  Prints what it sent, per command,
as JSON: the test compares memcached's stats and tcplat with it.
Bounded: every read has a 10 s timeout, every loop a fixed count."""
import json
import socket
import sys

port, conns, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
KEYS, GETS, PER_GET = 40, 4, 10
sent = {"set": 0, "set_noreply": 0, "get": 0, "get_keys": 0, "incr": 0, "delete": 0}


def read_until(s, buf, n_ends, end):
    """Read until `end` has been seen n_ends more times; returns the rest."""
    while buf.count(end) < n_ends:
        d = s.recv(65536)
        if not d:
            sys.exit("memcached closed the connection")
        buf += d
    # Drop what the n_ends replies took.
    for _ in range(n_ends):
        buf = buf[buf.index(end) + len(end):]
    return buf


for c in range(conns):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    buf = b""
    value = b"v" * (100 + c)
    # Sets: one write, half of them noreply (those get no reply at all).
    out = b""
    for k in range(KEYS):
        noreply = b" noreply" if k % 2 else b""
        out += b"set k%d_%d 0 0 %d%s\r\n%s\r\n" % (c, k, len(value), noreply, value)
        sent["set_noreply" if noreply else "set"] += 1
    s.sendall(out)
    buf = read_until(s, buf, KEYS // 2, b"STORED\r\n")
    for r in range(rounds):
        out = b""
        for g in range(GETS):
            keys = [b"k%d_%d" % (c, (r * GETS * PER_GET + g * PER_GET + i) % KEYS)
                    for i in range(PER_GET)]
            out += b"get " + b" ".join(keys) + b"\r\n"
            sent["get"] += 1
            sent["get_keys"] += PER_GET
        out += b"incr counter_%d 1\r\n" % c
        sent["incr"] += 1
        out += b"delete missing_%d\r\n" % c
        sent["delete"] += 1
        out += b"get k%d_0 k%d_1 missing\r\n" % (c, c)
        sent["get"] += 1
        sent["get_keys"] += 3
        s.sendall(out)
        # In order: GETS gets ending in END, NOT_FOUND for the incr of a
        # missing key and for the delete, then the last get's END.
        buf = read_until(s, buf, GETS + 1, b"END\r\n")
    s.close()
print(json.dumps(sent))
