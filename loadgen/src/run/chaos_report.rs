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
    for w in &log.windows {
        let entry = &w.fault.entry;
        report.chaos.faults.push(FaultWindow {
            name: w.fault.name.clone(),
            fault: entry.fault.to_string(),
            target: name(entry.target),
            attributes: entry.attributes.clone(),
            start_offset_us: off(w.injected_us),
            end_offset_us: w.removed_us.map(off),
        });
    }
    let mut events: Vec<ChaosEvent> = log
        .events
        .into_iter()
        .map(|e| ChaosEvent {
            at_offset_us: off(e.at_us),
            kind: e.kind,
            target: name(e.target),
            message: e.message,
        })
        .collect();
    events.sort_by_key(|e| e.at_offset_us);
    report.chaos.events = events;
}
