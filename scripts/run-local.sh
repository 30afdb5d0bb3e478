#!/usr/bin/env bash
# `make run`: the chain service on this machine, on embedded defaults, in the seed guide's order:
#   venus-auth (SQLite) → venus-gateway → venus (a local 2k devnet with one pre-sealed miner)
# plus the mining cluster's independent components: venus-wallet (holding the miner's worker
# key) and the devnet prover (holding its pre-sealed sectors), both registered with the gateway.
# venus-messager and venus-miner are the next wave and are not started.
#
# Everything lives under ${VENUS_LOCAL_DIR:-.tmp/local} (repos, logs); ports are the originals'
# defaults on 127.0.0.1: auth 8989, gateway 45132, node 3453, wallet 5678. Ctrl-C stops it all.
#   VENUS_PROFILE=dev make run     use a debug build instead of release
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/venus-rs/target}
profile=${VENUS_PROFILE:-release}
dir=$(mkdir -p "${VENUS_LOCAL_DIR:-.tmp/local}" && cd "${VENUS_LOCAL_DIR:-.tmp/local}" && pwd)
bin=$CARGO_TARGET_DIR/$([ "$profile" = dev ] && echo debug || echo "$profile")

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
pids=()
cleanup() {
  set +e
  say "stopping"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup EXIT INT TERM

wait_http() { # url what
  for _ in $(seq 1 300); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done
  echo "$2 did not come up; see $dir/$2.log" >&2; exit 1
}

say "building ($profile)"
cargo build --locked --profile "$profile" --bin venus-auth --bin venus-gateway --bin venus \
  --bin venus-wallet --bin venus-prover

rm -rf "$dir"/{auth,gateway,node,wallet,sectors,localnet.json,devgen.car}
mkdir -p "$dir"

say "venus-auth (SQLite) on 127.0.0.1:8989"
"$bin/venus-auth" --repo "$dir/auth" run >"$dir/auth.log" 2>&1 & pids+=($!)
wait_http http://127.0.0.1:8989/healthz venus-auth
auth() { "$bin/venus-auth" --repo "$dir/auth" "$@"; }
shared=$(auth token gen --perm admin shared | tail -1)
auth user add --name=miner-user --miner=t01000 >/dev/null
user_token=$(auth token gen --perm sign miner-user | tail -1)

say "venus-gateway on /ip4/127.0.0.1/tcp/45132"
"$bin/venus-gateway" --repo "$dir/gateway" --listen /ip4/127.0.0.1/tcp/45132 run \
  --auth-url http://127.0.0.1:8989 --auth-token "$shared" >"$dir/gateway.log" 2>&1 & pids+=($!)
wait_http http://127.0.0.1:45132/livez venus-gateway

say "a 2k devnet: pre-seal one miner, genesis template"
"$bin/venus" seed pre-seal --sector-size 2KiB --num-sectors 2 --sector-dir "$dir/sectors" >"$dir/seed.log" 2>&1
"$bin/venus" seed genesis new "$dir/localnet.json" >>"$dir/seed.log" 2>&1
"$bin/venus" seed genesis add-miner "$dir/localnet.json" "$dir/sectors/pre-seal-t01000.json" >>"$dir/seed.log" 2>&1

say "venus (node) on /ip4/127.0.0.1/tcp/3453"
"$bin/venus" --repo "$dir/node" daemon --network=2k --make-genesis="$dir/devgen.car" \
  --genesis-template="$dir/localnet.json" --auth-url=http://127.0.0.1:8989 --auth-token="$shared" \
  >"$dir/node.log" 2>&1 & pids+=($!)
wait_http http://127.0.0.1:3453/livez venus

say "venus-wallet with the miner's worker key, registered with the gateway"
export VENUS_WALLET_PASSWORD=local-devnet
"$bin/venus-wallet" --repo "$dir/wallet" run --gateway-api /ip4/127.0.0.1/tcp/45132 \
  --gateway-token "$user_token" --support-accounts miner-user >"$dir/wallet.log" 2>&1 & pids+=($!)
wait_http http://127.0.0.1:5678/livez venus-wallet
for key in "$dir"/sectors/pre-seal-t01000.key; do "$bin/venus-wallet" --repo "$dir/wallet" import "$key"; done

say "devnet prover for t01000"
"$bin/venus-prover" run --gateway-url /ip4/127.0.0.1/tcp/45132 --gateway-token "$user_token" \
  --sector-store "$dir/sectors" >"$dir/prover.log" 2>&1 & pids+=($!)

sleep 1
"$bin/venus" --repo "$dir/node" chain head || true
cat <<INFO

The chain service is running (logs in $dir):
  venus-auth     http://127.0.0.1:8989          shared admin token: $dir/auth/token (and the one printed by token gen)
  venus-gateway  /ip4/127.0.0.1/tcp/45132       $bin/venus-gateway --repo $dir/gateway wallet list
  venus          /ip4/127.0.0.1/tcp/3453        $bin/venus --repo $dir/node sync status
  venus-wallet   /ip4/127.0.0.1/tcp/5678        $bin/venus-wallet --repo $dir/wallet list
  venus-prover   registered for t01000
Ctrl-C stops everything.
INFO
wait
