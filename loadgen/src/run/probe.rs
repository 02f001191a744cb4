//! The probe catalogue against a service: `gauntlet probe`'s engine (once, into a report
//! whose only section is the probes) and a run's sweeps before and after its load.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use gauntlet_reports::Report;
use gauntlet_reports::model::{ProbeResult, RunInfo, Verdict};
use gauntlet_scenarios::hrms::Fixture;
use gauntlet_scenarios::probes::{Catalogue, Prober};

use super::recorder::Recorder;

fn now_unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Runs the catalogue (noisy neighbour included) against `base_url` and returns one result
/// per probe.
pub async fn run_catalogue(base_url: &str, fixture: Fixture) -> anyhow::Result<Vec<ProbeResult>> {
    run_families(base_url, fixture, Catalogue::ALL).await
}

/// A run's first sweep: the catalogue without what would take a tenant's rate-limit budget
/// away from the load that follows — the noisy-neighbour flood, and payroll runs (the
/// heaviest class; the personas' own setup starts one per tenant, checked after the load).
/// Then [`REFILL`], so the load starts with the tenants' buckets full again. Nothing with
/// fewer than two tenants.
pub async fn sweep_before_load(base_url: &str, fixture: &Fixture) -> Vec<ProbeResult> {
    let families = Catalogue {
        noisy_neighbour: false,
        payroll: false,
    };
    let results = sweep(base_url, fixture, families).await;
    if !results.is_empty() {
        tokio::time::sleep(REFILL).await;
    }
    results
}

/// How long the token buckets get to refill after the first sweep. Not a readiness wait
/// (nothing can be polled for it without spending the tokens it waits for): the reference
/// service's smallest tier refills its read and write buckets in 2 s (20 at 10/s, 10 at
/// 5/s), and the sweep sends a few dozen requests per tenant; without the pause, a free-tier
/// tenant's first requests of the load were answered 429.
const REFILL: std::time::Duration = std::time::Duration::from_secs(2);

/// A run's last sweep, after the load: the whole catalogue.
pub async fn sweep_after_load(base_url: &str, fixture: &Fixture) -> Vec<ProbeResult> {
    sweep(base_url, fixture, Catalogue::ALL).await
}

/// The catalogue's `families` against `base_url`, outside the run's measured window, so none
/// of its requests is a sample, an error or a count the cross-check sees. A sweep that cannot
/// start (a probing account cannot log in) is one failed probe, never silence: a run whose
/// probes did not run must not pass as one whose probes held.
async fn sweep(base_url: &str, fixture: &Fixture, families: Catalogue) -> Vec<ProbeResult> {
    if fixture.tenants.len() < 2 {
        return Vec::new();
    }
    match run_families(base_url, fixture.clone(), families).await {
        Ok(results) => results,
        Err(e) => vec![ProbeResult {
            kind: "sweep".into(),
            name: "the probe catalogue runs".into(),
            attempts: 1,
            leaks: 0,
            failures: 1,
            examples: vec![format!("{e:#}")],
        }],
    }
}

/// The catalogue's `families` against `base_url`, one result per probe (`gauntlet verify`
/// runs it without the noisy-neighbour flood, which its rate-limit checks cover).
pub async fn run_families(
    base_url: &str,
    fixture: Fixture,
    families: Catalogue,
) -> anyhow::Result<Vec<ProbeResult>> {
    anyhow::ensure!(
        fixture.tenants.len() >= 2,
        "cross-tenant probes need at least two tenants, the fixture has {}",
        fixture.tenants.len()
    );
    let recorder = Arc::new(Recorder::new(now_unix_us(), false));
    let prober = Prober::login(base_url, fixture, recorder.clone())
        .await
        .context("logging the probing accounts in")?;
    prober.run(families).await;
    Ok(recorder.take().1)
}

/// The report of a probe run: verdict fail with one reason per failing probe.
pub fn report(mut run: RunInfo, results: Vec<ProbeResult>, started_unix_us: u64) -> Report {
    run.finished_at_unix_us = now_unix_us();
    run.started_at_unix_us = started_unix_us;
    run.duration_us = run.finished_at_unix_us.saturating_sub(started_unix_us);
    let mut report = Report::empty(run);
    report.reasons = results
        .iter()
        .filter(|p| !p.pass())
        .map(|p| {
            format!(
                "probe {} / {}: {} leaks, {} failures",
                p.kind, p.name, p.leaks, p.failures
            )
        })
        .collect();
    if !report.reasons.is_empty() {
        report.verdict = Verdict::Fail;
    }
    report.probes.results = results;
    report
}

/// Start time for [`report`].
pub fn started() -> u64 {
    now_unix_us()
}
