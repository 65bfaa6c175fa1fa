#!/bin/bash
# tcpreq ping/echo and push on loopback in a throw-away namespace: both
# ends agree on counts and bytes, and the kernel's own counters of the
# namespace (Tcp InSegs, IpExt InOctets) account for those bytes.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcpreq
T=$OUTPUT/tcpreq
NS=$(lk_uid)
ip netns add "$NS" || fail "ip netns add"
lk_at_exit "ip netns del '$NS'"
ip -n "$NS" link set lo up
inns() { ip netns exec "$NS" "$@"; }
PORT=23324
ADDR=127.0.0.1:$PORT

lk_bg ip netns exec "$NS" "$T" server -j --nodelay "$ADDR" >"$LK_TMP/srv"
SERVER=$LK_LAST_PID
lk_wait_for 5 inns ss -Hltn "sport = :$PORT" || fail "server not listening"
[ -n "$(inns ss -Hltn "sport = :$PORT")" ] || fail "server not listening"
o0=$(lk_netstat "$NS" "IpExt InOctets")
s0=$(lk_netstat "$NS" "Tcp InSegs")

# Exactly 2000 round trips over 4 connections.
inns "$T" client -j -n 4 --nodelay --requests 2000 "$ADDR" >"$LK_TMP/ping" ||
	fail "ping client failed"
ping=$(jq -c 'select(.type == "summary")' "$LK_TMP/ping")
assert_eq "$(jq .requests <<<"$ping")" 2000 "ping requests"
assert_eq "$(jq .errors <<<"$ping")" 0 "ping errors"
assert_eq "$(jq .bytes_out <<<"$ping")" $((2000 * (24 + 64))) "ping bytes out"
assert_eq "$(jq .bytes_in <<<"$ping")" $((2000 * (24 + 64))) "ping bytes in"
assert_eq "$(jq .samples <<<"$ping")" 2000 "ping latency samples"
jq -e '.p50_us > 0 and .p50_us <= .p90_us and .p90_us <= .p99_us and
	.p99_us <= .p999_us and .p999_us <= .max_us and .rps > 0' <<<"$ping" >/dev/null ||
	fail "ping percentiles out of order: $ping"
ok "ping percentiles ordered: $(jq -c '[.p50_us, .p99_us, .max_us]' <<<"$ping")"

# 500 pushes of 1000 bytes, open loop at 5000/s.
inns "$T" client -j --mode push --size 1000 --rate 5000 --requests 500 "$ADDR" \
	>"$LK_TMP/push" || fail "push client failed"
push=$(jq -c 'select(.type == "summary")' "$LK_TMP/push")
assert_eq "$(jq .requests <<<"$push")" 500 "pushes sent"
assert_eq "$(jq .bytes_out <<<"$push")" $((500 * 1024)) "push bytes out"
assert_near "$(jq .duration_s <<<"$push")" 0.1 50 0.05 "500 pushes at 5000/s take 0.1 s"

# The positional form of the original demo: 2 connections, echo side sleeps 1 ms.
inns "$T" client -j --requests 100 2 ping 16 "$ADDR" >"$LK_TMP/pos" ||
	fail "positional client failed"
pos=$(jq -c 'select(.type == "summary")' "$LK_TMP/pos")
assert_eq "$(jq .requests <<<"$pos")" 100 "positional requests"
assert_eq "$(jq .bytes_out <<<"$pos")" $((100 * (24 + 16))) "positional bytes out"

# Interval records carry the promised fields and add up to the summary.
inns "$T" client -j -i 0.5 --duration 1.8 "$ADDR" >"$LK_TMP/ival" || fail "interval client failed"
nival=$(jq -s 'map(select(.type == "interval")) | length' "$LK_TMP/ival")
assert_ge "$nival" 3 "interval records"
jq -s -e 'map(select(.type == "interval")) | all(has("requests") and has("rps") and
	has("mean_us") and has("kib_in") and has("kib_out") and .requests > 0)' "$LK_TMP/ival" >/dev/null ||
	fail "interval record lacks a field: $(head -n 1 "$LK_TMP/ival")"
isum=$(jq -s 'map(select(.type == "interval") | .requests) | add' "$LK_TMP/ival")
ival=$(jq -c 'select(.type == "summary")' "$LK_TMP/ival")
assert_le "$isum" "$(jq .requests <<<"$ival")" "interval requests within the summary's"
assert_near "$isum" "$(jq .requests <<<"$ival")" 30 10 "intervals cover most of the run"

o1=$(lk_netstat "$NS" "IpExt InOctets")
s1=$(lk_netstat "$NS" "Tcp InSegs")
kill -INT "$SERVER"
wait "$SERVER" || fail "server exited with $?"
srv=$(jq -c 'select(.type == "summary")' "$LK_TMP/srv")
[ -n "$srv" ] || fail "no summary from the server after SIGINT"
assert_eq "$(jq .requests <<<"$srv")" $((2000 + 500 + 100 + $(jq .requests <<<"$ival"))) \
	"server: requests answered + pushes received"
assert_eq "$(jq .errors <<<"$srv")" 0 "server errors"
cin=$(jq -s 'map(.bytes_in) | add' <<<"$ping $push $pos $ival")
cout=$(jq -s 'map(.bytes_out) | add' <<<"$ping $push $pos $ival")
assert_eq "$(jq .bytes_in <<<"$srv")" "$cout" "server bytes in = clients' bytes out"
assert_eq "$(jq .bytes_out <<<"$srv")" "$cin" "server bytes out = clients' bytes in"

# Oracle: every byte crosses lo once; IpExt InOctets is the payload plus
# 52 bytes of IP+TCP+timestamp headers per segment (SYNs carry 8 more).
payload=$((cin + cout))
segs=$((s1 - s0))
octets=$((o1 - o0))
assert_ge "$segs" 1000 "segments on lo"
assert_near "$octets" $((payload + 52 * segs)) 1 200 "IpExt InOctets vs tcpreq bytes + headers"
