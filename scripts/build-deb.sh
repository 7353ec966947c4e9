#!/usr/bin/env bash
# Usage: build-deb.sh [amd64|arm64] (default amd64)
# Builds dist/openvpn-auth-oidc_<version>_<arch>.deb from the compiled binary of that
# architecture (make build-bun, make build-bun-arm64) with dpkg-deb only: offline, no debhelper.
# Files are owned by root in the archive; the postinst gives the service group its access.
set -euo pipefail
# Directories install -D makes get their mode from the umask: 0755, whatever the builder's is.
umask 022
cd "$(dirname "$0")/.."
NAME=openvpn-auth-oidc
arch=${1:-amd64}
# Debian's architecture -> the binary, the make target that builds it, and the ELF e_machine of
# that CPU (x86-64 62, AArch64 183).
case $arch in
  amd64) BIN=dist/$NAME target=build-bun machine=62 ;;
  arm64) BIN=dist/$NAME-arm64 target=build-bun-arm64 machine=183 ;;
  *) echo "Unknown architecture '$arch': amd64 or arm64" >&2; exit 2 ;;
esac
[ -x "$BIN" ] || { echo "$BIN is missing: run make $target" >&2; exit 1; }
# A package labelled for one CPU with another's binary would install and never start (on an
# arm64 host make build-bun writes an arm64 dist/$NAME, say). The ELF header: "\x7fELF", and
# e_machine, little-endian, in bytes 18 and 19.
read -r -a header <<<"$(od -An -N20 -tu1 "$BIN" | tr -s ' \n' ' ')"
if [ ${#header[@]} -lt 20 ] || [ "${header[*]:0:4}" != "127 69 76 70" ] ||
  [ $((header[18] + 256 * header[19])) -ne "$machine" ]; then
  echo "$BIN is not an $arch binary (ELF e_machine $machine): run make $target" >&2
  exit 1
fi
version=$(sed -nE 's/^export const VERSION = "([^"]+)";$/\1/p' src/version.ts)
[ -n "$version" ] || { echo "No VERSION in src/version.ts" >&2; exit 1; }
out=dist/${NAME}_${version}_${arch}.deb

root=$(mktemp -d)
chmod 0755 "$root"
trap 'rm -rf "$root"' EXIT
src=packaging/deb
install -D -m 0755 "$BIN" "$root/usr/bin/$NAME"
install -D -m 0644 "$src/$NAME.service" "$root/lib/systemd/system/$NAME.service"
install -D -m 0644 "$src/sysusers.conf" "$root/usr/lib/sysusers.d/$NAME.conf"
install -D -m 0640 server.toml.example "$root/etc/$NAME/server.toml"
install -D -m 0644 README.md "$root/usr/share/doc/$NAME/README.md"
install -D -m 0644 "$src/copyright" "$root/usr/share/doc/$NAME/copyright"
install -D -m 0644 server.toml.example "$root/usr/share/doc/$NAME/examples/server.toml"
install -D -m 0644 "$src/lintian-overrides" "$root/usr/share/lintian/overrides/$NAME"
# Debian's changelog format (policy 12.7), one entry for this version: the history is the git
# log. Dated by SOURCE_DATE_EPOCH or the last commit, so one commit gives the same file.
maintainer=$(sed -n 's/^Maintainer: //p' "$src/control.in")
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
{
  printf '%s (%s) unstable; urgency=medium\n\n' "$NAME" "$version"
  printf '  * Version %s; its documentation is README.md in this directory.\n\n' "$version"
  printf ' -- %s  %s\n' "$maintainer" "$(LC_ALL=C date -u -R -d "@$epoch")"
} | gzip -9n >"$root/usr/share/doc/$NAME/changelog.gz"
install -d -m 0755 "$root/DEBIAN"
install -m 0644 "$src/conffiles" "$root/DEBIAN/conffiles"
install -m 0755 "$src/postinst" "$src/prerm" "$src/postrm" "$root/DEBIAN/"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
  "$src/control.in" >"$root/DEBIAN/control"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z |
  xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
dpkg-deb --root-owner-group -Zxz --build "$root" "$out"
echo "Built $out"
