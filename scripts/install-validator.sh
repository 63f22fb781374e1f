#!/usr/bin/env bash
# Installs agave's solana-test-validator 4.2.2 (the runtime that runs our SBPF v3 .so) into
# ~/.cache/agave-4.2.2/bin, once. Building it took 49 minutes on 2 cores alongside other builds;
# its cargo target dir stays in ~/.cache so an interrupted build resumes. Prints the binary's path.
set -euo pipefail
version=4.2.2
root=${AGAVE_HOME:-$HOME/.cache/agave-$version}
bin="$root/bin/solana-test-validator"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q " $version "; then
  echo "$bin"
  exit 0
fi
bash "$(dirname "$0")/install-deps.sh" >&2
echo "building solana-test-validator $version (about 50 minutes on 2 cores, once)" >&2
# opt-level 1 (for this build only): the validator is a local test tool, and -O1 shortens the
# longest step on a fresh machine (832 crates: 49 min at -O1 vs ~65 min at -O3, each measured
# alongside the rest of a CI run on 2 cores). AGAVE_OPT_LEVEL=3 restores the default.
CARGO_TARGET_DIR=${AGAVE_TARGET_DIR:-$HOME/.cache/agave-validator-build} \
  CARGO_PROFILE_RELEASE_OPT_LEVEL=${AGAVE_OPT_LEVEL:-1} \
  cargo install agave-validator --version "=$version" --bin solana-test-validator --locked --root "$root" >&2
"$bin" --version >&2
echo "$bin"
