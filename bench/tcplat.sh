#!/bin/bash
# tcplat's cost, on three loads, in one run with the conditions
# interleaved round by round (ROUNDS, default five) and the median of the
# per-round ratios to the run alone printed (on a machine shared with
# other work throughput swings by tens of percent from run to run;
# ratios of neighbouring runs much less):
#
#  - tcpreq ping-pong over 32 connections across a netlab, client and
#    server pinned to one CPU: alone, under tcplat (no filter: both ends
#    traced), under the floor and under the empty program (below).  The
#    CPU time both tcpreq processes spend per request (client: user + sys
#    from time(1); server: its threads' schedstat run time; BPF programs
#    run in their context) is compared too: it moves much less with what
#    else runs.
#  - redis-server (own temp dir and port, no persistence) on CPU 0,
#    redis-benchmark GET with 50 clients, -P 1 and -P 16, on CPU 1: alone,
#    under "tcplat -p REDIS", floor, empty program, and under
#    "tcplat -p REDIS --proto redis" (with tcplat's own CPU time per GET:
#    the framing runs in its process).
#  - nginx (one worker, a small static file) on CPU 0, wrk -t1 -c8 on
#    CPU 1: alone, under "tcplat -c nginx".
#
# The floor is "tcplat -p IDLE", IDLE a sleep this script started: every
# program runs on every event of the load and drops it at the filter.
# The empty program is bench/emptyprog ("r0 = 0; exit") on the hooks
# tcplat chose, with the same methods (parsed from the floor's -v lines),
# so floor minus empty is what tcplat's own code costs per event.
#
# Then, each in a separate short run (the statistics cost time
# themselves), kernel.bpf_stats_enabled gives the programs' run time:
# per event (floor beside empty, interleaved), and per request served
# (all of tcplat's programs over redis' INFO commandstats count or wrk's
# count).  The sysctl is restored at exit.
#
# Parts whose programs are not installed are skipped with a line saying
# so.  Environment: ROUNDS (5), SECS (3, one tcpreq run), RSECS (3, one
# redis-benchmark run, its -n sized to that), WSECS (3, one wrk run),
# CPU (0: tcpreq, redis-server, nginx), CCPU (1: redis-benchmark, wrk),
# TCPLAT_ARGS (given to every tcplat, e.g. --syscall-entry).
set -u
. "$(dirname "$0")/lib.sh"
OUTPUT=${OUTPUT:-$PWD/build}
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-3}
RSECS=${RSECS:-3}
WSECS=${WSECS:-3}
CPU=${CPU:-0}
CCPU=${CCPU:-1}
TCPLAT_ARGS=${TCPLAT_ARGS:-}
[ "$(nproc)" -gt "$CCPU" ] || CCPU=$CPU
command -v jq >/dev/null || { echo "jq not installed: skipped"; exit 0; }
for b in tcplat tcpreq netlab; do
	[ -x "$OUTPUT/$b" ] || { echo "$OUTPUT/$b not built"; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "needs root: skipped"; exit 0; }
EMPTYPROG=$OUTPUT/bench/emptyprog
tmp=$(mktemp -d)
chmod 755 "$tmp"	# nginx's worker (nobody) reads its files below
lab=lkb$$
pids=()
tracer= empty= idle= redis= ngx= ngx_workers= statsp= loadp=
stats0=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	local p
	trap '' INT TERM
	[ -n "$loadp" ] && bench_kill_tree "$loadp"
	bench_stop "$tracer" INT
	bench_stop "$empty" INT
	bench_stop "$statsp" INT
	bench_stop "$redis" TERM
	if [ -n "$ngx" ]; then
		bench_stop "$ngx" TERM
		for p in $ngx_workers; do bench_alive "$p" && kill -KILL "$p" 2>/dev/null; done
	fi
	for p in "${pids[@]}"; do bench_stop "$p" TERM; done
	bench_stop "$idle" TERM
	sysctl -q -w kernel.bpf_stats_enabled="$stats0"
	"$OUTPUT/netlab" down --prefix "$lab" >/dev/null 2>&1
	bench_tracefs_undo
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
bench_tracefs	# classic tracepoints (tcplat's and emptyprog's) need it
"$OUTPUT/netlab" up --prefix "$lab" >/dev/null || { echo "netlab up failed"; exit 1; }
S=192.168.100.100:7200

ip netns exec "$lab-server" taskset -c "$CPU" "$OUTPUT/tcpreq" server --nodelay "$S" >/dev/null 2>&1 &
SRV=$!
pids+=($SRV)
sleep 1200 &	# the idle process the floor's tcplat watches
idle=$!

## The loads.

# task_ns PID...: run time (ns) of all the processes' threads so far.
task_ns() {
	local p
	for p in "$@"; do cat /proc/"$p"/task/*/schedstat 2>/dev/null; done |
		awk '{ t += $1 } END { printf "%.0f\n", t }'
}
srv_ns() { task_ns "$SRV"; }
# client_ns: user + sys ns of the client run, from the children's line
# of bash's times (ms: time(1)'s 10 ms would be percents of a redis run).
client_ns() {
	sed -n 2p "$tmp/times" 2>/dev/null | tr 'ms' '  ' |
		awk 'NF == 4 { printf "%.0f\n", ($1 * 60 + $2 + $3 * 60 + $4) * 1e9 }'
}

# run_tcpreq [SECS]: "rps cpu_ns_per_request requests" of one pinned
# client run.
run_tcpreq() {
	local s0 s1
	s0=$(srv_ns)
	ip netns exec "$lab-client" timeout 60 /usr/bin/time -f '%U %S' -o "$tmp/time" \
		taskset -c "$CPU" "$OUTPUT/tcpreq" client -j --nodelay -n 32 \
		--duration "${1:-$SECS}" --warmup 0.5 "$S" >"$tmp/run"
	s1=$(srv_ns)
	jq -r --argjson s $((s1 - s0)) --arg t "$(cat "$tmp/time")" \
		'select(.type == "summary") |
		 "\(.rps) \(((($t | split(" ") | map(tonumber) | add) * 1e9) + $s) / .requests) \(.requests)"' "$tmp/run"
}

redis_ok= redis_why=
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null ||
   ! command -v redis-cli >/dev/null; then
	redis_why="redis-server, redis-benchmark or redis-cli not installed (apt-get install redis-server redis-tools)"
fi
if [ -z "$redis_why" ]; then
	RPORT=$(bench_free_port)
	mkdir -p "$tmp/redis"
	taskset -c "$CPU" redis-server --port "$RPORT" --bind 127.0.0.1 --dir "$tmp/redis" \
		--save '' --appendonly no --daemonize no --logfile "$tmp/redis/log" &
	redis=$!
	for ((i = 0; i < 100; i++)); do
		[ "$(redis-cli -p "$RPORT" ping 2>/dev/null)" = PONG ] && { redis_ok=1; break; }
		bench_alive "$redis" || break
		sleep 0.05
	done
	[ -n "$redis_ok" ] || { redis_why="redis-server did not start on port $RPORT: $(tail -n 3 "$tmp/redis/log" 2>/dev/null)"; bench_stop "$redis"; redis=; }
fi

# GET commands redis-server has served so far.
redis_gets() {
	redis-cli -p "$RPORT" info commandstats 2>/dev/null | tr -d '\r' |
		sed -n 's/^cmdstat_get:calls=\([0-9]*\),.*/\1/p'
}

# run_redis PIPELINE [N]: "rps gets_served cpu_ns_per_get" of one
# redis-benchmark run (CPU: redis-server's threads and redis-benchmark's
# user + sys).
declare -A RN=()
run_redis() {
	local c0 c1 s0 s1 rps
	c0=$(redis_gets)
	s0=$(task_ns "$redis")
	(
		timeout 120 taskset -c "$CCPU" redis-benchmark -p "$RPORT" -c 50 \
			-n "${2:-${RN[$1]}}" -t get -P "$1" -q >"$tmp/rb" 2>&1
		times >"$tmp/times"
	)
	s1=$(task_ns "$redis")
	c1=$(redis_gets)
	rps=$(tr '\r' '\n' <"$tmp/rb" | awk '$1 == "GET:" && $3 == "requests" { r = $2 } END { print r }')
	[ -n "$rps" ] || echo "redis-benchmark -P $1 failed: $(tail -c 300 "$tmp/rb")" >&2
	echo "${rps:--} $((${c1:-0} - ${c0:-0})) $(awk -v s=$((s1 - s0)) -v c="$(client_ns)" -v n=$((${c1:-0} - ${c0:-0})) \
		'BEGIN { if (n > 0 && c != "") printf "%.1f", (s + c) / n; else print "-" }')"
}

nginx_ok= nginx_why=
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
	nginx_why="nginx or wrk not installed (apt-get install nginx-light wrk)"
fi
if [ -z "$nginx_why" ]; then
	NPORT=$(bench_free_port)
	mkdir -p "$tmp/nginx/html" "$tmp/nginx/logs"
	chmod 755 "$tmp/nginx" "$tmp/nginx/html"
	head -c 600 /dev/urandom | base64 >"$tmp/nginx/html/index.html"	# ~800 bytes
	chmod 644 "$tmp/nginx/html/index.html"
	cat >"$tmp/nginx/nginx.conf" <<-EOF
	worker_processes 1;
	pid $tmp/nginx/nginx.pid;
	error_log $tmp/nginx/error.log;
	events { worker_connections 256; }
	http {
		access_log off;
		server {
			listen 127.0.0.1:$NPORT;
			root $tmp/nginx/html;
		}
	}
	EOF
	taskset -c "$CPU" nginx -p "$tmp/nginx" -e "$tmp/nginx/error.log" -c "$tmp/nginx/nginx.conf" \
		-g 'daemon off;' &
	ngx=$!
	for ((i = 0; i < 100; i++)); do
		[ -n "$(ss -Hltn "sport = :$NPORT" 2>/dev/null)" ] && [ -s "$tmp/nginx/nginx.pid" ] &&
			ngx_workers=$(pgrep -P "$ngx") && [ -n "$ngx_workers" ] && { nginx_ok=1; break; }
		bench_alive "$ngx" || break
		sleep 0.05
	done
	if [ -z "$nginx_ok" ]; then
		nginx_why="nginx did not start on port $NPORT: $(tail -n 3 "$tmp/nginx/error.log" 2>/dev/null)"
		bench_stop "$ngx"
		ngx=
	fi
fi
# other_nginx: say so when nginx processes not ours run (tcplat -c nginx
# traces them too, and their requests are not in wrk's count).
other_nginx() {
	local others
	others=$(pgrep -x nginx | grep -vxF -e "$ngx" $(printf -- '-e %s ' $ngx_workers) | tr '\n' ' ')
	[ -n "$others" ] && echo "note: other nginx processes run (pids $others); tcplat -c nginx traces them too" >&2
	return 0
}
[ -n "$nginx_ok" ] && other_nginx
URL=http://127.0.0.1:${NPORT:-0}/index.html

# run_nginx [SECS]: "rps requests cpu_ns_per_request" of one wrk run
# (CPU: nginx's master and worker, wrk's user + sys).
run_nginx() {
	local s0 s1
	s0=$(task_ns "$ngx" $ngx_workers)
	(
		timeout $((WSECS + 30)) taskset -c "$CCPU" wrk -t1 -c 8 -d "${1:-$WSECS}s" "$URL" >"$tmp/wrk" 2>&1
		times >"$tmp/times"
	)
	s1=$(task_ns "$ngx" $ngx_workers)
	grep -q '^Requests/sec:' "$tmp/wrk" || echo "wrk failed: $(tail -c 300 "$tmp/wrk")" >&2
	awk -v s=$((s1 - s0)) -v c="$(client_ns)" '/^Requests\/sec:/ { r = $2 } / requests in / { n = $1 }
		END { printf "%s %.0f %s\n", (r == "" ? "-" : r), n, (n > 0 && c != "" ? sprintf("%.1f", (s + c) / n) : "-") }' "$tmp/wrk"
}

# load CMD...: run a load in the background and wait for it, its stdout
# in $tmp/res.  (Waiting with the wait builtin lets a Ctrl-C end the
# script at once: bash holds a trapped SIGINT back while a foreground
# child runs that does not die of it, and timeout(1) moves its child out
# of the terminal's process group.  cleanup ends the load's processes.)
loadp=
load() {
	"$@" >"$tmp/res" &
	loadp=$!
	wait "$loadp"
	loadp=
}

## The programs.

# start_tracer [TCPLAT ARGS]: start tcplat -v and wait until it has attached.
# (The files are emptied here, before the fork: the child truncates them
# only once it runs, and the wait could read the last run's ready line.)
start_tracer() {
	: >"$tmp/out"
	: >"$tmp/err"
	"$OUTPUT/tcplat" -v $TCPLAT_ARGS "$@" >"$tmp/out" 2>"$tmp/err" &
	tracer=$!
	bench_wait_line "$tmp/err" 'ready: programs attached' "$tracer" 20 && return 0
	echo "tcplat $* did not start:" >&2
	cat "$tmp/err" >&2
	exit 1
}
stop_tracer() {
	bench_stop "$tracer" INT
	tracer=
}

# The empty program goes on the hooks the floor's tcplat chose, with the
# twins' (bench_twin_hooks).
hooks=() empty_ok= empty_why=
[ -x "$EMPTYPROG" ] || empty_why="$EMPTYPROG not built (make OUTPUT=... bench, or $EMPTYPROG)"
set_hooks() {
	[ ${#hooks[@]} -gt 0 ] && return 0
	bench_hooks "$tmp/err" >"$tmp/hooks.chosen"
	mapfile -t hooks < <(bench_twin_hooks "$tmp/hooks.chosen")
	cp "$tmp/err" "$tmp/floor.err"
	if [ ${#hooks[@]} -eq 0 ]; then
		empty_why="no 'hook CAT:NAME: using METHOD' lines in tcplat -v"
	else
		echo "hooks tcplat chose (from -v): ${hooks[*]}" \
			"($(bench_prog_ids "$tracer" | wc -l) programs, $(bench_nlinks "$tracer") links)" >&2
	fi
}
# start_empty: 0 when the empty program runs, 1 (and empty_why) if not.
start_empty() {
	[ -z "$empty_why" ] || return 1
	: >"$tmp/eout"
	: >"$tmp/eerr"
	"$EMPTYPROG" "${hooks[@]}" >"$tmp/eout" 2>"$tmp/eerr" &
	empty=$!
	if bench_wait_line "$tmp/eout" '^ready' "$empty" 20; then
		empty_ok=1
		return 0
	fi
	empty_why="emptyprog ${hooks[*]}: $(head -n 1 "$tmp/eerr")"
	bench_stop "$empty" INT
	empty=
	return 1
}
stop_empty() {
	bench_stop "$empty" INT
	empty=
}

# Statistics windows: stats_begin PID ... stats_end PID puts "ns runs"
# of the process' programs over the window in $tmp/win, the per-program
# figures in $tmp/delta.  Besides the sysctl, "emptyprog --stats" holds the
# statistics on through BPF_ENABLE_STATS, so that another bench that
# turns the sysctl off meanwhile does not end the window early.
stats_begin() {
	sysctl -q -w kernel.bpf_stats_enabled=1
	if [ -x "$EMPTYPROG" ]; then
		: >"$tmp/sout"
		"$EMPTYPROG" --stats >"$tmp/sout" 2>&1 &
		statsp=$!
		bench_wait_line "$tmp/sout" '^ready' "$statsp" 10 ||
			echo "emptyprog --stats: $(head -n 1 "$tmp/sout")" >&2
	fi
	bench_prog_stats_ids "$1" >"$tmp/s0"
	[ -s "$tmp/s0" ] || echo "warning: no BPF programs found in process $1" >&2
}
stats_end() {
	bench_prog_stats_ids "$1" >"$tmp/s1"
	[ -n "$statsp" ] || [ "$(sysctl -n kernel.bpf_stats_enabled)" = 1 ] ||
		echo "warning: kernel.bpf_stats_enabled was turned off during the window by someone else" >&2
	bench_stop "$statsp" INT
	statsp=
	sysctl -q -w kernel.bpf_stats_enabled="$stats0"
	bench_prog_delta "$tmp/s0" "$tmp/s1" >"$tmp/delta"
	awk 'FILENAME == ARGV[1] { t[$1] = $3; n[$1] = $4; next }
	     { dt += $3 - t[$1]; dn += $4 - n[$1] } END { printf "%.0f %.0f\n", dt, dn }' "$tmp/s0" "$tmp/s1" >"$tmp/win"
}
per_prog() { awk '{ printf "%s %s ns x %.0f; ", $1, $2, $3 }' "$tmp/delta"; }
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN { if (b > 0) printf f "\n", a / b; else print "n/a" }'; }

## Size redis-benchmark's runs to RSECS each.
if [ -n "$redis_ok" ]; then
	for P in 1 16; do
		load run_redis "$P" $((P == 1 ? 20000 : 400000))
		read -r rps _ <"$tmp/res"
		RN[$P]=$(awk -v r="${rps:-0}" -v s="$RSECS" 'BEGIN { n = int(r * s); if (n < 10000) n = 10000; if (n > 5000000) n = 5000000; print n }')
		echo "redis -P $P: ${rps:-?} rps in a trial run, -n ${RN[$P]}" >&2
	done
fi

## The rounds: alone, tcplat, floor, empty for each load.  A round that
## would end past BUDGET seconds (the machine is slow today) is not
## started once three are done; the stats runs after take about a minute.
BUDGET=${BUDGET:-250}
declare -A R=()	# R[key] = space-separated per-round ratios
add() { [ -n "$2" ] && R[$1]="${R[$1]:-} $2"; }
rounds_t0=$SECONDS
for ((i = 0; i < ROUNDS; i++)); do
	if ((i >= 3)); then
		per=$(((SECONDS - rounds_t0) / i))
		if ((SECONDS - rounds_t0 + per > BUDGET)); then
			echo "rounds: $i of $ROUNDS, a round took ${per} s and another would pass BUDGET=$BUDGET s"
			break
		fi
	fi
	load run_tcpreq
	read -r base bcpu _ <"$tmp/res"
	start_tracer
	load run_tcpreq
	read -r with wcpu _ <"$tmp/res"
	stop_tracer
	start_tracer -p "$idle"
	load run_tcpreq
	read -r floor fcpu _ <"$tmp/res"
	set_hooks
	stop_tracer
	emp= ecpu=
	if start_empty; then
		load run_tcpreq
		read -r emp ecpu _ <"$tmp/res"
		stop_empty
	fi
	add t_with "$(bench_ratio "$with" "$base")"
	add t_wcpu "$(bench_ratio "$wcpu" "$bcpu")"
	add t_floor "$(bench_ratio "$floor" "$base")"
	add t_fcpu "$(bench_ratio "$fcpu" "$bcpu")"
	add t_empty "$(bench_ratio "$emp" "$base")"
	add t_ecpu "$(bench_ratio "$ecpu" "$bcpu")"
	echo "round $i tcpreq: rps alone $base, tcplat $with ($(bench_ratio "$with" "$base"))," \
		"floor $floor ($(bench_ratio "$floor" "$base")), empty ${emp:--} ($(bench_ratio "$emp" "$base"));" \
		"cpu ns/request alone $bcpu, tcplat $wcpu, floor $fcpu, empty ${ecpu:--}" >&2

	if [ -n "$redis_ok" ]; then
		for P in 1 16; do
			load run_redis "$P"
			read -r base _ bcpu <"$tmp/res"
			start_tracer -p "$redis"
			load run_redis "$P"
			read -r with _ wcpu <"$tmp/res"
			stop_tracer
			start_tracer -p "$idle"
			load run_redis "$P"
			read -r floor _ fcpu <"$tmp/res"
			stop_tracer
			emp= ecpu=
			if start_empty; then
				load run_redis "$P"
				read -r emp _ ecpu <"$tmp/res"
				stop_empty
			fi
			start_tracer -p "$redis" --proto redis
			t0=$(task_ns "$tracer")
			load run_redis "$P"
			read -r prot pgets pcpu <"$tmp/res"
			add "r${P}_pucpu" "$(div $(($(task_ns "$tracer") - t0)) "$pgets" %.0f)"
			stop_tracer
			add "r${P}_proto" "$(bench_ratio "$prot" "$base")"
			add "r${P}_pcpu" "$(bench_ratio "$pcpu" "$bcpu")"
			# the next round's runs sized by this one's alone
			[ "$base" != - ] && RN[$P]=$(awk -v r="$base" -v s="$RSECS" 'BEGIN { n = int(r * s); if (n < 10000) n = 10000; if (n > 5000000) n = 5000000; print n }')
			add "r${P}_with" "$(bench_ratio "$with" "$base")"
			add "r${P}_wcpu" "$(bench_ratio "$wcpu" "$bcpu")"
			add "r${P}_floor" "$(bench_ratio "$floor" "$base")"
			add "r${P}_fcpu" "$(bench_ratio "$fcpu" "$bcpu")"
			add "r${P}_empty" "$(bench_ratio "$emp" "$base")"
			echo "round $i redis -P $P: rps alone $base, tcplat $with ($(bench_ratio "$with" "$base"))," \
				"floor $floor ($(bench_ratio "$floor" "$base")), empty ${emp:--} ($(bench_ratio "$emp" "$base"));" \
				"--proto $prot ($(bench_ratio "$prot" "$base"));" \
				"cpu ns/GET alone $bcpu, tcplat $wcpu, floor $fcpu, empty ${ecpu:--}, --proto $pcpu" >&2
		done
	fi

	if [ -n "$nginx_ok" ]; then
		load run_nginx
		read -r base _ bcpu <"$tmp/res"
		start_tracer -c nginx
		load run_nginx
		read -r with _ wcpu <"$tmp/res"
		stop_tracer
		add n_with "$(bench_ratio "$with" "$base")"
		add n_wcpu "$(bench_ratio "$wcpu" "$bcpu")"
		echo "round $i nginx: rps alone $base, tcplat $with ($(bench_ratio "$with" "$base"));" \
			"cpu ns/request alone $bcpu, tcplat $wcpu" >&2
	fi
done
echo "rounds took $((SECONDS - rounds_t0)) s" >&2

## BPF run time, each in a separate run with the statistics on.

# tcpreq under tcplat (no filter): ns per event.
start_tracer
stats_begin "$tracer"
load run_tcpreq 1.5
stats_end "$tracer"; read -r t n <"$tmp/win"
stop_tracer
nsp=$(div "$t" "$n" %.0f)
echo "bpf stats, tcpreq under tcplat: $n program runs, $t ns: $(per_prog)" >&2

# floor_vs_empty LOAD RUN...: the floor's and the empty program's ns per
# event and runs per request, interleaved twice; sets fl_ns em_ns fl_rq em_rq.
floor_vs_empty() {
	local what=$1 k t n req fl=() em=() flq=() emq=()
	shift
	for ((k = 0; k < 2; k++)); do
		start_tracer -p "$idle"
		stats_begin "$tracer"
		load "$@"
		read -r _ _ req <"$tmp/res"
		stats_end "$tracer"; read -r t n <"$tmp/win"
		stop_tracer
		fl+=("$(div "$t" "$n")") flq+=("$(div "$n" "$req" %.2f)")
		echo "bpf stats, $what, floor: $n program runs, $t ns, $req requests: $(per_prog)" >&2
		start_empty || continue
		stats_begin "$empty"
		load "$@"
		read -r _ _ req <"$tmp/res"
		stats_end "$empty"; read -r t n <"$tmp/win"
		stop_empty
		em+=("$(div "$t" "$n")") emq+=("$(div "$n" "$req" %.2f)")
		echo "bpf stats, $what, empty: $n program runs, $t ns, $req requests: $(per_prog)" >&2
	done
	fl_ns=$(bench_med "${fl[@]}") em_ns=$(bench_med "${em[@]}")
	fl_rq=$(printf '%s\n' "${flq[@]}" | sort -g | head -n 1) em_rq=$(printf '%s\n' "${emq[@]}" | sort -g | head -n 1)
}
tcpreq_stats() { run_tcpreq 1.5; }

# per_request WHAT "TCPLAT ARGS" RUN...: BPF ns and program runs per
# request over three windows of about a second under one tcplat.  The
# programs run on every TCP event of the machine, and other work's
# traffic only adds runs: the figures are the fewest runs per request of
# the windows and the median ns per request of the windows within 2% of
# that (pr_ns, pr_runs); every window is printed.
per_request() {
	local what=$1 targs=$2 k t n req
	shift 2
	start_tracer $targs
	: >"$tmp/windows"
	for ((k = 0; k < 3; k++)); do
		stats_begin "$tracer"
		load "$@"
		read -r _ req _ <"$tmp/res"
		stats_end "$tracer"; read -r t n <"$tmp/win"
		echo "bpf stats, $what, window $k: $n program runs, $t ns, $req requests:" \
			"$(div "$t" "$req" %.0f) ns and $(div "$n" "$req" %.2f) runs per request; $(per_prog)" >&2
		[ "${req:-0}" -gt 0 ] && echo "$(div "$n" "$req" %.6f) $(div "$t" "$req" %.1f)" >>"$tmp/windows"
	done
	stop_tracer
	pr_runs=$(sort -g "$tmp/windows" | awk 'NR == 1 { printf "%.2f\n", $1 }')
	pr_ns=$(sort -g "$tmp/windows" | awk 'NR == 1 { m = $1 } $1 <= m * 1.02 { print $2 }' | bench_median |
		awk '{ printf "%.0f\n", $1 }')
	: "${pr_runs:=n/a}" "${pr_ns:=n/a}"
}

floor_vs_empty tcpreq tcpreq_stats
t_fl_ns=$fl_ns t_em_ns=$em_ns t_fl_rq=$fl_rq t_em_rq=$em_rq

if [ -n "$redis_ok" ]; then
	# "rps cpu requests" as floor_vs_empty reads it.
	redis_stats() { local r g; read -r r g _ < <(run_redis 1 $((RN[1] * 2 / 3))); echo "$r - $g"; }
	floor_vs_empty "redis -P 1" redis_stats
	r_fl_ns=$fl_ns r_em_ns=$em_ns r_fl_rq=$fl_rq r_em_rq=$em_rq
	rq_ns=() rq_runs=() rq_pns=() rq_pruns=()
	for P in 1 16; do
		per_request "redis -P $P under tcplat -p" "-p $redis" run_redis "$P" $((RN[$P] / RSECS))
		rq_ns[$P]=$pr_ns rq_runs[$P]=$pr_runs
		per_request "redis -P $P under tcplat -p --proto redis" "-p $redis --proto redis" \
			run_redis "$P" $((RN[$P] / RSECS))
		rq_pns[$P]=$pr_ns rq_pruns[$P]=$pr_runs
	done
fi
if [ -n "$nginx_ok" ]; then
	other_nginx
	per_request "nginx under tcplat -c nginx" "-c nginx" run_nginx 1
	ng_ns=$pr_ns ng_runs=$pr_runs
fi

## Results.
m() { bench_med ${R[$1]:-}; }
diff_ns() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 == a && b + 0 == b && a != "" && b != "") printf "%.1f\n", a - b; else print "n/a" }'; }
echo "RESULT|tcplat|throughput under/alone (tcpreq 32 conns rps)|$(m t_with)|>= 0.97"
echo "RESULT|tcplat|cpu per request under/alone (client + server)|$(m t_wcpu)|<= 1.03"
echo "RESULT|tcplat|floor (-p idle): throughput under/alone|$(m t_floor)|>= 0.99"
echo "RESULT|tcplat|floor (-p idle): cpu per request under/alone|$(m t_fcpu)|"
echo "RESULT|tcplat|BPF run time per event (ns)|$nsp|"
if [ -n "$empty_ok" ]; then
	echo "RESULT|tcplat|empty program: throughput under/alone|$(m t_empty)|"
	echo "RESULT|tcplat|empty program: cpu per request under/alone|$(m t_ecpu)|"
	echo "RESULT|tcplat|floor: BPF ns per event|$t_fl_ns|<= empty + 20"
	echo "RESULT|tcplat|empty program on the same hooks: ns per event|$t_em_ns|"
	echo "RESULT|tcplat|floor minus empty: ns per event|$(diff_ns "$t_fl_ns" "$t_em_ns")|<= 20"
	echo "RESULT|tcplat|program runs per request: floor, empty|$t_fl_rq, $t_em_rq|equal (fewest of 2 windows)"
else
	echo "RESULT|tcplat|floor: BPF ns per event|$t_fl_ns|"
	echo "RESULT|tcplat|empty program: skipped|-|$empty_why"
	echo "empty program skipped: $empty_why"
fi
if [ -n "$redis_ok" ]; then
	echo "RESULT|tcplat|redis -P 1: throughput under/alone|$(m r1_with)|>= 0.97"
	echo "RESULT|tcplat|redis -P 16: throughput under/alone|$(m r16_with)|>= 0.97"
	echo "RESULT|tcplat|redis -P 1: cpu per GET under/alone|$(m r1_wcpu)|"
	echo "RESULT|tcplat|redis -P 16: cpu per GET under/alone|$(m r16_wcpu)|"
	echo "RESULT|tcplat|redis -P 1 floor: throughput under/alone|$(m r1_floor)|>= 0.99"
	echo "RESULT|tcplat|redis -P 16 floor: throughput under/alone|$(m r16_floor)|>= 0.99"
	echo "RESULT|tcplat|redis -P 1 floor: cpu per GET under/alone|$(m r1_fcpu)|"
	echo "RESULT|tcplat|redis -P 16 floor: cpu per GET under/alone|$(m r16_fcpu)|"
	if [ -n "$empty_ok" ]; then
		echo "RESULT|tcplat|redis -P 1 empty: throughput under/alone|$(m r1_empty)|"
		echo "RESULT|tcplat|redis -P 16 empty: throughput under/alone|$(m r16_empty)|"
	fi
	echo "RESULT|tcplat|redis -P 1: BPF ns per request|${rq_ns[1]}|<= 600"
	echo "RESULT|tcplat|redis -P 1: program runs per request|${rq_runs[1]}|"
	echo "RESULT|tcplat|redis -P 16: BPF ns per request|${rq_ns[16]}|<= 600"
	echo "RESULT|tcplat|redis -P 16: program runs per request|${rq_runs[16]}|"
	for P in 1 16; do
		echo "RESULT|tcplat|redis -P $P --proto redis: throughput under/alone|$(m r${P}_proto)|>= 0.95"
		echo "RESULT|tcplat|redis -P $P --proto redis: cpu per GET under/alone|$(m r${P}_pcpu)|"
		echo "RESULT|tcplat|redis -P $P --proto redis: BPF ns per request|${rq_pns[$P]}|"
		echo "RESULT|tcplat|redis -P $P --proto redis: program runs per request|${rq_pruns[$P]}|"
		echo "RESULT|tcplat|redis -P $P --proto redis: tcplat's own cpu ns per GET|$(m r${P}_pucpu)|"
	done
	if [ -n "$empty_ok" ]; then
		echo "RESULT|tcplat|redis floor: BPF ns per event|$r_fl_ns|<= empty + 20"
		echo "RESULT|tcplat|redis empty program: ns per event|$r_em_ns|"
		echo "RESULT|tcplat|redis floor minus empty: ns per event|$(diff_ns "$r_fl_ns" "$r_em_ns")|<= 20"
	else
		echo "RESULT|tcplat|redis floor: BPF ns per event|$r_fl_ns|"
	fi
else
	echo "redis skipped: $redis_why"
	echo "RESULT|tcplat|redis: skipped|-|$redis_why"
fi
if [ -n "$nginx_ok" ]; then
	echo "RESULT|tcplat|nginx: throughput under/alone (wrk -c 8)|$(m n_with)|>= 0.97"
	echo "RESULT|tcplat|nginx: cpu per request under/alone|$(m n_wcpu)|"
	echo "RESULT|tcplat|nginx: BPF ns per request|$ng_ns|"
	echo "RESULT|tcplat|nginx: program runs per request|$ng_runs|"
else
	echo "nginx skipped: $nginx_why"
	echo "RESULT|tcplat|nginx: skipped|-|$nginx_why"
fi
