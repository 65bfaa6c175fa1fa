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
bench_prog_ids() { bench_bpf_ids "$1" prog; }

# bench_bpf_ids PID prog|map: the ids of the BPF programs or maps PID
# holds open, from its descriptors' fdinfo.
bench_bpf_ids() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:bpf-$2" ] || continue
		awk -v k="$2_id:" '$1 == k { print $2 }' /proc/"$1"/fdinfo/"${fd##*/}" 2>/dev/null
	done | sort -un
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

# bench_prog_sum PID: "run_time_ns run_cnt" summed over the BPF programs
# the process holds.
bench_prog_sum() {
	bench_prog_stats "$1" | awk '{ t += $2; n += $3 } END { printf "%.0f %.0f\n", t, n }'
}

# bench_prog_stats_ids PID: "id name run_time_ns run_cnt" per program, by
# id (names need not be unique: two snapshots are joined on the id).
bench_prog_stats_ids() {
	local id
	for id in $(bench_prog_ids "$1"); do
		bpftool -j prog show id "$id" 2>/dev/null |
			jq -r '"\(.id) \(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"'
	done | sort -n
}

# bench_prog_delta BEFORE AFTER: "name ns_per_run runs" per program from
# two bench_prog_stats_ids snapshots (files), programs that ran only.
bench_prog_delta() {
	awk 'FILENAME == ARGV[1] { t[$1] = $3; n[$1] = $4; next }
	     { dn = $4 - n[$1]; if (dn > 0) printf "%s %.1f %.0f\n", $2, ($3 - t[$1]) / dn, dn }' "$1" "$2"
}

# bench_hooks FILE: the hooks a latkit tool chose, from its -v lines
# ("hook CAT:NAME: using METHOD", "hook ...: using METHOD on FUNC()"), as
# bench/emptyprog arguments: tp_btf:NAME, raw_tp:NAME, tp:CAT/NAME; other
# methods as METHOD:FUNC, which emptyprog refuses by name.  One per line,
# each once.  Iterators are left out: they run when the tool reads them
# (tcplat's final report), on no event of the load.
bench_hooks() {
	sed -En 's/^.*hook ([^ ]+): using ([a-z_]+)( on ([^ (]+)\(\))?$/\2 \1 \4/p' "$1" |
		while read -r method what func; do
			case "$method" in
			iter) ;;
			tp_btf|raw_tp) echo "$method:${what#*:}" ;;
			tracepoint) echo "tp:${what%%:*}/${what#*:}" ;;
			*) echo "$method:${func:-$what}" ;;
			esac
		done | awk '!seen[$0]++'
}

# bench_wait_line FILE REGEX PID [SECS]: wait until FILE has a line that
# matches REGEX (grep -E); fails when PID ends first or after SECS (10).
bench_wait_line() {
	local i
	for ((i = 0; i < ${4:-10} * 20; i++)); do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		bench_alive "$3" || return 1
		sleep 0.05
	done
	return 1
}

# bench_alive PID: the process exists and is not a zombie.
bench_alive() {
	local st
	st=$(sed 's/.*) //' /proc/"$1"/stat 2>/dev/null | cut -d' ' -f1)
	[ -n "$st" ] && [ "$st" != Z ]
}

# bench_stop PID [SIGNAL [SECS]]: signal a child (TERM by default), wait
# for it at most SECS (10), then KILL it; reaps it.
bench_stop() {
	local p=$1 i
	[ -n "$p" ] || return 0
	kill -"${2:-TERM}" "$p" 2>/dev/null
	for ((i = 0; i < ${3:-10} * 20; i++)); do
		bench_alive "$p" || break
		sleep 0.05
	done
	bench_alive "$p" && kill -KILL "$p" 2>/dev/null
	wait "$p" 2>/dev/null
	return 0
}

# bench_free_port: a TCP port nothing listens on (127.0.0.1 or any).
bench_free_port() {
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 40000))
		[ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ] && { echo "$p"; return 0; }
	done
	return 1
}

# bench_ratio A B: A / B to 4 decimals; nothing when either is missing or
# B is 0 (bench_med leaves such rounds out).
bench_ratio() {
	awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a != "" && b + 0 > 0 && a + 0 > 0) printf "%.4f\n", a / b }'
}

# bench_med VALUE...: the median of the non-empty values, "n/a" if none.
bench_med() {
	local v
	for v in "$@"; do [ -n "$v" ] && echo "$v"; done | bench_median || echo n/a
}

# bench_kill_tree PID: TERM a child and everything below it, by id
# (children first), and reap it.
bench_descendants() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		bench_descendants "$c"
		echo "$c"
	done
}
bench_kill_tree() {
	local p
	for p in $(bench_descendants "$1") "$1"; do kill -TERM "$p" 2>/dev/null; done
	wait "$1" 2>/dev/null
	return 0
}

# bench_emptyprog DIR: sets EMPTYPROG to the empty-program loader (the
# one make bench built, else one compiled into DIR now) and empty_why to
# why there is none ("" when there is).
bench_emptyprog() {
	local dir=$1 here
	here=$(dirname "${BASH_SOURCE[0]}")
	empty_why=
	EMPTYPROG=${EMPTYPROG:-$OUTPUT/bench/emptyprog}
	if [ ! -x "$EMPTYPROG" ] && [ -f "$here/emptyprog.c" ]; then
		EMPTYPROG=$dir/emptyprog
		# shellcheck disable=SC2046
		cc -O2 -o "$EMPTYPROG" "$here/emptyprog.c" \
			$(pkg-config --cflags --libs libbpf 2>/dev/null || echo -lbpf) 2>"$dir/cc.err" ||
			empty_why="cannot build emptyprog: $(head -n 1 "$dir/cc.err")"
	fi
	[ -x "$EMPTYPROG" ] || empty_why=${empty_why:-"no emptyprog"}
}

# bench_check BENCH WHAT GOT WANT [DROPS [GOAL]]: GOT against WANT,
# exact, or short by no more than the DROPS the tool showed; anything
# else (short beyond the drops, over, no figure) is a FAIL, counted in
# $fails.  Prints PASS/FAIL and a RESULT line for BENCH.
bench_check() {
	local bench=$1 what=$2 got=$3 want=$4 drops=${5:-0} goal=${6:-"exact, or the shortfall in drops"} v
	v=$(awk -v g="$got" -v w="$want" -v d="$drops" 'BEGIN {
		if (g == "" || w == "" || g == "null" || w == "null") print "FAIL no figure"
		else if (g == w) print "exact"
		else if (g < w && w - g <= d) printf "counted (short %d, drops %d)\n", w - g, d
		else if (g < w) printf "FAIL silent loss: short %d, drops shown %d\n", w - g, d
		else printf "FAIL over-count: %d more\n", g - w }')
	case "$v" in
	FAIL*) echo "FAIL: $what: $got against $want: $v"; fails=$((fails + 1)) ;;
	*) echo "PASS: $what: $got against $want: $v" ;;
	esac
	echo "RESULT|$bench|$what|$got vs $want: $v|$goal"
}

# bench_pass_if BENCH WHAT VALUE GOAL COND: a check that is an awk
# condition; a FAIL is counted in $fails.
bench_pass_if() {
	if awk "BEGIN { exit !($5) }"; then
		echo "PASS: $2: $3 ($4)"
		echo "RESULT|$1|$2|PASS $3|$4"
	else
		echo "FAIL: $2: $3 ($4)"
		echo "RESULT|$1|$2|FAIL $3|$4"
		fails=$((fails + 1))
	fi
}

# bench_mib NS "Tcp RetransSegs": a counter of /proc/net/snmp or netstat
# in the network namespace NS.
bench_mib() {
	ip netns exec "$1" cat /proc/net/snmp /proc/net/netstat | awk -v p="${2% *}:" -v f="${2#* }" '
		$1 == p && !hdr { for (i = 2; i <= NF; i++) col[$i] = i; hdr = 1; next }
		$1 == p && hdr { if (f in col) print $col[f]; exit }'
}

# bench_tool NAME CMD...: a tool in the background, JSON to $tmp/NAME.json,
# stderr to $tmp/NAME.err, its PID in PID[NAME] (an associative array
# the caller declares) and in pids; returns once its programs are
# attached, and exits the bench if they never are.
bench_tool() {
	local name=$1; shift
	: >"$tmp/$name.json"
	: >"$tmp/$name.err"
	"$@" >"$tmp/$name.json" 2>"$tmp/$name.err" &
	PID[$name]=$!
	pids+=("$!")
	bench_wait_line "$tmp/$name.err" 'ready: programs attached' "$!" 60 && return 0
	echo "$name did not start: $(tail -n 3 "$tmp/$name.err")"
	exit 1
}

# bench_reports NAME JQ: JQ summed over every report (interval and
# summary) of the tool NAME ($tmp/NAME.json).
bench_reports() { jq -s "[.[] | select(.type == \"interval\" or .type == \"summary\") | $2] | add // 0" "$tmp/$1.json"; }

# bench_rss_kb PID [FIELD]: VmRSS (or FIELD) of PID in KiB.
bench_rss_kb() { awk -v k="${2:-VmRSS}:" '$1 == k { print $2 }' /proc/"$1"/status 2>/dev/null; }

# bench_map_ids PID: the ids of the BPF maps PID holds open.
bench_map_ids() { bench_bpf_ids "$1" map; }

# bench_quiet NS...: wait (at most 180 s) until every TCP socket of the
# namespaces is LISTEN, TIME-WAIT or FIN-WAIT-2: nothing left that could
# retransmit.
bench_quiet() {
	local i n ns
	for ((i = 0; i < 360; i++)); do
		n=0
		for ns in "$@"; do
			n=$((n + $(ip netns exec "$ns" ss -Htan | awk '$1 != "LISTEN" && $1 != "TIME-WAIT" && $1 != "FIN-WAIT-2"' | wc -l)))
		done
		[ "$n" = 0 ] && return 0
		sleep 0.5
	done
	echo "after 180 s, $n sockets still open"
	return 1
}

# bench_need_built NAME...: each $OUTPUT/NAME built, else say so and exit.
bench_need_built() {
	local b
	for b in "$@"; do
		[ -x "$OUTPUT/$b" ] || { echo "$OUTPUT/$b not built (make OUTPUT=... all test-bins)"; exit 1; }
	done
}

# bench_per_change FILE REGEX: ns per event of the programs whose names
# match REGEX in a bench_prog_delta FILE, where each event runs them all
# (a program and its twin, bpf/twin.bpf.h): their time over the most
# runs of one of them; "-" if none ran.
bench_per_change() {
	awk -v re="$2" '$1 ~ re { t += $2 * $3; if ($3 > n) n = $3 }
		END { if (n) printf "%.0f", t / n; else printf "-" }' "$1"
}

# The floor benches (a tool against its floor and the empty program on
# the same hooks) share these.  The calling script defines run (one load
# run; its first word is the rate) and start_tool ARGS... (sets $tool,
# once the tool is ready; its -v lines in $tmp/err, its output in
# $tmp/out), and keeps its files in $tmp.

# bench_stop_tool, bench_stop_empty: stop the tool ($tool) or the empty
# program ($empty) if running.
bench_stop_tool() {
	[ -n "$tool" ] || return 0
	bench_stop "$tool" INT
	tool=
}

bench_stop_empty() {
	[ -n "$empty" ] || return 0
	bench_stop "$empty" INT
	empty=
}

# bench_start_tool READY CMD...: CMD in the background ($tool), its
# output in $tmp/out and its -v lines in $tmp/err, back once a line of
# these matches READY.  The files are emptied here, not by the child's
# redirection, which may come after the wait has read the last run's.
bench_start_tool() {
	local ready=$1
	shift
	: >"$tmp/out"
	: >"$tmp/err"
	"$@" >"$tmp/out" 2>"$tmp/err" &
	tool=$!
	bench_wait_line "$tmp/err" "$ready" "$tool" 60 && return 0
	echo "$(basename "$1") did not start: $(head -n 1 "$tmp/err")"
	exit 1
}

# bench_run_with ARGS...: one load run under the tool with ARGS.
bench_run_with() {
	local r
	start_tool "$@"
	r=$(run)
	bench_stop_tool
	echo "$r"
}

# bench_interleave ROUNDS UNIT: ROUNDS rounds of the load without the
# tool, with it (ARGS in the array BENCH_WITH) and at its floor
# (BENCH_FLOOR), the order turning each round (a load that grows or fades
# favours none); the rates without, and the with/without and
# floor/without ratios, appended to $tmp/bases, $tmp/ratios, $tmp/floors.
bench_interleave() {
	local i base with floor r f
	for ((i = 0; i < $1; i++)); do
		if ((i % 2)); then
			with=$(bench_run_with "${BENCH_WITH[@]}")
			floor=$(bench_run_with "${BENCH_FLOOR[@]}")
			base=$(run)
		else
			base=$(run)
			floor=$(bench_run_with "${BENCH_FLOOR[@]}")
			with=$(bench_run_with "${BENCH_WITH[@]}")
		fi
		if [ -z "$base" ] || [ -z "$with" ] || [ -z "$floor" ]; then
			echo "a run produced nothing"
			exit 1
		fi
		base=${base%% *} with=${with%% *} floor=${floor%% *}
		r=$(bench_ratio "$with" "$base")
		f=$(bench_ratio "$floor" "$base")
		echo "round $i: $2 without $base, with $with ($r), floor $floor ($f)" >&2
		echo "$base" >>"$tmp/bases"
		echo "$r" >>"$tmp/ratios"
		echo "$f" >>"$tmp/floors"
	done
}

# bench_twin_hooks FILE: the hooks in FILE (bench_hooks), the state
# tracepoint's twice where latkit's tools run a program and its twin
# there (bpf/twin.bpf.h: tp_btf and raw_tp, not the classic tracepoint).
bench_twin_hooks() {
	cat "$1"
	grep -m 1 -E '^(tp_btf|raw_tp):inet_sock_set_state$' "$1" || true
}

# bench_empty_hooks ARGS...: the hooks the tool chose with ARGS (its -v
# lines) into $tmp/hooks, with the twins' (bench_twin_hooks); the -v
# lines in $tmp/tool.err.  Then finds or builds the empty program.
bench_empty_hooks() {
	start_tool "$@"
	bench_hooks "$tmp/err" >"$tmp/hooks.chosen"
	bench_twin_hooks "$tmp/hooks.chosen" >"$tmp/hooks"
	cp "$tmp/err" "$tmp/tool.err"
	bench_stop_tool
	bench_emptyprog "$tmp"
}

# bench_start_empty: the empty program on $tmp/hooks (sets $empty), or
# the reason it cannot run in $empty_why.
bench_start_empty() {
	local hooks
	[ -z "$empty_why" ] || return 1
	[ -s "$tmp/hooks" ] || { empty_why="no hooks in the tool's -v lines"; return 1; }
	mapfile -t hooks <"$tmp/hooks"
	: >"$tmp/eout"
	"$EMPTYPROG" --stats "${hooks[@]}" >"$tmp/eout" 2>"$tmp/eerr" &
	empty=$!
	bench_wait_line "$tmp/eout" "^ready" "$empty" && return 0
	empty_why="emptyprog ${hooks[*]}: $(head -n 1 "$tmp/eerr")"
	bench_stop_empty
	return 1
}

# bench_stats_run NAME ARGS...: one load run under the tool with ARGS
# beside the empty programs, with run-time statistics (restored to
# $stats0 after): "prog ns_per_run runs" of each in $tmp/NAME.tool and
# $tmp/NAME.empty, the run's own output in $tmp/NAME.run, its wall time
# (ns) in $tmp/NAME.wall, the tool's reports in $tmp/NAME.out.
bench_stats_run() {
	local name=$1 t0 t1
	shift
	start_tool "$@"
	bench_start_empty
	sysctl -q -w kernel.bpf_stats_enabled=1
	bench_prog_stats_ids "$tool" >"$tmp/t0"
	[ -n "$empty" ] && bench_prog_stats_ids "$empty" >"$tmp/e0"
	t0=$(date +%s%N)
	run >"$tmp/$name.run"
	t1=$(date +%s%N)
	bench_prog_stats_ids "$tool" >"$tmp/t1"
	[ -n "$empty" ] && bench_prog_stats_ids "$empty" >"$tmp/e1"
	[ -n "$empty" ] || [ "$(sysctl -n kernel.bpf_stats_enabled)" = 1 ] ||
		echo "warning: kernel.bpf_stats_enabled was turned off during the $name run by someone else" >&2
	sysctl -q -w kernel.bpf_stats_enabled="$stats0"
	bench_prog_delta "$tmp/t0" "$tmp/t1" >"$tmp/$name.tool"
	: >"$tmp/$name.empty"
	[ -n "$empty" ] && bench_prog_delta "$tmp/e0" "$tmp/e1" >"$tmp/$name.empty"
	echo $((t1 - t0)) >"$tmp/$name.wall"
	bench_stop_empty
	bench_stop_tool
	cp "$tmp/out" "$tmp/$name.out"
}
