#!/usr/bin/env bash
# Build the e2e cluster toolchain from the Go module proxy into a cache outside the clone:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok, kwokctl, helm.
# kubectl is the server's own version (no skew), so a fresh machine needs no kubectl package.
#
#   e2e/cluster/build-tools.sh           # idempotent; each tool group has a versioned stamp
#   e2e/cluster/build-tools.sh --check   # exit 0 when everything is built, 1 otherwise (no build)
#
# Cache: ${VENUS_E2E_CACHE:-$HOME/.cache/venus-e2e}
#   bin/<tool>-v<version>/    binaries + .stamp (written only after the group built and ran)
#   bin/current/              symlinks used by cluster.sh and the e2e tests
#   go-mod/, go-build/        GOMODCACHE / GOCACHE (≈1.7 GB + ≈4 GB once warm)
#   mod/                      wrapper modules for k8s and etcd
#   logs/timings.tsv          one line per step: wall seconds, user+sys CPU seconds
# Needs Go >= 1.26 (GOTOOLCHAIN=local: nothing but modules is downloaded).
set -euo pipefail

CACHE=${VENUS_E2E_CACHE:-$HOME/.cache/venus-e2e}
K8S_VERSION=1.36.3    # kwok v0.8.0 knows Kubernetes up to 1.36
ETCD_VERSION=3.6.16
KWOK_VERSION=0.8.0
HELM_VERSION=3.22.0

export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
export GOCACHE=$CACHE/go-build GOMODCACHE=$CACHE/go-mod
GO=$(command -v go || echo /usr/local/go/bin/go)

K8S_DIR=$CACHE/bin/k8s-v$K8S_VERSION
ETCD_DIR=$CACHE/bin/etcd-v$ETCD_VERSION
KUBECTL_DIR=$CACHE/bin/kubectl-v$K8S_VERSION
KWOK_DIR=$CACHE/bin/kwok-v$KWOK_VERSION
HELM_DIR=$CACHE/bin/helm-v$HELM_VERSION
LOGS=$CACHE/logs

say() { printf '[build-tools %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [ "${1:-}" = --check ]; then
  for d in "$K8S_DIR" "$KUBECTL_DIR" "$ETCD_DIR" "$KWOK_DIR" "$HELM_DIR"; do [ -f "$d/.stamp" ] || exit 1; done
  exit 0
fi

mkdir -p "$LOGS" "$K8S_DIR" "$KUBECTL_DIR" "$ETCD_DIR" "$KWOK_DIR" "$HELM_DIR" "$CACHE/mod"

# step NAME cmd...: run and record wall time and the CPU seconds of the step's process tree.
step() {
  local name=$1; shift
  say "step $name: started"
  local start end rc=0
  start=$(date +%s.%N)
  /usr/bin/time -f '%U %S %M' -o "$LOGS/$name.time" "$@" >"$LOGS/$name.log" 2>&1 || rc=$?
  end=$(date +%s.%N)
  local usr sys rss
  read -r usr sys rss <"$LOGS/$name.time" || true
  local wall; wall=$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.1f", b-a}')
  printf '%s\t%s\trc=%s\twall_s=%s\tcpu_s=%s\tmaxrss_kb=%s\n' "$(date -Is)" "$name" "$rc" "$wall" \
    "$(awk -v u="${usr:-0}" -v s="${sys:-0}" 'BEGIN{printf "%.0f", u+s}')" "${rss:-?}" >>"$LOGS/timings.tsv"
  if [ "$rc" != 0 ]; then
    say "step $name FAILED (rc=$rc) after ${wall}s; last lines of $LOGS/$name.log:"
    tail -20 "$LOGS/$name.log" >&2
    exit "$rc"
  fi
  say "step $name: done in ${wall}s (cpu ${usr:-?}+${sys:-?}s)"
}

minor() { local m=${K8S_VERSION#*.}; echo "${m%%.*}"; }

build_k8s() {
  if [ -f "$K8S_DIR/.stamp" ]; then say "kubernetes v$K8S_VERSION: up to date"; return; fi
  local mod=$CACHE/mod/k8s-v$K8S_VERSION
  mkdir -p "$mod"
  step k8s-download "$GO" mod download -json "k8s.io/kubernetes@v$K8S_VERSION"
  local upstream_mod info
  upstream_mod=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' "$LOGS/k8s-download.log")
  info=$(sed -n 's/^[[:space:]]*"Info": "\(.*\)",$/\1/p' "$LOGS/k8s-download.log")
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and points them at ./staging via
  # replace directives, which Go ignores in a dependency: replace each staging module with its
  # published v0.<minor>.<patch> instead. The list comes from the release's own go.mod.
  local staging
  staging=$(awk '/^require \(/{r=1;next} r&&/^\)/{r=0} r&&$1~/^k8s\.io\//&&$2=="v0.0.0"{print $1}' "$upstream_mod")
  [ -n "$staging" ] || { say "no staging modules found in $upstream_mod"; exit 1; }
  {
    printf 'module local.invalid/venus-e2e-k8s\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes v%s\n\n' "$K8S_VERSION"
    printf 'tool (\n\tk8s.io/kubernetes/cmd/kube-apiserver\n\tk8s.io/kubernetes/cmd/kube-controller-manager\n\tk8s.io/kubernetes/cmd/kube-scheduler\n)\n\nreplace (\n'
    for m in $staging; do printf '\t%s => %s v0.%s\n' "$m" "$m" "${K8S_VERSION#1.}"; done
    printf ')\n'
  } >"$mod/go.mod"
  say "kubernetes wrapper module: $(echo "$staging" | wc -l) staging replaces"
  (cd "$mod" && step k8s-tidy "$GO" mod tidy)
  local ld; ld=$(k8s_ldflags "$info")
  (cd "$mod" && step k8s-build "$GO" build -trimpath -ldflags "$ld" -o "$K8S_DIR/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler)
  "$K8S_DIR/kube-apiserver" --version >&2
  touch "$K8S_DIR/.stamp"
}

# Without these the binaries report v0.0.0-master and kwokctl/kubectl see a bogus version.
k8s_ldflags() { # the release's .info file
  local commit built p ld="-s -w"
  commit=$(sed -n 's/.*"Hash":"\([0-9a-f]*\)".*/\1/p' "$1")
  built=$(sed -n 's/.*"Time":"\([^"]*\)".*/\1/p' "$1")
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$(minor)"
    ld+=" -X $p.gitCommit=$commit -X $p.gitTreeState=clean -X $p.buildDate=$built"
  done
  echo "$ld"
}

# kubectl from the same release, in its own wrapper module (the server's module lists only the
# control-plane tools); the module and build caches are shared, so this adds little.
build_kubectl() {
  if [ -f "$KUBECTL_DIR/.stamp" ]; then say "kubectl v$K8S_VERSION: up to date"; return; fi
  local srv=$CACHE/mod/k8s-v$K8S_VERSION mod=$CACHE/mod/kubectl-v$K8S_VERSION
  mkdir -p "$mod"
  sed -e 's#^module .*#module local.invalid/venus-e2e-kubectl#' \
      -e '/^tool (/,/^)/c\tool k8s.io/kubernetes/cmd/kubectl' "$srv/go.mod" >"$mod/go.mod"
  cp "$srv/go.sum" "$mod/go.sum"
  (cd "$mod" && step kubectl-tidy "$GO" mod tidy)
  local info
  info=$(sed -n 's/^[[:space:]]*"Info": "\(.*\)",$/\1/p' "$LOGS/k8s-download.log")
  (cd "$mod" && step kubectl-build "$GO" build -trimpath -ldflags "$(k8s_ldflags "$info")" \
    -o "$KUBECTL_DIR/kubectl" k8s.io/kubernetes/cmd/kubectl)
  "$KUBECTL_DIR/kubectl" version --client >&2
  touch "$KUBECTL_DIR/.stamp"
}

build_etcd() {
  if [ -f "$ETCD_DIR/.stamp" ]; then say "etcd v$ETCD_VERSION: up to date"; return; fi
  local mod=$CACHE/mod/etcd-v$ETCD_VERSION
  mkdir -p "$mod"
  # server/v3's go.mod has replace directives, so `go install …@version` refuses it; as the
  # dependency of a wrapper module they are ignored.
  printf 'module local.invalid/venus-e2e-etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 v%s\n\ntool go.etcd.io/etcd/server/v3\n' \
    "$ETCD_VERSION" >"$mod/go.mod"
  (cd "$mod" && step etcd-tidy "$GO" mod tidy)
  (cd "$mod" && step etcd-build "$GO" build -trimpath -ldflags "-s -w" -o "$ETCD_DIR/etcd" go.etcd.io/etcd/server/v3)
  "$ETCD_DIR/etcd" --version >&2
  touch "$ETCD_DIR/.stamp"
}

build_kwok() {
  if [ -f "$KWOK_DIR/.stamp" ]; then say "kwok v$KWOK_VERSION: up to date"; return; fi
  (cd "$CACHE" && step kwok-install env GOBIN="$KWOK_DIR" "$GO" install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION" \
    "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@v$KWOK_VERSION")
  "$KWOK_DIR/kwokctl" --version >&2
  # The stage definitions ship in the module; cluster.sh reads them from here.
  local src=$GOMODCACHE/sigs.k8s.io/kwok@v$KWOK_VERSION/kustomize/stage
  [ -d "$src" ] || { say "kwok stages not found at $src"; exit 1; }
  rm -rf "$KWOK_DIR/stage"; cp -r "$src" "$KWOK_DIR/stage"; chmod -R u+w "$KWOK_DIR/stage"
  touch "$KWOK_DIR/.stamp"
}

build_helm() {
  if [ -f "$HELM_DIR/.stamp" ]; then say "helm v$HELM_VERSION: up to date"; return; fi
  # helm's Makefile ldflags: the version string and the Kubernetes version lint/template assume.
  local h=helm.sh/helm/v3
  local ld="-s -w -X $h/internal/version.version=v$HELM_VERSION -X $h/internal/version.gitTreeState=clean"
  ld+=" -X $h/pkg/lint/rules.k8sVersionMajor=1 -X $h/pkg/lint/rules.k8sVersionMinor=$(minor)"
  ld+=" -X $h/pkg/chartutil.k8sVersionMajor=1 -X $h/pkg/chartutil.k8sVersionMinor=$(minor)"
  (cd "$CACHE" && step helm-install env GOBIN="$HELM_DIR" "$GO" install -trimpath -ldflags "$ld" "$h/cmd/helm@v$HELM_VERSION")
  "$HELM_DIR/helm" version >&2
  touch "$HELM_DIR/.stamp"
}

link_current() {
  local cur=$CACHE/bin/current
  mkdir -p "$cur"
  ln -sfn "$K8S_DIR/kube-apiserver" "$cur/kube-apiserver"
  ln -sfn "$K8S_DIR/kube-controller-manager" "$cur/kube-controller-manager"
  ln -sfn "$K8S_DIR/kube-scheduler" "$cur/kube-scheduler"
  ln -sfn "$KUBECTL_DIR/kubectl" "$cur/kubectl"
  ln -sfn "$ETCD_DIR/etcd" "$cur/etcd"
  ln -sfn "$KWOK_DIR/kwok" "$cur/kwok"
  ln -sfn "$KWOK_DIR/kwokctl" "$cur/kwokctl"
  ln -sfn "$KWOK_DIR/stage" "$cur/stage"
  ln -sfn "$HELM_DIR/helm" "$cur/helm"
}

t0=$(date +%s)
say "$("$GO" version); cache $CACHE"
build_k8s
build_kubectl
build_etcd
build_kwok
build_helm
link_current
say "all tools ready in $(( $(date +%s) - t0 ))s: $CACHE/bin/current"
