//! The declaration of the `postgres` kind: what it sees, the facts it publishes (documented in
//! its FACTS.md, which the tests hold to this list) and how several instances' facts merge.

use witness_collector::kind::{
    Check::{Int, Number, Word},
    Merge::{Max, Min, Or, Primary, Sum},
};
use witness_collector::{KindDecl, fact};

/// The `postgres` kind, as the registry, the rules and the docs see it.
pub const KIND: KindDecl = KindDecl {
    name: "postgres",
    sees: "activity, lock chains, connection pressure, deadlocks, replication",
    facts: &[
        fact("postgres.connections_used", "int", Max, Int, "client backends"),
        fact("postgres.connections_available", "int", Primary, Int, "usable max_connections"),
        fact(
            "postgres.connections_used_ratio",
            "float",
            Max,
            Number,
            "used / available connections",
        ),
        fact("postgres.blocked_sessions", "int", Sum, Int, "sessions waiting on a lock"),
        fact("postgres.root_blockers", "int", Sum, Int, "blockers at the top of lock trees"),
        fact(
            "postgres.root_blocker_pids",
            "list",
            Primary,
            Int,
            "root blocker pids, largest first",
        ),
        fact("postgres.lock_tree_max_depth", "int", Max, Int, "longest chain of lock waits"),
        fact(
            "postgres.root_blocker_holds_access_exclusive",
            "bool",
            Or,
            Word,
            "a root blocker holds an AccessExclusiveLock",
        ),
        fact("postgres.root_blocker_runs_ddl", "bool", Or, Word, "a root blocker runs DDL"),
        fact(
            "postgres.root_blocker_longest_xact_secs",
            "float",
            Max,
            Number,
            "oldest root xact (s)",
        ),
        fact(
            "postgres.longest_statement_secs",
            "float",
            Max,
            Number,
            "oldest active statement (s)",
        ),
        fact("postgres.long_statements", "int", Sum, Int, "statements over the threshold"),
        fact("postgres.idle_in_transaction", "int", Sum, Int, "sessions idle in transaction"),
        fact(
            "postgres.longest_idle_in_transaction_secs",
            "float",
            Max,
            Number,
            "longest idle xact",
        ),
        fact("postgres.deadlocks_delta", "int", Sum, Int, "deadlocks during sampling"),
        fact("postgres.rollbacks_delta", "int", Sum, Int, "rollbacks during sampling"),
        fact("postgres.conflicts_delta", "int", Sum, Int, "recovery conflicts during sampling"),
        fact("postgres.temp_files_delta", "int", Sum, Int, "temp files during sampling"),
        fact("postgres.in_recovery", "bool", Or, Word, "the server is a standby"),
        fact("postgres.replication_max_lag_secs", "float", Max, Number, "replication lag (s)"),
        fact("postgres.server_version_num", "int", Primary, Int, "server_version_num"),
        fact("postgres.uptime_secs", "float", Min, Number, "time since the postmaster started"),
        fact(
            "postgres.other_databases_blocked_sessions",
            "int",
            Sum,
            Int,
            "other databases' sessions waiting on a lock",
        ),
        fact(
            "postgres.root_blocker_idle_in_transaction",
            "bool",
            Primary,
            Word,
            "the first root blocker is idle in transaction",
        ),
    ],
    labels: &[],
};
