#!/bin/bash
# What serving a scrape costs tcplat --listen, while a tcpreq client
# drives open-loop requests (RATE/s over 8 connections) across a netlab
# and tcplat traces it (--netns, -c tcpreq, -i 10):
#
#  - µs per scrape, measured by curl over one kept-alive connection (as
#    Prometheus scrapes), both formats (text 0.0.4; OpenMetrics through
#    the Accept header):
#      back to back: NSCRAPES scrapes in a row; a snapshot up to 0.25 s
#        old is served as it is, so most of these are a copy;
#      fresh: one scrape every 0.3 s (NFRESH of them), each needing a new
#        snapshot; the wall time holds the wait for tcplat's main loop,
#        which makes snapshots between its polls (up to 0.2 s apart),
#        so it is latency, not CPU.
#  - CPU: the tool's utime+stime (/proc/PID/stat, all its threads, the
#    HTTP server's included; in clock ticks) and its threads' run time
#    (/proc/PID/task/*/schedstat, ns) over WINDOW seconds without
#    scrapes and with one scrape a second (one curl --rate 1/s on one
#    connection, as Prometheus does; text and OpenMetrics in alternate
#    rounds), interleaved ROUNDS times; the medians in % of one CPU and
#    the difference per scrape in µs.  The BPF programs run in the traced
#    tasks' context and are not in these figures (bench/tcplat.sh).
#
# Environment: RATE (2000), NSCRAPES (500), NFRESH (20), WINDOW (20),
# ROUNDS (4).
set -u
. "$(dirname "$0")/lib.sh"
OUTPUT=${OUTPUT:-$PWD/build}
RATE=${RATE:-2000}
NSCRAPES=${NSCRAPES:-500}
NFRESH=${NFRESH:-20}
WINDOW=${WINDOW:-20}
ROUNDS=${ROUNDS:-4}
B=metrics
for b in tcplat tcpreq netlab; do
	[ -x "$OUTPUT/$b" ] || { echo "$OUTPUT/$b not built"; exit 1; }
done
command -v curl >/dev/null || { echo "curl not installed: skipped"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "needs root: skipped"; exit 0; }
tmp=$(mktemp -d)
lab=lkm$$
server= client= tracer=
cleanup() {
	trap '' INT TERM
	bench_stop "$client" INT
	bench_stop "$tracer" INT
	bench_stop "$server" TERM
	"$OUTPUT/netlab" down --prefix "$lab" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
OMA='application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5'
hz=$(getconf CLK_TCK)

"$OUTPUT/netlab" up --prefix "$lab" >/dev/null || { echo "netlab up failed"; exit 1; }
ip netns exec "$lab-server" "$OUTPUT/tcpreq" server --nodelay 0.0.0.0:5001 >/dev/null 2>&1 &
server=$!
mp=$(bench_free_port) || { echo "no free port"; exit 1; }
"$OUTPUT/tcplat" -v --netns "$lab-client" -c tcpreq -i 10 --listen "127.0.0.1:$mp" \
	>"$tmp/tcplat.out" 2>"$tmp/tcplat.err" &
tracer=$!
bench_wait_line "$tmp/tcplat.err" tracing "$tracer" 60 || { cat "$tmp/tcplat.err"; echo "tcplat did not start"; exit 1; }
secs=$((ROUNDS * 2 * WINDOW + 120))
ip netns exec "$lab-client" "$OUTPUT/tcpreq" client --nodelay -n 8 --rate "$RATE" --duration "$secs" \
	192.168.100.100:5001 >/dev/null 2>&1 &
client=$!
sleep 2
bench_alive "$client" || { echo "tcpreq client failed"; exit 1; }

url=http://127.0.0.1:$mp/metrics
# scrapes N [ACCEPT]: µs of each of N scrapes over one connection.
scrapes() {
	local n=$1 i urls=()
	for ((i = 0; i < n; i++)); do urls+=(-o /dev/null "$url"); done
	curl -s ${2:+-H "Accept: $2"} -w '%{time_total}\n' "${urls[@]}" |
		awk '{ printf "%.1f\n", $1 * 1e6 }'
}
# fresh N [ACCEPT]: µs of each of N scrapes 0.3 s apart, one connection.
fresh() {
	local n=$1 i
	for ((i = 0; i < n; i++)); do
		curl -s ${2:+-H "Accept: $2"} -o /dev/null -w '%{time_total}\n' "$url"
		sleep 0.3
	done | awk '{ printf "%.1f\n", $1 * 1e6 }'
}
cpu_ticks() { sed 's/.*) //' "/proc/$tracer/stat" | awk '{ print $12 + $13 }'; }

bytes_p=$(curl -s "$url" | wc -c)
bytes_o=$(curl -s -H "Accept: $OMA" "$url" | wc -c)
echo "exposition: $bytes_p bytes (text), $bytes_o bytes (OpenMetrics)"
scrapes 20 >/dev/null	# warm up
scrapes "$NSCRAPES" >"$tmp/p.us"
scrapes "$NSCRAPES" "$OMA" >"$tmp/o.us"
fresh "$NFRESH" >"$tmp/pf.us"
fresh "$NFRESH" "$OMA" >"$tmp/of.us"
for f in p o pf of; do echo "$f: $(bench_spread <"$tmp/$f.us") (min median max us)"; done

# CPU windows: off, on, off, on, ...  "on": one curl scraping once a
# second over one kept-alive connection (curl --rate), alternating the
# formats by Accept header per window round (text first).
# cpu_ns: the tool's threads' run time (schedstat, ns) summed: the
# connection's thread lives through the window, so none of the time is
# lost with a thread that ended (/proc/PID/stat keeps those, in ticks).
cpu_ns() { cat /proc/"$tracer"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f\n", s }'; }
for ((r = 0; r < ROUNDS; r++)); do
	for mode in off on; do
		acc=; [ $((r % 2)) = 1 ] && acc=$OMA
		t0=$(cpu_ticks) n0=$(cpu_ns) n=0
		if [ "$mode" = on ]; then
			urls=()
			for ((i = 0; i < WINDOW; i++)); do urls+=(-o /dev/null "$url"); done
			n=$(curl -s --rate 1/s ${acc:+-H "Accept: $acc"} -w '%{http_code}\n' "${urls[@]}" | grep -c '^200$')
			sleep 0.5	# the last one's second
		else
			sleep "$WINDOW.5"
		fi
		t1=$(cpu_ticks) n1=$(cpu_ns)
		pct=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v w="$WINDOW" 'BEGIN { printf "%.3f", d / hz / (w + 0.5) * 100 }')
		us=$(awk -v d=$((n1 - n0)) 'BEGIN { printf "%.1f", d / 1000 }')
		echo "round $r, scrapes $mode${acc:+ (OpenMetrics)}: $((t1 - t0)) ticks ($pct% of a CPU), ${us} us of thread run time in ${WINDOW}.5 s, $n scrapes"
		echo "$pct" >>"$tmp/cpu.$mode"
		echo "$us" >>"$tmp/us.$mode"
		[ "$mode" = on ] && echo "$n" >>"$tmp/n.on"
	done
done
bench_alive "$client" || echo "warning: the tcpreq client ended before the CPU windows did"
off=$(bench_median <"$tmp/cpu.off") on=$(bench_median <"$tmp/cpu.on") non=$(bench_median <"$tmp/n.on")
uoff=$(bench_median <"$tmp/us.off") uon=$(bench_median <"$tmp/us.on")
per=$(awk -v a="$uon" -v b="$uoff" -v n="$non" 'BEGIN { printf "%.1f", (a - b) / n }')
pctr=$(awk -v a="$uon" -v w="$WINDOW" 'BEGIN { printf "%.4f", a / 1e6 / (w + 0.5) * 100 }')

echo "RESULT|$B|scrape us, text, back to back (median)|$(bench_median <"$tmp/p.us")|info"
echo "RESULT|$B|scrape us, OpenMetrics, back to back (median)|$(bench_median <"$tmp/o.us")|info"
echo "RESULT|$B|scrape us, text, fresh snapshot (median)|$(bench_median <"$tmp/pf.us")|<=250000"
echo "RESULT|$B|scrape us, OpenMetrics, fresh snapshot (median)|$(bench_median <"$tmp/of.us")|<=250000"
echo "RESULT|$B|tcplat CPU %, no scrapes (median)|$off|info"
echo "RESULT|$B|tcplat CPU %, 1 scrape/s (median)|$on|<=1"
echo "RESULT|$B|tcplat CPU %, 1 scrape/s (thread run time)|$pctr|<=1"
echo "RESULT|$B|tcplat CPU us per scrape (run time, on - off)|$per|info"
echo "RESULT|$B|exposition bytes (text / OpenMetrics)|$bytes_p / $bytes_o|info"
