#!/bin/bash
# Runs the test suite (tests/run.sh) N times to find tests that fail by
# chance, then prints each test's pass rate and, for every failure, the
# log kept for that run:
#	tests/repeat.sh [N]		(make check-repeat N=5; N is 3 unless given)
# run.sh writes its logs to $OUTPUT/test-logs, which the next run
# overwrites: each failing log is copied to $OUTPUT/repeat/RUN/NAME.log
# (and each run's whole output to $OUTPUT/repeat/RUN/run.out).
# TESTS=glob and LK_VMTEST=0 (leave the qemu guest test out) pass through.
# Exits non-zero if any run had a failure.
set -u
cd "$(dirname "$0")/.."
export OUTPUT=${OUTPUT:-$PWD/build}
N=${1:-3}
case "$N" in '' | *[!0-9]* | 0) echo "usage: $0 [N]  (N runs, N >= 1)" >&2; exit 2 ;; esac
REPDIR=$OUTPUT/repeat
LOGDIR=$OUTPUT/test-logs
rm -rf "$REPDIR"
mkdir -p "$REPDIR"

declare -A pass fail skip fails
order=()
bad_runs=0

for ((run = 1; run <= N; run++)); do
	mkdir -p "$REPDIR/$run"
	# No log of an earlier run may pass for this one's.
	rm -rf "$LOGDIR"
	echo "== run $run/$N  $(date '+%F %T')  load $(cut -d' ' -f1-3 /proc/loadavg)"
	start=$(date +%s)
	bash tests/run.sh 2>&1 | tee "$REPDIR/$run/run.out"
	rc=${PIPESTATUS[0]}
	[ "$rc" -gt 128 ] && [ "$rc" -lt 160 ] && { echo "run.sh ended by signal $((rc - 128))"; exit "$rc"; }
	[ "$rc" = 0 ] || bad_runs=$((bad_runs + 1))
	echo "== run $run/$N: exit $rc, $(( $(date +%s) - start ))s"
	while read -r verdict name _; do
		[ -n "${pass[$name]+x}" ] || { order+=("$name"); pass[$name]=0 fail[$name]=0 skip[$name]=0 fails[$name]=; }
		case $verdict in
		PASS) pass[$name]=$((pass[$name] + 1)) ;;
		SKIP) skip[$name]=$((skip[$name] + 1)) ;;
		FAIL) fail[$name]=$((fail[$name] + 1))
		      kept=$REPDIR/$run/$name.log
		      mkdir -p "$(dirname "$kept")"
		      cp "$LOGDIR/${name//\//-}.log" "$kept" 2>/dev/null || kept="(no-log-found)"
		      fails[$name]="${fails[$name]} $kept" ;;
		esac
	done < <(grep -E '^(PASS|FAIL|SKIP) ' "$REPDIR/$run/run.out")
done

echo
echo "pass rates over $N runs (failing logs kept in $REPDIR/RUN/):"
flaky=""
for name in "${order[@]}"; do
	p=${pass[$name]} f=${fail[$name]} s=${skip[$name]}
	ran=$((p + f))
	note=""
	[ "$s" -gt 0 ] && note="  ($s skipped)"
	if [ "$ran" = 0 ]; then
		printf '%-40s %7s\n' "$name" skipped
		continue
	fi
	printf '%-40s %7s%s\n' "$name" "$p/$ran" "$note"
	for l in ${fails[$name]}; do printf '    failed: %s\n' "$l"; done
	[ "$f" -gt 0 ] && flaky="$flaky $name"
done
[ -n "$flaky" ] && echo "failed at least once:$flaky"
echo "$N runs, $bad_runs with failures"
[ "$bad_runs" = 0 ]
