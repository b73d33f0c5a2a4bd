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

/// A configuration with everything it names loaded and checked: the compiled rules and
/// the signing key. Made once per process (and per reload), before any collector runs.
pub struct Prepared {
    pub config: Arc<WitnessConfig>,
    /// Shared with the blocking thread the analysis runs on.
    pub rules: Arc<RuleSet>,
    pub signing_key: Option<SigningKey>,
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
    if let Err(e) = Redactor::new(&config.redaction, Vec::new()) {
        problems.push(format!("redaction.patterns: {e}"));
    }
    if problems.is_empty() {
        Ok(Prepared { config, rules: Arc::new(rules), signing_key })
    } else {
        Err(PrepareError { problems })
    }
}
