//! Scenario fixtures (`tests/data/scenarios/<scenario>/`: `trigger.json` and one
//! `evidence/<kind>-<name>.json` per collector, in the shape a bundle holds them), loaded
//! and turned into the view a report renders.

use std::path::{Path, PathBuf};

use chrono::Duration;
use witness::rules::{self, RulesConfig};
use witness::run::CollectorRecord;
use witness::timeline;
use witness::trigger::Trigger;
use witness::view::RunView;
use witness_collector::Window;

/// Every scenario, by folder name.
pub const SCENARIOS: &[&str] = &[
    "bad_deploy",
    "crash_loop",
    "lock_contention",
    "migration",
    "nothing_abnormal",
    "saturation_host",
    "saturation_hpa",
    "vendor_outage",
];

pub fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scenarios").join(name)
}

/// The trigger and records of a scenario, records sorted by file name.
pub fn load(name: &str) -> (Trigger, Vec<CollectorRecord>) {
    let dir = dir(name);
    let trigger: Trigger =
        serde_json::from_slice(&std::fs::read(dir.join("trigger.json")).unwrap()).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("evidence"))
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

/// The view of a scenario as a run would have it, with the built-in rules evaluated.
pub fn view(name: &str) -> RunView {
    let (trigger, records) = load(name);
    let window = window(&trigger);
    let timeline = timeline::build(&trigger, trigger.starts_at, window, &records);
    let evaluation = rules::evaluate(&RulesConfig::default(), &records, &timeline);
    let mut files: Vec<String> = records.iter().map(|r| r.evidence_path()).collect();
    files.sort();
    RunView {
        id: format!("20251119T210100Z-{}", &format!("{:x}", name.len() * 4099)[..3]),
        anchor: trigger.starts_at,
        window,
        trigger,
        records,
        timeline,
        evaluation,
        manifest: None,
        files,
        signed: false,
    }
}
