//! Mass assignment: bodies carrying `tenant_id`, `role`, or another tenant's department id.
//! A write that lands in another tenant is found by searching that tenant for the row.

use serde_json::json;

use super::{Prober, Req};
use crate::hrms::{JsonBody, Role};
use crate::personas::ProbeVerdict;

const KIND: &str = "mass_assignment";
const EXPECTED: &str = "4xx";

pub(super) async fn run(p: &Prober) {
    for (own, other) in p.pairs() {
        let admin = p.token(own, Role::HrAdmin);
        let who = format!("tenant #{own} hr_admin");
        let n = p.unique();
        let person = |first: String| {
            json!({
                "first_name": first,
                "last_name": "Probe",
                "email": format!("probe{n}@probe.invalid.example.com"),
            })
        };
        if let Some(other_id) = p.tenant_id(other) {
            let first = format!("Probe{n}");
            let mut body = person(first.clone());
            body["tenant_id"] = json!(other_id);
            let req = Req::post("/employees", who.clone()).token(admin).body(body);
            let reply = p.send(&req).await;
            let verdict = match reply {
                None => ProbeVerdict::Inconclusive(format!("{req}: no response")),
                Some(r) if (400..500).contains(&r.status) => ProbeVerdict::Held,
                Some(r) if (200..300).contains(&r.status) => {
                    let landed = landed_in(p, other, &first).await;
                    let place = if landed {
                        format!("the employee was written into tenant #{other}")
                    } else {
                        "the body's tenant_id was accepted".to_owned()
                    };
                    ProbeVerdict::Leak(format!(
                        "{req} → {} (expected {EXPECTED}); {place}",
                        r.status
                    ))
                }
                Some(r) => ProbeVerdict::Inconclusive(format!("{req} → {}", r.status)),
            };
            p.report(KIND, "tenant_id in a create body", verdict);
        }
        if let Some(dept) = p.fixture.tenants[other].department_ids.first() {
            department_probes(p, own, other, dept, &person(format!("Probe{n}d"))).await;
        }
    }
    for own in 0..p.tenants() {
        let n = p.unique();
        let req = Req::post("/employees", format!("tenant #{own} hr_admin"))
            .token(p.token(own, Role::HrAdmin))
            .body(json!({
                "first_name": format!("Probe{n}r"), "last_name": "Probe",
                "email": format!("probe{n}r@probe.invalid.example.com"), "role": "hr_admin",
            }));
        p.expect_refused(
            KIND,
            "role in a create body",
            req,
            EXPECTED,
            "a role field was accepted",
        )
        .await;
    }
}

/// Whether an employee named `first` is in tenant `t`'s directory (asked by its HR admin).
async fn landed_in(p: &Prober, t: usize, first: &str) -> bool {
    let req = Req::get(
        format!("/employees?q={first}"),
        format!("tenant #{t} hr_admin"),
    )
    .token(p.token(t, Role::HrAdmin));
    p.send(&req)
        .await
        .and_then(|r| r.json())
        .and_then(|v| v["total"].as_i64())
        .is_some_and(|total| total > 0)
}

const DEPT_CREATE: &str = "another tenant's department in a create body";
const DEPT_UPDATE: &str = "another tenant's department in an update body";

/// Tenant `own` names tenant `other`'s department `dept` in a create and an update body. The
/// department must exist (its tenant reads it), and so must the own employee updated: a 4xx
/// for an unknown department or employee would pass any service.
async fn department_probes(
    p: &Prober,
    own: usize,
    other: usize,
    dept: &str,
    person: &serde_json::Value,
) {
    if let Err(why) = p.owner_reads(other, &format!("/departments/{dept}")).await {
        return p.inconclusive(KIND, &[DEPT_CREATE, DEPT_UPDATE], &why);
    }
    let admin = p.token(own, Role::HrAdmin);
    let who = format!("tenant #{own} hr_admin");
    let mut body = person.clone();
    body["department_id"] = json!(dept);
    let req = Req::post("/employees", who.clone()).token(admin).body(body);
    p.expect_refused(
        KIND,
        DEPT_CREATE,
        req,
        EXPECTED,
        "an employee was put into another tenant's department",
    )
    .await;
    let Some(id) = p.fixture.tenants[own].employee_ids.last() else {
        return;
    };
    let path = format!("/employees/{id}");
    if let Err(why) = p.owner_reads(own, &path).await {
        return p.inconclusive(KIND, &[DEPT_UPDATE], &why);
    }
    let req = Req::patch(path, who)
        .token(admin)
        .body(json!({"department_id": dept}));
    p.expect_refused(
        KIND,
        DEPT_UPDATE,
        req,
        EXPECTED,
        "an employee was moved into another tenant's department",
    )
    .await;
}
