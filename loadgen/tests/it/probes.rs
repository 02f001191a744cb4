//! The probe catalogue against the clean reference service (no leak, no failure) and against
//! each seeded defect in turn (caught by at least one probe, with the offending request
//! shown). Postgres and Redis are provisioned and seeded once; each case is a fresh
//! in-process service with its own `Settings.defects` on that stack.
//!
//! The test prints the detection matrix that `docs/probes.md` reproduces.

use gauntlet_loadgen::run::{local, probe};
use gauntlet_reports::model::{ProbeResult, RunInfo};
use gauntlet_reports::{Verdict, render};
use gauntlet_testcontainers::{BackendChoice, ProvisionConfig, Stack};
use hrms::config::Argon2Settings;
use hrms::defects::Defects;
use hrms::ratelimit::Tier;
use hrms::seed::SeedSpec;

use crate::in_process;

/// The defects the probes must catch (`ack_before_durable` is the ledger's to catch).
const DEFECTS: &[&str] = &[
    "unscoped_employee_read",
    "cache_key_without_tenant",
    "unverified_token_claims",
    "mass_assignable_tenant",
    "rate_limit_by_ip",
    "payroll_without_tenant",
    "deactivation_ignored",
    "self_approval_allowed",
    "employee_can_approve_leave",
];

fn defects(name: &str) -> Defects {
    let d = Defects::default();
    match name {
        "unscoped_employee_read" => Defects {
            unscoped_employee_read: true,
            ..d
        },
        "cache_key_without_tenant" => Defects {
            cache_key_without_tenant: true,
            ..d
        },
        "unverified_token_claims" => Defects {
            unverified_token_claims: true,
            ..d
        },
        "mass_assignable_tenant" => Defects {
            mass_assignable_tenant: true,
            ..d
        },
        "rate_limit_by_ip" => Defects {
            rate_limit_by_ip: true,
            ..d
        },
        "payroll_without_tenant" => Defects {
            payroll_without_tenant: true,
            ..d
        },
        "deactivation_ignored" => Defects {
            deactivation_ignored: true,
            ..d
        },
        "self_approval_allowed" => Defects {
            self_approval_allowed: true,
            ..d
        },
        "employee_can_approve_leave" => Defects {
            employee_can_approve_leave: true,
            ..d
        },
        other => panic!("unknown defect {other}"),
    }
}

fn failing(results: &[ProbeResult]) -> Vec<&ProbeResult> {
    results.iter().filter(|p| !p.pass()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_pass_the_clean_service_and_catch_every_seeded_defect() {
    let config = ProvisionConfig {
        backend: BackendChoice::Native,
        ..ProvisionConfig::from_env().expect("provision config")
    };
    let stack = Stack::provision(&config).await.expect("provision");
    let spec = SeedSpec {
        tenants: 4,
        employees_per_tenant: 12,
        departments_per_tenant: 2,
        tiers: vec![
            Tier::Enterprise,
            Tier::Professional,
            Tier::Starter,
            Tier::Free,
        ],
        argon2: Argon2Settings::CHEAP,
        ..SeedSpec::default()
    };
    let on_stack = || local::Dependencies::Shared(&stack);
    let clean = local::start(
        on_stack(),
        in_process::options(Some(spec), Defects::default()),
    )
    .await
    .expect("clean service");
    let fixture = clean.fixture.clone();
    let started = std::time::Instant::now();
    let results = probe::run_catalogue(&clean.base_url, fixture.clone())
        .await
        .expect("catalogue");
    clean.stop().await;
    let attempts: u64 = results.iter().map(|p| p.attempts).sum();
    println!(
        "clean: {} probes, {attempts} attempts in {:?}",
        results.len(),
        started.elapsed()
    );
    assert!(results.len() >= 30, "the catalogue is the whole catalogue");
    assert!(
        failing(&results).is_empty(),
        "the clean service must pass every probe: {:#?}",
        failing(&results)
    );

    let mut matrix = vec![
        "| defect | caught by (kind / probe: leaks, failures) |".to_owned(),
        "|---|---|".to_owned(),
    ];
    let mut missed = Vec::new();
    for name in DEFECTS {
        let service = local::start(on_stack(), in_process::options(None, defects(name)))
            .await
            .expect("defective service");
        let started = std::time::Instant::now();
        let results = probe::run_catalogue(&service.base_url, fixture.clone())
            .await
            .expect("catalogue");
        service.stop().await;
        let caught = failing(&results);
        println!(
            "{name}: {} probes failed in {:?}",
            caught.len(),
            started.elapsed()
        );
        for p in &caught {
            for example in &p.examples {
                println!("    {} / {}: {example}", p.kind, p.name);
            }
        }
        if caught.is_empty() || caught.iter().all(|p| p.examples.is_empty()) {
            missed.push(*name);
        } else {
            // The report itself shows the offending request, in every human format.
            let example = caught[0].examples[0].clone();
            let report = probe::report(RunInfo::default(), results.clone(), 0);
            assert_eq!(report.verdict, Verdict::Fail);
            let markdown = render::markdown::render(&report);
            let junit = render::junit::render(&report).expect("junit");
            assert!(markdown.contains(&example), "{name}: not in report.md");
            // XML escapes quotes: compare the request line up to its first quoted part.
            let head: String = example
                .chars()
                .take_while(|c| !matches!(c, '(' | '{' | '"'))
                .collect();
            assert!(junit.contains(head.trim()), "{name}: not in junit.xml");
        }
        let cells: Vec<String> = caught
            .iter()
            .map(|p| format!("{} / {}: {}, {}", p.kind, p.name, p.leaks, p.failures))
            .collect();
        matrix.push(format!("| `{name}` | {} |", cells.join("<br>")));
    }
    println!("\ndetection matrix:\n{}", matrix.join("\n"));
    stack.shutdown().await;
    assert!(
        missed.is_empty(),
        "defects no probe caught (or caught without showing the request): {missed:?}"
    );
}

/// A run (not `gauntlet probe`) against a service that leaks employees across tenants: the
/// sweeps' cross-tenant reads come back 200 with the other tenant's employee. That is a probe
/// failure (the run fails on `probes.leaks`), and none of it is an error of
/// `GET /employees/{id}`: probe requests go to the cross-check's probe column only.
#[test]
fn a_leak_in_a_run_is_a_probe_failure_and_no_endpoint_error() {
    let dir = crate::support::out_dir("leaking-run");
    let output = crate::support::gauntlet()
        .env("HRMS__DEFECTS__UNSCOPED_EMPLOYEE_READ", "true")
        .args([
            "run",
            "smoke",
            "--quiet",
            "--duration-scale",
            "0.3",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .expect("gauntlet runs");
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = crate::support::read_json(&dir.path().join("report.json"));
    let leaks: u64 = report["probes"]["results"]
        .as_array()
        .expect("probe results")
        .iter()
        .filter(|p| p["kind"] == "cross_tenant_read")
        .map(|p| p["leaks"].as_u64().unwrap_or(0))
        .sum();
    assert!(
        leaks > 0,
        "the leak is a probe failure: {:#}",
        report["probes"]
    );
    // The personas' own reads (own tenant, found) may be in the statistics; the probes' never.
    let by_id = report["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .find(|e| e["name"] == "GET /employees/{id}");
    if let Some(e) = by_id {
        assert_eq!(e["error_rate"].as_f64(), Some(0.0), "{e:#}");
    }
    let cross = crate::support::read_json(&dir.path().join("crosscheck.json"));
    let row = cross["endpoints"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["endpoint"] == "GET /employees/{id}")
        .expect("the sweeps read employees by id");
    assert!(row["probe"].as_u64().unwrap() > 0, "{row}");
    assert_eq!(cross["consistent"], true, "{cross:#}");
}

/// `gauntlet run smoke` carries the whole catalogue in its sweeps, so the isolation defects
/// that only `gauntlet probe` used to catch fail a plain run too: a cache keyed without the
/// tenant (a leak), a payroll job that ignores the tenant (its runs never complete: a probe
/// failure, which fails a run without faults), a rate limiter shared by all tenants (the
/// noisy-neighbour probe of the last sweep). The clean run is `run::smoke_passes_…`.
#[test]
fn smoke_fails_on_each_isolation_defect_the_catalogue_catches() {
    let cases = [
        (
            "HRMS__DEFECTS__CACHE_KEY_WITHOUT_TENANT",
            "cache_bleed",
            "probes.leaks",
        ),
        (
            "HRMS__DEFECTS__PAYROLL_WITHOUT_TENANT",
            "payroll_isolation",
            "probes.failures",
        ),
        (
            "HRMS__DEFECTS__RATE_LIMIT_BY_IP",
            "rate_limit_isolation",
            "probes.leaks",
        ),
    ];
    for (defect, kind, threshold) in cases {
        let dir = crate::support::out_dir("isolation-defect");
        let output = crate::support::gauntlet()
            .env(defect, "true")
            .args([
                "run",
                "smoke",
                "--quiet",
                "--duration-scale",
                "0.2",
                "--out",
            ])
            .arg(dir.path())
            .output()
            .expect("gauntlet runs");
        assert_eq!(
            output.status.code(),
            Some(1),
            "{defect}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let report = crate::support::read_json(&dir.path().join("report.json"));
        let caught = report["probes"]["results"]
            .as_array()
            .expect("probe results")
            .iter()
            .any(|p| p["kind"] == kind && !p["examples"].as_array().unwrap().is_empty());
        assert!(caught, "{defect}: {kind} shows it: {:#}", report["probes"]);
        let failed = report["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["metric"] == threshold && t["pass"] == false);
        assert!(
            failed,
            "{defect}: {threshold} failed: {:#}",
            report["thresholds"]
        );
    }
}

/// The prober persona's checks during the load: the department list as another tenant and at
/// once as its own (a cache keyed without the tenant serves the first one's answer), and
/// after the load, each tenant's payroll run from before it completed. A prober-heavy spec
/// so that a few seconds hold enough probes.
#[test]
fn the_prober_persona_checks_cache_bleed_under_load_and_payroll_completion_after_it() {
    let dir = crate::support::out_dir("prober-under-load");
    let spec = dir.path().join("prober-heavy.toml");
    std::fs::write(
        &spec,
        "version = 1\ndescription = \"prober-heavy\"\ndefault_profile = \"small\"\n\
         [[stages]]\nname = \"a\"\nkind = \"hold\"\nduration = \"5s\"\nusers = 4\n\
         [think_time]\nmin = \"50ms\"\nmax = \"100ms\"\n\
         [personas]\nemployee = 1\nmanager = 1\nhr_admin = 1\nprober = 1\n",
    )
    .expect("spec written");
    let under_load = |report: &serde_json::Value, name: &str| {
        report["probes"]["results"]
            .as_array()
            .expect("probe results")
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {:#}", report["probes"]))
    };
    let cache = "department list right after another tenant's, under load";
    let completion = "a payroll run started before the load has completed after it";
    for defect in [None, Some("HRMS__DEFECTS__CACHE_KEY_WITHOUT_TENANT")] {
        let out = dir.path().join(defect.unwrap_or("clean"));
        let mut command = crate::support::gauntlet();
        if let Some(d) = defect {
            command.env(d, "true");
        }
        let output = command
            .arg("run")
            .arg(&spec)
            .args(["--quiet", "--out"])
            .arg(&out)
            .output()
            .expect("gauntlet runs");
        let report = crate::support::read_json(&out.join("report.json"));
        let bleed = under_load(&report, cache);
        assert!(bleed["attempts"].as_u64().unwrap() > 0, "{bleed:#}");
        let done = under_load(&report, completion);
        assert_eq!(done["attempts"], 2, "one run per tenant: {done:#}");
        assert_eq!(done["failures"], 0, "{done:#}");
        match defect {
            None => {
                assert_eq!(output.status.code(), Some(0), "{:#}", report["reasons"]);
                assert_eq!(bleed["leaks"], 0, "{bleed:#}");
            }
            Some(_) => {
                assert_eq!(output.status.code(), Some(1), "{:#}", report["reasons"]);
                assert!(bleed["leaks"].as_u64().unwrap() > 0, "{bleed:#}");
            }
        }
    }
}
