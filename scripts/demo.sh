#!/usr/bin/env bash
# The whole Agentrail flow on a local validator, on embedded defaults: sets up what is missing
# (system packages, the SBF build, solana-test-validator 4.2.2, release binaries), starts the
# validator with the program, a demo agent and the keeper (SQLite store), then uses the CLI as
# admin, certifier, agent owner and poster: register, certify, fund jobs, approve, reject, let a
# deadline pass, anchor the day and verify a receipt against the chain. Stops everything at the
# end; logs and keys stay in $DEMO_DIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/agentrail-target}
DEMO_DIR=${DEMO_DIR:-$root/.demo}
RPC_PORT=${RPC_PORT:-8899}
FAUCET_PORT=${FAUCET_PORT:-9900}
AGENT_PORT=${AGENT_PORT:-7070}
KEEPER_PORT=${KEEPER_PORT:-9464}
URL="http://127.0.0.1:$RPC_PORT"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[int(k)] if k.isdigit() else d[k]
print(d)' "$1"; }

say "setting up (only what is missing)"
bash scripts/install-deps.sh
toolchain=${SBF_TOOLCHAIN:-$root/../shared/sbf-toolchain}
# always rebuilt (incremental, seconds when current): a .so left from an older checkout must not be deployed
bash "$toolchain/setup.sh" >/dev/null && bash scripts/build-sbf.sh
validator=$(bash scripts/install-validator.sh)
cargo build --release --locked -q -p agentrail-cli -p agentrail-keeper --bins --examples
bin="$CARGO_TARGET_DIR/release"

rm -rf "$DEMO_DIR" && mkdir -p "$DEMO_DIR"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
ar() { "$bin/agentrail" -u "$URL" --commitment confirmed "$@"; }
as() { local who=$1; shift; ar -k "$DEMO_DIR/$who.json" "$@"; }
for who in admin treasury certifier owner flaky poster keeper; do
  declare "$who=$("$bin/agentrail" dev keygen "$DEMO_DIR/$who.json")"
done

say "solana-test-validator (agave 4.2.2) on $URL with the program deployed"
"$validator" --ledger "$DEMO_DIR/ledger" --reset --quiet --bind-address 127.0.0.1 \
  --rpc-port "$RPC_PORT" --faucet-port "$FAUCET_PORT" --mint "$admin" \
  --upgradeable-program 4GM9wBrrJvAXEw3J4amxKgkSfqXAraNZLKBgvsyM7Srj target/deploy/agentrail.so "$DEMO_DIR/admin.json" \
  >"$DEMO_DIR/validator.log" 2>&1 &
pids+=($!)
for _ in $(seq 120); do
  curl -sf -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"getHealth"}' "$URL" | grep -q '"ok"' && break
  sleep 1
done
for who in certifier owner flaky poster keeper; do as admin dev airdrop 10 --to "${!who}" >/dev/null; done

say "protocol config (fee 2.5%) and a certifier, by the upgrade authority"
as admin config init --treasury "$treasury" --fee-bps 250 >/dev/null
as admin config add-certifier "$certifier" >/dev/null
as admin config show

say "two demo agents: one that works (:$AGENT_PORT), one that answers garbage (:$((AGENT_PORT + 1)))"
"$bin/examples/demo_agent" "127.0.0.1:$AGENT_PORT" >"$DEMO_DIR/agent.log" 2>&1 &
pids+=($!)
"$bin/examples/demo_agent" "127.0.0.1:$((AGENT_PORT + 1))" --mode garbage >"$DEMO_DIR/flaky-agent.log" 2>&1 &
pids+=($!)
echo '{"capabilities":["swap","report"],"price":"half the budget","slo":{"p95_ms":800}}' >"$DEMO_DIR/manifest.json"
echo '{"stage":"A","reviewer":"demo","findings":[]}' >"$DEMO_DIR/evidence.json"
agent=$(as owner --json agent register --name demo-agent --manifest "$DEMO_DIR/manifest.json" \
  --uri "http://127.0.0.1:$AGENT_PORT/step" | field agent)
flaky_agent=$(as flaky --json agent register --name flaky-agent --manifest "$DEMO_DIR/manifest.json" \
  --uri "http://127.0.0.1:$((AGENT_PORT + 1))/step" | field agent)
for a in "$agent" "$flaky_agent"; do
  as certifier cert attest "$a" --stage A --evidence "$DEMO_DIR/evidence.json" --expires-in 90d >/dev/null
done
as owner agent show "$agent"

say "a test USDC-like mint; the poster gets 1000"
mint=$(as poster --json dev create-mint --decimals 6 | field mint)
as poster dev mint-to "$mint" "$poster" 1000 >/dev/null
echo "mint $mint"

say "keeper daemon (SQLite store, metrics on http://127.0.0.1:$KEEPER_PORT/metrics)"
cat >"$DEMO_DIR/keeper.toml" <<TOML
rpc_url = "$URL"
keypair = "$DEMO_DIR/keeper.json"
database = "sqlite://$DEMO_DIR/keeper.sqlite"
listen = "127.0.0.1:$KEEPER_PORT"
poll_interval = "1s"
anchor_interval = "5s"
anchor_today = true

[executor]
timeout = "2s"
max_attempts = 3
base_delay = "200ms"
max_delay = "1s"
TOML
"$bin/agentrail-keeper" --config "$DEMO_DIR/keeper.toml" >"$DEMO_DIR/keeper.log" 2>&1 &
pids+=($!)

say "the poster funds two jobs"
job=$(as poster --json job create --agent "$agent" --mint "$mint" --keeper "$keeper" \
  --milestone 10 --milestone 20:approve --milestone 30:approve --milestone 40 \
  --deadline-in 10m --review-window 2m --min-stage A --fund | field job)
late=$(as poster --json job create --agent "$flaky_agent" --mint "$mint" --keeper "$keeper" \
  --milestone 12 --deadline-in 30s --review-window 5s --fund | field job)
echo "job $job: 10 on completion, 20 and 30 on approval, 40 on completion"
echo "job $late: 12, with an agent that answers garbage and a 30 s deadline"

wait_state() { # job, dotted field, wanted value
  for _ in $(seq 180); do
    [ "$(as poster --json job show "$1" | field "$2")" = "$3" ] && return 0
    sleep 1
  done
  echo "demo: timed out waiting for $2 = $3 on $1 (see $DEMO_DIR/keeper.log)" >&2
  exit 1
}
wait_state "$job" milestones.1.state submitted
say "milestone 0 was paid on submission; the poster approves milestone 1"
as poster job approve "$job" 1
wait_state "$job" milestones.2.state submitted
say "the poster rejects milestone 2: its amount and fee come back"
as poster job reject "$job" 2
wait_state "$job" status completed
as poster job show "$job"

say "the garbage-answering agent is retried, never paid; after the deadline the keeper refunds"
wait_state "$late" status expired
as poster job show "$late"

say "the keeper anchored today's receipt log; receipt 0 verifies against the chain"
for _ in $(seq 60); do
  curl -sf "http://127.0.0.1:$KEEPER_PORT/receipts/0" >"$DEMO_DIR/receipt-0.json" &&
    [ "$(field day <"$DEMO_DIR/receipt-0.json")" != None ] && break
  sleep 1
done
as poster anchors show "$keeper"
as poster receipt verify "$DEMO_DIR/receipt-0.json"

say "balances (base units; 6 decimals)"
for who in poster owner treasury; do
  printf '%-9s %s\n' "$who" "$(as poster dev balance "$mint" "${!who}")"
done
curl -sf "http://127.0.0.1:$KEEPER_PORT/metrics" | grep -E '^agentrail_keeper_(steps|submissions|releases|refunds|anchors)' || true
say "done; logs, keys and the keeper store are in $DEMO_DIR"
