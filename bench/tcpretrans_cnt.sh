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
# The floor is the tool with -p of an idle process (a sleep this script
# started): every hook still runs, each program returns at its filter,
# nothing is recorded.  Its rounds interleave with the others (ratio to
# the run without in the same round).  The empty program is
# bench/emptyprog ("r0 = 0; exit") on the hooks and methods the tool
# chose (its -v lines): floor minus empty is the tool's own code per
# event.
#
# Then runs with kernel.bpf_stats_enabled (which costs time itself, so
# never during the rounds): run time per call of each program, the tool
# beside the empty program in the same run, then the floor beside it;
# the cost on the send path (sock:sock_send_length, every sendmsg on the
# host), or "none" when no program of the tool runs there.
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
empty=
idle=
stats0=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	bench_stop_tool
	bench_stop_empty
	[ -n "$server" ] && bench_stop "$server"
	[ -n "$idle" ] && bench_stop "$idle"
	sysctl -q -w kernel.bpf_stats_enabled="$stats0"
	"$OUTPUT/netlab" down --prefix "$lab" >/dev/null 2>&1
	bench_tracefs_undo
	rm -rf "$tmp"
}
trap cleanup EXIT
S=192.168.100.100:7210

bench_tracefs	# the classic tracepoints' fallback needs it
"$OUTPUT/netlab" up --prefix "$lab" --loss 1 >/dev/null || { echo "netlab up failed"; exit 1; }
sleep 100000 &	# the idle process the floor's tool watches
idle=$!
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

# start_tool [ARGS...]: tcpretrans_cnt -v ARGS, returns once it counts;
# its -v lines in $tmp/err.
start_tool() { bench_start_tool "counting" "$OUTPUT/tcpretrans_cnt" -v "$@"; }

BENCH_WITH=(-F)
BENCH_FLOOR=(-F -p "$idle")
bench_interleave "$ROUNDS" "MB/s"

# The empty program on the hooks the tool chose, as the tool chose them.
bench_empty_hooks -F

# hook_ns FILE PREFIX: ns per run of the program whose name starts with
# PREFIX (tool: retrans_, state_, send_; emptyprog: a letter and the
# hook's last 13 characters), "-" if it did not run.
hook_ns() {
	awk -v p="$2" 'index($1, p) == 1 { printf "%.0f", $2; found = 1; exit }
		END { if (!found) printf "-" }' "$1"
}

# empty_ns FILE REGEX: ns per run of the empty program whose name
# (a method letter and the end of the hook's name) matches REGEX.
empty_ns() {
	awk -v re="$2" '$1 ~ re { printf "%.0f", $2; found = 1; exit }
		END { if (!found) printf "-" }' "$1"
}

bench_stats_run full -F
bench_stats_run floor -F -p "$idle"
for n in full floor; do
	sed "s/^/$n: tool /" "$tmp/$n.tool" >&2
	sed "s/^/$n: empty /" "$tmp/$n.empty" >&2
done
[ -n "$empty_why" ] && echo "EMPTY: $empty_why" >&2

# The send path: a program of the tool on sock:sock_send_length runs on
# every sendmsg on the host.
if grep -q "sock_send_length: using" "$tmp/tool.err"; then
	send="$(hook_ns "$tmp/full.tool" send_) (EMPTY $(empty_ns "$tmp/full.empty" 'send_length$'))"
else
	send="none"
fi
echo "send path (sock:sock_send_length): ${send} ns per sendmsg" >&2
ev_ns() { # FILE: ns per run over every program of the file, weighted by runs
	awk '{ t += $2 * $3; n += $3 } END { if (n) printf "%.0f", t / n; else printf "-" }' "$1"
}
awk -v wall="$(cat "$tmp/full.wall")" '{ T += $2 * $3 }
	END { if (wall) printf "RESULT|tcpretrans_cnt|BPF share of one CPU under the push (%%)|%.2f|\n", T / wall * 100 }' \
	"$tmp/full.tool"
echo "RESULT|tcpretrans_cnt|BPF ns per sendmsg (owner tracking)|$send|none, or <= EMPTY + 20"
echo "RESULT|tcpretrans_cnt|BPF ns per retransmission|$(hook_ns "$tmp/full.tool" retrans_)|"
echo "RESULT|tcpretrans_cnt|BPF ns per state change (program and twin)|$(bench_per_change "$tmp/full.tool" '^state_')|"
echo "RESULT|tcpretrans_cnt|FLOOR (-p idle) ns per event|$(ev_ns "$tmp/floor.tool")|"
echo "RESULT|tcpretrans_cnt|EMPTY ns per event (same hooks, same run)|$(ev_ns "$tmp/floor.empty")|"
echo "RESULT|tcpretrans_cnt|FLOOR ns per retransmission / state change|$(hook_ns "$tmp/floor.tool" retrans_) / $(bench_per_change "$tmp/floor.tool" '^state_')|"
echo "RESULT|tcpretrans_cnt|EMPTY ns per retransmission / state change (two programs)|$(empty_ns "$tmp/floor.empty" 'skb$') / $(bench_per_change "$tmp/floor.empty" 'state$')|"
read -r lo m hi < <(bench_spread <"$tmp/ratios")
echo "ratios: min $lo, median $m, max $hi" >&2
read -r flo fm fhi < <(bench_spread <"$tmp/floors")
echo "floor ratios: min $flo, median $fm, max $fhi" >&2
echo "RESULT|tcpretrans_cnt|push throughput with/without (1% loss)|$m|>= 0.99"
echo "RESULT|tcpretrans_cnt|FLOOR (-p idle): push throughput with/without|$fm|>= 0.99"
