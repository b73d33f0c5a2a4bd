//! Claims: one run per incident across the replicas that share a store. Before a run
//! starts, its replica claims the incident's key (the trigger's first dedup key: the
//! fingerprint, group key or PagerDuty incident); the claim names the bundle id and the
//! replica, and holds for `[fleet] claim_ttl_secs` unless renewed. The claimant renews it
//! while the run collects and while the bundle waits for its upload, and marks it done
//! once the bundle is in the store. Another replica that claims the same key meanwhile
//! learns the winner's bundle and joins its alert to it; when a claim expires without
//! being done (its replica died), the next replica to claim takes the incident over under
//! the same bundle id. A done claim answers for the rest of the cooldown (the same alert
//! refiring joins the bundle); after it, a new claim starts a new run.
//!
//! Two implementations, chosen by the config:
//! - a lease row in PostgreSQL (`[fleet] coordinator_env`/`_file`): one atomic
//!   `INSERT … ON CONFLICT DO UPDATE … WHERE expired`, timed by the database's clock. Any
//!   store works with it; Garage and other stores without conditional create need it.
//! - the object store itself, with conditional create (`If-None-Match: *`,
//!   `PutMode::Create`): AWS S3, Cloudflare R2, MinIO, GCS, Azure, `file://`. Each claim
//!   generation is its own object (`claims/<key>/<generation>.json`), created only once,
//!   so exactly one replica wins a generation; expiry is judged on the replicas' clocks
//!   (keep them in NTP sync). [`Claims::probe`] checks at start that the store really
//!   refuses a second create, and `witness serve` refuses a store that does not.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use tokio::sync::Mutex;

use super::Store;

/// What a claim found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// This replica runs the incident, under `bundle` (its own id, or the id of an
    /// expired claim it took over).
    Won { bundle: String },
    /// Another replica holds the incident: its bundle, and whether that run is done
    /// (uploaded).
    Held { bundle: String, holder: String, done: bool },
}

/// The claims of one replica.
pub struct Claims {
    replica: String,
    ttl: Duration,
    kind: Kind,
}

enum Kind {
    Postgres { dsn: String, client: Mutex<Option<tokio_postgres::Client>> },
    Store(Store),
}

/// The claim key of an incident key in the store `store`: the SHA-256 of both, so that no
/// alert text reaches the coordinator or the store's key names, and so that fleets sharing
/// a coordinator but not a store never claim each other's incidents.
pub fn claim_key(store: &super::StoreUrl, incident_key: &str) -> String {
    hex::encode(sha2::Sha256::digest(format!("{store}\n{incident_key}").as_bytes()))
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS witness_claims (
    key text PRIMARY KEY,
    bundle text NOT NULL,
    holder text NOT NULL,
    claimed_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    done boolean NOT NULL DEFAULT false)";

/// Wins when there is no row, the row's claim expired undone (a takeover: the bundle id
/// stays), the row is this replica's own undone claim (a restart), or the row is done and
/// older than the cooldown (a new run, a new bundle).
const CLAIM: &str =
    "INSERT INTO witness_claims AS c (key, bundle, holder, claimed_at, expires_at, done)
    VALUES ($1, $2, $3, now(), now() + make_interval(secs => $4), false)
    ON CONFLICT (key) DO UPDATE SET
        bundle = CASE WHEN c.done THEN EXCLUDED.bundle ELSE c.bundle END,
        claimed_at = CASE WHEN c.done THEN now() ELSE c.claimed_at END,
        holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, done = false
    WHERE (NOT c.done AND (c.expires_at < now() OR c.holder = EXCLUDED.holder))
       OR (c.done AND c.claimed_at < now() - make_interval(secs => $5))
    RETURNING bundle";

impl Claims {
    /// Claims through PostgreSQL at `dsn` (the table is created when missing).
    ///
    /// # Errors
    /// The database cannot be reached or the table cannot be created.
    pub async fn postgres(dsn: String, replica: String, ttl: Duration) -> Result<Self> {
        let claims = Self { replica, ttl, kind: Kind::Postgres { dsn, client: Mutex::new(None) } };
        {
            let mut guard = claims.connected().await?;
            let c = guard.as_ref().expect("connected");
            // Two replicas starting at once would race on CREATE TABLE: serialize them.
            let sql = format!(
                "BEGIN; SELECT pg_advisory_xact_lock(hashtext('witness_claims')); {CREATE_TABLE}; COMMIT"
            );
            let done = tokio::time::timeout(PG_TIMEOUT, c.batch_execute(&sql)).await;
            settle(&mut guard, done)
                .context("cannot prepare the table witness_claims in the [fleet] coordinator")?;
        }
        Ok(claims)
    }

    /// Claims through `store`'s conditional create.
    pub fn store(store: Store, replica: String, ttl: Duration) -> Self {
        Self { replica, ttl, kind: Kind::Store(store) }
    }

    pub fn replica(&self) -> &str {
        &self.replica
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether claims go through PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.kind, Kind::Postgres { .. })
    }

    /// The connection, connecting (again) when there is none or it broke.
    async fn connected(
        &self,
    ) -> Result<tokio::sync::MutexGuard<'_, Option<tokio_postgres::Client>>> {
        let Kind::Postgres { dsn, client } = &self.kind else {
            bail!("not a PostgreSQL coordinator")
        };
        let mut guard = client.lock().await;
        if guard.as_ref().is_none_or(tokio_postgres::Client::is_closed) {
            let connect = tokio_postgres::connect(dsn, tokio_postgres::NoTls);
            let (c, connection) = tokio::time::timeout(PG_TIMEOUT, connect)
                .await
                .map_err(|_| anyhow::anyhow!("the [fleet] coordinator did not answer within 10 s"))?
                .context("cannot connect to the [fleet] coordinator")?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "The [fleet] coordinator connection ended.");
                }
            });
            *guard = Some(c);
        }
        Ok(guard)
    }

    /// Checks that the store refuses a second conditional create of the same key; a store
    /// that ignores `If-None-Match: *` (Garage) would let two replicas win one claim.
    ///
    /// # Errors
    /// The store cannot be reached, or it overwrote the probe.
    pub async fn probe(store: &Store, replica: &str) -> Result<()> {
        let key = format!("claims/probe-{replica}-{:08x}.json", rand::random::<u32>());
        let first = store.create(&key, b"1".to_vec()).await?;
        let second = store.create(&key, b"2".to_vec()).await;
        let _ = store.delete(&key).await;
        match (first, second?) {
            (true, false) => Ok(()),
            _ => bail!(
                "the store {} does not honor conditional create (If-None-Match: *): a second \
                 create of the same key succeeded, so two replicas could both claim one incident; \
                 set [fleet] coordinator_env (a PostgreSQL DSN) to claim through PostgreSQL",
                store.url()
            ),
        }
    }

    /// Claims the incident `key` for a run under `bundle`; a done claim holds for
    /// `cooldown`.
    ///
    /// # Errors
    /// The coordinator or store cannot be reached.
    pub async fn claim(&self, key: &str, bundle: &str, cooldown: Duration) -> Result<Outcome> {
        match &self.kind {
            Kind::Postgres { .. } => {
                let (ttl, cooldown) = (self.ttl.as_secs_f64(), cooldown.as_secs_f64());
                let replica = self.replica.as_str();
                let mut guard = self.connected().await?;
                let c = guard.as_ref().expect("connected");
                let won = tokio::time::timeout(
                    PG_TIMEOUT,
                    c.query_opt(CLAIM, &[&key, &bundle, &replica, &ttl, &cooldown]),
                )
                .await;
                if let Some(row) = settle(&mut guard, won)? {
                    return Ok(Outcome::Won { bundle: row.get(0) });
                }
                let c = guard.as_ref().expect("connected");
                let read = tokio::time::timeout(
                    PG_TIMEOUT,
                    c.query_opt(
                        "SELECT bundle, holder, done FROM witness_claims WHERE key = $1",
                        &[&key],
                    ),
                )
                .await;
                let row =
                    settle(&mut guard, read)?.context("the claim vanished while it was read")?;
                Ok(Outcome::Held { bundle: row.get(0), holder: row.get(1), done: row.get(2) })
            }
            Kind::Store(store) => self.claim_in_store(store, key, bundle, cooldown).await,
        }
    }

    /// Extends this replica's claim of `key` for `bundle` by the TTL. `Ok(false)` when
    /// it is no longer this replica's (it expired and was taken over).
    ///
    /// # Errors
    /// The coordinator or store cannot be reached.
    pub async fn renew(&self, key: &str, bundle: &str) -> Result<bool> {
        self.update(key, bundle, false).await
    }

    /// Marks this replica's claim of `key` done: `bundle` is in the store.
    ///
    /// # Errors
    /// The coordinator or store cannot be reached.
    pub async fn done(&self, key: &str, bundle: &str) -> Result<bool> {
        self.update(key, bundle, true).await
    }

    async fn update(&self, key: &str, bundle: &str, done: bool) -> Result<bool> {
        match &self.kind {
            Kind::Postgres { .. } => {
                let (ttl, replica) = (self.ttl.as_secs_f64(), self.replica.as_str());
                let mut guard = self.connected().await?;
                let c = guard.as_ref().expect("connected");
                let updated = tokio::time::timeout(
                    PG_TIMEOUT,
                    c.execute(
                        "UPDATE witness_claims SET expires_at = now() + make_interval(secs => $4), \
                         done = $5 WHERE key = $1 AND bundle = $2 AND holder = $3 AND NOT done",
                        &[&key, &bundle, &replica, &ttl, &done],
                    ),
                )
                .await;
                Ok(settle(&mut guard, updated)? == 1)
            }
            Kind::Store(store) => {
                let Some((generation, mut record)) = current(store, key).await? else {
                    return Ok(false);
                };
                if record.holder != self.replica || record.bundle != bundle || record.done {
                    return Ok(false);
                }
                record.expires_at = Utc::now() + ttl_of(self.ttl);
                record.done = done;
                let path = format!("claims/{key}/{generation:010}.json");
                store.put(&path, serde_json::to_vec(&record)?).await?;
                // Taken over meanwhile (a later generation exists): no longer ours.
                Ok(current(store, key).await?.is_some_and(|(g, _)| g == generation))
            }
        }
    }

    /// Deletes the lease rows nobody can need any more: expired more than 31 days ago
    /// (past the longest cooldown). Returns how many. A no-op for claims in the store.
    ///
    /// # Errors
    /// The coordinator cannot be reached.
    pub async fn prune(&self) -> Result<u64> {
        if !self.is_postgres() {
            return Ok(0);
        }
        let mut guard = self.connected().await?;
        let c = guard.as_ref().expect("connected");
        let sql = "DELETE FROM witness_claims WHERE expires_at < now() - interval '31 days'";
        let deleted = tokio::time::timeout(PG_TIMEOUT, c.execute(sql, &[])).await;
        settle(&mut guard, deleted)
    }

    async fn claim_in_store(
        &self,
        store: &Store,
        key: &str,
        bundle: &str,
        cooldown: Duration,
    ) -> Result<Outcome> {
        let now = Utc::now();
        let (next, bundle) = match current(store, key).await? {
            None => (0, bundle.to_owned()),
            Some((generation, record)) => {
                let expired = record.expires_at < now;
                let stale = record.claimed_at + ttl_of(cooldown) < now;
                match (record.done, record.holder == self.replica) {
                    (false, true) => return Ok(Outcome::Won { bundle: record.bundle }),
                    (false, false) if expired => (generation + 1, record.bundle),
                    (true, _) if stale => (generation + 1, bundle.to_owned()),
                    (done, _) => {
                        return Ok(Outcome::Held {
                            bundle: record.bundle,
                            holder: record.holder,
                            done,
                        });
                    }
                }
            }
        };
        let record = Record {
            bundle: bundle.clone(),
            holder: self.replica.clone(),
            claimed_at: now,
            expires_at: now + ttl_of(self.ttl),
            done: false,
        };
        let path = format!("claims/{key}/{next:010}.json");
        if store.create(&path, serde_json::to_vec(&record)?).await? {
            return Ok(Outcome::Won { bundle });
        }
        // Another replica created this generation first: it holds the incident. Or this
        // replica did, in a claim made at the same time (the answer's and the run's).
        let (_, winner) =
            current(store, key).await?.context("the claim vanished while it was read")?;
        if winner.holder == self.replica && !winner.done {
            return Ok(Outcome::Won { bundle: winner.bundle });
        }
        Ok(Outcome::Held { bundle: winner.bundle, holder: winner.holder, done: winner.done })
    }
}

/// The deadline of one statement to the coordinator.
const PG_TIMEOUT: Duration = Duration::from_secs(10);

/// The result of a statement under [`PG_TIMEOUT`]; on an error or a timeout the
/// connection is dropped, to be made again by the next call.
fn settle<T>(
    guard: &mut Option<tokio_postgres::Client>,
    result: Result<Result<T, tokio_postgres::Error>, tokio::time::error::Elapsed>,
) -> Result<T> {
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => {
            *guard = None;
            Err(e).context("the [fleet] coordinator refused the statement")
        }
        Err(_) => {
            *guard = None;
            bail!("the [fleet] coordinator did not answer within {} s", PG_TIMEOUT.as_secs())
        }
    }
}

fn ttl_of(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// A claim generation in the object store.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    bundle: String,
    holder: String,
    #[serde(with = "witness_collector::time::millis")]
    claimed_at: DateTime<Utc>,
    #[serde(with = "witness_collector::time::millis")]
    expires_at: DateTime<Utc>,
    done: bool,
}

/// The newest generation of claim `key` and its record.
async fn current(store: &Store, key: &str) -> Result<Option<(u64, Record)>> {
    let (_, names) = store.children(&format!("claims/{key}")).await?;
    let Some((generation, name)) = names
        .iter()
        .filter_map(|n| Some((n.strip_suffix(".json")?.parse::<u64>().ok()?, n)))
        .max_by_key(|(g, _)| *g)
    else {
        return Ok(None);
    };
    let bytes = store
        .get(&format!("claims/{key}/{name}"))
        .await?
        .context("a claim vanished while it was read")?;
    Ok(Some((generation, serde_json::from_slice(&bytes)?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StoreConfig;
    use crate::redact::Redactor;
    use crate::store::StoreUrl;

    #[tokio::test]
    async fn one_replica_wins_a_file_store_claim_and_another_takes_it_over_after_expiry() {
        let tmp = tempfile::tempdir().unwrap();
        let url = format!("file://{}", tmp.path().display());
        let store = Store::open(&StoreConfig::default(), &url, &Redactor::builtin()).unwrap();
        Claims::probe(&store, "a").await.unwrap();
        let ttl = Duration::from_millis(300);
        let a = Claims::store(store.clone(), "a".into(), ttl);
        let b = Claims::store(store.clone(), "b".into(), ttl);
        let key = claim_key(store.url(), "fp:alertmanager:1");
        let elsewhere = StoreUrl::parse("s3://other/prefix").unwrap();
        assert_ne!(key, claim_key(&elsewhere, "fp:alertmanager:1"), "claims are per store");
        let cooldown = Duration::from_secs(900);
        assert_eq!(
            a.claim(&key, "A1", cooldown).await.unwrap(),
            Outcome::Won { bundle: "A1".into() }
        );
        let held = b.claim(&key, "B1", cooldown).await.unwrap();
        assert_eq!(held, Outcome::Held { bundle: "A1".into(), holder: "a".into(), done: false });
        assert!(a.renew(&key, "A1").await.unwrap());
        tokio::time::sleep(Duration::from_millis(400)).await;
        // a died: b takes over under a's bundle id, and a can no longer renew.
        assert_eq!(
            b.claim(&key, "B1", cooldown).await.unwrap(),
            Outcome::Won { bundle: "A1".into() }
        );
        assert!(!a.renew(&key, "A1").await.unwrap());
        assert!(b.done(&key, "A1").await.unwrap());
        let held = a.claim(&key, "A2", cooldown).await.unwrap();
        assert_eq!(held, Outcome::Held { bundle: "A1".into(), holder: "b".into(), done: true });
    }
}
