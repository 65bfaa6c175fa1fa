#!/bin/bash
# make vmtest: boot Debian's stock kernels (6.1 and 6.12 cloud images)
# one after the other under qemu, each with an initramfs holding the
# tools as the package builds them (with the host's shared libraries, so
# the HTTP exporter is there too) and the tests, run the suite in each
# guest and report its "N passed, N failed, N skipped" line and the
# method every tool chose there (from the guest's -v survey,
# scripts/vm/methods.awk).
#
# Environment:
#   OUTPUT            build directory (make all test-bins); results go
#                     to $OUTPUT/vmtest/SERIES (console.log, logs/,
#                     methods.txt) for each kernel SERIES (6.1, 6.12)
#   TESTS             run.sh's test glob, passed to the guest
#   LK_VM_KERNEL      6.1, 6.12, "6.1 6.12" or all (the default): which
#                     kernels; each is the newest of its series apt knows
#                     (linux-image-6.1.0-N-cloud-amd64,
#                     linux-image-6.12.N+deb12-cloud-amd64)
#   LK_VM_DEB         a linux-image .deb to use instead (one kernel only;
#                     its series is taken from the package name)
#   LK_VM_CACHE       where fetched packages are kept
#                     (default ~/.cache/latkit/vm)
#   LK_VM_SMP, LK_VM_MEM   guest CPUs (2) and memory in MB (1536)
#   LK_VM_TIMEOUT     seconds before a guest is declared hung (2400), per
#                     boot; a guest that wedges (a soft lockup, or an
#                     int3 Oops: qemu TCG and live patching) is
#                     booted once more, so a kernel takes at most twice it
#   LK_VM_TEST_TIMEOUT  seconds per test inside the guest (300)
#   LK_VM_ACCEL       kvm or tcg (default: kvm when /dev/kvm works)
#   LK_VM_ONLY        "glob ...": only these integration tests in the guest
#   LK_VM_TCG_SKIP    "name:reason ...": tests that skip under TCG (too slow)
#   LK_VM_PYTHON=0    leave python3 out (its tests skip)
#   LK_VM_TSHARK=0    leave tshark out (the capture tests skip)
#   LK_VM_SURVEY=0    no -v survey of the tools before the tests
#   LK_VM_REPEAT=N    the tests N times in one boot (tests/repeat.sh:
#                     make check-repeat in the guest), then each test's
#                     pass rate; set LK_VM_TIMEOUT to fit
# Exit: 0 all passed on every kernel, 1 failures or a guest crashed or
# hung, 2 usage, 77 qemu or a kernel package is not available (and
# nothing failed on the others).
set -u
cd "$(dirname "$0")/.."
TOP=$PWD
OUTPUT=${OUTPUT:-$TOP/build}
VMDIR=$OUTPUT/vmtest
CACHE=${LK_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/latkit/vm}
SMP=${LK_VM_SMP:-2}
MEM=${LK_VM_MEM:-1536}
VM_TIMEOUT=${LK_VM_TIMEOUT:-2400}

die() { echo "vmtest: $*" >&2; exit 1; }
unavailable() { echo "vmtest: $*" >&2; exit 77; }

command -v qemu-system-x86_64 >/dev/null 2>&1 ||
	unavailable "qemu-system-x86_64 not installed (scripts/install-deps.sh --vm)"
[ "$(uname -m)" = x86_64 ] || unavailable "the vmtest kernel is amd64; this is $(uname -m)"
[ -x "$OUTPUT/tcpretrans_cnt" ] || die "no build in $OUTPUT (run make vmtest)"

# The kernels: "6.1 6.12" by default.
kernels=${LK_VM_KERNEL:-all}
[ "$kernels" = all ] && kernels="6.1 6.12"
kernels=$(echo "$kernels" | tr ',' ' ')
for series in $kernels; do
	case "$series" in
	6.1|6.12) ;;
	*) echo "vmtest: LK_VM_KERNEL must be 6.1, 6.12 or all (got '$series')" >&2; exit 2 ;;
	esac
done
if [ -n "${LK_VM_DEB:-}" ]; then
	[ -f "$LK_VM_DEB" ] || die "LK_VM_DEB=$LK_VM_DEB: no such file"
	case "$(basename "$LK_VM_DEB")" in
	linux-image-6.1.0-*) kernels=6.1 ;;
	linux-image-6.12.*) kernels=6.12 ;;
	*) kernels=$(basename "$LK_VM_DEB" | sed -n 's/^linux-image-\([0-9]*\.[0-9]*\).*/\1/p') ;;
	esac
	[ -n "$kernels" ] || kernels=deb
fi

# fetch_kernel SERIES: the newest cloud image of the series apt knows,
# fetched once into the cache; prints the .deb's path.
fetch_kernel() {
	local series=$1 re pkg deb
	if [ -n "${LK_VM_DEB:-}" ]; then
		echo "$LK_VM_DEB"
		return
	fi
	case "$series" in
	6.1) re='^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' ;;
	6.12) re='^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64$' ;;
	esac
	pkg=$(apt-cache search --names-only "$re" 2>/dev/null |
		awk '{print $1}' | sort -V | tail -n1)
	[ -n "$pkg" ] || unavailable "apt knows no $re package (needs Debian 12 sources, or set LK_VM_DEB)"
	mkdir -p "$CACHE"
	deb=$(ls "$CACHE/${pkg}_"*.deb 2>/dev/null | sort -V | tail -n1)
	if [ -z "$deb" ]; then
		echo "vmtest: fetching $pkg into $CACHE" >&2
		(cd "$CACHE" && apt-get download -q "$pkg" </dev/null >&2) ||
			unavailable "apt-get download $pkg failed"
		deb=$(ls "$CACHE/${pkg}_"*.deb 2>/dev/null | sort -V | tail -n1)
		[ -n "$deb" ] || die "apt-get download $pkg left no .deb in $CACHE"
	fi
	echo "$deb"
}

rm -rf "$VMDIR"
mkdir -p "$VMDIR"
accel=${LK_VM_ACCEL:-}
if [ -z "$accel" ]; then
	accel=tcg
	# A vCPU must be created and reset: a writable /dev/kvm whose host
	# refuses the CPU's MSRs (nested setups) fails only then.
	[ -w /dev/kvm ] && timeout 20 qemu-system-x86_64 -accel kvm -cpu host -smp 1 -m 64 \
		-nodefaults -display none -monitor none -S -daemonize \
		-pidfile "$VMDIR/kvmprobe.pid" >/dev/null 2>&1 &&
		{ kill "$(cat "$VMDIR/kvmprobe.pid")" 2>/dev/null; accel=kvm; }
fi
case $accel in
kvm) cpu=host ;;
tcg) cpu=max ;;
*) echo "vmtest: LK_VM_ACCEL must be kvm or tcg" >&2; exit 2 ;;
esac

# tsc=reliable: under TCG the kernel finds the TSC unstable and times
# with hpet while the scheduler keeps the TSC; BPF's clock, schedstat
# and /proc/stat then disagree by tens of percent.  qemu's TSC follows
# the host's clock, so one clock for all is right.
append="console=ttyS0 panic=-1 loglevel=5 tsc=reliable lk.timeout=${LK_VM_TEST_TIMEOUT:-300}"
[ -n "${TESTS:-}" ] && append="$append lk.tests=$TESTS"
[ "${LK_VM_SURVEY:-1}" = 0 ] && append="$append lk.survey=0"
case "${LK_VM_REPEAT:-1}" in
'' | *[!0-9]* | 0) echo "vmtest: LK_VM_REPEAT must be a number of runs (got '$LK_VM_REPEAT')" >&2; exit 2 ;;
1) ;;
*) append="$append lk.repeat=$LK_VM_REPEAT" ;;
esac
# Under TCG both vCPUs have been found spinning for good at kernel code
# just patched live (the static branch in syscall_trace_enter as syslat
# attached; tcplat's fentry on tcp_sendmsg under traffic), in about one
# full run of four.  The trace fits a vCPU running a stale translation
# of the int3 the patching put there: the int3 handler finds no int3 in
# memory any more, backs up to rerun the instruction, and the stale
# translation traps again.  The guest init turns the tools' tracepoints
# on at boot and tcplat_attach pins itself to one CPU, so that no attach
# patches code another vCPU runs; should it happen anyway,
# softlockup_panic turns the wedge into a quick panic and the guest is
# booted once more.
[ "$accel" = tcg ] && append="$append lk.tcg=1 softlockup_panic=1"

# No network device: the guest reaches nothing outside itself.
# -no-reboot: a panic (panic=-1 reboots) ends qemu instead of looping.
boot() {
	echo "vmtest: booting $(basename "$kernel") ($accel, $SMP CPUs, ${MEM} MB; console in $dir/console.log)"
	start=$(date +%s)
	timeout -k 10 "$VM_TIMEOUT" qemu-system-x86_64 \
		-accel "$accel" -cpu "$cpu" -smp "$SMP" -m "$MEM" \
		-kernel "$kernel" -initrd "$dir/initramfs.gz" -append "$append" \
		-nic none -display none -monitor none -serial stdio -no-reboot \
		</dev/null 2>"$dir/qemu.err" | sed -u 's/\r$//' | tee "$dir/console.log" |
		awk '/^LKVM-LOG-BEGIN /{inlog = 1} !inlog {print; fflush()} /^LKVM-LOG-END/{inlog = 0}'
	qrc=${PIPESTATUS[0]}
	secs=$(( $(date +%s) - start ))
}

# run_kernel SERIES (in a subshell: die and unavailable end it alone):
# boot the series' kernel, run the tests, print the result line and the
# methods table.  Exit as the script's.
run_kernel() {
	local series=$1 deb kroot
	dir=$VMDIR/$series
	mkdir -p "$dir/logs"
	deb=$(fetch_kernel "$series") || exit $?
	kroot=$CACHE/$(basename "$deb" .deb)
	if [ ! -d "$kroot/boot" ]; then
		rm -rf "$kroot.tmp"
		mkdir -p "$kroot.tmp"
		dpkg-deb -x "$deb" "$kroot.tmp" || die "cannot unpack $deb"
		mv "$kroot.tmp" "$kroot"
	fi
	kernel=$(ls "$kroot"/boot/vmlinuz-* 2>/dev/null | head -n1)
	[ -n "$kernel" ] || die "no vmlinuz in $deb"

	LK_VM_ACCEL=$accel bash scripts/vm/mkinitramfs.sh "$kroot" "$OUTPUT" "$dir/initramfs.gz" ||
		die "building the initramfs for $series failed"
	boot
	# The same race can end in an int3 Oops instead of a wedge: 6.12
	# oopsed on both vCPUs at once at syscall_trace_enter+0x14f, on the
	# int3 put over the first byte of a call being patched (the
	# tracepoint's static call, patched as a second probe came), as
	# syslat attached.  The guest's init now enables each tracepoint in
	# two trace instances, which keeps that call still.
	if [ "$accel" = tcg ] && ! grep -q '^LKVM-DONE ' "$dir/console.log" &&
		grep -q -e 'soft lockup' -e 'Oops: int3' "$dir/console.log"; then
		mv "$dir/console.log" "$dir/console.wedged.log"
		echo "vmtest: the guest wedged after ${secs}s ($(grep -m1 -o -e 'soft lockup' -e 'Oops: int3' "$dir/console.wedged.log"); qemu TCG; $dir/console.wedged.log): once more" >&2
		boot
	fi

	# Each test's log, as the guest printed it.
	awk -v dir="$dir/logs" '
		/^LKVM-LOG-BEGIN / { f = dir "/" $2 ".log"; next }
		/^LKVM-LOG-END/ { if (f) close(f); f = ""; next }
		f { print > f }' "$dir/console.log"

	kver=$(awk '/^LKVM-KERNEL /{print $2; exit}' "$dir/console.log")
	result=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$dir/console.log" | tail -n1)
	# LK_VM_REPEAT: that line is the last run's; the tally covers them all.
	tally=$(grep -E '^[0-9]+ runs, [0-9]+ with failures$' "$dir/console.log" | tail -n1)
	[ -z "$tally" ] || result="$result in the last run; $tally"
	done_rc=$(awk '/^LKVM-DONE /{print $2}' "$dir/console.log" | tail -n1)
	if grep -q '^LKVM-SURVEY ' "$dir/console.log"; then
		awk -f scripts/vm/methods.awk -v labels="${kver:-$series}" "$dir/console.log" |
			sed 's/ *$//' >"$dir/methods.txt"
		echo "vmtest: methods on ${kver:-$series} (each tool's -v in the guest):"
		cat "$dir/methods.txt"
	fi

	if [ -z "$done_rc" ]; then
		[ $qrc = 124 ] && echo "vmtest: the guest did not finish within ${VM_TIMEOUT}s" >&2
		grep -m1 -E 'Kernel panic|BUG:|Oops' "$dir/console.log" >&2
		[ -s "$dir/qemu.err" ] && sed 's/^/qemu: /' "$dir/qemu.err" >&2
		die "$series: the guest crashed or hung after ${secs}s (qemu exit $qrc; see $dir/console.log)"
	fi
	[ -n "$result" ] || die "$series: the guest printed no result line (see $dir/console.log)"
	echo "vmtest: kernel ${kver:-unknown} ($accel, ${secs}s): $result" | tee "$dir/result"
	[ "$done_rc" = 0 ]
}

rc=0 summary= ran=
for series in $kernels; do
	( run_kernel "$series" )
	krc=$?
	case $krc in
	0) ;;
	77) [ $rc = 0 ] && rc=77 ;;
	*) rc=1 ;;
	esac
	line=$(cat "$VMDIR/$series/result" 2>/dev/null) ||
		line="vmtest: $series: $([ $krc = 77 ] && echo unavailable || echo "no result (exit $krc)")"
	summary="$summary$line
"
	[ -s "$VMDIR/$series/methods.txt" ] && ran="$ran $series"
done

# More than one kernel: the results and the methods side by side.
set -- $ran
if [ $# -gt 1 ]; then
	labels= consoles=
	for series in $ran; do
		labels="$labels $(awk '/^LKVM-KERNEL /{print $2; exit}' "$VMDIR/$series/console.log")"
		consoles="$consoles $VMDIR/$series/console.log"
	done
	echo "vmtest: methods per kernel (each tool's -v in the guest):"
	# shellcheck disable=SC2086
	awk -f scripts/vm/methods.awk -v labels="$labels" $consoles | sed 's/ *$//' |
		tee "$VMDIR/methods.txt"
fi
printf '%s' "$summary"
exit $rc
