//! The flight recorder: while serving, the last `retain_secs` of host samples (every
//! `sample_interval_secs`) and of lines appended to the followed log files, in bounded
//! ring buffers, so that a bundle holds what happened before the alert even when the log
//! was rotated away or the app restarted. Every bundle gets a copy under
//! `flight-recorder/` (see [`Recorder::files`]).
//!
//! Files are followed by descriptor: on rotation (the path names a new file) the old one
//! is read to its end before the new one is opened; on truncation (the file shrank) the
//! reader starts over at the top. `notify` wakes the follower on change; a slow poll
//! catches what a watcher cannot see (a directory that appears later, network mounts).
//!
//! Each line is redacted as it is read, whole, before it is cut to `max_line_bytes` (a cut
//! first would leave a fragment of a secret too short for its rule): the ring holds only
//! redacted text. The redactor is the intake's, swapped on a reload ([`Recorder::set_redactor`]).

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::bundle::Content;
use crate::bundle::writer::DraftFile;
use crate::config::server::RecorderConfig;
use crate::redact::Redactor;

/// How often files are checked when no change notification arrives.
const POLL: Duration = Duration::from_secs(2);
/// Most bytes read from one file per check, so a burst cannot stall the follower.
const MAX_READ_PER_CHECK: u64 = 8 * 1024 * 1024;

/// One host sample.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    #[serde(with = "witness_collector::time::millis")]
    pub at: DateTime<Utc>,
    pub cpu_busy_ratio: f64,
    pub load_1m: f64,
    pub memory_used_ratio: f64,
    pub memory_available_bytes: u64,
    pub swap_used_bytes: u64,
}

/// Recent lines of one followed file.
#[derive(Debug)]
struct LogRing {
    path: PathBuf,
    lines: VecDeque<(DateTime<Utc>, String)>,
    bytes: usize,
    /// Rotations, truncations and drops, newest last (capped).
    notes: VecDeque<String>,
}

impl LogRing {
    fn note(&mut self, text: String) {
        if self.notes.len() == 32 {
            self.notes.pop_front();
        }
        self.notes.push_back(format!(
            "{} {text}",
            Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ));
    }
}

#[derive(Debug)]
struct State {
    config: RecorderConfig,
    samples: VecDeque<Sample>,
    logs: Vec<LogRing>,
    /// What every line passes through as it is read.
    redactor: Redactor,
}

impl State {
    fn prune(&mut self, now: DateTime<Utc>) {
        let cutoff = now
            - chrono::Duration::seconds(
                i64::try_from(self.config.retain_secs).unwrap_or(i64::MAX / 2000),
            );
        while self.samples.front().is_some_and(|s| s.at < cutoff) {
            self.samples.pop_front();
        }
        for ring in &mut self.logs {
            while ring.lines.front().is_some_and(|(at, _)| *at < cutoff) {
                if let Some((_, line)) = ring.lines.pop_front() {
                    ring.bytes -= line.len() + 1;
                }
            }
        }
    }

    /// Keeps `line` of file `index`, redacted, then cut to `max_line_bytes`.
    fn push_line(&mut self, index: usize, line: &str) {
        let max_line = self.config.max_line_bytes;
        let max_bytes = self.config.max_log_bytes;
        let redacted = self.redactor.redact(line);
        let line = if redacted.is_longer_than(max_line) {
            format!("{} [cut]", redacted.truncate(max_line).as_str())
        } else {
            redacted.into_string()
        };
        let ring = &mut self.logs[index];
        ring.bytes += line.len() + 1;
        ring.lines.push_back((Utc::now(), line));
        while ring.bytes > max_bytes {
            let Some((_, old)) = ring.lines.pop_front() else { break };
            ring.bytes -= old.len() + 1;
        }
    }
}

/// The running recorder. Cloning shares it.
#[derive(Clone)]
pub struct Recorder {
    state: Arc<Mutex<State>>,
}

impl Recorder {
    /// Starts sampling and following until `cancel`; lines are redacted by `redactor`.
    pub fn start(config: RecorderConfig, redactor: &Redactor, cancel: CancellationToken) -> Self {
        let logs = config
            .log_files
            .iter()
            .map(|path| LogRing {
                path: path.clone(),
                lines: VecDeque::new(),
                bytes: 0,
                notes: VecDeque::new(),
            })
            .collect();
        let recorder = Self {
            state: Arc::new(Mutex::new(State {
                config: config.clone(),
                samples: VecDeque::new(),
                logs,
                redactor: redactor.scope(),
            })),
        };
        tokio::spawn(sample_loop(recorder.clone(), config.sample_interval_secs, cancel.clone()));
        if !config.log_files.is_empty() {
            tokio::spawn(follow_loop(recorder.clone(), config.log_files.clone(), cancel));
        }
        recorder
    }

    /// Redacts the lines read from now on with `redactor` (a reload's).
    pub fn set_redactor(&self, redactor: &Redactor) {
        self.lock().redactor = redactor.scope();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere; the buffers are still consistent.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What goes into a bundle: `flight-recorder/host.json` and one
    /// `flight-recorder/logs/<n>-<file name>` per followed file (each line prefixed
    /// with the time witness read it, since a log line's own time format is unknown here).
    pub fn files(&self) -> Vec<DraftFile> {
        let mut state = self.lock();
        state.prune(Utc::now());
        let mut files = vec![DraftFile {
            path: "flight-recorder/host.json".into(),
            content: Content::Json(serde_json::json!({
                "sample_interval_secs": state.config.sample_interval_secs,
                "retain_secs": state.config.retain_secs,
                "samples": state.samples,
            })),
            cuttable: true,
        }];
        for (i, ring) in state.logs.iter().enumerate() {
            // Named after the followed file (`0-app.log`), made a safe name.
            let name: String = ring
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "log".into())
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }
                })
                .take(48)
                .collect();
            let mut text = format!("# witness flight recorder: {}\n", ring.path.display());
            for note in &ring.notes {
                text.push_str(&format!("# {note}\n"));
            }
            for (at, line) in &ring.lines {
                text.push_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
                text.push(' ');
                text.push_str(line);
                text.push('\n');
            }
            files.push(DraftFile {
                path: format!("flight-recorder/logs/{i}-{name}"),
                content: Content::Text(text),
                cuttable: true,
            });
        }
        files
    }

    /// Host samples kept now (tests, `/readyz` details).
    pub fn sample_count(&self) -> usize {
        self.lock().samples.len()
    }
}

async fn sample_loop(recorder: Recorder, every_secs: u64, cancel: CancellationToken) {
    use sysinfo::{MemoryRefreshKind, System};
    let mut system = System::new();
    system.refresh_cpu_usage();
    let mut interval = tokio::time::interval(Duration::from_secs(every_secs.max(1)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = interval.tick() => {}
        }
        system.refresh_cpu_usage();
        system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram().with_swap());
        let total = system.total_memory();
        let sample = Sample {
            at: Utc::now(),
            cpu_busy_ratio: f64::from(system.global_cpu_usage()) / 100.0,
            load_1m: System::load_average().one,
            memory_used_ratio: if total > 0 {
                system.used_memory() as f64 / total as f64
            } else {
                0.0
            },
            memory_available_bytes: system.available_memory(),
            swap_used_bytes: system.used_swap(),
        };
        let mut state = recorder.lock();
        state.samples.push_back(sample);
        state.prune(Utc::now());
    }
}

/// Where the follower is in one file.
struct Cursor {
    file: Option<File>,
    inode: Option<(u64, u64)>,
    offset: u64,
    partial: Vec<u8>,
}

async fn follow_loop(recorder: Recorder, paths: Vec<PathBuf>, cancel: CancellationToken) {
    let wake = Arc::new(tokio::sync::Notify::new());
    let _watcher = watch_dirs(&paths, Arc::clone(&wake));
    let max_log_bytes = recorder.lock().config.max_log_bytes as u64;
    let mut cursors: Vec<Cursor> = paths
        .iter()
        .map(|path| {
            // Start with the tail that fits the ring, not the whole history.
            let file = File::open(path).ok();
            let meta = file.as_ref().and_then(|f| f.metadata().ok());
            Cursor {
                inode: meta.as_ref().map(|m| (m.dev(), m.ino())),
                offset: meta.map(|m| m.len().saturating_sub(max_log_bytes)).unwrap_or(0),
                file,
                partial: Vec::new(),
            }
        })
        .collect();
    loop {
        for (i, path) in paths.iter().enumerate() {
            let (lines, notes) = check(path, &mut cursors[i]);
            if lines.is_empty() && notes.is_empty() {
                continue;
            }
            let mut state = recorder.lock();
            for note in notes {
                state.logs[i].note(note);
            }
            for line in lines {
                state.push_line(i, &line);
            }
        }
        tokio::select! {
            () = cancel.cancelled() => return,
            () = wake.notified() => {
                // Let a burst of writes settle into one read.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            () = tokio::time::sleep(POLL) => {}
        }
    }
}

/// Watches the directories of the followed files (a rotation replaces the file, so the
/// file itself is the wrong thing to watch). `None` when no watcher could be set up: the
/// poll still follows the files.
fn watch_dirs(
    paths: &[PathBuf],
    wake: Arc<tokio::sync::Notify>,
) -> Option<notify::RecommendedWatcher> {
    use notify::{RecursiveMode, Watcher};
    let mut watcher = notify::recommended_watcher(move |_event: notify::Result<notify::Event>| {
        wake.notify_one();
    })
    .map_err(|e| tracing::warn!(error = %e, "Cannot watch log files; polling them instead."))
    .ok()?;
    for dir in paths.iter().filter_map(|p| p.parent()) {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        if let Err(e) = watcher.watch(dir, RecursiveMode::NonRecursive) {
            tracing::warn!(dir = %dir.display(), error = %e, "Cannot watch a log directory; polling it.");
        }
    }
    Some(watcher)
}

/// Reads what is new in `path`: complete lines, and notes on rotation or truncation.
fn check(path: &Path, cursor: &mut Cursor) -> (Vec<String>, Vec<String>) {
    let mut lines = Vec::new();
    let mut notes = Vec::new();
    let current = std::fs::metadata(path).ok();
    let current_inode = current.as_ref().map(|m| (m.dev(), m.ino()));
    if current_inode.is_some() && current_inode != cursor.inode {
        // Rotated (or created): finish the old file first, then start the new one at 0.
        if cursor.file.is_some() {
            read_new(cursor, &mut lines);
            notes.push(format!("{} was rotated; following the new file", path.display()));
        }
        flush_partial(cursor, &mut lines);
        cursor.file = File::open(path).ok();
        cursor.inode = current_inode;
        cursor.offset = 0;
    } else if let (Some(meta), Some(_)) = (&current, &cursor.file)
        && meta.len() < cursor.offset
    {
        notes.push(format!("{} was truncated; reading it from the top", path.display()));
        flush_partial(cursor, &mut lines);
        cursor.offset = 0;
    }
    read_new(cursor, &mut lines);
    (lines, notes)
}

fn read_new(cursor: &mut Cursor, lines: &mut Vec<String>) {
    let Some(file) = cursor.file.as_mut() else { return };
    if file.seek(SeekFrom::Start(cursor.offset)).is_err() {
        return;
    }
    let mut buf = Vec::new();
    let Ok(n) = file.take(MAX_READ_PER_CHECK).read_to_end(&mut buf) else { return };
    cursor.offset += n as u64;
    cursor.partial.extend_from_slice(&buf);
    let mut start = 0;
    while let Some(pos) = cursor.partial[start..].iter().position(|b| *b == b'\n') {
        let line = &cursor.partial[start..start + pos];
        lines.push(String::from_utf8_lossy(line).trim_end_matches('\r').to_owned());
        start += pos + 1;
    }
    cursor.partial.drain(..start);
}

fn flush_partial(cursor: &mut Cursor, lines: &mut Vec<String>) {
    if !cursor.partial.is_empty() {
        lines.push(String::from_utf8_lossy(&cursor.partial).into_owned());
        cursor.partial.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn cursor() -> Cursor {
        Cursor { file: None, inode: None, offset: 0, partial: Vec::new() }
    }

    /// Issue 22: the copy of `app.log` was named `0-app.log.log`.
    #[tokio::test]
    async fn each_followed_file_is_named_after_itself() {
        let config = RecorderConfig {
            log_files: vec![PathBuf::from("/var/log/app.log"), PathBuf::from("/srv/worker.out")],
            ..RecorderConfig::default()
        };
        let cancel = CancellationToken::new();
        let recorder = Recorder::start(config, &Redactor::builtin(), cancel.clone());
        let paths: Vec<String> = recorder.files().into_iter().map(|f| f.path).collect();
        cancel.cancel();
        assert_eq!(
            paths,
            [
                "flight-recorder/host.json",
                "flight-recorder/logs/0-app.log",
                "flight-recorder/logs/1-worker.out"
            ]
        );
    }

    /// Issue 20: a line was cut at `max_line_bytes` before the bundle's redaction saw it,
    /// and the head of a token left before the cut was too short for its rule.
    #[test]
    fn a_line_is_redacted_whole_before_it_is_cut() {
        let jwt =
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiIsImV4cCI6MTl9.Q2xhc3NpY1NpZ25hdHVyZVZhbHVl";
        let key = "AKIAQWERTYUIOPASDFGH";
        let mut state = State {
            config: RecorderConfig { max_line_bytes: 40, ..RecorderConfig::default() },
            samples: VecDeque::new(),
            logs: vec![LogRing {
                path: PathBuf::from("app.log"),
                lines: VecDeque::new(),
                bytes: 0,
                notes: VecDeque::new(),
            }],
            redactor: Redactor::builtin(),
        };
        // Each secret straddles the cut at 40 bytes.
        for secret in [jwt, key] {
            let line = format!("{} auth {secret} refused", "x".repeat(20));
            state.push_line(0, &line);
        }
        for (_, line) in &state.logs[0].lines {
            assert!(line.ends_with(" [cut]"), "{line}");
            for secret in [jwt, key] {
                let head = &secret[..10];
                assert!(!line.contains(head), "{head} of {secret} survives in {line}");
            }
        }
    }

    #[test]
    fn rotation_and_truncation_lose_no_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut c = cursor();
        assert_eq!(check(&path, &mut c).0.len(), 0, "a missing file is waited for");
        let mut f = File::create(&path).unwrap();
        writeln!(f, "one").unwrap();
        write!(f, "tw").unwrap();
        assert_eq!(check(&path, &mut c).0, ["one"]);
        writeln!(f, "o").unwrap();
        // Rotate: the old file gets a last line after the rename, then a new file appears.
        std::fs::rename(&path, dir.path().join("app.log.1")).unwrap();
        writeln!(f, "three").unwrap();
        let mut g = File::create(&path).unwrap();
        writeln!(g, "four").unwrap();
        let (lines, notes) = check(&path, &mut c);
        assert_eq!(lines, ["two", "three", "four"]);
        assert_eq!(notes.len(), 1);
        // Truncate in place (copytruncate).
        g.set_len(0).unwrap();
        let mut g = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        writeln!(g, "5").unwrap();
        let (lines, notes) = check(&path, &mut c);
        assert_eq!(lines, ["5"]);
        assert!(notes[0].contains("truncated"), "{notes:?}");
    }
}
