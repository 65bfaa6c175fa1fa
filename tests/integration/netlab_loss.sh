#!/bin/bash
# netlab --loss: the BPF program drops about the asked share, its
# counters agree exactly with the receiver's kernel (Udp NoPorts: every
# datagram that reached the server's closed port), and netlab set
# changes the probability while traffic flows.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd ip
lk_need_bin netlab
NL=$OUTPUT/netlab

lk_lab_up
P=$LAB
# Only the test's datagrams: no IPv6 chatter (router solicitations, MLD)
# to blur exact counts.  ARP is never counted by the program.
lk_lab_ipv4_only
lk_in_client ping -c 1 -W 2 "$LAB_S_IP" >/dev/null 2>&1	# ARP, before counting

"$NL" status --prefix "$P" | grep -q 'no loss program' || fail "a loss program before any --loss"

# counters DIR: "seen dropped" from netlab status (text, no jq needed).
counters() { "$NL" status --prefix "$P" | awk -v d="$1" '$1 == d { print $3, $4 }'; }
noports() { lk_netstat "$LAB_S" "Udp NoPorts"; }
# send N: N datagrams client -> server port 9 (closed), bash's /dev/udp.
send() { lk_in_client bash -c 'for ((i = 0; i < $1; i++)); do echo x >/dev/udp/$2/9; done' _ "$1" "$LAB_S_IP"; }

"$NL" set --prefix "$P" --dir to-server --loss 10 || fail "set --loss 10"
read -r seen0 drop0 <<<"$(counters to-server)"
assert_eq "$seen0 $drop0" "0 0" "counters right after attaching"
N=4000
np0=$(noports)
send $N
np1=$(noports)
read -r seen drop <<<"$(counters to-server)"
arrived=$((np1 - np0))
echo "sent $N, program saw $seen and dropped $drop, server's Udp NoPorts +$arrived"
assert_eq "$seen" "$N" "packets the program saw"
assert_ge "$drop" 1 "packets dropped"
assert_eq "$((N - drop))" "$arrived" "sent - dropped = arrived (Udp NoPorts)"
# 10% of 4000: 400, binomial sd 19; 5 sd either way.
assert_near "$drop" 400 0 95 "dropped at --loss 10"
read -r cseen cdrop <<<"$(counters to-client)"
assert_eq "$cdrop" 0 "dropped to-client (loss there is 0)"

# 100% and 0% are exact.
"$NL" set --prefix "$P" --dir to-server --loss 100 || fail "set --loss 100"
np0=$(noports); send 200; np1=$(noports)
assert_eq "$((np1 - np0))" 0 "arrived at --loss 100"
"$NL" set --prefix "$P" --loss 0 || fail "set --loss 0"
np0=$(noports); send 200; np1=$(noports)
assert_eq "$((np1 - np0))" 200 "arrived at --loss 0"

# While traffic flows: one sender, bounded in count and time, through
# loss 0 -> 50 -> 0, with the counters sampled in each phase.
np0=$(noports)
read -r s0 d0 <<<"$(counters to-server)"
lk_in_client bash -c 'n=0; end=$((SECONDS + 20))
	while ((n < 200000 && SECONDS < end)); do
		echo x >/dev/udp/$1/9; n=$((n + 1))
		[ -e "$2" ] && break
	done; echo $n >"$2.count"' _ "$LAB_S_IP" "$LK_TMP/stop" &
SENDER=$!
LK_PIDS+=($SENDER)
sleep 1
read -r s1 d1 <<<"$(counters to-server)"
"$NL" set --prefix "$P" --dir to-server --loss 50 || fail "set --loss 50 under traffic"
read -r s2 d2 <<<"$(counters to-server)"
sleep 1.5
read -r s3 d3 <<<"$(counters to-server)"
"$NL" set --prefix "$P" --dir to-server --loss 0 || fail "set --loss 0 under traffic"
read -r s4 d4 <<<"$(counters to-server)"
sleep 1
read -r s5 d5 <<<"$(counters to-server)"
touch "$LK_TMP/stop"
wait $SENDER
sent=$(cat "$LK_TMP/stop.count")
np1=$(noports)
echo "phases (seen dropped): $s0 $d0 | $s1 $d1 | $s2 $d2 | $s3 $d3 | $s4 $d4 | $s5 $d5; sent $sent"
assert_ge "$((s1 - s0))" 100 "packets seen at loss 0 under traffic"
assert_eq "$((d1 - d0))" 0 "drops at loss 0 under traffic"
assert_ge "$((s3 - s2))" 100 "packets seen at loss 50 under traffic"
# 50% with a binomial tolerance: 5 sd of the phase's count, at least 5%.
awk -v s=$((s3 - s2)) -v d=$((d3 - d2)) 'BEGIN { sd = sqrt(s * 0.25); t = 5 * sd; if (t < s * 0.05) t = s * 0.05
	exit !(d >= s / 2 - t && d <= s / 2 + t) }' || fail "drops at loss 50: $((d3 - d2)) of $((s3 - s2))"
ok "drops at loss 50 under traffic: $((d3 - d2)) of $((s3 - s2))"
assert_ge "$((s5 - s4))" 100 "packets seen after set back to 0"
assert_eq "$((d5 - d4))" 0 "drops after set back to 0"
read -r s6 d6 <<<"$(counters to-server)"
assert_eq "$((sent - (d6 - d0)))" "$((np1 - np0))" "sent - dropped = arrived, whole run under traffic"

# The counters outlive netlab (pinned) and go with down.
[ -e "/sys/fs/bpf/latkit/$P/impair_cnt" ] || fail "counter map not pinned"
"$NL" down --prefix "$P" || fail "down"
[ -e "/sys/fs/bpf/latkit/$P" ] && fail "pins left after down"
ip netns list | grep -q "^$P-" && fail "namespaces left after down"
ok "down removed pins and namespaces"
