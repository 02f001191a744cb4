//! Text and Markdown tables for a [`Comparison`].

use std::fmt::Write as _;

use super::{CompareOutcome, Comparison, MetricDelta};
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
    let band = noise_cell(m.p_value, m.base_band, m.unit);
    [
        m.metric.name().to_owned(),
        format::value(m.base, m.unit),
        format::value(m.new, m.unit),
        rel,
        m.allowance.to_string(),
        band,
    ]
}

/// The noise column: a test's p-value, else the base's band, else a dash.
pub(crate) fn noise_cell(
    p_value: Option<f64>,
    band: Option<(f64, f64)>,
    unit: crate::model::ValueUnit,
) -> String {
    match (p_value, band) {
        (Some(p), _) if p < 0.0001 => "p<0.0001".to_owned(),
        (Some(p), _) => format!("p={}", format::fixed(p, 4)),
        (None, Some((lo, hi))) => {
            format!("{}–{}", format::value(lo, unit), format::value(hi, unit))
        }
        (None, None) => "—".to_owned(),
    }
}

/// The lines above a table: the model, and why the runs cannot be compared, if so.
fn preamble(c: &Comparison) -> String {
    let mut out = format!("noise model: {}", c.model.describe());
    if let Some(a) = c.alpha {
        let _ = write!(out, " (each test at α={})", format::fixed(a, 5));
    }
    out.push('\n');
    for why in &c.not_comparable {
        let _ = writeln!(out, "NOT COMPARABLE: {why}");
    }
    out
}

/// The closing line.
fn verdict_line(c: &Comparison) -> String {
    match c.outcome() {
        CompareOutcome::NotComparable => format!(
            "not comparable: {} regression(s) not judged (exit 4)",
            c.regressions()
        ),
        _ => format!("{} regression(s)", c.regressions()),
    }
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
    let mut out = preamble(c);
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
        "endpoint", "metric", "base", "new", "change", "allowed", "noise (p or band)"
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
    for line in &c.diagnosis {
        let _ = writeln!(out, "diagnosis: {line}");
    }
    let _ = writeln!(out, "{}", verdict_line(c));
    out
}

/// Markdown table, one row per metric; endpoint names escaped.
pub(super) fn markdown(c: &Comparison) -> String {
    let mut out = String::new();
    for line in preamble(c).lines() {
        let _ = writeln!(out, "{}\n", cell(line));
    }
    out.push_str(
        "| Endpoint | Metric | Base | New | Change | Allowed | Noise (p or band) | Result |\n",
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
    if !c.diagnosis.is_empty() {
        out.push_str("\nWhere the time went, changed:\n\n");
        for line in &c.diagnosis {
            let _ = writeln!(out, "- {}", cell(line));
        }
    }
    let _ = writeln!(out, "\n{}", verdict_line(c));
    out
}
