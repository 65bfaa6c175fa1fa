#!/bin/bash
# Feed random byte streams, cut into random chunks in both directions and
# copied only in part, to tcplat --proto's framers and matcher for ~30 s
# under libFuzzer with AddressSanitizer and UBSan; any crash or broken
# invariant fails.
. "$(dirname "$0")/../lib.sh"
export LC_ALL=C
lk_fuzz_target fuzz_proto

# A seed (see tests/fuzz/fuzz_proto.c): a protocols byte (1 redis, 2 http,
# 4 memcache, 0 all three), a flags byte (1 client, 2 midstream, 4 from_read, 8-24 path depth, 32
# close), then chunks.  byte N: one byte's octal escape.
byte() { printf "\\$(printf '%03o' "$1")"; }
# chunk STREAM MODE EXTRA TEXT: STREAM 0 requests, 1 responses; MODE 0 all
# copied, 1 EXTRA bytes more uncopied, 2 EXTRA*997 more, 3 EXTRA fewer copied.
chunk() {
	byte $(($1 | $2 << 1 | $3 << 3))
	byte ${#4}
	printf '%s' "$4"
}
mkdir -p "$LK_TMP/corpus"
seed() {
	local name=$1 protos=$2 flags=$3
	shift 3
	{ byte "$protos"; byte "$flags"; "$@"; } >"$LK_TMP/corpus/$name"
}
redis() {
	chunk 0 0 0 $'*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n'
	chunk 1 0 0 $'+OK\r\n$5\r\nhel'
	chunk 1 0 1 $'lo\r\n'
	chunk 0 0 0 $'*1\r\n$4\r\nPING\r\nPING\r\n'
	chunk 1 0 0 $'>2\r\n+message\r\n+x\r\n|1\r\n+a\r\n:1\r\n-ERR no\r\n%1\r\n+k\r\n*2\r\n_\r\n,1.5\r\n'
	chunk 0 2 3 $'*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2991\r\n'
	chunk 0 0 0 $'\r\n'
	chunk 1 0 0 $'+OK\r\n'
}
http() {
	chunk 0 0 0 $'GET /a/b/c?x=1 HTTP/1.1\r\nHost: h\r\n\r\nHEAD / HTTP/1.1\r\n\r\n'
	chunk 1 0 0 $'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n'
	chunk 0 0 0 $'PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n'
	chunk 1 0 0 $'HTTP/1.1 100 Continue\r\n\r\n'
	chunk 0 0 0 $'4;e=1\r\nwiki\r\n0\r\nT: 1\r\n\r\n'
	chunk 1 0 0 $'HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'
	chunk 0 1 9 $'POST /u HTTP/1.0\r\nContent-Length: 9\r\n\r\n'
	chunk 1 0 0 $'HTTP/1.0 200 OK\r\n\r\nuntil the close'
}
memcache() {
	chunk 0 0 0 $'set k 0 0 5\r\nhello\r\nget k j\r\nset n 0 0 1 noreply\r\n1\r\n'
	chunk 1 0 0 $'STORED\r\nVALUE k 0 5\r\nhello\r\nEND\r\n'
	chunk 0 0 0 $'stats\r\nmg k v\r\nms k 2 T0\r\nhi\r\ndelete k noreply\r\n'
	chunk 1 0 0 $'STAT pid 1\r\nEND\r\nVA 2\r\nhi\r\nHD\r\n'
	chunk 0 0 0 $'incr n 1\r\nget big\r\n'
	chunk 1 2 4 $'SERVER_ERROR x\r\nVALUE big 0 3988\r\n'
	chunk 1 0 0 $'\r\nEND\r\n'
}
midstream() {
	chunk 0 0 0 $'lo world\r\n'
	chunk 1 0 0 $'llo\r\n'
	http
}
for role in 0 1; do
	seed "redis$role" 0 $((32 | role)) redis
	seed "redis_only$role" 1 $((32 | role)) redis
	seed "http$role" 0 $((32 | 16 | role)) http
	seed "http_only$role" 2 $((32 | 4 | role)) http
	seed "memcache$role" 0 $((32 | role)) memcache
	seed "memcache_only$role" 4 $((32 | role)) memcache
	seed "midstream$role" 0 $((32 | 2 | role)) midstream
done
cat >"$LK_TMP/dict" <<'EOF'
"\x0d\x0a"
"*1\x0d\x0a"
"$3\x0d\x0a"
"$-1\x0d\x0a"
"GET / HTTP/1.1\x0d\x0a"
"HTTP/1.1 200 OK\x0d\x0a"
"HTTP/1.1 100 Continue\x0d\x0a"
"Content-Length: 3\x0d\x0a"
"Transfer-Encoding: chunked\x0d\x0a"
"VALUE k 0 3\x0d\x0a"
"END\x0d\x0a"
" noreply"
"get k\x0d\x0a"
EOF
"$F" -max_total_time=30 -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
	-dict="$LK_TMP/dict" -artifact_prefix="$LK_TMP/" "$LK_TMP/corpus" >"$LK_TMP/log" 2>&1
rc=$?
tail -n 15 "$LK_TMP/log"
if [ $rc != 0 ]; then
	for a in "$LK_TMP"/crash-* "$LK_TMP"/timeout-* "$LK_TMP"/leak-*; do
		[ -f "$a" ] && { echo "input $a:"; od -c "$a" | head -n 20; }
	done
	fail "fuzz_proto found a crash (exit $rc)"
fi
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LK_TMP/log")
assert_ge "${runs:-0}" 10000 "inputs tried"
