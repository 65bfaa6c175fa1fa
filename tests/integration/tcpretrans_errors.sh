#!/bin/bash
# Bad input to tcpretrans_cnt: one line on stderr naming the problem, a
# non-zero exit, and nothing loaded.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_bin tcpretrans_cnt
T=$OUTPUT/tcpretrans_cnt

# bad "what" PATTERN ARGS...: fails with one stderr line matching PATTERN.
bad() {
	local what=$1 pat=$2 rc=0
	shift 2
	timeout 10 "$T" "$@" >"$LK_TMP/out" 2>"$LK_TMP/err" || rc=$?
	[ $rc != 0 ] && [ $rc != 124 ] || fail "$what: exit $rc"
	[ "$(wc -l <"$LK_TMP/err")" = 1 ] || { cat "$LK_TMP/err"; fail "$what: not one line on stderr"; }
	grep -qiE "$pat" "$LK_TMP/err" || { cat "$LK_TMP/err"; fail "$what: message does not say '$pat'"; }
	[ ! -s "$LK_TMP/out" ] || fail "$what: printed a report"
	ok "$what: $(cat "$LK_TMP/err")"
}

pid=999999
while kill -0 $pid 2>/dev/null; do pid=$((pid + 1)); done
bad "unknown netns name" "netns|namespace" --netns "no-such-ns-$$"
bad "bad netns path" "netns|namespace|/" --netns /nonexistent/ns
bad "netns path that is no namespace" "netns|namespace" --netns /etc/passwd
bad "unknown PID" "$pid|process|pid" -p $pid
bad "bad PID" "pid" -p abc
bad "port out of range" "port" --rport 70000
bad "port not a number" "port" --lport http
bad "-4 with -6" "exclude" -4 -6
bad "bad -n" "number" -n -3
bad "bad interval" "interval|number|argument" -i 0
bad "unknown option" "option|unrecognized" --no-such-option
bad "bad cgroup" "cgroup" --cgroup /no/such/cgroup
