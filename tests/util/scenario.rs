//! Scenario fixtures (`tests/data/scenarios/<scenario>/`: `trigger.json` and one
//! `evidence/<kind>-<name>.json` per collector, in the shape a bundle holds them), loaded
//! and turned into the view a report renders by the run's own analysis.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use chrono::Duration;
use witness::bundle::layout::{self, CollectorRecord};
use witness::rules::RulesConfig;
use witness::rules::rule::RuleSet;
use witness::run::RunView;
use witness::run::analyse::{Gathered, analyse};
use witness::run::view::BundleInfo;
use witness::trigger::Trigger;
use witness_collector::Window;

/// The built-in rules, loaded once, as a run has them.
pub static BUILTIN_RULES: LazyLock<RuleSet> =
    LazyLock::new(|| RuleSet::load(&RulesConfig::default()));

/// Every scenario, by folder name.
pub const SCENARIOS: &[&str] = &[
    "bad_deploy",
    "crash_loop",
    "lock_contention",
    "migration",
    "nothing_abnormal",
    "saturation_host",
    "saturation_hpa",
    "textbook_migration",
    "vendor_outage",
];

pub fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scenarios").join(name)
}

/// The trigger and records of a scenario, records sorted by file name.
pub fn load(name: &str) -> (Trigger, Vec<CollectorRecord>) {
    let dir = dir(name);
    let trigger: Trigger =
        serde_json::from_slice(&std::fs::read(dir.join(layout::TRIGGER)).unwrap()).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(layout::EVIDENCE_DIR))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let records = files
        .iter()
        .map(|f| {
            serde_json::from_slice(&std::fs::read(f).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
        })
        .collect();
    (trigger, records)
}

/// The window scenarios are evaluated over: 30 minutes before the anchor to a minute after.
pub fn window(trigger: &Trigger) -> Window {
    Window::new(trigger.starts_at - Duration::minutes(30), trigger.starts_at + Duration::minutes(1))
}

/// The bundle of a view in a test that renders no report: no id, no files, not signed.
pub fn no_bundle() -> BundleInfo {
    BundleInfo { id: String::new(), files: Vec::new(), signed: false, manifest: None }
}

/// The view of a scenario as a run would have it, with the built-in rules evaluated.
pub fn view(name: &str) -> RunView {
    let (trigger, records) = load(name);
    let mut files: Vec<String> = records.iter().map(CollectorRecord::evidence_path).collect();
    files.sort();
    let bundle = BundleInfo {
        id: format!("20251119T210100Z-{}", &format!("{:x}", name.len() * 4099)[..3]),
        files,
        signed: false,
        manifest: None,
    };
    analysed(trigger, records, &BUILTIN_RULES, bundle)
}

/// The view a run has of `trigger` and `records` over the scenario window under `rules`.
pub fn analysed(
    trigger: Trigger,
    records: Vec<CollectorRecord>,
    rules: &RuleSet,
    bundle: BundleInfo,
) -> RunView {
    let gathered =
        Gathered { window: window(&trigger), anchor: trigger.starts_at, trigger, records };
    analyse(gathered, rules, bundle)
}
