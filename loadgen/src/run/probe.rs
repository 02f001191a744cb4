//! `gauntlet probe`'s engine: the whole probe catalogue once against a service, into a
//! report whose only section is the probes.

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
    anyhow::ensure!(
        fixture.tenants.len() >= 2,
        "cross-tenant probes need at least two tenants, the fixture has {}",
        fixture.tenants.len()
    );
    let recorder = Arc::new(Recorder::new(now_unix_us(), false));
    let prober = Prober::login(base_url, fixture, recorder.clone())
        .await
        .context("logging the probing accounts in")?;
    prober
        .run(Catalogue {
            noisy_neighbour: true,
        })
        .await;
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
