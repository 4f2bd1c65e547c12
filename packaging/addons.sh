#!/bin/sh
# Build the native addons of a vendored source tree (packaging/source.sh) with the
# node-gyp and Node headers of the system it runs on: run inside the target release's root
# (Debian build root, rpmbuild's %build), so each addon matches the Node that will load it.
#   addons.sh TREE [NODEDIR]   NODEDIR: Node's headers (default: node-gyp's own choice)
set -eu
tree=${1:?usage: addons.sh TREE [NODEDIR]}
nodedir=${2:-}
for addon in cap unix-dgram nftables-napi packet-stats; do
  dir=$tree/node_modules/$addon
  [ -f "$dir/binding.gyp" ] || { echo "addons.sh: $dir has no binding.gyp" >&2; exit 1; }
  echo "addons.sh: building $addon with node $(node -v)" >&2
  (cd "$dir" && node-gyp ${nodedir:+--nodedir="$nodedir"} rebuild)
  ls "$dir"/build/Release/*.node >/dev/null
done
