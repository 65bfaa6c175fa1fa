#!/bin/bash
# A real Prometheus (Debian's prometheus, on loopback, 1 s scrapes, its
# data in the test's directory) scrapes tcplat --listen beside a tcpreq
# ping client across the netlab: through Prometheus's query API the
# request counter equals tcpreq's count, and histogram_quantile(0.5)
# over the duration buckets lands within one bucket (a factor of 2) of
# tcplat's own p50.  Prometheus asks for OpenMetrics first: the target
# being up with no scrape error says its OpenMetrics parser took the
# exposition.  Then, in the same run, it scrapes tcpretrans_cnt --listen
# (--netns of the client) while tcpreq pushes across the lab with 2% loss
# (netlab set --loss): the sum of its retransmitted-segments counter over
# the kinds equals the growth of the namespace's Tcp: RetransSegs.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd curl
lk_need_cmd prometheus
lk_need_bin tcplat
lk_need_bin tcpreq
lk_need_bin tcpretrans_cnt
lk_lab_up
T=$OUTPUT/tcpreq
PORT=$(lk_free_port "$LAB_S") || fail "no free port in the lab"
N=${METRICS_N:-2000}
MPORT=$(lk_free_port) || fail "no free port"
PPORT=$(lk_free_port) || fail "no free port"
[ "$MPORT" != "$PPORT" ] || PPORT=$((MPORT + 1))
RPORT=$(lk_free_port) || fail "no free port"
while [ "$RPORT" = "$MPORT" ] || [ "$RPORT" = "$PPORT" ]; do RPORT=$((RPORT + 1)); done

cat >"$LK_TMP/prometheus.yml" <<EOC
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: tcplat
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
  - job_name: tcpretrans_cnt
    static_configs:
      - targets: ['127.0.0.1:$RPORT']
EOC
lk_bg prometheus --config.file="$LK_TMP/prometheus.yml" --storage.tsdb.path="$LK_TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn
PROM_PID=$LK_LAST_PID
PROM=http://127.0.0.1:$PPORT
lk_wait_for 30 curl -sf "$PROM/-/ready" || fail "prometheus did not get ready"
# q EXPR: the value of an instant query's first result ("" for none).
q() { curl -s "$PROM/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // ""'; }
q_is() { [ "$(q "$1")" = "$2" ]; }

lk_bg ip netns exec "$LAB_S" "$T" server --nodelay --sleep-ms 0.5 "0.0.0.0:$PORT"
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "server not listening"

timeout -s INT "$LK_HANG" "$OUTPUT/tcplat" -v -j -c tcpreq --role client --netns "$LAB_C" \
	--listen "127.0.0.1:$MPORT" >"$LK_TMP/tcplat.json" 2>"$LK_TMP/tcplat.err" &
TP=$!; LK_PIDS+=($TP)
lk_wait_lines 30 "$LK_TMP/tcplat.err" tracing || { cat "$LK_TMP/tcplat.err"; fail "tcplat did not start"; }
# The target is up before the load starts.
lk_wait_for 20 q_is 'up{job="tcplat"}' 1 || fail "prometheus does not scrape tcplat"

ip netns exec "$LAB_C" "$T" client -j --nodelay -n 4 --requests "$N" "$LAB_S_IP:$PORT" \
	>"$LK_TMP/tcpreq.json" || fail "tcpreq client failed"
c=$(jq -c 'select(.type == "summary")' "$LK_TMP/tcpreq.json")
assert_eq "$(jq .requests <<<"$c")" "$N" "tcpreq requests"

sel='latkit_tcp_requests_total{job="tcplat",comm="tcpreq",role="client"}'
lk_wait_for 20 q_is "$sel" "$N" || fail "prometheus has $(q "$sel") requests, tcpreq made $N"
ok "prometheus: $sel = $N (tcpreq's count)"
assert_eq "$(q 'latkit_tcp_request_duration_seconds_count{job="tcplat",role="client"}')" "$N" \
	"prometheus: duration histogram _count"
qp50=$(q 'histogram_quantile(0.5, sum by (le) (latkit_tcp_request_duration_seconds_bucket{job="tcplat",role="client"}))')
health=$(curl -s "$PROM/api/v1/targets" | jq -r '.data.activeTargets[] | select(.labels.job == "tcplat") | "\(.health) \(.lastError)"')
assert_eq "$health" "up " "target health, no scrape error"
assert_ge "$(q 'scrape_samples_scraped{job="tcplat"}')" 30 "samples per scrape"
# What Prometheus asks for is what the endpoint answers: OpenMetrics.
ct=$(curl -s -o /dev/null -w '%{content_type}' -H \
	'Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' \
	"http://127.0.0.1:$MPORT/metrics")
assert_eq "$ct" "application/openmetrics-text; version=1.0.0; charset=utf-8" "content type for Prometheus's Accept"

kill -INT "$TP"
wait "$TP" || { cat "$LK_TMP/tcplat.err"; fail "tcplat failed"; }
t=$(jq -c 'select(.type == "summary")' "$LK_TMP/tcplat.json")
assert_eq "$(jq .requests <<<"$t")" "$N" "tcplat's own report: requests"
p50=$(jq .p50_us <<<"$t")
echo "histogram_quantile(0.5) = $qp50 s, tcplat p50 = $p50 us"
[ -n "$qp50" ] && [ "$qp50" != NaN ] || fail "no quantile from prometheus"
# Within one bucket: the buckets are powers of two.
assert_le "$(awk -v a="$qp50" -v b="$p50" 'BEGIN { r = a * 1e6 / b; if (r < 1) r = 1 / r; print r }')" 2 \
	"histogram_quantile(0.5) / tcplat p50 (factor)"

# tcpretrans_cnt under 2% loss.
timeout -s INT "$LK_HANG" "$OUTPUT/tcpretrans_cnt" -v --netns "$LAB_C" --listen "127.0.0.1:$RPORT" \
	>"$LK_TMP/rt.out" 2>"$LK_TMP/rt.err" &
RP=$!; LK_PIDS+=($RP)
lk_wait_lines 30 "$LK_TMP/rt.err" "ready: programs attached" || { cat "$LK_TMP/rt.err"; fail "tcpretrans_cnt did not start"; }
lk_wait_for 20 q_is 'up{job="tcpretrans_cnt"}' 1 || fail "prometheus does not scrape tcpretrans_cnt"
"$OUTPUT/netlab" set --prefix "$LAB" --loss 2 || fail "netlab set --loss failed"
r0=$(lk_netstat "$LAB_C" "Tcp RetransSegs")
lk_in_client "$T" client -j --nodelay --mode push --size 1000 --requests 3000 "$LAB_S_IP:$PORT" \
	>"$LK_TMP/push.json" || fail "push client failed"
# Every retransmission is over once the client's connections are gone.
lk_wait_for 60 sh -c "! ip netns exec $LAB_C ss -Htan | grep -vqE '^(LISTEN|TIME-WAIT) '" ||
	fail "client connections did not close"
r1=$(lk_netstat "$LAB_C" "Tcp RetransSegs")
assert_ge $((r1 - r0)) 1 "RetransSegs grew under 2% loss"
sel='sum(latkit_tcp_retransmitted_segments_total{job="tcpretrans_cnt"})'
lk_wait_for 20 q_is "$sel" $((r1 - r0)) ||
	fail "prometheus has $(q "$sel") retransmitted segments, RetransSegs grew by $((r1 - r0))"
ok "prometheus: $sel = $((r1 - r0)) (the growth of the namespace's RetransSegs)"
kill -INT "$RP"
wait "$RP" || { cat "$LK_TMP/rt.err"; fail "tcpretrans_cnt failed"; }
kill "$PROM_PID"
