//! Deterministic synthetic reports for benchmarks and size checks (e.g. the one-hour,
//! 15-endpoint run the HTML must render under 2 MB). Uses its own tiny PRNG so the library
//! needs no `rand` dependency and the same arguments always give the same report.

use crate::histogram::HistogramError;
use crate::model::{
    Backend, ChaosEvent, ChaosEventKind, FaultWindow, LedgerSection, PhaseKind, Report, RunInfo,
    Stage,
};
use crate::record::{Outcome, RunRecorder};

/// Start instant of synthetic runs: 2026-01-01T00:00:00Z in unix microseconds.
pub const START_UNIX_US: u64 = 1_767_225_600_000_000;

/// splitmix64: a few lines, good enough spread for synthetic latencies.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// A run of `seconds` × `endpoints`, `per_second` requests per endpoint per second, with a
/// fault in the middle third (slower, 5xx errors), stages, a fault window with its timeline and
/// recovery time, a ledger and per-second histograms kept. Thresholds are not evaluated (so
/// there are no hypotheses yet); callers add their own.
pub fn report(seconds: u64, endpoints: usize, per_second: u64) -> Result<Report, HistogramError> {
    let names: Vec<String> = (0..endpoints)
        .map(|i| format!("GET /api/v1/resource-{i:02}/{{id}}"))
        .collect();
    let mut rec = RunRecorder::new(START_UNIX_US, true);
    let (fault_start, fault_end) = (seconds / 3, 2 * seconds / 3);
    record_traffic(&mut rec, seconds, &names, per_second);
    let mut report = Report::empty(RunInfo {
        scenario: "synthetic".into(),
        profile: "endurance".into(),
        backend: Some(Backend::Native),
        target: "http://127.0.0.1:8080".into(),
        ..RunInfo::default()
    });
    rec.finish_into(&mut report, START_UNIX_US + seconds * 1_000_000)?;
    report.stages = vec![Stage {
        name: "steady".into(),
        start_offset_us: 0,
        end_offset_us: seconds * 1_000_000,
        target_users: 50,
        target_rps: None,
    }];
    report.chaos.faults = vec![FaultWindow {
        name: "pg-latency".into(),
        fault: "latency".into(),
        target: "postgres".into(),
        start_offset_us: fault_start * 1_000_000,
        end_offset_us: Some(fault_end * 1_000_000),
        attributes: [("latency", "200ms"), ("jitter", "50ms")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    }];
    let event = |at_s: u64, kind, message: &str| ChaosEvent {
        at_offset_us: at_s * 1_000_000,
        kind,
        target: "postgres".into(),
        message: message.into(),
    };
    report.chaos.events = vec![
        event(
            fault_start,
            ChaosEventKind::Inject,
            "latency on postgres injected",
        ),
        event(
            fault_end,
            ChaosEventKind::Remove,
            "latency on postgres removed",
        ),
        event(
            fault_end + 1,
            ChaosEventKind::SteadyStateRestored,
            "error rate and p95 back within the baseline band",
        ),
    ];
    report.chaos.recovery_time_us = Some(1_000_000);
    report.ledger = LedgerSection {
        enabled: true,
        acked: seconds,
        verified: seconds.saturating_sub(1),
        lost: seconds.min(1),
        duplicated: 0,
        unacknowledged_but_present: 2,
        examples: vec!["lost: attendance record 42".into()],
    };
    Ok(report)
}

/// Record `per_second` requests per endpoint per second; the middle third is a fault (3x
/// slower, 10% 5xx); 0.1% of requests time out throughout.
fn record_traffic(rec: &mut RunRecorder, seconds: u64, names: &[String], per_second: u64) {
    let (fault_start, fault_end) = (seconds / 3, 2 * seconds / 3);
    let mut rng = SplitMix(seconds ^ ((names.len() as u64) << 32));
    rec.enter_phase(PhaseKind::Baseline, START_UNIX_US);
    for s in 0..seconds {
        let second_us = START_UNIX_US + s * 1_000_000;
        if s == fault_start {
            rec.enter_phase(PhaseKind::Fault, second_us);
        } else if s == fault_end {
            rec.enter_phase(PhaseKind::Recovery, second_us);
        }
        let in_fault = (fault_start..fault_end).contains(&s);
        for i in 0..per_second {
            for (k, name) in names.iter().enumerate() {
                let base = 2_000 + 500 * k as u64;
                let mut latency = base + rng.next() % (base * 2);
                let roll = rng.next() % 1000;
                let outcome = if in_fault && roll < 100 {
                    Outcome::Http5xx
                } else if roll == 999 {
                    Outcome::Timeout
                } else {
                    Outcome::Ok
                };
                if in_fault {
                    latency *= 3;
                }
                rec.record(
                    name,
                    second_us + i * 1_000_000 / per_second.max(1),
                    latency,
                    outcome,
                );
            }
        }
    }
}

/// A steady run without faults, for the noise model's tests and examples: two or more
/// endpoints at a fixed rate, latencies of 1–2 ms drawn from `seed`, everything `machine`
/// times slower (a run-to-run drift) and the first endpoint `slow_first` times slower again
/// (a regression).
#[derive(Debug, Clone, Copy)]
pub struct Steady {
    /// Draws the latencies.
    pub seed: u64,
    /// Run length.
    pub seconds: u64,
    /// How many endpoints (`GET /api/v1/resource-00/{id}`, …).
    pub endpoints: usize,
    /// Requests per endpoint per second.
    pub per_second: u64,
    /// Factor on every latency.
    pub machine: f64,
    /// Further factor on the first endpoint's latencies.
    pub slow_first: f64,
}

impl Default for Steady {
    /// 30 s × 3 endpoints × 40 requests a second, no drift, no regression.
    fn default() -> Self {
        Steady {
            seed: 1,
            seconds: 30,
            endpoints: 3,
            per_second: 40,
            machine: 1.0,
            slow_first: 1.0,
        }
    }
}

impl Steady {
    /// The report.
    pub fn report(&self) -> Result<Report, HistogramError> {
        let mut rng = SplitMix(self.seed);
        let mut rec = RunRecorder::new(START_UNIX_US, false);
        for s in 0..self.seconds {
            for i in 0..self.per_second {
                for k in 0..self.endpoints {
                    let factor = self.machine * if k == 0 { self.slow_first } else { 1.0 };
                    let latency = (1_000 + rng.next() % 1_000) as f64 * factor;
                    let at = START_UNIX_US + s * 1_000_000 + i * 1_000_000 / self.per_second.max(1);
                    let name = format!("GET /api/v1/resource-{k:02}/{{id}}");
                    rec.record(&name, at, latency as u64, Outcome::Ok);
                }
            }
        }
        let mut report = Report::empty(RunInfo {
            scenario: "steady".into(),
            profile: "small".into(),
            backend: Some(crate::model::Backend::Native),
            ..RunInfo::default()
        });
        rec.finish_into(&mut report, START_UNIX_US + self.seconds * 1_000_000)?;
        Ok(report)
    }
}
