#!/bin/bash
# Feed random bytes to tcpreq's frame parser for ~30 s under libFuzzer
# with AddressSanitizer and UBSan; any crash fails.
. "$(dirname "$0")/../lib.sh"
lk_fuzz_target fuzz_frame
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
