#!/bin/bash
# tcstamp's cost on a request/response load across a netlab: tcpreq, 4
# connections of 1000-byte ping-pong with TCP_NODELAY (two packets per
# request on the client's veth, both timed).
#
# Two identical labs run the same load at the same time, client and server
# of both pinned to one CPU; tcstamp is attached to one lab's client veth.
# Whatever else the machine does (this one is shared) then hits both
# alike.  Each round gives, per lab, the CPU time of client and server
# together per request: with no separate irq time accounting, it includes
# the softirq work their sends trigger (veth, the other stack, the BPF
# programs).  requests per CPU-second with/without is the throughput ratio
# a CPU-bound run on a CPU of its own would see (the goal); the requests/s
# ratio of the concurrent runs is printed too, but it also depends on how
# the scheduler shares the CPU between the labs.  Halfway tcstamp moves to
# the other lab, so a difference between the labs cancels.  Medians of
# ROUNDS rounds, min and max on stderr.
#
# Then three more rounds with kernel.bpf_stats_enabled (never during the
# rounds above: it costs time itself, about 60 ns per program run here,
# the EMPTY figure below): the programs' own run time per packet.
#
# FLOOR: the same, FLOOR_ROUNDS rounds and three with bpf_stats, with
# tcstamp attached but given a port filter that matches nothing (--rport
# of an unused port): what leaving it on costs traffic it does not time.
# EMPTY: an empty SCHED_CLS program (r0 = TC_ACT_OK; exit, bench/emptytc.c,
# built here into the temporary directory) on the same two hooks, tcx
# where tcstamp uses tcx, measured the same way in the same run: the
# hooks' own cost, and the part of every bpf_stats figure that the
# statistics themselves add.  bpf_stats are held on for these rounds
# by a BPF_ENABLE_STATS descriptor as well, so another benchmark putting
# the sysctl back meanwhile does not zero them.
#
# TCSTAMP=path compares another build; TOOL_ARGS adds tcstamp options.
set -u
. "$(dirname "$0")/lib.sh"
OUTPUT=${OUTPUT:-$PWD/build}
ROUNDS=${ROUNDS:-10}
FLOOR_ROUNDS=${FLOOR_ROUNDS:-6}
SECS=${SECS:-2}
CPU=${CPU:-0}
TCSTAMP=${TCSTAMP:-$OUTPUT/tcstamp}
TOOL_ARGS=${TOOL_ARGS:-}
command -v jq >/dev/null || { echo "jq not installed: skipped"; exit 0; }
command -v bpftool >/dev/null || { echo "bpftool not installed: skipped"; exit 0; }
for b in tcpreq netlab; do
	[ -x "$OUTPUT/$b" ] || { echo "$OUTPUT/$b not built"; exit 1; }
done
[ -x "$TCSTAMP" ] || { echo "$TCSTAMP not built"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root: skipped"; exit 0; }
tmp=$(mktemp -d)
labs=(lkb$$a lkb$$b)
pids=()
srvpid=()
tool=
holder=
stats0=$(sysctl -n kernel.bpf_stats_enabled)

stop_tool() {
	[ -n "$tool" ] || return 0
	bench_stop "$tool" INT
	tool=
}
stats_on() {
	sysctl -q -w kernel.bpf_stats_enabled=1
	[ -x "$tmp/emptytc" ] || return 0
	"$tmp/emptytc" stats >"$tmp/holder" 2>&1 &
	holder=$!
	bench_wait_line "$tmp/holder" "stats on" "$holder" || { echo "emptytc stats: $(cat "$tmp/holder")" >&2; }
}
stats_off() {
	[ -n "$holder" ] && bench_stop "$holder" INT
	holder=
	sysctl -q -w kernel.bpf_stats_enabled="$stats0"
}
cleanup() {
	local p l
	stop_tool
	stats_off
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	sysctl -q -w kernel.bpf_stats_enabled="$stats0"
	for l in "${labs[@]}"; do "$OUTPUT/netlab" down --prefix "$l" >/dev/null 2>&1; done
	rm -rf "$tmp"
}
trap cleanup EXIT
S=192.168.100.100:7200

# The empty program's loader, built with the system's libbpf.
emptytc=
# shellcheck disable=SC2046
if cc -O2 -o "$tmp/emptytc" "$(dirname "$0")/emptytc.c" $(pkg-config --cflags --libs libbpf 2>/dev/null) \
	2>"$tmp/cc.err"; then
	emptytc=$tmp/emptytc
else
	echo "bench/emptytc.c did not build: no EMPTY figures" >&2
	head -3 "$tmp/cc.err" >&2
fi

for l in "${labs[@]}"; do
	"$OUTPUT/netlab" up --prefix "$l" >/dev/null || { echo "netlab up failed"; exit 1; }
	ip netns exec "$l-server" taskset -c "$CPU" "$OUTPUT/tcpreq" server --nodelay "$S" \
		>/dev/null 2>&1 &
	pids+=($!)
	srvpid+=($!)
done
sleep 1

# CPU time of a process, all its threads (ns).
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%.0f\n", t }'
}

# One load run on lab $1; writes "requests rps cpu_ns_per_request" to
# $tmp/run$1.
run() {
	local srv=${srvpid[$1]} s0 s1 cli
	s0=$(cpu_ns "$srv")
	cli=$( { TIMEFORMAT='%3U %3S'; time ip netns exec "${labs[$1]}-client" taskset -c "$CPU" \
		"$OUTPUT/tcpreq" client -j --nodelay -n 4 --size 1000 --duration "$SECS" \
		--warmup 0 "$S" >"$tmp/req$1"; } 2>&1 )
	s1=$(cpu_ns "$srv")
	jq -r 'select(.type == "summary") | "\(.requests) \(.rps)"' "$tmp/req$1" |
		awk -v c="$cli" -v s=$((s1 - s0)) '{ split(c, t, " ")
			if ($1 > 0) printf "%d %.0f %.0f\n", $1, $2, ((t[1] + t[2]) * 1e9 + s) / $1 }' \
		>"$tmp/run$1"
}

# Both labs at once.  $1: the lab tcstamp is on.  Appends a line
# "rps_with rps_without cpu_with cpu_without" to $tmp/$2.
run_both() {
	local rw rb cw cb
	run 0 &
	run 1
	wait $!
	read -r _ rw cw <"$tmp/run$1"
	read -r _ rb cb <"$tmp/run$((1 - $1))"
	[ -n "${rb:-}" ] && [ -n "${rw:-}" ] || { echo "a run produced nothing"; exit 1; }
	echo "without: $rb requests/s, $cb CPU ns each; with: $rw, $cw" >&2
	echo "$rw $rb $cw $cb" >>"$tmp/$2"
}

# tcstamp on lab $1's client veth, with the options that follow; returns
# once it has attached.
start_tool() {
	local lab=$1
	shift
	"$TCSTAMP" -v -I veth0 --netns "${labs[$lab]}-client" "$@" >/dev/null 2>"$tmp/err" &
	tool=$!
	bench_wait_line "$tmp/err" "attached to" "$tool" 20 && return 0
	echo "tcstamp did not start: $(head -1 "$tmp/err")"
	exit 1
}

# The empty program on lab $1's client veth, as tcstamp attached ($how).
start_empty() {
	"$emptytc" "${labs[$1]}-client" veth0 "$how" >"$tmp/err" 2>&1 &
	tool=$!
	bench_wait_line "$tmp/err" "attached to" "$tool" 20 && return 0
	echo "emptytc did not start: $(head -1 "$tmp/err")"
	exit 1
}

# $1 rounds into $tmp/$2, the program moved to the other lab halfway by
# "$3 LAB" (start_tool or start_empty, with its arguments).
measure_rounds() {
	local n=$1 out=$2 i on
	shift 2
	for ((i = 0; i < n; i++)); do
		on=$((i * 2 / n))
		if [ "$i" = 0 ] || [ "$i" = $((n / 2)) ]; then
			stop_tool
			"$1" "$on" "${@:2}"
		fi
		echo -n "$out round $i: " >&2
		run_both "$on" "$out"
	done
	last_on=$on
}

# Three rounds with bpf_stats on lab $last_on, "name ns ... all NS
# per_request N" lines into $tmp/$1.
measure_stats() {
	local i reqs
	stats_on
	for ((i = 0; i < 3; i++)); do
		bench_prog_stats "$tool" >"$tmp/s0"
		echo -n "$1 bpf_stats round $i: " >&2
		run_both "$last_on" "$1.runs"
		bench_prog_stats "$tool" >"$tmp/s1"
		read -r reqs _ <"$tmp/run$last_on"
		join "$tmp/s0" "$tmp/s1" | awk -v reqs="$reqs" '
			{ t = $4 - $2; n = $5 - $3; T += t; N += n; printf "%s %.0f ", $1, n ? t / n : 0 }
			END { printf "all %.0f per_request %.2f\n", N ? T / N : 0, N / reqs }' >>"$tmp/$1"
	done
	stats_off
	sed "s/^/  $1 ns per run: /" "$tmp/$1" >&2
}

# The median of the "all" figures in $tmp/$1 (rounds where the programs
# ran at all).
stats_median() {
	awk '{ for (i = 1; i < NF; i++) if ($i == "all" && $(i + 1) > 0) print $(i + 1) }' "$tmp/$1" |
		bench_median || echo n/a
}

# The median requests per CPU-second with/without of rounds file $1.
cpu_ratio() {
	awk '{ print $4 / $3 }' "$tmp/$1" | bench_median || echo n/a
}

# shellcheck disable=SC2086
measure_rounds "$ROUNDS" rounds start_tool $TOOL_ARGS
grep -q "tcx links" "$tmp/err" && how=tcx || how=clsact
# Run time per packet of each program: the median of three rounds.
measure_stats progs
stop_tool

# FLOOR: a port no flow of the load uses.
unused=$(bench_free_port) || unused=9
[ "$unused" = "${S##*:}" ] && unused=9
# shellcheck disable=SC2086
measure_rounds "$FLOOR_ROUNDS" floor start_tool $TOOL_ARGS --rport "$unused"
measure_stats floor_progs
stop_tool
if [ -n "$emptytc" ]; then
	measure_rounds "$FLOOR_ROUNDS" empty start_empty
	measure_stats empty_progs
	stop_tool
fi

read -r lo tp hi < <(awk '{ print $1 / $2 }' "$tmp/rounds" | bench_spread)
echo "requests/s with/without, concurrent runs: min $lo, median $tp, max $hi" >&2
read -r lo cr hi < <(awk '{ print $4 / $3 }' "$tmp/rounds" | bench_spread)
echo "requests per CPU-second with/without: min $lo, median $cr, max $hi" >&2
read -r _ added _ < <(awk '{ print $3 - $4 }' "$tmp/rounds" | bench_spread)
ppr=$(awk '{ print $NF }' "$tmp/progs" | bench_spread | cut -d' ' -f2)
nsp=$(stats_median progs)
echo "RESULT|tcstamp|requests per CPU-second with/without|$cr|>= 0.97"
echo "RESULT|tcstamp|requests/s with/without (concurrent runs)|$tp|"
awk -v a="$added" -v p="$ppr" 'BEGIN {
	printf "RESULT|tcstamp|CPU added per packet, hooks included (ns)|%.0f|\n", (p > 0 ? a / p : 0) }'
printf 'RESULT|tcstamp|BPF run time per packet, bpf_stats (ns)|%s|<= 100\n' "$nsp"
fns=$(stats_median floor_progs)
echo "RESULT|tcstamp|FLOOR requests per CPU-second with/without (filter matches nothing)|$(cpu_ratio floor)|>= 0.99"
echo "RESULT|tcstamp|FLOOR BPF run time per packet, bpf_stats (ns)|$fns|<= EMPTY + 20"
if [ -n "$emptytc" ]; then
	ens=$(stats_median empty_progs)
	echo "RESULT|tcstamp|EMPTY tc program, requests per CPU-second with/without|$(cpu_ratio empty)|"
	echo "RESULT|tcstamp|EMPTY tc program run time per packet, bpf_stats (ns)|$ens|"
	awk -v f="$fns" -v e="$ens" 'BEGIN { if (f + 0 > 0 && e + 0 > 0)
		printf "RESULT|tcstamp|FLOOR minus EMPTY, bpf_stats (ns)|%.0f|<= 20\n", f - e }'
fi
