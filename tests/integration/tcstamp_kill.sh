#!/bin/bash
# kill -9 of tcstamp leaves nothing attached (tcx links die with the
# process); with clsact (forced by LK_NO_TCX) the next start removes our
# stale filters.  Another filter on the interface survives all of it.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd bpftool
lk_need_bin tcstamp
lk_need_bin tcpreq
lk_need_cmd jq
lk_lab_up
T=$OUTPUT/tcstamp

# Someone else's filter on the same hook.
lk_in_client tc qdisc add dev veth0 clsact 2>/dev/null
lk_in_client tc filter add dev veth0 ingress prio 1 protocol ip u32 \
	match ip dst 10.99.0.1/32 flowid 1:1 || skip "no u32 classifier"
other() { lk_in_client tc filter show dev veth0 ingress | grep -c 'match 0a630001/ffffffff'; }
assert_eq "$(other)" 1 "the other filter is there"

# Before tcx (Linux 6.6) tcstamp attaches clsact filters, which outlive
# kill -9 by design (checked below): there only SIGINT must clean up.
hows="KILL INT"
bpftool btf dump file /sys/kernel/btf/vmlinux | grep -q "STRUCT 'tcx_entry'" || hows=INT
for how in $hows; do
	"$T" -v -I veth0 --netns "$LAB_C" >"$LK_TMP/out" 2>&1 &
	pid=$!
	lk_wait_lines 60 "$LK_TMP/out" "ready: programs attached" || { cat "$LK_TMP/out"; fail "tcstamp did not start"; }
	ids=$(lk_prog_ids $pid | tr '\n' ' ')
	lk_in_client ping -c 2 -i 0.2 -W 2 "$LAB_S_IP" >/dev/null || fail "no traffic with tcstamp attached"
	kill -$how $pid
	wait $pid
	rc=$?
	[ $how = INT ] && { [ $rc = 0 ] || fail "SIGINT exit status $rc"; grep -q 'flows:' "$LK_TMP/out" || fail "no summary on SIGINT"; }
	lk_wait_for 10 lk_progs_gone "$ids" || fail "programs still loaded after kill -$how: $(lk_progs_alive "$ids")"
	ok "programs unloaded after kill -$how (ids $ids)"
	assert_eq "$(lk_in_client tc filter show dev veth0 egress | grep -c tcstamp)" 0 "tcstamp filters left on egress"
	assert_eq "$(lk_in_client tc filter show dev veth0 ingress | grep -c tcstamp)" 0 "tcstamp filters left on ingress"
	assert_eq "$(other)" 1 "the other filter survives kill -$how"
done
lk_in_client ping -c 2 -i 0.2 -W 2 "$LAB_S_IP" >/dev/null || fail "no traffic after tcstamp"
ok "traffic flows after tcstamp is gone"

# Without tcx (LK_NO_TCX=1 forces it): kill -9 leaves the clsact filters,
# the next start removes them, and a clean stop leaves none.
ours() { lk_in_client tc filter show dev veth0 "$1" | grep -c 'tcstamp_'; }
LK_NO_TCX=1 "$T" -v -I veth0 --netns "$LAB_C" >"$LK_TMP/out" 2>&1 &
pid=$!
lk_wait_for 60 grep -q 'clsact filters' "$LK_TMP/out" || { cat "$LK_TMP/out"; fail "no clsact attach"; }
assert_eq "$(ours egress) $(ours ingress)" "1 1" "clsact filters while running"
kill -KILL $pid
wait $pid
assert_eq "$(ours egress) $(ours ingress)" "1 1" "clsact filters left by kill -9 (expected)"
LK_NO_TCX=1 "$T" -v -I veth0 --netns "$LAB_C" >"$LK_TMP/out" 2>&1 &
pid=$!
lk_wait_for 60 grep -q 'clsact filters' "$LK_TMP/out" || { cat "$LK_TMP/out"; fail "no clsact attach"; }
# On failure, what the run said and what is attached, for the log.
[ "$(grep -c 'removed a stale filter' "$LK_TMP/out")" = 2 ] || {
	cat "$LK_TMP/out"
	lk_in_client tc filter show dev veth0 egress
	lk_in_client tc filter show dev veth0 ingress
}
assert_eq "$(grep -c 'removed a stale filter' "$LK_TMP/out")" 2 "stale filters removed at start"
assert_eq "$(ours egress) $(ours ingress)" "1 1" "one filter each after restart"
# A second run beside it takes the next handle and leaves the first's
# filters alone: both see the same TCP packets.
LK_NO_TCX=1 "$T" -v -j -I veth0 --netns "$LAB_C" >"$LK_TMP/out2" 2>"$LK_TMP/err2" &
pid2=$!
lk_wait_for 60 grep -q 'clsact filters' "$LK_TMP/err2" || { cat "$LK_TMP/err2"; fail "no clsact attach (second run)"; }
! grep -q 'removed a stale filter' "$LK_TMP/err2" || fail "the second run removed the first's filters"
assert_eq "$(ours egress) $(ours ingress)" "2 2" "two runs, two filters each"
lk_bg ip netns exec "$LAB_S" "$OUTPUT/tcpreq" server "0.0.0.0:7419"
lk_wait_for 5 lk_listening "$LAB_S" "7419" || fail "server not listening"
lk_in_client "$OUTPUT/tcpreq" client --requests 20 "$LAB_S_IP:7419" >/dev/null || fail "client failed"
kill -INT $pid2
wait $pid2 || fail "tcstamp (second run) exited with an error"
assert_ge "$(jq 'select(.type == "summary") | .tcp_packets' "$LK_TMP/out2")" 40 "the second run's TCP packets"
kill -INT $pid
wait $pid || fail "tcstamp exited with an error"
grep -q 'flows:' "$LK_TMP/out" || fail "no summary from the first run"
assert_eq "$(ours egress) $(ours ingress)" "0 0" "clsact filters after a clean stop"
assert_eq "$(other)" 1 "the other filter survives the clsact runs"
