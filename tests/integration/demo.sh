#!/bin/bash
# `make demo` end to end: the lab, tcpreq across it and every tool beside
# it; the report must exist in its three forms, its numbers must be
# filled in and its consistency checks must hold (retransmissions equal
# the kernel's Tcp: RetransSegs in each namespace, the tools counted what
# tcpreq did), and nothing may be left behind.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd python3
for t in netlab tcpreq tcpretrans_cnt syslat cpuusage tcstamp; do lk_need_bin "$t"; done
out=$LK_TMP/demo
rc=0
DEMO_SECONDS=${DEMO_SECONDS:-5} DEMO_OUT=$out OUTPUT=$OUTPUT \
	timeout -k 10 240 bash "$LK_TOP/scripts/demo.sh" >"$LK_TMP/demo.out" 2>&1 || rc=$?
cat "$LK_TMP/demo.out"
[ $rc = 0 ] || fail "the demo exited with $rc"
for f in report.txt report.json report.html; do
	[ -s "$out/$f" ] || fail "no $f"
done
ok "report written as text, JSON and HTML"
grep -q '<svg' "$out/report.html" || fail "the HTML report draws no histogram"
! grep -qE '(src|href)="https?:' "$out/report.html" || fail "the HTML report loads something from the network"
ok "HTML is self-contained, with histograms"

j() { jq -r "$1" "$out/report.json"; }
assert_eq "$(j .ok)" true "every consistency check of the report"
assert_ge "$(j '[.checks[] | select(.check | test("retransmissions"))] | length')" 2 \
	"retransmission checks (client and server netns)"
# A run with loss retransmits: a zero here means a tool saw nothing.
assert_ge "$(j '.retransmissions[0].segs')" 1 "client retransmissions counted"
assert_ge "$(j '.latency[0].requests')" 1000 "tcpreq client requests"
assert_ge "$(j '[.latency[] | select(.source == "tcstamp") | .requests][0]')" 1000 "tcstamp RTT samples"
assert_ge "$(j '.syscalls | length')" 3 "syscalls in the report"
assert_ge "$(j '.cpu.softirqs.NET_RX_ns')" 1 "NET_RX softirq time"
if [ -x "$OUTPUT/tcplat" ]; then
	for w in client server; do
		v=$(j "[.latency[] | select(.source == \"tcplat\" and .where == \"$w\") | .p50_us][0]")
		assert_ge "${v:-0}" 1 "tcplat $w p50 (us)"
	done
fi
# The demo's own namespaces, by the name it gave them: a count of all
# of the host's changes with whatever else runs there (a run failed
# "2 > 0": two namespaces of someone else's appeared meanwhile).
lab=$(sed -n 's/.*lab: namespaces \(lkdemo[0-9]*\)-client.*/\1/p' "$LK_TMP/demo.out" | head -n1)
[ -n "$lab" ] || fail "the demo did not name its lab"
assert_eq "$(ip netns list | awk -v p="$lab-" 'index($1, p) == 1' | wc -l)" 0 \
	"namespaces $lab-* after the demo"
