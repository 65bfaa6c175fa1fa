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

# held PID BIN: 0 once BIN (not the shell about to exec it) holds SIGHUP
# (1), SIGINT (2) and SIGTERM (15), bits 0, 1 and 14 of SigBlk, with no
# handler yet; 2 once it handles them (the load is over: too late); 1
# before.  Builtins only, so that it can be polled without a pause.
held() {
	local k v blk=0 cgt=0
	[ /proc/$1/exe -ef "$2" ] || return 1
	while read -r k v; do
		case $k in SigBlk:) blk=$v ;; SigCgt:) cgt=$v ;; esac
	done <"/proc/$1/status"
	(((16#$cgt & 0x4003) == 0x4003)) && return 2
	(((16#$blk & 0x4003) == 0x4003))
}

# start_held NAME ARGS...: start the tool and return (its PID in $pid)
# while it loads, signals held.  Up to 5 tries: a load can be too quick.
start_held() {
	local name=$1 try i rc; shift
	for try in 1 2 3 4 5; do
		"$OUTPUT/$name" "$@" >"$f.out" 2>"$f.err" &
		pid=$!; LK_PIDS+=($pid)
		for ((i = 0; i < 20000; i++)); do
			held $pid "$OUTPUT/$name"; rc=$?
			[ $rc = 0 ] && return 0
			[ $rc = 2 ] && break
			kill -0 $pid 2>/dev/null || break
		done
		kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null
	done
	return 1
}

# stop_and_check NAME PID SIG WHEN FILES: FILES.out and FILES.err hold
# the tool's output.
stop_and_check() {
	local name=$1 pid=$2 sig=$3 when=$4 f=$5 rc=0
	kill -"$sig" "$pid"
	lk_wait_for 60 sh -c "! kill -0 $pid" || fail "$name: still running 60 s after SIG$sig $when"
	wait "$pid" || rc=$?
	[ $rc = 0 ] || { cat "$f.err"; fail "$name: exit status $rc after SIG$sig $when"; }
	grep -q '"type":"summary"' "$f.out" || fail "$name: no summary after SIG$sig $when"
	ok "$name: SIG$sig $when: summary, exit 0"
}

lo_filters() { tc filter show dev lo ingress; tc filter show dev lo egress; }
before=$(lo_filters)
n=0
# Every tracing tool: every tools/*.c that runs lk_run.
tracers=$(lk_tools_with 'lk_run(')
[ -n "$tracers" ] || fail "no tool calls lk_run"
for name in $tracers; do
	lk_need_bin "$name"
	args=(-j)
	[ $name = tcstamp ] && args+=(-I lo)
	f=$LK_TMP/$name.INT
	start_held $name "${args[@]}" || fail "$name: never seen loading with its exit signals held"
	stop_and_check $name $pid INT "during the load" "$f"

	for sig in TERM HUP; do
		f=$LK_TMP/$name.$sig
		"$OUTPUT/$name" -v "${args[@]}" >"$f.out" 2>"$f.err" &
		pid=$!; LK_PIDS+=($pid)
		lk_wait_lines 60 "$f.err" "ready: programs attached" || { cat "$f.err"; fail "$name did not start"; }
		ids=$(lk_prog_ids $pid | tr '\n' ' ')
		[ -n "$ids" ] || fail "$name holds no BPF programs once ready"
		stop_and_check $name $pid $sig "once running" "$f"
		lk_wait_for 10 lk_progs_gone "$ids" ||
			fail "$name: programs still loaded after SIG$sig: $(lk_progs_alive "$ids")"
		ok "$name: its programs unloaded after SIG$sig (ids $ids)"
	done
	n=$((n + 1))
done
assert_ge $n 1 "tools checked"
assert_eq "$(lo_filters)" "$before" "tc filters on lo, after as before"
