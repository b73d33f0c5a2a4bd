//! What the pod logs of one Deployment mean. Each container instance's log goes through
//! the logs analysis on its own ([`witness_log_analysis::stream::kubelet`]); their tallies
//! are then added up per pod, per revision, and for the Deployment, whose merged analysis
//! gives the facts, the first error, the new signatures, the error-rate series and the
//! excerpt, as the `logs` kind's files do.
//!
//! Two things only the cluster can tell: the crash output of a crashed instance
//! ([`super::crash`]), and whether the current revision's pods log errors that the older
//! revision's pods a rollout left running never logged, or the same errors as they do
//! ([`super::compare`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use witness_collector::{ArtifactSink, Event, FactValue, Facts, Redactor};
use witness_log_analysis::analysis::{self, AnalysisData, Coverage, Limits, Place};
use witness_log_analysis::scan::{Setup, Stop};
use witness_log_analysis::stream;
use witness_log_analysis::timestamp::kubelet;
use witness_log_analysis::{Matchers, Tally};

use super::compare::{self, Comparison, Counts, RevisionLogs, SignatureCount};
use super::crash::{self, Crash};
use super::plan::{Instance, Plan};
use super::{Fetched, Skipped, earliest};

/// Excerpt kept of one container instance's log.
const STREAM_EXCERPT_BYTES: usize = 64 * 1024;
/// Excerpt kept of the Deployment's logs, all pods together.
const DEPLOYMENT_EXCERPT_BYTES: usize = 256 * 1024;

/// The pod logs of one Deployment, as `data.deployments[N].pod_logs` shows them.
#[derive(Debug, Clone, Serialize)]
pub struct PodLogsReport {
    /// Container instance logs read (a current and a previous instance count apart).
    pub logs_read: usize,
    pub bytes_read: u64,
    /// Every log read, through the logs analysis: window, baseline, per-minute `series`,
    /// `first_error`, `signatures` (new against the baseline), `excerpt`. `null` when no
    /// log could be read.
    pub analysis: Option<AnalysisData>,
    /// Per revision: its pods, their errors and most frequent signatures.
    pub revisions: Vec<RevisionLogs>,
    /// The current revision's pods against the older revisions' (when both were read).
    pub comparison: Option<Comparison>,
    pub pods: Vec<PodLogs>,
    /// Pods whose logs were not read (`pod_log_max_pods`).
    pub pods_not_read: Vec<String>,
    /// Facts by the name they take after `kubernetes.` (for the Deployment the facts
    /// describe).
    #[serde(skip)]
    pub facts: Facts,
    #[serde(skip)]
    pub events: Vec<Event>,
    /// What the summary line says of the logs.
    #[serde(skip)]
    pub summary: String,
}

/// One pod whose logs were read.
#[derive(Debug, Clone, Serialize)]
pub struct PodLogs {
    pub pod: String,
    pub revision: Option<i64>,
    pub errors: u64,
    pub baseline_errors: u64,
    pub signatures: Vec<SignatureCount>,
    pub containers: Vec<ContainerLog>,
    /// Containers without a log, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub without_log: Vec<String>,
}

/// One container instance's log.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerLog {
    pub container: String,
    pub instance: Instance,
    /// The format detected (`kubelet timestamps (json (ts))`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    pub bytes_read: u64,
    /// The window's read reached `pod_log_max_bytes`; its later lines were not read.
    pub cut: bool,
    /// How the baseline was read: `read`, or why not.
    pub baseline: String,
    pub errors: u64,
    pub baseline_errors: u64,
    /// No log, or why it was not read (the kubelet's word, a cap, a failed call).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash: Option<Crash>,
}

/// What the report of one Deployment's pod logs needs.
pub struct Input {
    /// `namespace/deployment`.
    pub key: String,
    /// The Deployment's index in `data.deployments`.
    pub index: usize,
    pub plan: Plan,
    pub fetched: Vec<Fetched>,
    pub current_revision: Option<i64>,
    pub anchor: DateTime<Utc>,
    pub window: witness_collector::Window,
    pub matchers: Matchers,
    pub redactor: Redactor,
    pub artifacts: ArtifactSink,
}

/// What the evidence should say beside the report: remarks, and what makes it partial.
#[derive(Debug, Default)]
pub struct Notes {
    pub notes: Vec<String>,
    pub partial: Vec<String>,
}

/// The report of one Deployment's pod logs, with the notes the evidence should carry.
pub fn build(input: Input, stop: &Stop) -> (PodLogsReport, Notes) {
    let base = format!("/data/deployments/{}/pod_logs", input.index);
    let setup = stream::setup(
        input.matchers.clone(),
        input.window,
        STREAM_EXCERPT_BYTES,
        input.redactor.clone(),
    );
    let mut read = Reading::new(&input, &setup);
    if !input.plan.left_out.is_empty() {
        read.notes.notes.push(format!(
            "read the logs of {} of {} pods of {} (pod_log_max_pods); not read: {}",
            input.plan.pods.len(),
            input.plan.pods.len() + input.plan.left_out.len(),
            input.key,
            input.plan.left_out.join(", ")
        ));
    }
    for f in &input.fetched {
        read.add(f, &input, &base, stop);
    }
    let Reading { mut pods, pod_counts, revision_counts, mut totals, mut events, mut notes, .. } =
        read;
    for (pod, counts) in pods.iter_mut().zip(&pod_counts) {
        pod.errors = counts.errors;
        pod.baseline_errors = counts.baseline_errors;
        pod.signatures = counts.top(compare::TOP_SIGNATURES);
    }
    let key = &input.key;
    let mut facts = Facts::new();
    facts.insert("pod_logs_read".into(), totals.logs_read.into());
    let mut summary = "pod logs: none read".to_owned();
    let mut analysis_data = None;
    if totals.logs_read > 0 {
        let excerpt = format!("{key}/pod-logs/excerpt.log");
        let pointer = format!("{base}/analysis");
        let place = Place { pointer: &pointer, artifact: &excerpt };
        let limits = Limits {
            max_excerpt_bytes: DEPLOYMENT_EXCERPT_BYTES,
            max_line_bytes: setup.max_line_bytes,
        };
        let a = analysis::analyse(
            &totals.tally,
            totals.coverage,
            input.anchor,
            limits,
            &input.redactor,
            place,
        );
        for (from, to) in [
            ("error_count", "pod_log_error_count"),
            ("error_rate_ratio", "pod_log_error_rate_ratio"),
            ("new_signatures", "pod_log_new_signatures"),
            ("new_signature_messages", "pod_log_new_signature_messages"),
            ("new_error_count", "pod_log_new_error_count"),
            ("first_error_offset_secs", "pod_log_first_error_offset_secs"),
            ("first_new_error_offset_secs", "pod_log_first_new_error_offset_secs"),
        ] {
            if let Some(value) = a.facts.get(from) {
                facts.insert(to.into(), value.clone());
            }
        }
        facts.insert("previous_log_errors".into(), totals.previous_errors.into());
        if let Some(text) = a.excerpt {
            input.artifacts.put(excerpt, text.into_string().into_bytes());
        }
        let of = |n: String| format!("pod logs of {key}: {n}");
        notes.notes.extend(a.notes.into_iter().map(of));
        notes.partial.extend(a.partial.into_iter().map(of));
        summary = summary_of(&facts);
        events.extend(a.events);
        analysis_data = Some(a.data);
    }
    let comparison = compare::compare(&revision_counts, input.current_revision);
    if let Some(c) = &comparison {
        facts.insert("new_revision_errors".into(), c.current_errors.into());
        facts.insert("old_revision_errors".into(), c.older_errors.into());
        facts.insert("errors_only_on_new_revision".into(), (!c.only_on_current.is_empty()).into());
        facts.insert("errors_on_both_revisions".into(), (!c.on_both.is_empty()).into());
        let only: Vec<String> = c.only_on_current.iter().map(ToString::to_string).collect();
        facts.insert("new_revision_only_signatures".into(), FactValue::from(only));
        let current = revision_counts.get(&Some(c.current_revision));
        events.extend(current.and_then(|counts| compare::comparison_event(c, counts, key, &base)));
        if !c.only_on_current.is_empty() {
            summary.push_str(&format!(
                ", errors only on revision {}'s pods ({} signature(s))",
                c.current_revision,
                c.only_on_current.len()
            ));
        } else if !c.on_both.is_empty() {
            summary.push_str(", the same errors on the older revision's pods");
        }
    } else if totals.logs_read > 0 && input.current_revision.is_some() {
        notes.notes.push(format!(
            "pod logs of {key}: no pod of an older revision was read, so the current revision's errors are not compared with an older one's"
        ));
    }
    let report = PodLogsReport {
        logs_read: totals.logs_read,
        bytes_read: std::mem::take(&mut totals.bytes_read),
        analysis: analysis_data,
        revisions: compare::revisions(&revision_counts, &input.plan, input.current_revision),
        comparison,
        pods,
        pods_not_read: input.plan.left_out.clone(),
        facts,
        events,
        summary,
    };
    (report, notes)
}

/// What the logs of a Deployment add up to, for the analysis of them all.
struct Totals {
    tally: Tally,
    coverage: Coverage,
    logs_read: usize,
    bytes_read: u64,
    /// Errors in the window in crashed instances' logs.
    previous_errors: u64,
}

/// The logs read so far, added up per pod, per revision and in all.
struct Reading<'a> {
    setup: &'a Setup,
    pods: Vec<PodLogs>,
    pod_counts: Vec<Counts>,
    revision_counts: BTreeMap<Option<i64>, Counts>,
    totals: Totals,
    events: Vec<Event>,
    notes: Notes,
}

impl<'a> Reading<'a> {
    fn new(input: &Input, setup: &'a Setup) -> Self {
        let pods = input
            .plan
            .pods
            .iter()
            .map(|p| PodLogs {
                pod: p.name.clone(),
                revision: p.revision,
                errors: 0,
                baseline_errors: 0,
                signatures: Vec::new(),
                containers: Vec::new(),
                without_log: p.without_log.clone(),
            })
            .collect();
        Self {
            setup,
            pods,
            pod_counts: input.plan.pods.iter().map(|_| Counts::default()).collect(),
            revision_counts: BTreeMap::new(),
            totals: Totals {
                tally: Tally::new(setup.span, DEPLOYMENT_EXCERPT_BYTES),
                coverage: Coverage::default(),
                logs_read: 0,
                bytes_read: 0,
                previous_errors: 0,
            },
            events: Vec::new(),
            notes: Notes::default(),
        }
    }

    /// Adds what one container instance's read gave.
    fn add(&mut self, f: &Fetched, input: &Input, base: &str, stop: &Stop) {
        let Some(p) = input.plan.pods.iter().position(|p| p.name == f.stream.pod) else { return };
        let label = f.stream.label();
        self.totals.bytes_read += f.bytes();
        let mut log = container_log(f);
        if let Some(w) = f.window.as_ref().filter(|w| w.cut) {
            self.notes.notes.push(format!(
                "the log of {label} was cut at {} bytes (pod_log_max_bytes): its later lines were not read{}",
                w.bytes.len() + w.partial_dropped,
                if w.partial_dropped > 0 { ", and the partial line at the cut was dropped" } else { "" }
            ));
        }
        if f.skipped == Some(Skipped::Deadline) {
            self.notes.partial.push(format!("the log of {label} was {}", Skipped::Deadline.reason()));
        }
        let Some(body) = assemble(f, input.window.start) else {
            self.pods[p].containers.push(log);
            return;
        };
        self.totals.logs_read += 1;
        let read = stream::kubelet(self.setup, &label, &body, stop);
        log.format = Some(read.format.name());
        log.errors = read.tally.errors;
        log.baseline_errors = read.tally.baseline_errors;
        let coverage = &mut self.totals.coverage;
        if let Some(e) = earliest(f, read.first) {
            coverage.earliest = Some(coverage.earliest.map_or(e, |c| c.min(e)));
        }
        coverage.latest = coverage.latest.max(read.newest);
        if f.stream.instance == Instance::Previous {
            self.totals.previous_errors += read.tally.errors;
            let pointer = format!("{base}/pods/{p}/containers/{}/crash", self.pods[p].containers.len());
            let (crash, event) = crash::crash(
                f,
                &body,
                &input.key,
                &pointer,
                (&input.redactor, &self.setup.matchers),
                &input.artifacts,
            );
            log.crash = Some(crash);
            self.events.extend(event);
        }
        self.pod_counts[p].add(&read.tally);
        self.revision_counts.entry(input.plan.pods[p].revision).or_default().add(&read.tally);
        self.totals.tally.merge(read.tally);
        self.pods[p].containers.push(log);
    }
}

/// A container instance's log as `data` shows it, before its lines are read.
fn container_log(f: &Fetched) -> ContainerLog {
    ContainerLog {
        container: f.stream.container.clone(),
        instance: f.stream.instance,
        format: None,
        bytes_read: f.bytes(),
        cut: f.window.as_ref().is_some_and(|w| w.cut),
        baseline: match (&f.baseline, &f.baseline_note) {
            (_, Some(note)) => note.clone(),
            (Some(_), None) => "read".to_owned(),
            (None, None) => "not read".to_owned(),
        },
        errors: 0,
        baseline_errors: 0,
        note: f
            .absent
            .clone()
            .or_else(|| f.skipped.map(|s| s.reason().to_owned()))
            .or_else(|| f.error.as_ref().map(|e| format!("not read: {e}"))),
        crash: None,
    }
}

/// `pod logs: 9 errors in the window (×2.25 the baseline), 2 new signature(s)`.
fn summary_of(facts: &Facts) -> String {
    let number = |name: &str| facts.get(name).and_then(FactValue::as_f64);
    let mut text = match number("pod_log_error_count") {
        Some(n) if n > 0.0 => format!("pod logs: {n} errors in the window"),
        _ => "pod logs: no errors in the window".to_owned(),
    };
    if let Some(ratio) = number("pod_log_error_rate_ratio") {
        text.push_str(&format!(" (×{ratio} the baseline)"));
    }
    if let Some(new) = number("pod_log_new_signatures").filter(|n| *n > 0.0) {
        text.push_str(&format!(", {new} new signature(s)"));
    }
    text
}

/// The lines of one instance in time order: the baseline's, then the window's (less the
/// lines of the second `sinceTime` was rounded down into, which the baseline has), then
/// the last lines of a crashed instance that come after where the window's read was cut.
fn assemble(f: &Fetched, window_start: DateTime<Utc>) -> Option<Vec<u8>> {
    let window = f.window.as_ref()?;
    let mut body = f.baseline.as_ref().map(|b| b.bytes.clone()).unwrap_or_default();
    if !body.is_empty() && !body.ends_with(b"\n") {
        body.push(b'\n');
    }
    let lines = window.bytes.split_inclusive(|c| *c == b'\n');
    let mut last = None;
    for line in lines.skip_while(|l| kubelet::time_of(l).is_some_and(|t| t < window_start)) {
        last = kubelet::time_of(line).or(last);
        body.extend_from_slice(line);
    }
    if let Some(tail) = &f.tail {
        if !body.is_empty() && !body.ends_with(b"\n") {
            body.push(b'\n');
        }
        for line in tail.bytes.split_inclusive(|c| *c == b'\n') {
            if kubelet::time_of(line).is_some_and(|t| last.is_none_or(|l| t > l)) {
                body.extend_from_slice(line);
            }
        }
    }
    Some(body)
}

