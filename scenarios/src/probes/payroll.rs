//! Queue bleed and role boundaries around payroll: a run of tenant A completes with payslips
//! of A's employees only (never B's); an employee sees only their own payslips (leave
//! decisions are `roles.rs`'s).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Prober, Req};
use crate::hrms::{JsonBody, Role};
use crate::personas::ProbeVerdict;

const KIND: &str = "payroll_isolation";
/// How long a probe run may take to complete (a seeded tenant's run takes well under a second).
const RUN_DEADLINE: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(100);
/// Payslip pages read at most (100 each).
const MAX_PAGES: u32 = 50;

const NAME: &str = "a tenant's payroll run writes only its own employees' payslips";

pub(super) async fn run(p: &Prober) {
    // Every tenant's run first, so they share one deadline instead of waiting in turn.
    let started = Instant::now();
    let mut runs = Vec::new();
    for own in 0..p.tenants() {
        runs.push(start_run(p, own).await);
    }
    for (own, run) in runs.into_iter().enumerate() {
        if let Some((start, run)) = run {
            check_run(p, own, &start, &run, started).await;
        }
        employee_boundaries(p, own).await;
    }
}

/// Starts a run of tenant `own`; returns the request and the run id.
async fn start_run(p: &Prober, own: usize) -> Option<(Req, String)> {
    let start = Req::post("/payroll/runs", format!("tenant #{own} hr_admin"))
        .token(p.token(own, Role::HrAdmin))
        .body(json!({"period_start": "2026-01-01", "period_end": "2026-01-31"}));
    let Some(run) = p.send(&start).await.and_then(|r| r.field("id")) else {
        p.report(
            KIND,
            NAME,
            ProbeVerdict::Inconclusive(format!("{start}: no run")),
        );
        return None;
    };
    p.set_run(own, run.clone());
    Some((start, run))
}

/// Waits (until `started` + [`RUN_DEADLINE`]) for the run to complete, then reads its
/// payslips: none may belong to another tenant's employee.
async fn check_run(p: &Prober, own: usize, start: &Req, run: &str, started: Instant) {
    let name = NAME;
    let token = p.token(own, Role::HrAdmin);
    let who = format!("tenant #{own} hr_admin");
    let status = Req::get(format!("/payroll/runs/{run}"), who.clone()).token(token);
    let last = loop {
        let last = p
            .send(&status)
            .await
            .and_then(|r| r.field("status"))
            .unwrap_or_default();
        if last == "completed" || last == "failed" || started.elapsed() >= RUN_DEADLINE {
            break last;
        }
        tokio::time::sleep(POLL).await;
    };
    if last != "completed" {
        p.report(
            KIND,
            name,
            ProbeVerdict::Inconclusive(format!(
                "{start} → run {run} did not complete within {RUN_DEADLINE:?} (status {last:?}): \
                 the job is failing"
            )),
        );
        return;
    }
    let foreign: HashSet<&str> = (0..p.fixture.tenants.len())
        .filter(|t| *t != own)
        .flat_map(|t| p.fixture.tenants[t].employee_ids.iter().map(String::as_str))
        .collect();
    let mut verdict = ProbeVerdict::Held;
    for page in 1..=MAX_PAGES {
        let req = Req::get(
            format!("/payroll/runs/{run}/payslips?per_page=100&page={page}"),
            who.clone(),
        )
        .token(token);
        let Some(reply) = p.send(&req).await.filter(|r| r.status == 200) else {
            verdict = ProbeVerdict::Inconclusive(format!("{req}: no 200"));
            break;
        };
        let items = reply.items();
        let stranger = items
            .iter()
            .filter_map(|s| s["employee_id"].as_str())
            .find(|id| foreign.contains(id));
        if let Some(id) = stranger {
            verdict = ProbeVerdict::Leak(format!(
                "{req} → 200; run {run} of tenant #{own} holds a payslip of employee {id} of another tenant"
            ));
            break;
        }
        if items.len() < 100 {
            break;
        }
    }
    p.report(KIND, name, verdict);
}

async fn employee_boundaries(p: &Prober, own: usize) {
    let token = p.token(own, Role::Employee);
    let who = format!("tenant #{own} employee");
    if let (Some(run), Some(me)) = (p.run_of(own), p.tokens[own].employee_id.clone()) {
        let req = Req::get(
            format!("/payroll/runs/{run}/payslips?per_page=100"),
            who.clone(),
        )
        .token(token);
        let verdict = match p.send(&req).await {
            Some(r) if r.status == 200 => {
                match r
                    .items()
                    .iter()
                    .filter_map(|s| s["employee_id"].as_str())
                    .find(|id| *id != me)
                {
                    Some(id) => ProbeVerdict::Leak(format!(
                        "{req} → 200; an employee sees the payslip of colleague {id}"
                    )),
                    None => ProbeVerdict::Held,
                }
            }
            Some(r) if (400..500).contains(&r.status) => ProbeVerdict::Held,
            Some(r) => ProbeVerdict::Inconclusive(format!("{req} → {}", r.status)),
            None => ProbeVerdict::Inconclusive(format!("{req}: no response")),
        };
        p.report(
            "role_boundaries",
            "employee lists a run's payslips",
            verdict,
        );
    }
}
