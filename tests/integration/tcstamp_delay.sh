#!/bin/bash
# tcstamp's RTT tracks a netem delay: a 10 ms delay on the client's
# egress (netlab --delay 10 --dir to-server) raises the minimum RTT it
# reports for a ping/echo flow to at least 10 ms.  The oracles are the
# delay the kernel's netem applies and tcpreq's own round trips, which
# include the wire RTT tcstamp sees.  Needs netem: runs in make
# vmtest's 6.1 guest, skips on a kernel without sch_netem.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcstamp
lk_need_bin tcpreq
lk_lab_up
T=$OUTPUT/tcpreq
PORT=23331
REQS=150

lk_bg ip netns exec "$LAB_S" "$T" server -j --nodelay "0.0.0.0:$PORT" >"$LK_TMP/server"
lk_wait_for 10 lk_in_server sh -c "ss -Htln | grep -q ':$PORT '" || fail "tcpreq server did not start"

# measure NAME: one connection, $REQS round trips, timed by tcstamp on
# the client's veth and by tcpreq; leaves NAME.ts and NAME.req.
measure() {
	local out=$LK_TMP/$1 ts
	lk_bg "$OUTPUT/tcstamp" -v -j -I veth0 --netns "$LAB_C" --rport $PORT >"$out.ts" 2>"$out.err"
	ts=$LK_LAST_PID
	lk_wait_for 30 grep -q '^tcstamp: attached' "$out.err" ||
		{ cat "$out.err"; fail "tcstamp did not attach"; }
	lk_in_client timeout 120 "$T" client -j -n 1 --nodelay --requests $REQS \
		"$LAB_S_IP:$PORT" >"$out.req" || fail "tcpreq client failed ($1)"
	sleep 0.5
	kill -INT "$ts"
	wait "$ts" || { cat "$out.err"; fail "tcstamp exited with an error ($1)"; }
	jq -c 'select(.type == "flow" and .kind == "rtt")' "$out.ts"
	jq -c 'select(.type == "summary")' "$out.req"
}
flow_p50() { jq -s 'map(select(.type == "flow" and .kind == "rtt")) | max_by(.samples) | .p50_us' "$LK_TMP/$1.ts"; }
flow_min() { jq -s 'map(select(.type == "flow" and .kind == "rtt")) | max_by(.samples) | .min_us' "$LK_TMP/$1.ts"; }
flow_samples() { jq -s 'map(select(.type == "flow" and .kind == "rtt")) | max_by(.samples) | .samples' "$LK_TMP/$1.ts"; }
req_p50() { jq 'select(.type == "summary") | .p50_us' "$LK_TMP/$1.req"; }

# Without netem first: on a kernel that has none, nothing below applies.
rc=0; "$OUTPUT/netlab" set --prefix "$LAB" --dir to-server --delay 10 2>"$LK_TMP/err" || rc=$?
if [ $rc != 0 ]; then
	cat "$LK_TMP/err"
	grep -q 'not available' "$LK_TMP/err" || fail "netlab set --delay failed"
	skip "netem (sch_netem) is not available in this kernel: no delay to track"
fi
"$OUTPUT/netlab" set --prefix "$LAB" --dir to-server --delay none || fail "netlab set --delay none"

measure base
"$OUTPUT/netlab" set --prefix "$LAB" --dir to-server --delay 10 || fail "netlab set --delay 10"
"$OUTPUT/netlab" status --prefix "$LAB"
measure delay

assert_ge "$(flow_samples base)" $((REQS * 8 / 10)) "RTT samples without delay (BPF attached)"
assert_ge "$(flow_samples delay)" $((REQS * 8 / 10)) "RTT samples with 10 ms delay"
b=$(flow_p50 base) d=$(flow_p50 delay) bmin=$(flow_min base) dmin=$(flow_min delay)
echo "tcstamp RTT min/median: $bmin/$b us without delay, $dmin/$d us with 10 ms"
echo "tcpreq median round trip: $(req_p50 base) us without delay, $(req_p50 delay) us with 10 ms"
# netem never sends early: with the delay no sample is below it,
# exactly.  Without it each sample is a wire RTT inside one of tcpreq's
# round trips, so the smallest is below tcpreq's median unless half the
# requests have none (samples number at least 80% of the requests,
# checked above; 107 against 208 us in a 6.1 guest): the delay is what
# moved it.
assert_ge "$dmin" 10000 "minimum RTT with the 10 ms netem delay, us"
assert_le "$bmin" "$(req_p50 base)" "minimum RTT without delay vs tcpreq's median round trip, us"
assert_ge "$d" 10000 "median RTT with the 10 ms netem delay, us"
# tcstamp's RTT is part of tcpreq's round trip: not above it, but for
# the width of the log-linear buckets each p50 is read inside (tcstamp's
# 1/16 of its power of two: 512 us at 10 ms, where tcpreq's round trip
# is longer by the client's stack and the server's turnaround, a few
# hundred us under qemu TCG), and the delay shows in tcpreq's figure too.
assert_le "$d" "$(lk_nested_bound "$(req_p50 delay)")" \
	"tcstamp median RTT vs tcpreq's median round trip (one bucket of each aside), us"
assert_ge "$(req_p50 delay)" 10000 "tcpreq's median round trip with 10 ms delay, us"
