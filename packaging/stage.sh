#!/bin/sh
# Lay out the installed file tree of Sesame under DESTDIR, for the deb and rpm builds.
# Usage: stage.sh DESTDIR [UNITDIR]   (UNITDIR defaults to /lib/systemd/system)
# Needs a built tree: run "npm ci && npm run build" at the repo root first.
set -eu

dest=${1:?usage: stage.sh DESTDIR [UNITDIR]}
unitdir=${2:-/lib/systemd/system}
root=$(cd "$(dirname "$0")/.." && pwd)
app=/usr/lib/sesame
umask 022
case $dest in /|'') echo "stage.sh: refusing to stage into '$dest'" >&2; exit 1 ;; esac

[ -d "$root/dist" ] && [ -x "$root/bin/knockd" ] || {
  echo "stage.sh: $root has no dist/ or bin/knockd; run 'npm ci && npm run build' first" >&2
  exit 1
}

rm -rf "$dest"
mkdir -p "$dest$app" "$dest/usr/sbin" "$dest/usr/bin" "$dest/usr/share/man/man1" \
  "$dest/etc/default" "$dest$unitdir"

# The app: compiled JS, launchers, package.json (read for --version) and the lock file
# that "npm ci" needs to install exactly the locked production dependencies.
cp -R "$root/dist" "$root/bin" "$root/package.json" "$root/package-lock.json" "$dest$app/"
# Our libnftables binding is a file: dependency; npm ci builds it from this copy (sources only).
mkdir -p "$dest$app/packages"
cp -R "$root/packages/nftables-napi" "$dest$app/packages/"
rm -rf "$dest$app/packages/nftables-napi/build"
# Install scripts stay enabled: a native addon (libpcap binding) must be built here.
(cd "$dest$app" && npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error)
rm -f "$dest$app/package-lock.json"
# node-gyp leaves its objects and makefiles next to the addon; only build/Release/*.node is loaded.
find "$dest$app/node_modules" "$dest$app/packages" -type d -path '*/build/Release' | while read -r rel; do
  find "$rel/.." -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
  find "$rel" -mindepth 1 -maxdepth 1 ! -name '*.node' -exec rm -rf {} +
done
rm -rf "$dest$app/packages/nftables-napi/src" "$dest$app/packages/nftables-napi/binding.gyp"

# Small sh launchers: the packaged files do not depend on where npm would put links.
launcher() {
  printf '#!/bin/sh\nexec %s/bin/%s "$@"\n' "$app" "$2" > "$dest$1"
  chmod 0755 "$dest$1"
}
manpage() {
  gzip -9n < "$root/man/$1" > "$dest/usr/share/man/man1/$1.gz"
}

launcher /usr/sbin/knockd knockd
manpage knockd.1
if [ -e "$root/bin/knock" ]; then
  launcher /usr/bin/knock knock
  manpage knock.1
else
  echo "stage.sh: note: bin/knock does not exist yet; packaging without /usr/bin/knock and knock(1)" >&2
  rmdir "$dest/usr/bin"
fi

cp "$root/etc/knockd.conf" "$dest/etc/knockd.conf"
cp "$root/packaging/systemd/knockd.default" "$dest/etc/default/knockd"
cp "$root/packaging/systemd/knockd.service" "$dest$unitdir/knockd.service"

# Whatever umask or checkout modes were in effect, ship plain modes.
find "$dest" -type d -exec chmod 0755 {} +
find "$dest" -type f ! -perm -u+x -exec chmod 0644 {} +
find "$dest" -type f -perm -u+x -exec chmod 0755 {} +
