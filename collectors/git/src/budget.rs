//! The [`Budget`] of one blocking read: what the scan and each of its readers (history,
//! tags, deployed revision) check between commits. It sits below them all, so none of them
//! imports the scan that calls it.

use std::time::Instant;

use tokio_util::sync::CancellationToken;

/// When a blocking read must stop: the collector's deadline (less a margin to hand the
/// evidence back) or the run's cancellation.
#[derive(Debug, Clone)]
pub struct Budget {
    pub deadline: Instant,
    pub cancel: CancellationToken,
}

impl Budget {
    pub fn exhausted(&self) -> bool {
        self.cancel.is_cancelled() || Instant::now() >= self.deadline
    }
}
