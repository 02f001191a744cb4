//! `gauntlet run --baseline`: a run compared with an earlier run of itself passes; against
//! a doctored baseline it fails with the regression named; a bad baseline file is bad input
//! before anything is provisioned.
//!
//! How compare decides (reports/src/compare): a metric regresses when it is worse than the
//! allowance *and* outside noise. For throughput, `rps` is read from the report's JSON and a
//! drop is the worse direction; the noise band of `all` comes from the per-second counts, and
//! endpoints have no band (any drop beyond the allowance counts). So multiplying the baseline's
//! `rps` fields by ten makes the new run a 90% throughput drop: a regression for sure, without
//! touching the histograms.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{bad_input, explain, gauntlet, out_dir, read_json, spec};

/// Generous (p95 may grow 100×) so a second run of the same code never trips them on a
/// busy CI box; the doctored throughput drop (−90%) is far beyond the rps allowance.
const ALLOWANCES: &str = "p95=10000%,error_rate=5pp,rps=50%";

/// A 2 s run of two employees whose only threshold always holds: its verdict depends on the
/// baseline alone (the smoke spec's `error_rate < 1%` can trip on one error in a short run).
fn short_run(dir: &Path, out: &Path, baseline: Option<&Path>) -> std::process::Output {
    let spec = spec(dir, "http.error_rate < 50%");
    let mut cmd = gauntlet();
    cmd.args(["run", "--quiet", "--out"]).arg(out).arg(&spec);
    if let Some(b) = baseline {
        // The suite runs tests side by side, so this run's machine is busy with the others'
        // runs: comparability is not what this test is about (`noise.rs` tests it).
        cmd.arg("--baseline")
            .arg(b)
            .args(["--max-regression", ALLOWANCES])
            .args(["--environment-bounds", "off"]);
    }
    cmd.output().expect("gauntlet runs")
}

fn multiply_rps(report: &mut Value, factor: f64) {
    let scale = |e: &mut Value| {
        let rps = e["rps"].as_f64().expect("rps");
        e["rps"] = Value::from(rps * factor);
    };
    scale(&mut report["total"]);
    for e in report["endpoints"].as_array_mut().expect("endpoints") {
        scale(e);
    }
}

#[test]
fn a_run_passes_against_itself_and_fails_against_a_doctored_baseline() {
    let dir = out_dir("baseline");
    let first = dir.path().join("first");
    let output = short_run(dir.path(), &first, None);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let base = first.join("report.json");

    let second = dir.path().join("second");
    let output = short_run(dir.path(), &second, Some(&base));
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let report = read_json(&second.join("report.json"));
    let section = &report["baseline"];
    assert_eq!(section["enabled"], true);
    assert_eq!(section["allowances"], ALLOWANCES);
    let deltas = section["deltas"].as_array().unwrap();
    assert!(
        deltas
            .iter()
            .any(|d| d["endpoint"] == "all" && d["metric"] == "p95")
    );
    assert!(
        deltas.iter().all(|d| d["status"] != "regression"),
        "{section:#}"
    );
    let md = std::fs::read_to_string(second.join("report.md")).unwrap();
    assert!(md.contains("### Baseline"), "{md}");
    assert!(md.contains("**0 regressions**"), "{md}");
    assert!(md.contains("| ✅ | all | p95 |"), "{md}");

    let mut doctored = read_json(&base);
    multiply_rps(&mut doctored, 10.0);
    let doctored_path = dir.path().join("doctored.json");
    std::fs::write(&doctored_path, doctored.to_string()).unwrap();
    let third = dir.path().join("third");
    let output = short_run(dir.path(), &third, Some(&doctored_path));
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let report = read_json(&third.join("report.json"));
    assert_eq!(report["verdict"], "fail");
    let reasons = report["reasons"].to_string();
    let file = doctored_path.display().to_string();
    assert!(
        reasons.contains(&format!("regression vs {file}: all rps ")),
        "{reasons}"
    );
    assert!(reasons.contains("allowed 50%, outside noise"), "{reasons}");
    let md = std::fs::read_to_string(third.join("report.md")).unwrap();
    assert!(md.contains("| ❌ | all | rps |"), "{md}");
    let junit = std::fs::read_to_string(third.join("junit.xml")).unwrap();
    assert!(junit.contains("name=\"baseline\""), "{junit}");
}

#[test]
fn a_bad_baseline_is_bad_input_naming_the_file_before_provisioning() {
    let dir = out_dir("bad-baseline");
    let missing = dir.path().join("missing.json");
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"schema_version\": 1, \"verdict\": ").unwrap();
    for (file, allowances) in [
        (&missing, None),
        (&broken, None),
        (&missing, Some("p96=1%")),
    ] {
        let started = Instant::now();
        let mut cmd = gauntlet();
        // An unreachable external backend: provisioning would fail with exit 3, not 2.
        cmd.env("GAUNTLET_BACKEND", "external")
            .env("DATABASE_URL", "postgres://127.0.0.1:1/none")
            .env("REDIS_URL", "redis://127.0.0.1:1")
            .args(["run", "smoke", "--quiet", "--out"])
            .arg(dir.path().join("out"))
            .arg("--baseline")
            .arg(file);
        if let Some(a) = allowances {
            cmd.args(["--max-regression", a]);
        }
        let stderr = bad_input(&mut cmd);
        let named = match allowances {
            Some(_) => "--max-regression".to_owned(),
            None => file.display().to_string(),
        };
        assert!(stderr.contains(&named), "{named} not named: {stderr}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(
            !dir.path().join("out").exists(),
            "nothing ran, nothing written"
        );
    }
}
