//! Object access across tenants: get, update, deactivate and sub-resources (attendance,
//! leave balances, payroll run and its payslips, department) with ids of another tenant.
//!
//! Every target is shown to exist first (its own tenant reads it), so a 404 means "refused",
//! not "no such thing"; writes are read back by the owner afterwards.

use super::{Prober, Req};
use crate::hrms::{JsonBody, Role};
use crate::personas::ProbeVerdict;

const KIND: &str = "cross_tenant_access";
const EXPECTED: &str = "404 or 403, nothing of the other tenant";

pub(super) async fn run(p: &Prober) {
    for (own, other) in p.pairs() {
        let target = &p.fixture.tenants[other];
        let employee = p.token(own, Role::Employee);
        let admin = p.token(own, Role::HrAdmin);
        let who = |role: &str| format!("tenant #{own} {role}");
        // The last employee is an ordinary one (the first few hold the seeded accounts), so a
        // write that wrongly succeeds changes the least.
        if let Some(id) = target.employee_ids.last() {
            employee_probes(p, own, other, id).await;
        }
        if let Some(id) = target.department_ids.first() {
            const NAME: &str = "read another tenant's department";
            let path = format!("/departments/{id}");
            match p.owner_reads(other, &path).await {
                Ok(_) => {
                    let req = Req::get(path, who("employee")).token(employee);
                    p.expect_no_foreign(KIND, NAME, req, EXPECTED, other).await;
                }
                Err(why) => p.inconclusive(KIND, &[NAME], &why),
            }
        }
        if let Some(run) = p.run_of(other) {
            let req = Req::get(format!("/payroll/runs/{run}"), who("hr_admin")).token(admin);
            p.expect_refused(
                KIND,
                "read another tenant's payroll run",
                req,
                EXPECTED,
                "another tenant's payroll run was shown",
            )
            .await;
            let req =
                Req::get(format!("/payroll/runs/{run}/payslips"), who("hr_admin")).token(admin);
            p.expect_refused(
                KIND,
                "list another tenant's payslips by run id",
                req,
                EXPECTED,
                "another tenant's payslips were listed",
            )
            .await;
        }
    }
}

const READS: [&str; 3] = [
    "read another tenant's employee by id",
    "read another tenant's employee's attendance",
    "read another tenant's employee's leave balances",
];
const UPDATE: &str = "update another tenant's employee";
const DEACTIVATE: &str = "deactivate another tenant's employee";

/// Reads and writes of tenant `other`'s employee `id` by tenant `own`. The employee must be
/// readable by its own tenant first (else every probe here is inconclusive), and after each
/// write its own tenant reads it back: a refusal that changed the record anyway is a leak.
async fn employee_probes(p: &Prober, own: usize, other: usize, id: &str) {
    let path = format!("/employees/{id}");
    let before = match p.owner_reads(other, &path).await {
        Ok(reply) => reply,
        Err(why) => {
            let mut names = READS.to_vec();
            names.extend([UPDATE, DEACTIVATE]);
            return p.inconclusive(KIND, &names, &why);
        }
    };
    let employee = p.token(own, Role::Employee);
    let admin = p.token(own, Role::HrAdmin);
    let who = |role: &str| format!("tenant #{own} {role}");
    let suffixes = ["", "/attendance", "/leave-balances"];
    for (name, suffix) in READS.into_iter().zip(suffixes) {
        let req = Req::get(format!("{path}{suffix}"), who("employee")).token(employee);
        p.expect_no_foreign(KIND, name, req, EXPECTED, other).await;
    }
    // A title of its own per attempt, so the read-back cannot mistake an earlier run's write.
    let title = format!("probe-{}", p.unique());
    let req = Req::patch(path.clone(), who("hr_admin"))
        .token(admin)
        .body(serde_json::json!({"job_title": title}));
    let reply = p.send(&req).await;
    let mut verdict = p.judge_no_foreign(&req, reply.as_ref(), EXPECTED, other);
    if verdict == ProbeVerdict::Held {
        verdict = unchanged(p, other, &path, "job_title", &req, |now| now != title).await;
    }
    p.report(KIND, UPDATE, verdict);
    let status = before.field("status");
    let req = Req::post(format!("{path}/deactivate"), who("hr_admin")).token(admin);
    let reply = p.send(&req).await;
    let mut verdict = p.judge_no_foreign(&req, reply.as_ref(), EXPECTED, other);
    if verdict == ProbeVerdict::Held {
        verdict = unchanged(p, other, &path, "status", &req, |now| {
            Some(now) == status.as_deref()
        })
        .await;
    }
    p.report(KIND, DEACTIVATE, verdict);
}

/// Held when tenant `other` reads `path` back and `field` still passes `intact`; a leak when
/// it does not (the refused write happened anyway), inconclusive when it cannot be read.
async fn unchanged(
    p: &Prober,
    other: usize,
    path: &str,
    field: &str,
    req: &Req,
    intact: impl Fn(&str) -> bool,
) -> ProbeVerdict {
    match p.owner_reads(other, path).await {
        Ok(after) => {
            let now = after.field(field).unwrap_or_default();
            if intact(&now) {
                ProbeVerdict::Held
            } else {
                ProbeVerdict::Leak(format!(
                    "{req} was answered as refused, but tenant #{other} now reads {field} {now:?}"
                ))
            }
        }
        Err(why) => ProbeVerdict::Inconclusive(format!("{req}: read-back {why}")),
    }
}
