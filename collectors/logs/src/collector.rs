//! The collector of a `logs` instance: reads the files its globs match inside the window
//! (off the async workers, stopping a little before the deadline) and turns what it read
//! into evidence and an excerpt artifact. Lines are redacted with the run's redactor where
//! they become evidence, before any part of them is taken (see `scan`).

use std::time::Duration;

use async_trait::async_trait;
use chrono_tz::Tz;
use witness_collector::{CollectContext, CollectError, Collector, Evidence};

use witness_log_analysis::analysis::Limits;
use witness_log_analysis::timestamp::{TimeContext, TsFormat};
use witness_log_analysis::{Matchers, Setup, Span};

use crate::config::LogsConfig;
use crate::{files, report};

/// A built `logs` instance.
pub struct LogsCollector {
    config: LogsConfig,
    matchers: Matchers,
    /// The configured `timestamp_format`, which replaces detection.
    timestamp_format: Option<TsFormat>,
    tz: Tz,
}

impl LogsCollector {
    pub(crate) fn new(
        config: LogsConfig,
        matchers: Matchers,
        timestamp_format: Option<TsFormat>,
        tz: Tz,
    ) -> Self {
        Self { config, matchers, timestamp_format, tz }
    }
}

/// Time kept back from the deadline to turn what was read into evidence.
fn reserve(remaining: Duration) -> Duration {
    (remaining / 10).min(Duration::from_secs(2))
}

#[async_trait]
impl Collector for LogsCollector {
    async fn collect(&self, ctx: &CollectContext) -> Result<Evidence, CollectError> {
        let setup = Setup {
            matchers: self.matchers.clone(),
            timestamp_format: self.timestamp_format.clone(),
            tcx: TimeContext::new(self.tz, ctx.window.end.max(ctx.anchor)),
            span: Span::new(ctx.window),
            context_lines: self.config.context_lines,
            max_line_bytes: self.config.max_line_bytes,
            max_excerpt_bytes: self.config.max_excerpt_bytes,
            redactor: ctx.redactor.clone(),
        };
        let globs = self.config.paths.clone();
        let kind = self.config.kind;
        let cancel = ctx.cancel.clone();
        let stop_at =
            std::time::Instant::now() + ctx.remaining().saturating_sub(reserve(ctx.remaining()));
        // Reading is blocking file I/O and CPU: keep it off the async workers.
        let outcome = tokio::task::spawn_blocking(move || {
            let stop = move || cancel.is_cancelled() || std::time::Instant::now() >= stop_at;
            files::collect(&globs, kind, &setup, &stop)
        })
        .await
        .map_err(|e| CollectError::other(format!("the log reader stopped unexpectedly: {e}")))?;
        let limits = Limits {
            max_excerpt_bytes: self.config.max_excerpt_bytes,
            max_line_bytes: self.config.max_line_bytes,
        };
        let (evidence, excerpt) = report::build(outcome, ctx.anchor, limits, &ctx.redactor);
        if let Some(text) = excerpt {
            ctx.artifacts.put(report::EXCERPT, text.into_string().into_bytes());
        }
        tracing::debug!(name = %self.config.name, status = %evidence.status, "Logs collected.");
        Ok(evidence)
    }
}
