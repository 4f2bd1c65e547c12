#!/usr/bin/env bash
# Test the built .debs as users install them: for each release, a fresh debootstrap minbase root
# with only Debian's archive (packaging/roots.sh), then
#   install   apt-get install ./sesame_*.deb; knockd -V, knockd --check, knock -h work
#   knock     the installed knockd and knock, in two network namespaces, open a command door and
#             an Open = door (the port answers, knockd --status lists the grant)
#   apt       over Debian's knockd with a user-modified knockd.conf and /etc/default/knockd,
#             unattended: the user's files stay byte-identical, knockd.service runs Sesame with
#             the user's KNOCKD_OPTS and config (a real knock), purge keeps the user's files
#   dpkg      the same with dpkg -i (then apt-get -f install)
#   purge     on a system that had no knockd, purge removes the config files Sesame created
# Prints a pass/fail table; exits 1 if any check failed. As root.
#   test.sh [SUITE...]   (default: bookworm trixie; the debs must be in packaging/out/)
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/packaging/out
suites=("${@:-bookworm}")
[[ $# -eq 0 ]] && suites=(bookworm trixie)
work=$(mktemp -d /tmp/sesame-pkgtest.XXXXXX)
results=()
failed=0

record() { # suite scenario check ok|fail
  results+=("$(printf '%-9s %-8s %-58s %s' "$1" "$2" "$3" "$4")")
  [[ $4 == PASS ]] || failed=$((failed + 1))
}
check() { # suite scenario description command...
  local s=$1 sc=$2 d=$3; shift 3
  if "$@" >>"$work/log" 2>&1; then record "$s" "$sc" "$d" PASS; else record "$s" "$sc" "$d" FAIL; fi
}

NS_PIDS=()
cleanup_ns() {
  for p in "${NS_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  NS_PIDS=()
  for ns in $(ip netns list 2>/dev/null | awk '/^sespk-/{print $1}'); do ip netns del "$ns"; done
}
unmount_all() { for m in $(awk -v w="$work" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r); do umount -l "$m"; done; }
trap 'cleanup_ns; unmount_all; rm -rf "$work"' EXIT

# chroot into a test root with /proc and /dev/null present, as a booted system has them.
in_root() { local r=$1; shift; chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@" </dev/null; }
mount_root() { mount -t proc proc "$1/proc"; }

# Two namespaces joined by a veth pair: $srv (10.77.N.1, the root's daemon) and $cli (10.77.N.2).
make_net() { # tag subnet-octet
  srv=sespk-$1-s cli=sespk-$1-c net=10.77.$2
  ip netns del "$srv" 2>/dev/null; ip netns del "$cli" 2>/dev/null
  ip netns add "$srv" && ip netns add "$cli" &&
  ip link add "sp$1s" netns "$srv" type veth peer name "sp$1c" netns "$cli" &&
  ip -n "$srv" addr add "$net.1/24" dev "sp$1s" && ip -n "$cli" addr add "$net.2/24" dev "sp$1c" &&
  ip -n "$srv" link set "sp$1s" up && ip -n "$cli" link set "sp$1c" up &&
  ip -n "$srv" link set lo up && ip -n "$cli" link set lo up
}

# A TCP service in $srv on PORT that greets every connection.
serve() { ip netns exec "$srv" node -e "require('net').createServer(s=>{s.on('error',()=>{});s.end('hello\n')}).listen($1)" &
  NS_PIDS+=($!); }
refused() { ! connects "$1"; }
connects() { ip netns exec "$cli" timeout 3 bash -c "exec 3<>/dev/tcp/$net.1/$1 && head -c5 <&3" 2>/dev/null | grep -q hello; }
wait_for() { # seconds command...  (polls every 0.2 s)
  local n=$(( $1 * 5 )); shift
  while (( n-- > 0 )); do "$@" && return 0; sleep 0.2; done; return 1
}
log_has() { grep -q -- "$2" "$1" 2>/dev/null; }

# Start the root's knockd in $srv: how the unit does it (EnvironmentFile + ExecStart) when
# $1 = unit, else with explicit arguments.
start_daemon() { # root mode args...
  local r=$1 mode=$2; shift 2
  if [[ $mode == unit ]]; then
    local unit exec envf
    unit=$(unit_file "$r") || return 1
    exec=$(sed -n 's/^ExecStart=//p' "$r$unit")
    envf=$(sed -n 's/^EnvironmentFile=-\{0,1\}//p' "$r$unit")
    ip netns exec "$srv" chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
      sh -c "set -a; [ -f $envf ] && . $envf; set +a; exec $exec" >>"$work/log" 2>&1 &
  else
    ip netns exec "$srv" chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
      /usr/sbin/knockd "$@" >>"$work/log" 2>&1 &
  fi
  NS_PIDS+=($!)
}
unit_file() { local u; for u in /usr/lib/systemd/system/knockd.service /lib/systemd/system/knockd.service; do
  [[ -f $1$u ]] && { echo "$u"; return 0; }; done; return 1; }
knock_from_cli() { ip netns exec "$cli" chroot "$1" /usr/bin/knock "$net.1" "${@:2}"; }
# The root has no systemd: the host's checks the installed unit file (a copy whose
# ExecStart points into the root, so that the binaries it names are checked too).
unit_copy() { local u; u=$(unit_file "$1") || return 1
  sed "s|^ExecStart=/usr/sbin/knockd|ExecStart=$1/usr/sbin/knockd|" "$1$u" > "$work/knockd.service"; }
unit_verifies() { unit_copy "$1" && systemd-analyze verify "$work/knockd.service"; }
unit_exposure() { unit_copy "$1" && systemd-analyze security --offline=true --threshold=45 "$work/knockd.service" | tail -1; }
unit_runs_sesame() { local u; u=$(unit_file "$1") && grep -q '^ExecStart=/usr/sbin/knockd $KNOCKD_OPTS' "$1$u"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

fresh_root() { # suite name
  local r=$work/$2
  sh "$root/packaging/roots.sh" fresh "$1" "$r" >/dev/null && mount_root "$r" &&
    in_root "$r" apt-get update -qq && echo "$r"
}
pkg_state() { chroot "$1" dpkg-query -W -f='${db:Status-Status}' "$2" 2>/dev/null; }
replaced_knockd() { [[ $(pkg_state "$1" sesame) == installed && $(pkg_state "$1" knockd) != installed ]]; }
dpkg_install() { in_root "$1" dpkg -i "$2" || in_root "$1" apt-get -f install -y -q; }
deb_for() { ls "$out"/sesame_*+"$1"_*.deb 2>/dev/null | tail -1; }

test_install_and_knock() { # suite tag octet
  local s=$1 deb r
  deb=$(deb_for "$2")
  r=$(fresh_root "$s" "$s-install") || { record "$s" install "fresh root" FAIL; return; }
  cp "$deb" "$r/tmp/"
  check "$s" install "apt-get install ./$(basename "$deb")" in_root "$r" apt-get install -y -q "/tmp/$(basename "$deb")"
  check "$s" install "node is the release's own: $(in_root "$r" node -v 2>/dev/null)" in_root "$r" dpkg -S /usr/bin/node
  check "$s" install "knockd -V names Sesame" bash -c "chroot '$r' /usr/sbin/knockd -V | grep -q Sesame"
  check "$s" install "knockd --check -c /etc/knockd.conf" in_root "$r" /usr/sbin/knockd --check -c /etc/knockd.conf
  check "$s" install "knock -h" bash -c "chroot '$r' /usr/bin/knock -h | grep -q usage"
  # TOTP: the bundled qrcode module loads (--provision), and the client computes a code's ports.
  printf 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n' > "$r/tmp/totp.secret" && chmod 600 "$r/tmp/totp.secret"
  printf '[totp]\n  TOTP_Secret_File = /tmp/totp.secret\n  TOTP_Port_Base = 40000\n  command = true\n' > "$r/tmp/totp.conf"
  check "$s" install "knockd --provision prints the otpauth URI and a QR code" bash -c \
    "chroot '$r' /usr/sbin/knockd --provision totp -c /tmp/totp.conf | grep -q 'otpauth://totp/Sesame:totp%40.*secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'"
  check "$s" install "knock --totp --totp-ports prints three ports" bash -c \
    "chroot '$r' /usr/bin/knock --totp /tmp/totp.secret --port-base 40000 --totp-ports | grep -Eq '^400[0-9]{2} 401[0-9]{2} 402[0-9]{2}\$'"
  # Metrics: the bundled prom-client loads and exports; the dashboard and alert rules are installed.
  check "$s" install "the metrics registry loads (prom-client bundled)" in_root "$r" /usr/bin/node -e \
    "import('/usr/lib/sesame/dist/metrics/registry.js').then((m) => new m.Metrics({ activeGrants: async () => new Map(),
      bans: () => 0, eventsDropped: () => ({}), redisUp: () => undefined }).text()).then((t) => process.exit(/^sesame_bans_active 0/m.test(t) ? 0 : 1))"
  check "$s" install "promtool check rules /usr/share/sesame/prometheus/sesame-alerts.yml" \
    promtool check rules "$r/usr/share/sesame/prometheus/sesame-alerts.yml"
  check "$s" install "the Grafana dashboard is installed" test -s "$r/usr/share/sesame/grafana/sesame.json"
  check "$s" install "knockd.service installed, not enabled" bash -c "unit=\$(
    for u in /usr/lib/systemd/system/knockd.service /lib/systemd/system/knockd.service; do
    [ -f '$r'\$u ] && echo \$u && break; done); [ -n \"\$unit\" ] &&
    ! ls '$r'/etc/systemd/system/multi-user.target.wants/knockd.service 2>/dev/null"
  check "$s" install "systemd-analyze verify (host systemd)" unit_verifies "$r"
  check "$s" install "systemd-analyze security: exposure <= 4.5" unit_exposure "$r"

  make_net "${s:0:1}i" "$3" || { record "$s" knock "namespaces" FAIL; return; }
  cat > "$r/etc/sesame-test.conf" <<EOF
[options]
    LogFile = /var/log/sesame-test.log
[cmdDoor]
    sequence      = 7001,7002,7003
    seq_timeout   = 5
    command       = touch /tmp/opened-by-%IP%
[openDoor]
    sequence      = 8001:udp,8002,8003
    seq_timeout   = 5
    Open          = tcp/2222
    cmd_timeout   = 60
EOF
  serve 2222
  start_daemon "$r" args -c /etc/sesame-test.conf -i "sp${s:0:1}is"
  check "$s" knock "installed knockd starts (log: listening)" wait_for 15 log_has "$r/var/log/sesame-test.log" 'listening on'
  check "$s" knock "guarded tcp/2222 closed before knocking" refused 2222
  check "$s" knock "knock 7001 7002 7003 (installed client)" knock_from_cli "$r" 7001 7002 7003
  check "$s" knock "command door ran its command for $net.2" wait_for 5 test -e "$r/tmp/opened-by-$net.2"
  check "$s" knock "knock 8001:udp 8002 8003" knock_from_cli "$r" 8001:udp 8002 8003
  check "$s" knock "Open door: tcp/2222 answers the knocker" wait_for 5 connects 2222
  check "$s" knock "knockd --status lists the grant" bash -c "ip netns exec $srv chroot '$r' /usr/sbin/knockd --status | grep -q '$net.2'"
  cleanup_ns

  check "$s" purge "apt-get purge sesame" in_root "$r" apt-get purge -y -q sesame
  check "$s" purge "purge removed the knockd.conf Sesame created" test ! -e "$r/etc/knockd.conf"
  check "$s" purge "purge removed the /etc/default/knockd Sesame created" test ! -e "$r/etc/default/knockd"
  umount "$r/proc"; rm -rf "$r"
}

test_replace_knockd() { # suite tag octet how(apt|dpkg)
  local s=$1 how=$4 deb r conf_sha def_sha
  deb=$(deb_for "$2")
  r=$(fresh_root "$s" "$s-$how") || { record "$s" "$how" "fresh root" FAIL; return; }
  cp "$deb" "$r/tmp/"
  check "$s" "$how" "Debian's knockd installed" in_root "$r" apt-get install -y -q knockd
  # The user's edits: their own door and their own options, as knockd users have them.
  cat >> "$r/etc/knockd.conf" <<EOF

# local door added by the admin
[adminDoor]
	sequence    = 7301,7302,7303
	seq_timeout = 5
	command     = touch /tmp/admin-door-%IP%
EOF
  sed -i 's/^\([[:space:]]*\)UseSyslog/\1LogFile = \/var\/log\/knockd.log/' "$r/etc/knockd.conf"
  printf 'START_KNOCKD=1\nKNOCKD_OPTS="-i sp%ss"\n' "${s:0:1}$how" >> "$r/etc/default/knockd"
  conf_sha=$(sha "$r/etc/knockd.conf"); def_sha=$(sha "$r/etc/default/knockd")

  if [[ $how == apt ]]; then
    check "$s" "$how" "apt-get install ./sesame over knockd, unattended" \
      in_root "$r" apt-get install -y -q "/tmp/$(basename "$deb")"
  else
    check "$s" "$how" "dpkg -i ./sesame over knockd (+ apt-get -f install)" dpkg_install "$r" "/tmp/$(basename "$deb")"
  fi
  check "$s" "$how" "knockd package gone, sesame installed" replaced_knockd "$r"
  check "$s" "$how" "user's /etc/knockd.conf byte-identical" test "$(sha "$r/etc/knockd.conf")" = "$conf_sha"
  check "$s" "$how" "user's /etc/default/knockd byte-identical" test "$(sha "$r/etc/default/knockd")" = "$def_sha"
  check "$s" "$how" "knockd.service exists and runs /usr/sbin/knockd" unit_runs_sesame "$r"
  check "$s" "$how" "/usr/sbin/knockd is Sesame" bash -c "chroot '$r' /usr/sbin/knockd -V | grep -q Sesame"

  make_net "${s:0:1}$how" "$3" || { record "$s" "$how" "namespaces" FAIL; return; }
  start_daemon "$r" unit
  check "$s" "$how" "unit's command starts with user's KNOCKD_OPTS + conf" wait_for 15 log_has "$r/var/log/knockd.log" "listening on sp${s:0:1}${how}s"
  check "$s" "$how" "user's own door: knock 7301 7302 7303" knock_from_cli "$r" 7301 7302 7303
  check "$s" "$how" "user's own door ran its command" wait_for 5 test -e "$r/tmp/admin-door-$net.2"
  cleanup_ns

  if [[ $how == apt ]]; then
    check "$s" "$how" "apt-get purge sesame" in_root "$r" apt-get purge -y -q sesame
  else
    check "$s" "$how" "dpkg --purge sesame" in_root "$r" dpkg --purge sesame
  fi
  check "$s" "$how" "purge kept the user's knockd.conf" test "$(sha "$r/etc/knockd.conf" 2>/dev/null)" = "$conf_sha"
  check "$s" "$how" "purge kept the user's /etc/default/knockd" test "$(sha "$r/etc/default/knockd" 2>/dev/null)" = "$def_sha"
  umount "$r/proc"; rm -rf "$r"
}

i=0
for s in "${suites[@]}"; do
  case $s in bookworm) tag=deb12 ;; trixie) tag=deb13 ;; *) echo "unknown suite $s" >&2; exit 2 ;; esac
  if [[ -z $(deb_for "$tag") ]]; then record "$s" build "packaging/out has a +$tag .deb" FAIL; continue; fi
  base=$((90 + i * 3)); i=$((i + 1))
  test_install_and_knock "$s" "$tag" "$base"
  test_replace_knockd "$s" "$tag" "$((base + 1))" apt
  test_replace_knockd "$s" "$tag" "$((base + 2))" dpkg
done

echo
printf '%-9s %-8s %-58s %s\n' suite scenario check result
printf '%s\n' "${results[@]}"
pass=$(( ${#results[@]} - failed ))
echo "packages: $pass passed, $failed failed (log: $work/log kept on failure)"
if (( failed )); then cp "$work/log" /tmp/sesame-pkgtest.log; echo "log copied to /tmp/sesame-pkgtest.log"; fi
(( failed == 0 ))
