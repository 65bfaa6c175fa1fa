#!/bin/bash
# tcplat --proto auto survives what real connections carry besides clean
# requests, and still counts the clean ones exactly: against a
# redis-server of the test's own, tcplat_proto_garbage.py sends, each on
# a connection of its own, 4 KiB of random bytes, a Redis command cut
# off by a close, an HTTP request with a 20000-byte header line, the
# HTTP/2 preface and a memcached binary request; then on one connection
# PINGs, a SET of a 100000-byte value (far beyond the bytes tcplat
# copies: skipped by its declared length) and a SET written a byte at a
# time.  tcplat (server side, -p REDIS) exits 0; the random bytes are an
# unparsed connection, the long line and the two foreign protocols lose
# their framing by cause, and PING and SET equal Redis's commandstats.
# Without the payload programs nothing is framed: the counts fail.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd redis-server
lk_need_cmd redis-cli
lk_need_cmd python3
lk_need_bin tcplat
PINGS=200

lk_redis_up
lk_tcplat_bg "$LK_TMP/s" -p "$RP" --role server --proto auto
sp=$LK_TCPLAT_PID
assert_eq "$(rcli CONFIG RESETSTAT)" OK "CONFIG RESETSTAT"
timeout 60 python3 "$LK_TOP/tests/integration/tcplat_proto_garbage.py" "$PORT" "$PINGS" >"$LK_TMP/sent" ||
	fail "the client failed"
rcli INFO commandstats >"$LK_TMP/info" || fail "INFO failed"
kill -INT "$sp"
wait "$sp" || { cat "$LK_TMP/s.err"; fail "tcplat failed"; }
calls() { tr -d '\r' <"$LK_TMP/info" | awk -F'[:=,]' -v k="cmdstat_$1" '$1 == k { n = $3 } END { print n + 0 }'; }
t=$(lk_summary "$LK_TMP/s")
echo "sent: $(cat "$LK_TMP/sent")"
echo "tcplat: $t"
jq -c 'select(.type == "operation")' "$LK_TMP/s"
grep cmdstat "$LK_TMP/info"
assert_eq "$(calls ping)" "$PINGS" "Redis: PING calls"
assert_eq "$(calls set)" 2 "Redis: SET calls"
assert_eq "$(lk_op "$LK_TMP/s" redis PING)" "$(calls ping)" "PING: tcplat requests = commandstats"
assert_eq "$(lk_op "$LK_TMP/s" redis SET)" "$(calls set)" "SET: tcplat requests = commandstats"
assert_ge "$(jq .connections.raw <<<"$t")" 1 "the random bytes: a connection not framed"
assert_ge "$(jq .unparsed_bytes <<<"$t")" "$(jq .garbage_bytes "$LK_TMP/sent")" "bytes unparsed"
assert_ge "$(jq .framing_lost.long <<<"$t")" 1 "framing lost: a header line too long"
assert_ge "$(jq .framing_lost.unsupported <<<"$t")" 2 "framing lost: HTTP/2, memcached binary"
# The SET written a byte at a time leaves more than 8 arrivals unread
# at times: merged arrival marks are counted, and are no loss.
assert_eq "$(jq '.drops - .drops_arrival' <<<"$t")" 0 "drops (other than arrival marks merged)"
