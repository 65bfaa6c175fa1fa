#!/bin/bash
# Bad input gives one line on stderr and a non-zero exit; a traced
# process that exits ends tcplat with a message and its summary; sockets
# closed mid-request are counted as incomplete, not as requests, and
# leave no state behind that would taint later requests.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_bin tcplat
lk_need_bin tcpreq
TL=$OUTPUT/tcplat

# bad ARGS...: one line on stderr, nothing on stdout, exit status not 0.
bad() {
	local rc=0
	"$TL" "$@" >"$LK_TMP/out" 2>"$LK_TMP/err" || rc=$?
	[ "$rc" -ne 0 ] || fail "tcplat $* succeeded"
	[ "$(wc -l <"$LK_TMP/err")" -eq 1 ] || { cat "$LK_TMP/err"; fail "tcplat $*: not one line on stderr"; }
	[ ! -s "$LK_TMP/out" ] || fail "tcplat $*: output on stdout"
	ok "tcplat $*: exit $rc, $(cat "$LK_TMP/err")"
}
# An unused PID: above every PID in use.
nopid=$(($(cat /proc/sys/kernel/pid_max) - 1))
while [ -e /proc/$nopid ]; do nopid=$((nopid - 1)); done
bad -p "$nopid"
bad --role sideways
bad --role
bad --lport 0
bad --rport 70000
bad -4 -6
bad -F -P
bad --min-us -3
bad --netns no-such-netns-$$
bad --cgroup /no/such/cgroup
bad -n -1
bad --proto smtp
bad --proto redis -F
bad --proto redis --proto-bytes 10
bad --proto http --http-path-depth 9
bad --proto redis --http-path-depth 1
bad --proto redis --listen 127.0.0.1:0 --metrics-pids 10
grep -q "$nopid" <(  "$TL" -p "$nopid" 2>&1 ) || fail "the message does not name the PID"

lk_lab_up
T=$OUTPUT/tcpreq
SRV=$OUTPUT/tests/progs/tcplat_slowsrv
lk_need_prog tcplat_slowsrv

# A process that exits: tcplat -p says so and prints its summary.
lk_bg ip netns exec "$LAB_S" "$T" server --nodelay "0.0.0.0:7001"
lk_wait_for 5 lk_listening "$LAB_S" "7001" || fail "server not listening"
fifo=$LK_TMP/go
mkfifo "$fifo"
lk_bg ip netns exec "$LAB_C" bash -c "read -r _ <'$fifo'; exec '$T' client -j --requests 200 '$LAB_S_IP:7001'" \
	>"$LK_TMP/c0"
cp=$LK_LAST_PID
timeout -s INT "$LK_HANG" "$TL" -v -j -p "$cp" >"$LK_TMP/exit" 2>"$LK_TMP/exit.err" &
tp=$!; LK_PIDS+=($tp)
lk_wait_for 20 grep -q tracing "$LK_TMP/exit.err" || fail "tcplat did not start"
echo go >"$fifo"
wait "$tp" || fail "tcplat -p on an exiting process failed"
grep -q "process $cp exited" "$LK_TMP/exit.err" || { cat "$LK_TMP/exit.err"; fail "no exit message"; }
assert_eq "$(jq 'select(.type == "summary") | .requests' "$LK_TMP/exit")" 200 "summary after the exit"

# Closed mid-request: the slow server takes 3 s per reply; tcpreq stops
# after 0.3 s, waits a second for the 3 replies it is owed and closes.
lk_bg ip netns exec "$LAB_S" "$SRV" "$LAB_S_IP" 7002 0 3000
lk_wait_for 5 lk_listening "$LAB_S" "7002" || fail "slow server not listening"
timeout -s INT "$LK_HANG" "$TL" -v -j --netns "$LAB_C" -c tcpreq -F >"$LK_TMP/cut" 2>"$LK_TMP/cut.err" &
tp=$!; LK_PIDS+=($tp)
lk_wait_for 20 grep -q tracing "$LK_TMP/cut.err" || fail "tcplat did not start"
lk_in_client "$T" client -j -n 3 --duration 0.3 "$LAB_S_IP:7002" >"$LK_TMP/c1"
# Then ordinary requests on new connections: counted exactly, none of
# them inheriting a start time from the cut-off ones.
lk_in_client "$T" client -j -n 3 --requests 500 "$LAB_S_IP:7001" >"$LK_TMP/c2" || fail "client failed"
sleep 0.3
kill -INT "$tp"; wait "$tp" || fail "tcplat failed"
s=$(jq -c 'select(.type == "summary")' "$LK_TMP/cut")
echo "tcplat: $s"
assert_eq "$(jq .requests "$LK_TMP/c1" | tail -1)" 0 "tcpreq: no reply from the slow server"
assert_eq "$(jq .incomplete <<<"$s")" 3 "incomplete: the 3 requests cut off"
assert_eq "$(jq .requests <<<"$s")" 500 "requests: only the 500 answered"
# A start time left over from a cut-off request would be 1.3 s old or more.
assert_le "$(jq .max_us <<<"$s")" 1200000 "max (us): nothing from the cut-off requests"
assert_eq "$(jq -s '[.[] | select(.type == "flow") | .incomplete] | add' "$LK_TMP/cut")" 3 \
	"flow rows: the cut-off connections"
