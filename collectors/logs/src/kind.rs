//! The declaration of the `logs` kind: what it sees, the facts it publishes (documented in
//! its FACTS.md, which the tests hold to this list) and how several instances' facts merge.

use witness_collector::kind::{
    Check::{Int, Number, Word},
    Merge::{Earliest, Latest, Max, Min, Primary, Sum, Union},
};
use witness_collector::{KindDecl, fact};

/// The `logs` kind, as the registry, the rules and the docs see it.
pub const KIND: KindDecl = KindDecl {
    name: "logs",
    sees: "log files by glob, rotated and `.gz` ones too, inside the window and a baseline before it",
    facts: &[
        fact("logs.files_read", "int", Sum, Int, "files read wholly or partly"),
        fact("logs.error_count", "int", Sum, Int, "error records in the window"),
        fact("logs.errors_per_minute", "float", Sum, Number, "errors per minute in the window"),
        fact("logs.baseline_error_count", "int", Sum, Int, "error records in the baseline"),
        fact("logs.error_rate_ratio", "float", Max, Number, "error rate window / baseline"),
        fact("logs.first_error_at", "text", Earliest, Word, "time of the first error (RFC 3339)"),
        fact("logs.first_error_offset_secs", "int", Min, Int, "first error minus anchor (s)"),
        fact("logs.signature_count", "int", Sum, Int, "distinct error signatures in the window"),
        fact("logs.top_signature", "text", Primary, Word, "the most frequent signature"),
        fact("logs.new_signatures", "int", Sum, Int, "signatures absent from the baseline"),
        fact("logs.new_signature_messages", "list", Union, Word, "the new signatures' text"),
        fact("logs.lines_cut", "int", Sum, Int, "lines cut to max_line_bytes"),
        fact("logs.last_line_at", "text", Latest, Word, "time of the newest line (RFC 3339)"),
        fact("logs.last_line_offset_secs", "int", Max, Int, "newest line minus anchor (s)"),
        fact("logs.requests", "int", Sum, Int, "requests in the window (access logs)"),
        fact("logs.status_5xx_count", "int", Sum, Int, "5xx responses in the window"),
        fact("logs.status_5xx_ratio", "float", Max, Number, "5xx / requests in the window"),
        fact("logs.status_5xx_baseline_ratio", "float", Max, Number, "5xx / requests, baseline"),
        fact("logs.latency_p50_ms", "float", Max, Number, "median request time (ms)"),
        fact("logs.latency_p95_ms", "float", Max, Number, "95th percentile request time (ms)"),
        fact("logs.latency_p99_ms", "float", Max, Number, "99th percentile request time (ms)"),
        fact("logs.latency_p95_baseline_ms", "float", Max, Number, "p95 request time, baseline"),
        fact("logs.latency_p95_recent_ms", "float", Max, Number, "p95 of the window's last 5 min"),
        fact("logs.new_error_count", "int", Sum, Int, "window errors of new signatures"),
        fact("logs.first_new_error_at", "text", Earliest, Word, "first error of a new signature"),
        fact(
            "logs.first_new_error_offset_secs",
            "int",
            Min,
            Int,
            "first new error minus anchor (s)",
        ),
        fact(
            "logs.known_error_rate_ratio",
            "float",
            Max,
            Number,
            "baseline signatures' rate ratio",
        ),
        fact(
            "logs.spiking_signatures",
            "int",
            Sum,
            Int,
            "baseline signatures now ≥ 3× as frequent",
        ),
        fact("logs.spiking_signature_messages", "list", Union, Word, "their text"),
    ],
    labels: &[],
};
