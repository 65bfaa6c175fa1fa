#!/bin/bash
# Bad input to syslat: one clear line on stderr and a non-zero exit.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_bin syslat
# expect_error PATTERN ARGS...: syslat ARGS fails with one line matching PATTERN.
expect_error() {
	local pat=$1 rc=0; shift
	timeout 20 "$OUTPUT/syslat" "$@" >"$LK_TMP/out" 2>"$LK_TMP/err" || rc=$?
	[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "syslat $* exited $rc"
	[ "$(wc -l <"$LK_TMP/err")" = 1 ] || { cat "$LK_TMP/err"; fail "syslat $*: not one line"; }
	grep -qE -- "$pat" "$LK_TMP/err" || { cat "$LK_TMP/err"; fail "syslat $*: no '$pat'"; }
	ok "syslat $*: $(cat "$LK_TMP/err")"
}
expect_error "unknown syscall 'getppd'.*getppid" -s getppd
expect_error "unknown syscall 'nosuchcall'" -s read,nosuchcall
pid=4194304
while kill -0 "$pid" 2>/dev/null; do pid=$((pid - 1)); done
expect_error "$pid" -p "$pid"
expect_error "$pid" -t "$pid"
expect_error "cgroup" --cgroup /sys/fs/cgroup/no-such-cgroup-$$
expect_error "sort" -S nosuchkey
expect_error "--min-us" --min-us -5
expect_error "TID" -t abc
