//! The journal: every accepted alert, one JSON line each with the intake's decision,
//! fsync'ed before the webhook is answered `202`; and a line when a run's bundle is sealed.
//! Resolutions are journaled like alerts, with the follow-up they started or joined.
//! On start, runs whose start is journaled but whose seal is not are handed back to be run
//! again (a `kill -9` loses no accepted alert), and so are follow-ups not yet sealed, with
//! every resolution they gathered; runs and follow-ups sealed inside the cooldown are
//! handed back too, so that the same incident refiring (or resolving again) after a
//! restart still points to its bundle instead of starting a second one; and the file is
//! compacted to just those.
//!
//! The journal is this replica's own, also in a fleet sharing an object store
//! ([`super::fleet`]): a run whose incident another replica claimed stays unsealed here
//! until its alert is recorded beside that replica's bundle, and is then journaled as
//! sealed without a bundle (`written: false`); a crash before that runs the claim again.
//!
//! The journal holds only redacted text: alerts are redacted where their bodies are parsed
//! ([`super::hooks`]), with tokens stable across restarts so that dedup still works; a
//! journal written by an older witness is redacted the same way when it is compacted on
//! open. It is private to witness (mode 0600, fixed on open).
//!
//! Writes go through one thread that does group commit: every line waiting when it wakes
//! is written, then one `fdatasync` covers them all, then every waiting request is
//! answered. A storm of webhooks costs one fsync per batch, not per request.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use super::intake::Action;
use super::redaction::PRIVATE_MODE;
use crate::redact::Redactor;
use crate::trigger::{JoinedAlert, Trigger};

/// One line of the journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Accepted {
        #[serde(with = "witness_collector::time::millis")]
        at: DateTime<Utc>,
        action: Action,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bundle: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        webhook_id: Option<String>,
        trigger: Box<Trigger>,
        /// A resolution of `bundle`'s incident: the follow-up it started or joined.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        follow_up: Option<String>,
    },
    Sealed {
        #[serde(with = "witness_collector::time::millis")]
        at: DateTime<Utc>,
        bundle: String,
        /// Whether a bundle was written (false: the run failed and will not be retried, or
        /// another replica's run holds the incident and the alert was recorded beside it).
        written: bool,
        /// In a fleet, the id the incident has across the replicas when it is not
        /// `bundle`: the other replica's run it joined, or the claim it took over.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fleet_id: Option<String>,
    },
}

/// A run to do again after a restart.
#[derive(Debug, Clone)]
pub struct Unsealed {
    pub bundle: String,
    pub trigger: Trigger,
}

/// A run sealed inside the cooldown: its incident keys still point to its bundle.
#[derive(Debug, Clone)]
pub struct Recent {
    pub bundle: String,
    /// The trigger's [`Trigger::dedup_keys`].
    pub keys: Vec<String>,
    /// When the run was accepted (the cooldown counts from there).
    pub accepted_at: DateTime<Utc>,
    /// The id its incident has across a fleet, when it is not `bundle`.
    pub fleet_id: Option<String>,
}

/// A follow-up of an incident, accepted and not sealed (to wait for again), or sealed
/// inside the cooldown (to point the incident's resolutions to).
#[derive(Debug, Clone)]
pub struct FollowUpReplay {
    pub bundle: String,
    /// The incident bundle it checks.
    pub incident: String,
    /// The latest resolution it waits after.
    pub resolved_at: DateTime<Utc>,
    /// When its first resolution was accepted.
    pub accepted_at: DateTime<Utc>,
    /// The first resolution (with the notification's body).
    pub trigger: Trigger,
    /// Every resolution it gathered, the first included.
    pub resolutions: Vec<JoinedAlert>,
}

/// What a restart takes over from the journal.
#[derive(Debug, Default)]
pub struct Replayed {
    /// Runs to do again.
    pub unsealed: Vec<Unsealed>,
    /// Runs sealed inside the cooldown.
    pub recent: Vec<Recent>,
    /// Follow-ups to wait for again.
    pub follow_ups: Vec<FollowUpReplay>,
    /// Follow-ups sealed inside the cooldown.
    pub recent_follow_ups: Vec<FollowUpReplay>,
}

/// What the writer thread is asked to do.
enum Msg {
    Write(Vec<u8>, oneshot::Sender<Result<(), String>>),
    /// Sync and stop; later appends fail.
    Close(oneshot::Sender<()>),
}

/// The open journal. Cloning shares it.
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::UnboundedSender<Msg>,
    healthy: Arc<AtomicBool>,
    path: PathBuf,
}

/// Joins the writer thread once every handle is dropped (the final fsync is done then).
pub struct JournalCloser(Option<std::thread::JoinHandle<()>>);

impl JournalCloser {
    /// Waits for the writer thread to finish its last batch.
    pub fn close(mut self) {
        if let Some(handle) = self.0.take() {
            let _ = handle.join();
        }
    }
}

/// Why the journal could not be opened or written.
#[derive(Debug, thiserror::Error)]
#[error("journal {}: {source}", path.display())]
pub struct JournalError {
    pub path: PathBuf,
    pub source: io::Error,
}

impl Journal {
    /// Opens (creating, mode 0600) the journal at `path`, returns the runs to do again and
    /// those sealed less than `cooldown` ago, and compacts the file to those, each record
    /// passed through `redactor` (the intake's: redacted text stays as it is).
    ///
    /// # Errors
    /// When the file cannot be read, compacted or opened for appending.
    pub fn open(
        path: &Path,
        cooldown: std::time::Duration,
        redactor: &Redactor,
    ) -> Result<(Self, JournalCloser, Replayed), JournalError> {
        let err = |source| JournalError { path: path.to_owned(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(err)?;
        }
        let since =
            Utc::now() - chrono::Duration::from_std(cooldown).unwrap_or(chrono::Duration::MAX);
        let (unsealed, keep) = replay(path, since, redactor).map_err(err)?;
        compact(path, &keep).map_err(err)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(PRIVATE_MODE)
            .open(path)
            .map_err(err)?;
        // A journal made by an older witness, or by hand, may be readable by others.
        file.set_permissions(fs::Permissions::from_mode(PRIVATE_MODE)).map_err(err)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let healthy = Arc::new(AtomicBool::new(true));
        let thread_healthy = Arc::clone(&healthy);
        let handle = std::thread::Builder::new()
            .name("witness-journal".into())
            .spawn(move || writer(file, rx, &thread_healthy))
            .map_err(err)?;
        Ok((Self { tx, healthy, path: path.to_owned() }, JournalCloser(Some(handle)), unsealed))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the last write succeeded (for `/readyz`).
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Appends `records` and returns once they are on disk.
    ///
    /// # Errors
    /// The write or fsync error, as text; nothing may be acknowledged then.
    pub async fn append(&self, records: &[Record]) -> Result<(), String> {
        let mut bytes = Vec::with_capacity(256 * records.len());
        for record in records {
            serde_json::to_writer(&mut bytes, record).map_err(|e| e.to_string())?;
            bytes.push(b'\n');
        }
        let (done_tx, done_rx) = oneshot::channel();
        self.tx.send(Msg::Write(bytes, done_tx)).map_err(|_| "the journal is closed".to_owned())?;
        done_rx.await.map_err(|_| "the journal writer stopped".to_owned())?
    }

    /// Syncs what was written and stops the writer: the last step of a shutdown.
    pub async fn close(&self) {
        let (done_tx, done_rx) = oneshot::channel();
        if self.tx.send(Msg::Close(done_tx)).is_ok() {
            let _ = done_rx.await;
        }
    }
}

fn writer(mut file: File, mut rx: mpsc::UnboundedReceiver<Msg>, healthy: &AtomicBool) {
    let mut closing = None;
    while let Some(first) = rx.blocking_recv() {
        let mut batch = Vec::new();
        for msg in std::iter::once(first).chain(std::iter::from_fn(|| rx.try_recv().ok())) {
            match msg {
                Msg::Write(bytes, done) => batch.push((bytes, done)),
                Msg::Close(done) => closing = Some(done),
            }
        }
        let mut buffer = Vec::with_capacity(batch.iter().map(|(b, _)| b.len()).sum());
        for (bytes, _) in &batch {
            buffer.extend_from_slice(bytes);
        }
        let result = file.write_all(&buffer).and_then(|()| file.sync_data());
        healthy.store(result.is_ok(), Ordering::Relaxed);
        if let Err(e) = &result {
            tracing::error!(error = %e, "Cannot write the journal.");
        }
        for (_, done) in batch {
            let _ = done.send(result.as_ref().map(|_| ()).map_err(ToString::to_string));
        }
        if closing.is_some() {
            break;
        }
    }
    // Closed or every handle is gone: the batches are synced already; sync once more for
    // the metadata of a file that grew.
    let _ = file.sync_all();
    if let Some(done) = closing {
        let _ = done.send(());
    }
}

/// Reads the journal: the unsealed runs (with the alerts that joined them), the runs
/// accepted after `since` and sealed, and the lines to keep, each trigger through
/// `redactor`. A torn last line (a crash mid-write, never acknowledged) is skipped.
fn replay(
    path: &Path,
    since: DateTime<Utc>,
    redactor: &Redactor,
) -> io::Result<(Replayed, Vec<Record>)> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok((Replayed::default(), Vec::new()));
        }
        Err(e) => return Err(e),
    };
    let mut records = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line?;
        match serde_json::from_str::<Record>(&line) {
            Ok(mut record) => {
                if let Record::Accepted { trigger, webhook_id, .. } = &mut record {
                    trigger.redact(redactor);
                    *webhook_id = webhook_id.take().map(|id| redact_webhook_id(redactor, &id));
                }
                records.push(record);
            }
            Err(e) if !line.trim().is_empty() => {
                tracing::warn!(error = %e, "Skipping an unreadable journal line.");
            }
            Err(_) => {}
        }
    }
    let sealed: HashSet<&str> = records
        .iter()
        .filter_map(|r| match r {
            Record::Sealed { bundle, .. } => Some(bundle.as_str()),
            Record::Accepted { .. } => None,
        })
        .collect();
    let fleet_ids: BTreeMap<&str, &str> = records
        .iter()
        .filter_map(|r| match r {
            Record::Sealed { bundle, fleet_id: Some(id), .. } => {
                Some((bundle.as_str(), id.as_str()))
            }
            _ => None,
        })
        .collect();
    let mut runs: BTreeMap<String, Unsealed> = BTreeMap::new();
    let mut recent: BTreeMap<String, Recent> = BTreeMap::new();
    let mut follow_ups: BTreeMap<String, FollowUpReplay> = BTreeMap::new();
    let mut keep = Vec::new();
    for record in &records {
        let Record::Accepted { at, action, bundle: Some(bundle), trigger, follow_up, .. } = record
        else {
            // A seal is kept when the start it closes is.
            if let Record::Sealed { bundle, .. } = record
                && (recent.contains_key(bundle) || follow_ups.contains_key(bundle))
            {
                keep.push(record.clone());
            }
            continue;
        };
        if let Some(follow_up) = follow_up {
            let unsealed = !sealed.contains(follow_up.as_str());
            if unsealed || *at >= since {
                let entry = follow_ups.entry(follow_up.clone()).or_insert_with(|| FollowUpReplay {
                    bundle: follow_up.clone(),
                    incident: bundle.clone(),
                    resolved_at: trigger.resolved_at(*at),
                    accepted_at: *at,
                    trigger: (**trigger).clone(),
                    resolutions: Vec::new(),
                });
                entry.resolved_at = entry.resolved_at.max(trigger.resolved_at(*at));
                entry.resolutions.push(trigger.joined_at(*at));
                // Sealed, it is only remembered: without the body, which is in its bundle.
                let mut record = record.clone();
                if let (false, Record::Accepted { trigger, .. }) = (unsealed, &mut record) {
                    trigger.raw = None;
                }
                keep.push(record);
                // The resolution is also recorded with its incident's run if that one is
                // unsealed, without a second journal line.
                if let Some(run) = runs.get_mut(bundle) {
                    run.trigger.joined.push(trigger.joined_at(*at));
                }
                continue;
            }
        }
        if sealed.contains(bundle.as_str()) {
            // Sealed inside the cooldown: remembered (without the raw payload, which is in
            // the bundle), so a refire after the restart still joins it.
            if *action == Action::Started && *at >= since {
                let keys = trigger.dedup_keys();
                recent.insert(
                    bundle.clone(),
                    Recent {
                        bundle: bundle.clone(),
                        keys,
                        accepted_at: *at,
                        fleet_id: fleet_ids.get(bundle.as_str()).map(|id| (*id).to_owned()),
                    },
                );
                let mut record = record.clone();
                if let Record::Accepted { trigger, .. } = &mut record {
                    trigger.raw = None;
                }
                keep.push(record);
            }
            continue;
        }
        match action {
            Action::Started => {
                runs.insert(
                    bundle.clone(),
                    Unsealed { bundle: bundle.clone(), trigger: (**trigger).clone() },
                );
                keep.push(record.clone());
            }
            Action::Joined | Action::Resolved | Action::Updated => {
                if let Some(run) = runs.get_mut(bundle) {
                    run.trigger.joined.push(trigger.joined_at(*at));
                    keep.push(record.clone());
                }
            }
            Action::Deduplicated | Action::Redelivered => {}
        }
    }
    let (follow_ups, recent_follow_ups) =
        follow_ups.into_values().partition(|f| !sealed.contains(f.bundle.as_str()));
    let replayed = Replayed {
        unsealed: runs.into_values().collect(),
        recent: recent.into_values().collect(),
        follow_ups,
        recent_follow_ups,
    };
    Ok((replayed, keep))
}

/// A sender's `X-Webhook-Id`, as the intake keeps it.
pub fn redact_webhook_id(redactor: &Redactor, id: &str) -> String {
    redactor.redact_pair("X-Webhook-Id", id).into_string()
}

/// Rewrites the journal with only `keep`, atomically (temporary file, fsync, rename,
/// fsync of the directory).
fn compact(path: &Path, keep: &[Record]) -> io::Result<()> {
    let tmp = path.with_extension("compacting");
    {
        let _ = fs::remove_file(&tmp);
        let mut file =
            OpenOptions::new().write(true).create_new(true).mode(PRIVATE_MODE).open(&tmp)?;
        for record in keep {
            serde_json::to_writer(&mut file, record)?;
            file.write_all(b"\n")?;
        }
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap as Map;

    fn accepted(action: Action, bundle: &str, name: &str) -> Record {
        let mut trigger = Trigger::manual(Utc::now(), Map::new());
        trigger.name = name.into();
        Record::Accepted {
            at: Utc::now(),
            action,
            bundle: Some(bundle.into()),
            webhook_id: None,
            trigger: Box::new(trigger),
            follow_up: None,
        }
    }

    fn resolution(incident: &str, follow_up: &str, minutes_ago: i64) -> Record {
        let mut trigger = Trigger::manual(Utc::now() - chrono::Duration::hours(1), Map::new());
        trigger.status = "resolved".into();
        let at = Utc::now();
        trigger.ends_at = Some(at - chrono::Duration::minutes(minutes_ago));
        trigger.raw = Some(serde_json::json!({"status": "resolved"}));
        Record::Accepted {
            at,
            action: Action::Resolved,
            bundle: Some(incident.into()),
            webhook_id: None,
            trigger: Box::new(trigger),
            follow_up: Some(follow_up.into()),
        }
    }

    #[tokio::test]
    async fn follow_ups_not_sealed_wait_again_and_sealed_ones_are_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let cooldown = std::time::Duration::from_secs(900);
        let (journal, closer, _) = Journal::open(&path, cooldown, &Redactor::builtin()).unwrap();
        journal.append(&[accepted(Action::Started, "inc", "A")]).await.unwrap();
        let sealed = |bundle: &str| Record::Sealed {
            at: Utc::now(),
            bundle: bundle.into(),
            written: true,
            fleet_id: None,
        };
        journal.append(&[sealed("inc")]).await.unwrap();
        journal.append(&[resolution("inc", "fu1", 5), resolution("inc", "fu1", 2)]).await.unwrap();
        journal.append(&[accepted(Action::Started, "inc2", "B"), sealed("inc2")]).await.unwrap();
        journal.append(&[resolution("inc2", "fu2", 1), sealed("fu2")]).await.unwrap();
        drop(journal);
        closer.close();

        let (journal, closer, replayed) =
            Journal::open(&path, cooldown, &Redactor::builtin()).unwrap();
        assert_eq!(replayed.follow_ups.len(), 1);
        let waiting = &replayed.follow_ups[0];
        assert_eq!((waiting.bundle.as_str(), waiting.incident.as_str()), ("fu1", "inc"));
        assert_eq!(waiting.resolutions.len(), 2, "both resolutions it gathered");
        let latest = waiting.resolutions[1].ends_at.unwrap();
        assert_eq!(waiting.resolved_at, latest, "it waits after the latest");
        assert!(waiting.trigger.raw.is_some(), "the body is kept for its bundle");
        assert_eq!(replayed.recent_follow_ups.len(), 1);
        assert_eq!(replayed.recent_follow_ups[0].bundle, "fu2");
        drop(journal);
        closer.close();
        // Compacted, it says the same again.
        let (_journal, _closer, replayed) =
            Journal::open(&path, cooldown, &Redactor::builtin()).unwrap();
        assert_eq!(replayed.follow_ups.len(), 1);
        assert_eq!(replayed.recent_follow_ups.len(), 1);
    }

    #[tokio::test]
    async fn unsealed_runs_come_back_with_their_joins_and_the_file_is_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let cooldown = std::time::Duration::from_secs(900);
        let (journal, closer, replayed) =
            Journal::open(&path, cooldown, &Redactor::builtin()).unwrap();
        assert!(replayed.unsealed.is_empty());
        journal
            .append(&[accepted(Action::Started, "a", "A"), accepted(Action::Started, "b", "B")])
            .await
            .unwrap();
        journal.append(&[accepted(Action::Joined, "b", "B2")]).await.unwrap();
        journal
            .append(&[Record::Sealed {
                at: Utc::now(),
                bundle: "a".into(),
                written: true,
                fleet_id: None,
            }])
            .await
            .unwrap();
        drop(journal);
        closer.close();
        // A torn line from a crash mid-write.
        fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"{\"type\":\"acc")
            .unwrap();

        let (journal, closer, replayed) =
            Journal::open(&path, cooldown, &Redactor::builtin()).unwrap();
        let unsealed = &replayed.unsealed;
        assert_eq!(unsealed.len(), 1);
        assert_eq!(unsealed[0].bundle, "b");
        assert_eq!(unsealed[0].trigger.joined.len(), 1);
        // "a" was sealed inside the cooldown: remembered, its start and seal kept.
        assert_eq!(replayed.recent.len(), 1);
        assert_eq!(replayed.recent[0].bundle, "a");
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 4);
        drop(journal);
        closer.close();

        // Past the cooldown a sealed run is forgotten.
        let (_journal, _closer, replayed) =
            Journal::open(&path, std::time::Duration::ZERO, &Redactor::builtin()).unwrap();
        assert!(replayed.recent.is_empty());
        assert_eq!(fs::read_to_string(&path).unwrap().lines().count(), 2);
    }

    /// A replica that joined another replica's run (or took over its claim) answers and
    /// follows up under the fleet's id of the incident: after a restart too.
    #[tokio::test]
    async fn the_fleet_id_of_a_joined_run_comes_back_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let cooldown = std::time::Duration::from_secs(900);
        let (journal, closer, _) = Journal::open(&path, cooldown, &Redactor::builtin()).unwrap();
        let joined = Record::Sealed {
            at: Utc::now(),
            bundle: "mine".into(),
            written: false,
            fleet_id: Some("theirs".into()),
        };
        journal.append(&[accepted(Action::Started, "mine", "A"), joined]).await.unwrap();
        drop(journal);
        closer.close();
        for _ in 0..2 {
            // Once from the file as written, once as compacted.
            let (journal, closer, replayed) =
                Journal::open(&path, cooldown, &Redactor::builtin()).unwrap();
            assert_eq!(replayed.recent.len(), 1);
            assert_eq!(replayed.recent[0].fleet_id.as_deref(), Some("theirs"));
            drop(journal);
            closer.close();
        }
    }
}
