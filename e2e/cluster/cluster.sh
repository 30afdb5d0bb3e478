#!/usr/bin/env bash
# Start and stop a real Kubernetes control plane on 127.0.0.1 for the e2e tests:
# etcd + kube-apiserver + kube-controller-manager + kube-scheduler + kwok-controller, run by
# `kwokctl --runtime binary` from the binaries e2e/cluster/build-tools.sh put in the cache.
# Nothing is downloaded; every listener is on 127.0.0.1 with ports kwokctl picks.
#
#   e2e/cluster/cluster.sh up   [NAME]   # create, wait for /readyz, fake nodes, kwok-volume class
#   e2e/cluster/cluster.sh env  [NAME]   # print `export KUBECONFIG=…` lines for a running cluster
#   e2e/cluster/cluster.sh down [NAME]   # delete the cluster, wait for its processes, remove the run dir
#
# Environment:
#   VENUS_E2E_CACHE      tool cache (default $HOME/.cache/venus-e2e)
#   VENUS_E2E_RUN_ROOT   parent of the per-cluster run dirs (default ${TMPDIR:-/tmp}/venus-e2e)
#   VENUS_E2E_NODES      fake nodes to create (default 3, zones a/b/c)
#   VENUS_E2E_OWNER_PID  if set, a watchdog tears the cluster down once that process has exited
#                        (the Rust harness passes its own PID, so a panicking test leaks nothing);
#                        PIDs listed in <run dir>/owned.pids are killed with it.
# The run dir holds kubeconfig, env, logs (symlink to the component logs) and helm's home dirs.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${VENUS_E2E_CACHE:-$HOME/.cache/venus-e2e}
BIN=$CACHE/bin/current
NAME=${2:-venus-e2e}
RUN_ROOT=${VENUS_E2E_RUN_ROOT:-${TMPDIR:-/tmp}/venus-e2e}
RUN=$RUN_ROOT/$NAME
NODES=${VENUS_E2E_NODES:-3}
K8S_VERSION=1.36.3
ETCD_VERSION=3.6.16

say() { printf '[cluster %s %s] %s\n' "$NAME" "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

[[ $NAME =~ ^[a-z0-9]([a-z0-9-]*[a-z0-9])?$ ]] || die "cluster name '$NAME' must be a DNS label"

kwokctl() { KWOK_WORKDIR=$RUN/kwok "$BIN/kwokctl" "$@"; }
cluster_dir() { echo "$RUN/kwok/clusters/$NAME"; }

# The component PIDs kwokctl recorded (files without a trailing newline, so read one by one).
component_pids() {
  local f
  for f in "$(cluster_dir)"/pids/*.pid; do [ -f "$f" ] && printf '%s ' "$(cat "$f")"; done
}

readyz() {
  local cl; cl=$(cluster_dir)
  local srv; srv=$(sed -n 's/^ *server: *//p' "$cl/kubeconfig.yaml" 2>/dev/null | head -1)
  [ -n "$srv" ] && curl -fsS -m 2 --cacert "$cl/pki/ca.crt" --cert "$cl/pki/admin.crt" \
    --key "$cl/pki/admin.key" "$srv/readyz" >/dev/null 2>&1
}

write_config() {
  local stages=$BIN/stage kubectl_bin
  kubectl_bin=$(command -v kubectl) || die "kubectl not on PATH (kwokctl probes the apiserver with it)"
  {
    cat <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  kubeVersion: v$K8S_VERSION
  etcdVersion: $ETCD_VERSION
  bindAddress: 127.0.0.1
  # 0: kwokctl picks the port; a fixed one in 10001-32767 can collide with its own port picks.
  kubeApiserverPort: 0
  # Kubernetes' own heartbeat timings (kwokctl stretches them 5x by default), so a failed node
  # is noticed by the node lifecycle controller in seconds, not minutes.
  heartbeatFactor: 1
  cacheDir: $RUN/kwok/cache
  kubeApiserverBinary: $BIN/kube-apiserver
  kubeControllerManagerBinary: $BIN/kube-controller-manager
  kubeSchedulerBinary: $BIN/kube-scheduler
  kwokControllerBinary: $BIN/kwok
  etcdBinary: $BIN/etcd
  kubectlBinary: $kubectl_bin
componentsPatches:
# With a loopback bind address the apiserver derives its advertise address from the default
# route and exits when there is none; pin it.
- name: kube-apiserver
  extraArgs:
  - key: advertise-address
    value: 127.0.0.1
EOF
    # Any Stage here replaces kwokctl's defaults, so the node/pod lifecycle stages are listed
    # again, then PVC provisioning (kwok-volume) and the chaos stages (they act only on objects
    # carrying their label).
    local f
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml \
      volume/fast/pvc-provision.yaml volume/fast/pv-bind.yaml volume/fast/pvc-delete.yaml \
      volume/fast/pv-delete.yaml node/chaos/node-not-ready.yaml \
      pod/chaos/pod-container-running-failed.yaml pod/chaos/pod-init-container-running-failed.yaml; do
      [ -f "$stages/$f" ] || die "stage $f missing under $stages (re-run build-tools.sh)"
      echo "---"
      if [ "$f" = pod/fast/pod-ready.yaml ] || [ "$f" = pod/fast/pod-complete.yaml ]; then
        # Pods whose processes the e2e harness runs get Ready from it (stages/pod-run-by-harness.yaml),
        # and a Job's pod ends when its process does (not at once).
        sed '/^    matchExpressions:$/a\
    - key: '"'"'.spec.tolerations.[] | select( .key == "e2e.venus.filecoin.io/processes" ) | .effect'"'"'\
      operator: '"'"'DoesNotExist'"'"'' "$stages/$f"
      else
        cat "$stages/$f"
      fi
    done
    echo "---"
    cat "$HERE/stages/pod-run-by-harness.yaml"
  } >"$RUN/kwokctl.yaml"
}

write_nodes() {
  local zones=(a b c d e) i
  for ((i = 0; i < NODES; i++)); do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: kwok-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    topology.kubernetes.io/zone: zone-${zones[$((i % 5))]}
    type: kwok
EOF
  done
}

start_watchdog() {
  local owner=$1
  # Detached: survives this script; exits when the owner is gone or the cluster dir vanished.
  setsid bash -c '
    owner=$1 script=$2 name=$3 run=$4
    while kill -0 "$owner" 2>/dev/null && [ -d "$run/kwok" ]; do sleep 1; done
    if [ -d "$run/kwok" ]; then
      if [ -f "$run/owned.pids" ]; then
        while read -r p; do [ -n "$p" ] && kill "$p" 2>/dev/null; done <"$run/owned.pids"
      fi
      VENUS_E2E_WATCHDOG=1 "$script" down "$name" >>"$run/watchdog.log" 2>&1
    fi' watchdog "$owner" "$HERE/cluster.sh" "$NAME" "$RUN" </dev/null >/dev/null 2>&1 &
  echo $! >"$RUN/watchdog.pid"
}

do_up() {
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler etcd kwok kwokctl; do
    [ -x "$BIN/$b" ] || die "$BIN/$b missing: run e2e/cluster/build-tools.sh first"
  done
  if [ -d "$RUN/kwok/clusters/$NAME" ]; then
    die "cluster $NAME already exists under $RUN (run: $0 down $NAME)"
  fi
  mkdir -p "$RUN/kwok" "$RUN/helm"
  local ok=0
  # Whatever fails between here and the end leaves nothing running.
  trap 'set +e; if [ "$ok" != 1 ]; then say "start failed, tearing down"; show_logs; do_down; fi' EXIT
  write_config
  local t0; t0=$(date +%s%N)
  kwokctl --config "$RUN/kwokctl.yaml" create cluster --name "$NAME" \
    --kubeconfig "$RUN/kubeconfig" --timeout 3m --wait 0s >"$RUN/kwokctl-create.log" 2>&1 ||
    { cat "$RUN/kwokctl-create.log" >&2; die "kwokctl create cluster failed"; }
  # kwokctl can report success although the apiserver died: check /readyz ourselves.
  local deadline=$(( $(date +%s) + 120 ))
  until readyz; do
    [ "$(date +%s)" -lt "$deadline" ] || die "kube-apiserver /readyz not ok after 120 s"
    sleep 0.1
  done
  say "apiserver ready $(ms_since "$t0") ms after create"
  ln -sfn "$(cluster_dir)/logs" "$RUN/logs"
  [ -z "$(ls -A "$RUN/kwok/cache" 2>/dev/null)" ] || die "kwokctl downloaded something into $RUN/kwok/cache"
  export KUBECONFIG=$RUN/kubeconfig
  kubectl apply -f "$BIN/stage/volume/fast/storage-class.yaml" >&2
  write_nodes | kubectl apply -f - >&2
  kubectl wait --for=condition=Ready node --all --timeout=60s >&2
  # The default ServiceAccount appears asynchronously; pods in `default` need it.
  until kubectl get serviceaccount default -n default >/dev/null 2>&1; do sleep 0.2; done
  write_env >"$RUN/env"
  if [ -n "${VENUS_E2E_OWNER_PID:-}" ]; then start_watchdog "$VENUS_E2E_OWNER_PID"; fi
  ok=1
  trap - EXIT
  say "cluster up in $(ms_since "$t0") ms with $NODES fake nodes; env in $RUN/env"
  echo "$RUN/env"
}

write_env() {
  local srv; srv=$(sed -n 's/^ *server: *//p' "$RUN/kubeconfig" | head -1)
  cat <<EOF
export KUBECONFIG=$RUN/kubeconfig
export VENUS_E2E_CLUSTER=$NAME
export VENUS_E2E_RUN_DIR=$RUN
export VENUS_E2E_APISERVER=$srv
export HELM_CACHE_HOME=$RUN/helm/cache HELM_CONFIG_HOME=$RUN/helm/config HELM_DATA_HOME=$RUN/helm/data
export PATH=$BIN:\$PATH
EOF
}

show_logs() {
  local f
  for f in "$(cluster_dir)"/logs/*.log; do
    [ -f "$f" ] || continue
    say "--- last lines of $f"
    tail -5 "$f" >&2
  done
}

do_down() {
  set +e
  if [ -z "${VENUS_E2E_WATCHDOG:-}" ] && [ -f "$RUN/watchdog.pid" ]; then
    kill "$(cat "$RUN/watchdog.pid")" 2>/dev/null
  fi
  if [ -f "$RUN/owned.pids" ]; then
    local p
    while read -r p; do [ -n "$p" ] && kill "$p" 2>/dev/null; done <"$RUN/owned.pids"
  fi
  local pids; pids=$(component_pids)
  if [ -d "$RUN/kwok/clusters/$NAME" ]; then
    kwokctl delete cluster --name "$NAME" >&2
  fi
  # kwokctl returns before its components have exited.
  local p i
  for p in $pids; do
    for ((i = 0; i < 100; i++)); do [ -d "/proc/$p" ] || break; sleep 0.1; done
    [ -d "/proc/$p" ] && kill -9 "$p" 2>/dev/null
  done
  rm -rf "$RUN"
  say "down"
}

case "${1:-}" in
  up) do_up ;;
  down) do_down ;;
  env) [ -f "$RUN/env" ] || die "no running cluster $NAME (no $RUN/env)"; cat "$RUN/env" ;;
  *) echo "usage: $0 up|down|env [NAME]" >&2; exit 2 ;;
esac
