//! One sample of the machine, taken with sysinfo (and statvfs for inodes). Every text it
//! reads from the system (process names, the host name, the OS, mount points and file
//! systems) is redacted as it is read: a process can name itself after a secret.

use std::time::Duration;

use serde::Serialize;
use sysinfo::{
    CpuRefreshKind, Disks, MemoryRefreshKind, Networks, ProcessRefreshKind, ProcessesToUpdate,
    RefreshKind, System,
};
use witness_collector::{Redacted, Redactor};

#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub hostname: Redacted,
    pub os: Redacted,
    pub uptime_secs: u64,
    pub cpu: Cpu,
    pub load: Load,
    pub memory: Memory,
    pub disks: Vec<Disk>,
    pub network: Network,
    pub processes: Processes,
}

#[derive(Debug, Serialize)]
pub struct Cpu {
    /// Busy ratio over all cores between the two samples.
    pub busy_ratio: f64,
    pub per_core: Vec<f64>,
    pub sample_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct Load {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

#[derive(Debug, Serialize)]
pub struct Memory {
    pub total_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
    pub used_ratio: f64,
    pub swap_total_bytes: u64,
    pub swap_used_bytes: u64,
    /// Absent when the machine has no swap.
    pub swap_used_ratio: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Disk {
    pub mount_point: Redacted,
    pub file_system: Redacted,
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub used_ratio: f64,
    pub inodes_total: Option<u64>,
    pub inodes_used_ratio: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Network {
    pub received_bytes: u64,
    pub transmitted_bytes: u64,
    pub interfaces: usize,
}

#[derive(Debug, Serialize)]
pub struct Process {
    pub pid: u32,
    pub name: Redacted,
    pub cpu_ratio: f64,
    pub memory_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct Processes {
    pub count: usize,
    pub by_cpu: Vec<Process>,
    pub by_memory: Vec<Process>,
}

impl Snapshot {
    /// How long to wait between the samples for `interval`: at least what sysinfo needs.
    pub fn pause(interval: Duration) -> Duration {
        interval.max(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL)
    }

    /// The first CPU and process sample. The caller waits [`Snapshot::pause`] (where it can
    /// be cancelled), then takes the [`Snapshot::second_sample`].
    pub fn first_sample() -> System {
        let refresh = RefreshKind::nothing()
            .with_cpu(CpuRefreshKind::nothing().with_cpu_usage())
            .with_memory(MemoryRefreshKind::everything());
        let mut system = System::new_with_specifics(refresh);
        system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        system
    }

    /// The second sample, taken `interval` after the first, and everything else once; its
    /// texts redacted with `redactor` as they are read.
    pub fn second_sample(
        mut system: System,
        interval: Duration,
        top: usize,
        redactor: &Redactor,
    ) -> Snapshot {
        system.refresh_cpu_usage();
        system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );

        let per_core: Vec<f64> =
            system.cpus().iter().map(|c| ratio(f64::from(c.cpu_usage()), 100.0)).collect();
        let load = System::load_average();
        let total = system.total_memory();
        let swap_total = system.total_swap();

        let mut processes: Vec<Process> = system
            .processes()
            .values()
            .map(|p| Process {
                pid: p.pid().as_u32(),
                name: redactor.redact(&p.name().to_string_lossy()),
                cpu_ratio: ratio(f64::from(p.cpu_usage()), 100.0),
                memory_bytes: p.memory(),
            })
            .collect();
        let count = processes.len();
        processes.sort_by(|a, b| b.cpu_ratio.total_cmp(&a.cpu_ratio));
        let by_cpu: Vec<Process> = processes.iter().take(top).map(Process::copy).collect();
        processes.sort_by_key(|p| std::cmp::Reverse(p.memory_bytes));
        processes.truncate(top);

        let networks = Networks::new_with_refreshed_list();
        Snapshot {
            hostname: redactor.redact(&System::host_name().unwrap_or_else(|| "unknown".into())),
            os: redactor.redact(&System::long_os_version().unwrap_or_default()),
            uptime_secs: System::uptime(),
            cpu: Cpu {
                busy_ratio: ratio(f64::from(system.global_cpu_usage()), 100.0),
                per_core,
                sample_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            },
            load: Load { one: load.one, five: load.five, fifteen: load.fifteen },
            memory: Memory {
                total_bytes: total,
                used_bytes: system.used_memory(),
                available_bytes: system.available_memory(),
                used_ratio: ratio(
                    total.saturating_sub(system.available_memory()) as f64,
                    total as f64,
                ),
                swap_total_bytes: swap_total,
                swap_used_bytes: system.used_swap(),
                swap_used_ratio: (swap_total > 0)
                    .then(|| ratio(system.used_swap() as f64, swap_total as f64)),
            },
            disks: disks(redactor),
            network: Network {
                received_bytes: networks.values().map(|n| n.total_received()).sum(),
                transmitted_bytes: networks.values().map(|n| n.total_transmitted()).sum(),
                interfaces: networks.len(),
            },
            processes: Processes { count, by_cpu, by_memory: processes },
        }
    }

    /// The highest used ratio among the disks.
    pub fn disk_max_used_ratio(&self) -> Option<f64> {
        self.disks.iter().map(|d| d.used_ratio).reduce(f64::max)
    }

    /// The highest inode used ratio among the disks that report inodes.
    pub fn disk_max_inodes_used_ratio(&self) -> Option<f64> {
        self.disks.iter().filter_map(|d| d.inodes_used_ratio).reduce(f64::max)
    }
}

impl Process {
    fn copy(&self) -> Process {
        Process {
            pid: self.pid,
            name: self.name.clone(),
            cpu_ratio: self.cpu_ratio,
            memory_bytes: self.memory_bytes,
        }
    }
}

fn disks(redactor: &Redactor) -> Vec<Disk> {
    Disks::new_with_refreshed_list()
        .list()
        .iter()
        .filter(|d| d.total_space() > 0)
        .map(|d| {
            let total = d.total_space();
            let inodes = rustix::fs::statvfs(d.mount_point()).ok().filter(|s| s.f_files > 0);
            Disk {
                mount_point: redactor.redact(&d.mount_point().to_string_lossy()),
                file_system: redactor.redact(&d.file_system().to_string_lossy()),
                total_bytes: total,
                available_bytes: d.available_space(),
                used_ratio: ratio(total.saturating_sub(d.available_space()) as f64, total as f64),
                inodes_total: inodes.as_ref().map(|s| s.f_files),
                inodes_used_ratio: inodes
                    .as_ref()
                    .map(|s| ratio(s.f_files.saturating_sub(s.f_ffree) as f64, s.f_files as f64)),
            }
        })
        .collect()
}

fn ratio(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { (part / whole).clamp(0.0, 1.0) } else { 0.0 }
}
