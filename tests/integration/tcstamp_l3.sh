#!/bin/bash
# An L3 device without a link-layer header (tun): tc sees packets from
# the IP header on.  Two tun devices in two namespaces, joined by a small
# python relay (bounded in time), tcpreq across them, tcstamp on the
# client's tun: one RTT sample per request (tcpreq's count is the
# oracle), each shorter than tcpreq's own round trip.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd python3
lk_need_cmd jq
lk_need_bin tcstamp
lk_need_bin tcpreq
[ -c /dev/net/tun ] || skip "no /dev/net/tun"
U=$(lk_uid)
NC=$U-c NS=$U-s
ip netns add "$NC" && lk_at_exit "ip netns del '$NC'"
ip netns add "$NS" && lk_at_exit "ip netns del '$NS'"

# The relay owns both tun fds; the devices go away when it exits.
cat >"$LK_TMP/relay.py" <<'PY'
import fcntl, os, select, struct, sys, time
TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454ca, 0x0001, 0x1000
def tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd
a, b = tun(sys.argv[1]), tun(sys.argv[2])
open(sys.argv[3], "w").close()
end = time.time() + float(sys.argv[4])
while time.time() < end:
    r, _, _ = select.select([a, b], [], [], 0.2)
    for fd in r:
        pkt = os.read(fd, 65536)
        try:
            os.write(b if fd == a else a, pkt)
        except OSError:     # the other device is not up yet
            pass
PY
lk_bg python3 "$LK_TMP/relay.py" "${U}a" "${U}b" "$LK_TMP/ready" 40
lk_wait_for 5 test -e "$LK_TMP/ready" || fail "tun relay did not start"
ip link set "${U}a" netns "$NC" && ip link set "${U}b" netns "$NS" || fail "cannot move the tun devices"
ip -n "$NC" addr add 10.77.0.1 peer 10.77.0.2 dev "${U}a"
ip -n "$NS" addr add 10.77.0.2 peer 10.77.0.1 dev "${U}b"
for n in "$NC" "$NS"; do ip -n "$n" link set lo up; done
ip -n "$NC" link set "${U}a" up && ip -n "$NS" link set "${U}b" up || fail "cannot bring the tun devices up"

PORT=7104
OUT=$LK_TMP/tcstamp.json
lk_bg ip netns exec "$NS" "$OUTPUT/tcpreq" server "10.77.0.2:$PORT"
lk_wait_for 5 ip netns exec "$NS" sh -c "ss -Htln | grep -q ':$PORT '" || fail "tcpreq server did not start"
lk_bg "$OUTPUT/tcstamp" -j -v -I "${U}a" --netns "$NC" >"$OUT" 2>"$LK_TMP/err"
TS_PID=$LK_LAST_PID
lk_wait_lines 60 "$LK_TMP/err" "attached to" || { cat "$LK_TMP/err"; fail "tcstamp did not start"; }
grep -q 'no link-layer header' "$LK_TMP/err" || { cat "$LK_TMP/err"; fail "tcstamp did not see an L3 device"; }
# A count, not a duration: a stalling qemu TCG guest made 187 round trips
# of 2 s at 200/s once.
ip netns exec "$NC" timeout 30 "$OUTPUT/tcpreq" client --rate 200 --requests 200 -j "10.77.0.2:$PORT" >"$LK_TMP/req" ||
	fail "tcpreq client failed"
sleep 0.3
kill -INT "$TS_PID"
wait "$TS_PID" || fail "tcstamp exited with an error"

req=$(jq 'select(.type == "summary") | .requests' "$LK_TMP/req")
app_p50=$(jq 'select(.type == "summary") | .p50_us' "$LK_TMP/req")
flow=$(jq -c 'select(.type == "flow" and .kind == "rtt")' "$OUT")
echo "tcpreq: $req requests, p50 $app_p50 us; tcstamp: $flow"
[ "$(echo "$flow" | wc -l)" = 1 ] || fail "expected one flow"
assert_eq "$req" 200 "tcpreq round trips"
assert_near "$(echo "$flow" | jq .samples)" "$req" 5 5 "RTT samples vs round trips"
assert_eq "$(jq 'select(.type == "summary") | .not_parsed' "$OUT")" 0 "packets not parsed"
assert_le "$(echo "$flow" | jq .p50_us)" "$app_p50" "tc-layer RTT p50 below tcpreq's"
