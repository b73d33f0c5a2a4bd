//! The view of a run: what the reports, `show` and `rules test` read — the trigger, every
//! collector record, the timeline, the hypotheses, the impact, and the bundle they belong
//! to. The run's analysis makes it in one pass once the evidence is gathered;
//! [`RunView::load`] reads it back from a sealed bundle, exactly as it was sealed.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use witness_collector::Window;

use super::durations::Durations;
use super::follow_up::outcome::FollowUp;
use super::impact::{Impact, impact};
use super::severity::Severity;
use crate::bundle::Manifest;
use crate::bundle::layout::{self, CollectorRecord};
use crate::bundle::verify::read_bundle;
use crate::rules::Evaluation;
use crate::timeline::Timeline;
use crate::trigger::Trigger;

/// What a report shows of a run.
pub struct RunView {
    pub id: String,
    pub anchor: DateTime<Utc>,
    pub window: Window,
    pub trigger: Trigger,
    pub records: Vec<CollectorRecord>,
    pub timeline: Timeline,
    pub evaluation: Evaluation,
    pub impact: Impact,
    /// How bad it is for users, on the configured thresholds (absent from views that
    /// were not made by a run, and from bundles sealed before severities existed).
    pub severity: Option<Severity>,
    /// How long the incident took to be detected (and, for a follow-up, mitigated and
    /// resolved).
    pub durations: Durations,
    /// Of a follow-up: the incident it checks and every check.
    pub follow_up: Option<FollowUp>,
    /// Present once the bundle is sealed (not while its own report is being written).
    pub manifest: Option<Manifest>,
    /// Paths of the bundle's files (raw artifacts included), sorted.
    pub files: Vec<String>,
    /// Whether the bundle is (or will be) signed.
    pub signed: bool,
}

/// The bundle a view belongs to: what analysis cannot know from the evidence.
pub struct BundleInfo {
    pub id: String,
    /// Paths of the bundle's files (raw artifacts included), sorted.
    pub files: Vec<String>,
    /// Whether the bundle is (or will be) signed.
    pub signed: bool,
    /// Present once the bundle is sealed.
    pub manifest: Option<Manifest>,
}

impl RunView {
    /// Loads the view of a bundle directory or `.tar.gz`: the timeline and hypotheses as
    /// they were sealed, not evaluated again.
    ///
    /// # Errors
    /// When the bundle cannot be read or a file it must have is missing or malformed.
    pub fn load(path: &Path) -> Result<Self> {
        Self::from_files(&read_bundle(path)?)
    }

    /// The view of a bundle's `files` (read by
    /// [`read_bundle`](crate::bundle::verify::read_bundle)), as they were sealed.
    ///
    /// # Errors
    /// When a file the bundle must have is missing or malformed.
    pub fn from_files(files: &BTreeMap<String, Vec<u8>>) -> Result<Self> {
        let manifest: Manifest = parse(files, layout::MANIFEST)?;
        let trigger: Trigger = parse(files, layout::TRIGGER)?;
        let mut records = Vec::new();
        for entry in &manifest.collectors {
            let file = layout::evidence_file(&entry.kind, &entry.name);
            records.push(parse::<CollectorRecord>(files, &file)?);
        }
        let timeline: Timeline = parse(files, layout::TIMELINE)?;
        let follow_up: Option<FollowUp> =
            files.get(layout::FOLLOW_UP).map(|_| parse(files, layout::FOLLOW_UP)).transpose()?;
        let durations = match &follow_up {
            Some(follow_up) => follow_up.durations.clone(),
            None => Durations::of_incident(&manifest.id, &timeline),
        };
        Ok(Self {
            id: manifest.id.clone(),
            anchor: manifest.anchor,
            window: manifest.window,
            trigger,
            impact: impact(&records),
            severity: files
                .get(layout::SEVERITY)
                .map(|_| parse(files, layout::SEVERITY))
                .transpose()?,
            records,
            timeline,
            durations,
            follow_up,
            evaluation: parse(files, layout::HYPOTHESES)?,
            files: manifest.files.iter().map(|f| f.path.clone()).collect(),
            signed: files.contains_key(layout::SIGNATURE),
            manifest: Some(manifest),
        })
    }

    /// The raw artifacts of `record`, by path in the bundle.
    pub fn artifacts_of<'a>(&'a self, record: &CollectorRecord) -> impl Iterator<Item = &'a str> {
        let prefix = format!("{}/", record.artifact_dir());
        self.files.iter().filter(move |f| f.starts_with(&prefix)).map(String::as_str)
    }
}

fn parse<T: DeserializeOwned>(files: &BTreeMap<String, Vec<u8>>, path: &str) -> Result<T> {
    let Some(bytes) = files.get(path) else { bail!("the bundle has no {path}") };
    serde_json::from_slice(bytes).with_context(|| format!("{path} of the bundle is not valid"))
}
