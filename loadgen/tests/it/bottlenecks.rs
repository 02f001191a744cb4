//! The diagnosis names each seeded performance defect that a few seconds of load can show,
//! and names nothing on the clean service under the same loads. Postgres and Redis are
//! provisioned and seeded once; each case is a fresh in-process service with its own defect
//! on that stack, a short bounded load on the endpoint the defect breaks, and the very
//! sampler and rules a `gauntlet run` uses (`run::diagnosis`).
//!
//! The test writes the detection matrix of `docs/bottlenecks.md` with
//! `GAUNTLET_UPDATE_DOCS=1` and otherwise checks that the committed one names the same causes
//! (the measured figures in it vary from run to run; which cause is named must not).

use std::time::{Duration, Instant};

use gauntlet_loadgen::run::{diagnosis, local};
use gauntlet_loadgen::verify::bottlenecks::{BurstShape, burst};
use gauntlet_reports::model::DiagnosisSection;
use gauntlet_scenarios::hrms::{Fixture, Role};
use gauntlet_testcontainers::Stack;
use hrms::defects::Defects;
use hrms::ratelimit::Tier;

use crate::in_process;

/// What a case sends.
#[derive(Clone, Copy, Debug)]
enum Load {
    /// `GET /employees?per_page=50` as the HR admin, 16 in flight (a pool of two runs out even on a fast machine).
    List,
    /// `GET /departments`, 4 in flight.
    Departments,
    /// `POST /attendance/clock-in` by every employee of the tenant, 8 in flight.
    ClockIn,
    /// `POST /payroll/runs` as the HR admin, paced at 5 a second: the clean workers drain
    /// that many easily, so only workers that do not keep up let the queue grow.
    Payroll,
}

/// Requests per case and its time bound.
const REQUESTS: usize = 240;
const CASE_TIME: Duration = Duration::from_secs(6);

struct Case {
    defect: &'static str,
    load: Load,
    /// What the named cause must say.
    cause: &'static str,
}

const CASES: &[Case] = &[
    Case {
        defect: "n_plus_one",
        load: Load::List,
        cause: "GET /employees runs",
    },
    Case {
        defect: "pool_starvation",
        load: Load::List,
        cause: "pool wait is",
    },
    Case {
        defect: "slow_endpoint",
        load: Load::Departments,
        cause: "time in the service itself",
    },
    Case {
        defect: "lock_contention",
        load: Load::ClockIn,
        cause: "lock waits",
    },
    Case {
        defect: "unbounded_queue",
        load: Load::Payroll,
        cause: "payroll job queue grew",
    },
];

async fn login(client: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let body = serde_json::json!({ "email": email, "password": password });
    let response = client
        .post(format!("{base}/auth/login"))
        .json(&body)
        .send()
        .await
        .expect("login answers");
    assert!(response.status().is_success(), "login {email}");
    let json: serde_json::Value = response.json().await.expect("login body");
    json["access_token"].as_str().expect("a token").to_owned()
}

/// Tokens of the users a load acts as: the first tenant's HR admin, or its employees.
async fn tokens(load: Load, base: &str, fixture: &Fixture) -> Vec<String> {
    let client = reqwest::Client::new();
    let tenant = &fixture.tenants[0];
    let role = match load {
        Load::ClockIn => Role::Employee,
        _ => Role::HrAdmin,
    };
    let mut out = Vec::new();
    for u in tenant.users.iter().filter(|u| u.role == role).take(8) {
        out.push(login(&client, base, &u.email, &u.password).await);
    }
    assert!(!out.is_empty(), "the fixture has a {role:?}");
    out
}

/// Sends the load through verify's bounded burst: `REQUESTS` requests at most (30 payroll
/// runs), within `CASE_TIME`; returns how many were answered (any status: the diagnosis
/// reads the service's own counters).
async fn drive(load: Load, base: &str, tokens: Vec<String>) -> usize {
    let (in_flight, requests, pause) = match load {
        // Twice the others: the burst outlasts a few of the sampler's readings, which is how a
        // starved pool is seen.
        Load::List => (16, 2 * REQUESTS, Duration::ZERO),
        Load::ClockIn => (8, REQUESTS, Duration::ZERO),
        Load::Departments => (4, REQUESTS, Duration::ZERO),
        Load::Payroll => (2, 30, Duration::from_millis(400)),
    };
    let shape = BurstShape {
        requests,
        in_flight,
        within: CASE_TIME,
        pause,
    };
    let client = reqwest::Client::new();
    let base = base.to_owned();
    let seen = burst(shape, move |sender| {
        let request = match load {
            Load::List => client.get(format!("{base}/employees?per_page=50")),
            Load::Departments => client.get(format!("{base}/departments")),
            Load::ClockIn => client.post(format!("{base}/attendance/clock-in")),
            Load::Payroll => client.post(format!("{base}/payroll/runs")).json(
                &serde_json::json!({"period_start": "2026-01-01", "period_end": "2026-01-31"}),
            ),
        };
        request.bearer_auth(&tokens[sender % tokens.len()])
    })
    .await;
    seen.answered
}

/// One case: a fresh service with `defects` on the stack, the load, the diagnosis.
async fn diagnose(stack: &Stack, fixture: &Fixture, d: Defects, load: Load) -> DiagnosisSection {
    let service = local::start(
        local::Dependencies::Shared(stack),
        in_process::options(None, d),
    )
    .await
    .expect("service");
    let tokens = tokens(load, &service.base_url, fixture).await;
    let postgres = Some(stack.postgres.url().to_string());
    let sampler = diagnosis::Sampler::start(&service.base_url, postgres, 30).await;
    let answered = drive(load, &service.base_url, tokens).await;
    let section = sampler.finish().await;
    service.stop().await;
    assert!(answered > 0, "{load:?}: nothing answered");
    section
}

fn summary(section: &DiagnosisSection) -> String {
    section
        .endpoints
        .iter()
        .map(|e| {
            format!(
                "{} ×{}: mean {} µs, db {} µs, pool {} µs, redis {} µs, {:.1} q/req",
                e.name,
                e.requests,
                e.mean_us,
                e.db_us,
                e.pool_wait_us,
                e.redis_us,
                e.queries_per_request
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

const DOC: &str = "docs/bottlenecks.md";
const BEGIN: &str = "<!-- detection matrix: generated by loadgen/tests/it/bottlenecks.rs -->";
const END: &str = "<!-- end of detection matrix -->";

/// The matrix's rows without their figures: what must not change between runs.
fn causes_only(matrix: &str) -> Vec<String> {
    matrix
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.split(" | ").take(3).collect::<Vec<_>>().join(" | "))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_diagnosis_names_each_performance_defect_and_nothing_on_the_clean_service() {
    let stack = in_process::native_stack().await;
    let spec = in_process::seed(60, 2, &[Tier::Enterprise, Tier::Enterprise]);
    let seeded = local::start(
        local::Dependencies::Shared(&stack),
        in_process::options(Some(spec), Defects::default()),
    )
    .await
    .expect("seeded service");
    let fixture = seeded.fixture.clone();
    seeded.stop().await;

    let mut false_alarms = Vec::new();
    for load in [Load::List, Load::Departments, Load::ClockIn, Load::Payroll] {
        let section = diagnose(&stack, &fixture, Defects::default(), load).await;
        println!("clean {load:?}: {}", summary(&section));
        assert!(section.enabled, "the service exports its route costs");
        if !section.causes.is_empty() {
            false_alarms.push(format!("{load:?}: {:?}", section.causes));
        }
    }

    let mut matrix = vec![
        "| defect | load (a few seconds) | cause named | figures of this run |".to_owned(),
        "|---|---|---|---|".to_owned(),
    ];
    let mut missed = Vec::new();
    for case in CASES {
        let started = Instant::now();
        let section = diagnose(&stack, &fixture, in_process::defect(case.defect), case.load).await;
        println!(
            "{} ({:?}, {:?}): {:?}\n    {}",
            case.defect,
            case.load,
            started.elapsed(),
            section.causes,
            summary(&section)
        );
        let named = section.causes.iter().find(|c| c.contains(case.cause));
        match named {
            Some(cause) => matrix.push(format!(
                "| `{}` | {:?} | {} | {} |",
                case.defect,
                case.load,
                case.cause,
                cause.replace('|', "/")
            )),
            None => missed.push(format!("{}: {:?}", case.defect, section.causes)),
        }
    }
    stack.shutdown().await;
    let matrix = matrix.join("\n");
    println!("\ndetection matrix:\n{matrix}");
    assert!(false_alarms.is_empty(), "clean service: {false_alarms:?}");
    assert!(missed.is_empty(), "causes not named: {missed:?}");

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(DOC);
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    let (head, rest) = doc.split_once(BEGIN).unwrap_or((&doc, ""));
    let (committed, tail) = rest.split_once(END).unwrap_or(("", ""));
    if std::env::var_os("GAUNTLET_UPDATE_DOCS").is_some() {
        let updated = format!("{head}{BEGIN}\n{matrix}\n{END}{tail}");
        std::fs::write(&path, updated).expect("docs/bottlenecks.md written");
    } else {
        assert_eq!(
            causes_only(committed),
            causes_only(&matrix),
            "{DOC}'s matrix is stale: rerun with GAUNTLET_UPDATE_DOCS=1"
        );
    }
}
