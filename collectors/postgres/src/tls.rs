//! The rustls connector for each `sslmode`. tokio-postgres only decides whether TLS is
//! attempted or required; what the certificate must prove is decided here: nothing for
//! `prefer`/`require` (libpq does not check it either), the chain for `verify-ca`, the
//! chain and the host name for `verify-full`.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;
use witness_net::tls::FixedVerifier;

use crate::dsn::{RootCerts, TlsMode};
use crate::error::PostgresError;

/// The TLS connector tokio-postgres uses for `mode`.
///
/// # Errors
/// [`PostgresError::Tls`] when the trusted roots cannot be loaded.
pub fn connector(mode: TlsMode, roots: &RootCerts) -> Result<MakeRustlsConnect, PostgresError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match mode {
        TlsMode::Disable | TlsMode::Prefer | TlsMode::Require => {
            // Encrypt, accept any certificate: libpq does not check it either (the
            // handshake signatures are still checked).
            Arc::new(FixedVerifier::accept_any(provider.clone()))
        }
        TlsMode::VerifyCa => Arc::new(ChainOnly { inner: webpki(roots, &provider)? }),
        TlsMode::VerifyFull => webpki(roots, &provider)?,
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PostgresError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

fn webpki(
    roots: &RootCerts,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, PostgresError> {
    let store = Arc::new(root_store(roots)?);
    WebPkiServerVerifier::builder_with_provider(store, provider.clone())
        .build()
        .map_err(|e| PostgresError::Tls(format!("cannot build the certificate verifier: {e}")))
}

fn root_store(roots: &RootCerts) -> Result<RootCertStore, PostgresError> {
    let mut store = RootCertStore::empty();
    match roots {
        RootCerts::File(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    PostgresError::Tls(format!("cannot read sslrootcert {}: {e}", path.display()))
                })?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(PostgresError::Tls(format!(
                    "sslrootcert {} holds no usable certificate",
                    path.display()
                )));
            }
        }
        RootCerts::System => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(PostgresError::Tls(
                    "the system trust store holds no certificate; set sslrootcert in the DSN"
                        .into(),
                ));
            }
        }
    }
    Ok(store)
}

/// `verify-ca`: the full webpki check, except that a certificate for another name passes.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_root_file_is_named() {
        let Err(err) =
            connector(TlsMode::VerifyFull, &RootCerts::File("/nonexistent/ca.pem".into()))
        else {
            panic!("a missing sslrootcert must be an error");
        };
        assert!(
            err.to_string()
                .starts_with("TLS settings: cannot read sslrootcert /nonexistent/ca.pem"),
            "{err}"
        );
    }

    #[test]
    fn modes_without_verification_need_no_roots() {
        assert!(connector(TlsMode::Require, &RootCerts::File("/nonexistent".into())).is_ok());
    }
}
