#!/usr/bin/env bash
# Benchmark of `witness serve` (not a test: it prints figures, it asserts nothing).
#
#   tests/bench/serve.sh            # needs wrk (Debian package `wrk`) and python3
#
# Measures, in one run, against a release build:
#   1. idle RSS and idle CPU of `witness serve` with the flight recorder on (sampling the
#      host every 10 s, following one log file that gets a line per second);
#   2. run overhead above the slowest collector: 10 runs (one host collector each), from
#      the `witness_run_overhead_seconds` histogram and the "Run sealed." log lines;
#   3. webhook intake rate with dedup on: wrk posting Alertmanager bodies over those 10
#      fingerprints (every post is journaled with fsync and answered 202).
# Targets: >= 5,000 req/s with p99 < 20 ms on 2 cores; idle RSS < 30 MiB; idle CPU < 1%
# of a core; overhead < 50 ms.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
FEATURES=${BENCH_CARGO_FLAGS:---no-default-features}
DURATION=${BENCH_DURATION:-20}
IDLE_SECS=${BENCH_IDLE_SECS:-30}
command -v wrk >/dev/null || { echo "serve.sh: install wrk (apt-get install -y wrk)" >&2; exit 1; }

cargo build -q --release $FEATURES --bin witness
BIN=$CARGO_TARGET_DIR/release/witness
WORK=$(mktemp -d /tmp/witness-bench.XXXXXX)
LOGFILE=$WORK/app.log
: > "$LOGFILE"
cat > "$WORK/witness.toml" <<TOML
[store]
dir = "$WORK/store"

[server]
rate_limit_per_sec = 0
queue_size = 64

[server.auth]
bearer_token_env = "BENCH_TOKEN"

[server.recorder]
log_files = ["$LOGFILE"]

[[collectors.host]]
name = "local"
cpu_sample_ms = 200
TOML

export BENCH_TOKEN=bench WITNESS_LOG=info
"$BIN" --log-format json serve --config "$WORK/witness.toml" --listen 127.0.0.1:0 2> "$WORK/witness.log" &
PID=$!
WRITER=
cleanup() { kill "$PID" 2>/dev/null || true; [ -n "$WRITER" ] && kill "$WRITER" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
ADDR=
for _ in $(seq 100); do
  ADDR=$(grep -o '"addr":"[^"]*"' "$WORK/witness.log" | head -n1 | cut -d'"' -f4 || true)
  [ -n "$ADDR" ] && break
  sleep 0.1
done
[ -n "$ADDR" ] || { cat "$WORK/witness.log" >&2; exit 1; }
URL=http://$ADDR
( while true; do echo "$(date -u +%FT%T.%3NZ) INFO request served path=/checkout status=200" >> "$LOGFILE"; sleep 1; done ) &
WRITER=$!

ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
HZ=$(getconf CLK_TCK)

echo "== idle (${IDLE_SECS}s, flight recorder on)"
sleep 3
T0=$(ticks)
sleep "$IDLE_SECS"
T1=$(ticks)
RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
python3 - "$T0" "$T1" "$HZ" "$IDLE_SECS" "$RSS_KB" <<'PY'
import sys
t0, t1, hz, secs, rss = map(float, sys.argv[1:])
print(f"idle CPU: {100 * (t1 - t0) / hz / secs:.3f}% of a core")
print(f"idle RSS: {rss / 1024:.1f} MiB")
PY

echo "== run overhead above the slowest collector (10 runs)"
body() { # fingerprint
  printf '{"version":"4","status":"firing","groupKey":"{}:{fp=\\"%s\\"}","alerts":[{"status":"firing","labels":{"alertname":"Bench","fp":"%s"},"startsAt":"2025-11-19T21:00:00Z","fingerprint":"%s"}]}' "$1" "$1" "$1"
}
for i in $(seq 0 9); do
  fp=$(printf '%016x' "$i")
  curl -sf -o /dev/null -H 'Content-Type: application/json' -H "Authorization: Bearer $BENCH_TOKEN" \
    --data "$(body "$fp")" "$URL/hooks/alertmanager"
done
for _ in $(seq 300); do
  [ "$(grep -c '"Run sealed."' "$WORK/witness.log" || true)" -ge 10 ] && break
  sleep 0.1
done
python3 - "$WORK/witness.log" <<'PY'
import json, sys, statistics
overheads = []
for line in open(sys.argv[1]):
    try:
        v = json.loads(line)
    except ValueError:
        continue
    if v.get("fields", {}).get("message") == "Run sealed.":
        overheads.append(v["fields"]["overhead_ms"])
overheads.sort()
print(f"runs: {len(overheads)}; overhead ms: median {statistics.median(overheads)}, max {overheads[-1]}")
PY

echo "== intake with dedup on (wrk, ${DURATION}s, 2 threads, 32 connections)"
cat > "$WORK/post.lua" <<LUA
local n = 0
request = function()
  n = n + 1
  local fp = string.format("%016x", n % 10)
  local body = '{"version":"4","status":"firing","groupKey":"{}:{fp=\\\\"' .. fp .. '\\\\"}","alerts":[{"status":"firing","labels":{"alertname":"Bench","fp":"' .. fp .. '"},"startsAt":"2025-11-19T21:00:00Z","fingerprint":"' .. fp .. '"}]}'
  return wrk.format("POST", "/hooks/alertmanager", {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $BENCH_TOKEN"}, body)
end
LUA
wrk -t2 -c32 -d"${DURATION}s" --latency -s "$WORK/post.lua" "$URL" | tee "$WORK/wrk.txt"
grep -q "Non-2xx" "$WORK/wrk.txt" && echo "NOTE: some answers were not 2xx (see above)"
echo "== metrics after the storm"
curl -sf "$URL/metrics" | grep -E '^witness_(alerts_received_total|runs_total|run_overhead_seconds_(sum|count)|journal_lag_runs|queue_depth)'
echo "RSS after the storm: $(awk '/VmRSS/ {print $2/1024 " MiB"}' "/proc/$PID/status")"
