//! `witness keygen --out PREFIX`: an ed25519 key pair for signing bundles.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

/// Writes `PREFIX.key` and `PREFIX.pub` and says what each is for.
///
/// # Errors
/// When a key exists already or cannot be written.
pub fn keygen(out: &Path) -> Result<ExitCode> {
    let (private, public) = crate::bundle::sign::keygen(out)?;
    println!("private key: {} (set [signing] key_file to it)", private.display());
    println!("public key:  {} (give it to `witness verify --key`)", public.display());
    Ok(ExitCode::SUCCESS)
}
