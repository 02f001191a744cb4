//! The harness's own record of every request: the [`RequestSink`] personas report to.
//!
//! One mutex around the reports crate's [`RunRecorder`]: recording is a few histogram
//! increments (~100 ns), far below the ~15 µs a request costs the generator, so contention
//! stays negligible at the rates two cores can produce; the time spent inside `request` is
//! measured and reported so that claim is checked on every run.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use gauntlet_reports::model::{PhaseKind, ProbeResult};
use gauntlet_reports::{Outcome, RunRecorder};
use gauntlet_scenarios::personas::{CallOutcome, ProbeVerdict, RequestSink, Sample, Write};

use super::raw::{RawLine, RawSamples};

/// Probe examples kept per probe: enough to act on, bounded for the report's size.
pub(crate) const MAX_EXAMPLES: usize = 5;

/// Collects samples and probe verdicts for one run.
pub struct Recorder {
    run: Mutex<Option<RunRecorder>>,
    probes: Mutex<BTreeMap<(&'static str, &'static str), ProbeResult>>,
    requests: AtomicU64,
    errors: AtomicU64,
    /// Nanoseconds spent inside [`RequestSink::request`], for the overhead figure.
    overhead_ns: AtomicU64,
    /// Requests of the setup and sweeps per endpoint (goose does not count them).
    setup: Mutex<BTreeMap<&'static str, u64>>,
    /// Requests of `prober` virtual users and probe sweeps per endpoint, kept out of the
    /// endpoint statistics and the error count.
    probe_requests: Mutex<BTreeMap<&'static str, u64>>,
    /// Earliest start of a virtual user's request (unix µs; `u64::MAX` before any): goose
    /// launches users when its test plan starts, after the setup, so this is where the
    /// plan's stages begin.
    first_user_request_us: AtomicU64,
    /// `--raw-samples`: every sample the run records also goes to the CSV writer. Only sent
    /// to while `run` is locked and present, so the file holds exactly what the report counts.
    raw: Mutex<Option<RawSamples>>,
    /// Ledgered writes (acknowledged or unanswered) with the unix time (µs) their answer
    /// arrived, for the read-back after the attack (a drill dates what it lost by it).
    writes: Mutex<Vec<(Write, u64)>>,
    /// The noisy neighbour is flooding: requests count in the per-tenant figures of its window.
    flooding: AtomicBool,
    /// Open model: when the arrival schedule started (unix µs; `u64::MAX` before), which is
    /// where its stages begin; the pool's logins come before it.
    schedule_started_us: Option<AtomicU64>,
}

impl Recorder {
    /// A recorder whose measurement starts at `started_unix_us`; `second_histograms` keeps
    /// each second's histogram (exact percentiles per stage, a larger report).
    pub fn new(started_unix_us: u64, second_histograms: bool) -> Recorder {
        Recorder::with_tenants(started_unix_us, second_histograms, Vec::new())
    }

    /// Like [`Recorder::new`], naming the fixture's tenants (by index) for the per-tenant
    /// statistics.
    pub fn with_tenants(
        started_unix_us: u64,
        second_histograms: bool,
        tenant_labels: Vec<String>,
    ) -> Recorder {
        let run =
            RunRecorder::new(started_unix_us, second_histograms).with_tenant_labels(tenant_labels);
        Recorder {
            run: Mutex::new(Some(run)),
            probes: Mutex::new(BTreeMap::new()),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            overhead_ns: AtomicU64::new(0),
            setup: Mutex::new(BTreeMap::new()),
            probe_requests: Mutex::new(BTreeMap::new()),
            first_user_request_us: AtomicU64::new(u64::MAX),
            raw: Mutex::new(None),
            writes: Mutex::new(Vec::new()),
            flooding: AtomicBool::new(false),
            schedule_started_us: None,
        }
    }

    /// An open-model run's recorder: service times kept beside response times, and the plan's
    /// start is the arrival schedule's ([`Recorder::schedule_started`]), not the first request.
    pub fn open_model(mut self) -> Recorder {
        let run = self.run.get_mut().unwrap_or_else(|p| p.into_inner());
        *run = run.take().map(RunRecorder::with_service_times);
        self.schedule_started_us = Some(AtomicU64::new(u64::MAX));
        self
    }

    /// The arrival schedule started at `at_unix_us`.
    pub fn schedule_started(&self, at_unix_us: u64) {
        if let Some(s) = &self.schedule_started_us {
            s.store(at_unix_us, Ordering::Relaxed);
        }
    }

    /// Also send every recorded sample to `raw`.
    pub fn with_raw_samples(self, raw: Option<RawSamples>) -> Recorder {
        *self.raw.lock().unwrap_or_else(|p| p.into_inner()) = raw;
        self
    }

    /// Stops sending raw samples (closing the channel so the writer can finish); returns
    /// how often the generator waited for the writer.
    pub fn close_raw_samples(&self) -> Option<u64> {
        let raw = self.raw.lock().unwrap_or_else(|p| p.into_inner()).take();
        raw.map(|r| r.stalls())
    }

    /// When the first virtual user's first request started (unix µs), if any did.
    pub fn plan_started_unix_us(&self) -> Option<u64> {
        let v = match &self.schedule_started_us {
            Some(s) => s.load(Ordering::Relaxed),
            None => self.first_user_request_us.load(Ordering::Relaxed),
        };
        (v != u64::MAX).then_some(v)
    }

    /// Requests and failed requests so far (for the progress line).
    pub fn totals(&self) -> (u64, u64) {
        (
            self.requests.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }

    /// Mean recording cost per request, in nanoseconds.
    /// p95 (µs) of the newest completed second, if any second has completed.
    pub fn last_second_p95_us(&self) -> Option<u64> {
        let run = self.run.lock().unwrap_or_else(|p| p.into_inner());
        run.as_ref()?.last_second().map(|point| point.p95_us)
    }

    pub fn overhead_ns_per_request(&self) -> f64 {
        let n = self.requests.load(Ordering::Relaxed).max(1);
        self.overhead_ns.load(Ordering::Relaxed) as f64 / n as f64
    }

    /// Requests sent by the setup and sweeps, per endpoint.
    pub fn setup_counts(&self) -> BTreeMap<String, u64> {
        let setup = self.setup.lock().unwrap_or_else(|p| p.into_inner());
        setup.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    /// Switches the chaos phase that later requests are counted in.
    pub fn enter_phase(&self, kind: PhaseKind, at_unix_us: u64) {
        if let Some(run) = self.run.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            run.enter_phase(kind, at_unix_us);
        }
    }

    /// Marks the noisy neighbour's flood window open or closed.
    pub fn set_flooding(&self, on: bool) {
        self.flooding.store(on, Ordering::Relaxed);
    }

    /// Takes the ledgered writes out, each with the unix time (µs) its answer arrived.
    pub fn take_writes(&self) -> Vec<(Write, u64)> {
        std::mem::take(&mut *self.writes.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Requests of `prober` virtual users, per endpoint (not in the latency statistics).
    pub fn probe_request_counts(&self) -> BTreeMap<String, u64> {
        let probes = self
            .probe_requests
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        probes.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    /// Takes the run's data out; later samples are dropped (the attack is over by then).
    pub fn take(&self) -> (Option<RunRecorder>, Vec<ProbeResult>) {
        let run = self.run.lock().unwrap_or_else(|p| p.into_inner()).take();
        let probes = self.probes.lock().unwrap_or_else(|p| p.into_inner());
        (run, probes.values().cloned().collect())
    }
}

/// Maps a persona's classification to the report's outcome classes.
pub fn outcome(sample: &Sample) -> Outcome {
    match sample.outcome {
        CallOutcome::Ok => Outcome::Ok,
        CallOutcome::Unexpected => match sample.status {
            Some(status @ 400..=599) => Outcome::from_status(status),
            _ => Outcome::Other,
        },
        CallOutcome::Timeout => Outcome::Timeout,
        CallOutcome::Connection => Outcome::Connection,
        CallOutcome::Other => Outcome::Other,
    }
}

impl RequestSink for Recorder {
    fn request(&self, sample: &Sample) {
        let started = Instant::now();
        let outcome = outcome(sample);
        if sample.probe {
            let mut probes = self
                .probe_requests
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            *probes.entry(sample.endpoint.name()).or_default() += 1;
        } else if let Some(run) = self.run.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            run.record(
                sample.endpoint.name(),
                sample.at_unix_us,
                sample.latency_us,
                outcome,
            );
            run.record_service(sample.service_us);
            if let Some(tenant) = sample.tenant {
                let rate_limited = sample.status == Some(429);
                let flooding = self.flooding.load(Ordering::Relaxed);
                run.record_tenant(tenant, sample.latency_us, outcome, rate_limited, flooding);
            }
            if let Some(raw) = self.raw.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                raw.send(RawLine {
                    unix_us: sample.at_unix_us,
                    endpoint: sample.endpoint.name(),
                    status: sample.status.unwrap_or(0),
                    latency_us: sample.latency_us,
                });
            }
        }
        if sample.setup {
            let mut setup = self.setup.lock().unwrap_or_else(|p| p.into_inner());
            *setup.entry(sample.endpoint.name()).or_default() += 1;
        } else {
            let began = sample.at_unix_us.saturating_sub(sample.latency_us);
            self.first_user_request_us
                .fetch_min(began, Ordering::Relaxed);
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        // A probe's "unexpected" answer is the probe's verdict (a leak or an inconclusive
        // attempt, in the probes section), not an error rate of the service under load.
        if outcome.is_error() && !sample.probe {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let spent = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.overhead_ns.fetch_add(spent, Ordering::Relaxed);
    }

    fn write(&self, write: &Write) {
        let at = super::now_unix_us();
        let mut writes = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        writes.push((write.clone(), at));
    }

    fn probe(&self, kind: &'static str, name: &'static str, verdict: ProbeVerdict) {
        let mut probes = self.probes.lock().unwrap_or_else(|p| p.into_inner());
        let entry = probes.entry((kind, name)).or_insert_with(|| ProbeResult {
            kind: kind.to_owned(),
            name: name.to_owned(),
            attempts: 0,
            leaks: 0,
            failures: 0,
            examples: Vec::new(),
        });
        entry.attempts += 1;
        let example = match verdict {
            ProbeVerdict::Held => None,
            ProbeVerdict::Leak(what) => {
                entry.leaks += 1;
                Some(what)
            }
            ProbeVerdict::Inconclusive(why) => {
                entry.failures += 1;
                Some(format!("inconclusive: {why}"))
            }
        };
        if let Some(example) = example
            && entry.examples.len() < MAX_EXAMPLES
        {
            entry.examples.push(example);
        }
    }
}

#[cfg(test)]
mod tests {
    use gauntlet_scenarios::hrms::Endpoint;

    use super::*;

    fn sample(probe: bool) -> Sample {
        Sample {
            endpoint: Endpoint::GetEmployee,
            at_unix_us: 1_000_000,
            latency_us: 500,
            service_us: 500,
            status: Some(404),
            outcome: CallOutcome::Ok,
            tenant: Some(1),
            setup: false,
            probe,
        }
    }

    #[test]
    fn persona_requests_count_for_their_tenant_and_probes_do_not() {
        let recorder = Recorder::with_tenants(0, false, vec!["a".into(), "b".into()]);
        recorder.request(&sample(true));
        recorder.request(&Sample {
            status: Some(429),
            outcome: CallOutcome::Unexpected,
            ..sample(false)
        });
        recorder.request(&sample(false));
        let (run, _) = recorder.take();
        let mut report = gauntlet_reports::Report::empty(Default::default());
        run.unwrap().finish_into(&mut report, 2_000_000).unwrap();
        assert_eq!(report.tenants.len(), 2);
        let b = &report.tenants[1];
        assert_eq!((b.label.as_str(), b.count, b.rate_limited), ("b", 2, 1));
        assert_eq!(report.tenants[0].count, 0, "tenant a sent nothing");
    }

    #[test]
    fn prober_requests_are_counted_apart_from_the_latency_statistics() {
        let recorder = Recorder::new(0, false);
        recorder.request(&sample(true));
        recorder.request(&sample(true));
        recorder.request(&sample(false));
        assert_eq!(recorder.totals(), (3, 0), "every request counts");
        assert_eq!(
            recorder.probe_request_counts().get("GET /employees/{id}"),
            Some(&2),
            "only the prober's go to the probe column"
        );
    }

    #[test]
    fn a_leaking_probe_is_no_endpoint_error() {
        let recorder = Recorder::new(0, false);
        // A cross-tenant read answered 200 where 404 was expected: a leak, which the probe
        // reports as its verdict; the request itself is no error of the endpoint.
        recorder.request(&Sample {
            status: Some(200),
            outcome: CallOutcome::Unexpected,
            ..sample(true)
        });
        recorder.request(&Sample {
            status: Some(500),
            outcome: CallOutcome::Unexpected,
            ..sample(false)
        });
        assert_eq!(
            recorder.totals(),
            (2, 1),
            "only the persona's 500 is an error"
        );
        assert_eq!(
            recorder.probe_request_counts().get("GET /employees/{id}"),
            Some(&1)
        );
    }
}
