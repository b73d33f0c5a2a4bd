//! Hypothesis rules: from the run's facts to ranked recommendations (`rollback`,
//! `scale_up`, `investigate`), each citing the evidence it rests on. Rules are data
//! (`config/rules/*.toml`, see `config/rules/README.md`): a CEL condition over the facts,
//! a weight, templates for the title, explanation and commands. A rule whose facts are
//! absent is not evaluated and says so: missing evidence is never read as "no problem".
//! When no rule fires the answer is `investigate`, low likelihood, with what was and was
//! not seen.
//!
//! - [`facts`]: the known facts, and how several instances' facts merge;
//! - [`derive`]: facts witness derives across kinds (`run.*`);
//! - [`rule`]: the rule format, the built-in rules, loading and checking;
//! - [`template`]: titles, explanations and commands, with values checked and quoted;
//! - [`cost`]: the cost bound every condition is checked against when loaded;
//! - [`eval`]: evaluating the conditions (each under a deadline) and ranking the
//!   hypotheses;
//! - [`accuracy`]: measuring the rules on labelled incidents (`rules eval`).
//!
//! The rules are loaded when a run is prepared, before any collector starts: the rule files
//! of the configuration are compiled and checked then, and the built-in rules (compiled
//! into witness, checked by its tests) each the first time a run evaluates them — a run
//! compiles only the conditions of the rules whose facts it has, and the daemon, which
//! keeps the prepared rules until a reload, compiles each once.

pub mod accuracy;
pub mod cost;
pub mod derive;
pub mod eval;
pub mod facts;
pub mod rule;
pub mod template;

use serde::{Deserialize, Serialize};

use crate::timeline::EvidenceRef;

/// `[rules]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Directories of extra rule files (`*.toml`), read after the built-in rules; a rule
    /// with the id of a built-in rule replaces it.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    Rollback,
    ScaleUp,
    Investigate,
}

impl Recommendation {
    pub fn as_str(self) -> &'static str {
        match self {
            Recommendation::Rollback => "rollback",
            Recommendation::ScaleUp => "scale_up",
            Recommendation::Investigate => "investigate",
        }
    }
}

/// How likely a hypothesis is, from its score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    High,
    Medium,
    Low,
}

impl Likelihood {
    pub fn as_str(self) -> &'static str {
        match self {
            Likelihood::High => "high",
            Likelihood::Medium => "medium",
            Likelihood::Low => "low",
        }
    }

    /// `high` from 0.7, `medium` from 0.4, else `low`.
    pub fn of(score: f64) -> Self {
        if score >= 0.7 {
            Likelihood::High
        } else if score >= 0.4 {
            Likelihood::Medium
        } else {
            Likelihood::Low
        }
    }
}

/// One ranked hypothesis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hypothesis {
    /// The hypothesis id (`bad_deploy`, `saturation`; `default` when nothing fired).
    #[serde(default)]
    pub id: String,
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
    /// The change of state it names as the cause; absent for a symptom to investigate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The run's symptoms the cause explains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub explains: Vec<String>,
    /// The run's symptoms it does not explain (they count against it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unexplained: Vec<String>,
}

/// A rule that could not be evaluated, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotEvaluated {
    pub rule: String,
    pub reason: String,
}

/// A rule that was evaluated and did not fire, and what it saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuledOut {
    pub rule: String,
    pub reason: String,
}

/// `hypotheses.json`: ranked hypotheses (never empty), the rules that could not be
/// evaluated and the rules that were evaluated and did not fire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub hypotheses: Vec<Hypothesis>,
    pub not_evaluated: Vec<NotEvaluated>,
    #[serde(default)]
    pub ruled_out: Vec<RuledOut>,
    /// Problems in the rule files (a rule that did not load is named here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule_problems: Vec<String>,
}
