//! `gauntlet distribute --engine local`: one smoke run split over three generator processes
//! against a service this test started on 127.0.0.1, merged exactly; and a part that dies
//! failing the whole run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use gauntlet_loadgen::run::{local, scrape};
use gauntlet_reports::histogram::quantile_us;
use hrms::ratelimit::Tier;
use serde_json::Value;

use crate::in_process;
use crate::raw_samples::{assert_summary_matches, histograms_of};
use crate::support::{
    bad_input, counts_by_endpoint, explain, gauntlet, poll_until, read_json, run_info,
};

/// Smoke × 0.1: 1 s + 2 s of load.
const SCALE: &str = "0.1";
const WORKERS: u32 = 3;
/// Lead before load: the workers' start-up (a debug build on a busy 2-core machine). With
/// one tenant there is no probe sweep before the load to wait for.
const START_IN: &str = "5s";
/// Bounds a whole distributed run.
const RUN_DEADLINE: Duration = Duration::from_secs(150);

/// The reference service on native Postgres and Redis, seeded with one tenant, with its
/// credentials file. One tenant, because the probe sweeps before and after a run's load need
/// two and run outside its cross-check window: without them, everything the parts send is in
/// their `crosscheck.json`, and the service's own counts can be compared exactly.
pub(crate) async fn service(dir: &Path) -> (local::LocalService, PathBuf) {
    in_process::serve(in_process::seed(12, 1, &[Tier::Enterprise]), dir).await
}

pub(crate) fn distribute(
    engine: &str,
    base_url: &str,
    creds: &Path,
    out: &Path,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::from(gauntlet());
    cmd.args(["distribute", "smoke", "--engine", engine, "--quiet"])
        .args(["--workers", &WORKERS.to_string(), "--duration-scale", SCALE])
        .args(["--start-in", START_IN, "--raw-samples"])
        .args(["--target", base_url])
        .arg("--credentials")
        .arg(creds)
        .arg("--out")
        .arg(out)
        .kill_on_drop(true);
    cmd
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_local_workers_merge_to_the_sum_and_union_of_their_parts() {
    distributed_smoke_is_one_whole_run("local", RUN_DEADLINE).await;
}

/// A distributed smoke by `engine` against a service of its own, bounded by `deadline`,
/// checked to be one whole run ([`assert_one_whole_run`]) against the service's own counts.
/// Its directory: the run is in `run/`.
pub(crate) async fn distributed_smoke_is_one_whole_run(
    engine: &str,
    deadline: Duration,
) -> tempfile::TempDir {
    let dir = crate::support::out_dir(&format!("distribute-{engine}"));
    let (service, creds) = service(dir.path()).await;
    let base_url = service.base_url.clone();
    let client = reqwest::Client::new();
    let before = scrape::scrape(&client, &base_url).await.expect("/metrics");
    let out = dir.path().join("run");
    let run = distribute(engine, &base_url, &creds, &out).output();
    let output = tokio::time::timeout(deadline, run)
        .await
        .expect("the distributed run ends in time")
        .expect("gauntlet runs");
    let after = scrape::scrape(&client, &base_url).await.expect("/metrics");
    service.stop().await;
    assert_one_whole_run(&output, &out, &scrape::delta(&before.counts, &after.counts));
    dir
}

/// The merged report of a distributed smoke in `out` is the whole of its parts: every index
/// once and started together; counts the sum of the parts' and of what the service counted
/// (`served`, per endpoint); percentiles those of the union of the parts' raw samples.
pub(crate) fn assert_one_whole_run(
    output: &std::process::Output,
    out: &Path,
    served: &BTreeMap<String, u64>,
) {
    // Smoke's thresholds may fail on a busy machine; a verdict must have been drawn.
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        explain(output)
    );
    let merged = read_json(&out.join("report.json"));
    let parts: Vec<Value> = (0..WORKERS)
        .map(|i| read_json(&out.join(format!("part-{i}/report.json"))))
        .collect();

    // The parts are the whole of one run: every index once, one digest, one seed.
    let info = run_info(&merged);
    let indices: Vec<u32> = info.parts.iter().map(|p| p.index).collect();
    assert_eq!(indices, [0, 1, 2]);
    for (i, part) in parts.iter().enumerate() {
        let shard = run_info(part).shard.expect("a part says which it is");
        assert_eq!((shard.index, shard.count), (i as u32, WORKERS));
        assert_eq!(shard.scenario_digest, info.parts[0].scenario_digest);
        let skew = shard.start_skew_us.expect("a part started at --start-at");
        // Never before the instant; after it by goose's start-up and the first login.
        assert!(
            (0..5_000_000).contains(&skew),
            "part {i} started {skew} µs off"
        );
        assert_eq!(run_info(part).seed, info.seed);
    }
    // One start for all: the parts' first requests went out close together.
    let spread = gauntlet_reports::parts::start_spread_us(&info.parts).expect("skews");
    assert!(spread < 2_500_000, "the parts began {spread} µs apart");
    assert!(info.shard.is_none(), "the merge is the whole run");

    // Counts: the merged report is the sum of its parts, endpoint by endpoint.
    let mut summed: BTreeMap<String, u64> = BTreeMap::new();
    for part in &parts {
        for (name, n) in counts_by_endpoint(part) {
            *summed.entry(name).or_default() += n;
        }
    }
    assert_eq!(counts_by_endpoint(&merged), summed);
    let total = |r: &Value| r["total"]["count"].as_u64().unwrap();
    assert_eq!(total(&merged), parts.iter().map(total).sum::<u64>());

    // The service counted exactly what the parts sent: their samples, their probe requests
    // (the prober persona's, never samples) and the noisy neighbour's flood, per endpoint.
    let mut sent: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..WORKERS {
        let cross = read_json(&out.join(format!("part-{i}/crosscheck.json")));
        for row in cross["endpoints"].as_array().expect("rows") {
            let n = ["harness", "probe", "flood"]
                .iter()
                .map(|k| row[*k].as_u64().unwrap())
                .sum::<u64>();
            *sent
                .entry(row["endpoint"].as_str().unwrap().to_owned())
                .or_default() += n;
        }
    }
    sent.retain(|_, n| *n > 0);
    assert_eq!(*served, sent, "service's counts against the parts'");
    for (name, n) in &summed {
        assert!(
            sent[name] >= *n,
            "{name}: {n} samples within {} sent",
            sent[name]
        );
    }

    // Percentiles: those of one histogram of the union of the parts' raw samples.
    let csvs: Vec<PathBuf> = (0..WORKERS)
        .map(|i| out.join(format!("part-{i}/samples.csv")))
        .collect();
    let (union, lines) = histograms_of(&csvs);
    assert_eq!(total(&merged), lines);
    assert!(lines > 30, "{lines} requests are too few to mean anything");
    assert_summary_matches(&merged["total"], &union["all"]);
    for e in merged["endpoints"].as_array().unwrap() {
        assert_summary_matches(e, &union[e["name"].as_str().unwrap()]);
    }
    eprintln!(
        "merged {lines} requests from {WORKERS} parts; p95 {} us",
        quantile_us(&union["all"], 0.95)
    );
}

/// A distributed smoke under way against its own service, once its workers have started:
/// the service, the merged run's directory, `distribute` itself and its workers' pids.
async fn started(
    dir: &Path,
) -> (
    local::LocalService,
    PathBuf,
    tokio::process::Child,
    Vec<i32>,
) {
    let (service, creds) = service(dir).await;
    let out = dir.join("run");
    let child = distribute("local", &service.base_url, &creds, &out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gauntlet starts");
    let pid = child.id().expect("running") as i32;
    let workers = poll_until(Duration::from_secs(20), "three workers started", || {
        let workers = crate::support::children_of(pid);
        if workers.len() == WORKERS as usize {
            Ok(workers)
        } else {
            Err(format!("{} workers", workers.len()))
        }
    });
    (service, out, child, workers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_part_that_dies_fails_the_whole_run_naming_it() {
    let dir = crate::support::out_dir("distribute-dies");
    let (service, out, child, workers) = started(dir.path()).await;
    // Before the start instant: the victim has not sent a request, the others wait.
    let victim = *workers.iter().max().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill a worker");
    let stderr = assert_lost_a_part(child, RUN_DEADLINE, service, &out).await;
    assert!(stderr.contains("killed"), "{stderr}");
    crate::support::assert_all_exit(&workers, Duration::from_secs(30));
}

/// `distribute` (`child`) lost one of its three parts: it ends within `deadline` with exit 3
/// naming it and writes no merged report into `out`. Stops `service`; `distribute`'s stderr.
pub(crate) async fn assert_lost_a_part(
    child: tokio::process::Child,
    deadline: Duration,
    service: local::LocalService,
    out: &Path,
) -> String {
    let output = tokio::time::timeout(deadline, child.wait_with_output())
        .await
        .expect("the run ends in time")
        .expect("gauntlet runs");
    service.stop().await;
    assert_eq!(output.status.code(), Some(3), "{}", explain(&output));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(stderr.contains("1 of 3 parts failed"), "{stderr}");
    assert!(
        !out.join("report.json").exists(),
        "no merged report for a run that lost a part"
    );
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_reaches_every_part_and_the_merged_run_is_aborted() {
    let dir = crate::support::out_dir("distribute-ctrl-c");
    let (service, out, child, workers) = started(dir.path()).await;
    let pid = child.id().expect("running") as i32;
    // The workers have their own process group: a terminal's Ctrl-C reaches `distribute`
    // only, which must pass it on.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGINT,
    )
    .expect("interrupt");
    let output = tokio::time::timeout(RUN_DEADLINE, child.wait_with_output())
        .await
        .expect("the run ends in time")
        .expect("gauntlet runs");
    service.stop().await;
    assert_eq!(output.status.code(), Some(130), "{}", explain(&output));
    let merged = read_json(&out.join("report.json"));
    assert_eq!(merged["verdict"], "aborted");
    let parts = run_info(&merged).parts;
    assert_eq!(parts.len(), WORKERS as usize);
    crate::support::assert_all_exit(&workers, Duration::from_secs(30));
}

#[test]
fn distribute_refuses_too_many_parts_a_missing_credentials_file_and_a_start_hours_away() {
    let dir = crate::support::out_dir("distribute-bad");
    let creds = dir.path().join("credentials.json");
    let common = |cmd: &mut std::process::Command| {
        cmd.args(["distribute", "smoke", "--target", "http://127.0.0.1:9"])
            .arg("--out")
            .arg(dir.path());
    };
    let mut cmd = gauntlet();
    common(&mut cmd);
    cmd.args(["--workers", "2", "--credentials"]).arg(&creds);
    let stderr = bad_input(&mut cmd);
    assert!(stderr.contains("credentials.json"), "{stderr}");

    std::fs::write(&creds, "{\"tenants\": []}").unwrap();
    let mut cmd = gauntlet();
    common(&mut cmd);
    cmd.args(["--workers", "4", "--credentials"]).arg(&creds);
    let stderr = bad_input(&mut cmd);
    assert!(stderr.contains("use at most 3 parts"), "{stderr}");

    let mut cmd = gauntlet();
    common(&mut cmd);
    cmd.args(["--workers", "2", "--start-in", "2h", "--credentials"])
        .arg(&creds);
    let stderr = bad_input(&mut cmd);
    assert!(stderr.contains("--start-in 2h"), "{stderr}");
}

#[test]
fn run_refuses_a_shard_without_a_target_and_a_malformed_start_time() {
    let stderr = bad_input(gauntlet().args(["run", "smoke", "--shard", "0/2"]));
    assert!(stderr.contains("--target"), "{stderr}");
    let stderr = bad_input(gauntlet().args([
        "run",
        "smoke",
        "--start-at",
        "soon",
        "--target",
        "http://127.0.0.1:9",
        "--credentials",
        "/nonexistent.json",
    ]));
    assert!(stderr.contains("invalid start time \"soon\""), "{stderr}");
}
