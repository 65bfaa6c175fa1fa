#!/bin/bash
# Every tracing tool's OpenMetrics exposition through a real parser:
# promtool check metrics reads only the Prometheus text format (checked
# in metrics_formats), so a real Prometheus (Debian's, on loopback, 1 s
# scrapes, its data in the test's directory), which asks for OpenMetrics
# first, scrapes every tool that runs lk_run, each with --listen, while
# tcpreq runs across the netlab.  Every target must be up with no scrape
# error and have returned samples, and what Prometheus stored must hold
# the tool's own counters (a non-zero value of one family per tool).
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd curl
lk_need_cmd prometheus
lk_need_bin tcpreq
lk_lab_up
PORT=$(lk_free_port "$LAB_S") || fail "no free port in the lab"
PPORT=$(lk_free_port) || fail "no free port"

tools=$(lk_tools_with 'lk_run(')
declare -A mport
used=" $PPORT "
cfg="global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:"
for t in $tools; do
	lk_need_bin "$t"
	p=$(lk_free_port) || fail "no free port"
	while case "$used" in *" $p "*) true ;; *) false ;; esac; do p=$((p + 1)); done
	used="$used$p "
	mport[$t]=$p
	cfg="$cfg
  - job_name: $t
    static_configs:
      - targets: ['127.0.0.1:$p']"
done
echo "$cfg" >"$LK_TMP/prometheus.yml"
lk_bg prometheus --config.file="$LK_TMP/prometheus.yml" --storage.tsdb.path="$LK_TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" --log.level=warn
PROM=http://127.0.0.1:$PPORT
lk_wait_for 30 curl -sf "$PROM/-/ready" || fail "prometheus did not get ready"
q() { curl -s "$PROM/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // ""'; }

lk_bg ip netns exec "$LAB_S" "$OUTPUT/tcpreq" server --nodelay "0.0.0.0:$PORT"
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "server not listening"
for t in $tools; do
	args=(-v --listen "127.0.0.1:${mport[$t]}")
	case $t in
	tcstamp) args+=(-I veth0 --netns "$LAB_C") ;;
	cpuusage) ;;
	*) args+=(--netns "$LAB_C") ;;
	esac
	[ "$t" = syslat ] && args=(-v --listen "127.0.0.1:${mport[$t]}" -c tcpreq)
	timeout -s INT "$LK_HANG" "$OUTPUT/$t" "${args[@]}" >"$LK_TMP/$t.out" 2>"$LK_TMP/$t.err" &
	LK_PIDS+=($!)
	eval "pid_$t=$!"
	lk_wait_lines 60 "$LK_TMP/$t.err" "ready: programs attached" || { cat "$LK_TMP/$t.err"; fail "$t did not start"; }
done

lk_in_client "$OUTPUT/tcpreq" client -j --nodelay -n 4 --requests 2000 "$LAB_S_IP:$PORT" \
	>"$LK_TMP/tcpreq.json" || fail "tcpreq client failed"

# One family per tool that the load above makes non-zero.
declare -A fam=(
	[tcplat]='sum(latkit_tcp_requests_total)'
	[tcpconnlat]='sum(latkit_tcp_connects_total)'
	[tcpretrans_cnt]='count(latkit_tcp_retransmitted_segments_total{job="tcpretrans_cnt"})'
	[syslat]='sum(latkit_syscalls_total)'
	[cpuusage]='sum(latkit_cpu_seconds_total)'
	[tcstamp]='sum(latkit_tc_sent_bytes_total)'
)
up() {
	curl -s "$PROM/api/v1/targets" | jq -r --arg j "$1" \
		'.data.activeTargets[] | select(.labels.job == $j) | "\(.health)|\(.lastError)"'
}
n=0
for t in $tools; do
	lk_wait_for 20 sh -c "[ \"\$(curl -s '$PROM/api/v1/targets' | jq -r --arg j $t '.data.activeTargets[] | select(.labels.job == \$j) | .health')\" = up ]" ||
		fail "$t: target not up: $(up "$t")"
	assert_eq "$(up "$t")" "up|" "$t: target up, no scrape error (OpenMetrics parsed)"
	assert_ge "$(q "scrape_samples_scraped{job=\"$t\"}")" 1 "$t: samples per scrape"
	if [ -n "${fam[$t]:-}" ]; then
		lk_wait_for 10 sh -c "v=\$(curl -s '$PROM/api/v1/query' --data-urlencode 'query=${fam[$t]}' | jq -r '.data.result[0].value[1] // 0'); awk -v v=\"\$v\" 'BEGIN { exit !(v > 0) }'" ||
			fail "$t: ${fam[$t]} is $(q "${fam[$t]}")"
		ok "$t: ${fam[$t]} = $(q "${fam[$t]}")"
	fi
	n=$((n + 1))
done
assert_ge "$n" 6 "tools scraped"
# Exact where the load's own figures say what to expect (once a scrape
# after the load's end has been stored).
c=$(jq -c 'select(.type == "summary")' "$LK_TMP/tcpreq.json")
q_is() { [ "$(q "$1")" = "$2" ]; }
expect() {
	lk_wait_for 20 q_is "$1" "$2" || fail "$3: prometheus has $(q "$1"), expected $2"
	ok "$3: $2"
}
expect 'sum(latkit_tcp_requests_total{job="tcplat"})' "$(jq .requests <<<"$c")" \
	"tcplat: requests in Prometheus = tcpreq's"
expect 'sum(latkit_tcp_connects_total{job="tcpconnlat",direction="active",result="ok"})' 4 \
	"tcpconnlat: active opens in Prometheus = tcpreq's connections"
expect 'sum(latkit_tc_sent_bytes_total{job="tcstamp"}) - sum(latkit_tc_retransmitted_bytes_total{job="tcstamp"})' \
	"$(jq .bytes_out <<<"$c")" "tcstamp: bytes sent less resent in Prometheus = tcpreq's bytes out"
ct=$(curl -s -o /dev/null -w '%{content_type}' -H 'Accept: application/openmetrics-text;version=1.0.0' \
	"http://127.0.0.1:${mport[tcplat]}/metrics")
assert_eq "$ct" "application/openmetrics-text; version=1.0.0; charset=utf-8" "OpenMetrics when asked for"
for t in $tools; do
	eval "p=\$pid_$t"
	kill -INT "$p"
	wait "$p" || { cat "$LK_TMP/$t.err"; fail "$t failed"; }
done
