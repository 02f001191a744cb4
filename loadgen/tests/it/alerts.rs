//! The seed's six alerts: the rules file checked and unit-tested by promtool, exported as
//! committed, and evaluated in runs by a real Prometheus — an expected alert that never fires
//! fails the run as an alerting gap, and a name the rules do not have is bad input.
//! `--target` runs read a deployment's own Prometheus (`--prometheus`). (pg-kill's alerts
//! firing and resolving are checked in `chaos.rs`, a clean smoke's silence in `run.rs`.)

use std::path::PathBuf;
use std::process::Command;

use gauntlet_loadgen::run::alerts::prometheus::{LocalPrometheus, Scrape};
use gauntlet_loadgen::run::alerts::rules::RULES;
use hrms::ratelimit::Tier;

use crate::in_process;
use crate::support::{bad_input, explain, gauntlet, out_dir, read_json, run_spec};

fn rules_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../service/alerts")
}

/// promtool, which Debian's `prometheus` package installs (`cargo xtask test` does).
fn promtool(args: &[&str]) -> std::process::Output {
    Command::new("promtool")
        .args(args)
        .current_dir(rules_dir())
        .output()
        .unwrap_or_else(|e| {
            panic!("promtool not runnable ({e}); install it: apt-get install prometheus")
        })
}

#[test]
fn the_rules_file_passes_promtool_check_and_every_alert_its_unit_test() {
    let check = promtool(&["check", "rules", "hrms.rules.yml"]);
    assert!(check.status.success(), "{}", explain(&check));
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(stdout.contains("SUCCESS: 6 rules found"), "{stdout}");

    let tests = std::fs::read_to_string(rules_dir().join("hrms.rules.test.yml")).unwrap();
    for alert in [
        "HrmsHighErrorRate",
        "HrmsHealthCheckFailing",
        "HrmsDbConnectionsHigh",
        "HrmsJobQueueBacklog",
        "PostgresDataDiskAlmostFull",
        "HrmsRateLimitNearlyExhausted",
    ] {
        let cases = tests.matches(&format!("alertname: {alert}")).count();
        // At least one case where it fires and one where it must stay silent.
        assert!(cases >= 2, "{alert} has {cases} test cases");
    }
    let test = promtool(&["test", "rules", "hrms.rules.test.yml"]);
    assert!(test.status.success(), "{}", explain(&test));
}

#[test]
fn alerts_export_prints_the_committed_rules_file() {
    let output = gauntlet()
        .args(["alerts", "export"])
        .output()
        .expect("gauntlet runs");
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let committed = std::fs::read_to_string(rules_dir().join("hrms.rules.yml")).unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), committed);
}

/// A tiny clean run expecting `alerts` (TOML array text).
fn spec_expecting(dir: &std::path::Path, alerts: &str) -> PathBuf {
    let path = dir.join("expects.toml");
    let text = format!(
        "version = 1\ndescription = \"expects\"\nexpect_alerts = {alerts}\n\n\
         [[stages]]\nname = \"hold\"\nkind = \"hold\"\nduration = \"3s\"\nusers = 2\n\n\
         [think_time]\nmin = \"300ms\"\nmax = \"600ms\"\n\n\
         [personas]\nemployee = 1\nmanager = 0\nhr_admin = 0\nprober = 0\n"
    );
    std::fs::write(&path, text).expect("write spec");
    path
}

#[test]
fn an_expected_alert_that_never_fires_is_an_alerting_gap_and_fails_the_run() {
    let dir = out_dir("alert-gap");
    let path = spec_expecting(dir.path(), "[\"HrmsJobQueueBacklog\"]");
    let output = run_spec(gauntlet(), dir.path().join("out"), &path);
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let report = read_json(&dir.path().join("out/report.json"));
    let alerts = &report["alerts"];
    assert_eq!(alerts["enabled"], true, "{alerts:#}");
    assert!(
        alerts["prometheus"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://127.0.0.1:")),
        "{alerts:#}"
    );
    assert_eq!(alerts["alerts"].as_array().unwrap().len(), 6, "{alerts:#}");
    let queue = alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "HrmsJobQueueBacklog")
        .expect("the queue alert has a row");
    assert_eq!(queue["expected"], true);
    assert!(queue["fired_at_offset_us"].is_null(), "{queue:#}");
    let reasons = report["reasons"].to_string();
    assert!(
        reasons.contains("alerting gap: HrmsJobQueueBacklog never fired"),
        "{reasons}"
    );
    // The other five were expected to stay silent, and did.
    let thresholds = report["thresholds"].as_array().unwrap();
    let silent: Vec<&serde_json::Value> = thresholds
        .iter()
        .filter(|t| t["expression"].as_str().unwrap().ends_with(".fired == 0"))
        .collect();
    assert_eq!(silent.len(), 5, "{thresholds:#?}");
    assert!(silent.iter().all(|t| t["pass"] == true), "{silent:#?}");
}

#[test]
fn an_alert_the_rules_do_not_have_is_bad_input_naming_its_line() {
    let dir = out_dir("alert-unknown");
    let path = spec_expecting(dir.path(), "[\"DiskOnFire\"]");
    let stderr = bad_input(gauntlet().arg("run").arg(&path));
    assert!(stderr.contains("expects.toml:3:"), "{stderr}");
    assert!(stderr.contains("DiskOnFire"), "{stderr}");
    assert!(stderr.contains("HrmsHighErrorRate"), "{stderr}");
}

/// `--target` runs read a deployment's own Prometheus (`--prometheus URL`): here one the test
/// starts beside a service it started, loaded with the committed rules. A clean run expecting
/// nothing passes with all six rules read from it and silent; expecting the queue alert, the
/// same run fails as an alerting gap, so the alerts really came from that Prometheus.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_run_judges_the_alerts_of_the_prometheus_it_is_given() {
    let dir = out_dir("alert-remote");
    let spec = in_process::seed(8, 1, &[Tier::Enterprise, Tier::Professional]);
    let (service, creds) = in_process::serve(spec, dir.path()).await;
    let scrape = Scrape {
        service: &service.base_url,
        postgres_data: None,
    };
    let provision = in_process::native();
    let prometheus = LocalPrometheus::start(&scrape, RULES, provision.changes, &provision.observer)
        .await
        .expect("a Prometheus for the deployment");

    let run = |name: &str, alerts: &str| {
        let spec_dir = dir.path().join(name);
        std::fs::create_dir_all(&spec_dir).unwrap();
        let spec = spec_expecting(&spec_dir, alerts);
        let mut command = tokio::process::Command::from(gauntlet());
        command
            .arg("run")
            .arg(&spec)
            .args(["--quiet", "--target", &service.base_url, "--credentials"])
            .arg(&creds)
            .args(["--prometheus", &prometheus.url, "--out"])
            .arg(spec_dir.join("out"))
            .kill_on_drop(true);
        command.output()
    };
    let clean = run("clean", "[]").await.expect("gauntlet runs");
    let gap = run("gap", "[\"HrmsJobQueueBacklog\"]")
        .await
        .expect("gauntlet runs");
    let url = prometheus.url.clone();
    prometheus.stop().await;
    service.stop().await;

    assert_eq!(clean.status.code(), Some(0), "{}", explain(&clean));
    let report = read_json(&dir.path().join("clean/out/report.json"));
    let alerts = &report["alerts"];
    assert_eq!(alerts["enabled"], true, "{alerts:#}");
    assert_eq!(alerts["prometheus"], url.as_str(), "{alerts:#}");
    let rows = alerts["alerts"].as_array().unwrap();
    assert_eq!(rows.len(), 6, "{alerts:#}");
    assert!(
        rows.iter().all(|a| a["fired_at_offset_us"].is_null()),
        "{alerts:#}"
    );

    assert_eq!(gap.status.code(), Some(1), "{}", explain(&gap));
    let report = read_json(&dir.path().join("gap/out/report.json"));
    let reasons = report["reasons"].to_string();
    assert!(
        reasons.contains("alerting gap: HrmsJobQueueBacklog never fired"),
        "{reasons}"
    );
}
