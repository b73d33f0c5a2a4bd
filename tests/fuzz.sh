#!/usr/bin/env bash
# Builds every fuzz target (tests/fuzz, cargo fuzz + libFuzzer) and runs each for a bounded
# time, starting from its committed corpus under tests/fuzz/corpus/<target>/. New inputs go
# to a scratch directory, so a run never changes the repository; a crash fails the script
# and leaves the input under tests/fuzz/artifacts/<target>/.
#
# Usage: tests/fuzz.sh [SECONDS_PER_TARGET] [TARGET ...]
#   SECONDS_PER_TARGET defaults to $FUZZ_SECONDS, else 25; TARGETs default to all.
#   FUZZ_MODE=corpus replays every committed corpus input once instead (libFuzzer
#   -runs=0): deterministic, so it is what the test runner does in CI, where a crash
#   found by chance would make an unrelated submission red. Exploring (the default)
#   is how new crashes are found; commit each fixed crash input to the corpus.
#
# Only a stable toolchain is needed: RUSTC_BOOTSTRAP=1 lets it take the sanitizer flags
# cargo fuzz passes. cargo-fuzz is installed when missing.
set -euo pipefail

seconds="${1:-${FUZZ_SECONDS:-25}}"
shift || true
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/fuzz"

export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/fuzz/target}"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list --fuzz-dir .)
fi

echo "fuzz: building ${#targets[@]} target(s)" >&2
cargo fuzz build -O --fuzz-dir .

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "$scratch/$target"
    if [ "${FUZZ_MODE:-explore}" = corpus ]; then
        echo "fuzz: $target over its corpus ($(ls "corpus/$target" | wc -l) inputs)" >&2
        limit=(-runs=0)
    else
        echo "fuzz: $target for ${seconds}s" >&2
        limit=(-max_total_time="$seconds")
    fi
    if ! cargo fuzz run -O --fuzz-dir . "$target" "$scratch/$target" "corpus/$target" -- \
        "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 2> "$scratch/$target.log"; then
        tail -n 40 "$scratch/$target.log" >&2
        failed+=("$target")
    else
        grep -E "stat::number_of_executed_units|stat::new_units_added" "$scratch/$target.log" \
            | sed "s/^/fuzz: $target /" >&2 || true
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz: FAILED: ${failed[*]} (inputs under tests/fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz: ok, ${#targets[@]} target(s) (${FUZZ_MODE:-explore})" >&2
