//! `witness verify BUNDLE [--key PUBKEY]`: every hash, the root hash and the signature.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

/// Prints every problem by path; exits 0 when everything matches, 1 when not.
///
/// # Errors
/// When the bundle or the key cannot be read (exit 2).
pub fn verify(bundle: &Path, key: Option<&Path>) -> Result<ExitCode> {
    let key = key.map(crate::bundle::sign::load_verifying_key).transpose()?;
    let result = crate::bundle::verify::verify(bundle, key.as_ref())?;
    for problem in &result.problems {
        // Paths come from the archive: whatever its maker wrote.
        println!("{}", crate::escape::terminal(&problem.to_string(), crate::escape::Keep::Nothing));
    }
    if result.ok() {
        let signature = match (result.signed, result.signature_checked) {
            (true, true) => "signature valid",
            (true, false) => "signed (pass --key to check the signature)",
            (false, _) => "not signed",
        };
        println!(
            "ok: {} files match, root {}, {signature}",
            result.manifest.files.len(),
            result.manifest.root_sha256
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "witness: {} does not verify: {} problem(s)",
            bundle.display(),
            result.problems.len()
        );
        Ok(ExitCode::from(1))
    }
}
