//! Why a PostgreSQL collection produced nothing, in words an on-call engineer can act on,
//! and how that becomes a [`CollectError`] the run records.

use std::time::Duration;

use witness_collector::CollectError;

/// What stopped the collector from reading the server at all.
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    /// The DSN is not a libpq connection string witness understands.
    #[error("the connection string does not parse: {0}")]
    Dsn(String),
    /// The TLS settings of the DSN cannot be used (an unreadable `sslrootcert`).
    #[error("TLS settings: {0}")]
    Tls(String),
    /// The server refused us: authentication, unknown database, too many connections.
    #[error("{target} rejected the connection: {reason}")]
    Rejected { target: String, reason: String },
    /// Nothing usable answered: refused, unreachable, no TLS, bad certificate.
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    /// The server did not finish the connection in time.
    #[error("{target} did not complete the connection within {after:?}")]
    ConnectTimeout { target: String, after: Duration },
    /// The run was cancelled before the connection was made.
    #[error("cancelled while connecting to {target}")]
    Cancelled { target: String },
}

impl From<PostgresError> for CollectError {
    fn from(e: PostgresError) -> Self {
        match e {
            PostgresError::Dsn(_) | PostgresError::Tls(_) => CollectError::Config(e.to_string()),
            PostgresError::Rejected { target, reason } => CollectError::Unreachable {
                target: format!("PostgreSQL {target}"),
                reason: format!("rejected: {reason}"),
            },
            PostgresError::Connect { target, reason } => {
                CollectError::Unreachable { target: format!("PostgreSQL {target}"), reason }
            }
            PostgresError::ConnectTimeout { target, after } => {
                CollectError::Timeout { what: format!("PostgreSQL {target} (connect)"), after }
            }
            PostgresError::Cancelled { .. } => CollectError::Other(e.to_string()),
        }
    }
}

/// An error and its sources, `: `-separated (tokio-postgres keeps the useful part in the
/// source: "error connecting to server: Connection refused").
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// A server error as `message (SQLSTATE code)`, or the error chain for anything else.
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => chain(e),
    }
}
