#!/usr/bin/env bash
# Render manifests/install.yaml from charts/venus-operator: the plain `kubectl apply -f` install
# (namespace venus-system, the CRD, RBAC, the operator Deployment). A test in e2e/tests/chart.rs
# fails when the committed file differs from this output.
#
#   e2e/cluster/render-install.sh            # rewrite manifests/install.yaml
#   e2e/cluster/render-install.sh --stdout   # print it instead
#
# helm: $VENUS_E2E_CACHE/bin/current/helm (see build-tools.sh), else `helm` on PATH.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${VENUS_E2E_CACHE:-$HOME/.cache/venus-e2e}
HELM=$CACHE/bin/current/helm
[ -x "$HELM" ] || HELM=$(command -v helm) || { echo "helm not found: run e2e/cluster/build-tools.sh" >&2; exit 1; }
NAMESPACE=venus-system

render() {
  cat <<EOF_HEADER
# venus-operator: plain-manifest install, rendered from charts/venus-operator with default values
# by e2e/cluster/render-install.sh — do not edit by hand.
#   kubectl apply --server-side -f manifests/install.yaml
---
apiVersion: v1
kind: Namespace
metadata:
  name: $NAMESPACE
  labels:
    app.kubernetes.io/part-of: venus
EOF_HEADER
  # Helm's own home dirs are irrelevant for `template`; keep them out of $HOME.
  local tmp; tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  HELM_CACHE_HOME=$tmp HELM_CONFIG_HOME=$tmp HELM_DATA_HOME=$tmp \
    "$HELM" template venus-operator "$ROOT/charts/venus-operator" --namespace "$NAMESPACE" --include-crds
}

case "${1:-}" in
  --stdout) render ;;
  "") render >"$ROOT/manifests/install.yaml.tmp" && mv "$ROOT/manifests/install.yaml.tmp" "$ROOT/manifests/install.yaml"
      echo "wrote $ROOT/manifests/install.yaml" >&2 ;;
  *) echo "usage: $0 [--stdout]" >&2; exit 2 ;;
esac
