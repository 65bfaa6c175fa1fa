#!/bin/bash
# cpuusage overhead: a pipe ping-pong between two processes pinned to one
# CPU (two context switches per round trip) alone, under cpuusage, and
# under libbpf-tools' cpudist as a peer, interleaved A B C A B C ...
# Prints the slowdown of the median round trip (goal: at most 3%).
set -u
. "$(dirname "$0")/lib.sh"
OUTPUT=${OUTPUT:-$PWD/build}
PP=$OUTPUT/tests/progs/cpuusage_pingpong
CU=$OUTPUT/cpuusage
CPUDIST=$(command -v cpudist || echo /usr/sbin/cpudist)
ROUNDS=${ROUNDS:-20000}
REPS=${REPS:-7}
CPU=${CPU:-1}
TMP=$(mktemp -d /tmp/latkit-bench.XXXXXX)
TOOL_PID=
cleanup() {
	[ -n "$TOOL_PID" ] && kill -INT "$TOOL_PID" 2>/dev/null && wait "$TOOL_PID" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

[ -x "$PP" ] || { echo "bench/cpuusage: $PP not built (make test-bins)" >&2; exit 1; }
[ -x "$CU" ] || { echo "bench/cpuusage: $CU not built" >&2; exit 1; }

# Start a tool and wait until it says it is tracing (stdbuf: cpudist
# prints that on stdout, which is block-buffered into a file).
start_tool() {
	local pat=$1; shift
	: >"$TMP/err"
	stdbuf -oL "$@" >"$TMP/err" 2>&1 &
	TOOL_PID=$!
	for ((i = 0; i < 200; i++)); do
		grep -q "$pat" "$TMP/err" && return 0
		kill -0 "$TOOL_PID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}
stop_tool() {
	kill -INT "$TOOL_PID" 2>/dev/null
	wait "$TOOL_PID" 2>/dev/null
	TOOL_PID=
}
run_pp() { taskset -c "$CPU" "$PP" "$ROUNDS"; }

cpudist_ok=1
start_tool "Tracing" "$CPUDIST" || cpudist_ok=0
[ -n "$TOOL_PID" ] && stop_tool
[ $cpudist_ok = 1 ] || echo "bench/cpuusage: cpudist does not run here: $(head -1 "$TMP/err")" >&2

for ((r = 0; r < REPS; r++)); do
	run_pp >>"$TMP/alone"
	start_tool "first interval starts" "$CU" -v || { echo "cpuusage did not start" >&2; exit 1; }
	run_pp >>"$TMP/cpuusage"
	stop_tool
	if [ $cpudist_ok = 1 ]; then
		start_tool "Tracing" "$CPUDIST" || { echo "cpudist did not start" >&2; exit 1; }
		run_pp >>"$TMP/cpudist"
		stop_tool
	fi
done

alone=$(bench_median <"$TMP/alone")
with=$(bench_median <"$TMP/cpuusage")
echo "pipe ping-pong on CPU $CPU, $ROUNDS round trips x $REPS: median ns/round trip alone $alone, cpuusage $with"
echo "RESULT|cpuusage|pingpong slowdown under cpuusage|$(awk -v a="$alone" -v b="$with" 'BEGIN { printf "%.3f", b / a }')|<=1.03"
if [ $cpudist_ok = 1 ]; then
	cd_med=$(bench_median <"$TMP/cpudist")
	echo "median ns/round trip under cpudist $cd_med"
	echo "RESULT|cpuusage|pingpong slowdown under cpudist (peer)|$(awk -v a="$alone" -v b="$cd_med" 'BEGIN { printf "%.3f", b / a }')|peer"
else
	echo "RESULT|cpuusage|pingpong slowdown under cpudist (peer)|n/a (cpudist failed)|peer"
fi
