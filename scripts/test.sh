#!/usr/bin/env bash
# The project's test command: formatting, IDL freshness, lints, the SBF build, then every test:
# unit and property tests, the scenarios natively (solana-program-test) and against the SBF .so
# (litesvm), the compute budgets, and the end-to-end tests on a real solana-test-validator with
# the keeper and CLI as separate release processes.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/agentrail-target}
export RUST_LOG=${RUST_LOG:-error}
step() { printf '\n==> %s  [%ss]\n' "$*" "$SECONDS"; }
banner() { # title, log file
  printf '\n%s\n!! %s. Exact error:\n' "$(printf '!%.0s' {1..88})" "$1"
  tail -n 25 "$2" | sed 's/^/!!   /'
  printf '%s\n' "$(printf '!%.0s' {1..88})"
}

step "system packages (scripts/install-deps.sh)"
bash scripts/install-deps.sh || echo "!! installing system packages failed; continuing (what needs them will say so)"
# the validator takes the longest to build on a fresh machine: start it now, alongside the rest
validator_log=$(mktemp)
setsid bash scripts/install-validator.sh >"$validator_log" 2>&1 &
validator_pid=$!
# never leave the background build running when this script stops early
stop_validator_build() { kill -- -"$validator_pid" 2>/dev/null || true; }
trap stop_validator_build EXIT

step "cargo fmt --check"
cargo fmt --all -- --check
step "IDL is current (cargo idl --check)"
cargo idl --check
step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "SBF build (scripts/build-sbf.sh)"
sbf_log=$(mktemp)
toolchain=${SBF_TOOLCHAIN:-../shared/sbf-toolchain}
if { [ -f "$toolchain/setup.sh" ] || { echo "no SBF toolchain at $toolchain"; false; }; } >"$sbf_log" 2>&1 \
   && bash "$toolchain/setup.sh" >>"$sbf_log" 2>&1 && bash scripts/build-sbf.sh >>"$sbf_log" 2>&1; then
  sbf=1
  tail -n 1 "$sbf_log"
  step "tests: native and SBF"
  cargo test --workspace --locked
else
  sbf=0
  banner "THE SBF PASS DID NOT RUN: the SBF toolchain setup or build failed" "$sbf_log"
  echo "!! Running the native suite only; tests named sbf::* are skipped, not passed."
  step "tests: native only"
  cargo test --workspace --locked -- --skip sbf::
fi

if [ "$sbf" = 1 ]; then
  step "end to end: release binaries"
  cargo build --release --locked -q -p agentrail-cli -p agentrail-keeper --bins --examples
  step "end to end: waiting for solana-test-validator 4.2.2 (scripts/install-validator.sh)"
else
  stop_validator_build
fi
if [ "$sbf" = 1 ] && wait "$validator_pid"; then
  export SOLANA_TEST_VALIDATOR; SOLANA_TEST_VALIDATOR=$(tail -n 1 "$validator_log")
  step "end to end: tests on $("$SOLANA_TEST_VALIDATOR" --version)"
  cargo test -p agentrail-tests --test e2e --locked -- --ignored --test-threads=1
else
  [ "$sbf" = 1 ] || echo "no .so to deploy" >>"$validator_log"
  banner "THE END-TO-END TESTS DID NOT RUN: no solana-test-validator 4.2.2 or no SBF build" "$validator_log"
fi
step "done"
