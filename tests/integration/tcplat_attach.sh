#!/bin/bash
# tcplat attached to connections already running (--role auto): it never
# saw them open, so it guesses each socket's role from the ports (the
# client's is ephemeral).  Both ends' flow rows must have the right,
# guessed role and count requests; their rates must agree with tcpreq's
# own interval figures (within 25%: the windows are not aligned), and
# the client's p50 with tcpreq's (within 25% or 30 us).  Then IPv6 on
# the server namespace's loopback: -6 sees it, -4 does not.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcplat
lk_need_bin tcpreq
lk_lab_up
T=$OUTPUT/tcpreq
PORT=23324

lk_bg ip netns exec "$LAB_S" "$T" server --nodelay --sleep-ms 0.2 "0.0.0.0:$PORT"
lk_wait_for 5 ip netns exec "$LAB_S" ss -Hltn "sport = :$PORT" || fail "server not listening"
lk_bg ip netns exec "$LAB_C" "$T" client -j -i 0.5 --nodelay -n 4 --duration 6 "$LAB_S_IP:$PORT" \
	>"$LK_TMP/cli"
cp=$LK_LAST_PID
lk_wait_for 5 grep -q interval "$LK_TMP/cli" || fail "client not running"
for side in c s; do
	ns=$LAB_C
	[ $side = s ] && ns=$LAB_S
	timeout -s INT 60 "$OUTPUT/tcplat" -v -j -F --netns "$ns" -c tcpreq 2 1 \
		>"$LK_TMP/$side" 2>"$LK_TMP/$side.err" &
	LK_PIDS+=($!); eval "tp_$side=$!"
done
wait "$tp_c" || { cat "$LK_TMP/c.err"; fail "tcplat (client side) failed"; }
wait "$tp_s" || { cat "$LK_TMP/s.err"; fail "tcplat (server side) failed"; }
wait "$cp" || fail "client failed"
cat "$LK_TMP/c" "$LK_TMP/s"
assert_eq "$(jq -r 'select(.type == "flow") | "\(.role) \(.role_guessed) \(.rport)"' "$LK_TMP/c" | sort -u)" \
	"client true $PORT" "client side: guessed client"
assert_eq "$(jq -r 'select(.type == "flow") | "\(.role) \(.role_guessed) \(.lport)"' "$LK_TMP/s" | sort -u)" \
	"server true $PORT" "server side: guessed server"
assert_eq "$(jq -s '[.[] | select(.type == "flow" and .requests > 0)] | length' "$LK_TMP/c")" 4 \
	"client side: 4 connections with requests"
ref=$(jq -s '[.[] | select(.type == "interval") | .rps] | sort | .[length / 2 | floor]' "$LK_TMP/cli")
for side in c s; do
	assert_near "$(jq 'select(.type == "summary") | .rps' "$LK_TMP/$side")" "$ref" 25 0 \
		"$side: rps vs tcpreq's median interval rps"
done
assert_near "$(jq 'select(.type == "summary") | .p50_us' "$LK_TMP/c")" \
	"$(jq 'select(.type == "summary") | .p50_us' "$LK_TMP/cli")" 25 30 "client p50 vs tcpreq's"

# IPv6 over the server namespace's loopback.
lk_bg ip netns exec "$LAB_S" "$T" server --nodelay "[::1]:7006"
lk_wait_for 5 ip netns exec "$LAB_S" ss -Hltn "sport = :7006" || fail "v6 server not listening"
for f in 4 6; do
	timeout -s INT 60 "$OUTPUT/tcplat" -v -j -F -$f --netns "$LAB_S" --lport 7006 \
		>"$LK_TMP/v$f" 2>"$LK_TMP/v$f.err" &
	LK_PIDS+=($!); eval "tp_$f=$!"
	lk_wait_for 20 grep -q tracing "$LK_TMP/v$f.err" || fail "tcplat -$f did not start"
done
lk_in_server "$T" client -j -n 2 --requests 300 "[::1]:7006" >"$LK_TMP/c6" || fail "v6 client failed"
sleep 0.3
kill -INT "$tp_4" "$tp_6"; wait "$tp_4"; wait "$tp_6"
assert_eq "$(jq 'select(.type == "summary") | .requests' "$LK_TMP/v6")" 300 "-6: the v6 server's requests"
assert_eq "$(jq -r 'select(.type == "flow") | "\(.laddr) \(.role)"' "$LK_TMP/v6" | sort -u)" "::1 server" \
	"-6: flow address and role"
assert_eq "$(jq 'select(.type == "summary") | .requests' "$LK_TMP/v4")" 0 "-4: nothing"
