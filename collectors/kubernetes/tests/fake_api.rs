//! A fake Kubernetes API server for the tests: no real API server can run on these
//! machines, so this one speaks the real HTTP API on 127.0.0.1 (port 0) instead. It serves
//! objects in the real shapes at the real paths (`/apis/apps/v1/namespaces/prod/replicasets`,
//! List kinds with `metadata.resourceVersion`), honours `labelSelector`, `limit` and
//! `continue`, answers 401/403/404 with real `Status` bodies, checks the bearer token, can
//! hang, and records every request so tests can assert what the client sent.
//!
//! The collector under test reaches it through a real `kube::Client` built from a
//! kubeconfig file, so kube's request path, auth header and error handling are exercised,
//! not a tower mock.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

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
    requests: Vec<Recorded>,
}

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
        let message = format!(
            "{resource} is forbidden: User \"system:serviceaccount:witness:witness\" cannot {verb} resource \"{resource}\" in API group \"{group}\" in the namespace \"{ns}\"",
            resource = route.resource,
            group = route.group,
            ns = route.namespace
        );
        return status(StatusCode::FORBIDDEN, "Forbidden", &message, Some(&route.resource));
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
            ["namespaces", ns, resource] => (*ns, *resource, None),
            ["namespaces", ns, resource, name] => (*ns, *resource, Some((*name).to_owned())),
            _ => return None,
        };
        let (group, api_version, list_kind) = match (prefix, resource) {
            ("apps/v1", "deployments") => ("apps", "apps/v1", "DeploymentList"),
            ("apps/v1", "replicasets") => ("apps", "apps/v1", "ReplicaSetList"),
            ("v1", "pods") => ("", "v1", "PodList"),
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
            resource: resource.to_owned(),
            name,
        })
    }
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
