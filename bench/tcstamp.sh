#!/bin/bash
# tcstamp's cost: tcpreq request/response throughput across a netlab with
# and without tcstamp attached to the client's veth (runs interleaved,
# ROUNDS pairs, default three, median ratio; client and server pinned to
# one CPU), and the programs' own run time per packet from the kernel's
# BPF stats (kernel.bpf_stats_enabled, on only for a separate 2 s run).
set -u
OUTPUT=${OUTPUT:-$PWD/build}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-4}
CPU=${CPU:-0}
command -v jq >/dev/null || { echo "jq not installed: skipped"; exit 0; }
for b in tcstamp tcpreq netlab; do
	[ -x "$OUTPUT/$b" ] || { echo "$OUTPUT/$b not built"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "needs root: skipped"; exit 0; }
tmp=$(mktemp -d)
lab=lkb$$
pids=()
stats0=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	sysctl -q -w kernel.bpf_stats_enabled="$stats0"
	"$OUTPUT/netlab" down --prefix "$lab" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
"$OUTPUT/netlab" up --prefix "$lab" >/dev/null || { echo "netlab up failed"; exit 1; }
S=192.168.100.100:7200

ip netns exec "$lab-server" taskset -c "$CPU" "$OUTPUT/tcpreq" server --nodelay "$S" >/dev/null 2>&1 &
pids+=($!)
sleep 1

run() {
	ip netns exec "$lab-client" taskset -c "$CPU" "$OUTPUT/tcpreq" client -j --nodelay -n 4 \
		--size 1000 --duration "$SECS" --warmup 0.5 "$S" |
		jq -r 'select(.type == "summary") | .rps'
}

# Sum of run_time_ns and run_cnt over the BPF programs a process holds.
prog_stats() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '
		$1 == "prog_id:" { id = $2 }
		$1 == "run_time_ns:" && !(id in seen) { t += $2 }
		$1 == "run_cnt:" && !(id in seen) { n += $2; seen[id] = 1 }
		END { printf "%d %d\n", t, n }'
}

ratios=() nsp=()
for ((i = 0; i < ROUNDS; i++)); do
	base=$(run)
	"$OUTPUT/tcstamp" -I veth0 --netns "$lab-client" >"$tmp/out" 2>&1 &
	tp=$!
	sleep 1
	with=$(run)
	# BPF stats cost time themselves: only for a separate short run.
	sysctl -q -w kernel.bpf_stats_enabled=1
	SECS=2 run >/dev/null
	read -r t n < <(prog_stats $tp)
	sysctl -q -w kernel.bpf_stats_enabled="$stats0"
	kill -INT $tp; wait $tp
	r=$(awk -v a="$with" -v b="$base" 'BEGIN { printf "%.4f", a / b }')
	p=$(awk -v t="$t" -v n="$n" 'BEGIN { printf "%.0f", n ? t / n : 0 }')
	echo "round $i: rps without $base, with $with (ratio $r); $n packets timed, $p ns each" >&2
	ratios+=("$r") nsp+=("$p")
done
med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "RESULT|tcstamp|throughput with/without (tcpreq rps)|$(med "${ratios[@]}")|>= 0.97"
echo "RESULT|tcstamp|BPF run time per packet (ns)|$(med "${nsp[@]}")|"
