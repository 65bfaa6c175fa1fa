# shellcheck shell=bash
# Shared by the integration tests: source it first.
#
#   skip "reason"        exit 77 with "SKIP: reason"
#   fail "message"       exit 1 with "FAIL: message"
#   lk_need_bin NAME     a tool in $OUTPUT; lk_need_prog NAME: a tests/progs one
#   lk_need_cpus N       skip with fewer than N CPUs
#   lk_tools_with PAT    the tools whose source (tools/NAME.c) holds PAT, a name a line
#   lk_bg CMD...         start CMD in the background; killed at exit
#   lk_at_exit "CMD"     run CMD at exit (LIFO), even on failure
#   lk_lab_up [ARGS]     netlab up with a unique prefix; down at exit.
#                        Sets LAB, LAB_C/LAB_S (namespaces), LAB_C_IP/LAB_S_IP
#   lk_in_client CMD...  run in the lab's client namespace (and lk_in_server)
#   assert_eq A B what   assert_near VAL REF PCT ABS what
#   assert_ge A B what   assert_le A B what
#   lk_netstat NS FIELD  a counter from /proc/net/snmp or netstat in a netns
#                        (e.g. "Tcp RetransSegs"); NS "" for the root one
#   lk_prog_ids PID      BPF program ids PID holds (its prog and link fds)
#   lk_progs_alive IDS   those of IDS still loaded; lk_progs_gone IDS: none
#   LK_HANG              the bound of "timeout -s INT $LK_HANG TOOL" on a tool the
#                        test ends (signal, -p exit, count): it only stops a hang,
#                        so it is above every wait in a test, however slow the
#                        machine, and below the harness's limit on a test (900 s)
set -u
OUTPUT=${OUTPUT:-$PWD/build}
LK_TOP=${LK_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
LK_PIDS=()
LK_EXIT_CMDS=()
LK_TMP=$(mktemp -d /tmp/latkit-test.XXXXXX)
LK_HANG=600

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

lk_need_root() { [ "$(id -u)" = 0 ] || skip "needs root"; }
lk_need_cmd() { command -v "$1" >/dev/null 2>&1 || skip "$1 not installed"; }
lk_need_bin() { [ -x "$OUTPUT/$1" ] || fail "$OUTPUT/$1 not built"; }
# lk_need_prog NAME: a test helper program (tests/progs/NAME.c).
lk_need_prog() { [ -x "$OUTPUT/tests/progs/$1" ] || fail "$OUTPUT/tests/progs/$1 not built (make test-bins)"; }
# lk_need_cpus N: at least N CPUs this test may run on (nproc: the affinity mask).
lk_need_cpus() { [ "$(nproc)" -ge "$1" ] || skip "needs $1 CPUs"; }
# lk_tools_with PATTERN: e.g. lk_run( for every tracing tool.
lk_tools_with() { grep -l -- "$1" "$LK_TOP"/tools/*.c | xargs -n1 basename | sed 's/\.c$//'; }

lk_at_exit() { LK_EXIT_CMDS+=("$1"); }

lk_bg() {
	"$@" &
	LK_PIDS+=($!)
	LK_LAST_PID=$!
}

lk_cleanup() {
	local rc=$? i p mine=()
	trap - EXIT INT TERM
	# Only those not yet waited for: a PID the test already reaped may
	# since belong to anyone (PIDs wrap within minutes on a busy host).
	for p in $(jobs -p); do
		case " ${LK_PIDS[*]} " in *" $p "*) mine+=("$p") ;; esac
	done
	for p in "${mine[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${mine[@]}"; do
		for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$p" 2>/dev/null
	done
	for ((i = ${#LK_EXIT_CMDS[@]} - 1; i >= 0; i--)); do
		eval "${LK_EXIT_CMDS[$i]}" >/dev/null 2>&1
	done
	rm -rf "$LK_TMP"
	exit $rc
}
trap lk_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A short unique name (interface names have 15 characters at most).
lk_uid() { printf 'lk%x%x' $$ $((RANDOM % 4096)); }

# lk_ns_up: a throw-away network namespace with lo up, named in NS and
# deleted at exit; inns CMD... runs CMD in it.
lk_ns_up() {
	NS=$(lk_uid)
	ip netns add "$NS" || fail "ip netns add"
	lk_at_exit "ip netns del '$NS'"
	ip -n "$NS" link set lo up
}
inns() { ip netns exec "$NS" "$@"; }

lk_lab_up() {
	lk_need_bin netlab
	LAB=$(lk_uid)
	lk_at_exit "'$OUTPUT/netlab' down --prefix '$LAB'"
	"$OUTPUT/netlab" up --prefix "$LAB" "$@" || fail "netlab up failed"
	LAB_C=$LAB-client
	LAB_S=$LAB-server
	LAB_C_IP=${LAB_C_IP:-192.168.100.1}
	LAB_S_IP=${LAB_S_IP:-192.168.100.100}
}
# lk_tcplat_lab: what a test of tcplat across the lab needs (root, jq,
# tcplat and tcpreq, the lab up); T is tcpreq.
lk_tcplat_lab() {
	lk_need_root
	lk_need_cmd jq
	lk_need_bin tcplat
	lk_need_bin tcpreq
	lk_lab_up
	T=$OUTPUT/tcpreq
}
lk_in_client() { ip netns exec "$LAB_C" "$@"; }
lk_in_server() { ip netns exec "$LAB_S" "$@"; }
# lk_lab_busy: the lab's sockets neither listening nor in TIME_WAIT,
# those that can still send or retransmit a segment.
lk_lab_busy() { { lk_in_client ss -Htan; lk_in_server ss -Htan; } | grep -E -v '^(LISTEN|TIME-WAIT) '; }
lk_lab_idle() { [ -z "$(lk_lab_busy)" ]; }
# lk_lab_closed SECS: wait until the lab's connections have closed
# (lk_lab_idle); fails showing those left.
lk_lab_closed() {
	lk_wait_for "$1" lk_lab_idle && return 0
	lk_lab_busy
	fail "connections did not close in $1 s"
}
# lk_lab_ipv4_only: no IPv6 in the lab, so that nothing but the test's
# own IPv4 traffic (an IPv6 router or listener report) leaves a veth.
lk_lab_ipv4_only() {
	local ns
	for ns in "$LAB_C" "$LAB_S"; do
		ip netns exec "$ns" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 >/proc/sys/net/ipv6/conf/veth0/disable_ipv6' 2>/dev/null
	done
}
# lk_plug_held: packets in the plug's queue on the client's veth0
# (netlab --dir to-server --plug), from tc's statistics.
lk_plug_held() {
	lk_in_client tc -s qdisc show dev veth0 |
		awk '$1 == "qdisc" { q = $2 } q == "plug" && $1 == "backlog" { sub(/p$/, "", $3); print $3; exit }'
}
# lk_syn_resent DIR C0 S0: the lab's wire drops DIR (to-server: the
# client's SYNs; to-client: the server's SYN-ACKs), and each end that
# the drop makes send again has done so: TcpExt TCPSynRetrans above C0
# in the client's namespace, and for to-client above S0 in the server's
# too (the client, never answered, resends its SYN as well).
lk_syn_resent() {
	[ "$(lk_netstat "$LAB_C" "TcpExt TCPSynRetrans")" -gt "$2" ] || return 1
	[ "$1" = to-server ] || [ "$(lk_netstat "$LAB_S" "TcpExt TCPSynRetrans")" -gt "$3" ]
}
# lk_syn_drop DIR OUT CMD...: CMD, a client, run in the client's
# namespace (its output in OUT) while the lab's wire drops DIR, from
# before it starts until 0.5 s after each end the drop concerns has sent
# its SYN or SYN-ACK again (lk_syn_resent).  Those first retransmissions (1 s
# after the first sends, with the server's timer's own SYN-ACK within a
# few ms of its answer to the client's SYN) are dropped, and the
# handshake completes at the next (3 s).  Not a fixed time from the
# client's start, which a client slow to start (a loaded host, a qemu
# guest) would not have reached.  Returns CMD's exit status.
lk_syn_drop() {
	local dir=$1 out=$2 c0 s0; shift 2
	"$OUTPUT/netlab" set --prefix "$LAB" --dir "$dir" --loss 100 >/dev/null || fail "netlab set"
	c0=$(lk_netstat "$LAB_C" "TcpExt TCPSynRetrans") s0=$(lk_netstat "$LAB_S" "TcpExt TCPSynRetrans")
	lk_bg lk_in_client "$@" >"$out"
	lk_wait_for 30 lk_syn_resent "$dir" "$c0" "$s0" || fail "no SYN or SYN-ACK sent again in 30 s"
	sleep 0.5
	"$OUTPUT/netlab" set --prefix "$LAB" --dir "$dir" --loss 0 >/dev/null || fail "netlab set"
	wait "$LK_LAST_PID"
}

# lk_netstat NS "Tcp RetransSegs": reads /proc/net/snmp and /proc/net/netstat.
lk_netstat() {
	local ns=$1 proto=${2% *} field=${2#* }
	local files="/proc/net/snmp /proc/net/netstat"
	if [ -n "$ns" ]; then
		ip netns exec "$ns" cat $files
	else
		cat $files
	fi | awk -v p="$proto:" -v f="$field" '
		$1 == p && !hdr { for (i = 2; i <= NF; i++) col[$i] = i; hdr = 1; next }
		$1 == p && hdr { if (f in col) print $col[f]; exit }'
}

assert_eq() { [ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"; ok "$3: $1"; }
assert_ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }' || fail "$3: $1 < $2"; ok "$3: $1 >= $2"; }
assert_le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }' || fail "$3: $1 > $2"; ok "$3: $1 <= $2"; }
# assert_near VALUE REFERENCE PCT ABS what: |VALUE-REF| <= max(PCT% of REF, ABS)
assert_near() {
	awk -v v="$1" -v r="$2" -v p="$3" -v a="$4" 'BEGIN {
		d = v - r; if (d < 0) d = -d; t = r * p / 100; if (t < 0) t = -t
		if (a > t) t = a; exit !(d <= t) }' ||
		fail "$5: $1 not within $3% (or $4) of $2"
	ok "$5: $1 ~ $2"
}

# Wait until FILE holds N lines matching PATTERN (a tool's -v "attached"
# lines, say), up to SECS: lk_wait_lines SECS FILE PATTERN [N].  Loading
# BPF takes seconds under qemu TCG: never a fixed sleep for an attach.
lk_wait_lines() {
	local secs=$1 file=$2 pat=$3 n=${4:-1} i
	for ((i = 0; i < secs * 10; i++)); do
		[ "$(grep -c -- "$pat" "$file" 2>/dev/null)" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

# Hypervisor steal time of all CPUs so far, in ns (/proc/stat counts it
# in USER_HZ ticks).  schedstat leaves it out where the kernel accounts
# it (PARAVIRT_TIME_ACCOUNTING, as in cloud VMs); cpuusage, timing with
# the clock, counts it in the task that was running: comparisons with
# schedstat allow for its growth, lk_steal_since NS0 (plus one tick for
# the counter's resolution once there is any).
lk_steal_ns() {
	awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%d\n", $9 * 1e9 / hz }' /proc/stat
}
# lk_uptime_ns [end]: the time since boot in ns, from /proc/uptime:
# CLOCK_MONOTONIC (what the kernel's figures run on, slewed as they are,
# never stepped as the wall clock may be) plus suspend, which a test
# never sees.  It is truncated to 10 ms: "end" gives the end of those
# 10 ms, for the end of an interval that must hold another.
lk_uptime_ns() {
	awk -v e="${1:-}" '{ printf "%.0f\n", ($1 + (e == "end" ? 0.01 : 0)) * 1e9 }' /proc/uptime
}

# lk_blocked TASK NR...: the task (/proc/PID or /proc/PID/task/TID)
# sleeps inside one of the syscalls NR... (x86_64 numbers): off the CPU
# until that syscall's wait ends.
lk_blocked() {
	local t=$1; shift
	grep -q '^State:.*S (sleeping)' "$t/status" 2>/dev/null &&
		awk -v nrs=" $* " '{ exit !index(nrs, " " $1 " ") }' "$t/syscall" 2>/dev/null
}
# lk_in_sleep PID: in nanosleep() or clock_nanosleep().
lk_in_sleep() { lk_blocked "/proc/$1" 35 230; }

# lk_task_steal_ns PID ELAPSED_NS: of a task that never slept in the
# ELAPSED_NS since it started, the time neither running by the
# scheduler's clock nor waiting to run: hypervisor steal on its CPU,
# which the scheduler leaves out of the task's run time
# (PARAVIRT_TIME_ACCOUNTING) and /proc/stat may show only ticks later.
lk_task_steal_ns() {
	awk -v e="$2" '{ d = e - $1 - $2; printf "%d\n", (d > 0 ? d : 0) }' "/proc/$1/schedstat"
}
lk_steal_since() {
	local d=$(($(lk_steal_ns) - $1))
	[ "$d" -gt 0 ] && d=$((d + 1000000000 / $(getconf CLK_TCK)))
	echo "$d"
}

lk_prog_ids() { cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '$1 == "prog_id:" { print $2 }' | sort -u; }
lk_progs_alive() { for id in $1; do bpftool prog show id "$id" >/dev/null 2>&1 && echo "$id"; done; }
# The kernel frees a program after an RCU grace period: poll this
# (lk_wait_for), never check once.
lk_progs_gone() { [ -z "$(lk_progs_alive "$1")" ]; }

# lk_listening NS PORT: a TCP socket listens on PORT in netns NS (""
# for this one).  (ss exits 0 when nothing matches: test its output.)
lk_listening() {
	local out
	if [ -n "$1" ]; then
		out=$(ip netns exec "$1" ss -Hltn "sport = :$2")
	else
		out=$(ss -Hltn "sport = :$2")
	fi
	[ -n "$out" ]
}

# Wait until CMD succeeds, up to SECS seconds: lk_wait_for SECS CMD...
lk_wait_for() {
	local secs=$1 i; shift
	for ((i = 0; i < secs * 10; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

# For tests that run real software beside the tools (tcplat_redis,
# tcplat_nginx, tcplat_sockperf):
#   lk_free_port [NS]     a TCP port in 20000-29999 (below the ephemeral
#                         range) no socket in NS uses ("" or none: the root one)
#   lk_held FIFO CMD...   start CMD in the background held at FIFO, so its PID
#                         (LK_LAST_PID) is known before it does anything;
#                         lk_release FIFO lets it go
#   lk_tcplat_bg OUT ARGS...  tcplat -v -j ARGS under timeout -s INT, JSON to
#                         OUT, stderr to OUT.err; returns once it is tracing;
#                         its PID in LK_TCPLAT_PID (SIGINT it for the summary)
#   lk_summary FILE       the "summary" object of a -j output
#   lk_tcplat_entry_clock ERR   whether tcplat's -v said that client requests
#                         start at their first send's entry (into TCP, or the
#                         syscall's with --syscall-entry), the clock the
#                         latency targets of applications assume; a kernel
#                         without such a hook says so, and the test skips
#                         the latency check
#   lk_pct P [FILE]       P-th percentile (nearest rank) of a column of numbers
#   lk_latency_tol        LK_P50_PCT, LK_P99_PCT: the latency targets (TCG aware)
#   assert_in_range VAL LO HI PCT ABS what   VAL within max(PCT%, ABS) of
#                         [LO, HI] (a figure an application printed rounded
#                         or bucketed is known only to an interval)
lk_free_port() {
	local ns=${1:-} p i
	for ((i = 0; i < 100; i++)); do
		p=$((20000 + RANDOM % 10000))
		if [ -n "$ns" ]; then
			ip netns exec "$ns" ss -Htan "( sport = :$p or dport = :$p )"
		else
			ss -Htan "( sport = :$p or dport = :$p )"
		fi | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

lk_held() {
	local fifo=$1; shift
	mkfifo "$fifo" || fail "mkfifo $fifo"
	# shellcheck disable=SC2016
	lk_bg bash -c 'read -r _ <"$0"; exec "$@"' "$fifo" "$@"
}
lk_release() { echo go >"$1"; }

lk_tcplat_bg() {
	local out=$1; shift
	timeout -s INT "$LK_HANG" "$OUTPUT/tcplat" -v -j "$@" >"$out" 2>"$out.err" &
	LK_TCPLAT_PID=$!
	LK_PIDS+=($!)
	lk_wait_lines 30 "$out.err" tracing || { cat "$out.err"; fail "tcplat $* did not start"; }
}

lk_summary() { jq -c 'select(.type == "summary")' "$1"; }
# lk_same_counts T W N: tcplat's summary T against the workload's W (both
# JSON): W made N requests, and T counts as many and the same bytes each way.
lk_same_counts() {
	assert_eq "$(jq .requests <<<"$2")" "$3" "the workload's requests"
	assert_eq "$(jq .requests <<<"$1")" "$3" "tcplat requests = the workload's"
	assert_eq "$(jq .bytes_in <<<"$1")" "$(jq .bytes_in <<<"$2")" "bytes in"
	assert_eq "$(jq .bytes_out <<<"$1")" "$(jq .bytes_out <<<"$2")" "bytes out"
}
# lk_op FILE PROTO OP [FIELD]: --proto's FIELD (requests unless given)
# summed over the rows of operation OP (any status), 0 if none.
lk_op() {
	jq -s --arg p "$2" --arg op "$3" --arg f "${4:-requests}" \
		'[.[] | select(.type == "operation" and .proto == $p and .op == $op) | .[$f]] | add // 0' "$1"
}

# lk_pct P [FILE]: the P-th percentile (nearest rank) of the numbers in
# FILE or on stdin, one per line.
lk_pct() {
	sort -g "${2:--}" | awk -v p="$1" '{ v[NR] = $1 } END {
		r = int(p / 100 * NR); if (r < p / 100 * NR) r++; if (r < 1) r = 1; print v[r] }'
}

# lk_latency_tol: LK_P50_PCT and LK_P99_PCT, the targets for tcplat's
# client latency against an application's own figures (p50 within
# max(5%, 3 us), p99 within 10%); 30% under qemu TCG (make vmtest),
# where the application's own emulated user time between its clock and
# its syscalls is many microseconds (sockperf: 7.5 us, 5.4% of a 139 us
# round trip, at the median).
lk_latency_tol() {
	LK_P50_PCT=5 LK_P99_PCT=10
	if [ "${LK_TCG:-0}" = 1 ]; then LK_P50_PCT=30 LK_P99_PCT=30; fi
}

# lk_requests FILE [LO HI]: tcplat's --events in FILE as "start_ns
# lat_us" lines, by start (only those starting in [LO, HI] if given).
lk_requests() {
	jq -r --argjson lo "${2:-0}" --argjson hi "${3:-1e30}" \
		'select(.type == "event" and .start_ns >= $lo and .start_ns <= $hi) | "\(.start_ns) \(.lat_us)"' \
		"$1" | sort -n
}

# lk_nested SLACK MSGS REQS [WIDE]: line i of each file is the same
# request.  MSGS holds the application's own "start_ns end_ns", REQS
# tcplat's "start_ns lat_us", WIDE those of a tcplat whose clock holds
# REQS's (--syscall-entry).  Fails, naming the first three, unless each
# request's REQS interval starts no earlier than WIDE's (both integer ns
# of one clock: exact) and both lie inside MSGS's, SLACK ns aside for
# the application's printed precision (the ends of REQS and WIDE come
# from two programs at one hook, either of which may be preempted: not
# compared).  Prints per request "app_us own_us in_us": the
# application's round trip, its own time outside tcplat's widest clock,
# and WIDE's start to REQS's (0 without WIDE).
lk_nested() {
	paste -d' ' "$2" "$3" "${4:-$3}" | awk -v s="$1" '{
		end = $3 + $4 * 1000; wend = $5 + $6 * 1000
		if ($5 < $1 - s || $3 < $5 || end > $2 + s || wend > $2 + s) {
			bad++
			if (bad <= 3)
				printf "not nested: application %s-%s, tcplat %s-%s, wider clock %s-%s\n",
					$1, $2, $3, end, $5, wend >"/dev/stderr"
		}
		print ($2 - $1) / 1000, (($5 - $1) + ($2 - wend)) / 1000, ($3 - $5) / 1000 }
		END { exit bad > 0 }'
}

# lk_nested_bound PCTL: the most tcplat's percentile may read when each
# of its requests lies inside one of tcpreq's (the same count): the k-th
# smallest of tcplat's latencies is then at most tcpreq's k-th, and each
# tool interpolates its percentile inside the bucket that holds it,
# tcplat's up to one bucket above the true value (1/16 of its power of
# two), tcpreq's up to one below (1/128).
lk_nested_bound() { awk -v p="$1" 'BEGIN { printf "%.3f\n", p * 17 / 16 * 129 / 128 }'; }

lk_tcplat_entry_clock() {
	grep -qe "client requests start when their first send enters TCP" \
		-e "client requests start at their first send syscall's entry" "$1" && return 0
	grep -q "client requests start when their first send returns" "$1" ||
		fail "tcplat -v does not say where client requests start"
	return 1
}

assert_in_range() {
	awk -v v="$1" -v lo="$2" -v hi="$3" -v p="$4" -v a="$5" 'BEGIN {
		tl = lo * p / 100; if (tl < a) tl = a
		th = hi * p / 100; if (th < a) th = a
		exit !(v >= lo - tl && v <= hi + th) }' ||
		fail "$6: $1 not within $4% (or $5) of [$2, $3]"
	ok "$6: $1 ~ [$2, $3]"
}

# lk_nginx_up [CMD...]: an nginx of the test's own, started through CMD
# (e.g. taskset): its prefix, config, logs and pid file in $LK_TMP/nginx
# (NX), one worker (WP; master MP), a free port (PORT), 1 KiB files
# /file, /x/file and /y/file.  The access log's fields: $request_length
# $bytes_sent $status $uri.  user root: the worker reads files in the
# test's 0700 temp dir.  Every path nginx would otherwise take from its
# build (/var/log/nginx, /var/lib/nginx, /run/nginx.pid) is set here; -e
# moves the startup log.
lk_nginx_up() {
	local d
	PORT=$(lk_free_port) || fail "no free port"
	NX=$LK_TMP/nginx
	mkdir -p "$NX/html/x" "$NX/html/y" "$NX/logs" "$NX/tmp"
	for d in "" /x /y; do
		head -c 1024 /dev/zero | tr '\0' x >"$NX/html$d/file"
	done
	cat >"$NX/nginx.conf" <<EOF
worker_processes 1;
user root;
pid $NX/nginx.pid;
error_log $NX/logs/error.log;
events { worker_connections 64; }
http {
	log_format lk '\$request_length \$bytes_sent \$status \$uri';
	access_log $NX/logs/access.log lk;
	client_body_temp_path $NX/tmp/body;
	proxy_temp_path $NX/tmp/proxy;
	fastcgi_temp_path $NX/tmp/fastcgi;
	uwsgi_temp_path $NX/tmp/uwsgi;
	scgi_temp_path $NX/tmp/scgi;
	keepalive_requests 100000000;
	keepalive_timeout 60s;
	server {
		listen 127.0.0.1:$PORT;
		root $NX/html;
		add_header X-Id \$http_x_id;
	}
}
EOF
	lk_bg "$@" nginx -p "$NX" -e "$NX/logs/error.log" -c "$NX/nginx.conf" -g 'daemon off;'
	MP=$LK_LAST_PID
	lk_wait_for 10 bash -c "ss -Hltn 'sport = :$PORT' | grep -q ." ||
		{ cat "$NX/logs/error.log"; fail "nginx not listening on $PORT"; }
	lk_wait_for 10 pgrep -P "$MP" nginx || fail "no nginx worker"
	WP=$(pgrep -P "$MP" nginx)
	assert_eq "$(wc -w <<<"$WP")" 1 "one nginx worker"
	touch "$NX/logs/access.log"
}

# lk_nginx_wrk "SERVER ARGS" "CLIENT ARGS" CMD...: the wrk command CMD
# against lk_nginx_up's nginx, held until two tcplats run: -p WORKER
# --role server SERVER ARGS (output in $LK_TMP/s) and -p WRK --role
# client CLIENT ARGS ($LK_TMP/c); wrk's output in $LK_TMP/wrk.  nginx
# has read every request, answered and logged it once it has closed
# every connection (none left but in TIME-WAIT: one in CLOSE-WAIT may
# still hold a request it has not read); only then does the server's
# tcplat end.
lk_nginx_wrk() {
	local sargs=$1 cargs=$2 wrk sp cp
	shift 2
	lk_held "$LK_TMP/go" "$@" >"$LK_TMP/wrk" 2>&1
	wrk=$LK_LAST_PID
	# shellcheck disable=SC2086
	lk_tcplat_bg "$LK_TMP/s" -p "$WP" --role server $sargs
	sp=$LK_TCPLAT_PID
	# shellcheck disable=SC2086
	lk_tcplat_bg "$LK_TMP/c" -p "$wrk" --role client $cargs
	cp=$LK_TCPLAT_PID
	lk_release "$LK_TMP/go"
	wait "$wrk" || { cat "$LK_TMP/wrk"; fail "wrk failed"; }
	wait "$cp" || { cat "$LK_TMP/c.err"; fail "tcplat (client) failed"; }
	lk_wait_for 10 bash -c "! ss -Htn state connected exclude time-wait '( sport = :$PORT )' | grep -q ." ||
		fail "nginx's connections did not close"
	kill -INT "$sp"
	wait "$sp" || { cat "$LK_TMP/s.err"; fail "tcplat (server) failed"; }
	cat "$LK_TMP/wrk"
}

# lk_redis_up [CMD...]: a redis-server of the test's own, started
# through CMD (e.g. taskset), on a free port (PORT; pid RP), its dir and
# log in $LK_TMP/redis, no persistence and no config file (not the
# system's /etc/redis): defaults, plus these.  rcli runs redis-cli on it.
lk_redis_up() {
	PORT=$(lk_free_port) || fail "no free port"
	mkdir -p "$LK_TMP/redis"
	lk_bg "$@" redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$LK_TMP/redis" --logfile "$LK_TMP/redis/log" --daemonize no
	RP=$LK_LAST_PID
	lk_wait_for 10 bash -c "ss -Hltnp 'sport = :$PORT' | grep -q 'pid=$RP,'" ||
		{ cat "$LK_TMP/redis/log"; fail "redis-server not listening on $PORT"; }
}
rcli() { redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }

# lk_fuzz_target NAME: build $OUTPUT/fuzz/NAME (make fuzz) and set F to
# it; skips where clang has no libFuzzer.
lk_fuzz_target() {
	lk_need_cmd clang
	echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
		>"$LK_TMP/probe.c"
	clang -fsanitize=fuzzer,address,undefined "$LK_TMP/probe.c" -o "$LK_TMP/probe" 2>/dev/null ||
		skip "clang has no libFuzzer (-fsanitize=fuzzer)"
	make -s -C "$LK_TOP" OUTPUT="$OUTPUT" fuzz >"$LK_TMP/build" 2>&1 ||
		{ cat "$LK_TMP/build"; fail "make fuzz failed"; }
	F=$OUTPUT/fuzz/$1
	[ -x "$F" ] || fail "$F not built"
}

# lk_pin_pair: SRV_CPU and CLI_CPU, taskset commands that put a server
# on CPU 0 and its client on CPU 1 where there are two (neither waits
# for the other's CPU), empty on one CPU.
lk_pin_pair() {
	SRV_CPU=() CLI_CPU=()
	if [ "$(nproc)" -ge 2 ]; then SRV_CPU=(taskset -c 0) CLI_CPU=(taskset -c 1); fi
}
