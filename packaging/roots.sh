#!/bin/sh
# Debian roots for building and testing the packages, cached under $SESAME_ROOTS
# (default /var/cache/sesame-roots), made with debootstrap from Debian's archive only.
#   roots.sh base SUITE    -> pristine minbase root (what a user's minimal system holds)
#   roots.sh build SUITE   -> base + that release's nodejs, headers and build tools
#   roots.sh fresh SUITE DIR -> a throw-away copy of the base root at DIR, for one test
# Needs root (debootstrap, chroot). Prints the root's path on stdout.
set -eu

cache=${SESAME_ROOTS:-/var/cache/sesame-roots}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
what=${1:?usage: roots.sh base|build|fresh SUITE [DIR]}
suite=${2:?usage: roots.sh base|build|fresh SUITE [DIR]}
case $suite in bookworm|trixie) ;; *) echo "roots.sh: unsupported suite '$suite'" >&2; exit 2 ;; esac

# What a Debian source package of Sesame needs to build (debian/control Build-Depends).
BUILD_DEPS="build-essential debhelper fakeroot nodejs libnode-dev node-gyp python3
  libpcap-dev libnftables-dev pkgconf lintian"

# Run a command inside a root with /proc mounted, unmounting it whatever happens.
in_root() {
  r=$1; shift
  mount -t proc proc "$r/proc"
  set +e
  chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
  rc=$?
  set -e
  umount "$r/proc"
  return $rc
}

base() {
  dir=$cache/$suite-base
  if [ ! -e "$dir/.complete" ]; then
    rm -rf "$dir"
    mkdir -p "$cache"
    debootstrap --variant=minbase "$suite" "$dir" "$mirror" >&2
    # A container's resolver, so apt inside reaches the archive.
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
    touch "$dir/.complete"
  fi
  echo "$dir"
}

build() {
  b=$(base)
  dir=$cache/$suite-build
  if [ ! -e "$dir/.complete" ]; then
    rm -rf "$dir"
    cp -a "$b" "$dir"
    rm -f "$dir/.complete"
    in_root "$dir" apt-get update -qq >&2
    # shellcheck disable=SC2086
    in_root "$dir" apt-get install -y -qq --no-install-recommends $BUILD_DEPS >&2
    in_root "$dir" apt-get clean >&2
    touch "$dir/.complete"
  fi
  echo "$dir"
}

fresh() {
  dest=${3:?usage: roots.sh fresh SUITE DIR}
  b=$(base)
  rm -rf "$dest"
  cp -a "$b" "$dest"
  rm -f "$dest/.complete"
  echo "$dest"
}

case $what in
  base) base ;;
  build) build ;;
  fresh) fresh "$@" ;;
  *) echo "roots.sh: unknown '$what'" >&2; exit 2 ;;
esac
