//! Is the generator itself the bottleneck? Two signals, both measured while the attack runs:
//!
//! - CPU: this process's user+system time (getrusage) per wall second, against the cores it
//!   may use. Attribution caveat: in a local run the reference service is served by the same
//!   tokio runtime as goose's users, so the figure is generator *and* service. Their threads
//!   are the same worker threads, so a per-thread split is not possible; the sample is then
//!   an upper bound for the generator, and a saturated process still means the generator
//!   could not be sure to get the CPU it needed. With `--target` the figure is the generator's
//!   alone.
//! - Scheduling lag: a probe task asks to wake every [`LAG_TICK`]; a wake-up later than
//!   [`LAG_TOLERANCE`] means a runnable task waited that long, and so did goose's users.

use std::time::{Duration, Instant};

use gauntlet_reports::model::GeneratorHealth;
use serde::Serialize;

/// Default CPU bound: a process above 90% of its cores for [`CPU_WINDOW`] seconds cannot
/// promise its users were scheduled on time.
pub const DEFAULT_MAX_CPU: f64 = 0.9;

/// Seconds a CPU bound must be exceeded on average: one busy second (start-up, logins) is
/// not saturation.
pub const CPU_WINDOW: usize = 3;

/// How often the lag probe asks to wake.
pub const LAG_TICK: Duration = Duration::from_millis(100);

/// A wake-up later than this counts as late.
pub const LAG_TOLERANCE: Duration = Duration::from_millis(100);

/// Share of late probe wake-ups above which the generator counts as saturated.
pub const MAX_LATE_SHARE: f64 = 0.1;

/// Why a CPU bound was refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid generator CPU bound {0:?}: expected a percentage of the available cores in (0%, 100%], e.g. `90%`"
)]
pub struct BoundError(pub String);

/// Parses `90%` or `0.9` into a fraction of the available cores.
pub fn parse_bound(raw: &str) -> Result<f64, BoundError> {
    let text = raw.trim();
    let value = match text.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
        None => text.parse::<f64>(),
    };
    match value {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err(BoundError(raw.to_owned())),
    }
}

/// CPU seconds this process has used so far (user + system).
pub fn process_cpu() -> Option<Duration> {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let tv = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(u64::try_from(t.tv_sec()).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec()).unwrap_or(0))
    };
    Some(tv(u.user_time()) + tv(u.system_time()))
}

/// Turns successive (wall, cpu) readings into percent-of-one-core samples.
pub struct CpuMeter {
    last: Option<(Instant, Duration)>,
}

impl CpuMeter {
    /// Starts metering from now.
    pub fn start() -> CpuMeter {
        CpuMeter {
            last: process_cpu().map(|c| (Instant::now(), c)),
        }
    }

    /// CPU use since the previous call, percent of one core.
    pub fn sample(&mut self) -> Option<f64> {
        let now = (Instant::now(), process_cpu()?);
        let previous = self.last.replace(now)?;
        let wall = now.0.duration_since(previous.0).as_secs_f64();
        let cpu = now.1.saturating_sub(previous.1).as_secs_f64();
        (wall > 0.0).then(|| cpu / wall * 100.0)
    }
}

/// Cores this process may run on.
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What the lag probe saw.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct LagStats {
    /// Wake-ups observed.
    pub ticks: u64,
    /// Wake-ups later than [`LAG_TOLERANCE`].
    pub late: u64,
    /// Worst lateness, microseconds.
    pub max_lag_us: u64,
}

impl LagStats {
    /// Records one wake-up `lag` after its scheduled instant.
    pub fn record(&mut self, lag: Duration) {
        self.ticks += 1;
        if lag > LAG_TOLERANCE {
            self.late += 1;
        }
        let us = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX);
        self.max_lag_us = self.max_lag_us.max(us);
    }
}

/// The generator's figures for `analysis.json` (the report's section has no room for them).
#[derive(Debug, Clone, Serialize)]
pub struct GeneratorDetail {
    /// Cores available to the process.
    pub cores: usize,
    /// The CPU bound used, fraction of the cores.
    pub max_cpu_fraction: f64,
    /// Highest [`CPU_WINDOW`]-second mean, percent of one core.
    pub cpu_window_max_percent: Option<f64>,
    /// True when the CPU figure includes the in-process reference service.
    pub includes_service: bool,
    /// The lag probe.
    pub lag: LagStats,
}

/// Judges saturation and fills the report's section. `cpu` holds one sample per second.
pub fn judge(
    cpu: &[f64],
    lag: LagStats,
    max_cpu: f64,
    includes_service: bool,
) -> (GeneratorHealth, GeneratorDetail) {
    let cores = available_cores();
    let window = CPU_WINDOW.min(cpu.len()).max(1);
    let window_max = cpu
        .windows(window)
        .map(|w| w.iter().sum::<f64>() / w.len() as f64)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let limit = max_cpu * cores as f64 * 100.0;
    let mut reasons = Vec::new();
    if let Some(w) = window_max.filter(|w| *w > limit) {
        let whose = if includes_service {
            "the process (generator and in-process service)"
        } else {
            "the generator"
        };
        reasons.push(format!(
            "{whose} used {w:.0}% CPU over {window} s, above the bound of {limit:.0}% \
             ({:.0}% of {cores} cores)",
            max_cpu * 100.0
        ));
    }
    if lag.ticks > 0 && lag.late as f64 > lag.ticks as f64 * MAX_LATE_SHARE {
        reasons.push(format!(
            "{} of {} scheduler probes woke more than {} ms late (worst {} ms)",
            lag.late,
            lag.ticks,
            LAG_TOLERANCE.as_millis(),
            lag.max_lag_us / 1000
        ));
    }
    let health = GeneratorHealth {
        saturated: !reasons.is_empty(),
        reasons,
        cpu_percent_max: cpu.iter().copied().reduce(f64::max),
        late_iterations: lag.late,
    };
    let detail = GeneratorDetail {
        cores,
        max_cpu_fraction: max_cpu,
        cpu_window_max_percent: window_max,
        includes_service,
        lag,
    };
    (health, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_parse_as_fractions_and_nonsense_is_refused() {
        assert_eq!(parse_bound("90%").unwrap(), 0.9);
        assert_eq!(parse_bound("0.5").unwrap(), 0.5);
        assert!((parse_bound(" 1 % ").unwrap() - 0.01).abs() < 1e-12);
        for bad in ["0%", "150%", "-1", "lots", ""] {
            assert!(parse_bound(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_sustained_busy_window_saturates_and_a_single_busy_second_does_not() {
        let cores = available_cores() as f64;
        let busy = cores * 100.0;
        let (h, _) = judge(&[10.0, busy, 10.0, 10.0], LagStats::default(), 0.9, false);
        assert!(!h.saturated, "{:?}", h.reasons);
        assert_eq!(h.cpu_percent_max, Some(busy));
        let (h, _) = judge(&[busy, busy, busy, 10.0], LagStats::default(), 0.9, false);
        assert!(h.saturated);
        assert!(h.reasons[0].contains("the generator"), "{:?}", h.reasons);
    }

    #[test]
    fn many_late_wakeups_saturate() {
        let mut lag = LagStats::default();
        for i in 0..20 {
            lag.record(Duration::from_millis(if i % 4 == 0 { 300 } else { 1 }));
        }
        assert_eq!(lag.late, 5);
        let (h, _) = judge(&[], lag, 0.9, true);
        assert!(h.saturated);
        assert_eq!(h.late_iterations, 5);
    }
}
