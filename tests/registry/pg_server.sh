#!/usr/bin/env bash
# A private, throwaway PostgreSQL server for the registry tests (docs/registry_schema.md):
#   pg_server.sh start DIR   initdb into DIR/data and start postgres on a unix socket in
#                            DIR/sock only (no TCP); waits (bounded) until it accepts connections
#   pg_server.sh stop DIR    stop it (fast shutdown) and remove DIR
# Clients connect with: postgres:///DB?host=DIR/sock&port=5432&user=postgres (trust auth).
# Several users of one DIR (ctest runs sharing a build tree) are counted: the last stop stops
# the server. postgres refuses to run as root, so as root the server runs as the `postgres`
# user. Without PostgreSQL installed, start prints why and exits 0: the tests then skip.
set -euo pipefail
cmd=${1:-}
dir=${2:-}
if [[ -z $cmd || -z $dir ]]; then
  echo "usage: pg_server.sh start|stop DIR" >&2
  exit 2
fi
pgbin=${MLFAAS_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
if [[ -z $pgbin || ! -x $pgbin/postgres || ! -x $pgbin/initdb ]]; then
  echo "pg_server.sh: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres);" \
    "the PostgreSQL registry tests will skip"
  exit 0
fi
port=5432  # names the socket file only: listen_addresses='' (no TCP)
as_pg() {
  if [[ $(id -u) == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}
running() {
  [[ -f $dir/data/postmaster.pid ]] && as_pg "$pgbin/pg_ctl" status -D "$dir/data" >/dev/null 2>&1
}

stop_server() {
  if [[ -f $dir/data/postmaster.pid ]]; then
    if ! as_pg "$pgbin/pg_ctl" stop -D "$dir/data" -m fast -w -t 30 >/dev/null 2>&1; then
      pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
      [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$dir"
}

mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock -w 120 9
case $cmd in
  start)
    if running; then
      echo $(($(cat "$dir/users" 2>/dev/null || echo 0) + 1)) >"$dir/users"
      echo "pg_server.sh: reusing the server in $dir"
      exit 0
    fi
    stop_server
    mkdir -p "$dir/sock"
    # The server's user must reach DIR: its parents are searchable, DIR is its own.
    [[ $(id -u) == 0 ]] && chown -R postgres: "$dir"
    as_pg "$pgbin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    # fsync off: a test server, thrown away afterwards. -w -t: wait, bounded, for readiness.
    # 9>&-: the server must not inherit (and hold forever) the lock.
    as_pg "$pgbin/pg_ctl" start -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-k $dir/sock -c listen_addresses= -p $port -c fsync=off -c max_connections=300" \
      >/dev/null 9>&- || { cat "$dir/server.log" >&2; exit 1; }
    for _ in $(seq 1 100); do
      as_pg "$pgbin/pg_isready" -q -h "$dir/sock" -p "$port" -U postgres && break
      sleep 0.1
    done
    as_pg "$pgbin/pg_isready" -q -h "$dir/sock" -p "$port" -U postgres
    echo 1 >"$dir/users"
    echo "pg_server.sh: PostgreSQL running, socket $dir/sock/.s.PGSQL.$port"
    ;;
  stop)
    users=$(($(cat "$dir/users" 2>/dev/null || echo 1) - 1))
    if ((users > 0)) && running; then
      echo "$users" >"$dir/users"
      exit 0
    fi
    stop_server
    rm -f "$dir.lock"
    ;;
  *)
    echo "usage: pg_server.sh start|stop DIR" >&2
    exit 2
    ;;
esac
