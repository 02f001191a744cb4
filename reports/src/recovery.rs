//! Time to recover after faults: how long after the last removal error rate and p95 were back
//! within a band around the baseline (the seconds before the first fault) for a few seconds
//! in a row.

use std::time::Duration;

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
