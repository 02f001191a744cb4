//! The baseline comparison (`gauntlet run --baseline`): every judged metric, regressions
//! marked. No section when the run had no baseline.

use super::document::{Cell, Column, Section, Table, code, strong, text};
use crate::format;
use crate::model::{BaselineDelta, DeltaStatus, Report};

fn change(d: &BaselineDelta) -> String {
    d.relative.map_or_else(
        || "—".to_owned(),
        |r| {
            let sign = if r > 0.0 { "+" } else { "" };
            format!("{sign}{}%", format::fixed(r * 100.0, 1))
        },
    )
}

fn band(d: &BaselineDelta) -> String {
    crate::compare::noise_cell(d.p_value, d.base_band.map(|[lo, hi]| (lo, hi)), d.unit)
}

/// The noise model and, when the runs were not comparable, why: one line each.
fn notes(r: &Report) -> Vec<String> {
    let b = &r.baseline;
    let mut lines: Vec<String> = b
        .noise_model
        .map(|m| format!("Noise model: {}.", m.describe()))
        .into_iter()
        .collect();
    lines.extend(
        b.not_comparable
            .iter()
            .map(|why| format!("Not comparable (nothing judged, exit 4): {why}.")),
    );
    lines
}

/// `Baseline`: the file and allowances compared against, then one row per judged metric.
pub(crate) fn section(r: &Report) -> Option<Section> {
    let b = &r.baseline;
    if !b.enabled {
        return None;
    }
    let n = b.regressions().count();
    let judged = if b.not_comparable.is_empty() {
        ""
    } else {
        "not comparable, "
    };
    let mut s = Section::new("baseline", "Baseline");
    s.push(vec![
        text("Compared with "),
        code(b.file.clone().unwrap_or_default()),
        text(format!(" (allowed: {}): ", b.allowances)),
        strong(format!(
            "{judged}{n} regression{}",
            if n == 1 { "" } else { "s" }
        )),
    ]);
    for line in notes(r) {
        s.push(vec![text(line)]);
    }
    let mut table = Table::new(vec![
        Column::mark(),
        Column::left("Endpoint"),
        Column::left("Metric"),
        Column::right("Base"),
        Column::right("New"),
        Column::right("Change"),
        Column::right("Allowed"),
        Column::right("Noise (p or band)"),
        Column::left("Result"),
    ]);
    for d in &b.deltas {
        table.row(vec![
            Cell::Mark(d.status != DeltaStatus::Regression),
            d.endpoint.as_str().into(),
            d.metric.as_str().into(),
            format::value(d.base, d.unit).into(),
            format::value(d.new, d.unit).into(),
            change(d).into(),
            d.allowance.as_str().into(),
            band(d).into(),
            d.status.as_str().into(),
        ]);
    }
    s.push(table);
    Some(s)
}
