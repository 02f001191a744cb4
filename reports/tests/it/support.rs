//! Report builders shared by the tests: a realistic run with every section used, and the
//! synthetic one-hour run used for size checks.

use std::collections::BTreeMap;

use gauntlet_reports::model::{
    AlertRecord, Backend, ChaosEvent, ChaosEventKind, FaultWindow, PhaseKind, ProbeResult, Report,
    ResourceSample, RunInfo, Stage,
};
use gauntlet_reports::{Outcome, RunRecorder, Threshold, evaluate_all};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const T0_US: u64 = 1_767_225_600_000_000; // 2026-01-01T00:00:00Z

pub fn run_info(scenario: &str) -> RunInfo {
    RunInfo {
        scenario: scenario.to_owned(),
        profile: "load".to_owned(),
        seed: 42,
        command_line: vec![
            "gauntlet".into(),
            "run".into(),
            "load".into(),
            "--seed".into(),
            "42".into(),
        ],
        versions: BTreeMap::from([
            ("gauntlet".into(), "0.1.0".into()),
            ("postgres".into(), "16".into()),
        ]),
        git_revision: Some("0123456789abcdef".into()),
        backend: Some(Backend::Native),
        target: "http://127.0.0.1:38080".into(),
        ..RunInfo::default()
    }
}

pub fn thresholds(texts: &[&str]) -> Vec<Threshold> {
    texts
        .iter()
        .map(|t| t.parse().expect("test threshold parses"))
        .collect()
}

/// Fill a recorder with `seconds` of traffic over `endpoints`, `per_second` requests each,
/// with a fault phase in the middle third that triples latency and adds 5xx errors.
pub fn record_run(
    rec: &mut RunRecorder,
    rng: &mut StdRng,
    seconds: u64,
    endpoints: &[String],
    per_second: u64,
) {
    rec.enter_phase(PhaseKind::Baseline, T0_US);
    for s in 0..seconds {
        let in_fault = s >= seconds / 3 && s < 2 * seconds / 3;
        if s == seconds / 3 {
            rec.enter_phase(PhaseKind::Fault, T0_US + s * 1_000_000);
        }
        if s == 2 * seconds / 3 {
            rec.enter_phase(PhaseKind::Recovery, T0_US + s * 1_000_000);
        }
        for i in 0..per_second {
            for (k, name) in endpoints.iter().enumerate() {
                let base = 2_000 + 500 * k as u64;
                let mut latency = base + rng.random_range(0..base * 2);
                let mut outcome = Outcome::Ok;
                if in_fault {
                    latency *= 3;
                    if rng.random_range(0..100) < 10 {
                        outcome = Outcome::Http5xx;
                    }
                } else if rng.random_range(0..1000) == 0 {
                    outcome =
                        [Outcome::Timeout, Outcome::Connection, Outcome::Http4xx][i as usize % 3];
                }
                let at = T0_US + s * 1_000_000 + i * 1_000_000 / per_second;
                rec.record(name, at, latency, outcome);
            }
        }
    }
}

/// A realistic report: phases, stages, probes, chaos, ledger, alerts, resources, thresholds.
pub fn realistic_report() -> Report {
    let mut rng = StdRng::seed_from_u64(7);
    let endpoints: Vec<String> = [
        "GET /employees",
        "POST /employees",
        "GET /employees/{id}",
        "GET /payroll <b>&'x\"",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rec = RunRecorder::new(T0_US, true);
    record_run(&mut rec, &mut rng, 30, &endpoints, 20);
    let mut report = Report::empty(run_info("hrms-load"));
    rec.finish_into(&mut report, T0_US + 30_000_000)
        .expect("histograms encode");
    fill_sections(&mut report);
    let ts = thresholds(&[
        "http.p95 < 300ms",
        "http.error_rate < 1%",
        "http.p99{endpoint=\"GET /employees\"} < 500ms",
        "http.rps > 50",
        "probes.leaks == 0",
        "ledger.lost == 0",
        "during fault: http.error_rate < 20%",
        "recovery.time < 10s",
        "alerts.fired >= 1",
    ]);
    evaluate_all(&ts, &mut report);
    report
}

pub fn fill_sections(report: &mut Report) {
    fill_probes_and_stages(report);
    fill_chaos(report);
    fill_ledger_alerts_resources(report);
}

fn fill_probes_and_stages(report: &mut Report) {
    report.stages = vec![
        Stage {
            name: "ramp-up".into(),
            start_offset_us: 0,
            end_offset_us: 5_000_000,
            target_users: 50,
            target_rps: None,
        },
        Stage {
            name: "steady".into(),
            start_offset_us: 5_000_000,
            end_offset_us: 30_000_000,
            target_users: 50,
            target_rps: Some(80.0),
        },
    ];
    report.probes.results = vec![
        ProbeResult {
            kind: "cross_tenant_read".into(),
            name: "employee by id".into(),
            attempts: 40,
            leaks: 0,
            failures: 0,
            examples: vec![],
        },
        ProbeResult {
            kind: "cross_tenant_read".into(),
            name: "payroll list".into(),
            attempts: 40,
            leaks: 1,
            failures: 0,
            examples: vec!["GET /payroll?tenant=b as tenant a".into()],
        },
        ProbeResult {
            kind: "rate_limit_isolation".into(),
            name: "noisy neighbour".into(),
            attempts: 10,
            leaks: 0,
            failures: 0,
            examples: vec![],
        },
    ];
}

fn fill_chaos(report: &mut Report) {
    report.chaos.faults = vec![FaultWindow {
        name: "pg-latency".into(),
        fault: "latency".into(),
        target: "postgres".into(),
        attributes: BTreeMap::from([("latency".into(), "200ms".into())]),
        start_offset_us: 10_000_000,
        end_offset_us: Some(20_000_000),
    }];
    report.chaos.events = vec![
        ChaosEvent {
            at_offset_us: 10_000_000,
            kind: ChaosEventKind::Inject,
            target: "postgres".into(),
            message: "latency 200ms".into(),
        },
        ChaosEvent {
            at_offset_us: 20_000_000,
            kind: ChaosEventKind::Remove,
            target: "postgres".into(),
            message: "latency removed".into(),
        },
        ChaosEvent {
            at_offset_us: 23_500_000,
            kind: ChaosEventKind::SteadyStateRestored,
            target: "service".into(),
            message: "p95 back under 300ms".into(),
        },
    ];
    // Hypotheses are not set here: evaluating the thresholds derives them.
    report.chaos.recovery_time_us = Some(3_500_000);
}

fn fill_ledger_alerts_resources(report: &mut Report) {
    report.ledger = gauntlet_reports::model::LedgerSection {
        enabled: true,
        acked: 500,
        verified: 500,
        lost: 0,
        duplicated: 0,
        unacknowledged_but_present: 2,
        examples: vec!["attendance 7f3a <b>".into()],
    };
    report.alerts.enabled = true;
    report.alerts.alerts = vec![
        AlertRecord {
            name: "HighLatencyP95".into(),
            expected: true,
            pending_at_offset_us: Some(11_000_000),
            fired_at_offset_us: Some(12_000_000),
            resolved_at_offset_us: Some(24_000_000),
        },
        AlertRecord {
            name: "DatabaseDown".into(),
            expected: false,
            pending_at_offset_us: None,
            fired_at_offset_us: None,
            resolved_at_offset_us: None,
        },
    ];
    report.resources.samples = (0..30)
        .map(|s| ResourceSample {
            unix_s: T0_US / 1_000_000 + s,
            source: "service".into(),
            cpu_percent: 35.5,
            rss_bytes: 80 << 20,
        })
        .collect();
    report.generator.cpu_percent_max = Some(61.0);
}

/// The synthetic hour the bench renders: 3,600 seconds × 15 endpoints, plus every section.
pub fn synthetic_hour() -> Report {
    let mut report =
        gauntlet_reports::synthetic::report(3_600, 15, 2).expect("synthetic report builds");
    fill_sections(&mut report);
    evaluate_all(
        &thresholds(&[
            "http.p95 < 300ms",
            "during fault: http.error_rate < 20%",
            "probes.leaks == 0",
        ]),
        &mut report,
    );
    report
}
