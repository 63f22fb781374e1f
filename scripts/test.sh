#!/usr/bin/env bash
# The project's test command: formatting, IDL freshness, lints, the SBF build, then every test:
# unit and property tests, the scenarios natively (solana-program-test) and against the SBF .so
# (litesvm), the compute budgets, the TypeScript client against the Rust client's bytes, the
# end-to-end tests on a real solana-test-validator with the keeper and CLI as separate processes
# (the web console among them, in Debian's Chromium), and the demo from a plain copy.
# Every step either passes or stops the run with one line naming what failed and how to fix it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/steps.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/agentrail-target}
export RUST_LOG=${RUST_LOG:-error}
# one build of each crate: incremental caches would only cost disk (gigabytes on a fresh machine)
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

step "system packages (scripts/install-deps.sh)"
need_tool cargo "install Rust with rustup (https://rustup.rs)"
must "installing the system packages" "run scripts/install-deps.sh as root or with sudo" bash scripts/install-deps.sh
# the validator takes the longest to build on a fresh machine: start it now, alongside the rest
validator_log=$(mktemp)
setsid bash scripts/install-validator.sh >"$validator_log" 2>&1 &
validator_pid=$!
# never leave the background build running when this script stops early
trap 'kill -- -"$validator_pid" 2>/dev/null || true' EXIT

step "cargo fmt --check"
must "formatting check" "run cargo fmt --all" cargo fmt --all -- --check
step "IDL is current (cargo idl --check)"
must "the IDL check" "run cargo idl and commit idl/agentrail.json" cargo idl --check
step "web: npm ci, the console's bundle is current (web/)"
need_tool node "install Node.js 20 or later (scripts/install-deps.sh)"
must "installing the web packages" "run npm ci --prefix web and read its output" npm ci --prefix web --no-audit --no-fund --loglevel=error
must "the console bundle check" "run npm --prefix web run build and commit web/dist/console.js" npm --prefix web run --silent check
step "clippy"
must "clippy" "fix the warnings above" cargo clippy --workspace --all-targets --locked -- -D warnings

step "SBF build (scripts/build-sbf.sh)"
must "the SBF build" "read the lines above (scripts/build-sbf.sh names the toolchain it used)" bash scripts/build-sbf.sh

step "tests: unit, property, native and SBF (a short fuzz run of the .so among them)"
must "the test suite" "read the failing tests above" cargo test --workspace --locked

# The program's unsafe code (bypass/) is host-tested under valgrind's memcheck: uninitialised
# reads, out-of-bounds and use-after-free in the unit tests fail the run.
step "the program's unit tests under valgrind (memcheck)"
need_tool valgrind "install it with scripts/install-deps.sh"
program_tests=$(cargo test -p agentrail --lib --locked --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys; print(next(m["executable"] for m in map(json.loads, sys.stdin) if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "agentrail"))')
must "the program's unit tests under valgrind" "read valgrind's report above" \
  valgrind --error-exitcode=1 --quiet --leak-check=no "$program_tests" --test-threads=1 -q

# The end-to-end tests and the demo run on the debug binaries the tests already built (a release
# build would add ~14 minutes on a fresh 2-core machine and test nothing more).
step "end to end: binaries (and the client's test vectors for TypeScript)"
must "building the CLI, keeper, demo agent and vector printer" "read the compiler errors above" \
  cargo build --locked -q -p agentrail-cli -p agentrail-keeper -p agentrail-agent -p agentrail-client --bins --examples
export AGENTRAIL_BIN_DIR="$CARGO_TARGET_DIR/debug"

step "web: the TypeScript client against the Rust client's bytes"
mkdir -p web/build
must "writing the test vectors" "run cargo run -p agentrail-client --example ts_vectors" \
  sh -c '"$CARGO_TARGET_DIR/debug/examples/ts_vectors" > web/build/vectors.json'
must "the TypeScript client's tests" "read the failing tests above (web/tests/encodings.test.mjs)" npm --prefix web test --silent

step "end to end: waiting for solana-test-validator 4.2.2 (scripts/install-validator.sh)"
if ! wait "$validator_pid"; then
  tail -n 25 "$validator_log" >&2
  die "building solana-test-validator 4.2.2 failed" "run bash scripts/install-validator.sh and read its output"
fi
export SOLANA_TEST_VALIDATOR; SOLANA_TEST_VALIDATOR=$(tail -n 1 "$validator_log")
step "end to end: tests on $("$SOLANA_TEST_VALIDATOR" --version)"
must "the end-to-end tests" "read the failing tests above; each one's logs are in its temp directory" \
  cargo test -p agentrail-tests --test e2e --locked -- --ignored --test-threads=1

step "the demo from a plain copy of the repository (nothing beside it, as a user clones it)"
copy=$(mktemp -d)
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "$copy"
[ ! -e "$copy/../shared" ] || die "the demo's copy at $copy has a ../shared beside it" "set TMPDIR elsewhere"
demo_log="$copy.log"
# bounded: a demo that hangs must fail this run with its output, not run into CI's time limit
if ! AGENTRAIL_PROFILE=debug DEMO_DIR="$copy/.demo" timeout 1200 bash "$copy/scripts/demo.sh" >"$demo_log" 2>&1; then
  tail -n 30 "$demo_log" >&2
  die "the demo failed or did not finish in 20 min from a plain copy (full output in $demo_log)" \
    "run bash scripts/demo.sh and read its error line"
fi
grep -qx "valid" "$demo_log" || die "the demo did not verify its receipt (output in $demo_log)" "run bash scripts/demo.sh"
tail -n 12 "$demo_log"
rm -rf "$copy" "$demo_log"
step "done"
