#!/usr/bin/env bash
# Evaluation of the redaction rules against a corpus of secrets (not a test: the corpus is
# not part of the repository), and their throughput on ordinary logs.
#
#   tests/bench/secrets-eval.sh [CORPUS_DIR] [--list]
#
# CORPUS_DIR (default ${SECRETS_CORPUS:-../shared/reference/corpora/secrets}) holds
# corpus.jsonl, one case a line: {"id", "source", "type", "line", "secret"}, and optionally
# troubleshoot-parity.jsonl in the same shape. Each line goes through the real redaction
# engine with the default configuration; a case survives when its secret, or any
# 8-character fragment of it, is still in the output. Prints survivors per source and per
# type, the total, and how many bytes of non-secret text were destroyed; --list shows each
# surviving or destroying case. Then redacts 64 MiB of log in one text, as the bundle
# writer does with a file, and prints MiB/s (wall and CPU time, best of 5; target
# >= 100 MiB/s): an application log (requests, warnings, errors with stack traces, as
# tests/bench/logs.sh generates them), and the ordinary-evidence corpus
# tests/data/redaction/ordinary.txt (near-misses on most of its lines), numbers varied.
# Release build of the redaction crate's `redact_eval` example (collectors/redact/examples).
set -euo pipefail
cd "$(dirname "$0")/../.."

DIR=${1:-${SECRETS_CORPUS:-../shared/reference/corpora/secrets}}
LIST=${2:-}
cargo build --quiet --release -p witness-redact --example redact_eval
EVAL=${CARGO_TARGET_DIR:-target}/release/examples/redact_eval

echo "### $DIR/corpus.jsonl"
"$EVAL" corpus "$DIR/corpus.jsonl" $LIST
if [ -f "$DIR/troubleshoot-parity.jsonl" ]; then
    echo "### $DIR/troubleshoot-parity.jsonl (informational: identifiers and weak placeholders included)"
    "$EVAL" corpus "$DIR/troubleshoot-parity.jsonl" $LIST
fi
echo "### throughput"
"$EVAL" throughput 64 app
"$EVAL" throughput 64 ordinary
