//! Issue 15: the rules measured on a held-out corpus (`tests/util/heldout.rs`), generated
//! apart from the rules and from the corpus they were tuned with: other wordings, log
//! formats, timings and noise. Run with `--nocapture` for the figures the README quotes.

use witness::rules::accuracy::Report;

use crate::util::heldout;
use crate::util::scenario;

/// The figures of `variants` cases per class from `seed`.
/// `WITNESS_HELDOUT_KEEP=DIR` keeps the cases in DIR, for `witness rules eval DIR` and
/// `witness rules test --bundle DIR/<case>`.
fn measure(variants: u64, seed: u64) -> Report {
    let temp = tempfile::tempdir().unwrap();
    let dir = std::env::var_os("WITNESS_HELDOUT_KEEP")
        .map_or_else(|| temp.path().to_owned(), std::path::PathBuf::from);
    heldout::generate(&dir, variants, seed);
    measure_dir(&dir, variants)
}

/// `witness rules eval DIR --floor PERCENT`, run in DIR with the built-in rules.
fn rules_eval_with_floor(dir: &std::path::Path, percent: u8) -> std::process::Output {
    crate::util::witness(
        dir,
        &["rules", "eval", "--floor", &percent.to_string(), &dir.display().to_string()],
    )
}

/// The figures of the cases in `dir`, `variants` per class.
fn measure_dir(dir: &std::path::Path, variants: u64) -> Report {
    let (cases, unlabelled) =
        witness::commands::rules::eval_cases(dir, &scenario::BUILTIN_RULES).unwrap();
    assert_eq!((cases.len(), unlabelled), (heldout::CLASSES.len() * variants as usize, 0));
    Report::of(&cases)
}

/// The fixed-seed corpus, measured by what CI and a user run: `witness rules eval DIR
/// --floor 95` (every class ≥ 95% top-1, a false alarm or a decoy deploy never recommends
/// a rollback or a scale-up, a `high` top hypothesis right ≥ 95% of the time), the
/// built-in rules, no configuration.
#[test]
fn the_rules_meet_their_floors_on_the_held_out_corpus() {
    let dir = tempfile::tempdir().unwrap();
    heldout::generate(dir.path(), 25, 2026);
    let out = rules_eval_with_floor(dir.path(), 95);
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let cases = heldout::CLASSES.len() * 25;
    assert!(stdout.starts_with(&format!("{cases} cases, top-1 accuracy")), "{stdout}");
    assert!(stdout.contains("Floor 95%: met."), "{stdout}");
    for class in heldout::CLASSES {
        assert!(stdout.contains(&format!("  {class} ")), "{class} missing:\n{stdout}");
    }
}

/// A corpus that falls short fails the command, naming what: one case of each class
/// relabelled with a cause its class never has, so every class is below the floor.
#[test]
fn rules_eval_fails_below_its_floor() {
    let dir = tempfile::tempdir().unwrap();
    heldout::generate(dir.path(), 2, 7);
    let mut relabelled = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if !path.to_string_lossy().ends_with(".label.json") {
            continue;
        }
        let mut label: witness::rules::accuracy::Label =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if relabelled.insert(label.class().to_owned()) {
            label.class = Some(label.class().to_owned());
            label.cause = "no_such_cause".into();
            std::fs::write(&path, serde_json::to_vec(&label).unwrap()).unwrap();
        }
    }
    assert_eq!(relabelled.len(), heldout::CLASSES.len());
    // One case, as `rules test` shows it: what fired, and the hypothesis with its cause.
    let case = dir.path().join("bad_deploy-000");
    let shown =
        crate::util::witness(dir.path(), &["rules", "test", "--bundle", case.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success(), "{text}{}", String::from_utf8_lossy(&shown.stderr));
    assert!(text.contains("Fired (") && text.contains("   cause: rollout"), "{text}");
    let out = rules_eval_with_floor(dir.path(), 95);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("Floor 95%: not met"), "{stdout}");
    for class in heldout::CLASSES {
        assert!(stdout.contains(&format!("class {class}: ")), "{class}:\n{stdout}");
    }
}

/// The same corpus from a seed of its own on every run (printed; `WITNESS_HELDOUT_SEED`
/// replays one), fewer variants: nothing tuned to the fixed seed's cases. A class may
/// miss one case in eight here, the whole set no more than 5%; acting on a false alarm or
/// a decoy never.
#[test]
fn the_floors_hold_on_a_random_seed() {
    let seed = std::env::var("WITNESS_HELDOUT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
                as u64
        });
    println!("held-out seed {seed} (WITNESS_HELDOUT_SEED={seed} replays it)");
    assert_floors(seed);
}

/// Random seeds on which a class once fell below its floor, replayed on every run: a busy
/// host whose slowdown began late in the window (its p95 over the whole window diluted);
/// a full disk whose errors began just after a harmless rollout, one of them a logfmt
/// message with escaped quotes; a lock held since before a rollout that only met it; a
/// full disk on a host whose CPU is busy too; a background error seen once in the baseline
/// and 13 times in the window beside other signatures (a rollback on a false alarm); a
/// rollout just over an hour before the alert when the logs could not be read.
#[test]
fn the_floors_hold_on_seeds_that_once_failed() {
    for seed in [
        1_796_150_172_579_731_639,
        59_859,
        1_796_151_540_192_257_475,
        153_090_662,
        45_125_407_954,
        13_272_178_822,
        1_461_468,
    ] {
        assert_floors(seed);
    }
}

/// The random-seed floors: 95 % of the cases, 85 % of each class, nothing harmful.
fn assert_floors(seed: u64) {
    let report = measure(8, seed);
    let rendered = report.render();
    let (right, total) = report.classes.values().fold((0, 0), |(r, t), (cr, ct)| (r + cr, t + ct));
    assert!(right as f64 >= 0.95 * total as f64, "seed {seed}: {right}/{total}\n{rendered}");
    for class in heldout::CLASSES {
        let accuracy = report.accuracy(class).unwrap();
        assert!(
            accuracy >= 0.85,
            "seed {seed}: {class}: {:.1}% top-1\n{rendered}",
            accuracy * 100.0
        );
    }
    assert!(report.harmful.is_empty(), "seed {seed}\n{rendered}");
}
