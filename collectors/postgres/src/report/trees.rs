//! Lock trees as evidence: each tree's sessions, the locks they wait for and hold, the
//! root blocker's DDL, the commands a responder may run, and the timeline events.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use witness_collector::{Event, Evidence, Severity};

use super::{EventCaps, pid_list, who};
use crate::ddl::ddl_command;
use crate::locks::{self, PidTree};
use crate::queries::{Activity, Lock, Session};

/// One lock tree: the root blocker and everything waiting behind it.
#[derive(Debug, Serialize)]
pub(super) struct LockTree {
    pub(super) root_pid: i32,
    /// The longest chain of waits below the root (1: sessions wait on the root directly).
    pub(super) depth: usize,
    pub(super) waiting_sessions: usize,
    /// The root is itself waiting on a session of this tree: a deadlock not yet detected.
    pub(super) cycle: bool,
    /// The DDL command the root's (last) query runs, when it runs one.
    pub(super) root_ddl: Option<String>,
    pub(super) root: LockNode,
}

#[derive(Debug, Serialize)]
pub(super) struct LockNode {
    pub(super) pid: i32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) blocked_by: Vec<i32>,
    pub(super) session: Option<Session>,
    /// The locks this session is waiting for.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) waits_for: Vec<LockSummary>,
    /// The locks this session holds that its waiters want (all it holds when none match).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) holds: Vec<LockSummary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) children: Vec<LockNode>,
}

#[derive(Debug, Clone, Serialize)]
pub(super) struct LockSummary {
    pub(super) mode: String,
    pub(super) on: String,
    pub(super) locktype: String,
    pub(super) relation: Option<String>,
    #[serde(with = "witness_collector::time::millis_opt", skip_serializing_if = "Option::is_none")]
    pub(super) waitstart: Option<DateTime<Utc>>,
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

/// What a responder can run about a root blocker; witness never runs it.
#[derive(Debug, Serialize)]
pub(super) struct Suggested {
    pub(super) pid: i32,
    pub(super) reason: String,
    pub(super) cancel: String,
    pub(super) terminate: String,
    /// `cancel` stops the running statement; a session idle in transaction runs none, so
    /// only `terminate` releases its locks.
    pub(super) prefer: &'static str,
}

pub(super) fn lock_trees(a: &Activity) -> (Vec<LockTree>, Vec<Suggested>) {
    let sessions: BTreeMap<i32, &Session> = a.sessions.iter().map(|s| (s.pid, s)).collect();
    let blocked_by: BTreeMap<i32, &Vec<i32>> =
        a.edges.iter().map(|e| (e.pid, &e.blockers)).collect();
    let mut trees = Vec::new();
    let mut suggested = Vec::new();
    for folded in locks::fold(&a.edges) {
        let root = node(&folded.tree, &sessions, &blocked_by, &a.locks);
        let root_ddl = root.session.as_ref().and_then(|s| s.query.as_ref()).and_then(ddl_command);
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

pub(super) fn tree_events(ev: &mut Evidence, caps: &mut EventCaps, tree: &LockTree, i: usize) {
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
            .detail(s.query.clone().map(String::from).unwrap_or_default())
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
            .detail(n.session.as_ref().and_then(|s| s.query.clone()).map(String::from).unwrap_or_default())
            .severity(Severity::Warning)
            .signature(format!("lock_tree:{}", root.pid))
            .pointer(pointer.clone())
            .artifact("activity.json"),
        );
    }
}
