#!/bin/bash
# tcpconnlat's cost.  A netlab and a listener that accepts and closes at
# once (tests/progs/tcpconnlat_client -l); the load is connection churn:
# tcpconnlat_client connects and closes, one connection after the other,
# for SECS seconds, client and server pinned to one CPU, so that both
# stacks, the veth and the BPF programs share it and a ratio of
# connections per second is the tool's cost to the churn.  A connection makes
# some ten TCP state changes (both ends), each a run of the tool's
# programs on sock:inet_sock_set_state.  The client's namespace takes
# every local port and reuses its TIME-WAIT ports after a second
# (net.ipv4.tcp_tw_reuse=1, the lab's own sysctls), so that the churn
# never runs out of ports.  The tool's hooks are global (every TCP state
# change on the host), so the comparison is in time, not between labs:
# each round runs the load without the tool and with it (-F, started for
# that run, watching every namespace), in alternating order.  The result
# is the median of the rounds' with/without ratios.
#
# The floor is the tool with -p of an idle process (a sleep this script
# started): every hook still runs, nothing is recorded.  A connect() is
# turned away at its first state change, but the socket's later changes
# still cost a lookup, and an accepted connection its ends and its
# listener's lookup, before the filter rejects them.  Its rounds interleave with the others (ratio to
# the run without in the same round).  The empty program is
# bench/emptyprog ("r0 = 0; exit") on the hooks and methods the tool
# chose (its -v lines), twice on the state tracepoint, where the tool
# runs two programs (a program and its twin, bpf/twin.bpf.h): floor
# minus empty is the tool's own code per state change.
#
# Then runs with kernel.bpf_stats_enabled (which costs time itself, so
# never during the rounds; held on by "emptyprog --stats" as well as the
# sysctl, restored after): run time per call of each program, the tool
# beside the empty programs in the same run, then the floor beside them;
# per state change, and per connection (the programs' time, host-wide,
# over the lab's connections: the lab makes nearly all the changes).
# The full run also checks the tool's opens of the lab's connections
# against the namespaces' ActiveOpens and PassiveOpens.
set -u
. "$(dirname "$0")/lib.sh"
OUTPUT=${OUTPUT:-$PWD/build}
ROUNDS=${ROUNDS:-6}
SECS=${SECS:-2}
CPU=${CPU:-0}
command -v jq >/dev/null || { echo "jq not installed: skipped"; exit 0; }
command -v bpftool >/dev/null || { echo "bpftool not installed: skipped"; exit 0; }
bench_need_built tcpconnlat netlab tests/progs/tcpconnlat_client
[ "$(id -u)" = 0 ] || { echo "needs root: skipped"; exit 0; }
tmp=$(mktemp -d)
lab=lkc$$
server=
tool=
empty=
idle=
fails=0
stats0=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	bench_stop_tool
	bench_stop_empty
	[ -n "$server" ] && bench_stop "$server"
	[ -n "$idle" ] && bench_stop "$idle"
	sysctl -q -w kernel.bpf_stats_enabled="$stats0"
	"$OUTPUT/netlab" down --prefix "$lab" >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
CL=$OUTPUT/tests/progs/tcpconnlat_client
ADDR=192.168.100.100
PORT=7212

"$OUTPUT/netlab" up --prefix "$lab" >/dev/null || { echo "netlab up failed"; exit 1; }
ip netns exec "$lab-client" sysctl -q -w net.ipv4.ip_local_port_range="1024 65535" \
	net.ipv4.tcp_tw_reuse=1 || { echo "cannot set the client namespace's port sysctls"; exit 1; }
sleep 100000 &	# the idle process the floor's tool watches
idle=$!
: >"$tmp/srv"
ip netns exec "$lab-server" taskset -c "$CPU" "$CL" -l "$PORT" -n 0 >"$tmp/srv" 2>&1 &
server=$!
bench_wait_line "$tmp/srv" '^listening' "$server" || { echo "listener did not start: $(head -n 1 "$tmp/srv")"; exit 1; }
# The namespaces' inodes: the lab's rows in the tool's -F output.
ns_client=$(stat -L -c %i "/run/netns/$lab-client")
ns_server=$(stat -L -c %i "/run/netns/$lab-server")

# run: one churn of SECS seconds, after the last run's connections have
# closed (TIME-WAIT aside); prints "connections/s connections failed".
run() {
	local i a0 a1 f0 f1 p0 p1 t0 t1
	for ((i = 0; i < 50; i++)); do
		ip netns exec "$lab-client" ss -Htan | grep -vqE '^(LISTEN|TIME-WAIT) ' || break
		sleep 0.1
	done
	a0=$(bench_mib "$lab-client" "Tcp ActiveOpens") f0=$(bench_mib "$lab-client" "Tcp AttemptFails")
	p0=$(bench_mib "$lab-server" "Tcp PassiveOpens")
	t0=$(date +%s%N)
	ip netns exec "$lab-client" taskset -c "$CPU" timeout "$SECS" "$CL" -n 100000000 "$ADDR" "$PORT" \
		>/dev/null 2>&1
	t1=$(date +%s%N)
	a1=$(bench_mib "$lab-client" "Tcp ActiveOpens") f1=$(bench_mib "$lab-client" "Tcp AttemptFails")
	p1=$(bench_mib "$lab-server" "Tcp PassiveOpens")
	[ -n "$a0" ] && [ -n "$a1" ] && [ $((a1 - a0 - f1 + f0)) -gt 0 ] || return
	awk -v n=$((a1 - a0 - f1 + f0)) -v t=$((t1 - t0)) -v f=$((f1 - f0)) -v a=$((a1 - a0)) -v p=$((p1 - p0)) \
		'BEGIN { printf "%.0f %d %d %d %d\n", n / t * 1e9, n, f, a, p }'
}

# start_tool [ARGS...]: tcpconnlat -v -j ARGS, returns once its programs
# are attached; its -v lines in $tmp/err, its reports in $tmp/out.
start_tool() { bench_start_tool "ready: programs attached" "$OUTPUT/tcpconnlat" -v -j "$@"; }

BENCH_WITH=(-F)
BENCH_FLOOR=(-F -p "$idle")
bench_interleave "$ROUNDS" "connections/s"

# The empty program on the hooks the tool chose, as the tool chose them.
bench_empty_hooks -F

# runs FILE REGEX: runs of the first program whose name matches REGEX.
runs() { awk -v re="$2" '$1 ~ re { print $3; found = 1; exit } END { if (!found) print 0 }' "$1"; }

bench_stats_run full -F
bench_stats_run floor -F -p "$idle"
for n in full floor; do
	sed "s/^/$n: tool /" "$tmp/$n.tool" >&2
	sed "s/^/$n: empty /" "$tmp/$n.empty" >&2
done
[ -n "$empty_why" ] && echo "EMPTY: $empty_why" >&2

# The tool's opens of the lab's connections in the full run (started
# before the run, stopped after it) against the namespaces' counters.
read -r _ conns cfail aopens popens <"$tmp/full.run"
changes=$(runs "$tmp/full.tool" '^state_(btf|raw)$')
echo "full run: $conns connections ($cfail failed), $changes state changes (host-wide:" \
	"$(awk -v s="$changes" -v c="$conns" 'BEGIN { if (c) printf "%.2f", s / c }') a connection)," \
	"$(runs "$tmp/full.tool" '^retrans_') retransmissions, $(runs "$tmp/full.tool" '^synack_') SYN-ACK retransmissions" >&2
lab_opens() { # DIR NETNS: the lab's -F opens and failures of DIR in NETNS
	jq -s --arg d "$1" --argjson ns "$2" '[.[] | select(.type == "flow" and .dir == $d and .netns == $ns
		and .port == '"$PORT"') | .opens + .failed] | add // 0' "$tmp/full.out"
}
missed=$(jq -s '[.[] | select(.type == "summary") | .missed + .drops] | add // 0' "$tmp/full.out")
bench_check tcpconnlat "full run: active opens of the lab (ActiveOpens)" "$(lab_opens active "$ns_client")" "$aopens" "$missed"
bench_check tcpconnlat "full run: passive opens of the lab (PassiveOpens)" "$(lab_opens passive "$ns_server")" "$popens" "$missed"

read -r wall <"$tmp/full.wall"
awk -v wall="$wall" '{ T += $2 * $3 }
	END { if (wall) printf "RESULT|tcpconnlat|BPF share of one CPU under the churn (%%)|%.2f|\n", T / wall * 100 }' \
	"$tmp/full.tool"
awk -v c="$conns" '{ T += $2 * $3 }
	END { if (c) printf "RESULT|tcpconnlat|BPF ns per connection (both ends)|%.0f|\n", T / c }' \
	"$tmp/full.tool"
ST='^state_'
ET='set_state$'
echo "RESULT|tcpconnlat|BPF ns per state change (program and twin)|$(bench_per_change "$tmp/full.tool" "$ST")|"
echo "RESULT|tcpconnlat|FLOOR (-p idle) ns per state change|$(bench_per_change "$tmp/floor.tool" "$ST")|"
echo "RESULT|tcpconnlat|EMPTY ns per state change (two empty programs, floor's run)|$(bench_per_change "$tmp/floor.empty" "$ET")|"
echo "RESULT|tcpconnlat|EMPTY ns per state change (two empty programs, full run)|$(bench_per_change "$tmp/full.empty" "$ET")|"
read -r blo bm bhi < <(bench_spread <"$tmp/bases")
echo "connections/s without: min $blo, median $bm, max $bhi" >&2
read -r lo m hi < <(bench_spread <"$tmp/ratios")
echo "ratios: min $lo, median $m, max $hi" >&2
read -r flo fm fhi < <(bench_spread <"$tmp/floors")
echo "floor ratios: min $flo, median $fm, max $fhi" >&2
echo "RESULT|tcpconnlat|connections/s without the tool (median)|$(printf %.0f "$bm")|"
echo "RESULT|tcpconnlat|connection churn with/without (-F)|$m|"
echo "RESULT|tcpconnlat|FLOOR (-p idle): connection churn with/without|$fm|"
[ "$fails" = 0 ]
