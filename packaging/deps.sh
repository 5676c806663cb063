#!/usr/bin/env bash
# deps.sh - install every Debian 12 package siemfwd needs to build, test and
# run its demo. Idempotent: does nothing when everything is present.
set -euo pipefail

PKGS=(
  # build
  gcc make cmake pkg-config clang libclang-rt-14-dev
  libcurl4-openssl-dev libjson-c-dev librdkafka-dev libyaml-dev libssl-dev
  libsqlite3-dev zlib1g-dev libjemalloc-dev
  # tests
  libcmocka-dev liblognorm-utils rsyslog rsyslog-openssl
  python3 python3-cryptography python3-aiosmtpd openssl ca-certificates procps iproute2 curl groff-base time
  prometheus
  chromium   # the status page test (headless, --dump-dom)
  # packaging checks
  dpkg-dev systemd adduser binutils
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
