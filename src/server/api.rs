//! The bundle API: list, manifest, `.tar.gz` archive, one file (read-only), and the
//! follow-up of a sealed bundle asked for on `/api/collect` ([`collect_follow_up`]).
//! Authenticated like the hooks. Nothing outside the store can be read: ids are safe names, paths are
//! `/`-separated safe names with no encoded separators or dots in the raw URI, and no
//! component on the way may be a symbolic link; staging (`.tmp-*`) and dot files are
//! never reachable.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::{ApiError, RETRY_AFTER_SECS};
use super::journal::Record;
use super::state::Shared;
use crate::bundle::{self, MANIFEST, is_safe_name, is_safe_path};
use crate::redact::Redactor;
use crate::run::follow_up::Incident;
use crate::trigger::TriggerSource;

/// The longest `since` a follow-up request may give: its resolution at most a day ago.
const MAX_FOLLOW_UP_SINCE: std::time::Duration = std::time::Duration::from_secs(86_400);

fn authorize(shared: &Shared, headers: &HeaderMap) -> Result<PathBuf, ApiError> {
    let live = shared.live();
    live.auth
        .check(headers)
        .map_err(|e| ApiError::unauthorized(e.to_string(), live.auth.challenge()))?;
    Ok(live.config.store.dir.clone())
}

/// A path the router could not decode (not UTF-8 once percent-decoded): `400` as JSON,
/// like every other error.
fn bad_path(rejection: PathRejection) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, rejection.body_text())
}

/// The directory of sealed bundle `id`: a safe name naming a real directory (not a link)
/// directly in the store.
fn bundle_dir(store: &Path, id: &str) -> Result<PathBuf, ApiError> {
    if !is_safe_name(id) {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, format!("{id:?} is not a bundle id")));
    }
    let dir = store.join(id);
    match fs::symlink_metadata(&dir) {
        Ok(meta)
            if meta.is_dir()
                && dir.join(MANIFEST).symlink_metadata().is_ok_and(|m| m.is_file()) =>
        {
            Ok(dir)
        }
        _ => Err(ApiError::not_found("bundle")),
    }
}

/// Bundle `id` sealed here, else, in a fleet, fetched from the object store (hashes
/// verified) into `<store>/.fleet-cache/`.
async fn resolve(shared: &Shared, store: &Path, id: &str) -> Result<PathBuf, ApiError> {
    let local = bundle_dir(store, id);
    match &shared.fleet {
        Some(fleet) if local.is_err() && is_safe_name(id) => {
            fleet.fetch(store, id).await.map_err(|e| {
                tracing::debug!(bundle = %id, error = format!("{e:#}"), "Not in the object store.");
                ApiError::not_found("bundle")
            })
        }
        _ => local,
    }
}

/// `GET /api/bundles`: newest first, with the top recommendation.
pub async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let store = authorize(&shared, &headers)?;
    if let Some(fleet) = &shared.fleet {
        // The fleet's bundles, from the object store's index, newest first.
        let entries =
            fleet.store.list(1000).await.map_err(|e| ApiError::internal(format!("{e:#}")))?;
        return Ok(axum::Json(json!({ "bundles": entries })).into_response());
    }
    let listed = tokio::task::spawn_blocking(move || bundle::store::list(&store))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::internal(format!("{e:#}")))?;
    let bundles: Vec<_> = listed
        .iter()
        .map(|b| {
            json!({
                "id": b.id,
                "created_at": b.manifest.created_at,
                "trigger": b.manifest.trigger,
                "bytes": b.bytes,
                "collectors": b.collectors,
                "top": b.top,
                "severity": b.severity,
                "follows": b.manifest.follows,
                "follow_up": crate::run::follow_up::listing(&b.dir),
            })
        })
        .collect();
    Ok(axum::Json(json!({ "bundles": bundles })).into_response())
}

/// `GET /api/bundles/{id}`: the manifest.
pub async fn manifest(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    id: Result<UrlPath<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let store = authorize(&shared, &headers)?;
    let UrlPath(id) = id.map_err(bad_path)?;
    let dir = resolve(&shared, &store, &id).await?;
    let bytes = read_no_follow(&dir.join(MANIFEST)).map_err(|_| ApiError::not_found("bundle"))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], bytes).into_response())
}

/// `GET /api/bundles/{id}/archive`: the bundle as `.tar.gz`.
pub async fn archive(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    id: Result<UrlPath<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let store = authorize(&shared, &headers)?;
    let UrlPath(id) = id.map_err(bad_path)?;
    let dir = resolve(&shared, &store, &id).await?;
    // Written next to the bundles under a dot name (never listed, never served), read
    // back, removed: the root filesystem may be read-only.
    let tmp = store.join(format!(".archive-{id}-{:08x}.tar.gz", rand::random::<u32>()));
    let bytes = tokio::task::spawn_blocking(move || {
        let result = bundle::archive::export(&dir, &tmp)
            .map_err(|e| e.to_string())
            .and_then(|()| fs::read(&tmp).map_err(|e| e.to_string()));
        let _ = fs::remove_file(&tmp);
        result
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/gzip".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{id}.tar.gz\"")),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /api/bundles/{id}/files/{path}`: one file of the bundle.
pub async fn file(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
    id_path: Result<UrlPath<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let store = authorize(&shared, &headers)?;
    let UrlPath((id, path)) = id_path.map_err(bad_path)?;
    // The router decodes `%2F` into `/` and `%2E` into `.`: refuse encoded separators
    // and dots outright rather than reason about what they decode to.
    let raw = uri.path().to_ascii_lowercase();
    if ["%2f", "%5c", "%2e", "%00"].iter().any(|bad| raw.contains(bad)) || path.contains('\\') {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "encoded separators and dots are not allowed in paths",
        ));
    }
    if !is_safe_path(&path) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("{path:?} is not a path inside a bundle"),
        ));
    }
    let dir = resolve(&shared, &store, &id).await?;
    // No component may be a link, and the file must be a regular file.
    let mut at = dir.clone();
    for part in path.split('/') {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(ApiError::not_found("file")),
            Ok(_) => {}
            Err(_) => return Err(ApiError::not_found("file")),
        }
    }
    let bytes = read_no_follow(&at).map_err(|_| ApiError::not_found("file"))?;
    let content_type = match Path::new(&path).extension().and_then(|e| e.to_str()) {
        Some("json") => "application/json",
        Some("md") => "text/markdown; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("log" | "txt" | "csv") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // A bundle's report must not run script against the API's origin.
            (
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /api/collect` with `{"follow_up": "<bundle id>", "since"?: "10m", "labels"?: {..}}`:
/// the follow-up of the sealed incident bundle `follow_up` of the store, as `witness
/// collect now --follow-up` runs it. The incident resolved now, or `since` ago; the
/// follow-up waits for `[follow_up] window_secs` after that, collects over that window
/// and checks what changed against the incident, which is verified now (a bundle that
/// does not verify, or is itself a follow-up, is refused with `422`) and again before the
/// run. In a fleet the incident may be a bundle another replica sealed: it is read from
/// the object store. Journaled like a resolution's follow-up, so a restart picks it up; a
/// follow-up of the incident still waiting for its window is joined instead of started
/// twice.
///
/// # Errors
/// `400` for a body of the wrong shape, `404` for no such bundle, `422` for a bundle that
/// cannot be followed up, `503` when the journal cannot be written.
pub async fn collect_follow_up(
    shared: &Arc<Shared>,
    body: &serde_json::Value,
    redactor: &Redactor,
) -> Result<Response, ApiError> {
    let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, message);
    let Some(id) = body.get("follow_up").and_then(|v| v.as_str()) else {
        return Err(bad("follow_up must be the id of a bundle in the store (a string)".into()));
    };
    if body.get("title").is_some() {
        return Err(bad(
            "title does not go with follow_up: a follow-up is named after its incident's alert"
                .into(),
        ));
    }
    let since = match body.get("since") {
        None => std::time::Duration::ZERO,
        Some(v) => {
            let text =
                v.as_str().ok_or_else(|| bad("since must be a duration like \"10m\"".into()))?;
            let since = humantime::parse_duration(text)
                .map_err(|_| bad(format!("since {text:?} is not a duration like 10m or 2h")))?;
            if since > MAX_FOLLOW_UP_SINCE {
                return Err(bad(format!("since {text:?} is more than a day ago")));
            }
            since
        }
    };
    let labels = super::hooks::string_map(body.get("labels"), "labels", redactor)?;
    let live = shared.live();
    // In a fleet, an incident sealed by another replica is read from the object store.
    let dir = resolve(shared, &live.config.store.dir, id).await?;
    let key = live.prepared.signing_key.as_ref().map(|k| k.verifying_key());
    let incident = tokio::task::spawn_blocking(move || Incident::load(&dir, key.as_ref()))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("{e:#}")))?;
    let received_at = chrono::Utc::now();
    let resolved_at =
        received_at - chrono::Duration::from_std(since).map_err(|e| bad(e.to_string()))?;
    if resolved_at < incident.view.anchor {
        return Err(bad(format!(
            "since puts the resolution at {}, before the incident's alert at {}",
            witness_collector::time::format(resolved_at),
            witness_collector::time::format(incident.view.anchor)
        )));
    }
    let mut trigger = incident.follow_up_trigger(TriggerSource::Manual, resolved_at);
    trigger.labels.extend(labels);
    let follow_up = shared.intake().request_follow_up(
        id,
        &trigger,
        std::time::Instant::now(),
        received_at,
        &mut || bundle::new_id(received_at),
    );
    // Nothing is acknowledged before it is on disk; the journal replays it as a
    // resolution's follow-up after a restart.
    let record = Record::Accepted {
        at: received_at,
        action: super::intake::Action::Resolved,
        bundle: Some(id.to_owned()),
        webhook_id: None,
        trigger: Box::new(trigger.clone()),
        follow_up: Some(follow_up.bundle.clone()),
    };
    if let Err(e) = shared.journal.append(&[record]).await {
        if follow_up.started {
            shared.intake().forget(std::slice::from_ref(&follow_up.bundle));
        }
        tracing::error!(error = %e, "Cannot journal a follow-up request; answering 503.");
        return Err(ApiError::unavailable(
            format!("cannot write the journal: {e}"),
            RETRY_AFTER_SECS,
        ));
    }
    if follow_up.started {
        tracing::info!(bundle = %follow_up.bundle, incident = %id, "Follow-up requested; it waits for the window after the resolution.");
        super::worker::schedule_follow_up(
            Arc::clone(shared),
            id.to_owned(),
            follow_up.bundle.clone(),
            trigger,
        );
    }
    shared.update_gauges();
    let due = resolved_at
        + chrono::Duration::from_std(live.config.follow_up.window()).unwrap_or_default();
    let answer = json!({
        "bundles": [follow_up.bundle],
        "follow_up": {
            "bundle": follow_up.bundle,
            "incident": id,
            "started": follow_up.started,
            "resolved_at": witness_collector::time::format(resolved_at),
            "collects_after": witness_collector::time::format(due),
        },
    });
    Ok((StatusCode::ACCEPTED, axum::Json(answer)).into_response())
}

/// Reads a regular file, refusing a symbolic link at the last component (`O_NOFOLLOW`).
fn read_no_follow(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}
