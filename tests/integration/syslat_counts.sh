#!/bin/bash
# syslat against a program with known syscall counts (tests/progs/syslat_work):
# exact getppid/nanosleep/openat counts, nanosleep p50 of a 2 ms sleep,
# ENOENT failures, restarted reads (ERESTARTSYS), a syscall in flight at
# start (not counted), exit_group (counted, no latency), -P, -x, -s and
# interval reports whose sum equals the total.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin syslat
WORK=$OUTPUT/tests/progs/syslat_work
lk_need_prog syslat_work
N=2000 M=60 K=25 R=3

# run_work OUT SYSLAT_OPTIONS...: start the workload, attach syslat -p to
# it, release it, and wait for syslat to see it exit.
run_work() {
	local out=$1 ready=$LK_TMP/ready.$RANDOM err=$1.err wp sp; shift
	SYSLAT_WORK_SLEEPS=$out.slept "$WORK" "$ready" $N $M $K $R &
	wp=$!; LK_PIDS+=($wp)
	lk_wait_for 10 test -e "$ready" || fail "workload did not start"
	# Empty before start: a "tracing" line left by an earlier run must
	# not count as this one's (the background shell truncates it late).
	: >"$err"
	timeout -s INT "$LK_HANG" "$OUTPUT/syslat" -v -j -p "$wp" "$@" >"$out" 2>"$err" &
	sp=$!; LK_PIDS+=($sp)
	lk_wait_for 20 grep -q tracing "$err" || { cat "$err"; fail "syslat did not start"; }
	kill -USR1 "$wp"
	wait "$sp" || { cat "$err"; fail "syslat $* failed"; }
	wait "$wp" || fail "workload failed"
}
# field OUT SYSCALL KEY: a field of the syscall's row (summary only).
field() { jq -r --arg s "$2" "select(.type==\"syscall\" and .syscall==\$s) | .$3" "$1"; }

run_work "$LK_TMP/all" -e
cat "$LK_TMP/all"
assert_eq "$(field "$LK_TMP/all" getppid count)" "$N" "getppid calls"
assert_eq "$(field "$LK_TMP/all" nanosleep count)" "$M" "nanosleep calls"
assert_eq "$(field "$LK_TMP/all" nanosleep errors)" 0 "nanosleep errors"
p50=$(field "$LK_TMP/all" nanosleep p50_us)
assert_ge "$p50" 2000 "nanosleep(2 ms) p50 (us)"
# Each nanosleep's interval in the kernel lies inside the workload's own
# clock reads around it, so syslat's p50 is at most the workload's (the
# same count), but for the width of syslat's log-linear bucket it is
# read inside (1/8).
own50=$(lk_pct 50 "$LK_TMP/all.slept")
assert_eq "$(wc -l <"$LK_TMP/all.slept")" "$M" "nanosleep calls the workload timed"
assert_le "$p50" "$(awk -v p="$own50" 'BEGIN { print p / 1000 * 9 / 8 }')" \
	"nanosleep(2 ms) p50 (us) <= the workload's own (and 1/8)"
assert_ge "$(field "$LK_TMP/all" nanosleep min_us)" 2000 "nanosleep(2 ms) min (us)"
assert_eq "$(field "$LK_TMP/all" openat count)" "$K" "openat calls"
assert_eq "$(field "$LK_TMP/all" openat errors)" "$K" "openat errors"
assert_eq "$(field "$LK_TMP/all" openat errnos.ENOENT)" "$K" "openat ENOENT"
# Each interrupted read returns ERESTARTSYS to the kernel, which runs it again.
assert_eq "$(field "$LK_TMP/all" read count)" $((2 * R)) "reads (interrupted + restarted)"
assert_eq "$(field "$LK_TMP/all" read errnos.ERESTARTSYS)" "$R" "reads ended by ERESTARTSYS"
assert_eq "$(field "$LK_TMP/all" exit_group count)" 1 "exit_group (never returns)"
assert_eq "$(field "$LK_TMP/all" exit_group p50_us)" null "exit_group has no latency"
# sigwait() was in flight when syslat attached: no enter seen, not counted.
assert_eq "$(field "$LK_TMP/all" rt_sigtimedwait count)" "" "in-flight rt_sigtimedwait"
# Nothing lost, and no entry without its exit (restarts and signal
# handlers included).
assert_eq "$(jq -r 'select(.type=="summary") | [.drops_start, .drops_errno, .drops_exit] | add' "$LK_TMP/all")" 0 \
	"drops (start, errno, exit)"
max=$(jq -r 'select(.type=="syscall") | .max_us' "$LK_TMP/all" | sort -g | tail -1)
assert_le "$max" 1000000 "largest latency (us): nothing bogus"

# -s and -x: failures of the named syscalls only.
run_work "$LK_TMP/x" -x -s openat,getppid,read
assert_eq "$(field "$LK_TMP/x" openat count)" "$K" "-x openat failures"
assert_eq "$(field "$LK_TMP/x" getppid count)" "" "-x: getppid never fails"
assert_eq "$(jq -r 'select(.type=="syscall") | .syscall' "$LK_TMP/x" | sort | tr '\n' ' ')" \
	"openat read " "-s/-x rows"

# -P: one row per process; its count is the sum of the per-syscall counts.
run_work "$LK_TMP/p" -P -s getppid,nanosleep
assert_eq "$(jq -r 'select(.type=="process") | .count' "$LK_TMP/p")" $((N + M)) "-P count"
assert_eq "$(jq -r 'select(.type=="process") | .comm' "$LK_TMP/p")" syslat_work "-P comm"

# Interval reports (two generations in the kernel): they add up exactly.
run_work "$LK_TMP/i" -s nanosleep,getppid 0.03
assert_ge "$(jq -s '[.[] | select(.type=="interval")] | length' "$LK_TMP/i")" 2 "interval reports"
assert_eq "$(jq -s '[.[] | select(.syscall=="nanosleep") | .count] | add' "$LK_TMP/i")" "$M" "nanosleep summed over intervals"
assert_eq "$(jq -s '[.[] | select(.syscall=="getppid") | .count] | add' "$LK_TMP/i")" "$N" "getppid summed over intervals"

# execve: a process that runs two programs in turn (absolute paths: no
# failed tries along PATH); each execve is counted, with its latency.
mkfifo "$LK_TMP/go"
sh -c 'read -r _ <"$0"; exec /bin/sh -c "exec /bin/true"' "$LK_TMP/go" &
ep=$!; LK_PIDS+=($ep)
: >"$LK_TMP/e.err"
timeout -s INT "$LK_HANG" "$OUTPUT/syslat" -v -j -p "$ep" -s execve,exit_group >"$LK_TMP/e" 2>"$LK_TMP/e.err" &
sp=$!; LK_PIDS+=($sp)
lk_wait_for 20 grep -q tracing "$LK_TMP/e.err" || { cat "$LK_TMP/e.err"; fail "syslat did not start"; }
echo >"$LK_TMP/go"
wait "$ep" || fail "exec chain failed"
wait "$sp" || { cat "$LK_TMP/e.err"; fail "syslat -s execve failed"; }
cat "$LK_TMP/e"
assert_eq "$(field "$LK_TMP/e" execve count)" 2 "execve calls"
assert_eq "$(field "$LK_TMP/e" execve errors)" 0 "execve errors"
assert_eq "$(jq -r 'select(.type=="syscall" and .syscall=="execve") | .p50_us > 0' "$LK_TMP/e")" true "execve latency"
assert_eq "$(field "$LK_TMP/e" exit_group count)" 1 "exit_group after execve"
assert_eq "$(jq -r 'select(.type=="summary") | [.drops_start, .drops_exit] | add' "$LK_TMP/e")" 0 \
	"execve: drops (start, exit)"
