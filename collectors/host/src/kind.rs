//! The declaration of the `host` kind: what it sees, the facts it publishes (documented in
//! its FACTS.md, which the tests hold to this list) and how several instances' facts merge.

use witness_collector::kind::{
    Check::{Int, Number, Word},
    Merge::{Max, Min, Or},
};
use witness_collector::{KindDecl, fact};

/// The `host` kind, as the registry, the rules and the docs see it.
pub const KIND: KindDecl = KindDecl {
    name: "host",
    sees: "CPU, load, memory, swap, disks, network, top processes",
    facts: &[
        fact("host.cpu_busy_ratio", "float", Max, Number, "CPU busy, all cores"),
        fact("host.cpu_max_core_busy_ratio", "float", Max, Number, "the busiest core"),
        fact("host.load1_per_core", "float", Max, Number, "1-minute load per core"),
        fact("host.mem_used_ratio", "float", Max, Number, "memory used"),
        fact("host.swap_used_ratio", "float", Max, Number, "swap used"),
        fact("host.disk_max_used_ratio", "float", Max, Number, "fullest disk"),
        fact("host.disk_max_inodes_used_ratio", "float", Max, Number, "fullest disk by inodes"),
        fact("host.cpu_saturated", "bool", Or, Word, "CPU saturated"),
        fact("host.mem_saturated", "bool", Or, Word, "memory saturated"),
        fact("host.cores", "int", Max, Int, "logical cores"),
        fact("host.uptime_secs", "int", Min, Int, "host uptime (s)"),
    ],
    labels: &[],
};
