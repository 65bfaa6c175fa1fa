#!/bin/bash
# cpuusage's flush of another CPU, which lands there by IPI, often in
# the middle of a softirq: tcpreq traffic across a netlab, all of it on
# CPU 0 (its NET_RX runs there), and cpuusage on CPU 1 reporting every
# 0.1 s.  Every interval's parts must add up to its length to the ns, no
# flush may be counted as torn (a flush that closes a softirq is not
# interrupted by one), and the traffic's NET_RX runs, counted by
# /proc/softirqs on CPU 0, must show up as NET_RX time there.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin cpuusage
lk_need_bin tcpreq
lk_need_cpus 2
PORT=7231
out=$LK_TMP/out.json

net_rx0() { awk '$1 == "NET_RX:" { print $2 }' /proc/softirqs; }

lk_lab_up
lk_bg ip netns exec "$LAB_S" taskset -c 0 "$OUTPUT/tcpreq" server "0.0.0.0:$PORT"
lk_wait_for 10 lk_listening "$LAB_S" "$PORT" || fail "server not listening"

lk_bg taskset -c 1 "$OUTPUT/cpuusage" -v -C -j 0.1 >"$out" 2>"$LK_TMP/err"
CU=$LK_LAST_PID
lk_wait_lines 20 "$LK_TMP/err" 'first interval starts' || { cat "$LK_TMP/err"; fail "cpuusage did not start"; }
rx0=$(net_rx0)
lk_in_client taskset -c 0 timeout 30 "$OUTPUT/tcpreq" client -n 4 --size 16384 --duration 3 \
	"$LAB_S_IP:$PORT" >/dev/null || fail "tcpreq client failed"
rx1=$(net_rx0)
kill -INT "$CU"
lk_wait_for 10 sh -c "! kill -0 $CU" || fail "cpuusage did not exit on SIGINT"

n=$(jq -s 'length' "$out")
rx_ns=$(jq -s '[.[] | .cpus[] | select(.cpu == 0) | .softirqs.NET_RX_ns] | add // 0' "$out")
echo "$n reports; CPU 0: /proc/softirqs NET_RX $((rx1 - rx0)) runs, cpuusage NET_RX $rx_ns ns"
assert_ge "$n" 10 "reports"
assert_ge "$((rx1 - rx0))" 1000 "NET_RX runs on CPU 0 (/proc/softirqs)"
assert_ge "$rx_ns" 1000000 "NET_RX ns on CPU 0 (non-zero: BPF attached)"
assert_eq "$(jq -s '[.[] | .flush_torn] | add' "$out")" 0 "flushes counted as torn"
bad=$(jq -s '[.[] | .cpus[] | .task_ns + .softirq_ns + .hardirq_ns + .idle_ns - .elapsed_ns | select(. != 0)] | length' "$out")
assert_eq "$bad" 0 "CPU intervals whose parts do not add up to their length"
