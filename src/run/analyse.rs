//! Analysis, the step of a run between gathering and sealing: one pure function from what
//! was gathered and the loaded rule set to the run's view — the timeline, the ranked
//! hypotheses and the impact. No I/O, no clock: the same evidence and rules give the same
//! view. `collect`, the daemon, `rules test --bundle` and the tests all call [`analyse`].

use chrono::{DateTime, Utc};
use witness_collector::Window;

use super::durations::Durations;
use super::impact::impact;
use super::view::{BundleInfo, RunView};
use crate::bundle::layout::CollectorRecord;
use crate::rules::eval;
use crate::rules::rule::RuleSet;
use crate::timeline;
use crate::trigger::Trigger;

/// What gathering left for analysis.
pub struct Gathered {
    pub trigger: Trigger,
    /// The moment the run is about.
    pub anchor: DateTime<Utc>,
    pub window: Window,
    /// One record per planned collector instance, in plan order.
    pub records: Vec<CollectorRecord>,
}

/// The view of a run: its timeline, the hypotheses `rules` rank over its evidence, and its
/// impact, with `bundle` describing the bundle the view belongs to.
pub fn analyse(gathered: Gathered, rules: &RuleSet, bundle: BundleInfo) -> RunView {
    let Gathered { trigger, anchor, window, records } = gathered;
    let timeline = timeline::build(&trigger, anchor, window, &records);
    let evaluation = eval::evaluate(rules, &records, &timeline);
    let BundleInfo { id, files, signed, manifest } = bundle;
    RunView {
        durations: Durations::of_incident(&id, &timeline),
        follow_up: None,
        id,
        anchor,
        window,
        impact: impact(&records),
        severity: None,
        trigger,
        records,
        timeline,
        evaluation,
        manifest,
        files,
        signed,
    }
}
