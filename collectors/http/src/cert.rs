//! What witness keeps of a server's TLS certificate: who it is for, who issued it, when it
//! expires and how many days are left from the moment of the probe. When the handshake of
//! a probe fails (an expired or untrusted certificate), [`read_unverified`] reads the
//! certificate with a bare handshake, so the evidence says "expired 2 days ago" instead of
//! only "TLS error".

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rustls_pki_types::{CertificateDer, ServerName};
use serde::Serialize;

use witness_collector::{Redacted, Redactor};
use witness_net::tls::FixedVerifier;

/// The leaf certificate a server presented.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CertificateInfo {
    /// Read from the certificate, so redacted: a subject can name anything.
    pub subject: Redacted,
    pub issuer: Redacted,
    #[serde(with = "witness_collector::time::millis")]
    pub not_after: DateTime<Utc>,
    /// Whole days from the probe to `not_after`, rounded down; negative once expired.
    pub days_left: i64,
    /// Whether the certificate passed verification (false when it was read with
    /// [`read_unverified`] after a failed handshake).
    pub verified: bool,
}

/// Reads a DER certificate; its names are redacted with `redactor` as they are read.
///
/// # Errors
/// The parser's message when `der` is not an X.509 certificate.
pub fn inspect(
    der: &[u8],
    now: DateTime<Utc>,
    redactor: &Redactor,
) -> Result<CertificateInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    let not_after = DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
        .ok_or_else(|| "certificate expiry out of range".to_owned())?;
    let days_left = (not_after - now).num_seconds().div_euclid(86_400);
    Ok(CertificateInfo {
        subject: redactor.redact(&cert.subject().to_string()),
        issuer: redactor.redact(&cert.issuer().to_string()),
        not_after,
        days_left,
        verified: true,
    })
}

/// Reads the leaf certificate `host:port` presents, without judging it, over a direct TCP
/// connection (no proxy) and a TLS handshake only: no HTTP request is sent. Handshake
/// signatures are still checked, so the certificate is the one the server holds the key of.
///
/// # Errors
/// Why no certificate was read (connect, handshake, timeout), in words.
pub async fn read_unverified(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<CertificateDer<'static>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(FixedVerifier::accept_any(provider)))
        .with_no_client_auth();
    let name = ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']').to_owned())
        .map_err(|e| format!("{host} is not a server name: {e}"))?;
    let handshake = async {
        let tcp = tokio::net::TcpStream::connect((
            host.trim_start_matches('[').trim_end_matches(']'),
            port,
        ))
        .await
        .map_err(|e| format!("connect: {e}"))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tls.get_ref()
            .1
            .peer_certificates()
            .and_then(|certs| certs.first())
            .map(|c| c.clone().into_owned())
            .ok_or_else(|| "the server presented no certificate".to_owned())
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .map_err(|_| format!("no handshake within {} ms", timeout.as_millis()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_left_counts_whole_days_and_goes_negative_after_expiry() {
        let mut params = rcgen::CertificateParams::new(vec!["health.test".into()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2030, 1, 31);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);

        let info = inspect(cert.der(), at("2030-01-20T12:00:00Z"), &Redactor::builtin()).unwrap();
        assert_eq!(info.days_left, 10);
        assert_eq!(info.not_after, at("2030-01-31T00:00:00Z"));
        let expired = inspect(cert.der(), at("2030-02-01T12:00:00Z"), &Redactor::builtin()).unwrap();
        assert_eq!(expired.days_left, -2);
        assert!(inspect(b"garbage", at("2030-01-01T00:00:00Z"), &Redactor::builtin()).is_err());
    }
}
