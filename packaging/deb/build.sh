#!/bin/sh
# Build packaging/out/sesame_<version>+debNN_<arch>.deb for each Debian release named (default:
# bookworm trixie), each inside a clean root of that release (packaging/roots.sh) with its own
# nodejs, headers and libraries, from the vendored source tree (packaging/source.sh); then lint
# each with that release's lintian. As root.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/packaging/out
suites=${*:-bookworm trixie}
tree=$(sh "$root/packaging/source.sh")
name=$(basename "$tree")
version=${name#sesame-}

in_root() {
  r=$1; shift
  mount -t proc proc "$r/proc"
  set +e
  chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
  rc=$?
  set -e
  umount "$r/proc"
  return $rc
}

for suite in $suites; do
  case $suite in bookworm) tag=deb12 ;; trixie) tag=deb13 ;; *) echo "unknown suite $suite" >&2; exit 2 ;; esac
  r=$(sh "$root/packaging/roots.sh" build "$suite")
  rm -rf "$r/build"
  mkdir -p "$r/build"
  cp -R "$tree" "$r/build/$name"
  # One version per release, the newer release's sorting higher (as backports do).
  sed -i "1s/^sesame ($version) unstable;/sesame ($version+$tag) $suite;/" "$r/build/$name/debian/changelog"
  in_root "$r" sh -c "cd /build/$name && dpkg-buildpackage -b -us -uc" >&2
  deb=$(cd "$r/build" && ls sesame_"$version+$tag"_*.deb)
  cp "$r/build/$deb" "$out/$deb"
  echo "built $out/$deb" >&2
  # The release's own lintian; errors fail the build.
  in_root "$r" lintian --fail-on error --info "/build/$deb" >&2
  echo "$out/$deb"
done
