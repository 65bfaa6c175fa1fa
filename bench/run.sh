#!/bin/bash
# Run every bench/*.sh (or those named in BENCH=glob) and print one table
# of the RESULT|bench|metric|value|goal lines they emit.
set -u
cd "$(dirname "$0")/.."
export OUTPUT=${OUTPUT:-$PWD/build}
export LK_TOP=$PWD
results=$(mktemp)
for b in bench/*.sh; do
	case "$b" in bench/run.sh|bench/lib.sh) continue ;; esac
	name=$(basename "$b" .sh)
	case "$name" in ${BENCH:-*}) ;; *) continue ;; esac
	# The soak runs for half an hour: only when named (make soak, BENCH=soak).
	[ "$name" = soak ] && [ -z "${BENCH:-}" ] && continue
	echo "== $name" >&2
	bash "$b" 2>&1 | tee /dev/stderr | grep '^RESULT|' >>"$results"
done
printf '\n%-16s %-40s %14s  %s\n' bench metric value goal
awk -F'|' '{ printf "%-16s %-40s %14s  %s\n", $2, $3, $4, $5 }' "$results"
rm -f "$results"
