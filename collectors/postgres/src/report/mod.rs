//! Turns what the server said ([`Snapshot`]) into evidence: the `data` sections, the facts
//! the rules test, the timeline events and the notes that say what is missing. Pure: no
//! I/O, so every rule about facts is tested without a server.

mod deltas;
mod trees;

use std::collections::{BTreeMap, BTreeSet};

use chrono::Utc;
use serde::Serialize;
use witness_collector::{Event, Evidence, FactValue, Severity};

use crate::queries::{
    Activity, ConnectionGroup, DatabaseSample, Lock, Replica, Server, Session, Standby, Statement,
};
use deltas::DatabaseStats;
use trees::{LockTree, Suggested};

/// Thresholds and caps from the config that shape the evidence.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    pub long_statement_secs: f64,
    pub idle_in_transaction_secs: f64,
    pub max_query_chars: u32,
}

/// What the statistics views of the connected database hold about statements.
#[derive(Debug, Clone, Default)]
pub enum Statements {
    /// `top_statements = 0`.
    #[default]
    NotAsked,
    /// The extension is not installed in the database of the DSN.
    Absent,
    Listed(Vec<Statement>),
}

/// Replication as the server sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Replication {
    Primary { replicas: Vec<Replica> },
    Standby(Standby),
}

/// Everything read from the server; a section is `None` when it could not be read (its
/// reason is in `problems`).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub target: String,
    pub tls: &'static str,
    pub server: Option<Server>,
    pub connections: Option<Vec<ConnectionGroup>>,
    pub activity: Option<Activity>,
    pub first_sample: Option<DatabaseSample>,
    pub second_sample: Option<DatabaseSample>,
    pub replication: Option<Replication>,
    pub statements: Statements,
    /// What is missing and why: makes the evidence partial.
    pub problems: Vec<String>,
    /// Caps applied and approaches taken.
    pub notes: Vec<String>,
}

/// Most events of one kind kept for the timeline; the data keeps them all.
const MAX_EVENTS_PER_KIND: usize = 50;

#[derive(Debug, Serialize)]
struct Data<'a> {
    target: &'a str,
    tls: &'a str,
    server: Option<&'a Server>,
    privileges: Option<Privileges<'a>>,
    connections: Option<Connections>,
    long_statements: Vec<&'a Session>,
    idle_in_transaction: Vec<&'a Session>,
    lock_trees: Vec<LockTree>,
    ungranted_locks: Vec<&'a Lock>,
    database_stats: Option<DatabaseStats<'a>>,
    replication: Option<&'a Replication>,
    top_statements: Option<&'a [Statement]>,
    suggested_commands: Vec<Suggested>,
}

#[derive(Debug, Serialize)]
struct Privileges<'a> {
    role: &'a str,
    sees_all_sessions: bool,
    /// Sessions of other roles whose state, times and query are hidden from this role.
    hidden_sessions: usize,
}

#[derive(Debug, Serialize)]
struct Connections {
    client_backends: i64,
    max_connections: Option<i64>,
    superuser_reserved_connections: Option<i64>,
    reserved_connections: Option<i64>,
    /// `max_connections` minus the reserved slots: what ordinary roles can use.
    available: Option<i64>,
    used_ratio: Option<f64>,
    by_state: BTreeMap<String, i64>,
    by_database: BTreeMap<String, i64>,
    by_user: BTreeMap<String, i64>,
    by_application: BTreeMap<String, i64>,
}

/// Builds the evidence from a snapshot.
pub fn evidence(snap: &Snapshot, t: &Thresholds) -> Evidence {
    let mut ev = Evidence::ok(String::new());
    for p in &snap.problems {
        ev.add_partial(p.clone());
    }
    for n in &snap.notes {
        ev.add_note(n.clone());
    }
    let mut events = EventCaps::default();
    server_facts(&mut ev, snap);
    let hidden = privilege_note(&mut ev, snap);
    let connections = connection_facts(&mut ev, &mut events, snap);
    let (long, idle) = activity_facts(&mut ev, &mut events, snap, t, hidden);
    let (trees, suggested) = lock_facts(&mut ev, &mut events, snap);
    let stats = deltas::database_stats(snap);
    delta_facts(&mut ev, &mut events, snap, stats.as_ref());
    replication_fact(&mut ev, snap);
    events.note(&mut ev);

    ev.summary = summary(snap, &connections, &trees, &long, &idle, stats.as_ref());
    let data = Data {
        target: &snap.target,
        tls: snap.tls,
        server: snap.server.as_ref(),
        privileges: snap.server.as_ref().map(|s| Privileges {
            role: &s.role,
            sees_all_sessions: s.sees_all_sessions,
            hidden_sessions: hidden,
        }),
        connections,
        long_statements: long,
        idle_in_transaction: idle,
        lock_trees: trees,
        ungranted_locks: sessions_of(snap).1.iter().filter(|l| !l.granted).collect(),
        database_stats: stats,
        replication: snap.replication.as_ref(),
        top_statements: match &snap.statements {
            Statements::Listed(list) => Some(list.as_slice()),
            Statements::NotAsked | Statements::Absent => None,
        },
        suggested_commands: suggested,
    };
    ev.data(data)
}

/// Sets the fact `postgres.<name>`.
fn put(ev: &mut Evidence, name: &str, value: impl Into<FactValue>) {
    ev.facts.insert(format!("postgres.{name}"), value.into());
}

/// The sessions and the locks of the activity snapshot (empty when it was not read).
fn sessions_of(snap: &Snapshot) -> (&[Session], &[Lock]) {
    snap.activity.as_ref().map_or((&[], &[]), |a| (&a.sessions, &a.locks))
}

fn server_facts(ev: &mut Evidence, snap: &Snapshot) {
    if let Some(s) = &snap.server {
        put(ev, "server_version_num", s.version_num);
        put(ev, "in_recovery", s.in_recovery);
        if let Some(up) = s.uptime_secs {
            put(ev, "uptime_secs", up);
        }
    }
}

/// Counts the sessions hidden from this role and, when there are any, says which facts
/// are withheld because of them.
fn privilege_note(ev: &mut Evidence, snap: &Snapshot) -> usize {
    let hidden = sessions_of(snap).0.iter().filter(|s| s.is_hidden()).count();
    if hidden > 0 {
        let role = snap.server.as_ref().map_or("this role", |s| s.role.as_str());
        ev.add_partial(format!(
            "incomplete facts: role {role} is not a member of pg_monitor (or pg_read_all_stats), so \
             {hidden} session(s) of other roles show `<insufficient privilege>` with no state, times \
             or query; postgres.longest_statement_secs, postgres.long_statements, \
             postgres.idle_in_transaction, postgres.longest_idle_in_transaction_secs, \
             postgres.root_blocker_runs_ddl and postgres.root_blocker_longest_xact_secs are not \
             published, connections by state count them as `hidden`, and root blockers among them \
             show no query. Lock trees (pg_locks, pg_blocking_pids) are complete. \
             Fix: GRANT pg_monitor TO {role};"
        ));
    }
    hidden
}

fn connection_facts(
    ev: &mut Evidence,
    events: &mut EventCaps,
    snap: &Snapshot,
) -> Option<Connections> {
    let c = connections(snap)?;
    put(ev, "connections_used", c.client_backends);
    if let Some(a) = c.available {
        put(ev, "connections_available", a);
    }
    if let Some(r) = c.used_ratio {
        put(ev, "connections_used_ratio", r);
        if r >= 0.9 {
            let at = snap.first_sample.as_ref().map_or_else(Utc::now, |s| s.sampled_at);
            events.push(
                ev,
                Event::new(
                    at,
                    "connections_near_max",
                    format!(
                        "{} of {} connections in use ({:.0}%)",
                        c.client_backends,
                        c.available.unwrap_or_default(),
                        r * 100.0
                    ),
                )
                .severity(if r >= 0.98 { Severity::Critical } else { Severity::Warning })
                .pointer("/data/connections")
                .artifact("connections.json"),
            );
        }
    }
    Some(c)
}

/// Long statements and idle transactions, from the activity snapshot. Their facts are
/// withheld when sessions are hidden: a hidden session could be the longest.
fn activity_facts<'a>(
    ev: &mut Evidence,
    events: &mut EventCaps,
    snap: &'a Snapshot,
    t: &Thresholds,
    hidden: usize,
) -> (Vec<&'a Session>, Vec<&'a Session>) {
    let (sessions, _) = sessions_of(snap);
    let long: Vec<&Session> = sessions
        .iter()
        .filter(|s| matches!(s.state.as_deref(), Some("active" | "fastpath function call")))
        .filter(|s| s.query_age_secs.is_some_and(|a| a > t.long_statement_secs))
        .collect();
    let idle: Vec<&Session> = sessions
        .iter()
        .filter(|s| s.is_idle_in_transaction())
        .filter(|s| s.state_age_secs.is_some_and(|a| a > t.idle_in_transaction_secs))
        .collect();
    if snap.activity.is_some() && hidden == 0 {
        let longest = sessions
            .iter()
            .filter(|s| s.state.as_deref() == Some("active"))
            .filter_map(|s| s.query_age_secs)
            .fold(0.0_f64, f64::max);
        put(ev, "longest_statement_secs", longest);
        put(ev, "long_statements", long.len());
        put(ev, "idle_in_transaction", idle.len());
        let longest_idle = idle.iter().filter_map(|s| s.state_age_secs).fold(0.0_f64, f64::max);
        put(ev, "longest_idle_in_transaction_secs", longest_idle);
    }
    for (i, s) in long.iter().enumerate() {
        // A statement waiting for a lock has its `lock_wait` event in its tree already.
        if s.wait_event_type.as_deref() == Some("Lock") {
            continue;
        }
        let Some(at) = s.query_start else { continue };
        let title = format!(
            "Statement started, running {:.1} s (pid {}, {})",
            s.query_age_secs.unwrap_or_default(),
            s.pid,
            who(s)
        );
        let detail = s.query.clone().map(String::from).unwrap_or_default();
        events
            .push(ev, session_event(s, at, "long_statement", title, detail, "long_statements", i));
    }
    for (i, s) in idle.iter().enumerate() {
        let Some(at) = s.state_change else { continue };
        let title = format!(
            "Session went idle in transaction, now {:.1} s (pid {}, {})",
            s.state_age_secs.unwrap_or_default(),
            s.pid,
            who(s)
        );
        let detail = s.query.clone().map(|q| format!("last query: {q}")).unwrap_or_default();
        events.push(
            ev,
            session_event(s, at, "idle_in_transaction", title, detail, "idle_in_transaction", i),
        );
    }
    if let Some(a) = &snap.activity {
        let cut = a.sessions.iter().filter(|s| s.query_truncated == Some(true)).count();
        if cut > 0 {
            ev.add_note(format!(
                "activity: the query text of {cut} session(s) was cut to max_query_chars ({} characters)",
                t.max_query_chars
            ));
        }
        if a.candidate_sessions > a.sessions.len() as i64 {
            ev.add_note(format!(
                "activity: {} sessions matched, the {} in lock trees or with the oldest transactions were kept (max_sessions)",
                a.candidate_sessions,
                a.sessions.len()
            ));
        }
    }
    (long, idle)
}

fn lock_facts(
    ev: &mut Evidence,
    events: &mut EventCaps,
    snap: &Snapshot,
) -> (Vec<LockTree>, Vec<Suggested>) {
    let Some(a) = &snap.activity else { return (Vec::new(), Vec::new()) };
    let (trees, suggested) = trees::lock_trees(a);
    // Facts about "the database" describe the DSN's database: sessions of other databases
    // on the same server (another team's migration) are reported, not counted, so a
    // foreign DDL blocker never makes our migration look guilty.
    let here = snap.server.as_ref().map(|s| s.database.as_str());
    let foreign = |pid: i32| -> Option<&str> {
        let theirs = a.sessions.iter().find(|s| s.pid == pid)?.datname.as_deref()?;
        (here.is_some_and(|h| h != theirs)).then_some(theirs)
    };
    let blocked: BTreeSet<i32> = a
        .edges
        .iter()
        .filter(|e| !e.blockers.is_empty() && foreign(e.pid).is_none())
        .map(|e| e.pid)
        .collect();
    let roots: Vec<&LockTree> =
        trees.iter().filter(|t| !t.cycle && foreign(t.root_pid).is_none()).collect();
    let mut elsewhere: BTreeSet<&str> = BTreeSet::new();
    let foreign_blocked = a
        .edges
        .iter()
        .filter(|e| !e.blockers.is_empty())
        .filter_map(|e| foreign(e.pid))
        .inspect(|d| {
            elsewhere.insert(d);
        })
        .count();
    if foreign_blocked > 0 {
        put(ev, "other_databases_blocked_sessions", foreign_blocked);
        ev.add_note(format!(
            "{foreign_blocked} session(s) of other databases on this server ({}) wait on locks: they are in data.lock_trees, and left out of the facts about {}",
            elsewhere.into_iter().collect::<Vec<_>>().join(", "),
            here.unwrap_or("this database")
        ));
    }
    put(ev, "blocked_sessions", blocked.len());
    put(ev, "root_blockers", roots.len());
    put(ev, "root_blocker_pids", roots.iter().map(|t| t.root_pid).collect::<Vec<_>>());
    put(ev, "lock_tree_max_depth", trees.iter().map(|t| t.depth).max().unwrap_or(0));
    let exclusive =
        roots.iter().any(|t| t.root.holds.iter().any(|l| l.mode == "AccessExclusiveLock"));
    put(ev, "root_blocker_holds_access_exclusive", exclusive);
    // What the roots run is only known when every root's session is visible.
    let root_sessions: Vec<Option<&Session>> =
        roots.iter().map(|t| t.root.session.as_ref()).collect();
    if root_sessions.iter().all(|s| s.is_some_and(|s| !s.is_hidden())) {
        put(ev, "root_blocker_runs_ddl", roots.iter().any(|t| t.root_ddl.is_some()));
        let oldest =
            root_sessions.iter().flatten().filter_map(|s| s.xact_age_secs).fold(0.0, f64::max);
        put(ev, "root_blocker_longest_xact_secs", oldest);
        // Which command ends the first root blocker's hold: pg_cancel_backend stops an
        // active statement, but a session idle in transaction keeps its locks through a
        // cancel, and only pg_terminate_backend releases them.
        if let Some(Some(first)) = root_sessions.first() {
            let idle = first.state.as_deref().is_some_and(|s| s.starts_with("idle in transaction"));
            put(ev, "root_blocker_idle_in_transaction", idle);
        }
    }
    for (i, tree) in trees.iter().enumerate() {
        trees::tree_events(ev, events, tree, i);
    }
    (trees, suggested)
}

/// Deadlocks and friends from the two samples.
fn delta_facts(
    ev: &mut Evidence,
    events: &mut EventCaps,
    snap: &Snapshot,
    stats: Option<&DatabaseStats<'_>>,
) {
    let Some(stats) = stats else { return };
    if let Some(total) = stats.total_delta {
        put(ev, "deadlocks_delta", total.deadlocks);
        put(ev, "rollbacks_delta", total.xact_rollback);
        put(ev, "conflicts_delta", total.conflicts);
        put(ev, "temp_files_delta", total.temp_files);
    }
    let Some(at) = snap.second_sample.as_ref().map(|s| s.sampled_at) else { return };
    for (i, db) in stats.databases.iter().enumerate() {
        let Some(d) = db.delta.filter(|d| d.deadlocks > 0) else { continue };
        let name = &db.cumulative.datname;
        events.push(
            ev,
            Event::new(
                at,
                "deadlock",
                format!("{} deadlock(s) in database {name} during sampling", d.deadlocks),
            )
            .detail(format!(
                "pg_stat_database.deadlocks rose from {} to {} in {} ms",
                db.cumulative.deadlocks - d.deadlocks,
                db.cumulative.deadlocks,
                stats.interval_ms.unwrap_or_default()
            ))
            .severity(Severity::Critical)
            .signature(format!("deadlock:{name}"))
            .pointer(format!("/data/database_stats/databases/{i}"))
            .artifact("database_stats.json"),
        );
    }
}

fn replication_fact(ev: &mut Evidence, snap: &Snapshot) {
    let lag = match &snap.replication {
        Some(Replication::Primary { replicas }) => {
            replicas.iter().filter_map(|r| r.replay_lag_secs).reduce(f64::max)
        }
        Some(Replication::Standby(s)) => s.replay_lag_secs,
        None => None,
    };
    if let Some(lag) = lag {
        put(ev, "replication_max_lag_secs", lag);
    }
}

/// Counts events per kind and keeps at most [`MAX_EVENTS_PER_KIND`] of each.
#[derive(Default)]
struct EventCaps {
    counts: BTreeMap<String, usize>,
}

impl EventCaps {
    fn push(&mut self, ev: &mut Evidence, event: Event) {
        let n = self.counts.entry(event.kind.clone()).or_default();
        *n += 1;
        if *n <= MAX_EVENTS_PER_KIND {
            ev.events.push(event);
        }
    }

    fn note(&self, ev: &mut Evidence) {
        for (kind, n) in self.counts.iter().filter(|(_, n)| **n > MAX_EVENTS_PER_KIND) {
            ev.add_note(format!(
                "timeline: {n} `{kind}` events, the first {MAX_EVENTS_PER_KIND} kept; the data has all of them"
            ));
        }
    }
}

/// `pid 12` or `pids 12, 13`.
fn pid_list(pids: &[i32]) -> String {
    let list: Vec<String> = pids.iter().map(ToString::to_string).collect();
    match list.len() {
        1 => format!("pid {}", list[0]),
        _ => format!("pids {}", list.join(", ")),
    }
}

/// A warning about one session of the activity snapshot: folded per pid, pointing at the
/// session's entry `/data/<list>/<index>` and at `activity.json`.
fn session_event(
    s: &Session,
    at: chrono::DateTime<Utc>,
    kind: &str,
    title: String,
    detail: String,
    list: &str,
    index: usize,
) -> Event {
    Event::new(at, kind, title)
        .detail(detail)
        .severity(Severity::Warning)
        .signature(format!("{kind}:{}", s.pid))
        .pointer(format!("/data/{list}/{index}"))
        .artifact("activity.json")
}

fn who(s: &Session) -> String {
    let user = s.usename.as_deref().unwrap_or("?");
    let db = s.datname.as_deref().unwrap_or("?");
    match s.application_name.as_deref().filter(|a| !a.is_empty()) {
        Some(app) => format!("{user}@{db}, {app}"),
        None => format!("{user}@{db}"),
    }
}

fn connections(snap: &Snapshot) -> Option<Connections> {
    let groups = snap.connections.as_ref()?;
    let mut c = Connections {
        client_backends: groups.iter().map(|g| g.sessions).sum(),
        max_connections: None,
        superuser_reserved_connections: None,
        reserved_connections: None,
        available: None,
        used_ratio: None,
        by_state: BTreeMap::new(),
        by_database: BTreeMap::new(),
        by_user: BTreeMap::new(),
        by_application: BTreeMap::new(),
    };
    let name =
        |v: &Option<String>| v.clone().filter(|v| !v.is_empty()).unwrap_or_else(|| "(none)".into());
    for g in groups {
        *c.by_state.entry(g.state.clone()).or_default() += g.sessions;
        *c.by_database.entry(name(&g.datname)).or_default() += g.sessions;
        *c.by_user.entry(name(&g.usename)).or_default() += g.sessions;
        *c.by_application.entry(name(&g.application_name)).or_default() += g.sessions;
    }
    if let Some(s) = &snap.server {
        let available =
            s.max_connections - s.superuser_reserved_connections - s.reserved_connections;
        c.max_connections = Some(s.max_connections);
        c.superuser_reserved_connections = Some(s.superuser_reserved_connections);
        c.reserved_connections = Some(s.reserved_connections);
        c.available = Some(available);
        if available > 0 {
            c.used_ratio = Some(c.client_backends as f64 / available as f64);
        }
    }
    Some(c)
}

fn summary(
    snap: &Snapshot,
    connections: &Option<Connections>,
    trees: &[LockTree],
    long: &[&Session],
    idle: &[&Session],
    stats: Option<&DatabaseStats<'_>>,
) -> String {
    let mut parts = Vec::new();
    if let Some(c) = connections {
        match c.available {
            Some(a) => parts.push(format!("{}/{a} connections", c.client_backends)),
            None => parts.push(format!("{} connections", c.client_backends)),
        }
    }
    if snap.activity.is_some() {
        let roots = trees.iter().filter(|t| !t.cycle).count();
        if roots > 0 {
            let waiting: usize = trees.iter().map(|t| t.waiting_sessions).sum();
            let pids: Vec<String> =
                trees.iter().filter(|t| !t.cycle).map(|t| t.root_pid.to_string()).collect();
            parts.push(format!(
                "{roots} root blocker(s) (pid {}) holding up {waiting} session(s)",
                pids.join(", ")
            ));
        } else {
            parts.push("no lock waits".into());
        }
        parts.push(format!("{} long statement(s)", long.len()));
        parts.push(format!("{} idle in transaction", idle.len()));
    }
    if let Some(d) = stats.and_then(|s| s.total_delta) {
        parts.push(format!("{} deadlock(s) during sampling", d.deadlocks));
    }
    let server = snap
        .server
        .as_ref()
        .map(|s| {
            format!("PostgreSQL {}{}", s.version, if s.in_recovery { " (standby)" } else { "" })
        })
        .unwrap_or_else(|| "PostgreSQL".into());
    if parts.is_empty() {
        format!("{server} at {}: nothing could be read", snap.target)
    } else {
        format!("{server} at {}: {}", snap.target, parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queries::{DatabaseCounters, Edge};

    fn session(pid: i32, state: &str, query: &str, age: f64) -> Session {
        let now = Utc::now();
        let at = now - chrono::Duration::milliseconds((age * 1000.0) as i64);
        let text = |t: &str| Some(witness_collector::Redactor::builtin().redact(t));
        Session {
            pid,
            datname: text("app"),
            usename: text("app"),
            application_name: text("api"),
            client_addr: text("10.0.0.7"),
            state: Some(state.into()),
            wait_event_type: None,
            wait_event: None,
            backend_start: Some(at),
            xact_start: Some(at),
            query_start: Some(at),
            state_change: Some(at),
            query_age_secs: Some(age),
            xact_age_secs: Some(age),
            state_age_secs: Some(age),
            query: text(query),
            query_truncated: Some(false),
            hidden: Some(false),
        }
    }

    fn lock(pid: i32, granted: bool, mode: &str, rel: &str) -> Lock {
        Lock {
            pid,
            granted,
            locktype: "relation".into(),
            mode: mode.into(),
            datname: Some("app".into()),
            relation: Some(rel.into()),
            page: None,
            tuple: None,
            transactionid: None,
            virtualxid: None,
            waitstart: if granted { None } else { Some(Utc::now()) },
        }
    }

    fn thresholds() -> Thresholds {
        Thresholds {
            long_statement_secs: 5.0,
            idle_in_transaction_secs: 5.0,
            max_query_chars: 1000,
        }
    }

    fn blocked_snapshot(root_query: &str) -> Snapshot {
        Snapshot {
            target: "db:5432/app".into(),
            tls: "prefer",
            activity: Some(Activity {
                sessions: vec![
                    session(10, "idle in transaction", root_query, 60.0),
                    session(11, "active", "SELECT * FROM orders", 3.0),
                ],
                candidate_sessions: 2,
                edges: vec![Edge { pid: 11, blockers: vec![10] }],
                locks: vec![
                    lock(10, true, "AccessExclusiveLock", "orders"),
                    lock(10, true, "RowExclusiveLock", "audit"),
                    lock(11, false, "AccessShareLock", "orders"),
                ],
            }),
            ..Snapshot::default()
        }
    }

    #[test]
    fn a_root_blocker_running_ddl_is_named_with_its_lock_and_commands() {
        let ev = evidence(&blocked_snapshot("ALTER TABLE orders ADD COLUMN x int"), &thresholds());
        assert_eq!(ev.facts["postgres.root_blockers"], 1.into());
        assert_eq!(ev.facts["postgres.root_blocker_pids"], vec![10].into());
        assert_eq!(ev.facts["postgres.root_blocker_runs_ddl"], true.into());
        assert!(ev.facts.contains_key("postgres.root_blocker_idle_in_transaction"));
        assert_eq!(ev.facts["postgres.root_blocker_holds_access_exclusive"], true.into());
        let tree = &ev.data["lock_trees"][0];
        assert_eq!(
            tree["root"]["holds"].as_array().unwrap().len(),
            1,
            "only the lock waiters want"
        );
        assert_eq!(tree["root"]["holds"][0]["on"], "relation orders");
        let cmd = &ev.data["suggested_commands"][0];
        assert_eq!(cmd["terminate"], "SELECT pg_terminate_backend(10)");
        assert_eq!(
            cmd["prefer"], "terminate",
            "an idle-in-transaction root runs nothing to cancel"
        );
        assert!(ev.events.iter().any(|e| e.kind == "root_blocker_transaction"));
        assert!(
            ev.events.iter().any(
                |e| e.kind == "lock_wait" && e.pointer.as_deref() == Some("/data/lock_trees/0")
            )
        );
    }

    /// Issue 15: another database's DDL blocker on the same server is reported apart and
    /// feeds no fact about ours.
    #[test]
    fn locks_of_other_databases_are_reported_apart() {
        let mut snap = blocked_snapshot("ALTER TABLE orders ADD COLUMN x int");
        snap.server = Some(
            serde_json::from_value(serde_json::json!({
                "version": "16.2", "version_num": 160002, "uptime_secs": 1000.0,
                "in_recovery": false, "database": "shop", "role": "witness",
                "sees_all_sessions": true, "max_connections": 100,
                "superuser_reserved_connections": 3, "reserved_connections": 0,
                "track_activity_query_size": "1024", "pg_stat_statements_schema": null
            }))
            .unwrap(),
        );
        let ev = evidence(&snap, &thresholds());
        assert_eq!(ev.facts["postgres.blocked_sessions"], 0.into());
        assert_eq!(ev.facts["postgres.root_blockers"], 0.into());
        assert_eq!(ev.facts["postgres.other_databases_blocked_sessions"], 1.into());
        assert!(
            ev.notes.iter().any(|n| n.contains("of other databases on this server (app)")),
            "{:?}",
            ev.notes
        );
        assert_eq!(ev.data["lock_trees"].as_array().unwrap().len(), 1, "still reported");
    }

    #[test]
    fn hidden_sessions_withhold_the_facts_they_would_fake() {
        let mut snap = blocked_snapshot("<insufficient privilege>");
        let root = &mut snap.activity.as_mut().unwrap().sessions[0];
        root.hidden = Some(true);
        root.state = None;
        let ev = evidence(&snap, &thresholds());
        assert_eq!(ev.status, witness_collector::Status::Partial);
        assert!(ev.notes[0].starts_with("incomplete facts:"), "{:?}", ev.notes);
        assert!(!ev.facts.contains_key("postgres.longest_statement_secs"));
        assert!(!ev.facts.contains_key("postgres.idle_in_transaction"));
        assert!(!ev.facts.contains_key("postgres.root_blocker_runs_ddl"));
        assert_eq!(ev.facts["postgres.blocked_sessions"], 1.into());
    }

    #[test]
    fn deltas_sum_over_databases_and_survive_a_reset() {
        let counters = |name: &str, deadlocks| DatabaseCounters {
            datname: name.into(),
            numbackends: 1,
            xact_commit: 10,
            xact_rollback: 1,
            deadlocks,
            conflicts: 0,
            temp_files: 0,
            temp_bytes: 0,
            stats_reset: None,
        };
        let t0 = Utc::now();
        let snap = Snapshot {
            first_sample: Some(DatabaseSample {
                sampled_at: t0,
                databases: vec![counters("a", 5), counters("b", 7)],
            }),
            second_sample: Some(DatabaseSample {
                sampled_at: t0 + chrono::Duration::seconds(1),
                databases: vec![counters("a", 6), counters("b", 1)],
            }),
            ..Snapshot::default()
        };
        let ev = evidence(&snap, &thresholds());
        assert_eq!(ev.facts["postgres.deadlocks_delta"], 2.into());
        assert_eq!(ev.events.iter().filter(|e| e.kind == "deadlock").count(), 2);
        assert_eq!(ev.data["database_stats"]["interval_ms"], 1000);
    }

    #[test]
    fn a_single_sample_publishes_no_delta() {
        let snap = Snapshot {
            first_sample: Some(DatabaseSample { sampled_at: Utc::now(), databases: vec![] }),
            ..Snapshot::default()
        };
        let ev = evidence(&snap, &thresholds());
        assert!(!ev.facts.contains_key("postgres.deadlocks_delta"));
    }

    #[test]
    fn connections_near_the_usable_limit_are_an_event_and_a_ratio() {
        let group = |state: &str, n| ConnectionGroup {
            state: state.into(),
            datname: Some("app".into()),
            usename: Some("app".into()),
            application_name: None,
            sessions: n,
        };
        let server: Server = serde_json::from_value(serde_json::json!({
            "version": "15.20", "version_num": 150020, "started_at": null, "uptime_secs": 10.0,
            "in_recovery": false, "database": "app", "role": "witness", "sees_all_sessions": true,
            "max_connections": 100, "superuser_reserved_connections": 3, "reserved_connections": 0,
            "track_activity_query_size": "1024", "pg_stat_statements_schema": null
        }))
        .unwrap();
        let snap = Snapshot {
            target: "db:5432/app".into(),
            server: Some(server),
            connections: Some(vec![group("idle", 80), group("active", 15)]),
            ..Snapshot::default()
        };
        let ev = evidence(&snap, &thresholds());
        assert_eq!(ev.facts["postgres.connections_used"], 95.into());
        assert_eq!(ev.facts["postgres.connections_available"], 97.into());
        let ratio = ev.facts["postgres.connections_used_ratio"].as_f64().unwrap();
        assert!((ratio - 95.0 / 97.0).abs() < 1e-9);
        let event = ev.events.iter().find(|e| e.kind == "connections_near_max").unwrap();
        assert_eq!(event.title, "95 of 97 connections in use (98%)");
        assert_eq!(event.severity, Severity::Warning);
        assert_eq!(ev.data["connections"]["by_state"]["idle"], 80);
        assert_eq!(ev.summary, "PostgreSQL 15.20 at db:5432/app: 95/97 connections");
        // Without an activity snapshot no lock or statement fact pretends to be healthy.
        assert!(!ev.facts.contains_key("postgres.blocked_sessions"));
        assert!(!ev.facts.contains_key("postgres.longest_statement_secs"));
    }
}
