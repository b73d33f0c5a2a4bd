//! What the scan keeps, in bounded memory: counts per period and per minute, the first
//! error, error signatures, access-log figures and the excerpt. One [`Tally`] per file, so a
//! file that has to be read again (timestamps out of order) starts clean; they are merged
//! at the end.
//!
//! Every text it keeps (signatures, example lines, the first error, endpoints) is
//! [`Redacted`]: the scan redacts a line whole before anything is taken from it. The
//! excerpt keeps raw bytes, since most of them are dropped under its cap; it is redacted
//! block by block, whole, when it is rendered.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use witness_collector::{Redacted, Redactor, Window};

use crate::access::{BucketMemo, Histogram};

/// Distinct signatures kept; past that, errors still count but new signatures are lumped.
const MAX_SIGNATURES: usize = 5000;
/// Distinct endpoints kept for 5xx; past that they are lumped into `other`.
const MAX_ENDPOINTS: usize = 2000;
/// Example lines kept per signature.
const EXAMPLES: usize = 3;
/// How much of one line an example or the first error keeps.
pub const EXAMPLE_BYTES: usize = 2048;
/// The first 5xx times kept per endpoint, enough to find its first burst.
const EARLY_5XX: usize = 64;
/// Most series points; longer windows get wider buckets.
const MAX_BUCKETS: i64 = 4320;

/// Which span a time falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Baseline,
    Window,
    Outside,
}

/// The window, its baseline and the series buckets, shared by every file of a run.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub window: Window,
    pub baseline: Window,
    pub series_start: DateTime<Utc>,
    pub bucket_secs: i64,
    pub buckets: usize,
    /// Where the window's last [`RECENT_SECS`] begin.
    pub recent_start: DateTime<Utc>,
}

impl Span {
    pub fn new(window: Window) -> Self {
        let baseline = window.baseline();
        let start = baseline.start.timestamp().div_euclid(60) * 60;
        let series_start = DateTime::from_timestamp(start, 0).unwrap_or(baseline.start);
        let total = (window.end - series_start).num_seconds().max(1);
        let minutes = (total + 59) / 60;
        let bucket_secs = 60 * ((minutes + MAX_BUCKETS - 1) / MAX_BUCKETS).max(1);
        let buckets = ((total + bucket_secs - 1) / bucket_secs) as usize;
        let recent_start = window.end - chrono::Duration::seconds(RECENT_SECS);
        Self { window, baseline, series_start, bucket_secs, buckets, recent_start }
    }

    pub fn period(&self, t: DateTime<Utc>) -> Period {
        if self.window.contains(t) {
            Period::Window
        } else if self.baseline.contains(t) {
            Period::Baseline
        } else {
            Period::Outside
        }
    }

    /// Where `t` falls: its period, its series bucket, and whether it is among the window's
    /// last [`RECENT_SECS`]. An access log's lines share their second many to one, so the
    /// scan works this out once per second, not per request.
    pub fn slot(&self, t: DateTime<Utc>) -> Slot {
        let period = self.period(t);
        let bucket = if period == Period::Outside { None } else { self.bucket(t) };
        Slot { period, bucket, recent: period == Period::Window && t >= self.recent_start }
    }

    fn bucket(&self, t: DateTime<Utc>) -> Option<usize> {
        let i = (t - self.series_start).num_seconds().div_euclid(self.bucket_secs);
        usize::try_from(i).ok().filter(|i| *i < self.buckets)
    }

    pub fn bucket_start(&self, i: usize) -> DateTime<Utc> {
        self.series_start + chrono::Duration::seconds(self.bucket_secs * i as i64)
    }
}

/// Where a time falls in a [`Span`] ([`Span::slot`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub period: Period,
    bucket: Option<usize>,
    /// In the window's last [`RECENT_SECS`].
    recent: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Bucket {
    pub errors: u64,
    pub requests: u64,
    pub status_5xx: u64,
}

#[derive(Debug, Clone)]
pub struct FirstError {
    pub time: DateTime<Utc>,
    pub path: String,
    pub line: Redacted,
    pub signature: Redacted,
}

#[derive(Debug, Clone, Default)]
pub struct Signature {
    pub count: u64,
    pub baseline_count: u64,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub examples: Vec<Redacted>,
}

#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    pub count_5xx: u64,
    pub baseline_5xx: u64,
    pub early_5xx: Vec<DateTime<Utc>>,
}

/// The last part of the window whose request times are also kept apart (5 minutes).
pub const RECENT_SECS: i64 = 300;

#[derive(Debug, Clone, Default)]
pub struct AccessTally {
    pub files: usize,
    pub requests: u64,
    pub status_5xx: u64,
    pub baseline_requests: u64,
    pub baseline_5xx: u64,
    pub latency: Histogram,
    pub baseline_latency: Histogram,
    /// Request times of the window's last [`RECENT_SECS`]: where a slowdown that began
    /// late in the window shows, before the window's earlier, normal requests dilute it.
    pub recent_latency: Histogram,
    /// Endpoints with 5xx responses: method and path template, from redacted lines.
    pub endpoints: HashMap<(Redacted, Redacted), Endpoint>,
    /// Lines in the window or baseline of access logs that were not requests.
    pub unparsed: u64,
    /// The histogram buckets of request times already seen.
    buckets: BucketMemo,
}

/// One kept stretch of lines: a matched line with its context, as read (raw bytes; they
/// are made text when the excerpt is written, so blocks later dropped cost only a copy).
#[derive(Debug, Clone)]
pub struct Block {
    pub time: DateTime<Utc>,
    pub path: Arc<str>,
    /// Byte offset of the matched line in its file.
    pub offset: u64,
    pub bytes: Vec<u8>,
    /// Its oldest lines were left out to respect the cap.
    pub trimmed: bool,
}

/// Drops the oldest whole lines of `bytes` until at most `keep` bytes are left.
pub fn keep_newest(bytes: &mut Vec<u8>, keep: usize) -> bool {
    if bytes.len() <= keep {
        return false;
    }
    let cut = bytes.len() - keep;
    let from = memchr::memchr(b'\n', &bytes[cut..]).map_or(bytes.len(), |i| cut + i + 1);
    bytes.drain(..from);
    true
}

/// The excerpt: blocks in time order, capped by bytes, newest kept.
#[derive(Debug, Clone, Default)]
pub struct Excerpt {
    pub blocks: VecDeque<Block>,
    pub bytes: usize,
    pub dropped: u64,
    pub cap: usize,
}

impl Excerpt {
    pub fn new(cap: usize) -> Self {
        Self { cap, ..Self::default() }
    }

    pub fn push(&mut self, mut block: Block) {
        block.trimmed |= keep_newest(&mut block.bytes, self.cap);
        self.bytes += block.bytes.len();
        self.blocks.push_back(block);
        while self.bytes > self.cap {
            let Some(old) = self.blocks.pop_front() else { break };
            self.bytes -= old.bytes.len();
            self.dropped += 1;
        }
    }

    fn merge(&mut self, other: Excerpt) {
        self.dropped += other.dropped;
        let mut all: Vec<Block> = self.blocks.drain(..).chain(other.blocks).collect();
        all.sort_by_key(|b| (b.time, b.offset));
        self.bytes = 0;
        for block in all {
            self.push(block);
        }
    }

    /// The excerpt as text: a header per block, each block redacted whole (a secret over
    /// several lines, a PEM block, is found whole) and then its lines cut to `max_line`
    /// bytes (a token is never cut, so no fragment of a secret is left), invalid UTF-8
    /// replaced.
    pub fn render(&self, max_line: usize, redactor: &Redactor) -> Redacted {
        let mut text = String::with_capacity(self.bytes + self.blocks.len() * 80 + 128);
        if self.dropped > 0 {
            text.push_str(&format!(
                "... {} older blocks left out (max_excerpt_bytes = {}); the newest are kept ...\n",
                self.dropped, self.cap
            ));
        }
        for block in &self.blocks {
            text.push_str(&format!(
                "==> {} @ {} (byte {}{})\n",
                redactor.redact(&block.path),
                witness_collector::time::format(block.time),
                block.offset,
                if block.trimmed { "; its oldest lines left out" } else { "" }
            ));
            let redacted = crate::redact::text(redactor, &block.bytes);
            let mut start = 0;
            // Tokens hold no newline, so a line of the redacted block is redacted text.
            for end in memchr::memchr_iter(b'\n', redacted.as_bytes()).chain([redacted.len()]) {
                if end == redacted.len() && start == end && end > 0 {
                    break;
                }
                let line = redacted
                    .map(|r| r[start..end].strip_suffix('\r').unwrap_or(&r[start..end]).to_owned());
                text.push_str(&url_escapes_redacted(redactor, line).truncate(max_line));
                text.push('\n');
                start = end + 1;
            }
        }
        // Made of redacted lines and headers witness writes.
        Redacted::generated(text)
    }
}

/// Everything one file (or, merged, one instance) contributes.
#[derive(Debug, Clone)]
pub struct Tally {
    pub span: Span,
    pub series: Vec<Bucket>,
    pub errors: u64,
    pub baseline_errors: u64,
    pub first_error: Option<FirstError>,
    pub signatures: HashMap<Redacted, Signature>,
    pub signatures_lumped: u64,
    pub access: AccessTally,
    pub excerpt: Excerpt,
    pub lines_cut: u64,
}

impl Tally {
    pub fn new(span: Span, max_excerpt_bytes: usize) -> Self {
        Self {
            span,
            series: vec![Bucket::default(); span.buckets],
            errors: 0,
            baseline_errors: 0,
            first_error: None,
            signatures: HashMap::new(),
            signatures_lumped: 0,
            access: AccessTally::default(),
            excerpt: Excerpt::new(max_excerpt_bytes),
            lines_cut: 0,
        }
    }

    /// Counts one error record at `t` with its signature; `line` gives its first matched
    /// line, redacted whole, and is called only when the line is kept (the first error, or
    /// an example of its signature): most records are only counted.
    pub fn error(
        &mut self,
        t: DateTime<Utc>,
        period: Period,
        signature: Redacted,
        line: impl FnOnce() -> Redacted,
        path: &str,
    ) {
        match period {
            Period::Outside => return,
            Period::Baseline => self.baseline_errors += 1,
            Period::Window => self.errors += 1,
        }
        if let Some(b) = self.span.bucket(t) {
            self.series[b].errors += 1;
        }
        let lumped =
            !self.signatures.contains_key(&signature) && self.signatures.len() >= MAX_SIGNATURES;
        if lumped {
            self.signatures_lumped += 1;
            return;
        }
        let first =
            period == Period::Window && self.first_error.as_ref().is_none_or(|f| t < f.time);
        let wanted = period == Period::Window
            && self.signatures.get(&signature).is_none_or(|s| s.examples.len() < EXAMPLES);
        let line = (first || wanted).then(|| example(&line()));
        if first && let Some(line) = &line {
            self.first_error = Some(FirstError {
                time: t,
                path: path.to_owned(),
                line: line.clone(),
                signature: signature.clone(),
            });
        }
        let sig = self.signatures.entry(signature).or_default();
        match period {
            Period::Baseline => sig.baseline_count += 1,
            _ => {
                sig.count += 1;
                sig.first_seen = Some(sig.first_seen.map_or(t, |f| f.min(t)));
                sig.last_seen = Some(sig.last_seen.map_or(t, |l| l.max(t)));
                if sig.examples.len() < EXAMPLES
                    && let Some(line) = line
                {
                    sig.examples.push(line);
                }
            }
        }
    }

    /// Counts an access-log line that is not a request in a format known here.
    pub fn access_unparsed(&mut self, period: Period) {
        if period != Period::Outside {
            self.access.unparsed += 1;
        }
    }

    /// Counts one access-log request: its status and request time, no text (most
    /// requests are only counted, and are never redacted). `slot` is where its time falls
    /// ([`Span::slot`]).
    pub fn request(&mut self, slot: Slot, status: u16, latency_ms: Option<f64>) {
        if slot.period == Period::Outside {
            return;
        }
        let is_5xx = status >= 500;
        let a = &mut self.access;
        let bucket = latency_ms.and_then(|ms| a.buckets.index(ms));
        match slot.period {
            Period::Outside => {}
            Period::Baseline => {
                a.baseline_requests += 1;
                a.baseline_5xx += u64::from(is_5xx);
                if let Some(i) = bucket {
                    a.baseline_latency.record_index(i);
                }
            }
            Period::Window => {
                a.requests += 1;
                a.status_5xx += u64::from(is_5xx);
                if let Some(i) = bucket {
                    a.latency.record_index(i);
                    if slot.recent {
                        a.recent_latency.record_index(i);
                    }
                }
            }
        }
        if let Some(b) = slot.bucket {
            self.series[b].requests += 1;
            self.series[b].status_5xx += u64::from(is_5xx);
        }
    }

    /// Counts a 5xx response (already counted by [`Tally::request`]) on its endpoint: the
    /// method and path template taken from the redacted line.
    pub fn endpoint_5xx(
        &mut self,
        t: DateTime<Utc>,
        period: Period,
        method: Redacted,
        path: Redacted,
    ) {
        let a = &mut self.access;
        if period == Period::Outside {
            return;
        }
        let mut key = (method, path);
        if !a.endpoints.contains_key(&key) && a.endpoints.len() >= MAX_ENDPOINTS {
            key = (Redacted::generated("*"), Redacted::generated("other"));
        }
        let endpoint = a.endpoints.entry(key).or_default();
        if period == Period::Window {
            endpoint.count_5xx += 1;
            if endpoint.early_5xx.len() < EARLY_5XX {
                endpoint.early_5xx.push(t);
            }
        } else {
            endpoint.baseline_5xx += 1;
        }
    }

    /// Adds `other` (another file's tally over the same span) into this one.
    pub fn merge(&mut self, other: Tally) {
        for (a, b) in self.series.iter_mut().zip(&other.series) {
            a.errors += b.errors;
            a.requests += b.requests;
            a.status_5xx += b.status_5xx;
        }
        self.errors += other.errors;
        self.baseline_errors += other.baseline_errors;
        if let Some(f) = other.first_error
            && self.first_error.as_ref().is_none_or(|mine| f.time < mine.time)
        {
            self.first_error = Some(f);
        }
        self.signatures_lumped += other.signatures_lumped;
        for (key, theirs) in other.signatures {
            if !self.signatures.contains_key(&key) && self.signatures.len() >= MAX_SIGNATURES {
                self.signatures_lumped += theirs.count + theirs.baseline_count;
                continue;
            }
            let mine = self.signatures.entry(key).or_default();
            mine.count += theirs.count;
            mine.baseline_count += theirs.baseline_count;
            mine.first_seen = min_opt(mine.first_seen, theirs.first_seen);
            mine.last_seen = mine.last_seen.max(theirs.last_seen);
            for e in theirs.examples {
                if mine.examples.len() < EXAMPLES {
                    mine.examples.push(e);
                }
            }
        }
        let (a, b) = (&mut self.access, other.access);
        a.files += b.files;
        a.requests += b.requests;
        a.status_5xx += b.status_5xx;
        a.baseline_requests += b.baseline_requests;
        a.baseline_5xx += b.baseline_5xx;
        a.unparsed += b.unparsed;
        a.latency.merge(&b.latency);
        a.baseline_latency.merge(&b.baseline_latency);
        a.recent_latency.merge(&b.recent_latency);
        for (key, theirs) in b.endpoints {
            let mine = a.endpoints.entry(key).or_default();
            mine.count_5xx += theirs.count_5xx;
            mine.baseline_5xx += theirs.baseline_5xx;
            mine.early_5xx.extend(theirs.early_5xx);
            mine.early_5xx.sort();
            mine.early_5xx.truncate(EARLY_5XX);
        }
        self.excerpt.merge(other.excerpt);
        self.lines_cut += other.lines_cut;
    }
}

fn min_opt(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `line`, or its URL-decoded form redacted when decoding `%XX` escapes reveals a secret
/// the rules could not see through them (`?q=Bearer%20…`, `card%204111…`: an access log's
/// query string). Such a line is shown decoded; a line without a hidden secret is kept
/// as logged.
pub fn url_escapes_redacted(redactor: &Redactor, line: Redacted) -> Redacted {
    let Some(decoded) = url_decoded(&line) else { return line };
    let redacted = redactor.redact(&decoded);
    if redacted.as_str() == decoded { line } else { redacted }
}

/// `text` with its `%XX` escapes decoded (invalid UTF-8 replaced); `None` without any.
fn url_decoded(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let mut decoded = false;
    while i < b.len() {
        if b[i] == b'%'
            && let (Some(hi), Some(lo)) =
                (b.get(i + 1).and_then(|c| hex(*c)), b.get(i + 2).and_then(|c| hex(*c)))
        {
            out.push((hi * 16 + lo) as u8);
            decoded = true;
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    decoded.then(|| String::from_utf8_lossy(&out).into_owned())
}

/// A redacted line as kept in the evidence: cut to [`EXAMPLE_BYTES`], never inside a token.
pub fn example(line: &Redacted) -> Redacted {
    line.truncate(EXAMPLE_BYTES)
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use witness_collector::Window;

    use super::*;

    #[test]
    fn an_error_line_is_made_only_when_it_is_kept() {
        let at = |m: i64| DateTime::from_timestamp(1_763_586_000 + m * 60, 0).unwrap();
        let window = Window::new(at(-30), at(0));
        let mut tally = Tally::new(Span::new(window), 1024);
        let made = Cell::new(0);
        let line = || {
            made.set(made.get() + 1);
            Redacted::generated("GET /x 503")
        };
        let signature = || Redacted::generated("GET /x 503");
        // A baseline record is only counted.
        tally.error(at(-40), Period::Baseline, signature(), line, "a.log");
        assert_eq!(made.get(), 0);
        // In the window: the first error and the examples, then only counts.
        for minute in [-20, -19, -18, -21, -17] {
            tally.error(at(minute), Period::Window, signature(), line, "a.log");
        }
        assert_eq!(made.get(), 4, "three examples, and the earlier first error once more");
        assert_eq!((tally.errors, tally.baseline_errors), (5, 1));
        assert_eq!(tally.first_error.as_ref().map(|f| f.time), Some(at(-21)));
    }
}
