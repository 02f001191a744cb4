//! Object access across tenants: get, update, deactivate and sub-resources (attendance,
//! leave balances, payroll run and its payslips, department) with ids of another tenant.

use super::{Prober, Req};
use crate::hrms::Role;

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
            let reads = [
                (
                    "read another tenant's employee by id",
                    format!("/employees/{id}"),
                ),
                (
                    "read another tenant's employee's attendance",
                    format!("/employees/{id}/attendance"),
                ),
                (
                    "read another tenant's employee's leave balances",
                    format!("/employees/{id}/leave-balances"),
                ),
            ];
            for (name, path) in reads {
                let req = Req::get(path, who("employee")).token(employee);
                p.expect_no_foreign(KIND, name, req, EXPECTED, other).await;
            }
            let req = Req::patch(format!("/employees/{id}"), who("hr_admin"))
                .token(admin)
                .body(serde_json::json!({"job_title": "probe"}));
            p.expect_no_foreign(
                KIND,
                "update another tenant's employee",
                req,
                EXPECTED,
                other,
            )
            .await;
            let req =
                Req::post(format!("/employees/{id}/deactivate"), who("hr_admin")).token(admin);
            p.expect_no_foreign(
                KIND,
                "deactivate another tenant's employee",
                req,
                EXPECTED,
                other,
            )
            .await;
        }
        if let Some(id) = target.department_ids.first() {
            let req = Req::get(format!("/departments/{id}"), who("employee")).token(employee);
            p.expect_no_foreign(
                KIND,
                "read another tenant's department",
                req,
                EXPECTED,
                other,
            )
            .await;
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
