#!/usr/bin/env bash
# Check of the `postgres` collector's replication section against a real primary and a
# real streaming standby (the shared test server has no replica): starts a throwaway
# primary and a pg_basebackup standby on free 127.0.0.1 ports (as the `postgres` OS user
# when run as root), collects from each with collectors/postgres/examples/collect.rs,
# checks what the evidence says, and stops and removes both clusters.
#
#   tests/bench/postgres-replication.sh     # PGBIN=/usr/lib/postgresql/15/bin to pick binaries
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
pgbin=${PGBIN:-$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
primary_port=$(free_port)
standby_port=$(free_port)
data=$(mktemp -d /tmp/witness-replication.XXXXXX)

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
cleanup() {
    for c in standby primary; do
        as_postgres "$pgbin/pg_ctl" -D "$data/$c" -m immediate stop >/dev/null 2>&1 || true
    done
    rm -rf "$data"
}
trap cleanup EXIT
start() { # name port
    as_postgres "$pgbin/pg_ctl" -D "$data/$1" -l "$data/$1.log" -w start -o \
        "-c listen_addresses=127.0.0.1 -c port=$2 -c unix_socket_directories=$data" >/dev/null
}

[ "$(id -u)" = 0 ] && chown postgres "$data"
as_postgres "$pgbin/initdb" -D "$data/primary" -U postgres --auth=trust >/dev/null
echo "host replication all 127.0.0.1/32 trust" >>"$data/primary/pg_hba.conf"
start primary "$primary_port"
as_postgres "$pgbin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres -D "$data/standby" -R
start standby "$standby_port"
"$pgbin/psql" -X -q -h 127.0.0.1 -p "$primary_port" -U postgres -c "CREATE TABLE x AS SELECT 1 AS a"
sleep 1

cd "$repo"
cargo build -q -p witness-postgres --example collect
for role in primary standby; do
    port=$primary_port
    [ "$role" = standby ] && port=$standby_port
    WITNESS_PG_DSN="postgresql://postgres@127.0.0.1:$port/postgres?sslmode=disable" \
        cargo run -q -p witness-postgres --example collect 2>/dev/null >"$data/$role.json"
    python3 - "$role" "$data/$role.json" <<'PY'
import json, sys
role, path = sys.argv[1], sys.argv[2]
ev = json.load(open(path))
rep, facts = ev["data"]["replication"], ev["facts"]
assert ev["status"] == "ok", ev["notes"]
assert rep["role"] == role, rep
assert facts["postgres.in_recovery"] == (role == "standby"), facts
if role == "primary":
    assert len(rep["replicas"]) == 1 and rep["replicas"][0]["state"] == "streaming", rep
else:
    assert rep["receive_lsn"] and rep["replay_lsn"], rep
    assert facts["postgres.replication_max_lag_secs"] < 5, facts
print(f"{role}: ok, replication {json.dumps(rep)}")
PY
done
