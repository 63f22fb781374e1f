#!/usr/bin/env bash
# The whole Agentrail flow on a local validator, on embedded defaults: sets up what is missing
# (system packages, the SBF build, solana-test-validator 4.2.2, release binaries), starts the
# validator with the program, a demo agent and the keeper (SQLite store), then uses the CLI as
# admin, certifier, agent owner and poster: register, certify, fund jobs, approve, reject, let a
# deadline pass, anchor the day and verify a receipt against the chain. Stops everything at the
# end; logs and keys stay in $DEMO_DIR.
set -Eeuo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/steps.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/agentrail-target}
DEMO_DIR=${DEMO_DIR:-$root/.demo}
RPC_PORT=${RPC_PORT:-8899}
FAUCET_PORT=${FAUCET_PORT:-9900}
AGENT_PORT=${AGENT_PORT:-7070}
KEEPER_PORT=${KEEPER_PORT:-9464}
# release binaries by default; the test suite runs the demo on the debug ones it already built
PROFILE=${AGENTRAIL_PROFILE:-release}
URL="http://127.0.0.1:$RPC_PORT"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
field() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[int(k)] if k.isdigit() else d[k]
print(d)' "$1"; }
# any other failing command stops the demo with the line it was on and where the logs are
trap 'die "the demo stopped at scripts/demo.sh line $LINENO" "read the output above and the logs in $DEMO_DIR"' ERR

say "setting up (only what is missing)"
need_tool cargo "install Rust with rustup (https://rustup.rs), then run this again"
need_tool python3 "apt-get install python3"
need_tool curl "apt-get install curl"
must "installing the system packages (scripts/install-deps.sh)" \
  "run it as root or with sudo; it needs Debian's package mirror" bash scripts/install-deps.sh
case "$PROFILE" in release) profile_flag=(--release) ;; debug) profile_flag=() ;;
  *) die "AGENTRAIL_PROFILE is '$PROFILE'" "set it to release or debug" ;; esac
# the validator takes longest on a first run: build it in the background alongside the rest
validator_log=$(mktemp)
setsid bash scripts/install-validator.sh >"$validator_log" 2>&1 &
validator_build=$!
trap 'kill -- -"$validator_build" 2>/dev/null || true' EXIT
# always rebuilt (incremental, seconds when current): a .so left from an older checkout must not be deployed
must "building the program (scripts/build-sbf.sh)" \
  "read its last lines above; AGENTRAIL_SBF=solana uses Solana's cargo build-sbf if you have it" bash scripts/build-sbf.sh
must "building the CLI, keeper and demo agent" "read the compiler errors above" \
  cargo build "${profile_flag[@]}" --locked -q -p agentrail-cli -p agentrail-keeper -p agentrail-agent --bins --examples
if ! wait "$validator_build"; then
  tail -n 20 "$validator_log" >&2
  die "building solana-test-validator 4.2.2 (scripts/install-validator.sh)" \
    "read $validator_log; run the demo again and the build resumes where it stopped"
fi
validator=$(tail -n 1 "$validator_log")
bin="$CARGO_TARGET_DIR/$PROFILE"
# listening NAME PORT LOG PID: waits until PID accepts connections on PORT, or stops the demo
listening() {
  for _ in $(seq 100); do
    kill -0 "$4" 2>/dev/null || die "the $1 exited at start-up" "read $3 (port $2 in use?)"
    (: <"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  die "the $1 did not listen on port $2 within 10 s" "read $3"
}
rpc_up() { curl -sf -H 'content-type: application/json' -d '{"jsonrpc":"2.0","id":1,"method":"getHealth"}' "$URL" | grep -q '"ok"'; }
if rpc_up; then die "something already serves RPC on $URL" "stop it (another validator or demo?) or set RPC_PORT"; fi

rm -rf "$DEMO_DIR" && mkdir -p "$DEMO_DIR"
pids=()
# stops what the demo started, newest first (the keeper before the validator it talks to), and
# never waits forever: whatever has not exited 10 s after SIGTERM is killed
cleanup() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[i]}" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 "${pids[i]}" 2>/dev/null || break; sleep 0.1; done
    kill -9 "${pids[i]}" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT
ar() { "$bin/agentrail" -u "$URL" --commitment confirmed "$@"; }
as() { local who=$1; shift; ar -k "$DEMO_DIR/$who.json" "$@"; }
for who in admin treasury certifier owner signer flaky poster keeper; do
  declare "$who=$("$bin/agentrail" dev keygen "$DEMO_DIR/$who.json")"
done

say "solana-test-validator (agave 4.2.2) on $URL with the program deployed"
"$validator" --ledger "$DEMO_DIR/ledger" --reset --quiet --bind-address 127.0.0.1 \
  --rpc-port "$RPC_PORT" --faucet-port "$FAUCET_PORT" --mint "$admin" \
  --upgradeable-program 4GM9wBrrJvAXEw3J4amxKgkSfqXAraNZLKBgvsyM7Srj target/deploy/agentrail.so "$DEMO_DIR/admin.json" \
  >"$DEMO_DIR/validator.log" 2>&1 &
pids+=($!)
for _ in $(seq 120); do
  rpc_up && break
  kill -0 "${pids[-1]}" 2>/dev/null || die "solana-test-validator exited at start-up" "read $DEMO_DIR/validator.log"
  sleep 1
done
rpc_up || die "solana-test-validator did not serve RPC on $URL within 120 s" "read $DEMO_DIR/validator.log"
for who in certifier owner flaky poster keeper; do
  must "airdropping SOL to the demo's $who" "read $DEMO_DIR/validator.log" as admin dev airdrop 10 --to "${!who}" >/dev/null
done

say "protocol config (fee 2.5%) and a certifier, by the upgrade authority"
as admin config init --treasury "$treasury" --fee-bps 250 >/dev/null
as admin config add-certifier "$certifier" >/dev/null
as admin config show

say "two agents: one built on the agent SDK, paid from the escrow over x402 (:$AGENT_PORT), one that answers garbage (:$((AGENT_PORT + 1)))"
# the manifest also publishes which jobs the agent accepts: keepers, the CLI and its SDK read it
echo '{"capabilities":["swap","report"],"price":"what the escrow pays","slo":{"p95_ms":800},"policy":{"min_step_secs":60,"min_review_secs":60,"min_milestone_amount":0,"no_arbiter_ok":true}}' >"$DEMO_DIR/manifest.json"
echo '{"stage":"A","reviewer":"demo","findings":[]}' >"$DEMO_DIR/evidence.json"
# every agent serves the manifest it registers: the keeper checks its hash before the first call
"$bin/examples/demo_agent" "127.0.0.1:$((AGENT_PORT + 1))" --mode garbage --manifest "$DEMO_DIR/manifest.json" \
  >"$DEMO_DIR/flaky-agent.log" 2>&1 &
pids+=($!)
listening "garbage demo agent" "$((AGENT_PORT + 1))" "$DEMO_DIR/flaky-agent.log" "${pids[-1]}"
agent=$(as owner --json agent register --name demo-agent --manifest "$DEMO_DIR/manifest.json" \
  --uri "http://127.0.0.1:$AGENT_PORT/step" | field agent)
flaky_agent=$(as flaky --json agent register --name flaky-agent --manifest "$DEMO_DIR/manifest.json" \
  --uri "http://127.0.0.1:$((AGENT_PORT + 1))/step" | field agent)
for a in "$agent" "$flaky_agent"; do
  as certifier cert attest "$a" --stage A --evidence "$DEMO_DIR/evidence.json" --expires-in 90d >/dev/null
done
echo "the SDK agent registers the key it co-signs its outputs with (the key signs too):"
as owner agent set-signing-key "$agent" --key "$DEMO_DIR/signer.json"
as owner agent show "$agent"

say "a test USDC-like mint; the poster gets 1000"
mint=$(as poster --json dev create-mint --decimals 6 | field mint)
as poster dev mint-to "$mint" "$poster" 1000 >/dev/null
echo "mint $mint"

# the SDK agent checks every request against the chain: it needs its registry address
"$bin/examples/paid_agent" "127.0.0.1:$AGENT_PORT" --rpc "$URL" --agent "$agent" --pay-to "$owner" \
  --mint "$mint" --answers "$DEMO_DIR/agent-answers.sqlite" --manifest "$DEMO_DIR/manifest.json" \
  --signing-key "$DEMO_DIR/signer.json" >"$DEMO_DIR/agent.log" 2>&1 &
pids+=($!)
listening "paid agent" "$AGENT_PORT" "$DEMO_DIR/agent.log" "${pids[-1]}"
echo "a request without payment gets 402 and the offer:"
curl -s -o /dev/null -w "  HTTP %{http_code}\n" -X POST -H 'content-type: application/json' \
  --data '{"schema":"agentrail.step/v1","job":"'"$agent"'","milestone":0,"agent":"'"$agent"'","budget":0,"mint":"'"$mint"'","deadline":0,"termsHash":"","termsUri":""}' \
  "http://127.0.0.1:$AGENT_PORT/step"

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
allow = ["127.0.0.1"]   # the demo agents listen on loopback: private addresses need allow-listing
TOML
"$bin/agentrail-keeper" --config "$DEMO_DIR/keeper.toml" >"$DEMO_DIR/keeper.log" 2>&1 &
pids+=($!)
listening "keeper" "$KEEPER_PORT" "$DEMO_DIR/keeper.log" "${pids[-1]}"

say "the poster funds two jobs; the first pins its terms (what each milestone's work is)"
cat >"$DEMO_DIR/terms.json" <<'JSON'
{
  "schema": "agentrail.terms/v1",
  "title": "Rebalance the demo SOL/USDC position",
  "milestones": [
    {"title": "Quote", "instructions": "Quote a swap of 10 SOL to USDC", "inputs": {"amount": "10"},
     "acceptance": ["route and price impact reported"], "max_cost": "1", "amount": "10"},
    {"title": "Swap", "instructions": "Execute the quoted swap", "acceptance": ["transaction landed"],
     "amount": "20", "requires_approval": true},
    {"title": "Hedge", "instructions": "Open the hedge", "acceptance": ["position opened"],
     "amount": "30", "requires_approval": true},
    {"title": "Report", "instructions": "Report the final position", "acceptance": ["report delivered"],
     "amount": "40"}
  ]
}
JSON
job=$(as poster --json job create --agent "$agent" --mint "$mint" --keeper "$keeper" \
  --terms "$DEMO_DIR/terms.json" --deadline-in 10m --review-window 2m --min-stage A --fund | field job)
late=$(as poster --json job create --agent "$flaky_agent" --mint "$mint" --keeper "$keeper" \
  --milestone 12 --deadline-in 30s --review-window 5s | field job)
echo "job $job: 10 on completion, 20 and 30 on approval, 40 on completion; the SDK agent accepts it"
echo "  through the keeper, which carries its signature with the first step"
echo "job $late: 12, with an agent that answers garbage and a 30 s deadline; its owner accepts it"
echo "  by transaction before it is funded (an agent binds itself to a job only by accepting it)"
as flaky job accept "$late" >/dev/null
as poster job fund "$late" >/dev/null

wait_state() { # job, dotted field, wanted value
  for _ in $(seq 180); do
    [ "$(as poster --json job show "$1" | field "$2")" = "$3" ] && return 0
    sleep 1
  done
  die "timed out waiting for $2 = $3 on job $1" "read $DEMO_DIR/keeper.log and $DEMO_DIR/agent.log"
}
wait_state "$job" milestones.1.state submitted
say "milestone 0 was paid on submission; the poster approves milestone 1"
as poster job approve "$job" 1
wait_state "$job" milestones.2.state submitted
say "the poster rejects milestone 2: its amount and fee come back"
as poster job reject "$job" 2
wait_state "$job" status completed
as poster job show "$job"

say "releases left the treasury's fees in the job's vault (no release writes the shared treasury"
say "account); anyone sweeps them, up to 12 jobs per transaction (the keeper does it every 10 min)"
as poster job sweep-fees "$job"

say "the garbage-answering agent is retried, never paid; after the deadline the keeper refunds"
wait_state "$late" status expired
as poster job show "$late"

say "the keeper anchored today's receipt log; receipt 0 (signed by the keeper, co-signed by the agent) verifies against the chain"
for _ in $(seq 60); do
  curl -sf "http://127.0.0.1:$KEEPER_PORT/receipts/0" >"$DEMO_DIR/receipt-0.json" &&
    [ "$(field day <"$DEMO_DIR/receipt-0.json")" != None ] && break
  sleep 1
done
as poster anchors show "$keeper"
as poster receipt verify "$DEMO_DIR/receipt-0.json"

say "the web console, served by the keeper: the job, the receipt (verified in the browser), the agent, the poster's inbox"
for page in "jobs/$job" "receipts/0" "agents/$agent" "inbox?who=$poster"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$KEEPER_PORT/console/$page")
  echo "http://127.0.0.1:$KEEPER_PORT/console/$page -> $code"
  [ "$code" = 200 ] || die "the console page $page answered $code" "read $DEMO_DIR/keeper.log"
done

say "the agent's track record: written only by settlements (3 released, 1 rejected)"
as poster agent show "$agent"

say "balances (base units; 6 decimals)"
for who in poster owner treasury; do
  printf '%-9s %s\n' "$who" "$(as poster dev balance "$mint" "${!who}")"
done
curl -sf "http://127.0.0.1:$KEEPER_PORT/metrics" | grep -E '^agentrail_keeper_(steps|submissions|releases|refunds|anchors)' || true
say "done; logs, keys and the keeper store are in $DEMO_DIR"
