//! `gauntlet fuzz`: the contract fuzzer as users run it, against a `--target` (every
//! operation covered and nothing found on the clean service; without the operator's token the
//! admin operations are reported as not covered, which fails the run) and against the local
//! service with a seeded defect whose 500 it must find and show.

use std::process::Output;

use gauntlet_loadgen::run::local;
use gauntlet_reports::model::Wiring;
use gauntlet_testcontainers::{BackendChoice, ProvisionConfig, Stack};
use hrms::config::Argon2Settings;
use hrms::defects::Defects;
use hrms::ratelimit::Tier;
use hrms::seed::SeedSpec;
use serde_json::Value;

use crate::support::{gauntlet, out_dir, read_json};

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || gauntlet().args(&args).output().expect("gauntlet runs"))
        .await
        .expect("joined")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzing_a_target_covers_every_operation_and_finds_nothing_in_the_clean_service() {
    let config = ProvisionConfig {
        backend: BackendChoice::Native,
        ..ProvisionConfig::from_env().expect("provision config")
    };
    let stack = Stack::provision(&config).await.expect("provision");
    let spec = SeedSpec {
        tenants: 2,
        employees_per_tenant: 8,
        departments_per_tenant: 2,
        tiers: vec![Tier::Enterprise, Tier::Professional],
        argon2: Argon2Settings::CHEAP,
        ..SeedSpec::default()
    };
    let operator = "fuzz-test-operator";
    let options = local::Options {
        seed: Some(spec),
        wiring: Wiring::Direct,
        placement: local::Placement::InProcess,
        defects: Defects::default(),
        operator_token: Some(operator.to_owned()),
    };
    let service = local::start(local::Dependencies::Shared(&stack), options)
        .await
        .expect("service");
    let dir = out_dir("fuzz-target");
    let credentials = dir.path().join("credentials.json");
    std::fs::write(
        &credentials,
        serde_json::to_string(&service.fixture).unwrap(),
    )
    .unwrap();
    let summary_path = dir.path().join("fuzz.json");
    let target_args = |extra: &[&str]| {
        let mut args: Vec<String> = ["fuzz", "--target", &service.base_url, "--credentials"]
            .map(str::to_owned)
            .to_vec();
        args.push(credentials.display().to_string());
        args.extend(["--per-operation", "8"].map(str::to_owned));
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };

    let path = summary_path.display().to_string();
    let output = run(target_args(&["--operator-token", operator, "--out", &path])).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let summary = read_json(&summary_path);
    let operations = summary["operations"].as_u64().unwrap();
    assert!(operations >= 28, "{summary}");
    assert_eq!(summary["covered"].as_u64(), Some(operations), "{summary}");
    assert_eq!(summary["sent"].as_u64(), Some(operations * 8), "{summary}");
    assert_eq!(summary["failures"], Value::Array(vec![]), "{summary}");
    let statuses = summary["statuses"].as_object().unwrap();
    assert!(statuses.keys().all(|s| !s.starts_with('5')), "{summary}");
    // Requests got past authentication and validation to real answers, not only refusals.
    assert!(
        statuses.contains_key("200") && statuses.contains_key("201"),
        "{summary}"
    );

    let output = run(target_args(&[])).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("not covered: PUT /admin/tenants/{id}/limits: no operator token"),
        "{}",
        text(&output)
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzing_finds_the_500_of_a_seeded_defect_and_shows_the_request() {
    let dir = out_dir("fuzz-defect");
    let summary_path = dir.path().join("fuzz.json");
    let args = |defect: Option<&str>| {
        let mut args: Vec<String> = [
            "fuzz",
            "--operation",
            "GET /employees",
            "--per-operation",
            "50",
            "--out",
        ]
        .map(str::to_owned)
        .to_vec();
        args.push(summary_path.display().to_string());
        if let Some(d) = defect {
            args.extend(["--defect".to_owned(), d.to_owned()]);
        }
        args
    };
    // The same seed without the defect: the 500s below are the defect's.
    let output = run(args(None)).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(read_json(&summary_path)["operations"], 1);

    let output = run(args(Some("unchecked_pagination"))).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let shown = text(&output);
    assert!(
        shown.contains("GET /employees?page=0") && shown.contains("→ 500"),
        "{shown}"
    );
    let summary = read_json(&summary_path);
    assert!(summary["statuses"]["500"].as_u64() > Some(0), "{summary}");
    let failures = summary["failures"].as_array().unwrap();
    assert!(!failures.is_empty());
    assert!(
        failures
            .iter()
            .all(|f| f["request"].as_str().unwrap().contains("page=0")),
        "only page 0 breaks: {summary}"
    );
}
