//! Time to recover after faults: how long after the last removal error rate and p95 were back
//! within a band around the baseline (the seconds before the first fault) for a few seconds
//! in a row. [`measure`] applies it to a report's series and fault windows.

use std::time::Duration;

use crate::model::{ChaosEvent, ChaosEventKind, Report, SecondPoint};

/// One second of measurements from the load generator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SecondSample {
    /// Fraction of failed requests in this second, `0.0..=1.0`.
    pub error_rate: f64,
    /// 95th percentile latency; `None` when no request completed in this second.
    pub p95: Option<Duration>,
}

/// What "back to normal" means, relative to the baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecoveryBand {
    /// p95 may exceed the baseline median by this fraction (0.2 = 20%)...
    pub p95_ratio: f64,
    /// ...or by this absolute slack, whichever is more generous (fast baselines are noisy).
    pub p95_slack: Duration,
    /// Error rate may exceed the baseline mean by this many fraction points (0.01 = 1pp).
    pub error_rate_slack: f64,
    /// Seconds in a row that must be in the band before recovery counts.
    pub consecutive: usize,
}

impl Default for RecoveryBand {
    fn default() -> Self {
        Self {
            p95_ratio: 0.2,
            p95_slack: Duration::from_millis(5),
            error_rate_slack: 0.01,
            consecutive: 3,
        }
    }
}

/// Why recovery time could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    /// No baseline second had a p95, so there is nothing to recover to.
    #[error("the baseline has no latency samples")]
    NoBaseline,
    /// `consecutive` is zero: recovery would be trivially immediate.
    #[error("the recovery band needs at least one consecutive second")]
    ZeroConsecutive,
}

/// The limits a second must be within to count as recovered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineLimits {
    /// Highest acceptable p95.
    pub p95_max: Duration,
    /// Highest acceptable error rate.
    pub error_rate_max: f64,
}

impl BaselineLimits {
    /// Derives limits from the baseline seconds and the band.
    pub fn from_baseline(
        baseline: &[SecondSample],
        band: &RecoveryBand,
    ) -> Result<Self, RecoveryError> {
        let mut p95s: Vec<Duration> = baseline.iter().filter_map(|s| s.p95).collect();
        if p95s.is_empty() {
            return Err(RecoveryError::NoBaseline);
        }
        p95s.sort();
        let mid = p95s.len() / 2;
        let median = if p95s.len().is_multiple_of(2) {
            (p95s[mid - 1] + p95s[mid]) / 2
        } else {
            p95s[mid]
        };
        let by_ratio = median.mul_f64(band.p95_ratio.max(0.0));
        let error_mean = baseline.iter().map(|s| s.error_rate).sum::<f64>() / baseline.len() as f64;
        Ok(Self {
            p95_max: median + by_ratio.max(band.p95_slack),
            error_rate_max: error_mean + band.error_rate_slack,
        })
    }

    /// Whether one second is within the limits (a second without latency data is not).
    pub fn admits(&self, s: &SecondSample) -> bool {
        s.error_rate <= self.error_rate_max && s.p95.is_some_and(|p| p <= self.p95_max)
    }
}

/// Seconds from `removal_second` until error rate and p95 are back within the band for
/// `band.consecutive` seconds in a row. `series[i]` is second `i` of the run; the baseline is
/// `series[..baseline_end]`. `Ok(None)` means the run ended before recovery.
pub fn recovery_time(
    series: &[SecondSample],
    baseline_end: usize,
    removal_second: usize,
    band: &RecoveryBand,
) -> Result<Option<Duration>, RecoveryError> {
    if band.consecutive == 0 {
        return Err(RecoveryError::ZeroConsecutive);
    }
    let baseline = &series[..baseline_end.min(series.len())];
    let limits = BaselineLimits::from_baseline(baseline, band)?;
    let mut run_start = None;
    let mut run_len = 0;
    for (i, s) in series.iter().enumerate().skip(removal_second) {
        if limits.admits(s) {
            run_start.get_or_insert(i);
            run_len += 1;
            if run_len >= band.consecutive {
                let secs = run_start.unwrap_or(i) - removal_second;
                return Ok(Some(Duration::from_secs(secs as u64)));
            }
        } else {
            run_start = None;
            run_len = 0;
        }
    }
    Ok(None)
}

/// "Back to normal" for a run: a few virtual users on two shared cores give a noisy
/// per-second p95, so the band is wider than [`RecoveryBand::default`] (half the baseline
/// median, or 20 ms).
pub const RUN_BAND: RecoveryBand = RecoveryBand {
    p95_ratio: 0.5,
    p95_slack: Duration::from_millis(20),
    error_rate_slack: 0.02,
    consecutive: 3,
};

/// Measures the recovery time after the report's faults: from the last removal until error
/// rate and p95 were back within [`RUN_BAND`] of the seconds before the first injection.
/// Sets `chaos.recovery_time_us` and puts the outcome on the chaos timeline; a report without
/// a removed fault is left as it is.
pub fn measure(report: &mut Report) {
    let faults = &report.chaos.faults;
    let first_start = faults.iter().map(|f| f.start_offset_us).min();
    let last_end = faults.iter().filter_map(|f| f.end_offset_us).max();
    let (Some(start), Some(end)) = (first_start, last_end) else {
        return;
    };
    let t0 = report.run.started_at_unix_us;
    let event = match since_removal(&report.series, t0 + start, t0 + end) {
        Ok(Some(us)) => {
            report.chaos.recovery_time_us = Some(us);
            ChaosEvent {
                at_offset_us: end + us,
                kind: ChaosEventKind::SteadyStateRestored,
                target: "service".into(),
                message: format!(
                    "error rate and p95 back within the baseline band {:.1} s after the last \
                     removal",
                    us as f64 / 1e6
                ),
            }
        }
        Ok(None) => note(end, "steady state not regained before the run ended"),
        Err(e) => note(end, &format!("recovery time not measured: {e}")),
    };
    report.chaos.events.push(event);
    report.chaos.events.sort_by_key(|e| e.at_offset_us);
}

fn note(at_offset_us: u64, message: &str) -> ChaosEvent {
    ChaosEvent {
        at_offset_us,
        kind: ChaosEventKind::Note,
        target: "service".into(),
        message: message.to_owned(),
    }
}

/// Microseconds from the last removal until the first of `RUN_BAND.consecutive` in-band
/// seconds, judged against the seconds before the first injection.
fn since_removal(
    series: &[SecondPoint],
    first_start_us: u64,
    last_end_us: u64,
) -> Result<Option<u64>, RecoveryError> {
    let (Some(first), Some(last)) = (series.first(), series.last()) else {
        return Ok(None);
    };
    // Dense, one sample per second: a second without requests has no p95 (not in band).
    let empty = SecondSample {
        error_rate: 0.0,
        p95: None,
    };
    let len = usize::try_from(last.unix_s.saturating_sub(first.unix_s) + 1).unwrap_or(0);
    let mut samples = vec![empty; len];
    for p in series {
        let i = usize::try_from(p.unix_s.saturating_sub(first.unix_s)).unwrap_or(0);
        if let Some(slot) = samples.get_mut(i) {
            *slot = SecondSample {
                error_rate: p.errors as f64 / p.count.max(1) as f64,
                p95: (p.count > 0).then(|| Duration::from_micros(p.p95_us)),
            };
        }
    }
    let second = |us: u64| (us / 1_000_000).saturating_sub(first.unix_s);
    let index = |us: u64| usize::try_from(second(us)).unwrap_or(usize::MAX);
    // The removal's own second counts: when it is already in band, recovery was immediate.
    let found = recovery_time(
        &samples,
        index(first_start_us),
        index(last_end_us),
        &RUN_BAND,
    )?;
    Ok(found.map(|d| {
        let back_unix_us = (first.unix_s + second(last_end_us) + d.as_secs()) * 1_000_000;
        back_unix_us.saturating_sub(last_end_us)
    }))
}
