//! The chaos section (fault windows, recovery time, hypotheses, timeline) and the ledger
//! section; neither for a run without faults or without a ledger.

use super::document::{Block, Cell, Column, Figure, Section, Table, strong, text};
use super::svg::Timeline;
use crate::format::duration_us;
use crate::model::{ChaosEvent, FaultWindow, LedgerSection, Report};

fn has_chaos(r: &Report) -> bool {
    let c = &r.chaos;
    !(c.faults.is_empty() && c.events.is_empty() && c.hypotheses.is_empty())
}

/// `latency=200ms, jitter=50ms`, or `—` when the fault has no attributes.
fn attributes(f: &FaultWindow) -> String {
    if f.attributes.is_empty() {
        return "—".to_owned();
    }
    let parts: Vec<String> = f
        .attributes
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    parts.join(", ")
}

fn window_end(f: &FaultWindow) -> String {
    f.end_offset_us.map_or_else(
        || "end of run".to_owned(),
        |e| format!("+{}", duration_us(e)),
    )
}

fn recovery(r: &Report) -> String {
    r.chaos
        .recovery_time_us
        .map_or_else(|| "not measured".to_owned(), duration_us)
}

fn event_kind(e: &ChaosEvent) -> String {
    serde_json::to_value(e.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "event".to_owned())
}

/// `Chaos`: recovery time, fault windows (as a table and drawn on a timeline), hypotheses,
/// the event log.
pub(crate) fn section(r: &Report) -> Option<Section> {
    if !has_chaos(r) {
        return None;
    }
    let c = &r.chaos;
    let mut s = Section::new("chaos", "Chaos");
    s.push(vec![text("Recovery time: "), strong(recovery(r))]);
    if !c.faults.is_empty() {
        let mut table = Table::new(vec![
            Column::left("Fault"),
            Column::left("Type"),
            Column::left("Target"),
            Column::left("Attributes"),
            Column::right("From"),
            Column::right("To"),
        ]);
        for f in &c.faults {
            table.row(vec![
                f.name.as_str().into(),
                f.fault.as_str().into(),
                f.target.as_str().into(),
                attributes(f).into(),
                format!("+{}", duration_us(f.start_offset_us)).into(),
                window_end(f).into(),
            ]);
        }
        s.push(table);
    }
    s.push(Block::Figure(Figure::Timeline(timeline(r))));
    if !c.hypotheses.is_empty() {
        let mut table = Table::new(vec![
            Column::mark(),
            Column::left("Hypothesis"),
            Column::left("Expected"),
            Column::left("Observed"),
        ]);
        for h in &c.hypotheses {
            table.row(vec![
                Cell::Mark(h.pass),
                Cell::Code(h.name.clone()),
                h.expected.as_str().into(),
                h.observed.as_str().into(),
            ]);
        }
        s.push(Block::Heading("Hypotheses".to_owned()));
        s.push(table);
    }
    if !c.events.is_empty() {
        let mut table = Table::new(vec![
            Column::right("At"),
            Column::left("Event"),
            Column::left("Target"),
            Column::left("Detail"),
        ]);
        table.long = Some("events");
        for e in &c.events {
            table.row(vec![
                format!("+{}", duration_us(e.at_offset_us)).into(),
                event_kind(e).into(),
                e.target.as_str().into(),
                e.message.as_str().into(),
            ]);
        }
        s.push(Block::Heading("Timeline".to_owned()));
        s.push(table);
    }
    Some(s)
}

/// Fault windows as bars over the run, events as marks.
fn timeline(r: &Report) -> Timeline {
    let c = &r.chaos;
    let end_s = r.run.duration_us as f64 / 1e6;
    Timeline {
        x_max_s: end_s,
        rows: c
            .faults
            .iter()
            .map(|f| {
                let end = f.end_offset_us.map_or(end_s, |e| e as f64 / 1e6);
                (
                    format!("{} on {}", f.fault, f.target),
                    f.start_offset_us as f64 / 1e6,
                    end,
                )
            })
            .collect(),
        marks: c
            .events
            .iter()
            .map(|e| (e.at_offset_us as f64 / 1e6, e.message.clone()))
            .collect(),
    }
}

/// `Ledger`: the five counts and the examples.
pub(crate) fn ledger(l: &LedgerSection) -> Option<Section> {
    if !l.enabled {
        return None;
    }
    let mut table = Table::new(
        [
            "Acked",
            "Verified",
            "Lost",
            "Duplicated",
            "Unacknowledged but present",
        ]
        .map(Column::right)
        .into(),
    );
    table.row(vec![
        l.acked.into(),
        l.verified.into(),
        l.lost.into(),
        l.duplicated.into(),
        l.unacknowledged_but_present.into(),
    ]);
    let mut s = Section::new("ledger", "Ledger");
    s.push(table);
    s.push(vec![text(
        "Unacknowledged but present: writes that got no answer yet were committed \
         (informational, not a failure).",
    )]);
    if !l.examples.is_empty() {
        s.push(vec![text("Examples:")]);
        s.push(Block::List(l.examples.iter().map(text).collect()));
    }
    Some(s)
}
