#!/bin/bash
# The lists of tools that are written by hand follow tools/*.c: a tool
# missing from one fails here, by name, rather than going untested or
# undocumented.  Every tool has a man page (docs_agree checks its
# options), a row in the README's tools table and kernel table, a place
# in the bash completion's complete line and in debian/control's
# description; every tracing tool (one that runs lk_run) has at least
# one test of its own in the quick subset zz_vmtest runs in the guest.
# (common_signals and common_report_fail find the tracing tools
# themselves.)
. "$(dirname "$0")/../lib.sh"

quick=$(sed -n '/^QUICK="/,/"$/p' "$LK_TOP/tests/integration/zz_vmtest.sh" | tr -d '"\t' | sed 's/^QUICK=//')
[ -n "$quick" ] || fail "no QUICK list in zz_vmtest.sh"
complete=$(grep '^complete ' "$LK_TOP/completions/latkit")
n=0
for src in "$LK_TOP"/tools/*.c; do
	t=$(basename "$src" .c)
	[ -f "$LK_TOP/man/man8/$t.8" ] || fail "$t: no man/man8/$t.8"
	grep -q "^| \`$t\` |" "$LK_TOP/README.md" || fail "$t: no row in README.md's tools table"
	[ "$(grep -c "^| \`$t\` |" "$LK_TOP/README.md")" -ge 2 ] ||
		fail "$t: no row in README.md's kernel requirements table"
	grep -qw -- "$t" <<<"$complete" || fail "$t: not in completions/latkit's complete line"
	grep -q "($t)" "$LK_TOP/debian/control" || fail "$t: not in debian/control's description"
	# A tool's tests are named after it (tcpretrans_cnt's: tcpretrans_*).
	if grep -q 'lk_run(' "$src"; then
		grep -qw -- "${t%%_*}_[a-z0-9_]*" <<<"$quick" ||
			fail "$t: no ${t%%_*}_* test in zz_vmtest.sh's QUICK list"
	fi
	ok "$t: man page, README rows, completion, debian/control$(grep -q 'lk_run(' "$src" && echo ', guest quick test')"
	n=$((n + 1))
done
assert_ge "$n" 8 "tools checked"
