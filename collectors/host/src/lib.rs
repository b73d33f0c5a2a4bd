//! The `host` collector kind: a snapshot of the machine witness runs on — CPU (overall and
//! per core, from two samples taken inside the deadline), load averages, memory and swap,
//! disks (usage and inodes), network totals, the top processes by CPU and by memory, and
//! uptime.
//!
//! Facts (see `FACTS.md`):
//! `host.cpu_busy_ratio`, `host.cpu_max_core_busy_ratio`, `host.load1_per_core`,
//! `host.mem_used_ratio`, `host.swap_used_ratio`, `host.disk_max_used_ratio`,
//! `host.disk_max_inodes_used_ratio`, `host.cpu_saturated`, `host.mem_saturated`,
//! `host.cores`, `host.uptime_secs`.

mod collector;
mod config;
pub mod kind;
mod snapshot;

pub use collector::HostCollector;
pub use config::HostConfig;
pub use kind::KIND;
pub use snapshot::Snapshot;
