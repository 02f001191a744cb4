//! The plain-text summary the CLI prints at the end of a run: verdict, failed thresholds with
//! observed values, the busiest endpoints, and where the report files are.

use std::fmt::Write as _;

use super::verdict_word;
use crate::format::{self, duration_us};
use crate::model::{Report, ScenarioResults, ValueUnit};

/// Endpoints listed, busiest first.
const TOP_ENDPOINTS: usize = 5;
/// Failing probes listed, each with its first example; the report has them all.
const FAILING_PROBES: usize = 5;

/// Render the console summary. `files` are (label, path) pairs, e.g. `("html", "out/report.html")`.
pub fn render(r: &Report, files: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(2048);
    let _ = writeln!(
        out,
        "Gauntlet {}  {} ({}), seed {}, {}",
        verdict_word(r.verdict),
        r.run.scenario,
        r.run.profile,
        r.run.seed,
        duration_us(r.run.duration_us)
    );
    let _ = writeln!(
        out,
        "  {} requests, {}, error rate {}, p95 {}, p99 {}",
        r.total.count,
        format::value(r.total.rps, ValueUnit::PerSecond),
        format::percent(r.total.error_rate),
        duration_us(r.total.latency.p95_us),
        duration_us(r.total.latency.p99_us)
    );
    for reason in r
        .reasons
        .iter()
        .filter(|x| !x.starts_with("threshold failed"))
    {
        let _ = writeln!(out, "  ! {reason}");
    }
    drill(&mut out, r);
    thresholds(&mut out, r);
    failing_probes(&mut out, r);
    endpoints(&mut out, r);
    if !files.is_empty() {
        out.push_str("Files:\n");
        let width = files.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
        for (label, path) in files {
            let _ = writeln!(out, "  {label:<width$}  {path}");
        }
    }
    out
}

/// One line of a drill's measured RTO and RPO (or why there are none).
fn drill(out: &mut String, r: &Report) {
    let d = &r.drill;
    if !d.enabled {
        return;
    }
    let or_dash = |v: Option<u64>| v.map_or_else(|| "—".to_owned(), duration_us);
    let _ = writeln!(
        out,
        "  drill: RTO {}, RPO {} ({} acknowledged writes lost), restore {}",
        or_dash(d.rto_us),
        or_dash(d.rpo_us),
        d.lost.map_or_else(|| "—".to_owned(), |n| n.to_string()),
        or_dash(d.restore_duration_us)
    );
    if let Some(why) = &d.failure {
        let _ = writeln!(out, "  ! the drill failed: {why}");
    }
}

fn thresholds(out: &mut String, r: &Report) {
    if r.thresholds.is_empty() {
        return;
    }
    let failed = r.thresholds.iter().filter(|t| !t.pass).count();
    let _ = writeln!(
        out,
        "Thresholds: {} passed, {failed} failed",
        r.thresholds.len() - failed
    );
    for t in r.thresholds.iter().filter(|t| !t.pass) {
        let observed = t
            .observed
            .map_or_else(|| "no data".to_owned(), |v| format::value(v, t.unit));
        let _ = writeln!(out, "  FAIL {}  (observed {observed})", t.expression);
        if t.observed.is_none()
            && let Some(why) = &t.reason
        {
            let _ = writeln!(out, "       {why}");
        }
    }
}

/// Which probes leaked or failed, and why: `probes.failures == 0 (observed 1)` alone sends the
/// reader to the report for the one fact the console could have given.
fn failing_probes(out: &mut String, r: &Report) {
    let failing: Vec<_> = r.probes.results.iter().filter(|p| !p.pass()).collect();
    if failing.is_empty() {
        return;
    }
    let _ = writeln!(out, "Probes: {} failing", failing.len());
    for p in failing.iter().take(FAILING_PROBES) {
        let _ = writeln!(
            out,
            "  {} / {}: {} leaks, {} failures of {}",
            p.kind, p.name, p.leaks, p.failures, p.attempts
        );
        if let Some(example) = p.examples.first() {
            let _ = writeln!(out, "       {example}");
        }
    }
    if failing.len() > FAILING_PROBES {
        let _ = writeln!(
            out,
            "  … {} more in the report",
            failing.len() - FAILING_PROBES
        );
    }
}

fn endpoints(out: &mut String, r: &Report) {
    if r.endpoints.is_empty() {
        return;
    }
    let mut top: Vec<_> = r.endpoints.iter().collect();
    // Busiest first; ties by name so the order is stable.
    top.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    let shown = top.len().min(TOP_ENDPOINTS);
    let width = top[..shown]
        .iter()
        .map(|e| e.name.chars().count())
        .max()
        .unwrap_or(0);
    let _ = writeln!(out, "Top endpoints ({shown} of {}):", top.len());
    for e in &top[..shown] {
        let _ = writeln!(
            out,
            "  {:<width$}  {:>9} req  {:>9}  err {:>6}  p50 {:>7}  p95 {:>7}  p99 {:>7}",
            e.name,
            e.count,
            format::value(e.rps, ValueUnit::PerSecond),
            format::percent(e.error_rate),
            duration_us(e.latency.p50_us),
            duration_us(e.latency.p95_us),
            duration_us(e.latency.p99_us)
        );
    }
}

/// The scenario's own results as console lines: stress breaking point, spike recovery and,
/// where the scenario is about them, the trends.
pub fn scenario_lines(s: &ScenarioResults) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(s) = &s.stress {
        lines.push(format!(
            "stress: breaking point {} (first failing step: {})",
            s.breaking_point.as_deref().unwrap_or("none"),
            s.first_failure.as_deref().unwrap_or("none")
        ));
        if let Some(rates) = s.in_rate_terms() {
            lines.push(format!("stress: {rates}"));
        }
    }
    if let Some(s) = &s.spike {
        let recovery = s.recovery_us.map_or_else(
            || "not recovered".to_owned(),
            |us| format!("{:.1} s", us as f64 / 1e6),
        );
        lines.push(format!(
            "spike: p95 {} → {} ms during {}; recovery to within 20% of baseline: {recovery}",
            s.baseline_p95_us / 1000,
            s.spike_p95_us / 1000,
            s.spike_stage
        ));
    }
    for t in &s.trends {
        let slope = t
            .slope_per_minute
            .map_or_else(|| "n/a".to_owned(), |v| format!("{v:+.1}/min"));
        lines.push(format!(
            "endurance: {} trend {slope} over {} samples",
            t.series, t.samples
        ));
    }
    lines
}
