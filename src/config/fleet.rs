//! `[fleet]`: what replicas of `witness serve` sharing `[store] url` ([`super::store`])
//! need to agree on. A replica uploads every sealed bundle to `[store] url`, and claims each incident
//! before its run, so that one incident gets one run across the fleet. A claim is a
//! conditional create in the object store (`If-None-Match: *`) where the store supports it,
//! or a lease row in PostgreSQL when `[fleet] coordinator_env`/`_file` names a DSN (stores
//! without conditional create, such as Garage). The code that uses it is `crate::store`.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use serde::Deserialize;
use witness_collector::{ConfigProblem, SecretRef};

/// The range of `[fleet] claim_ttl_secs`: 5 s to one hour.
pub const CLAIM_TTL_SECS: RangeInclusive<u64> = 5..=3600;
/// `[fleet]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    /// This replica's name in claims (default: the host name, which is the pod's name in
    /// Kubernetes). A replica that restarts under the same name resumes its own claims at
    /// once; under another it waits for them to expire.
    #[serde(default)]
    pub replica: Option<String>,
    /// How long a claim holds without being renewed, in seconds (default 60). The
    /// claimant renews it every third of that while its run collects and its bundle
    /// waits for the upload; a replica that dies loses it after this long, and another
    /// replica that received the same alert takes the incident over.
    #[serde(default = "default_claim_ttl_secs")]
    pub claim_ttl_secs: u64,
    /// A PostgreSQL DSN (`postgresql://user@host/db`) for claims as lease rows (table
    /// `witness_claims`, created when missing): the environment variable
    /// (`coordinator_env`) or file (`coordinator_file`) that holds it. Needed when the
    /// object store has no conditional create; `witness serve` checks that at start.
    #[serde(default)]
    pub coordinator_env: Option<String>,
    #[serde(default)]
    pub coordinator_file: Option<PathBuf>,
}

fn default_claim_ttl_secs() -> u64 {
    60
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            replica: None,
            claim_ttl_secs: default_claim_ttl_secs(),
            coordinator_env: None,
            coordinator_file: None,
        }
    }
}

impl FleetConfig {
    pub fn coordinator(&self) -> SecretRef {
        SecretRef::new(self.coordinator_env.as_deref(), self.coordinator_file.as_deref())
    }

    /// This replica's name: `replica`, else the host name.
    pub fn replica_name(&self) -> String {
        self.replica
            .clone()
            .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned())
    }

    pub(super) fn problems(&self) -> Vec<(String, String)> {
        let mut problems: Vec<(String, String)> =
            ConfigProblem::out_of_range([("claim_ttl_secs", self.claim_ttl_secs, CLAIM_TTL_SECS)])
                .into_iter()
                .chain(self.coordinator().validate("coordinator"))
                .map(|p| (p.key, p.message))
                .collect();
        if let Some(name) = &self.replica
            && !crate::bundle::is_safe_name(name)
        {
            problems.push((
                "replica".into(),
                "must be 1-64 characters of a-z, A-Z, 0-9, '.', '_' or '-'".into(),
            ));
        }
        problems
    }

    pub(super) fn environment_problems(&self) -> Vec<(String, String)> {
        self.coordinator()
            .check("coordinator")
            .into_iter()
            .map(|p| (format!("fleet.{}", p.key), p.message))
            .collect()
    }
}
