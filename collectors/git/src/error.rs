//! Why reading a repository failed, and how each failure reaches the run: a repository or
//! ref that cannot be used is a configuration problem, anything else a read error.

use std::path::PathBuf;

use witness_collector::CollectError;

/// A failure while reading a repository.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The path is not a repository git can open.
    #[error("{path} is not a git repository: {reason}")]
    Open { path: PathBuf, reason: String },
    /// The configured ref does not name a commit.
    #[error("ref `{name}` does not name a commit in {path}: {reason}")]
    Ref { name: String, path: PathBuf, reason: String },
    /// An object or reference could not be read.
    #[error("cannot read {what}: {reason}")]
    Read { what: String, reason: String },
}

impl GitError {
    pub fn read(what: impl Into<String>, reason: &dyn std::fmt::Display) -> Self {
        Self::Read { what: what.into(), reason: reason.to_string() }
    }
}

impl From<GitError> for CollectError {
    fn from(e: GitError) -> Self {
        match e {
            GitError::Open { .. } | GitError::Ref { .. } => CollectError::Config(e.to_string()),
            GitError::Read { .. } => CollectError::Other(e.to_string()),
        }
    }
}
