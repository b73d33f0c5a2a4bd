//! ed25519 signing of `manifest.json`: `witness keygen` makes the key pair (PKCS#8 PEM
//! private key, SPKI PEM public key), `collect` signs with the configured private key and
//! `verify --key` checks with the public one.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// Why a key could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read the key {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} is not an ed25519 {what} key in PEM form (made by `witness keygen`)", path.display())]
    Format { path: PathBuf, what: &'static str },
}

/// Makes a key pair: `<prefix>.key` (private, mode 0600) and `<prefix>.pub`. Refuses to
/// overwrite an existing key.
///
/// # Errors
/// [`KeyError::Write`] when a file exists or cannot be written.
pub fn keygen(prefix: &Path) -> Result<(PathBuf, PathBuf), KeyError> {
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let private_path = with_suffix(prefix, "key");
    let public_path = with_suffix(prefix, "pub");
    let private_pem = key.to_pkcs8_pem(LineEnding::LF).expect("an ed25519 key always encodes");
    let public_pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("an ed25519 key always encodes");
    write_new(&private_path, private_pem.as_bytes(), 0o600)?;
    write_new(&public_path, public_pem.as_bytes(), 0o644)?;
    Ok((private_path, public_path))
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    let err = |source| KeyError::Write { path: path.to_owned(), source };
    let mut file =
        fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(err)?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(err)
}

fn read(path: &Path) -> Result<String, KeyError> {
    fs::read_to_string(path).map_err(|source| KeyError::Read { path: path.to_owned(), source })
}

/// Reads a private key made by [`keygen`].
///
/// # Errors
/// [`KeyError`] when it cannot be read or is not such a key.
pub fn load_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    SigningKey::from_pkcs8_pem(&read(path)?)
        .map_err(|_| KeyError::Format { path: path.to_owned(), what: "private" })
}

/// Reads a public key made by [`keygen`].
///
/// # Errors
/// [`KeyError`] when it cannot be read or is not such a key.
pub fn load_verifying_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_public_key_pem(&read(path)?)
        .map_err(|_| KeyError::Format { path: path.to_owned(), what: "public" })
}

/// The hex signature of `bytes`.
pub fn sign(key: &SigningKey, bytes: &[u8]) -> String {
    hex::encode(key.sign(bytes).to_bytes()) + "\n"
}

/// Whether `signature_text` (as written by [`sign`]) is a valid signature of `bytes`.
pub fn verify(key: &VerifyingKey, bytes: &[u8], signature_text: &str) -> bool {
    let Ok(raw) = hex::decode(signature_text.trim()) else { return false };
    let Ok(signature) = Signature::from_slice(&raw) else { return false };
    key.verify(bytes, &signature).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_its_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = keygen(&dir.path().join("a")).unwrap();
        let (_, other_public) = keygen(&dir.path().join("b")).unwrap();
        let signature = sign(&load_signing_key(&private).unwrap(), b"manifest");
        assert!(verify(&load_verifying_key(&public).unwrap(), b"manifest", &signature));
        assert!(!verify(&load_verifying_key(&public).unwrap(), b"manifest!", &signature));
        assert!(!verify(&load_verifying_key(&other_public).unwrap(), b"manifest", &signature));
        assert!(keygen(&dir.path().join("a")).is_err(), "an existing key is never overwritten");
        assert!(load_verifying_key(&private).is_err());
    }
}
