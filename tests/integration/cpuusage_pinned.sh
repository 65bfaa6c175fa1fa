#!/bin/bash
# cpuusage: two busy children pinned to two CPUs each show near 100% (as
# much as /proc/PID/schedstat says they got); per CPU near 100% busy; the
# system totals agree with /proc/stat (busy share within 2 points).
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd taskset
lk_need_bin cpuusage
SPIN=$OUTPUT/tests/progs/cpuusage_spin
[ -x "$SPIN" ] || fail "$SPIN not built (make test-bins)"
[ "$(nproc)" -ge 2 ] || skip "needs two CPUs"
out=$LK_TMP/out.json

lk_bg taskset -c 0 "$SPIN" 8 "$LK_TMP/a.done" 5
A=$LK_LAST_PID
lk_bg taskset -c 1 "$SPIN" 8 "$LK_TMP/b.done" 5
B=$LK_LAST_PID
sleep 0.3

# "cpu user nice system idle iowait irq softirq steal": busy and total ticks.
stat_ticks() { awk '$1 == "cpu" { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat; }
ss() { awk '{ print $1 }' "/proc/$1/schedstat"; }

# -v says on stderr when the baseline has been taken; read that through
# a FIFO so that our window starts within a few ms of cpuusage's.
mkfifo "$LK_TMP/err"
exec 3<>"$LK_TMP/err"
lk_bg "$OUTPUT/cpuusage" -v -C -j -n 0 >"$out" 2>&3
CU=$LK_LAST_PID
started=0
while read -r -t 20 line <&3; do
	case $line in *"first interval starts"*) started=1; break ;; esac
done
[ $started = 1 ] || fail "cpuusage did not start"
t0=$(date +%s%N); a0=$(ss "$A"); b0=$(ss "$B"); read -r busy0 total0 < <(stat_ticks)
sleep 2
read -r busy1 total1 < <(stat_ticks); a1=$(ss "$A"); b1=$(ss "$B"); t1=$(date +%s%N)
kill -INT "$CU"
lk_wait_for 10 sh -c "! kill -0 $CU" || fail "cpuusage did not exit on SIGINT"
[ -e "$LK_TMP/a.done" ] && fail "a child finished spinning inside the window (machine too slow?)"
jq -e '.type == "summary"' "$out" >/dev/null || fail "no summary"

for pid in "$A" "$B"; do
	pct=$(jq --argjson p "$pid" '[.processes[] | select(.pid == $p) | .cpu_pct] | add // 0' "$out")
	if [ "$pid" = "$A" ]; then d=$((a1 - a0)); else d=$((b1 - b0)); fi
	ref=$(awk -v d="$d" -v e=$((t1 - t0)) 'BEGIN { print d / e * 100 }')
	echo "child $pid: cpuusage ${pct}%, schedstat ${ref}%"
	# Near 100 when the machine is ours; what is left after other load
	# otherwise, so the floor only proves the program is attached.
	assert_ge "$pct" 5 "pinned child $pid %CPU"
	# The windows differ by the time cpuusage takes to see SIGINT, which
	# on a loaded machine moves the share by a point or two.
	assert_near "$pct" "$ref" 0 5 "pinned child $pid %CPU vs schedstat"
done
for cpu in 0 1; do
	b=$(jq --argjson c $cpu '.cpus[] | select(.cpu == $c) | 100 - .idle_pct' "$out")
	assert_ge "$b" 90 "CPU$cpu busy %"
done
mine=$(jq '100 - .idle_pct' "$out")
theirs=$(awk -v b=$((busy1 - busy0)) -v t=$((total1 - total0)) 'BEGIN { print t ? 100 * b / t : 0 }')
assert_near "$mine" "$theirs" 0 2 "system busy % vs /proc/stat"
sw=$(jq '.switches' "$out")
assert_ge "$sw" 1 "context switches seen"
