//! Status updates (`witness show BUNDLE --status-update`): what to post on a status page or
//! in a customer-facing channel at each stage of the incident — investigating,
//! identified, monitoring, resolved — from the same evidence as the reports, in plain
//! words and free of internal detail.
//!
//! Plain by construction: every sentence is a fixed phrase, filled in only with a time
//! (to the minute, UTC), a class of symptom read from the facts ("errors", "slow
//! responses"), a class of cause read from the top hypothesis ("a recent change"), and the
//! service's name when it is a plain word. No evidence text reaches a draft, so no
//! hostname, address, command, path, revision, commit or redaction token can.
//!
//! A stage is drafted when the evidence supports it: investigating always; identified
//! when the top hypothesis names a cause with high or medium likelihood; monitoring once a
//! follow-up exists (the incident resolved and witness is checking); resolved when the
//! follow-up's checks all passed.

use chrono::{DateTime, Utc};

use crate::rules::{Likelihood, Recommendation};
use crate::run::RunView;
use crate::run::follow_up::FollowUp;
use crate::run::severity::Level;

/// A stage of an incident's communication.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl Stage {
    pub const ALL: [Stage; 4] =
        [Stage::Investigating, Stage::Identified, Stage::Monitoring, Stage::Resolved];

    pub fn title(self) -> &'static str {
        match self {
            Stage::Investigating => "Investigating",
            Stage::Identified => "Identified",
            Stage::Monitoring => "Monitoring",
            Stage::Resolved => "Resolved",
        }
    }
}

/// The evidence a status update reads: the incident, and its follow-up when there is one.
pub struct Incident<'a> {
    pub view: &'a RunView,
    pub follow_up: Option<&'a FollowUp>,
}

impl Incident<'_> {
    /// Why the evidence does not support `stage` yet; `None` when it does.
    pub fn unsupported(&self, stage: Stage) -> Option<&'static str> {
        match stage {
            Stage::Investigating => None,
            Stage::Identified => self.cause().is_none().then_some(
                "no hypothesis names a cause with high or medium likelihood",
            ),
            Stage::Monitoring => self
                .follow_up
                .is_none()
                .then_some("no follow-up yet: the resolution has not been checked (witness collect now --follow-up BUNDLE)"),
            Stage::Resolved => match self.follow_up {
                None => Some("no follow-up yet: the resolution has not been checked (witness collect now --follow-up BUNDLE)"),
                Some(f) => {
                    let c = f.counts();
                    (c.not_yet > 0 || c.could_not_check > 0 || c.passed == 0)
                        .then_some("the follow-up's checks have not all passed")
                }
            },
        }
    }

    /// The stages the evidence supports, in order.
    pub fn supported(&self) -> Vec<Stage> {
        Stage::ALL.into_iter().filter(|s| self.unsupported(*s).is_none()).collect()
    }

    /// The cause the top hypothesis names, when it is likely enough to say so.
    fn cause(&self) -> Option<&str> {
        let top = self.view.evaluation.hypotheses.first()?;
        (top.likelihood != Likelihood::Low).then_some(())?;
        top.cause.as_deref()
    }

    /// The service's name when it is a plain word, else "our service".
    fn service(&self) -> String {
        let plain = |name: &&str| {
            let mut chars = name.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && name.len() <= 40
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ' ')
                && !name.chars().any(|c| c.is_ascii_digit())
        };
        self.view.trigger.service().filter(plain).map_or("our service".to_owned(), str::to_owned)
    }

    /// What users felt, as a class: `errors`, `slow responses`, both, or `problems`.
    fn symptoms(&self) -> &'static str {
        let facts = |names: &[&str]| {
            self.view.records.iter().filter(|r| r.status().has_evidence()).any(|r| {
                names.iter().any(|n| {
                    r.evidence.facts.get(*n).and_then(|v| v.as_f64()).is_some_and(|x| x > 0.0)
                })
            })
        };
        let ratio = |name: &str, above: f64| {
            self.view.records.iter().any(|r| {
                r.evidence.facts.get(name).and_then(|v| v.as_f64()).is_some_and(|x| x > above)
            })
        };
        let errors = facts(&[
            "logs.new_error_count",
            "http.failing_probes",
            "kubernetes.pod_log_new_error_count",
        ]) || ratio("logs.error_rate_ratio", 1.5)
            || ratio("logs.status_5xx_ratio", 0.0)
            || ratio("prometheus.error_ratio_ratio", 1.5);
        let slow = self.view.records.iter().any(|r| {
            let f = |n: &str| r.evidence.facts.get(n).and_then(|v| v.as_f64());
            matches!((f("logs.latency_p95_ms"), f("logs.latency_p95_baseline_ms")), (Some(now), Some(before)) if before > 0.0 && now > 1.5 * before)
        }) || self.cause() == Some("lock_blocker");
        match (errors, slow) {
            (true, true) => "errors and slow responses",
            (true, false) => "errors",
            (false, true) => "slow responses",
            (false, false) => "problems",
        }
    }

    /// Who was affected, from the severity: `Users`, `Many users`, `Some users`.
    fn who(&self) -> &'static str {
        match self.view.severity.as_ref().map(|s| s.level) {
            Some(Level::P0) => "All users",
            Some(Level::P1) => "Many users",
            _ => "Some users",
        }
    }

    /// When it started: the first new symptom, else the alert.
    fn started(&self) -> DateTime<Utc> {
        let d = self.follow_up.map_or(&self.view.durations, |f| &f.durations);
        d.first_symptom.as_ref().map_or(self.view.anchor, |m| m.at.min(self.view.anchor))
    }

    /// The draft for `stage`.
    ///
    /// # Errors
    /// When the evidence does not support `stage` yet, with the reason.
    pub fn draft(&self, stage: Stage) -> Result<String, String> {
        if let Some(why) = self.unsupported(stage) {
            return Err(format!(
                "the evidence does not support the {} stage yet: {why}",
                stage.title().to_lowercase()
            ));
        }
        let service = self.service();
        let symptoms = self.symptoms();
        let since = minute(self.started());
        Ok(match stage {
            Stage::Investigating => format!(
                "We are investigating {symptoms} affecting {service}, starting at {since}. {} may be affected. We will post an update as soon as we know more.",
                self.who()
            ),
            Stage::Identified => {
                let top = self.view.evaluation.hypotheses.first().map(|h| h.recommendation);
                let cause = cause_words(self.cause().unwrap_or_default());
                let doing = match top {
                    Some(Recommendation::Rollback) => "We are reverting the change.",
                    Some(Recommendation::ScaleUp) => "We are adding capacity.",
                    _ if self.cause() == Some("vendor_incident") => {
                        "We are working with the provider and limiting the effect on you."
                    }
                    _ => "We are working on a fix.",
                };
                format!(
                    "We have identified the cause of the {symptoms} affecting {service} since {since}: {cause}. {doing}"
                )
            }
            Stage::Monitoring => {
                let c = self.follow_up.map(FollowUp::counts).unwrap_or_default();
                let resolved = self.follow_up.map_or(self.view.window.end, |f| f.resolution.at);
                if c.not_yet > 0 {
                    format!(
                        "We have applied a fix for the {symptoms} affecting {service}, but some users may still see them. We are continuing to work on it."
                    )
                } else if c.passed > 0 {
                    format!(
                        "The {symptoms} affecting {service} have stopped since {}. We are monitoring to make sure they do not return.",
                        minute(resolved)
                    )
                } else {
                    format!(
                        "A fix has been put in place for the {symptoms} affecting {service}, and we are monitoring the results."
                    )
                }
            }
            Stage::Resolved => {
                let until = self.follow_up.map_or(self.view.window.end, |f| f.resolution.at);
                format!(
                    "This incident has been resolved. Between {since} and {}, {} of {service} may have seen {symptoms}. We are sorry for the disruption.",
                    minute(until),
                    self.who().to_lowercase()
                )
            }
        })
    }
}

/// `2025-11-19 20:48 UTC`.
fn minute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A cause in customer words.
fn cause_words(cause: &str) -> &'static str {
    match cause {
        "rollout" | "deploy_tag" => "a recent change to the service",
        "config_change" => "a recent configuration change",
        "migration" => "a recent database change",
        "lock_blocker" => "a problem in one of our databases",
        "capacity_ceiling" | "host_saturation" | "connection_ceiling" | "oom" => {
            "not enough capacity for the current load"
        }
        "traffic_surge" => "an unusual surge in traffic",
        "vendor_incident" => "an outage at a third-party provider we rely on",
        "certificate_expiry" => "an expired security certificate",
        "disk_full" => "a storage problem",
        _ => "a problem in our systems",
    }
}

/// The drafts of `stages` as text to paste, one block per stage.
///
/// # Errors
/// When a stage is not supported by the evidence (see [`Incident::draft`]).
pub fn text(incident: &Incident, stages: &[Stage]) -> Result<String, String> {
    let mut out = String::new();
    for stage in stages {
        out.push_str(&format!("{}\n{}\n\n", stage.title(), incident.draft(*stage)?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every cause a rule may name reads as its own plain class of cause, with no word of
    /// witness's vocabulary in it.
    #[test]
    fn every_cause_has_plain_words() {
        for cause in crate::rules::rule::CAUSES {
            let words = cause_words(cause);
            assert_ne!(words, cause_words("unknown"), "{cause}");
            assert!(
                words.chars().all(|c| c.is_ascii_lowercase() || c == ' ' || c == '-'),
                "{words}"
            );
        }
    }
}
