//! Which files to read and how: globs expanded, rotated siblings found (`app.log.1`,
//! `app.log.2.gz`, `app-2025-11-19.log`), each file's format, kind and time range looked
//! at cheaply, files outside the window and its baseline left out, and each remaining file
//! read by bisection (plain, time-ordered), linearly (out of order) or as a stream (gzip).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use flate2::read::MultiGzDecoder;
use serde::Serialize;

use witness_log_analysis::access;
use witness_log_analysis::scan::{Ended, FileSpec, Scanner, Setup, Stop, reorder_tolerance};
use witness_log_analysis::tally::Tally;
use witness_log_analysis::timestamp::{self, TimeContext, TsFormat, layouts};

use crate::bisect::Prober;
use crate::config::LogKind;
use crate::walk;

/// Bytes looked at to detect a file's format and kind.
const SAMPLE_BYTES: usize = 64 * 1024;
const SAMPLE_LINES: usize = 200;

/// What happened to one file, as shown in `data.files`.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    /// The timestamp format detected.
    pub format: Option<String>,
    /// `app` or `access`.
    pub kind: Option<&'static str>,
    /// `bisect` (seeked to the start), `linear` (read whole: not time-ordered), `stream`
    /// (gzip, read from its start), or `skipped`.
    pub mode: &'static str,
    pub gzip: bool,
    /// Ranges read in parallel (1 unless a long time-ordered range was split).
    pub segments: usize,
    pub bytes_read: u64,
    #[serde(with = "witness_collector::time::millis_opt")]
    pub first_time: Option<DateTime<Utc>>,
    #[serde(with = "witness_collector::time::millis_opt")]
    pub last_time: Option<DateTime<Utc>>,
    /// Why the file was skipped or only partly read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The outcome of reading every file of an instance.
pub struct Outcome {
    pub tally: Tally,
    pub files: Vec<FileReport>,
    /// Problems that make the evidence partial (one per path).
    pub problems: Vec<String>,
    /// Remarks that do not (files read linearly, say).
    pub remarks: Vec<String>,
    /// The earliest time any file reaches back to, to judge the baseline's coverage.
    pub earliest: Option<DateTime<Utc>>,
    /// The newest line seen in any file (logs that went quiet show here).
    pub latest: Option<DateTime<Utc>>,
    pub stopped: bool,
}

/// Expands the globs (a bounded walk that stops when `stop` says so) and adds rotated
/// siblings; problems name the path.
pub fn discover(globs: &[String], stop: &Stop) -> (Vec<PathBuf>, Vec<String>) {
    let mut found = BTreeSet::new();
    let mut problems = Vec::new();
    for pattern in globs {
        let mut matched = 0;
        match walk::expand(pattern, stop) {
            Err(e) => problems.push(format!("{pattern}: not a valid glob: {e}")),
            Ok(walked) => {
                for p in walked.files {
                    // A FIFO or a device would block the read or never end.
                    if p.exists() && !p.is_file() {
                        matched += 1;
                        problems.push(format!("{}: not a regular file; not read", p.display()));
                    } else if p.is_file() {
                        matched += 1;
                        found.insert(p);
                    }
                }
                problems.extend(walked.errors);
                if let Some(cut) = walked.cut {
                    problems.push(format!("{pattern}: {cut}"));
                }
            }
        }
        if matched == 0 {
            let has_magic = pattern.contains(['*', '?', '[']);
            let reason = if has_magic {
                "no file matches".to_owned()
            } else {
                match std::fs::metadata(pattern) {
                    Err(e) => e.to_string(),
                    Ok(_) => "not a regular file".to_owned(),
                }
            };
            problems.push(format!("{pattern}: {reason}"));
        }
    }
    let mut with_siblings = found.clone();
    with_siblings.extend(siblings(&found, stop));
    (with_siblings.into_iter().collect(), problems)
}

static ROTATION_NUMBER: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"\.\d{1,4}$").expect("a constant, valid regex"));
static DATE_STAMP: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"[-._]\d{4}-?\d{2}-?\d{2}(?:[-_T.]?\d{2,6})?")
        .expect("a constant, valid regex")
});

/// A file name with its rotation marks removed: every file of one log has the same key.
pub fn family_key(name: &str) -> String {
    let name = name.strip_suffix(".gz").unwrap_or(name);
    let name = ROTATION_NUMBER.replace(name, "");
    DATE_STAMP.replace(&name, "").into_owned()
}

/// The other files of the logs of `found` (rotated siblings): each directory is read
/// once, however many of its files were matched, at most [`walk::MAX_ENTRIES`] entries,
/// and not at all once `stop` says so.
fn siblings(found: &BTreeSet<PathBuf>, stop: &Stop) -> Vec<PathBuf> {
    // Per directory: the family keys of its matched files, and their names.
    let mut families: BTreeMap<&Path, (BTreeSet<String>, BTreeSet<&str>)> = BTreeMap::new();
    for path in found {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str()))
        else {
            continue;
        };
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        let (keys, names) = families.entry(dir).or_default();
        keys.insert(family_key(name));
        names.insert(name);
    }
    let mut out = Vec::new();
    for (dir, (keys, names)) in families {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for entry in entries.take(walk::MAX_ENTRIES).filter_map(Result::ok) {
            if stop() {
                return out;
            }
            let is_file = entry.file_type().is_ok_and(|t| t.is_file());
            let name = entry.file_name();
            if is_file
                && name
                    .to_str()
                    .is_some_and(|n| !names.contains(n) && keys.contains(&family_key(n)))
            {
                out.push(dir.join(name));
            }
        }
    }
    out
}

fn is_gzip(path: &Path, file: &File) -> bool {
    let mut magic = [0u8; 2];
    path.extension().is_some_and(|e| e == "gz")
        || std::os::unix::fs::FileExt::read_exact_at(file, &mut magic, 0)
            .is_ok_and(|()| magic == [0x1f, 0x8b])
}

/// Compressions other than gzip, by extension: such files are named, not read.
const UNSUPPORTED_COMPRESSION: &[&str] = &["zst", "bz2", "xz", "lz4", "zip", "7z"];

/// A file looked at but not read yet.
struct Candidate {
    path: PathBuf,
    display: String,
    file: File,
    gzip: bool,
    format: TsFormat,
    /// Yearless times placed by this file's modification time.
    tcx: TimeContext,
    access: bool,
    first: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
    size: u64,
    modified: Option<DateTime<Utc>>,
}

/// The first lines of a file (decompressed when gzip), whole lines only.
fn sample(file: &File, gzip: bool) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(SAMPLE_BYTES);
    let reader: Box<dyn Read> =
        if gzip { Box::new(MultiGzDecoder::new(BufReader::new(file))) } else { Box::new(file) };
    let result = reader.take(SAMPLE_BYTES as u64).read_to_end(&mut buf);
    if let Err(e) = result {
        // A truncated gzip still shows its first lines.
        if buf.is_empty() {
            return Err(e);
        }
    }
    if buf.len() == SAMPLE_BYTES
        && let Some(i) = memchr::memrchr(b'\n', &buf)
    {
        buf.truncate(i + 1);
    }
    Ok(buf)
}

/// Reads every file of the instance into one tally.
pub fn collect(globs: &[String], kind: LogKind, setup: &Setup, stop: &Stop) -> Outcome {
    let (paths, mut problems) = discover(globs, stop);
    let mut files = Vec::new();
    let mut candidates = Vec::new();
    let mut remarks = Vec::new();
    for path in paths {
        let display = path.display().to_string();
        if let Some(ext) = path
            .extension()
            .and_then(|e| e.to_str())
            .filter(|e| UNSUPPORTED_COMPRESSION.contains(e))
        {
            remarks.push(format!("{display}: not read, .{ext} files are not supported (gzip is)"));
            files.push(skipped(&display, &format!(".{ext} compression is not supported")));
            continue;
        }
        if stop() {
            problems
                .push(format!("{display}: not read, the deadline passed or the run was cancelled"));
            continue;
        }
        match look(&path, kind, setup) {
            Ok(Some(c)) => candidates.push(c),
            Ok(None) => files.push(skipped(&display, "empty")),
            Err(reason) => {
                problems.push(format!("{display}: {reason}"));
                files.push(skipped(&display, &reason));
            }
        }
    }
    let earliest = candidates.iter().filter_map(|c| c.first).min();
    let latest = candidates.iter().filter_map(|c| c.last.or(c.first)).max();
    let ends = estimated_ends(&candidates);
    let span = setup.span;
    let mut outcome = Outcome {
        tally: Tally::new(span, setup.max_excerpt_bytes),
        files,
        problems,
        remarks,
        earliest,
        latest,
        stopped: false,
    };
    for (c, end) in candidates.into_iter().zip(ends) {
        let overlaps = c.first.is_some_and(|f| f < span.window.end)
            && end.is_none_or(|e| e >= span.baseline.start);
        let mut report = FileReport {
            path: c.display.clone(),
            format: Some(c.format.name()),
            kind: Some(if c.access { "access" } else { "app" }),
            mode: "skipped",
            gzip: c.gzip,
            segments: 1,
            bytes_read: 0,
            first_time: c.first,
            last_time: c.last,
            note: None,
        };
        if !overlaps {
            report.note = Some("outside the window and its baseline".into());
            outcome.files.push(report);
            continue;
        }
        if outcome.stopped || stop() {
            outcome.stopped = true;
            report.note = Some("not read: the deadline passed or the run was cancelled".into());
            outcome.problems.push(format!(
                "{}: not read, the deadline passed or the run was cancelled",
                c.display
            ));
            outcome.files.push(report);
            continue;
        }
        let (tally, read) = read_file(&c, setup, stop, &mut report);
        if let Some(problem) = read.problem {
            outcome.problems.push(format!("{}: {problem}", c.display));
        }
        if let Some(remark) = read.remark {
            outcome.remarks.push(format!("{}: {remark}", c.display));
        }
        outcome.stopped |= read.stopped;
        outcome.latest = outcome.latest.max(read.newest);
        if tally.access.requests + tally.access.baseline_requests > 0 || c.access {
            outcome.tally.access.files += 1;
        }
        outcome.tally.merge(tally);
        outcome.files.push(report);
    }
    outcome
}

fn skipped(display: &str, note: &str) -> FileReport {
    FileReport {
        path: display.to_owned(),
        format: None,
        kind: None,
        mode: "skipped",
        gzip: false,
        segments: 0,
        bytes_read: 0,
        first_time: None,
        last_time: None,
        note: Some(note.to_owned()),
    }
}

/// Opens a file and looks at its first lines: `Ok(None)` when it is empty, `Err` with
/// the reason when it cannot be used.
fn look(path: &Path, kind: LogKind, setup: &Setup) -> Result<Option<Candidate>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if meta.len() == 0 {
        return Ok(None);
    }
    let modified = meta.modified().ok().map(DateTime::<Utc>::from);
    let tcx = setup.tcx.for_file(modified);
    let gzip = is_gzip(path, &file);
    let head = sample(&file, gzip).map_err(|e| format!("cannot read: {e}"))?;
    let lines: Vec<&[u8]> = head
        .split(|c| *c == b'\n')
        .filter(|l| !l.is_empty())
        .take(SAMPLE_LINES)
        .map(|l| &l[..l.len().min(setup.max_line_bytes)])
        .collect();
    if lines.is_empty() {
        return Ok(None);
    }
    let format = match &setup.timestamp_format {
        Some(custom) => custom.clone(),
        None => timestamp::detect(&lines, &tcx).ok_or_else(|| {
            "no known timestamp format in its first lines; not read (set timestamp_format)"
                .to_owned()
        })?,
    };
    let access = match kind {
        LogKind::Access => true,
        LogKind::App => false,
        LogKind::Auto => {
            let json = matches!(format, TsFormat::Json { .. });
            (format.is(layouts::CLF) || json)
                && lines.iter().filter(|l| access::looks_like_access(l, json)).count() * 2
                    > lines.len()
        }
    };
    let first = lines.iter().find_map(|l| format.parse(l, &tcx)).map(|(t, _)| t);
    let size = meta.len();
    let last = if gzip {
        None
    } else {
        let prober = Prober {
            file: &file,
            size,
            format: &format,
            tcx: &tcx,
            max_line_bytes: setup.max_line_bytes,
        };
        prober.last_time().map_err(|e| format!("cannot read: {e}"))?
    };
    Ok(Some(Candidate {
        display: path.display().to_string(),
        path: path.to_owned(),
        file,
        gzip,
        format,
        tcx,
        access,
        first,
        last,
        size,
        modified,
    }))
}

/// The last time of each file: read from its tail when plain; for gzip, the next file of
/// the same log starts after it ends, and the newest ends at its modification time.
fn estimated_ends(candidates: &[Candidate]) -> Vec<Option<DateTime<Utc>>> {
    let mut families: BTreeMap<(PathBuf, String), Vec<usize>> = BTreeMap::new();
    for (i, c) in candidates.iter().enumerate() {
        let dir = c.path.parent().map(Path::to_owned).unwrap_or_default();
        let name = c.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        families.entry((dir, family_key(name))).or_default().push(i);
    }
    let mut ends: Vec<Option<DateTime<Utc>>> = candidates.iter().map(|c| c.last).collect();
    for members in families.values_mut() {
        members.sort_by_key(|i| candidates[*i].first);
        for (k, &i) in members.iter().enumerate() {
            if ends[i].is_some() {
                continue;
            }
            let next_start = members.get(k + 1).and_then(|j| candidates[*j].first);
            ends[i] = next_start.or(candidates[i].modified);
        }
    }
    ends
}

struct FileRead {
    problem: Option<String>,
    remark: Option<String>,
    stopped: bool,
    newest: Option<DateTime<Utc>>,
}

/// Reads one file the best way it allows.
fn read_file(
    c: &Candidate,
    setup: &Setup,
    stop: &Stop,
    report: &mut FileReport,
) -> (Tally, FileRead) {
    let mut read = FileRead { problem: None, remark: None, stopped: false, newest: None };
    if c.gzip {
        report.mode = "stream";
        let mut scanner = Scanner::new(setup, spec(c, true, true));
        let at_start = RangeReader { file: &c.file, pos: 0, end: None };
        let decoder = MultiGzDecoder::new(BufReader::with_capacity(256 * 1024, at_start));
        let (ended, error) = scanner.run(decoder, 0, stop);
        report.bytes_read = scanner.bytes_read;
        read.newest = scanner.newest();
        read.stopped = ended == Ended::Stopped;
        if let Some(e) = error {
            read.problem = Some(format!(
                "read only the first {} bytes (decompressed): {e}",
                scanner.bytes_read
            ));
        }
        if scanner.out_of_order {
            read.remark = Some("timestamps go backwards; read whole".into());
        }
        return (scanner.tally, read);
    }
    let prober = Prober {
        file: &c.file,
        size: c.size,
        format: &c.format,
        tcx: &c.tcx,
        max_line_bytes: setup.max_line_bytes,
    };
    if prober.looks_ordered().unwrap_or(false) {
        report.mode = "bisect";
        let segments = segments(&prober, setup);
        report.segments = segments.len();
        let part = scan_segments(c, setup, &segments, true, stop);
        report.bytes_read = part.bytes;
        if !part.out_of_order {
            let mut read = part.read;
            read.newest = part.newest;
            return (part.tally, read);
        }
    }
    report.mode = "linear";
    report.segments = 1;
    read.remark = Some("timestamps go backwards; read linearly from the start".into());
    let part = scan_segments(c, setup, &[(0, None)], false, stop);
    report.bytes_read += part.bytes;
    read.problem = part.read.problem;
    read.stopped = part.read.stopped;
    read.newest = part.newest;
    (part.tally, read)
}

fn spec(c: &Candidate, stop_at_window_end: bool, every_line: bool) -> FileSpec<'_> {
    FileSpec {
        path: &c.display,
        format: &c.format,
        tcx: c.tcx,
        access: c.access,
        stop_at_window_end,
        every_line,
    }
}

/// Below this a range is read by one thread.
const MIN_SEGMENT_BYTES: u64 = 8 * 1024 * 1024;
/// Threads one file is read with at most.
const MAX_THREADS: usize = 4;

/// The byte ranges covering the baseline and the window in a time-ordered file, split at
/// record starts so that each can be read by its own thread. The last range is open: it
/// ends where the file's time passes the window's end.
fn segments(prober: &Prober<'_>, setup: &Setup) -> Vec<(u64, Option<u64>)> {
    let start = prober.find(setup.span.baseline.start).unwrap_or(0);
    let end =
        prober.find(setup.span.window.end + reorder_tolerance()).unwrap_or(prober.size).max(start);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS);
    let n = ((end - start) / MIN_SEGMENT_BYTES).clamp(1, threads as u64);
    let mut bounds = vec![start];
    for k in 1..n {
        let at = start + (end - start) / n * k;
        if let Ok(Some((line, _))) = prober.probe(at)
            && line > *bounds.last().unwrap_or(&start)
            && line < end
        {
            bounds.push(line);
        }
    }
    let mut segments: Vec<(u64, Option<u64>)> =
        bounds.windows(2).map(|w| (w[0], Some(w[1]))).collect();
    segments.push((*bounds.last().unwrap_or(&start), None));
    segments
}

struct Part {
    tally: Tally,
    read: FileRead,
    out_of_order: bool,
    bytes: u64,
    newest: Option<DateTime<Utc>>,
}

/// Reads the ranges, each on its own thread, and adds them up in file order.
/// `ordered`: the file is time-ordered, so reading stops past the window's end.
fn scan_segments(
    c: &Candidate,
    setup: &Setup,
    segments: &[(u64, Option<u64>)],
    ordered: bool,
    stop: &Stop,
) -> Part {
    let run = |(start, end): (u64, Option<u64>)| {
        let mut scanner = Scanner::new(setup, spec(c, ordered, !ordered));
        // Lines appended after the file was first looked at are newer than the run: a
        // busy writer must not keep the read going.
        let reader =
            RangeReader { file: &c.file, pos: start, end: Some(end.unwrap_or(c.size).max(start)) };
        let (ended, error) = scanner.run(reader, start, stop);
        (scanner, ended, error)
    };
    let results: Vec<_> = if segments.len() == 1 {
        vec![Ok(run(segments[0]))]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = segments.iter().map(|seg| s.spawn(move || run(*seg))).collect();
            handles.into_iter().map(|h| h.join()).collect()
        })
    };
    let mut part = Part {
        tally: Tally::new(setup.span, setup.max_excerpt_bytes),
        read: FileRead { problem: None, remark: None, stopped: false, newest: None },
        out_of_order: false,
        bytes: 0,
        newest: None,
    };
    for result in results {
        match result {
            Ok((scanner, ended, error)) => {
                part.read.stopped |= ended == Ended::Stopped;
                if let Some(e) = error {
                    part.read.problem =
                        Some(format!("read error after {} bytes: {e}", scanner.bytes_read));
                }
                part.out_of_order |= scanner.out_of_order;
                part.bytes += scanner.bytes_read;
                part.newest = part.newest.max(scanner.newest());
                part.tally.merge(scanner.tally);
            }
            Err(_) => {
                part.read.problem = Some("a reading thread failed; counts are incomplete".into())
            }
        }
    }
    part
}

/// Reads `[pos, end)` of a file with positioned reads, so threads share one handle.
struct RangeReader<'a> {
    file: &'a File,
    pos: u64,
    end: Option<u64>,
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let max = match self.end {
            Some(end) => (end.saturating_sub(self.pos)).min(buf.len() as u64) as usize,
            None => buf.len(),
        };
        if max == 0 {
            return Ok(0);
        }
        let n = std::os::unix::fs::FileExt::read_at(self.file, &mut buf[..max], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_marks_are_ignored_in_family_keys() {
        for name in [
            "app.log",
            "app.log.1",
            "app.log.2.gz",
            "app-2025-11-19.log",
            "app.log-20251119",
            "app.2025-11-19.log.gz",
        ] {
            assert_eq!(family_key(name), "app.log", "{name}");
        }
        assert_ne!(family_key("app.log.bak"), "app.log");
        assert_ne!(family_key("worker.log"), "app.log");
    }
}
