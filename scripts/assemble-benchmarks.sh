#!/usr/bin/env bash
# docs/benchmarks.md is assembled from the per-area files in docs/bench/ (each written next to
# the benchmark it reports), so every figure has one home and one command next to it.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  cat docs/bench/README.md
  for area in build types rpc auth gateway chain node operator cluster; do
    f=docs/bench/$area.md
    [ -f "$f" ] || continue
    echo; echo "---"; echo
    # one level down, so each area is a section of this page
    sed 's/^#/##/' "$f"
  done
} > docs/benchmarks.md
