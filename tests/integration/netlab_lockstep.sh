#!/bin/bash
# The original project's lockstep experiment: sch_plug on the client's
# egress, and once a period "buffer" then "release-one", so that what
# the client sent during the last period leaves at once and nothing
# leaves in between.  A ping/echo connection then does one round trip
# per period.  Oracles: the server namespace's Tcp InSegs (segments
# arrive only just after a release, never in the quiet part of a
# period) and tcpreq's own count and round trips (one per period, each
# about a period long).  Needs sch_plug: runs in make vmtest's 6.1
# guest, skips on a kernel without it.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin netlab
lk_need_bin tcpreq
NL=$OUTPUT/netlab
T=$OUTPUT/tcpreq
PORT=23332
PERIOD=1	# seconds, as in the original's loop
REQS=5
MAXTICKS=$((REQS + 6))

lk_lab_up
P=$LAB
# An IPv6 packet held by the plug would not be a segment the server counts.
lk_lab_ipv4_only
insegs() { lk_netstat "$LAB_S" "Tcp InSegs"; }
insegs_ge() { [ "$(insegs)" -ge "$1" ]; }
now() { date +%s.%N; }

lk_bg ip netns exec "$LAB_S" "$T" server -j --nodelay "0.0.0.0:$PORT" >"$LK_TMP/server"
lk_wait_for 10 lk_in_server sh -c "ss -Htln | grep -q ':$PORT '" || fail "tcpreq server did not start"
# Unplugged first: resolves the neighbour (an ARP request would be held
# by the plug too) and gives the round trip without the plug.
lk_in_client timeout 60 "$T" client -j --nodelay --requests 20 "$LAB_S_IP:$PORT" >"$LK_TMP/free" ||
	fail "tcpreq client failed without the plug"
free_p50=$(jq 'select(.type == "summary") | .p50_us' "$LK_TMP/free")

rc=0; "$NL" set --prefix "$P" --dir to-server --plug buffer 2>"$LK_TMP/err" || rc=$?
if [ $rc != 0 ]; then
	cat "$LK_TMP/err"
	grep -q 'not available' "$LK_TMP/err" || fail "netlab set --plug buffer failed"
	skip "sch_plug is not available in this kernel: no lockstep"
fi

lk_bg ip netns exec "$LAB_C" timeout 120 "$T" client -j --nodelay --requests $REQS \
	"$LAB_S_IP:$PORT" >"$LK_TMP/client"
CLIENT=$LK_LAST_PID
# Each period: release (buffer, a new epoch, then release-one, the
# last period's epoch), note InSegs early in the quiet part and at its
# end.  The SYN is in the first epoch.
ticks=0 quiet_moves=0 steps=0 t_first="" t_last="" b=$(insegs)
sleep $PERIOD
while [ $ticks -lt $MAXTICKS ]; do
	t=$(now)
	h=$(lk_plug_held)
	"$NL" set --prefix "$P" --dir to-server --plug buffer || fail "plug buffer"
	"$NL" set --prefix "$P" --dir to-server --plug release-one || fail "plug release-one"
	ticks=$((ticks + 1))
	t_first=${t_first:-$t}
	t_last=$t
	# Every segment the plug held has reached the server.
	lk_wait_for 10 insegs_ge $((b + h)) || fail "tick $ticks: $h segments released, $(( $(insegs) - b )) arrived"
	a=$(insegs)
	[ "$a" -gt "$b" ] && steps=$((steps + 1))
	sleep $(awk -v p=$PERIOD -v t="$t" -v n="$(now)" 'BEGIN { r = p - (n - t); print r > 0.1 ? r : 0.1 }')
	kill -0 "$CLIENT" 2>/dev/null || break
	b=$(insegs)
	[ "$a" = "$b" ] || quiet_moves=$((quiet_moves + 1))
	echo "tick $ticks: InSegs $a after the release, $b at the end of the period"
done
"$NL" set --prefix "$P" --dir to-server --plug release || fail "plug release"
"$NL" set --prefix "$P" --dir to-server --plug none || fail "plug none"
wait "$CLIENT" || fail "tcpreq client failed under the plug (exit $?)"
sum=$(jq -c 'select(.type == "summary")' "$LK_TMP/client")
echo "client under the plug: $sum"
echo "client without the plug: median $free_p50 us"
period_us=$(awk -v a="$t_first" -v b="$t_last" -v n=$ticks 'BEGIN { print (n > 1 ? (b - a) / (n - 1) * 1e6 : 0) }')
echo "$ticks ticks, $period_us us apart; $steps followed by arrivals"

assert_eq "$(jq .requests <<<"$sum")/$(jq .errors <<<"$sum")" "$REQS/0" "round trips/errors under the plug"
assert_eq "$quiet_moves" 0 "periods in which segments reached the server while plugged"
# The handshake's last ACK and the first request leave a period after
# the SYN; then one round trip per period.
assert_ge "$ticks" $REQS "periods the client needed"
assert_le "$ticks" $((REQS + 3)) "periods the client needed"
assert_ge "$steps" $REQS "releases followed by segments at the server"
assert_near "$(jq .p50_us <<<"$sum")" "$period_us" 25 0 "median round trip vs the period, us"
assert_le "$free_p50" "$(awk -v p="$period_us" 'BEGIN { print p / 10 }')" \
	"median round trip without the plug, us"
