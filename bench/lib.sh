# Helpers the bench scripts share; sourced, not run.

# bench_median [-s]: the median of the numbers on stdin, one per line
# (the mean of the middle two for an even count); with -s, "min median
# max" to 4 decimals.
bench_median() {
	sort -g | awk -v spread="${1:-}" '{ v[NR] = $1 } END {
		if (!NR) exit 1
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		if (spread) printf "%.4f %.4f %.4f\n", v[1], m, v[NR]; else print m }'
}
bench_spread() { bench_median -s; }

# bench_prog_ids PID: ids of the BPF programs the process holds, from its
# descriptors' fdinfo (bpftool's per-process view needs a bpftool built
# with skeletons, which Debian's is not).
bench_prog_ids() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = anon_inode:bpf-prog ] || continue
		awk '$1 == "prog_id:" { print $2 }' /proc/"$1"/fdinfo/"${fd##*/}" 2>/dev/null
	done | sort -u
}

# bench_nlinks PID: how many BPF links the process holds.
bench_nlinks() {
	local fd n=0
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = anon_inode:bpf_link ] && n=$((n + 1))
	done
	echo $n
}

# bench_prog_stats PID: "name run_time_ns run_cnt" for each BPF program
# the process holds, sorted by name (the counts grow only while the
# kernel.bpf_stats_enabled sysctl is 1).
bench_prog_stats() {
	local id
	for id in $(bench_prog_ids "$1"); do
		bpftool -j prog show id "$id" 2>/dev/null |
			jq -r '"\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"'
	done | sort
}

# bench_tracefs: mount tracefs if it is not (the peers' classic
# tracepoints need it); the caller's cleanup runs bench_tracefs_undo.
BENCH_TRACEFS_MOUNTED=
bench_tracefs() {
	[ -d /sys/kernel/tracing/events ] && return 0
	mount -t tracefs nodev /sys/kernel/tracing && BENCH_TRACEFS_MOUNTED=1
}
bench_tracefs_undo() {
	[ -n "$BENCH_TRACEFS_MOUNTED" ] && umount /sys/kernel/tracing
	BENCH_TRACEFS_MOUNTED=
}
