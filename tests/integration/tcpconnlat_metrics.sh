#!/bin/bash
# tcpconnlat --listen and --textfile across a netlab, reporting every
# second (each report empties the kernel's tables, so what the metrics
# show after a few reports is the tool's own cumulative copies):
#  - latkit_tcp_connects_total{direction="active",result="ok"} equals the
#    client's own count of connects that succeeded, and is not zero, in a
#    scrape two reports after the client ended; the duration histogram's
#    _count and +Inf bucket equal it too (every open measured), and the
#    interval reports' opens add up to it;
#  - result="refused" equals the client's ECONNREFUSED count (connects to
#    a closed port), the other results 0;
#  - the last --textfile, written at exit, holds the same counters.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd curl
lk_need_bin tcpconnlat
lk_need_bin tests/progs/tcpconnlat_client
lk_lab_up
T=$OUTPUT/tcpconnlat
CL=$OUTPUT/tests/progs/tcpconnlat_client
N=100
R=10
[ "${LK_TCG:-0}" = 1 ] && N=30
PORT=$(lk_free_port "$LAB_S") || fail "no free port in the lab"
CLOSED=$(lk_free_port "$LAB_S") || fail "no free port in the lab"
[ "$CLOSED" != "$PORT" ] || CLOSED=$((PORT + 1))
MPORT=$(lk_free_port) || fail "no free port"
URL=http://127.0.0.1:$MPORT/metrics

lk_bg timeout -s INT "$LK_HANG" "$T" -v -j -i 1 --netns "$LAB_C" --listen "127.0.0.1:$MPORT" \
	--textfile "$LK_TMP/tcpconnlat.prom" >"$LK_TMP/t.json" 2>"$LK_TMP/t.err"
TP=$LK_LAST_PID
lk_wait_lines 60 "$LK_TMP/t.err" "ready: programs attached" || { cat "$LK_TMP/t.err"; fail "tcpconnlat did not start"; }
lk_wait_for 10 curl -sf "$URL" || fail "no metrics at $URL"

# m FILE SERIES: the value of one series of an exposition ("" if absent).
m() { awk -v s="$2" '$1 == s { print $2 }' "$1"; }
ok_series='latkit_tcp_connects_total{direction="active",result="ok"}'
curl -sf "$URL" >"$LK_TMP/m0" || fail "scrape failed"
assert_eq "$(m "$LK_TMP/m0" "$ok_series")" 0 "active connects before the client"

lk_bg ip netns exec "$LAB_S" "$CL" -l "$PORT" -n "$N"
SRV=$LK_LAST_PID
lk_wait_for 10 lk_listening "$LAB_S" "$PORT" || fail "server not listening"
lk_in_client timeout 60 "$CL" -n "$N" "$LAB_S_IP" "$PORT" >"$LK_TMP/conn.out" || fail "client failed"
lk_in_client timeout 60 "$CL" -n "$R" "$LAB_S_IP" "$CLOSED" >"$LK_TMP/refused.out" || fail "client failed"
lk_wait_for 20 sh -c "! kill -0 $SRV" || fail "server did not accept $N connections"
ok_n=$(grep -c '^ok ' "$LK_TMP/conn.out")
ref_n=$(grep -c '^err ECONNREFUSED ' "$LK_TMP/refused.out")
assert_eq "$ok_n" "$N" "connects that succeeded (the client's count)"
assert_eq "$ref_n" "$R" "connects refused (the client's count)"

# Two more reports: the tables were emptied since the connects ended.
reports=$(grep -c '"type":"interval"' "$LK_TMP/t.json")
lk_wait_lines 10 "$LK_TMP/t.json" '"type":"interval"' $((reports + 2)) || fail "no interval reports"
curl -sf "$URL" >"$LK_TMP/m1" || fail "scrape failed"
grep '^latkit_tcp_connect' "$LK_TMP/m1" | grep -v '_bucket' | sed 's/^/  /'
got=$(m "$LK_TMP/m1" "$ok_series")
assert_ge "$got" 1 "exported active connects (non-zero)"
assert_eq "$got" "$ok_n" "exported active connects = the client's count"
assert_eq "$(jq -s '[.[] | select(.type == "interval") | .active.opens] | add' "$LK_TMP/t.json")" "$ok_n" \
	"the interval reports' active opens add up to the client's count"
assert_eq "$(m "$LK_TMP/m1" 'latkit_tcp_connect_duration_seconds_count{direction="active"}')" "$ok_n" \
	"histogram _count (every connect measured)"
assert_eq "$(m "$LK_TMP/m1" 'latkit_tcp_connect_duration_seconds_bucket{direction="active",le="+Inf"}')" "$ok_n" \
	"histogram +Inf bucket"
assert_eq "$(m "$LK_TMP/m1" 'latkit_tcp_connects_total{direction="active",result="refused"}')" "$ref_n" \
	"exported refusals = the client's ECONNREFUSED"
for r in timeout reset other; do
	assert_eq "$(m "$LK_TMP/m1" "latkit_tcp_connects_total{direction=\"active\",result=\"$r\"}")" 0 "result $r"
done
assert_eq "$(m "$LK_TMP/m1" 'latkit_tcp_connects_total{direction="passive",result="ok"}')" 0 \
	"passive connects (none accepted in the client's namespace)"

kill -INT "$TP"
wait "$TP" || fail "tcpconnlat failed"
assert_eq "$(m "$LK_TMP/tcpconnlat.prom" "$ok_series")" "$ok_n" "--textfile at exit: active connects"
assert_eq "$(m "$LK_TMP/tcpconnlat.prom" 'latkit_tcp_connects_total{direction="active",result="refused"}')" \
	"$ref_n" "--textfile at exit: refusals"
