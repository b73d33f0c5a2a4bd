//! The parts of a bundle that reports, `show` and `rules test` read: the manifest, the
//! trigger, every collector record, the timeline and the hypotheses. Built in memory at the
//! end of a run, or loaded back from a bundle on disk.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use witness_collector::Window;

use crate::bundle::Manifest;
use crate::bundle::verify::read_bundle;
use crate::rules::Evaluation;
use crate::run::CollectorRecord;
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
    /// Present once the bundle is sealed (not while its own report is being written).
    pub manifest: Option<Manifest>,
    /// Paths of the bundle's files (raw artifacts included), sorted.
    pub files: Vec<String>,
    /// Whether the bundle is (or will be) signed.
    pub signed: bool,
}

impl RunView {
    /// Loads the view of a bundle directory or `.tar.gz`.
    ///
    /// # Errors
    /// When the bundle cannot be read or a file it must have is missing or malformed.
    pub fn load(path: &Path) -> Result<Self> {
        let files = read_bundle(path)?;
        let manifest: Manifest = parse(&files, crate::bundle::MANIFEST)?;
        let trigger: Trigger = parse(&files, "trigger.json")?;
        let mut records = Vec::new();
        for entry in &manifest.collectors {
            let file = format!("evidence/{}-{}.json", entry.kind, entry.name);
            records.push(parse::<CollectorRecord>(&files, &file)?);
        }
        Ok(Self {
            id: manifest.id.clone(),
            anchor: manifest.anchor,
            window: manifest.window,
            trigger,
            records,
            timeline: parse(&files, "timeline.json")?,
            evaluation: parse(&files, "hypotheses.json")?,
            files: manifest.files.iter().map(|f| f.path.clone()).collect(),
            signed: files.contains_key(crate::bundle::SIGNATURE),
            manifest: Some(manifest),
        })
    }

    /// The raw artifacts of `record`, by path in the bundle.
    pub fn artifacts_of<'a>(&'a self, record: &CollectorRecord) -> impl Iterator<Item = &'a str> {
        let prefix = format!("{}/", record.artifact_dir());
        self.files.iter().filter(move |f| f.starts_with(&prefix)).map(String::as_str)
    }

    /// Facts of every collector with evidence, by full name, with the record they came from.
    pub fn facts(&self) -> BTreeMap<&str, (&CollectorRecord, &witness_collector::FactValue)> {
        let mut facts = BTreeMap::new();
        for record in self.records.iter().filter(|r| r.status().has_evidence()) {
            for (name, value) in &record.evidence.facts {
                facts.entry(name.as_str()).or_insert((record, value));
            }
        }
        facts
    }
}

fn parse<T: DeserializeOwned>(files: &BTreeMap<String, Vec<u8>>, path: &str) -> Result<T> {
    let Some(bytes) = files.get(path) else { bail!("the bundle has no {path}") };
    serde_json::from_slice(bytes).with_context(|| format!("{path} of the bundle is not valid"))
}
