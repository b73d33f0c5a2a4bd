//! witness's own log lines (stderr, text or JSON): every formatted line passes through the
//! redactor before it is written, whatever the event holds — an alert's title, a
//! collector's error, a sender's bad body quoted in a refusal. The redactor is the one in
//! force: the built-in rules from the start, then the configuration's (with witness's own
//! secrets as literals: the `[server.auth]` tokens, the PagerDuty secrets, the signing key)
//! once it is loaded, swapped again on every reload ([`set_redactor`]).
//!
//! Text is redacted where it enters, so this is the last line of defence, not the fix: an
//! event that quotes a secret the intake already redacted shows its token. A JSON line is
//! redacted as JSON (strings decoded, a secret-named field replaced whole), and written
//! as it was when nothing was found.

use std::io::{self, Write};
use std::sync::{LazyLock, PoisonError, RwLock};

use tracing_subscriber::fmt::MakeWriter;

use crate::cli::LogFormat;
use crate::redact::Redactor;

/// The redactor log lines pass through now; `None` until the configuration's is set, and
/// then [`Redactor::builtin`] is used (built only if a line comes before it: a run that
/// logs nothing before its configuration is loaded never builds it).
static CURRENT: RwLock<Option<Redactor>> = RwLock::new(None);
/// The redactor of the lines logged before the configuration's is set (one token key for
/// all of them).
static BEFORE_CONFIG: LazyLock<Redactor> = LazyLock::new(Redactor::builtin);

/// Puts `redactor` (its rules, literals and token key; counts of its own) in force for
/// every log line from now on.
pub fn set_redactor(redactor: &Redactor) {
    *CURRENT.write().unwrap_or_else(PoisonError::into_inner) = Some(redactor.scope());
}

/// `text` as a log line would show it: for what witness prints to stderr outside
/// `tracing` (the error that ends a command).
pub fn redact(text: &str) -> String {
    redact_line(&current(), text)
}

fn current() -> Redactor {
    let current = CURRENT.read().unwrap_or_else(PoisonError::into_inner).clone();
    current.unwrap_or_else(|| BEFORE_CONFIG.clone())
}

/// Sets up witness's logs on stderr: `WITNESS_LOG` (else `default_level`) filters, colour
/// only at a terminal, and every line redacted.
pub fn init(format: LogFormat, default_level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("WITNESS_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    // Colour only for a person at a terminal: escape codes in a log file or journald are
    // noise that hides the text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Redacting(std::io::stderr))
        .with_ansi(colour);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// A [`MakeWriter`] whose writers redact what they are given before passing it on.
pub struct Redacting<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter { inner: self.0.make_writer(), line: Vec::new() }
    }
}

/// Collects one event's formatted text and writes it redacted when flushed or dropped
/// (the formatter writes each event whole, then drops its writer).
pub struct RedactingWriter<W: Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    fn write_redacted(&mut self) -> io::Result<()> {
        if self.line.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.line);
        let redacted = redact_line(&current(), &text);
        self.line.clear();
        self.inner.write_all(redacted.as_bytes())
    }
}

/// `text` (one or more formatted lines) redacted: each JSON line as JSON, the rest as text.
fn redact_line(redactor: &Redactor, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let as_json = body
            .starts_with('{')
            .then(|| serde_json::from_str::<serde_json::Value>(body).ok())
            .flatten();
        match as_json {
            Some(value) => {
                let mut redacted = value.clone();
                redactor.redact_json(&mut redacted);
                if redacted == value {
                    out.push_str(body);
                } else {
                    out.push_str(&redacted.to_string());
                }
            }
            None => out.push_str(&redactor.redact_text(body)),
        }
        out.push_str(end);
    }
    out
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_redacted()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _ = self.write_redacted();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json_lines_are_redacted_and_clean_ones_kept_as_they_are() {
        let redactor =
            Redactor::new(&Default::default(), vec!["own-bearer-token-1".into()]).unwrap();
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        let text = format!(
            "INFO alert accepted alert=\"{jwt}\" token=own-bearer-token-1\n{{\"fields\":{{\"message\":\"Run started.\",\"alert\":\"x own-bearer-token-1 {jwt}\",\"password\":\"hunter2!\"}},\"level\":\"INFO\"}}\n{{\"level\":\"INFO\",\"fields\":{{\"message\":\"Listening.\"}}}}\n"
        );
        let out = redact_line(&redactor, &text);
        for secret in [jwt, "own-bearer-token-1", "hunter2!"] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        let json: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(json["fields"]["message"], "Run started.");
        assert_eq!(lines[2], r#"{"level":"INFO","fields":{"message":"Listening."}}"#);
    }

    #[test]
    fn a_writer_writes_what_it_was_given_redacted_once_dropped() {
        let mut sink = Vec::new();
        {
            let mut writer = RedactingWriter { inner: &mut sink, line: Vec::new() };
            writer.write_all(b"password=hunter22 ").unwrap();
            writer.write_all(b"and more\n").unwrap();
        }
        let out = String::from_utf8(sink).unwrap();
        assert!(!out.contains("hunter22") && out.ends_with("and more\n"), "{out}");
    }
}
