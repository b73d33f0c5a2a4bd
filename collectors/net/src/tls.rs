//! rustls pieces shared by the collectors that speak TLS (`http`, `postgres`): a
//! certificate verifier with a fixed verdict, for the cases where the platform's or
//! webpki's verifier is not the one to use:
//!
//! - reading a certificate that failed verification, or PostgreSQL's `sslmode=prefer` /
//!   `require` (encrypt, check nothing, as libpq does): accept any certificate;
//! - a machine with no root certificates at all: reject every certificate with that
//!   reason, so plain-http probes still work and https ones say why they fail.
//!
//! Handshake signatures are always checked, so the peer holds the key of the certificate
//! it shows. This module stays a thin layer over rustls on purpose: the core crate
//! `witness-collector` must not depend on a TLS stack.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// A [`ServerCertVerifier`] that gives every certificate the same verdict and checks the
/// handshake signatures with `provider`.
#[derive(Debug)]
pub struct FixedVerifier {
    provider: Arc<CryptoProvider>,
    /// `None` accepts every certificate; `Some(reason)` rejects every one with it.
    reject: Option<String>,
}

impl FixedVerifier {
    /// Accepts every certificate (the handshake signatures are still checked).
    pub fn accept_any(provider: Arc<CryptoProvider>) -> Self {
        Self { provider, reject: None }
    }

    /// Rejects every certificate with `reason` (a `rustls::Error::General`).
    pub fn reject_all(provider: Arc<CryptoProvider>, reason: String) -> Self {
        Self { provider, reject: Some(reason) }
    }
}

impl ServerCertVerifier for FixedVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.reject {
            None => Ok(ServerCertVerified::assertion()),
            Some(reason) => Err(rustls::Error::General(reason.clone())),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(verifier: &FixedVerifier) -> Result<ServerCertVerified, rustls::Error> {
        let name = ServerName::try_from("db.internal").expect("a valid name");
        verifier.verify_server_cert(
            &CertificateDer::from(vec![0x30, 0x00]),
            &[],
            &name,
            &[],
            UnixTime::now(),
        )
    }

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    #[test]
    fn accept_any_accepts_even_a_certificate_that_is_not_one() {
        assert!(verdict(&FixedVerifier::accept_any(provider())).is_ok());
    }

    #[test]
    fn reject_all_gives_its_reason() {
        let verifier = FixedVerifier::reject_all(provider(), "no root certificates".into());
        assert_eq!(
            verdict(&verifier).unwrap_err(),
            rustls::Error::General("no root certificates".into())
        );
        assert!(!verifier.supported_verify_schemes().is_empty());
    }
}
