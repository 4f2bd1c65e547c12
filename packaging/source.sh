#!/bin/sh
# Assemble Sesame's source tree for the distribution builds, with its npm dependencies vendored
# (a Debian or Fedora build root has no npm registry): packaging/build/src/sesame-VERSION/ and
# packaging/out/sesame-VERSION.tar.gz (the RPM's Source0). Runs on the development machine:
# the TypeScript is compiled here (dist/), the native addons are NOT built here but inside the
# target release's own root (packaging/addons.sh), against that release's Node.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
version=$(node -p 'require(process.argv[1]).version' "$root/package.json")
name=sesame-$version
work=$root/packaging/build/src
tree=$work/$name
umask 022

[ -f "$root/dist/cli/knockd.js" ] || (cd "$root" && npm run build >&2)
rm -rf "$tree"
mkdir -p "$tree/packaging" "$root/packaging/out"

cd "$root"
cp -R package.json package-lock.json LICENSE README.md bin lib man etc tsconfig.json "$tree/"
cp -R dist "$tree/dist"
find "$tree/dist" -name '*.map' -delete
cp -R packaging/systemd packaging/grafana packaging/prometheus packaging/stage.sh packaging/addons.sh "$tree/packaging/"
cp -R packaging/debian "$tree/debian"
mkdir -p "$tree/packages"
for pkg in nftables-napi packet-stats; do
  cp -R "packages/$pkg" "$tree/packages/"
  rm -rf "$tree/packages/$pkg/build" "$tree/packages/$pkg/node_modules"
done

# Production dependencies exactly as locked, install scripts off: nothing is compiled here.
(cd "$tree" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
# npm links file: dependencies; the tree must hold real copies.
for pkg in nftables-napi packet-stats; do
  rm -rf "$tree/node_modules/$pkg"
  cp -R "$tree/packages/$pkg" "$tree/node_modules/$pkg"
done
rm -rf "$tree/packages"

tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -czf \
  "$root/packaging/out/$name.tar.gz" "$name"
echo "$tree"
