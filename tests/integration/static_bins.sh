#!/bin/bash
# make STATIC=1 binaries run where no libbpf (or any library) exists: a
# chroot holding only the binaries, with /proc and /sys bind-mounted in
# a private mount namespace so nothing outlives the test.
. "$(dirname "$0")/../lib.sh"
lk_need_root
sdir=$OUTPUT/static
make -C "$LK_TOP" --no-print-directory STATIC=1 OUTPUT="$sdir" all >"$LK_TMP/build.log" 2>&1 ||
	{ tail -20 "$LK_TMP/build.log"; fail "STATIC=1 build failed"; }
jail=$LK_TMP/jail
mkdir -p "$jail/proc" "$jail/sys" "$jail/bin"
for src_tool in "$LK_TOP"/tools/*.c; do
	t=$(basename "$src_tool" .c)
	file "$sdir/$t" | grep -q 'statically linked' || fail "$t is not statically linked"
	cp "$sdir/$t" "$jail/bin/"
done
ok "all tools statically linked"
for src_tool in "$LK_TOP"/tools/*.c; do
	t=$(basename "$src_tool" .c)
	chroot "$jail" "/bin/$t" --help >/dev/null || fail "$t --help fails in an empty chroot"
done
ok "--help runs in a chroot with no libraries"
# A BPF tool loads and reports from the chroot: libbpf is inside the binary.
out=$(unshare -m sh -c "
	mount --bind /proc '$jail/proc' && mount --rbind /sys '$jail/sys' &&
	chroot '$jail' /bin/tcpretrans_cnt -j 0.3 1" 2>&1) || fail "tcpretrans_cnt fails in the chroot: $out"
echo "$out"
echo "$out" | grep -q '"type":"summary"' || fail "no summary from the static tcpretrans_cnt"
ok "static tcpretrans_cnt loads BPF with no shared libbpf"
