#!/bin/bash
# netlab up/exec/status/down: ping both ways (also unprivileged, through
# ping_group_range), idempotent up, nothing left in the root namespace
# or in bpffs after down.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd ip
lk_need_cmd ping
lk_need_bin netlab
NL=$OUTPUT/netlab

# Other work on this machine may change the root namespace meanwhile:
# look only for what the lab could have leaked there.
root_leaks() {
	ip -o link show | awk -F': ' '{print $2}' | grep -x 'veth0\(@.*\)\?'
	ip -o -4 addr show | grep -F ' 192.168.100.'
	ip -4 route show | grep -F '192.168.100.'
}
[ -z "$(root_leaks)" ] || skip "the root namespace already uses 192.168.100.0/24 or veth0"

lk_lab_up
P=$LAB
ip netns list | grep -qx "$LAB_C\( .*\)\?" || fail "no namespace $LAB_C"
ip netns list | grep -qx "$LAB_S\( .*\)\?" || fail "no namespace $LAB_S"
assert_eq "$(lk_in_client ip -o -4 addr show dev veth0 | awk '{print $4}')" "$LAB_C_IP/24" "client address"
assert_eq "$(lk_in_server ip -o -4 addr show dev veth0 | awk '{print $4}')" "$LAB_S_IP/24" "server address"
lk_in_client ip -o link show lo | grep -q 'UP' || fail "client loopback is down"

# The oracle is ping's own count of replies.
got=$("$NL" exec client --prefix "$P" -- ping -c 3 -W 2 "$LAB_S_IP" | awk '/received/ {print $4}')
assert_eq "$got" 3 "client -> server echo replies"
got=$("$NL" exec server --prefix "$P" -- ping -c 3 -W 2 "$LAB_C_IP" | awk '/received/ {print $4}')
assert_eq "$got" 3 "server -> client echo replies"

# Unprivileged: a copy of ping has no file capabilities, so as nobody it
# can only use an ICMP datagram socket, which ping_group_range allows.
# (setpriv is util-linux; a minimal system may lack it.)
unpriv=false
nobody() { "$NL" exec "$1" --prefix "$P" -- setpriv --reuid 65534 --regid 65534 --clear-groups "$LK_TMP/bin/ping" "${@:2}"; }
if setpriv --help 2>&1 | grep -q -- --reuid && [ ! -L "$(command -v ping)" ]; then
	mkdir "$LK_TMP/bin" && chmod 755 "$LK_TMP" "$LK_TMP/bin"
	cp "$(command -v ping)" "$LK_TMP/bin/ping"
	# Only if nobody can run it at all (a minimal system's libraries may
	# not be readable by others).
	nobody client -V >/dev/null 2>&1 && unpriv=true
fi
if $unpriv; then
	nobody client -c 1 -W 2 "$LAB_S_IP" >/dev/null || fail "unprivileged ping client -> server"
	nobody server -c 1 -W 2 "$LAB_C_IP" >/dev/null || fail "unprivileged ping server -> client"
	ok "unprivileged ping both ways"
	# ... and the check is real: without the sysctl the same ping fails.
	lk_in_server sh -c 'echo "1 0" > /proc/sys/net/ipv4/ping_group_range'
	nobody server -c 1 -W 2 "$LAB_C_IP" >/dev/null 2>&1 && fail "unprivileged ping works without ping_group_range?"
	ok "unprivileged ping fails without ping_group_range"
else
	echo "no util-linux setpriv, ping is a link (busybox) or nobody cannot run it: unprivileged ping not checked"
	lk_in_server sh -c 'echo "1 0" > /proc/sys/net/ipv4/ping_group_range'
fi

# Idempotent up repairs the sysctl and changes nothing else.
ifidx=$(lk_in_client cat /sys/class/net/veth0/ifindex)
"$NL" up --prefix "$P" || fail "second up failed"
assert_eq "$(lk_in_client cat /sys/class/net/veth0/ifindex)" "$ifidx" "veth kept by a second up"
assert_eq "$(lk_in_server cat /proc/sys/net/ipv4/ping_group_range | tr -s '\t ' '  ')" "0 2147483647" \
	"ping_group_range restored by a second up"
if $unpriv; then
	nobody server -c 1 -W 2 "$LAB_C_IP" >/dev/null || fail "second up did not restore unprivileged ping"
fi
ok "second up is idempotent"

# Same prefix, other subnet: one clear line, non-zero, nothing changed.
rc=0; "$NL" up --prefix "$P" --subnet 10.77.0.0/24 2>"$LK_TMP/err" || rc=$?
[ $rc != 0 ] || fail "up with another subnet on an existing lab succeeded"
assert_eq "$(wc -l <"$LK_TMP/err")" 1 "lines of the conflict message"
grep -q "exists" "$LK_TMP/err" || fail "unclear conflict message: $(cat "$LK_TMP/err")"

"$NL" status --prefix "$P" || fail "status of an up lab exits non-zero"
"$NL" status --prefix "$P" | grep -q "^lab $P: up" || fail "status: $("$NL" status --prefix "$P")"
if command -v jq >/dev/null; then
	"$NL" status --prefix "$P" -j | jq -e --arg c "$LAB_C_IP/24" --arg s "$LAB_S_IP/24" \
		'.type == "status" and .state == "up" and .client.addr == $c and .server.addr == $s
		 and .to_server.loss_pct == null and .to_client.rate_bps == null' >/dev/null ||
		fail "status -j: $("$NL" status --prefix "$P" -j)"
fi
ok "status"

# Without "--", the command starts after the role (and netlab's options).
assert_eq "$("$NL" exec server --prefix "$P" ip -o -4 addr show dev veth0 | awk '{print $4}')" "$LAB_S_IP/24" \
	"exec without --, the command's own options intact"

# exec passes the command's exit status through.
rc=0; "$NL" exec server --prefix "$P" -- sh -c 'exit 7' || rc=$?
assert_eq "$rc" 7 "exec exit status"

# A second lab beside the first, on its own subnet.
P2=$(lk_uid)x
lk_at_exit "'$NL' down --prefix '$P2'"
"$NL" up --prefix "$P2" --subnet 10.77.0.0/24 || fail "up --subnet"
assert_eq "$(ip netns exec "$P2-server" ip -o -4 addr show dev veth0 | awk '{print $4}')" "10.77.0.100/24" "server address in 10.77.0.0/24"
got=$("$NL" exec client --prefix "$P2" -- ping -c 1 -W 2 10.77.0.100 | awk '/received/ {print $4}')
assert_eq "$got" 1 "echo replies in the second lab"
"$NL" down --prefix "$P2" || fail "down of the second lab"

# Nothing in the root namespace while the lab is up.
leaks=$(root_leaks)
[ -z "$leaks" ] || fail "the lab leaked into the root namespace: $leaks"
ok "root namespace untouched"

"$NL" down --prefix "$P" || fail "down failed"
ip netns list | grep -q "^$P-" && fail "namespaces left after down"
[ -e "/sys/fs/bpf/latkit/$P" ] && fail "pins left after down"
rc=0; "$NL" status --prefix "$P" >/dev/null || rc=$?
[ $rc != 0 ] || fail "status of a removed lab exits 0"
"$NL" down --prefix "$P" 2>"$LK_TMP/err" || fail "down of an absent lab failed"
[ -s "$LK_TMP/err" ] && fail "down of an absent lab printed: $(cat "$LK_TMP/err")"
ok "down leaves nothing; second down is quiet"

# Bad input: one line, non-zero.
for args in "up --prefix a/b" "up --subnet 300.1.1.0/24" "exec nowhere -- true" "frobnicate" \
	"exec client --prefix $P-none -- true"; do
	rc=0; "$NL" $args >/dev/null 2>"$LK_TMP/err" || rc=$?
	[ $rc != 0 ] || fail "netlab $args succeeded"
	assert_eq "$(wc -l <"$LK_TMP/err")" 1 "lines of error for 'netlab $args'"
done
