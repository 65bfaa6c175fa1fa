#!/bin/bash
# Filters: two tcpreq client/server pairs run at once across the lab (A
# on port PA, B on port PB).  tcplat -p A's client shows A's requests
# exactly and no flow of B; --rport PB (in the client namespace, any
# process) shows B's exactly; -c tcpreq --netns of the server side with
# --lport PA shows A's server side.  A tcplat -p on a process that makes
# no TCP traffic (sleep) shows zero requests.
. "$(dirname "$0")/../lib.sh"
lk_tcplat_lab
PA=23324 PB=23325 NA=1500 NB=1000

for p in $PA $PB; do
	lk_bg ip netns exec "$LAB_S" "$T" server --nodelay "0.0.0.0:$p"
	lk_wait_for 5 lk_listening "$LAB_S" "$p" || fail "server not listening"
done
fifo=$LK_TMP/go
mkfifo "$fifo"
lk_bg ip netns exec "$LAB_C" bash -c \
	"read -r _ <'$fifo'; exec '$T' client -j -n 2 --requests $NA '$LAB_S_IP:$PA'" >"$LK_TMP/ca"
ca=$LK_LAST_PID
lk_bg sleep 60
idle=$LK_LAST_PID

start() {
	local o=$1; shift
	timeout -s INT "$LK_HANG" "$OUTPUT/tcplat" -v -j "$@" >"$LK_TMP/$o" 2>"$LK_TMP/$o.err" &
	LK_PIDS+=($!); eval "tp_$o=$!"
	lk_wait_for 20 grep -q tracing "$LK_TMP/$o.err" || { cat "$LK_TMP/$o.err"; fail "tcplat $* did not start"; }
}
start pid -p "$ca" -F
start rport --netns "$LAB_C" --rport $PB
start lport --netns "$LAB_S" -c tcpreq --lport $PA --role server
start idle -p "$idle"
echo go >"$fifo"
lk_in_client "$T" client -j -n 3 --requests $NB "$LAB_S_IP:$PB" >"$LK_TMP/cb" || fail "client B failed"
wait "$ca" || fail "client A failed"
sleep 0.3
for o in pid rport lport idle; do
	eval "tp=\$tp_$o"
	kill -INT "$tp" 2>/dev/null
	wait "$tp" || { cat "$LK_TMP/$o.err"; fail "tcplat ($o) failed"; }
done
req() { jq 'select(.type == "summary") | .requests' "$1"; }
assert_eq "$(req "$LK_TMP/ca")" $NA "client A's requests"
assert_eq "$(req "$LK_TMP/cb")" $NB "client B's requests"
assert_eq "$(req "$LK_TMP/pid")" $NA "-p A: A's requests"
assert_eq "$(jq -r 'select(.type == "flow") | "\(.pid) \(.rport)"' "$LK_TMP/pid" | sort -u)" \
	"$ca $PA" "-p A: only A's flows"
assert_eq "$(req "$LK_TMP/rport")" $NB "--rport B: B's requests"
assert_eq "$(req "$LK_TMP/lport")" $NA "--lport A on the server side: A's requests"
assert_eq "$(req "$LK_TMP/idle")" 0 "-p on a process without TCP"
