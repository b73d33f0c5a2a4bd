#!/usr/bin/env bash
# Benchmark of the `git` collector (not a test): generates a repository with 100,000+
# commits and a real-sized tree with `git fast-import`, then times the collector's 24 h
# lookback (release build of collectors/git/examples/lookback.rs) against
# `git log --since --until --name-status` (and `--numstat`, which counts lines as the
# collector does), without and with a commit-graph.
#
#   tests/bench/git.sh [WORK_DIR]      (default /tmp/witness-git-bench; reused if present)
#
# Needs git, python3 and GNU time (/usr/bin/time). Environment: COMMITS (default 100100: a few side commits are
# left unmerged and dropped, the rest is at least 100,000), FILES (default 5000),
# RUNS (default 5).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
work=${1:-/tmp/witness-git-bench}
commits=${COMMITS:-100100}
files=${FILES:-5000}
runs=${RUNS:-5}
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

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/work/target-git}
(cd "$root" && cargo build -q --release -p witness-git --example lookback)
lookback="$CARGO_TARGET_DIR/release/examples/lookback"

# Median wall time of a command over $runs runs, in ms, and its total CPU time (user +
# system) over those runs divided by the runs: on a shared machine the wall time includes
# waiting for a core, the CPU time does not.
median_ms() {
  local times=() cpu=0
  for _ in $(seq "$runs"); do
    local s e c
    s=$(date +%s%N)
    /usr/bin/time -f '%U %S' -o "$work/time.out" "$@" >/dev/null 2>&1
    c=$(tail -n1 "$work/time.out")
    e=$(date +%s%N)
    times+=($(( (e - s) / 1000000 )))
    cpu=$(awk -v a="$cpu" -v b="$c" 'BEGIN { split(b, t, " "); print a + (t[1] + t[2]) * 1000 }')
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  echo "$median ms wall (median of $runs), $(awk -v c="$cpu" -v r="$runs" 'BEGIN { printf "%.0f", c / r }') ms CPU"
}

measure() {
  local label=$1
  echo "== $label (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
  echo "git log --name-status: $(median_ms git -C "$repo" log --since="$since" --until="$anchor" --name-status --no-renames main)"
  echo "git log --numstat:     $(median_ms git -C "$repo" log --since="$since" --until="$anchor" --numstat --no-renames main)"
  echo "collector process (one cold collect each, including start-up): $(median_ms "$lookback" "$repo" "$anchor" 1)"
  echo "collector in one process, $runs runs:"
  "$lookback" "$repo" "$anchor" "$runs"
}

# The collector's files and line counts must be git's own.
WITNESS_NUMSTAT="$work/collector.numstat" "$lookback" "$repo" "$anchor" 1 >/dev/null
git -C "$repo" log --since="$since" --until="$anchor" --numstat --no-renames --diff-merges=first-parent \
    --format='commit %H' main \
  | awk '/^commit / { id = $2; next } NF == 3 { print id, $1, $2, $3 }' | sort > "$work/git.numstat"
if diff -q "$work/git.numstat" "$work/collector.numstat" >/dev/null; then
  echo "Files and line counts: identical to git log --numstat ($(wc -l < "$work/git.numstat") file changes)."
else
  echo "Files and line counts DIFFER from git log --numstat:"; diff "$work/git.numstat" "$work/collector.numstat" | head -20
fi

rm -f "$repo/.git/objects/info/commit-graph"; rm -rf "$repo/.git/objects/info/commit-graphs"
measure "without commit-graph"
git -C "$repo" commit-graph write --reachable
measure "with commit-graph"
