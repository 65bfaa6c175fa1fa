#!/bin/bash
# cpuusage: tcpreq traffic across a netlab shows NET_RX softirq time
# (while /proc/softirqs counts NET_RX runs); with no workload of ours the
# idle share agrees with /proc/stat within 5 points.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin cpuusage
lk_need_bin tcpreq
PORT=7230

stat_idle() { awk '$1 == "cpu" { print $5+$6, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat; }
net_rx() { awk '$1 == "NET_RX:" { s = 0; for (i = 2; i <= NF; i++) s += $i; print s }' /proc/softirqs; }

# Start cpuusage and return once its baseline is taken (-v says so on
# stderr, read through a FIFO so that the caller's window lines up).
start_cpuusage() {
	mkfifo "$LK_TMP/err.$1"
	exec 3<>"$LK_TMP/err.$1"
	lk_bg "$OUTPUT/cpuusage" -v -C -j -n 0 >"$LK_TMP/$1.json" 2>&3
	CU=$LK_LAST_PID
	while read -r -t 20 line <&3; do
		case $line in *"first interval starts"*) return 0 ;; esac
	done
	fail "cpuusage did not start"
}
stop_cpuusage() {
	kill -INT "$CU"
	lk_wait_for 10 sh -c "! kill -0 $CU" || fail "cpuusage did not exit on SIGINT"
	exec 3<&-
	jq -e '.type == "summary"' "$LK_TMP/$1.json" >/dev/null || fail "no summary"
}

# Idle: nothing of ours runs for 1.5 s.  cpuusage's window also holds the
# test's own edges (reading the FIFO, forking awk, the kill), some 0.15 s
# of CPU under qemu TCG: 5 points of a 1.5 s window there, hence 4 s.
idle_secs=1.5
[ "${LK_TCG:-}" = 1 ] && idle_secs=4
start_cpuusage idle
read -r idle0 total0 < <(stat_idle)
sleep "$idle_secs"
read -r idle1 total1 < <(stat_idle)
stop_cpuusage idle
mine=$(jq '.idle_pct' "$LK_TMP/idle.json")
theirs=$(awk -v i=$((idle1 - idle0)) -v t=$((total1 - total0)) 'BEGIN { print t ? 100 * i / t : 0 }')
assert_near "$mine" "$theirs" 0 5 "idle % vs /proc/stat (near 100 on a quiet machine)"

# Traffic: 4 connections of 16 KiB requests, closed loop, for 3 s.
lk_lab_up
lk_bg ip netns exec "$LAB_S" "$OUTPUT/tcpreq" server "$LAB_S_IP:$PORT"
lk_wait_for 5 lk_in_server sh -c "ss -Htln | grep -q ':$PORT '" || fail "tcpreq server did not start"
start_cpuusage net
rx0=$(net_rx)
lk_in_client timeout 30 "$OUTPUT/tcpreq" client -n 4 --size 16384 --duration 3 -j "$LAB_S_IP:$PORT" \
	>"$LK_TMP/req" || fail "tcpreq client failed"
rx1=$(net_rx)
stop_cpuusage net
req=$(jq -s 'map(select(.type == "summary")) | .[0].requests' "$LK_TMP/req")
rx_ns=$(jq '.softirqs.NET_RX_ns' "$LK_TMP/net.json")
rx_pct=$(jq '.softirq_pct' "$LK_TMP/net.json")
echo "tcpreq: $req requests; /proc/softirqs NET_RX: $((rx1 - rx0)) runs; cpuusage NET_RX: $rx_ns ns (softirq $rx_pct% of all CPUs)"
assert_ge "$req" 100 "tcpreq requests"
assert_ge $((rx1 - rx0)) 100 "NET_RX runs in /proc/softirqs"
assert_ge "$rx_ns" 1000000 "NET_RX softirq ns in cpuusage"
# The per-CPU view carries the same time.
per_cpu=$(jq '[.cpus[].softirqs.NET_RX_ns] | add' "$LK_TMP/net.json")
assert_eq "$per_cpu" "$rx_ns" "NET_RX ns summed over CPUs"
# tcpreq itself shows up with CPU time.
tq=$(jq '[.processes[] | select(.comm == "tcpreq") | .oncpu_ns] | add // 0' "$LK_TMP/net.json")
assert_ge "$tq" 1000000 "tcpreq on-CPU ns"
