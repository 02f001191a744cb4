//! Header and parameter spoofing: another tenant named in `X-Tenant-ID`, in the query, in
//! the path, in the `Host` header. The tenant comes from the token only.

use super::{Prober, Req};
use crate::hrms::Role;

const KIND: &str = "tenant_spoofing";
const EXPECTED: &str = "own data only, or 4xx";

pub(super) async fn run(p: &Prober) {
    for (own, other) in p.pairs() {
        let Some(other_id) = p.tenant_id(other) else {
            continue;
        };
        let token = p.token(own, Role::Employee);
        let who = format!("tenant #{own} employee");
        let marker = &p.fixture.tenants[other].marker;
        let requests = [
            (
                "X-Tenant-ID header",
                Req::get("/employees?per_page=100", who.clone()).header("X-Tenant-ID", other_id),
            ),
            (
                "tenant in the query",
                Req::get(
                    format!("/employees?per_page=100&tenant_id={other_id}"),
                    who.clone(),
                ),
            ),
            (
                "tenant in the path",
                Req::get(format!("/tenants/{other_id}/employees"), who.clone()),
            ),
            (
                "Host header of the other tenant",
                Req::get("/employees?per_page=100", who.clone())
                    .header("Host", format!("{marker}.example.com")),
            ),
        ];
        for (name, req) in requests {
            p.expect_no_foreign(KIND, name, req.token(token), EXPECTED, other)
                .await;
        }
    }
}
