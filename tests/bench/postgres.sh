#!/usr/bin/env bash
# Benchmark of the `postgres` collector: one collection against a server with ~200
# connections and a lock tree of ~50 sessions must take well under 1 s of query work.
#
# Starts a throwaway PostgreSQL cluster (initdb + pg_ctl as the `postgres` OS user when run
# as root) on a free 127.0.0.1 port with max_connections = 300, runs
# collectors/postgres/examples/bench.rs against it, and stops and removes the cluster.
#
#   tests/bench/postgres.sh            # PGBIN=/usr/lib/postgresql/15/bin to pick the binaries
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
pgbin=${PGBIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d /tmp/witness-bench-pg.XXXXXX)

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

cleanup() {
    as_postgres "$pgbin/pg_ctl" -D "$data/cluster" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$data"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] && chown postgres "$data"
as_postgres "$pgbin/initdb" -D "$data/cluster" -U postgres --auth=trust >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$data/cluster" -l "$data/cluster/log" -w start -o \
    "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data/cluster \
     -c max_connections=300 -c shared_preload_libraries=pg_stat_statements -c shared_buffers=32MB -c fsync=off -c synchronous_commit=off" >/dev/null
echo "throwaway cluster on 127.0.0.1:$port ($("$pgbin/postgres" --version))"

cd "$repo"
cargo build --release -q -p witness-postgres --example bench
cargo run --release -q -p witness-postgres --example bench -- "postgresql://postgres@127.0.0.1:$port/postgres"
