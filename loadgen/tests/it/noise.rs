//! The regression gate's noise model from the command line: `gauntlet baseline merge`, then
//! `gauntlet report compare` against the set with its three exits (pass 0, regressed 1, not
//! comparable 4); and `gauntlet ab` against one served target twice.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use gauntlet_reports::model::{EnvironmentSample, EnvironmentSection};
use gauntlet_reports::render;
use gauntlet_reports::synthetic::Steady;

use crate::support::{explain, gauntlet, interrupt_and_wait, read_json};

fn write(dir: &Path, name: &str, steady: Steady, busy_elsewhere: Option<f64>) -> PathBuf {
    let mut report = steady.report().expect("synthetic report");
    if let Some(elsewhere) = busy_elsewhere {
        let sample = |unix_s| EnvironmentSample {
            unix_s,
            machine_cpu_percent: 50.0 + elsewhere,
            run_cpu_percent: 50.0,
            elsewhere_cpu_percent: elsewhere,
            steal_percent: 0.0,
            load1: 2.0,
        };
        report.environment = EnvironmentSection::from_samples(2, (0..30).map(sample).collect());
    }
    let path = dir.join(name);
    std::fs::write(&path, render::json(&report).expect("serialises")).expect("written");
    path
}

fn compare(base: &Path, new: &Path, extra: &[&str]) -> Output {
    gauntlet()
        .args(["report", "compare"])
        .args(extra)
        .arg(base)
        .arg(new)
        .output()
        .expect("gauntlet report compare runs")
}

#[test]
fn a_merged_baseline_set_passes_drift_flags_a_slowdown_and_refuses_a_busy_machine() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Five baseline runs whose machine drifted ±15 % from run to run.
    let runs: Vec<PathBuf> = [1.0, 1.15, 0.9, 1.1, 0.85]
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let s = Steady {
                seed: i as u64,
                machine: *m,
                ..Steady::default()
            };
            write(dir.path(), &format!("run{i}.json"), s, None)
        })
        .collect();
    let set = dir.path().join("set.json");
    let merged = gauntlet()
        .args(["baseline", "merge"])
        .args(&runs)
        .arg("-o")
        .arg(&set)
        .output()
        .expect("gauntlet baseline merge runs");
    assert_eq!(merged.status.code(), Some(0), "{}", explain(&merged));
    let json = read_json(&set);
    assert_eq!(json["format"], "gauntlet-baseline-set");
    assert_eq!(json["runs"].as_array().map(Vec::len), Some(5));
    let p95 = &json["endpoints"][0]["metrics"][2];
    assert_eq!(p95["metric"], "p95");
    assert_eq!(p95["values"].as_array().map(Vec::len), Some(5));
    assert!(p95["sd"].as_f64() > Some(0.0), "{p95}");

    // 20 % slower than the set's mean: beyond the allowance, inside the runs' spread.
    let drifted = Steady {
        seed: 9,
        machine: 1.2,
        ..Steady::default()
    };
    let out = compare(&set, &write(dir.path(), "drift.json", drifted, None), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("prediction interval") && text.contains("within noise"),
        "{text}"
    );

    let slow = Steady {
        seed: 9,
        slow_first: 2.0,
        ..Steady::default()
    };
    let slow_path = write(dir.path(), "slow.json", slow, None);
    let out = compare(&set, &slow_path, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("GET /api/v1/resource-00/{id}") && l.ends_with("REGRESSION")),
        "{text}"
    );

    // The same slowdown measured beside a CPU hog: nothing is judged, exit 4, the reason
    // with its numbers.
    let busy = write(dir.path(), "busy.json", slow, Some(95.0));
    let out = compare(&set, &busy, &[]);
    assert_eq!(out.status.code(), Some(4), "{}", explain(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("NOT COMPARABLE: new run: machine busy elsewhere: 95% of one core"),
        "{text}"
    );
    // Bounds switched off: judged again.
    let out = compare(&set, &busy, &["--environment-bounds", "off"]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    // Against a single run, over the seconds: the slowdown is flagged there too.
    let out = compare(&runs[0], &slow_path, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Mann–Whitney"));

    let bad = compare(
        &set,
        &slow_path,
        &["--environment-bounds", "elsewhere=lots"],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", explain(&bad));
    let other = Steady::default().report().map(|mut r| {
        r.run.scenario = "other".into();
        r
    });
    let other_path = dir.path().join("other.json");
    std::fs::write(
        &other_path,
        render::json(&other.expect("report")).expect("json"),
    )
    .expect("w");
    let mixed = gauntlet()
        .args(["baseline", "merge"])
        .arg(&runs[0])
        .arg(&other_path)
        .arg("-o")
        .arg(dir.path().join("mixed.json"))
        .output()
        .expect("runs");
    assert_eq!(mixed.status.code(), Some(2), "{}", explain(&mixed));
    assert!(String::from_utf8_lossy(&mixed.stderr).contains("one scenario and profile"));
}

/// `gauntlet serve` until dropped (Ctrl-C, then wait).
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            interrupt_and_wait(&mut self.0, Duration::from_secs(30));
        }
    }
}

#[test]
fn ab_against_one_target_twice_runs_its_slices_and_passes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("credentials.json");
    let mut serving = Serving(
        gauntlet()
            .args(["serve", "--backend", "native", "--credentials-out"])
            .arg(&credentials)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gauntlet serve starts"),
    );
    let stdout = serving.0.stdout.take().expect("piped stdout");
    let mut url = None;
    // Bounded: a fixed banner; `lines` ends if the process dies.
    for line in BufReader::new(stdout).lines().take(100) {
        let line = line.expect("utf-8");
        if let Some(rest) = line.strip_prefix("service:") {
            url = rest.split_whitespace().next().map(str::to_owned);
        }
        if line.starts_with("ready;") {
            break;
        }
    }
    let url = url.expect("serve prints its URL");
    let json = dir.path().join("ab.json");
    let out = gauntlet()
        .args([
            "ab",
            "smoke",
            "--base",
            &url,
            "--new",
            &url,
            "--base-credentials",
        ])
        .arg(&credentials)
        .args([
            "--pairs", "5", "--slice", "1", "--warmup", "0", "--quiet", "--json",
        ])
        .arg(&json)
        .output()
        .expect("gauntlet ab runs");
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Wilcoxon signed-rank"), "{text}");
    let report = read_json(&json);
    assert_eq!(report["outcome"], "pass");
    assert_eq!(report["comparison"]["noise_model"], "paired_slices");
    let slices = report["slice_requests"].as_array().expect("slice counts");
    assert_eq!(slices.len(), 5);
    assert!(
        slices
            .iter()
            .all(|p| p[0].as_u64() > Some(0) && p[1].as_u64() > Some(0)),
        "every slice sent requests: {slices:?}"
    );
    assert!(
        report["environment"]["samples"].as_u64() > Some(0),
        "{report}"
    );
}
