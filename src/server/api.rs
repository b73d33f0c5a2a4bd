//! The read-only bundle API: list, manifest, `.tar.gz` archive, one file. Authenticated
//! like the hooks. Nothing outside the store can be read: ids are safe names, paths are
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

use super::error::ApiError;
use super::state::Shared;
use crate::bundle::{self, MANIFEST, is_safe_name, is_safe_path};

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
            let cache = fleet.fetch(store, id).await.map_err(|e| {
                tracing::debug!(bundle = %id, error = format!("{e:#}"), "Not in the object store.");
                ApiError::not_found("bundle")
            })?;
            bundle_dir(&cache, id)
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
