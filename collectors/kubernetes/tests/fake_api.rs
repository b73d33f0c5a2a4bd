//! A fake Kubernetes API server for the tests: no real API server can run on these
//! machines, so this one speaks the real HTTP API on 127.0.0.1 (port 0) instead. It serves
//! objects in the real shapes at the real paths (`/apis/apps/v1/namespaces/prod/replicasets`,
//! List kinds with `metadata.resourceVersion`), honours `labelSelector`, `limit` and
//! `continue`, answers 401/403/404 with real `Status` bodies, checks the bearer token, can
//! hang, and records every request so tests can assert what the client sent.
//!
//! Pod logs (`/api/v1/namespaces/{ns}/pods/{pod}/log`) are served as the kubelet serves
//! them: `container` is required, `sinceTime` (whole seconds) and `tailLines` select lines,
//! `timestamps=true` puts the RFC3339Nano time (Go's, trailing zeros trimmed) before each
//! line, `limitBytes` cuts the body wherever it falls, mid-line included, and the body is
//! streamed in small chunks (chunked transfer encoding). `previous=true` serves the
//! previous instance, or answers 400 "previous terminated container \"x\" in pod \"y\"
//! not found" when there is none; a container with no current instance serves its previous
//! one (the kubelet does so for a container waiting in CrashLoopBackOff), or answers 400
//! "is waiting to start" when it never ran.
//!
//! The collector under test reaches it through a real `kube::Client` built from a
//! kubeconfig file, so kube's request path, auth header and error handling are exercised,
//! not a tower mock.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The token the fake accepts; the kubeconfig's `witness` user carries it.
pub const TOKEN: &str = "fake-sa-token-7f3a9c";

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub authorization: Option<String>,
}

#[derive(Default)]
struct Inner {
    /// Objects by resource plural (`replicasets`), any namespace.
    objects: BTreeMap<String, Vec<Value>>,
    /// Resources whose every call is denied with 403.
    forbidden: BTreeSet<String>,
    /// Every call waits forever.
    hang: bool,
    /// Calls on these resources wait forever.
    hang_on: BTreeSet<String>,
    /// Container logs by (pod, container).
    logs: BTreeMap<(String, String), ContainerLog>,
    requests: Vec<Recorded>,
}

/// One line a container wrote, and when.
pub type LogLine = (DateTime<Utc>, String);

/// The log of one container: its current instance's lines and its previous instance's.
/// A container with neither and no entry serves an empty log.
#[derive(Debug, Clone, Default)]
pub struct ContainerLog {
    pub current: Option<Vec<LogLine>>,
    pub previous: Option<Vec<LogLine>>,
}

/// Bytes per chunk of a streamed log body.
const LOG_CHUNK: usize = 61;

/// A running fake API server.
#[derive(Clone)]
pub struct FakeApi {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeApi {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let app = axum::Router::new().fallback(handle).with_state(inner.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake API server");
        });
        Self { addr, inner }
    }

    /// Adds objects of `resource` (`deployments`, `replicasets`, `pods`, `events`,
    /// `horizontalpodautoscalers`).
    pub fn add(&self, resource: &str, objects: impl IntoIterator<Item = Value>) -> &Self {
        self.inner.lock().unwrap().objects.entry(resource.to_owned()).or_default().extend(objects);
        self
    }

    /// Denies every call on `resource` with 403, as RBAC would.
    pub fn forbid(&self, resource: &str) -> &Self {
        self.inner.lock().unwrap().forbidden.insert(resource.to_owned());
        self
    }

    /// Makes every call hang without an answer.
    pub fn hang(&self) -> &Self {
        self.inner.lock().unwrap().hang = true;
        self
    }

    /// Makes every call on `resource` hang without an answer.
    pub fn hang_on(&self, resource: &str) -> &Self {
        self.inner.lock().unwrap().hang_on.insert(resource.to_owned());
        self
    }

    /// Sets the log of `container` in `pod`.
    pub fn log(&self, pod: &str, container: &str, log: ContainerLog) -> &Self {
        self.inner.lock().unwrap().logs.insert((pod.to_owned(), container.to_owned()), log);
        self
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// A kubeconfig whose context `fake` reaches this server with [`TOKEN`]; its
    /// `current-context` is another one with a wrong token, so only a client that honours
    /// the configured context gets in.
    pub fn kubeconfig(&self, dir: &std::path::Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            r#"apiVersion: v1
kind: Config
clusters:
- name: fake
  cluster:
    server: http://{addr}
contexts:
- name: fake
  context: {{cluster: fake, user: witness, namespace: prod}}
- name: wrong
  context: {{cluster: fake, user: intruder, namespace: staging}}
current-context: wrong
users:
- name: witness
  user: {{token: {TOKEN}}}
- name: intruder
  user: {{token: not-the-token}}
"#,
            addr = self.addr
        );
        std::fs::write(&path, text).expect("write kubeconfig");
        path
    }
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let query: BTreeMap<String, String> = uri
        .query()
        .map(|q| url_pairs(q).into_iter().filter(|(k, _)| !k.is_empty()).collect())
        .unwrap_or_default();
    let authorization =
        headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let hang = {
        let mut inner = inner.lock().unwrap();
        inner.requests.push(Recorded {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: query.clone(),
            authorization: authorization.clone(),
        });
        inner.hang || Route::parse(uri.path()).is_some_and(|r| inner.hang_on.contains(&r.resource))
    };
    if hang {
        std::future::pending::<()>().await;
    }
    if authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized", None);
    }
    let Some(route) = Route::parse(uri.path()) else {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
            None,
        );
    };
    let inner = inner.lock().unwrap();
    if inner.forbidden.contains(&route.resource) {
        let verb = if route.name.is_some() { "get" } else { "list" };
        // A subresource is denied on its object: `pods "web-1" is forbidden: ...`.
        let object = match route.resource.split_once('/') {
            Some((parent, _)) => format!("{parent} {:?}", route.name.clone().unwrap_or_default()),
            None => route.resource.clone(),
        };
        let message = format!(
            "{object} is forbidden: User \"system:serviceaccount:witness:witness\" cannot {verb} resource \"{resource}\" in API group \"{group}\" in the namespace \"{ns}\"",
            resource = route.resource,
            group = route.group,
            ns = route.namespace
        );
        return status(StatusCode::FORBIDDEN, "Forbidden", &message, Some(&route.resource));
    }
    if route.resource == "pods/log" {
        return pod_log(&inner, &route, &query);
    }
    let in_namespace: Vec<&Value> = inner
        .objects
        .get(&route.resource)
        .into_iter()
        .flatten()
        .filter(|o| o["metadata"]["namespace"] == route.namespace.as_str())
        .collect();
    if let Some(name) = &route.name {
        return match in_namespace.iter().find(|o| o["metadata"]["name"] == name.as_str()) {
            Some(object) => json_response(StatusCode::OK, (*object).clone()),
            None => status(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("{} \"{name}\" not found", route.resource),
                Some(&route.resource),
            ),
        };
    }
    let selector = query.get("labelSelector").map(String::as_str).unwrap_or_default();
    let matching: Vec<Value> = in_namespace
        .into_iter()
        .filter(|o| selector_matches(selector, &o["metadata"]["labels"]))
        .cloned()
        .collect();
    let start: usize = query
        .get("continue")
        .and_then(|c| c.strip_prefix("offset-"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let limit: usize = query.get("limit").and_then(|l| l.parse().ok()).unwrap_or(usize::MAX);
    let end = start.saturating_add(limit).min(matching.len());
    let page = matching.get(start..end).unwrap_or_default().to_vec();
    let mut metadata = json!({"resourceVersion": "48213"});
    if end < matching.len() {
        metadata["continue"] = json!(format!("offset-{end}"));
        metadata["remainingItemCount"] = json!(matching.len() - end);
    }
    json_response(
        StatusCode::OK,
        json!({"apiVersion": route.api_version, "kind": route.list_kind, "metadata": metadata, "items": page}),
    )
}

struct Route {
    group: &'static str,
    api_version: &'static str,
    list_kind: &'static str,
    namespace: String,
    resource: String,
    name: Option<String>,
}

impl Route {
    fn parse(path: &str) -> Option<Self> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let (prefix, rest) = match parts.as_slice() {
            ["api", "v1", rest @ ..] => ("v1", rest),
            ["apis", group, version, rest @ ..] => (
                match (*group, *version) {
                    ("apps", "v1") => "apps/v1",
                    ("autoscaling", "v2") => "autoscaling/v2",
                    _ => return None,
                },
                rest,
            ),
            _ => return None,
        };
        let (namespace, resource, name) = match rest {
            ["namespaces", ns, resource] => (*ns, (*resource).to_owned(), None),
            ["namespaces", ns, resource, name] => {
                (*ns, (*resource).to_owned(), Some((*name).to_owned()))
            }
            ["namespaces", ns, "pods", name, "log"] => {
                (*ns, "pods/log".to_owned(), Some((*name).to_owned()))
            }
            _ => return None,
        };
        let (group, api_version, list_kind) = match (prefix, resource.as_str()) {
            ("apps/v1", "deployments") => ("apps", "apps/v1", "DeploymentList"),
            ("apps/v1", "replicasets") => ("apps", "apps/v1", "ReplicaSetList"),
            ("v1", "pods") => ("", "v1", "PodList"),
            ("v1", "pods/log") => ("", "v1", "Status"),
            ("v1", "events") => ("", "v1", "EventList"),
            ("autoscaling/v2", "horizontalpodautoscalers") => {
                ("autoscaling", "autoscaling/v2", "HorizontalPodAutoscalerList")
            }
            _ => return None,
        };
        Some(Self {
            group,
            api_version,
            list_kind,
            namespace: namespace.to_owned(),
            resource,
            name,
        })
    }
}

/// `GET .../pods/{pod}/log`, as the kubelet answers it (see the module doc).
fn pod_log(inner: &Inner, route: &Route, query: &BTreeMap<String, String>) -> Response {
    let pod = route.name.clone().unwrap_or_default();
    let object = inner.objects.get("pods").into_iter().flatten().find(|o| {
        o["metadata"]["namespace"] == route.namespace.as_str()
            && o["metadata"]["name"] == pod.as_str()
    });
    let Some(object) = object else {
        let message = format!("pods \"{pod}\" not found");
        return status(StatusCode::NOT_FOUND, "NotFound", &message, Some("pods"));
    };
    let containers: Vec<&str> = ["initContainers", "containers"]
        .iter()
        .flat_map(|k| object["spec"][k].as_array().into_iter().flatten())
        .filter_map(|c| c["name"].as_str())
        .collect();
    let Some(container) = query.get("container") else {
        let message = format!(
            "a container name must be specified for pod {pod}, choose one of: [{}]",
            containers.join(" ")
        );
        return status(StatusCode::BAD_REQUEST, "BadRequest", &message, None);
    };
    if !containers.contains(&container.as_str()) {
        let message = format!("container {container} is not valid for pod {pod}");
        return status(StatusCode::BAD_REQUEST, "BadRequest", &message, None);
    }
    let log = inner
        .logs
        .get(&(pod.clone(), container.clone()))
        .cloned()
        .unwrap_or(ContainerLog { current: Some(Vec::new()), previous: None });
    let previous = query.get("previous").is_some_and(|v| v == "true");
    let lines = if previous {
        match log.previous {
            Some(lines) => lines,
            None => {
                let message = format!(
                    "previous terminated container \"{container}\" in pod \"{pod}\" not found"
                );
                return status(StatusCode::BAD_REQUEST, "BadRequest", &message, None);
            }
        }
    } else {
        match log.current.or(log.previous) {
            Some(lines) => lines,
            None => {
                let message = format!(
                    "container \"{container}\" in pod \"{pod}\" is waiting to start: ContainerCreating"
                );
                return status(StatusCode::BAD_REQUEST, "BadRequest", &message, None);
            }
        }
    };
    let since: Option<DateTime<Utc>> = query.get("sinceTime").and_then(|t| t.parse().ok());
    let mut lines: Vec<LogLine> =
        lines.into_iter().filter(|(t, _)| since.is_none_or(|s| *t >= s)).collect();
    if let Some(tail) = query.get("tailLines").and_then(|n| n.parse::<usize>().ok()) {
        lines.drain(..lines.len().saturating_sub(tail));
    }
    let timestamps = query.get("timestamps").is_some_and(|v| v == "true");
    let mut body: Vec<u8> = lines
        .iter()
        .flat_map(|(t, line)| {
            let stamp = if timestamps { format!("{} ", rfc3339_nano(*t)) } else { String::new() };
            format!("{stamp}{line}\n").into_bytes()
        })
        .collect();
    if let Some(limit) = query.get("limitBytes").and_then(|n| n.parse::<usize>().ok()) {
        body.truncate(limit);
    }
    let chunks: Vec<Result<Vec<u8>, std::convert::Infallible>> =
        body.chunks(LOG_CHUNK).map(|c| Ok(c.to_vec())).collect();
    (
        StatusCode::OK,
        [("content-type", "text/plain")],
        Body::from_stream(futures::stream::iter(chunks)),
    )
        .into_response()
}

/// Go's `time.RFC3339Nano`, as the kubelet writes it: the fraction's trailing zeros
/// trimmed, no fraction at all on a whole second.
pub fn rfc3339_nano(t: DateTime<Utc>) -> String {
    let whole = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = format!("{:09}", t.timestamp_subsec_nanos());
    let fraction = nanos.trim_end_matches('0');
    if fraction.is_empty() { format!("{whole}Z") } else { format!("{whole}.{fraction}Z") }
}

/// Equality, inequality, set-based and existence terms, as the API server supports them.
fn selector_matches(selector: &str, labels: &Value) -> bool {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    split_terms(selector).iter().all(|term| {
        let term = term.trim();
        if let Some((k, set)) = term.split_once(" notin ") {
            !set_of(set).contains(&label(k.trim()).unwrap_or("\u{0}"))
        } else if let Some((k, set)) = term.split_once(" in ") {
            label(k.trim()).is_some_and(|v| set_of(set).contains(&v))
        } else if let Some((k, v)) = term.split_once("!=") {
            label(k.trim()) != Some(v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            label(k.trim()) == Some(v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            label(k).is_none()
        } else {
            term.is_empty() || label(term).is_some()
        }
    })
}

fn split_terms(selector: &str) -> Vec<String> {
    let mut terms = vec![String::new()];
    let mut depth = 0;
    for c in selector.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(String::new());
                continue;
            }
            _ => {}
        }
        terms.last_mut().unwrap().push(c);
    }
    terms
}

fn set_of(set: &str) -> Vec<&str> {
    set.trim().trim_start_matches('(').trim_end_matches(')').split(',').map(str::trim).collect()
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn status(code: StatusCode, reason: &str, message: &str, kind: Option<&str>) -> Response {
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code.as_u16(),
    });
    if let Some(kind) = kind {
        body["details"] = json!({"kind": kind});
    }
    json_response(code, body)
}

fn json_response(code: StatusCode, body: Value) -> Response {
    (code, [("content-type", "application/json")], Body::from(body.to_string())).into_response()
}
