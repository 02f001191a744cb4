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
    run_families(
        base_url,
        fixture,
        Catalogue {
            noisy_neighbour: true,
        },
    )
    .await
}

/// A run's first sweep: the catalogue without the noisy-neighbour flood (which would leave a
/// tenant's bucket empty as the load starts). Nothing with fewer than two tenants.
pub async fn sweep_before_load(base_url: &str, fixture: &Fixture) -> Vec<ProbeResult> {
    let families = Catalogue {
        noisy_neighbour: false,
    };
    sweep(base_url, fixture, families).await
}

/// A run's last sweep, after the load: the whole catalogue.
pub async fn sweep_after_load(base_url: &str, fixture: &Fixture) -> Vec<ProbeResult> {
    let families = Catalogue {
        noisy_neighbour: true,
    };
    sweep(base_url, fixture, families).await
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

async fn run_families(
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
