#!/bin/bash
# syslat's options against the known counts of tests/progs/syslat_work
# (N getppid, M nanosleep(2 ms), K failing openat, R restarted reads, and
# a thread that makes TH getppid calls and exits): -t against -p,
# --cgroup, --min-us, --events, -H, -S/-n, -T, interval with count, the
# raw tracepoint fallback, and no start entries dropped.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin syslat
WORK=$OUTPUT/tests/progs/syslat_work
lk_need_prog syslat_work
N=2000 M=60 K=25 R=3 TH=700
CG=

# run_work OUT SYSLAT_ARGS...: start the workload, attach syslat (PID and
# TID in the arguments become the workload's), release the workload, and
# wait for syslat: it ends on its own with -p, else at SIGINT.
run_work() {
	local out=$1 ready=$LK_TMP/ready.$RANDOM err=$1.err wp sp a args=(); shift
	"$WORK" "$ready" $N $M $K $R $TH &
	wp=$!; LK_PIDS+=($wp)
	lk_wait_for 10 test -e "$ready" || fail "workload did not start"
	[ -n "$CG" ] && echo "$wp" >"$CG/cgroup.procs"
	for a in "$@"; do
		case $a in PID|TID) args+=("$wp") ;; *) args+=("$a") ;; esac
	done
	# Empty before start: a "tracing" line left by an earlier run must
	# not count as this one's (the background shell truncates it late).
	: >"$err"
	timeout -s INT "$LK_HANG" "$OUTPUT/syslat" -v -j "${args[@]}" >"$out" 2>"$err" &
	sp=$!; LK_PIDS+=($sp)
	lk_wait_for 20 grep -q tracing "$err" || { cat "$err"; fail "syslat did not start"; }
	kill -USR1 "$wp"
	wait "$wp" || fail "workload failed"
	case " $* " in *" -p "*) ;; *) sleep 0.3; kill -INT "$sp" 2>/dev/null ;; esac
	wait "$sp" || { cat "$err"; fail "syslat $* failed"; }
}
# field OUT SYSCALL KEY: a field of the syscall's row(s).
field() { jq -r --arg s "$2" "select(.type==\"syscall\" and .syscall==\$s) | .$3" "$1"; }
# hfield OUT SYSCALL JQ: a jq expression over the syscall's row.
hfield() { jq -r --arg s "$2" "select(.type==\"syscall\" and .syscall==\$s) | $3" "$1"; }
drops() { jq -r 'select(.type=="summary") | .drops_start + .drops_errno + .drops_events + .drops_exit' "$1"; }

# -p counts every thread; -t only the one named (the main thread, whose
# TID is the PID).  The thread ran and exited before the main thread's
# calls: nothing of it is dropped or left over.
run_work "$LK_TMP/p" -p PID -s getppid
assert_eq "$(field "$LK_TMP/p" getppid count)" $((N + TH)) "-p: getppid of both threads"
assert_eq "$(drops "$LK_TMP/p")" 0 "-p: nothing dropped"
run_work "$LK_TMP/t" -t TID -s getppid,nanosleep
assert_eq "$(field "$LK_TMP/t" getppid count)" "$N" "-t: getppid of the main thread"
assert_eq "$(field "$LK_TMP/t" nanosleep count)" "$M" "-t: nanosleep"

# The raw tracepoint fallback (kernels without tp_btf) counts the same.
LK_METHODS=raw_tp run_work "$LK_TMP/raw" -p PID -e -s getppid,nanosleep,openat
grep -q 'using raw_tp' "$LK_TMP/raw.err" || { cat "$LK_TMP/raw.err"; fail "raw_tp not used"; }
assert_eq "$(field "$LK_TMP/raw" getppid count)" $((N + TH)) "raw_tp: getppid"
assert_eq "$(field "$LK_TMP/raw" nanosleep count)" "$M" "raw_tp: nanosleep"
assert_eq "$(field "$LK_TMP/raw" openat errnos.ENOENT)" "$K" "raw_tp: openat ENOENT"

# --cgroup: the workload alone in a new cgroup; syslat has no -p.
cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
if [ -n "$cg2" ] && [ -w "$cg2/cgroup.procs" ]; then
	CG=$cg2/$(lk_uid)
	mkdir "$CG" || fail "cannot create $CG"
	lk_at_exit "rmdir '$CG'"
	run_work "$LK_TMP/cg" --cgroup "$CG" -s getppid,openat
	assert_eq "$(field "$LK_TMP/cg" getppid count)" $((N + TH)) "--cgroup: getppid"
	assert_eq "$(field "$LK_TMP/cg" openat errors)" "$K" "--cgroup: failed openat"
	# Per process: the workload's row alone (the rest of the machine opens
	# files all the time).
	run_work "$LK_TMP/cgp" --cgroup "$CG" -P -s getppid,openat
	assert_eq "$(jq -r 'select(.type=="process") | "\(.comm) \(.count) \(.errors)"' "$LK_TMP/cgp")" \
		"syslat_work $((N + TH + K)) $K" "--cgroup -P: rows"
	CG=
else
	ok "--cgroup: no writable cgroup v2 hierarchy, not tested"
fi

# --min-us: only calls at least that slow, so the 2 ms sleeps and the
# 50 ms interrupted reads; --events prints each of them.  A getppid or
# exit_group takes microseconds, unless its CPU stalls (a vCPU the host
# does not run: 35 ms once in a qemu TCG guest beside another): those
# are counted only as slow calls, each with its event.
run_work "$LK_TMP/m" -p PID --min-us 1500 --events -s getppid,nanosleep,read,exit_group
assert_eq "$(field "$LK_TMP/m" nanosleep count)" "$M" "--min-us: nanosleep"
assert_eq "$(field "$LK_TMP/m" read count)" "$R" "--min-us: the interrupted reads only"
ev() { jq -r "select(.type==\"event\") | $1" "$LK_TMP/m"; }
for sc in getppid exit_group; do
	assert_eq "$(field "$LK_TMP/m" $sc count)" "$(ev "select(.syscall==\"$sc\") | .lat_us" | wc -l | sed 's/^0$//')" \
		"--min-us: $sc only where it stalled, each an event"
done
left=$(field "$LK_TMP/m" getppid count)
assert_le "${left:-0}" $(((N + TH) / 10)) "--min-us: getppid calls left (of $((N + TH)))"
assert_eq "$(ev 'select(.syscall=="nanosleep") | .lat_us' | wc -l)" "$M" "--events: nanosleep events"
assert_eq "$(ev 'select(.syscall=="read") | .errno' | sort | uniq -c | awk '{ print $1, $2 }')" \
	"$R ERESTARTSYS" "--events: interrupted reads"
assert_ge "$(ev '.lat_us' | sort -g | head -1)" 1500 "--events: smallest latency (us)"
# One process; its sleeps and reads are the main thread's (a getppid of
# another thread shows when its CPU stalled).
pids=$(ev '.pid' | sort -u)
assert_eq "$(wc -l <<<"$pids")" 1 "--events: one pid"
assert_eq "$(ev 'select(.syscall == "nanosleep" or .syscall == "read") | .tid' | sort -u)" "$pids" \
	"--events: tid of the main thread's sleeps and reads = pid"

# -P -e: the errno breakdown per process.
run_work "$LK_TMP/pe" -p PID -P -e -s openat,getppid
assert_eq "$(jq -r 'select(.type=="process") | "\(.count) \(.errors) \(.errnos.ENOENT)"' "$LK_TMP/pe")" \
	"$((N + TH + K)) $K $K" "-P -e: count, errors, ENOENT"

# -H: the histogram holds every call of its row, in the right slots.
run_work "$LK_TMP/h" -p PID -H -s nanosleep,getppid
for s in nanosleep getppid; do
	assert_eq "$(hfield "$LK_TMP/h" $s '[.hist[].count] | add')" "$(field "$LK_TMP/h" $s count)" \
		"-H: $s histogram total"
done
assert_ge "$(hfield "$LK_TMP/h" nanosleep '[.hist[] | select(.count > 0) | .lo] | min')" 1024 \
	"-H: lowest nanosleep slot (us)"
# A few us at most: 1 on hardware, 2 under qemu TCG (make vmtest).
assert_le "$(hfield "$LK_TMP/h" getppid '[.hist[] | select(.count > 0) | .lo] | min')" 4 \
	"-H: lowest getppid slot (us)"

# -S and -n: count puts getppid first, time nanosleep (M x 2 ms), max
# and p99 the interrupted read (50 ms); -n keeps one row.  -s leaves out
# calls whose time depends on the scheduler (futex), and for time the
# reads.
first() { jq -r 'select(.type=="syscall") | .syscall' "$1" | head -1; }
for t in count:getppid:getppid,nanosleep,read,openat time:nanosleep:getppid,nanosleep,openat \
	 max:read:nanosleep,read p99:read:nanosleep,read; do
	IFS=: read -r key want list <<<"$t"
	run_work "$LK_TMP/s" -p PID -S "$key" -n 1 -T -s "$list"
	assert_eq "$(first "$LK_TMP/s")" "$want" "-S $key: first row"
	assert_eq "$(jq -r 'select(.type=="syscall")' "$LK_TMP/s" | jq -s length)" 1 "-n 1: rows shown"
	assert_eq "$(jq -r 'select(.type=="summary") | .rows' "$LK_TMP/s")" "$(echo "$list" | tr ',' '\n' | wc -l)" \
		"-n 1: rows counted"
done
assert_eq "$(jq -r 'select(.type=="syscall") | .time | test("^[0-9]{2}:[0-9]{2}:[0-9]{2}$")' "$LK_TMP/s")" \
	true "-T: time of day"

# interval and count: three reports, then syslat ends by itself.
timeout -s INT "$LK_HANG" "$OUTPUT/syslat" -j -c "$(lk_uid)" 0.1 3 >"$LK_TMP/ic" 2>"$LK_TMP/ic.err" ||
	{ cat "$LK_TMP/ic.err"; fail "syslat 0.1 3 failed or did not end"; }
assert_eq "$(jq -r '.type' "$LK_TMP/ic" | sort | uniq -c | awk '{ printf "%s %s ", $1, $2 }')" \
	"2 interval 1 summary " "0.1 3: reports"
