//! The collector of a `host` instance: two CPU samples inside the deadline and a snapshot
//! of the machine, turned into facts and saturation events.

use std::time::Duration;

use async_trait::async_trait;
use witness_collector::{CollectContext, CollectError, Collector, Event, Evidence, Severity};

use crate::{HostConfig, Snapshot};

/// A built `host` instance.
pub struct HostCollector {
    config: HostConfig,
}

impl HostCollector {
    pub(crate) fn new(config: HostConfig) -> Self {
        Self { config }
    }
}

#[async_trait]
impl Collector for HostCollector {
    async fn collect(&self, ctx: &CollectContext) -> Result<Evidence, CollectError> {
        // Keep the second CPU sample inside the deadline, with room to spare.
        let room = ctx.remaining().saturating_sub(Duration::from_millis(300));
        let interval = Duration::from_millis(self.config.cpu_sample_ms)
            .min(room)
            .max(Duration::from_millis(200));
        let top = self.config.top_processes;
        let stopped = |e: tokio::task::JoinError| {
            CollectError::other(format!("the host sampler stopped: {e}"))
        };
        let first = tokio::task::spawn_blocking(Snapshot::first_sample).await.map_err(stopped)?;
        // The wait between the two samples is where the time goes: it must end on
        // cancellation (a shutdown), not hold the process in a blocking sleep.
        tokio::select! {
            () = tokio::time::sleep(Snapshot::pause(interval)) => {}
            () = ctx.cancel.cancelled() => {
                return Err(CollectError::other("cancelled between the two CPU samples"));
            }
        }
        let redactor = ctx.redactor.clone();
        let snapshot = tokio::task::spawn_blocking(move || {
            Snapshot::second_sample(first, interval, top, &redactor)
        })
        .await
        .map_err(stopped)?;
        ctx.artifacts.put_json("snapshot.json", &snapshot);
        Ok(self.evidence(ctx, snapshot))
    }
}

impl HostCollector {
    fn evidence(&self, ctx: &CollectContext, s: Snapshot) -> Evidence {
        let cpu_saturated = s.cpu.busy_ratio >= self.config.cpu_saturation_ratio;
        let mem_saturated = s.memory.used_ratio >= self.config.mem_saturation_ratio;
        let summary = format!(
            "{}: CPU {:.0}% busy over {} cores, load {:.2}, memory {:.0}% used, fullest disk {:.0}%",
            s.hostname,
            s.cpu.busy_ratio * 100.0,
            s.cpu.per_core.len(),
            s.load.one,
            s.memory.used_ratio * 100.0,
            s.disk_max_used_ratio().unwrap_or(0.0) * 100.0
        );
        let mut evidence = Evidence::ok(summary)
            .fact("host.cpu_busy_ratio", round3(s.cpu.busy_ratio))
            .fact(
                "host.cpu_max_core_busy_ratio",
                round3(s.cpu.per_core.iter().copied().fold(0.0, f64::max)),
            )
            .fact("host.cores", s.cpu.per_core.len())
            .fact("host.load1_per_core", round3(s.load.one / s.cpu.per_core.len().max(1) as f64))
            .fact("host.mem_used_ratio", round3(s.memory.used_ratio))
            .fact("host.cpu_saturated", cpu_saturated)
            .fact("host.mem_saturated", mem_saturated)
            .fact("host.uptime_secs", s.uptime_secs);
        if let Some(ratio) = s.memory.swap_used_ratio {
            evidence = evidence.fact("host.swap_used_ratio", round3(ratio));
        }
        if let Some(ratio) = s.disk_max_used_ratio() {
            evidence = evidence.fact("host.disk_max_used_ratio", round3(ratio));
        }
        if let Some(ratio) = s.disk_max_inodes_used_ratio() {
            evidence = evidence.fact("host.disk_max_inodes_used_ratio", round3(ratio));
        }
        if s.disks.is_empty() {
            evidence.add_note("no disks were reported by the operating system");
        }
        let now = ctx.anchor.max(chrono::Utc::now().min(ctx.window.end));
        let saturation = [
            (cpu_saturated, format!("CPU {:.0}% busy", s.cpu.busy_ratio * 100.0), "/data/cpu"),
            (
                mem_saturated,
                format!("memory {:.0}% used", s.memory.used_ratio * 100.0),
                "/data/memory",
            ),
        ];
        for (_, what, pointer) in saturation.into_iter().filter(|(saturated, ..)| *saturated) {
            evidence = evidence.event(
                Event::new(now, "saturation", format!("{what} on {}", s.hostname))
                    .severity(Severity::Warning)
                    .pointer(pointer),
            );
        }
        evidence.data(&s)
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use witness_collector::CollectorConfig;
    use witness_collector::{FactValue, Status};

    #[tokio::test]
    async fn a_snapshot_has_cpu_memory_disks_and_processes_within_the_deadline() {
        let ctx = CollectContext::for_test();
        let host = HostConfig { cpu_sample_ms: 250, ..HostConfig::named("local") }.build().unwrap();
        let started = std::time::Instant::now();
        let evidence = host.collect(&ctx).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(evidence.status, Status::Ok);
        let busy = evidence.facts["host.cpu_busy_ratio"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&busy), "{busy}");
        let mem = evidence.facts["host.mem_used_ratio"].as_f64().unwrap();
        assert!(mem > 0.0 && mem <= 1.0, "{mem}");
        assert!(evidence.facts["host.cores"].as_f64().unwrap() >= 1.0);
        let data = &evidence.data;
        assert!(!data["cpu"]["per_core"].as_array().unwrap().is_empty());
        assert!(!data["processes"]["by_cpu"].as_array().unwrap().is_empty());
        assert!(data["processes"]["by_memory"].as_array().unwrap().len() <= 10);
        assert!(data["disks"].as_array().is_some());
        assert_eq!(ctx.artifacts.take().len(), 1);
    }

    /// Issue 22: SIGTERM exited 6.5 s after "Stopped." because the sampler slept in a
    /// blocking `std::thread::sleep` the runtime had to wait for.
    #[tokio::test]
    async fn cancellation_ends_the_wait_between_the_samples() {
        let ctx = CollectContext::for_test();
        let host =
            HostConfig { cpu_sample_ms: 10_000, ..HostConfig::named("local") }.build().unwrap();
        let cancel = ctx.cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            cancel.cancel();
        });
        let started = std::time::Instant::now();
        let result = host.collect(&ctx).await;
        assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
        assert_eq!(result.unwrap_err().to_string(), "cancelled between the two CPU samples");
    }

    #[tokio::test]
    async fn each_saturated_resource_is_one_warning_pointing_at_its_data() {
        let ctx = CollectContext::for_test();
        // Any memory in use saturates this threshold; CPU saturates or not as the machine is.
        let config = HostConfig {
            cpu_sample_ms: 200,
            mem_saturation_ratio: f64::MIN_POSITIVE,
            ..HostConfig::named("local")
        };
        let evidence = config.build().unwrap().collect(&ctx).await.unwrap();
        let pointers: Vec<_> =
            evidence.events.iter().filter_map(|e| e.pointer.as_deref()).collect();
        let cpu_saturated = evidence.facts["host.cpu_saturated"] == FactValue::Bool(true);
        let want: &[&str] =
            if cpu_saturated { &["/data/cpu", "/data/memory"] } else { &["/data/memory"] };
        assert_eq!(pointers, want);
        let memory = evidence.events.last().unwrap();
        assert_eq!((memory.kind.as_str(), memory.severity), ("saturation", Severity::Warning));
        assert!(
            memory.title.starts_with("memory ") && memory.title.contains("% used on "),
            "{}",
            memory.title
        );
    }

    /// A process named after a secret (its `comm`, here this test's own) reaches the
    /// evidence and the artifact redacted: the name is redacted where it is read.
    #[tokio::test]
    async fn a_process_named_after_a_secret_is_redacted_where_it_is_read() {
        let secret = "h2Xk9q";
        std::fs::write("/proc/self/comm", format!("password={secret}")).unwrap();
        let ctx = CollectContext::for_test();
        let config =
            HostConfig { cpu_sample_ms: 200, top_processes: 1000, ..HostConfig::named("local") };
        let evidence = config.build().unwrap().collect(&ctx).await.unwrap();
        let mut everything = serde_json::to_string(&evidence).unwrap();
        for artifact in ctx.artifacts.take() {
            everything.push_str(&String::from_utf8_lossy(&artifact.contents));
        }
        assert!(everything.contains("password=[REDACTED:"), "the process is listed: {everything}");
        assert!(!everything.contains(secret), "{everything}");
    }

    #[test]
    fn bad_settings_are_named() {
        let config =
            HostConfig { cpu_sample_ms: 10, cpu_saturation_ratio: 1.5, ..HostConfig::named("x") };
        let keys: Vec<_> = config.validate().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, vec!["cpu_sample_ms", "cpu_saturation_ratio"]);
    }
}
