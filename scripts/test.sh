#!/usr/bin/env bash
# The project's test command: formatting, IDL freshness, lints, then every test in the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/agentrail-target}
export RUST_LOG=${RUST_LOG:-error}
step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "IDL is current (cargo idl --check)"
cargo idl --check
step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
step "tests (native runtime)"
cargo test --workspace --locked
