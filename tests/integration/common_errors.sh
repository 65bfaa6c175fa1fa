#!/bin/bash
# Bad input to any tool: one line on stderr, non-zero exit, no crash.
. "$(dirname "$0")/../lib.sh"
lk_need_root
for tool in "$OUTPUT"/*; do
	[ -x "$tool" ] && [ -f "$tool" ] || continue
	name=$(basename "$tool")
	[ -f "$LK_TOP/tools/$name.c" ] || continue
	"$tool" --help >"$LK_TMP/help" 2>&1 || fail "$name --help exits non-zero"
	grep -qi 'example' "$LK_TMP/help" || fail "$name --help has no examples"
	rc=0; "$tool" --no-such-option >/dev/null 2>"$LK_TMP/err" || rc=$?
	[ $rc != 0 ] || fail "$name accepted a bad option"
	[ "$(wc -l <"$LK_TMP/err")" = 1 ] || { cat "$LK_TMP/err"; fail "$name: bad option gave more than one line"; }
	grep -q "^$name: " "$LK_TMP/err" || fail "$name: the message does not start with the tool's name: $(cat "$LK_TMP/err")"
	rc=0; "$tool" --help=x >/dev/null 2>"$LK_TMP/err" || rc=$?
	[ $rc != 0 ] && [ "$(wc -l <"$LK_TMP/err")" = 1 ] && grep -q "^$name: " "$LK_TMP/err" ||
		fail "$name --help=x: rc $rc, $(cat "$LK_TMP/err")"
	ok "$name: --help and bad option"
done
