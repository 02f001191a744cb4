//! `report.md`: verdict first, then failed thresholds, then tables. Sized for a PR comment and
//! `$GITHUB_STEP_SUMMARY` (long lists are cut with a count of what was left out).

use std::fmt::Write as _;

use super::verdict_word;
use crate::format::{self, duration_us};
use crate::model::{EndpointReport, Report, Verdict};

/// Render `report.md`.
pub fn render(r: &Report) -> String {
    let mut out = String::with_capacity(8 * 1024);
    header(&mut out, r);
    failed_thresholds(&mut out, r);
    endpoints(&mut out, r);
    thresholds(&mut out, r);
    super::baseline::markdown(&mut out, r);
    super::scenario::markdown(&mut out, r);
    probes(&mut out, r);
    super::chaos::markdown(&mut out, r);
    ledger_and_alerts(&mut out, r);
    footer(&mut out, r);
    out
}

/// Escape user text for a Markdown table cell: no table breaks, no emphasis, no raw HTML.
pub(crate) fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\r' => out.push(' '),
            '|' | '\\' | '*' | '_' | '`' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            _ => out.push(ch),
        }
    }
    out
}

fn icon(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✅",
        Verdict::Fail => "❌",
        Verdict::Invalid => "⚠️",
        Verdict::Aborted => "⏹️",
    }
}

fn header(out: &mut String, r: &Report) {
    let _ = writeln!(
        out,
        "## {} Gauntlet: {} — {} ({})\n",
        icon(r.verdict),
        verdict_word(r.verdict),
        cell(&r.run.scenario),
        cell(&r.run.profile)
    );
    let _ = writeln!(
        out,
        "{} requests in {} · {} · {} errors\n",
        r.total.count,
        duration_us(r.run.duration_us),
        format::value(r.total.rps, crate::model::ValueUnit::PerSecond),
        format::percent(r.total.error_rate)
    );
    for reason in &r.reasons {
        let _ = writeln!(out, "- {}", cell(reason));
    }
    if !r.reasons.is_empty() {
        out.push('\n');
    }
}

fn failed_thresholds(out: &mut String, r: &Report) {
    let failed: Vec<_> = r.thresholds.iter().filter(|t| !t.pass).collect();
    if failed.is_empty() {
        return;
    }
    out.push_str("### Failed thresholds\n\n| Threshold | Observed | Why |\n|---|---:|---|\n");
    for t in failed {
        let observed = t
            .observed
            .map(|v| format::value(v, t.unit))
            .unwrap_or_else(|| "—".into());
        let why = t.reason.as_deref().unwrap_or("");
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            cell(&t.expression),
            observed,
            cell(why)
        );
    }
    out.push('\n');
}

fn endpoint_row(out: &mut String, e: &EndpointReport, bold: bool) {
    let name = if bold {
        format!("**{}**", cell(&e.name))
    } else {
        cell(&e.name)
    };
    let l = &e.latency;
    let _ = writeln!(
        out,
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {} |",
        e.count,
        format::trim(e.rps),
        e.errors.total,
        format::percent(e.error_rate),
        duration_us(l.p50_us),
        duration_us(l.p95_us),
        duration_us(l.p99_us),
        duration_us(l.max_us)
    );
}

fn endpoints(out: &mut String, r: &Report) {
    out.push_str("### Endpoints\n\n");
    out.push_str("| Endpoint | Requests | req/s | Errors | Error rate | p50 | p95 | p99 | max |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for e in &r.endpoints {
        endpoint_row(out, e, false);
    }
    endpoint_row(out, &r.total, true);
    out.push('\n');
}

fn thresholds(out: &mut String, r: &Report) {
    if r.thresholds.is_empty() {
        return;
    }
    out.push_str("### Thresholds\n\n| | Threshold | Observed |\n|---|---|---:|\n");
    for t in &r.thresholds {
        let observed = t
            .observed
            .map(|v| format::value(v, t.unit))
            .unwrap_or_else(|| "no data".into());
        let mark = if t.pass { "✅" } else { "❌" };
        let _ = writeln!(out, "| {mark} | {} | {observed} |", cell(&t.expression));
    }
    out.push('\n');
}

fn probes(out: &mut String, r: &Report) {
    if r.probes.results.is_empty() {
        return;
    }
    out.push_str("### Probes\n\n| | Kind | Probe | Attempts | Leaks | Failures |\n");
    out.push_str("|---|---|---|---:|---:|---:|\n");
    for p in &r.probes.results {
        let mark = if p.pass() { "✅" } else { "❌" };
        let _ = writeln!(
            out,
            "| {mark} | {} | {} | {} | {} | {} |",
            cell(&p.kind),
            cell(&p.name),
            p.attempts,
            p.leaks,
            p.failures
        );
    }
    out.push('\n');
    // The offending requests themselves: what a reader needs to reproduce a leak.
    for p in r.probes.results.iter().filter(|p| !p.examples.is_empty()) {
        let _ = writeln!(out, "**{} / {}**\n", p.kind, p.name);
        for example in &p.examples {
            let _ = writeln!(out, "- `{}`", example.replace('`', "'"));
        }
        out.push('\n');
    }
}

fn ledger_and_alerts(out: &mut String, r: &Report) {
    super::chaos::ledger_markdown(out, &r.ledger);
    if r.alerts.enabled && !r.alerts.alerts.is_empty() {
        out.push_str(
            "### Alerts\n\n| Alert | Expected | Fired at | Resolved at |\n|---|---|---:|---:|\n",
        );
        for a in &r.alerts.alerts {
            let at = |o: Option<u64>| {
                o.map(|us| format!("+{}", duration_us(us)))
                    .unwrap_or_else(|| "—".into())
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&a.name),
                if a.expected { "yes" } else { "no" },
                at(a.fired_at_offset_us),
                at(a.resolved_at_offset_us)
            );
        }
        out.push('\n');
    }
}

fn footer(out: &mut String, r: &Report) {
    let rev = r.run.git_revision.as_deref().unwrap_or("unknown");
    let _ = writeln!(
        out,
        "<sub>seed {} · backend {} · revision {} · schema v{}</sub>",
        r.run.seed,
        cell(&r.run.backend_description()),
        cell(rev),
        r.schema_version
    );
}
