//! The declaration of the `prometheus` kind: what it sees, the facts it publishes
//! (documented in its FACTS.md, which the tests hold to this list) and how several
//! instances' facts merge.
//!
//! Every evaluated series publishes the same four facts under its name: the alert's own
//! expression as `alert`, and each configured query under its `name`. The names with a
//! meaning the built-in rules know ([`MEANINGS`]) are declared here; a query with another
//! name publishes the same facts, which a rule of your own can use (`witness rules check`
//! warns that nobody declares them).

use witness_collector::kind::{
    Check::{Int, Number},
    Merge::{Max, Min, Primary, Sum},
};
use witness_collector::{KindDecl, fact};

/// The query names the built-in rules read, each with what it measures. A query named
/// `request_rate` is the service's traffic (a rise is a cause: more load than it was
/// sized for); `error_ratio` and `latency_p95` are what users feel (symptoms);
/// `saturation` is how full a resource is (0 to 1).
pub const MEANINGS: &[(&str, &str)] = &[
    ("error_ratio", "failed requests / all requests"),
    ("latency_p95", "95th percentile request latency"),
    ("request_rate", "requests per second"),
    ("saturation", "how full a resource is, 0 to 1"),
];

/// The facts of one series named `$name` (a literal), each `prometheus.<name>_<fact>`.
macro_rules! series_facts {
    ($name:literal, $what:literal) => {
        [
            fact(
                concat!("prometheus.", $name, "_ratio"),
                "float",
                Max,
                Number,
                concat!($what, ": window mean from the onset / baseline mean"),
            ),
            fact(
                concat!("prometheus.", $name, "_peak"),
                "float",
                Max,
                Number,
                concat!($what, ": the window's extreme"),
            ),
            fact(
                concat!("prometheus.", $name, "_baseline"),
                "float",
                Max,
                Number,
                concat!($what, ": the baseline's mean"),
            ),
            fact(
                concat!("prometheus.", $name, "_onset_offset_secs"),
                "int",
                Min,
                Int,
                concat!($what, ": departure from the baseline minus anchor (s)"),
            ),
        ]
    };
}

const ALERT: [witness_collector::FactDecl; 4] = series_facts!("alert", "the alert's expression");
const ERROR_RATIO: [witness_collector::FactDecl; 4] = series_facts!("error_ratio", "error ratio");
const LATENCY: [witness_collector::FactDecl; 4] = series_facts!("latency_p95", "p95 latency");
const REQUEST_RATE: [witness_collector::FactDecl; 4] =
    series_facts!("request_rate", "request rate");
const SATURATION: [witness_collector::FactDecl; 4] = series_facts!("saturation", "saturation");

/// The `prometheus` kind, as the registry, the rules and the docs see it.
pub const KIND: KindDecl = KindDecl {
    name: "prometheus",
    sees: "the alert's own expression and named PromQL queries over the window and the baseline",
    facts: &[
        ALERT[0],
        ALERT[1],
        ALERT[2],
        ALERT[3],
        fact(
            "prometheus.alert_threshold",
            "float",
            Primary,
            Number,
            "the number the alert's expression compares with",
        ),
        ERROR_RATIO[0],
        ERROR_RATIO[1],
        ERROR_RATIO[2],
        ERROR_RATIO[3],
        LATENCY[0],
        LATENCY[1],
        LATENCY[2],
        LATENCY[3],
        REQUEST_RATE[0],
        REQUEST_RATE[1],
        REQUEST_RATE[2],
        REQUEST_RATE[3],
        SATURATION[0],
        SATURATION[1],
        SATURATION[2],
        SATURATION[3],
        fact(
            "prometheus.queries_failed",
            "int",
            Sum,
            Int,
            "queries that failed or came back empty",
        ),
    ],
    labels: &[],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_meaning_publishes_the_four_series_facts() {
        for (name, _) in MEANINGS.iter().chain(&[("alert", "")]) {
            for suffix in ["ratio", "peak", "baseline", "onset_offset_secs"] {
                let full = format!("prometheus.{name}_{suffix}");
                assert!(KIND.facts.iter().any(|f| f.name == full), "{full} is not declared");
            }
        }
    }
}
