#!/bin/bash
# tcplat --proto redis against Redis's own figures, with pipelining: a
# redis-server of the test's own (own port, no persistence) and
# redis-benchmark -P 16 -c 50 (16 commands in flight per connection,
# written in one write and answered in one or a few).
#
# (a) Server side, tcplat --proto redis -p REDIS --role server over
# CONFIG RESETSTAT, redis-benchmark -t set,get and INFO: each command's
# requests equal its calls in INFO commandstats (subcommands summed under
# their command: CONFIG is config|get plus config|resetstat), except
# INFO, which Redis counts only after printing the figures (tcplat: 1,
# commandstats: 0).  Nothing incomplete, no framing lost, no byte
# unparsed.  Its --listen metrics, scraped at the end, say the same per
# command (requests and latency counts), and promtool accepts them.
# (b) Client side, tcplat --proto redis -p BENCH --role client on
# redis-benchmark -P 16 -c 50 -t get --csv: GET requests = N = Redis's
# GET calls; the p50 agrees with redis-benchmark's p50 (its clock runs
# per reply from the write of the pipeline to the reading of that
# reply, as tcplat's does) within max(10%, 10 us) of the bucket
# redis-benchmark's HDR histogram printed (see tcplat_redis.sh).
# Without the payload programs no request is framed: every count fails.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd redis-server
lk_need_cmd redis-cli
lk_need_cmd redis-benchmark
lk_need_bin tcplat
N=${TCPLAT_PROTO_REDIS_N:-40000}
[ "${LK_TCG:-0}" = 1 ] && N=${TCPLAT_PROTO_REDIS_N:-4000}
P50_PCT=10
[ "${LK_TCG:-0}" = 1 ] && P50_PCT=30

lk_pin_pair

lk_redis_up "${SRV_CPU[@]}"
# Calls per command in INFO commandstats, subcommands summed: "SET 80000".
per_command() {
	tr -d '\r' <"$1" | awk -F'[:=,]' '$1 ~ /^cmdstat_/ {
		c = toupper(substr($1, 9)); sub(/\|.*/, "", c); n[c] += $3 }
		END { for (c in n) print c, n[c] }' | sort
}
check_clean() {
	local t=$1 what=$2
	assert_eq "$(jq .incomplete <<<"$t")" 0 "$what: incomplete requests"
	assert_eq "$(jq '[.framing_lost[]] | add' <<<"$t")" 0 "$what: connections whose framing was lost"
	assert_eq "$(jq .unparsed_bytes <<<"$t")" 0 "$what: bytes unparsed"
	assert_eq "$(jq .drops <<<"$t")" 0 "$what: drops"
}

# (a) server side, its metrics served too where curl can scrape them
METRICS=() MPORT=
if command -v curl >/dev/null 2>&1; then
	MPORT=$(lk_free_port) || fail "no free port"
	METRICS=(--listen "127.0.0.1:$MPORT")
fi
lk_tcplat_bg "$LK_TMP/a" -p "$RP" --role server --proto redis "${METRICS[@]}"
tp=$LK_TCPLAT_PID
assert_eq "$(rcli CONFIG RESETSTAT)" OK "CONFIG RESETSTAT"
"${CLI_CPU[@]}" redis-benchmark -h 127.0.0.1 -p "$PORT" -c 50 -n "$N" -t set,get -P 16 -q \
	>"$LK_TMP/bench.a" 2>&1 || { cat "$LK_TMP/bench.a"; fail "redis-benchmark failed"; }
rcli INFO commandstats >"$LK_TMP/info.a" || fail "INFO failed"
# A scrape gets a snapshot up to 0.25 s old (tcplat(8), METRICS): scrape
# until it holds INFO, the last command.
if [ -n "$MPORT" ]; then
	lk_wait_for 5 bash -c "curl -sf 'http://127.0.0.1:$MPORT/metrics' >'$LK_TMP/metrics' &&
		grep -q '^latkit_tcp_proto_requests_total{.*op=\"INFO\".* 1\$' '$LK_TMP/metrics'" ||
		{ cat "$LK_TMP/metrics"; fail "tcplat --proto's metrics never showed the INFO command"; }
fi
kill -INT "$tp"
wait "$tp" || { cat "$LK_TMP/a.err"; fail "tcplat (server) failed"; }
t=$(lk_summary "$LK_TMP/a")
echo "tcplat: $t"
jq -c 'select(.type == "operation")' "$LK_TMP/a"
per_command "$LK_TMP/info.a" >"$LK_TMP/calls.a"
cat "$LK_TMP/calls.a"
assert_eq "$(awk '$1 == "SET" { print $2 }' "$LK_TMP/calls.a")" "$N" "Redis: SET calls"
assert_eq "$(awk '$1 == "GET" { print $2 }' "$LK_TMP/calls.a")" "$N" "Redis: GET calls"
while read -r cmd n; do
	assert_eq "$(lk_op "$LK_TMP/a" redis "$cmd")" "$n" "$cmd: tcplat requests = commandstats calls"
done <"$LK_TMP/calls.a"
assert_eq "$(lk_op "$LK_TMP/a" redis INFO)" 1 "INFO: tcplat 1 (commandstats counts it after its reply)"
assert_eq "$(jq .requests <<<"$t")" $(($(awk '{ n += $2 } END { print n }' "$LK_TMP/calls.a") + 1)) \
	"all requests = all calls + INFO"
assert_ge "$(jq .connections.redis <<<"$t")" 50 "connections framed as redis"
check_clean "$t" server
# The metrics: each command's counter = its calls (INFO's is scraped
# after INFO ran), the exposition valid for Prometheus.
series() {
	awk -v op="$1" -v f="$2" 'index($1, f "{") == 1 && index($1, "op=\"" op "\"") { n += $2 } END { print n + 0 }' \
		"$LK_TMP/metrics"
}
if [ -n "$MPORT" ]; then
	while read -r cmd n; do
		assert_eq "$(series "$cmd" latkit_tcp_proto_requests_total)" "$n" "$cmd: metric requests = commandstats calls"
		assert_eq "$(series "$cmd" latkit_tcp_proto_request_duration_seconds_count)" "$n" \
			"$cmd: metric latency count = commandstats calls"
	done <"$LK_TMP/calls.a"
	if command -v promtool >/dev/null 2>&1; then
		promtool check metrics <"$LK_TMP/metrics" || fail "promtool check metrics: tcplat --proto's exposition"
		ok "promtool check metrics"
	fi
else
	echo "metrics not checked: no curl here"
fi

# (b) client side, -P 16 at 50 connections
bucket_lo() { awk -v v="$1" 'BEGIN { w = 8; while (v >= 2048 * w) w *= 2; print v - w + 1 }'; }
assert_eq "$(rcli CONFIG RESETSTAT)" OK "CONFIG RESETSTAT"
lk_held "$LK_TMP/go" "${CLI_CPU[@]}" redis-benchmark -h 127.0.0.1 -p "$PORT" \
	-c 50 -n "$N" -t get -P 16 --csv >"$LK_TMP/bench.b" 2>&1
bp=$LK_LAST_PID
lk_tcplat_bg "$LK_TMP/b" -p "$bp" --role client --proto redis
tp=$LK_TCPLAT_PID
lk_release "$LK_TMP/go"
wait "$bp" || { cat "$LK_TMP/bench.b"; fail "redis-benchmark failed"; }
wait "$tp" || { cat "$LK_TMP/b.err"; fail "tcplat (client) failed"; }
rcli INFO commandstats >"$LK_TMP/info.b" || fail "INFO failed"
t=$(lk_summary "$LK_TMP/b")
echo "tcplat: $t"
jq -c 'select(.type == "operation")' "$LK_TMP/b"
cat "$LK_TMP/bench.b"
per_command "$LK_TMP/info.b" >"$LK_TMP/calls.b"
assert_eq "$(awk '$1 == "GET" { print $2 }' "$LK_TMP/calls.b")" "$N" "Redis: GET calls"
assert_eq "$(lk_op "$LK_TMP/b" redis GET)" "$N" "GET: tcplat requests = N"
assert_eq "$(lk_op "$LK_TMP/b" redis CONFIG)" 2 "CONFIG: tcplat requests (CONFIG GET save, appendonly)"
check_clean "$t" client

rp50=$(awk -F'","' '$1 == "\"GET" { printf "%d\n", $5 * 1000 + 0.5 }' "$LK_TMP/bench.b")
[ -n "$rp50" ] && [ "$rp50" -gt 0 ] || fail "no p50 in redis-benchmark's --csv"
tp50=$(jq -s '[.[] | select(.type == "operation" and .op == "GET")][0].p50_us' "$LK_TMP/b")
echo "FIGURES|tcplat_proto_redis|client -P 16 -c 50|tcplat GET p50 $tp50|redis-benchmark p50 $(bucket_lo "$rp50")-$rp50 us"
if lk_tcplat_entry_clock "$LK_TMP/b.err"; then
	assert_in_range "$tp50" "$(bucket_lo "$rp50")" "$rp50" $P50_PCT 10 "GET p50_us vs redis-benchmark's"
else
	echo "latency agreement not checked: this kernel has no hook for a send's entry"
fi
