//! The `git` collector: works out the span to read from the run's anchor and window, hands
//! the read to a blocking thread with a budget a little short of the deadline, and turns
//! what came back into evidence.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use globset::GlobSet;
use witness_collector::{CollectContext, CollectError, Collector, ConfigProblem, Evidence};

use crate::GitConfig;
use crate::budget::Budget;
use crate::classes::{self, PathClasses};
use crate::history::Span;
use crate::report;
use crate::scan::{self, Outcome, ScanRequest};

/// Time kept back from the deadline to turn a cut-short read into evidence.
const HAND_BACK_MARGIN: Duration = Duration::from_millis(300);

/// The git collector, built from a [`GitConfig`].
pub struct GitCollector {
    config: GitConfig,
    classes: Arc<PathClasses>,
    deploy_tags: Arc<GlobSet>,
}

impl GitCollector {
    /// Compiles the configuration's globs.
    ///
    /// # Errors
    /// Every invalid glob or class name, with its key.
    pub fn new(config: GitConfig) -> Result<Self, Vec<ConfigProblem>> {
        let classes = PathClasses::new(&config.path_classes)?;
        let deploy_tags = classes::compile(&config.deploy_tags, "deploy_tags")?;
        Ok(Self { config, classes: Arc::new(classes), deploy_tags: Arc::new(deploy_tags) })
    }

    fn request(&self, ctx: &CollectContext) -> ScanRequest {
        let config = &self.config;
        let lookback = chrono::Duration::hours(i64::try_from(config.lookback_hours).unwrap_or(24));
        let labels = config
            .deployed_labels
            .iter()
            .filter_map(|key| {
                let value = ctx.label(key)?.trim();
                (!value.is_empty()).then(|| (key.clone(), value.to_owned()))
            })
            .collect();
        let remaining = ctx.remaining();
        let margin = HAND_BACK_MARGIN.min(remaining / 10);
        ScanRequest {
            path: config.path.clone(),
            git_ref: config.git_ref.clone(),
            span: Span {
                since: ctx.window.start.min(ctx.anchor - lookback),
                anchor: ctx.anchor,
                until: ctx.window.end.max(ctx.anchor),
                max_commits: config.max_commits,
                max_files_per_commit: config.max_files_per_commit,
                line_counts: config.line_counts,
                include_email: config.include_author_email,
            },
            classes: Arc::clone(&self.classes),
            deploy_tags: Arc::clone(&self.deploy_tags),
            labels,
            deployed_ref: config.deployed_ref.clone(),
            previous_deployed_ref: config.previous_deployed_ref.clone(),
            budget: Budget {
                deadline: std::time::Instant::now() + remaining.saturating_sub(margin),
                cancel: ctx.cancel.clone(),
            },
            redactor: ctx.redactor.clone(),
        }
    }
}

#[async_trait]
impl Collector for GitCollector {
    async fn collect(&self, ctx: &CollectContext) -> Result<Evidence, CollectError> {
        let request = self.request(ctx);
        let started = std::time::Instant::now();
        let outcome = tokio::task::spawn_blocking(move || scan::run(&request))
            .await
            .map_err(|e| CollectError::other(format!("the git reader stopped: {e}")))??;
        tracing::debug!(
            instance = %self.config.name,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Read the repository."
        );
        Ok(match outcome {
            Outcome::Empty { path, branch } => Evidence::skipped(format!(
                "{} has no commits yet (HEAD points at the unborn branch {branch})",
                path.display()
            )),
            Outcome::Scanned(scan) => report::evidence(&scan),
        })
    }
}
