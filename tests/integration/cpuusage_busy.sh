#!/bin/bash
# cpuusage: a busy child's on-CPU time equals the growth of
# /proc/PID/schedstat (first field) within 1% (plus what schedstat
# leaves out at each preemption, see below); a sleeping child's equals
# the sum of its runs between sched_switch events recorded by a tracefs
# instance; a sleeping child shows under 1%; a task that never switches
# is counted in every interval.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin cpuusage
SPIN=$OUTPUT/tests/progs/cpuusage_spin
lk_need_prog cpuusage_spin
out=$LK_TMP/out.json

# The kernel's own record of the switches, for the sleeping child: a
# tracefs instance of sched/sched_switch on the monotonic clock.  Its
# probe is registered before cpuusage's program, so that at each switch
# its time is taken just before the program's, whatever the program does
# (tens of us under qemu TCG, more for some tasks than others); it
# records only once the children start.
# Without tracefs, schedstat is the sleeper's reference (below).
TRACEFS=/sys/kernel/tracing
[ -e "$TRACEFS/instances" ] || mount -t tracefs nodev "$TRACEFS" 2>/dev/null
TI=$TRACEFS/instances/$(lk_uid)
if [ -d "$TRACEFS/instances" ] && mkdir "$TI"; then
	lk_at_exit "echo 0 >'$TI/tracing_on'; rmdir '$TI'"
	echo 0 >"$TI/tracing_on" && echo 4096 >"$TI/buffer_size_kb" && echo mono >"$TI/trace_clock" &&
		echo 1 >"$TI/events/sched/sched_switch/enable" || fail "cannot set up the tracefs instance $TI"
else
	echo "no tracefs instance: the sleeping child is compared with schedstat"
	TI=
fi

# Intervals of 0.5 s; -v says on stderr when the baseline has been taken.
lk_bg "$OUTPUT/cpuusage" -v -j -n 0 0.5 >"$out" 2>"$LK_TMP/err"
CU=$LK_LAST_PID
lk_wait_for 20 grep -q 'first interval starts' "$LK_TMP/err" || { cat "$LK_TMP/err"; fail "cpuusage did not start"; }

[ -z "$TI" ] || echo 1 >"$TI/tracing_on"

# Both children start after the baseline, so their whole life is traced.
steal0=$(lk_steal_ns)
t0=$(lk_uptime_ns)
lk_bg "$SPIN" 2 "$LK_TMP/busy.done" 30
BUSY=$LK_LAST_PID
lk_bg "$SPIN" 0 "$LK_TMP/sleep.done" 30
SLEEPER=$LK_LAST_PID
lk_wait_for 30 test -e "$LK_TMP/busy.done" || fail "busy child did not finish"
# Its spin is over once it sleeps in its linger: from then on it is off
# the CPU, so its whole time on it lies between t0 and t1.
lk_wait_for 10 lk_in_sleep "$BUSY" || fail "busy child did not go to sleep"
t1=$(lk_uptime_ns end)
lk_wait_for 5 test -e "$LK_TMP/sleep.done" || fail "sleeping child did not start"
lk_wait_for 10 lk_in_sleep "$SLEEPER" || fail "sleeping child did not go to sleep"
[ -z "$TI" ] || echo 0 >"$TI/tracing_on"
busy_ss=$(awk '{ print $1 }' "/proc/$BUSY/schedstat")
busy_wait=$(awk '{ print $2 }' "/proc/$BUSY/schedstat")
busy_steal=$(lk_task_steal_ns "$BUSY" "$(cat "$LK_TMP/busy.done")")
busy_preempted=$(awk '$1 == "nonvoluntary_ctxt_switches:" { print $2 }' "/proc/$BUSY/status")
sleep_ss=$(awk '{ print $1 }' "/proc/$SLEEPER/schedstat")
steal=$(lk_steal_since "$steal0")
# Two more intervals, then Ctrl-C: the summary covers the rest.
sleep 1.2
kill -INT "$CU"
lk_wait_for 10 sh -c "! kill -0 $CU" || fail "cpuusage did not exit on SIGINT"
grep -q '"type":"summary"' "$out" || fail "no summary after SIGINT"
jq -e . "$out" >/dev/null || fail "output is not one JSON object per line"

# cpuusage takes softirq and hardirq time out of the task they
# interrupted (irq_ns says how much), which the scheduler's figure keeps
# unless CONFIG_IRQ_TIME_ACCOUNTING: on a quiet machine that is far below
# 1%.  The headline figure, oncpu_ns, is what is compared.
sum_ns() { jq -s --argjson p "$1" '[.[].processes[] | select(.pid == $p) | .oncpu_ns] | add // 0' "$out"; }
sum_irq() { jq -s --argjson p "$1" '[.[].processes[] | select(.pid == $p) | .irq_ns] | add // 0' "$out"; }
busy_ns=$(sum_ns "$BUSY")
busy_irq=$(sum_irq "$BUSY")
sleep_ns=$(sum_ns "$SLEEPER")
sleep_irq=$(sum_irq "$SLEEPER")
echo "busy child: cpuusage ${busy_ns} ns (interrupts in it: $busy_irq ns), schedstat ${busy_ss} ns (waited runnable ${busy_wait} ns)"
echo "sleeping child: cpuusage ${sleep_ns} ns (interrupts in it: ${sleep_irq} ns), schedstat ${sleep_ss} ns"
# A floor that proves the program attached, not a share of the CPU (the
# comparison with schedstat below checks the amount): under other users'
# load (load average 25 on the 2 CPUs) this 2 s spin got 507 ms, and
# cpuusage_tid's 254 ms.
assert_ge "$busy_ns" 50000000 "busy child on-CPU ns (non-zero: BPF attached)"
# Without CONFIG_IRQ_TIME_ACCOUNTING (Debian's kernels) schedstat keeps
# the interrupt time cpuusage takes out: far below 1% on a quiet
# machine, several percent under qemu TCG (make vmtest).
# Hypervisor steal time while it ran is in cpuusage's figure, not in
# schedstat's: allowed for, as /proc/stat counts it on all CPUs or, when
# more, as the busy child's own spin less its run and wait time (this
# VM: /proc/stat 0 ns in a window where the child lost 18 ms).
echo "steal time (all CPUs) while the children ran: $steal ns; the busy child's own: $busy_steal ns"
[ "$busy_steal" -gt "$steal" ] && steal=$busy_steal
# Each time a waking task preempts the busy child, schedstat gives the
# child's last moments before the switch to the task that preempted it
# (most likely: the kernel skips the clock update between the wakeup and
# the switch, rq_clock_skip_update in wakeup_preempt); cpuusage, timing
# the switch, gives them to the child (a bpftrace sum of sched_switch
# intervals agreed with cpuusage, not with schedstat).  How much varies
# with the machine's other load: 4 to 11 us per involuntary switch on
# the CI host, 44 us beside a qemu TCG guest, up to 17% over schedstat.
# So above, the bound is the wall time: one thread is on a CPU for no
# longer than it lives, from before its fork to its last sleep (exact,
# and tight on a machine that leaves it a CPU).
echo "busy child preempted $busy_preempted times; cpuusage - schedstat: $((busy_ns + busy_irq - busy_ss)) ns"
assert_ge "$((busy_ns + busy_irq))" "$((busy_ss - busy_ss / 100))" "busy child + its interrupts vs /proc/PID/schedstat (- 1%)"
assert_le "$((busy_ns + busy_irq))" "$((t1 - t0))" "busy child + its interrupts vs the wall time it lived, ns"
# It ran only to start up, blocking a few dozen times.  Its time is
# compared with the sum of its runs in the trace: from each sched_switch
# to it to the next one from it on the same CPU, the edges at which
# cpuusage takes its time.  schedstat's edges are elsewhere: a task that
# blocks is charged to the clock update before the scheduler's own work
# (idle balancing), which cpuusage gives it; a task whose wakeup preempts
# another is charged from the update at the wakeup, where cpuusage
# starts it at the switch.  Both stretches grow under qemu TCG (tens of
# us each): there the sleeper's figure fell 3 ms short of schedstat's,
# on 55 to 77 ms.  The trace is used only where it is whole: each of the
# sleeper's runs must be the next event on its CPU after its switch in
# (a CPU's events can go missing: on this project's VM, while one task
# of the VM's agent is current) and the buffer must not have overrun.
# Otherwise schedstat is the reference, with 2 ms of absolute slack.
trace_runs() {
	awk -v p="$1" '
	/ sched_switch: / {
		if (!match($0, /\[[0-9]+\]/))
			next
		c = substr($0, RSTART + 1, RLENGTH - 2)
		rest = substr($0, RSTART + RLENGTH)
		if (!match(rest, /[0-9]+\.[0-9]+: sched_switch: /))
			next
		split(substr(rest, RSTART), f, ":")
		t = f[1]
		match($0, /prev_pid=[0-9]+ /); pp = substr($0, RSTART + 9, RLENGTH - 10)
		match($0, /next_pid=[0-9]+ /); np = substr($0, RSTART + 9, RLENGTH - 10)
		if (c in open) {
			if (pp != p)
				lost = lost " cpu" c "@" t
			else
				sum += t - open[c]
			runs++
			delete open[c]
		} else if (pp == p) {
			lost = lost " cpu" c "@" t
		}
		if (np == p)
			open[c] = t
	}
	END {
		for (c in open)
			lost = lost " cpu" c "@end"
		printf "%.0f %d %s\n", sum * 1e9, runs, (lost == "" ? "-" : lost)
	}' "$TI/trace"
}
trace_ns=0 trace_n=0 trace_lost=- overrun=0
if [ -n "$TI" ]; then
	read -r trace_ns trace_n trace_lost <<<"$(trace_runs "$SLEEPER")"
	overrun=$(awk '$1 == "overrun:" { s += $2 } END { print s + 0 }' "$TI"/per_cpu/cpu*/stats)
fi
sleep_all=$((sleep_ns + sleep_irq))
echo "sleeping child: trace of sched_switch: $trace_ns ns in $trace_n runs (overrun $overrun, lost at: $trace_lost)"
if [ "$trace_lost" = - ] && [ "$overrun" = 0 ] && [ "$trace_n" -gt 0 ]; then
	# Per run: the trace prints us, and truncates each of the run's two
	# edges.  Host (6.18): within 1 to 4 us over 3 to 7 runs.  Under qemu
	# TCG (LK_TCG=1), the two probes' clock reads at one switch are apart
	# by what runs between them, and most likely a vCPU that stops there
	# (its host thread preempted: the host ran other guests and tests)
	# moves one edge against the other: 6.12, eight runs of the test beside other
	# load, 2 to 39 us a run, of either sign (16 to 270 us over 6 to 14
	# runs), where schedstat was off by 0.2 to 1.67 ms.  How long a vCPU
	# stops depends on the host's load, not on the switch: with a second
	# guest and a full test suite on the host's two CPUs, 4.9 ms over 19
	# runs (166.7 ms against 161.7, 3.1%; schedstat 154.2).  Under TCG
	# the bound is therefore 100 us a run or 10%, whichever is larger.
	per_run=2000 pct=0
	[ "${LK_TCG:-0}" = 1 ] && per_run=100000 pct=10
	assert_near "$sleep_all" "$trace_ns" "$pct" "$((trace_n * per_run + 1000))" \
		"sleeping child + its interrupts vs its runs in the trace of sched_switch"
else
	echo "no whole trace: schedstat is the reference"
	assert_near "$sleep_all" "$sleep_ss" 0 "$((sleep_ss / 100 + 2000000 + steal))" \
		"sleeping child + its interrupts vs /proc/PID/schedstat"
fi

# Once started (its first two intervals hold exec and start-up, which
# under qemu TCG takes 150 ms of CPU), the sleeper stays under 1%.
max_sleep_pct=$(jq -s --argjson p "$SLEEPER" '[.[].processes[] | select(.pid == $p) | .cpu_pct] | .[2:] | max // 0' "$out")
assert_le "$max_sleep_pct" 1 "sleeping child %CPU after its first two intervals"

# While it spun, the busy child was in every interval it fully covered,
# whether or not it was switched out: the flush charges the running task.
# Above a tenth of its share of a CPU over the 2 s spin: 10% when the
# machine is ours, less where other load leaves it less (it had 25% of a
# CPU at a load average of 25, see above: near a fixed 20%).
min_pct=$(awk -v s="$busy_ss" 'BEGIN { print s / 2e9 * 100 / 10 }')
n_busy=$(jq -s --argjson p "$BUSY" --argjson m "$min_pct" '[.[] | select(.type == "interval") | .processes[] | select(.pid == $p and .cpu_pct > $m)] | length' "$out")
assert_ge "$n_busy" 3 "intervals with the busy child above $min_pct%"

# Every CPU's interval is fully accounted: tasks + irqs + idle = elapsed,
# to the ns.  Each part is read as the CPU's flush left it, though the
# CPU charges on until the map is read (milliseconds under qemu TCG), and
# the flush on cpuusage's own CPU starts again when an interrupt came in
# while it ran (the kernel runs it there with interrupts on).  Only a
# flush interrupted every try (flush_torn) may lend time to the next.
jq -c '{type, task_ns, softirq_ns, hardirq_ns, idle_ns, elapsed_ns, flush_torn, off_ns: (.task_ns + .softirq_ns + .hardirq_ns + .idle_ns - .elapsed_ns)}' "$out"
bad=$(jq -s '[.[] | select(.flush_torn == 0) | .task_ns + .softirq_ns + .hardirq_ns + .idle_ns - .elapsed_ns | select(. != 0)] | length' "$out")
assert_eq "$bad" 0 "intervals whose parts do not add up to the elapsed time"
assert_eq "$(jq -s '[.[] | .task_ns + .softirq_ns + .hardirq_ns + .idle_ns - .elapsed_ns] | add' "$out")" 0 \
	"parts less elapsed, over the whole run (ns)"
