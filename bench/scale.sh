#!/bin/bash
# The tools at scale: do their counts stay exact, or are the losses
# counted and shown, when the load is far past what the tests run?
#
#  tcp      tcplat, tcpretrans_cnt and tcpconnlat beside CONNS (50,000)
#           concurrent TCP connections: tcpreq ping-pong across a netlab
#           with LOSS% (0.5) loss, NPROC client processes (two threads
#           each) against as many servers on ports of their own, every
#           connection open at once for TCP_SECS (20).  Watched from the
#           client namespace: tcplat (its default hooks), tcplat again
#           with LK_METHODS=raw_tp (its fallback keeps sockets in an LRU
#           of 16384), tcpretrans_cnt, tcpconnlat; from the server
#           namespace: tcplat, tcpretrans_cnt, tcpconnlat.  The window is
#           closed as in the tests: tools attached, counters read, load,
#           every socket of both namespaces in LISTEN, TIME-WAIT or
#           FIN-WAIT-2 (none of them can retransmit),
#           counters read, tools stopped.  Checks: tcplat's requests and
#           bytes = tcpreq's (the clients' on the client side, the
#           servers' on the server side); tcpretrans_cnt's segments =
#           Tcp: RetransSegs of its namespace; tcpconnlat's opens = the
#           connections tcpreq established, its SYN (SYN-ACK)
#           retransmissions = TcpExt: TCPSynRetrans.  Each is "exact", or
#           "counted" when the shortfall is no more than the drops the
#           tool shows; anything else is a FAIL (a silent loss).
#  tcstamp  tcstamp -i 1 --max-flows 16384 on the client's veth beside
#           TS_FLOWS (10,000) ping-pong connections as fast as the veth
#           goes (no loss) for TS_SECS (15): the RTT samples on the
#           per-flow rows against the tool's own sample total, the
#           payload bytes on the rows against tcpreq's, the flows seen
#           against the connections; then again with TS_BELOW (8,000)
#           connections and the default table, just under its 8192
#           entries.
#  churn    syslat and cpuusage beside CHURN_RATE (5,000) short-lived
#           processes a second for CHURN_SECS (10) (tests/progs/
#           proc_churn: fork, two getppid() calls, exit_group):
#           syslat -c proc_churn_kid -i 1: getppid and exit_group counts
#           = the known counts; syslat -P (1024 process rows a report):
#           rows + drops_process = the known total; cpuusage -i 1 -n 0:
#           every interval's task + softirq + hardirq + idle = its
#           elapsed time and elapsed = CPUs x interval, the churn's CPU
#           time (proc_churn and its children) against getrusage();
#           cpuusage without an interval (one report: more threads than
#           its task map holds): the time that found no room is shown in
#           drops_ns.
#
# For each tool: its RSS (VmRSS while loaded, VmHWM at the end), its
# maps (entries in use of the hash maps, by tests/progs/bpf_map_count,
# and their size), and the runs of its programs the kernel skipped
# (bpftool's recursion_misses: the program was already running on that
# CPU), which not every tool counts.  RESULT lines carry the figures and the goal; a line
# "PASS: ..." or "FAIL: ..." per check, and the exit status is 1 if any
# check failed.
#
# RLIMIT_NOFILE: tcpreq raises its soft limit to what it needs, up to the
# hard limit; without CAP_SYS_RESOURCE the hard limit cannot be raised,
# so connections are spread over processes of at most HARD - 1024 each
# (NPROC is at least 3).  The client namespace's port range is widened to
# 1024-65535 and the server's listen backlogs to 65535.
#
# Environment: PARTS ("tcp tcstamp churn"), CONNS, LOSS, TCP_SECS, NPROC,
# TS_FLOWS, TS_BELOW, TS_SECS, CHURN_RATE, CHURN_SECS.
set -u
. "$(dirname "$0")/lib.sh"
OUTPUT=${OUTPUT:-$PWD/build}
PARTS=${PARTS:-tcp tcstamp churn}
CONNS=${CONNS:-50000}
LOSS=${LOSS:-0.5}
TCP_SECS=${TCP_SECS:-20}
TS_FLOWS=${TS_FLOWS:-10000}
TS_SECS=${TS_SECS:-15}
TS_BELOW=${TS_BELOW:-8000}
CHURN_RATE=${CHURN_RATE:-5000}
CHURN_SECS=${CHURN_SECS:-10}
command -v jq >/dev/null || { echo "jq not installed: skipped"; exit 0; }
command -v bpftool >/dev/null || { echo "bpftool not installed: skipped"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "needs root: skipped"; exit 0; }
bench_need_built tcplat tcpretrans_cnt tcpconnlat tcstamp syslat cpuusage tcpreq netlab \
	tests/progs/proc_churn tests/progs/bpf_map_count
MAPCOUNT=$OUTPUT/tests/progs/bpf_map_count
tmp=$(mktemp -d)
labs=()
pids=()	# everything started, stopped at exit (by PID)
fails=0
cleanup() {
	local p l
	trap '' INT TERM
	for p in "${pids[@]}"; do bench_alive "$p" && bench_stop "$p" INT 5; done
	for l in "${labs[@]}"; do "$OUTPUT/netlab" down --prefix "$l" >/dev/null 2>&1; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

t_start=$SECONDS
echo "RESULT|scale|date|$(date -u +%Y-%m-%dT%H:%MZ)|"
echo "RESULT|scale|machine|$(nproc) CPUs, Linux $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load $(cut -d' ' -f1-3 /proc/loadavg)|"

## Helpers.



# start NAME CMD...: a tool in the background, JSON to $tmp/NAME.json,
# stderr to $tmp/NAME.err; returns once its programs are attached.
declare -A PID=()
stop() { bench_stop "${PID[$1]}" INT 30; }
summary() { jq -c 'select(.type == "summary")' "$tmp/$1.json"; }

# steal_ns: hypervisor steal time of all CPUs so far (/proc/stat, ticks).
steal_ns() { awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%d\n", $9 * 1e9 / hz }' /proc/stat; }
# maps NAME: "name entries/max" of the tool's hash maps, its other maps'
# sizes, and the memlock of them all (KiB), into $tmp/NAME.maps (one line).
maps() {
	local ids
	ids=$(bench_map_ids "${PID[$1]}")
	[ -n "$ids" ] || { echo "-" >"$tmp/$1.maps"; return; }
	# shellcheck disable=SC2086
	"$MAPCOUNT" $ids 2>/dev/null | awk '
		$5 != "-" { s = s sprintf("%s %s/%s, ", $2, $5, $4) }
		$5 == "-" && $3 !~ /array/ { o = o sprintf("%s (%s) ", $2, $3) }
		{ m += $8 } END { printf "%s%smemlock %.0f KiB\n", s, o, m / 1024 }' >"$tmp/$1.maps"
}
# memory NAME: RESULT line of RSS while loaded (sampled), peak, maps.
declare -A RSS=()
sample_rss() {
	local n r
	for n in "$@"; do
		r=$(bench_rss_kb "${PID[$n]}")
		[ -n "$r" ] && [ "$r" -gt "${RSS[$n]:-0}" ] && RSS[$n]=$r
	done
}
memory() {
	local n
	for n in "$@"; do
		echo "RESULT|scale|$n memory|RSS $((${RSS[$n]:-0} / 1024)) MiB (peak $(($(bench_rss_kb "${PID[$n]}" VmHWM) / 1024)) MiB); maps: $(cat "$tmp/$n.maps" 2>/dev/null)|bounded"
	done
}
# misses NAME...: RESULT line of the runs the kernel skipped of each
# tool's programs (recursion_misses: a program already running on that
# CPU), which not every tool shows.
misses() {
	local n id
	for n in "$@"; do
		for id in $(bench_prog_ids "${PID[$n]}"); do
			bpftool -j prog show id "$id" 2>/dev/null | jq -r '"\(.name) \(.recursion_misses // 0)"'
		done | awk -v n="$n" '{ t += $2; if ($2) s = s sprintf(" %s %d", $1, $2) }
			END { printf "RESULT|scale|%s: BPF runs skipped (recursion_misses)|%d%s|0, or shown by the tool\n", n, t, s ? " (" substr(s, 2) ")" : "" }'
	done
}
# lab_up NAME [netlab options]: a lab whose client may open 64k
# connections and whose server queues 64k handshakes.
lab_up() {
	local l=$1; shift
	labs+=("$l")
	"$OUTPUT/netlab" up --prefix "$l" "$@" >/dev/null || { echo "netlab up failed"; exit 1; }
	ip netns exec "$l-client" sysctl -q -w net.ipv4.ip_local_port_range="1024 65535"
	ip netns exec "$l-server" sysctl -q -w net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
}
wait_listen() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ -n "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ] && return 0
		sleep 0.1
	done
	echo "no server listening on $2 in $1"
	exit 1
}
# wait_pids SECS PID...: wait for the processes, at most SECS, then end them.
wait_pids() {
	local secs=$1 p i any; shift
	for ((i = 0; i < secs * 10; i++)); do
		any=
		for p in "$@"; do bench_alive "$p" && any=1; done
		[ -n "$any" ] || break
		sleep 0.1
	done
	for p in "$@"; do bench_stop "$p" INT 5; done
}
# any_alive PID...: one of them still runs.
any_alive() {
	local p
	for p in "$@"; do bench_alive "$p" && return 0; done
	return 1
}

# Descriptors: as many as the hard limit allows (raising it needs
# CAP_SYS_RESOURCE).
ulimit -n $((CONNS + 4096)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
HARD=$(ulimit -Hn)
[ "$HARD" = unlimited ] && HARD=$((CONNS + 4096))
PER=$((HARD - 1024))
NPROC=${NPROC:-$(((CONNS + PER - 1) / PER))}
[ "$NPROC" -lt 3 ] && NPROC=3
echo "RLIMIT_NOFILE hard $HARD: $NPROC client and $NPROC server processes of at most $(((CONNS + NPROC - 1) / NPROC)) connections"

## tcp: 50,000 connections.
part_tcp() {
	local L=lks$$ C S i n per rest cl=() sv=() est=0 t0 c0 c1 s0 s1 k
	lab_up "$L" --loss "$LOSS"
	C=$L-client S=$L-server
	for ((i = 0; i < NPROC; i++)); do
		ip netns exec "$S" "$OUTPUT/tcpreq" server -j "0.0.0.0:$((7300 + i))" \
			>"$tmp/srv$i.json" 2>"$tmp/srv$i.err" &
		sv+=($!) pids+=($!)
		wait_listen "$S" $((7300 + i))
	done
	bench_tool tl_c "$OUTPUT/tcplat" -v -j --netns "$C"
	bench_tool tl_raw env LK_METHODS=raw_tp "$OUTPUT/tcplat" -v -j --netns "$C"
	bench_tool tl_s "$OUTPUT/tcplat" -v -j --netns "$S"
	bench_tool rt_c "$OUTPUT/tcpretrans_cnt" -v -j --netns "$C"
	bench_tool rt_s "$OUTPUT/tcpretrans_cnt" -v -j --netns "$S"
	bench_tool cl_c "$OUTPUT/tcpconnlat" -v -j --netns "$C"
	bench_tool cl_s "$OUTPUT/tcpconnlat" -v -j --netns "$S"
	grep -q 'socket state in socket storage' "$tmp/tl_c.err" || echo "note: tcplat (default) does not keep socket state in socket storage here"
	grep -q 'sock_recv_length: using raw_tp' "$tmp/tl_raw.err" || echo "note: LK_METHODS=raw_tp was not taken by tcplat"
	c0="$(bench_mib "$C" "Tcp RetransSegs") $(bench_mib "$C" "TcpExt TCPSynRetrans")"
	s0="$(bench_mib "$S" "Tcp RetransSegs") $(bench_mib "$S" "TcpExt TCPSynRetrans")"
	t0=$SECONDS
	rest=$CONNS
	for ((i = 0; i < NPROC; i++)); do
		per=$((rest / (NPROC - i)))
		rest=$((rest - per))
		ip netns exec "$C" "$OUTPUT/tcpreq" client -j -n "$per" --threads 2 --duration "$TCP_SECS" \
			"192.168.100.100:$((7300 + i))" >"$tmp/cli$i.json" 2>"$tmp/cli$i.err" &
		cl+=($!) pids+=($!)
	done
	# While it runs: the most connections established at once, RSS, and
	# the maps once every connection is up (or at half time).
	k=
	while any_alive "${cl[@]}"; do
		((SECONDS - t0 > TCP_SECS + 90)) && break
		n=$(ip netns exec "$C" ss -Htn state established | wc -l)
		[ "$n" -gt "$est" ] && est=$n
		sample_rss tl_c tl_raw tl_s rt_c rt_s cl_c cl_s
		if [ -z "$k" ] && { [ "$n" -ge "$CONNS" ] || ((SECONDS - t0 >= TCP_SECS / 2)); }; then
			for n in tl_c tl_raw tl_s rt_c rt_s cl_c cl_s; do maps "$n"; done
			k=1
		fi
		sleep 1
	done
	wait_pids 90 "${cl[@]}"
	bench_quiet "$C" "$S" || echo "note: the window is not closed: retransmissions may still come"
	c1="$(bench_mib "$C" "Tcp RetransSegs") $(bench_mib "$C" "TcpExt TCPSynRetrans")"
	s1="$(bench_mib "$S" "Tcp RetransSegs") $(bench_mib "$S" "TcpExt TCPSynRetrans")"
	memory tl_c tl_raw tl_s rt_c rt_s cl_c cl_s
	misses tl_c tl_raw tl_s rt_c rt_s cl_c cl_s
	for n in tl_c tl_raw tl_s rt_c rt_s cl_c cl_s; do stop "$n"; done
	for p in "${sv[@]}"; do bench_stop "$p" INT 10; done
	echo "tcp part took $((SECONDS - t0)) s"

	local creq cbi cbo cconn sreq sbi sbo sconn cerr
	creq=$(cat "$tmp"/cli*.json | jq -s '[.[] | select(.type == "summary") | .requests] | add')
	cbi=$(cat "$tmp"/cli*.json | jq -s '[.[] | select(.type == "summary") | .bytes_in] | add')
	cbo=$(cat "$tmp"/cli*.json | jq -s '[.[] | select(.type == "summary") | .bytes_out] | add')
	cconn=$(cat "$tmp"/cli*.json | jq -s '[.[] | select(.type == "summary") | .conns] | add')
	cerr=$(cat "$tmp"/cli*.json | jq -s '[.[] | select(.type == "summary") | .errors] | add')
	sreq=$(cat "$tmp"/srv*.json | jq -s '[.[] | select(.type == "summary") | .requests] | add')
	sbi=$(cat "$tmp"/srv*.json | jq -s '[.[] | select(.type == "summary") | .bytes_in] | add')
	sbo=$(cat "$tmp"/srv*.json | jq -s '[.[] | select(.type == "summary") | .bytes_out] | add')
	sconn=$(cat "$tmp"/srv*.json | jq -s '[.[] | select(.type == "summary") | .conns] | add')
	grep -h . "$tmp"/cli*.err | sort | uniq -c | head -n 5
	echo "tcpreq: clients $creq requests over $cconn connections ($cerr errors), servers $sreq over $sconn"
	echo "RESULT|scale|tcp: connections established at once|$est of $CONNS ($cconn by the clients, $NPROC processes x 2 threads)|$CONNS"
	echo "RESULT|scale|tcp: tcpreq requests (clients, servers)|$creq, $sreq in $TCP_SECS s|"
	local q d
	for n in tl_c tl_raw tl_s; do
		q=$(summary "$n")
		echo "$n: $q"
		d=$(jq '.drops' <<<"$q")
		case $n in
		tl_c) bench_check scale "tcplat client ns: requests" "$(jq .requests <<<"$q")" "$creq" "$d"
		      bench_check scale "tcplat client ns: bytes in" "$(jq .bytes_in <<<"$q")" "$cbi" 0 exact
		      bench_check scale "tcplat client ns: bytes out" "$(jq .bytes_out <<<"$q")" "$cbo" 0 exact ;;
		# A socket pushed out of the LRU loses the request it was in,
		# and the next send or receive on it is counted as a socket
		# met without state: those are the shown losses here.
		tl_raw) bench_check scale "tcplat client ns, raw_tp (LRU of 16384 sockets): requests" "$(jq .requests <<<"$q")" "$creq" \
				"$(jq '.drops + .stateless_sockets' <<<"$q")"
			echo "RESULT|scale|tcplat raw_tp: incomplete, drops, stateless_sockets|$(jq .incomplete <<<"$q"), $d, $(jq .stateless_sockets <<<"$q")|" ;;
		tl_s) bench_check scale "tcplat server ns: requests" "$(jq .requests <<<"$q")" "$sreq" "$d"
		      bench_check scale "tcplat server ns: bytes in" "$(jq .bytes_in <<<"$q")" "$sbi" 0 exact
		      bench_check scale "tcplat server ns: bytes out" "$(jq .bytes_out <<<"$q")" "$sbo" 0 exact ;;
		esac
	done
	read -r cr0 cs0 <<<"$c0"; read -r cr1 cs1 <<<"$c1"
	read -r sr0 ss0 <<<"$s0"; read -r sr1 ss1 <<<"$s1"
	for n in rt_c rt_s; do
		q=$(summary "$n")
		echo "$n: $q"
		if [ $n = rt_c ]; then want=$((cr1 - cr0)); else want=$((sr1 - sr0)); fi
		bench_check scale "tcpretrans_cnt ${n#rt_} ns: segments vs RetransSegs" "$(jq .segs <<<"$q")" "$want" "$(jq .missed <<<"$q")" \
			"exact (short only by missed runs)"
		echo "RESULT|scale|tcpretrans_cnt ${n#rt_} ns: flows, unseen, excess, drops (flow, closed), missed_other|$(jq -r '"\(.flows), \(.unseen), \(.excess), \(.drops) (\(.flow_drops), \(.closed_drops)), \(.missed_other)"' <<<"$q")|rows only: totals never lost"
	done
	bench_check scale "tcpretrans_cnt c ns: syn segments vs TCPSynRetrans" "$(summary rt_c | jq '.syn_segs + .synack_segs')" $((cs1 - cs0)) \
		"$(summary rt_c | jq .missed)" "exact (short only by missed runs)"
	bench_check scale "tcpretrans_cnt s ns: synack segments vs TCPSynRetrans" "$(summary rt_s | jq '.syn_segs + .synack_segs')" $((ss1 - ss0)) \
		"$(summary rt_s | jq .missed)" "exact (short only by missed runs)"
	q=$(summary cl_c)
	echo "cl_c: $q"
	bench_check scale "tcpconnlat client ns: active opens vs connections" "$(jq .active.opens <<<"$q")" "$cconn" "$(jq .drops <<<"$q")"
	bench_check scale "tcpconnlat client ns: SYN retransmissions vs TCPSynRetrans" "$(jq .syn_retrans <<<"$q")" $((cs1 - cs0)) "$(jq .drops <<<"$q")"
	q=$(summary cl_s)
	echo "cl_s: $q"
	bench_check scale "tcpconnlat server ns: passive opens vs accepted" "$(jq .passive.opens <<<"$q")" "$sconn" "$(jq .drops <<<"$q")"
	bench_check scale "tcpconnlat server ns: SYN-ACK retransmissions vs TCPSynRetrans" "$(jq .synack_retrans <<<"$q")" $((ss1 - ss0)) "$(jq .drops <<<"$q")"
	"$OUTPUT/netlab" down --prefix "$L" >/dev/null 2>&1
}

## tcstamp: 10,000 flows at the veth's pace.
# ts_run FLOWS [TCSTAMP_OPTION...]: one run, its checks labelled with
# the flow count.
ts_run() {
	local F=$1 L=lkt$$x$1 C S sp cp t0 q creq cbo cbi cconn dur n=ts$1
	shift
	lab_up "$L"
	C=$L-client S=$L-server
	ip netns exec "$S" "$OUTPUT/tcpreq" server -j --threads 2 0.0.0.0:7400 >"$tmp/tsrv$F.json" 2>"$tmp/tsrv$F.err" &
	sp=$!; pids+=("$sp")
	wait_listen "$S" 7400
	bench_tool "$n" "$OUTPUT/tcstamp" -v -j -i 1 -I veth0 --netns "$C" "$@"
	t0=$SECONDS
	ip netns exec "$C" "$OUTPUT/tcpreq" client -j -n "$F" --threads 2 --duration "$TS_SECS" \
		192.168.100.100:7400 >"$tmp/tcli$F.json" 2>"$tmp/tcli$F.err" &
	cp=$!; pids+=("$cp")
	while bench_alive "$cp" && ((SECONDS - t0 < TS_SECS + 90)); do
		sample_rss "$n"
		((SECONDS - t0 >= TS_SECS / 2)) && [ ! -s "$tmp/$n.maps" ] && maps "$n"
		sleep 1
	done
	[ -s "$tmp/$n.maps" ] || maps "$n"
	wait_pids 60 "$cp"
	bench_quiet "$C" "$S"
	sleep 1.5	# one more report after the last FIN
	memory "$n"
	misses "$n"
	stop "$n"
	bench_stop "$sp" INT 10
	q=$(jq -c 'select(.type == "summary")' "$tmp/tcli$F.json")
	creq=$(jq .requests <<<"$q") cbo=$(jq .bytes_out <<<"$q") cbi=$(jq .bytes_in <<<"$q")
	cconn=$(jq .conns <<<"$q") dur=$(jq .duration_s <<<"$q")
	echo "tcpreq client: $q"
	local rows_s tot_s drops rows_bo rows_bi rows_rb flows pk peak
	rows_s=$(jq -s '[.[] | select(.type == "flow" and .kind == "rtt") | .samples] | add // 0' "$tmp/$n.json")
	tot_s=$(bench_reports "$n" .samples)
	drops=$(bench_reports "$n" .drops)
	rows_bo=$(jq -s '[.[] | select(.type == "flow" and .kind == "rtt") | .bytes_out] | add // 0' "$tmp/$n.json")
	rows_rb=$(jq -s '[.[] | select(.type == "flow" and .kind == "rtt") | .bytes_retrans] | add // 0' "$tmp/$n.json")
	rows_bi=$(jq -s '[.[] | select(.type == "flow" and .kind == "rtt") | .bytes_in] | add // 0' "$tmp/$n.json")
	flows=$(jq -r 'select(.type == "flow") | "\(.lport) \(.rport)"' "$tmp/$n.json" | sort -u | wc -l)
	pk=$(bench_reports "$n" .tcp_packets)
	peak=$(jq -s '[.[] | select(.type == "interval") | .tcp_packets] | max // 0' "$tmp/$n.json")
	echo "tcstamp, $F flows: samples on rows $rows_s, in the totals $tot_s, drops $drops, ring full $(bench_reports "$n" .ring_full), bytes out on rows $rows_bo (resent $rows_rb), in $rows_bi, flows $flows"
	echo "RESULT|scale|tcstamp $F flows: load|$cconn connections, $creq requests in $dur s ($(jq .rps <<<"$q" | awk '{ printf "%.0f", $1 }') rps), TCP packets through veth0 $(awk -v p="$pk" -v s="$dur" 'BEGIN { printf "%.0f", p / s }')/s (peak second $peak)|line rate (as fast as tcpreq goes)"
	bench_check scale "tcstamp $F flows: RTT samples on flow rows vs its sample total" "$rows_s" "$tot_s" "$drops"
	bench_check scale "tcstamp $F flows: payload bytes out on flow rows vs tcpreq's" "$((rows_bo - rows_rb))" "$cbo" "$drops"
	bench_check scale "tcstamp $F flows: payload bytes in on flow rows vs tcpreq's" "$rows_bi" "$cbi" "$drops"
	bench_check scale "tcstamp $F flows: flows shown vs connections" "$flows" "$cconn" "$drops"
	echo "RESULT|scale|tcstamp $F flows: samples per request, not recorded (ring full)|$(awk -v a="$tot_s" -v b="$creq" 'BEGIN { printf "%.3f", b ? a / b : 0 }'), $(bench_reports "$n" .ring_full)|"
	"$OUTPUT/netlab" down --prefix "$L" >/dev/null 2>&1
}
# TS_FLOWS with a flow table of twice 8192, then (when TS_FLOWS is more)
# TS_BELOW (8000) with the default: just under its 8192 entries, where
# nothing is evicted.
part_tcstamp() {
	ts_run "$TS_FLOWS" --max-flows 16384
	[ "$TS_FLOWS" -gt "$TS_BELOW" ] && ts_run "$TS_BELOW"
	return 0
}

## churn: 5,000 processes a second.
part_churn() {
	local cp q spawned rate calls getppid exitg el bad torn ptot pdrops steal0
	bench_tool sl "$OUTPUT/syslat" -v -j -i 1 -c proc_churn_kid
	bench_tool slp "$OUTPUT/syslat" -v -j -i 1 -P -c proc_churn_kid
	bench_tool cu "$OUTPUT/cpuusage" -v -j -i 1 -n 0
	bench_tool cu1 "$OUTPUT/cpuusage" -v -j -n 0
	steal0=$(steal_ns)
	"$OUTPUT/tests/progs/proc_churn" "$CHURN_RATE" "$CHURN_SECS" $((CHURN_RATE * CHURN_SECS)) 2 >"$tmp/churn.json" &
	cp=$!; pids+=("$cp")
	while bench_alive "$cp"; do
		sample_rss sl slp cu cu1
		sleep 1
	done
	wait "$cp"
	for n in sl slp cu cu1; do maps "$n"; done
	sleep 1.5
	memory sl slp cu cu1
	misses sl slp cu cu1
	for n in sl slp cu cu1; do stop "$n"; done
	q=$(cat "$tmp/churn.json")
	echo "proc_churn: $q"
	spawned=$(jq .spawned <<<"$q") rate=$(jq .rate <<<"$q") calls=$(jq .calls <<<"$q")
	echo "RESULT|scale|churn: processes started and reaped|$spawned in $(jq .secs <<<"$q") s: $rate/s|$CHURN_RATE/s"
	getppid=$(jq -s '[.[] | select(.type == "syscall" and .syscall == "getppid") | .count] | add // 0' "$tmp/sl.json")
	exitg=$(jq -s '[.[] | select(.type == "syscall" and .syscall == "exit_group") | .count] | add // 0' "$tmp/sl.json")
	bench_check scale "syslat -c: getppid calls vs known" "$getppid" $((spawned * calls)) "$(bench_reports sl '.drops_start + .drops_exit')"
	bench_check scale "syslat -c: exit_group calls vs known" "$exitg" "$spawned" "$(bench_reports sl '.drops_start + .drops_exit')"
	ptot=$(jq -s '[.[] | select(.type == "process") | .count] | add // 0' "$tmp/slp.json")
	pdrops=$(bench_reports slp .drops_process)
	bench_check scale "syslat -P: process rows' calls vs known" "$ptot" $((spawned * (calls + 1))) "$pdrops"
	echo "RESULT|scale|syslat -P: calls on rows, in drops_process|$ptot, $pdrops|rows + drops = known"
	# cpuusage: every report's parts add up to its elapsed time.
	bad=$(jq -s '[.[] | select(.task_ns + .softirq_ns + .hardirq_ns + .idle_ns != .elapsed_ns)] | length' "$tmp/cu.json")
	bench_pass_if scale "cpuusage -i 1: reports whose task + irq + idle != elapsed" "$bad of $(jq -s length "$tmp/cu.json")" "0" "$bad == 0"
	el=$(jq -s '[.[] | (.elapsed_ns / (.ncpus * .interval_s * 1e9) - 1) | fabs] | max' "$tmp/cu.json" |
		awk '{ printf "%.6f\n", $1 }')
	bench_pass_if scale "cpuusage -i 1: elapsed vs CPUs x interval, largest deviation" "$el" "<= 0.01" "$el <= 0.01"
	local cuk cud self kids cu1k cu1d st
	# oncpu_ns + irq_ns: without CONFIG_IRQ_TIME_ACCOUNTING the
	# interrupts a task took are in its getrusage() time, and cpuusage
	# takes them out (irq_ns says how much).
	cuk=$(jq -s '[.[] | .processes[]? | select(.comm | startswith("proc_churn")) | .oncpu_ns + .irq_ns] | add // 0' "$tmp/cu.json")
	cud=$(bench_reports cu .drops_ns)
	torn=$(bench_reports cu .flush_torn)
	self=$(jq .self_ns <<<"$q") kids=$(jq .children_ns <<<"$q")
	st=$(($(steal_ns) - steal0))
	echo "cpuusage -i 1: proc_churn's rows $cuk ns (with irq_ns), drops_ns $cud, flush_torn $torn; getrusage: self $self + children $kids ns; steal $st ns"
	# getrusage's times come from the same scheduler clock as cpuusage's
	# (sum_exec_runtime, split into user and sys by ticks); cpuusage adds
	# the scheduler's own work on the way out, and counts hypervisor
	# steal time in the running task, which getrusage leaves out (with
	# CONFIG_PARAVIRT_TIME_ACCOUNTING): at most the steal of the run more.
	# Measured 0.971 to 0.987 of getrusage's in four runs on this
	# project's VM (2026-12-01, under other load): 5% allowed.
	bench_pass_if scale "cpuusage -i 1: churn's CPU time vs getrusage (self + children)" \
		"$(awk -v a="$cuk" -v b=$((self + kids)) 'BEGIN { printf "%.4f", a / b }') (drops_ns $cud, steal $st ns)" \
		"within 5% (+ steal)" "$cuk >= 0.95 * ($self + $kids) && $cuk <= 1.05 * ($self + $kids) + $st"
	cu1k=$(jq -s '[.[] | .processes[]? | select(.comm | startswith("proc_churn")) | .oncpu_ns + .irq_ns] | add // 0' "$tmp/cu1.json")
	cu1d=$(bench_reports cu1 .drops_ns)
	echo "cpuusage (one report): churn's rows $cu1k ns, drops_ns $cu1d, rows $(jq -s '[.[] | .processes[]?] | length' "$tmp/cu1.json")"
	bench_pass_if scale "cpuusage one report: churn's missing time is in drops_ns" \
		"rows $cu1k + drops_ns $cu1d vs getrusage $((self + kids))" "rows within 5% of getrusage, or short by no more than drops_ns" \
		"$cu1k >= 0.95 * ($self + $kids) - $cu1d"
}

for p in $PARTS; do
	echo "== $p" >&2
	"part_$p"
done
echo "RESULT|scale|duration|$((SECONDS - t_start)) s|"
echo "RESULT|scale|checks failed|$fails|0"
[ "$fails" = 0 ]
