#!/usr/bin/env bash
# The one command that runs every test (`make test`), on a fresh machine or a warm one.
#
# It installs what the tests need, idempotently and quickly when already present:
#   - Debian packages: a MariaDB server (the MySQL back ends are tested against it) and build tools
#   - cargo-nextest (the test runner), pinned
#   - npm packages of the JSON-RPC interop test (a go-jsonrpc-style client we did not write)
#   - the Kubernetes test cluster's tools, built from Go modules into ~/.cache (e2e/cluster/build-tools.sh)
# then checks formatting and lints, and runs the whole suite with nextest plus the doc tests.
#
#   scripts/test.sh               everything
#   scripts/test.sh --deps-only   install/start what the tests need, run nothing
#   VENUS_SKIP_CLUSTER_BUILD=1    don't build the cluster tools (the cluster tests then skip,
#                                 or fail when CI is set)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

NEXTEST_VERSION=0.9.151
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
# Build outputs live outside the clone, so a fresh clone on a machine that built before starts
# warm; on a new machine this is simply a cold build.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/venus-rs/target}
export PATH="$HOME/.cargo/bin:$PATH"

t0=$(date +%s)
step() { echo; echo "==> [$(( $(date +%s) - t0 ))s] $*"; }

sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q >/dev/null
  $sudo apt-get install -y -q "${missing[@]}" >/dev/null
}

step "system packages"
apt_install mariadb-server mariadb-client pkg-config python3 lua5.4 umoci skopeo

step "cargo-nextest $NEXTEST_VERSION"
if ! cargo nextest --version 2>/dev/null | grep -q "$NEXTEST_VERSION"; then
  # Without self-update: that feature pulls in an HTTP/TLS stack and doubles the build.
  cargo install --locked "cargo-nextest@$NEXTEST_VERSION" --no-default-features --features default-no-update
fi

step "MariaDB for the MySQL back ends"
eval "$(bash scripts/mariadb-test.sh start)"
export VENUS_TEST_MYSQL_URL
echo "VENUS_TEST_MYSQL_URL=${VENUS_TEST_MYSQL_URL%%:*}://…@${VENUS_TEST_MYSQL_URL##*@}"

for dir in $(find services operator e2e -name package-lock.json -not -path '*/node_modules/*' -printf '%h\n' 2>/dev/null); do
  step "npm ci in $dir"
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error && touch node_modules)
  fi
done

if [ -z "${VENUS_SKIP_CLUSTER_BUILD:-}" ] && [ -x e2e/cluster/build-tools.sh ]; then
  step "Kubernetes test-cluster tools (Go modules, cached in ~/.cache)"
  bash e2e/cluster/build-tools.sh
fi

[ "${1:-}" = "--deps-only" ] && { step "dependencies ready"; exit 0; }

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "build every binary (integration tests spawn them)"
cargo build --workspace --bins --locked

step "doc tests"
cargo test --workspace --doc --locked

step "tests (nextest)"
summary=$(mktemp)
cargo nextest run --workspace --locked --profile ci --no-tests=fail 2>&1 | tee "$summary"
passed=$(grep -oE '[0-9]+ tests? run: [0-9]+ passed' "$summary" | tail -1 | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
rm -f "$summary"

if [ -x images/build.sh ] && [ -z "${VENUS_SKIP_IMAGES:-}" ]; then
  step "service images (built and checked without a Docker daemon)"
  bash images/build.sh --check
fi

step "all tests passed in $(( $(date +%s) - t0 ))s"
echo "tests: $passed passed, 0 failed"
