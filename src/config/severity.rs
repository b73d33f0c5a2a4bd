//! `[severity]`: the thresholds a run's severity is estimated with. The defaults follow
//! common practice (P0 the service is down for everyone, P1 a major function broken for
//! many users, P2 partial degradation, P3 no user impact seen yet); teams move them to
//! their own definitions.

use std::ops::RangeInclusive;

use serde::Deserialize;
use witness_collector::ConfigProblem;

/// `[severity]`
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeverityConfig {
    /// P0 when at least this share of requests (percent) answered 5xx.
    pub critical_5xx_percent: u64,
    /// P1 at this share of 5xx (percent).
    pub high_5xx_percent: u64,
    /// P2 at this share of 5xx (percent).
    pub medium_5xx_percent: u64,
    /// P1 when the error rate is at least this many times the baseline's.
    pub high_error_rate_ratio: u64,
    /// P2 at this error rate against the baseline.
    pub medium_error_rate_ratio: u64,
    /// P1 when at least this many endpoints answer more 5xx than in the baseline.
    pub high_endpoints: u64,
    /// P2 when p95 latency is at least this many times the baseline's.
    pub medium_latency_ratio: u64,
    /// Shares and ratios count only over at least this many requests or errors.
    pub min_events: u64,
    /// A P2 that has lasted this long (minutes since its first error) is a P1; 0 never.
    pub escalate_after_mins: u64,
}

impl Default for SeverityConfig {
    fn default() -> Self {
        Self {
            critical_5xx_percent: 50,
            high_5xx_percent: 10,
            medium_5xx_percent: 1,
            high_error_rate_ratio: 10,
            medium_error_rate_ratio: 3,
            high_endpoints: 3,
            medium_latency_ratio: 2,
            min_events: 20,
            escalate_after_mins: 60,
        }
    }
}

const PERCENT: RangeInclusive<u64> = 1..=100;
const RATIO: RangeInclusive<u64> = 1..=1_000_000;

impl SeverityConfig {
    /// Every problem, each with its key relative to `[severity]`.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> = ConfigProblem::out_of_range([
            ("critical_5xx_percent", self.critical_5xx_percent, PERCENT),
            ("high_5xx_percent", self.high_5xx_percent, PERCENT),
            ("medium_5xx_percent", self.medium_5xx_percent, PERCENT),
            ("high_error_rate_ratio", self.high_error_rate_ratio, RATIO),
            ("medium_error_rate_ratio", self.medium_error_rate_ratio, RATIO),
            ("high_endpoints", self.high_endpoints, 1..=10_000),
            ("medium_latency_ratio", self.medium_latency_ratio, RATIO),
            ("min_events", self.min_events, 0..=1_000_000),
            ("escalate_after_mins", self.escalate_after_mins, 0..=10_080),
        ])
        .into_iter()
        .map(|p| (p.key, p.message))
        .collect();
        let ordered = [
            ("high_5xx_percent", self.high_5xx_percent, self.critical_5xx_percent, "critical"),
            ("medium_5xx_percent", self.medium_5xx_percent, self.high_5xx_percent, "high"),
            (
                "medium_error_rate_ratio",
                self.medium_error_rate_ratio,
                self.high_error_rate_ratio,
                "high",
            ),
        ];
        for (key, lower, upper, above) in ordered {
            if lower > upper {
                problems.push((
                    key.to_owned(),
                    format!("{lower} is above the {above} threshold ({upper})"),
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_thresholds_out_of_order_are_named() {
        assert!(SeverityConfig::default().problems().is_empty());
        let config: SeverityConfig =
            toml::from_str("high_5xx_percent = 60\nmedium_5xx_percent = 0").unwrap();
        let keys: Vec<String> = config.problems().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["medium_5xx_percent", "high_5xx_percent"]);
    }
}
