#!/bin/bash
# Build the vmtest initramfs (a gzipped newc cpio) for a guest kernel.
#
#   mkinitramfs.sh KROOT BUILD OUT
#
# KROOT: an unpacked linux-image package (KROOT/lib/modules/VERSION/...).
# BUILD: the build directory (tools, tests/test_*, tests/progs).
# OUT:   the initramfs file to write.
#
# The guest gets: busybox (its applets in /usr/local/busybox, last in
# PATH), the host's own bash, iproute2, coreutils and the test commands
# copied with the shared libraries ldd names (the guest kernel runs the
# host's userland as is), the kernel modules the tools and netlab need
# with their dependencies in load order, the source tree's tests at
# /latkit and the binaries at /latkit/build.
set -eu
[ $# = 3 ] || { echo "usage: mkinitramfs.sh KROOT BUILD OUT" >&2; exit 2; }
KROOT=$1 BUILD=$2 OUT=$3
TOP=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$TOP/scripts/vm

# Modules loaded at boot.  Missing ones are reported and left out: the
# tests that need them skip with a reason.  tun for tcstamp_l3; tcp_diag
# for ss -i (without it ss reads /proc/net/tcp and shows no TCP info).
MODULES="veth dummy ifb sch_netem sch_plug sch_tbf sch_htb sch_prio sch_fq
	sch_ingress cls_bpf cls_u32 cls_matchall act_bpf act_mirred act_gact tun tcp_diag"

# Host packages whose commands the guest gets whole, so that tests see
# the same GNU/util-linux tools as on the host (busybox's setpriv, ss or
# timeout differ), and single commands: required ones must exist, the
# others are copied when installed (tests needing an absent one skip).
HOST_PKGS="coreutils util-linux bsdutils mount procps psmisc iproute2
	iputils-ping findutils grep sed mawk gawk diffutils gzip"
# getconf: lib.sh's lk_steal_ns; sh: /bin/sh (syslat_counts execs it).
REQUIRED_CMDS="bash ip tc ss awk sed grep timeout setsid setpriv taskset mktemp date sort
	getconf sh"
OPTIONAL_CMDS="ping jq strace sockperf iperf3 bpftool python3 tshark
	redis-server redis-cli redis-benchmark nginx wrk memcached
	curl openssl prometheus promtool"

die() { echo "mkinitramfs: $*" >&2; exit 1; }

# The distribution's commands, not a user's shims (pyenv's python3 is a
# shell script that finds its interpreter through $HOME).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

kver=$(ls "$KROOT/lib/modules" | head -n1)
[ -n "$kver" ] || die "no lib/modules in $KROOT"
mdir=$KROOT/lib/modules/$kver
bb=$(command -v busybox) || die "busybox not installed (apt-get install busybox-static)"
# ldd fails on a static binary.
! ldd "$bb" >/dev/null 2>&1 ||
	die "$bb is not statically linked (apt-get install busybox-static)"

root=$(mktemp -d "${TMPDIR:-/tmp}/latkit-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT

# Merged /usr as on the host, so every path ldd prints resolves the same.
mkdir -p "$root"/usr/{bin,sbin,lib,lib64,local/busybox} "$root"/{etc,proc,sys,dev,tmp,run,root,mnt}
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"

# copy_file PATH: copy PATH (symlinks resolved) to the same place in the
# guest, and keep the name the caller used as a link when it differs.
copy_file() {
	local src=$1 real dst
	real=$(readlink -f "$src")
	dst=$root$real
	[ -e "$dst" ] && return 0
	mkdir -p "$(dirname "$dst")"
	cp "$real" "$dst"
	# The name itself too (/lib64/ld-linux-x86-64.so.2 is what binaries
	# ask for; it is a link on the host).
	if [ "$src" != "$real" ] && [ ! -e "$root$src" ] && [ ! -L "$root$src" ]; then
		mkdir -p "$(dirname "$root$src")"
		ln -s "$real" "$root$src"
	fi
}

copy_with_libs() {
	local bin=$1 lib
	copy_file "$bin"
	# ldd prints "name => /path (addr)" or "/path (addr)" for the loader.
	for lib in $(ldd "$bin" 2>/dev/null | awk '/=> \//{print $3} /^\t\//{print $1}'); do
		copy_file "$lib"
	done
}

copy_cmd() {
	local c=$1 p
	p=$(command -v "$c" 2>/dev/null) || return 1
	case "$p" in /*) ;; *) return 1 ;; esac
	copy_with_libs "$p"
	# Make the command findable under its own name too (mawk as awk).
	p=$(readlink -f "$p")
	[ "$(basename "$p")" = "$c" ] || ln -sf "$p" "$root/usr/bin/$c"
}

# The guest's init links the applets into /usr/local/busybox.
cp "$bb" "$root/usr/bin/busybox"

if command -v dpkg >/dev/null 2>&1; then
	# shellcheck disable=SC2086
	for f in $(dpkg -L $HOST_PKGS 2>/dev/null | grep -E '^/(usr/)?s?bin/[^/]+$' | sort -u); do
		[ -f "$f" ] && [ -x "$f" ] && copy_with_libs "$f"
	done
fi
for c in $REQUIRED_CMDS; do
	copy_cmd "$c" || die "$c is not installed on the host"
done
missing=""
for c in $OPTIONAL_CMDS; do
	copy_cmd "$c" || missing="$missing $c"
done
[ -z "$missing" ] || echo "mkinitramfs: not on the host, left out:$missing" >&2
# python3 needs its standard library (54 MB, 12 MB packed); without it
# (LK_VM_PYTHON=0) the tests that want python3 skip.
if [ "${LK_VM_PYTHON:-1}" = 1 ] && [ -e "$root/usr/bin/python3" ]; then
	pyver=$(python3 -c 'import sys; print("python%d.%d" % sys.version_info[:2])')
	mkdir -p "$root/usr/lib/$pyver"
	cp -a "/usr/lib/$pyver/." "$root/usr/lib/$pyver/"
	rm -rf "$root/usr/lib/$pyver"/{test,idlelib,tkinter,lib2to3,ensurepip,pydoc_data} \
		"$root/usr/lib/$pyver"/config-*
	# Its C modules link libraries of their own (libffi, libssl, ...).
	for f in "$root/usr/lib/$pyver"/lib-dynload/*.so; do
		copy_with_libs "${f#"$root"}"
	done
else
	rm -f "$root"/usr/bin/python3*
fi
# tshark (tcstamp_capture and tcstamp_loss check tcstamp against a
# capture) captures through dumpcap and reads its tables from
# /usr/share/wireshark (28 MB packed in all; LK_VM_TSHARK=0 leaves it out).
if [ "${LK_VM_TSHARK:-1}" = 1 ] && [ -e "$root/usr/bin/tshark" ] && copy_cmd dumpcap; then
	[ -d /usr/share/wireshark ] && { mkdir -p "$root/usr/share"; cp -a /usr/share/wireshark "$root/usr/share/"; }
else
	rm -f "$root/usr/bin/tshark"
fi
# openssl req (metrics_errors' self-signed certificate) reads its config.
[ -e "$root/usr/bin/openssl" ] && [ -e /usr/lib/ssl/openssl.cnf ] && copy_file /usr/lib/ssl/openssl.cnf
[ -f /etc/ld.so.cache ] && cp /etc/ld.so.cache "$root/etc/"
# tc's netem distribution tables, iproute2's name tables.
for d in /usr/lib/tc /etc/iproute2 /usr/share/iproute2; do
	[ -d "$d" ] && { mkdir -p "$root$d"; cp -a "$d/." "$root$d/"; }
done
printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
printf 'passwd: files\ngroup: files\nhosts: files\n' >"$root/etc/nsswitch.conf"
printf 'tcp 6 TCP\nudp 17 UDP\nicmp 1 ICMP\n' >"$root/etc/protocols"

# Modules: the .ko files (decompressed if needed) and their dependencies
# (modinfo's "depends"), listed dependencies first in /etc/latkit-modules.
find "$mdir" -name '*.ko*' >"$root/.modules"
modpath() {
	local n=${1//-/_}
	grep -m1 -E "/($n|${n//_/-})\.ko(\.[a-z]+)?\$" "$root/.modules"
}
modcat() {
	case "$1" in
	*.ko.xz) xz -dc "$1" ;;
	*.ko.zst) zstd -qdc "$1" ;;
	*.ko.gz) gzip -dc "$1" ;;
	*) cat "$1" ;;
	esac
}
declare -A seen=()
order=()
add_module() {
	local name=${1//-/_} f d
	[ -n "${seen[$name]:-}" ] && return 0
	seen[$name]=1
	f=$(modpath "$name") || { echo "mkinitramfs: module $name not in $kver" >&2; return 0; }
	# The "depends=a,b" string of the .modinfo section (no kmod needed),
	# read from the decompressed module: 6.12's are .ko.xz (6.1's plain
	# .ko), and grepping the xz stream found no depends, so tcp_diag
	# came without inet_diag and failed to load.
	for d in $(modcat "$f" | tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '); do
		add_module "$d"
	done
	order+=("$f")
}
for m in $MODULES; do
	add_module "$m"
done
mkdir -p "$root/lib/modules/$kver"
: >"$root/etc/latkit-modules"
for f in "${order[@]}"; do
	base=$(basename "$f")
	base=${base%.xz} base=${base%.zst} base=${base%.gz}
	modcat "$f" >"$root/lib/modules/$kver/$base"
	echo "/lib/modules/$kver/$base" >>"$root/etc/latkit-modules"
done

# The source tree as git sees it (tests, tool sources the tests look at,
# man pages, the Prometheus rules), and the build's binaries with their
# shared libraries.
mkdir -p "$root/latkit/build/tests/progs"
(cd "$TOP" && git ls-files -co --exclude-standard -- tests tools man bpf common \
	trace_helpers README.md HACKING.md Makefile scripts completions contrib |
	while read -r f; do [ -f "$f" ] && echo "$f"; done |
	cpio -pdm --quiet "$root/latkit")
for f in "$BUILD"/*; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	cp "$f" "$root/latkit/build/"
	copy_with_libs "$f"
done
for f in "$BUILD"/tests/test_* "$BUILD"/tests/progs/*; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	dst=$root/latkit/build/${f#"$BUILD"/}
	cp "$f" "$dst"
	copy_with_libs "$f"
done

# Tests that check the build, the package, the docs or a parser in
# userspace (the fuzzers), not the kernel: they run on the host only.
for t in ${LK_VM_HOST_ONLY-static_bins package_deb docs_agree tools_listed tcpreq_fuzz tcplat_proto_fuzz zz_vmtest}; do
	rm -f "$root/latkit/tests/integration/$t.sh"
done

# LK_VM_ONLY="glob ...": only the integration tests whose names match
# one of the globs go into the guest (unit tests always do).
if [ -n "${LK_VM_ONLY:-}" ]; then
	for f in "$root"/latkit/tests/integration/*.sh; do
		n=$(basename "$f" .sh) keep=0
		# set -f: LK_VM_ONLY='*' is a pattern, not the files here.
		set -f
		for g in $LK_VM_ONLY; do
			# shellcheck disable=SC2254
			case "$n" in $g) keep=1 ;; esac
		done
		set +f
		[ $keep = 1 ] || rm -f "$f"
	done
fi

# Tests too slow under qemu TCG (no KVM), with the reason: each is
# replaced by one that skips with it, so that the count still shows it.
# None by default: the slow ones shrink their load when LK_TCG=1.
# LK_VM_TCG_SKIP="name:reason ..." overrides, "" runs them all.
TCG_SKIP=""
if [ "${LK_VM_ACCEL:-tcg}" = tcg ]; then
	for e in ${LK_VM_TCG_SKIP-$TCG_SKIP}; do
		f=$root/latkit/tests/integration/${e%%:*}.sh
		[ -f "$f" ] || continue
		printf '#!/bin/bash\necho "SKIP: %s (runs on the host and under KVM)"\nexit 77\n' \
			"$(echo "${e#*:}" | tr _ ' ')" >"$f"
	done
fi

rm -f "$root/.modules"
install -m 0755 "$HERE/init" "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) | gzip -1 >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "mkinitramfs: $OUT ($(du -h "$OUT" | cut -f1), kernel $kver, ${#order[@]} modules)" >&2
