//! Injection: SQL and JSON payloads in filters and bodies answer 4xx (or an honest empty
//! result), never 5xx, never another tenant's rows.

use super::{Prober, Req};
use crate::hrms::Role;

const KIND: &str = "injection";
const EXPECTED: &str = "4xx or own rows only, never 5xx";

const QUERIES: &[(&str, &str)] = &[
    (
        "quote in the search",
        "/employees?q=%27%20OR%20%271%27%3D%271",
    ),
    ("comment in the search", "/employees?q=x%27%3B--"),
    (
        "LIKE wildcard in the search",
        "/employees?q=%25&per_page=100",
    ),
    (
        "SQL in a uuid filter",
        "/employees?department_id=1%20OR%201%3D1",
    ),
    (
        "SQL in an enum filter",
        "/employees?status=active%27%20OR%20%271%27%3D%271",
    ),
    ("negative page", "/employees?page=-1"),
    ("huge page size", "/employees?per_page=100000"),
];

pub(super) async fn run(p: &Prober) {
    let other = usize::from(p.tenants() > 1);
    if other == 0 {
        return;
    }
    let token = p.token(0, Role::Employee);
    for (name, path) in QUERIES {
        let req = Req::get(*path, "tenant #0 employee").token(token);
        p.expect_no_foreign(KIND, name, req, EXPECTED, other).await;
    }
    let admin = p.token(0, Role::HrAdmin);
    let bodies = [
        (
            "operator object as a name",
            Req::post("/employees", "tenant #0 hr_admin").body(serde_json::json!({
                "first_name": {"$ne": null}, "last_name": "x", "email": "x@y.example.com"
            })),
        ),
        (
            "malformed JSON body",
            Req::post("/employees", "tenant #0 hr_admin").raw_body("{\"first_name\": \"x\"]]"),
        ),
    ];
    for (name, req) in bodies {
        p.expect_refused(
            KIND,
            name,
            req.token(admin),
            "4xx",
            "an injected body was accepted",
        )
        .await;
    }
}
