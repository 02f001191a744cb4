//! Two generator processes against one service, merged exactly: the merged report's
//! percentiles equal those of one HDR histogram (the recorder's settings) built from the union
//! of both processes' `--raw-samples` CSVs, and the counts add up.

use std::time::Duration;

use gauntlet_reports::histogram::quantile_us;
use hrms::ratelimit::Tier;
use serde_json::Value;

use crate::in_process;
use crate::raw_samples::{assert_summary_matches, histograms_of};
use crate::support::{explain, read_json};

/// Smoke × 0.1: 1 s + 2 s of load per process.
const SCALE: &str = "0.1";
/// Bounds the two generator processes together.
const RUN_DEADLINE: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_generators_merge_to_the_percentiles_of_their_union() {
    let dir = crate::support::out_dir("merge");
    // The loadgen's own in-process service, as `gauntlet serve` starts it.
    let spec = in_process::seed(12, 1, &[Tier::Enterprise, Tier::Professional]);
    let (service, creds) = in_process::serve(spec, dir.path()).await;
    let base_url = service.base_url.clone();

    let generator = |name: &str| {
        let out = dir.path().join(name);
        let mut cmd = tokio::process::Command::from(crate::support::gauntlet());
        cmd.args(["run", "smoke", "--quiet", "--duration-scale", SCALE])
            .arg("--target")
            .arg(&base_url)
            .arg("--credentials")
            .arg(&creds)
            .arg("--out")
            .arg(&out)
            .arg("--raw-samples")
            .arg(dir.path().join(format!("{name}.csv")))
            .kill_on_drop(true);
        cmd.output()
    };
    let (a, b) = tokio::time::timeout(RUN_DEADLINE, async {
        tokio::join!(generator("a"), generator("b"))
    })
    .await
    .expect("both generators finish in time");
    service.stop().await;
    for output in [a.expect("a runs"), b.expect("b runs")] {
        // Thresholds may fail with two processes on one small data set; the files must exist.
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{}",
            explain(&output)
        );
    }

    let merged_path = dir.path().join("merged.json");
    let output = crate::support::gauntlet()
        .args(["report", "merge"])
        .arg(dir.path().join("a/report.json"))
        .arg(dir.path().join("b/report.json"))
        .arg("-o")
        .arg(&merged_path)
        .output()
        .expect("merge runs");
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let merged = read_json(&merged_path);
    let (a, b) = (
        read_json(&dir.path().join("a/report.json")),
        read_json(&dir.path().join("b/report.json")),
    );

    // Each CSV holds exactly what its own report counted.
    for (name, report) in [("a", &a), ("b", &b)] {
        let csv = dir.path().join(format!("{name}.csv"));
        let (_, lines) = histograms_of(&[&csv]);
        assert_eq!(report["total"]["count"].as_u64(), Some(lines), "{name}");
    }
    let (csv_a, csv_b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    let (union, lines) = histograms_of(&[&csv_a, &csv_b]);
    let total = |r: &Value| r["total"]["count"].as_u64().unwrap();
    assert_eq!(total(&merged), total(&a) + total(&b));
    assert_eq!(total(&merged), lines);
    assert!(lines > 50, "{lines} requests are too few to mean anything");
    eprintln!(
        "merged {} + {} = {lines} requests; p95 {} us, max {} us",
        total(&a),
        total(&b),
        quantile_us(&union["all"], 0.95),
        union["all"].max()
    );
    assert_summary_matches(&merged["total"], &union["all"]);
    let endpoints = merged["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len() + 1, union.len(), "same endpoints");
    for e in endpoints {
        let name = e["name"].as_str().unwrap();
        assert_summary_matches(e, &union[name]);
        let ok = e["ok"].as_u64().unwrap();
        let errors = e["errors"]["total"].as_u64().unwrap();
        assert_eq!(ok + errors, e["count"].as_u64().unwrap(), "{name}");
    }
}
