//! Chaos in `gauntlet run`: built-in experiments end to end, lifecycle faults on both
//! backends, the acknowledged-write ledger catching the `ack_before_durable` defect, and
//! Ctrl-C during a fault. Runs are scaled to a few seconds of load.

use std::process::Stdio;
use std::time::{Duration, Instant};

use gauntlet_reports::model::Wiring;
use serde_json::Value;

use crate::support::{
    assert_all_exit, bad_input, children_of, explain, explain_run, gauntlet, interrupt_and_wait,
    out_dir, read_json, run_info,
};

/// pg-kill is 30 s of load with Postgres killed from 10 s to 18 s; × 0.5 that is 15 s with
/// the kill from 5 s to 9 s.
pub(crate) const EXPERIMENT_SCALE: &str = "0.5";

fn phase<'a>(report: &'a Value, kind: &str) -> &'a Value {
    report["phases"]
        .as_array()
        .expect("phases")
        .iter()
        .find(|p| p["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} phase: {:#}", report["phases"]))
}

fn events(report: &Value) -> Vec<(String, String)> {
    report["chaos"]["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// After a lifecycle fault: the recovery phase carried traffic with few errors, a recovery time
/// was measured, and every acknowledged write is still there.
fn assert_recovered_and_nothing_lost(report: &Value) {
    let recovery = &phase(report, "recovery")["total"];
    assert!(recovery["count"].as_u64().unwrap() > 20, "{recovery:#}");
    assert!(
        recovery["error_rate"].as_f64().unwrap() < 0.05,
        "{recovery:#}"
    );
    assert!(
        report["chaos"]["recovery_time_us"].as_u64().is_some(),
        "{:#}",
        report["chaos"]
    );
    let ledger = &report["ledger"];
    assert!(ledger["acked"].as_u64().unwrap() > 0, "{ledger:#}");
    assert_eq!(ledger["lost"], 0, "{ledger:#}");
}

/// Runs pg-kill on `backend` and checks what a lifecycle fault must show: a timeline with the
/// kill and the start, 503s answered fast while Postgres is away, recovery after, per-phase
/// statistics, a recovery time and a ledger with nothing lost.
fn postgres_killed_under_load(backend: &str) {
    // × 0.5 leaves the recovery phase 6 s, and recovery needs three calm seconds in a row
    // after Postgres is back: under the suite's load that was too short on both backends
    // (docker in CI, native in session 11: "no recovery was measured"). At × 1 it has 12 s.
    let scale = "1";
    let report = passing_experiment_at("pg-kill", Some(backend), scale);
    assert_eq!(report["verdict"], "pass", "{}", report["reasons"]);
    // A run with faults wires the proxies in, and says so.
    let run = run_info(&report);
    assert_eq!(run.backend.map(|b| b.as_str()), Some(backend));
    assert_eq!(run.wiring, Wiring::FaultProxies);

    let faults = report["chaos"]["faults"].as_array().expect("faults");
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert_eq!(faults[0]["fault"], "kill");
    assert_eq!(faults[0]["target"], "postgres");
    let start = faults[0]["start_offset_us"].as_u64().unwrap();
    let end = faults[0]["end_offset_us"].as_u64().expect("removed");
    let held = Duration::from_micros(end - start);
    // pg-kill keeps Postgres away 8 s, scaled.
    let planned = Duration::from_secs_f64(8.0 * scale.parse::<f64>().expect("a scale"));
    assert!(
        (planned - Duration::from_millis(500)..planned + Duration::from_millis(2000))
            .contains(&held),
        "the kill lasted {held:?}: {planned:?} planned, plus the start"
    );
    let timeline = events(&report);
    for (kind, text) in [
        ("inject", "kill on postgres injected"),
        ("remove", "removed after its duration"),
        ("note", "postgres started again and ready"),
    ] {
        assert!(
            timeline.iter().any(|(k, m)| k == kind && m.contains(text)),
            "no {kind} {text:?} in {timeline:?}"
        );
    }

    let baseline = phase(&report, "baseline");
    assert!(baseline["total"]["count"].as_u64().unwrap() > 20);
    assert_eq!(baseline["total"]["errors"]["total"], 0, "{baseline:#}");
    // While Postgres is away the service answers 503, fast (no pile-up behind a dead pool).
    let fault = &phase(&report, "fault")["total"];
    let count = fault["count"].as_u64().unwrap();
    let unavailable = fault["errors"]["http_5xx"].as_u64().unwrap();
    assert!(count > 10, "{fault:#}");
    assert!(unavailable * 10 >= count * 8, "mostly 503s: {fault:#}");
    let p95 = fault["latency"]["p95_us"].as_u64().unwrap();
    assert!(p95 < 1_000_000, "fault-phase p95 {p95} µs");
    assert_recovered_and_nothing_lost(&report);
    let ledger = &report["ledger"];
    assert_eq!(ledger["enabled"], true);
    assert_eq!(ledger["duplicated"], 0, "{ledger:#}");
    assert_eq!(ledger["verified"], ledger["acked"], "{ledger:#}");
    assert_alerts_fired_and_resolved(
        &report,
        start,
        &["HrmsHealthCheckFailing", "HrmsHighErrorRate"],
    );
}

/// The run's Prometheus fired exactly the `expected` alerts, after the fault began, and each
/// resolved before the run ended; the timeline and the hypotheses say so.
pub(crate) fn assert_alerts_fired_and_resolved(
    report: &Value,
    fault_start_us: u64,
    expected: &[&str],
) {
    let alerts = &report["alerts"];
    assert_eq!(alerts["enabled"], true, "{alerts:#}");
    let timeline = events(report);
    for a in alerts["alerts"].as_array().expect("alerts") {
        let name = a["name"].as_str().unwrap();
        let fired = a["fired_at_offset_us"].as_u64();
        if !expected.contains(&name) {
            assert_eq!(fired, None, "{name} fired unexpectedly: {alerts:#}");
            continue;
        }
        assert_eq!(a["expected"], true, "{a:#}");
        let fired = fired.unwrap_or_else(|| panic!("{name} never fired: {alerts:#}"));
        let resolved = a["resolved_at_offset_us"]
            .as_u64()
            .unwrap_or_else(|| panic!("{name} never resolved: {alerts:#}"));
        assert!(fired > fault_start_us && resolved > fired, "{a:#}");
        eprintln!(
            "{name}: fired {:.1} s after the fault began, resolved {:.1} s after it fired",
            (fired - fault_start_us) as f64 / 1e6,
            (resolved - fired) as f64 / 1e6
        );
        for (kind, words) in [("alert_firing", "firing"), ("alert_resolved", "resolved")] {
            let line = format!("alert {name} {words}");
            assert!(
                timeline.iter().any(|(k, m)| k == kind && *m == line),
                "no {kind} {line:?} in {timeline:?}"
            );
        }
        let expression = format!("alert.{name}.fired == 1");
        let threshold = report["thresholds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["expression"] == expression.as_str())
            .unwrap_or_else(|| panic!("no threshold {expression}"));
        assert_eq!(threshold["pass"], true, "{threshold:#}");
        // In a run with faults it is also one of the experiment's hypotheses.
        if !report["chaos"]["faults"].as_array().unwrap().is_empty() {
            let hypotheses = report["chaos"]["hypotheses"].as_array().unwrap();
            assert!(
                hypotheses
                    .iter()
                    .any(|h| h["name"] == expression.as_str() && h["pass"] == true),
                "no passing hypothesis {expression}: {hypotheses:#?}"
            );
        }
    }
}

#[test]
fn pg_kill_on_native_reports_timeline_phases_recovery_and_a_clean_ledger() {
    postgres_killed_under_load("native");
}

#[test]
fn writes_acknowledged_before_they_are_durable_are_lost_and_fail_the_verdict() {
    let dir = out_dir("ack-before-durable");
    let output = gauntlet()
        .env("HRMS__DEFECTS__ACK_BEFORE_DURABLE", "true")
        // The durability experiment, not pg-kill: its 4 users rarely have a clock-in in the
        // window; 16 users clocking in while Postgres is slowed, then killed, always do
        // (`cargo xtask detection`).
        .args(["run", "durability", "--quiet", "--duration-scale"])
        .arg(EXPERIMENT_SCALE)
        .arg("--out")
        .arg(dir.path())
        .output()
        .expect("gauntlet runs");
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let report = read_json(&dir.path().join("report.json"));
    let ledger = &report["ledger"];
    assert!(ledger["lost"].as_u64().unwrap() > 0, "{ledger:#}");
    assert!(
        ledger["examples"][0]
            .as_str()
            .is_some_and(|e| e.contains("POST /attendance/clock-in")),
        "{ledger:#}"
    );
    let reasons = report["reasons"].to_string();
    assert!(reasons.contains("ledger.lost == 0"), "{reasons}");
}

/// `dir/file`: one 10 s hold of one user and one `[[chaos]]` entry whose body (from line 10)
/// is `chaos`.
fn one_fault_spec(dir: &std::path::Path, file: &str, chaos: &str) -> std::path::PathBuf {
    let path = dir.join(file);
    let text = format!(
        "version = 1\ndescription = \"x\"\n[[stages]]\nname = \"a\"\nkind = \"hold\"\n\
         duration = \"10s\"\nusers = 1\n\n[[chaos]]\n{chaos}"
    );
    std::fs::write(&path, text).expect("spec written");
    path
}

#[test]
fn a_fault_with_an_unknown_attribute_is_bad_input_naming_file_line_and_field() {
    let dir = out_dir("bad-fault");
    let spec = one_fault_spec(
        dir.path(),
        "bad-fault.toml",
        "fault = \"latency\"\ntarget = \"postgres\"\nstart = \"1s\"\nduration = \"2s\"\n\
         attributes = { latency = 10, jiter = 5 }\n",
    );
    let started = Instant::now();
    let stderr = bad_input(gauntlet().arg("run").arg(&spec));
    assert!(stderr.contains("bad-fault.toml:14:"), "{stderr}");
    assert!(stderr.contains("chaos[0].attributes.jiter"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "failed before provisioning"
    );
}

#[test]
fn ctrl_c_during_faults_removes_them_and_says_so() {
    let dir = out_dir("chaos-sigint");
    let spec = dir.path().join("held-faults.toml");
    // Faults from the first second to well past the point where the test interrupts.
    std::fs::write(
        &spec,
        "version = 1\ndescription = \"faults held\"\ndefault_profile = \"small\"\n\
         [[stages]]\nname = \"a\"\nkind = \"hold\"\nduration = \"60s\"\nusers = 2\n\
         [[chaos]]\nfault = \"latency\"\ntarget = \"postgres\"\nstart = \"0s\"\n\
         duration = \"50s\"\nattributes = { latency = 20 }\n\
         [[chaos]]\nfault = \"pause\"\ntarget = \"redis\"\nstart = \"0s\"\nduration = \"50s\"\n",
    )
    .expect("spec written");
    let mut child = gauntlet()
        .arg("run")
        .arg(&spec)
        .arg("--out")
        .arg(dir.path().join("out"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gauntlet starts");
    // The first progress line (non-tty: every 5 s) comes well after both faults went in.
    // stderr is drained to the end so that no late log line meets a closed pipe.
    let stderr = child.stderr.take().expect("piped stderr");
    let (progress_tx, progress_rx) = std::sync::mpsc::channel();
    let drain = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("requests") {
                let _ = progress_tx.send(());
            }
            seen.push(line);
        }
        seen
    });
    let progressed = progress_rx.recv_timeout(Duration::from_secs(60)).is_ok();
    assert!(progressed, "no progress line within 60 s");
    let pid = child.id() as i32;
    let servers = children_of(pid);
    let status = interrupt_and_wait(&mut child, Duration::from_secs(60));
    let seen = drain.join().expect("reader");
    assert_eq!(status.code(), Some(130), "{seen:#?}");
    let report = read_json(&dir.path().join("out").join("report.json"));
    assert_eq!(report["verdict"], "aborted");
    let faults = report["chaos"]["faults"].as_array().expect("faults");
    assert_eq!(faults.len(), 2, "{faults:?}");
    assert!(
        faults.iter().all(|f| f["end_offset_us"].is_u64()),
        "{faults:?}"
    );
    let timeline = events(&report);
    let rollbacks = timeline
        .iter()
        .filter(|(k, m)| k == "remove" && m.contains("rollback"))
        .count();
    assert_eq!(rollbacks, 2, "{timeline:?}");
    assert!(
        !timeline.iter().any(|(_, m)| m.contains("could not")),
        "{timeline:?}"
    );
    assert_all_exit(&servers, Duration::from_secs(10));
}

#[test]
fn redis_down_degrades_rate_limiting_instead_of_failing_requests() {
    let dir = out_dir("redis-down");
    let output = gauntlet()
        .args(["run", "redis-down", "--quiet", "--duration-scale"])
        .arg(EXPERIMENT_SCALE)
        .arg("--out")
        .arg(dir.path())
        .output()
        .expect("gauntlet runs");
    // Exit 0 or 1, not 2/3/4: the verdict also judges the baseline and the recovery time, which
    // a machine busy with other tests can miss. What this test is about is the fault phase,
    // checked below through its own threshold and numbers.
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        explain(&output)
    );
    let report = read_json(&dir.path().join("report.json"));
    let fault_threshold = report["thresholds"]
        .as_array()
        .expect("thresholds")
        .iter()
        .find(|t| t["expression"] == "during fault: http.error_rate < 2%")
        .expect("the experiment's fault-phase threshold");
    assert_eq!(fault_threshold["pass"], true, "{}", report["reasons"]);
    let faults = report["chaos"]["faults"].as_array().expect("faults");
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert_eq!(faults[0]["fault"], "down");
    // Fail-open: with Redis unreachable the in-process bucket decides, requests still succeed.
    let fault = &phase(&report, "fault")["total"];
    assert!(fault["count"].as_u64().unwrap() > 10, "{fault:#}");
    assert!(fault["error_rate"].as_f64().unwrap() < 0.02, "{fault:#}");
    assert_eq!(report["ledger"]["lost"], 0, "{:#}", report["ledger"]);
}

/// service-kill is 24 s of load with the service killed from 8 s to 12 s, unscaled: the health
/// alert needs about a second to see a failed scrape beside its `for: 3s`, so a kill scaled
/// much below 4 s would be gone before the alert could fire.
#[test]
fn service_killed_under_load_restarts_on_its_port_and_leaves_nothing_running() {
    let dir = out_dir("service-kill");
    let output = gauntlet()
        .env("GAUNTLET_BACKEND", "native")
        .args(["run", "service-kill", "--quiet", "--duration-scale", "1"])
        .arg("--out")
        .arg(dir.path())
        .output()
        .expect("gauntlet runs");
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let report = read_json(&dir.path().join("report.json"));
    assert_eq!(report["verdict"], "pass", "{}", report["reasons"]);

    let timeline = events(&report);
    for (kind, text) in [
        ("inject", "kill on service injected"),
        ("remove", "kill on service removed after its duration"),
        ("note", "service started again and ready"),
    ] {
        assert!(
            timeline.iter().any(|(k, m)| k == kind && m.contains(text)),
            "no {kind} {text:?} in {timeline:?}"
        );
    }
    // A dead service refuses connections; the restarted one answers every token issued
    // before the kill (the harness keeps the JWT secret across restarts).
    let fault = &phase(&report, "fault")["total"];
    assert!(
        fault["errors"]["connection"].as_u64().unwrap() > 0,
        "{fault:#}"
    );
    assert_recovered_and_nothing_lost(&report);
    let start = report["chaos"]["faults"][0]["start_offset_us"]
        .as_u64()
        .expect("fault start");
    assert_alerts_fired_and_resolved(&report, start, &["HrmsHealthCheckFailing"]);

    // The child service is gone with the run: nothing listens on its port any more.
    let target: url::Url = report["run"]["target"]
        .as_str()
        .expect("target")
        .parse()
        .expect("target is a URL");
    let addr = target.socket_addrs(|| None).expect("address")[0];
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "the service still listens on {addr}"
    );
}

/// Runs a built-in experiment at `scale` (on `backend`, or the default one), expects it to
/// pass, and returns its report.
fn passing_experiment_at(scenario: &str, backend: Option<&str>, scale: &str) -> Value {
    let backend = backend.map(|b| ("GAUNTLET_BACKEND", b));
    passing_experiment_in(scenario, backend.as_slice(), scale)
}

/// [`passing_experiment_at`] with `env` set.
pub(crate) fn passing_experiment_in(scenario: &str, env: &[(&str, &str)], scale: &str) -> Value {
    let backend = env
        .iter()
        .find(|(k, _)| *k == "GAUNTLET_BACKEND")
        .map_or("auto", |(_, v)| *v);
    let dir = out_dir(&format!("{scenario}-{backend}"));
    let mut command = gauntlet();
    command.envs(env.iter().copied());
    let output = command
        .args(["run", scenario, "--quiet", "--duration-scale"])
        .arg(scale)
        .arg("--out")
        .arg(dir.path())
        .output()
        .expect("gauntlet runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        explain_run(&output, dir.path())
    );
    read_json(&dir.path().join("report.json"))
}

#[test]
fn a_service_fault_without_a_service_process_is_bad_input_naming_the_flag() {
    let dir = out_dir("service-fault-in-process");
    let spec = one_fault_spec(
        dir.path(),
        "kill-service.toml",
        "fault = \"kill\"\ntarget = \"service\"\nstart = \"1s\"\nduration = \"2s\"\n",
    );
    let stderr = bad_input(gauntlet().arg("run").arg(&spec));
    assert!(stderr.contains("kill-service.toml:10:"), "{stderr}");
    assert!(stderr.contains("chaos[0].target"), "{stderr}");
    assert!(stderr.contains("--service-process"), "{stderr}");
}

/// Tests of the docker backend: `cargo xtask test` filters them out by this module's name on a
/// machine where no Docker engine answers, and lists them as skipped.
mod needs_docker {
    use super::postgres_killed_under_load;
    use crate::support::require_docker;

    #[test]
    fn pg_kill_on_docker_reports_timeline_phases_recovery_and_a_clean_ledger() {
        require_docker();
        postgres_killed_under_load("docker");
    }
}
