//! The words every report uses alike: the title line and how a recommendation and a
//! likelihood read.

use crate::run::view::RunView;

/// `rollback`, `scale up`, `investigate`.
pub fn recommendation_words(r: crate::rules::Recommendation) -> &'static str {
    match r {
        crate::rules::Recommendation::Rollback => "rollback",
        crate::rules::Recommendation::ScaleUp => "scale up",
        crate::rules::Recommendation::Investigate => "investigate",
    }
}

pub fn likelihood_words(l: crate::rules::Likelihood) -> &'static str {
    match l {
        crate::rules::Likelihood::High => "high",
        crate::rules::Likelihood::Medium => "medium",
        crate::rules::Likelihood::Low => "low",
    }
}

/// The title every report starts with: alert, service, anchor.
pub fn title(view: &RunView) -> String {
    let service = view.trigger.service().map(|s| format!(" · {s}")).unwrap_or_default();
    format!("{}{service} · {}", view.trigger.name, witness_collector::time::format(view.anchor))
}
