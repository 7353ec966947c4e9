#!/usr/bin/env bash
# Installs the Debian packages the end-to-end, package, store, CPU and arm64 tests (and make demo)
# need, when missing. As root it installs them; otherwise it prints the exact command and exits 1.
set -euo pipefail
need=()
# command (or an absolute path: a file) -> Debian package
while read -r cmd pkg; do
  if [[ $cmd == /* ]]; then
    [ -e "$cmd" ] || need+=("$pkg")
  else
    PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null || need+=("$pkg")
  fi
done <<'LIST'
openvpn openvpn
ip iproute2
ping iputils-ping
chromium chromium
openssl openssl
redis-server redis-server
systemd-analyze systemd
strace strace
dpkg-deb dpkg
adduser adduser
runuser util-linux
python3 python3
lintian lintian
qemu-x86_64 qemu-user
/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 libc6-arm64-cross
LIST
[ ${#need[@]} -eq 0 ] && exit 0
command="apt-get update && apt-get install -y --no-install-recommends ${need[*]}"
if [ "$EUID" -ne 0 ]; then
  echo "Missing Debian packages: ${need[*]}. Install them as root:" >&2
  echo "  sudo sh -c '$command'" >&2
  exit 1
fi
echo "Installing Debian packages: ${need[*]}" >&2
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
