#!/bin/sh
# Lay out Sesame's installed files under DESTDIR from a source tree whose addons are built
# (packaging/source.sh, then packaging/addons.sh). Used by debian/rules and the RPM spec.
#   stage.sh TREE DESTDIR [UNITDIR ENVFILE]
# UNITDIR: where the unit goes (empty: the caller installs it, as debhelper does);
# ENVFILE: the unit's EnvironmentFile (/etc/default/knockd on Debian, /etc/sysconfig/knockd on RPM).
# Only what runs ships: compiled JS, the .node files, runtime dependencies; no sources,
# build files, type declarations, source maps, tests or other platforms' files.
set -eu

tree=${1:?usage: stage.sh TREE DESTDIR [UNITDIR ENVFILE]}
dest=${2:?usage: stage.sh TREE DESTDIR [UNITDIR ENVFILE]}
unitdir=${3:-}
envfile=${4:-/etc/default/knockd}
app=/usr/lib/sesame
umask 022
case $dest in /|'') echo "stage.sh: refusing to stage into '$dest'" >&2; exit 1 ;; esac
[ -f "$tree/dist/cli/knockd.js" ] || { echo "stage.sh: $tree has no dist/" >&2; exit 1; }

mkdir -p "$dest$app" "$dest/usr/sbin" "$dest/usr/bin" "$dest/usr/share/man/man1" \
  "$dest/usr/share/sesame"
cp -R "$tree/dist" "$tree/node_modules" "$dest$app/"
cp "$tree/package.json" "$dest$app/"
find "$dest$app/dist" -name '*.map' -delete

nm=$dest$app/node_modules
# Header-only build inputs of the addons.
rm -rf "$nm/nan" "$nm/node-addon-api" "$nm/.package-lock.json" "$nm/.bin"
# Each addon keeps only build/Release/*.node and the JS that loads it.
for addon in cap unix-dgram nftables-napi packet-stats; do
  d=$nm/$addon
  ls "$d"/build/Release/*.node >/dev/null 2>&1 || { echo "stage.sh: $addon is not built" >&2; exit 1; }
  find "$d/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
  find "$d/build/Release" -mindepth 1 -maxdepth 1 ! -name '*.node' -exec rm -rf {} +
  rm -rf "$d/src" "$d/deps" "$d/binding.gyp" "$d/test" "$d/appveyor.yml"
done
# Development and foreign-platform files that npm packages carry.
find "$nm" \( -name test -o -name tests -o -name .github -o -name example -o -name examples \
  -o -name benchmark -o -name docs -o -name .nyc_output -o -name coverage \) -type d -prune -exec rm -rf {} +
find "$nm" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' \
  -o -name '*.ts' -o -name '.npmignore' -o -name '.eslintrc*' -o -name '.eslintignore' \
  -o -name 'eslint.config.*' -o -name '.travis.yml' -o -name 'appveyor.yml' -o -name '.editorconfig' \
  -o -name '.prettierrc*' -o -name '.jshintrc' -o -name '.nycrc*' -o -name 'tsconfig*.json' \
  -o -name '*.lib' -o -name '*.dll' -o -name '*.exe' -o -name 'Makefile' -o -name '*.gyp' \
  -o -name '*.gypi' -o -name '*.cc' -o -name '*.h' -o -name 'rollup.config.*' -o -name '.gitattributes' -o -name '.gitignore' -o -name '*.min.js' \) \
  -delete

# Launchers with the distribution's node by full path (sudo and units need no PATH). The daemon's
# as bin/knockd's: two malloc arenas, a 1 MB young generation (bursts do not grow it for good).
launcher() {
  printf '#!/bin/sh\n%sexec /usr/bin/node %s%s/dist/cli/%s.js "$@"\n' "$3" "$4" "$app" "$2" > "$dest$1"
  chmod 0755 "$dest$1"
}
launcher /usr/sbin/knockd knockd 'MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}" ' '--max-semi-space-size=1 '
launcher /usr/bin/knock knock '' ''
for page in knockd.1 knock.1; do
  gzip -9n < "$tree/man/$page" > "$dest/usr/share/man/man1/$page.gz"
done

# Samples: the maintainer scripts copy them into /etc only where no file exists, so a
# knockd user's configuration is never replaced, prompted about or purged (packaging/README.md).
cp "$tree/etc/knockd.conf" "$dest/usr/share/sesame/knockd.conf"
cp "$tree/packaging/systemd/knockd.default" "$dest/usr/share/sesame/knockd.default"
# The Grafana dashboard and the Prometheus alert rules (with their promtool tests), for admins to load.
mkdir -p "$dest/usr/share/sesame/grafana" "$dest/usr/share/sesame/prometheus"
cp "$tree/packaging/grafana/sesame.json" "$dest/usr/share/sesame/grafana/"
cp "$tree/packaging/prometheus/sesame-alerts.yml" "$tree/packaging/prometheus/sesame-alerts.test.yml" \
  "$tree/packaging/prometheus/prometheus.yml.example" "$dest/usr/share/sesame/prometheus/"
if [ -n "$unitdir" ]; then
  mkdir -p "$dest$unitdir"
  sed "s|^EnvironmentFile=.*|EnvironmentFile=-$envfile|" "$tree/packaging/systemd/knockd.service" \
    > "$dest$unitdir/knockd.service"
fi

# Whatever umask or checkout modes were in effect, ship plain modes; addons are not programs.
find "$dest" -type d -exec chmod 0755 {} +
find "$dest" -type f ! -perm -u+x -exec chmod 0644 {} +
find "$dest" -type f -perm -u+x -exec chmod 0755 {} +
find "$nm" -type f \( -name '*.node' -o -name '*.js' -o -name '*.json' \) -exec chmod 0644 {} +
