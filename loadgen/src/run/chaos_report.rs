//! The chaos part of the report as the executor logged it: fault windows and the timeline
//! (`gauntlet_reports::finalize` derives the recovery time from them).

use gauntlet_chaos::Target;
use gauntlet_reports::Report;
use gauntlet_reports::model::{ChaosEvent, FaultWindow};

use super::chaos::ChaosLog;

/// Writes the windows and the timeline into `report`.
pub fn fill(report: &mut Report, log: ChaosLog) {
    if log.windows.is_empty() && log.events.is_empty() {
        return;
    }
    let t0 = report.run.started_at_unix_us;
    let off = |at: u64| at.saturating_sub(t0);
    let name = |t: Target| t.as_str().to_owned();
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
    events.sort_by_key(|e| e.at_offset_us);
    report.chaos.events = events;
}
