//! The monitor: once a second while the attack runs, the generator's CPU, the machine's
//! ([`super::machine`]: CPU used elsewhere, steal, load average) and the service's gauges from
//! `/metrics` (RSS, DB pool, job queue, in-flight requests); beside it, the scheduler-lag probe
//! of [`super::generator`].
//!
//! Scrapes are sequential — one in flight at a time, each with a timeout shorter than the
//! interval — so a slow service is never piled up with monitoring requests; a missed second
//! is skipped, not caught up. The loop stops when told to, and in any case after `max_ticks`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gauntlet_reports::analysis::{Gauge, GaugeSample};
use gauntlet_reports::model::{EnvironmentSection, ResourceSample};
use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::generator::{CpuMeter, LAG_TICK, LagStats};
use super::machine::MachineMeter;
use super::scrape;

/// How often the monitor samples.
pub const INTERVAL: Duration = Duration::from_secs(1);

/// A scrape slower than this is abandoned (the next second tries again).
const SCRAPE_TIMEOUT: Duration = Duration::from_millis(900);

/// The service's gauges at one instant.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServiceSample {
    /// Unix time, whole seconds.
    pub unix_s: u64,
    /// Seconds since the monitor started.
    pub offset_s: f64,
    /// `hrms_process_resident_memory_bytes`.
    pub rss_bytes: Option<u64>,
    /// `hrms_db_pool_in_use`.
    pub db_pool_in_use: Option<u64>,
    /// `hrms_db_pool_connections` (open connections).
    pub db_pool_connections: Option<u64>,
    /// `hrms_db_pool_max`.
    pub db_pool_max: Option<u64>,
    /// `hrms_job_queue_depth`.
    pub job_queue_depth: Option<u64>,
    /// `hrms_http_requests_in_flight`.
    pub in_flight: Option<u64>,
}

/// Everything the monitor collected.
#[derive(Debug, Clone, Default)]
pub struct Monitored {
    /// Generator CPU, one percent-of-one-core value per second.
    pub cpu: Vec<f64>,
    /// Resource samples for the report: `generator` (CPU, process RSS) and `service` (RSS).
    pub resources: Vec<ResourceSample>,
    /// The service's gauges, one per successful scrape.
    pub service: Vec<ServiceSample>,
    /// Scrapes that failed or timed out.
    pub failed_scrapes: u64,
    /// The lag probe.
    pub lag: LagStats,
    /// The machine, each second (disabled where `/proc` cannot be read).
    pub environment: EnvironmentSection,
}

/// A running monitor; [`Monitor::stop`] ends it and hands over the samples.
pub struct Monitor {
    stop: watch::Sender<bool>,
    sampler: JoinHandle<Monitored>,
    lag: JoinHandle<LagStats>,
}

impl Monitor {
    /// Starts sampling `base_url`, this process and the machine now; `roots` are processes
    /// whose trees count as the run's own besides this one (containers, a loopback target).
    pub fn start(base_url: &str, max_ticks: u64, roots: Vec<u32>) -> Monitor {
        let (stop, rx) = watch::channel(false);
        let sampler = tokio::spawn(sample_loop(
            base_url.to_owned(),
            max_ticks,
            roots,
            rx.clone(),
        ));
        let lag = tokio::spawn(lag_loop(max_ticks.saturating_mul(10), rx));
        Monitor { stop, sampler, lag }
    }

    /// Stops both loops and returns what they saw.
    pub async fn stop(self) -> Monitored {
        let _ = self.stop.send(true);
        let mut m = self.sampler.await.unwrap_or_default();
        m.lag = self.lag.await.unwrap_or_default();
        m
    }
}

fn unix_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn sample_loop(
    base: String,
    max_ticks: u64,
    roots: Vec<u32>,
    mut stop: watch::Receiver<bool>,
) -> Monitored {
    let client = reqwest::Client::new();
    let url = format!("{base}/metrics");
    let mut meter = CpuMeter::start();
    let mut machine = MachineMeter::start(&roots);
    let mut environment = Vec::new();
    let mut out = Monitored::default();
    let started = Instant::now();
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tick.tick().await; // the first tick is immediate; CPU needs a full interval
    for _ in 0..max_ticks {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        let now = unix_s();
        environment.extend(machine.as_mut().and_then(|m| m.sample(now)));
        if let Some(cpu) = meter.sample() {
            out.cpu.push(cpu);
            out.resources.push(ResourceSample {
                unix_s: now,
                source: "generator".to_owned(),
                cpu_percent: cpu,
                rss_bytes: own_rss().unwrap_or(0),
            });
        }
        match scrape::fetch(&client, &url, SCRAPE_TIMEOUT).await {
            Some(text) => {
                let mut s = parse_gauges(&text);
                s.unix_s = now;
                s.offset_s = started.elapsed().as_secs_f64();
                if let Some(rss) = s.rss_bytes {
                    // The service's CPU is not exported; it is part of the generator figure
                    // in a local run (see `generator`), so 0 here means "not measured".
                    out.resources.push(ResourceSample {
                        unix_s: now,
                        source: "service".to_owned(),
                        cpu_percent: 0.0,
                        rss_bytes: rss,
                    });
                }
                out.service.push(s);
            }
            None => out.failed_scrapes += 1,
        }
    }
    if let Some(m) = machine {
        out.environment = EnvironmentSection::from_samples(m.cpus(), environment);
    }
    out
}

async fn lag_loop(max_ticks: u64, mut stop: watch::Receiver<bool>) -> LagStats {
    let mut lag = LagStats::default();
    for _ in 0..max_ticks {
        let due = tokio::time::Instant::now() + LAG_TICK;
        tokio::select! {
            () = tokio::time::sleep_until(due) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        lag.record(tokio::time::Instant::now().saturating_duration_since(due));
    }
    lag
}

/// This process's resident memory (Linux `/proc/self/statm`, in pages). The page size is
/// asked, not assumed: aarch64 kernels run with 4, 16 or 64 KiB pages.
fn own_rss() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let page_size = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok()??;
    Some(pages * u64::try_from(page_size).ok()?)
}

/// Picks the service's unlabelled gauges out of its `/metrics`.
pub fn parse_gauges(text: &str) -> ServiceSample {
    let mut s = ServiceSample::default();
    // Gauges may render as floats; negative values are skipped.
    for sample in scrape::samples(text).filter(|x| x.labels.is_empty() && x.value >= 0.0) {
        let slot = match sample.name {
            "hrms_process_resident_memory_bytes" => &mut s.rss_bytes,
            "hrms_db_pool_in_use" => &mut s.db_pool_in_use,
            "hrms_db_pool_connections" => &mut s.db_pool_connections,
            "hrms_db_pool_max" => &mut s.db_pool_max,
            "hrms_job_queue_depth" => &mut s.job_queue_depth,
            "hrms_http_requests_in_flight" => &mut s.in_flight,
            _ => continue,
        };
        *slot = Some(sample.value as u64);
    }
    s
}

/// A monitored gauge: its name and how to read it from a sample.
type Series = (&'static str, fn(&ServiceSample) -> Option<u64>);

/// The service's gauges whose trends the report states (the endurance question: does memory,
/// the connection count or the job queue creep up?), each with the seconds it was read.
pub fn gauges(samples: &[ServiceSample]) -> Vec<Gauge> {
    let series: [Series; 3] = [
        ("rss_bytes", |s| s.rss_bytes),
        ("db_pool_connections", |s| s.db_pool_connections),
        ("job_queue_depth", |s| s.job_queue_depth),
    ];
    series
        .into_iter()
        .map(|(name, read)| Gauge {
            name: name.to_owned(),
            samples: samples
                .iter()
                .filter_map(|s| {
                    read(s).map(|value| GaugeSample {
                        offset_s: s.offset_s,
                        value,
                    })
                })
                .collect(),
        })
        .collect()
}

/// The samples taken while the load was held (`windows`: unix µs, start and end), so that a
/// trend is the soak's and not the ramp's (more users hold more memory and connections
/// without anything leaking). All of them when no window holds at least a few.
pub fn held(samples: &[ServiceSample], windows: &[(u64, u64)]) -> Vec<ServiceSample> {
    let inside: Vec<ServiceSample> = samples
        .iter()
        .filter(|s| {
            let at = s.unix_s.saturating_mul(1_000_000);
            windows.iter().any(|&(start, end)| start <= at && at <= end)
        })
        .cloned()
        .collect();
    if inside.len() >= 3 {
        inside
    } else {
        samples.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_keeps_the_seconds_inside_the_windows_or_everything_when_too_few() {
        let samples: Vec<ServiceSample> = (100..110)
            .map(|unix_s| ServiceSample {
                unix_s,
                ..ServiceSample::default()
            })
            .collect();
        let seconds = |v: Vec<ServiceSample>| v.iter().map(|s| s.unix_s).collect::<Vec<_>>();
        let soak = [(103_000_000, 106_500_000)];
        assert_eq!(seconds(held(&samples, &soak)), [103, 104, 105, 106]);
        let short = [(103_000_000, 104_000_000)];
        assert_eq!(seconds(held(&samples, &short)).len(), 10);
        assert_eq!(seconds(held(&samples, &[])).len(), 10);
    }

    #[test]
    fn gauges_are_read_and_labelled_families_ignored() {
        let text = "# HELP hrms_db_pool_in_use x\n# TYPE hrms_db_pool_in_use gauge\n\
            hrms_db_pool_in_use 3\nhrms_db_pool_connections 5\nhrms_db_pool_max 10\n\
            hrms_job_queue_depth 0\nhrms_http_requests_in_flight 2\n\
            hrms_process_resident_memory_bytes 123456789\n\
            hrms_http_requests_total{method=\"GET\",route=\"/x\",status=\"200\"} 9\n";
        let s = parse_gauges(text);
        assert_eq!(s.db_pool_in_use, Some(3));
        assert_eq!(s.db_pool_connections, Some(5));
        assert_eq!(s.db_pool_max, Some(10));
        assert_eq!(s.job_queue_depth, Some(0));
        assert_eq!(s.in_flight, Some(2));
        assert_eq!(s.rss_bytes, Some(123_456_789));
    }

    /// statm × the page size is the kernel's own VmRSS (in KiB): a wrong page size is off by
    /// 4× or 16× on 16 KiB and 64 KiB kernels.
    #[test]
    fn own_rss_agrees_with_the_kernels_vmrss() {
        let rss = own_rss().expect("statm readable");
        let status = std::fs::read_to_string("/proc/self/status").expect("status readable");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS line");
        let vm = kib * 1024;
        assert!(
            rss.abs_diff(vm) <= vm / 10,
            "statm gives {rss} bytes, VmRSS {vm}"
        );
    }
}
