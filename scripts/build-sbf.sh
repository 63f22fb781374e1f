#!/usr/bin/env bash
# Builds the program to an SBPF v3 .so without Solana's platform-tools, using the upstream-rustc
# toolchain in ../shared/sbf-toolchain (set up once with its setup.sh). People who have the
# Solana toolchain can use `anchor build` instead: both leave target/deploy/agentrail.so.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
toolchain=${SBF_TOOLCHAIN:-$root/../shared/sbf-toolchain}
[ -f "$toolchain/build.sh" ] || { echo "build-sbf: no SBF toolchain at $toolchain (set SBF_TOOLCHAIN)" >&2; exit 1; }
so="$root/target/deploy/agentrail.so"
rm -f "$so"
cd "$root"
# The SBF build uses another rustc; its own target dir keeps the host build's cache intact.
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/agentrail-target}/sbf bash "$toolchain/build.sh" anchor programs/agentrail
[ -f "$so" ] || { echo "build-sbf: the build finished but $so is missing" >&2; exit 1; }
echo "built $so ($(stat -c %s "$so") bytes)"
