//! `gauntlet ab`: the same scenario in short alternating slices against two targets, judged
//! by a paired test ([`gauntlet_reports::compare::paired`]). On a shared CI runner whatever
//! else loads the machine loads both slices of a pair alike, so it cancels in the pair's
//! difference — unlike two runs minutes apart, of which only one may have had a noisy
//! neighbour.
//!
//! Each slice is a complete embedded attack (setup, the scenario's personas at its profile's
//! peak users held for the warm-up and the slice, final sweep), of which only the slice after
//! the warm-up is measured, into its own report; the order
//! alternates within pairs (base first, then new first, …) so that a slow drift of the
//! machine over the run does not favour one side.

use std::sync::Arc;
use std::time::Duration;

use gauntlet_reports::Report;
use gauntlet_reports::compare::paired::{SlicePair, judge_pairs};
use gauntlet_reports::compare::{Allowances, Comparison};
use gauntlet_reports::model::{EnvironmentSection, PhaseKind, RunInfo};
use gauntlet_scenarios::hrms::Fixture;
use gauntlet_scenarios::personas::{Ctx, RequestSink};
use gauntlet_scenarios::spec::{PlannedStage, StageKind};
use gauntlet_scenarios::{LoadPlan, ProfileName, ScenarioSpec};

use super::recorder::Recorder;
use super::{attack, machine, monitor, remote};
use crate::exit::Failure;

/// One side of the comparison.
#[derive(Debug, Clone)]
pub struct Side {
    /// Base URL.
    pub url: url::Url,
    /// Its credentials file.
    pub credentials: std::path::PathBuf,
}

/// What `gauntlet ab` runs.
#[derive(Debug, Clone)]
pub struct AbConfig {
    /// Built-in scenario or spec file: its personas, think time and profile's peak users.
    pub scenario: String,
    /// Profile; the spec's default when `None`.
    pub profile: Option<ProfileName>,
    /// The side being compared against.
    pub base: Side,
    /// The side being judged.
    pub new: Side,
    /// Pairs of slices.
    pub pairs: u32,
    /// Measured length of one slice.
    pub slice: Duration,
    /// Run before each slice's measurement starts, unmeasured: every slice starts its users
    /// afresh, and their logins (password hashing) would otherwise crowd its first seconds.
    pub warmup: Duration,
    /// How much worse the new side may be.
    pub allowances: Allowances,
    /// Progress lines on stderr.
    pub quiet: bool,
}

/// The slices and their judgement.
pub struct AbOutcome {
    /// The paired comparison.
    pub comparison: Comparison,
    /// The machine over the whole run (for the record: a paired test does not need it quiet).
    pub environment: EnvironmentSection,
    /// Requests per slice, base and new, in pair order.
    pub slice_counts: Vec<(u64, u64)>,
}

struct Reached {
    base_url: String,
    fixture: Fixture,
}

async fn reach(side: &Side) -> Result<Reached, Failure> {
    Ok(Reached {
        fixture: remote::load_fixture(&side.credentials)?,
        base_url: remote::reach(&side.url).await?,
    })
}

/// The scenario's plan reduced to one slice: its peak users at once, held for `slice`.
fn slice_plan(config: &AbConfig) -> Result<LoadPlan, Failure> {
    let spec = ScenarioSpec::load(&config.scenario).map_err(Failure::bad_input)?;
    let profile = config.profile.unwrap_or(spec.default_profile());
    let mut plan = spec.plan(profile, 1.0).map_err(Failure::bad_input)?;
    plan.stages = vec![PlannedStage {
        name: "slice".to_owned(),
        kind: StageKind::Hold,
        start: Duration::ZERO,
        duration: config.warmup + config.slice,
        from_users: 0,
        users: plan.peak_users.max(1),
        rate: None,
    }];
    plan.total_duration = config.warmup + config.slice;
    plan.chaos.clear();
    Ok(plan)
}

/// Runs every pair and judges them.
pub async fn execute(config: &AbConfig) -> Result<AbOutcome, Failure> {
    super::quiet_goose_logs();
    let plan = slice_plan(config)?;
    let (base, new) = (reach(&config.base).await?, reach(&config.new).await?);
    let roots = [&base.base_url, &new.base_url]
        .into_iter()
        .filter_map(|u| machine::loopback_target_pid(u))
        .collect();
    let ticks =
        (config.warmup.as_secs() + config.slice.as_secs() + 10) * u64::from(config.pairs) * 2 + 60;
    let monitor = monitor::Monitor::start(&base.base_url, ticks, roots);
    let mut slices: Vec<(Report, Report)> = Vec::with_capacity(config.pairs as usize);
    for i in 0..config.pairs {
        // Alternate which side goes first, so a drift over the run favours neither.
        let (b, n) = if i % 2 == 0 {
            let b = slice(&plan, config.warmup, &base).await?;
            (b, slice(&plan, config.warmup, &new).await?)
        } else {
            let n = slice(&plan, config.warmup, &new).await?;
            (slice(&plan, config.warmup, &base).await?, n)
        };
        if !config.quiet {
            eprintln!(
                "pair {}/{}: base p95 {} ({} requests), new p95 {} ({} requests)",
                i + 1,
                config.pairs,
                gauntlet_reports::format::duration_us(b.total.latency.p95_us),
                b.total.count,
                gauntlet_reports::format::duration_us(n.total.latency.p95_us),
                n.total.count,
            );
        }
        slices.push((b, n));
    }
    let environment = monitor.stop().await.environment;
    let pairs: Vec<SlicePair<'_>> = slices
        .iter()
        .map(|(base, new)| SlicePair { base, new })
        .collect();
    let comparison = judge_pairs(&pairs, &config.allowances)
        .map_err(|e| Failure::infrastructure(anyhow::anyhow!(e)))?;
    Ok(AbOutcome {
        comparison,
        environment,
        slice_counts: slices
            .iter()
            .map(|(b, n)| (b.total.count, n.total.count))
            .collect(),
    })
}

/// One slice against one side, recorded into a report of its own: the requests from
/// `warmup` after the first user's first request to the end (a recorder phase).
async fn slice(plan: &LoadPlan, warmup: Duration, side: &Reached) -> Result<Report, Failure> {
    let started = super::now_unix_us();
    let recorder = Arc::new(Recorder::new(started, false));
    let sink: Arc<dyn RequestSink> = recorder.clone();
    let ctx = Arc::new(Ctx::new(sink, side.fixture.clone()));
    let measure = tokio::spawn({
        let recorder = Arc::clone(&recorder);
        async move {
            // The users start after goose's start-up and the setup; the first request says
            // when. Aborted with the attack, so it never outlives the slice.
            let first = loop {
                if let Some(at) = recorder.plan_started_unix_us() {
                    break at;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            let since = super::now_unix_us().saturating_sub(first);
            tokio::time::sleep(warmup.saturating_sub(Duration::from_micros(since))).await;
            recorder.enter_phase(PhaseKind::Baseline, super::now_unix_us());
        }
    });
    let attack = attack::run(&ctx, plan, &side.base_url).await;
    measure.abort();
    attack.map_err(|e| Failure::infrastructure(anyhow::anyhow!(e).context("running a slice")))?;
    let mut report = Report::empty(RunInfo {
        scenario: plan.scenario.clone(),
        profile: plan.profile.to_string(),
        target: side.base_url.clone(),
        ..RunInfo::default()
    });
    if let (Some(run), _) = recorder.take() {
        run.finish_into(&mut report, super::now_unix_us())
            .map_err(|e| Failure::infrastructure(anyhow::anyhow!(e)))?;
    }
    // The measured part only; a slice whose warm-up never ended measured nothing.
    let measured = report.phase(PhaseKind::Baseline).cloned();
    report.phases.clear();
    match measured {
        Some(p) => {
            report.total = p.total;
            report.endpoints = p.endpoints;
            report.run.duration_us = p.duration_us;
        }
        None => {
            report.total = gauntlet_reports::model::EndpointReport::empty("all");
            report.endpoints.clear();
        }
    }
    Ok(report)
}
