//! The declaration of the `status_page` kind: what it sees, the facts it publishes (documented in
//! its FACTS.md, which the tests hold to this list) and how several instances' facts merge.

use witness_collector::kind::{
    Check::{Int, Number, Word},
    Merge::{Max, Or, Sum, Union, Worst},
};
use witness_collector::{KindDecl, fact};

/// The `status_page` kind, as the registry, the rules and the docs see it.
pub const KIND: KindDecl = KindDecl {
    name: "status_page",
    sees: "vendor status pages (Atlassian Statuspage v2 and others)",
    facts: &[
        fact("status_page.degraded", "bool", Or, Word, "some vendor is degraded"),
        fact("status_page.unresolved_incidents", "int", Sum, Int, "unresolved incidents"),
        fact("status_page.vendors_degraded", "list", Union, Word, "vendors not fully operational"),
        fact("status_page.worst_indicator", "text", Worst, Word, "none|minor|major|critical"),
        fact(
            "status_page.incident_minutes_before_anchor",
            "float",
            Max,
            Number,
            "how long before the anchor the oldest open incident began (min)",
        ),
    ],
    labels: &[],
};
