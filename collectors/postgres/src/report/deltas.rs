//! Deltas of `pg_stat_database` between the two samples: deadlocks, rollbacks, conflicts
//! and temp files during collection, beside the cumulative counters.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Snapshot;
use crate::queries::DatabaseCounters;

#[derive(Debug, Serialize)]
pub(super) struct DatabaseStats<'a> {
    #[serde(with = "witness_collector::time::millis")]
    pub(super) first_sampled_at: DateTime<Utc>,
    #[serde(with = "witness_collector::time::millis_opt")]
    pub(super) second_sampled_at: Option<DateTime<Utc>>,
    pub(super) interval_ms: Option<i64>,
    /// Sum over all databases of what changed between the samples.
    pub(super) total_delta: Option<Delta>,
    pub(super) databases: Vec<DatabaseDelta<'a>>,
}

#[derive(Debug, Serialize)]
pub(super) struct DatabaseDelta<'a> {
    #[serde(flatten)]
    pub(super) cumulative: &'a DatabaseCounters,
    pub(super) delta: Option<Delta>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(super) struct Delta {
    pub(super) deadlocks: i64,
    pub(super) xact_rollback: i64,
    pub(super) xact_commit: i64,
    pub(super) conflicts: i64,
    pub(super) temp_files: i64,
    pub(super) temp_bytes: i64,
}

impl Delta {
    pub(super) fn between(a: &DatabaseCounters, b: &DatabaseCounters) -> Self {
        // A counter that went down was reset between the samples: count from zero.
        let d = |x: i64, y: i64| if y >= x { y - x } else { y };
        Self {
            deadlocks: d(a.deadlocks, b.deadlocks),
            xact_rollback: d(a.xact_rollback, b.xact_rollback),
            xact_commit: d(a.xact_commit, b.xact_commit),
            conflicts: d(a.conflicts, b.conflicts),
            temp_files: d(a.temp_files, b.temp_files),
            temp_bytes: d(a.temp_bytes, b.temp_bytes),
        }
    }

    fn add(self, o: Delta) -> Self {
        Self {
            deadlocks: self.deadlocks + o.deadlocks,
            xact_rollback: self.xact_rollback + o.xact_rollback,
            xact_commit: self.xact_commit + o.xact_commit,
            conflicts: self.conflicts + o.conflicts,
            temp_files: self.temp_files + o.temp_files,
            temp_bytes: self.temp_bytes + o.temp_bytes,
        }
    }
}

pub(super) fn database_stats(snap: &Snapshot) -> Option<DatabaseStats<'_>> {
    let first = snap.first_sample.as_ref()?;
    let second = snap.second_sample.as_ref();
    let mut total: Option<Delta> = second.map(|_| Delta::default());
    let later = second.unwrap_or(first);
    let databases = later
        .databases
        .iter()
        .map(|db| {
            let before = first.databases.iter().find(|d| d.datname == db.datname);
            let delta = second.and(before).map(|b| Delta::between(b, db));
            if let (Some(t), Some(d)) = (total.as_mut(), delta) {
                *t = t.add(d);
            }
            DatabaseDelta { cumulative: db, delta }
        })
        .collect();
    Some(DatabaseStats {
        first_sampled_at: first.sampled_at,
        second_sampled_at: second.map(|s| s.sampled_at),
        interval_ms: second.map(|s| (s.sampled_at - first.sampled_at).num_milliseconds()),
        total_delta: total,
        databases,
    })
}
