//! Finding a time in a plain, time-ordered file without reading it: probe a byte offset,
//! resync to the next line, read the first timestamped line after it, and halve the range.
//! Also the cheap looks at a file that decide how to read it: its first lines (to detect the
//! format), its first and last times, and whether a handful of probes are in order.

use std::fs::File;
use std::os::unix::fs::FileExt;

use chrono::{DateTime, Utc};

use witness_log_analysis::scan::reorder_tolerance;
use witness_log_analysis::timestamp::{TimeContext, TsFormat};

/// How much one probe reads at most; a record longer than this hides its time from it.
const PROBE_BYTES: usize = 256 * 1024;
/// How much a probe reads first (most lines are short).
const FIRST_PROBE_BYTES: usize = 16 * 1024;
/// Below this range size the forward read takes over from bisection.
const LINEAR_BELOW: u64 = 256 * 1024;
/// Probes taken to decide whether a file is time-ordered.
const ORDER_PROBES: u64 = 16;

/// Reads the plain file `file` at offsets to find times.
pub struct Prober<'a> {
    pub file: &'a File,
    pub size: u64,
    pub format: &'a TsFormat,
    pub tcx: &'a TimeContext,
    pub max_line_bytes: usize,
}

impl Prober<'_> {
    fn read_at(&self, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        let mut filled = 0;
        while filled < len {
            match self.file.read_at(&mut buf[filled..], offset + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        buf.truncate(filled);
        Ok(buf)
    }

    /// The first timestamped line starting after `offset` (at it, when it is 0): its
    /// offset and time. Reads a little first and more only when a record is long.
    pub fn probe(&self, offset: u64) -> std::io::Result<Option<(u64, DateTime<Utc>)>> {
        let mut len = FIRST_PROBE_BYTES;
        loop {
            let buf = self.read_at(offset, len)?;
            let complete = buf.len() < len;
            if let Some(found) = self.first_time_in(&buf, offset, complete) {
                return Ok(Some(found));
            }
            if complete || len >= PROBE_BYTES {
                return Ok(None);
            }
            len *= 4;
        }
    }

    /// The first timestamped whole line in `buf` (read at `offset`); a line cut by the
    /// buffer's end counts only when the file ends there (`complete`).
    fn first_time_in(
        &self,
        buf: &[u8],
        offset: u64,
        complete: bool,
    ) -> Option<(u64, DateTime<Utc>)> {
        let mut ls = if offset == 0 { 0 } else { memchr::memchr(b'\n', buf)? + 1 };
        while ls < buf.len() {
            let (le, whole) = match memchr::memchr(b'\n', &buf[ls..]) {
                Some(i) => (ls + i, true),
                None => (buf.len(), complete),
            };
            if !whole {
                return None;
            }
            let line = &buf[ls..le];
            let line = &line[..line.len().min(self.max_line_bytes)];
            if let Some((t, _)) = self.format.parse(line, self.tcx) {
                return Some((offset + ls as u64, t));
            }
            ls = le + 1;
        }
        None
    }

    /// The time of the last timestamped line.
    pub fn last_time(&self) -> std::io::Result<Option<DateTime<Utc>>> {
        let from = self.size.saturating_sub(PROBE_BYTES as u64);
        let buf = self.read_at(from, PROBE_BYTES)?;
        let first_whole =
            if from == 0 { 0 } else { memchr::memchr(b'\n', &buf).map_or(buf.len(), |i| i + 1) };
        let body = &buf[first_whole..];
        let mut last = None;
        for line in body.split(|c| *c == b'\n') {
            let line = &line[..line.len().min(self.max_line_bytes)];
            if let Some((t, _)) = self.format.parse(line, self.tcx) {
                last = Some(t);
            }
        }
        Ok(last)
    }

    /// Whether probes spread over the file see times that never go back (beyond the
    /// reorder tolerance).
    pub fn looks_ordered(&self) -> std::io::Result<bool> {
        let mut previous: Option<DateTime<Utc>> = None;
        for i in 0..ORDER_PROBES {
            let Some((_, t)) = self.probe(self.size / ORDER_PROBES * i)? else { continue };
            if previous.is_some_and(|p| t + reorder_tolerance() < p) {
                return Ok(false);
            }
            previous = Some(previous.map_or(t, |p| p.max(t)));
        }
        if let (Some(p), Some(last)) = (previous, self.last_time()?) {
            return Ok(last + reorder_tolerance() >= p);
        }
        Ok(true)
    }

    /// A line start at or before the first line whose time is at or after `target`, close
    /// to it (within [`LINEAR_BELOW`] bytes plus one record), in a time-ordered file.
    pub fn find(&self, target: DateTime<Utc>) -> std::io::Result<u64> {
        let (mut lo, mut hi) = (0u64, self.size);
        let margin = reorder_tolerance();
        while hi - lo > LINEAR_BELOW {
            let mid = lo + (hi - lo) / 2;
            match self.probe(mid)? {
                // Everything up to this line is older than the target: start here or later.
                Some((at, t)) if t + margin < target && at < hi => lo = at,
                _ => hi = mid,
            }
        }
        Ok(lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn bisection_lands_just_before_the_target() {
        let mut file = tempfile::tempfile().unwrap();
        let base: DateTime<Utc> = "2025-11-19T00:00:00Z".parse().unwrap();
        let mut offsets = Vec::new();
        let mut at = 0u64;
        for i in 0..200_000 {
            let t = base + chrono::Duration::seconds(i / 2);
            let line = format!(
                "{} INFO line {i} padding padding padding\n",
                t.format("%Y-%m-%dT%H:%M:%SZ")
            );
            offsets.push((at, t));
            at += line.len() as u64;
            file.write_all(line.as_bytes()).unwrap();
        }
        let tcx = TimeContext::new(chrono_tz::Tz::UTC, base);
        let prober = Prober {
            file: &file,
            size: at,
            format: &TsFormat::layout("iso8601").unwrap(),
            tcx: &tcx,
            max_line_bytes: 4096,
        };
        assert!(prober.looks_ordered().unwrap());
        let target = base + chrono::Duration::seconds(70_000);
        let found = prober.find(target).unwrap();
        let first = offsets.iter().find(|(_, t)| *t >= target).unwrap().0;
        assert!(
            found <= first && first - found < LINEAR_BELOW + PROBE_BYTES as u64,
            "{found} {first}"
        );
        assert!(offsets.iter().any(|(o, _)| *o == found), "not a line start");
        assert_eq!(prober.last_time().unwrap(), Some(base + chrono::Duration::seconds(99_999)));
    }
}
