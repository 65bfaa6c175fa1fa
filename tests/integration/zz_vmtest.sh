#!/bin/bash
# The kernel matrix: the suite once more inside Debian's 6.1 kernel under
# qemu (scripts/vmtest.sh), where kprobes, fentry, netem and sch_plug
# exist.  Named zz_ so that it runs last.  Skips when qemu or the kernel
# package is not available; LK_VMTEST=0 skips it on purpose.
. "$(dirname "$0")/../lib.sh"
lk_need_root
[ "${LK_VMTEST:-1}" != 0 ] || skip "LK_VMTEST=0"
command -v qemu-system-x86_64 >/dev/null 2>&1 ||
	skip "qemu-system-x86_64 not installed (make vmtest installs it)"
command -v busybox >/dev/null 2>&1 || skip "busybox-static not installed (make vmtest installs it)"
[ "$(uname -m)" = x86_64 ] || skip "the vmtest kernel is amd64"

make -C "$LK_TOP" --no-print-directory STATIC=1 OUTPUT="$OUTPUT/static" all test-bins \
	>"$LK_TMP/build.log" 2>&1 || { tail -20 "$LK_TMP/build.log"; fail "STATIC=1 build failed"; }

# run.sh gives each test 900 s: leave the guest a little less so that a
# hung guest is reported by vmtest.sh rather than killed silently.
rc=0
LK_VM_TIMEOUT=${LK_VM_TIMEOUT:-840} OUTPUT=$OUTPUT TESTS= \
	bash "$LK_TOP/scripts/vmtest.sh" >"$LK_TMP/vm.out" 2>&1 || rc=$?
cat "$LK_TMP/vm.out"
[ $rc = 77 ] && skip "$(grep '^vmtest:' "$LK_TMP/vm.out" | tail -n1 | sed 's/^vmtest: //')"

console=$OUTPUT/vmtest/console.log
kver=$(awk '/^LKVM-KERNEL /{print $2; exit}' "$console")
case "$kver" in
6.1.*) ok "guest kernel $kver" ;;
*) fail "the guest did not report a 6.1 kernel (got '$kver')" ;;
esac
# Not a vacuous pass: the tools loaded BPF inside the guest and tests ran.
grep -q '^LKVM-SURVEY tcpretrans_cnt: .*using' "$console" ||
	fail "tcpretrans_cnt -v did not report a method in the guest"
passed=$(sed -n 's/^\([0-9]*\) passed, .*/\1/p' "$console" | tail -n1)
assert_ge "${passed:-0}" 1 "tests passed in the guest"
[ $rc = 0 ] || fail "vmtest failed (exit $rc; logs in $OUTPUT/vmtest/logs)"
ok "vmtest passed on $kver"
