#!/bin/bash
# latkit demo: a lab with a little loss, tcpreq traffic across it (32
# connections of ping/echo, as in the original demo), every latkit tool
# beside it, then one report.  Tears everything down, even on Ctrl-C.
#
#   DEMO_SECONDS=10   traffic time
#   DEMO_LOSS=0.5     loss in percent, each way
#   DEMO_OUT=dir      where the report goes (default $OUTPUT/demo)
set -u
cd "$(dirname "$0")/.."
B=${OUTPUT:-$PWD/build}
SECS=${DEMO_SECONDS:-10}
LOSS=${DEMO_LOSS:-0.5}
OUT=${DEMO_OUT:-$B/demo}
CONNS=32 SIZE=16 PORT=23324
LAB=lkdemo$$
SRV_IP=192.168.100.100
TOOL_PIDS=()
BG_PIDS=()

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
die() { echo "demo: $*" >&2; exit 1; }

cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${TOOL_PIDS[@]}" "${BG_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${TOOL_PIDS[@]}" "${BG_PIDS[@]}"; do
		for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$p" 2>/dev/null
	done
	"$B/netlab" down --prefix "$LAB" >/dev/null 2>&1
	ip netns list | grep -q "^$LAB-" && echo "demo: namespaces $LAB-* left behind" >&2
}
trap cleanup EXIT
trap 'echo "demo: interrupted, cleaning up" >&2; exit 130' INT
trap 'exit 143' TERM

[ "$(id -u)" = 0 ] || die "run as root: sudo make demo"
for t in netlab tcpreq; do [ -x "$B/$t" ] || die "$B/$t is not built"; done
rm -rf "$OUT" && mkdir -p "$OUT"

say "lab: namespaces $LAB-client and $LAB-server, ${LOSS}% loss each way"
"$B/netlab" up --prefix "$LAB" --loss "$LOSS" || die "netlab up failed"
C=$LAB-client S=$LAB-server
snmp() { ip netns exec "$1" cat /proc/net/snmp | awk '$1 == "Tcp:" { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RetransSegs"] }'; }

say "tcpreq server (echo) in $S"
ip netns exec "$S" "$B/tcpreq" server --mode echo -j "0.0.0.0:$PORT" >"$OUT/tcpreq_server.json" 2>"$OUT/tcpreq_server.err" &
SERVER=$!
BG_PIDS+=($SERVER)

# Tools, each in the background writing JSON lines until SIGINT.
start_tool() {
	local name=$1; shift
	[ -x "$B/${name%%.*}" ] || { echo "demo: ${name%%.*} not built, left out" >&2; return; }
	"$B/${name%%.*}" "$@" -v -j >"$OUT/$name.json" 2>"$OUT/$name.err" &
	TOOL_PIDS+=($!)
}
# Every tool says "ready" on stderr (-v) once its programs are attached;
# loading takes seconds on a slow or emulated machine.
wait_ready() {
	local f i
	for f in "$OUT"/*.err; do
		case $f in */tcpreq_*) continue ;; esac
		for ((i = 0; i < 600; i++)); do
			grep -q 'ready: programs attached' "$f" && break
			sleep 0.1
		done
		grep -q 'ready: programs attached' "$f" ||
			die "$(basename "$f" .err) did not start: $(grep -v '^[a-z_]*: using' "$f" | tail -n1)"
	done
}
say "tools: tcplat, tcpretrans_cnt, tcpconnlat, syslat, cpuusage, tcstamp"
start_tool tcplat.client --netns "$C" -c tcpreq --role client -H
start_tool tcplat.server --netns "$S" -c tcpreq --role server -H
start_tool tcpretrans_cnt.client --netns "$C"
start_tool tcpretrans_cnt.server --netns "$S"
# Connection latency: the client's connects and the server's accepts.
start_tool tcpconnlat.client --netns "$C" -H
start_tool tcpconnlat.server --netns "$S" -H
# The server's syscalls only (ip netns exec execs it: same PID).
start_tool syslat -p "$SERVER" -n 8
start_tool cpuusage -n 8
start_tool tcstamp --netns "$C" -I veth0 -H
wait_ready
r0c=$(snmp "$C") r0s=$(snmp "$S")

say "tcpreq client (ping): $CONNS connections, $SIZE bytes, ${SECS}s"
ip netns exec "$C" "$B/tcpreq" client -n "$CONNS" --mode ping --size "$SIZE" \
	--duration "$SECS" --linger0 -i 1 -H -j "$SRV_IP:$PORT" >"$OUT/tcpreq_client.json" 2>"$OUT/tcpreq_client.err" &
CLIENT=$!
BG_PIDS+=($CLIENT)
# Progress: the client's last interval line, once a second.
while kill -0 "$CLIENT" 2>/dev/null; do
	sleep 1
	line=$(grep '"type":"interval"' "$OUT/tcpreq_client.json" 2>/dev/null | tail -n1)
	[ -n "$line" ] && printf '   %s\n' "$(printf '%s' "$line" |
		sed -E 's/.*"rps":([0-9]+)[^,]*,"mean_us":([0-9]+).*/\1 requests\/s, mean \2 us/')" >&2
done
wait "$CLIENT" || die "tcpreq client failed: $(cat "$OUT/tcpreq_client.err")"
sleep 0.5
r1c=$(snmp "$C") r1s=$(snmp "$S")
echo "{\"type\":\"kernel\",\"retrans_client\":$((r1c - r0c)),\"retrans_server\":$((r1s - r0s))}" >"$OUT/kernel.json"
printf '{"conns":%d,"size":%d,"seconds":%s,"loss":%s,"kernel":"%s","lab":"%s"}\n' \
	"$CONNS" "$SIZE" "$SECS" "$LOSS" "$(uname -r)" "$LAB" >"$OUT/meta.json"

for p in "${TOOL_PIDS[@]}" "${BG_PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
for p in "${TOOL_PIDS[@]}" "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
TOOL_PIDS=() BG_PIDS=()

say "report"
rc=0
python3 scripts/demo_report.py "$OUT" || rc=$?
echo >&2
echo "demo: report in $OUT/report.txt, $OUT/report.json and $OUT/report.html" >&2
[ $rc = 0 ] || die "the report's consistency checks failed (exit $rc)"
