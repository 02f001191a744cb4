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
    d.base_band.map_or_else(
        || "—".to_owned(),
        |[lo, hi]| {
            format!(
                "{}–{}",
                format::value(lo, d.unit),
                format::value(hi, d.unit)
            )
        },
    )
}

/// `Baseline`: the file and allowances compared against, then one row per judged metric.
pub(crate) fn section(r: &Report) -> Option<Section> {
    let b = &r.baseline;
    if !b.enabled {
        return None;
    }
    let n = b.regressions().count();
    let mut s = Section::new("baseline", "Baseline");
    s.push(vec![
        text("Compared with "),
        code(b.file.clone().unwrap_or_default()),
        text(format!(" (allowed: {}): ", b.allowances)),
        strong(format!("{n} regression{}", if n == 1 { "" } else { "s" })),
    ]);
    let mut table = Table::new(vec![
        Column::mark(),
        Column::left("Endpoint"),
        Column::left("Metric"),
        Column::right("Base"),
        Column::right("New"),
        Column::right("Change"),
        Column::right("Allowed"),
        Column::right("Base 95% band"),
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
