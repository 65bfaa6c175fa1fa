#!/bin/bash
# tcplat under -p and -c gives state only to the sockets of the processes
# it traces (owner marks, tcplat(8) OVERHEAD): those their connect() and
# listen() set up, and those accepted from the listeners they held open
# when tcplat started.  Untraced tcpreq pairs make connections of their
# own the whole time; tcplat's -v line "socket state set up for N
# connections" must count the traced connections exactly, not theirs.
# The traced requests and bytes are exact against tcpreq's, and no socket
# is met without state (one accepted from a listener tcplat did not know
# would be, in stateless_sockets).
#   1. -p SERVER, the server listening before tcplat: C connections.
#   2. -c NAME, server and client (copies of tcpreq named NAME) started
#      after tcplat: both ends, 2C.
# With the LRU hash (no socket storage: LK_METHODS=raw_tp, old kernels)
# every connection gets state; the test then checks that the count is at
# least the traced one, and says so.  A run the kernel skipped (JSON
# missed: a softirq's, when it interrupts the state program and its twin
# in a task on its CPU) can be a traced connection's setup: that socket
# then gets state at its first read or write (stateless_sockets); the
# counts are checked within the runs missed.
. "$(dirname "$0")/../lib.sh"
lk_tcplat_lab
NAME=$(lk_uid)
cp "$T" "$LK_TMP/$NAME"
PORT=23324
C=4
N=600

# untraced: a few short tcpreq clients to the plain server on PORT + 1
untraced() {
	local i
	for i in 1 2 3; do
		lk_in_client "$T" client -n 2 --requests 40 "$LAB_S_IP:$((PORT + 1))" >/dev/null ||
			fail "untraced client failed"
	done
}

# check OUT REQUESTS CONNS: the summary and the -v lines of tcplat's OUT
check() {
	local s est missed
	s=$(lk_summary "$1")
	echo "tcplat: $s"
	grep -E 'socket state|listening sockets' "$1.err"
	assert_eq "$(jq .requests <<<"$s")" "$2" "requests"
	assert_eq "$(jq .incomplete <<<"$s")" 0 "incomplete requests"
	missed=$(jq .missed <<<"$s")
	[ "$missed" = 0 ] || echo "the kernel skipped $missed runs of tcplat's programs"
	assert_le "$(jq .stateless_sockets <<<"$s")" "$missed" "sockets met without state (at most the runs missed)"
	est=$(sed -n 's/.*socket state set up for \([0-9]*\) connections.*/\1/p' "$1.err")
	[ -n "$est" ] || fail "no 'socket state set up' line in tcplat -v"
	if grep -q 'socket state in an LRU hash' "$1.err"; then
		echo "LRU hash: every connection gets state, owner marks need socket storage"
		assert_ge "$((est + missed))" "$3" "connections given state (all of them)"
		return
	fi
	grep -q 'socket state only for the sockets of the processes traced' "$1.err" ||
		fail "socket storage without owner marks"
	assert_le "$est" "$3" "connections given state: the traced ones only"
	assert_ge "$((est + missed))" "$3" "connections given state: every traced one (but for runs missed)"
}

lk_bg ip netns exec "$LAB_S" "$T" server -j --nodelay "0.0.0.0:$PORT" >"$LK_TMP/srv"
sp=$LK_LAST_PID
lk_bg ip netns exec "$LAB_S" "$T" server --nodelay "0.0.0.0:$((PORT + 1))"
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "server not listening"
lk_wait_for 5 lk_listening "$LAB_S" $((PORT + 1)) || fail "the untraced server not listening"

# 1. -p SERVER: its listener predates tcplat.
lk_tcplat_bg "$LK_TMP/p" -p "$sp"
tp=$LK_TCPLAT_PID
grep -q '^tcplat: 1 listening sockets of the processes traced' "$LK_TMP/p.err" ||
	grep -q 'socket state in an LRU hash' "$LK_TMP/p.err" ||
	{ cat "$LK_TMP/p.err"; fail "-p: the server's listener not found"; }
untraced
lk_in_client "$T" client -j --nodelay -n $C --requests $N "$LAB_S_IP:$PORT" >"$LK_TMP/cli" ||
	fail "client failed"
untraced
assert_eq "$(jq 'select(.type == "summary") | .requests' "$LK_TMP/cli")" $N "tcpreq client requests"
sleep 0.3
kill -INT "$tp"; wait "$tp" || { cat "$LK_TMP/p.err"; fail "tcplat -p failed"; }
check "$LK_TMP/p" $N $C
assert_eq "$(jq 'select(.type == "summary") | .bytes_in' "$LK_TMP/p")" \
	"$(jq 'select(.type == "summary") | .bytes_out' "$LK_TMP/cli")" "-p: bytes in = client's bytes out"

# 2. -c NAME: the server and the client start after tcplat.
lk_tcplat_bg "$LK_TMP/c" -c "$NAME"
tp=$LK_TCPLAT_PID
lk_bg ip netns exec "$LAB_S" "$LK_TMP/$NAME" server --nodelay "0.0.0.0:$((PORT + 2))"
lk_wait_for 5 lk_listening "$LAB_S" $((PORT + 2)) || fail "server $NAME not listening"
untraced
lk_in_client "$LK_TMP/$NAME" client -j --nodelay -n $C --requests $N "$LAB_S_IP:$((PORT + 2))" \
	>"$LK_TMP/cli2" || fail "client $NAME failed"
untraced
sleep 0.3
kill -INT "$tp"; wait "$tp" || { cat "$LK_TMP/c.err"; fail "tcplat -c failed"; }
# Both ends: the client's requests and the server's.
check "$LK_TMP/c" $((2 * N)) $((2 * C))
