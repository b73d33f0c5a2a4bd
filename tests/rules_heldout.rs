//! Issue 15: the rules measured on a held-out corpus (`tests/util/heldout.rs`), generated
//! apart from the rules and from the corpus they were tuned with: other wordings, log
//! formats, timings and noise. Run with `--nocapture` for the figures the README quotes.

use witness::rules::Likelihood;
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
    let (cases, unlabelled) =
        witness::commands::rules::eval_cases(&dir, &scenario::BUILTIN_RULES).unwrap();
    assert_eq!((cases.len(), unlabelled), (heldout::CLASSES.len() * variants as usize, 0));
    Report::of(&cases)
}

/// Floors: every class ≥ 95% top-1, a false alarm or a decoy deploy never recommends a
/// rollback or a scale-up, and a `high` top hypothesis is right ≥ 95% of the time.
fn assert_floors(report: &Report) {
    let rendered = report.render();
    for class in heldout::CLASSES {
        let accuracy = report.accuracy(class).unwrap();
        assert!(accuracy >= 0.95, "{class}: {:.1}% top-1\n{rendered}", accuracy * 100.0);
    }
    assert!(report.harmful.is_empty(), "{rendered}");
    if let Some(high) = report.calibrated(Likelihood::High) {
        assert!(high >= 0.95, "high right {:.1}%\n{rendered}", high * 100.0);
    }
}

#[test]
fn the_rules_meet_their_floors_on_the_held_out_corpus() {
    let report = measure(25, 2026);
    println!("{}", report.render());
    assert_floors(&report);
}
