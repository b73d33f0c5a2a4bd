//! `witness verify BUNDLE [--key PUBKEY]`: every hash, the root hash and the signature;
//! and the signatures of the alerts recorded beside the bundle after its seal. A bundle in
//! an object store (`s3://bucket/prefix/ID`, or `--store URL ID`) is downloaded first, and
//! the alerts other replicas joined to it (`joins/<id>/`) are checked with the same key.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use crate::store::{JoinSignature, StoredJoin};

/// Prints every problem by path; exits 0 when everything matches, 1 when not.
///
/// # Errors
/// When the bundle or the key cannot be read (exit 2).
pub fn verify(bundle: &Path, key: Option<&Path>) -> Result<ExitCode> {
    verify_with_joins(bundle, key, None)
}

/// [`verify`], and with `joins` (a bundle from an object store) the joins beside it.
fn verify_with_joins(
    bundle: &Path,
    key: Option<&Path>,
    joins: Option<Result<Vec<StoredJoin>, String>>,
) -> Result<ExitCode> {
    let key = key.map(crate::bundle::sign::load_verifying_key).transpose()?;
    let result = crate::bundle::verify::verify(bundle, key.as_ref())?;
    for problem in &result.problems {
        // Paths come from the archive: whatever its maker wrote.
        println!("{}", crate::escape::terminal(&problem.to_string(), crate::escape::Keep::Nothing));
    }
    let late_problems = check_addendum(bundle, key.as_ref())
        + check_follows(bundle, &result)
        + joins.map_or(0, |joins| check_joins(joins, key.as_ref()));
    if result.ok() && late_problems == 0 {
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
            result.problems.len() + late_problems
        );
        Ok(ExitCode::from(1))
    }
}

/// Verifies a bundle downloaded from an object store (every hash and the signature of
/// what was downloaded), and the alerts other replicas recorded beside it.
///
/// # Errors
/// As [`verify`].
pub async fn verify_fetched(
    fetched: &super::remote::Fetched,
    key: Option<&Path>,
) -> Result<ExitCode> {
    println!("{}: downloaded from {}", fetched.id, fetched.store.url());
    let joins = fetched.store.joins(&fetched.id).await.map_err(|e| format!("{e:#}"));
    verify_with_joins(&fetched.dir, key, Some(joins))
}

/// The alerts other replicas recorded beside a bundle in an object store: counted, and
/// with `key` each signature checked; each join without a signature, or with one that
/// does not match, is named. Returns how many do not verify (a listing that failed counts
/// as one).
fn check_joins(
    joins: Result<Vec<StoredJoin>, String>,
    key: Option<&ed25519_dalek::VerifyingKey>,
) -> usize {
    let joins = match joins {
        Ok(joins) => joins,
        Err(e) => {
            println!("joins: cannot be read: {e}");
            return 1;
        }
    };
    if joins.is_empty() {
        return 0;
    }
    let name = |j: &StoredJoin| crate::escape::terminal(&j.name, crate::escape::Keep::Nothing);
    let mut bad = 0;
    for join in &joins {
        let readable = join.join().is_ok();
        if !readable {
            println!("join {}: not a join record", name(join));
        }
        let signature = key.map(|key| join.check(key));
        match signature {
            Some(JoinSignature::Missing) => println!("join {}: not signed", name(join)),
            Some(JoinSignature::Invalid) => {
                println!("join {}: signature does not match the join with this key", name(join))
            }
            Some(JoinSignature::Valid) | None => {}
        }
        bad += usize::from(!readable || signature.is_some_and(|s| s != JoinSignature::Valid));
    }
    let count = joins.len();
    if key.is_none() {
        let signed = joins.iter().filter(|j| j.signature.is_some()).count();
        println!(
            "joins: {count} alert(s) from other replicas recorded beside it, {signed} signed (pass --key to check their signatures)"
        );
    } else if bad == 0 {
        println!(
            "joins: {count} alert(s) from other replicas recorded beside it, signatures valid"
        );
    }
    bad
}

/// A follow-up's link to its incident: named, and when the incident bundle is beside it,
/// its manifest's root hash compared with the one the follow-up recorded. Returns 1 when
/// they differ (the incident bundle was replaced after the follow-up), else 0.
fn check_follows(bundle: &Path, result: &crate::bundle::verify::Verification) -> usize {
    let Some(follows) = &result.manifest.follows else { return 0 };
    let field = |t: &str| crate::escape::terminal(t, crate::escape::Keep::Nothing);
    let (id, root) = (field(&follows.id), field(&follows.root_sha256));
    let beside = bundle.parent().map(|store| store.join(&follows.id)).filter(|d| d.is_dir());
    let manifest = beside
        .as_ref()
        .and_then(|dir| std::fs::read(dir.join(crate::bundle::MANIFEST)).ok())
        .and_then(|bytes| serde_json::from_slice::<crate::bundle::Manifest>(&bytes).ok());
    match manifest {
        Some(incident) if incident.root_sha256 == follows.root_sha256 => {
            println!("follows: {id} (root {root}), beside it with the same root hash");
            0
        }
        Some(incident) => {
            println!(
                "follows: {id}: its manifest's root hash is now {}, not {root} as the follow-up recorded",
                field(&incident.root_sha256)
            );
            1
        }
        None => {
            println!("follows: {id} (root {root}); verify that bundle where it is");
            0
        }
    }
}

/// The alerts recorded beside a bundle directory after its seal: counted, and with `key`
/// each signature checked. Returns how many do not verify.
fn check_addendum(bundle: &Path, key: Option<&ed25519_dalek::VerifyingKey>) -> usize {
    let (Some(store), Some(id)) = (bundle.parent(), bundle.file_name().and_then(|n| n.to_str()))
    else {
        return 0;
    };
    let entries = crate::server::addendum::read(store, id);
    if entries.is_empty() || !bundle.is_dir() {
        return 0;
    }
    let Some(key) = key else {
        println!(
            "addendum: {} alert(s) recorded after the seal (pass --key to check their signatures)",
            entries.len()
        );
        return 0;
    };
    let bad: Vec<usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !crate::server::addendum::is_signed_by(e, key))
        .map(|(i, _)| i + 1)
        .collect();
    if bad.is_empty() {
        println!("addendum: {} alert(s) recorded after the seal, signatures valid", entries.len());
    }
    for line in &bad {
        println!("addendum line {line}: signature missing or invalid");
    }
    bad.len()
}
