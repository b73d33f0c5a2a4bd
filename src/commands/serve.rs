//! `witness serve`: the daemon (see [`crate::server`]).

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::ConfigArg;

/// Serves until a shutdown signal.
///
/// # Errors
/// When the configuration cannot be used or the daemon cannot start.
pub async fn serve(config: &ConfigArg, listen: Option<String>) -> Result<ExitCode> {
    crate::server::serve(super::config::path(config), listen).await?;
    Ok(ExitCode::SUCCESS)
}
