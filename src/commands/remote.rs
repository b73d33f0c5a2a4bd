//! Readers of the object store (`--store URL`, or a bundle given as
//! `s3://bucket/prefix/ID`): the bundle is downloaded into a private temporary directory
//! and read there like a local one, so `verify` checks every hash and the signature of
//! what was downloaded, and `show` reads only what verified sources wrote.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cli::StoreArg;
use crate::store::{Store, StoreUrl};

/// A bundle downloaded from an object store; its directory is removed on drop.
pub struct Fetched {
    pub dir: PathBuf,
    pub id: String,
    pub store: Store,
    tmp: PathBuf,
}

impl Drop for Fetched {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// Opens the object store a reader names: `--store`, else the config's `[store] url`.
/// `None` when neither is set (the reader reads the local directory).
///
/// # Errors
/// The config does not load or the store cannot be opened.
pub fn open(arg: &StoreArg, url: Option<&str>) -> Result<Option<Store>> {
    let config = super::config::load(&arg.config)?;
    let Some(url) = url.or(arg.store.as_deref()).or(config.store.url.as_deref()) else {
        return Ok(None);
    };
    Ok(Some(Store::for_reader(&config.store, url)?))
}

/// Downloads `bundle` when it names a bundle in an object store (`s3://…/ID`, or an id
/// with `--store`); `None` for a local path.
///
/// # Errors
/// The store cannot be opened or read, or has no such bundle.
pub async fn fetch(bundle: &Path, arg: &StoreArg) -> Result<Option<Fetched>> {
    let text = bundle.to_string_lossy();
    let (url, id) = match (StoreUrl::split_bundle(&text), &arg.store) {
        (Some((url, id)), _) => (url, id),
        (None, Some(url)) => (url.clone(), text.trim_end_matches('/').to_owned()),
        (None, None) if text.contains("://") => {
            anyhow::bail!("{text} names no bundle: expected s3://bucket/prefix/<bundle id>")
        }
        (None, None) => return Ok(None),
    };
    let store = open(arg, Some(&url))?.expect("a URL was given");
    let tmp = std::env::temp_dir().join(format!(
        "witness-fetch-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let fetched = Fetched { dir: tmp.join(&id), id: id.clone(), store: store.clone(), tmp };
    store.download(&id, &fetched.tmp).await?;
    Ok(Some(fetched))
}
