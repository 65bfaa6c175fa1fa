#!/bin/bash
# The expositions of tcplat, cpuusage, syslat, tcpretrans_cnt and tcstamp
# in both formats: promtool check
# metrics passes on the Prometheus text (0.0.4); the OpenMetrics one
# (asked for by Accept) has the content type, # TYPE/# UNIT/# HELP before
# its samples, counters' samples in _total and # EOF last.  Against
# oracles: tcplat's request counter equals tcpreq's count, cpuusage's
# four modes add up to the wall time of every CPU.  --textfile leaves a
# whole file that promtool accepts, and no PATH.tmp.  The rules in
# contrib/prometheus pass promtool check rules.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd curl
lk_need_cmd promtool
lk_need_bin tcplat
lk_need_bin cpuusage
lk_need_bin tcpreq
lk_lab_up
T=$OUTPUT/tcpreq
PORT=$(lk_free_port "$LAB_S") || fail "no free port in the lab"
N=500
OMA='application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5'

promtool check rules "$LK_TOP"/contrib/prometheus/*.rules.yml "$LK_TOP"/contrib/prometheus/*.alerts.yml ||
	fail "promtool check rules"
ok "contrib/prometheus rules and alerts pass promtool"

# check NAME URL: both formats of one endpoint.
check() {
	local name=$1 url=$2 ct
	ct=$(curl -s -o "$LK_TMP/$name.prom" -w '%{http_code} %{content_type}' "$url")
	assert_eq "$ct" "200 text/plain; version=0.0.4; charset=utf-8" "$name: Prometheus text"
	promtool check metrics <"$LK_TMP/$name.prom" || fail "$name: promtool check metrics"
	ok "$name: promtool check metrics"
	ct=$(curl -s -o "$LK_TMP/$name.om" -w '%{http_code} %{content_type}' -H "Accept: $OMA" "$url")
	assert_eq "$ct" "200 application/openmetrics-text; version=1.0.0; charset=utf-8" "$name: OpenMetrics"
	assert_eq "$(tail -n1 "$LK_TMP/$name.om")" "# EOF" "$name: OpenMetrics ends with # EOF"
	awk '
		/^# EOF$/ { next }
		/^# TYPE / { fam = $3; type = $4; next }
		/^# UNIT / { if ($3 != fam || fam !~ ("_" $4 "$")) { print "bad UNIT: " $0; bad = 1 } next }
		/^# HELP / { if ($3 != fam) { print "HELP out of place: " $0; bad = 1 } next }
		{ name = $1; sub(/\{.*/, "", name)
		  if (index(name, fam) != 1) { print "sample outside its family: " $0; bad = 1 }
		  if (type == "counter" && name != fam "_total") { print "counter sample not _total: " $0; bad = 1 }
		  if (type == "histogram" && name !~ /_(bucket|sum|count)$/) { print "bad histogram sample: " $0; bad = 1 } }
		END { exit bad }' "$LK_TMP/$name.om" || fail "$name: OpenMetrics structure"
	ok "$name: OpenMetrics structure"
	# Same samples in both, but for the # lines.
	diff <(grep -v '^#' "$LK_TMP/$name.prom" | cut -d' ' -f1 | sort) \
		<(grep -v '^#' "$LK_TMP/$name.om" | cut -d' ' -f1 | sort) >/dev/null ||
		ok "$name: (sample sets differ between two snapshots: values moved on)"
}
val() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

lk_bg ip netns exec "$LAB_S" "$T" server --nodelay "0.0.0.0:$PORT"
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "server not listening"

# tcplat
MP=$(lk_free_port) || fail "no free port"
timeout -s INT "$LK_HANG" "$OUTPUT/tcplat" -v -c tcpreq --netns "$LAB_C" --listen "127.0.0.1:$MP" \
	--textfile "$LK_TMP/textfile.prom" -i 1 >"$LK_TMP/tcplat.out" 2>"$LK_TMP/tcplat.err" &
TP=$!; LK_PIDS+=($TP)
lk_wait_lines 30 "$LK_TMP/tcplat.err" tracing || { cat "$LK_TMP/tcplat.err"; fail "tcplat did not start"; }
ip netns exec "$LAB_C" "$T" client -j --nodelay -n 2 --requests "$N" "$LAB_S_IP:$PORT" \
	>"$LK_TMP/tcpreq.json" || fail "tcpreq client failed"
# A snapshot is up to 0.25 s old: wait for one made after the client.
has_n() { curl -s "http://127.0.0.1:$MP/metrics" | grep -q "^latkit_tcp_requests_total{comm=\"tcpreq\",role=\"client\"} $N\$"; }
lk_wait_for 5 has_n || fail "tcplat: no count of $N"
check tcplat "http://127.0.0.1:$MP/metrics"
assert_eq "$(val "$LK_TMP/tcplat.prom" 'latkit_tcp_requests_total{comm="tcpreq",role="client"}')" "$N" \
	"tcplat: requests_total = tcpreq's count"
assert_eq "$(val "$LK_TMP/tcplat.om" 'latkit_tcp_request_duration_seconds_count{role="client"}')" "$N" \
	"tcplat: OpenMetrics histogram _count"
assert_eq "$(val "$LK_TMP/tcplat.prom" 'latkit_tcp_read_bytes_total{comm="tcpreq",role="client"}')" \
	"$(jq 'select(.type == "summary") | .bytes_in' "$LK_TMP/tcpreq.json")" "tcplat: read bytes = tcpreq's bytes in"
lk_wait_for 5 grep -q "^latkit_tcp_requests_total{comm=\"tcpreq\",role=\"client\"} $N\$" "$LK_TMP/textfile.prom" ||
	fail "textfile: no count of $N"
promtool check metrics <"$LK_TMP/textfile.prom" || fail "textfile: promtool check metrics"
kill -INT "$TP"; wait "$TP" || fail "tcplat failed"
[ ! -e "$LK_TMP/textfile.prom.tmp" ] || fail "textfile: PATH.tmp left behind"
grep -q "^latkit_tcp_requests_total{comm=\"tcpreq\",role=\"client\"} $N\$" "$LK_TMP/textfile.prom" ||
	fail "textfile at exit"
ok "textfile: whole, promtool accepts it, final write at exit"

# cpuusage
MP=$(lk_free_port) || fail "no free port"
timeout -s INT "$LK_HANG" "$OUTPUT/cpuusage" -v --listen "127.0.0.1:$MP" -n 5 >"$LK_TMP/cpu.out" 2>"$LK_TMP/cpu.err" &
CP=$!; LK_PIDS+=($CP)
lk_wait_lines 30 "$LK_TMP/cpu.err" tracing || { cat "$LK_TMP/cpu.err"; fail "cpuusage did not start"; }
t0=$(date +%s%N)
sleep 2
check cpuusage "http://127.0.0.1:$MP/metrics"
t1=$(date +%s%N)
kill -INT "$CP"; wait "$CP" || fail "cpuusage failed"
ncpu=$(grep -c '^latkit_cpu_seconds_total{cpu="[0-9]*",mode="idle"}' "$LK_TMP/cpuusage.prom")
assert_eq "$ncpu" "$(grep -c '^processor' /proc/cpuinfo)" "cpuusage: one idle series per CPU"
sum=$(awk '/^latkit_cpu_seconds_total/ { s += $2 } END { print s }' "$LK_TMP/cpuusage.prom")
# Every CPU's modes add up to its time since cpuusage started, which
# began before t0 and ended before t1.
assert_ge "$sum" "$(awk -v a="$t0" -v b="$t1" -v n="$ncpu" 'BEGIN { print 1.9 * n }')" "cpuusage: CPU seconds, all modes"
assert_le "$sum" "$(awk -v a="$t0" -v b="$t1" -v n="$ncpu" 'BEGIN { print (b - a) / 1e9 * n + 30 * n }')" "cpuusage: CPU seconds bounded"
assert_ge "$(grep -c '^latkit_task_cpu_seconds_total' "$LK_TMP/cpuusage.prom")" 2 "cpuusage: command rows"
grep -q '^latkit_task_cpu_seconds_total{comm="other"}' "$LK_TMP/cpuusage.prom" || fail "cpuusage: no other row"

# syslat, tcpretrans_cnt, tcstamp: both formats of each, with samples in
# the families the man pages promise.
lk_need_bin syslat
lk_need_bin tcpretrans_cnt
lk_need_bin tcstamp
MP=$(lk_free_port) || fail "no free port"
timeout -s INT "$LK_HANG" "$OUTPUT/syslat" -v -e -i 1 --listen "127.0.0.1:$MP" \
	>"$LK_TMP/syslat.out" 2>"$LK_TMP/syslat.err" &
SP=$!; LK_PIDS+=($SP)
lk_wait_lines 30 "$LK_TMP/syslat.err" tracing || { cat "$LK_TMP/syslat.err"; fail "syslat did not start"; }
ls /nonexistent-latkit-$$ >/dev/null 2>&1
sleep 1.5
check syslat "http://127.0.0.1:$MP/metrics"
kill -INT "$SP"; wait "$SP" || fail "syslat failed"
for f in latkit_syscalls_total latkit_syscall_failures_total latkit_syscall_errors_total \
	latkit_syscall_duration_seconds_bucket; do
	grep -q "^$f{" "$LK_TMP/syslat.prom" || fail "syslat: no $f"
done
ok "syslat: its families"

MP=$(lk_free_port) || fail "no free port"
timeout -s INT "$LK_HANG" "$OUTPUT/tcpretrans_cnt" -v --netns "$LAB_C" --listen "127.0.0.1:$MP" \
	>"$LK_TMP/rt.out" 2>"$LK_TMP/rt.err" &
RP=$!; LK_PIDS+=($RP)
lk_wait_lines 30 "$LK_TMP/rt.err" counting || { cat "$LK_TMP/rt.err"; fail "tcpretrans_cnt did not start"; }
check tcpretrans_cnt "http://127.0.0.1:$MP/metrics"
kill -INT "$RP"; wait "$RP" || fail "tcpretrans_cnt failed"
assert_eq "$(grep -c '^latkit_tcp_retransmitted_segments_total{kind=' "$LK_TMP/tcpretrans_cnt.prom")" 7 \
	"tcpretrans_cnt: a series per kind"
grep -q '^latkit_tcp_kernel_retransmitted_segments_total ' "$LK_TMP/tcpretrans_cnt.prom" ||
	fail "tcpretrans_cnt: no kernel RetransSegs"

MP=$(lk_free_port) || fail "no free port"
timeout -s INT "$LK_HANG" "$OUTPUT/tcstamp" -v -I veth0 --netns "$LAB_C" --listen "127.0.0.1:$MP" \
	>"$LK_TMP/ts.out" 2>"$LK_TMP/ts.err" &
XP=$!; LK_PIDS+=($XP)
lk_wait_for 20 grep -q "attached to" "$LK_TMP/ts.err" || { cat "$LK_TMP/ts.err"; fail "tcstamp did not start"; }
ip netns exec "$LAB_C" "$T" client --nodelay --requests 100 "$LAB_S_IP:$PORT" >/dev/null ||
	fail "tcpreq client failed"
# A snapshot is up to 0.25 s old: wait for one made after the client.
has_rtt() { curl -s "http://127.0.0.1:$MP/metrics" | grep -q "^latkit_tc_rtt_seconds_count{interface=\"veth0\",remote=\"$LAB_S_IP\"} [1-9]"; }
lk_wait_for 5 has_rtt || { curl -s "http://127.0.0.1:$MP/metrics" | grep -v _bucket; cat "$LK_TMP/ts.err"; fail "tcstamp: no RTT samples for the server"; }
check tcstamp "http://127.0.0.1:$MP/metrics"
kill -INT "$XP"; wait "$XP" || fail "tcstamp failed"
grep -q "^latkit_tc_rtt_seconds_bucket{interface=\"veth0\",remote=\"$LAB_S_IP\",le=\"+Inf\"} [1-9]" \
	"$LK_TMP/tcstamp.prom" || fail "tcstamp: no RTT samples for the server"
ok "tcstamp: RTT histogram per interface and remote"
