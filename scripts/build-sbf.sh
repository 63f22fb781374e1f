#!/usr/bin/env bash
# Builds the program to an SBPF v3 .so without Solana's platform-tools, using the upstream-rustc
# toolchain in ../shared/sbf-toolchain (set up once with its setup.sh). People who have the
# Solana toolchain can use `anchor build` instead: both leave target/deploy/agentrail.so.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
toolchain=${SBF_TOOLCHAIN:-$root/../shared/sbf-toolchain}
[ -f "$toolchain/build.sh" ] || { echo "build-sbf: no SBF toolchain at $toolchain (set SBF_TOOLCHAIN)" >&2; exit 1; }
# The SBF build uses another rustc; its own target dir keeps the host build's cache intact.
target=${CARGO_TARGET_DIR:-$HOME/.cache/agentrail-target}/sbf
cd "$root"
CARGO_TARGET_DIR="$target" bash "$toolchain/build.sh" anchor programs/agentrail
# cargo's artifact is current even when nothing was relinked; publish it where anchor build would
artifact="$target/sbfup-solana-solana/release/libagentrail.so"
[ -f "$artifact" ] || { echo "build-sbf: the build finished but $artifact is missing" >&2; exit 1; }
mkdir -p "$root/target/deploy"
cp "$artifact" "$root/target/deploy/agentrail.so"
echo "built $root/target/deploy/agentrail.so ($(stat -c %s "$root/target/deploy/agentrail.so") bytes)"
