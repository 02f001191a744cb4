//! The scenario-results section (stress breaking point, spike recovery, endurance trends) in
//! Markdown and HTML. Kept apart from the main renderers, which only call in here; nothing is
//! written when the run had no scenario results.

use std::fmt::Write as _;

use super::html::escape;
use super::markdown::cell;
use crate::format::{self, duration_us};
use crate::model::{Report, SpikeResult, Trend};

fn recovery(s: &SpikeResult) -> String {
    s.recovery_us
        .map_or_else(|| "not recovered".to_owned(), duration_us)
}

fn slope(t: &Trend) -> String {
    t.slope_per_minute
        .map_or_else(|| "n/a".to_owned(), |v| format!("{}/min", signed(v)))
}

fn signed(v: f64) -> String {
    let s = format::trim(v);
    if v > 0.0 { format!("+{s}") } else { s }
}

fn opt(v: Option<u64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| v.to_string())
}

/// `### Stress`, `### Spike` and `### Endurance trends` for report.md.
pub fn markdown(out: &mut String, r: &Report) {
    let s = &r.scenario_results;
    if let Some(st) = &s.stress {
        let _ = writeln!(
            out,
            "### Stress\n\nBreaking point: **{}** · first failing step: **{}**\n",
            cell(st.breaking_point.as_deref().unwrap_or("none")),
            cell(st.first_failure.as_deref().unwrap_or("none"))
        );
        out.push_str("| | Stage | Kind | Users | Requests | Error rate | p95 | Failed |\n");
        out.push_str("|---|---|---|---:|---:|---:|---:|---|\n");
        for v in &st.stages {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                if v.pass { "✅" } else { "❌" },
                cell(&v.name),
                cell(v.kind.as_str()),
                v.users,
                v.count,
                format::percent(v.error_rate),
                duration_us(v.p95_us),
                cell(&v.failed.join(", "))
            );
        }
        out.push('\n');
    }
    if let Some(sp) = &s.spike {
        let _ = writeln!(
            out,
            "### Spike\n\n| Baseline p95 ({}) | Spike p95 ({}) | Recovery to within {}× baseline |\n|---:|---:|---:|\n| {} | {} | {} |\n",
            cell(&sp.baseline_stage),
            cell(&sp.spike_stage),
            format::trim(sp.recovery_factor),
            duration_us(sp.baseline_p95_us),
            duration_us(sp.spike_p95_us),
            recovery(sp)
        );
    }
    if !s.trends.is_empty() {
        out.push_str("### Endurance trends\n\n| Series | Samples | Slope | First | Last |\n");
        out.push_str("|---|---:|---:|---:|---:|\n");
        for t in &s.trends {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&t.series),
                t.samples,
                slope(t),
                opt(t.first),
                opt(t.last)
            );
        }
        out.push('\n');
    }
}

/// One `<section>` per result for report.html.
pub fn html(out: &mut String, r: &Report, mark: fn(bool) -> &'static str) {
    let s = &r.scenario_results;
    if let Some(st) = &s.stress {
        let _ = write!(
            out,
            "<section id=\"stress\"><h2>Stress</h2><p>Breaking point <b>{}</b> · first failing step <b>{}</b></p><table><tr><th>Stage</th><th>Kind</th><th>Users</th><th>Requests</th><th>Error rate</th><th>p95</th><th></th><th>Failed</th></tr>",
            escape(st.breaking_point.as_deref().unwrap_or("none")),
            escape(st.first_failure.as_deref().unwrap_or("none"))
        );
        for v in &st.stages {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
                escape(&v.name),
                escape(v.kind.as_str()),
                v.users,
                v.count,
                format::percent(v.error_rate),
                duration_us(v.p95_us),
                mark(v.pass),
                escape(&v.failed.join(", "))
            );
        }
        out.push_str("</table></section>");
    }
    if let Some(sp) = &s.spike {
        let _ = write!(
            out,
            "<section id=\"spike\"><h2>Spike</h2><p>p95 {} during <b>{}</b> → {} during <b>{}</b> · recovery to within {}× baseline: {} <b>{}</b></p></section>",
            duration_us(sp.baseline_p95_us),
            escape(&sp.baseline_stage),
            duration_us(sp.spike_p95_us),
            escape(&sp.spike_stage),
            format::trim(sp.recovery_factor),
            mark(sp.recovered()),
            recovery(sp)
        );
    }
    if !s.trends.is_empty() {
        out.push_str("<section id=\"trends\"><h2>Endurance trends</h2><table><tr><th>Series</th><th>Samples</th><th>Slope</th><th>First</th><th>Last</th></tr>");
        for t in &s.trends {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&t.series),
                t.samples,
                slope(t),
                opt(t.first),
                opt(t.last)
            );
        }
        out.push_str("</table></section>");
    }
}
