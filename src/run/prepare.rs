//! Preparing a run: everything the configuration names that can be wrong — the rule
//! files, the signing key, the redaction patterns — is loaded and checked here, once per
//! process (and once per reload in the daemon), before any collector starts. A bad key or
//! rule file fails with its file (and line) instead of throwing a whole collection away.

use std::sync::Arc;

use ed25519_dalek::SigningKey;

use crate::bundle;
use crate::config::WitnessConfig;
use crate::redact::Redactor;
use crate::rules::rule::RuleSet;

/// A configuration with everything it names loaded and checked: the compiled rules, the
/// signing key and the redactor. Made once per process (and per reload), before any
/// collector runs.
pub struct Prepared {
    pub config: Arc<WitnessConfig>,
    /// Shared with the blocking thread the analysis runs on.
    pub rules: Arc<RuleSet>,
    pub signing_key: Option<SigningKey>,
    /// The configured rules with witness's own secrets as literals (the `[server.auth]`
    /// tokens, the PagerDuty secrets, the signing key, the store's credentials and the
    /// coordinator's DSN, `literal_envs`/`literal_files`).
    /// Each run takes [`Redactor::for_bundle`] of it.
    pub redactor: Redactor,
}

/// Why a configuration cannot be used for a run: every problem, each naming the file (and
/// the line, for rules).
#[derive(Debug, thiserror::Error)]
#[error("{}", problems.join("\n"))]
pub struct PrepareError {
    pub problems: Vec<String>,
}

/// Loads and checks what `config` names: the rules (a rule file that does not parse or
/// compile is an error; a suspicious one is logged), the signing key and the redaction
/// patterns.
///
/// # Errors
/// [`PrepareError`] with every problem found.
pub fn prepare(config: Arc<WitnessConfig>) -> Result<Prepared, PrepareError> {
    let rules = RuleSet::load(&config.rules);
    let mut problems: Vec<String> =
        rules.problems.iter().filter(|p| p.fatal).map(ToString::to_string).collect();
    for problem in rules.problems.iter().filter(|p| !p.fatal) {
        tracing::warn!(problem = %problem, "Rule file problem.");
    }
    let signing_key = match &config.signing.key_file {
        Some(path) => bundle::sign::load_signing_key(path)
            .map_err(|e| problems.push(format!("signing.key_file: {e}")))
            .ok(),
        None => None,
    };
    let redactor = Redactor::new(&config.redaction, own_secrets(&config))
        .map_err(|e| problems.push(format!("redaction.patterns: {e}")))
        .ok();
    match redactor {
        Some(redactor) if problems.is_empty() => {
            Ok(Prepared { config, rules: Arc::new(rules), signing_key, redactor })
        }
        _ => Err(PrepareError { problems }),
    }
}

/// witness's own secrets, as literals to redact: the `[server.auth]` secrets (each of
/// several PagerDuty secrets on its own), the signing key file's lines, and the object
/// store's and the fleet coordinator's secrets. One that
/// cannot be read is left to the part that uses it to report.
fn own_secrets(config: &WitnessConfig) -> Vec<String> {
    let mut values: Vec<String> = config
        .server
        .auth
        .secrets()
        .iter()
        .filter_map(|secret| secret.value().ok().flatten())
        .flat_map(|value| {
            let parts: Vec<String> = value
                .split(['\n', ','])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            std::iter::once(value).chain(parts)
        })
        .collect();
    if let Some(text) =
        config.signing.key_file.as_ref().and_then(|path| std::fs::read_to_string(path).ok())
    {
        values.extend(
            text.lines().map(str::trim).filter(|l| !l.starts_with("-----")).map(str::to_owned),
        );
    }
    // The object store's credentials and the fleet coordinator's DSN (with its password
    // on its own, `postgresql://user:password@host/db`).
    let fleet = [
        config.store.access_key_id(),
        config.store.secret_access_key(),
        config.fleet.coordinator(),
    ];
    for value in fleet.iter().filter_map(|secret| secret.value().ok().flatten()) {
        let password = value
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('@'))
            .and_then(|(user, _)| user.split_once(':'))
            .map(|(_, password)| password.to_owned());
        values.extend(password);
        values.push(value);
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 19: the object store's secret key and the coordinator's DSN (and its
    /// password alone) are redacted like witness's other secrets.
    #[test]
    fn the_store_and_coordinator_secrets_are_redaction_literals() {
        let dir = tempfile::tempdir().unwrap();
        let (secret, dsn) = (dir.path().join("secret"), dir.path().join("dsn"));
        std::fs::write(&secret, "s3-secret-Zq81xWv\n").unwrap();
        std::fs::write(&dsn, "postgresql://witness:pg-pass-7Hq2@db:5432/w\n").unwrap();
        let text = format!(
            "[store]\nurl = \"s3://b/p\"\naccess_key_id_file = {secret:?}\nsecret_access_key_file = {secret:?}\n\n[fleet]\ncoordinator_file = {dsn:?}\n"
        );
        let config = WitnessConfig::parse(&text, std::path::Path::new("w.toml")).unwrap();
        let prepared = prepare(Arc::new(config)).unwrap_or_else(|e| panic!("{e}"));
        let out = prepared.redactor.redact("key s3-secret-Zq81xWv and password pg-pass-7Hq2");
        assert!(!out.contains("s3-secret-Zq81xWv") && !out.contains("pg-pass-7Hq2"), "{out}");
    }
}
