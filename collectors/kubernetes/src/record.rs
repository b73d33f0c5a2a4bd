//! What went wrong during one run, so that a failure is evidence: every failed read
//! becomes a note naming what is missing (and a 403 an entry in `data.forbidden` naming
//! the verb and resource); the first timeout or unreachable server stops further calls,
//! which are then listed as not read.

use serde::Serialize;
use witness_collector::CollectError;

use crate::api::KubernetesError;

/// A permission RBAC denied, as `data.forbidden` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Denied {
    pub verb: &'static str,
    pub resource: String,
    pub namespace: String,
}

/// Failures of one run, and the fatal one that stopped it.
#[derive(Debug, Default)]
pub struct Record {
    /// Notes that make the evidence partial.
    pub partial: Vec<String>,
    /// Notes that do not (caps applied, labels ignored).
    pub notes: Vec<String>,
    pub forbidden: Vec<Denied>,
    /// The first timeout, unreachable server or cancellation: no call is made after it.
    pub fatal: Option<KubernetesError>,
    /// What was not read because of `fatal`.
    pub not_read: Vec<String>,
    /// The first failure of any kind, for a run that read nothing.
    pub first_error: Option<KubernetesError>,
}

impl Record {
    /// Whether calls may still be made; when not, `what` is recorded as not read.
    pub fn may_call(&mut self, what: &str) -> bool {
        if self.fatal.is_some() {
            self.not_read.push(what.to_owned());
        }
        self.fatal.is_none()
    }

    /// The value of a call, or `None` with the failure recorded against `what`.
    pub fn check<T>(&mut self, result: Result<T, KubernetesError>, what: &str) -> Option<T> {
        result.map_err(|e| self.fail(e, what)).ok()
    }

    /// Records `error`, which left `what` missing.
    pub fn fail(&mut self, error: KubernetesError, what: &str) {
        tracing::warn!(error = %error, missing = what, "Kubernetes read failed.");
        if let KubernetesError::Forbidden { verb, resource, namespace, .. } = &error {
            let denied = Denied { verb, resource: resource.clone(), namespace: namespace.clone() };
            if !self.forbidden.contains(&denied) {
                self.forbidden.push(denied);
            }
        }
        let note = format!("{error}; missing: {what}");
        if !self.partial.contains(&note) {
            self.partial.push(note);
        }
        if error.is_fatal() && self.fatal.is_none() {
            self.fatal = Some(error.clone());
        }
        self.first_error.get_or_insert(error);
    }

    /// The partial notes with, last, what the fatal failure left unread.
    pub fn partial_notes(&self) -> Vec<String> {
        let mut notes = self.partial.clone();
        if let Some(fatal) = self.fatal.as_ref().filter(|_| !self.not_read.is_empty()) {
            notes.push(format!(
                "stopped reading after: {fatal}; not read: {}",
                self.not_read.join(", ")
            ));
        }
        notes
    }

    /// The error of a run that read nothing.
    pub fn into_error(self, server: &str) -> CollectError {
        match self.fatal.or(self.first_error) {
            Some(e) => collect_error(e, server),
            None => CollectError::other("no Deployment could be read"),
        }
    }
}

/// A [`KubernetesError`] as the run records a failed collector.
pub fn collect_error(error: KubernetesError, server: &str) -> CollectError {
    match error {
        KubernetesError::Timeout { verb, resource, after, server } => CollectError::Timeout {
            what: format!("the Kubernetes API server at {server} (`{verb} {resource}`)"),
            after,
        },
        KubernetesError::Unreachable { reason, .. } => CollectError::Unreachable {
            target: format!("the Kubernetes API server at {server}"),
            reason,
        },
        KubernetesError::Credentials(reason) => CollectError::Config(reason),
        other => CollectError::other(other),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_fatal_failure_stops_calls_and_lists_what_was_not_read() {
        let mut record = Record::default();
        assert!(record.may_call("pods of prod/web"));
        record.fail(
            KubernetesError::Timeout {
                server: "https://k8s:6443/".into(),
                verb: "list",
                resource: "pods".into(),
                after: Duration::from_secs(2),
            },
            "pods of prod/web",
        );
        assert!(!record.may_call("HorizontalPodAutoscalers in prod"));
        let notes = record.partial_notes();
        assert_eq!(
            notes.last().unwrap(),
            "stopped reading after: the API server at https://k8s:6443/ did not answer `list pods` \
             within 2s; not read: HorizontalPodAutoscalers in prod"
        );
    }

    #[test]
    fn each_denied_permission_is_listed_once() {
        let mut record = Record::default();
        let denied = || KubernetesError::Forbidden {
            verb: "list",
            resource: "events".into(),
            namespace: "prod".into(),
            message: "events is forbidden".into(),
        };
        record.fail(denied(), "events in namespace prod");
        record.fail(denied(), "events in namespace prod");
        assert_eq!(record.forbidden.len(), 1);
        assert_eq!(record.partial.len(), 1);
        assert!(record.fatal.is_none(), "a 403 does not stop the other reads");
    }
}
