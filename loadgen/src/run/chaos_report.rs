//! The chaos part of the report: fault windows, the timeline, and time to recover.

use std::time::Duration;

use gauntlet_chaos::Target;
use gauntlet_reports::Report;
use gauntlet_reports::model::{ChaosEvent, ChaosEventKind, FaultWindow};
use gauntlet_reports::recovery::{RecoveryBand, RecoveryError, SecondSample, recovery_time};

use super::chaos::ChaosLog;

/// Writes the windows, the timeline and the recovery time into `report` (after the recorder
/// filled its series and phases).
pub fn fill(report: &mut Report, log: ChaosLog) {
    if log.windows.is_empty() && log.events.is_empty() {
        return;
    }
    let t0 = report.run.started_at_unix_us;
    let off = |at: u64| at.saturating_sub(t0);
    let name = |t: Target| t.as_str().to_owned();
    let first_start = log.windows.iter().map(|w| w.1).min();
    let last_end = log.windows.iter().filter_map(|w| w.2).max();
    for (f, start, end) in &log.windows {
        report.chaos.faults.push(FaultWindow {
            name: f.name.clone(),
            fault: f.entry.fault.to_string(),
            target: name(f.entry.target),
            attributes: f.entry.attributes.clone(),
            start_offset_us: off(*start),
            end_offset_us: end.map(off),
        });
    }
    let mut events: Vec<ChaosEvent> = log
        .events
        .into_iter()
        .map(|(at, kind, target, message)| ChaosEvent {
            at_offset_us: off(at),
            kind,
            target: name(target),
            message,
        })
        .collect();
    if let (Some(start), Some(end)) = (first_start, last_end) {
        match recovery(&report.series, start, end) {
            Ok(Some(us)) => {
                report.chaos.recovery_time_us = Some(us);
                events.push(ChaosEvent {
                    at_offset_us: off(end) + us,
                    kind: ChaosEventKind::SteadyStateRestored,
                    target: "service".into(),
                    message: format!(
                        "error rate and p95 back within the baseline band {:.1} s after the \
                         last removal",
                        us as f64 / 1e6
                    ),
                });
            }
            Ok(None) => events.push(note(
                off(end),
                "steady state not regained before the run ended",
            )),
            Err(e) => events.push(note(off(end), &format!("recovery time not measured: {e}"))),
        }
    }
    events.sort_by_key(|e| e.at_offset_us);
    report.chaos.events = events;
}

fn note(at: u64, message: &str) -> ChaosEvent {
    ChaosEvent {
        at_offset_us: at,
        kind: ChaosEventKind::Note,
        target: "service".into(),
        message: message.to_owned(),
    }
}

/// Microseconds from the last removal until the first of `BAND.consecutive` in-band seconds,
/// judged against the seconds before the first injection.
fn recovery(
    series: &[gauntlet_reports::model::SecondPoint],
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
    let found = recovery_time(&samples, index(first_start_us), index(last_end_us), &BAND)?;
    Ok(found.map(|d| {
        let back_unix_us = (first.unix_s + second(last_end_us) + d.as_secs()) * 1_000_000;
        back_unix_us.saturating_sub(last_end_us)
    }))
}

/// "Back to normal": a few virtual users on two shared cores give a noisy per-second p95, so
/// the band is wider than the chaos crate's default (half the baseline median, or 20 ms).
const BAND: RecoveryBand = RecoveryBand {
    p95_ratio: 0.5,
    p95_slack: Duration::from_millis(20),
    error_rate_slack: 0.02,
    consecutive: 3,
};
