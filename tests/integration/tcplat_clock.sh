#!/bin/bash
# tcplat's client clock against tcpreq's own, on one ping connection
# across the netlab with no server sleep (round trips of 15 to 40 us, so
# that a few microseconds show).  Two tcplats trace the same client at
# once: the default, whose requests start when their first send enters
# TCP, and --syscall-entry, whose start at the send syscall's entry.
# Each request's three intervals nest (tcpreq reads its clock before its
# send and after its recv; the syscall's entry comes before TCP's; both
# tcplats end at the recv's return), so over the same requests the means
# are ordered exactly: default <= --syscall-entry <= tcpreq's.  The
# medians, each against the next clock out:
#  - the default's p50 within max(2 us, 5%) of --syscall-entry's: they
#    differ by the path from the syscall's entry to TCP (0.5 to 1.1 us
#    over six runs on one 2-vCPU VM, one of them loaded), while a clock
#    that started at the send's return, leaving out the transmit path
#    and the server's receive that run inside the send, fell 4.7 us
#    short of tcpreq's on another VM, where the default fell 1.4 to
#    1.6 us short: some 3 us of send path, which fails;
#  - --syscall-entry's p50 within max(3 us, 5%) of tcpreq's: they differ
#    by tcpreq's own user time and syscall exit, which no kernel clock
#    holds (1.6 to 2.2 us on the first VM).  tcpreq minus the default is
#    the sum, 2.3 to 3.3 us there: compared directly, it failed a run.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcplat
lk_need_bin tcpreq
lk_lab_up
T=$OUTPUT/tcpreq
PORT=23325
N=${TCPLAT_N:-3000}

lk_bg ip netns exec "$LAB_S" taskset -c 0 "$T" server --nodelay "0.0.0.0:$PORT"
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "server not listening"

fifo=$LK_TMP/go
mkfifo "$fifo"
lk_bg ip netns exec "$LAB_C" bash -c \
	"read -r _ <'$fifo'; exec taskset -c 0 '$T' client -j --nodelay -n 1 --requests $N '$LAB_S_IP:$PORT'" \
	>"$LK_TMP/tcpreq"
cp=$LK_LAST_PID
for v in tcp syscall; do
	args=()
	[ $v = syscall ] && args=(--syscall-entry)
	timeout -s INT 120 "$OUTPUT/tcplat" -v -j -p "$cp" --role client "${args[@]}" \
		>"$LK_TMP/$v" 2>"$LK_TMP/$v.err" &
	LK_PIDS+=($!)
	eval "tp_$v=$!"
done
for v in tcp syscall; do
	lk_wait_for 30 grep -q tracing "$LK_TMP/$v.err" || { cat "$LK_TMP/$v.err"; fail "tcplat ($v) did not start"; }
done
grep -q "client requests start when their first send enters TCP" "$LK_TMP/tcp.err" ||
	{ cat "$LK_TMP/tcp.err"; fail "-v: the default clock is not a send's entry into TCP"; }
grep -q "client requests start at their first send syscall's entry" "$LK_TMP/syscall.err" ||
	{ cat "$LK_TMP/syscall.err"; fail "-v: --syscall-entry is not the syscall's entry"; }
echo go >"$fifo"
wait "$cp" || fail "tcpreq client failed"
wait "$tp_tcp" || { cat "$LK_TMP/tcp.err"; fail "tcplat failed"; }
wait "$tp_syscall" || { cat "$LK_TMP/syscall.err"; fail "tcplat --syscall-entry failed"; }

c=$(jq -c 'select(.type == "summary")' "$LK_TMP/tcpreq")
a=$(jq -c 'select(.type == "summary")' "$LK_TMP/tcp")
b=$(jq -c 'select(.type == "summary")' "$LK_TMP/syscall")
echo "tcpreq:          $c"
echo "tcplat:          $a"
echo "--syscall-entry: $b"
assert_eq "$(jq .requests <<<"$c")" "$N" "tcpreq requests"
assert_eq "$(jq .measured <<<"$c")" "$N" "tcpreq measured every request"
assert_eq "$(jq .requests <<<"$a")" "$N" "tcplat requests"
assert_eq "$(jq .requests <<<"$b")" "$N" "tcplat --syscall-entry requests"
assert_le "$(jq .mean_us <<<"$a")" "$(jq .mean_us <<<"$b")" "mean: TCP's entry <= the syscall's entry"
assert_le "$(jq .mean_us <<<"$b")" "$(jq .mean_us <<<"$c")" "mean: the syscall's entry <= tcpreq's"
# Under qemu TCG (make vmtest) tcpreq's own user time is many times
# larger: 30% there.
pct=5
[ "${LK_TCG:-0}" = 1 ] && pct=30
assert_near "$(jq .p50_us <<<"$a")" "$(jq .p50_us <<<"$b")" $pct 2 "p50 vs --syscall-entry's"
assert_near "$(jq .p50_us <<<"$b")" "$(jq .p50_us <<<"$c")" $pct 3 "--syscall-entry p50 vs tcpreq's"
