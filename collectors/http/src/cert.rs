//! What witness keeps of a server's TLS certificate: who it is for, who issued it, when it
//! expires and how many days are left from the moment of the probe.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The leaf certificate a server presented.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CertificateInfo {
    pub subject: String,
    pub issuer: String,
    #[serde(with = "witness_collector::time::millis")]
    pub not_after: DateTime<Utc>,
    /// Whole days from the probe to `not_after`, rounded down; negative once expired.
    pub days_left: i64,
}

/// Reads a DER certificate.
///
/// # Errors
/// The parser's message when `der` is not an X.509 certificate.
pub fn inspect(der: &[u8], now: DateTime<Utc>) -> Result<CertificateInfo, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    let not_after = DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
        .ok_or_else(|| "certificate expiry out of range".to_owned())?;
    let days_left = (not_after - now).num_seconds().div_euclid(86_400);
    Ok(CertificateInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_after,
        days_left,
    })
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

        let info = inspect(cert.der(), at("2030-01-20T12:00:00Z")).unwrap();
        assert_eq!(info.days_left, 10);
        assert_eq!(info.not_after, at("2030-01-31T00:00:00Z"));
        let expired = inspect(cert.der(), at("2030-02-01T12:00:00Z")).unwrap();
        assert_eq!(expired.days_left, -2);
        assert!(inspect(b"garbage", at("2030-01-01T00:00:00Z")).is_err());
    }
}
