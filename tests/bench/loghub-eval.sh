#!/usr/bin/env bash
# Reads the LogHub samples (16 real systems' logs, 2,000 lines each, with LogHub's own
# structured parse of every line) with the real `logs` reader and prints, per system: lines
# whose timestamp was read, timestamps equal to the truth, error lines against the true
# levels (found/true, +false positives −misses), the collector's own error count over the
# whole file, and distinct signatures against distinct true templates (error lines, and all
# lines).
#
#   tests/bench/loghub-eval.sh [CORPUS_DIR]
#
# CORPUS_DIR defaults to ../shared/reference/corpora/loghub (research licence: never
# commit it). Truth conventions: BGL, HPC and Thunderbird are compared with their epoch
# column (the instant; their wall-clock fields are the site's local time); yearless
# systems get the year LogHub's harness assumes (Android, Mac, OpenSSH, Proxifier 2017,
# Linux 2005) and each copy's modification time is set to its last line's time, as a live
# log's would be. Errors: levels E/F/A, error/crit/alert/emerg, ERROR/FATAL/SEVERE/FAILURE.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
corpus="${1:-$root/../shared/reference/corpora/loghub}"
[ -d "$corpus" ] || corpus=/work/shared/reference/corpora/loghub
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build -q -p witness-logs --example loghub_eval --manifest-path "$root/Cargo.toml"
bin="$root/target/debug/examples/loghub_eval"
for csv in "$corpus"/*_2k.log_structured.csv; do
    name="$(basename "$csv" _2k.log_structured.csv)"
    cp "$corpus/${name}_2k.log" "$work/$name.log"
    python3 - "$name" "$csv" "$work/$name.tsv" "$work/$name.log" <<'PY'
import csv, os, sys
from datetime import datetime, timezone
name, src, out, log = sys.argv[1:]
YEAR = {"Android": 2017, "Mac": 2017, "OpenSSH": 2017, "Proxifier": 2017, "Linux": 2005}
ERRORS = {"e", "f", "a", "error", "err", "crit", "critical", "alert", "emerg", "fatal", "severe", "failure"}
def utc(s, fmt):
    return datetime.strptime(s, fmt).replace(tzinfo=timezone.utc)
def when(r):
    g = r.get
    if name in ("BGL", "Thunderbird"): return datetime.fromtimestamp(int(g("Timestamp")), timezone.utc)
    if name == "HPC": return datetime.fromtimestamp(int(g("Time")), timezone.utc)
    if name == "Android": return utc(f"{YEAR[name]}-{g('Date')} {g('Time')}", "%Y-%m-%d %H:%M:%S.%f")
    if name == "Apache": return utc(g("Time"), "%a %b %d %H:%M:%S %Y")
    if name == "HDFS": return utc(g("Date") + g("Time").zfill(6), "%y%m%d%H%M%S")
    if name in ("Hadoop", "Zookeeper"): return utc(f"{g('Date')} {g('Time')}", "%Y-%m-%d %H:%M:%S,%f")
    if name == "HealthApp":
        d, ms = g("Time").rsplit(":", 1)
        return utc(d + "." + ms.zfill(3), "%Y%m%d-%H:%M:%S.%f")
    if name in ("Linux", "Mac"): return utc(f"{YEAR[name]} {g('Month')} {g('Date')} {g('Time')}", "%Y %b %d %H:%M:%S")
    if name == "OpenSSH": return utc(f"{YEAR[name]} {g('Date')} {g('Day')} {g('Time')}", "%Y %b %d %H:%M:%S")
    if name == "OpenStack": return utc(f"{g('Date')} {g('Time')}", "%Y-%m-%d %H:%M:%S.%f")
    if name == "Proxifier": return utc(f"{YEAR[name]}.{g('Time')}", "%Y.%m.%d %H:%M:%S")
    if name == "Spark": return utc(f"{g('Date')} {g('Time')}", "%y/%m/%d %H:%M:%S")
    if name == "Windows": return utc(f"{g('Date')} {g('Time')}", "%Y-%m-%d %H:%M:%S")
    return None
rows = list(csv.DictReader(open(src, newline="", encoding="utf-8", errors="replace")))
has_level = "Level" in rows[0] and name != "Linux"
last = None
with open(out, "w") as f:
    for r in rows:
        try:
            t = when(r)
        except (ValueError, TypeError):
            t = None
        if t: last = t if last is None else max(last, t)
        ms = str(int(t.timestamp() * 1000)) if t else "-"
        lvl = ("1" if r["Level"].strip().lower() in ERRORS else "0") if has_level else "-"
        f.write(f"{ms}\t{lvl}\t{r['EventTemplate']}\n")
if last:
    os.utime(log, (last.timestamp(), last.timestamp()))
PY
    "$bin" "$work/$name.log" "$work/$name.tsv" "$name"
done
