//! `gauntlet verify`: the binary passes the clean local stack (every check, the service as a
//! child process so SIGTERM reaches it) and writes its four files; bad input is exit 2 and a
//! target that does not answer exit 3. Then, on one provisioned and seeded stack, each seeded
//! defect (a fresh in-process service on that stack) fails at least one named check; the
//! test writes the matrix docs/verify.md shows (`GAUNTLET_UPDATE_DOCS=1` rewrites it there).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use gauntlet_loadgen::run::local;
use gauntlet_loadgen::verify::{self, Check, Context, Header, Local};
use gauntlet_reports::verify::{CheckOutcome, VerifyMode, VerifyReport};
use gauntlet_testcontainers::Stack;
use hrms::defects::Defects;
use hrms::ratelimit::Tier;
use hrms::seed::SeedSpec;

use crate::in_process;

use crate::support::{bad_input, explain, gauntlet, out_dir, read_json};

/// The defects on `main` when verify was written that a check catches; each must fail at
/// least one.
const DEFECTS: &[&str] = &[
    "unscoped_employee_read",
    "cache_key_without_tenant",
    "unverified_token_claims",
    "mass_assignable_tenant",
    "rate_limit_by_ip",
    "payroll_without_tenant",
    "ack_before_durable",
    "deactivation_ignored",
    "self_approval_allowed",
    "employee_can_approve_leave",
    "unchecked_pagination",
    "slow_employee_read",
    // The performance defects (docs/bottlenecks.md).
    "n_plus_one",
    "pool_starvation",
    "slow_endpoint",
    "lock_contention",
    "unbounded_queue",
    "memory_leak",
    "missing_index",
];

/// What the performance defects change is latency: they run the `latency.*` checks only.
const PERFORMANCE_DEFECTS: &[&str] = &[
    "slow_employee_read",
    "n_plus_one",
    "pool_starvation",
    "slow_endpoint",
    "lock_contention",
    "unbounded_queue",
];
const LATENCY_CHECKS: &[Check] = &[Check::LatencyReadParity, Check::LatencyBottlenecks];

/// `memory_leak` changes what the service keeps, and only the memory check reads that. It
/// runs for that defect only: the service here is in this test process, whose resident
/// memory other tests move too, so a clean in-process reading proves nothing (the binary's
/// clean run above measures a service in its own process).
const MEMORY_CHECKS: &[Check] = &[Check::MemoryPerRequest];

/// `missing_index` changes how the list reads the table, which only `db.index_use` measures.
const SCAN_CHECKS: &[Check] = &[Check::IndexUse];

/// Checks the matrix leaves out: each takes a dependency away or waits for a drain (about
/// 1-3 s each, a third of a defect's run), none reads anything a seeded defect changes, and
/// the clean binary run above runs them all.
const NOT_IN_MATRIX: &[Check] = &[
    Check::ReadyWithoutPostgres,
    Check::ReadyWithoutRedis,
    Check::GracefulShutdown,
];

const MATRIX_BEGIN: &str = "<!-- verify-matrix:begin (loadgen/tests/it/verify.rs) -->";
const MATRIX_END: &str = "<!-- verify-matrix:end -->";

#[test]
fn verify_passes_the_clean_local_stack_and_writes_its_report() {
    let dir = out_dir("verify-clean");
    let backups = out_dir("verify-backups");
    std::fs::write(backups.path().join("base.tar"), b"a backup").expect("backup file");
    let started = Instant::now();
    let output = gauntlet()
        .args(["verify", "--out"])
        .arg(dir.path())
        .arg("--backup-dir")
        .arg(backups.path())
        .output()
        .expect("gauntlet runs");
    println!(
        "clean verify in {:?}\n{}",
        started.elapsed(),
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    for file in ["report.json", "report.md", "report.html", "junit.xml"] {
        assert!(dir.path().join(file).is_file(), "{file} written");
    }
    let json = read_json(&dir.path().join("report.json"));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("reports/schema/verify.schema.json")).expect("schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let report: VerifyReport = serde_json::from_value(json).expect("report parses");
    assert_eq!(report.mode, VerifyMode::Local);
    assert!(report.checks.len() >= 20, "{} checks", report.checks.len());
    let not_passed: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.outcome != CheckOutcome::Pass)
        .collect();
    assert!(
        not_passed.is_empty(),
        "every check passes locally: {not_passed:#?}"
    );
    for c in &report.checks {
        assert!(!c.evidence.is_empty(), "{} shows its evidence", c.name);
    }
    let junit = std::fs::read_to_string(dir.path().join("junit.xml")).expect("junit");
    assert!(junit.contains("lifecycle.graceful_shutdown"), "{junit}");
}

#[test]
fn bad_input_is_exit_2_and_an_unreachable_target_exit_3() {
    let stderr = bad_input(gauntlet().args(["verify", "--check", "health.nope"]));
    assert!(
        stderr.contains("health.nope") && stderr.contains("health.ready"),
        "{stderr}"
    );
    let stderr = bad_input(gauntlet().args(["verify", "--defect", "no_such_defect"]));
    assert!(stderr.contains("no_such_defect"), "{stderr}");
    let dir = out_dir("verify-unreachable");
    let credentials = dir.path().join("tenants.json");
    let stderr = bad_input(
        gauntlet()
            .args(["verify", "--target", "http://127.0.0.1:9", "--credentials"])
            .arg(&credentials),
    );
    assert!(
        stderr.contains("tenants.json"),
        "a missing credentials file is named: {stderr}"
    );
    let tenant = |n: u32| {
        format!(
            r#"{{"marker":"m{n}","users":[{{"email":"a@m{n}.example.com","password":"pw","role":"employee"}}],"employee_ids":[],"department_ids":[]}}"#
        )
    };
    let text = format!(r#"{{"tenants":[{},{}]}}"#, tenant(1), tenant(2));
    std::fs::write(&credentials, text).expect("credentials");
    // Port 9 (discard) is not served on loopback: the connection is refused.
    let output = gauntlet()
        .args(["verify", "--target", "http://127.0.0.1:9", "--credentials"])
        .arg(&credentials)
        .arg("--out")
        .arg(dir.path())
        .output()
        .expect("gauntlet runs");
    assert_eq!(output.status.code(), Some(3), "{}", explain(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("does not answer"));
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_owned()
}

/// Verifies a fresh in-process service on `stack`. `refill_for`: the fixture of an earlier
/// run on this stack (a service started without a seed has none of its own), whose flooded
/// tenant's bucket is awaited first.
async fn verify_on(
    stack: &Stack,
    seed: Option<SeedSpec>,
    defects: Defects,
    checks: &[Check],
    refill_for: Option<&gauntlet_scenarios::hrms::Fixture>,
) -> (VerifyReport, gauntlet_scenarios::hrms::Fixture) {
    let mut service = local::start(
        local::Dependencies::Shared(stack),
        in_process::options(seed, defects),
    )
    .await
    .expect("service");
    let (base, fixture) = (service.base_url.clone(), service.fixture.clone());
    if let Some(previous) = refill_for {
        wait_for_refilled_bucket(&base, previous).await;
    }
    let fixture = refill_for.cloned().unwrap_or(fixture);
    let report = {
        let local = Local {
            service: &mut service,
            shared: Some(stack),
        };
        let header = Header {
            mode: VerifyMode::Local,
            backend: None,
            defects: defects.enabled().into_iter().map(str::to_owned).collect(),
            command_line: Vec::new(),
        };
        let mut ctx = Context::new(&base, fixture.clone(), Some(local), None).expect("context");
        verify::verify(&mut ctx, checks, header).await
    };
    service.stop().await;
    (report, fixture)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_seeded_defect_fails_a_named_check() {
    let stack = in_process::native_stack().await;
    // More than a page of 50 employees, so an N+1 list runs its statements per row of a
    // full page.
    let spec = in_process::seed(
        60,
        2,
        &[
            Tier::Enterprise,
            Tier::Professional,
            Tier::Starter,
            Tier::Free,
        ],
    );
    let checks: Vec<Check> = Check::ALL
        .into_iter()
        .filter(|c| !NOT_IN_MATRIX.contains(c) && !MEMORY_CHECKS.contains(c))
        .collect();
    // The probe catalogue is most of a defect's run (13-24 s each here), and the probes'
    // own matrix test (`probes.rs`, which keeps docs/probes.md true) already runs it against
    // every defect: a defect that matrix catches fails `isolation.probe_catalogue` without
    // running it again here. The clean run runs it.
    let per_defect: Vec<Check> = checks
        .iter()
        .copied()
        .filter(|c| *c != Check::ProbeCatalogue)
        .collect();
    let caught_by_probes = caught_by_probe_catalogue();
    let started = Instant::now();
    let (clean, fixture) = verify_on(&stack, Some(spec), Defects::default(), &checks, None).await;
    println!("clean in {:?}", started.elapsed());
    let failed = clean.failed();
    assert!(
        failed.is_empty(),
        "the clean service passes: {:#?}",
        clean.checks
    );
    let mut rows = vec![
        "| defect | failing checks |".to_owned(),
        "|---|---|".to_owned(),
    ];
    let mut missed = Vec::new();
    for name in DEFECTS {
        let started = Instant::now();
        let checks = if PERFORMANCE_DEFECTS.contains(name) {
            LATENCY_CHECKS
        } else if *name == "memory_leak" {
            MEMORY_CHECKS
        } else if *name == "missing_index" {
            SCAN_CHECKS
        } else {
            &per_defect
        };
        let (report, _) = verify_on(
            &stack,
            None,
            in_process::defect(name),
            checks,
            Some(&fixture),
        )
        .await;
        let mut failed: Vec<String> = report.failed().iter().map(|c| c.to_string()).collect();
        if caught_by_probes.contains(*name) {
            failed.insert(0, "isolation.probe_catalogue".to_owned());
        }
        println!("{name}: {failed:?} in {:?}", started.elapsed());
        for c in report
            .checks
            .iter()
            .filter(|c| c.outcome == CheckOutcome::Fail)
        {
            println!("    {}: {}", c.name, c.summary);
        }
        if failed.is_empty() {
            missed.push(*name);
        }
        let cells: Vec<String> = failed.iter().map(|c| format!("`{c}`")).collect();
        rows.push(format!("| `{name}` | {} |", cells.join(", ")));
    }
    stack.shutdown().await;
    assert!(missed.is_empty(), "defects no check caught: {missed:?}");
    let matrix = rows.join("\n");
    println!("\n{matrix}");
    check_docs(&matrix);
}

/// The defects docs/probes.md's matrix (kept true by `probes.rs`) says the catalogue catches.
fn caught_by_probe_catalogue() -> std::collections::BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("docs/probes.md")).expect("docs/probes.md");
    let matrix = text
        .split("| defect | caught by")
        .nth(1)
        .expect("docs/probes.md has its detection matrix");
    matrix
        .lines()
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.split('`').nth(1).map(str::to_owned))
        .collect()
}

/// Waits until the last tenant's read bucket (flooded to 429 by the previous run's
/// rate-limit checks) is nearly full again, so the next run's probes are not refused for the
/// previous run's flood. Polled through the new service: each poll spends one token of a
/// bucket that refills ten a second.
async fn wait_for_refilled_bucket(base: &str, fixture: &gauntlet_scenarios::hrms::Fixture) {
    let client = reqwest::Client::new();
    let user = fixture
        .tenants
        .last()
        .and_then(|t| t.users.first())
        .expect("a user of the last tenant");
    let who = gauntlet_contract::Login {
        email: user.email.clone(),
        password: user.password.clone(),
    };
    let token = gauntlet_contract::login(&client, base, &who)
        .await
        .expect("login")
        .token;
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    while Instant::now() < deadline {
        let response = client
            .get(format!("{base}/departments"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("GET /departments");
        let number = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        if let (Some(limit), Some(remaining)) =
            (number("ratelimit-limit"), number("ratelimit-remaining"))
        {
            if remaining + 2 >= limit {
                return;
            }
            last = format!("{remaining} of {limit}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the last tenant's bucket did not refill in 15 s (last: {last})");
}

/// docs/verify.md holds the matrix between its markers; `GAUNTLET_UPDATE_DOCS=1` writes it
/// there. Otherwise every check the docs name for a defect must have failed in this run (a
/// check may fail beside them on a loaded machine; one the docs claim must not hold).
fn check_docs(matrix: &str) {
    let path = repo().join("docs/verify.md");
    let text = std::fs::read_to_string(&path).expect("docs/verify.md");
    let (Some(begin), Some(end)) = (text.find(MATRIX_BEGIN), text.find(MATRIX_END)) else {
        panic!("docs/verify.md has no matrix markers");
    };
    if std::env::var_os("GAUNTLET_UPDATE_DOCS").is_some() {
        let updated = format!(
            "{}{MATRIX_BEGIN}\n{matrix}\n{}",
            &text[..begin],
            &text[end..]
        );
        std::fs::write(&path, updated).expect("docs written");
        return;
    }
    let documented = &text[begin + MATRIX_BEGIN.len()..end];
    for name in DEFECTS {
        let row_of = |table: &str| {
            table
                .lines()
                .find(|l| l.starts_with(&format!("| `{name}` |")))
                .map(str::to_owned)
        };
        let doc_row =
            row_of(documented).unwrap_or_else(|| panic!("docs/verify.md has no row for {name}"));
        let run_row = row_of(matrix).expect("a row per defect");
        for check in doc_row.split('|').nth(2).unwrap_or_default().split(',') {
            let check = check.trim();
            assert!(
                check.is_empty() || run_row.contains(check),
                "docs/verify.md says {name} fails {check}; this run: {run_row} (GAUNTLET_UPDATE_DOCS=1 rewrites it)"
            );
        }
    }
}
