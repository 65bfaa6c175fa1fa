#!/bin/bash
# tcpreq against sockperf ping-pong: one TCP connection on loopback, 64
# bytes on the wire each way (tcpreq: 24-byte header + 40), TCP_NODELAY,
# client and server pinned to one CPU, runs interleaved (ROUNDS pairs of
# SECS s; the pairs alternate which tool goes first, A B B A ..., so that
# a load that grows or fades through a pair favours neither).
# Each round also runs tcpreq's client with --io-uring (one
# io_uring_enter a message instead of send() and recv()) between the two,
# against the same tcpreq server.  Prints the median of the per-pair
# ratios of messages/s (goal >= 1.0), of p50 RTT, and of CPU time per
# message (client + server, from bash's times and the server's schedstat:
# what the rate costs, which the rate alone hides on a shared machine),
# for tcpreq's blocking calls and for --io-uring (skipped, with the
# reason, where the kernel has no io_uring for it).  The goals are
# --io-uring's: with blocking calls tcpreq makes the system calls
# sockperf makes, one send() and one recv() a message on each side, and
# those lines are the reference (parity is what they can show).
set -u
. "$(dirname "$0")/lib.sh"
OUTPUT=${OUTPUT:-$PWD/build}
T=$OUTPUT/tcpreq
ROUNDS=${ROUNDS:-7}
SECS=${SECS:-3}
CPU=${CPU:-0}
command -v sockperf >/dev/null || { echo "sockperf not installed: skipped"; exit 0; }
command -v jq >/dev/null || { echo "jq not installed: skipped"; exit 0; }
[ -x "$T" ] || { echo "$T not built"; exit 1; }
tmp=$(mktemp -d)
rq_srv= sp_srv=
cleanup() {
	bench_stop "$rq_srv" INT
	bench_stop "$sp_srv"
	rm -rf "$tmp"
}
trap cleanup EXIT
port=$(bench_free_port) || { echo "no free port"; exit 1; }
sport=$port
while [ "$sport" = "$port" ]; do sport=$(bench_free_port) || { echo "no free port"; exit 1; }; done

taskset -c "$CPU" "$T" server --nodelay "127.0.0.1:$port" >/dev/null &
rq_srv=$!
taskset -c "$CPU" sockperf server --tcp -i 127.0.0.1 -p "$sport" >/dev/null 2>&1 &
sp_srv=$!
for ((i = 0; i < 100; i++)); do
	[ -n "$(ss -Hltn "sport = :$port")" ] && [ -n "$(ss -Hltn "sport = :$sport")" ] && break
	sleep 0.05
done
# sockperf's server sets its own affinity to every CPU when it starts
# (its --cpu-affinity covers only -f's threads): pin it again once it
# listens, or it answers from another CPU and the pair is not alike.
taskset -a -p -c "$CPU" "$sp_srv" >/dev/null || { echo "cannot pin sockperf's server"; exit 1; }
for pid in "$rq_srv" "$sp_srv"; do
	for t in /proc/"$pid"/task/*/status; do
		grep -qx "Cpus_allowed_list:[[:space:]]*$CPU" "$t" ||
			{ echo "server $pid is not pinned to CPU $CPU"; exit 1; }
	done
done

# bench_cpu_ns PID: CPU ns the process's threads have run, so far.
bench_cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'
}
# The client's user + system CPU in ns, from bash's times (ms), on fd 3.
client_cpu() {
	times | awk 'NR == 2 { n = split($1 " " $2, f, /[ ms]+/)
		printf "%.0f\n", ((f[1] + f[3]) * 60 + f[2] + f[4]) * 1e9 }' >&3
}

# Each prints "msgs/s p50_us cpu_ns_per_message" (total messages over
# the whole run for the CPU: both tools warm up and cool down).
# run_tcpreq [CLIENT_OPTION...]
run_tcpreq() {
	local s0 s1 c
	s0=$(bench_cpu_ns "$rq_srv")
	(taskset -c "$CPU" "$T" client -j --nodelay --size 40 --duration "$SECS" \
		--warmup 0.5 "$@" "127.0.0.1:$port" >"$tmp/rq.json"; client_cpu) 3>"$tmp/rq.cpu"
	s1=$(bench_cpu_ns "$rq_srv")
	c=$(cat "$tmp/rq.cpu")
	jq -r --arg cpu "$((c + s1 - s0))" 'select(.type == "summary") |
		"\(.rps) \(.p50_us) \(($cpu | tonumber) / .requests)"' "$tmp/rq.json"
}

# sockperf reports half the round trip unless --full-rtt.
run_sockperf() {
	local s0 s1 c
	s0=$(bench_cpu_ns "$sp_srv")
	(taskset -c "$CPU" sockperf ping-pong --tcp --full-rtt -i 127.0.0.1 -p "$sport" \
		-m 64 -t "$SECS" >"$tmp/sp.out" 2>&1; client_cpu) 3>"$tmp/sp.cpu"
	s1=$(bench_cpu_ns "$sp_srv")
	c=$(cat "$tmp/sp.cpu")
	awk -v cpu="$((c + s1 - s0))" '
		function field(name,   i, v) { for (i = 1; i <= NF; i++) if (index($i, name "=") == 1) {
			v = $i; sub(name "=", "", v); return v + 0 } }
		/\[Total Run\]/ { total = field("SentMessages") }
		/\[Valid Duration\]/ { t = field("RunTime"); n = field("ReceivedMessages") }
		/percentile 50.000/ { p = $NF }
		END { if (t > 0 && total > 0) printf "%f %s %f\n", n / t, p, cpu / total }' "$tmp/sp.out"
}

# The kernel may refuse the ring (before 6.1, io_uring_disabled, seccomp).
uring=1
if ! why=$("$T" client --io-uring --requests 1 "127.0.0.1:$port" 2>&1 >/dev/null); then
	echo "tcpreq --io-uring: ${why:-failed}: its ratios skipped" >&2
	uring=0
fi

# A, the ring between, B; then B, the ring, A: the ring's neighbours
# alternate too.
for ((i = 0; i < ROUNDS; i++)); do
	u=
	if ((i % 2 == 0)); then
		a=$(run_tcpreq)
		((uring)) && u=$(run_tcpreq --io-uring)
		b=$(run_sockperf)
	else
		b=$(run_sockperf)
		((uring)) && u=$(run_tcpreq --io-uring)
		a=$(run_tcpreq)
	fi
	echo "round $i: tcpreq msgs/s p50_us cpu_ns/msg $a, --io-uring ${u:-skipped}, sockperf $b" >&2
	[ -n "$a" ] && [ -n "$b" ] && { ((!uring)) || [ -n "$u" ]; } ||
		{ echo "a run produced nothing"; exit 1; }
	echo "$a $b" >>"$tmp/pairs"
	((uring)) && echo "$u $b" >>"$tmp/upairs"
done

# ratios FILE LABEL GOAL_RATE GOAL_P50 GOAL_CPU: the three medians of one
# tcpreq client against sockperf.
ratios() {
	local rate p50 cpu

	rate=$(awk '{ print $1 / $4 }' "$1" | bench_median -s)
	p50=$(awk '{ print $2 / $5 }' "$1" | bench_median -s)
	cpu=$(awk '{ print $3 / $6 }' "$1" | bench_median -s)
	echo "per-pair ratios $2/sockperf (min median max): msgs/s $rate, p50 RTT $p50, CPU/msg $cpu" >&2
	printf "RESULT|tcpreq|msgs/s ratio %s/sockperf (1 conn, median of %d)|%.3f|%s\n" "$2" "$ROUNDS" "$(cut -d' ' -f2 <<<"$rate")" "$3"
	printf "RESULT|tcpreq|p50 RTT ratio %s/sockperf (1 conn)|%.3f|%s\n" "$2" "$(cut -d' ' -f2 <<<"$p50")" "$4"
	printf "RESULT|tcpreq|CPU per message ratio %s/sockperf (client+server)|%.3f|%s\n" "$2" "$(cut -d' ' -f2 <<<"$cpu")" "$5"
}
ratios "$tmp/pairs" tcpreq "reference" "reference" "reference"
((uring)) && ratios "$tmp/upairs" "tcpreq --io-uring" ">= 1.0" "<= 1.1" "<= 1.0"
exit 0
