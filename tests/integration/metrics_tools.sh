#!/bin/bash
# syslat, tcpretrans_cnt and tcstamp exported counters against oracles
# they did not compute, each non-zero:
#   syslat: a --textfile written at exit (-p of tests/progs/syslat_work,
#     -e, -i 1 so that interval reports clear the maps in between) holds
#     the workload's known getppid/nanosleep/openat/read counts, its
#     ENOENT and ERESTARTSYS errors, and a nanosleep histogram whose
#     _count is the calls and whose 2 ms sleeps sit below le=0.004194304;
#   tcpretrans_cnt (--netns of the client, -i 1) under netlab --loss:
#     the sum over kinds of latkit_tcp_retransmitted_segments_total, read
#     at /metrics once every socket is closed, equals the growth of the
#     namespace's Tcp: RetransSegs, and the tool's own
#     latkit_tcp_kernel_retransmitted_segments_total equals RetransSegs;
#   tcstamp (-I veth0 --netns client, -i 1): sent bytes less retransmitted
#     bytes equal tcpreq's bytes out; RTT samples at least one per two
#     requests, at most one per segment sent.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd curl
lk_need_cmd jq
lk_need_cmd promtool
lk_need_bin syslat
lk_need_bin tcpretrans_cnt
lk_need_bin tcstamp
lk_need_bin tcpreq
val() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
sum_of() { awk -v p="$2" 'index($1, p) == 1 { s += $2 } END { print s + 0 }' "$1"; }

# --- syslat ---
WORK=$OUTPUT/tests/progs/syslat_work
lk_need_prog syslat_work
N=2000 M=30 K=25 R=3
ready=$LK_TMP/ready
"$WORK" "$ready" $N $M $K $R &
wp=$!; LK_PIDS+=($wp)
lk_wait_for 10 test -e "$ready" || fail "workload did not start"
timeout -s INT "$LK_HANG" "$OUTPUT/syslat" -v -e -i 1 -p "$wp" --textfile "$LK_TMP/syslat.prom" \
	>"$LK_TMP/syslat.out" 2>"$LK_TMP/syslat.err" &
sp=$!; LK_PIDS+=($sp)
lk_wait_for 20 grep -q tracing "$LK_TMP/syslat.err" || { cat "$LK_TMP/syslat.err"; fail "syslat did not start"; }
# Across at least one interval report.
sleep 1.5
kill -USR1 "$wp"
wait "$wp" || fail "workload failed"
wait "$sp" || { cat "$LK_TMP/syslat.err"; fail "syslat failed"; }
[ ! -e "$LK_TMP/syslat.prom.tmp" ] || fail "syslat: textfile PATH.tmp left behind"
promtool check metrics <"$LK_TMP/syslat.prom" || fail "syslat: promtool check metrics"
F=$LK_TMP/syslat.prom
grep -v '^#' "$F" | grep -v _bucket
assert_eq "$(val "$F" 'latkit_syscalls_total{syscall="getppid"}')" "$N" "syslat: getppid calls"
assert_eq "$(val "$F" 'latkit_syscalls_total{syscall="nanosleep"}')" "$M" "syslat: nanosleep calls"
assert_eq "$(val "$F" 'latkit_syscalls_total{syscall="openat"}')" "$K" "syslat: openat calls"
assert_eq "$(val "$F" 'latkit_syscalls_total{syscall="read"}')" $((2 * R)) "syslat: reads"
assert_eq "$(val "$F" 'latkit_syscalls_total{syscall="exit_group"}')" 1 "syslat: exit_group"
assert_eq "$(val "$F" 'latkit_syscall_failures_total{syscall="openat"}')" "$K" "syslat: openat failures"
assert_eq "$(val "$F" 'latkit_syscall_errors_total{syscall="openat",errno="ENOENT"}')" "$K" "syslat: openat ENOENT"
assert_eq "$(val "$F" 'latkit_syscall_errors_total{syscall="read",errno="ERESTARTSYS"}')" "$R" "syslat: read ERESTARTSYS"
assert_eq "$(val "$F" 'latkit_syscall_duration_seconds_count{syscall="nanosleep"}')" "$M" "syslat: nanosleep histogram _count"
assert_eq "$(val "$F" 'latkit_syscall_duration_seconds_bucket{syscall="nanosleep",le="0.001048576"}')" 0 \
	"syslat: no 2 ms sleep below 1.05 ms"
assert_eq "$(val "$F" 'latkit_syscall_duration_seconds_bucket{syscall="nanosleep",le="+Inf"}')" "$M" \
	"syslat: nanosleep +Inf bucket"
s=$(val "$F" 'latkit_syscall_duration_seconds_sum{syscall="nanosleep"}')
assert_ge "$(awk -v s="$s" 'BEGIN { printf "%d", s * 1e6 }')" $((M * 2000)) "syslat: nanosleep _sum (us)"
assert_eq "$(sum_of "$F" 'latkit_syscall_dropped_total{what="start"}')" 0 "syslat: start drops"

# --- tcpretrans_cnt ---
lk_lab_up --loss 2
PORT=$(lk_free_port "$LAB_S") || fail "no free port in the lab"
lk_bg ip netns exec "$LAB_S" "$OUTPUT/tcpreq" server "0.0.0.0:$PORT"
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "server not listening"
MP=$(lk_free_port) || fail "no free port"
timeout -s INT "$LK_HANG" "$OUTPUT/tcpretrans_cnt" -v --netns "$LAB_C" -i 1 --listen "127.0.0.1:$MP" \
	>"$LK_TMP/rt.out" 2>"$LK_TMP/rt.err" &
RP=$!; LK_PIDS+=($RP)
lk_wait_for 20 grep -q counting "$LK_TMP/rt.err" || { cat "$LK_TMP/rt.err"; fail "tcpretrans_cnt did not start"; }
r0=$(lk_netstat "$LAB_C" "Tcp RetransSegs")
lk_in_client "$OUTPUT/tcpreq" client -j --nodelay --mode push --size 1000 --requests 3000 "$LAB_S_IP:$PORT" \
	>"$LK_TMP/push" || fail "push client failed"
lk_wait_for 60 sh -c "! ip netns exec $LAB_C ss -Htan | grep -vqE '^(LISTEN|TIME-WAIT) '" ||
	fail "client connections did not close"
r1=$(lk_netstat "$LAB_C" "Tcp RetransSegs")
# A snapshot is up to 0.25 s old.
sleep 0.5
curl -s "http://127.0.0.1:$MP/metrics" >"$LK_TMP/rt.prom" || fail "tcpretrans_cnt: scrape failed"
kill -INT "$RP"; wait "$RP" || fail "tcpretrans_cnt failed"
grep -v '^#' "$LK_TMP/rt.prom" | grep -E 'segments|dropped'
promtool check metrics <"$LK_TMP/rt.prom" || fail "tcpretrans_cnt: promtool check metrics"
segs=$(sum_of "$LK_TMP/rt.prom" 'latkit_tcp_retransmitted_segments_total{')
assert_ge "$segs" 1 "tcpretrans_cnt: retransmitted segments under 2% loss"
assert_eq "$segs" $((r1 - r0)) "tcpretrans_cnt: segments (sum over kinds) = growth of the netns's RetransSegs"
assert_eq "$(val "$LK_TMP/rt.prom" latkit_tcp_kernel_retransmitted_segments_total)" "$r1" \
	"tcpretrans_cnt: its kernel RetransSegs is the --netns namespace's"
assert_eq "$(sum_of "$LK_TMP/rt.prom" latkit_tcp_retransmit_dropped_total)" 0 "tcpretrans_cnt: drops"

# --- tcstamp --- (the lab from above: its loss makes retransmitted bytes too)
MP=$(lk_free_port) || fail "no free port"
timeout -s INT "$LK_HANG" "$OUTPUT/tcstamp" -v -i 1 -I veth0 --netns "$LAB_C" --rport "$PORT" \
	--listen "127.0.0.1:$MP" >"$LK_TMP/ts.out" 2>"$LK_TMP/ts.err" &
TP=$!; LK_PIDS+=($TP)
lk_wait_for 20 grep -q "attached to" "$LK_TMP/ts.err" || { cat "$LK_TMP/ts.err"; fail "tcstamp did not start"; }
lk_in_client "$OUTPUT/tcpreq" client -j -n 2 --size 5000 --rate 200 --duration 3 "$LAB_S_IP:$PORT" \
	>"$LK_TMP/req" || fail "tcpreq client failed"
lk_wait_for 60 sh -c "! ip netns exec $LAB_C ss -Htan | grep -vqE '^(LISTEN|TIME-WAIT) '" ||
	fail "client connections did not close"
sleep 0.5
curl -s "http://127.0.0.1:$MP/metrics" >"$LK_TMP/ts.prom" || fail "tcstamp: scrape failed"
kill -INT "$TP"; wait "$TP" || fail "tcstamp failed"
grep -v '^#' "$LK_TMP/ts.prom" | grep -v _bucket
promtool check metrics <"$LK_TMP/ts.prom" || fail "tcstamp: promtool check metrics"
L="{interface=\"veth0\",remote=\"$LAB_S_IP\"}"
out=$(val "$LK_TMP/ts.prom" "latkit_tc_sent_bytes_total$L")
again=$(val "$LK_TMP/ts.prom" "latkit_tc_retransmitted_bytes_total$L")
want=$(jq 'select(.type == "summary") | .bytes_out' "$LK_TMP/req")
assert_ge "$want" 100000 "tcpreq's bytes out"
assert_eq "$((out - again))" "$want" "tcstamp: sent bytes less retransmitted bytes = tcpreq's bytes out"
n=$(val "$LK_TMP/ts.prom" "latkit_tc_rtt_seconds_count$L")
# An ACK may cover two requests (and Karn's rule skips resent ones): at
# least one sample per two requests, at most one per segment sent.
assert_ge "$((2 * n))" "$(jq 'select(.type == "summary") | .requests' "$LK_TMP/req")" \
	"tcstamp: RTT samples, twice, vs tcpreq's requests"
assert_le "$n" "$(val "$LK_TMP/ts.prom" "latkit_tc_sent_segments_total$L")" "tcstamp: RTT samples <= segments sent"
assert_eq "$(val "$LK_TMP/ts.prom" "latkit_tc_rtt_seconds_bucket${L%\}},le=\"+Inf\"}")" "$n" "tcstamp: +Inf bucket = _count"
assert_eq "$n" "$(sum_of "$LK_TMP/ts.prom" latkit_tc_samples_total)" "tcstamp: RTT samples = all samples (no --peer)"
