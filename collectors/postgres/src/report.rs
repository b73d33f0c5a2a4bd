//! Turns what the server said ([`Snapshot`]) into evidence: the `data` sections, the facts
//! the rules test, the timeline events and the notes that say what is missing. Pure: no
//! I/O, so every rule about facts is tested without a server.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use witness_collector::{Event, Evidence, Severity};

use crate::ddl::ddl_command;
use crate::locks::{self, PidTree};
use crate::queries::{
    Activity, ConnectionGroup, DatabaseCounters, DatabaseSample, Lock, Replica, Server, Session,
    Standby, Statement,
};

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

/// One lock tree: the root blocker and everything waiting behind it.
#[derive(Debug, Serialize)]
struct LockTree {
    root_pid: i32,
    /// The longest chain of waits below the root (1: sessions wait on the root directly).
    depth: usize,
    waiting_sessions: usize,
    /// The root is itself waiting on a session of this tree: a deadlock not yet detected.
    cycle: bool,
    /// The DDL command the root's (last) query runs, when it runs one.
    root_ddl: Option<String>,
    root: LockNode,
}

#[derive(Debug, Serialize)]
struct LockNode {
    pid: i32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    blocked_by: Vec<i32>,
    session: Option<Session>,
    /// The locks this session is waiting for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    waits_for: Vec<LockSummary>,
    /// The locks this session holds that its waiters want (all it holds when none match).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    holds: Vec<LockSummary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    children: Vec<LockNode>,
}

#[derive(Debug, Clone, Serialize)]
struct LockSummary {
    mode: String,
    on: String,
    locktype: String,
    relation: Option<String>,
    #[serde(with = "witness_collector::time::millis_opt", skip_serializing_if = "Option::is_none")]
    waitstart: Option<DateTime<Utc>>,
}

impl From<&Lock> for LockSummary {
    fn from(l: &Lock) -> Self {
        Self {
            mode: l.mode.clone(),
            on: l.object(),
            locktype: l.locktype.clone(),
            relation: l.relation.clone(),
            waitstart: l.waitstart,
        }
    }
}

#[derive(Debug, Serialize)]
struct DatabaseStats<'a> {
    #[serde(with = "witness_collector::time::millis")]
    first_sampled_at: DateTime<Utc>,
    #[serde(with = "witness_collector::time::millis_opt")]
    second_sampled_at: Option<DateTime<Utc>>,
    interval_ms: Option<i64>,
    /// Sum over all databases of what changed between the samples.
    total_delta: Option<Delta>,
    databases: Vec<DatabaseDelta<'a>>,
}

#[derive(Debug, Serialize)]
struct DatabaseDelta<'a> {
    #[serde(flatten)]
    cumulative: &'a DatabaseCounters,
    delta: Option<Delta>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
struct Delta {
    deadlocks: i64,
    xact_rollback: i64,
    xact_commit: i64,
    conflicts: i64,
    temp_files: i64,
    temp_bytes: i64,
}

impl Delta {
    fn between(a: &DatabaseCounters, b: &DatabaseCounters) -> Self {
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

/// What a responder can run about a root blocker; witness never runs it.
#[derive(Debug, Serialize)]
struct Suggested {
    pid: i32,
    reason: String,
    cancel: String,
    terminate: String,
    /// `cancel` stops the running statement; a session idle in transaction runs none, so
    /// only `terminate` releases its locks.
    prefer: &'static str,
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
    let f = |name: &str| format!("postgres.{name}");

    if let Some(s) = &snap.server {
        ev = ev.fact(f("server_version_num"), s.version_num).fact(f("in_recovery"), s.in_recovery);
        if let Some(up) = s.uptime_secs {
            ev = ev.fact(f("uptime_secs"), up);
        }
    }

    // Who we could not see decides which facts are honest.
    let sessions: &[Session] = snap.activity.as_ref().map_or(&[], |a| &a.sessions);
    let hidden = sessions.iter().filter(|s| s.is_hidden()).count();
    let privileges = snap.server.as_ref().map(|s| Privileges {
        role: &s.role,
        sees_all_sessions: s.sees_all_sessions,
        hidden_sessions: hidden,
    });
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

    let connections = connections(snap);
    if let Some(c) = &connections {
        ev = ev.fact(f("connections_used"), c.client_backends);
        if let Some(a) = c.available {
            ev = ev.fact(f("connections_available"), a);
        }
        if let Some(r) = c.used_ratio {
            ev = ev.fact(f("connections_used_ratio"), r);
            if r >= 0.9 {
                let at = snap.first_sample.as_ref().map_or_else(Utc::now, |s| s.sampled_at);
                ev = ev.event(
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
    }

    // Long statements and idle transactions, from the activity snapshot.
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
        let longest_idle = idle.iter().filter_map(|s| s.state_age_secs).fold(0.0_f64, f64::max);
        ev = ev
            .fact(f("longest_statement_secs"), longest)
            .fact(f("long_statements"), long.len())
            .fact(f("idle_in_transaction"), idle.len())
            .fact(f("longest_idle_in_transaction_secs"), longest_idle);
    }
    let mut events = EventCaps::default();
    for (i, s) in long.iter().enumerate() {
        if let Some(at) = s.query_start {
            events.push(
                &mut ev,
                Event::new(
                    at,
                    "long_statement",
                    format!(
                        "Statement started, running {:.1} s (pid {}, {})",
                        s.query_age_secs.unwrap_or_default(),
                        s.pid,
                        who(s)
                    ),
                )
                .detail(s.query.clone().unwrap_or_default())
                .severity(Severity::Warning)
                .signature(format!("long_statement:{}", s.pid))
                .pointer(format!("/data/long_statements/{i}"))
                .artifact("activity.json"),
            );
        }
    }
    for (i, s) in idle.iter().enumerate() {
        if let Some(at) = s.state_change {
            events.push(
                &mut ev,
                Event::new(
                    at,
                    "idle_in_transaction",
                    format!(
                        "Session went idle in transaction, now {:.1} s (pid {}, {})",
                        s.state_age_secs.unwrap_or_default(),
                        s.pid,
                        who(s)
                    ),
                )
                .detail(s.query.clone().map(|q| format!("last query: {q}")).unwrap_or_default())
                .severity(Severity::Warning)
                .signature(format!("idle_in_transaction:{}", s.pid))
                .pointer(format!("/data/idle_in_transaction/{i}"))
                .artifact("activity.json"),
            );
        }
    }

    // Lock trees.
    let (trees, suggested) = match &snap.activity {
        Some(a) => lock_trees(a),
        None => (Vec::new(), Vec::new()),
    };
    if let Some(a) = &snap.activity {
        let blocked: BTreeSet<i32> =
            a.edges.iter().filter(|e| !e.blockers.is_empty()).map(|e| e.pid).collect();
        let roots: Vec<&LockTree> = trees.iter().filter(|t| !t.cycle).collect();
        ev = ev
            .fact(f("blocked_sessions"), blocked.len())
            .fact(f("root_blockers"), roots.len())
            .fact(f("root_blocker_pids"), roots.iter().map(|t| t.root_pid).collect::<Vec<_>>())
            .fact(f("lock_tree_max_depth"), trees.iter().map(|t| t.depth).max().unwrap_or(0))
            .fact(
                f("root_blocker_holds_access_exclusive"),
                roots.iter().any(|t| t.root.holds.iter().any(|l| l.mode == "AccessExclusiveLock")),
            );
        let root_sessions: Vec<Option<&Session>> =
            roots.iter().map(|t| t.root.session.as_ref()).collect();
        let all_visible = root_sessions.iter().all(|s| s.is_some_and(|s| !s.is_hidden()));
        if all_visible {
            ev = ev.fact(f("root_blocker_runs_ddl"), roots.iter().any(|t| t.root_ddl.is_some()));
            let oldest =
                root_sessions.iter().flatten().filter_map(|s| s.xact_age_secs).fold(0.0, f64::max);
            ev = ev.fact(f("root_blocker_longest_xact_secs"), oldest);
        }
        for (i, tree) in trees.iter().enumerate() {
            tree_events(&mut ev, &mut events, tree, i);
        }
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

    // Deadlocks and friends from the two samples.
    let stats = database_stats(snap);
    if let Some(total) = stats.as_ref().and_then(|s| s.total_delta) {
        ev = ev
            .fact(f("deadlocks_delta"), total.deadlocks)
            .fact(f("rollbacks_delta"), total.xact_rollback)
            .fact(f("conflicts_delta"), total.conflicts)
            .fact(f("temp_files_delta"), total.temp_files);
    }
    if let (Some(stats), Some(at)) = (&stats, snap.second_sample.as_ref().map(|s| s.sampled_at)) {
        for (i, db) in stats.databases.iter().enumerate() {
            if let Some(d) = db.delta.filter(|d| d.deadlocks > 0) {
                events.push(
                    &mut ev,
                    Event::new(
                        at,
                        "deadlock",
                        format!(
                            "{} deadlock(s) in database {} during sampling",
                            d.deadlocks, db.cumulative.datname
                        ),
                    )
                    .detail(format!(
                        "pg_stat_database.deadlocks rose from {} to {} in {} ms",
                        db.cumulative.deadlocks - d.deadlocks,
                        db.cumulative.deadlocks,
                        stats.interval_ms.unwrap_or_default()
                    ))
                    .severity(Severity::Critical)
                    .signature(format!("deadlock:{}", db.cumulative.datname))
                    .pointer(format!("/data/database_stats/databases/{i}"))
                    .artifact("database_stats.json"),
                );
            }
        }
    }

    if let Some(lag) = match &snap.replication {
        Some(Replication::Primary { replicas }) => {
            replicas.iter().filter_map(|r| r.replay_lag_secs).reduce(f64::max)
        }
        Some(Replication::Standby(s)) => s.replay_lag_secs,
        None => None,
    } {
        ev = ev.fact(f("replication_max_lag_secs"), lag);
    }

    let top_statements = match &snap.statements {
        Statements::Listed(list) => Some(list.as_slice()),
        _ => None,
    };
    events.note(&mut ev);
    ev.summary = summary(snap, &connections, &trees, &long, &idle, stats.as_ref());
    let data = Data {
        target: &snap.target,
        tls: snap.tls,
        server: snap.server.as_ref(),
        privileges,
        connections,
        long_statements: long,
        idle_in_transaction: idle,
        lock_trees: trees,
        ungranted_locks: snap
            .activity
            .iter()
            .flat_map(|a| &a.locks)
            .filter(|l| !l.granted)
            .collect(),
        database_stats: stats,
        replication: snap.replication.as_ref(),
        top_statements,
        suggested_commands: suggested,
    };
    ev.data(data)
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

fn lock_trees(a: &Activity) -> (Vec<LockTree>, Vec<Suggested>) {
    let sessions: BTreeMap<i32, &Session> = a.sessions.iter().map(|s| (s.pid, s)).collect();
    let blocked_by: BTreeMap<i32, &Vec<i32>> =
        a.edges.iter().map(|e| (e.pid, &e.blockers)).collect();
    let mut trees = Vec::new();
    let mut suggested = Vec::new();
    for folded in locks::fold(&a.edges) {
        let root = node(&folded.tree, &sessions, &blocked_by, &a.locks);
        let root_ddl = root.session.as_ref().and_then(|s| s.query.as_deref()).and_then(ddl_command);
        let tree = LockTree {
            root_pid: folded.tree.pid,
            depth: folded.tree.depth(),
            waiting_sessions: folded.tree.waiting(),
            cycle: folded.cycle,
            root_ddl,
            root,
        };
        if !tree.cycle {
            suggested.push(suggest(&tree));
        }
        trees.push(tree);
    }
    (trees, suggested)
}

fn node(
    tree: &PidTree,
    sessions: &BTreeMap<i32, &Session>,
    blocked_by: &BTreeMap<i32, &Vec<i32>>,
    all_locks: &[Lock],
) -> LockNode {
    let waits: Vec<&Lock> = all_locks.iter().filter(|l| l.pid == tree.pid && !l.granted).collect();
    let held: Vec<&Lock> = all_locks.iter().filter(|l| l.pid == tree.pid && l.granted).collect();
    let children: Vec<LockNode> =
        tree.children.iter().map(|c| node(c, sessions, blocked_by, all_locks)).collect();
    // The locks that matter: the ones the waiters below want.
    let wanted: Vec<&Lock> = all_locks
        .iter()
        .filter(|l| !l.granted && tree.children.iter().any(|c| c.pid == l.pid))
        .collect();
    let mut holds: Vec<LockSummary> = held
        .iter()
        .filter(|h| wanted.iter().any(|w| w.same_object(h)))
        .map(|h| LockSummary::from(*h))
        .collect();
    if holds.is_empty() && !children.is_empty() {
        holds = held.iter().take(10).map(|h| LockSummary::from(*h)).collect();
    }
    LockNode {
        pid: tree.pid,
        blocked_by: blocked_by.get(&tree.pid).map(|b| b.to_vec()).unwrap_or_default(),
        session: sessions.get(&tree.pid).map(|s| (*s).clone()),
        waits_for: waits.into_iter().map(LockSummary::from).collect(),
        holds,
        children,
    }
}

fn suggest(tree: &LockTree) -> Suggested {
    let pid = tree.root_pid;
    let idle = tree.root.session.as_ref().is_some_and(Session::is_idle_in_transaction);
    let holding = tree
        .root
        .holds
        .first()
        .map(|l| format!(", holds {} on {}", l.mode, l.on))
        .unwrap_or_default();
    Suggested {
        pid,
        reason: format!("root blocker of {} waiting session(s){holding}", tree.waiting_sessions),
        cancel: format!("SELECT pg_cancel_backend({pid})"),
        terminate: format!("SELECT pg_terminate_backend({pid})"),
        prefer: if idle { "terminate" } else { "cancel" },
    }
}

fn tree_events(ev: &mut Evidence, caps: &mut EventCaps, tree: &LockTree, i: usize) {
    let root = &tree.root;
    let pointer = format!("/data/lock_trees/{i}");
    // A cycle has no root blocker: its top is just where the cycle was cut.
    if !tree.cycle
        && let Some(s) = &root.session
        && let Some(at) = s.xact_start
    {
        let holding = root
            .holds
            .first()
            .map(|l| format!(", holds {} on {}", l.mode, l.on))
            .unwrap_or_default();
        caps.push(
            ev,
            Event::new(
                at,
                "root_blocker_transaction",
                format!(
                    "Transaction began that now blocks {} session(s) (root blocker pid {}, {}{holding})",
                    tree.waiting_sessions,
                    root.pid,
                    who(s)
                ),
            )
            .detail(s.query.clone().unwrap_or_default())
            .severity(Severity::Critical)
            .signature(format!("root_blocker:{}", root.pid))
            .pointer(pointer.clone())
            .artifact("activity.json"),
        );
    }
    let mut stack: Vec<&LockNode> = root.children.iter().collect();
    while let Some(n) = stack.pop() {
        stack.extend(n.children.iter());
        let wait = n.waits_for.first();
        let began =
            wait.and_then(|w| w.waitstart).or(n.session.as_ref().and_then(|s| s.query_start));
        let Some(at) = began else { continue };
        let what =
            wait.map(|w| format!("{} on {}", w.mode, w.on)).unwrap_or_else(|| "a lock".into());
        caps.push(
            ev,
            Event::new(
                at,
                "lock_wait",
                format!(
                    "pid {} began waiting for {what} (blocked by {})",
                    n.pid,
                    pid_list(&n.blocked_by)
                ),
            )
            .detail(n.session.as_ref().and_then(|s| s.query.clone()).unwrap_or_default())
            .severity(Severity::Warning)
            .signature(format!("lock_tree:{}", root.pid))
            .pointer(pointer.clone())
            .artifact("activity.json"),
        );
    }
}

fn database_stats(snap: &Snapshot) -> Option<DatabaseStats<'_>> {
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
    use crate::queries::Edge;

    fn session(pid: i32, state: &str, query: &str, age: f64) -> Session {
        let now = Utc::now();
        let at = now - chrono::Duration::milliseconds((age * 1000.0) as i64);
        Session {
            pid,
            datname: Some("app".into()),
            usename: Some("app".into()),
            application_name: Some("api".into()),
            client_addr: Some("10.0.0.7".into()),
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
            query: Some(query.into()),
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
}
