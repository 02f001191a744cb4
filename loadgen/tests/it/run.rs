//! `gauntlet run` and `gauntlet list` as a user runs them: real service, real Postgres and
//! Redis (native backend for speed), short scaled runs.

use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use gauntlet_reports::model::Wiring;
use serde_json::Value;

use crate::support::{
    assert_all_exit, bad_input, children_of, explain, gauntlet, interrupt_and_wait, out_dir,
    read_json, run_info, run_spec, spec,
};

/// Smoke is 5 s + 15 s of load; × 0.3 that is 2 s + 5 s (goose runs whole seconds).
const SMOKE_SCALE: &str = "0.3";

/// Every endpoint a persona calls in a smoke run.
const PERSONA_ENDPOINTS: &[&str] = &[
    // employee
    "POST /auth/login",
    "GET /employees/{id}",
    "POST /attendance/clock-in",
    "POST /leave/requests",
    "GET /employees/{id}/leave-balances",
    "POST /attendance/clock-out",
    "GET /payroll/runs/{id}/payslips",
    // manager
    "GET /employees",
    "GET /leave/requests",
    "POST /leave/requests/{id}/approve",
    "GET /employees/{id}/attendance",
    // hr_admin
    "POST /employees",
    "PATCH /employees/{id}",
    "POST /payroll/runs",
    "GET /payroll/runs/{id}",
    "GET /departments",
];

#[test]
fn smoke_passes_and_the_harness_counts_what_the_service_counted() {
    let dir = out_dir("smoke");
    let started = Instant::now();
    let output = gauntlet()
        .args(["run", "smoke", "--duration-scale", SMOKE_SCALE, "--out"])
        .arg(dir.path())
        .output()
        .expect("gauntlet runs");
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let report = read_json(&dir.path().join("report.json"));
    let schema = gauntlet_reports::schema::json_schema();
    let validator = jsonschema::validator_for(&schema).expect("valid schema");
    let problems: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(
        problems.is_empty(),
        "report.json breaks its schema: {problems:?}"
    );
    assert_eq!(report["verdict"], "pass", "{}", report["reasons"]);
    assert_eq!(report["run"]["seed"], 42);
    // No fault scheduled: the service reaches its dependencies directly, so the proxies'
    // cost stays out of the numbers.
    assert_eq!(run_info(&report).wiring, Wiring::Direct);
    let counts = crate::support::counts_by_endpoint(&report);
    for endpoint in PERSONA_ENDPOINTS {
        assert!(
            counts.get(*endpoint).copied().unwrap_or(0) > 0,
            "{endpoint} not exercised: {counts:?}"
        );
    }
    assert!(!report["probes"]["results"].as_array().unwrap().is_empty());
    let cross = read_json(&dir.path().join("crosscheck.json"));
    let total = report["total"]["count"].as_u64().unwrap();
    assert_eq!(cross["harness_total"].as_u64(), Some(total));
    // The sweeps' probe requests are in their own column, not in the report's statistics;
    // goose and the service count them too.
    let probes = cross["probe_total"].as_u64().unwrap();
    assert!(probes > 0, "the sweeps ran: {cross:#}");
    let sent = total + probes;
    assert_eq!(cross["service_total"].as_u64(), Some(sent), "{cross:#}");
    let goose = cross["goose_total"].as_u64().unwrap() + cross["setup_total"].as_u64().unwrap();
    assert_eq!(goose, sent, "{cross:#}");
    assert_eq!(cross["consistent"], true, "{cross:#}");
    for row in cross["endpoints"].as_array().unwrap() {
        let sent = row["harness"].as_u64().unwrap() + row["probe"].as_u64().unwrap();
        assert_eq!(row["service"].as_u64(), Some(sent), "{row}");
    }
    for file in ["report.md", "report.html", "junit.xml"] {
        assert!(dir.path().join(file).is_file(), "{file} missing");
    }
    // A real Prometheus evaluated the six alerts throughout, and none fired (nor, with
    // `for:` scaled down to a fraction of a second, even went pending for long).
    let alerts = &report["alerts"];
    assert_eq!(alerts["enabled"], true, "{alerts:#}");
    let rows = alerts["alerts"].as_array().expect("alerts");
    assert_eq!(rows.len(), 6, "{alerts:#}");
    assert!(
        rows.iter().all(|a| a["fired_at_offset_us"].is_null()),
        "a clean smoke fired an alert: {alerts:#}"
    );
    let silent = report["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["expression"].as_str().unwrap().ends_with(".fired == 0"))
        .count();
    assert_eq!(silent, 6, "smoke says every alert stays silent");
    eprintln!("smoke run took {took:?}, {total} requests");
}

#[test]
fn through_proxies_puts_the_fault_proxies_in_the_path_of_a_run_without_faults() {
    let dir = out_dir("through-proxies");
    let path = spec(dir.path(), "http.error_rate < 1%");
    let output = gauntlet()
        .args(["run", "--quiet", "--through-proxies", "--out"])
        .arg(dir.path().join("out"))
        .arg(&path)
        .output()
        .expect("gauntlet runs");
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let report = read_json(&dir.path().join("out/report.json"));
    assert_eq!(report["verdict"], "pass", "{}", report["reasons"]);
    assert_eq!(run_info(&report).wiring, Wiring::FaultProxies);
    assert!(report["total"]["count"].as_u64().unwrap() > 0);
}

#[test]
fn an_impossible_threshold_fails_the_run_and_the_report_says_why() {
    let dir = out_dir("fail");
    let path = spec(dir.path(), "http.p95 < 1us");
    let output = run_spec(gauntlet(), dir.path().join("out"), &path);
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let report = read_json(&dir.path().join("out/report.json"));
    assert_eq!(report["verdict"], "fail");
    let t = &report["thresholds"][0];
    assert_eq!(t["expression"], "http.p95 < 1us");
    assert_eq!(t["pass"], false);
    assert!(t["observed"].as_f64().unwrap() > 1.0, "{t}");
    let reasons = report["reasons"].to_string();
    assert!(reasons.contains("http.p95 < 1us"), "{reasons}");
}

#[test]
fn a_malformed_spec_is_bad_input_naming_the_line() {
    let dir = out_dir("bad");
    let path = spec(dir.path(), "http.p95 < 300 parsecs");
    let stderr = bad_input(gauntlet().arg("run").arg(&path));
    assert!(stderr.contains("tiny.toml:4:"), "{stderr}");
}

#[test]
fn list_shows_every_builtin_with_its_description() {
    let output = gauntlet().arg("list").output().expect("gauntlet runs");
    assert!(output.status.success(), "{}", explain(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    for name in [
        "smoke",
        "load",
        "stress",
        "spike",
        "endurance",
        "volume",
        "stress-remote-db",
        "stress-rate",
        "spike-rate",
        "pg-latency",
        "pg-kill",
        "redis-down",
        "redis-pause",
        "pg-reset",
        "service-kill",
        "pg-pool-exhaustion",
        "tenant-flood",
        "pg-disk-fill",
        "payroll-backlog",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{stdout}"));
        assert!(line.len() > name.len() + 10, "no description: {line}");
    }
}

#[test]
fn an_unreachable_target_is_an_infrastructure_failure_within_five_seconds() {
    let dir = out_dir("target");
    let creds = dir.path().join("creds.json");
    std::fs::write(
        &creds,
        r#"{"tenants":[{"users":[{"email":"a@x.example.com","password":"p","role":"employee"}]}]}"#,
    )
    .expect("write credentials");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let started = Instant::now();
    let output = gauntlet()
        .args(["run", "smoke", "--target"])
        .arg(format!("http://127.0.0.1:{port}"))
        .arg("--credentials")
        .arg(&creds)
        .output()
        .expect("gauntlet runs");
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(3), "{}", explain(&output));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn ctrl_c_mid_run_writes_an_aborted_report_and_leaves_nothing_running() {
    let dir = out_dir("sigint");
    let mut child = gauntlet()
        .args(["run", "smoke", "--out"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gauntlet starts");
    // Wait for the attack to be under way: the first progress line (non-tty: every 5 s).
    let stderr = child.stderr.take().expect("piped stderr");
    let lines = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut seen = Vec::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let progress = line.contains("requests");
            seen.push(line);
            if progress {
                break;
            }
        }
        seen
    });
    let seen = lines.join().expect("reader");
    assert!(seen.iter().any(|l| l.contains("requests")), "{seen:?}");
    let pid = child.id() as i32;
    let servers = children_of(pid);
    assert!(
        !servers.is_empty(),
        "the native Postgres and Redis run as children"
    );
    let status = interrupt_and_wait(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(130));
    let report = read_json(&dir.path().join("report.json"));
    assert_eq!(report["verdict"], "aborted");
    assert_eq!(report["run"]["interrupted"], true);
    assert_all_exit(&servers, Duration::from_secs(10));
}

/// Runs a built-in scenario on the small profile, scaled, and returns (output, report,
/// analysis.json, report.md).
fn run_scaled(name: &str, scale: &str) -> (Output, Value, Value, String) {
    let dir = out_dir(name);
    let started = Instant::now();
    let output = gauntlet()
        .args(["run", name, "--profile", "small", "--duration-scale", scale])
        .arg("--out")
        .arg(dir.path())
        .output()
        .expect("gauntlet runs");
    eprintln!("{name} run took {:?}", started.elapsed());
    assert!(
        dir.path().join("report.json").is_file(),
        "{}",
        explain(&output)
    );
    let report = read_json(&dir.path().join("report.json"));
    let analysis = read_json(&dir.path().join("analysis.json"));
    let markdown = std::fs::read_to_string(dir.path().join("report.md")).expect("report.md");
    (output, report, analysis, markdown)
}

#[test]
fn a_saturated_generator_makes_the_run_invalid_with_exit_4() {
    let dir = out_dir("invalid");
    let path = spec(dir.path(), "http.error_rate < 50%");
    // A bound of 0.01% of the cores: any real work exceeds it.
    let mut cmd = gauntlet();
    cmd.env("GAUNTLET_MAX_GENERATOR_CPU", "0.01%");
    let output = run_spec(cmd, dir.path().join("out"), &path);
    assert_eq!(output.status.code(), Some(4), "{}", explain(&output));
    let report = read_json(&dir.path().join("out/report.json"));
    assert_eq!(report["verdict"], "invalid");
    assert_eq!(report["generator"]["saturated"], true);
    assert!(report["generator"]["cpu_percent_max"].as_f64().unwrap() > 0.0);
    let reasons = report["reasons"].to_string();
    assert!(reasons.contains("CPU"), "{reasons}");
    // A bound that is not a percentage is bad input.
    bad_input(
        gauntlet()
            .env("GAUNTLET_MAX_GENERATOR_CPU", "lots")
            .args(["run", "--quiet"])
            .arg(&path),
    );
}

#[test]
fn stress_names_its_breaking_point() {
    // Ten stages of 30 s / 1 min × 0.02 → one second each (the floor).
    let (output, report, analysis, markdown) = run_scaled("stress", "0.02");
    let code = output.status.code();
    assert!(matches!(code, Some(0 | 1)), "{}", explain(&output));
    let stress = &report["scenario_results"]["stress"];
    assert_eq!(
        stress, &analysis["analysis"]["stress"],
        "report and sidecar agree"
    );
    assert_eq!(report["scenario_results"]["spike"], Value::Null);
    assert_eq!(report["scenario_results"]["trends"], serde_json::json!([]));
    let names: Vec<&str> = report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 10);
    let stages = stress["stages"].as_array().expect("per-stage verdicts");
    assert_eq!(stages.len(), names.len());
    assert!(stages.iter().any(|s| s["count"].as_u64().unwrap() > 0));
    let point = stress["breaking_point"].as_str();
    assert!(
        point.is_none_or(|p| names.contains(&p) && p.starts_with("step-")),
        "{stress:#}"
    );
    let printed = point.unwrap_or("none");
    assert!(
        markdown.contains(&format!("Breaking point: **{}**", printed)),
        "{markdown}"
    );
    for name in &names {
        assert!(
            markdown.contains(&format!(" | {name} | ")),
            "{name}: {markdown}"
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("stress: breaking point {printed}")),
        "{stdout}"
    );
}

#[test]
fn spike_reports_its_recovery_time() {
    // 30 s, 1 min, 1 min, 2 min × 0.04 → 1 + 2 + 2 + 5 s.
    let (output, report, analysis, markdown) = run_scaled("spike", "0.04");
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        explain(&output)
    );
    let spike = &report["scenario_results"]["spike"];
    assert_eq!(
        spike, &analysis["analysis"]["spike"],
        "report and sidecar agree"
    );
    assert_eq!(report["scenario_results"]["stress"], Value::Null);
    assert!(markdown.contains("### Spike"), "{markdown}");
    assert_eq!(spike["baseline_stage"], "baseline", "{spike:#}");
    assert_eq!(spike["spike_stage"], "spike");
    assert!(spike["baseline_p95_us"].as_u64().unwrap() > 0, "{spike:#}");
    let recovery = &spike["recovery_us"];
    let stdout = String::from_utf8_lossy(&output.stdout);
    match recovery.as_u64() {
        // Measured from the spike's end, within the 5 s recovery stage (plus a second of
        // attribution slack at the boundary).
        Some(r) => {
            assert!(r <= 6_000_000, "{spike:#}");
            assert!(
                markdown.contains("Recovery to within 1.2× baseline |"),
                "{markdown}"
            );
            assert!(
                stdout.contains("recovery to within 20% of baseline: "),
                "{stdout}"
            );
        }
        None => {
            assert!(recovery.is_null(), "{spike:#}");
            assert!(stdout.contains("not recovered"), "{stdout}");
            assert!(markdown.contains("| not recovered |"), "{markdown}");
        }
    }
}

#[test]
fn endurance_reports_trends_from_the_monitor() {
    // 2 min, 1 h, 1 min × 0.002 → 1 + 7 + 1 s.
    let (output, report, analysis, markdown) = run_scaled("endurance", "0.002");
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        explain(&output)
    );
    let samples = report["resources"]["samples"].as_array().unwrap();
    for source in ["generator", "service"] {
        let n = samples.iter().filter(|s| s["source"] == source).count();
        assert!(n >= 3, "{n} {source} samples: {samples:?}");
    }
    assert!(
        samples
            .iter()
            .filter(|s| s["source"] == "service")
            .all(|s| s["rss_bytes"].as_u64().unwrap() > 1 << 20),
        "service RSS is at least a MiB"
    );
    // Endurance judges the service's resources, so the service runs in a process of its
    // own: its memory is not the generator's (in one process the two readings of a second
    // agree to within a page or two).
    let rss_at = |source: &str| -> std::collections::BTreeMap<u64, u64> {
        samples
            .iter()
            .filter(|s| s["source"] == source)
            .map(|s| {
                (
                    s["unix_s"].as_u64().unwrap(),
                    s["rss_bytes"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let (generator, service) = (rss_at("generator"), rss_at("service"));
    let apart = service
        .iter()
        .filter(|(second, rss)| {
            generator
                .get(second)
                .is_some_and(|g| g.abs_diff(**rss) > 4 << 20)
        })
        .count();
    assert!(
        apart * 2 >= service.len(),
        "service and generator RSS agree: one process? {generator:?} {service:?}"
    );
    let service = analysis["service_samples"].as_array().unwrap();
    assert!(service.len() >= 3);
    for s in service {
        for gauge in [
            "db_pool_in_use",
            "db_pool_connections",
            "job_queue_depth",
            "in_flight",
        ] {
            assert!(s[gauge].is_u64(), "{gauge} missing in {s}");
        }
        assert!(
            s["db_pool_in_use"].as_u64() <= s["db_pool_max"].as_u64(),
            "{s}"
        );
    }
    let trends = report["scenario_results"]["trends"].as_array().unwrap();
    assert_eq!(trends, analysis["analysis"]["trends"].as_array().unwrap());
    assert!(markdown.contains("### Endurance trends"), "{markdown}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    for series in ["rss_bytes", "db_pool_connections", "job_queue_depth"] {
        let t = trends
            .iter()
            .find(|t| t["series"] == series)
            .unwrap_or_else(|| panic!("{series} trend missing: {trends:?}"));
        assert!(t["samples"].as_u64().unwrap() >= 3, "{t}");
        assert!(
            t["slope_per_minute"].as_f64().is_some_and(f64::is_finite),
            "{t}"
        );
        assert!(
            stdout.contains(&format!("endurance: {series} trend")),
            "{stdout}"
        );
        let row = format!("| {} | {} |", series.replace('_', "\\_"), t["samples"]);
        assert!(markdown.contains(&row), "{row}: {markdown}");
    }
    assert_eq!(
        report["generator"]["saturated"], false,
        "{}",
        report["generator"]
    );
}
