#!/usr/bin/env bash
# Starts (or stops) a throwaway PostgreSQL for Lockwell's tests on 127.0.0.1.
#
#   localdev/scripts/postgres.sh start   # prints the environment to export
#   localdev/scripts/postgres.sh stop
#
# Data lives in $LOCKWELL_PG_DIR (default /tmp/lockwell-pg); the port is
# $LOCKWELL_PG_PORT (default 55432). Authentication is "trust" on loopback
# only, so no password exists anywhere: not in a URL, not on a command line.
# PostgreSQL refuses to run as root, so as root the server runs as the
# "postgres" system user (created if missing).
set -euo pipefail

dir=${LOCKWELL_PG_DIR:-/tmp/lockwell-pg}
port=${LOCKWELL_PG_PORT:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/pg_ctl" ]; then
  echo "postgres.sh: no PostgreSQL server found under /usr/lib/postgresql; install it with: apt-get install -y postgresql" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "${1:-start}" in
start)
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U lockwell --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  if ! as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null \
      || { cat "$dir/server.log" >&2; exit 1; }
  fi
  if ! "$bin/psql" -h 127.0.0.1 -p "$port" -U lockwell -d postgres -tAc "select 1 from pg_database where datname='lockwell_test'" | grep -q 1; then
    "$bin/psql" -h 127.0.0.1 -p "$port" -U lockwell -d postgres -qc "create database lockwell_test" >/dev/null
  fi
  echo "export PGUSER=lockwell"
  echo "export LOCKWELL_TEST_POSTGRES_URL=postgres://127.0.0.1:$port/lockwell_test?sslmode=disable"
  ;;
stop)
  [ -f "$dir/data/PG_VERSION" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null 2>&1 || true
  ;;
*)
  echo "usage: $0 start|stop" >&2
  exit 2
  ;;
esac
