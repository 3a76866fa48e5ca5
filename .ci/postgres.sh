#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the journal tests and print its SQLAlchemy URL.
# Usage: .ci/postgres.sh start DIR PORT | stop DIR
# The server runs with wal_level=logical so that CDC tests can open logical replication slots.
# Installs Debian's postgresql when no server binaries are found and we are root (CI machines).
set -euo pipefail
cmd=${1:?start|stop}; dir=${2:?data dir}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$bindir" ] && [ "$cmd" = start ]; then
  if [ "$(id -u)" != 0 ]; then echo "no PostgreSQL server and not root: cannot install" >&2; exit 3; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null && apt-get install -y -qq postgresql >/dev/null
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "$cmd" in
  start)
    port=${3:?port}
    mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_pg "$bindir/initdb" -D "$dir/data" -A trust -U ultimate >/dev/null
    as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c wal_level=logical -c max_replication_slots=16 -c max_wal_senders=16" start >/dev/null
    as_pg "$bindir/createdb" -h 127.0.0.1 -p "$port" -U ultimate journal
    echo "postgresql+psycopg://ultimate@127.0.0.1:$port/journal"
    ;;
  stop)
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    ;;
esac
