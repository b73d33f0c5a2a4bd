//! Hypothesis rules: from the run's facts to ranked recommendations (`rollback`,
//! `scale_up`, `investigate`), each citing the evidence it rests on. When no rule fires
//! the answer is `investigate`, low likelihood, with what was and was not seen.

use serde::{Deserialize, Serialize};
use witness_collector::Status;

use crate::run::CollectorRecord;
use crate::timeline::{EvidenceRef, Timeline};

/// `[rules]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Directories of extra rule files (`*.toml`), read after the built-in rules.
    #[serde(default)]
    pub dirs: Vec<std::path::PathBuf>,
    /// Whether the built-in rules (config/rules/*.toml, compiled in) are used.
    #[serde(default = "default_true")]
    pub builtin: bool,
}

fn default_true() -> bool {
    true
}

impl Default for RulesConfig {
    fn default() -> Self {
        Self { dirs: Vec::new(), builtin: true }
    }
}

/// What a hypothesis recommends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    Rollback,
    ScaleUp,
    Investigate,
}

/// How likely a hypothesis is, from its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    High,
    Medium,
    Low,
}

/// One ranked hypothesis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hypothesis {
    pub recommendation: Recommendation,
    pub likelihood: Likelihood,
    pub score: f64,
    pub title: String,
    pub explanation: String,
    /// Commands a human can run; witness never runs them.
    pub commands: Vec<String>,
    /// The evidence this hypothesis rests on.
    pub evidence: Vec<EvidenceRef>,
    /// Ids of the rules that fired for it.
    pub rules: Vec<String>,
    /// What speaks against it.
    #[serde(default)]
    pub counter_evidence: Vec<String>,
}

/// A rule that could not be evaluated, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotEvaluated {
    pub rule: String,
    pub reason: String,
}

/// `hypotheses.json`: ranked hypotheses (never empty) and the rules that could not be
/// evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub hypotheses: Vec<Hypothesis>,
    pub not_evaluated: Vec<NotEvaluated>,
}

/// Evaluates the rules over the run's records.
pub fn evaluate(
    _config: &RulesConfig,
    records: &[CollectorRecord],
    _timeline: &Timeline,
) -> Evaluation {
    Evaluation { hypotheses: vec![nothing_fired(records)], not_evaluated: Vec::new() }
}

/// The default hypothesis: investigate, listing what was seen and what was not collected.
fn nothing_fired(records: &[CollectorRecord]) -> Hypothesis {
    let seen: Vec<String> = records
        .iter()
        .filter(|r| r.status().has_evidence())
        .map(|r| format!("{}/{}: {}", r.kind, r.name, r.evidence.summary))
        .collect();
    let missing: Vec<String> = records
        .iter()
        .filter(|r| !r.status().has_evidence())
        .map(|r| {
            format!(
                "{}/{} ({}{})",
                r.kind,
                r.name,
                r.status(),
                r.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
            )
        })
        .collect();
    let mut explanation = String::from("No rule found a cause in the collected evidence.");
    if !seen.is_empty() {
        explanation.push_str(&format!(" Seen: {}.", seen.join("; ")));
    }
    if !missing.is_empty() {
        explanation.push_str(&format!(" Not collected: {}.", missing.join("; ")));
    }
    Hypothesis {
        recommendation: Recommendation::Investigate,
        likelihood: Likelihood::Low,
        score: 0.0,
        title: "No known failure pattern matched: investigate".into(),
        explanation,
        commands: Vec::new(),
        evidence: records
            .iter()
            .filter(|r| r.status() != Status::Skipped)
            .map(|r| EvidenceRef { file: r.evidence_path(), pointer: "/summary".into() })
            .collect(),
        rules: vec!["default.investigate".into()],
        counter_evidence: Vec::new(),
    }
}

/// `witness rules check [FILES]`.
pub fn check_command(
    _files: &[std::path::PathBuf],
    _config: &RulesConfig,
) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("rule files are not supported by this build yet")
}

/// `witness rules test --bundle DIR`.
pub fn test_command(
    _bundle: &std::path::Path,
    _config: &RulesConfig,
) -> anyhow::Result<std::process::ExitCode> {
    anyhow::bail!("rule files are not supported by this build yet")
}
