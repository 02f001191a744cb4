//! The probes' search for another tenant's strings in a response body
//! ([`ForeignStrings::find`]) against the search it replaced: each of the tenant's strings
//! looked for in the body in turn.
//!
//! The case that made the difference: `load` at 4,000 employees a tenant, where every probe
//! answer (a page of 100 employees, ~30 KiB of JSON) was searched for 4,000 ids; a debug run
//! spent 674 s on 40 s of load, 71 s after the change (issue 18's note). Both searches here
//! look through a clean body, the common case and the worst one: nothing is found, so nothing
//! stops early.
//!
//! `cargo bench -p gauntlet-benches --bench foreign_strings`. Measured with `--profile dev`
//! (the debug build the slow runs were, session 12): one pass 1.10 ms, each in turn 1.86 s a
//! page (~25 KiB); not yet in release.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use gauntlet_scenarios::hrms::TenantFixture;
use gauntlet_scenarios::probes::ForeignStrings;

/// Another tenant's ids: the size of one tenant at 4,000 employees.
const FOREIGN_IDS: usize = 4_000;
/// Employees on the answered page.
const PAGE: usize = 100;

fn uuid(tenant: u64, i: usize) -> String {
    format!("{tenant:08x}-0000-4000-8000-{i:012x}")
}

/// A page of the own tenant's employees, shaped like the service's list.
fn own_page() -> Vec<u8> {
    let items: Vec<String> = (0..PAGE)
        .map(|i| {
            format!(
                r#"{{"id":"{}","department_id":"{}","first_name":"Ada","last_name":"Lovelace {i}","email":"ada.{i}@gx00000000000000aa.example.com","job_title":"Engineer","status":"active","salary_cents":5000000}}"#,
                uuid(1, i),
                uuid(1, 100_000 + i % 10)
            )
        })
        .collect();
    format!(r#"{{"items":[{}],"total":{PAGE}}}"#, items.join(",")).into_bytes()
}

fn foreign_tenant() -> TenantFixture {
    TenantFixture {
        marker: "gx00000000000000bb".into(),
        employee_ids: (0..FOREIGN_IDS).map(|i| uuid(2, i)).collect(),
        department_ids: (0..10).map(|i| uuid(2, 100_000 + i)).collect(),
        ..TenantFixture::default()
    }
}

/// The search before: every string in turn, a window scan each.
fn each_in_turn<'a>(tenant: &'a TenantFixture, body: &[u8]) -> Option<&'a str> {
    std::iter::once(&tenant.marker)
        .chain(&tenant.employee_ids)
        .chain(&tenant.department_ids)
        .find(|s| {
            let needle = s.as_bytes();
            !needle.is_empty() && body.windows(needle.len()).any(|w| w == needle)
        })
        .map(String::as_str)
}

fn main() {
    let tenant = foreign_tenant();
    let body = own_page();
    let strings = ForeignStrings::of(&tenant);
    assert_eq!(strings.find(&body), None);
    assert_eq!(each_in_turn(&tenant, &body), None);
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("foreign_strings");
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_function("one_pass", |b| b.iter(|| strings.find(black_box(&body))));
    group.bench_function("each_in_turn", |b| {
        b.iter(|| each_in_turn(black_box(&tenant), black_box(&body)))
    });
    group.finish();
    c.final_summary();
}
