//! The `timestamp_format` escape hatch: a strftime-style format (`%y/%m/%d %H:%M:%S`) for
//! logs no layout of the table reads. The format is turned into a regular expression that
//! finds the timestamp (its first match in the line), and chrono parses the match. Formats
//! without a year get one the way the yearless layouts do (from the file's modification
//! time); formats without a zone are read in the configured time zone.

use chrono::{DateTime, NaiveDateTime, Utc};
use regex::bytes::Regex;

use super::TimeContext;

/// A validated `timestamp_format`.
pub struct Custom {
    format: String,
    /// Finds the timestamp in a line.
    finder: Regex,
    has_year: bool,
    has_zone: bool,
}

/// Why a `timestamp_format` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomError {
    #[error("`%{0}` is not a strftime specifier this reader supports")]
    Unsupported(String),
    #[error("ends with a lone `%`")]
    Dangling,
    #[error("has no {0}: a timestamp needs a date and a time of day")]
    Missing(&'static str),
}

impl PartialEq for Custom {
    fn eq(&self, other: &Self) -> bool {
        self.format == other.format
    }
}

impl Eq for Custom {}

impl std::fmt::Debug for Custom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Custom({:?})", self.format)
    }
}

impl Custom {
    /// Checks `format` and builds its finder.
    ///
    /// # Errors
    /// A specifier that is not supported, a lone `%`, or a format without a date or a time.
    pub fn new(format: &str) -> Result<Self, CustomError> {
        let mut pattern = String::new();
        let mut seen = String::new();
        let mut chars = format.chars().peekable();
        let mut in_space = false;
        while let Some(c) = chars.next() {
            if c.is_whitespace() {
                if !in_space {
                    pattern.push_str(r"\s+");
                }
                in_space = true;
                continue;
            }
            in_space = false;
            if c != '%' {
                pattern.push_str(&regex::escape(&c.to_string()));
                continue;
            }
            let mut spec = String::new();
            while let Some(&p) = chars.peek() {
                if matches!(p, '-' | '_' | '0' | '.' | ':' | '1'..='9') {
                    spec.push(p);
                    chars.next();
                } else {
                    break;
                }
            }
            let letter = chars.next().ok_or(CustomError::Dangling)?;
            spec.push(letter);
            let fraction_digits = spec.chars().find(char::is_ascii_digit);
            let piece = match letter {
                'Y' => r"\d{4}".to_owned(),
                'y' | 'm' | 'd' | 'H' | 'M' | 'S' | 'I' => r"\d{1,2}".to_owned(),
                'e' => r" ?\d{1,2}".to_owned(),
                'j' => r"\d{1,3}".to_owned(),
                'b' | 'h' | 'a' => "[A-Za-z]{3}".to_owned(),
                'B' | 'A' => "[A-Za-z]+".to_owned(),
                'p' | 'P' => "[AaPp][Mm]".to_owned(),
                'f' => match (spec.starts_with('.'), fraction_digits) {
                    (true, Some(n)) => format!(r"\.\d{{{n}}}"),
                    (true, None) => r"\.\d+".to_owned(),
                    (false, Some(n)) => format!(r"\d{{{n}}}"),
                    (false, None) => r"\d+".to_owned(),
                },
                'z' => r"[+-]\d{2}:?\d{2}".to_owned(),
                'Z' => r"[A-Za-z]{1,5}".to_owned(),
                's' => r"\d{9,11}".to_owned(),
                'T' => r"\d{2}:\d{2}:\d{2}".to_owned(),
                'R' => r"\d{2}:\d{2}".to_owned(),
                'F' => r"\d{4}-\d{2}-\d{2}".to_owned(),
                'D' => r"\d{2}/\d{2}/\d{2}".to_owned(),
                '%' => "%".to_owned(),
                't' | 'n' => r"\s+".to_owned(),
                _ => return Err(CustomError::Unsupported(spec)),
            };
            pattern.push_str(&piece);
            seen.push(letter);
        }
        let any = |set: &str| seen.chars().any(|c| set.contains(c));
        if !any("dejFDs") || !any("mbBhFDjs") {
            return Err(CustomError::Missing("day and month (%d and %m, %b, %F, %D or %s)"));
        }
        if !any("HITRs") {
            return Err(CustomError::Missing("hour (%H, %I, %T, %R or %s)"));
        }
        let finder = Regex::new(&pattern).map_err(|e| CustomError::Unsupported(e.to_string()))?;
        Ok(Self { format: format.to_owned(), finder, has_year: any("YyFDs"), has_zone: any("zs") })
    }

    /// The format as configured.
    pub fn format(&self) -> &str {
        &self.format
    }

    /// The time of the first match in `line` and the offset after it.
    pub fn parse(&self, line: &[u8], cx: &TimeContext) -> Option<(DateTime<Utc>, usize)> {
        let m = self.finder.find(line)?;
        let text = std::str::from_utf8(m.as_bytes()).ok()?;
        let t = if self.has_zone {
            DateTime::parse_from_str(text, &self.format).ok()?.with_timezone(&Utc)
        } else if self.has_year {
            cx.local(NaiveDateTime::parse_from_str(text, &self.format).ok()?)?
        } else {
            let with_year = format!("{} %Y", self.format);
            cx.yearless_with(|year| {
                NaiveDateTime::parse_from_str(&format!("{text} {year}"), &with_year).ok()
            })?
        };
        Some((t, m.end()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> TimeContext {
        TimeContext::new(chrono_tz::Tz::UTC, "2025-11-20T00:00:00Z".parse().unwrap())
    }

    #[test]
    fn the_first_match_in_the_line_is_read() {
        let cases = [
            ("%y/%m/%d %H:%M:%S", "app1 25/11/19 21:00:00 ERROR x", "2025-11-19T21:00:00Z"),
            ("%d.%m.%Y %H:%M:%S%.3f", "[19.11.2025 21:00:00.250] x", "2025-11-19T21:00:00.250Z"),
            ("%b %d %Y %H:%M:%S %z", "Nov 19 2025 22:00:00 +0100 x", "2025-11-19T21:00:00Z"),
            ("%m/%d %H:%M:%S", "W 11/19 21:00:00 x", "2025-11-19T21:00:00Z"),
            ("%s", "t=1763586000 x", "2025-11-19T21:00:00Z"),
        ];
        for (format, line, want) in cases {
            let custom = Custom::new(format).unwrap();
            let got = custom.parse(line.as_bytes(), &cx()).map(|(t, _)| t);
            assert_eq!(got, Some(want.parse().unwrap()), "{format} on {line}");
        }
        let custom = Custom::new("%y/%m/%d %H:%M:%S").unwrap();
        assert_eq!(custom.parse(b"no time here", &cx()), None);
    }

    #[test]
    fn formats_that_cannot_be_a_timestamp_are_refused() {
        assert_eq!(
            Custom::new("%H:%M:%S").unwrap_err(),
            CustomError::Missing("day and month (%d and %m, %b, %F, %D or %s)")
        );
        assert_eq!(
            Custom::new("%Y-%m-%d").unwrap_err(),
            CustomError::Missing("hour (%H, %I, %T, %R or %s)")
        );
        assert_eq!(
            Custom::new("%Y-%m-%d %H:%M:%Q").unwrap_err(),
            CustomError::Unsupported("Q".into())
        );
        assert_eq!(Custom::new("%Y-%m-%d %H:%M %").unwrap_err(), CustomError::Dangling);
    }
}
