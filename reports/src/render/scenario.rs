//! The scenario results (stress breaking point, spike recovery, endurance trends), one
//! section each; none when the run had no such result.

use super::document::{Cell, Column, Inline, Section, Table, strong, text};
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

/// `Stress`: the breaking point, then each stage's verdict.
pub(crate) fn stress(r: &Report) -> Option<Section> {
    let st = r.scenario_results.stress.as_ref()?;
    let mut s = Section::new("stress", "Stress");
    s.push(vec![
        text("Breaking point: "),
        strong(st.breaking_point.as_deref().unwrap_or("none")),
        text(" · first failing step: "),
        strong(st.first_failure.as_deref().unwrap_or("none")),
    ]);
    if let Some(rates) = st.in_rate_terms() {
        s.push(vec![text("In rate terms: "), strong(rates)]);
    }
    let mut table = Table::new(vec![
        Column::mark(),
        Column::left("Stage"),
        Column::left("Kind"),
        Column::right("Users"),
        Column::right("Requests"),
        Column::right("Error rate"),
        Column::right("p95"),
        Column::left("Failed"),
    ]);
    for v in &st.stages {
        table.row(vec![
            Cell::Mark(v.pass),
            v.name.as_str().into(),
            v.kind.as_str().into(),
            u64::from(v.users).into(),
            v.count.into(),
            format::percent(v.error_rate).into(),
            duration_us(v.p95_us).into(),
            v.failed.join(", ").into(),
        ]);
    }
    s.push(table);
    Some(s)
}

/// `Spike`: whether and when p95 came back, then the numbers it was judged on.
pub(crate) fn spike(r: &Report) -> Option<Section> {
    let sp = r.scenario_results.spike.as_ref()?;
    let within = format!(
        "Recovery to within {}× baseline",
        format::trim(sp.recovery_factor)
    );
    let mut s = Section::new("spike", "Spike");
    s.push(vec![
        Inline::Mark(sp.recovered()),
        text(format!(" {within} p95: ")),
        strong(recovery(sp)),
    ]);
    let mut table = Table::new(vec![
        Column::right(format!("Baseline p95 ({})", sp.baseline_stage)),
        Column::right(format!("Spike p95 ({})", sp.spike_stage)),
        Column::right(within),
    ]);
    table.row(vec![
        duration_us(sp.baseline_p95_us).into(),
        duration_us(sp.spike_p95_us).into(),
        recovery(sp).into(),
    ]);
    s.push(table);
    Some(s)
}

/// `Endurance trends`: one slope per monitored series.
pub(crate) fn trends(r: &Report) -> Option<Section> {
    let trends = &r.scenario_results.trends;
    if trends.is_empty() {
        return None;
    }
    let mut table = Table::new(vec![
        Column::left("Series"),
        Column::right("Samples"),
        Column::right("Slope"),
        Column::right("First"),
        Column::right("Last"),
    ]);
    for t in trends {
        table.row(vec![
            t.series.as_str().into(),
            t.samples.into(),
            slope(t).into(),
            opt(t.first).into(),
            opt(t.last).into(),
        ]);
    }
    let mut s = Section::new("trends", "Endurance trends");
    s.push(table);
    Some(s)
}

/// `Open model`: what the arrival schedule did, and the two latencies side by side.
pub(crate) fn open_model(r: &Report) -> Option<Section> {
    let o = &r.open_model;
    if !o.enabled {
        return None;
    }
    let mut s = Section::new("open-model", "Open model");
    s.push(vec![
        strong(o.scheduled_iterations.to_string()),
        text(" iterations scheduled · "),
        strong(o.started_iterations.to_string()),
        text(" started · "),
        strong(o.dropped_iterations.to_string()),
        text(format!(
            " dropped (no free user; a pool of {})",
            o.pool_users
        )),
    ]);
    s.push(vec![text(
        "Response time is measured from each iteration's scheduled start, as a user waits it; \
         it is the latency everywhere else in this report and what http.* thresholds judge. \
         Service time is measured from each request's send.",
    )]);
    let mut table = Table::new(vec![
        Column::left("Latency"),
        Column::right("p50"),
        Column::right("p95"),
        Column::right("p99"),
        Column::right("max"),
    ]);
    for (name, l) in [
        ("response time", &o.response_time),
        ("service time", &o.service_time),
    ] {
        table.row(vec![
            Cell::from(name),
            duration_us(l.p50_us).into(),
            duration_us(l.p95_us).into(),
            duration_us(l.p99_us).into(),
            duration_us(l.max_us).into(),
        ]);
    }
    s.push(table);
    Some(s)
}
