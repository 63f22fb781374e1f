#!/usr/bin/env bash
# Builds the program to target/deploy/agentrail.so (and the compute baseline it is measured
# against, a test fixture, to target/deploy/agentrail_baseline.so) with one of two toolchains,
# and says which:
#   solana   - Solana's platform-tools (`cargo build-sbf`, what `anchor build` runs), when installed;
#   upstream - tools/sbf-toolchain in this repository (upstream rustc + sbpf-linker, set up once
#              from Debian and crate-registry packages; needs no platform-tools download).
# Both emit SBPF v3 (agave 4.2 runs it; agave 3.1 refuses it). AGENTRAIL_SBF=solana|upstream
# picks one; SBF_ARCH (default v3) is passed to cargo build-sbf.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fail() { echo "build-sbf: $*" >&2; exit 1; }

choice=${AGENTRAIL_SBF:-}
if [ -z "$choice" ]; then
  if cargo build-sbf --version >/dev/null 2>&1; then choice=solana; else choice=upstream; fi
fi
out="$root/target/deploy/agentrail.so"
mkdir -p "$root/target/deploy"

case "$choice" in
solana)
  cargo build-sbf --version >/dev/null 2>&1 ||
    fail "AGENTRAIL_SBF=solana but cargo build-sbf is not installed; install Solana's CLI tools or use AGENTRAIL_SBF=upstream"
  echo "build-sbf: using Solana's platform-tools ($(cargo build-sbf --version 2>&1 | head -n1))"
  for program in agentrail baseline-transfer; do
    cargo build-sbf --manifest-path "programs/$program/Cargo.toml" --arch "${SBF_ARCH:-v3}" \
      --sbf-out-dir "$root/target/deploy" ||
      fail "cargo build-sbf of programs/$program failed (see above); AGENTRAIL_SBF=upstream uses tools/sbf-toolchain instead"
  done
  ;;
upstream)
  toolchain="$root/tools/sbf-toolchain"
  echo "build-sbf: using the in-repo upstream-rustc toolchain (tools/sbf-toolchain; no platform-tools installed)"
  bash "$toolchain/setup.sh" ||
    fail "setting up tools/sbf-toolchain failed (see above); it needs root for apt-get and Debian's package mirror"
  # The SBF build uses another rustc; its own target dir keeps the host build's cache intact.
  target=${CARGO_TARGET_DIR:-$HOME/.cache/agentrail-target}/sbf
  # the program, and the compute baseline it is measured against (a test fixture)
  for program in agentrail:agentrail baseline-transfer:agentrail_baseline; do
    dir=${program%%:*} crate=${program#*:}
    CARGO_TARGET_DIR="$target" bash "$toolchain/build.sh" anchor "programs/$dir" ||
      fail "compiling programs/$dir with tools/sbf-toolchain failed (see above)"
    # cargo's artifact is current even when nothing was relinked; publish it where anchor build would
    artifact="$target/sbfup-solana-solana/release/lib$crate.so"
    [ -f "$artifact" ] || fail "the build finished but $artifact is missing"
    cp "$artifact" "$root/target/deploy/$crate.so"
  done
  ;;
*) fail "AGENTRAIL_SBF must be 'solana' or 'upstream', not '$choice'" ;;
esac
[ -s "$out" ] || fail "no program at $out after the build"
# mark it newer than every source even when cargo did not relink (the SBF tests compare times)
touch "$out"
echo "built $out ($(stat -c %s "$out") bytes, $choice toolchain)"
