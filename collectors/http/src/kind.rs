//! The declaration of the `http` kind: what it sees, the facts it publishes (documented in
//! its FACTS.md, which the tests hold to this list) and how several instances' facts merge.

use witness_collector::kind::{
    Check::{Int, Number, Word},
    Merge::{Max, Min, Or, Sum, Union},
};
use witness_collector::{KindDecl, fact};

/// The `http` kind, as the registry, the rules and the docs see it.
pub const KIND: KindDecl = KindDecl {
    name: "http",
    sees: "health endpoints: status, latency, body, repeated probes, certificate expiry",
    facts: &[
        fact("http.failing_probes", "int", Sum, Int, "probes that were not healthy"),
        fact("http.all_failing", "bool", Or, Word, "every probe of an endpoint failed"),
        fact("http.latency_median_ms", "float", Max, Number, "median probe latency (ms)"),
        fact("http.components_down", "list", Union, Word, "components a health body reports down"),
        fact("http.cert_days_left", "int", Min, Int, "days until the certificate expires"),
        fact(
            "http.components_down_errors",
            "list",
            Union,
            Word,
            "`name: error` of those components",
        ),
    ],
    labels: &[],
};
