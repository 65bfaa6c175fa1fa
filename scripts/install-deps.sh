#!/bin/sh
# Install what latkit needs to build (and, with --test, to test and demo).
# Debian and Ubuntu: installs the missing packages with apt-get.
# Elsewhere: prints what to install and fails if the build needs are missing.
set -eu

BUILD_PKGS="make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev libzstd-dev libmicrohttpd-dev libcrypt-dev liburing-dev"
# redis-server, redis-tools, nginx-light, wrk and memcached: the
# tcplat_redis, tcplat_nginx and tcplat_proto_* tests compare tcplat with
# their own figures.  Their Debian
# packages start system services on the default ports where an init system
# runs; install-deps leaves those alone and the tests never use them (each
# test runs its own server, with its own config and data under its temp
# dir, on a free port of its own).
# systemd (systemd-analyze) and util-linux (setpriv, unshare): package_deb
# verifies the units and runs tools in their sandbox; nothing is started.
TEST_PKGS="iproute2 iputils-ping procps jq python3 strace sockperf iperf3 tshark libbpf-tools bpftrace file man-db dpkg-dev debhelper lintian redis-server redis-tools nginx-light wrk memcached prometheus openssl curl systemd util-linux"
VM_PKGS="qemu-system-x86 busybox-static cpio"

want="$BUILD_PKGS"
for arg in "$@"; do
	case "$arg" in
	--test) want="$want $TEST_PKGS" ;;
	--vm) want="$want $VM_PKGS" ;;
	*) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
	esac
done

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: not a Debian system; install the equivalents of: $want" >&2
	for t in clang bpftool pkg-config; do
		command -v $t >/dev/null 2>&1 || { echo "install-deps: $t is missing" >&2; exit 1; }
	done
	pkg-config --exists 'libbpf >= 1.0' libelf zlib || {
		echo "install-deps: libbpf >= 1.0, libelf and zlib development files are missing" >&2
		exit 1
	}
	exit 0
fi

missing=""
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root, or install them)" >&2
	exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; the default (no) is fine.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq </dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing </dev/null >/dev/null
