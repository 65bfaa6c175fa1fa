#!/bin/bash
# --listen's failures and --web-config: a port in use ends tcplat with
# one line and exit 1 before it traces; a malformed web config too; with
# TLS and basic auth (self-signed certificate, bcrypt hash), a scrape
# without credentials gets 401, one with wrong ones 401, plain HTTP gets
# no answer, and the right ones get the counts of a tcpreq run.
. "$(dirname "$0")/../lib.sh"
lk_need_root
lk_need_cmd curl
lk_need_cmd openssl
lk_need_cmd python3
lk_need_bin tcplat
lk_need_bin tcpreq
lk_lab_up
T=$OUTPUT/tcpreq
PORT=$(lk_free_port "$LAB_S") || fail "no free port in the lab"
MP=$(lk_free_port) || fail "no free port"

# A port in use.
lk_bg python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(60)' "$MP"
held() { ss -Hltn "sport = :$MP" | grep -q .; }
lk_wait_for 5 held || fail "port holder not listening"
timeout 30 "$OUTPUT/tcplat" --listen "127.0.0.1:$MP" >/dev/null 2>"$LK_TMP/busy.err"
rc=$?
cat "$LK_TMP/busy.err"
assert_eq "$rc" 1 "port in use: exit status"
assert_eq "$(wc -l <"$LK_TMP/busy.err")" 1 "port in use: one line"
grep -q "Address already in use" "$LK_TMP/busy.err" || fail "port in use: says why"
kill "$LK_LAST_PID"

# Malformed web configs.
for cfg in 'tls_server_config:\n  cert_file: /nonexistent\n' 'bogus: 1\n' \
	'basic_auth_users:\n  alice: plaintext\n' 'tls_server_config:\n  cert_file: a\n'; do
	printf "$cfg" >"$LK_TMP/bad.yml"
	timeout 30 "$OUTPUT/tcplat" --listen "127.0.0.1:$MP" --web-config "$LK_TMP/bad.yml" \
		>/dev/null 2>"$LK_TMP/bad.err"
	rc=$?
	echo "$(cat "$LK_TMP/bad.err")"
	assert_eq "$rc:$(wc -l <"$LK_TMP/bad.err")" "1:1" "malformed web config: exit 1, one line"
done

# TLS and basic auth.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-keyout "$LK_TMP/server.key" -out "$LK_TMP/server.crt" 2>/dev/null || fail "openssl"
hash=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH)))')
case $hash in '$2'*) ;; *) skip "no bcrypt in python's crypt" ;; esac
cat >"$LK_TMP/web.yml" <<EOC
# test config
tls_server_config:
  cert_file: server.crt
  key_file: "server.key"
basic_auth_users:
  prom: '$hash'
EOC
lk_bg ip netns exec "$LAB_S" "$T" server --nodelay "0.0.0.0:$PORT"
lk_wait_for 5 lk_listening "$LAB_S" "$PORT" || fail "server not listening"
timeout -s INT "$LK_HANG" "$OUTPUT/tcplat" -v -c tcpreq --netns "$LAB_C" --listen "127.0.0.1:$MP" \
	--web-config "$LK_TMP/web.yml" >"$LK_TMP/tls.out" 2>"$LK_TMP/tls.err" &
TP=$!; LK_PIDS+=($TP)
lk_wait_lines 30 "$LK_TMP/tls.err" tracing || { cat "$LK_TMP/tls.err"; fail "tcplat did not start"; }
ip netns exec "$LAB_C" "$T" client --nodelay -n 2 --requests 300 "$LAB_S_IP:$PORT" >/dev/null ||
	fail "tcpreq client failed"
U=https://127.0.0.1:$MP/metrics
assert_eq "$(curl -sk -o /dev/null -w '%{http_code}' "$U")" 401 "TLS, no credentials"
assert_eq "$(curl -sk -o /dev/null -w '%{http_code}' -u prom:wrong "$U")" 401 "TLS, wrong password"
code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP/metrics")
assert_eq "$code" 000 "plain HTTP to the TLS port: no HTTP answer"
has() { curl -sk -u prom:s3cret "$U" | grep -q '^latkit_tcp_requests_total{comm="tcpreq",role="client"} 300$'; }
lk_wait_for 5 has || fail "TLS with credentials: not 300 requests"
ok "TLS with credentials: tcpreq's 300 requests"
kill -INT "$TP"; wait "$TP" || fail "tcplat failed"
