//! Access-log lines (nginx/Apache common and combined formats, and JSON access logs): the
//! request's method, path template and status, and its request time when the format carries
//! one (nginx `$request_time` appended after the combined fields, `rt=`/`request_time=`, or
//! a JSON `request_time`/`duration_ms`/`responseTime` field).
//! Also the latency histogram, which keeps percentiles in fixed memory.

/// One parsed access-log line, borrowing from it: most lines are only counted, so
/// nothing is allocated until an endpoint is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Request<'a> {
    /// The method, in ASCII capitals for the common log format ([`Request::method`] reads
    /// it as text).
    pub method: Cow<'a, [u8]>,
    /// The path as logged, query included.
    pub path: Cow<'a, [u8]>,
    pub status: u16,
    pub latency_ms: Option<f64>,
}

impl Request<'_> {
    /// The method as text (it is ASCII in the common log format, and read from a JSON
    /// string otherwise: text either way).
    pub fn method(&self) -> &str {
        std::str::from_utf8(&self.method).unwrap_or_default()
    }

    /// The path with its query removed and ids collapsed to `{id}`.
    pub fn template(&self) -> String {
        template(&self.path)
    }
}

use std::borrow::Cow;

use witness_collector::Redacted;

/// Parses the part of a CLF line that follows its `[time]` field.
pub fn parse(line: &[u8]) -> Option<Request<'_>> {
    parse_after(line, memchr::memchr(b']', line)?)
}

/// [`parse`] of a line whose first `]` is at `close` (the scan knows it: it ends the time
/// field).
pub fn parse_after(line: &[u8], close: usize) -> Option<Request<'_>> {
    let field = request_range(line, close)?;
    let (method, path) = method_and_path(&line[field.clone()])?;
    let after = line[field.end + 1..].trim_ascii_start();
    if after.len() < 3 || !after[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let status = after[..3].iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    Some(Request {
        method: Cow::Borrowed(method),
        path: Cow::Borrowed(path),
        status,
        latency_ms: request_time_ms(&after[3..]),
    })
}

/// Where the quoted request (`GET /x HTTP/1.1`) of a CLF line is, inside its quotes: the
/// first quoted field after the first `]`, which is at `close`.
fn request_range(line: &[u8], close: usize) -> Option<std::ops::Range<usize>> {
    let rest = &line[close + 1..];
    // Mostly `] "GET …`: the quote two bytes on, where a search would cost more.
    let q1 =
        if rest.starts_with(b" \"") { close + 2 } else { close + 1 + memchr::memchr(b'"', rest)? };
    let q2 = q1 + 1 + memchr::memchr(b'"', &line[q1 + 1..])?;
    Some(q1 + 1..q2)
}

/// The quoted request of a CLF line, as text (for redaction).
pub fn request_field(line: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    let range = request_range(line, memchr::memchr(b']', line)?)?;
    Some(String::from_utf8_lossy(&line[range]))
}

/// The method (uppercase letters, at most 16) and the path (`-` when absent) of a request.
fn method_and_path(request: &[u8]) -> Option<(&[u8], &[u8])> {
    // Read byte by byte: the method is a few letters and the path short, where a search
    // would cost more than it saves; every request of a large log comes here.
    let (method, rest) = space_token(request);
    if method.is_empty() || method.len() > 16 || !method.iter().all(u8::is_ascii_uppercase) {
        return None;
    }
    let (path, _) = space_token(rest);
    Some((method, if path.is_empty() { b"-" } else { path }))
}

/// The first token of `b` between spaces (`b' '` only), and what follows it.
fn space_token(b: &[u8]) -> (&[u8], &[u8]) {
    let start = b.iter().position(|c| *c != b' ').unwrap_or(b.len());
    let b = &b[start..];
    let end = b.iter().position(|c| *c == b' ').unwrap_or(b.len());
    b.split_at(end)
}

/// The method and path template of a redacted CLF request (`GET /x?y HTTP/1.1`).
pub fn endpoint_of_request(request: &Redacted) -> Option<(Redacted, Redacted)> {
    let (method, path) = method_and_path(request.as_bytes())?;
    let method = std::str::from_utf8(method).ok()?.to_owned();
    // Both parts are taken from the redacted text itself.
    Some((request.map(|_| method), request.map(|_| template(path))))
}

/// The method and path template of a redacted access-log line (CLF or JSON), for the
/// endpoints and signatures of 5xx responses; `None` when it is not a request.
pub fn endpoint(line: &Redacted, json: bool) -> Option<(Redacted, Redacted)> {
    let bytes = line.as_bytes();
    let request = if json { parse_json(bytes)? } else { parse(bytes)? };
    // Both parts are taken from the redacted text itself.
    let method = line.map(|_| request.method().to_owned());
    let path = line.map(|_| request.template());
    Some((method, path))
}

/// Parses a JSON access-log line (nginx `escape=json`, Envoy, ECS, pino-http, ...).
pub fn parse_json(line: &[u8]) -> Option<Request<'static>> {
    let value: serde_json::Value = serde_json::from_slice(line.trim_ascii()).ok()?;
    let field = |keys: &[&str]| keys.iter().find_map(|k| lookup(&value, k));
    let status = match field(&[
        "status",
        "status_code",
        "statusCode",
        "response_status",
        "http.response.status_code",
        "res.statusCode",
    ])? {
        serde_json::Value::Number(n) => u16::try_from(n.as_u64()?).ok()?,
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    if !(100..=599).contains(&status) {
        return None;
    }
    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let request_line = field(&["request"]).and_then(text);
    let mut from_request = request_line.as_deref().unwrap_or("").split(' ');
    let method = field(&["method", "request_method", "http.request.method", "req.method"])
        .and_then(text)
        .or_else(|| from_request.next().filter(|m| !m.is_empty()).map(str::to_owned))?;
    let path = field(&["path", "uri", "request_uri", "url.path", "url", "req.url", "url.original"])
        .and_then(text)
        .or_else(|| from_request.next().map(str::to_owned))
        .unwrap_or_else(|| "-".to_owned());
    let number = |v: &serde_json::Value| v.as_f64().or_else(|| v.as_str()?.trim().parse().ok());
    let seconds = field(&["request_time", "upstream_response_time", "duration_s"])
        .and_then(number)
        .map(|s| s * 1000.0);
    let millis = || {
        field(&["duration_ms", "latency_ms", "response_time_ms", "responseTime", "elapsed_ms"])
            .and_then(number)
    };
    Some(Request {
        method: Cow::Owned(method.to_ascii_uppercase().into_bytes()),
        path: Cow::Owned(path.into_bytes()),
        status,
        latency_ms: seconds.or_else(millis),
    })
}

/// A key of a JSON object, or a dotted path into nested objects (`http.response.status_code`).
fn lookup<'v>(value: &'v serde_json::Value, key: &str) -> Option<&'v serde_json::Value> {
    if let Some(v) = value.get(key) {
        return Some(v);
    }
    key.split('.').try_fold(value, |v, part| v.get(part))
}

/// Whether `line` looks like an access-log line (used to decide `kind = "auto"`).
pub fn looks_like_access(line: &[u8], json: bool) -> bool {
    if json { parse_json(line).is_some() } else { parse(line).is_some() }
}

/// The request time after the status: the first `rt=`/`request_time=` value, or else the
/// first bare decimal number after the last quoted field (nginx `$request_time`, seconds).
/// Tokens are separated by ASCII whitespace. Read on the bytes, without allocating: every
/// request of a large log comes here.
fn request_time_ms(after_status: &[u8]) -> Option<f64> {
    if memchr::memchr(b'=', after_status).is_some() {
        for token in ascii_tokens(after_status) {
            for key in [&b"rt="[..], b"request_time=", b"urt="] {
                if let Some(v) = token.strip_prefix(key) {
                    return decimal(trim_quotes(v)).map(|s| s * 1000.0);
                }
            }
        }
    }
    let tail = match memchr::memrchr(b'"', after_status) {
        Some(i) => &after_status[i + 1..],
        // Common format: status and bytes, then whatever was appended.
        None => {
            let t = after_status.trim_ascii_start();
            memchr::memchr(b' ', t).map_or(&b""[..], |i| &t[i + 1..])
        }
    };
    first_decimal_token(tail).map(|s| s * 1000.0)
}

/// The first whitespace-separated token of `tail` made of digits and at least one point,
/// read with [`decimal`] (`None` when that token is no number, `1.2.3`).
fn first_decimal_token(tail: &[u8]) -> Option<f64> {
    let mut i = 0;
    while i < tail.len() {
        while i < tail.len() && tail[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        let (mut point, mut numeric) = (false, true);
        while i < tail.len() && !tail[i].is_ascii_whitespace() {
            match tail[i] {
                b'.' => point = true,
                b'0'..=b'9' => {}
                _ => numeric = false,
            }
            i += 1;
        }
        if point && numeric {
            return decimal(&tail[start..i]);
        }
    }
    None
}

/// The whitespace-separated tokens of ASCII bytes.
fn ascii_tokens(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    b.split(u8::is_ascii_whitespace).filter(|t| !t.is_empty())
}

/// `b` without the quotes around it (any number on either side).
fn trim_quotes(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| *c != b'"').unwrap_or(b.len());
    let end = b.iter().rposition(|c| *c != b'"').map_or(start, |i| i + 1);
    &b[start..end]
}

/// A decimal number as `str::parse::<f64>` reads it. Digits, a point and digits, 15 at
/// most (every request time), are read as their integer over a power of ten: both exact in
/// an `f64`, so the one division rounds as the parse does (Clinger's fast path).
fn decimal(b: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] =
        [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    // One pass: the digits' integer and where the one point is.
    if b.len() <= 16 {
        let mut n = 0u64;
        let mut dot = None;
        let mut plain = true;
        for (i, c) in b.iter().enumerate() {
            match c {
                b'0'..=b'9' => n = n * 10 + u64::from(c - b'0'),
                b'.' if dot.is_none() => dot = Some(i),
                _ => {
                    plain = false;
                    break;
                }
            }
        }
        if plain
            && let Some(dot) = dot
            && dot > 0
            && dot + 1 < b.len()
        {
            return Some(n as f64 / POW10[b.len() - dot - 1]);
        }
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// A path with its query string dropped and every id-like segment replaced by `{id}`, so
/// `/users/123/orders/9f86d0` and `/users/7/orders/aa01ff` are one endpoint.
pub fn template(path: &[u8]) -> String {
    let path = String::from_utf8_lossy(path);
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut out = String::with_capacity(path.len());
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        if is_id(segment) {
            out.push_str("{id}");
        } else {
            out.push_str(segment);
        }
    }
    out.truncate(200);
    out
}

fn is_id(segment: &str) -> bool {
    let b = segment.as_bytes();
    if b.is_empty() {
        return false;
    }
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let all_hex = b.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-');
    digits == b.len()
        || (all_hex && b.len() >= 8 && digits > 0)
        || (b.len() >= 16
            && digits >= 4
            && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_')))
}

/// Latencies in milliseconds, bucketed on a log scale (about 2 % wide) from 0.01 ms to
/// over an hour, so percentiles of millions of requests take a few kilobytes.
#[derive(Debug, Clone)]
pub struct Histogram {
    buckets: Vec<u64>,
    count: u64,
}

const BUCKETS_PER_DECADE: f64 = 120.0;
const MIN_MS: f64 = 0.01;
const BUCKETS: usize = 1200;

impl Default for Histogram {
    fn default() -> Self {
        Self { buckets: vec![0; BUCKETS], count: 0 }
    }
}

impl Histogram {
    pub fn record(&mut self, ms: f64) {
        if let Some(i) = Self::index(ms) {
            self.record_index(i);
        }
    }

    /// The bucket of `ms`; `None` for a time that is not counted (negative, not finite).
    pub fn index(ms: f64) -> Option<usize> {
        if !ms.is_finite() || ms < 0.0 {
            return None;
        }
        let i = ((ms.max(MIN_MS) / MIN_MS).log10() * BUCKETS_PER_DECADE) as usize;
        Some(i.min(BUCKETS - 1))
    }

    /// Counts a time whose bucket [`Self::index`] gave.
    pub fn record_index(&mut self, i: usize) {
        self.buckets[i] += 1;
        self.count += 1;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.count += other.count;
    }

    /// The `q` quantile (0..1) in ms, as the upper edge of its bucket; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= rank {
                let upper = MIN_MS * 10f64.powf((i + 1) as f64 / BUCKETS_PER_DECADE);
                return Some((upper * 100.0).round() / 100.0);
            }
        }
        None
    }
}

/// Slots of the [`BucketMemo`], a power of two.
const MEMO_SLOTS: usize = 4096;

/// [`Histogram::index`] of the request times met so far, by their bits, in a table of
/// [`MEMO_SLOTS`] (a time whose slot another took is worked out again): a log's request
/// times repeat (milliseconds, mostly under a few seconds), and the logarithm is the
/// dearest part of counting a request. The same bucket as [`Histogram::index`], always.
#[derive(Clone, Default)]
pub struct BucketMemo {
    /// The bits of a time and its bucket plus one (0: an empty slot); empty until used.
    slots: Vec<(u64, u16)>,
}

impl std::fmt::Debug for BucketMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BucketMemo")
    }
}

impl BucketMemo {
    /// [`Histogram::index`] of `ms`.
    pub fn index(&mut self, ms: f64) -> Option<usize> {
        if self.slots.is_empty() {
            self.slots = vec![(0, 0); MEMO_SLOTS];
        }
        let bits = ms.to_bits();
        // Fibonacci hashing: the top bits of the product mix every bit of the time.
        let at = (bits.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - MEMO_SLOTS.trailing_zeros()))
            as usize;
        let (known, bucket) = self.slots[at];
        if known == bits && bucket > 0 {
            return Some(usize::from(bucket) - 1);
        }
        let i = Histogram::index(ms)?;
        // BUCKETS is below u16::MAX: every index fits.
        self.slots[at] = (bits, i as u16 + 1);
        Some(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_lines_with_request_time_parse() {
        let line = br#"10.0.0.1 - - [19/Nov/2025:21:00:00 +0000] "POST /api/orders/12345/pay?x=1 HTTP/1.1" 502 17 "-" "curl/8" 0.250"#;
        let r = parse(line).unwrap();
        assert_eq!((r.method(), r.status, r.latency_ms), ("POST", 502, Some(250.0)));
        assert_eq!(r.template(), "/api/orders/{id}/pay");
        let common = br#"10.0.0.1 - - [19/Nov/2025:21:00:00 +0000] "GET / HTTP/1.0" 200 5"#;
        assert_eq!(parse(common).unwrap().latency_ms, None);
        assert!(parse(b"2025-11-19 ERROR x").is_none());
    }

    #[test]
    fn request_times_are_read_in_every_form() {
        let ms = |tail: &str| {
            let line = format!(
                r#"10.0.0.1 - - [19/Nov/2025:21:00:00 +0000] "GET / HTTP/1.1" 200 5{tail}"#
            );
            parse(line.as_bytes()).unwrap().latency_ms
        };
        assert_eq!(ms(r#" "-" "curl/8" rt=0.050 uct="0.001""#), Some(50.0));
        assert_eq!(ms(r#" "-" "curl/8" request_time="1.5""#), Some(1500.0));
        assert_eq!(ms(r#" "-" "curl/8" urt=""0.25"""#), Some(250.0));
        // A referer's query holds an `=`; the bare number after the last quote is the time.
        assert_eq!(ms(r#" "https://x/?a=b" "Mozilla/5.0 (X11)" 0.125"#), Some(125.0));
        assert_eq!(ms(r#" "-" "curl/8" - 0.125 7"#), Some(125.0));
        assert_eq!(ms(" 0.300"), Some(300.0));
        assert_eq!(ms(r#" "-" "Mozilla/5.0 (Linux; Android 14) Täst" 0.002"#), Some(2.0));
        assert_eq!(ms(r#" "-" "curl/8""#), None);
        assert_eq!(ms(r#" "-" "curl/8" rt=abc"#), None);
    }

    #[test]
    fn decimals_read_as_the_parse_reads_them() {
        for text in ["0.250", "0.123", "1.5", "12.000001", "0.1", "999999999.999999", "0.30000"] {
            assert_eq!(decimal(text.as_bytes()), text.parse().ok(), "{text}");
        }
        for text in ["1e3", ".5", "5.", "1.2.3", "-0.5", "0.1234567890123456"] {
            assert_eq!(decimal(text.as_bytes()), text.parse().ok(), "{text}");
        }
    }

    #[test]
    fn json_access_lines_parse() {
        let nginx = br#"{"time":"2025-11-19T21:00:00+00:00","request":"GET /api/items/77?x=1 HTTP/1.1","status":"503","request_time":"0.120"}"#;
        let r = parse_json(nginx).unwrap();
        assert_eq!(
            (r.method(), r.template(), r.status, r.latency_ms),
            ("GET", "/api/items/{id}".to_owned(), 503, Some(120.0))
        );
        let ecs = br#"{"@timestamp":"2025-11-19T21:00:00Z","http":{"request":{"method":"post"},"response":{"status_code":200}},"url":{"path":"/pay"}}"#;
        let r = parse_json(ecs).unwrap();
        assert_eq!(
            (r.method(), r.template(), r.status, r.latency_ms),
            ("POST", "/pay".to_owned(), 200, None)
        );
        let pino = br#"{"time":1763586000000,"req":{"method":"GET","url":"/x"},"res":{"statusCode":500},"responseTime":12}"#;
        assert_eq!(parse_json(pino).unwrap().latency_ms, Some(12.0));
        assert!(parse_json(br#"{"ts":1,"level":"error","msg":"boom"}"#).is_none());
    }

    #[test]
    fn ids_collapse_but_words_stay() {
        assert_eq!(
            template(b"/v1/users/550e8400-e29b-41d4-a716-446655440000/avatar"),
            "/v1/users/{id}/avatar"
        );
        assert_eq!(template(b"/static/app.js"), "/static/app.js");
        assert_eq!(template(b"/cafe/deadbeef01"), "/cafe/{id}");
    }

    /// The memo gives the bucket the logarithm gives, also for times whose slots collide
    /// (more distinct times than slots) and for times that are not counted.
    #[test]
    fn the_bucket_memo_agrees_with_the_logarithm() {
        let mut memo = BucketMemo::default();
        let times = (0..3 * MEMO_SLOTS).map(|i| i as f64 * 0.37).chain([-1.0, f64::NAN, 1e12]);
        for round in 0..2 {
            for ms in times.clone() {
                assert_eq!(memo.index(ms), Histogram::index(ms), "{ms} (round {round})");
            }
        }
    }

    #[test]
    fn percentiles_are_within_a_bucket() {
        let mut h = Histogram::default();
        for i in 1..=1000 {
            h.record(f64::from(i));
        }
        let p95 = h.quantile(0.95).unwrap();
        assert!((950.0..=950.0 * 1.03).contains(&p95), "{p95}");
        assert_eq!(Histogram::default().quantile(0.5), None);
    }
}
