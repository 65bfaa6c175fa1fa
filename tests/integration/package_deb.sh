#!/bin/bash
# The .deb builds from a clean copy of the tree, passes lintian without
# errors, and installs (unpacked into a temporary root) every tool with
# its man page and bash completion; the installed binaries run.  Every
# tracing tool has a unit, disabled, and a defaults file (a conffile) with
# a port of its own on 127.0.0.1; systemd-analyze verify accepts the units;
# every tool whose --help has --listen runs from the .deb in the units'
# sandbox.
. "$(dirname "$0")/../lib.sh"
lk_need_cmd dpkg-buildpackage
lk_need_cmd dh
src=$LK_TMP/src
mkdir -p "$src"
if git -C "$LK_TOP" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$LK_TOP" ls-files -z | (cd "$LK_TOP" && xargs -0 cp --parents -t "$src")
else
	(cd "$LK_TOP" && tar --exclude='./build*' --exclude=./.git -cf - .) | tar -C "$src" -xf -
fi
# Untracked but wanted files in a developer's tree are not in the package.
(cd "$src" && dpkg-buildpackage -b -us -uc) >"$LK_TMP/build.log" 2>&1 ||
	{ tail -30 "$LK_TMP/build.log"; fail "dpkg-buildpackage failed"; }
deb=$(ls "$LK_TMP"/latkit_*_*.deb | grep -v dbgsym | head -1)
[ -f "$deb" ] || fail "no .deb produced"
ok "built $(basename "$deb")"
if command -v lintian >/dev/null; then
	lintian --allow-root "$deb" >"$LK_TMP/lintian" 2>&1
	cat "$LK_TMP/lintian"
	! grep -q '^E:' "$LK_TMP/lintian" || fail "lintian reports errors"
	ok "lintian: no errors"
fi
root=$LK_TMP/root
dpkg -x "$deb" "$root" || fail "dpkg -x failed"
n=0
for src_tool in "$LK_TOP"/tools/*.c; do
	t=$(basename "$src_tool" .c)
	[ -x "$root/usr/sbin/$t" ] || fail "$t not in /usr/sbin"
	[ -f "$root/usr/share/man/man8/$t.8.gz" ] || fail "$t.8 not installed"
	[ -f "$root/usr/share/bash-completion/completions/$t" ] || fail "no completion for $t"
	"$root/usr/sbin/$t" --help >/dev/null || fail "installed $t --help fails"
	n=$((n + 1))
done
assert_ge "$n" 1 "tools installed from the .deb"

# The services: one unit and one defaults file per tracing tool (every
# tools/*.c but tcpreq and netlab), shipped disabled, the defaults files
# conffiles, each tool on a port of its own on 127.0.0.1.
ctl=$LK_TMP/control
dpkg -e "$deb" "$ctl" || fail "dpkg -e failed"
ports=
nu=0
for src_tool in "$LK_TOP"/tools/*.c; do
	t=$(basename "$src_tool" .c)
	case "$t" in tcpreq|netlab) continue ;; esac
	unit=$root/lib/systemd/system/latkit-$t.service
	def=$root/etc/default/latkit-$t
	var=LATKIT_$(echo "$t" | tr a-z A-Z)_ARGS
	[ -f "$unit" ] || fail "latkit-$t.service not in the .deb"
	[ -f "$def" ] || fail "/etc/default/latkit-$t not in the .deb"
	grep -qx "/etc/default/latkit-$t" "$ctl/conffiles" || fail "/etc/default/latkit-$t is not a conffile"
	grep -qx "EnvironmentFile=/etc/default/latkit-$t" "$unit" || fail "latkit-$t.service: no EnvironmentFile"
	grep -qx "ExecStart=/usr/sbin/$t \$$var" "$unit" || fail "latkit-$t.service: ExecStart does not take \$$var"
	for d in 'CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_SYS_RESOURCE' NoNewPrivileges=yes \
		ProtectSystem=strict ProtectHome=yes PrivateTmp=yes 'WantedBy=multi-user.target'; do
		grep -qx "$d" "$unit" || fail "latkit-$t.service: no $d"
	done
	args=$(. "$def" && eval echo "\"\${$var-}\"")
	port=$(sed -En 's/.*--listen 127\.0\.0\.1:([0-9]+)( .*)?$/\1/p' <<<"$args")
	[ -n "$port" ] || fail "/etc/default/latkit-$t: $var does not listen on 127.0.0.1 ('$args')"
	case " $ports " in *" $port "*) fail "port $port twice" ;; esac
	ports="$ports $port"
	# Disabled: the maintainer scripts enable a unit only where it was enabled.
	[ "$(grep -c "deb-systemd-helper enable 'latkit-$t.service'" "$ctl/postinst")" = \
	  "$(grep -c "was-enabled 'latkit-$t.service'" "$ctl/postinst")" ] ||
		fail "postinst enables latkit-$t.service"
	nu=$((nu + 1))
done
assert_ge "$nu" 5 "units and defaults files in the .deb, disabled, ports:$ports"
if command -v systemd-analyze >/dev/null; then
	# verify wants the units it depends on and the binaries where the unit
	# says: a root with the package over the host's units.
	vroot=$LK_TMP/vroot
	cp -a "$root" "$vroot" && cp -an /lib/systemd/system/. "$vroot/lib/systemd/system/" 2>/dev/null
	mkdir -p "$vroot/etc/systemd/system"
	for unit in "$root"/lib/systemd/system/latkit-*.service; do
		u=$(basename "$unit")
		systemd-analyze verify --root="$vroot" --man=no "$u" >"$LK_TMP/verify" 2>&1
		rc=$?
		[ "$rc" = 0 ] && [ ! -s "$LK_TMP/verify" ] || { cat "$LK_TMP/verify"; fail "systemd-analyze verify $u"; }
	done
	ok "systemd-analyze verify: every unit, no warnings"
fi

# Run every tool with --listen from the .deb (its /usr/sbin over the host's, in
# a mount namespace of their own) as the units do, with their defaults
# files' arguments (another port and -i 1), under what the units allow: only the four
# capabilities in the bounding set, no_new_privs, the file system read
# only, /home, /root and /run/user hidden, a private /tmp.  (systemd's
# seccomp-based settings are not reproduced; with systemd as PID 1,
# systemd-run -p ... would.)
[ "$(id -u)" = 0 ] || skip "the sandboxed runs need root"
lk_need_cmd setpriv
lk_need_cmd unshare
lk_need_cmd curl
listeners=
for f in "$root"/etc/default/latkit-*; do
	t=${f##*/latkit-}
	"$root/usr/sbin/$t" --help 2>/dev/null | grep -q -- --listen && listeners+=" $t"
done
echo "tools with --listen:$listeners"
for t in tcplat cpuusage; do
	case " $listeners " in *" $t "*) ;; *) fail "$t: no --listen in --help" ;; esac
done
for t in $listeners; do
	var=LATKIT_$(echo "$t" | tr a-z A-Z)_ARGS
	mp=$(lk_free_port) || fail "no free port"
	args=$(. "$root/etc/default/latkit-$t" && eval echo "\"\${$var}\"" |
		sed -E "s/127\.0\.0\.1:[0-9]+/127.0.0.1:$mp/; s/-i [0-9]+/-i 1/; s/-I [^ ]+/-I lo/")
	# shellcheck disable=SC2016
	timeout -s INT "$LK_HANG" unshare -m --propagation private sh -c '
		mount --bind "$0" /usr/sbin || exit 96
		awk '\''{ print $2 }'\'' /proc/self/mounts | grep -Ev "^/(proc|sys|dev)(/|$)" |
			while read -r m; do mount -o remount,bind,ro "$m" 2>/dev/null; done
		touch /usr/.lk-rw 2>/dev/null && exit 97
		for d in /home /root /run/user; do [ -d $d ] && mount -t tmpfs -o ro,mode=0755 none $d; done
		mount -t tmpfs -o mode=1777 none /tmp && mount -t tmpfs -o mode=1777 none /var/tmp &&
		exec setpriv --no-new-privs --inh-caps=-all \
			--bounding-set=-all,+bpf,+perfmon,+net_admin,+sys_resource "$@"' "$root/usr/sbin" \
		"/usr/sbin/$t" -v $args >"$LK_TMP/$t.out" 2>"$LK_TMP/$t.err" &
	p=$!; LK_PIDS+=($p)
	# Each tool's -v line once it is attached.
	lk_wait_lines 30 "$LK_TMP/$t.err" 'tracing\|counting\|attached to\|measuring' || { cat "$LK_TMP/$t.err"; fail "$t did not start in the sandbox"; }
	lk_wait_for 10 curl -sf -o "$LK_TMP/$t.prom" "http://127.0.0.1:$mp/metrics" || fail "$t: no /metrics in the sandbox"
	grep -q '^latkit_' "$LK_TMP/$t.prom" || fail "$t: no metrics"
	sleep 1.5
	kill -INT "$p"; wait "$p" || { cat "$LK_TMP/$t.err"; fail "$t failed in the sandbox"; }
	[ -s "$LK_TMP/$t.out" ] || fail "$t: no report in the sandbox"
	ok "$t from the .deb, its defaults' arguments, in the units' sandbox: tracing, /metrics, reports"
done
