//! The collector of a `logs` instance: reads the files its globs match inside the window
//! (off the async workers, stopping a little before the deadline) and turns what it read
//! into evidence and an excerpt artifact. Lines are redacted with the run's redactor where
//! they become evidence, before any part of them is taken (see `scan`).

use std::time::Duration;

use async_trait::async_trait;
use chrono_tz::Tz;
use witness_collector::{CollectContext, CollectError, Collector, Evidence};

use crate::config::{self, LogsConfig};
use crate::scan::Setup;
use crate::tally::Span;
use crate::timestamp::TimeContext;
use crate::{files, report};

/// A built `logs` instance.
pub struct LogsCollector {
    config: LogsConfig,
    matchers: config::Matchers,
    tz: Tz,
}

impl LogsCollector {
    pub(crate) fn new(config: LogsConfig, matchers: config::Matchers, tz: Tz) -> Self {
        Self { config, matchers, tz }
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
            patterns: self.matchers.patterns.clone(),
            exclude: self.matchers.exclude.clone(),
            prefilter: self.matchers.prefilter.clone(),
            timestamp_format: self.matchers.timestamp_format.clone(),
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
        let (evidence, excerpt) = report::build(
            outcome,
            ctx.anchor,
            self.config.max_excerpt_bytes,
            self.config.max_line_bytes,
            &ctx.redactor,
        );
        if let Some(text) = excerpt {
            ctx.artifacts.put(report::EXCERPT, text.into_string().into_bytes());
        }
        tracing::debug!(name = %self.config.name, status = %evidence.status, "Logs collected.");
        Ok(evidence)
    }
}
