//! `Tenants`: each tenant's share of the load (what `tenant.<label>.*` thresholds judge) and,
//! when the scenario had one, the noisy neighbour's flood beside them. No section when the run
//! recorded no tenant.

use super::document::{Cell, Column, Section, Table, code, strong, text};
use crate::format::{self, duration_us};
use crate::model::{Report, TenantReport};

pub(crate) fn section(r: &Report) -> Option<Section> {
    if r.tenants.is_empty() && !r.noisy_neighbour.enabled {
        return None;
    }
    let mut s = Section::new("tenants", "Tenants");
    let n = &r.noisy_neighbour;
    if n.enabled {
        let limit = n.limit_rps.map_or_else(String::new, |l| {
            format!(" (its plan's sustained read limit: {}/s)", format::trim(l))
        });
        s.push(vec![
            text("Noisy neighbour "),
            code(n.tenant.clone()),
            text(format!(
                " ({}) flooded through stage {} at {}/s{limit}, from {} to {}: ",
                n.tier.as_deref().unwrap_or("plan unknown"),
                n.stage,
                format::trim(n.target_rps),
                duration_us(n.start_offset_us),
                duration_us(n.end_offset_us),
            )),
            strong(format!("{} sent", n.sent)),
            text(format!(
                ", {} answered 2xx, {} answered 429 ({} of those past the first {} that spent its burst), {} other; {} ticks skipped.",
                n.ok,
                n.rate_limited,
                format::percent(n.rate_limited_rate().unwrap_or(0.0)),
                n.burst,
                n.other,
                n.skipped
            )),
        ]);
        if let Some(problem) = &n.problem {
            s.push(vec![
                text("The flood did not run as planned: "),
                strong(problem),
            ]);
        }
    }
    if !r.tenants_during_flood.is_empty() {
        s.push(vec![
            strong("While it flooded"),
            text(" (what the tenant.* thresholds judge):"),
        ]);
        s.push(table(&r.tenants_during_flood));
        s.push(vec![strong("Whole run:")]);
    }
    if !r.tenants.is_empty() {
        s.push(table(&r.tenants));
    }
    Some(s)
}

fn table(tenants: &[TenantReport]) -> Table {
    let mut table = Table::new(
        [Column::left("Tenant"), Column::left("Plan")]
            .into_iter()
            .chain(
                [
                    "Requests",
                    "Errors",
                    "Error rate",
                    "429",
                    "429 rate",
                    "p50",
                    "p95",
                    "p99",
                ]
                .map(Column::right),
            )
            .collect(),
    );
    for t in tenants {
        let l = &t.latency;
        table.row(vec![
            Cell::Code(t.label.clone()),
            t.tier.as_deref().unwrap_or("—").into(),
            t.count.into(),
            t.errors.into(),
            format::percent(t.error_rate).into(),
            t.rate_limited.into(),
            format::percent(t.rate_limited_rate).into(),
            duration_us(l.p50_us).into(),
            duration_us(l.p95_us).into(),
            duration_us(l.p99_us).into(),
        ]);
    }
    table
}
