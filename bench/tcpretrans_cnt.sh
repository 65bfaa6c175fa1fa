#!/bin/bash
# tcpretrans_cnt's cost.  A netlab with 1% loss and a tcpreq server; the
# load is a bulk push (4 connections of 64 KiB messages, as fast as TCP
# goes) with client and server pinned to one CPU, so that the stacks, the
# veth and the BPF programs share it and a throughput ratio is the tool's
# CPU cost.  The tool's hooks are global (every sendmsg, every
# retransmission on the host), so the comparison is in time, not between
# labs: each round runs the load without the tool and with it (started
# for that run, watching every namespace), in alternating order.  The
# result is the median of the rounds' with/without ratios.  With 1% loss
# a run's throughput is set by when losses fall (RTO stalls), not by the
# CPU, so single ratios spread by +-30% on a shared 2-core machine; the
# BPF share of the CPU below is the steadier measure of the cost.
#
# Then one more run with kernel.bpf_stats_enabled (which costs time
# itself, so never during the rounds): run time per call of each program
# and their share of the CPU.
set -u
. "$(dirname "$0")/lib.sh"
OUTPUT=${OUTPUT:-$PWD/build}
ROUNDS=${ROUNDS:-10}
SECS=${SECS:-3}
CPU=${CPU:-0}
command -v jq >/dev/null || { echo "jq not installed: skipped"; exit 0; }
command -v bpftool >/dev/null || { echo "bpftool not installed: skipped"; exit 0; }
for b in tcpretrans_cnt tcpreq netlab; do
	[ -x "$OUTPUT/$b" ] || { echo "$OUTPUT/$b not built"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "needs root: skipped"; exit 0; }
tmp=$(mktemp -d)
lab=lkr$$
server=
tool=
stats0=$(sysctl -n kernel.bpf_stats_enabled)
stop_tool() {
	[ -n "$tool" ] || return 0
	kill -INT "$tool" 2>/dev/null
	wait "$tool" 2>/dev/null
	tool=
}
cleanup() {
	stop_tool
	[ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
	sysctl -q -w kernel.bpf_stats_enabled="$stats0"
	"$OUTPUT/netlab" down --prefix "$lab" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
S=192.168.100.100:7210

"$OUTPUT/netlab" up --prefix "$lab" --loss 1 >/dev/null || { echo "netlab up failed"; exit 1; }
ip netns exec "$lab-server" taskset -c "$CPU" "$OUTPUT/tcpreq" server "$S" >/dev/null 2>&1 &
server=$!
sleep 1

octets() { ip netns exec "$lab-server" awk '$1 == "IpExt:" && n++ { print $8 }' /proc/net/netstat; }
# Wait until the last run's connections have drained (their lost data is
# still being resent after the client closes), then run: MB/s that
# reached the server's IP layer while the client ran.
run() {
	local i o0 o1 t0 t1
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$lab-client" ss -Htan | grep -vqE '^(LISTEN|TIME-WAIT) ' || break
		sleep 0.1
	done
	o0=$(octets) t0=$(date +%s%N)
	ip netns exec "$lab-client" taskset -c "$CPU" timeout $((SECS + 20)) "$OUTPUT/tcpreq" \
		client --mode push --size 65536 -n 4 --duration "$SECS" "$S" >/dev/null 2>&1 || return
	o1=$(octets) t1=$(date +%s%N)
	awk -v b=$((o1 - o0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.1f", b / t * 1e3 }'
}

# Returns once the tool counts.
start_tool() {
	local i
	"$OUTPUT/tcpretrans_cnt" -v -F >"$tmp/out" 2>"$tmp/err" &
	tool=$!
	for ((i = 0; i < 100; i++)); do
		grep -q "counting" "$tmp/err" && return 0
		kill -0 "$tool" 2>/dev/null || break
		sleep 0.05
	done
	echo "tcpretrans_cnt did not start: $(head -1 "$tmp/err")"
	exit 1
}

with_tool() {
	local r
	start_tool
	r=$(run)
	stop_tool
	echo "$r"
}

for ((i = 0; i < ROUNDS; i++)); do
	if ((i % 2)); then
		with=$(with_tool)
		base=$(run)
	else
		base=$(run)
		with=$(with_tool)
	fi
	[ -n "$base" ] && [ -n "$with" ] || { echo "a run produced nothing"; exit 1; }
	r=$(awk -v a="$with" -v b="$base" 'BEGIN { printf "%.4f", a / b }')
	echo "round $i: MB/s without $base, with $with: ratio $r" >&2
	echo "$r" >>"$tmp/ratios"
done


sysctl -q -w kernel.bpf_stats_enabled=1
start_tool
bench_prog_stats "$tool" >"$tmp/s0"
t0=$(date +%s%N)
run >/dev/null
t1=$(date +%s%N)
bench_prog_stats "$tool" >"$tmp/s1"
sysctl -q -w kernel.bpf_stats_enabled="$stats0"
stop_tool
join "$tmp/s0" "$tmp/s1" | awk -v wall=$((t1 - t0)) '
	{ t = $4 - $2; n = $5 - $3; T += t
	  if (n) printf "%s: %d runs, %.0f ns each\n", $1, n, t / n > "/dev/stderr"
	  if ($1 ~ /^retrans_/ && n) printf "RESULT|tcpretrans_cnt|BPF ns per retransmission|%.0f|\n", t / n
	  if ($1 ~ /^send_/ && n) printf "RESULT|tcpretrans_cnt|BPF ns per sendmsg|%.0f|\n", t / n }
	END {
		if (!wall) exit 1
		printf "RESULT|tcpretrans_cnt|BPF share of one CPU under the push (%%)|%.2f|\n", T / wall * 100
	}' || echo "no BPF statistics"
read -r lo m hi < <(bench_spread <"$tmp/ratios")
echo "ratios: min $lo, median $m, max $hi" >&2
echo "RESULT|tcpretrans_cnt|push throughput with/without (1% loss)|$m|>= 0.99"
