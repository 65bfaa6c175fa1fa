#!/bin/bash
# latkit test runner: unit tests (tests/unit, no root), then integration
# tests (tests/integration/*.sh, root, in throw-away namespaces).
# A test passes with exit 0, is skipped with exit 77 (its "SKIP: reason"
# line is shown), and fails otherwise.  Ends with one line:
#	N passed, N failed, N skipped
# TESTS=glob selects tests by name (e.g. TESTS='tcpretrans*').
# LK_TEST_TIMEOUT=SECS limits each test (900); a test that needs longer
# says so in a "# lk-timeout: SECS" line, which the variable overrides.
set -u
cd "$(dirname "$0")/.."
export OUTPUT=${OUTPUT:-$PWD/build}
export LK_TOP=$PWD
LOGDIR=$OUTPUT/test-logs
TIMEOUT=${LK_TEST_TIMEOUT:-900}
mkdir -p "$LOGDIR"
passed=0 failed=0 skipped=0
failed_names=""

run_one() {
	local name=$1; shift
	local log=$LOGDIR/${name//\//-}.log start rc reason limit=$TIMEOUT
	case "$name" in ${TESTS:-*}) ;; *) return ;; esac
	[ -z "${LK_TEST_TIMEOUT:-}" ] && [ -f "${2:-}" ] &&
		limit=$(sed -n 's/^# lk-timeout: *\([0-9][0-9]*\)$/\1/p' "$2" | head -n1)
	limit=${limit:-$TIMEOUT}
	start=$(date +%s)
	# setsid: a test and everything it started form one group that the
	# timeout can end; the test's own traps clean up its namespaces.
	timeout -k 20 "$limit" setsid "$@" </dev/null >"$log" 2>&1
	rc=$?
	local secs=$(( $(date +%s) - start ))
	case $rc in
	0) passed=$((passed + 1)); printf 'PASS %-40s %4ss\n' "$name" "$secs" ;;
	77) skipped=$((skipped + 1))
	    reason=$(grep -m1 '^SKIP:' "$log" | sed 's/^SKIP: *//')
	    printf 'SKIP %-40s %s\n' "$name" "${reason:-no reason given}" ;;
	*) failed=$((failed + 1)); failed_names="$failed_names $name"
	   [ $rc = 124 ] && echo "timed out after ${limit}s" >>"$log"
	   printf 'FAIL %-40s %4ss (exit %s, log %s)\n' "$name" "$secs" "$rc" "$log"
	   tail -n 25 "$log" | sed 's/^/    | /' ;;
	esac
}

for t in "$OUTPUT"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" "$t"
done

for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	name="integration/$(basename "$t" .sh)"
	if [ "$(id -u)" != 0 ]; then
		case "$name" in ${TESTS:-*}) ;; *) continue ;; esac
		skipped=$((skipped + 1))
		printf 'SKIP %-40s %s\n' "$name" "integration tests need root"
		continue
	fi
	run_one "$name" bash "$t"
done

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
