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
# Last, three more rounds with kernel.bpf_stats_enabled (never during the
# rounds above: it costs time itself, about 100 ns per program run here,
# measured with an empty program): the programs' own run time per packet.
#
# TCSTAMP=path compares another build; TOOL_ARGS adds tcstamp options.
set -u
. "$(dirname "$0")/lib.sh"
OUTPUT=${OUTPUT:-$PWD/build}
ROUNDS=${ROUNDS:-10}
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
stats0=$(sysctl -n kernel.bpf_stats_enabled)

stop_tool() {
	[ -n "$tool" ] || return 0
	kill -INT "$tool" 2>/dev/null
	wait "$tool" 2>/dev/null
	tool=
}
cleanup() {
	local p l
	stop_tool
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	sysctl -q -w kernel.bpf_stats_enabled="$stats0"
	for l in "${labs[@]}"; do "$OUTPUT/netlab" down --prefix "$l" >/dev/null 2>&1; done
	rm -rf "$tmp"
}
trap cleanup EXIT
S=192.168.100.100:7200

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

# tcstamp on lab $1's client veth; returns once it has attached.
start_tool() {
	local i
	# shellcheck disable=SC2086
	"$TCSTAMP" -v -I veth0 --netns "${labs[$1]}-client" $TOOL_ARGS >/dev/null 2>"$tmp/err" &
	tool=$!
	for ((i = 0; i < 100; i++)); do
		grep -q "attached to" "$tmp/err" && return 0
		kill -0 "$tool" 2>/dev/null || break
		sleep 0.05
	done
	echo "tcstamp did not start: $(head -1 "$tmp/err")"
	exit 1
}

for ((i = 0; i < ROUNDS; i++)); do
	on=$((i * 2 / ROUNDS))
	if [ "$i" = 0 ] || [ "$i" = $((ROUNDS / 2)) ]; then
		stop_tool
		start_tool $on
	fi
	echo -n "round $i: " >&2
	run_both $on rounds
done

# Run time per packet of each program: the median of three rounds.
sysctl -q -w kernel.bpf_stats_enabled=1
for ((i = 0; i < 3; i++)); do
	bench_prog_stats "$tool" >"$tmp/s0"
	echo -n "bpf_stats round $i: " >&2
	run_both $on stats
	bench_prog_stats "$tool" >"$tmp/s1"
	read -r reqs _ <"$tmp/run$on"
	join "$tmp/s0" "$tmp/s1" | awk -v reqs="$reqs" '
		{ t = $4 - $2; n = $5 - $3; T += t; N += n; printf "%s %.0f ", $1, n ? t / n : 0 }
		END { printf "all %.0f per_request %.2f\n", N ? T / N : 0, N / reqs }' >>"$tmp/progs"
done
sysctl -q -w kernel.bpf_stats_enabled="$stats0"
stop_tool
sed 's/^/  ns per run: /' "$tmp/progs" >&2

read -r lo tp hi < <(awk '{ print $1 / $2 }' "$tmp/rounds" | bench_spread)
echo "requests/s with/without, concurrent runs: min $lo, median $tp, max $hi" >&2
read -r lo cr hi < <(awk '{ print $4 / $3 }' "$tmp/rounds" | bench_spread)
echo "requests per CPU-second with/without: min $lo, median $cr, max $hi" >&2
read -r _ added _ < <(awk '{ print $3 - $4 }' "$tmp/rounds" | bench_spread)
ppr=$(awk '{ print $NF }' "$tmp/progs" | bench_spread | cut -d' ' -f2)
read -r _ nsp _ < <(awk '{ for (i = 1; i < NF; i++) if ($i == "all") print $(i + 1) }' "$tmp/progs" | bench_spread)
echo "RESULT|tcstamp|requests per CPU-second with/without|$cr|>= 0.97"
echo "RESULT|tcstamp|requests/s with/without (concurrent runs)|$tp|"
awk -v a="$added" -v p="$ppr" 'BEGIN {
	printf "RESULT|tcstamp|CPU added per packet, hooks included (ns)|%.0f|\n", (p > 0 ? a / p : 0) }'
printf 'RESULT|tcstamp|BPF run time per packet, bpf_stats (ns)|%.0f|\n' "$nsp"
