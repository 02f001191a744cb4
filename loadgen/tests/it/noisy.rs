//! The noisy neighbour inside a run: one tenant floods past its plan through a stage while
//! the others are judged per tenant, on the clean service and on one whose limiter buckets by
//! client address (every tenant behind the generator shares one bucket).

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

use crate::support::{bad_input, explain, gauntlet, out_dir, read_json, run_spec};

/// Small profile (two tenants with users, plus the flooder), employees only, an 8 s hold the
/// flood runs through at twice the free plan's sustained read limit.
fn spec(dir: &Path, stage: &str) -> PathBuf {
    let path = dir.join("noisy.toml");
    let text = format!(
        "version = 1\ndescription = \"noisy\"\n\
         thresholds = [\"tenant.*.error_rate < 5%\", \"tenant.*.p95 < 2s\"]\n\n\
         [[stages]]\nname = \"hold\"\nkind = \"hold\"\nduration = \"8s\"\nusers = 6\n\n\
         [think_time]\nmin = \"50ms\"\nmax = \"150ms\"\n\n\
         [personas]\nemployee = 1\nmanager = 0\nhr_admin = 0\nprober = 0\n\n\
         [noisy_neighbour]\nstage = \"{stage}\"\nrate = \"200%\"\n"
    );
    std::fs::write(&path, text).expect("write spec");
    path
}

fn run(name: &str, defect: Option<&str>) -> (Output, Value, String) {
    let dir = out_dir(name);
    let mut cmd = gauntlet();
    if let Some(defect) = defect {
        cmd.env(format!("HRMS__DEFECTS__{}", defect.to_uppercase()), "true");
    }
    let output = run_spec(cmd, dir.path().join("out"), spec(dir.path(), "hold"));
    let out = dir.path().join("out");
    assert!(out.join("report.json").is_file(), "{}", explain(&output));
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    let cross = read_json(&out.join("crosscheck.json"));
    assert_eq!(
        cross["consistent"], true,
        "flood requests are their own column: {cross:#}"
    );
    (output, read_json(&out.join("report.json")), md)
}

fn threshold<'a>(report: &'a Value, expression: &str) -> &'a Value {
    report["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["expression"] == expression)
        .unwrap_or_else(|| panic!("{expression} judged: {:#}", report["thresholds"]))
}

#[test]
fn the_flooder_is_held_to_its_plan_and_the_others_are_judged_per_tenant() {
    let (output, report, md) = run("noisy-clean", None);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}\nreasons: {:#}\nflood: {:#}",
        explain(&output),
        report["reasons"],
        report["noisy_neighbour"]
    );
    let n = &report["noisy_neighbour"];
    assert_eq!(n["enabled"], true);
    assert_eq!(
        (n["tenant"].as_str(), n["tier"].as_str()),
        (Some("t2"), Some("free"))
    );
    let sent = n["sent"].as_u64().unwrap();
    let limited = n["rate_limited"].as_u64().unwrap();
    // 20/s through an 8 s stage; about half over the limit after the burst of 20.
    assert!((100..=170).contains(&sent), "{n:#}");
    assert!(limited * 5 > sent, "held to its plan: {n:#}");
    let tenants = report["tenants"].as_array().unwrap();
    let labels: Vec<&str> = tenants
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["t0", "t1", "t2"]);
    assert_eq!(
        tenants[2]["count"], 0,
        "no virtual user logs in to the flooder"
    );
    for t in &report["tenants_during_flood"].as_array().unwrap()[..2] {
        assert!(t["count"].as_u64().unwrap() > 20, "{t:#}");
        assert_eq!(t["rate_limited"], 0, "{t:#}");
    }
    for expression in [
        "tenant.*.rate_limited < 1%",
        "noisy_neighbour.rate_limited > 20%",
        "tenant.*.p95 < 2s",
    ] {
        assert_eq!(threshold(&report, expression)["pass"], true, "{expression}");
    }
    assert!(
        md.contains("Noisy neighbour") && md.contains("While it flooded"),
        "{md}"
    );
}

#[test]
fn a_limiter_shared_by_all_tenants_fails_the_run() {
    let (output, report, _) = run("noisy-shared", Some("rate_limit_by_ip"));
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    // The others' requests refill the one shared bucket at their bigger plans' rates, so the
    // flooder is never held to its own plan: the isolation failure shows on its side.
    let t = threshold(&report, "noisy_neighbour.rate_limited > 20%");
    assert_eq!(t["pass"], false, "{t:#}");
    assert_eq!(
        t["observed"], 0.0,
        "sent past its burst and never refused: {t:#}"
    );
}

#[test]
fn a_noisy_neighbour_through_a_stage_that_does_not_exist_is_bad_input() {
    let dir = out_dir("noisy-bad");
    let stderr = bad_input(
        gauntlet()
            .args(["run", "--quiet"])
            .arg(spec(dir.path(), "peek")),
    );
    assert!(
        stderr.contains("noisy.toml:") && stderr.contains("noisy_neighbour.stage"),
        "{stderr}"
    );
}
