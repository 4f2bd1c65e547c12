#!/bin/sh
# Build packaging/out/sesame_<version>_<arch>.deb from a built tree
# ("npm ci && npm run build" at the repo root first). Needs dpkg-deb, node, npm.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/packaging/out
tree=$root/packaging/build/deb
version=$(node -p 'require(process.argv[1]).version' "$root/package.json")
arch=$(dpkg --print-architecture)
# Maintainer is a required field; override it when publishing.
maintainer=${DEB_MAINTAINER:-"Sesame developers <sesame@example.invalid>"}

sh "$root/packaging/stage.sh" "$tree" /lib/systemd/system
mkdir -p "$tree/DEBIAN" "$out"

# Provides+Conflicts+Replaces: installing sesame swaps out Debian's knockd, and
# packages depending on knockd are satisfied.
cat > "$tree/DEBIAN/control" <<CONTROL
Package: sesame
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$tree" | cut -f1)
Depends: nodejs (>= 20) | nodejs-20, libpcap0.8
Provides: knockd
Conflicts: knockd
Replaces: knockd
Section: net
Priority: optional
Description: port-knock daemon and client compatible with knockd 0.8
 Sesame watches for sequences of TCP/UDP packets to chosen ports and runs a
 command (for example an nft rule) when an address knocks the right sequence.
 It reads knockd 0.8 configuration files and command lines unchanged, and
 ships knockd, knock, their manual pages and a systemd unit.
CONTROL

# Keep local edits to these across upgrades.
printf '/etc/knockd.conf\n/etc/default/knockd\n' > "$tree/DEBIAN/conffiles"

# Let systemd see the new or removed unit; enabling it is left to the admin.
for script in postinst postrm; do
  printf '#!/bin/sh\nset -e\nif [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi\n' \
    > "$tree/DEBIAN/$script"
  chmod 0755 "$tree/DEBIAN/$script"
done

# Checksums for debsums / dpkg --verify.
(cd "$tree" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  > "$tree/DEBIAN/md5sums"
chmod 0644 "$tree/DEBIAN/control" "$tree/DEBIAN/conffiles" "$tree/DEBIAN/md5sums"

deb=$out/sesame_${version}_${arch}.deb
dpkg-deb --root-owner-group --build "$tree" "$deb"
echo "built $deb"
