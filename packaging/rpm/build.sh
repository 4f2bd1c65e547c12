#!/bin/sh
# Build the source RPM packaging/out/sesame-<version>-1.src.rpm (what we publish; build it on
# Fedora/RHEL with "rpmbuild --rebuild" or mock, which compiles the addons there). Here, on
# Debian, the spec is checked with rpmspec --parse and packed with rpmbuild -bs; a binary RPM
# built on Debian would link Debian's libpcap soname and glibc, so none is made here.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/packaging/out
version=$(node -p 'require(process.argv[1]).version' "$root/package.json")
spec_version=$(sed -n 's/^Version: *//p' "$here/sesame.spec")
[ "$version" = "$spec_version" ] || { echo "rpm/build.sh: package.json $version, spec $spec_version" >&2; exit 1; }

tree=$(sh "$root/packaging/source.sh")    # also writes $out/sesame-$version.tar.gz
top=$root/packaging/build/rpm
rm -rf "$top"; mkdir -p "$top/SOURCES"
cp "$out/sesame-$version.tar.gz" "$top/SOURCES/"
# Debian has no systemd-rpm-macros: give _unitdir its Fedora value for the check, and accept
# only the systemd scriptlet macros (from systemd-rpm-macros, a BuildRequires) unexpanded.
rpmspec --parse --define "_topdir $top" --define "_unitdir /usr/lib/systemd/system" \
  "$here/sesame.spec" > "$top/parsed.spec"
if grep -v '^%systemd_\|^%{?systemd_requires}' "$top/parsed.spec" | grep -n '%{'; then
  echo "rpm/build.sh: unexpanded macros in the spec" >&2; exit 1
fi
rpmbuild -bs --define "_topdir $top" --define "_srcrpmdir $out" --define "dist %{nil}" \
  "$here/sesame.spec" >&2
ls "$out"/sesame-"$version"-1.src.rpm
