#!/bin/bash
# cpuusage -t TID: one thread of a two-thread process.  The spinning
# thread's on-CPU time equals the growth of its own
# /proc/PID/task/TID/schedstat within 1%, and no other thread (the
# process's sleeping main thread, or anything else) shows up.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd python3
lk_need_bin cpuusage
out=$LK_TMP/out.json

# Main thread sleeps in join(); the second thread spins 2 s and then
# waits for a file, so its schedstat can be read after the spin.
lk_bg python3 -c '
import os, sys, threading, time
def spin():
    open(sys.argv[1], "w").write(str(threading.get_native_id()))
    while not os.path.exists(sys.argv[2]):
        time.sleep(0.01)
    end = time.time() + 2
    while time.time() < end:
        pass
    open(sys.argv[3], "w").close()
    for _ in range(3000):
        if os.path.exists(sys.argv[4]):
            break
        time.sleep(0.01)
t = threading.Thread(target=spin); t.start(); t.join()' \
	"$LK_TMP/tid" "$LK_TMP/go" "$LK_TMP/spun" "$LK_TMP/end"
PY=$LK_LAST_PID
lk_wait_for 20 test -s "$LK_TMP/tid" || fail "the test thread did not start"
TID=$(cat "$LK_TMP/tid")

lk_bg "$OUTPUT/cpuusage" -v -j -t "$TID" >"$out" 2>"$LK_TMP/err"
CU=$LK_LAST_PID
lk_wait_for 20 grep -q 'first interval starts' "$LK_TMP/err" || { cat "$LK_TMP/err"; fail "cpuusage did not start"; }
ss0=$(awk '{ print $1 }' "/proc/$PY/task/$TID/schedstat")
touch "$LK_TMP/go"
lk_wait_for 30 test -e "$LK_TMP/spun" || fail "the thread did not finish spinning"
sleep 0.2
ss1=$(awk '{ print $1 }' "/proc/$PY/task/$TID/schedstat")
kill -INT "$CU"
lk_wait_for 10 sh -c "! kill -0 $CU" || fail "cpuusage did not exit on SIGINT"
touch "$LK_TMP/end"

ns=$(jq -s --argjson t "$TID" '[.[] | select(.type == "summary") | .threads[] | select(.tid == $t) | .oncpu_ns] | add // 0' "$out")
others=$(jq -s --argjson t "$TID" '[.[] | select(.type == "summary") | .threads[] | select(.tid != $t)] | length' "$out")
echo "thread $TID: cpuusage $ns ns; schedstat growth $((ss1 - ss0)) ns (from before the spin)"
# 2 s of wall time; on a loaded machine it gets less of the CPU.
assert_ge "$ns" 300000000 "on-CPU ns of the spinning thread (non-zero: BPF attached)"
# cpuusage counted from its start, a little before ss0 was read: the
# thread slept in between, so the two windows hold the same run time.
assert_near "$ns" "$((ss1 - ss0))" 1 2000000 "thread on-CPU time vs its schedstat"
assert_eq "$others" 0 "rows for other threads"
"$OUTPUT/cpuusage" -t 999999999 1 1 2>"$LK_TMP/bad" && fail "an unknown TID was accepted"
grep -q 'no such thread' "$LK_TMP/bad" || fail "unknown TID: $(cat "$LK_TMP/bad")"
assert_eq "$(wc -l <"$LK_TMP/bad")" 1 "lines on stderr for an unknown TID"
