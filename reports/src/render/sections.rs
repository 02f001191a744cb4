//! The report's sections in reading order: the verdict's reasons first, then what failed, then
//! the tables. Sections about one feature live beside it (`baseline.rs`, `scenario.rs`,
//! `chaos.rs`, the charts in `charts.rs`); the general ones are here.

use super::document::{Block, Cell, Column, Document, Inline, Section, Table, code, strong, text};
use crate::format::{self, duration_us};
use crate::model::{EndpointReport, Report, ValueUnit};

/// The whole report as sections; a section with nothing to say is left out.
pub(crate) fn document(r: &Report) -> Document {
    let sections = [
        Some(summary(r)),
        failed_thresholds(r),
        Some(super::charts::section(r)),
        Some(endpoints(r)),
        Some(thresholds(r)),
        super::diagnosis::section(r),
        super::baseline::section(r),
        super::scenario::stress(r),
        super::scenario::spike(r),
        super::scenario::trends(r),
        super::scenario::open_model(r),
        super::tenants::section(r),
        probes(r),
        super::drill::section(r),
        super::chaos::section(r),
        super::chaos::ledger(&r.ledger),
        alerts(r),
        super::parts::section(r),
        Some(run(r)),
    ];
    Document {
        verdict: r.verdict,
        scenario: r.run.scenario.clone(),
        profile: r.run.profile.clone(),
        sections: sections.into_iter().flatten().collect(),
    }
}

fn summary(r: &Report) -> Section {
    let mut s = Section {
        id: "summary",
        title: None,
        blocks: Vec::new(),
    };
    s.push(vec![
        strong(r.total.count.to_string()),
        text(format!(
            " requests in {} · ",
            duration_us(r.run.duration_us)
        )),
        strong(format::value(r.total.rps, ValueUnit::PerSecond)),
        text(" · error rate "),
        strong(format::percent(r.total.error_rate)),
        text(" · p95 "),
        strong(duration_us(r.total.latency.p95_us)),
        text(" · p99 "),
        strong(duration_us(r.total.latency.p99_us)),
    ]);
    if !r.reasons.is_empty() {
        s.push(Block::List(r.reasons.iter().map(text).collect()));
    }
    s
}

fn failed_thresholds(r: &Report) -> Option<Section> {
    let failed: Vec<_> = r.thresholds.iter().filter(|t| !t.pass).collect();
    if failed.is_empty() {
        return None;
    }
    let mut table = Table::new(vec![
        Column::left("Threshold"),
        Column::right("Observed"),
        Column::left("Why"),
    ]);
    for t in failed {
        table.row(vec![
            Cell::Code(t.expression.clone()),
            t.observed
                .map_or_else(|| "—".to_owned(), |v| format::value(v, t.unit))
                .into(),
            t.reason.as_deref().unwrap_or("").into(),
        ]);
    }
    let mut s = Section::new("failed-thresholds", "Failed thresholds");
    s.push(table);
    Some(s)
}

fn endpoint_cells(e: &EndpointReport) -> Vec<Cell> {
    let l = &e.latency;
    vec![
        e.name.as_str().into(),
        e.count.into(),
        format::trim(e.rps).into(),
        e.errors.http_4xx.into(),
        e.errors.http_5xx.into(),
        e.errors.timeout.into(),
        (e.errors.connection + e.errors.other).into(),
        format::percent(e.error_rate).into(),
        duration_us(l.p50_us).into(),
        duration_us(l.p95_us).into(),
        duration_us(l.p99_us).into(),
        duration_us(l.max_us).into(),
    ]
}

fn endpoints(r: &Report) -> Section {
    let mut table = Table::new(
        std::iter::once(Column::left("Endpoint"))
            .chain(
                [
                    "Requests",
                    "req/s",
                    "4xx",
                    "5xx",
                    "Timeouts",
                    "Conn/other",
                    "Error rate",
                    "p50",
                    "p95",
                    "p99",
                    "max",
                ]
                .map(Column::right),
            )
            .collect(),
    );
    table.class = Some("endpoints");
    for e in &r.endpoints {
        table.row(endpoint_cells(e));
    }
    table.total_row(endpoint_cells(&r.total));
    let mut s = Section::new("endpoints", "Endpoints");
    s.push(table);
    s
}

fn thresholds(r: &Report) -> Section {
    let mut s = Section::new("thresholds", "Thresholds");
    if r.thresholds.is_empty() {
        s.push(vec![text("No thresholds were set.")]);
        return s;
    }
    let mut table = Table::new(vec![
        Column::mark(),
        Column::left("Threshold"),
        Column::right("Observed"),
        Column::left("Why"),
    ]);
    for t in &r.thresholds {
        table.row(vec![
            Cell::Mark(t.pass),
            Cell::Code(t.expression.clone()),
            t.observed
                .map_or_else(|| "no data".to_owned(), |v| format::value(v, t.unit))
                .into(),
            t.reason.as_deref().unwrap_or("").into(),
        ]);
    }
    s.push(table);
    s
}

fn probes(r: &Report) -> Option<Section> {
    if r.probes.results.is_empty() {
        return None;
    }
    let mut table = Table::new(vec![
        Column::mark(),
        Column::left("Kind"),
        Column::left("Probe"),
        Column::right("Attempts"),
        Column::right("Leaks"),
        Column::right("Failures"),
    ]);
    for p in &r.probes.results {
        table.row(vec![
            Cell::Mark(p.pass()),
            p.kind.as_str().into(),
            p.name.as_str().into(),
            p.attempts.into(),
            p.leaks.into(),
            p.failures.into(),
        ]);
    }
    let mut s = Section::new("probes", "Probes");
    s.push(table);
    // The offending requests themselves: what a reader needs to reproduce a leak.
    for p in r.probes.results.iter().filter(|p| !p.examples.is_empty()) {
        s.push(Block::Heading(format!("{} / {}", p.kind, p.name)));
        s.push(Block::List(p.examples.iter().map(code).collect()));
    }
    Some(s)
}

fn alerts(r: &Report) -> Option<Section> {
    if !r.alerts.enabled {
        return None;
    }
    let mut s = Section::new("alerts", "Alerts");
    if r.alerts.alerts.is_empty() {
        s.push(vec![text("No alerts were expected or fired.")]);
        return Some(s);
    }
    if let Some(url) = &r.alerts.prometheus {
        s.push(vec![
            text("As evaluated by the Prometheus at "),
            code(url.clone()),
            text(" (its alerts API, read every second)."),
        ]);
    }
    let mut table = Table::new(vec![
        Column::left("Alert"),
        Column::left("Expected"),
        Column::right("Pending at"),
        Column::right("Fired at"),
        Column::right("Resolved at"),
    ]);
    let at =
        |o: Option<u64>| o.map_or_else(|| "—".to_owned(), |us| format!("+{}", duration_us(us)));
    for a in &r.alerts.alerts {
        table.row(vec![
            a.name.as_str().into(),
            if a.expected { "yes" } else { "no" }.into(),
            at(a.pending_at_offset_us).into(),
            at(a.fired_at_offset_us).into(),
            at(a.resolved_at_offset_us).into(),
        ]);
    }
    s.push(table);
    Some(s)
}

/// How to reproduce the run: seed, backend, revision, the command line and versions.
fn run(r: &Report) -> Section {
    let run = &r.run;
    let mut line = vec![
        text("seed "),
        strong(run.seed.to_string()),
        text(" · backend "),
        strong(run.backend_description()),
    ];
    if !run.target.is_empty() {
        line.extend([text(" · target "), code(run.target.clone())]);
    }
    line.extend([
        text(" · revision "),
        code(run.git_revision.as_deref().unwrap_or("unknown")),
        text(format!(" · schema v{}", r.schema_version)),
    ]);
    let mut s = Section::new("run", "Run");
    s.push(line);
    if !run.command_line.is_empty() {
        s.push(vec![code(run.command_line.join(" "))]);
    }
    if !run.versions.is_empty() {
        let mut versions: Vec<Inline> = Vec::new();
        for (i, (k, v)) in run.versions.iter().enumerate() {
            let sep = if i == 0 { "" } else { " · " };
            versions.extend([text(format!("{sep}{k} ")), strong(v.clone())]);
        }
        s.push(versions);
    }
    s
}
