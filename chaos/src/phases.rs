//! The phase model of a run with faults, and recovery time.
//!
//! A run is cut into `baseline` (before the first fault), `fault` (while any fault is active)
//! and `recovery` (after a removal, until the next fault or the end). Gaps between faults are
//! recovery spans too: the system is recovering from the previous fault there.

use crate::schedule::Schedule;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The three phases of a chaos run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Before the first fault.
    Baseline,
    /// While at least one fault is active.
    Fault,
    /// After a fault was removed and before the next one.
    Recovery,
}

/// A half-open time span `[start, end)` of one phase, as offsets from the run start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhaseSpan {
    /// Which phase.
    pub phase: Phase,
    /// First instant of the span.
    pub start: Duration,
    /// First instant after the span.
    pub end: Duration,
}

/// The phases of one run, in time order, covering `[0, run_length)` without gaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phases {
    spans: Vec<PhaseSpan>,
}

impl Phases {
    /// Computes the phases of `schedule` over a run of `run_length`.
    pub fn compute(schedule: &Schedule, run_length: Duration) -> Phases {
        let mut windows: Vec<(Duration, Duration)> = schedule
            .active_windows()
            .into_iter()
            .filter(|(start, _)| *start < run_length)
            .map(|(s, e)| (s, e.min(run_length)))
            .collect();
        windows.sort();
        let mut spans = Vec::new();
        let mut in_fault_since: Option<Duration> = None;
        let mut fault_end = Duration::ZERO;
        for (start, end) in windows {
            match in_fault_since {
                Some(_) if start <= fault_end => fault_end = fault_end.max(end),
                Some(since) => {
                    push(&mut spans, Phase::Fault, since, fault_end);
                    push(&mut spans, Phase::Recovery, fault_end, start);
                    (in_fault_since, fault_end) = (Some(start), end);
                }
                None => {
                    push(&mut spans, Phase::Baseline, Duration::ZERO, start);
                    (in_fault_since, fault_end) = (Some(start), end);
                }
            }
        }
        match in_fault_since {
            Some(since) => {
                push(&mut spans, Phase::Fault, since, fault_end);
                push(&mut spans, Phase::Recovery, fault_end, run_length);
            }
            None => push(&mut spans, Phase::Baseline, Duration::ZERO, run_length),
        }
        Phases { spans }
    }

    /// All spans in time order (empty spans are left out).
    pub fn spans(&self) -> &[PhaseSpan] {
        &self.spans
    }

    /// The phase at offset `t` (`None` at or past the end of the run).
    pub fn phase_at(&self, t: Duration) -> Option<Phase> {
        self.spans
            .iter()
            .find(|s| s.start <= t && t < s.end)
            .map(|s| s.phase)
    }

    /// The baseline span, if the run has one.
    pub fn baseline(&self) -> Option<PhaseSpan> {
        self.spans
            .iter()
            .find(|s| s.phase == Phase::Baseline)
            .copied()
    }

    /// When the last fault was removed, if that happened before the end of the run.
    pub fn last_removal(&self) -> Option<Duration> {
        self.spans
            .last()
            .filter(|s| s.phase == Phase::Recovery)
            .map(|s| s.start)
    }

    /// Total time spent in `phase`.
    pub fn total(&self, phase: Phase) -> Duration {
        self.spans
            .iter()
            .filter(|s| s.phase == phase)
            .map(|s| s.end - s.start)
            .sum()
    }
}

fn push(spans: &mut Vec<PhaseSpan>, phase: Phase, start: Duration, end: Duration) {
    if end > start {
        spans.push(PhaseSpan { phase, start, end });
    }
}

/// One second of measurements from the load generator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SecondSample {
    /// Fraction of failed requests in this second, `0.0..=1.0`.
    pub error_rate: f64,
    /// 95th percentile latency; `None` when no request completed in this second.
    pub p95: Option<Duration>,
}

/// What "back to normal" means, relative to the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
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
