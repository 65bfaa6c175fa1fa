#!/bin/bash
# syslat's cost on a syscall-heavy workload: dd bs=1 (two syscalls a byte),
# pinned to one CPU, timed alone, under syslat, under syslat with a filter
# that rejects every event (the floor: tracepoints enabled, nothing done),
# under libbpf-tools' syscount -L, under a bpftrace latency script, and
# under strace -c -f (both pinned; on 1/20 of the bytes, scaled up: it
# is some 70 times slower).
# Runs are interleaved round by round; the median over rounds of each
# round's ratio is printed.
# The slowdown is measured on dd's CPU time (user + sys: BPF programs run
# in dd's context) as well as wall time; on a shared machine CPU time is
# the steadier of the two.  Then one run each of syslat and syscount with
# kernel.bpf_stats_enabled gives ns per event (the sysctl is restored).
#
# BENCH_COUNT (default 2000000 bytes = 4M syscalls), BENCH_ROUNDS (3),
# BENCH_CPU (the CPU to pin to, default the last one).
set -u
. "$(dirname "$0")/lib.sh"
OUTPUT=${OUTPUT:-$PWD/build}
COUNT=${BENCH_COUNT:-2000000}
ROUNDS=${BENCH_ROUNDS:-3}
CPU=${BENCH_CPU:-$(($(nproc) - 1))}
STRACE_DIV=20
SYSLAT=$OUTPUT/syslat
TMP=$(mktemp -d /tmp/syslat-bench.XXXXXX)
TRACER=
STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)

cleanup() {
	[ -n "$TRACER" ] && kill -INT "$TRACER" 2>/dev/null && wait "$TRACER" 2>/dev/null
	sysctl -q -w kernel.bpf_stats_enabled="$STATS_OLD" 2>/dev/null
	bench_tracefs_undo
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "bench/syslat: needs root" >&2; exit 1; }
[ -x "$SYSLAT" ] || { echo "bench/syslat: $SYSLAT not built" >&2; exit 1; }
for c in bpftool jq taskset /usr/bin/time; do
	command -v "$c" >/dev/null || { echo "bench/syslat: needs $c" >&2; exit 1; }
done

BT_SCRIPT='tracepoint:raw_syscalls:sys_enter { @start[tid] = nsecs; }
tracepoint:raw_syscalls:sys_exit /@start[tid]/ {
	@lat[args->id] = hist(nsecs - @start[tid]); delete(@start[tid]); }'

bench_tracefs || echo "bench/syslat: no tracefs: syscount and bpftrace will fail" >&2
configs="alone syslat floor"
command -v syscount >/dev/null && configs="$configs syscount" || echo "bench/syslat: no syscount, skipped" >&2
command -v bpftrace >/dev/null && configs="$configs bpftrace" || echo "bench/syslat: no bpftrace, skipped" >&2
command -v strace >/dev/null && configs="$configs strace" || echo "bench/syslat: no strace, skipped" >&2

# start_tracer CONFIG: start it and wait until it has attached.
start_tracer() {
	local log=$TMP/tracer.log i
	case $1 in
	alone|strace) return 0 ;;
	syslat) "$SYSLAT" -v >/dev/null 2>"$log" & ;;
	floor) "$SYSLAT" -v -p 1 >/dev/null 2>"$log" & ;;
	syscount) syscount -L >"$log" 2>&1 & ;;
	bpftrace) bpftrace -e "$BT_SCRIPT" >"$log" 2>&1 & ;;
	esac
	TRACER=$!
	for ((i = 0; i < 300; i++)); do
		# Attached: two links, or bpftrace's line (it says so just
		# before; its output is not buffered, syscount's is).
		if [ "$(bench_prog_ids "$TRACER" | wc -l)" -ge 2 ] &&
		   { [ "$(bench_nlinks "$TRACER")" -ge 2 ] || grep -qi attaching "$log"; }; then
			sleep 0.5
			return 0
		fi
		kill -0 "$TRACER" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench/syslat: $1 did not start:" >&2
	cat "$log" >&2
	exit 1
}

stop_tracer() {
	[ -n "$TRACER" ] || return 0
	kill -INT "$TRACER" 2>/dev/null
	wait "$TRACER" 2>/dev/null
	TRACER=
}

# run_dd [CONFIG]: print "wall cpu" seconds of one pinned dd (for strace,
# strace's time included, scaled to the full count).
run_dd() {
	local count=$COUNT div=1 pre=()
	if [ "${1:-}" = strace ]; then
		div=$STRACE_DIV
		count=$((COUNT / div))
		pre=(strace -f -c -o /dev/null)
	fi
	/usr/bin/time -f '%e %U %S' -o "$TMP/time" taskset -c "$CPU" \
		"${pre[@]}" dd if=/dev/zero of=/dev/null bs=1 count="$count" 2>/dev/null
	awk -v d="$div" '{ printf "%.2f %.3f\n", $1 * d, ($2 + $3) * d }' "$TMP/time"
}

for ((r = 1; r <= ROUNDS; r++)); do
	for c in $configs; do
		start_tracer "$c"
		t=$(run_dd "$c")
		stop_tracer
		echo "$t" >>"$TMP/$c"
		echo "round $r $c: wall, cpu seconds: $t" >&2
	done
done

# ratio A B COLUMN: median over rounds of A's time over B's in the same
# round (a round's configurations ran within seconds of each other, so
# the machine's load changes less between them than between rounds).
ratio() {
	paste -d' ' "$TMP/$1" "$TMP/$2" |
		awk -v c="$3" '{ printf "%.4f\n", $c / $(c + 2) }' | bench_median |
		awk '{ printf "%.2fx", $1 }'
}
echo "RESULT|syslat|dd bs=1 alone (s, cpu)|$(cut -d' ' -f2 "$TMP/alone" | bench_median)|"
for c in $configs; do
	[ "$c" = alone ] && continue
	goal=
	[ "$c" = syslat ] && goal="<= syscount's (3.05x in the issue)"
	echo "RESULT|syslat|slowdown $c (cpu)|$(ratio "$c" alone 2)|$goal"
	echo "RESULT|syslat|slowdown $c (wall)|$(ratio "$c" alone 1)|"
done
case " $configs " in *" syscount "*)
	echo "RESULT|syslat|syslat over syscount (cpu)|$(ratio syslat syscount 2)|<= 1"
esac

# ns per event: run time of the tracer's programs over their run count.
ns_per_event() {
	bench_prog_stats "$TRACER" | while read -r name t n; do
		[ "$n" -gt 0 ] || continue
		echo "RESULT|syslat|ns per event $1 $name|$((t / n))|"
	done
}
if sysctl -q -w kernel.bpf_stats_enabled=1; then
	for c in syslat syscount; do
		case " $configs " in *" $c "*) ;; *) continue ;; esac
		start_tracer "$c"
		run_dd >/dev/null
		ns_per_event "$c"
		stop_tracer
	done
	sysctl -q -w kernel.bpf_stats_enabled="$STATS_OLD"
fi
