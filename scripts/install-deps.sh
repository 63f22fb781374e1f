#!/usr/bin/env bash
# Debian packages the build and tests need, installed only where missing: the C toolchain and
# libraries agave's validator builds with, and the PostgreSQL server the keeper's store tests use.
set -euo pipefail
packages=(libssl-dev libudev-dev pkg-config zlib1g-dev clang libclang-dev cmake protobuf-compiler make g++ postgresql)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
echo "system packages: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
