#!/bin/bash
# Every tracing tool (every tools/*.c that runs lk_run) exits non-zero
# with one line on stderr when its report cannot be written: standard
# output on /dev/full (every write fails with ENOSPC), once with two
# interval reports and once with the final report after SIGINT.  Before
# the report the tool must have loaded and attached, so a failure there
# is not what is tested: -v's "ready" line is waited for.
. "$(dirname "$0")/../lib.sh"
lk_need_root

tools=$(lk_tools_with 'lk_run(')
[ -n "$tools" ] || fail "no tool calls lk_run"
n=0
for name in $tools; do
	lk_need_bin "$name"
	args=(-v -j)
	[ "$name" = tcstamp ] && args+=(-I lo)
	for how in interval sigint; do
		f=$LK_TMP/$name.$how
		if [ $how = interval ]; then
			"$OUTPUT/$name" "${args[@]}" 0.2 2 >/dev/full 2>"$f.err" &
		else
			"$OUTPUT/$name" "${args[@]}" >/dev/full 2>"$f.err" &
		fi
		pid=$!; LK_PIDS+=($pid)
		lk_wait_lines 60 "$f.err" "ready: programs attached" || { cat "$f.err"; fail "$name did not start"; }
		[ $how = sigint ] && kill -INT $pid
		rc=0
		wait $pid || rc=$?
		[ $rc = 1 ] || { cat "$f.err"; fail "$name ($how): exit status $rc, not 1, with its report unwritable"; }
		grep -q "^$name: writing the report failed: No space left on device" "$f.err" ||
			{ cat "$f.err"; fail "$name ($how): no line saying the report failed"; }
		ok "$name ($how): exit 1, '$(grep -m1 'writing the report' "$f.err")'"
	done
	n=$((n + 1))
done
assert_ge "$n" 5 "tracing tools checked"
