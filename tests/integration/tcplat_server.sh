#!/bin/bash
# tcplat on a tcpreq echo server that sleeps 5 ms per request, against
# the server's own figures: -p SERVER --role server counts exactly the
# replies tcpreq sent (the server stops after --requests N and tcplat
# reports after it exits, its last response counted at the close), the
# bytes match, and p50 is at least the 5 ms sleep and close to it.
# tcpreq's own figure is its service time, from its read to its reply:
# that is tcplat --from-read's clock (a second tcplat), whose p50 must be
# within 10% (or 20 us) of it and whose p99 no more than that above it.  The default clock adds the time
# from the request's arrival to its read: never less than --from-read's
# (on a loaded machine its tail is the server waiting for a CPU).  A
# third tcplat with -P shows one process row with the same count.
. "$(dirname "$0")/../lib.sh"
lk_tcplat_lab
PORT=23324
N=400

lk_bg ip netns exec "$LAB_S" "$T" server -j --nodelay --sleep-ms 5 --requests $N "0.0.0.0:$PORT" \
	>"$LK_TMP/srv"
sp=$LK_LAST_PID
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "server not listening"
for o in a r p; do
	args=(--role server)
	[ $o = r ] && args=(--role server --from-read)
	[ $o = p ] && args=(-P)
	timeout -s INT "$LK_HANG" "$OUTPUT/tcplat" -v -j -p "$sp" "${args[@]}" >"$LK_TMP/$o" 2>"$LK_TMP/$o.err" &
	LK_PIDS+=($!); eval "tp_$o=$!"
	lk_wait_for 20 grep -q tracing "$LK_TMP/$o.err" || { cat "$LK_TMP/$o.err"; fail "tcplat did not start"; }
done
lk_in_client "$T" client -j --nodelay -n 4 --requests $N "$LAB_S_IP:$PORT" >"$LK_TMP/cli" ||
	fail "client failed"
wait "$sp" || fail "server failed"
wait "$tp_a" || { cat "$LK_TMP/a.err"; fail "tcplat failed"; }
wait "$tp_p" || { cat "$LK_TMP/p.err"; fail "tcplat -P failed"; }
wait "$tp_r" || { cat "$LK_TMP/r.err"; fail "tcplat --from-read failed"; }
t=$(jq -c 'select(.type == "summary")' "$LK_TMP/a")
r=$(jq -c 'select(.type == "summary")' "$LK_TMP/r")
s=$(jq -c 'select(.type == "summary")' "$LK_TMP/srv")
echo "tcplat: $t"; echo "tcplat --from-read: $r"; echo "tcpreq server: $s"
lk_same_counts "$t" "$s" "$N"
assert_ge "$(jq .p50_us <<<"$t")" 5000 "p50 (us) at least the 5 ms sleep"
# Close to it: within 15%, or within 25% of tcpreq's own p50 where the
# machine stretches the sleep itself (qemu TCG in make vmtest: 7 ms).
lim=$(jq -n "[5750, 1.25 * $(jq .p50_us <<<"$s")] | max")
assert_le "$(jq .p50_us <<<"$t")" "$lim" "p50 (us) close to the 5 ms sleep"
assert_eq "$(jq .requests <<<"$r")" "$(jq .requests <<<"$s")" "--from-read requests"
assert_near "$(jq .p50_us <<<"$r")" "$(jq .p50_us <<<"$s")" 10 20 "--from-read p50 vs tcpreq's service time"
# p99: tcpreq's clock starts when its epoll_wait returns, before the
# read that tcplat --from-read starts at; under other load the server's
# wait for a CPU between the two is in tcpreq's tail alone (seen: 8528 us
# against 6226, 5 requests of 400): never above tcpreq's, at least the
# sleep.
assert_le "$(jq .p99_us <<<"$r")" "$(jq ".p99_us * 1.1 + 20" <<<"$s")" "--from-read p99 <= tcpreq's service time + 10%"
assert_ge "$(jq .p99_us <<<"$r")" 5000 "--from-read p99 at least the 5 ms sleep"
assert_ge "$(jq .p50_us <<<"$t")" "$(jq .p50_us <<<"$r")" "p50: arrival clock >= read clock"
assert_ge "$(jq .p99_us <<<"$t")" "$(jq .p99_us <<<"$r")" "p99: arrival clock >= read clock"
assert_eq "$(jq .incomplete <<<"$t")" 0 "incomplete requests"
grep -q "sk_data_ready: using\|tcp_probe: using" "$LK_TMP/a.err" || fail "no arrival hook chosen"

assert_eq "$(jq -r 'select(.type == "process") | "\(.pid) \(.comm) \(.requests)"' "$LK_TMP/p")" \
	"$sp tcpreq $N" "-P: one row, the server's"
assert_eq "$(jq 'select(.type == "summary") | .requests' "$LK_TMP/p")" $N "-P total"
