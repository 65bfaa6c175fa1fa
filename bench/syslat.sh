#!/bin/bash
# syslat's cost on a syscall-heavy workload: dd bs=1 (two syscalls a byte),
# pinned to one CPU, timed alone, under syslat, under its floor, beside an
# empty program, under libbpf-tools' syscount -L, under a bpftrace latency
# script, and under strace -c -f (on 1/20 of the bytes, scaled up: it is
# some 70 times slower).
#
# The floor is syslat -p of an idle process (a sleep this script started):
# both programs run on every syscall of the machine and return at the
# filter.  The empty program is bench/emptyprog ("r0 = 0; exit") on the
# hooks and attach method syslat chose (its -v lines): the kernel's own
# cost of running any program there.
#
# Runs are interleaved round by round; the median over rounds of each
# round's ratio is printed.  The slowdown is measured on dd's CPU time
# (user + sys: BPF programs run in dd's context) as well as wall time; on
# a shared machine CPU time is the steadier of the two.
#
# Then, with BPF run-time statistics on (which cost time themselves, so
# never during the timed rounds; held on by "emptyprog --stats" as well as
# the sysctl, restored after): ns per run of syslat's enter and exit
# programs, each measured in the same dd run as the empty program
# attached beside it on the same hooks; the same for the floor; and
# syscount's.  Medians over BENCH_STATS_ROUNDS such runs.
#
# BENCH_COUNT (default 2000000 bytes = 4M syscalls), BENCH_ROUNDS (3),
# BENCH_STATS_ROUNDS (3), BENCH_CPU (the CPU to pin to, default the last
# one), BENCH_CONFIGS (a subset of "alone syslat floor empty syscount
# bpftrace strace"; alone is always run).
set -u
. "$(dirname "$0")/lib.sh"
OUTPUT=${OUTPUT:-$PWD/build}
COUNT=${BENCH_COUNT:-2000000}
ROUNDS=${BENCH_ROUNDS:-3}
SROUNDS=${BENCH_STATS_ROUNDS:-3}
CPU=${BENCH_CPU:-$(($(nproc) - 1))}
STRACE_DIV=20
SYSLAT=$OUTPUT/syslat
TMP=$(mktemp -d /tmp/syslat-bench.XXXXXX)
TRACER='' EMPTY='' STATSP='' IDLE=''
STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)

cleanup() {
	bench_stop "$TRACER" INT
	bench_stop "$EMPTY" INT
	bench_stop "$STATSP" INT
	bench_stop "$IDLE"
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
want() { case " ${BENCH_CONFIGS:-syslat floor empty syscount bpftrace strace} " in *" $1 "*) return 0 ;; esac; return 1; }
configs=alone
for c in syslat floor; do want $c && configs="$configs $c"; done

# The empty program goes on the hooks syslat chose.
bench_emptyprog "$TMP"
hooks=()
if [ -z "$empty_why" ]; then
	"$SYSLAT" -v -s getpid >/dev/null 2>"$TMP/hooks.log" &
	TRACER=$!
	bench_wait_line "$TMP/hooks.log" 'ready: programs attached' "$TRACER" 20 &&
		mapfile -t hooks < <(bench_hooks "$TMP/hooks.log")
	# One line for both hooks (as older builds print): the exit goes as the entry.
	if [ ${#hooks[@]} -eq 1 ]; then
		case ${hooks[0]} in *sys_enter) hooks+=("${hooks[0]%sys_enter}sys_exit") ;; esac
	fi
	bench_stop "$TRACER" INT
	TRACER=
	[ ${#hooks[@]} -ge 2 ] || empty_why="no 'hook ...: using METHOD' lines for sys_enter and sys_exit in syslat -v"
fi
if [ -z "$empty_why" ]; then
	echo "hooks syslat chose (from -v): ${hooks[*]}" >&2
	want empty && configs="$configs empty"
else
	echo "bench/syslat: empty program skipped: $empty_why" >&2
fi
if want syscount; then
	command -v syscount >/dev/null && configs="$configs syscount" || echo "bench/syslat: no syscount, skipped" >&2
fi
if want bpftrace; then
	command -v bpftrace >/dev/null && configs="$configs bpftrace" || echo "bench/syslat: no bpftrace, skipped" >&2
fi
if want strace; then
	command -v strace >/dev/null && configs="$configs strace" || echo "bench/syslat: no strace, skipped" >&2
fi

# The floor's process: alive, never making a syscall.
sleep 100000 &
IDLE=$!

# start_tracer CONFIG: start it and wait until it has attached.
start_tracer() {
	local log=$TMP/tracer.log i
	case $1 in
	alone|strace) return 0 ;;
	syslat|floor)
		if [ "$1" = syslat ]; then
			"$SYSLAT" -v >/dev/null 2>"$log" &
		else
			"$SYSLAT" -v -p "$IDLE" >/dev/null 2>"$log" &
		fi
		TRACER=$!
		bench_wait_line "$log" 'ready: programs attached' "$TRACER" 30 && return 0
		;;
	empty)
		"$EMPTYPROG" "${hooks[@]}" >"$log" 2>&1 &
		TRACER=$!
		bench_wait_line "$log" '^ready' "$TRACER" 30 && return 0
		;;
	syscount|bpftrace)
		if [ "$1" = syscount ]; then
			syscount -L >"$log" 2>&1 &
		else
			bpftrace -e "$BT_SCRIPT" >"$log" 2>&1 &
		fi
		TRACER=$!
		for ((i = 0; i < 300; i++)); do
			# Attached: two links, or bpftrace's line (it says so
			# just before; its output is not buffered, syscount's is).
			if [ "$(bench_prog_ids "$TRACER" | wc -l)" -ge 2 ] &&
			   { [ "$(bench_nlinks "$TRACER")" -ge 2 ] || grep -qi attaching "$log"; }; then
				sleep 0.5
				return 0
			fi
			bench_alive "$TRACER" || break
			sleep 0.1
		done
		;;
	esac
	echo "bench/syslat: $1 did not start:" >&2
	cat "$log" >&2
	exit 1
}

stop_tracer() {
	bench_stop "$TRACER" INT
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
	[ "$c" = syslat ] && goal="<= 1.8x"
	echo "RESULT|syslat|slowdown $c (cpu)|$(ratio "$c" alone 2)|$goal"
	echo "RESULT|syslat|slowdown $c (wall)|$(ratio "$c" alone 1)|"
done
case " $configs " in *" syscount "*)
	echo "RESULT|syslat|syslat over syscount (cpu)|$(ratio syslat syscount 2)|<= 1"
esac
case " $configs " in *" floor "*" empty "*)
	echo "RESULT|syslat|floor over empty program (cpu)|$(ratio floor empty 2)|"
esac

## BPF run time per event, with the statistics on.

stats_on() {
	sysctl -q -w kernel.bpf_stats_enabled=1
	"$EMPTYPROG" --stats >"$TMP/sout" 2>&1 &
	STATSP=$!
	bench_wait_line "$TMP/sout" '^ready' "$STATSP" 10 ||
		{ echo "emptyprog --stats: $(head -n 1 "$TMP/sout")" >&2; STATSP=; }
}
stats_off() {
	bench_stop "$STATSP" INT
	STATSP=
	sysctl -q -w kernel.bpf_stats_enabled="$STATS_OLD"
}

# ns_of FILE enter|exit: ns per run of the program (name "ns runs" lines
# of bench_prog_delta) on that hook; "-" if none ran.
ns_of() {
	awk -v h="$2" '$1 ~ h { printf "%.1f", $2; found = 1; exit }
		END { if (!found) printf "-" }' "$1"
}

# stats_run CONFIG: one dd run under CONFIG (syslat, floor or syscount),
# beside the empty program on the same hooks (not for syscount); appends
# "enter exit" ns per run to $TMP/ns.CONFIG and $TMP/ns.CONFIG.empty.
stats_run() {
	local c=$1 e=
	start_tracer "$c"
	if [ "$c" != syscount ] && [ -z "$empty_why" ]; then
		"$EMPTYPROG" "${hooks[@]}" >"$TMP/eout" 2>&1 &
		EMPTY=$!
		bench_wait_line "$TMP/eout" '^ready' "$EMPTY" 30 || { bench_stop "$EMPTY" INT; EMPTY=; }
	fi
	stats_on
	bench_prog_stats_ids "$TRACER" >"$TMP/t0"
	[ -n "$EMPTY" ] && bench_prog_stats_ids "$EMPTY" >"$TMP/e0"
	run_dd >/dev/null
	bench_prog_stats_ids "$TRACER" >"$TMP/t1"
	[ -n "$EMPTY" ] && bench_prog_stats_ids "$EMPTY" >"$TMP/e1"
	stats_off
	bench_prog_delta "$TMP/t0" "$TMP/t1" >"$TMP/d.$c"
	echo "$(ns_of "$TMP/d.$c" enter) $(ns_of "$TMP/d.$c" exit)" >>"$TMP/ns.$c"
	if [ -n "$EMPTY" ]; then
		bench_prog_delta "$TMP/e0" "$TMP/e1" >"$TMP/d.$c.empty"
		echo "$(ns_of "$TMP/d.$c.empty" enter) $(ns_of "$TMP/d.$c.empty" exit)" >>"$TMP/ns.$c.empty"
		e="; empty beside it: $(awk '{ printf "%s %s ns x %d; ", $1, $2, $3 }' "$TMP/d.$c.empty")"
	fi
	echo "bpf stats, $c: $(awk '{ printf "%s %s ns x %d; ", $1, $2, $3 }' "$TMP/d.$c")$e" >&2
	bench_stop "$EMPTY" INT
	EMPTY=
	stop_tracer
}

# col FILE N: the median of column N ("-" when there is none).
col() {
	[ -s "$1" ] || { echo -; return; }
	awk -v n="$2" '$n != "-" { print $n }' "$1" | bench_median 2>/dev/null | awk '{ printf "%.0f", $1 }' |
		grep . || echo -
}
# minus A B: A - B, or "n/a".
minus() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "-" && b != "-" && a != "" && b != "") printf "%.0f", a - b; else print "n/a" }'; }

stats_configs=
for c in syslat floor syscount; do
	case " $configs " in *" $c "*) stats_configs="$stats_configs $c" ;; esac
done
if [ -n "$stats_configs" ] && sysctl -q -w kernel.bpf_stats_enabled="$STATS_OLD"; then
	for ((r = 1; r <= SROUNDS; r++)); do
		for c in $stats_configs; do
			stats_run "$c"
		done
	done
	for c in syslat floor; do
		[ -s "$TMP/ns.$c" ] || continue
		for h in enter exit; do
			n=1
			[ $h = exit ] && n=2
			v=$(col "$TMP/ns.$c" $n) e=$(col "$TMP/ns.$c.empty" $n)
			goal=
			[ "$c" = syslat ] && goal="<= empty + 40"
			echo "RESULT|syslat|ns per $h: $c|$v|$goal"
			echo "RESULT|syslat|ns per $h: empty program beside $c|$e|"
			echo "RESULT|syslat|ns per $h: $c minus empty|$(minus "$v" "$e")|${goal:+<= 40}"
		done
	done
	if [ -s "$TMP/ns.syscount" ]; then
		echo "RESULT|syslat|ns per enter: syscount -L|$(col "$TMP/ns.syscount" 1)|"
		echo "RESULT|syslat|ns per exit: syscount -L|$(col "$TMP/ns.syscount" 2)|"
	fi
fi
