#!/usr/bin/env bash
# Builds the e2e Go test client (e2e/go/gatewayclient: venus-shared's original gateway and chain
# clients) into a cache outside the clone and prints the binary's path. Idempotent: the binary
# lives under a directory named by a hash of its sources (go.mod, go.sum, *.go), so a warm run
# is a hash and a stat; an edit builds a new one.
#
#   e2e/go/build.sh            # prints .../bin/gatewayclient-<hash>/gatewayclient
#
# Cache: ${VENUS_E2E_CACHE:-$HOME/.cache/venus-e2e} — go-mod/ and go-build/ shared with
# e2e/cluster/build-tools.sh. Needs Go >= 1.24 and a C compiler (venus-shared's types import
# go-crypto, whose secp256k1 is cgo with its C sources vendored; no filecoin-ffi).
# Without Go: exit 1 under CI (CI=1), otherwise exit 2 (the test then skips, saying why).
set -euo pipefail

CACHE=${VENUS_E2E_CACHE:-$HOME/.cache/venus-e2e}
SRC=$(cd "$(dirname "$0")/gatewayclient" && pwd)
GO=$(command -v go || { [ -x /usr/local/go/bin/go ] && echo /usr/local/go/bin/go; } || true)
if [ -z "$GO" ]; then
  echo "e2e/go/build.sh: no Go toolchain (go on PATH or /usr/local/go/bin/go)" >&2
  [ -n "${CI:-}" ] && exit 1
  exit 2
fi

hash=$(cd "$SRC" && cat go.mod go.sum ./*.go | sha256sum | cut -c1-16)
dir=$CACHE/bin/gatewayclient-$hash
if [ ! -x "$dir/gatewayclient" ]; then
  mkdir -p "$dir"
  echo "e2e/go/build.sh: building gatewayclient ($hash)" >&2
  # GOFLAGS=-mod=mod with the committed go.sum: nothing but the pinned module versions is
  # fetched (from GOPROXY); GOTOOLCHAIN=local: the installed Go, no toolchain download.
  (cd "$SRC" && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOCACHE=$CACHE/go-build GOMODCACHE=$CACHE/go-mod \
     "$GO" build -trimpath -o "$dir/gatewayclient.tmp" .)
  mv "$dir/gatewayclient.tmp" "$dir/gatewayclient"
fi
echo "$dir/gatewayclient"
