//! Text and Markdown tables for a [`Comparison`].

use std::fmt::Write as _;

use super::{Comparison, MetricDelta};
use crate::format;
use crate::render::markdown::cell;

fn row_values(m: &MetricDelta) -> [String; 6] {
    let rel = m.relative.map_or_else(
        || "—".to_owned(),
        |r| {
            let sign = if r > 0.0 { "+" } else { "" };
            format!("{sign}{}%", format::fixed(r * 100.0, 1))
        },
    );
    let band = m.base_band.map_or_else(
        || "—".to_owned(),
        |(lo, hi)| {
            format!(
                "{}–{}",
                format::value(lo, m.unit),
                format::value(hi, m.unit)
            )
        },
    );
    [
        m.metric.name().to_owned(),
        format::value(m.base, m.unit),
        format::value(m.new, m.unit),
        rel,
        m.allowance.to_string(),
        band,
    ]
}

fn missing(base: Option<u64>, new: Option<u64>) -> &'static str {
    match (base, new) {
        (None, _) => "only in new run",
        (_, None) => "only in base run",
        _ => "",
    }
}

/// Plain-text table, one line per metric.
pub(super) fn text(c: &Comparison) -> String {
    let mut out = String::new();
    let width = c
        .endpoints
        .iter()
        .map(|e| e.name.chars().count())
        .max()
        .unwrap_or(8)
        .max(8);
    let _ = writeln!(
        out,
        "{:<width$}  {:<10} {:>9} {:>9} {:>8} {:>8} {:>19}  result",
        "endpoint", "metric", "base", "new", "change", "allowed", "base 95% band"
    );
    for e in &c.endpoints {
        if e.metrics.is_empty() {
            let _ = writeln!(
                out,
                "{:<width$}  {}",
                e.name,
                missing(e.base_count, e.new_count)
            );
        }
        for m in &e.metrics {
            let [metric, base, new, rel, allowed, band] = row_values(m);
            let _ = writeln!(
                out,
                "{:<width$}  {metric:<10} {base:>9} {new:>9} {rel:>8} {allowed:>8} {band:>19}  {}",
                e.name,
                m.status.as_str()
            );
        }
    }
    let _ = writeln!(out, "{} regression(s)", c.regressions());
    out
}

/// Markdown table, one row per metric; endpoint names escaped.
pub(super) fn markdown(c: &Comparison) -> String {
    let mut out = String::from(
        "| Endpoint | Metric | Base | New | Change | Allowed | Base 95% band | Result |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---:|---|\n");
    for e in &c.endpoints {
        if e.metrics.is_empty() {
            let _ = writeln!(
                out,
                "| {} | | | | | | | {} |",
                cell(&e.name),
                missing(e.base_count, e.new_count)
            );
        }
        for m in &e.metrics {
            let [metric, base, new, rel, allowed, band] = row_values(m);
            let result = if m.status == super::DeltaStatus::Regression {
                "❌ regression"
            } else {
                m.status.as_str()
            };
            let _ = writeln!(
                out,
                "| {} | {metric} | {base} | {new} | {rel} | {allowed} | {band} | {result} |",
                cell(&e.name)
            );
        }
    }
    let _ = writeln!(out, "\n{} regression(s)", c.regressions());
    out
}
