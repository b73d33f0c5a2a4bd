//! A certificate verifier with a fixed verdict, for the two cases where the platform's
//! verifier is not the one to use: reading a certificate that failed verification (accept
//! any, only to read it), and a machine with no root certificates at all (reject every
//! certificate with that reason, so plain-http probes still work and https ones say why
//! they fail). Handshake signatures are always checked.

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

#[derive(Debug)]
pub struct FixedVerifier {
    provider: Arc<CryptoProvider>,
    /// `None` accepts every certificate; `Some(reason)` rejects every one with it.
    reject: Option<String>,
}

impl FixedVerifier {
    pub fn accept_any(provider: Arc<CryptoProvider>) -> Self {
        Self { provider, reject: None }
    }

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

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
