//! `gauntlet report render|compare|merge` on real report files.

use std::path::Path;

use gauntlet_reports::{
    Outcome, Report, RunRecorder,
    model::RunInfo,
    render::{self, from_json},
};

use crate::support::{bad_input, gauntlet};

const T0_US: u64 = 1_767_225_600_000_000;

/// A report of `seconds` × `per_second` requests on one endpoint with latencies around
/// `latency_us` (a deterministic spread of ±50%).
fn synthetic(latency_us: u64, seconds: u64, per_second: u64) -> Report {
    let mut rec = RunRecorder::new(T0_US, true);
    for s in 0..seconds {
        for i in 0..per_second {
            let spread = latency_us / 2 + (i * 7919 % per_second) * latency_us / per_second;
            let at = T0_US + s * 1_000_000 + i * (1_000_000 / per_second);
            rec.record("GET /employees", at, spread, Outcome::Ok);
        }
    }
    let mut report = Report::empty(RunInfo {
        scenario: "synthetic".into(),
        ..RunInfo::default()
    });
    rec.finish_into(&mut report, T0_US + seconds * 1_000_000)
        .expect("histograms encode");
    report
}

fn write(dir: &Path, name: &str, report: &Report) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, render::json(report).expect("serialises")).expect("write");
    path
}

#[test]
fn render_from_a_real_runs_json_reproduces_its_files_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("run");
    let status = gauntlet()
        .args([
            "run",
            "smoke",
            "--duration-scale",
            "0.1",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .status()
        .expect("gauntlet run");
    assert_eq!(status.code(), Some(0), "the smoke run passes");
    for (format, file) in [
        ("md", "report.md"),
        ("junit", "junit.xml"),
        ("html", "report.html"),
    ] {
        let rendered = gauntlet()
            .args(["report", "render", "--format", format])
            .arg(out.join("report.json"))
            .output()
            .expect("gauntlet report render");
        assert_eq!(rendered.status.code(), Some(0));
        let written = std::fs::read(out.join(file)).expect("the run wrote it");
        assert!(
            rendered.stdout == written,
            "{file} re-rendered from JSON differs"
        );
    }
}

#[test]
fn compare_passes_a_report_against_itself_and_fails_a_real_regression() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = write(dir.path(), "base.json", &synthetic(10_000, 30, 50));
    let slower = write(dir.path(), "slower.json", &synthetic(20_000, 30, 50));

    let same = gauntlet()
        .args(["report", "compare"])
        .args([&base, &base])
        .output()
        .expect("compare");
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stdout)
    );
    assert!(String::from_utf8_lossy(&same.stdout).contains("GET /employees"));

    let md = dir.path().join("cmp.md");
    let worse = gauntlet()
        .args([
            "report",
            "compare",
            "--max-regression",
            "p95=10%",
            "--markdown",
        ])
        .arg(&md)
        .args([&base, &slower])
        .output()
        .expect("compare");
    assert_eq!(
        worse.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&worse.stdout)
    );
    assert!(
        std::fs::read_to_string(&md)
            .expect("markdown written")
            .contains("GET /employees")
    );

    let allowed = gauntlet()
        .args(["report", "compare", "--max-regression", "p95=200%"])
        .args([&base, &slower])
        .output()
        .expect("compare");
    assert_eq!(
        allowed.status.code(),
        Some(0),
        "a doubling is inside a 200% allowance"
    );
}

#[test]
fn merge_adds_counts_and_keeps_exact_percentiles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (synthetic(10_000, 20, 40), synthetic(30_000, 20, 40));
    let (pa, pb) = (
        write(dir.path(), "a.json", &a),
        write(dir.path(), "b.json", &b),
    );
    let merged_path = dir.path().join("merged.json");
    let status = gauntlet()
        .args(["report", "merge"])
        .args([&pa, &pb])
        .arg("-o")
        .arg(&merged_path)
        .status()
        .expect("merge");
    assert_eq!(status.code(), Some(0));
    let merged =
        from_json(&std::fs::read_to_string(&merged_path).expect("written")).expect("parses");
    assert_eq!(merged.total.count, a.total.count + b.total.count);
    // The exact union: the library merge of the same inputs, which its own tests check
    // against a histogram of all samples.
    let expected = gauntlet_reports::merge::merge(&[a, b]).expect("merges");
    assert_eq!(merged.total.latency, expected.total.latency);
}

#[test]
fn a_file_that_is_not_a_report_is_bad_input_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bogus = dir.path().join("bogus.json");
    std::fs::write(&bogus, "{\"hello\": 1}").expect("write");
    let stderr = bad_input(gauntlet().args(["report", "render"]).arg(&bogus));
    assert!(stderr.contains("bogus.json"), "{stderr}");
}
