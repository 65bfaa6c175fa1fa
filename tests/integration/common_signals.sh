#!/bin/bash
# A stop asked for while a tool is still loading its BPF programs (a
# second or more under qemu TCG) is kept: the tool finishes loading,
# prints its final JSON summary, detaches and exits 0.  Started from a
# script, a background job has SIGINT ignored; without the hold it
# would be lost and the tool would run on.  Then SIGTERM once running,
# and SIGHUP (a closed terminal): the same summary, exit 0, nothing of
# the tool's left on the interface it watched.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd bpftool

# SigBlk holds SIGHUP (1), SIGINT (2) and SIGTERM (15): bits 0, 1, 14.
holding() {
	local m
	m=$(awk '$1 == "SigBlk:" { print $2 }' "/proc/$1/status" 2>/dev/null)
	[ -n "$m" ] && (((16#$m & 0x4003) == 0x4003))
}
# Program ids the process holds (its prog and link fds say so).
prog_ids() { cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -u; }
alive() { for id in $1; do bpftool prog show id "$id" >/dev/null 2>&1 && echo "$id"; done; }
none_alive() { [ -z "$(alive "$1")" ]; }

stop_and_check() {
	local name=$1 pid=$2 sig=$3 when=$4 rc=0
	kill -"$sig" "$pid"
	lk_wait_for 60 sh -c "! kill -0 $pid" || fail "$name: still running 60 s after SIG$sig $when"
	wait "$pid" || rc=$?
	[ $rc = 0 ] || { cat "$LK_TMP/$name.err"; fail "$name: exit status $rc after SIG$sig $when"; }
	grep -q '"type":"summary"' "$LK_TMP/$name.out" || fail "$name: no summary after SIG$sig $when"
	ok "$name: SIG$sig $when: summary, exit 0"
}

lo_filters() { tc filter show dev lo ingress; tc filter show dev lo egress; }
before=$(lo_filters)
n=0
for name in cpuusage syslat tcplat tcpretrans_cnt tcstamp; do
	[ -x "$OUTPUT/$name" ] || continue
	args=(-j)
	[ $name = tcstamp ] && args+=(-I lo)
	"$OUTPUT/$name" "${args[@]}" >"$LK_TMP/$name.out" 2>"$LK_TMP/$name.err" &
	pid=$!; LK_PIDS+=($pid)
	lk_wait_for 10 holding $pid || fail "$name: never held its exit signals"
	stop_and_check $name $pid INT "during the load"

	for sig in TERM HUP; do
		"$OUTPUT/$name" -v "${args[@]}" >"$LK_TMP/$name.out" 2>"$LK_TMP/$name.err" &
		pid=$!; LK_PIDS+=($pid)
		lk_wait_lines 60 "$LK_TMP/$name.err" "ready: programs attached" ||
			{ cat "$LK_TMP/$name.err"; fail "$name did not start"; }
		ids=$(prog_ids $pid | tr '\n' ' ')
		[ -n "$ids" ] || fail "$name holds no BPF programs once ready"
		stop_and_check $name $pid $sig "once running"
		# The kernel frees a program after an RCU grace period: not at once.
		lk_wait_for 10 none_alive "$ids" ||
			fail "$name: programs still loaded after SIG$sig: $(alive "$ids")"
		ok "$name: its programs unloaded after SIG$sig (ids $ids)"
	done
	n=$((n + 1))
done
assert_ge $n 1 "tools checked"
assert_eq "$(lo_filters)" "$before" "tc filters on lo, after as before"
