//! The in-page anchors of `report.html`: a collector's section, and the link from a ref
//! to the evidence behind it (the collector's section, or the trigger), as every section
//! of the page writes them.

use crate::bundle::layout;
use crate::escape::html as esc;
use crate::timeline::EvidenceRef;

/// The in-page anchor of a collector's section.
pub fn collector_anchor(file: &str) -> String {
    let stem = layout::evidence_stem(file).unwrap_or(file);
    format!("c-{}", stem.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_', "-"))
}

/// A link to the evidence behind `r`: the collector's section, or the trigger.
pub fn evidence_link(r: &EvidenceRef) -> String {
    let target = if layout::evidence_stem(&r.file).is_some() {
        collector_anchor(&r.file)
    } else {
        "trigger".to_owned()
    };
    format!(r##"<a href="#{target}"><code>{}</code></a>"##, esc(&r.to_string()))
}
