//! `[follow_up]`: the run that checks an incident after it resolved. When an alert of an
//! incident with a bundle resolves (or a responder types `collect now --follow-up`),
//! witness collects again over a short window after the resolution and compares it with
//! the incident's bundle. These keys say how long that window is and whether `witness
//! serve` starts one on its own.

use std::ops::RangeInclusive;

use serde::Deserialize;
use witness_collector::ConfigProblem;

/// `[follow_up]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FollowUpConfig {
    /// Whether `witness serve` runs a follow-up when an incident it collected resolves
    /// (Alertmanager or Grafana `resolved`, PagerDuty `incident.resolved`).
    pub on_resolve: bool,
    /// How long after the resolution the follow-up looks, in seconds (default 300): it
    /// collects once that much time has passed, over that span.
    pub window_secs: u64,
}

impl Default for FollowUpConfig {
    fn default() -> Self {
        Self { on_resolve: true, window_secs: default_window_secs() }
    }
}

fn default_window_secs() -> u64 {
    5 * 60
}

/// The range of `window_secs`: one second to a day.
pub const WINDOW_SECS: RangeInclusive<u64> = 1..=86_400;

impl FollowUpConfig {
    /// Every problem, each with its key relative to `[follow_up]`.
    pub fn problems(&self) -> Vec<(String, String)> {
        ConfigProblem::out_of_range([("window_secs", self.window_secs, WINDOW_SECS)])
            .into_iter()
            .map(|p| (p.key, p.message))
            .collect()
    }

    /// The window as a duration.
    pub fn window(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.window_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_a_zero_window_is_named() {
        assert!(FollowUpConfig::default().problems().is_empty());
        let config: FollowUpConfig = toml::from_str("window_secs = 0").unwrap();
        assert_eq!(
            config.problems(),
            [("window_secs".to_owned(), "must be at least 1".to_owned())]
        );
    }
}
