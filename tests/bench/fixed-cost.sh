#!/usr/bin/env bash
# A run's fixed cost (issue 16, target 1): CPU time of a whole `witness collect at … --only
# logs` process (configuration, rules, redactor, collection, reports, bundle written, synced
# and sealed) with no collector configured and with a 1,000-line log, as `perf stat -r 20`
# reports it (task-clock, ms), ROUNDS times. With BASE=<an older build>, that build is timed
# in the same rounds, interleaved, for a before/after figure.
#
#   tests/bench/fixed-cost.sh [ROUNDS]
#
# Needs perf (Debian linux-perf). Files under ${BENCH_DIR:-/tmp/witness-fixed-cost}.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/witness-fixed-cost}
TARGET=${CARGO_TARGET_DIR:-target}
ANCHOR=2025-11-19T21:00:00Z
command -v perf >/dev/null || { echo "fixed-cost.sh: needs perf (apt-get install linux-perf)" >&2; exit 1; }

if [ -z "${WITNESS_BIN:-}" ]; then
    cargo build --quiet --release --bin witness
fi
cargo build --quiet --release -p witness-logs --example loggen
NEW=$(realpath "${WITNESS_BIN:-$TARGET/release/witness}")
mkdir -p "$DIR"
[ -f "$DIR/small.log" ] || "$TARGET/release/examples/loggen" "$DIR/small.log" 125000 24 app >/dev/null
printf '[store]\ndir = "%s"\n' "$DIR/store" > "$DIR/none.toml"
{
    printf '[store]\ndir = "%s"\n\n' "$DIR/store"
    printf '[[collectors.logs]]\nname = "app"\npaths = ["%s"]\n' "$DIR/small.log"
} > "$DIR/small.toml"
echo "$(wc -l < "$DIR/small.log") lines in the small log; load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"

builds=(new)
[ -n "${BASE:-}" ] && builds=(base new)
for round in $(seq "$ROUNDS"); do
    for case in none small; do
        for which in "${builds[@]}"; do
            bin=$NEW
            [ "$which" = base ] && bin=$(realpath "$BASE")
            ms=$(perf stat -r 20 -x, -e task-clock "$bin" collect at "$ANCHOR" --since 15m \
                --only logs --config "$DIR/$case.toml" --format json 2>&1 >/dev/null |
                awk -F, '/task-clock/ { print $1 }')
            printf 'round %s  %-5s  %-4s  %6.1f ms CPU (mean of 20)  load %s\n' \
                "$round" "$case" "$which" "$ms" "$(cut -d' ' -f1-3 /proc/loadavg)"
            rm -rf "$DIR/store"
        done
    done
done
