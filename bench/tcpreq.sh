#!/bin/bash
# tcpreq against sockperf ping-pong: one TCP connection on loopback, 64
# bytes on the wire each way (tcpreq: 24-byte header + 40), TCP_NODELAY,
# client and server pinned to one CPU, runs interleaved (A B A B ..., 5 pairs of 3 s).
# Prints the median of the per-pair ratios of messages/s and p50 RTT.
set -u
OUTPUT=${OUTPUT:-$PWD/build}
T=$OUTPUT/tcpreq
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-3}
CPU=${CPU:-0}
command -v sockperf >/dev/null || { echo "sockperf not installed: skipped"; exit 0; }
command -v jq >/dev/null || { echo "jq not installed: skipped"; exit 0; }
[ -x "$T" ] || { echo "$T not built"; exit 1; }
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
port=$((20000 + RANDOM % 20000))

taskset -c "$CPU" "$T" server --nodelay "127.0.0.1:$port" >/dev/null &
pids+=($!)
taskset -c "$CPU" sockperf server --tcp -i 127.0.0.1 -p $((port + 1)) >/dev/null 2>&1 &
pids+=($!)
sleep 1

run_tcpreq() {
	taskset -c "$CPU" "$T" client -j --nodelay --size 40 --duration "$SECS" \
		--warmup 0.5 "127.0.0.1:$port" | jq -r 'select(.type == "summary") | "\(.rps) \(.p50_us)"'
}

# sockperf reports half the round trip unless --full-rtt.
run_sockperf() {
	taskset -c "$CPU" sockperf ping-pong --tcp --full-rtt -i 127.0.0.1 -p $((port + 1)) \
		-m 64 -t "$SECS" 2>&1 | awk '
		/\[Valid Duration\]/ { for (i = 1; i <= NF; i++) {
			if ($i ~ /^RunTime=/) { sub("RunTime=", "", $i); t = $i + 0 }
			if ($i ~ /^ReceivedMessages=/) { sub("ReceivedMessages=", "", $i); n = $i + 0 } } }
		/percentile 50.000/ { p = $NF }
		END { if (t > 0) printf "%f %s\n", n / t, p }'
}

for ((i = 0; i < ROUNDS; i++)); do
	a=$(run_tcpreq)
	b=$(run_sockperf)
	echo "round $i: tcpreq rps/p50_us $a, sockperf $b" >&2
	[ -n "$a" ] && [ -n "$b" ] || { echo "a run produced nothing"; exit 1; }
	echo "$a $b" >>"$tmp/pairs"
done
awk '{ r[NR] = $1 / $3; p[NR] = $2 / $4 }
	function median(a, n,   i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
	END {
		printf "RESULT|tcpreq|msgs/s ratio tcpreq/sockperf (1 conn)|%.3f|>= 0.9\n", median(r, NR)
		printf "RESULT|tcpreq|p50 RTT ratio tcpreq/sockperf (1 conn)|%.3f|<= 1.1\n", median(p, NR)
	}' "$tmp/pairs"
