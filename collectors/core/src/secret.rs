//! Secrets never sit in the config file: it names an environment variable (`*_env`) or a
//! file (`*_file`). This module reads them and hands every value to the run's
//! [`Redactor`] as a literal before anyone uses it, so that value is redacted wherever it
//! appears in text read afterwards.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use witness_redact::Redactor;

use crate::{CollectError, ConfigProblem};

/// Where a secret comes from: exactly one of an environment variable or a file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRef {
    pub env: Option<String>,
    pub file: Option<PathBuf>,
}

impl SecretRef {
    pub fn new(env: Option<&str>, file: Option<&std::path::Path>) -> Self {
        Self { env: env.map(str::to_owned), file: file.map(ToOwned::to_owned) }
    }

    /// Whether either source is configured.
    pub fn is_set(&self) -> bool {
        self.env.is_some() || self.file.is_some()
    }

    /// Checks that at most one source is set; `key` is the config key stem (`dsn` for
    /// `dsn_env` / `dsn_file`).
    pub fn validate(&self, key: &str) -> Vec<ConfigProblem> {
        match (&self.env, &self.file) {
            (Some(_), Some(_)) => vec![ConfigProblem::new(
                format!("{key}_env"),
                format!("set only one of `{key}_env` and `{key}_file`"),
            )],
            (Some(env), None) if env.trim().is_empty() => {
                vec![ConfigProblem::new(format!("{key}_env"), "names no environment variable")]
            }
            _ => Vec::new(),
        }
    }

    /// What is wrong with the source on this machine, for `witness config check`: the
    /// variable is unset or empty, the file cannot be read or is empty. The value is read
    /// and dropped, never registered or shown. `key` as for [`SecretRef::validate`].
    pub fn check(&self, key: &str) -> Vec<ConfigProblem> {
        let problem = if let Some(env) = &self.env {
            match std::env::var_os(env) {
                None => format!("environment variable {env} is not set"),
                Some(value) if value.is_empty() => format!("environment variable {env} is empty"),
                Some(_) => return Vec::new(),
            }
        } else if let Some(file) = &self.file {
            match std::fs::read(file) {
                Err(e) => format!("cannot read {}: {e}", file.display()),
                Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => {
                    format!("{} is empty", file.display())
                }
                Ok(_) => return Vec::new(),
            }
        } else {
            return Vec::new();
        };
        let suffix = if self.env.is_some() { "env" } else { "file" };
        vec![ConfigProblem::new(format!("{key}_{suffix}"), problem)]
    }

    /// Reads the secret (trailing newline of a file removed) and registers it with
    /// `redactor` as a literal. `Ok(None)` when no source is configured.
    ///
    /// # Errors
    /// [`CollectError::Config`] naming the variable or file when it cannot be read.
    pub fn read(&self, redactor: &Redactor) -> Result<Option<String>, CollectError> {
        let value = self.value()?;
        if let Some(value) = &value {
            redactor.add_literal(value);
        }
        Ok(value)
    }

    /// Reads the secret without registering it: for the one caller that registers
    /// witness's own secrets itself (the run's preparation) and the server's checks of
    /// what it already registered.
    ///
    /// # Errors
    /// As [`SecretRef::read`].
    pub fn value(&self) -> Result<Option<String>, CollectError> {
        let value = if let Some(env) = &self.env {
            std::env::var(env).map_err(|_| {
                CollectError::Config(format!("environment variable {env} is not set"))
            })?
        } else if let Some(file) = &self.file {
            let text = std::fs::read_to_string(file).map_err(|e| {
                CollectError::Config(format!("cannot read secret file {}: {e}", file.display()))
            })?;
            text.trim_end_matches(['\r', '\n']).to_owned()
        } else {
            return Ok(None);
        };
        Ok(Some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_read_from_files_are_registered_for_redaction() {
        let dir = std::env::temp_dir().join(format!("witness-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "hunter2-token\n").unwrap();
        let redactor = Redactor::builtin();
        let value = SecretRef::new(None, Some(&file)).read(&redactor).unwrap();
        assert_eq!(value.as_deref(), Some("hunter2-token"));
        let text = redactor.redact("the token hunter2-token leaked");
        assert!(!text.contains("hunter2"), "{text}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_variable_is_named() {
        let err = SecretRef::new(Some("WITNESS_TEST_SURELY_UNSET_VAR"), None)
            .read(&Redactor::builtin())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration: environment variable WITNESS_TEST_SURELY_UNSET_VAR is not set"
        );
    }

    #[test]
    fn check_names_an_unset_variable_and_a_missing_file() {
        let unset = SecretRef::new(Some("WITNESS_TEST_SURELY_UNSET_VAR"), None).check("dsn");
        assert_eq!(
            unset,
            [ConfigProblem::new(
                "dsn_env",
                "environment variable WITNESS_TEST_SURELY_UNSET_VAR is not set"
            )]
        );
        let missing =
            SecretRef::new(None, Some(std::path::Path::new("/nonexistent/pw"))).check("dsn");
        assert_eq!(missing[0].key, "dsn_file");
        assert!(missing[0].message.starts_with("cannot read /nonexistent/pw"), "{missing:?}");
        assert!(SecretRef::default().check("dsn").is_empty());
    }

    #[test]
    fn both_sources_is_a_problem() {
        let problems = SecretRef::new(Some("A"), Some(std::path::Path::new("/x"))).validate("dsn");
        assert_eq!(problems[0].key, "dsn_env");
    }
}
