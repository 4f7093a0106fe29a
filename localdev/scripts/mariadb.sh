#!/usr/bin/env bash
# Starts (or stops) a throwaway MariaDB for Lockwell's tests on 127.0.0.1.
#
#   localdev/scripts/mariadb.sh start   # prints the environment to export
#   localdev/scripts/mariadb.sh stop
#
# Data lives in $LOCKWELL_MARIADB_DIR (default /tmp/lockwell-mariadb); the
# port is $LOCKWELL_MARIADB_PORT (default 53306). The server listens on
# 127.0.0.1 only, plus a Unix socket in the data directory that only the
# script uses (to create the test user, as the database's root through
# unix_socket authentication, so no administrator password exists). The test
# user "lockwell" gets a random password that is written to
# $LOCKWELL_MARIADB_DIR/password (mode 0600) and passed to the server on
# standard input: it is never on a command line. The printed environment
# names the file (MYSQL_PWD_FILE), not the password. The user may do
# anything to databases whose names start with "lockwell".
# MariaDB refuses to run as root, so as root the server runs as the "mysql"
# system user (created if missing). Durability settings are relaxed: the
# data is throwaway.
set -euo pipefail

dir=${LOCKWELL_MARIADB_DIR:-/tmp/lockwell-mariadb}
port=${LOCKWELL_MARIADB_PORT:-53306}
sock=$dir/mariadb.sock
server=$(command -v mariadbd || ls /usr/sbin/mariadbd 2>/dev/null || true)
if [ -z "$server" ] || ! command -v mariadb-install-db >/dev/null || ! command -v mariadb >/dev/null; then
  echo "mariadb.sh: no MariaDB server found; install it with: apt-get install -y mariadb-server" >&2
  exit 1
fi

if [ "$(id -u)" = 0 ]; then
  id mysql >/dev/null 2>&1 || useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin mysql
  owner=mysql
else
  owner=$(id -un)
fi

# client runs the mariadb client as the database root (the OS user running
# this script, through unix_socket authentication) on the socket.
client() { mariadb --no-defaults --socket="$sock" -u "$(id -un)" "$@"; }

running() { [ -S "$sock" ] && mariadb-admin --no-defaults --socket="$sock" -u "$(id -un)" ping >/dev/null 2>&1; }

case "${1:-start}" in
start)
  mkdir -p "$dir"
  chmod 0755 "$dir"
  if [ ! -d "$dir/data/mysql" ]; then
    [ "$owner" = mysql ] && chown mysql "$dir"
    args=(--no-defaults --datadir="$dir/data" --auth-root-authentication-method=socket --skip-test-db)
    [ "$owner" = mysql ] && args+=(--user=mysql)
    mariadb-install-db "${args[@]}" >"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; exit 1; }
  fi
  if ! running; then
    srv=(--no-defaults --datadir="$dir/data" --socket="$sock" --pid-file="$dir/mariadb.pid"
      --log-error="$dir/server.log" --bind-address=127.0.0.1 --port="$port" --skip-name-resolve
      --character-set-server=utf8mb4 --collation-server=utf8mb4_bin --default-storage-engine=InnoDB
      --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --innodb-buffer-pool-size=256M
      --max-connections=400 --max-prepared-stmt-count=100000)
    [ "$owner" = mysql ] && srv+=(--user=mysql)
    setsid "$server" "${srv[@]}" </dev/null >/dev/null 2>&1 &
    for _ in $(seq 1 600); do # up to 60 s, checking every 0.1 s
      running && break
      kill -0 $! 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
      sleep 0.1
    done
    running || { echo "mariadb.sh: the server did not start; see $dir/server.log" >&2; exit 1; }
  fi
  if [ ! -s "$dir/password" ]; then
    (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$dir/password")
  fi
  # The password goes to the server on standard input, never on a command line.
  client <<SQL
CREATE USER IF NOT EXISTS 'lockwell'@'127.0.0.1' IDENTIFIED BY '$(cat "$dir/password")';
ALTER USER 'lockwell'@'127.0.0.1' IDENTIFIED BY '$(cat "$dir/password")';
GRANT ALL PRIVILEGES ON \`lockwell%\`.* TO 'lockwell'@'127.0.0.1';
CREATE DATABASE IF NOT EXISTS lockwell_test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
SQL
  echo "export MYSQL_USER=lockwell"
  echo "export MYSQL_PWD_FILE=$dir/password"
  echo "export LOCKWELL_TEST_MYSQL_URL=mysql://127.0.0.1:$port/lockwell_test?tls=false"
  ;;
stop)
  if running; then
    mariadb-admin --no-defaults --socket="$sock" -u "$(id -un)" shutdown >/dev/null 2>&1 || true
  fi
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
