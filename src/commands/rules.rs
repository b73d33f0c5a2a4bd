//! `witness rules check [FILES]`, `witness rules test --bundle DIR` and `witness rules eval
//! DIR`: the commands a rule author runs, one before shipping a rule file, one to see what
//! it does with a real bundle's evidence (through the same [`analyse`] a run uses), and one
//! to measure the rules over labelled incidents.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::Duration;
use witness_collector::Window;

use crate::bundle::layout::{self, CollectorRecord};
use crate::rules::rule::RuleSet;
use crate::rules::{RulesConfig, accuracy};
use crate::run::RunView;
use crate::run::analyse::{Gathered, analyse};
use crate::run::view::BundleInfo;
use crate::trigger::Trigger;

/// `witness rules check [FILES]`: checks the given rule files, or the configured rules
/// (built-in and `[rules] dirs`) without files. Prints every problem as `file:line: …`;
/// exits 0 when there is none, 1 otherwise.
///
/// # Errors
/// None today: unreadable files are problems, reported like the others.
pub fn check(files: &[PathBuf], config: &RulesConfig) -> Result<ExitCode> {
    let (report, clean) = check_report(files, config);
    print!("{report}");
    Ok(if clean { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// The text `rules check` prints, and whether everything was fine.
pub fn check_report(files: &[PathBuf], config: &RulesConfig) -> (String, bool) {
    let set = if files.is_empty() {
        RuleSet::load(config)
    } else {
        let mut set = RuleSet::default();
        for file in files {
            set.add_path(file);
        }
        set
    };
    let mut out = String::new();
    for problem in &set.problems {
        let level = if problem.fatal { "error" } else { "warning" };
        let _ = writeln!(out, "{problem} [{level}]");
    }
    let from = if files.is_empty() {
        let mut from = Vec::new();
        if config.builtin {
            from.push("the built-in rules".to_owned());
        }
        from.extend(config.dirs.iter().map(|d| d.display().to_string()));
        from.join(", ")
    } else {
        files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
    };
    let _ = writeln!(
        out,
        "{} rule{} loaded from {}; {} problem{}",
        set.rules.len(),
        if set.rules.len() == 1 { "" } else { "s" },
        if from.is_empty() { "nowhere" } else { &from },
        set.problems.len(),
        if set.problems.len() == 1 { "" } else { "s" },
    );
    (out, set.problems.is_empty())
}

/// `witness rules test --bundle DIR`: re-evaluates the configured rules over a bundle's
/// evidence and prints which fired, which were ruled out, which could not be evaluated and
/// why, and the resulting ranking.
///
/// # Errors
/// When the bundle cannot be read.
pub fn test(bundle: &Path, config: &RulesConfig) -> Result<ExitCode> {
    let report = if is_case_directory(bundle) {
        let info =
            BundleInfo { id: String::new(), files: Vec::new(), signed: false, manifest: None };
        report_of(gathered_case(bundle)?, info, config).0
    } else {
        test_report(&RunView::load(bundle)?, config)
    };
    print!("{}", crate::escape::terminal(&report, crate::escape::Keep::Lines));
    Ok(ExitCode::SUCCESS)
}

/// The text `rules test` prints for a loaded bundle.
pub fn test_report(view: &RunView, config: &RulesConfig) -> String {
    let gathered = Gathered {
        trigger: view.trigger.clone(),
        anchor: view.anchor,
        window: view.window,
        records: view.records.clone(),
    };
    let bundle = BundleInfo {
        id: view.id.clone(),
        files: view.files.clone(),
        signed: view.signed,
        manifest: None,
    };
    let (mut out, evaluation) = report_of(gathered, bundle, config);
    let before = view.evaluation.hypotheses.first().map(|h| (h.recommendation, h.title.as_str()));
    let after = evaluation.hypotheses.first().map(|h| (h.recommendation, h.title.as_str()));
    if before != after {
        let _ = writeln!(
            out,
            "The bundle's hypotheses.json ranked first: {}",
            before.map_or_else(|| "nothing".to_owned(), |(r, t)| format!("{t} ({})", r.as_str()))
        );
    }
    out
}

/// The text `rules test` prints for what a run gathered, and the evaluation it shows.
fn report_of(
    gathered: Gathered,
    bundle: BundleInfo,
    config: &RulesConfig,
) -> (String, crate::rules::Evaluation) {
    let set = RuleSet::load(config);
    let evaluation = analyse(gathered, &set, bundle).evaluation;
    let mut out = String::new();
    for problem in &set.problems {
        let _ = writeln!(out, "rule file problem: {problem}");
    }
    let section = |out: &mut String, title: &str, lines: Vec<String>| {
        let _ = writeln!(out, "{title} ({}):", lines.len());
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
    };
    let why = |rule: &str, why: &str| {
        if why.is_empty() { format!("  {rule}") } else { format!("  {rule}: {why}") }
    };
    // Every rule has one outcome: it fired unless ruled out or not evaluated. Listed in
    // the order the rules were loaded.
    let fired = set
        .rules
        .iter()
        .map(|r| r.def.id.as_str())
        .filter(|id| {
            !evaluation.ruled_out.iter().any(|r| r.rule == *id)
                && !evaluation.not_evaluated.iter().any(|r| r.rule == *id)
        })
        .map(|id| format!("  {id}"))
        .collect();
    section(&mut out, "Fired", fired);
    section(
        &mut out,
        "Ruled out",
        evaluation.ruled_out.iter().map(|r| why(&r.rule, &r.reason)).collect(),
    );
    section(
        &mut out,
        "Could not evaluate",
        evaluation.not_evaluated.iter().map(|r| why(&r.rule, &r.reason)).collect(),
    );
    let _ = writeln!(out, "Hypotheses:");
    for (i, h) in evaluation.hypotheses.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. {} ({}, {} likelihood, score {:.3}) [{}]",
            i + 1,
            h.title,
            h.recommendation.as_str(),
            h.likelihood.as_str(),
            h.score,
            h.rules.join(", ")
        );
        let _ = writeln!(
            out,
            "   cause: {}",
            h.cause.as_deref().unwrap_or("none named (a symptom to investigate)")
        );
        let list = |items: &[String]| {
            if items.is_empty() { "none".to_owned() } else { items.join(", ") }
        };
        let _ = writeln!(out, "   explains: {}", list(&h.explains));
        let _ = writeln!(out, "   unexplained: {}", list(&h.unexplained));
        let _ = writeln!(out, "   {}", h.explanation);
        for c in &h.commands {
            let _ = writeln!(out, "   $ {c}");
        }
        for c in &h.counter_evidence {
            let _ = writeln!(out, "   against: {c}");
        }
        for r in &h.evidence {
            let _ = writeln!(out, "   evidence: {r}");
        }
    }
    (out, evaluation)
}

/// `witness rules eval DIR`: evaluates the configured rules over every labelled bundle (or
/// case directory) in `DIR` and prints per-class top-1 accuracy, the confusion matrix and
/// calibration. Exit status 0 when at least one case was evaluated and, with a `floor`
/// (percent), when the report meets it ([`accuracy::Report::below_floor`]).
///
/// # Errors
/// When `DIR` cannot be listed, or a labelled case cannot be read.
pub fn eval(dir: &Path, floor: Option<u8>, config: &RulesConfig) -> Result<ExitCode> {
    let set = RuleSet::load(config);
    for problem in &set.problems {
        println!("rule file problem: {problem}");
    }
    let (cases, unlabelled) = eval_cases(dir, &set)?;
    if unlabelled > 0 {
        println!(
            "{unlabelled} bundle(s) without a label beside them, left out (witness label BUNDLE --cause C)"
        );
    }
    if cases.is_empty() {
        println!("no labelled case in {}", dir.display());
        return Ok(ExitCode::from(1));
    }
    let report = accuracy::Report::of(&cases);
    print!("{}", report.render());
    let Some(floor) = floor else { return Ok(ExitCode::SUCCESS) };
    let short = report.below_floor(f64::from(floor) / 100.0);
    if short.is_empty() {
        println!("\nFloor {floor}%: met.");
        return Ok(ExitCode::SUCCESS);
    }
    println!("\nFloor {floor}%: not met ({}):", short.len());
    for s in &short {
        println!("  {s}");
    }
    Ok(ExitCode::from(1))
}

/// Every labelled case of `dir` evaluated under `rules`, by name, and how many bundles had
/// no label.
///
/// # Errors
/// When `dir` cannot be listed, or a labelled case or its label cannot be read.
pub fn eval_cases(dir: &Path, rules: &RuleSet) -> Result<(Vec<accuracy::Case>, usize)> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() || p.to_string_lossy().ends_with(".tar.gz"))
        .collect();
    // `collect --archive` leaves the directory and its archive side by side: one case.
    let dirs: Vec<PathBuf> = entries.iter().filter(|p| p.is_dir()).cloned().collect();
    entries.retain(|p| {
        p.is_dir()
            || !p
                .to_str()
                .and_then(|s| s.strip_suffix(".tar.gz"))
                .is_some_and(|d| dirs.iter().any(|dir| dir.as_os_str() == d))
    });
    entries.sort();
    let mut cases = Vec::new();
    let mut unlabelled = 0;
    for path in entries {
        let Some(label_file) = accuracy::label_path(&path).filter(|l| l.is_file()) else {
            unlabelled += 1;
            continue;
        };
        let label: accuracy::Label = serde_json::from_slice(
            &std::fs::read(&label_file)
                .with_context(|| format!("cannot read {}", label_file.display()))?,
        )
        .with_context(|| format!("{} is not a label", label_file.display()))?;
        let gathered = gathered_case(&path)?;
        let bundle =
            BundleInfo { id: String::new(), files: Vec::new(), signed: false, manifest: None };
        let evaluation = analyse(gathered, rules, bundle).evaluation;
        let Some(top) = evaluation.hypotheses.into_iter().next() else { continue };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        cases.push(accuracy::Case { name, label, top });
    }
    Ok((cases, unlabelled))
}

/// Whether `path` is a case directory (`trigger.json` and `evidence/`, no manifest) rather
/// than a sealed bundle or its archive.
fn is_case_directory(path: &Path) -> bool {
    path.is_dir() && !path.join(layout::MANIFEST).is_file()
}

/// What a case holds: a sealed bundle (its manifest gives anchor and window), or a case
/// directory of `trigger.json` and `evidence/*.json` (the window is the 30 minutes before
/// the trigger's start to a minute after, as the scenario fixtures have it).
fn gathered_case(path: &Path) -> Result<Gathered> {
    if !is_case_directory(path) {
        let view = RunView::load(path)?;
        return Ok(Gathered {
            trigger: view.trigger,
            anchor: view.anchor,
            window: view.window,
            records: view.records,
        });
    }
    let read = |file: &Path| -> Result<Vec<u8>> {
        std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))
    };
    let trigger: Trigger = serde_json::from_slice(&read(&path.join(layout::TRIGGER))?)
        .with_context(|| format!("{} has no valid trigger.json", path.display()))?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(path.join(layout::EVIDENCE_DIR))
        .with_context(|| format!("{} has no evidence directory", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut records = Vec::new();
    for file in files {
        let record: CollectorRecord = serde_json::from_slice(&read(&file)?)
            .with_context(|| format!("{} is not an evidence file", file.display()))?;
        records.push(record);
    }
    let anchor = trigger.starts_at;
    let window = Window::new(anchor - Duration::minutes(30), anchor + Duration::minutes(1));
    Ok(Gathered { trigger, anchor, window, records })
}
