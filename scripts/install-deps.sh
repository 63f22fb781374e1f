#!/usr/bin/env bash
# Debian packages the build, tests and demo need, installed only where missing: the C toolchain
# and libraries agave's validator builds with, the PostgreSQL server the keeper's store tests use,
# the demo's curl and python3, valgrind for the program's unit tests,
set -euo pipefail
# and the web console's tests: Chromium (a browser download from elsewhere is not possible here)
# and Node.js where the machine has none
packages=(curl python3 git libssl-dev libudev-dev pkg-config zlib1g-dev clang libclang-dev cmake protobuf-compiler make g++ postgresql chromium valgrind)
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
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
[ -z "$sudo" ] || command -v sudo >/dev/null || { echo "install-deps: not root and no sudo: install ${missing[*]} as root" >&2; exit 1; }
# wait for another apt (the SBF toolchain setup, a background validator build) instead of failing
apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
$sudo "${apt[@]}" update -qq
$sudo "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}"
