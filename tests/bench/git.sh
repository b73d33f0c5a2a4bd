#!/usr/bin/env bash
# Benchmark of the `git` collector (not a test): generates a repository with 100,000+
# commits and a real-sized tree with `git fast-import`, then times the collector's 24 h
# lookback against `git log --since --until --name-status` (and, with every file's lines
# counted, against `--numstat`), without and with a commit-graph: as a fresh process of the
# release build of collectors/git/examples/lookback.rs, as `witness collect at … --only git`
# end to end (configuration, rules, reports, bundle written and sealed), and as repeated
# collects in one process. The contenders run interleaved, RUNS times each; the script
# prints the minimum and median of the wall time and the median CPU time (user + system,
# from wait4) of each, beside its peer's and with the ratio.
#
#   tests/bench/git.sh [WORK_DIR]      (default /tmp/witness-git-bench; reused if present)
#
# Before timing it checks the counts: the commits of the lookback equal
# `git rev-list --count --since --until`, and the files (and the line counts taken) equal
# `git log --numstat --diff-merges=first-parent`'s.
#
# Needs git and python3. Environment: COMMITS (default 100100: a few side commits are left
# unmerged and dropped, the rest is at least 100,000), FILES (default 5000), RUNS (default
# 11), CARGO_TARGET_DIR (default target), WITNESS_BIN (a built `witness`; default: build it;
# `none` leaves the whole-run case out), LOOKBACK_BEFORE (a lookback example built from an
# earlier revision: raced beside this one, for a before-and-after in one run), CALLGRIND=1
# (also count each contender's instructions with valgrind's callgrind: unlike times, other
# processes on the machine do not move them).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-/tmp/witness-git-bench}
commits=${COMMITS:-100100}
files=${FILES:-5000}
runs=${RUNS:-11}
repo="$work/repo"
# Commits are 6 minutes apart, starting at 2024-01-01: 100,000 commits span ~416 days,
# so a 24 h lookback holds ~240 commits (plus merges), a busy day.
start_epoch=1704067200
step=360

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1

if [ ! -f "$repo/.generated-$commits-$files" ]; then
  rm -rf "$repo" && mkdir -p "$repo"
  git -C "$repo" init -q -b main
  echo "Generating $commits commits over $files files with git fast-import..." >&2
  t0=$(date +%s)
  python3 - "$commits" "$files" "$start_epoch" "$step" <<'PY' | git -C "$repo" fast-import --quiet --done
import sys
commits, files, start, step = (int(a) for a in sys.argv[1:5])
out = sys.stdout.buffer
dirs = max(1, files // 50)
paths = [f"src/module_{i % dirs:03}/file_{i // dirs:03}.rs" for i in range(files)]
special = ["Cargo.toml", "Cargo.lock", "config/app.yaml", "deploy/values.yaml", "Dockerfile"]

def body(path, version):
    lines = [f"fn f{j}() {{ /* {path} */ }}" for j in range(40)]
    lines[version % 40] = f"// edited in {version}"
    return ("\n".join(lines) + "\n").encode()

def data(b):
    out.write(b"data %d\n" % len(b)); out.write(b)

def who(t):
    return b"Dev %d <dev%d@example.com> %d +0000" % (t % 7, t % 7, t)

def commit(mark, t, msg, parent, merge, changes):
    out.write(b"commit refs/heads/main\nmark :%d\n" % mark)
    out.write(b"author " + who(t) + b"\ncommitter " + who(t) + b"\n")
    data(msg.encode())
    if parent: out.write(b"from :%d\n" % parent)
    if merge: out.write(b"merge :%d\n" % merge)
    for path, content in changes:
        out.write(b"M 100644 inline %s\n" % path.encode()); data(content)
    out.write(b"\n")

def maybe_tag(i, t, main, tags):
    # A release every 200 commits (an annotated tag, made a minute after its commit).
    if i % 200 == 0:
        tags += 1
        out.write(b"tag v1.%d\nfrom :%d\ntagger Release <rel@example.com> %d +0000\n" % (tags, main, t + 60))
        data(f"release {tags}".encode())
    return tags

mark, t = 1, start
commit(mark, t, "initial import", None, None, [(p, body(p, 0)) for p in paths + special])
main, side, tags = mark, None, 0
for i in range(1, commits):
    t = start + i * step
    if i % 50 == 0 and side:
        # Merge the side line of work into main.
        mark += 1
        commit(mark, t, f"Merge branch 'feature-{i}'", main, side, [])
        main, side = mark, None
        tags = maybe_tag(i, t, main, tags)
        continue
    changes = [(paths[(i * 7919 + k * 104729) % files], None) for k in range(1 + i % 3)]
    changes = [(p, body(p, i)) for p, _ in changes]
    if i % 300 == 0:
        changes.append((f"db/migrations/{i:06}_change.sql", f"ALTER TABLE t{i} ADD c int;\n".encode()))
    if i % 97 == 0:
        changes.append((special[i % len(special)], body(special[i % len(special)], i)))
    mark += 1
    if i % 50 == 25:
        # Start a side line from main; it is merged at the next multiple of 50.
        out.write(b"reset refs/heads/side\nfrom :%d\n\n" % main)
        out.write(b"commit refs/heads/side\nmark :%d\n" % mark)
        out.write(b"author " + who(t) + b"\ncommitter " + who(t) + b"\n")
        data(f"side work {i}".encode())
        for path, content in changes:
            out.write(b"M 100644 inline %s\n" % path.encode()); data(content)
        out.write(b"\n")
        side = mark
        continue
    commit(mark, t, f"change {i}", main, None, changes)
    main = mark
    tags = maybe_tag(i, t, main, tags)
out.write(b"done\n")
PY
  git -C "$repo" branch -q -D side 2>/dev/null || true
  # Repacked from scratch as `git gc` would: fast-import's own deltas chain every blob to
  # its older version, which no long-lived repository has.
  git -C "$repo" repack -adfq --window=10 --depth=50
  rm -f "$repo/.git/objects/info/commit-graph"
  rm -rf "$repo/.git/objects/info/commit-graphs"
  touch "$repo/.generated-$commits-$files"
  echo "Generated in $(( $(date +%s) - t0 )) s." >&2
fi

newest=$(git -C "$repo" log -1 --format=%ct main)
anchor_epoch=$((newest + 600))
anchor=$(date -u -d "@$anchor_epoch" +%Y-%m-%dT%H:%M:%SZ)
since=$(date -u -d "@$((anchor_epoch - 86400))" +%Y-%m-%dT%H:%M:%SZ)
echo "Repository: $(git -C "$repo" rev-list --count main) commits on main ($(git -C "$repo" rev-list --count --all) in all)," \
     "$(git -C "$repo" ls-tree -r main | wc -l) files, $(git -C "$repo" tag | wc -l) tags," \
     "$(du -sh "$repo/.git" | cut -f1) in .git"
echo "Anchor $anchor; lookback since $since"

target=$(cd "$root" && realpath "${CARGO_TARGET_DIR:-target}")
(cd "$root" && cargo build -q --release -p witness-git --example lookback)
if [ -z "${WITNESS_BIN:-}" ]; then
  (cd "$root" && cargo build -q --release --bin witness)
fi
lookback="$target/release/examples/lookback"
witness=none
[ "${WITNESS_BIN:-}" = none ] || witness=$(realpath "${WITNESS_BIN:-$target/release/witness}")
before=${LOOKBACK_BEFORE:+$(realpath "$LOOKBACK_BEFORE")}
conf="$work/witness.toml"
printf '[store]\ndir = "%s"\n\n[[collectors.git]]\nname = "bench"\npath = "%s"\n' "$work/store" "$repo" > "$conf"
trap 'rm -rf "$work/store"' EXIT

# The counts first: the collector's commits, files and line counts must be git's own.
check_counts() {
  local want got
  want=$(git -C "$repo" rev-list --count --since="$since" --until="$anchor" main)
  got=$("$lookback" "$repo" "$anchor" 1 | sed -n 's/.*commits_in_lookback \([0-9]*\);.*/\1/p')
  [ "$want" = "$got" ] || { echo "Commits DIFFER: git $want, collector $got" >&2; exit 1; }
  git -C "$repo" log --since="$since" --until="$anchor" --numstat --no-renames --diff-merges=first-parent \
      --format='commit %H' main \
    | awk '/^commit / { id = $2; next } NF == 3 { print id, $1, $2, $3 }' | sort > "$work/git.numstat"
  WITNESS_LINE_COUNTS=all WITNESS_NUMSTAT="$work/all.numstat" "$lookback" "$repo" "$anchor" 1 >/dev/null
  WITNESS_NUMSTAT="$work/default.numstat" "$lookback" "$repo" "$anchor" 1 >/dev/null
  cmp -s "$work/git.numstat" "$work/all.numstat" \
    || { echo "line_counts = all: files or line counts DIFFER from git log --numstat:" >&2; diff "$work/git.numstat" "$work/all.numstat" | head -20 >&2; exit 1; }
  # By default only the classified files are counted: the same files, and every count
  # taken is git's.
  cmp -s <(cut -d' ' -f1,4 "$work/git.numstat" | sort) <(cut -d' ' -f1,4 "$work/default.numstat" | sort) \
    || { echo "Files DIFFER from git log --numstat" >&2; exit 1; }
  local counted wrong
  counted=$(grep -vc ' - - ' "$work/default.numstat" || true)
  wrong=$(grep -v ' - - ' "$work/default.numstat" | grep -vxFf "$work/git.numstat" | wc -l || true)
  [ "$wrong" = 0 ] || { echo "$wrong line counts DIFFER from git log --numstat" >&2; exit 1; }
  echo "Counts: $got commits in the lookback, as git rev-list; $(wc -l < "$work/git.numstat") file changes" \
       "identical to git log --numstat (line counts of all with line_counts = all; $counted classified by default)."
}

# Runs the contenders interleaved, $runs times each, and prints per contender
# "<name> <min wall ms> <median wall ms> <median CPU ms>" (CPU: user + system from wait4).
race() {
  python3 - "$runs" "$@" <<'PY'
import os, statistics, subprocess, sys, time
runs, cases = int(sys.argv[1]), [c.split("\x1f") for c in sys.argv[2:]]
results = {c[0]: [] for c in cases}
for _ in range(runs):
    for name, env, *argv in cases:
        extra = dict(kv.split("=", 1) for kv in env.split(",") if kv)
        started = time.perf_counter_ns()
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env={**os.environ, **extra})
        _, status, usage = os.wait4(child.pid, 0)
        wall = (time.perf_counter_ns() - started) / 1e6
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            sys.exit(f"{name} failed: exit {child.returncode}")
        results[name].append((wall, (usage.ru_utime + usage.ru_stime) * 1000))
for name, r in results.items():
    walls, cpus = [w for w, _ in r], [c for _, c in r]
    print(name, f"{min(walls):.1f}", f"{statistics.median(walls):.1f}", f"{statistics.median(cpus):.1f}")
PY
}
case_() { local IFS=$'\x1f'; echo "$*"; }

measure() {
  local label=$1
  echo "== $label (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
  local git_log=(git -C "$repo" log --since="$since" --until="$anchor" --no-renames main)
  local cases=("$(case_ name_status '' "${git_log[@]}" --name-status)"
               "$(case_ process '' "$lookback" "$repo" "$anchor" 1)")
  [ -z "$before" ] || cases+=("$(case_ process_before '' "$before" "$repo" "$anchor" 1)")
  [ "$witness" = none ] \
    || cases+=("$(case_ witness '' "$witness" collect at "$anchor" --since 24h --only git --config "$conf" --format json)")
  cases+=("$(case_ numstat '' "${git_log[@]}" --numstat)"
          "$(case_ process_all WITNESS_LINE_COUNTS=all "$lookback" "$repo" "$anchor" 1)")
  [ -z "$before" ] || cases+=("$(case_ process_all_before WITNESS_LINE_COUNTS=all "$before" "$repo" "$anchor" 1)")
  race "${cases[@]}" > "$work/race.out"
  python3 - "$work/race.out" <<'PY'
import sys
r = {l.split()[0]: [float(x) for x in l.split()[1:]] for l in open(sys.argv[1])}
def row(label, name, peer):
    if name not in r:
        return
    mn, md, cpu = r[name]
    line = f"  {label:<52} wall min {mn:6.1f} ms, median {md:6.1f} ms; CPU {cpu:5.1f} ms"
    if peer:
        pmn, pmd, pcpu = r[peer]
        line += f"  | {md / pmd:4.2f}x median wall, {mn / pmn:4.2f}x min wall, {cpu / max(pcpu, 0.1):4.2f}x CPU"
    print(line)
row("git log --name-status", "name_status", None)
row("collector process (default: classified line counts)", "process", "name_status")
row("collector process, before (LOOKBACK_BEFORE)", "process_before", "name_status")
row("witness collect at … --only git (whole run)", "witness", "name_status")
row("git log --numstat", "numstat", None)
row("collector process, line_counts = all", "process_all", "numstat")
row("collector process, line_counts = all, before", "process_all_before", "numstat")
PY
  if [ -n "${CALLGRIND:-}" ]; then
    echo "  instructions (callgrind, whole process):"
    count "git log --name-status" "${git_log[@]}" --name-status
    count "collector process" "$lookback" "$repo" "$anchor" 1
    [ -z "$before" ] || count "collector process, before" "$before" "$repo" "$anchor" 1
    count "git log --numstat" "${git_log[@]}" --numstat
    WITNESS_LINE_COUNTS=all count "collector process, line_counts = all" "$lookback" "$repo" "$anchor" 1
    [ -z "$before" ] \
      || WITNESS_LINE_COUNTS=all count "the same, before" "$before" "$repo" "$anchor" 1
  fi
  echo "  collector in one process, $runs collects (the first cold), after building the redactor:"
  "$lookback" "$repo" "$anchor" "$runs" > "$work/one.out"
  { grep '^redactor built' "$work/one.out"; tail -n1 "$work/one.out"; } | sed 's/^/    /'
  if [ -n "$before" ]; then
    echo "  the same, before (LOOKBACK_BEFORE):"
    "$before" "$repo" "$anchor" "$runs" | tail -n1 | sed 's/^/    /'
  fi
  echo "  (load average after: $(cut -d' ' -f1-3 /proc/loadavg))"
}

# Prints "<label>: <instructions>" of one run of the command.
count() {
  local label=$1; shift
  printf '    %-52s %s\n' "$label" \
    "$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : //p')"
}

rm -f "$repo/.git/objects/info/commit-graph"; rm -rf "$repo/.git/objects/info/commit-graphs"
check_counts
measure "without commit-graph"
git -C "$repo" commit-graph write --reachable
measure "with commit-graph"
