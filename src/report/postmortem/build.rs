//! From a sealed bundle (and its follow-up) to the [`Draft`]: each section of the template
//! filled in from what the bundle holds, each statement with the refs that resolved.
//!
//! What counts as "went well" or "could improve" is measured against fixed bounds
//! ([`DETECT_WELL_SECS`], [`MITIGATE_WELL_SECS`], [`RESOLVE_WELL_SECS`]); the action
//! items are derived from the cause the top hypothesis names ([`actions_for`]).

use witness_collector::FactValue;
use witness_collector::time::{format as utc, offset_label};

use super::draft::{Block, Cite, Draft, Line, Row, Section, action, blank, fact, row};
use super::source::Sealed;
use crate::bundle::layout::{CollectorRecord, HYPOTHESES, MANIFEST, SEVERITY, TIMELINE, TRIGGER};
use crate::report::words::{likelihood_words, recommendation_words, title};
use crate::rules::{Hypothesis, Likelihood};
use crate::run::durations::{Durations, label};
use crate::run::follow_up::CheckStatus;
use crate::timeline::{EvidenceRef, TimelineEntry};
use crate::trigger::{Trigger, TriggerSource};

/// Where the alert came from: `alertmanager alert HighErrorRate`, `manual run (collect
/// now)`.
fn detection(trigger: &Trigger) -> String {
    match trigger.source {
        TriggerSource::Manual => format!("manual run ({})", trigger.name),
        source => format!("{} alert {}", source.as_str(), trigger.name),
    }
}

/// An alert at most this long after the first new symptom detected it well.
pub const DETECT_WELL_SECS: i64 = 300;
/// A mitigation at most this long after the alert went well.
pub const MITIGATE_WELL_SECS: i64 = 900;
/// A resolution at most this long after the alert went well.
pub const RESOLVE_WELL_SECS: i64 = 3600;
/// At most this many timeline rows; the rest are counted and cited.
const TIMELINE_ROWS: usize = 40;

/// Whether a timeline kind is a symptom (not a change): the ones durations times, and the
/// background it is told from.
fn is_symptom(kind: &str) -> bool {
    crate::run::durations::SYMPTOMS.contains(&kind) || matches!(kind, "error_spike" | "first_error")
}

/// Facts that make an incident worse or likelier, when they hold: (fact, what it says).
const CONTRIBUTING: &[(&str, &str)] = &[
    ("kubernetes.hpa_at_max", "The autoscaler was at its ceiling"),
    ("kubernetes.rollout_stuck", "The rollout was stuck"),
    ("kubernetes.crashloop_pods", "Pods were crash-looping"),
    ("kubernetes.oom_kills_in_window", "Containers were killed for running out of memory"),
    ("git.deployed_has_migration", "The deployed change included a database migration"),
    ("host.cpu_saturated", "The host's CPU was saturated"),
    ("host.mem_saturated", "The host's memory was saturated"),
    ("postgres.root_blocker_idle_in_transaction", "The blocking session sat idle in a transaction"),
    ("postgres.root_blocker_runs_ddl", "The blocking session ran DDL"),
    ("postgres.deadlocks_delta", "The database reported deadlocks"),
    ("status_page.degraded", "A vendor's status page reported degraded service"),
    ("prometheus.queries_failed", "Metric queries failed"),
];

/// Builds the draft of `incident`, with its `follow_up` when there is one.
pub fn build(incident: &Sealed, follow_up: Option<&Sealed>) -> Draft {
    let b = Builder { i: incident, f: follow_up };
    let mut sections = vec![
        b.metadata(),
        b.summary(),
        b.impact(),
        b.timeline(),
        b.root_cause(),
        b.five_whys(),
        b.contributing(),
    ];
    sections.extend(b.verification());
    sections.extend([b.went_well(), b.could_improve(), b.actions(), b.ruled_out()]);
    Draft { title: title(incident.view), provenance: b.provenance(), sections }
}

struct Builder<'a> {
    i: &'a Sealed<'a>,
    f: Option<&'a Sealed<'a>>,
}

fn section(id: &'static str, title: &'static str, blocks: Vec<Block>) -> Section {
    Section { id, title, blocks: blocks.into_iter().filter(|b| !is_empty(b)).collect() }
}

fn is_empty(block: &Block) -> bool {
    match block {
        Block::Paragraph(lines) | Block::Bullets(lines) | Block::Steps(lines) => lines.is_empty(),
        Block::Table { rows, .. } => rows.is_empty(),
        Block::Subheading(_) => false,
    }
}

fn fact_text(value: &FactValue) -> String {
    match value {
        FactValue::Bool(b) => b.to_string(),
        FactValue::Int(n) => n.to_string(),
        FactValue::Float(x) => format!("{x:.2}"),
        FactValue::Text(t) => t.clone(),
        FactValue::List(items) => items.iter().map(fact_text).collect::<Vec<_>>().join(", "),
    }
}

/// Whether a fact says something holds: true, a positive number, a non-empty list.
fn holds(value: &FactValue) -> bool {
    match value {
        FactValue::Bool(b) => *b,
        FactValue::Int(n) => *n > 0,
        FactValue::Float(x) => *x > 0.0,
        FactValue::Text(t) => !t.is_empty(),
        FactValue::List(items) => !items.is_empty(),
    }
}

impl Builder<'_> {
    fn view(&self) -> &crate::run::RunView {
        self.i.view
    }

    fn top(&self) -> Option<&Hypothesis> {
        self.view().evaluation.hypotheses.first()
    }

    fn hyp(&self, pointer: impl Into<String>) -> Option<Cite> {
        self.i.cite_at(HYPOTHESES, pointer)
    }

    /// The first instance with evidence that has fact `name`, and its value.
    fn fact(&self, name: &str) -> Option<(&CollectorRecord, &FactValue)> {
        self.view()
            .records
            .iter()
            .filter(|r| r.status().has_evidence())
            .find_map(|r| r.evidence.facts.get(name).map(|v| (r, v)))
    }

    /// What `r` holds: the title of the timeline entry it stands behind, else what the
    /// bundle holds there.
    fn describe(&self, r: &EvidenceRef) -> Option<String> {
        let entry = self.view().timeline.entries.iter().find(|e| &e.evidence == r);
        entry.map(|e| format!("{} ({})", e.title, utc(e.time))).or_else(|| self.i.describe(r))
    }

    fn fact_cite(&self, record: &CollectorRecord, name: &str) -> Option<Cite> {
        self.i.cite(&EvidenceRef::into_record(record, format!("/facts/{name}")))
    }

    /// The durations the draft can tell: the follow-up's (complete) or the incident's.
    fn durations(&self) -> &Durations {
        self.f.map_or(&self.view().durations, |f| &f.view.durations)
    }

    fn fu_cite(&self, pointer: &str) -> Option<Cite> {
        self.f.and_then(|f| f.cite_at(crate::bundle::layout::FOLLOW_UP, pointer))
    }

    fn provenance(&self) -> Vec<Line> {
        let root = self.view().manifest.as_ref().map(|m| m.root_sha256.as_str()).unwrap_or("?");
        let mut lines: Vec<Line> = fact(
            format!(
                "Drafted by witness from bundle {}, verified first (every file's hash and the root hash {root})",
                self.view().id
            ),
            [self.i.cite_at(MANIFEST, "/root_sha256")],
        )
        .into_iter()
        .collect();
        if let Some(f) = self.f {
            let froot = f.view.manifest.as_ref().map(|m| m.root_sha256.as_str()).unwrap_or("?");
            lines.extend(fact(
                format!(
                    "With its follow-up {} (root hash {froot}), verified too, which names this bundle by id and root hash",
                    f.view.id
                ),
                [f.cite_at(MANIFEST, "/follows")],
            ));
        }
        lines
    }

    fn metadata(&self) -> Section {
        let view = self.view();
        let mut rows = Vec::new();
        let mut missing = Vec::new();
        let cell = |s: &str| s.to_owned();
        rows.extend(row(
            vec![cell("incident id"), view.id.clone()],
            [self.i.cite_at(MANIFEST, "/id")],
        ));
        rows.extend(row(
            vec![cell("date (alert start, UTC)"), utc(view.anchor)],
            [self.i.cite_at(TRIGGER, "/starts_at")],
        ));
        match &view.severity {
            Some(s) => rows.extend(row(
                vec![cell("severity (witness's estimate)"), s.summary()],
                [self.i.cite_at(SEVERITY, "/level")],
            )),
            None => missing.push(blank("Severity: ______")),
        }
        match self.duration_row() {
            Some(r) => rows.push(r),
            None => missing.push(blank("Duration (start → end of user impact): ______")),
        }
        let mut services: Vec<String> = Vec::new();
        let mut cites = Vec::new();
        if let Some(key) = ["service", "app", "job", "deployment"]
            .iter()
            .find(|k| view.trigger.labels.contains_key(**k))
        {
            services.push(view.trigger.labels[*key].clone());
            cites.push(self.i.cite_at(TRIGGER, format!("/labels/{key}")));
        }
        for record in view.records.iter().filter(|r| r.status().has_evidence()) {
            if let Some(FactValue::Text(name)) = record.evidence.facts.get("kubernetes.deployment")
            {
                if !services.contains(name) {
                    services.push(name.clone());
                }
                cites.push(self.fact_cite(record, "kubernetes.deployment"));
            }
        }
        match row(vec![cell("services"), services.join(", ")], cites) {
            Some(r) if !services.is_empty() => rows.push(r),
            _ => missing.push(blank("Services affected: ______")),
        }
        rows.extend(row(
            vec![cell("detection source"), detection(&view.trigger)],
            [self.i.cite_at(TRIGGER, "/source"), self.i.cite_at(TRIGGER, "/name")],
        ));
        rows.extend(row(
            vec![
                cell("evidence window (UTC)"),
                format!("{} → {}", utc(view.window.start), utc(view.window.end)),
            ],
            [self.i.cite_at(MANIFEST, "/window")],
        ));
        missing.push(blank("Incident commander: ______"));
        section(
            "metadata",
            "Metadata",
            vec![
                Block::Table { head: vec!["field", "value", "evidence"], rows },
                Block::Bullets(missing),
            ],
        )
    }

    /// Alert → resolution (with a follow-up), else at least first symptom → end of window.
    fn duration_row(&self) -> Option<Row> {
        let d = self.durations();
        if let (Some(secs), Some(at)) = (d.time_to_resolve_secs, d.resolved_at) {
            let value = if secs >= 0 {
                format!("{} ({} → {})", label(secs), utc(d.alert_at), utc(at))
            } else {
                format!("resolved {} before the alert ({})", label(-secs), utc(at))
            };
            return row(
                vec!["duration (alert → resolved)".into(), value],
                [self.fu_cite("/durations/time_to_resolve_secs")],
            );
        }
        let first = d.first_symptom.as_ref()?;
        let end = self.view().window.end;
        row(
            vec![
                "duration".into(),
                format!(
                    "not known: the first new symptom was at {}, and no resolution is in the evidence (its window ends {})",
                    utc(first.at),
                    utc(end)
                ),
            ],
            [self.i.cite(&first.evidence), self.i.cite_at(MANIFEST, "/window/end")],
        )
    }

    fn summary(&self) -> Section {
        let view = self.view();
        let mut lines = Vec::new();
        let started = if view.trigger.source == TriggerSource::Manual {
            format!("A responder ran witness {} for {}.", view.trigger.name, utc(view.anchor))
        } else {
            format!("{} started at {}.", detection(&view.trigger), utc(view.anchor))
        };
        lines.extend(fact(started, [self.i.cite_at(TRIGGER, "/starts_at")]));
        if let Some(first) = &self.durations().first_symptom {
            lines.extend(fact(
                format!(
                    "The first new symptom witness saw was at {}: {}.",
                    utc(first.at),
                    first.what
                ),
                [self.i.cite(&first.evidence)],
            ));
        }
        if let Some(s) = &view.severity {
            let because = s.reasons.first();
            lines.extend(fact(
                format!(
                    "witness estimates severity {}{}.",
                    s.summary(),
                    because.map(|r| format!(", because {}", r.text)).unwrap_or_default()
                ),
                [
                    self.i.cite_at(SEVERITY, "/level"),
                    because.and_then(|r| self.i.cite(&r.evidence)),
                ],
            ));
        }
        if let Some(top) = self.top() {
            lines.extend(fact(
                format!(
                    "The leading hypothesis is {} ({} likelihood; recommendation: {}).",
                    top.title.trim_end_matches('.'),
                    likelihood_words(top.likelihood),
                    recommendation_words(top.recommendation)
                ),
                [self.hyp("/hypotheses/0")],
            ));
        }
        if let Some(f) = self.f.and_then(|f| f.view.follow_up.as_ref()) {
            lines.extend(fact(
                format!(
                    "After the resolution at {}, the follow-up found: {}.",
                    utc(f.resolution.at),
                    f.verdict()
                ),
                [self.fu_cite("/checks")],
            ));
        }
        if let Some(secs) = self.durations().time_to_resolve_secs.filter(|s| *s >= 0) {
            lines.extend(fact(
                format!("From the alert to the resolution took {}.", label(secs)),
                [self.fu_cite("/durations/time_to_resolve_secs")],
            ));
        }
        section("summary", "Summary", vec![Block::Paragraph(lines)])
    }

    fn impact(&self) -> Section {
        let view = self.view();
        let mut lines = Vec::new();
        if let Some(s) = &view.severity {
            for r in &s.reasons {
                lines.extend(fact(
                    format!("{} ({}): {}", r.level.as_str(), r.level.meaning(), r.text),
                    [self.i.cite(&r.evidence)],
                ));
            }
        }
        for s in &view.impact.signals {
            lines.extend(fact(format!("{}: {}", s.label, s.value), [self.i.cite(&s.evidence)]));
        }
        if lines.is_empty() {
            lines.push(blank("What users felt (no impact signal was collected): ______"));
        }
        lines.push(blank("Customers or revenue affected, support tickets: ______"));
        let mut rows = Vec::new();
        for record in view.records.iter().filter(|r| r.kind == "logs" && r.status().has_evidence())
        {
            let list =
                record.evidence.data.pointer("/access/endpoints_5xx").and_then(|v| v.as_array());
            for (n, e) in list.into_iter().flatten().enumerate().take(10) {
                let text =
                    |k: &str| e.get(k).map(|v| v.as_str().map_or(v.to_string(), str::to_owned));
                rows.extend(row(
                    vec![
                        format!(
                            "{} {}",
                            text("method").unwrap_or_default(),
                            text("path").unwrap_or_default()
                        ),
                        text("count").unwrap_or_default(),
                        text("baseline_count").unwrap_or_default(),
                    ],
                    [self.i.cite(&EvidenceRef::into_record(
                        record,
                        format!("/data/access/endpoints_5xx/{n}"),
                    ))],
                ));
            }
        }
        section(
            "impact",
            "Impact",
            vec![
                Block::Bullets(lines),
                Block::Table {
                    head: vec![
                        "endpoint answering 5xx",
                        "5xx in window",
                        "5xx in baseline",
                        "evidence",
                    ],
                    rows,
                },
            ],
        )
    }

    fn timeline(&self) -> Section {
        let view = self.view();
        let cited: Vec<&EvidenceRef> =
            view.evaluation.hypotheses.iter().flat_map(|h| &h.evidence).collect();
        let key = |e: &TimelineEntry| {
            e.source == "trigger"
                || e.severity != witness_collector::Severity::Info
                || matches!(e.kind.as_str(), "rollout" | "migration" | "commit" | "config_change")
                || cited.contains(&&e.evidence)
        };
        let mut rows: Vec<(chrono::DateTime<chrono::Utc>, Row)> = Vec::new();
        let keys: Vec<usize> =
            (0..view.timeline.entries.len()).filter(|i| key(&view.timeline.entries[*i])).collect();
        for &i in keys.iter().take(TIMELINE_ROWS) {
            let e = &view.timeline.entries[i];
            let mut what = if e.count > 1 {
                format!(
                    "{} × {} (until {})",
                    e.count,
                    e.title,
                    e.until_offset.clone().unwrap_or_default()
                )
            } else {
                e.title.clone()
            };
            if e.in_future {
                what.push_str(" (later than collection: clock ahead?)");
            }
            rows.extend(
                row(
                    vec![utc(e.time), e.offset.clone(), what, e.source.clone()],
                    [self.i.cite_at(TIMELINE, format!("/entries/{i}")), self.i.cite(&e.evidence)],
                )
                .map(|r| (e.time, r)),
            );
        }
        if let (Some(f), Some(fu)) = (self.f, self.f.and_then(|f| f.view.follow_up.as_ref())) {
            let d = &fu.durations;
            if let Some(m) = &d.mitigation {
                rows.extend(
                    row(
                        vec![
                            utc(m.at),
                            offset_label(m.at, view.anchor),
                            format!("Mitigation observed: {}", m.what),
                            "follow-up".into(),
                        ],
                        [self.fu_cite("/durations/mitigation"), f.cite(&m.evidence)],
                    )
                    .map(|r| (m.at, r)),
                );
            }
            rows.extend(
                row(
                    vec![
                        utc(fu.resolution.at),
                        offset_label(fu.resolution.at, view.anchor),
                        format!("Resolved ({})", fu.resolution.source),
                        "follow-up".into(),
                    ],
                    [self.fu_cite("/resolution")],
                )
                .map(|r| (fu.resolution.at, r)),
            );
        }
        rows.sort_by_key(|(at, _)| *at);
        let mut blocks = vec![Block::Table {
            head: vec!["UTC", "offset", "what", "source", "evidence"],
            rows: rows.into_iter().map(|(_, r)| r).collect(),
        }];
        let left =
            keys.len().saturating_sub(TIMELINE_ROWS) + (view.timeline.entries.len() - keys.len());
        let mut notes: Vec<Line> = fact(
            format!(
                "{left} more timeline entries (background and repeated events) are in the bundle's timeline; bursts are folded into one row each."
            ),
            [self.i.cite_at(TIMELINE, "/entries")],
        )
        .filter(|_| left > 0)
        .into_iter()
        .collect();
        notes.push(blank("What people did, and when (pages, escalations, the fix): ______"));
        blocks.push(Block::Bullets(notes));
        section("timeline", "Timeline (UTC)", blocks)
    }

    fn root_cause(&self) -> Section {
        let mut blocks = Vec::new();
        if let Some(top) = self.top() {
            let mut lines = Vec::new();
            lines.extend(fact(
                format!(
                    "The leading hypothesis: {} ({} likelihood, score {:.2}; recommendation: {}).",
                    top.title.trim_end_matches('.'),
                    likelihood_words(top.likelihood),
                    top.score,
                    recommendation_words(top.recommendation)
                ),
                [self.hyp("/hypotheses/0")],
            ));
            let explanation = top.explanation.split_whitespace().collect::<Vec<_>>().join(" ");
            if !explanation.is_empty() {
                lines.extend(fact(explanation, [self.hyp("/hypotheses/0/explanation")]));
            }
            if let Some(cause) = &top.cause {
                lines.extend(fact(
                    format!("The change it names as the cause: {}.", cause.replace('_', " ")),
                    [self.hyp("/hypotheses/0/cause")],
                ));
            }
            if !top.explains.is_empty() {
                lines.extend(fact(
                    format!("It explains: {}.", top.explains.join(", ")),
                    [self.hyp("/hypotheses/0/explains")],
                ));
            }
            if !top.unexplained.is_empty() {
                lines.extend(fact(
                    format!("It leaves unexplained: {}.", top.unexplained.join(", ")),
                    [self.hyp("/hypotheses/0/unexplained")],
                ));
            }
            blocks.push(Block::Paragraph(lines));
            let chain: Vec<Line> = top
                .evidence
                .iter()
                .filter_map(|r| fact(self.describe(r)?, [self.i.cite(r)]))
                .collect();
            if !chain.is_empty() {
                blocks.push(Block::Subheading("Evidence chain"));
                blocks.push(Block::Bullets(chain));
            }
            let against: Vec<Line> = top
                .counter_evidence
                .iter()
                .enumerate()
                .filter_map(|(n, c)| {
                    fact(c.clone(), [self.hyp(format!("/hypotheses/0/counter_evidence/{n}"))])
                })
                .collect();
            if !against.is_empty() {
                blocks.push(Block::Subheading("Against it"));
                blocks.push(Block::Bullets(against));
            }
        }
        blocks
            .push(Block::Bullets(vec![blank("The root cause as the team establishes it: ______")]));
        section("root-cause", "Root cause", blocks)
    }

    /// Because …, as far as the evidence goes: the symptom, the cause named, the changes
    /// behind it (latest first), the revision and commit they deployed.
    fn five_whys(&self) -> Section {
        let view = self.view();
        let mut steps: Vec<Line> = Vec::new();
        let mut asked = if view.trigger.source == TriggerSource::Manual {
            "Why was the incident raised?".to_owned()
        } else {
            format!("Why did {} fire?", view.trigger.name)
        };
        if let Some(first) = &self.durations().first_symptom {
            steps.extend(fact(
                format!("{asked} Because of {} (from {}).", first.what, utc(first.at)),
                [self.i.cite(&first.evidence)],
            ));
        } else if let Some(s) = view.impact.signals.first() {
            steps.extend(fact(
                format!("{asked} Because of {}: {}.", s.label, s.value),
                [self.i.cite(&s.evidence)],
            ));
        }
        if let Some(top) = self.top().filter(|t| t.cause.is_some()) {
            asked = "Why were there these symptoms?".to_owned();
            steps.extend(fact(
                format!("{asked} Because of {}.", top.title.trim_end_matches('.')),
                [self.hyp("/hypotheses/0")],
            ));
            let mut changes: Vec<(usize, &TimelineEntry)> = view
                .timeline
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| {
                    !is_symptom(&e.kind)
                        && e.source != "trigger"
                        && top.evidence.contains(&e.evidence)
                })
                .collect();
            changes.sort_by_key(|(_, e)| std::cmp::Reverse(e.time));
            for (i, e) in changes.into_iter().take(2) {
                steps.extend(fact(
                    format!("Why? Because {} ({}).", e.title.trim_end_matches('.'), utc(e.time)),
                    [self.i.cite_at(TIMELINE, format!("/entries/{i}")), self.i.cite(&e.evidence)],
                ));
            }
            let is_change = matches!(
                top.cause.as_deref(),
                Some("rollout" | "deploy_tag" | "migration" | "config_change")
            );
            let details: [(&str, &str); 3] = [
                ("kubernetes.current_revision", "Why? The Deployment was at revision {}."),
                ("git.deployed_revision", "Why? The deployed code is commit {}."),
                ("git.migration_paths", "Why? The deployed commits add the migration {}."),
            ];
            for (name, text) in details.into_iter().filter(|_| is_change) {
                if let Some((record, value)) = self.fact(name).filter(|(_, v)| holds(v)) {
                    if name == "git.migration_paths"
                        && !self.fact("git.deployed_has_migration").is_some_and(|(_, v)| holds(v))
                    {
                        continue;
                    }
                    steps.extend(fact(
                        text.replace("{}", &fact_text(value)),
                        [self.fact_cite(record, name)],
                    ));
                }
            }
        }
        steps.truncate(5);
        while steps.len() < 5 {
            steps.push(blank("Why? ______"));
        }
        steps.push(blank("Why? (beyond the evidence: process, review, tests, ownership) ______"));
        section("five-whys", "Five whys", vec![Block::Steps(steps)])
    }

    fn contributing(&self) -> Section {
        let view = self.view();
        let mut lines = Vec::new();
        let top_cause = self.top().and_then(|t| t.cause.clone());
        for (n, h) in view.evaluation.hypotheses.iter().enumerate().skip(1) {
            if h.likelihood != Likelihood::Low && h.cause.is_some() && h.cause != top_cause {
                lines.extend(fact(
                    format!(
                        "Also supported by the evidence: {} ({} likelihood).",
                        h.title.trim_end_matches('.'),
                        likelihood_words(h.likelihood)
                    ),
                    [self.hyp(format!("/hypotheses/{n}"))],
                ));
            }
        }
        for (name, text) in CONTRIBUTING {
            for record in view.records.iter().filter(|r| r.status().has_evidence()) {
                if let Some(value) = record.evidence.facts.get(*name).filter(|v| holds(v)) {
                    lines.extend(fact(
                        format!(
                            "{text} ({}/{}: {name} = {}).",
                            record.kind,
                            record.name,
                            fact_text(value)
                        ),
                        [self.fact_cite(record, name)],
                    ));
                }
            }
        }
        for (n, c) in view.timeline.clocks.iter().enumerate().filter(|(_, c)| c.skewed) {
            lines.extend(fact(
                format!(
                    "The clock of {} ran ahead of witness's: {} event(s) later than collection, the newest {} s after it, so its events may be out of order.",
                    c.source, c.future_events, c.newest_event_offset_secs
                ),
                [self.i.cite_at(TIMELINE, format!("/clocks/{n}"))],
            ));
        }
        lines.push(blank("Another factor the team knows of: ______"));
        section("contributing", "Contributing factors", vec![Block::Bullets(lines)])
    }

    fn verification(&self) -> Option<Section> {
        let f = self.f?;
        let fu = f.view.follow_up.as_ref()?;
        let mut lines = Vec::new();
        lines.extend(fact(
            format!("Verdict: {} ({}).", fu.verdict(), fu.summary()),
            [self.fu_cite("/checks")],
        ));
        lines.extend(fact(
            format!(
                "Resolved at {} ({}); checked over {} → {}.",
                utc(fu.resolution.at),
                fu.resolution.source,
                utc(fu.window.start),
                utc(fu.window.end)
            ),
            [self.fu_cite("/resolution"), self.fu_cite("/window")],
        ));
        let mut rows = Vec::new();
        for (n, c) in fu.checks.iter().enumerate() {
            let mut cites = vec![self.fu_cite(&format!("/checks/{n}"))];
            cites.extend(c.incident_evidence.iter().map(|r| self.i.cite(r)));
            cites.extend(c.evidence.iter().map(|r| f.cite(r)));
            rows.extend(row(
                vec![
                    c.check.title().to_owned(),
                    c.source.clone(),
                    c.status.words().to_owned(),
                    c.detail.clone(),
                ],
                cites,
            ));
        }
        let d = &fu.durations;
        let durations = [
            ("time to detect", d.time_to_detect_secs, "time_to_detect_secs"),
            ("time to mitigate", d.time_to_mitigate_secs, "time_to_mitigate_secs"),
            ("time to resolve", d.time_to_resolve_secs, "time_to_resolve_secs"),
        ];
        let mut times = Vec::new();
        for (what, secs, key) in durations {
            if let Some(secs) = secs {
                times.extend(fact(
                    format!("{what}: {}", label(secs)),
                    [self.fu_cite(&format!("/durations/{key}"))],
                ));
            }
        }
        Some(section(
            "verification",
            "Verification (follow-up)",
            vec![
                Block::Paragraph(lines),
                Block::Table {
                    head: vec!["check", "source", "status", "what the follow-up saw", "evidence"],
                    rows,
                },
                Block::Bullets(times),
            ],
        ))
    }

    /// Each measured duration and follow-up check, on the side it falls: `(well, improve)`.
    fn measured(&self) -> (Vec<Line>, Vec<Line>) {
        let (mut well, mut improve) = (Vec::new(), Vec::new());
        let d = self.durations();
        if let (Some(secs), Some(first)) = (d.time_to_detect_secs, &d.first_symptom) {
            let cites = [
                self.i.cite(&first.evidence),
                self.i.cite_at(TRIGGER, "/starts_at"),
                self.fu_cite("/durations/time_to_detect_secs"),
            ];
            if secs < 0 {
                well.extend(fact(
                    format!(
                        "The alert fired {} before the first symptom witness saw.",
                        label(-secs)
                    ),
                    cites,
                ));
            } else {
                let text = format!(
                    "The alert fired {} after the first new symptom ({}).",
                    label(secs),
                    first.what
                );
                judge(&mut well, &mut improve, text, secs, DETECT_WELL_SECS, cites);
            }
        }
        if let (Some(secs), Some(m)) = (d.time_to_mitigate_secs, &d.mitigation) {
            let cites = [
                self.fu_cite("/durations/time_to_mitigate_secs"),
                self.f.and_then(|f| f.cite(&m.evidence)),
            ];
            let text = format!("The mitigation ({}) came {} after the alert.", m.what, label(secs));
            judge(&mut well, &mut improve, text, secs, MITIGATE_WELL_SECS, cites);
        }
        if let Some(secs) = d.time_to_resolve_secs {
            let cites = [self.fu_cite("/durations/time_to_resolve_secs")];
            let text = if secs >= 0 {
                format!("The incident resolved {} after the alert.", label(secs))
            } else {
                format!("The incident resolved {} before the alert fired.", label(-secs))
            };
            judge(&mut well, &mut improve, text, secs, RESOLVE_WELL_SECS, cites);
        }
        if let Some(fu) = self.f.and_then(|f| f.view.follow_up.as_ref()) {
            for (n, c) in fu.checks.iter().enumerate() {
                let cites = [self.fu_cite(&format!("/checks/{n}"))];
                let text = format!("{} ({}): {}.", c.check.title(), c.source, c.detail);
                match c.status {
                    CheckStatus::Passed => well.extend(fact(format!("Verified: {text}"), cites)),
                    CheckStatus::NotYet => {
                        improve.extend(fact(format!("Not fixed yet: {text}"), cites))
                    }
                    CheckStatus::CouldNotCheck => {
                        improve.extend(fact(format!("Could not be verified: {text}"), cites))
                    }
                }
            }
        }
        for record in &self.view().records {
            if let Some(error) = &record.error {
                improve.extend(fact(
                    format!(
                        "witness could not collect {}/{} ({}): {error}",
                        record.kind,
                        record.name,
                        record.status()
                    ),
                    [self.i.cite(&EvidenceRef::into_record(record, "/error"))],
                ));
            }
        }
        (well, improve)
    }

    fn went_well(&self) -> Section {
        let (mut well, _) = self.measured();
        if let Some(top) = self.top().filter(|t| t.likelihood == Likelihood::High) {
            well.extend(fact(
                format!(
                    "The evidence pointed to one leading cause with high likelihood: {}.",
                    top.title.trim_end_matches('.')
                ),
                [self.hyp("/hypotheses/0/likelihood")],
            ));
        }
        well.push(blank("What else went well: ______"));
        section("went-well", "What went well", vec![Block::Bullets(well)])
    }

    fn could_improve(&self) -> Section {
        let (_, mut improve) = self.measured();
        improve.push(blank("What else could improve: ______"));
        section("could-improve", "What could improve", vec![Block::Bullets(improve)])
    }

    fn actions(&self) -> Section {
        let mut items = Vec::new();
        if let Some(top) = self.top() {
            let cites =
                || [self.hyp("/hypotheses/0"), top.evidence.first().and_then(|r| self.i.cite(r))];
            for text in actions_for(top) {
                items.extend(action(text, cites()));
            }
        }
        let d = self.durations();
        if let (Some(secs), Some(first)) = (d.time_to_detect_secs, &d.first_symptom)
            && secs > DETECT_WELL_SECS
        {
            items.extend(action(
                format!(
                    "Alert on the first symptom ({}) sooner: it preceded the alert by {}.",
                    first.what,
                    label(secs)
                ),
                [self.i.cite(&first.evidence), self.fu_cite("/durations/time_to_detect_secs")],
            ));
        }
        if let Some(fu) = self.f.and_then(|f| f.view.follow_up.as_ref()) {
            for (n, c) in
                fu.checks.iter().enumerate().filter(|(_, c)| c.status == CheckStatus::NotYet)
            {
                items.extend(action(
                    format!("Finish the fix: {} is not back ({}).", c.check.title(), c.detail),
                    [self.fu_cite(&format!("/checks/{n}"))],
                ));
            }
        }
        for record in self.view().records.iter().filter(|r| r.error.is_some()) {
            items.extend(action(
                format!(
                    "Give witness what it needs to collect {}/{} next time (it {}).",
                    record.kind,
                    record.name,
                    record.status()
                ),
                [self.i.cite(&EvidenceRef::into_record(record, "/error"))],
            ));
        }
        items.push(blank("Another action: ______"));
        section("actions", "Action items", vec![Block::Bullets(items)])
    }

    fn ruled_out(&self) -> Section {
        let e = &self.view().evaluation;
        let mut lines = Vec::new();
        for (n, h) in e.hypotheses.iter().enumerate().skip(1) {
            if h.likelihood == Likelihood::Low || h.cause.is_none() {
                let against = h.counter_evidence.first().map(|c| format!("; against it: {c}"));
                lines.extend(fact(
                    format!(
                        "{}: {} likelihood (score {:.2}){}.",
                        h.title.trim_end_matches('.'),
                        likelihood_words(h.likelihood),
                        h.score,
                        against.unwrap_or_default()
                    ),
                    [self.hyp(format!("/hypotheses/{n}"))],
                ));
            }
        }
        for (n, r) in e.ruled_out.iter().enumerate() {
            lines.extend(fact(
                format!("Ruled out, {}: {}", r.rule, r.reason),
                [self.hyp(format!("/ruled_out/{n}"))],
            ));
        }
        for (n, r) in e.not_evaluated.iter().enumerate() {
            lines.extend(fact(
                format!("Not checked (evidence missing), {}: {}", r.rule, r.reason),
                [self.hyp(format!("/not_evaluated/{n}"))],
            ));
        }
        lines.push(blank("Other causes the team considered and why they were ruled out: ______"));
        section("ruled-out", "Hypotheses ruled out", vec![Block::Bullets(lines)])
    }
}

/// `text` goes to `well` when `secs` is within `bound`, else to `improve`, saying so.
fn judge<const N: usize>(
    well: &mut Vec<Line>,
    improve: &mut Vec<Line>,
    text: String,
    secs: i64,
    bound: i64,
    cites: [Option<Cite>; N],
) {
    if secs <= bound {
        well.extend(fact(text, cites));
    } else {
        improve.extend(fact(format!("{text} It took longer than {}.", label(bound)), cites));
    }
}

/// The action items a cause calls for (owner left blank): fix the cause, and stop it from
/// reaching users again.
pub fn actions_for(top: &Hypothesis) -> Vec<String> {
    let t = top.title.trim_end_matches('.');
    let items: &[&str] = match top.cause.as_deref() {
        Some("rollout" | "deploy_tag") => &[
            "Find and fix what the change broke before deploying it again ({t}).",
            "Add a test or a canary check that would have caught this change before it reached every user.",
        ],
        Some("config_change") => &[
            "Find and fix the configuration change before applying it again ({t}).",
            "Validate configuration changes before they roll out.",
        ],
        Some("migration") => &[
            "Review the migration before running it again, and make it compatible with the code running beside it ({t}).",
            "Run migrations against a production-sized copy before they reach production.",
        ],
        Some("lock_blocker") => &[
            "Find and fix the code path that held the lock ({t}).",
            "Bound how long a session may hold locks (lock_timeout, idle_in_transaction_session_timeout).",
        ],
        Some("capacity_ceiling") => &[
            "Raise the autoscaler's ceiling, or the capacity behind it ({t}).",
            "Alert before the autoscaler reaches its ceiling.",
        ],
        Some("host_saturation") => &[
            "Add capacity or reduce the load on the saturated host ({t}).",
            "Alert on saturation before users feel it.",
        ],
        Some("connection_ceiling") => &[
            "Size the connection pool and the database's max_connections for the load ({t}).",
            "Alert when connections near the maximum.",
        ],
        Some("oom") => &[
            "Find what used the memory and give the containers the limits they need ({t}).",
            "Alert on memory before containers are killed.",
        ],
        Some("traffic_surge") => &[
            "Find where the surge came from and add capacity or rate limits for it ({t}).",
            "Load-test for the surge seen here.",
        ],
        Some("vendor_incident") => &[
            "Degrade gracefully when the vendor is down (timeouts, a fallback, a queue) ({t}).",
            "Watch the vendor's status page in on-call tooling.",
        ],
        Some("certificate_expiry") => &[
            "Renew the certificate and automate its renewal ({t}).",
            "Alert well before certificates expire.",
        ],
        Some("disk_full") => &[
            "Free the disk and find what filled it ({t}).",
            "Alert on disk usage before it is full.",
        ],
        _ => &["Find the cause: the evidence named none for certain ({t})."],
    };
    items.iter().map(|i| i.replace("{t}", t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Hypothesis, Recommendation};

    fn named(cause: Option<&str>) -> Hypothesis {
        Hypothesis {
            id: "x".into(),
            recommendation: Recommendation::Investigate,
            likelihood: Likelihood::High,
            score: 0.9,
            title: "A title.".into(),
            explanation: String::new(),
            commands: Vec::new(),
            evidence: Vec::new(),
            rules: Vec::new(),
            counter_evidence: Vec::new(),
            cause: cause.map(str::to_owned),
            explains: Vec::new(),
            unexplained: Vec::new(),
        }
    }

    /// A cause a rule may name and the draft has no action for would get the generic
    /// "find the cause" item: every cause has its own.
    #[test]
    fn every_cause_a_rule_may_name_has_its_own_action_items() {
        let fallback = actions_for(&named(None));
        assert_eq!(fallback, ["Find the cause: the evidence named none for certain (A title)."]);
        for cause in crate::rules::rule::CAUSES {
            let items = actions_for(&named(Some(cause)));
            assert!(items.len() >= 2 && items != fallback, "{cause}: {items:?}");
            assert!(items[0].contains("(A title)"), "{cause}: the first names the hypothesis");
        }
    }

    #[test]
    fn a_duration_within_its_bound_went_well_and_one_past_it_could_improve() {
        let cite =
            Cite { bundle: None, at: EvidenceRef { file: "f".into(), pointer: String::new() } };
        let (mut well, mut improve) = (Vec::new(), Vec::new());
        judge(&mut well, &mut improve, "Fast.".into(), 300, DETECT_WELL_SECS, [Some(cite.clone())]);
        judge(&mut well, &mut improve, "Slow.".into(), 301, DETECT_WELL_SECS, [Some(cite.clone())]);
        judge(&mut well, &mut improve, "Uncited.".into(), 999, DETECT_WELL_SECS, [None]);
        assert_eq!(well.len(), 1);
        assert_eq!(
            improve,
            [Line::Fact { text: "Slow. It took longer than 5m.".into(), cites: vec![cite] }]
        );
    }
}
