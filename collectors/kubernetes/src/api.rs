//! Every call this collector makes to the API server goes through [`Cluster`]: it builds
//! the client (service account or kubeconfig), gives each call its own deadline (never
//! past the instance's), stops on the run's cancellation, follows `continue` pagination
//! with a cap, and turns kube's errors into [`KubernetesError`]s that name the resource
//! and verb, so a 403 reads as the permission that is missing. Every object and every
//! message from the server is redacted here, as it arrives ([`crate::redaction`]).

use std::fmt::Debug;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use witness_collector::Redactor;

use crate::config::{Credentials, KubernetesConfig};

/// Why a call to the API server gave nothing.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KubernetesError {
    /// RBAC denied the call (HTTP 403): the Role lacks `verb` on `resource`.
    #[error("forbidden: cannot {verb} {resource} in namespace {namespace}: {message}")]
    Forbidden { verb: &'static str, resource: String, namespace: String, message: String },
    /// The object does not exist (HTTP 404).
    #[error("{resource} {name:?} not found in namespace {namespace}")]
    NotFound { resource: String, name: String, namespace: String },
    /// The API server did not answer within the call's deadline.
    #[error("the API server at {server} did not answer `{verb} {resource}` within {after:?}")]
    Timeout { server: String, verb: &'static str, resource: String, after: Duration },
    /// The API server could not be reached or refused the credentials.
    #[error("cannot reach the API server at {server}: {reason}")]
    Unreachable { server: String, reason: String },
    /// The API server answered with another error.
    #[error("`{verb} {resource}` failed: {reason}")]
    Api { verb: &'static str, resource: String, reason: String },
    /// No client could be configured (no kubeconfig, no service account, unknown context).
    #[error("no usable Kubernetes credentials: {0}")]
    Credentials(String),
    /// The run was cancelled.
    #[error("cancelled before `{verb} {resource}` finished")]
    Cancelled { verb: &'static str, resource: String },
}

impl KubernetesError {
    /// Whether later calls are pointless too (the server is gone or time is up).
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Unreachable { .. } | Self::Cancelled { .. })
    }
}

/// A namespaced object kind read through [`Cluster::get`] and [`Cluster::list`]: what
/// kube needs of it to address, decode and report it. Implemented for every such kind.
pub trait Namespaced:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Clone
    + Serialize
    + DeserializeOwned
    + Debug
{
}

impl<K> Namespaced for K where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + Serialize
        + DeserializeOwned
        + Debug
{
}

/// A list call's items and whether the cap cut it short.
#[derive(Debug)]
pub struct Listed<K> {
    pub items: Vec<K>,
    pub truncated: bool,
}

/// A connected client with the instance's limits.
#[derive(Clone)]
pub struct Cluster {
    client: Client,
    /// The API server URL, for messages.
    pub server: String,
    /// The namespace of the kubeconfig context or the service account.
    pub default_namespace: String,
    request_timeout: Duration,
    page_size: u32,
    max_items: usize,
    deadline: Instant,
    cancel: CancellationToken,
    /// What every object and message from the server goes through as it arrives.
    redactor: Redactor,
}

impl Cluster {
    /// Builds the client the config asks for. Reads files only; makes no call.
    ///
    /// # Errors
    /// [`KubernetesError::Credentials`] when neither the kubeconfig nor the service account
    /// can be used, naming the file or context.
    pub async fn connect(
        config: &KubernetesConfig,
        deadline: Instant,
        cancel: CancellationToken,
        redactor: Redactor,
    ) -> Result<Self, KubernetesError> {
        let in_cluster = match config.credentials {
            Credentials::InCluster => true,
            Credentials::Kubeconfig => false,
            // A configured kubeconfig path or context says which cluster to read.
            Credentials::Auto => {
                config.kubeconfig_path.is_none()
                    && config.context.is_none()
                    && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
            }
        };
        let mut client_config = if in_cluster {
            kube::Config::incluster().map_err(|e| {
                KubernetesError::Credentials(format!("in-cluster service account: {e}"))
            })?
        } else {
            let kubeconfig = match &config.kubeconfig_path {
                Some(path) => read_kubeconfig(path)?,
                None => Kubeconfig::read().map_err(|e| {
                    KubernetesError::Credentials(format!(
                        "kubeconfig ($KUBECONFIG or ~/.kube/config): {e}"
                    ))
                })?,
            };
            let options = KubeConfigOptions {
                context: config.context.clone(),
                ..KubeConfigOptions::default()
            };
            kube::Config::from_custom_kubeconfig(kubeconfig, &options)
                .await
                .map_err(|e| KubernetesError::Credentials(format!("kubeconfig: {e}")))?
        };
        let request_timeout = config.request_timeout();
        client_config.connect_timeout = Some(request_timeout);
        client_config.read_timeout = Some(request_timeout);
        client_config.write_timeout = Some(request_timeout);
        // A pooled connection's idle time must not count against the next call's answer.
        client_config.reset_reader_on_write = true;
        let server = client_config.cluster_url.to_string();
        let default_namespace = client_config.default_namespace.clone();
        let client = Client::try_from(client_config)
            .map_err(|e| KubernetesError::Credentials(format!("client for {server}: {e}")))?;
        Ok(Self {
            client,
            server,
            default_namespace,
            request_timeout,
            page_size: config.list_page_size,
            max_items: config.max_list_items,
            deadline,
            cancel,
            redactor,
        })
    }

    /// `GET` one namespaced object.
    ///
    /// # Errors
    /// A [`KubernetesError`] naming the resource and verb `get`.
    pub async fn get<K>(&self, namespace: &str, name: &str) -> Result<K, KubernetesError>
    where
        K: Namespaced,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        let call = Call::new::<K>("get", namespace, Some(name));
        let object = self.run(&call, api.get(name)).await?;
        self.redacted(&call, &object)
    }

    /// `object` redacted ([`crate::redaction`]); an object that no longer reads as its
    /// type after redaction is an error of the call, never used unredacted.
    fn redacted<K: Namespaced>(&self, call: &Call, object: &K) -> Result<K, KubernetesError> {
        crate::redaction::redact_object(object, &self.redactor).map_err(|e| KubernetesError::Api {
            verb: call.verb,
            resource: call.resource.clone(),
            reason: format!("an object could not be redacted, so it is left out: {e}"),
        })
    }

    /// Lists namespaced objects matching `selector`, following `continue` tokens until the
    /// list ends or `max_list_items` is reached.
    ///
    /// # Errors
    /// A [`KubernetesError`] naming the resource and verb `list`; a failure on a later page
    /// fails the whole list, since a partial list would hide objects silently.
    pub async fn list<K>(
        &self,
        namespace: &str,
        selector: Option<&str>,
    ) -> Result<Listed<K>, KubernetesError>
    where
        K: Namespaced,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), namespace);
        let call = Call::new::<K>("list", namespace, None);
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut params = ListParams::default().limit(self.page_size);
            if let Some(selector) = selector.filter(|s| !s.is_empty()) {
                params = params.labels(selector);
            }
            if let Some(token) = &token {
                params = params.continue_token(token);
            }
            let page = self.run(&call, api.list(&params)).await?;
            for item in &page.items {
                items.push(self.redacted(&call, item)?);
            }
            token = page.metadata.continue_.filter(|t| !t.is_empty());
            if items.len() >= self.max_items {
                let truncated = token.is_some() || items.len() > self.max_items;
                items.truncate(self.max_items);
                return Ok(Listed { items, truncated });
            }
            if token.is_none() {
                return Ok(Listed { items, truncated: false });
            }
        }
    }

    /// The typed API of `K` in `namespace`, for calls that [`Cluster::get`] and
    /// [`Cluster::list`] do not make (a subresource); run them through [`Cluster::run`].
    pub(crate) fn api<K: Namespaced>(&self, namespace: &str) -> Api<K> {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// What every message from the server goes through as it arrives.
    pub(crate) fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Runs one call under its own deadline, the instance's deadline and cancellation.
    pub(crate) async fn run<T>(
        &self,
        call: &Call,
        request: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, KubernetesError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        // Whole milliseconds, so messages read "1.998s" rather than nanoseconds.
        let budget = Duration::from_millis(
            u64::try_from(self.request_timeout.min(left).as_millis()).unwrap_or(u64::MAX),
        );
        let timeout = || KubernetesError::Timeout {
            server: self.server.clone(),
            verb: call.verb,
            resource: call.resource.clone(),
            after: budget,
        };
        if budget.is_zero() {
            return Err(timeout());
        }
        tokio::select! {
            () = self.cancel.cancelled() => {
                Err(KubernetesError::Cancelled { verb: call.verb, resource: call.resource.clone() })
            }
            answer = tokio::time::timeout(budget, request) => match answer {
                Err(_) => Err(timeout()),
                Ok(Ok(value)) => Ok(value),
                Ok(Err(e)) => Err(call.classify(e, &self.server, &self.redactor)),
            }
        }
    }
}

fn read_kubeconfig(path: &Path) -> Result<Kubeconfig, KubernetesError> {
    Kubeconfig::read_from(path)
        .map_err(|e| KubernetesError::Credentials(format!("kubeconfig {}: {e}", path.display())))
}

/// What a call is about, for its error messages.
pub(crate) struct Call {
    verb: &'static str,
    /// `replicasets.apps`, `pods`, `horizontalpodautoscalers.autoscaling`: as RBAC names it.
    resource: String,
    namespace: String,
    name: Option<String>,
}

impl Call {
    fn new<K: Resource<DynamicType = ()>>(
        verb: &'static str,
        namespace: &str,
        name: Option<&str>,
    ) -> Self {
        let group = K::group(&());
        let plural = K::plural(&());
        let resource =
            if group.is_empty() { plural.into_owned() } else { format!("{plural}.{group}") };
        Self { verb, resource, namespace: namespace.to_owned(), name: name.map(str::to_owned) }
    }

    /// `get pods/log` of one pod, as RBAC names it.
    pub(crate) fn pod_log(namespace: &str, pod: &str) -> Self {
        Self {
            verb: "get",
            resource: "pods/log".to_owned(),
            namespace: namespace.to_owned(),
            name: Some(pod.to_owned()),
        }
    }

    /// The error of this call; the server's own words are redacted (a message can quote
    /// the object).
    fn classify(&self, error: kube::Error, server: &str, redactor: &Redactor) -> KubernetesError {
        let error = match error {
            kube::Error::Api(mut status) => {
                status.message = redactor.redact(&status.message).into_string();
                kube::Error::Api(status)
            }
            other => other,
        };
        match error {
            kube::Error::Api(status) if status.code == 403 => KubernetesError::Forbidden {
                verb: self.verb,
                resource: self.resource.clone(),
                namespace: self.namespace.clone(),
                message: status.message,
            },
            kube::Error::Api(status) if status.code == 404 => KubernetesError::NotFound {
                resource: self.resource.clone(),
                name: self.name.clone().unwrap_or_default(),
                namespace: self.namespace.clone(),
            },
            kube::Error::Api(status) if status.code == 401 => KubernetesError::Unreachable {
                server: server.to_owned(),
                reason: format!("credentials refused (401): {}", status.message),
            },
            kube::Error::Api(status) => KubernetesError::Api {
                verb: self.verb,
                resource: self.resource.clone(),
                reason: format!("HTTP {} {}: {}", status.code, status.reason, status.message),
            },
            kube::Error::HyperError(e) => {
                KubernetesError::Unreachable { server: server.to_owned(), reason: chain(&e) }
            }
            kube::Error::Service(e) => {
                KubernetesError::Unreachable { server: server.to_owned(), reason: chain(&*e) }
            }
            other => KubernetesError::Api {
                verb: self.verb,
                resource: self.resource.clone(),
                reason: chain(&other),
            },
        }
    }
}

/// An error with its sources, `a: b: c`, so "connection refused" is not lost.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}
