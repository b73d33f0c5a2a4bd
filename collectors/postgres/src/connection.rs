//! One connection to the server and the only way witness queries it: each query runs in
//! its own `READ ONLY` transaction with `statement_timeout` and `lock_timeout` set low, in
//! one round trip, so witness never writes, never waits on the locks it is looking at and
//! gives up before it adds load.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_postgres::{Client, SimpleQueryMessage};
use tokio_util::sync::CancellationToken;

use crate::dsn::Target;
use crate::error::{PostgresError, describe};
use crate::tls;

/// Limits applied to every transaction.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub statement_timeout: Duration,
    pub lock_timeout: Duration,
}

/// An open connection. [`Connection::close`] says goodbye to the server; dropping it
/// instead cuts the connection (the server logs an unexpected EOF).
pub struct Connection {
    client: Client,
    task: Option<JoinHandle<()>>,
    limits: Limits,
}

/// How long a polite close may take before the connection is cut.
const CLOSE_WITHIN: Duration = Duration::from_secs(1);

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Connects to `target` within `within` (TCP, TLS and authentication together).
///
/// # Errors
/// [`PostgresError::ConnectTimeout`], [`PostgresError::Rejected`] (server said no),
/// [`PostgresError::Connect`] (refused, no TLS, bad certificate), [`PostgresError::Cancelled`].
pub async fn connect(
    target: &Target,
    within: Duration,
    limits: Limits,
    cancel: &CancellationToken,
) -> Result<Connection, PostgresError> {
    let connector = tls::connector(target.tls, &target.roots)?;
    let mut config = target.config.clone();
    // tokio-postgres applies this to each TCP connect; the outer timeout covers the
    // server that accepts and then never answers the startup or TLS handshake.
    config.connect_timeout(within);
    let attempt = tokio::time::timeout(within, config.connect(connector));
    let (client, connection) = tokio::select! {
        biased;
        () = cancel.cancelled() => {
            return Err(PostgresError::Cancelled { target: target.display.clone() });
        }
        result = attempt => match result {
            Err(_) => {
                return Err(PostgresError::ConnectTimeout {
                    target: target.display.clone(),
                    after: within,
                });
            }
            Ok(Err(e)) => return Err(classify(target, &e)),
            Ok(Ok(pair)) => pair,
        },
    };
    let task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "PostgreSQL connection ended with an error.");
        }
    });
    Ok(Connection { client, task: Some(task), limits })
}

fn classify(target: &Target, e: &tokio_postgres::Error) -> PostgresError {
    let target = target.display.clone();
    match e.as_db_error() {
        Some(db) => {
            let code = db.code().code();
            let what = match code {
                "28P01" | "28000" => "authentication failed: ",
                "3D000" => "unknown database: ",
                "53300" => "too many connections: ",
                "57P03" => "server not accepting connections: ",
                _ => "",
            };
            PostgresError::Rejected { target, reason: format!("{what}{}", describe(e)) }
        }
        None => PostgresError::Connect { target, reason: describe(e) },
    }
}

/// A query that failed, with the reason the server or the network gave.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct QueryError(pub String);

impl Connection {
    /// Ends the session with a Terminate message, so the server logs nothing unusual.
    pub async fn close(mut self) {
        let task = self.task.take();
        // Dropping the client makes the connection task send Terminate and finish.
        drop(self);
        if let Some(mut task) = task
            && tokio::time::timeout(CLOSE_WITHIN, &mut task).await.is_err()
        {
            task.abort();
        }
    }

    /// Runs `sql`, a statement returning one row with one JSON column, in a read-only
    /// transaction under the limits, and parses the JSON.
    ///
    /// # Errors
    /// [`QueryError`] with the server's message (a statement timeout, a missing privilege).
    pub async fn json(&self, sql: &str) -> Result<serde_json::Value, QueryError> {
        let batch = format!(
            "BEGIN READ ONLY; SET LOCAL statement_timeout = {}; SET LOCAL lock_timeout = {}; \
             SET LOCAL TimeZone = 'UTC'; {sql}; COMMIT",
            self.limits.statement_timeout.as_millis(),
            self.limits.lock_timeout.as_millis(),
        );
        match self.client.simple_query(&batch).await {
            Ok(messages) => {
                let text = messages.iter().find_map(|m| match m {
                    SimpleQueryMessage::Row(row) => Some(row.get(0)),
                    _ => None,
                });
                match text.flatten() {
                    Some(text) => serde_json::from_str(text)
                        .map_err(|e| QueryError(format!("unexpected answer: {e}"))),
                    None => Ok(serde_json::Value::Null),
                }
            }
            Err(e) => {
                // The failed statement left the transaction aborted; end it so the next
                // query starts clean. If this fails too, the next query says why.
                if !self.client.is_closed() {
                    let _ = self.client.batch_execute("ROLLBACK").await;
                }
                Err(QueryError(describe(&e)))
            }
        }
    }
}
