//! What the pod logs of one Deployment mean. Each container instance's log goes through
//! the logs analysis on its own ([`witness_log_analysis::stream::kubelet`]); their tallies
//! are then added up per pod, per revision, and for the Deployment, whose merged analysis
//! gives the facts, the first error, the new signatures, the error-rate series and the
//! excerpt, as the `logs` kind's files do.
//!
//! Two things only the cluster can tell: the crash output of a crashed instance (its last
//! lines, redacted whole before they are cut), and whether the current revision's pods
//! log errors that the older revision's pods a rollout left running never logged (strong
//! evidence for a bad deploy), or the same errors as they do (evidence against it).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use witness_collector::{ArtifactSink, Event, Facts, FactValue, Redacted, Redactor, Severity};
use witness_log_analysis::analysis::{self, AnalysisData, Coverage, Limits, Place};
use witness_log_analysis::scan::Stop;
use witness_log_analysis::stream;
use witness_log_analysis::timestamp::kubelet;
use witness_log_analysis::{Matchers, Tally};

use super::plan::{Instance, Plan};
use super::{Fetched, Skipped, earliest};

/// Excerpt kept of one container instance's log.
const STREAM_EXCERPT_BYTES: usize = 64 * 1024;
/// Excerpt kept of the Deployment's logs, all pods together.
const DEPLOYMENT_EXCERPT_BYTES: usize = 256 * 1024;
/// Signatures listed per pod and per revision.
const TOP_SIGNATURES: usize = 5;
/// Signatures named in the comparison of revisions (and its fact).
const MAX_COMPARED: usize = 20;
/// Last lines of a crashed instance kept in `data` and its timeline event.
const CRASH_LINES: usize = 20;
const CRASH_LINES_BYTES: usize = 4 * 1024;
/// Tail of a crashed instance's log kept as an artifact.
const CRASH_ARTIFACT_BYTES: usize = 64 * 1024;

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

/// A signature and how often it was seen.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureCount {
    pub signature: Redacted,
    pub count: u64,
    pub baseline_count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RevisionLogs {
    pub revision: Option<i64>,
    pub current: bool,
    pub pods: Vec<String>,
    pub errors: u64,
    pub baseline_errors: u64,
    pub signatures: Vec<SignatureCount>,
}

/// The current revision's pods against those of the older revisions still running.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    pub current_revision: i64,
    pub older_revisions: Vec<i64>,
    /// Errors in the window on the current revision's pods, and on the older ones'.
    pub current_errors: u64,
    pub older_errors: u64,
    /// Signatures the current revision's pods logged in the window and the older
    /// revisions' pods never did (window or baseline).
    pub only_on_current: Vec<Redacted>,
    /// Signatures both logged in the window.
    pub on_both: Vec<Redacted>,
}

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

/// How a crashed instance ended, and what it said last.
#[derive(Debug, Clone, Serialize)]
pub struct Crash {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub exit_code: Option<i32>,
    #[serde(with = "witness_collector::time::millis_opt")]
    pub finished_at: Option<DateTime<Utc>>,
    /// Its last lines (without the kubelet's times), redacted.
    pub last_lines: Redacted,
    /// The artifact with its last lines as served.
    pub artifact: String,
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

/// How often a group of logs had one signature.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    count: u64,
    baseline_count: u64,
    first_seen: Option<DateTime<Utc>>,
}

/// The counts of a group of logs (a pod, a revision).
#[derive(Default)]
struct Counts {
    errors: u64,
    baseline_errors: u64,
    logs: usize,
    signatures: HashMap<Redacted, Seen>,
}

impl Counts {
    fn add(&mut self, tally: &Tally) {
        self.logs += 1;
        self.errors += tally.errors;
        self.baseline_errors += tally.baseline_errors;
        for (signature, s) in &tally.signatures {
            let seen = self.signatures.entry(signature.clone()).or_default();
            seen.count += s.count;
            seen.baseline_count += s.baseline_count;
            seen.first_seen = match (seen.first_seen, s.first_seen) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
    }

    fn top(&self, n: usize) -> Vec<SignatureCount> {
        let mut all: Vec<SignatureCount> = self
            .signatures
            .iter()
            .filter(|(_, seen)| seen.count > 0)
            .map(|(signature, seen)| SignatureCount {
                signature: signature.clone(),
                count: seen.count,
                baseline_count: seen.baseline_count,
            })
            .collect();
        all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.signature.cmp(&b.signature)));
        all.truncate(n);
        all
    }

    /// The signatures seen in the window.
    fn in_window(&self) -> BTreeSet<&Redacted> {
        self.signatures.iter().filter(|(_, seen)| seen.count > 0).map(|(s, _)| s).collect()
    }
}

/// What the evidence should say beside the report: remarks, and what makes it partial.
#[derive(Debug, Default)]
pub struct Notes {
    pub notes: Vec<String>,
    pub partial: Vec<String>,
}

/// The report of one Deployment's pod logs, with the notes the evidence should carry.
pub fn build(input: Input, stop: &Stop) -> (PodLogsReport, Notes) {
    let Input { key, index, plan, fetched, current_revision, anchor, window, matchers, redactor, artifacts } =
        input;
    let base = format!("/data/deployments/{index}/pod_logs");
    let setup = stream::setup(matchers, window, STREAM_EXCERPT_BYTES, redactor.clone());
    let mut notes = Vec::new();
    let mut partial = Vec::new();
    if !plan.left_out.is_empty() {
        notes.push(format!(
            "read the logs of {} of {} pods of {key} (pod_log_max_pods); not read: {}",
            plan.pods.len(),
            plan.pods.len() + plan.left_out.len(),
            plan.left_out.join(", ")
        ));
    }

    let mut deployment = Tally::new(setup.span, DEPLOYMENT_EXCERPT_BYTES);
    let mut coverage = Coverage::default();
    let mut pods: Vec<PodLogs> = plan
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
    let mut pod_counts: Vec<Counts> = plan.pods.iter().map(|_| Counts::default()).collect();
    let mut revision_counts: BTreeMap<Option<i64>, Counts> = BTreeMap::new();
    let mut previous_errors = 0;
    let mut logs_read = 0;
    let mut bytes_read = 0;
    let mut events = Vec::new();

    for f in &fetched {
        let Some(p) = plan.pods.iter().position(|p| p.name == f.stream.pod) else { continue };
        bytes_read += f.bytes();
        let label = f.stream.label();
        let mut log = ContainerLog {
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
        };
        if let Some(w) = f.window.as_ref().filter(|w| w.cut) {
            notes.push(format!(
                "the log of {label} was cut at {} bytes (pod_log_max_bytes): its later lines were not read{}",
                w.bytes.len() + w.partial_dropped,
                if w.partial_dropped > 0 { ", and the partial line at the cut was dropped" } else { "" }
            ));
        }
        if f.skipped == Some(Skipped::Deadline) {
            partial.push(format!("the log of {label} was {}", Skipped::Deadline.reason()));
        }
        let Some(body) = assemble(f, window.start) else {
            pods[p].containers.push(log);
            continue;
        };
        logs_read += 1;
        let read = stream::kubelet(&setup, &label, &body, stop);
        log.format = Some(read.format.name());
        log.errors = read.tally.errors;
        log.baseline_errors = read.tally.baseline_errors;
        if let Some(e) = earliest(f, read.first) {
            coverage.earliest = Some(coverage.earliest.map_or(e, |c| c.min(e)));
        }
        coverage.latest = coverage.latest.max(read.newest);
        if f.stream.instance == Instance::Previous {
            previous_errors += read.tally.errors;
            let c = pods[p].containers.len();
            let pointer = format!("{base}/pods/{p}/containers/{c}/crash");
            let (crash, event) =
                crash(f, &body, &key, &pointer, (&redactor, &setup.matchers), &artifacts);
            log.crash = Some(crash);
            events.extend(event);
        }
        pod_counts[p].add(&read.tally);
        revision_counts.entry(plan.pods[p].revision).or_default().add(&read.tally);
        deployment.merge(read.tally);
        pods[p].containers.push(log);
    }
    for (pod, counts) in pods.iter_mut().zip(&pod_counts) {
        pod.errors = counts.errors;
        pod.baseline_errors = counts.baseline_errors;
        pod.signatures = counts.top(TOP_SIGNATURES);
    }

    let revisions: Vec<RevisionLogs> = revision_counts
        .iter()
        .rev()
        .map(|(revision, counts)| RevisionLogs {
            revision: *revision,
            current: revision.is_some() && *revision == current_revision,
            pods: plan.pods.iter().filter(|p| p.revision == *revision).map(|p| p.name.clone()).collect(),
            errors: counts.errors,
            baseline_errors: counts.baseline_errors,
            signatures: counts.top(TOP_SIGNATURES),
        })
        .collect();
    let comparison = compare(&revision_counts, current_revision);

    let mut facts = Facts::new();
    facts.insert("pod_logs_read".into(), logs_read.into());
    let mut summary = "pod logs: none read".to_owned();
    let mut analysis_data = None;
    if logs_read > 0 {
        let excerpt = format!("{key}/pod-logs/excerpt.log");
        let pointer = format!("{base}/analysis");
        let place = Place { pointer: &pointer, artifact: &excerpt, source: None };
        let limits =
            Limits { max_excerpt_bytes: DEPLOYMENT_EXCERPT_BYTES, max_line_bytes: setup.max_line_bytes };
        let a = analysis::analyse(&deployment, coverage, anchor, limits, &redactor, place);
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
        facts.insert("previous_log_errors".into(), previous_errors.into());
        if let Some(text) = a.excerpt {
            artifacts.put(excerpt, text.into_string().into_bytes());
        }
        notes.extend(a.notes.into_iter().map(|n| format!("pod logs of {key}: {n}")));
        partial.extend(a.partial.into_iter().map(|n| format!("pod logs of {key}: {n}")));
        summary = summary_of(&facts);
        events.extend(a.events);
        analysis_data = Some(a.data);
    }
    if let Some(c) = &comparison {
        facts.insert("new_revision_errors".into(), c.current_errors.into());
        facts.insert("old_revision_errors".into(), c.older_errors.into());
        facts.insert("errors_only_on_new_revision".into(), (!c.only_on_current.is_empty()).into());
        facts.insert("errors_on_both_revisions".into(), (!c.on_both.is_empty()).into());
        let only: Vec<String> = c.only_on_current.iter().map(ToString::to_string).collect();
        facts.insert("new_revision_only_signatures".into(), FactValue::from(only));
        let current = c.current_revision;
        if let Some(event) = revision_counts
            .get(&Some(current))
            .and_then(|counts| comparison_event(c, counts, &key, &base))
        {
            events.push(event);
        }
        if !c.only_on_current.is_empty() {
            summary.push_str(&format!(
                ", errors only on revision {}'s pods ({} signature(s))",
                c.current_revision,
                c.only_on_current.len()
            ));
        } else if !c.on_both.is_empty() {
            summary.push_str(", the same errors on the older revision's pods");
        }
    } else if logs_read > 0 && current_revision.is_some() {
        notes.push(format!(
            "pod logs of {key}: no pod of an older revision was read, so the current revision's errors are not compared with an older one's"
        ));
    }
    let report = PodLogsReport {
        logs_read,
        bytes_read,
        analysis: analysis_data,
        revisions,
        comparison,
        pods,
        pods_not_read: plan.left_out,
        facts,
        events,
        summary,
    };
    (report, Notes { notes, partial })
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

/// The crash output of a crashed instance: its last lines, redacted whole first (a secret
/// over several lines is found whole), kept in `data`, an artifact and a timeline event.
fn crash(
    f: &Fetched,
    body: &[u8],
    key: &str,
    pointer: &str,
    (redactor, matchers): (&Redactor, &Matchers),
    artifacts: &ArtifactSink,
) -> (Crash, Option<Event>) {
    let redacted = witness_log_analysis::redact::text(redactor, body);
    let text = redacted.as_str();
    let tail_from = |max_lines: usize, max_bytes: usize| {
        let mut from = text.len();
        for _ in 0..=max_lines {
            match text[..from.saturating_sub(1)].rfind('\n') {
                Some(i) if text.len() - (i + 1) <= max_bytes => from = i + 1,
                Some(_) => break,
                None => {
                    if text.len() <= max_bytes {
                        from = 0;
                    }
                    break;
                }
            }
        }
        from
    };
    let artifact = format!("{key}/pod-logs/{}/{}.previous.log", f.stream.pod, f.stream.container);
    let from = tail_from(usize::MAX, CRASH_ARTIFACT_BYTES);
    artifacts.put(artifact.clone(), redacted.map(|t| t[from..].to_owned()).into_string().into_bytes());
    let from = tail_from(CRASH_LINES, CRASH_LINES_BYTES);
    // The container's lines, without the kubelet's times: tokens hold no newline, so each
    // line of the redacted text is redacted text.
    let last_lines = redacted.map(|t| {
        t[from..]
            .lines()
            .map(|l| &l[kubelet::content_start(l.as_bytes())..])
            .collect::<Vec<_>>()
            .join("\n")
    });
    let termination = f.stream.termination.as_ref();
    let crash = Crash {
        reason: termination.and_then(|t| t.reason.clone()),
        exit_code: termination.map(|t| t.exit_code),
        finished_at: termination.and_then(|t| t.finished_at),
        last_lines: last_lines.clone(),
        artifact: artifact.clone(),
    };
    let time = crash.finished_at.or_else(|| {
        body.split(|c| *c == b'\n').rev().find_map(kubelet::time_of)
    });
    let event = time.map(|time| {
        // The last line that reads as an error (`panic: …`), else the last line.
        let is_error = |l: &&str| matchers.patterns.as_ref().is_some_and(|p| p.is_match(l.as_bytes()));
        let last = last_lines.map(|t| {
            let lines = || t.lines().rev().filter(|l| !l.trim().is_empty());
            lines().find(is_error).or_else(|| lines().next()).unwrap_or_default().to_owned()
        });
        let how = match (&crash.reason, crash.exit_code) {
            (Some(reason), Some(code)) => format!(" ({reason}, exit {code})"),
            (None, Some(code)) => format!(" (exit {code})"),
            _ => String::new(),
        };
        Event::new(
            time,
            "crash_output",
            format!(
                "Crash output of pod {} container {}{how}: {}",
                f.stream.pod,
                f.stream.container,
                if last.as_str().is_empty() { Redacted::generated("(no output)") } else { last.truncate(200) }
            ),
        )
        .detail(last_lines.clone())
        .severity(Severity::Critical)
        .signature(format!("crash_output:{key}:{}", f.stream.container))
        .pointer(pointer.to_owned())
        .artifact(artifact)
    });
    (crash, event)
}

/// The current revision's pods against the older revisions' pods, when both were read.
fn compare(
    revisions: &BTreeMap<Option<i64>, Counts>,
    current_revision: Option<i64>,
) -> Option<Comparison> {
    let current_revision = current_revision?;
    let current = revisions.get(&Some(current_revision)).filter(|c| c.logs > 0)?;
    let older: Vec<(i64, &Counts)> = revisions
        .iter()
        .filter_map(|(r, c)| Some(((*r)?, c)))
        .filter(|(r, c)| *r != current_revision && c.logs > 0)
        .collect();
    if older.is_empty() {
        return None;
    }
    let seen_before: BTreeSet<&Redacted> = older
        .iter()
        .flat_map(|(_, c)| {
            c.signatures.iter().filter(|(_, seen)| seen.count + seen.baseline_count > 0)
        })
        .map(|(s, _)| s)
        .collect();
    let older_window: BTreeSet<&Redacted> = older.iter().flat_map(|(_, c)| c.in_window()).collect();
    let by_count = |set: Vec<&Redacted>| {
        let mut set: Vec<(&Redacted, u64)> =
            set.into_iter().map(|s| (s, current.signatures.get(s).map_or(0, |c| c.count))).collect();
        set.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        set.into_iter().take(MAX_COMPARED).map(|(s, _)| s.clone()).collect::<Vec<_>>()
    };
    let mine = current.in_window();
    Some(Comparison {
        current_revision,
        older_revisions: older.iter().map(|(r, _)| *r).collect(),
        current_errors: current.errors,
        older_errors: older.iter().map(|(_, c)| c.errors).sum(),
        only_on_current: by_count(mine.iter().copied().filter(|s| !seen_before.contains(s)).collect()),
        on_both: by_count(mine.iter().copied().filter(|s| older_window.contains(s)).collect()),
    })
}

/// The timeline event of errors only on the current revision's pods, when the first of
/// them was logged.
fn comparison_event(c: &Comparison, current: &Counts, key: &str, base: &str) -> Option<Event> {
    let top = c.only_on_current.first()?;
    let first = c
        .only_on_current
        .iter()
        .filter_map(|s| current.signatures.get(s)?.first_seen)
        .min()?;
    let more = match c.only_on_current.len() {
        1 => String::new(),
        n => format!(" (+{} more)", n - 1),
    };
    let older: Vec<String> = c.older_revisions.iter().map(ToString::to_string).collect();
    Some(
        Event::new(
            first,
            "revision_errors",
            format!("Errors only on revision {}'s pods of {key}: {top}{more}", c.current_revision),
        )
        .detail(format!(
            "revision {}: {} errors in the window; revision(s) {}: {} errors, none of these signatures",
            c.current_revision,
            c.current_errors,
            older.join(", "),
            c.older_errors
        ))
        .severity(Severity::Critical)
        .signature(format!("revision_errors:{key}:{}", c.current_revision))
        .pointer(format!("{base}/comparison")),
    )
}
