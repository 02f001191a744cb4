//! Listing and search leakage: the own directory, filters, search terms and pages must never
//! surface another tenant's marker or ids.

use super::{Prober, Req};
use crate::hrms::{JsonBody, Role};
use crate::personas::ProbeVerdict;

const KIND: &str = "listing_leak";
const EXPECTED: &str = "200 with own data only, or 4xx";

pub(super) async fn run(p: &Prober) {
    for (own, other) in p.pairs() {
        let target = &p.fixture.tenants[other];
        let token = p.token(own, Role::Employee);
        let who = format!("tenant #{own} employee");
        let mut lists = vec![
            ("own directory", "/employees?per_page=100".to_owned()),
            (
                "own directory, second page",
                "/employees?page=2&per_page=100".to_owned(),
            ),
            ("own departments", "/departments?per_page=100".to_owned()),
            (
                "own leave requests",
                "/leave/requests?per_page=100".to_owned(),
            ),
        ];
        if !target.marker.is_empty() {
            lists.push((
                "search for another tenant's marker",
                format!("/employees?q={}", target.marker),
            ));
        }
        // Filtering by a department that never existed would answer an honest empty page:
        // the department must be shown to exist (its tenant reads it) for "held" to mean much.
        if let Some(dept) = target.department_ids.first() {
            const NAME: &str = "filter by another tenant's department";
            match p.owner_reads(other, &format!("/departments/{dept}")).await {
                Ok(_) => lists.push((
                    NAME,
                    format!("/employees?department_id={dept}&per_page=100"),
                )),
                Err(why) => p.inconclusive(KIND, &[NAME], &why),
            }
        }
        for (name, path) in lists {
            let req = Req::get(path, who.clone()).token(token);
            p.expect_no_foreign(KIND, name, req, EXPECTED, other).await;
        }
    }
    for own in 0..p.tenants() {
        counts_are_own(p, own).await;
    }
}

/// Aggregates: the directory's `total` cannot exceed what the tenant can page through, and
/// the departments' `employee_count`s cannot add up to more than the directory holds.
async fn counts_are_own(p: &Prober, own: usize) {
    let name = "department head counts within the own directory";
    let who = format!("tenant #{own} hr_admin");
    let token = p.token(own, Role::HrAdmin);
    let directory = p
        .send(&Req::get("/employees?per_page=1", who.clone()).token(token))
        .await;
    let req = Req::get("/departments?per_page=100", who).token(token);
    let departments = p.send(&req).await;
    let verdict = match (directory, departments) {
        (Some(d), Some(deps)) if d.status == 200 && deps.status == 200 => {
            let total = d.json().and_then(|v| v["total"].as_i64()).unwrap_or(0);
            let counted: i64 = deps
                .items()
                .iter()
                .filter_map(|x| x["employee_count"].as_i64())
                .sum();
            if counted > total {
                ProbeVerdict::Leak(format!(
                    "{req} → 200; departments count {counted} employees, the directory has {total}"
                ))
            } else {
                ProbeVerdict::Held
            }
        }
        _ => ProbeVerdict::Inconclusive(format!("{req}: no 200 for the directory or departments")),
    };
    p.report("aggregates", name, verdict);
}
