#!/bin/bash
# cpuusage -t TID: one thread of a two-thread process.  The spinning
# thread's on-CPU time equals the growth of its own
# /proc/PID/task/TID/schedstat within 1%, its name is the thread's own,
# and no other thread (the process's sleeping main thread, or anything
# else) shows up.  Once with the best method (tp_btf) and once with the
# raw_tp fallback (LK_METHODS), which read the task differently.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd python3
lk_need_bin cpuusage
# Main thread sleeps in join(); the second thread names itself, blocks
# on a FIFO until told to go, spins 2 s and then blocks on another, so
# that its schedstat can be read after the spin and it uses no CPU
# outside the spin.  (It polled for files every 10 ms before: under qemu
# TCG those polls cost it 6.6 ms of CPU between cpuusage's start and the
# first schedstat read and 20.6 ms between the last and cpuusage's exit
# on 6.1, which cpuusage counted and schedstat's window did not; the
# upper bound failed by 10 ms there and by 37 ms on 6.12.)  The spin's
# length in ns goes into the third file (for the thread's own steal).
SPIN='
import ctypes, os, sys, threading, time
def spin():
    ctypes.CDLL(None).prctl(15, b"cu-spin", 0, 0, 0)
    open(sys.argv[1], "w").write(str(threading.get_native_id()))
    open(sys.argv[2]).read()
    t0 = time.monotonic_ns()
    end = time.time() + 2
    while time.time() < end:
        pass
    open(sys.argv[3] + ".tmp", "w").write(str(time.monotonic_ns() - t0))
    os.rename(sys.argv[3] + ".tmp", sys.argv[3])
    open(sys.argv[4]).read()
t = threading.Thread(target=spin); t.start(); t.join()'
# release FIFO: let the thread past its open() of FIFO (it waits there).
release() { timeout 10 bash -c 'echo >"$1"' _ "$1"; }

# one METHOD: a run with LK_METHODS=METHOD, its files in $LK_TMP/METHOD.
one() {
	local m=$1 d=$LK_TMP/$1 out=$LK_TMP/$1/out.json py tid cu ss0 ss1 w0 w1 ns others steal0 steal own t0 t1

	mkdir -p "$d"
	mkfifo "$d/go" "$d/end"
	lk_bg python3 -c "$SPIN" "$d/tid" "$d/go" "$d/spun" "$d/end"
	py=$LK_LAST_PID
	lk_wait_for 20 test -s "$d/tid" || fail "the test thread did not start"
	tid=$(cat "$d/tid")
	# Blocked in the open() of the first FIFO (openat, 257) before
	# cpuusage starts: the thread's time on a CPU inside cpuusage's run
	# then lies between the release (t0) and its open() of the second
	# FIFO (t1).
	lk_wait_for 20 lk_blocked "/proc/$py/task/$tid" 257 || fail "the test thread did not wait to spin"

	lk_bg env LK_METHODS="$m" "$OUTPUT/cpuusage" -v -j -t "$tid" >"$out" 2>"$d/err"
	cu=$LK_LAST_PID
	lk_wait_lines 20 "$d/err" 'first interval starts' || { cat "$d/err"; fail "cpuusage did not start"; }
	grep -q "sched_switch: using $m" "$d/err" || { cat "$d/err"; fail "$m not used"; }
	read -r ss0 w0 _ <"/proc/$py/task/$tid/schedstat"
	pr0=$(awk '$1 == "nonvoluntary_ctxt_switches:" { print $2 }' "/proc/$py/task/$tid/status")
	steal0=$(lk_steal_ns)
	t0=$(lk_uptime_ns)
	release "$d/go" || fail "the test thread did not wait to spin"
	lk_wait_for 30 test -e "$d/spun" || fail "the thread did not finish spinning"
	lk_wait_for 10 lk_blocked "/proc/$py/task/$tid" 257 || fail "the thread did not wait after its spin"
	t1=$(lk_uptime_ns end)
	read -r ss1 w1 _ <"/proc/$py/task/$tid/schedstat"
	pr=$(( $(awk '$1 == "nonvoluntary_ctxt_switches:" { print $2 }' "/proc/$py/task/$tid/status") - pr0 ))
	steal=$(lk_steal_since "$steal0")
	# The thread's own steal (see lk_task_steal_ns): its spin less the
	# growth of its run and wait time, when more than /proc/stat's.
	own=$(( $(cat "$d/spun") - (ss1 - ss0) - (w1 - w0) ))
	[ "$own" -gt "$steal" ] && steal=$own
	kill -INT "$cu"
	lk_wait_for 10 sh -c "! kill -0 $cu" || fail "cpuusage did not exit on SIGINT"
	release "$d/end"

	ns=$(jq -s --argjson t "$tid" '[.[] | select(.type == "summary") | .threads[] | select(.tid == $t) | .oncpu_ns] | add // 0' "$out")
	# cpuusage takes the interrupts' time out of the thread (irq_ns);
	# schedstat keeps some of it without CONFIG_IRQ_TIME_ACCOUNTING
	# (Debian's 6.1 and 6.12), how much the test cannot tell: under qemu
	# TCG, where interrupts take 0.5 to 2.5% of the spin, schedstat lay
	# between oncpu_ns and oncpu_ns + irq_ns in every run measured (6.1:
	# 1943 < 1962 < 1978 ms, 1981 < 1996 < 1997, 1973 < 1993 < 2020;
	# 6.12: 1963 < 1988 < 1993, 1966 < 1968 < 1976),
	# and either alone missed the 1% + 2 ms bound in some.  So the lower
	# bound is for the sum, the upper one for oncpu_ns (on the host
	# irq_ns is under 0.3%).
	irq=$(jq -s --argjson t "$tid" '[.[] | select(.type == "summary") | .threads[] | select(.tid == $t) | .irq_ns] | add // 0' "$out")
	others=$(jq -s --argjson t "$tid" '[.[] | select(.type == "summary") | .threads[] | select(.tid != $t)] | length' "$out")
	echo "$m: thread $tid: cpuusage $ns ns (interrupts in it: $irq ns); schedstat growth $((ss1 - ss0)) ns (from before the spin)"
	# 2 s of wall time; on a loaded machine it gets less of the CPU (254
	# ms at a load average of 25 on the 2 CPUs): the floor proves the
	# program attached, the comparison below checks the amount.
	assert_ge "$ns" 50000000 "$m: on-CPU ns of the spinning thread (non-zero: BPF attached)"
	# cpuusage counted from its start, a little before ss0 was read: the
	# thread slept in between, so the two windows hold the same run time.
	# Above schedstat by hypervisor steal time (see lk_steal_ns) and by
	# what schedstat gives the task that preempted, an amount that
	# varies with other load (see cpuusage_busy): bounded above by the
	# wall time from its release to its next wait, exactly.
	local d=$((ss1 - ss0))
	echo "$m: steal $steal ns, preempted $pr times; cpuusage - schedstat $((ns - d)) ns"
	assert_ge "$((ns + irq))" "$((d - d / 100 - 2000000))" "$m: - 1% - 2 ms: thread on-CPU time + its interrupts vs its schedstat"
	assert_le "$ns" "$((t1 - t0))" "$m: thread on-CPU time vs the wall time from its release to its next wait, ns"
	assert_eq "$others" 0 "$m: rows for other threads"
	assert_eq "$(jq -r -s --argjson t "$tid" '[.[] | select(.type == "summary") | .threads[] | select(.tid == $t) | .comm] | unique | join(",")' "$out")" \
		cu-spin "$m: the thread's own name (the process's is python3)"
}

one tp_btf
one raw_tp

"$OUTPUT/cpuusage" -t 999999999 1 1 2>"$LK_TMP/bad" && fail "an unknown TID was accepted"
grep -q 'no such thread' "$LK_TMP/bad" || fail "unknown TID: $(cat "$LK_TMP/bad")"
assert_eq "$(wc -l <"$LK_TMP/bad")" 1 "lines on stderr for an unknown TID"
