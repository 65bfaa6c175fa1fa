#!/bin/bash
# tcplat --proto memcache against memcached's own stats: a memcached of
# the test's own (one thread, loopback, a free port) and
# tcplat_proto_memcache.py, a client that pipelines its commands (sets,
# half of them noreply, in one write; per round four 10-key gets, an
# incr, a delete and a 3-key get in one write) on 4 connections.
#
# Server side, tcplat --proto memcache -p MEMCACHED --role server, and
# client side, -p CLIENT --role client:
#   - set: replied requests + noreply = stats cmd_set;
#   - incr = incr_hits + incr_misses, delete = delete_hits +
#     delete_misses;
#   - get: memcached counts keys (cmd_get), tcplat commands: the
#     client's keys per command agree with cmd_get, and tcplat's get
#     requests equal the client's commands;
#   - the stats command that reads them is one more request (server).
# Nothing incomplete, no framing lost.  Without the payload programs no
# request is framed: every count fails.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd memcached
lk_need_cmd python3
lk_need_bin tcplat
ROUNDS=${TCPLAT_PROTO_MEMCACHE_ROUNDS:-200}
[ "${LK_TCG:-0}" = 1 ] && ROUNDS=20

PORT=$(lk_free_port) || fail "no free port"
lk_bg memcached -p "$PORT" -l 127.0.0.1 -U 0 -t 1 -u root
MC=$LK_LAST_PID
lk_wait_for 10 bash -c "ss -Hltnp 'sport = :$PORT' | grep -q 'pid=$MC,'" || fail "memcached not listening on $PORT"
# memcached's stats, "NAME VALUE" lines.
mc_stats() {
	python3 - "$PORT" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"stats\r\n")
buf = b""
while not buf.endswith(b"END\r\n"):
    d = s.recv(65536)
    if not d:
        break
    buf += d
for line in buf.decode().splitlines():
    if line.startswith("STAT "):
        print(line[5:])
EOF
}
stat() { awk -v k="$1" '$1 == k { print $2 }' "$LK_TMP/stats"; }

lk_tcplat_bg "$LK_TMP/s" -p "$MC" --role server --proto memcache
sp=$LK_TCPLAT_PID
lk_held "$LK_TMP/go" python3 "$LK_TOP/tests/integration/tcplat_proto_memcache.py" "$PORT" 4 "$ROUNDS" \
	>"$LK_TMP/sent" 2>"$LK_TMP/client.err"
cl=$LK_LAST_PID
lk_tcplat_bg "$LK_TMP/c" -p "$cl" --role client --proto memcache
cp=$LK_TCPLAT_PID
lk_release "$LK_TMP/go"
wait "$cl" || { cat "$LK_TMP/client.err"; fail "the memcached client failed"; }
wait "$cp" || { cat "$LK_TMP/c.err"; fail "tcplat (client) failed"; }
mc_stats >"$LK_TMP/stats" || fail "memcached stats failed"
kill -INT "$sp"
wait "$sp" || { cat "$LK_TMP/s.err"; fail "tcplat (server) failed"; }
sent=$(cat "$LK_TMP/sent")
echo "client sent: $sent"
grep -E '^(cmd_|get_|incr_|delete_)' "$LK_TMP/stats"

assert_eq "$(jq .get_keys <<<"$sent")" "$(stat cmd_get)" "client's keys in gets = cmd_get"
assert_eq "$(jq '.set + .set_noreply' <<<"$sent")" "$(stat cmd_set)" "client's sets = cmd_set"
for side in s c; do
	t=$(lk_summary "$LK_TMP/$side")
	echo "tcplat ($side): $t"
	jq -c 'select(.type == "operation")' "$LK_TMP/$side"
	assert_eq $(($(lk_op "$LK_TMP/$side" memcache set) + $(lk_op "$LK_TMP/$side" memcache set noreply))) \
		"$(stat cmd_set)" "$side: set requests + noreply = cmd_set"
	assert_eq "$(lk_op "$LK_TMP/$side" memcache set noreply)" "$(jq .set_noreply <<<"$sent")" "$side: set noreply"
	assert_eq "$(lk_op "$LK_TMP/$side" memcache incr)" $(($(stat incr_hits) + $(stat incr_misses))) \
		"$side: incr = incr_hits + incr_misses"
	assert_eq "$(lk_op "$LK_TMP/$side" memcache delete)" $(($(stat delete_hits) + $(stat delete_misses))) \
		"$side: delete = delete_hits + delete_misses"
	assert_eq "$(lk_op "$LK_TMP/$side" memcache get)" "$(jq .get <<<"$sent")" "$side: get = the client's get commands"
	assert_eq "$(jq .incomplete <<<"$t")" 0 "$side: incomplete"
	assert_eq "$(jq '[.framing_lost[]] | add' <<<"$t")" 0 "$side: connections whose framing was lost"
	assert_eq "$(jq .unparsed_bytes <<<"$t")" 0 "$side: bytes unparsed"
	assert_eq "$(jq .connections.memcache <<<"$t")" $([ $side = s ] && echo 5 || echo 4) \
		"$side: connections framed as memcache"
done
assert_eq "$(lk_op "$LK_TMP/s" memcache stats)" 1 "server: the stats command"
