#!/bin/bash
# Feed random bytes to tcpreq's frame parser for ~30 s under libFuzzer
# with AddressSanitizer and UBSan; any crash fails.
. "$(dirname "$0")/../lib.sh"
lk_need_cmd clang
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
	>"$LK_TMP/probe.c"
clang -fsanitize=fuzzer,address,undefined "$LK_TMP/probe.c" -o "$LK_TMP/probe" 2>/dev/null ||
	skip "clang has no libFuzzer (-fsanitize=fuzzer)"
make -s -C "$LK_TOP" OUTPUT="$OUTPUT" fuzz >"$LK_TMP/build" 2>&1 ||
	{ cat "$LK_TMP/build"; fail "make fuzz failed"; }
F=$OUTPUT/fuzz/fuzz_frame
[ -x "$F" ] || fail "$F not built"
# Seeds: limit bytes, then valid frames (request, reply with payload, push).
mkdir -p "$LK_TMP/corpus"
printf '\377\020\005LK\001\001\000\000\000\000\001\000\000\000\000\000\000\000\002\000\000\000\000\000\000\000' \
	>"$LK_TMP/corpus/req"
printf '\377\020\000LK\001\002\003\000\000\000\001\000\000\000\000\000\000\000\002\000\000\000\000\000\000\000abcLK\001\003\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000' \
	>"$LK_TMP/corpus/reply_push"
"$F" -max_total_time=30 -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 \
	-artifact_prefix="$LK_TMP/" "$LK_TMP/corpus" >"$LK_TMP/log" 2>&1
rc=$?
tail -n 15 "$LK_TMP/log"
[ $rc = 0 ] || fail "fuzz_frame found a crash (exit $rc)"
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LK_TMP/log")
assert_ge "${runs:-0}" 10000 "inputs tried"
