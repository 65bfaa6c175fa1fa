#!/bin/bash
# Every attach method this kernel offers gives the same figures: for
# each of tp_btf, raw_tp, fentry and kprobe (forced with LK_METHODS;
# fentry and kprobe are exercised where the kernel allows them: 6.1, in
# make vmtest; alone they also cover roles and closes through
# tcp_set_state(), state dropped at CLOSE without tcp_destroy_sock, and
# servers timed from the first read without an arrival hook), tcplat
# -v must say it uses it (for the send's entry too), and a client-side and a server-side tcplat
# must both count tcpreq's requests and bytes exactly.  The client's p50
# is at most tcpreq's, and only roughly compared from below (40%): under
# qemu TCG the methods' own cost and the emulation's jitter are large.
. "$(dirname "$0")/../lib.sh"
lk_tcplat_lab
PORT=23324
N=300

lk_bg ip netns exec "$LAB_S" "$T" server --nodelay "0.0.0.0:$PORT"
lk_wait_for 10 lk_listening "$LAB_S" "$PORT" || fail "server not listening"

# start SIDE NS ROLE: tcplat on one side, with LK_METHODS=$methods.
start() {
	local o=$LK_TMP/$m.$1
	LK_METHODS=$methods timeout -s INT "$LK_HANG" "$OUTPUT/tcplat" -v -j --netns "$2" -c tcpreq \
		--role "$3" >"$o" 2>"$o.err" &
	LK_PIDS+=($!); eval "tp_$1=$!"
	lk_wait_for 60 grep -q "tracing\|none of" "$o.err" ||
		{ cat "$o.err"; fail "tcplat ($m, $1) neither started nor said the method is missing"; }
	grep -q tracing "$o.err"
}
stop() {
	local tp
	eval "tp=\$tp_$1"
	kill -INT "$tp" 2>/dev/null
	wait "$tp" || { cat "$LK_TMP/$m.$1.err"; fail "tcplat ($m, $1) failed"; }
}

tested=0
for m in tp_btf raw_tp fentry kprobe; do
	methods=$m tp_s=
	if ! start c "$LAB_C" client || ! start s "$LAB_S" server; then
		echo "method $m: not available here: $(grep -hv hook "$LK_TMP/$m".*.err)"
		for tp in "$tp_c" "${tp_s:-}"; do
			[ -n "$tp" ] && { kill -INT "$tp"; wait "$tp"; }
		done 2>/dev/null
		continue
	fi
	used=$(sed -n 's/.*hook sock:sock_recv_length: using \([a-z_]*\).*/\1/p; s/.*hook tcp_recvmsg(): using \([a-z_]*\).*/\1/p' \
		"$LK_TMP/$m.c.err")
	if [ "$used" != "$m" ]; then
		stop c; stop s
		echo "method $m: not exercised, this kernel offers $used first"
		continue
	fi
	# The client's clock: a send's entry into TCP by the same method.
	# Kernels before 6.13 have the sock tracepoints (6.3+) without
	# tcp:tcp_sendmsg_locked: Debian's 6.12 (make vmtest) failed here
	# with tp_btf, which has no send's entry there; the tracepoint
	# methods then start a client request at its first send's return,
	# fentry and kprobe hook tcp_sendmsg() as always.
	if [ -d /sys/kernel/tracing/events/tcp ] &&
		[ ! -d /sys/kernel/tracing/events/tcp/tcp_sendmsg_locked ] &&
		{ [ "$m" = tp_btf ] || [ "$m" = raw_tp ]; }; then
		! grep -q "hook tcp:tcp_sendmsg_locked: using" "$LK_TMP/$m.c.err" ||
			fail "$m: tcplat claims a send's entry the kernel lacks: $(grep 'tcp_sendmsg_locked: using' "$LK_TMP/$m.c.err")"
		grep -q "client requests start when their first send returns" "$LK_TMP/$m.c.err" ||
			fail "$m: -v does not say client requests start at the send's return"
		entry=0
	else
		entry=1
		grep -q "hook tcp:tcp_sendmsg_locked: using $m" "$LK_TMP/$m.c.err" ||
			fail "$m: the send's entry is not hooked with $m"
		grep -q "client requests start when their first send enters TCP" "$LK_TMP/$m.c.err" ||
			fail "$m: -v does not say where client requests start"
	fi
	lk_in_client "$T" client -j --nodelay -n 2 --requests $N "$LAB_S_IP:$PORT" >"$LK_TMP/$m.tcpreq" ||
		fail "client failed"
	# The server's last reply has been sent, and its close seen, once
	# the server's namespace holds no connection but TIME-WAIT.
	lk_wait_for 30 sh -c "! ip netns exec $LAB_S ss -Htan | grep -vqE '^(LISTEN|TIME-WAIT) '" ||
		fail "$m: the connections did not close"
	stop c; stop s
	c=$(jq -c 'select(.type == "summary")' "$LK_TMP/$m.tcpreq")
	for side in c s; do
		t=$(jq -c 'select(.type == "summary")' "$LK_TMP/$m.$side")
		assert_eq "$(jq .requests <<<"$t")" $N "$m ($side): requests"
		assert_eq "$(jq '.bytes_in + .bytes_out' <<<"$t")" "$(jq '.bytes_in + .bytes_out' <<<"$c")" \
			"$m ($side): bytes"
	done
	if [ $entry = 1 ]; then
		# Inside tcpreq's round trip, from the send's entry: no more
		# than it, one bucket of each histogram aside; below it by
		# tcpreq's own time, which the methods' cost and qemu TCG's
		# jitter make large (40% or 30 us; at most 6.4% measured, on
		# the host and in both guests).
		assert_le "$(jq .p50_us "$LK_TMP/$m.c" | tail -1)" "$(lk_nested_bound "$(jq .p50_us <<<"$c")")" \
			"$m: client p50 <= tcpreq's (nested)"
		assert_ge "$(jq .p50_us "$LK_TMP/$m.c" | tail -1)" "$(jq '[.p50_us * 0.6, .p50_us - 30] | min' <<<"$c")" \
			"$m: client p50 >= tcpreq's - 40% (or 30 us)"
	else
		# From the send's return, each request's interval lies inside
		# tcpreq's, which holds the send syscall: on veth that carries
		# the request through the server's stack (under TCG on 6.12,
		# raw_tp: p50 4352 us against tcpreq's 7594).  So no more than
		# it, one bucket of each histogram aside.
		assert_le "$(jq .p50_us "$LK_TMP/$m.c" | tail -1)" "$(lk_nested_bound "$(jq .p50_us <<<"$c")")" \
			"$m: client p50 (from the send's return) <= tcpreq's (nested)"
	fi
	tested=$((tested + 1))
done
assert_ge "$tested" 1 "methods tested"
