//! Turns the user's libpq connection string into a `tokio_postgres::Config` plus the TLS
//! settings witness enforces itself. tokio-postgres understands `sslmode` only up to
//! `require` and rejects `sslrootcert`, so both are taken out of the string here (URL and
//! `key=value` forms alike) before tokio-postgres parses the rest.

use std::path::PathBuf;
use std::str::FromStr;

use percent_encoding::percent_decode_str;
use tokio_postgres::config::{Host, SslMode};

use crate::error::PostgresError;

/// How much TLS the connection insists on, with libpq's meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Never TLS.
    Disable,
    /// TLS when the server offers it, certificate not checked (libpq `allow` and `prefer`).
    Prefer,
    /// TLS or fail, certificate not checked.
    Require,
    /// TLS or fail, certificate chain checked against the trusted roots.
    VerifyCa,
    /// As `VerifyCa`, and the certificate must name the host.
    VerifyFull,
}

impl TlsMode {
    fn parse(value: &str) -> Result<Self, PostgresError> {
        Ok(match value {
            "disable" => TlsMode::Disable,
            "allow" | "prefer" => TlsMode::Prefer,
            "require" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" => TlsMode::VerifyFull,
            other => {
                return Err(PostgresError::Dsn(format!(
                    "sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
                )));
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TlsMode::Disable => "disable",
            TlsMode::Prefer => "prefer",
            TlsMode::Require => "require",
            TlsMode::VerifyCa => "verify-ca",
            TlsMode::VerifyFull => "verify-full",
        }
    }

    /// What tokio-postgres negotiates; verification is the TLS connector's business.
    fn ssl_mode(self) -> SslMode {
        match self {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
        }
    }
}

/// Where trusted root certificates come from when the certificate is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCerts {
    /// The system's trust store (`sslrootcert=system`, or no `sslrootcert`).
    System,
    /// A PEM file of trusted roots.
    File(PathBuf),
}

/// A parsed DSN: what to connect to and how.
#[derive(Debug, Clone)]
pub struct Target {
    pub config: tokio_postgres::Config,
    pub tls: TlsMode,
    pub roots: RootCerts,
    /// `host:port/dbname` of the first host, without credentials, for messages.
    pub display: String,
}

impl Target {
    /// The password in the DSN, if any, so that it can be registered for redaction.
    pub fn password(&self) -> Option<String> {
        self.config.get_password().map(|p| String::from_utf8_lossy(p).into_owned())
    }
}

/// Parses a libpq connection string. `application_name` defaults to `witness`.
///
/// # Errors
/// [`PostgresError::Dsn`] saying what does not parse; the message never repeats the DSN.
pub fn parse(dsn: &str) -> Result<Target, PostgresError> {
    let dsn = dsn.trim();
    if dsn.is_empty() {
        return Err(PostgresError::Dsn("the connection string is empty".into()));
    }
    let (rest, params) = if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") {
        split_url(dsn)?
    } else {
        split_key_values(dsn)?
    };
    let mut tls = None;
    let mut roots = RootCerts::System;
    for (key, value) in params {
        match key.as_str() {
            "sslmode" => tls = Some(TlsMode::parse(&value)?),
            "sslrootcert" if value == "system" => roots = RootCerts::System,
            "sslrootcert" => roots = RootCerts::File(PathBuf::from(value)),
            _ => {}
        }
    }
    // libpq: with a root certificate file at hand, `require` verifies the chain.
    let tls = match (tls.unwrap_or(TlsMode::Prefer), &roots) {
        (TlsMode::Require, RootCerts::File(_)) => TlsMode::VerifyCa,
        (mode, _) => mode,
    };
    let mut config = tokio_postgres::Config::from_str(&rest)
        .map_err(|e| PostgresError::Dsn(crate::error::chain(&e)))?;
    config.ssl_mode(tls.ssl_mode());
    if config.get_application_name().is_none() {
        config.application_name("witness");
    }
    let display = describe(&config);
    Ok(Target { config, tls, roots, display })
}

/// `host:port/dbname` of the first host, for messages and the evidence.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(path)) => path.display().to_string(),
        None => config
            .get_hostaddrs()
            .first()
            .map_or_else(|| "localhost".to_owned(), ToString::to_string),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().or(config.get_user()).unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

/// The TLS parameters taken out of a DSN, and the DSN without them.
type Split = (String, Vec<(String, String)>);

const OURS: [&str; 2] = ["sslmode", "sslrootcert"];

/// `postgresql://...?a=b&sslmode=x`: the query parameters are percent-decoded.
fn split_url(dsn: &str) -> Result<Split, PostgresError> {
    let Some((base, query)) = dsn.split_once('?') else {
        return Ok((dsn.to_owned(), Vec::new()));
    };
    let mut kept = Vec::new();
    let mut ours = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode(key)?;
        if OURS.contains(&key.as_str()) {
            ours.push((key, decode(value)?));
        } else {
            kept.push(pair);
        }
    }
    let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((rest, ours))
}

fn decode(text: &str) -> Result<String, PostgresError> {
    percent_decode_str(text).decode_utf8().map(|s| s.into_owned()).map_err(|_| {
        PostgresError::Dsn("a URL parameter is not valid percent-encoded UTF-8".into())
    })
}

/// `host=db port=5432 sslmode='verify-full'`: values may be single-quoted with `\` escapes.
fn split_key_values(dsn: &str) -> Result<Split, PostgresError> {
    let mut kept = Vec::new();
    let mut ours = Vec::new();
    let mut chars = dsn.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(PostgresError::Dsn(format!("`{key}` is not followed by `=`")));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\'') => break,
                    Some('\\') => value.extend(chars.next()),
                    Some(c) => value.push(c),
                    None => {
                        return Err(PostgresError::Dsn(format!(
                            "the quoted value of `{key}` is not closed"
                        )));
                    }
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        if OURS.contains(&key.as_str()) {
            ours.push((key, value));
        } else {
            let quoted = value.replace('\\', "\\\\").replace('\'', "\\'");
            kept.push(format!("{key}='{quoted}'"));
        }
    }
    Ok((kept.join(" "), ours))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_sslmode_beyond_require_is_ours() {
        let t = parse(
            "postgresql://w:s3cret@db.example:6432/app?sslmode=verify-full&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(t.tls, TlsMode::VerifyFull);
        assert_eq!(t.config.get_ssl_mode(), SslMode::Require);
        assert_eq!(t.display, "db.example:6432/app");
        assert_eq!(t.password().as_deref(), Some("s3cret"));
        assert_eq!(t.config.get_application_name(), Some("witness"));
    }

    #[test]
    fn key_value_form_with_quotes_and_root_cert() {
        let t = parse(
            "host=db user=w password='it''s' dbname=app sslmode=verify-ca sslrootcert='/etc/ca dir/root.pem'",
        );
        // A doubled quote is not libpq syntax: the value ends at the first quote.
        assert!(t.is_err());
        let t = parse(r"host=db user=w password='it\'s' dbname=app sslmode=verify-ca sslrootcert='/etc/ca dir/root.pem'")
            .unwrap();
        assert_eq!(t.tls, TlsMode::VerifyCa);
        assert_eq!(t.roots, RootCerts::File("/etc/ca dir/root.pem".into()));
        assert_eq!(t.password().as_deref(), Some("it's"));
    }

    #[test]
    fn require_with_a_root_file_verifies_the_chain_like_libpq() {
        let t = parse("postgresql://db/app?sslmode=require&sslrootcert=%2Fca.pem").unwrap();
        assert_eq!(t.tls, TlsMode::VerifyCa);
        assert_eq!(t.roots, RootCerts::File("/ca.pem".into()));
    }

    #[test]
    fn default_is_prefer_and_application_name_is_kept() {
        let t = parse("postgresql://db/app?application_name=witness-prod").unwrap();
        assert_eq!(t.tls, TlsMode::Prefer);
        assert_eq!(t.config.get_application_name(), Some("witness-prod"));
    }

    #[test]
    fn bad_strings_say_what_is_wrong_without_the_password() {
        let err = parse("postgresql://w:hunter22@db/app?sslmode=sometimes").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the connection string does not parse: sslmode `sometimes` is not one of disable, allow, prefer, require, verify-ca, verify-full"
        );
        let err = parse("postgresql://w:hunter22@db:notaport/app").unwrap_err();
        assert!(!err.to_string().contains("hunter22"), "{err}");
        assert!(err.to_string().starts_with("the connection string does not parse"), "{err}");
        assert!(parse("   ").is_err());
        assert!(parse("host").is_err());
    }
}
