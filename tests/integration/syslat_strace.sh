#!/bin/bash
# syslat's per-syscall counts and errors for a short dd equal strace -c -f's,
# syscall by syscall.  dd runs under a unique name (a symlink) so -c picks
# it alone.  execve is left out: syslat decides at entry, when the process
# still has strace's name.  Under qemu TCG (LK_TCG=1, make vmtest) strace
# costs about 2 ms a syscall, so dd copies 5000 bytes there, not 100000.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd strace
lk_need_cmd jq
lk_need_bin syslat
name=$(lk_uid)
count=100000
[ "${LK_TCG:-}" = 1 ] && count=5000
ln -s "$(command -v dd)" "$LK_TMP/$name"
# The time bounds guard against a hang only, syslat's ($LK_HANG, 600 s)
# outliving the dd's: under qemu TCG on a loaded host the dd under
# strace took over 120 s (the 5000 bytes).
timeout -s INT "$LK_HANG" "$OUTPUT/syslat" -v -j -c "$name" >"$LK_TMP/sl" 2>"$LK_TMP/err" &
sp=$!; LK_PIDS+=($sp)
lk_wait_for 20 grep -q tracing "$LK_TMP/err" || { cat "$LK_TMP/err"; fail "syslat did not start"; }
timeout 500 strace -f -c -o "$LK_TMP/st" "$LK_TMP/$name" if=/dev/zero of=/dev/null bs=1 count=$count 2>/dev/null ||
	fail "dd under strace failed (or took over 500 s)"
sleep 0.5
kill -INT "$sp"
wait "$sp" || { cat "$LK_TMP/err"; fail "syslat failed"; }
cat "$LK_TMP/st"
# strace -c rows: % time, seconds, usecs/call, calls, [errors], syscall.
awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" {
	print $NF, $4, (NF == 6 ? $5 : 0) }' "$LK_TMP/st" | sort >"$LK_TMP/want"
jq -r 'select(.type=="syscall") | "\(.syscall) \(.count) \(.errors)"' "$LK_TMP/sl" |
	sort >"$LK_TMP/got"
n=0
while read -r sc calls errs; do
	[ "$sc" = execve ] && continue
	got=$(awk -v s="$sc" '$1 == s { print $2, $3 }' "$LK_TMP/got")
	assert_eq "$got" "$calls $errs" "$sc calls and errors"
	n=$((n + 1))
done <"$LK_TMP/want"
assert_ge "$n" 10 "syscalls compared"
# Under ptrace every entry still has its exit.
assert_eq "$(jq -r 'select(.type=="summary") | .drops_exit' "$LK_TMP/sl")" 0 "entries without an exit"
assert_ge "$(awk '$1 == "read" { print $2 }' "$LK_TMP/got")" $count "reads seen"
