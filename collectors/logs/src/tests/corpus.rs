//! The corpus of real-world log formats in `tests/data/logs` (see its SOURCES.md): every
//! line's time and level against its annotation, then the collector over each file, with
//! error counts, per-minute series and the first error asserted exactly and signatures
//! within 1.5× of the annotated templates.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, DurationRound, Utc};
use chrono_tz::Tz;

use super::{at, run_with};
use crate::LogsConfig;
use witness_log_analysis::timestamp::{TimeContext, detect};
use witness_collector::{CollectContext, FactValue, Window};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/logs")
}

struct Line {
    text: String,
    time: Option<DateTime<Utc>>,
    error: bool,
    template: String,
}

struct Sample {
    name: String,
    modified: Option<DateTime<Utc>>,
    tz: Tz,
    lines: Vec<Line>,
}

impl Sample {
    fn errors(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter().filter(|l| l.error)
    }

    /// A copy of the log in `dir`, modified when the header says (else a minute after its
    /// last line, as a live log would be).
    fn install(&self, dir: &Path) -> PathBuf {
        let path = dir.join(format!("{}.log", self.name));
        std::fs::copy(corpus_dir().join(format!("{}.log", self.name)), &path).unwrap();
        let last = self.lines.iter().filter_map(|l| l.time).max().unwrap();
        let modified = self.modified.unwrap_or(last + chrono::Duration::minutes(1));
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(modified.into())
            .unwrap();
        path
    }
}

fn samples() -> Vec<Sample> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".log").map(str::to_owned))
        .collect();
    names.sort();
    assert!(names.len() >= 18, "the corpus is missing files: {names:?}");
    names
        .into_iter()
        .map(|name| {
            let log = std::fs::read_to_string(corpus_dir().join(format!("{name}.log"))).unwrap();
            let truth =
                std::fs::read_to_string(corpus_dir().join(format!("{name}.truth"))).unwrap();
            let mut modified = None;
            let mut tz = Tz::UTC;
            let mut rows = Vec::new();
            for row in truth.lines() {
                if let Some(header) = row.strip_prefix("# ") {
                    if let Some(v) = header.strip_prefix("modified: ") {
                        modified = Some(at(v));
                    } else if let Some(v) = header.strip_prefix("timezone: ") {
                        tz = v.parse().unwrap();
                    }
                    continue;
                }
                rows.push(row.to_owned());
            }
            let texts: Vec<&str> = log.lines().collect();
            assert_eq!(texts.len(), rows.len(), "{name}: one truth row per line");
            let lines = texts
                .iter()
                .zip(rows)
                .map(|(text, row)| {
                    let mut f = row.split('\t');
                    let time = f.next().filter(|t| *t != "-").map(at);
                    let error = f.next() == Some("E");
                    Line {
                        text: (*text).to_owned(),
                        time,
                        error,
                        template: f.next().unwrap_or("").to_owned(),
                    }
                })
                .collect();
            Sample { name, modified, tz, lines }
        })
        .collect()
}

#[test]
fn every_line_of_the_corpus_has_its_true_time_and_level() {
    let patterns = witness_log_analysis::Matchers::defaults().patterns.unwrap();
    for sample in samples() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample.install(dir.path());
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        let cx = TimeContext::new(sample.tz, Utc::now()).for_file(Some(modified.into()));
        let texts: Vec<&[u8]> = sample.lines.iter().map(|l| l.text.as_bytes()).collect();
        let format = detect(&texts, &cx).unwrap_or_else(|| panic!("{}: not read", sample.name));
        for line in &sample.lines {
            let parsed = format.parse(line.text.as_bytes(), &cx);
            assert_eq!(parsed.map(|(t, _)| t), line.time, "{}: {}", sample.name, line.text);
            let Some((_, message_at)) = parsed else { continue };
            let level = witness_log_analysis::level::of(line.text.as_bytes(), message_at, &format);
            let error =
                level.map_or_else(|| patterns.is_match(line.text.as_bytes()), |l| l.is_error);
            assert_eq!(error, line.error, "{} ({}): {}", sample.name, format.name(), line.text);
        }
    }
}

#[tokio::test]
async fn the_collector_counts_the_corpus_exactly() {
    for sample in samples() {
        let dir = tempfile::tempdir().unwrap();
        let path = sample.install(dir.path());
        let times: Vec<DateTime<Utc>> = sample.lines.iter().filter_map(|l| l.time).collect();
        let start = *times.iter().min().unwrap();
        let end = *times.iter().max().unwrap() + chrono::Duration::seconds(1);
        let mut config = LogsConfig::new("corpus", vec![path.display().to_string()]);
        config.timezone = sample.tz.name().to_owned();
        let r = run_with(config, CollectContext::for_test_at(end, Window::new(start, end))).await;
        let name = &sample.name;
        let want = sample.errors().count() as i64;
        assert_eq!(r.int("logs.error_count"), want, "{name}: {:?}", r.evidence.notes);
        let mut per_minute: BTreeMap<String, u64> = BTreeMap::new();
        for line in sample.errors() {
            let minute = line.time.unwrap().duration_trunc(chrono::Duration::minutes(1)).unwrap();
            *per_minute.entry(witness_collector::time::format(minute)).or_default() += 1;
        }
        let series: BTreeMap<String, u64> = r.data()["series"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["errors"].as_u64() > Some(0))
            .map(|p| (p["minute"].as_str().unwrap().to_owned(), p["errors"].as_u64().unwrap()))
            .collect();
        assert_eq!(series, per_minute, "{name}: errors per minute");
        let first = sample.errors().filter_map(|l| l.time).min();
        let first = first.map(|t| FactValue::Text(witness_collector::time::format(t)));
        assert_eq!(r.fact("logs.first_error_at"), first.as_ref(), "{name}");
        let templates: BTreeSet<&str> = sample.errors().map(|l| l.template.as_str()).collect();
        let signatures = r.int("logs.signature_count") as f64;
        let t = templates.len() as f64;
        assert!(
            signatures <= (t * 1.5).floor() && signatures >= (t / 1.5).ceil(),
            "{name}: {signatures} signatures for {t} templates: {}",
            r.data()["signatures"]
        );
    }
}
