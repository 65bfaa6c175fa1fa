#!/bin/bash
# tcplat's cost: tcpreq ping-pong over 32 connections across a netlab,
# client and server pinned to one CPU, alone, under tcplat (no filter:
# both ends traced, every send, receive and arrival) and under "tcplat
# -p 1" (the floor: every program runs, finds the socket and drops it at
# the cached filter answer), runs interleaved (alone, tcplat, floor,
# alone, ...; ROUNDS rounds, default five) and the median of the
# per-round ratios to the run alone printed.  On a
# machine shared with other work throughput swings by tens of percent
# from run to run, so the CPU time both tcpreq processes spend per
# request (client: user + sys from time(1); server: its threads'
# schedstat run time; BPF programs run in their context) is compared
# too: it moves much less with what else runs.  Then
# kernel.bpf_stats_enabled, only for a separate short run (the stats cost
# time themselves), gives the programs' run time per event; the sysctl
# is restored at exit.
set -u
. "$(dirname "$0")/lib.sh"
OUTPUT=${OUTPUT:-$PWD/build}
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-3}
CPU=${CPU:-0}
command -v jq >/dev/null || { echo "jq not installed: skipped"; exit 0; }
for b in tcplat tcpreq netlab; do
	[ -x "$OUTPUT/$b" ] || { echo "$OUTPUT/$b not built"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "needs root: skipped"; exit 0; }
tmp=$(mktemp -d)
lab=lkb$$
pids=()
tracer=
stats0=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	local p
	[ -n "$tracer" ] && kill -INT "$tracer" 2>/dev/null && wait "$tracer" 2>/dev/null
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	sysctl -q -w kernel.bpf_stats_enabled="$stats0"
	"$OUTPUT/netlab" down --prefix "$lab" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
"$OUTPUT/netlab" up --prefix "$lab" >/dev/null || { echo "netlab up failed"; exit 1; }
S=192.168.100.100:7200

ip netns exec "$lab-server" taskset -c "$CPU" "$OUTPUT/tcpreq" server --nodelay "$S" >/dev/null 2>&1 &
SRV=$!
pids+=($SRV)
sleep 1

# Run time (ns) of all the server's threads so far.
srv_ns() {
	cat /proc/"$SRV"/task/*/schedstat 2>/dev/null | awk '{ t += $1 } END { printf "%d\n", t }'
}

# run: print "rps cpu_ns_per_request" of one pinned client run.
run() {
	local s0 s1
	s0=$(srv_ns)
	ip netns exec "$lab-client" /usr/bin/time -f '%U %S' -o "$tmp/time" \
		taskset -c "$CPU" "$OUTPUT/tcpreq" client -j --nodelay -n 32 \
		--duration "$SECS" --warmup 0.5 "$S" >"$tmp/run"
	s1=$(srv_ns)
	jq -r --argjson s $((s1 - s0)) --arg t "$(cat "$tmp/time")" \
		'select(.type == "summary") |
		 "\(.rps) \(((($t | split(" ") | map(tonumber) | add) * 1e9) + $s) / .requests)"' "$tmp/run"
}

# start_tracer [TCPLAT ARGS]: start tcplat and wait until it has attached.
start_tracer() {
	local i
	"$OUTPUT/tcplat" -v "$@" >"$tmp/out" 2>"$tmp/err" &
	tracer=$!
	for ((i = 0; i < 100; i++)); do
		grep -q tracing "$tmp/err" && return 0
		kill -0 "$tracer" 2>/dev/null || break
		sleep 0.1
	done
	echo "tcplat did not start:" >&2
	cat "$tmp/err" >&2
	exit 1
}
stop_tracer() {
	kill -INT "$tracer"
	wait "$tracer"
	tracer=
}

# Sum of run_time_ns and run_cnt over the BPF programs a process holds.
prog_stats() {
	bench_prog_stats "$1" | awk '{ t += $2; n += $3 } END { printf "%d %d\n", t, n }'
}

ratios=() cpus=() fratios=() fcpus=()
for ((i = 0; i < ROUNDS; i++)); do
	read -r base bcpu < <(run)
	start_tracer
	read -r with wcpu < <(run)
	stop_tracer
	start_tracer -p 1
	read -r floor fcpu < <(run)
	stop_tracer
	r=$(awk -v a="$with" -v b="$base" 'BEGIN { printf "%.4f", a / b }')
	q=$(awk -v a="$wcpu" -v b="$bcpu" 'BEGIN { printf "%.4f", a / b }')
	fr=$(awk -v a="$floor" -v b="$base" 'BEGIN { printf "%.4f", a / b }')
	fq=$(awk -v a="$fcpu" -v b="$bcpu" 'BEGIN { printf "%.4f", a / b }')
	echo "round $i: rps alone $base, tcplat $with ($r), floor $floor ($fr);" \
		"cpu ns/request alone $bcpu, tcplat $wcpu ($q), floor $fcpu ($fq)" >&2
	ratios+=("$r") cpus+=("$q") fratios+=("$fr") fcpus+=("$fq")
done

# ns_per_event [TCPLAT ARGS]: one run with the BPF stats on.
ns_per_event() {
	local t n
	start_tracer "$@"
	sysctl -q -w kernel.bpf_stats_enabled=1
	SECS=2 run >/dev/null
	read -r t n < <(prog_stats "$tracer")
	sysctl -q -w kernel.bpf_stats_enabled="$stats0"
	stop_tracer
	echo "bpf stats run ($*): $n program runs, $t ns" >&2
	awk -v t="$t" -v n="$n" 'BEGIN { printf "%.0f\n", n ? t / n : 0 }'
}
nsp=$(ns_per_event)
nsf=$(ns_per_event -p 1)

med() { printf '%s\n' "$@" | bench_median; }
echo "RESULT|tcplat|throughput under/alone (tcpreq 32 conns rps)|$(med "${ratios[@]}")|>= 0.97"
echo "RESULT|tcplat|cpu per request under/alone (client + server)|$(med "${cpus[@]}")|<= 1.03"
echo "RESULT|tcplat|floor (-p 1): throughput under/alone|$(med "${fratios[@]}")|"
echo "RESULT|tcplat|floor (-p 1): cpu per request under/alone|$(med "${fcpus[@]}")|"
echo "RESULT|tcplat|BPF run time per event (ns)|$nsp|"
echo "RESULT|tcplat|floor (-p 1): BPF run time per event (ns)|$nsf|"
