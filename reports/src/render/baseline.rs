//! The baseline comparison (`gauntlet run --baseline`) in Markdown and HTML: every judged
//! metric, regressions marked. Nothing is written when the run had no baseline.

use std::fmt::Write as _;

use super::html::escape;
use super::markdown::cell;
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

fn headline(r: &Report) -> (String, usize) {
    let b = &r.baseline;
    let n = b.regressions().count();
    (b.file.clone().unwrap_or_default(), n)
}

/// `### Baseline` for report.md.
pub fn markdown(out: &mut String, r: &Report) {
    let b = &r.baseline;
    if !b.enabled {
        return;
    }
    let (file, n) = headline(r);
    let judged = if b.not_comparable.is_empty() {
        ""
    } else {
        "not comparable, "
    };
    let _ = writeln!(
        out,
        "### Baseline\n\nCompared with `{}` (allowed: {}): **{judged}{n} regression{}**\n",
        file.replace('`', "'"),
        cell(&b.allowances),
        if n == 1 { "" } else { "s" }
    );
    for line in notes(r) {
        let _ = writeln!(out, "{}\n", cell(&line));
    }
    out.push_str(
        "| | Endpoint | Metric | Base | New | Change | Allowed | Noise (p or band) | Result |\n",
    );
    out.push_str("|---|---|---|---:|---:|---:|---:|---:|---|\n");
    for d in &b.deltas {
        let mark = if d.status == DeltaStatus::Regression {
            "❌"
        } else {
            "✅"
        };
        let _ = writeln!(
            out,
            "| {mark} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&d.endpoint),
            cell(&d.metric),
            format::value(d.base, d.unit),
            format::value(d.new, d.unit),
            change(d),
            cell(&d.allowance),
            band(d),
            d.status.as_str()
        );
    }
    out.push('\n');
}

/// `<section id="baseline">` for report.html.
pub fn html(out: &mut String, r: &Report, mark: fn(bool) -> &'static str) {
    let b = &r.baseline;
    if !b.enabled {
        return;
    }
    let (file, n) = headline(r);
    let _ = write!(
        out,
        "<section id=\"baseline\"><h2>Baseline</h2><p>Compared with <code>{}</code> (allowed: {}): <b>{n}</b> regressions</p>{}<table><tr><th>Endpoint</th><th>Metric</th><th>Base</th><th>New</th><th>Change</th><th>Allowed</th><th>Noise (p or band)</th><th></th><th>Result</th></tr>",
        escape(&file),
        escape(&b.allowances),
        notes(r)
            .iter()
            .map(|l| format!("<p>{}</p>", escape(l)))
            .collect::<String>()
    );
    for d in &b.deltas {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            escape(&d.endpoint),
            escape(&d.metric),
            format::value(d.base, d.unit),
            format::value(d.new, d.unit),
            change(d),
            escape(&d.allowance),
            band(d),
            mark(d.status != DeltaStatus::Regression),
            d.status.as_str()
        );
    }
    out.push_str("</table></section>");
}
