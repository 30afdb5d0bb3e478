#!/usr/bin/env bash
# A MariaDB server for the tests, on 127.0.0.1, from Debian's packages.
#
#   scripts/mariadb-test.sh start   # install if needed, start if not running; prints the export line
#   scripts/mariadb-test.sh env     # print `export VENUS_TEST_MYSQL_URL=…` for a running server
#   scripts/mariadb-test.sh stop
#
# The server's data lives in ${VENUS_MARIADB_DIR:-$HOME/.cache/venus-mariadb}. Tests read the server URL
# from VENUS_TEST_MYSQL_URL (mysql://venus:venus@127.0.0.1:PORT/) and each creates its own database.
# No init system is assumed: mariadbd is started directly (see shared/reference/mariadb-for-tests.md).
set -euo pipefail

dir=${VENUS_MARIADB_DIR:-$HOME/.cache/venus-mariadb}
pidfile=$dir/mariadbd.pid
portfile=$dir/port

log() { echo "mariadb-test: $*" >&2; }

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

url() { echo "mysql://venus:venus@127.0.0.1:$(cat "$portfile")/"; }

install_server() {
  command -v mariadbd >/dev/null 2>&1 && return 0
  log "installing mariadb-server from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  # The package's own service start fails without an init system; the binaries install regardless.
  $sudo apt-get install -y -q mariadb-server mariadb-client >/dev/null 2>&1 || {
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q mariadb-server mariadb-client >/dev/null || true
  }
  command -v mariadbd >/dev/null 2>&1 || { log "mariadbd not found after install"; exit 1; }
}

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

start() {
  if running; then echo "export VENUS_TEST_MYSQL_URL=$(url)"; return 0; fi
  install_server
  mkdir -p "$dir"
  if [ ! -d "$dir/data/mysql" ]; then
    rm -rf "$dir/data"
    mariadb-install-db --user="$(id -un)" --datadir="$dir/data" \
      --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 \
      || { log "mariadb-install-db failed, see $dir/install.log"; exit 1; }
  fi
  local port; port=$(free_port); echo "$port" >"$portfile"
  local user_flag=(); [ "$(id -u)" = 0 ] && user_flag=(--user=root)
  nohup mariadbd "${user_flag[@]}" --datadir="$dir/data" --socket="$dir/sock" --port="$port" \
    --bind-address=127.0.0.1 --skip-name-resolve --skip-log-bin --pid-file="$pidfile" \
    --max-connections=500 >"$dir/server.log" 2>&1 &
  for _ in $(seq 1 100); do
    if mariadb --socket="$dir/sock" -uroot -e 'select 1' >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
  mariadb --socket="$dir/sock" -uroot -e "
    CREATE USER IF NOT EXISTS 'venus'@'%' IDENTIFIED BY 'venus';
    GRANT ALL PRIVILEGES ON *.* TO 'venus'@'%' WITH GRANT OPTION;
    FLUSH PRIVILEGES;" || { log "server did not come up, see $dir/server.log"; exit 1; }
  log "MariaDB $(mariadbd --version | awk '{print $3}') on 127.0.0.1:$port"
  echo "export VENUS_TEST_MYSQL_URL=$(url)"
}

stop() {
  if running; then
    kill "$(cat "$pidfile")"
    for _ in $(seq 1 100); do running || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start) start ;;
  env) running && echo "export VENUS_TEST_MYSQL_URL=$(url)" || { log "not running"; exit 1; } ;;
  stop) stop ;;
  *) echo "usage: $0 start|env|stop" >&2; exit 2 ;;
esac
