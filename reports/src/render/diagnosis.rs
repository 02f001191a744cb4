//! The diagnosis section: the causes named first, then where each endpoint's mean latency
//! went (a stacked bar in HTML, the same numbers in the table), the pool, the queue and
//! Postgres's own view.

use super::bars::StackedBars;
use super::document::{Block, Cell, Column, Figure, Section, Table, strong, text};
use crate::format::duration_us;
use crate::model::{EndpointDiagnosis, Report};

fn share(e: &EndpointDiagnosis, part: u64) -> String {
    format!("{:.0} %", e.share(part) * 100.0)
}

/// `Diagnosis`; absent when the service exported no per-route cost metrics.
pub(crate) fn section(r: &Report) -> Option<Section> {
    let d = &r.diagnosis;
    if !d.enabled {
        return None;
    }
    let mut s = Section::new("diagnosis", "Diagnosis: where the time went");
    if d.causes.is_empty() {
        s.push(vec![text(
            "No single resource dominates any endpoint's latency.",
        )]);
    } else {
        s.push(Block::List(d.causes.iter().map(strong).collect()));
    }
    s.push(Block::Figure(Figure::Bars(StackedBars {
        title: "Mean latency per endpoint by where it went",
        parts: vec![
            ("b-db", "database"),
            ("b-pool", "pool wait"),
            ("b-redis", "Redis"),
            ("b-svc", "service itself"),
        ],
        rows: d
            .endpoints
            .iter()
            .map(|e| {
                let parts = [e.db_us, e.pool_wait_us, e.redis_us, e.service_us];
                let values = parts.iter().map(|v| *v as f64).collect();
                (e.name.clone(), values, duration_us(e.mean_us))
            })
            .collect(),
    })));
    let mut table = Table::new(vec![
        Column::left("Endpoint"),
        Column::right("Requests"),
        Column::right("Mean"),
        Column::right("DB"),
        Column::right("Pool wait"),
        Column::right("Found pool full"),
        Column::right("Redis"),
        Column::right("Service"),
        Column::right("Queries/req"),
    ]);
    for e in &d.endpoints {
        table.row(vec![
            e.name.as_str().into(),
            e.requests.into(),
            duration_us(e.mean_us).into(),
            share(e, e.db_us).into(),
            share(e, e.pool_wait_us).into(),
            format!("{:.0} %", e.pool_exhausted_share * 100.0).into(),
            share(e, e.redis_us).into(),
            share(e, e.service_us).into(),
            format!("{:.1}", e.queries_per_request).into(),
        ]);
    }
    s.push(table);
    let (p, q, pg) = (&d.pool, &d.queue, &d.postgres);
    s.push(vec![
        text("DB pool: peak "),
        strong(format!("{}/{}", p.in_use_peak, p.max)),
        text(" in use, "),
        strong(p.waiters_peak.to_string()),
        text(" waiting · payroll queue "),
        strong(format!("{} → {}", q.first, q.last)),
        text(format!(" (peak {})", q.peak)),
    ]);
    if pg.sampled {
        s.push(vec![
            text("Postgres: peak "),
            strong(pg.lock_waits_peak.to_string()),
            text(" backends waiting on a lock, "),
            strong(pg.long_transactions_peak.to_string()),
            text(" transactions open over 1 s"),
        ]);
    }
    if !pg.top_statements.is_empty() {
        let mut top = Table::new(vec![
            Column::left("Statement"),
            Column::right("Calls"),
            Column::right("Total"),
            Column::right("Mean"),
            Column::right("Pages/call"),
        ]);
        for st in &pg.top_statements {
            top.row(vec![
                Cell::Code(st.query.clone()),
                st.calls.into(),
                duration_us(st.total_us).into(),
                duration_us(st.mean_us).into(),
                st.pages_per_call.into(),
            ]);
        }
        s.push(Block::Heading("Top statements by total time".to_owned()));
        s.push(top);
    } else if let Some(note) = &pg.statements_note {
        s.push(vec![text(format!("No statement statistics: {note}"))]);
    }
    if let Some(tables) = pg.table_scans.as_ref().filter(|t| !t.is_empty()) {
        let mut scans = Table::new(vec![
            Column::left("Table"),
            Column::right("Sequential scans"),
            Column::right("Rows a scan"),
        ]);
        for t in tables {
            scans.row(vec![
                Cell::Code(t.table.clone()),
                t.seq_scans.into(),
                t.rows_per_scan.into(),
            ]);
        }
        s.push(Block::Heading("Tables read sequentially".to_owned()));
        s.push(scans);
    }
    Some(s)
}
