#!/bin/bash
# The soak: every tracing tool for SOAK_SECS (1800) with a report every
# second, beside mixed load with loss and churn; then do the bench_reports add
# up, did memory stay flat, and do the counts match the kernel's?
#
# The lab: a netlab with SOAK_LOSS% (1) loss each way, a tcpreq echo
# server (two threads) in its server namespace.  The load, in the client
# namespace, all of it bounded by SOAK_SECS:
#   - steady: two open-loop ping clients, 100 connections of 64-byte
#     requests at SOAK_RATE (1500) requests/s and 20 connections of
#     8000-byte requests at a tenth of that;
#   - connection churn: a client of 10 connections making 100 requests
#     and closing, every half second (one in four closes with RST,
#     --linger0), at most SOAK_SECS of them;
#   - process churn: tests/progs/proc_churn, SOAK_CHURN (200) processes a
#     second (fork, two getppid() calls, exit_group).
# The tools, each with -i 1 -j and --textfile (the metrics, cumulative
# since the start, written every interval and at exit): tcplat,
# tcpretrans_cnt, tcpconnlat and tcstamp (veth0) on the client
# namespace, syslat -c proc_churn_kid, cpuusage.
#
# Checks, each printed as PASS or FAIL with a RESULT line:
#   reports    every tool printed a report a second (within 2%);
#   add up     no tool's summary is cumulative (each man page: every
#              report, the last one too, covers the time since the one
#              before), so the sum of all its bench_reports is compared with
#              its cumulative metrics at exit: tcplat requests,
#              tcpretrans_cnt segments, tcpconnlat opens, tcstamp samples
#              and TCP packets, syslat calls: equal; cpuusage time:
#              within 0.1% (time goes on between its last report and the
#              last snapshot); every cpuusage report's parts = its
#              elapsed time, and its elapsed = CPUs x interval (1%);
#   flat       VmRSS of each tool and the entries of its hash maps
#              (tests/progs/bpf_map_count), sampled every SOAK_SAMPLE (60)
#              s: the last sample within max(2 MiB, 10%) of the first
#              after SOAK_WARMUP (120 s) for RSS, within max(256, 5% of
#              the maps' size) for entries;
#   kernel     once every socket of the client namespace is in LISTEN,
#              TIME-WAIT or FIN-WAIT-2 (none can retransmit): tcplat's
#              requests = tcpreq's, tcpretrans_cnt's segments = Tcp:
#              RetransSegs of the namespace, tcpconnlat's active opens =
#              the connections tcpreq made and its SYN retransmissions =
#              TcpExt: TCPSynRetrans, tcstamp's payload bytes (less those
#              resent) = tcpreq's and its samples on rows = its sample
#              total, syslat's getppid and exit_group = the known counts:
#              exact, or short by no more than the drops the tool shows.
# The exit status is 1 if any check failed.  SOAK_SECS=600 for a short
# run; make soak runs it (not part of make check).
set -u
. "$(dirname "$0")/lib.sh"
OUTPUT=${OUTPUT:-$PWD/build}
SOAK_SECS=${SOAK_SECS:-1800}
SOAK_LOSS=${SOAK_LOSS:-1}
SOAK_RATE=${SOAK_RATE:-1500}
SOAK_CHURN=${SOAK_CHURN:-200}
SOAK_SAMPLE=${SOAK_SAMPLE:-60}
SOAK_WARMUP=${SOAK_WARMUP:-120}
[ "$SOAK_WARMUP" -ge "$SOAK_SECS" ] && SOAK_WARMUP=$((SOAK_SECS / 5))
command -v jq >/dev/null || { echo "jq not installed: skipped"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "needs root: skipped"; exit 0; }
bench_need_built tcplat tcpretrans_cnt tcpconnlat tcstamp syslat cpuusage tcpreq netlab \
	tests/progs/proc_churn tests/progs/bpf_map_count
MAPCOUNT=$OUTPUT/tests/progs/bpf_map_count
TOOLS="tcplat tcpretrans_cnt tcpconnlat tcstamp syslat cpuusage"
tmp=$(mktemp -d)
L=lkk$$
C=$L-client S=$L-server
ADDR=192.168.100.100:7500
pids=()
fails=0
cleanup() {
	local p
	trap '' INT TERM
	for p in "${pids[@]}"; do bench_alive "$p" && bench_kill_tree "$p"; done
	for p in "${pids[@]}"; do bench_alive "$p" && bench_stop "$p" INT 5; done
	"$OUTPUT/netlab" down --prefix "$L" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t_start=$SECONDS
echo "RESULT|soak|date|$(date -u +%Y-%m-%dT%H:%MZ)|"
echo "RESULT|soak|machine|$(nproc) CPUs, Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)|"


declare -A PID=() T0=()
# tool NAME CMD...: bench_tool, and when its reports began (one a second).
tool() { bench_tool "$@"; T0[$1]=$SECONDS; }
nreports() { jq -s '[.[] | select(.type == "interval" or .type == "summary")] | length' "$tmp/$1.json"; }
# metric NAME REGEX: the sum of the metric lines matching REGEX (name and
# labels) in the tool's last textfile.
metric() { awk -v re="^$2" '$1 ~ re { s += $2 } END { printf "%.9g\n", s }' "$tmp/$1.prom"; }
# entries PID: "entries max_entries" summed over the process' hash maps.
entries() {
	# shellcheck disable=SC2046
	"$MAPCOUNT" $(bench_map_ids "$1") 2>/dev/null | awk '$5 != "-" { e += $5; m += $4 } END { printf "%d %d\n", e, m }'
}

## The lab and the tools.
"$OUTPUT/netlab" up --prefix "$L" --loss "$SOAK_LOSS" >/dev/null || { echo "netlab up failed"; exit 1; }
ip netns exec "$S" "$OUTPUT/tcpreq" server -j --threads 2 0.0.0.0:7500 >"$tmp/srv.json" 2>"$tmp/srv.err" &
SRV=$!; pids+=("$SRV")
for ((i = 0; i < 100; i++)); do
	[ -n "$(ip netns exec "$S" ss -Hltn "sport = :7500")" ] && break
	sleep 0.1
done
tool tcplat "$OUTPUT/tcplat" -v -j -i 1 --netns "$C" --textfile "$tmp/tcplat.prom"
tool tcpretrans_cnt "$OUTPUT/tcpretrans_cnt" -v -j -i 1 --netns "$C" --textfile "$tmp/tcpretrans_cnt.prom"
tool tcpconnlat "$OUTPUT/tcpconnlat" -v -j -i 1 --netns "$C" --textfile "$tmp/tcpconnlat.prom"
tool tcstamp "$OUTPUT/tcstamp" -v -j -i 1 -I veth0 --netns "$C" --textfile "$tmp/tcstamp.prom"
tool syslat "$OUTPUT/syslat" -v -j -i 1 -c proc_churn_kid --textfile "$tmp/syslat.prom"
tool cpuusage "$OUTPUT/cpuusage" -v -j -i 1 -n 5 --textfile "$tmp/cpuusage.prom"
r0=$(bench_mib "$C" "Tcp RetransSegs") y0=$(bench_mib "$C" "TcpExt TCPSynRetrans")

## The load.
t0=$SECONDS
ip netns exec "$C" "$OUTPUT/tcpreq" client -j -n 100 --size 64 --rate "$SOAK_RATE" --duration "$SOAK_SECS" \
	"$ADDR" >"$tmp/steady1.json" 2>"$tmp/steady1.err" &
pids+=("$!"); LOADS=("$!")
ip netns exec "$C" "$OUTPUT/tcpreq" client -j -n 20 --size 8000 --rate $((SOAK_RATE / 10)) --duration "$SOAK_SECS" \
	"$ADDR" >"$tmp/steady2.json" 2>"$tmp/steady2.err" &
pids+=("$!"); LOADS+=("$!")
# Connection churn: bounded in time and count; each client bounded too.
(
	i=0
	while ((SECONDS - t0 < SOAK_SECS - 5 && i < SOAK_SECS)); do
		extra=()
		((i % 4 == 3)) && extra=(--linger0)
		ip netns exec "$C" timeout 30 "$OUTPUT/tcpreq" client -j -n 10 --requests 100 "${extra[@]}" "$ADDR" \
			2>>"$tmp/churn.err" | grep '"summary"' >>"$tmp/churn.json"
		i=$((i + 1))
		sleep 0.5
	done
) &
pids+=("$!"); LOADS+=("$!")
"$OUTPUT/tests/progs/proc_churn" "$SOAK_CHURN" "$SOAK_SECS" $((SOAK_CHURN * SOAK_SECS)) 2 >"$tmp/proc.json" &
pids+=("$!"); LOADS+=("$!")

# Samples: RSS and map entries of every tool, every SOAK_SAMPLE s.
: >"$tmp/samples"
next=0
while :; do
	alive=
	for p in "${LOADS[@]}"; do bench_alive "$p" && alive=1; done
	[ -n "$alive" ] || break
	if ((SECONDS - t0 > SOAK_SECS + 120)); then
		echo "the load outlived SOAK_SECS by 120 s: ended"
		for p in "${LOADS[@]}"; do bench_kill_tree "$p"; done
		break
	fi
	if ((SECONDS - t0 >= next)); then
		for n in $TOOLS; do
			echo "$((SECONDS - t0)) $n $(bench_rss_kb "${PID[$n]}") $(entries "${PID[$n]}")" >>"$tmp/samples"
		done
		echo "soak: $((SECONDS - t0)) s of $SOAK_SECS, RSS (KiB) and map entries: $(tail -n 6 "$tmp/samples" | awk '{ printf "%s %s %s, ", $2, $3, $4 }')" >&2
		next=$((next + SOAK_SAMPLE))
	fi
	sleep 1
done
for p in "${LOADS[@]}"; do wait "$p" 2>/dev/null; done
for n in $TOOLS; do
	echo "$((SECONDS - t0)) $n $(bench_rss_kb "${PID[$n]}") $(entries "${PID[$n]}")" >>"$tmp/samples"
done
# The client namespace's counters are compared: its sockets must be done.
# (A server socket whose peer's RST was lost stays open, idle, until
# the server stops: it retransmits nothing.)
bench_quiet "$C" || echo "note: the window is not closed: retransmissions may still come"
r1=$(bench_mib "$C" "Tcp RetransSegs") y1=$(bench_mib "$C" "TcpExt TCPSynRetrans")
sleep 2	# a last report with nothing in it
run_secs=$((SECONDS - t0))
declare -A UP=()	# each tool's seconds from its start to its stop
for n in $TOOLS; do
	UP[$n]=$((SECONDS - T0[$n]))
	bench_stop "${PID[$n]}" INT 30
done
bench_stop "$SRV" INT 10
for n in $TOOLS; do
	[ -s "$tmp/$n.json" ] && jq -e 'select(.type == "summary")' "$tmp/$n.json" >/dev/null ||
		{ echo "FAIL: $n: no summary: $(tail -n 3 "$tmp/$n.err")"; fails=$((fails + 1)); }
done

## What the load did.
creq=$(cat "$tmp/steady1.json" "$tmp/steady2.json" "$tmp/churn.json" | jq -s '[.[] | select(.type == "summary") | .requests] | add')
cbo=$(cat "$tmp/steady1.json" "$tmp/steady2.json" "$tmp/churn.json" | jq -s '[.[] | select(.type == "summary") | .bytes_out] | add')
cconn=$(cat "$tmp/steady1.json" "$tmp/steady2.json" "$tmp/churn.json" | jq -s '[.[] | select(.type == "summary") | .conns] | add')
nchurn=$(jq -s 'length' "$tmp/churn.json")
proc=$(cat "$tmp/proc.json")
spawned=$(jq .spawned <<<"$proc")
echo "RESULT|soak|duration|$run_secs s of load (SOAK_SECS $SOAK_SECS), $((SECONDS - t_start)) s in all|"
echo "RESULT|soak|load|$creq requests over $cconn connections ($nchurn churn clients), $spawned processes ($(jq .rate <<<"$proc")/s), loss $SOAK_LOSS%|"

## Reports: one a second.
for n in $TOOLS; do
	k=$(nreports "$n")
	bench_pass_if soak "$n: reports" "$k in ${UP[$n]} s" "one a second, within 2%" \
		"$k >= 0.98 * (${UP[$n]} - 2) && $k <= 1.02 * ${UP[$n]} + 2"
done

## The bench_reports add up to the cumulative metrics.
bench_check soak "tcplat: requests, bench_reports vs metrics" "$(bench_reports tcplat .requests)" "$(metric tcplat 'latkit_tcp_requests_total')" 0 exact
bench_check soak "tcpretrans_cnt: segments, bench_reports vs metrics" "$(bench_reports tcpretrans_cnt .segs)" \
	"$(metric tcpretrans_cnt 'latkit_tcp_retransmitted_segments_total')" 0 exact
bench_check soak "tcpconnlat: opens, bench_reports vs metrics" "$(bench_reports tcpconnlat '.active.opens + .passive.opens')" \
	"$(metric tcpconnlat 'latkit_tcp_connects_total[{]direction="[a-z]*",result="ok"[}]')" 0 exact
bench_check soak "tcstamp: samples, bench_reports vs metrics" "$(bench_reports tcstamp .samples)" "$(metric tcstamp 'latkit_tc_samples_total')" 0 exact
bench_check soak "tcstamp: TCP packets, bench_reports vs metrics" "$(bench_reports tcstamp .tcp_packets)" "$(metric tcstamp 'latkit_tc_tcp_packets_total')" 0 exact
bench_check soak "syslat: calls, bench_reports vs metrics" "$(jq -s '[.[] | select(.type == "syscall") | .count] | add // 0' "$tmp/syslat.json")" \
	"$(metric syslat 'latkit_syscalls_total')" 0 exact
cu_r=$(bench_reports cpuusage '.elapsed_ns / 1e9')
cu_m=$(metric cpuusage 'latkit_cpu_seconds_total')
bench_pass_if soak "cpuusage: CPU time, bench_reports vs metrics (s)" "$cu_r vs $cu_m" "within 0.1%" \
	"$cu_r <= $cu_m * 1.001 && $cu_r >= $cu_m * 0.999"
bad=$(jq -s '[.[] | select(.task_ns + .softirq_ns + .hardirq_ns + .idle_ns != .elapsed_ns)] | length' "$tmp/cpuusage.json")
bench_pass_if soak "cpuusage: bench_reports whose task + irq + idle != elapsed" "$bad" "0" "$bad == 0"
el=$(jq -s '[.[] | select(.interval_s > 0.1) | (.elapsed_ns / (.ncpus * .interval_s * 1e9) - 1) | fabs] | max // 0' \
	"$tmp/cpuusage.json" | awk '{ printf "%.6f\n", $1 }')
bench_pass_if soak "cpuusage: elapsed vs CPUs x interval, largest deviation" "$el" "<= 0.01" "$el <= 0.01"
echo "RESULT|soak|cpuusage: drops_ns, flush_torn|$(bench_reports cpuusage .drops_ns), $(bench_reports cpuusage .flush_torn)|"

## Flat: RSS and map entries, first sample after the warm-up against the last.
for n in $TOOLS; do
	read -r f_t f_rss f_e f_m <<<"$(awk -v n="$n" -v w="$SOAK_WARMUP" '$2 == n && $1 >= w { print $1, $3, $4, $5; exit }' "$tmp/samples")"
	read -r l_t l_rss l_e _ <<<"$(awk -v n="$n" '$2 == n { l = $1 " " $3 " " $4 " " $5 } END { print l }' "$tmp/samples")"
	max_rss=$(awk -v n="$n" '$2 == n && $3 > m { m = $3 } END { print m }' "$tmp/samples")
	bench_pass_if soak "$n: RSS (KiB) at ${f_t:-?} s, at ${l_t:-?} s, largest" "${f_rss:-?} ${l_rss:-?} $max_rss" \
		"last within max(2048, 10%) of the first after ${SOAK_WARMUP} s" \
		"\"${f_rss:-}\" != \"\" && ${l_rss:-0} - ${f_rss:-0} <= (${f_rss:-0} * 0.1 > 2048 ? ${f_rss:-0} * 0.1 : 2048)"
	bench_pass_if soak "$n: hash map entries at ${f_t:-?} s, at ${l_t:-?} s (of ${f_m:-?})" "${f_e:-?} ${l_e:-?}" \
		"last within max(256, 5% of the maps' size) of the first after ${SOAK_WARMUP} s" \
		"\"${f_e:-}\" != \"\" && ${l_e:-0} - ${f_e:-0} <= (${f_m:-0} * 0.05 > 256 ? ${f_m:-0} * 0.05 : 256)"
done

## The kernel's counts.
bench_check soak "tcplat: requests vs tcpreq's" "$(bench_reports tcplat .requests)" "$creq" "$(bench_reports tcplat .drops)"
echo "RESULT|soak|tcplat: incomplete, drops|$(bench_reports tcplat .incomplete), $(bench_reports tcplat .drops)|"
bench_check soak "tcpretrans_cnt: segments vs RetransSegs" "$(bench_reports tcpretrans_cnt .segs)" $((r1 - r0)) "$(bench_reports tcpretrans_cnt .missed)" \
	"exact (short only by missed runs)"
echo "RESULT|soak|tcpretrans_cnt: unseen, excess, drops, missed, missed_other|$(bench_reports tcpretrans_cnt .unseen), $(bench_reports tcpretrans_cnt .excess), $(bench_reports tcpretrans_cnt .drops), $(bench_reports tcpretrans_cnt .missed), $(bench_reports tcpretrans_cnt .missed_other)|"
bench_check soak "tcpconnlat: active opens vs tcpreq's connections" "$(bench_reports tcpconnlat .active.opens)" "$cconn" "$(bench_reports tcpconnlat .drops)"
bench_check soak "tcpconnlat: SYN retransmissions vs TCPSynRetrans" "$(bench_reports tcpconnlat .syn_retrans)" $((y1 - y0)) "$(bench_reports tcpconnlat .drops)"
ts_bo=$(jq -s '[.[] | select(.type == "flow" and .kind == "rtt") | .bytes_out - .bytes_retrans] | add // 0' "$tmp/tcstamp.json")
ts_rs=$(jq -s '[.[] | select(.type == "flow" and .kind == "rtt") | .samples] | add // 0' "$tmp/tcstamp.json")
bench_check soak "tcstamp: payload bytes sent (less resent) vs tcpreq's" "$ts_bo" "$cbo" "$(bench_reports tcstamp .drops)"
bench_check soak "tcstamp: samples on flow rows vs its sample total" "$ts_rs" "$(bench_reports tcstamp .samples)" "$(bench_reports tcstamp .drops)"
sl_d=$(bench_reports syslat '.drops_start + .drops_exit')
bench_check soak "syslat: getppid calls vs known" \
	"$(jq -s '[.[] | select(.type == "syscall" and .syscall == "getppid") | .count] | add // 0' "$tmp/syslat.json")" \
	"$((spawned * $(jq .calls <<<"$proc")))" "$sl_d"
bench_check soak "syslat: exit_group calls vs known" \
	"$(jq -s '[.[] | select(.type == "syscall" and .syscall == "exit_group") | .count] | add // 0' "$tmp/syslat.json")" \
	"$spawned" "$sl_d"

echo "RESULT|soak|checks failed|$fails|0"
[ "$fails" = 0 ]
