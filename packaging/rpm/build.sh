#!/bin/sh
# Build packaging/out/sesame-<version>-1.<arch>.rpm from a built tree
# ("npm ci && npm run build" at the repo root first). Needs rpmbuild, node, npm.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/packaging/out
work=$root/packaging/build/rpm
version=$(node -p 'require(process.argv[1]).version' "$root/package.json")

# RPM distributions keep units in /usr/lib (their /lib is a symlink to it).
sh "$root/packaging/stage.sh" "$work/stage" /usr/lib/systemd/system
mkdir -p "$out"
# stage.sh leaves out the knock client while bin/knock does not exist yet.
with_knock=0
[ -e "$root/bin/knock" ] && with_knock=1

# Private _topdir, so nothing lands in ~/rpmbuild.
rpmbuild -bb \
  --define "_topdir $work/top" \
  --define "_rpmdir $out" \
  --define "_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm" \
  --define "sesame_version $version" \
  --define "stagedir $work/stage" \
  --define "with_knock $with_knock" \
  "$here/sesame.spec"
echo "built $(ls "$out"/sesame-"$version"-1.*.rpm)"
