//! How `collect` shows collectors as they run: on a terminal a spinner per collector that
//! turns into its status and duration; without one, a plain line per start and finish.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::bundle::layout::CollectorRecord;
use crate::run::gather::Progress;

/// Picks spinners for a terminal, plain lines otherwise.
pub fn for_stderr() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() { Box::new(Spinners::default()) } else { Box::new(Lines) }
}

/// One line per event, for logs and pipes.
pub struct Lines;

impl Progress for Lines {
    fn started(&self, kind: &str, name: &str) {
        eprintln!("collecting {kind}/{name}");
    }

    fn finished(&self, record: &CollectorRecord) {
        eprintln!("{}", finished_line(record));
    }
}

fn finished_line(record: &CollectorRecord) -> String {
    let detail = record.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
    format!(
        "{}/{} {} in {:.1}s{detail}",
        record.kind,
        record.name,
        record.status(),
        record.duration_ms as f64 / 1000.0
    )
}

/// A spinner per collector on a terminal.
#[derive(Default)]
pub struct Spinners {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Progress for Spinners {
    fn started(&self, kind: &str, name: &str) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("valid template"),
        );
        bar.set_message(format!("{kind}/{name}"));
        bar.enable_steady_tick(Duration::from_millis(100));
        self.bars.lock().unwrap_or_else(|e| e.into_inner()).insert(format!("{kind}/{name}"), bar);
    }

    fn finished(&self, record: &CollectorRecord) {
        let key = format!("{}/{}", record.kind, record.name);
        let bar = self.bars.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
        let mark = if record.status().has_evidence() { "✓" } else { "✗" };
        let line = format!("{mark} {}", finished_line(record));
        match bar {
            Some(bar) => {
                bar.set_style(ProgressStyle::with_template("{msg}").expect("valid template"));
                bar.finish_with_message(line);
            }
            None => {
                let _ = self.multi.println(line);
            }
        }
    }
}
