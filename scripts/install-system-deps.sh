#!/usr/bin/env bash
# Installs the Debian packages the end-to-end suite and the Redis store tests need, when missing and when root.
set -euo pipefail
need=()
command -v openvpn >/dev/null || need+=(openvpn)
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
command -v chromium >/dev/null || need+=(chromium)
command -v openssl >/dev/null || need+=(openssl)
command -v redis-server >/dev/null || need+=(redis-server)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing ${need[*]}; install them as root (apt-get install ${need[*]})" >&2
  exit 1
fi
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
