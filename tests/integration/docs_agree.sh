#!/bin/bash
# Every tool has a man page, and its OPTIONS section and --help list the
# same long options.  --version says the package's version, from
# debian/changelog.  HACKING.md's line counts of its short reference
# tool are those of the source.
. "$(dirname "$0")/../lib.sh"
argp_only="--help --usage --version"
version=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$LK_TOP/debian/changelog")
[ -n "$version" ] || fail "no version in debian/changelog"
n=0
for src_tool in "$LK_TOP"/tools/*.c; do
	t=$(basename "$src_tool" .c)
	man=$LK_TOP/man/man8/$t.8
	[ -f "$man" ] || fail "no man page for $t"
	lk_need_bin "$t"
	help=$("$OUTPUT/$t" --help | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u)
	manopts=$(sed -n '/^\.SH OPTIONS/,/^\.SH /p' "$man" | sed 's/\\-/-/g' |
		grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u)
	[ -n "$manopts" ] || fail "$t.8 has no OPTIONS section with long options"
	for o in $help; do
		case " $argp_only " in *" $o "*) continue ;; esac
		echo "$manopts" | grep -qx -- "$o" || fail "$t: $o is in --help but not in $t.8"
	done
	for o in $manopts; do
		case " $argp_only " in *" $o "*) continue ;; esac
		echo "$help" | grep -qx -- "$o" || fail "$t: $o is in $t.8 but not in --help"
	done
	if command -v man >/dev/null; then
		MANWIDTH=80 man -l "$man" >/dev/null 2>"$LK_TMP/manerr" || fail "$t.8 does not render"
		! grep -q . "$LK_TMP/manerr" || { cat "$LK_TMP/manerr"; fail "$t.8 renders with warnings"; }
	fi
	assert_eq "$("$OUTPUT/$t" --version)" "$t (latkit) $version" "$t --version"
	n=$((n + 1))
	ok "$t: --help and man page agree"
done
assert_ge "$n" 1 "tools checked"

# HACKING.md: "userspace half is B lines beyond its output format (T in
# all; the output format is the marked block of K lines), plus M lines
# of metrics".
src=$LK_TOP/tools/tcpconnlat.c
total=$(wc -l <"$src")
block=$(awk '/--- output format ---/ { on = 1 } on { n++ } /--- end of output format ---/ { on = 0 } END { print n + 0 }' "$src")
metrics=$(wc -l <"$LK_TOP/tools/tcpconnlat/metrics.c")
said=$(tr '\n' ' ' <"$LK_TOP/HACKING.md" | tr -s ' ' |
	sed -n 's/.*userspace half is \([0-9]*\) lines beyond its output format (\([0-9]*\) in all; the output format is the marked block of \([0-9]*\) lines), plus \([0-9]*\) lines of metrics.*/\1 \2 \3 \4/p')
assert_eq "$said" "$((total - block)) $total $block $metrics" "HACKING.md's line counts of tcpconnlat (beyond, all, output format, metrics)"
