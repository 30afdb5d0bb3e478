#!/usr/bin/env bash
# `make run`: the whole chain service on this machine, on embedded defaults, in the seed guide's
# order — venus-auth (SQLite) → venus-gateway → venus (a local 2k devnet from a fresh genesis
# with pre-sealed miners) → venus-messager (SQLite) → venus-miner — plus the mining cluster's
# independent components: venus-wallet (the miners' keys) and the devnet prover (their sectors).
# Users, miners, signers and tokens are registered as the seed guide does it.
#
#   make run                         start (or resume) the local chain service
#   make run ARGS=--fresh            throw the old data away and start over
#   scripts/run-local.sh --miners 2  a devnet of two miners (only with a fresh folder)
#
# Data: one folder, ${VENUS_LOCAL_DIR:-.tmp/local} (repos, sectors, genesis, tokens, logs), reused
# on the next start. Ports are the originals' defaults on 127.0.0.1: auth 8989, gateway 45132,
# node 3453, messager 39812, miner 12308, wallet 5678. Ctrl-C stops everything.
#   VENUS_PROFILE=dev make run       a debug build instead of release
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/venus-rs/target}
profile=${VENUS_PROFILE:-release}
bin=$CARGO_TARGET_DIR/$([ "$profile" = dev ] && echo debug || echo "$profile")
# The layout of the data folder; bump it when an older folder can no longer be resumed.
LAYOUT=2

fresh=0; miners=1
while [ $# -gt 0 ]; do
  case "$1" in
    --fresh) fresh=1 ;;
    --miners) miners=${2:?--miners needs a number}; shift ;;
    --miners=*) miners=${1#--miners=} ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "run-local: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
  shift
done
[[ $miners =~ ^[1-9][0-9]?$ ]] || { echo "run-local: --miners must be 1..99, got '$miners'" >&2; exit 2; }

dir=${VENUS_LOCAL_DIR:-$root/.tmp/local}
mkdir -p "$dir"; dir=$(cd "$dir" && pwd)

bold() { printf '\033[1m%s\033[0m\n' "$*"; }
n=0; total=9
progress() { n=$((n + 1)); printf '[%d/%d] %s ' "$n" "$total" "$*"; }
ok() { printf '\033[32mok\033[0m%s\n' "${1:+ ($1)}"; }
die() { printf '\n\033[31mrun-local: %s\033[0m\n' "$*" >&2; exit 1; }

# --- the state of the data folder -------------------------------------------------------
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
if [ $fresh = 1 ]; then
  rm -rf "${dir:?}"/*
elif [ -f "$dir/LAYOUT" ] && [ "$(cat "$dir/LAYOUT")" != "$LAYOUT" ]; then
  die "$dir holds data of another version of this script (layout $(cat "$dir/LAYOUT"), this one is $LAYOUT).
Start over with:  make run ARGS=--fresh   (or scripts/run-local.sh --fresh)"
elif [ -n "$(ls -A "$dir" 2>/dev/null)" ] && [ ! -f "$dir/LAYOUT" ]; then
  die "$dir is not empty and was not made by this script (no LAYOUT file).
Start over with:  make run ARGS=--fresh   or choose another folder with VENUS_LOCAL_DIR=…"
fi
resume=0; [ -f "$dir/READY" ] && resume=1
if [ $resume = 1 ] && [ -f "$dir/MINERS" ]; then miners=$(cat "$dir/MINERS"); fi

# --- processes ----------------------------------------------------------------------------
pids=(); names=(); stopping=0
cleanup() {
  [ $stopping = 1 ] && return; stopping=1
  [ ${#pids[@]} -gt 0 ] || return 0
  set +e
  printf '\n'; bold "stopping the chain service"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[$i]}" 2>/dev/null; done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    wait "${pids[$i]}" 2>/dev/null; printf '  %s stopped\n' "${names[$i]}"
  done
  echo "data kept in $dir (make run resumes it; make run ARGS=--fresh starts over)"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # name logfile command...
  local name=$1 log=$2; shift 2
  "$@" >"$log" 2>&1 &
  pids+=($!); names+=("$name")
}
alive() { kill -0 "${pids[-1]}" 2>/dev/null; }
wait_http() { # url name log — the answer must come from the process just started
  local t0=$SECONDS
  while ! curl -fsS -o /dev/null "$1" 2>/dev/null || ! alive; do
    alive || die "$2 exited; the last lines of $3:
$(tail -15 "$3")"
    [ $((SECONDS - t0)) -lt 60 ] || die "$2 did not answer $1 within 60 s; see $3"
    sleep 0.2
  done
  sleep 0.3; alive || die "$2 exited; the last lines of $3:
$(tail -15 "$3")"
}
rpc() { # url token method params-json
  curl -fsS -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$3\",\"params\":$4}" "$1"
}

# --- build --------------------------------------------------------------------------------
progress "building ($profile; the first build takes several minutes)"
t=$SECONDS
cargo build --locked --quiet --profile "$profile" --bin venus-auth --bin venus-gateway --bin venus \
  --bin venus-messager --bin venus-miner --bin venus-wallet --bin venus-prover \
  || die "the build failed"
ok "$((SECONDS - t)) s"
# --- ports ------------------------------------------------------------------------------
declare -A PORT=([venus-auth]=8989 [venus-gateway]=45132 [venus]=3453 [venus-messager]=39812
                 [venus-miner]=12308 [venus-wallet]=5678)
busy=()
for c in venus-auth venus-gateway venus venus-messager venus-miner venus-wallet; do
  p=${PORT[$c]}
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    who=$(ss -ltnpH "sport = :$p" 2>/dev/null | grep -o 'users:(("[^"]*"' | head -1 | cut -d'"' -f2)
    busy+=("$p ($c's port) is in use${who:+ by $who}")
  fi
done
[ ${#busy[@]} -eq 0 ] || die "cannot start: $(printf '\n  %s' "${busy[@]}")
Stop what listens there (another 'make run'?) and try again."

echo "$LAYOUT" >"$dir/LAYOUT"; echo "$miners" >"$dir/MINERS"; echo "$version" >"$dir/VERSION"
mkdir -p "$dir/logs" "$dir/tokens"; chmod 700 "$dir/tokens"

# --- venus-auth ---------------------------------------------------------------------------
progress "venus-auth (SQLite) on 127.0.0.1:8989"
start venus-auth "$dir/logs/auth.log" "$bin/venus-auth" --repo "$dir/auth" run
wait_http http://127.0.0.1:8989/healthz venus-auth "$dir/logs/auth.log"
auth() { "$bin/venus-auth" --repo "$dir/auth" "$@"; }
miner_ids=(); for ((i = 0; i < miners; i++)); do miner_ids+=("t0$((1000 + i))"); done
if [ $resume = 0 ]; then
  # The seed guide's registration: a shared admin token for the chain service, a user for the
  # mining cluster with its miners, and the cluster's tokens.
  auth token gen --perm admin shared 2>/dev/null | tail -1 >"$dir/tokens/shared-admin"
  for m in "${miner_ids[@]}"; do auth user add --name=cluster --miner="$m" >/dev/null 2>&1 \
    || auth user update --name cluster --miner="$m" >/dev/null; done
  auth token gen --perm sign cluster | tail -1 >"$dir/tokens/cluster-sign"
  auth token gen --perm write cluster | tail -1 >"$dir/tokens/cluster-write"
  auth token gen --perm read cluster | tail -1 >"$dir/tokens/cluster-read"
  chmod 600 "$dir"/tokens/*
fi
shared=$(cat "$dir/tokens/shared-admin"); sign_token=$(cat "$dir/tokens/cluster-sign")
write_token=$(cat "$dir/tokens/cluster-write")
ok

# --- venus-gateway ------------------------------------------------------------------------
progress "venus-gateway on /ip4/127.0.0.1/tcp/45132"
start venus-gateway "$dir/logs/gateway.log" "$bin/venus-gateway" --repo "$dir/gateway" \
  --listen /ip4/127.0.0.1/tcp/45132 run --auth-url http://127.0.0.1:8989 --auth-token "$shared"
wait_http http://127.0.0.1:45132/livez venus-gateway "$dir/logs/gateway.log"
ok

# --- the devnet: pre-sealed miners and a genesis ------------------------------------------
progress "a 2k devnet with ${miners} pre-sealed miner(s)"
if [ $resume = 0 ]; then
  "$bin/venus" seed genesis new "$dir/localnet.json" >"$dir/logs/seed.log" 2>&1
  for m in "${miner_ids[@]}"; do
    "$bin/venus" seed pre-seal --miner-addr "$m" --sector-size 2KiB --num-sectors 2 \
      --sector-dir "$dir/sectors" >>"$dir/logs/seed.log" 2>&1 || die "pre-seal failed; see $dir/logs/seed.log"
    "$bin/venus" seed genesis add-miner "$dir/localnet.json" "$dir/sectors/pre-seal-$m.json" \
      >>"$dir/logs/seed.log" 2>&1 || die "add-miner failed; see $dir/logs/seed.log"
  done
  ok "genesis template $dir/localnet.json"
else
  ok "resumed"
fi

# --- venus --------------------------------------------------------------------------------
progress "venus (node) on /ip4/127.0.0.1/tcp/3453"
node_args=(--repo "$dir/node" daemon --network=2k --auth-url=http://127.0.0.1:8989 --auth-token="$shared")
[ $resume = 0 ] && node_args+=(--make-genesis="$dir/devgen.car" --genesis-template="$dir/localnet.json")
start venus "$dir/logs/node.log" "$bin/venus" "${node_args[@]}"
wait_http http://127.0.0.1:3453/livez venus "$dir/logs/node.log"
ok

# --- the cluster's wallet and prover ------------------------------------------------------
progress "venus-wallet (the miners' keys) and the devnet prover, registered with the gateway"
export VENUS_WALLET_PASSWORD=local-devnet
start venus-wallet "$dir/logs/wallet.log" "$bin/venus-wallet" --repo "$dir/wallet" run \
  --gateway-api /ip4/127.0.0.1/tcp/45132 --gateway-token "$sign_token" --support-accounts cluster
wait_http http://127.0.0.1:5678/livez venus-wallet "$dir/logs/wallet.log"
workers=()
for m in "${miner_ids[@]}"; do
  a=$("$bin/venus-wallet" --repo "$dir/wallet" import "$dir/sectors/pre-seal-$m.key" 2>/dev/null | grep -oE '[tf]3[a-z0-9]+|[tf]1[a-z0-9]+' | tail -1 || true)
  [ -n "$a" ] || a=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["Owner"])' "$dir/sectors/pre-seal-$m.json" "$m" 2>/dev/null || true)
  workers+=("$a")
done
if [ $resume = 0 ]; then
  # The workers sign messages too: bind them to the cluster's user as signers.
  auth user signer register cluster "${workers[@]}" >/dev/null
fi
start venus-prover "$dir/logs/prover.log" "$bin/venus-prover" run --gateway-url /ip4/127.0.0.1/tcp/45132 \
  --gateway-token "$sign_token" --sector-store "$dir/sectors"
ok "wallet: ${workers[*]}"

# --- venus-messager -----------------------------------------------------------------------
progress "venus-messager (SQLite) on /ip4/127.0.0.1/tcp/39812"
start venus-messager "$dir/logs/messager.log" "$bin/venus-messager" --repo "$dir/messager" run \
  --auth-url=http://127.0.0.1:8989 --node-url /ip4/127.0.0.1/tcp/3453 \
  --gateway-url=/ip4/127.0.0.1/tcp/45132 --auth-token "$shared"
wait_http http://127.0.0.1:39812/livez venus-messager "$dir/logs/messager.log"
ok

# --- venus-miner --------------------------------------------------------------------------
progress "venus-miner on /ip4/127.0.0.1/tcp/12308"
if [ ! -f "$dir/miner/config.toml" ]; then
  "$bin/venus-miner" --repo "$dir/miner" init --nettype 2k --auth-api http://127.0.0.1:8989 \
    --token "$shared" --gateway-api /ip4/127.0.0.1/tcp/45132 --api /ip4/127.0.0.1/tcp/3453 \
    >"$dir/logs/miner-init.log" 2>&1 || die "venus-miner init failed:
$(tail -15 "$dir/logs/miner-init.log")"
fi
start venus-miner "$dir/logs/miner.log" "$bin/venus-miner" --repo "$dir/miner" run
wait_http http://127.0.0.1:12308/livez venus-miner "$dir/logs/miner.log"
ok
touch "$dir/READY"

# --- a first message through the messager -------------------------------------------------
progress "sending 1 FIL through venus-messager"
to=$("$bin/venus-wallet" --repo "$dir/wallet" new secp256k1 2>/dev/null | tail -1)
msg="{\"To\":\"$to\",\"From\":\"${workers[0]}\",\"Value\":\"1000000000000000000\",\"Method\":0,\"Params\":null,\"GasLimit\":0,\"GasFeeCap\":\"0\",\"GasPremium\":\"0\",\"Nonce\":0,\"Version\":0}"
if id=$(rpc http://127.0.0.1:39812/rpc/v0 "$write_token" Message.PushMessage "[$msg,null]" 2>&1); then
  id=$(echo "$id" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r.get("result") or r.get("error"))')
  ok "message $id to $to"
else
  printf 'failed: %s\n' "$id"
fi

cat <<INFO

$(bold "The chain service is running") (data and logs in $dir)
  venus-auth      http://127.0.0.1:8989            $bin/venus-auth --repo $dir/auth user list
  venus-gateway   /ip4/127.0.0.1/tcp/45132         $bin/venus-gateway --repo $dir/gateway wallet list
  venus           /ip4/127.0.0.1/tcp/3453          $bin/venus --repo $dir/node sync status
  venus-messager  /ip4/127.0.0.1/tcp/39812         $bin/venus-messager --repo $dir/messager msg list
  venus-miner     /ip4/127.0.0.1/tcp/12308         $bin/venus-miner --repo $dir/miner address state
  venus-wallet    /ip4/127.0.0.1/tcp/5678          $bin/venus-wallet --repo $dir/wallet list
Tokens: $dir/tokens/ (shared-admin for the chain service; cluster-{read,write,sign} for the
mining cluster's user 'cluster', which owns ${miner_ids[*]}). Each service's own CLI reads the
local token in its repo. Ctrl-C stops everything.

INFO

# --- the live status line -----------------------------------------------------------------
metric() { # url name-regex → sum of the samples
  curl -fsS "$1" 2>/dev/null | awk -v re="$2" '$1 ~ re { s += $2 } END { printf "%d", s }'
}
while true; do
  for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2>/dev/null || die "${names[$i]} exited; see $dir/logs/"
  done
  head=$(rpc http://127.0.0.1:3453/rpc/v1 "$shared" Filecoin.ChainHead '[]' 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["result"]["Height"])' 2>/dev/null || echo '?')
  mined=""
  for m in "${miner_ids[@]}"; do
    mined+=" $m:$(metric http://127.0.0.1:12308/metrics "^venus_miner_blocks_mined_total[{].*miner=\"$m\"")"
  done
  queued=$(metric http://127.0.0.1:39812/metrics '^venus_messager_messages[{].*state="(unfill|fill)"')
  landed=$(metric http://127.0.0.1:39812/metrics '^venus_messager_messages[{].*state="onchain"')
  printf '\r\033[K%s  head %s | blocks mined%s | messages queued %s, on chain %s' \
    "$(date +%H:%M:%S)" "$head" "$mined" "$queued" "$landed"
  sleep 2
done
