//! The forward read of one file from a byte offset: fixed-size buffers, one
//! literal-optimized regex search per buffer (not per line) for application logs, a line
//! walk for access logs and klog, and the bookkeeping that turns matched lines into
//! records: lines without a timestamp belong to the last timestamped line before them.
//! A timestamped line with a level field is an error because of its level; the configured
//! patterns decide for the others (and for a record's lines without a timestamp).
//! Memory stays at one buffer plus what the [`Tally`] keeps, whatever the file's size.
//!
//! A line that becomes evidence (an error record in the window or baseline) is redacted
//! whole, as read, before its message is picked out, normalised into a signature or cut to
//! `max_line_bytes`: a secret is found whole, and no transform can hide it from the rules.
//! Lines that are only counted are never redacted, so a large file reads at full speed.

use std::io::{self, Read};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use memchr::{memchr, memchr_iter, memrchr};
use witness_collector::{Redacted, Redactor};

use crate::Matchers;
use crate::access;
use crate::level;
use crate::prefilter::Prefilter;
use crate::signature;
use crate::tally::{Block, Period, Slot, Span, Tally, keep_newest, url_escapes_redacted};
use crate::timestamp::{TimeContext, TsFormat, layouts};

/// Bytes read per step; a line longer than this is cut to it.
pub const CHUNK: usize = 1024 * 1024;
/// How far back (in lines) a matched line without a timestamp looks for its record's head.
const LOOKBACK_LINES: usize = 500;
/// Timestamps may go back this much (threads racing to the log) before a file counts as
/// out of order.
pub fn reorder_tolerance() -> Duration {
    Duration::seconds(1)
}

/// What stays the same for every file of a run.
pub struct Setup {
    /// Which lines are errors (patterns, exclusions) and which are worth a look.
    pub matchers: Matchers,
    /// The configured `timestamp_format`, which replaces detection.
    pub timestamp_format: Option<TsFormat>,
    /// The zone, and the reference for yearless times of files without a modification time.
    pub tcx: TimeContext,
    pub span: Span,
    pub context_lines: usize,
    pub max_line_bytes: usize,
    pub max_excerpt_bytes: usize,
    /// The run's redactor (shared by the reading threads): every line that becomes
    /// evidence goes through it first.
    pub redactor: Redactor,
}

/// How one file is read.
pub struct FileSpec<'a> {
    pub path: &'a str,
    pub format: &'a TsFormat,
    /// This file's time context (yearless times placed by its modification time).
    pub tcx: TimeContext,
    pub access: bool,
    /// Stop once the file's time passes the window's end (only for time-ordered files).
    pub stop_at_window_end: bool,
    /// Read every line's time, so that the file's newest time and whether it goes back
    /// come from all lines, not from the matched ones (files read linearly or streamed);
    /// in a time-ordered stream, buffers that end before the baseline only show their first
    /// and last times.
    pub every_line: bool,
}

/// Why a scan ended early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Read to its end, or to the window's end.
    Done,
    /// The deadline passed or the run was cancelled.
    Stopped,
}

/// The state of one forward read.
pub struct Scanner<'a> {
    setup: &'a Setup,
    spec: FileSpec<'a>,
    pub tally: Tally,
    /// The latest record head known before the current position: its offset and time.
    last_head: Option<(u64, DateTime<Utc>)>,
    /// The head of the last record counted, so a record's second matched line is not
    /// counted again.
    counted_head: Option<u64>,
    /// The newest time seen so far; a time well before it means the file is not ordered.
    newest: Option<DateTime<Utc>>,
    pub out_of_order: bool,
    pub bytes_read: u64,
    block: Option<OpenBlock>,
    /// Inside a line longer than the buffer: it is already counted as cut.
    in_long_line: bool,
    path: Arc<str>,
    /// The file is in the common log format (its lines are read with [`Self::clf_parse`]).
    clf: bool,
    /// Its lines are JSON objects.
    json: bool,
    /// The `[…]` time field of the last access-log line read in the common log format, its
    /// time and where that falls: requests come many to a second, so most lines repeat it.
    clf_field: Vec<u8>,
    clf_time: Option<(DateTime<Utc>, Slot)>,
    /// The buffer folded to ASCII lowercase, for the prefilter's literals (kept between
    /// buffers so it is allocated once).
    folded: Vec<u8>,
}

struct OpenBlock {
    time: DateTime<Utc>,
    offset: u64,
    /// Absolute offset just after the last line in the block.
    end: u64,
    bytes: Vec<u8>,
    trimmed: bool,
    after_left: usize,
}

/// Whether the scan must stop (deadline or cancellation); shared by reading threads.
pub type Stop = dyn Fn() -> bool + Sync;

impl<'a> Scanner<'a> {
    pub fn new(setup: &'a Setup, spec: FileSpec<'a>) -> Self {
        Self {
            setup,
            path: Arc::from(spec.path),
            tally: Tally::new(setup.span, setup.max_excerpt_bytes),
            last_head: None,
            counted_head: None,
            newest: None,
            out_of_order: false,
            bytes_read: 0,
            block: None,
            in_long_line: false,
            clf: spec.format.is(layouts::CLF),
            json: spec.format.is_json(),
            clf_field: Vec::new(),
            clf_time: None,
            folded: Vec::new(),
            spec,
        }
    }

    /// Reads `reader`, whose first byte is at offset `start` of the file, until its end
    /// (or the window's end). A read error ends the scan after what was read is counted.
    pub fn run(
        &mut self,
        mut reader: impl Read,
        start: u64,
        stop: &Stop,
    ) -> (Ended, Option<io::Error>) {
        let mut buf = vec![0u8; CHUNK.max(self.setup.max_line_bytes * 2)];
        let mut len = 0usize;
        let mut abs = start;
        let mut skipping = false;
        let mut error = None;
        let stop_after = self.setup.span.window.end + reorder_tolerance();
        loop {
            if stop() {
                self.finish_block();
                return (Ended::Stopped, error);
            }
            let mut eof = false;
            while len < buf.len() {
                match reader.read(&mut buf[len..]) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => {
                        len += n;
                        self.bytes_read += n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        error = Some(e);
                        eof = true;
                        break;
                    }
                }
            }
            if skipping {
                // The rest of a line longer than the buffer: drop it.
                match memchr(b'\n', &buf[..len]) {
                    Some(i) => {
                        buf.copy_within(i + 1..len, 0);
                        len -= i + 1;
                        abs += i as u64 + 1;
                        skipping = false;
                    }
                    None => {
                        abs += len as u64;
                        len = 0;
                        if eof {
                            break;
                        }
                        continue;
                    }
                }
            }
            if len == 0 {
                break;
            }
            let end = match memrchr(b'\n', &buf[..len]) {
                _ if eof => len,
                Some(i) => i + 1,
                None => {
                    self.tally.lines_cut += 1;
                    self.in_long_line = true;
                    self.region(&buf[..len], abs);
                    self.in_long_line = false;
                    abs += len as u64;
                    len = 0;
                    skipping = true;
                    continue;
                }
            };
            let tail = self.region(&buf[..end], abs);
            buf.copy_within(end..len, 0);
            len -= end;
            abs += end as u64;
            if self.spec.stop_at_window_end
                && !self.out_of_order
                && tail.is_some_and(|t| t >= stop_after)
            {
                break;
            }
            if eof {
                break;
            }
        }
        self.finish_block();
        (Ended::Done, error)
    }

    /// Handles whole lines `buf` (ending with a newline unless at the file's end) found at
    /// offset `abs`; returns the time of the last timestamped line in it.
    fn region(&mut self, buf: &[u8], abs: u64) -> Option<DateTime<Utc>> {
        self.continue_block(buf, abs);
        if let Some(t) = self.before_the_baseline(buf, abs) {
            return Some(t);
        }
        let line_walk = self.spec.access || self.spec.format.content().is(layouts::KLOG);
        if line_walk {
            let mut ls = 0;
            for nl in
                memchr_iter(b'\n', buf).chain((buf.last() != Some(&b'\n')).then_some(buf.len()))
            {
                self.walked_line(buf, ls, nl, abs);
                ls = nl + 1;
            }
        } else {
            let prefilter = self.setup.matchers.prefilter(self.spec.format);
            let mut folded = std::mem::take(&mut self.folded);
            prefilter.fold(buf, &mut folded);
            let mut pos = 0;
            while let Some(line) = prefilter.next_line(buf, &folded, pos) {
                let candidate = (!line.matched).then_some(prefilter);
                self.matched_line(buf, line.start, line.end, abs, None, candidate);
                pos = line.end + 1;
            }
            self.folded = folded;
            if self.spec.every_line {
                self.observe_lines(buf);
            }
        }
        let tail = self.tail_time(buf, abs);
        if let Some((_, t)) = tail {
            self.observe(t);
            self.last_head = tail;
        }
        tail.map(|(_, t)| t)
    }

    /// In a time-ordered read (a stream from a file's start), a buffer that ends before
    /// the baseline starts holds nothing to count: its lines are not looked at, only its
    /// first and last times, which must be in order (when they are not, the buffer is read
    /// as any other). Returns the last time when it was passed over.
    fn before_the_baseline(&mut self, buf: &[u8], abs: u64) -> Option<DateTime<Utc>> {
        if !self.spec.stop_at_window_end || self.out_of_order {
            return None;
        }
        let tail = self.tail_time(buf, abs)?;
        if tail.1 + reorder_tolerance() >= self.setup.span.baseline.start {
            return None;
        }
        let first = buf
            .split(|c| *c == b'\n')
            .take(LOOKBACK_LINES)
            .find_map(|line| self.parse(trim_cr(line)));
        if let Some((t, _)) = first {
            self.observe(t);
        }
        self.observe(tail.1);
        if self.out_of_order {
            // Read it line by line after all.
            return None;
        }
        self.last_head = Some(tail);
        Some(tail.1)
    }

    /// The last timestamped line of `buf`: its offset and time.
    fn tail_time(&self, buf: &[u8], abs: u64) -> Option<(u64, DateTime<Utc>)> {
        let mut end = buf.len();
        for _ in 0..LOOKBACK_LINES {
            if end == 0 {
                return None;
            }
            let body_end = if buf[end - 1] == b'\n' { end - 1 } else { end };
            let ls = memrchr(b'\n', &buf[..body_end]).map_or(0, |i| i + 1);
            if let Some((t, _)) = self.parse(&buf[ls..body_end]) {
                return Some((abs + ls as u64, t));
            }
            end = ls;
        }
        None
    }

    /// The time of `line`, where its message starts, and its level: for a JSON line, read
    /// in one pass over the object.
    fn timed(&self, line: &[u8]) -> Option<(DateTime<Utc>, usize, Option<level::Level>)> {
        if let TsFormat::Json { key } = self.spec.format {
            let line = &line[..line.len().min(self.setup.max_line_bytes)];
            let (t, level) = level::json_timed(line, key, &self.spec.tcx)?;
            return Some((t, 0, level));
        }
        let (t, at) = self.parse(line)?;
        Some((t, at, level::of(line, at, self.spec.format)))
    }

    fn parse(&self, line: &[u8]) -> Option<(DateTime<Utc>, usize)> {
        let line = &line[..line.len().min(self.setup.max_line_bytes)];
        self.spec.format.parse(line, &self.spec.tcx)
    }

    /// [`Self::parse`] of a line in the common log format, where the time is the first
    /// `[…]` field, with where the time falls: a field equal to the last one read has its
    /// time and slot, without parsing.
    /// Also where the line's first `]` is, when the time field's is that one.
    fn clf_parse(&mut self, line: &[u8]) -> Option<(DateTime<Utc>, Slot, Option<usize>)> {
        let cut = &line[..line.len().min(self.setup.max_line_bytes)];
        let field =
            memchr(b'[', cut).and_then(|open| Some(open..open + memchr(b']', &cut[open..])? + 1));
        let close = field.as_ref().filter(|f| !cut[..f.start].contains(&b']')).map(|f| f.end - 1);
        if let (Some(field), Some((t, slot))) = (&field, self.clf_time)
            && cut[field.clone()] == self.clf_field[..]
        {
            return Some((t, slot, close));
        }
        let (t, end) = self.parse(cut)?;
        let slot = self.setup.span.slot(t);
        // Only a time read from that very field may be reused for the same field.
        if let Some(field) = field
            && end == field.end
        {
            self.clf_field.clear();
            self.clf_field.extend_from_slice(&cut[field]);
            self.clf_time = Some((t, slot));
        }
        Some((t, slot, close))
    }

    /// Every line's time, in order (files read linearly or streamed).
    fn observe_lines(&mut self, buf: &[u8]) {
        for line in buf.split(|c| *c == b'\n') {
            if let Some((t, _)) = self.parse(trim_cr(line)) {
                self.observe(t);
            }
        }
    }

    /// The newest time seen in the read (the last line's, when the read reached the end).
    pub fn newest(&self) -> Option<DateTime<Utc>> {
        self.newest
    }

    fn observe(&mut self, t: DateTime<Utc>) {
        // Most lines repeat the newest time (requests come many to a second).
        if self.newest == Some(t) {
            return;
        }
        match self.newest {
            Some(n) if t + reorder_tolerance() < n => self.out_of_order = true,
            Some(n) if t <= n => {}
            _ => self.newest = Some(t),
        }
    }

    /// One line of an access log or klog, which are read line by line.
    fn walked_line(&mut self, buf: &[u8], ls: usize, le: usize, abs: u64) {
        let line = trim_cr(&buf[ls..le]);
        if line.is_empty() {
            return;
        }
        if self.spec.access {
            let parsed = if self.clf {
                self.clf_parse(line)
            } else {
                self.parse(line).map(|(t, _)| (t, self.setup.span.slot(t), None))
            };
            let Some((t, slot, close)) = parsed else { return };
            self.observe(t);
            self.last_head = Some((abs + ls as u64, t));
            let period = slot.period;
            if period == Period::Outside {
                return;
            }
            let parsed_request = match close {
                _ if self.json => access::parse_json(line),
                Some(close) => access::parse_after(line, close),
                None => access::parse(line),
            };
            let Some(request) = parsed_request else {
                self.tally.access_unparsed(period);
                return;
            };
            self.tally.request(slot, request.status, request.latency_ms);
            if request.status >= 500 && !self.excluded(line) {
                self.status_5xx(line, &request, t, period, buf, ls, le, abs);
            }
            return;
        }
        let parsed = self.parse(line);
        if let Some((t, _)) = parsed {
            self.observe(t);
            self.last_head = Some((abs + ls as u64, t));
        }
        // klog: every timestamped line carries its level letter.
        let worth_a_look = parsed.is_some() || self.pattern_matches(line);
        if worth_a_look {
            self.matched_line(buf, ls, le, abs, parsed, None);
        }
    }

    /// A 5xx response: its endpoint, and its line as an error record. The endpoint comes
    /// from the redacted request (the redacted line, in JSON): a token in the path or the
    /// query (`/reset/<token>`, `?api_key=…`) is found whole first. The whole line is
    /// redacted only when it is kept.
    #[allow(clippy::too_many_arguments)]
    fn status_5xx(
        &mut self,
        line: &[u8],
        request: &access::Request<'_>,
        t: DateTime<Utc>,
        period: Period,
        buf: &[u8],
        ls: usize,
        le: usize,
        abs: u64,
    ) {
        let redactor = &self.setup.redactor;
        let json = self.spec.format.is_json();
        let redacted_line = json.then(|| crate::redact::text(redactor, line));
        let endpoint = match &redacted_line {
            Some(redacted) => access::endpoint(redacted, true),
            None => access::request_field(line)
                .and_then(|field| access::endpoint_of_request(&redactor.redact(&field))),
        };
        let (method, path) = endpoint.unwrap_or_else(|| {
            // Redaction changed the request's shape: keep the method, not the path.
            (redactor.redact(request.method()), Redacted::generated("-"))
        });
        let signature = Redacted::generated(format!("{method} {path} {}", request.status));
        self.tally.endpoint_5xx(t, period, method, path);
        let setup = self.setup;
        let whole =
            move || redacted_line.unwrap_or_else(|| crate::redact::text(&setup.redactor, line));
        self.count(abs + ls as u64, t, period, signature, whole, buf, ls, le, abs);
    }

    fn pattern_matches(&self, line: &[u8]) -> bool {
        self.setup.matchers.patterns.as_ref().is_some_and(|p| p.is_match(line))
    }

    fn excluded(&self, line: &[u8]) -> bool {
        self.setup.matchers.exclude.as_ref().is_some_and(|x| x.is_match(line))
    }

    /// A line the prefilter found: decide whether it is an error (its level, else the
    /// patterns), find its record, count it once, keep it. `candidate`: the line only
    /// holds one of the prefilter's literals, so an error level counts only when the line
    /// matches it too (a level word inside an identifier, `_ERROR_`, is no match); a level
    /// that is not an error, or the patterns, decide without it.
    fn matched_line(
        &mut self,
        buf: &[u8],
        ls: usize,
        le: usize,
        abs: u64,
        parsed: Option<(DateTime<Utc>, usize)>,
        candidate: Option<&Prefilter>,
    ) {
        let full = trim_cr(&buf[ls..le]);
        if full.len() > self.setup.max_line_bytes && !self.in_long_line {
            self.tally.lines_cut += 1;
        }
        let line = &full[..full.len().min(self.setup.max_line_bytes)];
        if self.excluded(line) {
            return;
        }
        let timed = match parsed {
            Some((t, at)) => Some((t, at, level::of(line, at, self.spec.format))),
            None => self.timed(line),
        };
        let (head, t, message_at) = match timed {
            Some((t, at, level)) => {
                let is_error = match level {
                    Some(level) => {
                        level.is_error && candidate.is_none_or(|p| p.is_match(&buf[ls..le]))
                    }
                    None => self.pattern_matches(line),
                };
                if !is_error {
                    return;
                }
                // The message starts after the level, when there is one.
                (abs + ls as u64, t, level.map_or(at, |l| l.end.max(at)))
            }
            // A line without a timestamp has no level of its own: the patterns decide.
            None if !self.pattern_matches(line) => return,
            None => match self.head_before(buf, ls, abs) {
                Some((head, t)) => (head, t, 0),
                // A continuation line of a record that started before this read.
                None => return,
            },
        };
        if self.counted_head == Some(head) {
            // Another line of a record already counted: only keep it in the excerpt.
            if self.setup.span.period(t) == Period::Window {
                self.keep(buf, ls, le, abs, t);
            }
            return;
        }
        let period = self.setup.span.period(t);
        if period == Period::Outside {
            self.counted_head = Some(head);
            return;
        }
        // Evidence from here on: the whole line (not the cut one) is redacted first.
        let redacted = crate::redact::text(&self.setup.redactor, full);
        let message_at = self.message_start(line, &redacted, message_at);
        let json = self.spec.format.is_json();
        let message = signature::message(&self.setup.redactor, &redacted, message_at, json);
        let signature = signature::normalize(&message);
        self.count(head, t, period, signature, move || redacted, buf, ls, le, abs);
    }

    /// Where the message starts in the redacted line, which is `at` in the raw `line`
    /// unless a secret was found in the timestamp or level: then they are read again.
    fn message_start(&self, line: &[u8], redacted: &Redacted, at: usize) -> usize {
        if at == 0 || redacted.as_bytes().starts_with(&line[..at.min(line.len())]) {
            return at;
        }
        let redacted = redacted.as_bytes();
        let redacted = &redacted[..redacted.len().min(self.setup.max_line_bytes)];
        match self.spec.format.parse(redacted, &self.spec.tcx) {
            Some((_, at)) => {
                level::of(redacted, at, self.spec.format).map_or(at, |l| l.end.max(at))
            }
            None => 0,
        }
    }

    /// Counts an error record whose first line, redacted whole, `line` gives (when the
    /// tally keeps it), and keeps it in the excerpt.
    #[allow(clippy::too_many_arguments)]
    fn count(
        &mut self,
        head: u64,
        t: DateTime<Utc>,
        period: Period,
        signature: Redacted,
        line: impl FnOnce() -> Redacted,
        buf: &[u8],
        ls: usize,
        le: usize,
        abs: u64,
    ) {
        self.counted_head = Some(head);
        let setup = self.setup;
        let line = || url_escapes_redacted(&setup.redactor, line()).truncate(setup.max_line_bytes);
        self.tally.error(t, period, signature, line, self.spec.path);
        if period == Period::Window {
            self.keep(buf, ls, le, abs, t);
        }
    }

    /// The head of the record a timestamp-less line at `ls` belongs to.
    fn head_before(&self, buf: &[u8], ls: usize, abs: u64) -> Option<(u64, DateTime<Utc>)> {
        let mut end = ls;
        for _ in 0..LOOKBACK_LINES {
            if end == 0 {
                break;
            }
            let body_end = end - 1;
            let start = memrchr(b'\n', &buf[..body_end]).map_or(0, |i| i + 1);
            if let Some((t, _)) = self.parse(trim_cr(&buf[start..body_end])) {
                return Some((abs + start as u64, t));
            }
            end = start;
        }
        // The head is in an earlier buffer: the last one seen there.
        self.last_head
    }

    /// Keeps the line `[ls, le)` and its context in the excerpt.
    fn keep(&mut self, buf: &[u8], ls: usize, le: usize, abs: u64, t: DateTime<Utc>) {
        let n = self.setup.context_lines;
        let line_abs = abs + ls as u64;
        let joins = self.block.as_ref().is_some_and(|b| b.end >= line_abs);
        if !joins {
            let floor = self.block.as_ref().map_or(0, |b| b.end.saturating_sub(abs) as usize);
            self.finish_block();
            // Context before, not reaching back into the previous block or buffer.
            let mut from = ls;
            for _ in 0..n {
                if from <= floor {
                    break;
                }
                from = memrchr(b'\n', &buf[..from - 1]).map_or(0, |i| i + 1);
            }
            let from = pem_start(buf, floor, from).unwrap_or_else(|| skip_body(buf, from, ls));
            self.block = Some(OpenBlock {
                time: t,
                offset: line_abs,
                end: abs + from as u64,
                bytes: Vec::new(),
                trimmed: false,
                after_left: 0,
            });
        }
        let cap = self.setup.max_excerpt_bytes;
        let Some(block) = self.block.as_mut() else { return };
        let line_end = (le + 1).min(buf.len());
        if abs + line_end as u64 > block.end {
            let from = (block.end - abs) as usize;
            block.trimmed |= append(&mut block.bytes, &buf[from..line_end], cap);
            block.end = abs + line_end as u64;
        }
        // After-context counts from this line; some of it may be in the block already.
        let block_at = (block.end - abs) as usize;
        let already = memchr_iter(b'\n', &buf[line_end.min(block_at)..block_at]).count();
        let want = n.saturating_sub(already);
        let (taken, end) = take_lines(&buf[block_at..], want);
        block.trimmed |= append(&mut block.bytes, &buf[block_at..block_at + end], cap);
        block.end += end as u64;
        block.after_left = want - taken;
    }

    /// Adds the after-context a block still wants from the start of the next buffer.
    fn continue_block(&mut self, buf: &[u8], abs: u64) {
        let cap = self.setup.max_excerpt_bytes;
        let Some(block) = self.block.as_mut() else { return };
        if block.after_left == 0 || block.end != abs {
            return;
        }
        let (taken, end) = take_lines(buf, block.after_left);
        block.trimmed |= append(&mut block.bytes, &buf[..end], cap);
        block.end += end as u64;
        block.after_left -= taken;
    }

    fn finish_block(&mut self) {
        if let Some(block) = self.block.take() {
            let path = self.path.clone();
            self.tally.excerpt.push(Block {
                time: block.time,
                path,
                offset: block.offset,
                bytes: block.bytes,
                trimmed: block.trimmed,
            });
        }
    }
}

/// Lines looked back over for the BEGIN line of a key the context starts inside.
const PEM_LOOKBACK_LINES: usize = 200;

/// When the context before a kept line starts inside the body of a PEM private key (lines
/// of base64, its BEGIN line above them), where that BEGIN line starts: the stretch then
/// reaches back to it, so the key is redacted whole with the stretch instead of leaving
/// base64 lines that no rule can tell from text (a key cut before its END line has no
/// tail to find). Looks back at most [`PEM_LOOKBACK_LINES`], never before `floor`.
fn pem_start(buf: &[u8], floor: usize, from: usize) -> Option<usize> {
    let is_body = is_key_body;
    let line_end = memchr(b'\n', &buf[from..]).map_or(buf.len(), |i| from + i);
    if !is_body(&buf[from..line_end]) {
        return None;
    }
    let mut start = from;
    for _ in 0..PEM_LOOKBACK_LINES {
        if start <= floor || start == 0 {
            return None;
        }
        let previous = memrchr(b'\n', &buf[..start - 1]).map_or(0, |i| i + 1);
        let line = &buf[previous..start - 1];
        if memchr::memmem::find(line, b"-----BEGIN").is_some()
            && memchr::memmem::find(line, b"PRIVATE KEY").is_some()
        {
            return (previous >= floor).then_some(previous);
        }
        if !is_body(line) {
            return None;
        }
        start = previous;
    }
    None
}

/// Where the context starts when its first lines look like the body of a key whose BEGIN
/// line is out of reach (behind the previous block, or further back than the look-back):
/// after those lines, never past the kept line at `kept`. Base64 lines with no BEGIN or
/// END beside them are what no rule can tell from text, so they are left out of the
/// excerpt rather than kept unredacted.
fn skip_body(buf: &[u8], from: usize, kept: usize) -> usize {
    let mut at = from;
    while at < kept {
        let end = memchr(b'\n', &buf[at..]).map_or(buf.len(), |i| at + i);
        if !is_key_body(&buf[at..end]) {
            break;
        }
        at = (end + 1).min(kept);
    }
    at
}

/// Whether a line reads as a line of a PEM body: 16 or more base64 characters alone (after
/// the kubelet's time, in a container's log).
fn is_key_body(line: &[u8]) -> bool {
    let line = &line[crate::timestamp::kubelet::content_at(line).unwrap_or(0)..];
    let line = trim_cr(line).trim_ascii();
    line.len() >= 16
        && line.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'='))
}

/// The first `n` lines of `buf`: how many there were and where they end.
fn take_lines(buf: &[u8], n: usize) -> (usize, usize) {
    let mut end = 0;
    let mut taken = 0;
    while taken < n && end < buf.len() {
        end = memchr(b'\n', &buf[end..]).map_or(buf.len(), |i| end + i + 1);
        taken += 1;
    }
    (taken, end)
}

/// Appends raw bytes to a block; a block that grows past twice the cap (errors on every
/// line make one long stretch) drops its oldest lines, so the newest are kept. Returns
/// whether lines were dropped.
fn append(bytes: &mut Vec<u8>, more: &[u8], cap: usize) -> bool {
    bytes.extend_from_slice(more);
    bytes.len() > cap.saturating_mul(2) && keep_newest(bytes, cap)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}
