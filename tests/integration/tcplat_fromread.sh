#!/bin/bash
# The server's two clocks.  A deliberately slow reader (tests/progs/
# tcplat_slowsrv) waits 4 ms after each reply before reading again and
# takes 1 ms to answer; tcpreq's ping client sends the next request as
# soon as a reply is in, so each request (but a connection's first)
# waits about 4 ms in the receive buffer.  Two tcplat at once on the
# server: the default (arrival) clock shows about 5 ms, --from-read about
# 1 ms; both count exactly the replies the server sent.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcplat
lk_need_bin tcpreq
SRV=$OUTPUT/tests/progs/tcplat_slowsrv
lk_need_prog tcplat_slowsrv
lk_lab_up
PORT=23324
N=300

lk_bg ip netns exec "$LAB_S" "$SRV" "$LAB_S_IP" $PORT 4 1 >"$LK_TMP/srv"
sp=$LK_LAST_PID
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "server not listening"
for o in arr read; do
	args=()
	[ $o = read ] && args=(--from-read)
	timeout -s INT "$LK_HANG" "$OUTPUT/tcplat" -v -j -p "$sp" --role server "${args[@]}" \
		>"$LK_TMP/$o" 2>"$LK_TMP/$o.err" &
	LK_PIDS+=($!); eval "tp_$o=$!"
	lk_wait_for 20 grep -q tracing "$LK_TMP/$o.err" || { cat "$LK_TMP/$o.err"; fail "tcplat did not start"; }
done
lk_in_client "$OUTPUT/tcpreq" client -j --nodelay -n 2 --requests $N "$LAB_S_IP:$PORT" >"$LK_TMP/cli" ||
	fail "client failed"
sleep 0.2
kill -INT "$tp_arr" "$tp_read"
wait "$tp_arr" || fail "tcplat failed"
wait "$tp_read" || fail "tcplat --from-read failed"
kill -TERM "$sp"; wait "$sp"
served=$(awk '/^served/ { print $2 }' "$LK_TMP/srv")
a=$(jq -c 'select(.type == "summary")' "$LK_TMP/arr")
r=$(jq -c 'select(.type == "summary")' "$LK_TMP/read")
echo "arrival clock: $a"; echo "read clock: $r"; echo "server: served $served"
assert_eq "$served" $N "replies the server sent"
assert_eq "$(jq .requests <<<"$a")" "$served" "requests (arrival clock)"
assert_eq "$(jq .requests <<<"$r")" "$served" "requests (--from-read)"
# Bounds loose enough for qemu TCG, where the 1 ms sleep takes 3 ms.
assert_ge "$(jq .p50_us <<<"$r")" 1000 "--from-read p50 (us): the 1 ms service"
assert_le "$(jq .p50_us <<<"$r")" 4000 "--from-read p50 (us): no queueing"
assert_ge "$(jq .p50_us <<<"$a")" 4800 "arrival p50 (us): service + 4 ms in the queue"
q=$(jq -n "$(jq .p50_us <<<"$a") - $(jq .p50_us <<<"$r")")
assert_ge "$q" 3500 "arrival minus read clock (us): the 4 ms queueing"
assert_le "$q" 8000 "arrival minus read clock (us): no more than the queueing"
