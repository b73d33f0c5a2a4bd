//! The intake's redactor: the live configuration's redactor (its rules, and witness's own
//! secrets as literals) with a token key that survives restarts. Alerts are redacted where
//! their bodies are parsed ([`super::hooks`]), and the intake recognises an incident by
//! its redacted fingerprint and group key: a token made with a fresh key in each process
//! would give the same alert another identity after a restart, and a refire would start a
//! second bundle instead of joining the first. So the key is made once, at random, and
//! kept in the store ([`KEY_FILE`], mode 0600); it never leaves the host and nothing
//! witness writes holds it. The tokens it makes say only "the same value" across bundles
//! of this store, never what the value is.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::redact::Redactor;

/// The key's file in the store: a dot name, never listed or served as a bundle.
pub const KEY_FILE: &str = ".redaction-key";

/// Files only witness may read: the key, the journal, addenda.
pub const PRIVATE_MODE: u32 = 0o600;

/// Why the key cannot be had.
#[derive(Debug, thiserror::Error)]
#[error("redaction key {}: {source}", path.display())]
pub struct KeyError {
    pub path: PathBuf,
    pub source: io::Error,
}

/// The store's token key: read from `<store>/.redaction-key`, or made and written there
/// (mode 0600) the first time. A file that does not hold a key (cut short, edited) is
/// replaced, with a warning: alerts already in the cooldown may then start a second run.
///
/// # Errors
/// When the file can be neither read nor written.
pub fn load_key(store: &Path) -> Result<[u8; 32], KeyError> {
    let path = store.join(KEY_FILE);
    let err = |source| KeyError { path: path.clone(), source };
    match fs::read_to_string(&path) {
        Ok(text) => {
            fs::set_permissions(&path, fs::Permissions::from_mode(PRIVATE_MODE)).map_err(err)?;
            let mut key = [0u8; 32];
            if hex::decode_to_slice(text.trim(), &mut key).is_ok() {
                return Ok(key);
            }
            tracing::warn!(
                path = %path.display(),
                "The redaction key file does not hold a key; making a new one."
            );
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let key: [u8; 32] = rand::random();
    // Written beside, then renamed over: a crash never leaves half a key.
    let tmp = store.join(format!("{KEY_FILE}.tmp"));
    let _ = fs::remove_file(&tmp);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_MODE)
        .open(&tmp)
        .map_err(err)?;
    file.write_all(hex::encode(key).as_bytes()).and_then(|()| file.sync_all()).map_err(err)?;
    fs::rename(&tmp, &path).map_err(err)?;
    Ok(key)
}

/// The intake's redactor for `prepared`: its rules and literals, the store's `key`.
pub fn intake_redactor(prepared: &crate::run::Prepared, key: [u8; 32]) -> Redactor {
    prepared.redactor.with_key(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let key = load_key(dir.path()).unwrap();
        let path = dir.path().join(KEY_FILE);
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, PRIVATE_MODE);
        assert_eq!(load_key(dir.path()).unwrap(), key, "the same key after a restart");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(load_key(dir.path()).unwrap(), key);
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, PRIVATE_MODE);
        fs::write(&path, "not a key").unwrap();
        assert_ne!(load_key(dir.path()).unwrap(), key, "a broken key file is replaced");
    }
}
