#!/bin/bash
# The .deb builds from a clean copy of the tree, passes lintian without
# errors, and installs (unpacked into a temporary root) every tool with
# its man page and bash completion; the installed binaries run.
. "$(dirname "$0")/../lib.sh"
lk_need_cmd dpkg-buildpackage
lk_need_cmd dh
src=$LK_TMP/src
mkdir -p "$src"
if git -C "$LK_TOP" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$LK_TOP" ls-files -z | (cd "$LK_TOP" && xargs -0 cp --parents -t "$src")
else
	(cd "$LK_TOP" && tar --exclude='./build*' --exclude=./.git -cf - .) | tar -C "$src" -xf -
fi
# Untracked but wanted files in a developer's tree are not in the package.
(cd "$src" && dpkg-buildpackage -b -us -uc) >"$LK_TMP/build.log" 2>&1 ||
	{ tail -30 "$LK_TMP/build.log"; fail "dpkg-buildpackage failed"; }
deb=$(ls "$LK_TMP"/latkit_*_*.deb | grep -v dbgsym | head -1)
[ -f "$deb" ] || fail "no .deb produced"
ok "built $(basename "$deb")"
if command -v lintian >/dev/null; then
	lintian --allow-root "$deb" >"$LK_TMP/lintian" 2>&1
	cat "$LK_TMP/lintian"
	! grep -q '^E:' "$LK_TMP/lintian" || fail "lintian reports errors"
	ok "lintian: no errors"
fi
root=$LK_TMP/root
dpkg -x "$deb" "$root" || fail "dpkg -x failed"
n=0
for src_tool in "$LK_TOP"/tools/*.c; do
	t=$(basename "$src_tool" .c)
	[ -x "$root/usr/sbin/$t" ] || fail "$t not in /usr/sbin"
	[ -f "$root/usr/share/man/man8/$t.8.gz" ] || fail "$t.8 not installed"
	[ -f "$root/usr/share/bash-completion/completions/$t" ] || fail "no completion for $t"
	"$root/usr/sbin/$t" --help >/dev/null || fail "installed $t --help fails"
	n=$((n + 1))
done
assert_ge "$n" 1 "tools installed from the .deb"
