#!/usr/bin/env bash
# HTTP throughput of the running services, measured the way the originals were
# (../shared/bench/http-load.sh: wrk, keep-alive, concurrency 1/16/64, 20 s per level):
#   venus-auth     POST /verify
#   venus-gateway  Gateway.WalletSign (caller → gateway → venus-wallet → back) and
#                  Gateway.ComputeProof (caller → gateway → venus-prover → back)
#   venus          Filecoin.ChainHead, Filecoin.StateGetActor, Filecoin.Version
# Release binaries, a 2k devnet, every repo under a temporary directory, ports away from the
# defaults so a `make run` stack can stay up. Prints one table per endpoint.
#   SECONDS_PER_LEVEL=5 scripts/bench-services.sh      shorter runs
#   ONLY="auth node" scripts/bench-services.sh          a subset (auth gateway proof node)
#   PROFILE=image-check scripts/bench-services.sh      another cargo profile (default release)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/venus-rs/target}
load=${HTTP_LOAD:-$(cd .. && pwd)/shared/bench/http-load.sh}
[ -x "$load" ] || { echo "http-load.sh not found at $load (set HTTP_LOAD)" >&2; exit 2; }
only=${ONLY:-auth gateway proof node}
profile=${PROFILE:-release}
bin=$CARGO_TARGET_DIR/$profile
dir=$(mktemp -d /tmp/venus-bench.XXXXXX)
pids=()
cleanup() {
  set +e
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT INT TERM
wait_http() { # url what
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "$2 did not come up; log:" >&2; tail -20 "$dir/$2.log" >&2; exit 1
}
wants() { [[ " $only " == *" $1 "* ]]; }

cargo build --locked --profile "$profile" --bin venus-auth --bin venus-gateway --bin venus \
  --bin venus-wallet --bin venus-prover >&2

export RUST_LOG=warn
"$bin/venus-auth" --repo "$dir/auth" --listen 127.0.0.1:18989 run >"$dir/auth.log" 2>&1 & pids+=($!)
wait_http http://127.0.0.1:18989/healthz auth
auth() { "$bin/venus-auth" --repo "$dir/auth" --listen 127.0.0.1:18989 "$@"; }
shared=$(auth token gen --perm admin shared | tail -1)
auth user add --name=u1 --miner=t01000 >/dev/null
user_token=$(auth token gen --perm sign u1 | tail -1)
read_token=$(auth token gen --perm read u1 | tail -1)

if wants auth; then
  echo "## venus-auth POST /verify ($(date -u +%FT%TZ))"
  LABEL=venus-auth "$load" verify http://127.0.0.1:18989/verify "$shared" "$read_token"
fi

if wants gateway || wants proof || wants node; then
  "$bin/venus" seed pre-seal --sector-size 2KiB --num-sectors 2 --sector-dir "$dir/sectors" >"$dir/seed.log" 2>&1
  "$bin/venus" seed genesis new "$dir/localnet.json" >>"$dir/seed.log" 2>&1
  "$bin/venus" seed genesis add-miner "$dir/localnet.json" "$dir/sectors/pre-seal-t01000.json" >>"$dir/seed.log" 2>&1
fi

if wants gateway || wants proof; then
  "$bin/venus-gateway" --repo "$dir/gateway" --listen /ip4/127.0.0.1/tcp/45133 run \
    --auth-url http://127.0.0.1:18989 --auth-token "$shared" >"$dir/gateway.log" 2>&1 & pids+=($!)
  wait_http http://127.0.0.1:45133/livez gateway
fi

if wants gateway; then
  export VENUS_WALLET_PASSWORD=bench
  # wrk signs the same raw bytes (`unknown`), which the wallet's default sign policy refuses.
  mkdir -p "$dir/wallet"
  printf '[SignPolicy]\nAllowedTypes = ["message", "block", "drawrandomparam", "verifyaddress", "unknown"]\n' \
    >"$dir/wallet/config.toml"
  "$bin/venus-wallet" --repo "$dir/wallet" run --listen /ip4/127.0.0.1/tcp/15678/http \
    --gateway-api /ip4/127.0.0.1/tcp/45133 --gateway-token "$user_token" --support-accounts u1 \
    >"$dir/wallet.log" 2>&1 & pids+=($!)
  wait_http http://127.0.0.1:15678/livez wallet
  addr=$("$bin/venus-wallet" --repo "$dir/wallet" new secp256k1 | tail -1)
  for _ in $(seq 1 50); do
    has=$(curl -fsS -H "Authorization: Bearer $shared" -H 'Content-Type: application/json' \
      -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Gateway.WalletHas\",\"params\":[\"$addr\",[\"u1\"]]}" \
      http://127.0.0.1:45133/rpc/v2 | jq -r .result)
    [ "$has" = true ] && break; sleep 0.2
  done
  [ "$has" = true ] || { echo "the wallet's address never reached the gateway" >&2; exit 1; }
  echo "## venus-gateway Gateway.WalletSign, secp256k1 ($(date -u +%FT%TZ))"
  LABEL=walletsign "$load" walletsign http://127.0.0.1:45133/rpc/v2 "$shared" "$addr" u1
fi

if wants proof; then
  "$bin/venus-prover" run --gateway-url /ip4/127.0.0.1/tcp/45133 --gateway-token "$user_token" \
    --sector-store "$dir/sectors" >"$dir/prover.log" 2>&1 & pids+=($!)
  # The pre-sealed sectors as ExtendedSectorInfo, and a 32-byte randomness.
  sectors=$(jq -c '[.[] | .Sectors[] | {SealProof: .ProofType, SectorNumber: .SectorID, SealedCID: .CommR}]' \
    "$dir/sectors/pre-seal-t01000.json")
  params="[\"t01000\",$sectors,\"$(head -c 32 /dev/zero | base64)\",10,21]"
  for _ in $(seq 1 50); do
    ok=$(curl -fsS -H "Authorization: Bearer $shared" -H 'Content-Type: application/json' \
      -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"Gateway.ComputeProof\",\"params\":$params}" \
      http://127.0.0.1:45133/rpc/v2 | jq -r 'has("result")')
    [ "$ok" = true ] && break; sleep 0.2
  done
  [ "$ok" = true ] || { echo "ComputeProof never succeeded; prover log:" >&2; tail "$dir/prover.log" >&2; exit 1; }
  echo "## venus-gateway Gateway.ComputeProof, devnet proof ($(date -u +%FT%TZ))"
  LABEL=computeproof "$load" rpc http://127.0.0.1:45133/rpc/v2 "$shared" Gateway.ComputeProof "$params"
fi

if wants node; then
  mkdir -p "$dir/node"
  "$bin/venus" --repo "$dir/node" daemon --network=2k --api /ip4/127.0.0.1/tcp/13453 \
    --make-genesis="$dir/devgen.car" --genesis-template="$dir/localnet.json" \
    >"$dir/node.log" 2>&1 & pids+=($!)
  wait_http http://127.0.0.1:13453/livez node
  token=$(cat "$dir/node/token")
  echo "## venus Filecoin.ChainHead ($(date -u +%FT%TZ))"
  LABEL=ChainHead "$load" rpc http://127.0.0.1:13453/rpc/v1 "$token" Filecoin.ChainHead '[]'
  echo "## venus Filecoin.StateGetActor t01000 at the head ($(date -u +%FT%TZ))"
  LABEL=StateGetActor "$load" rpc http://127.0.0.1:13453/rpc/v1 "$token" Filecoin.StateGetActor '["t01000",[]]'
  echo "## venus Filecoin.Version ($(date -u +%FT%TZ))"
  LABEL=Version "$load" rpc http://127.0.0.1:13453/rpc/v1 "$token" Filecoin.Version '[]'
fi
