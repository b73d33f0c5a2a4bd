//! Measuring the rules on labelled incidents (`witness rules eval DIR`): each case's true
//! cause against the cause of its top hypothesis, per class top-1 accuracy, the confusion
//! matrix, calibration (how often `high`, `medium` and `low` were right), and the cases of
//! classes where acting would do harm (a false alarm, a decoy deploy) whose top hypothesis
//! still recommended a rollback or a scale-up.
//!
//! A label is a cause, one of [`super::rule::CAUSES`] or `none` (nothing abnormal: the
//! right answer recommends neither rollback nor scale-up). It lives beside the bundle as
//! `<bundle>.label.json` (`{"cause": "rollout", "class": "bad_deploy"}`), never inside the
//! sealed files; `class` groups the cases (default: the cause).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::rule::CAUSES;
use super::{Hypothesis, Likelihood, Recommendation};

/// The label of a case with nothing abnormal.
pub const NO_CAUSE: &str = "none";

/// Classes whose right answer never acts: a false alarm, and a decoy deploy whose errors
/// come from something else.
const HARMLESS_CLASSES: &[&str] = &["false_alarm", "decoy_deploy"];

/// `<bundle>.label.json`: the true cause of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub cause: String,
    /// The class the case is counted in (default: the cause).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
}

impl Label {
    pub fn class(&self) -> &str {
        self.class.as_deref().unwrap_or(&self.cause)
    }
}

/// Whether `cause` is a label witness can score.
pub fn is_cause(cause: &str) -> bool {
    cause == NO_CAUSE || CAUSES.contains(&cause)
}

/// Where the label of the bundle (or case directory) at `bundle` lives: beside it.
pub fn label_path(bundle: &Path) -> Option<PathBuf> {
    let name = bundle.file_name()?.to_str()?;
    let name = name.strip_suffix(".tar.gz").unwrap_or(name);
    Some(bundle.with_file_name(format!("{name}.label.json")))
}

/// What a top hypothesis names as the cause: its cause, or `none` when it names none.
pub fn predicted(top: &Hypothesis) -> &str {
    top.cause.as_deref().unwrap_or(NO_CAUSE)
}

/// One evaluated case.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub label: Label,
    pub top: Hypothesis,
}

impl Case {
    pub fn right(&self) -> bool {
        predicted(&self.top) == self.label.cause
    }

    /// A rollback or a scale-up where the right answer does not act.
    pub fn harmful(&self) -> bool {
        let acts =
            matches!(self.top.recommendation, Recommendation::Rollback | Recommendation::ScaleUp);
        acts && (HARMLESS_CLASSES.contains(&self.label.class()) || self.label.cause == NO_CAUSE)
    }
}

/// Figures over a set of cases.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// class → (right, total).
    pub classes: BTreeMap<String, (usize, usize)>,
    /// (true cause, predicted cause) → count.
    pub confusion: BTreeMap<(String, String), usize>,
    /// likelihood → (right, total).
    pub calibration: BTreeMap<&'static str, (usize, usize)>,
    /// Names of the cases that acted where they should not have.
    pub harmful: Vec<String>,
    /// Names of the wrong cases, with what was predicted.
    pub wrong: Vec<String>,
}

impl Report {
    pub fn of(cases: &[Case]) -> Self {
        let mut report = Report::default();
        for case in cases {
            let right = case.right();
            let class = report.classes.entry(case.label.class().to_owned()).or_default();
            class.0 += usize::from(right);
            class.1 += 1;
            *report
                .confusion
                .entry((case.label.cause.clone(), predicted(&case.top).to_owned()))
                .or_default() += 1;
            let calibration = report.calibration.entry(case.top.likelihood.as_str()).or_default();
            calibration.0 += usize::from(right);
            calibration.1 += 1;
            if case.harmful() {
                report.harmful.push(case.name.clone());
            }
            if !right {
                report.wrong.push(format!(
                    "{} ({}): predicted {} — {}",
                    case.name,
                    case.label.cause,
                    predicted(&case.top),
                    case.top.title
                ));
            }
        }
        report
    }

    /// Top-1 accuracy of `class`, 0 to 1.
    pub fn accuracy(&self, class: &str) -> Option<f64> {
        self.classes.get(class).map(|(right, total)| ratio(*right, *total))
    }

    /// How often a top hypothesis of `likelihood` was right.
    pub fn calibrated(&self, likelihood: Likelihood) -> Option<f64> {
        self.calibration.get(likelihood.as_str()).map(|(right, total)| ratio(*right, *total))
    }

    /// What falls short of `floor` (0 to 1): each class below it, each case that acted
    /// where nothing should be done (false alarm, decoy deploy: never allowed), and a
    /// `high` top hypothesis right less often than `floor`. Empty: the floor is met.
    pub fn below_floor(&self, floor: f64) -> Vec<String> {
        let mut short = Vec::new();
        for (class, (right, total)) in &self.classes {
            if ratio(*right, *total) < floor {
                short.push(format!(
                    "class {class}: {:.1}% top-1 ({right}/{total}) is below {:.1}%",
                    100.0 * ratio(*right, *total),
                    100.0 * floor
                ));
            }
        }
        for case in &self.harmful {
            short.push(format!("{case}: recommended acting where nothing should be done"));
        }
        if let Some(high) = self.calibrated(Likelihood::High).filter(|high| *high < floor) {
            short.push(format!(
                "\"high\" was right {:.1}% of the time, below {:.1}%",
                100.0 * high,
                100.0 * floor
            ));
        }
        short
    }

    /// The report as `rules eval` prints it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let (right, total) =
            self.classes.values().fold((0, 0), |(r, t), (cr, ct)| (r + cr, t + ct));
        let _ = writeln!(
            out,
            "{total} cases, top-1 accuracy {:.1}% ({right} right)\n",
            100.0 * ratio(right, total)
        );
        let _ = writeln!(out, "Per class (top-1):");
        for (class, (right, total)) in &self.classes {
            let _ = writeln!(
                out,
                "  {class:<24} {:>6.1}%  ({right}/{total})",
                100.0 * ratio(*right, *total)
            );
        }
        let _ = writeln!(out, "\nCalibration (how often the top hypothesis was right):");
        for likelihood in ["high", "medium", "low"] {
            if let Some((right, total)) = self.calibration.get(likelihood) {
                let _ = writeln!(
                    out,
                    "  {likelihood:<7} {:>6.1}%  ({right}/{total})",
                    100.0 * ratio(*right, *total)
                );
            }
        }
        let _ = writeln!(out, "\nConfusion (true cause → predicted cause: cases):");
        for ((truth, predicted), n) in &self.confusion {
            let mark = if truth == predicted { "" } else { "  ✗" };
            let _ = writeln!(out, "  {truth:<20} → {predicted:<20} {n}{mark}");
        }
        let _ = writeln!(
            out,
            "\nActed where nothing should be done (false alarm, decoy deploy): {}",
            if self.harmful.is_empty() { "none".to_owned() } else { self.harmful.join(", ") }
        );
        if !self.wrong.is_empty() {
            let _ = writeln!(out, "\nWrong ({}):", self.wrong.len());
            for w in &self.wrong {
                let _ = writeln!(out, "  {w}");
            }
        }
        out
    }
}

fn ratio(right: usize, total: usize) -> f64 {
    if total == 0 { 0.0 } else { right as f64 / total as f64 }
}
