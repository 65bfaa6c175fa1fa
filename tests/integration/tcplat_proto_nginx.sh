#!/bin/bash
# tcplat --proto http against nginx's access log and wrk's count, with
# HTTP/1.1 pipelining: wrk -t1 -c8 -d DUR with tcplat_proto_nginx.lua
# (8 requests per write: 4 for /x/file, 4 for /y/file), an nginx of the
# test's own (lk_nginx_up), both tcplats started before wrk runs.
#
# Server side, tcplat --proto http --http-path-depth 1 -p WORKER --role
# server: per path prefix, the GET 2xx requests equal the access log's
# lines for that path whose whole response left ($bytes_sent is the
# response's size); a response cut short, or a request read but never
# answered when wrk closed its connections, is incomplete.
# Client side, tcplat --proto http -p WRK --role client: the GET 2xx
# requests equal wrk's "N requests in" (wrk counts a response when it
# has parsed it; responses in flight when -d ends are incomplete), and
# never more than the server's.
# Without the payload programs no request is framed: every count fails.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd nginx
lk_need_cmd wrk
lk_need_bin tcplat
DUR=${TCPLAT_PROTO_NGINX_SECS:-2}

lk_pin_pair
lk_nginx_up "${SRV_CPU[@]}"

lk_nginx_wrk "--proto http --http-path-depth 1" "--proto http" "${CLI_CPU[@]}" \
	wrk -t1 -c8 -d"${DUR}s" -s "$LK_TOP/tests/integration/tcplat_proto_nginx.lua" "http://127.0.0.1:$PORT/"
s=$(lk_summary "$LK_TMP/s") c=$(lk_summary "$LK_TMP/c")
echo "tcplat server: $s"
jq -c 'select(.type == "operation")' "$LK_TMP/s"
echo "tcplat client: $c"
jq -c 'select(.type == "operation")' "$LK_TMP/c"

nreq=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$LK_TMP/wrk")
[ -n "$nreq" ] || fail "no request count in wrk's output"
assert_ge "$nreq" 800 "wrk's requests"
LOG=$NX/logs/access.log
assert_eq "$(awk '$3 != 200' "$LOG" | wc -l)" 0 "access log: every status 200"
# Requests for one path prefix, as tcplat's server rows count them.
srv() {
	jq -s --arg p "$1" --arg f "$2" \
		'[.[] | select(.type == "operation" and .op == "GET" and .path == $p and .status == "2xx") | .[$f]] | add // 0' \
		"$LK_TMP/s"
}
# A response is complete in the log when all its bytes were sent: when
# wrk closes its connections nginx's last writes can fail part-way
# ($bytes_sent short of the response: tcplat counts those incomplete).
full=$(awk '{ print $2 }' "$LOG" | sort | uniq -c | sort -rn | awk 'NR == 1 { print $2 }')
echo "response size: $full; lines: $(wc -l <"$LOG"), short: $(awk -v f="$full" '$2 != f' "$LOG" | wc -l)"
for d in /x /y; do
	sent=$(awk -v u="$d/file" -v f="$full" '$4 == u && $2 == f' "$LOG" | wc -l)
	assert_ge "$sent" 400 "access log: $d/file answered"
	assert_eq "$(srv "$d" requests)" "$sent" "server: GET $d 2xx = access log lines with the whole response sent"
done
complete=$(awk -v f="$full" '$2 == f' "$LOG" | wc -l)
assert_eq "$(jq .requests <<<"$s")" "$complete" "server: all requests = lines with the whole response sent"
assert_ge "$(jq .incomplete <<<"$s")" $(($(wc -l <"$LOG") - complete)) \
	"server: incomplete >= lines with a response cut short"
assert_eq "$(jq .bytes_out <<<"$s")" $((complete * full)) "server: bytes out of the complete responses"
assert_eq "$(lk_op "$LK_TMP/c" http GET)" "$nreq" "client: GET requests = wrk's"
assert_eq "$(jq .requests <<<"$c")" "$nreq" "client: all requests = wrk's"
assert_le "$(jq .requests <<<"$c")" "$(jq .requests <<<"$s")" "client requests <= server requests"
for t in "$s" "$c"; do
	assert_eq "$(jq '[.framing_lost[]] | add' <<<"$t")" 0 "connections whose framing was lost"
	assert_eq "$(jq .unparsed_bytes <<<"$t")" 0 "bytes unparsed"
	assert_eq "$(jq .drops <<<"$t")" 0 "drops"
	assert_ge "$(jq .connections.http <<<"$t")" 8 "connections framed as http"
done
echo "FIGURES|tcplat_proto_nginx|pipelined 8|client p50 $(jq .p50_us <<<"$c") server p50 $(jq .p50_us <<<"$s") us"
