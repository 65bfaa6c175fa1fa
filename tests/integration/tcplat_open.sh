#!/bin/bash
# A server's last response on a connection still open when tcplat stops
# is counted at the final report (its end is known only at the next read
# or the close, which have not come).  A redis-server, a client that
# sends K PINGs one at a time, reads each reply and then holds the
# connection open; tcplat -p REDIS --role server stopped meanwhile must
# count K requests, as Redis's commandstats do: K - 1 ended by the next
# read, the last by the report.  Both homes of tcplat's per-socket state
# are checked: socket storage (the default methods, tp_btf or fentry;
# the report walks it with an iterator program) and the LRU hash
# (raw_tp or kprobe; the report walks the map).
#
# Each is run twice: the client closes after tcplat has ended, then
# while its final report is under way, between its walk of the open
# responses and its read of the maps (the LK_TEST_FINAL_WAIT knob holds
# the report there until Redis has closed its end).  The close ends the
# last response in the programs too; it must be counted once: a report
# that read the maps before its walk would lose it (the close counted
# in maps already read, the walk finding the socket idle), one that
# walked first without taking the response from its socket would count
# it twice.  A client that closes as tcplat stops (redis-cli after
# tcplat_redis's INFO) meets that moment by chance.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd jq
lk_need_cmd python3
lk_need_cmd redis-server
lk_need_cmd redis-cli
lk_need_bin tcplat
K=5

lk_redis_up
pings() { rcli INFO commandstats | tr -d '\r' | awk -F'[:=,]' '$1 == "cmdstat_ping" { n = $3 } END { print n + 0 }'; }

# The server's end of the client's connection is gone (closed on EOF).
srv_closed() {
	! ss -Htn state established state close-wait state last-ack "sport = :$PORT" | grep -q .
}

for run in typed.after untyped.after typed.during untyped.during; do
	m=${run%.*} when=${run#*.}
	methods=
	[ $m = untyped ] && methods=raw_tp,kprobe
	fin=
	[ $when = during ] && fin=$LK_TMP/fin.$run
	assert_eq "$(rcli CONFIG RESETSTAT)" OK "CONFIG RESETSTAT"
	LK_TEST_FINAL_WAIT=$fin LK_METHODS=$methods lk_tcplat_bg "$LK_TMP/$run" -p "$RP" --role server
	tp=$LK_TCPLAT_PID
	# K request/reply pairs, then "done" on stdout, then the connection
	# stays open until the test writes to the FIFO (or 60 s pass).
	mkfifo "$LK_TMP/hold.$run"
	python3 - "$PORT" "$K" "$LK_TMP/hold.$run" >"$LK_TMP/py.$run" <<'EOF' &
import socket, sys, select, os
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for _ in range(int(sys.argv[2])):
    s.sendall(b"PING\r\n")
    assert s.recv(100) == b"+PONG\r\n"
print("done", flush=True)
fd = os.open(sys.argv[3], os.O_RDONLY | os.O_NONBLOCK)
select.select([fd], [], [], 60)
EOF
	py=$!; LK_PIDS+=($py)
	lk_wait_lines 20 "$LK_TMP/py.$run" done || fail "$run: the client did not finish its PINGs"
	kill -INT "$tp"
	if [ $when = during ]; then
		lk_wait_lines 30 "$LK_TMP/$run.err" "final report: waiting for" ||
			{ cat "$LK_TMP/$run.err"; fail "$run: tcplat's final report did not wait"; }
		echo x >"$LK_TMP/hold.$run"
		wait "$py" || fail "$run: the client failed"
		lk_wait_for 10 srv_closed || fail "$run: Redis did not close its end"
		touch "$fin"
	fi
	wait "$tp" || { cat "$LK_TMP/$run.err"; fail "tcplat ($run) failed"; }
	if [ $when = after ]; then
		echo x >"$LK_TMP/hold.$run"
		wait "$py" || fail "$run: the client failed"
	fi
	t=$(lk_summary "$LK_TMP/$run")
	echo "$run: $t"
	case $m in
	typed) grep -q "socket state in socket storage" "$LK_TMP/$run.err" ||
			fail "default methods: -v does not say socket storage" ;;
	untyped) grep -q "socket state in an LRU hash" "$LK_TMP/$run.err" ||
			fail "LK_METHODS=raw_tp,kprobe: -v does not say LRU hash" ;;
	esac
	assert_eq "$(pings)" "$K" "$run: Redis counted the PINGs"
	assert_eq "$(jq .requests <<<"$t")" "$K" "$run: tcplat requests, the last one on the open connection"
	assert_eq "$(jq .incomplete <<<"$t")" 0 "$run: incomplete requests"
done
