//! `gauntlet run`: the main job.
//!
//! Order of work: load and plan the spec, parse its thresholds (bad input fails here, before
//! anything is started) → bring up the system under test ([`local`]: provision, start the
//! reference service in-process, seed; or [`remote`]: check `--target` answers) → scrape the
//! service's request counters → run the goose [`attack`] with every request recorded by the
//! [`recorder`] while the [`monitor`] samples the service and the generator each second →
//! scrape again, stop everything → judge the [`generator`]'s health → finalise the report
//! ([`gauntlet_reports::finalize`]: recovery time, baseline, thresholds, verdict, the
//! scenario's analyses, in that order) → write the [`output`] files, print the summary, exit
//! with the verdict's code (4 when the generator saturated).
//!
//! Ctrl-C at any point ([`signal`]) stops what is running, still writes a (partial) report
//! with verdict `aborted`, removes what was provisioned and exits 130.

pub mod ab;
pub mod alerts;
pub mod attack;
mod baseline;
pub mod chaos;
mod chaos_apply;
pub mod chaos_report;
pub mod diagnosis;
pub mod drill;
mod flood;
pub mod generator;
mod job_flood;
mod judge;
pub mod ledger;
pub mod local;
pub mod machine;
mod measure;
pub mod monitor;
mod open_model;
pub mod output;
pub mod part;
pub mod probe;
pub mod progress;
pub mod raw;
pub mod recorder;
pub mod remote;
pub mod scrape;
pub mod service_process;
pub mod signal;
mod sut;
pub mod thresholds;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use gauntlet_reports::model::{RunInfo, ScenarioResults, Stage as ReportStage};
use gauntlet_reports::render::console::scenario_lines;
use gauntlet_reports::{Report, Threshold, Verdict};
use gauntlet_scenarios::hrms::Fixture;
use gauntlet_scenarios::spec::StageKind;
use gauntlet_scenarios::{LoadPlan, ProfileName, ScenarioSpec};
use gauntlet_testcontainers::ProvisionConfig;

pub use baseline::{BaseFile, Baseline};

use crate::exit::{Exit, Failure};
use output::CrossCheck;
use signal::Interrupt;
use sut::{Sut, bring_up};

/// What to run, where, and where the report goes.
#[derive(Debug)]
pub struct RunConfig {
    /// Built-in name or spec path.
    pub scenario: String,
    /// Profile; the spec's default when `None`.
    pub profile: Option<ProfileName>,
    /// Factor on every stage duration.
    pub duration_scale: f64,
    /// Data and behaviour seed.
    pub seed: u64,
    /// Report directory; `target/gauntlet/<scenario>-<timestamp>/` when `None`.
    pub out: Option<PathBuf>,
    /// The system under test.
    pub target: Target,
    /// No progress lines, a one-line summary.
    pub quiet: bool,
    /// CPU bound of the generator, fraction of the available cores; above it the run is
    /// invalid.
    pub max_generator_cpu: f64,
    /// `--baseline`: compared with after the run; a regression fails the verdict.
    pub baseline: Option<Baseline>,
    /// `--raw-samples`: CSV of every recorded request.
    pub raw_samples: Option<PathBuf>,
    /// `--service-process`: the reference service in a child process (also when the spec
    /// says `service_process = true`).
    pub service_process: bool,
    /// `--through-proxies`: the fault proxies in the dependency path even without faults.
    pub through_proxies: bool,
    /// `--prometheus`: the deployment's Prometheus whose alerts a `--target` run reads.
    pub prometheus: Option<url::Url>,
    /// `--no-alerts`: no Prometheus, no alerts section.
    pub no_alerts: bool,
    /// `--defect`: seeded defects of the local service, besides the environment's.
    pub defects: hrms::defects::Defects,
    /// `--shard`: run only this part of the plan ([`part`]).
    pub shard: Option<gauntlet_scenarios::spec::Shard>,
    /// `--start-at`: begin load at this instant.
    pub start_at: Option<part::StartAt>,
}

/// Where the system under test comes from.
#[derive(Debug)]
pub enum Target {
    /// Provision a stack and start the reference service in this process.
    Local(ProvisionConfig),
    /// An existing deployment and the credentials file for it.
    Remote {
        /// Base URL.
        url: url::Url,
        /// JSON fixture (tenants and credentials).
        credentials: PathBuf,
    },
}

/// Everything decided before the system under test exists.
struct Prepared {
    spec: ScenarioSpec,
    plan: LoadPlan,
    thresholds: Vec<Threshold>,
    remote_fixture: Option<Fixture>,
    out_dir: PathBuf,
    chaos: Vec<chaos::Planned>,
    /// The backup-and-restore drill, when the spec has one.
    drill: Option<drill::Planned>,
    /// The service runs in a child process (the flag or the spec asked for it).
    service_process: bool,
    /// Whether a Prometheus evaluates the alert rules in this run.
    alerting: bool,
}

/// Runs a scenario to its verdict.
pub async fn execute(config: RunConfig) -> Result<Exit, Failure> {
    quiet_goose_logs();
    let interrupt = Interrupt::install();
    let prepared = prepare(&config)?;
    if !config.quiet {
        let p = &prepared.plan;
        eprintln!(
            "gauntlet: {} ({}), seed {}, {} tenants × {} employees, peak {} users, {:.0} s of load",
            p.scenario,
            p.profile,
            config.seed,
            p.size.tenants,
            p.size.employees_per_tenant,
            p.peak_users,
            p.total_duration.as_secs_f64()
        );
    }
    // Created before anything is provisioned: an unwritable path is bad input.
    let (raw_samples, raw_writer) = match &config.raw_samples {
        Some(path) => Some(raw::open(path).map_err(Failure::bad_input)?),
        None => None,
    }
    .unzip();
    let local = matches!(config.target, Target::Local(_));
    let service_log = output::open_service_log(local, &prepared.out_dir, config.quiet)?;
    let sut = tokio::select! {
        sut = bring_up(&config, &prepared) => sut?,
        () = interrupt.wait() => {
            eprintln!("interrupted before the attack; nothing left running");
            let mut report = empty_report(&config, &prepared, "", true);
            output::close_service_log(&mut report, service_log);
            let cross = CrossCheck::new(
                &Default::default(),
                &Default::default(),
                &Default::default(),
                &Default::default(),
                None,
                None,
                0.0,
            );
            return finish(&config, &prepared, report, cross, &Sidecar::default());
        }
    };
    let alerting = alerts::start(&config, &prepared, &sut).await?;
    let (mut report, cross, sidecar) =
        attack_and_record(&config, &prepared, sut, alerting, &interrupt, raw_samples).await?;
    output::close_service_log(&mut report, service_log);
    if let Some(writer) = raw_writer {
        writer.finish().map_err(Failure::infrastructure)?;
    }
    finish(&config, &prepared, report, cross, &sidecar)
}

/// Spec, plan, thresholds and (for `--target`) the fixture: all bad input, exit 2.
fn prepare(config: &RunConfig) -> Result<Prepared, Failure> {
    let spec = ScenarioSpec::load(&config.scenario).map_err(Failure::bad_input)?;
    let profile = config.profile.unwrap_or(spec.default_profile());
    let plan = spec
        .plan(profile, config.duration_scale)
        .map_err(Failure::bad_input)?;
    let plan = part::split(plan, config.shard)?;
    let remote_fixture = match &config.target {
        Target::Remote { credentials, .. } => Some(remote::load_fixture(credentials)?),
        Target::Local(_) => None,
    };
    let tenants = remote_fixture
        .as_ref()
        .map_or(plan.size.tenants as usize, |f| f.tenants.len());
    // Without the sweeps only the prober persona probes; with neither, a probe threshold
    // could judge nothing and is not added by default (one the spec writes says "no data").
    let probes = tenants >= 2 && (spec.isolation_sweeps() || spec.personas().prober > 0);
    let mut thresholds = thresholds::for_run(&spec, probes).map_err(Failure::bad_input)?;
    let local = matches!(config.target, Target::Local(_));
    // A run judging the service's resources measures them in a process of their own.
    let service_process = config.service_process
        || spec.service_process()
        || (local && judge::judges_resources(&plan, &thresholds));
    if service_process && !local {
        return Err(Failure::bad_input(anyhow::anyhow!(
            "--service-process starts the reference service itself; it cannot be combined \
             with --target{}",
            if config.service_process {
                ""
            } else {
                " (the spec says `service_process = true`)"
            }
        )));
    }
    let chaos = chaos::plan(&spec, &plan, local, service_process).map_err(Failure::bad_input)?;
    if let Some(fixture) = &remote_fixture {
        flood::Flood::plan(&plan, fixture).map_err(Failure::bad_input)?;
    }
    let drill = spec
        .drill()
        .map(|d| drill::plan(d, config.duration_scale, plan.total_duration));
    if drill.is_some() {
        drill::refuse_without_own_servers(config)?;
        drill::add_default_thresholds(&mut thresholds);
    } else if local {
        ledger::add_default_thresholds(&mut thresholds);
    }
    let alerting = !config.no_alerts && (local || config.prometheus.is_some());
    if alerting {
        thresholds.extend(alerts::expectations(&spec)?);
    }
    let out_dir = config
        .out
        .clone()
        .unwrap_or_else(|| output::default_dir(spec.name()));
    Ok(Prepared {
        spec,
        plan,
        thresholds,
        remote_fixture,
        out_dir,
        chaos,
        drill,
        service_process,
        alerting,
    })
}

fn now_unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// `analysis.json`: the monitor's raw samples and generator detail the report has no place
/// for, and the scenario analysis (with trends for every scenario).
#[derive(Debug, Default, serde::Serialize)]
pub struct Sidecar {
    /// The generator's CPU and scheduling figures.
    pub generator: Option<generator::GeneratorDetail>,
    /// The service's gauges, one per second.
    pub service_samples: Vec<monitor::ServiceSample>,
    /// Monitoring scrapes that failed or timed out.
    pub failed_scrapes: u64,
    /// The scenario's own results, with the trends of every run (the report carries them for
    /// endurance runs only).
    pub analysis: ScenarioResults,
}

/// The attack, then the report with thresholds applied and the cross-check.
async fn attack_and_record(
    config: &RunConfig,
    prepared: &Prepared,
    sut: Sut,
    alerting: Option<alerts::Alerting>,
    interrupt: &Interrupt,
    raw_samples: Option<raw::RawSamples>,
) -> Result<(Report, CrossCheck, Sidecar), Failure> {
    let m = measure::measure(config, prepared, sut, alerting, interrupt, raw_samples).await;
    let goose = m
        .goose
        .context("running the attack")
        .map_err(Failure::infrastructure)?;
    let mut report = empty_report(config, prepared, &m.base_url, interrupt.is_set());
    report.run.backend = Some(m.backend);
    report.run.wiring = m.wiring;
    let (run, probes) = m.recorder.take();
    if let Some(stalls @ 1..) = m.recorder.close_raw_samples() {
        tracing::warn!(stalls, "the generator waited for the --raw-samples writer");
    }
    if let Some(run) = run {
        run.finish_into(&mut report, m.finished_unix_us)
            .context("summarising the recorded requests")
            .map_err(Failure::infrastructure)?;
    }
    for list in [&mut report.tenants, &mut report.tenants_during_flood] {
        for (tenant, (name, tier)) in list.iter_mut().zip(&m.tenant_meta) {
            tenant.name.clone_from(name);
            tenant.tier.clone_from(tier);
        }
    }
    let flood_requests = m
        .flooded
        .as_ref()
        .map(|f| f.requests.clone())
        .unwrap_or_default();
    if let Some(flooded) = &m.flooded {
        report.noisy_neighbour = flooded.section.clone();
    }
    report.probes.results = probes;
    report.probes.absorb(m.sweeps, recorder::MAX_EXAMPLES);
    chaos_report::fill(&mut report, m.chaos);
    if let Some(alerts) = m.alerts {
        alerts.fill(&mut report);
    }
    if let Some(ledger) = m.ledger {
        report.ledger = ledger;
    }
    if let Some(drill) = m.drill {
        report.drill = drill;
    }
    if let Some((pool, counts)) = m.arrivals {
        open_model::fill(&mut report, pool, counts);
    }
    report.diagnosis = m.diagnosis;
    align_stages(&mut report, m.recorder.plan_started_unix_us());
    part::record_start(&mut report, m.recorder.plan_started_unix_us());
    let mon = &m.monitored;
    let (health, detail) = generator::judge(&mon.cpu, mon.lag, config.max_generator_cpu, m.local);
    report.generator = health;
    report.resources.samples = mon.resources.clone();
    report.environment = mon.environment.clone();
    let t0 = report.run.started_at_unix_us;
    let held_windows: Vec<(u64, u64)> = report
        .stages
        .iter()
        .zip(&prepared.plan.stages)
        .filter(|(_, planned)| planned.kind == StageKind::Hold)
        .map(|(s, _)| (t0 + s.start_offset_us, t0 + s.end_offset_us))
        .collect();
    let held = monitor::held(&mon.service, &held_windows);
    let trends = gauntlet_reports::analysis::trends(&monitor::gauges(&held));
    let report = judge::finalize(report, config, prepared, &trends)?;
    let sidecar = Sidecar {
        generator: Some(detail),
        service_samples: mon.service.clone(),
        failed_scrapes: mon.failed_scrapes,
        analysis: ScenarioResults {
            trends,
            ..report.scenario_results.clone()
        },
    };
    let harness: std::collections::BTreeMap<String, u64> = report
        .endpoints
        .iter()
        .map(|e| (e.name.clone(), e.count))
        .collect();
    // Probe requests are counted apart from the endpoint statistics, in their own column:
    // goose and the service count them too.
    let cross = CrossCheck::new(
        &harness,
        &m.recorder.probe_request_counts(),
        &flood_requests,
        &m.recorder.setup_counts(),
        Some(&goose),
        m.service.as_ref().map(|s| &s.counts),
        m.recorder.overhead_ns_per_request(),
    )
    .with_timings(&report.endpoints, m.service.as_ref().map(|s| &s.timings));
    Ok((report, cross, sidecar))
}

fn empty_report(
    config: &RunConfig,
    prepared: &Prepared,
    target: &str,
    interrupted: bool,
) -> Report {
    let plan = &prepared.plan;
    let mut report = Report::empty(RunInfo {
        scenario: prepared.spec.name().to_owned(),
        profile: plan.profile.to_string(),
        seed: config.seed,
        command_line: std::env::args().collect(),
        versions: [("gauntlet".to_owned(), env!("CARGO_PKG_VERSION").to_owned())].into(),
        git_revision: None,
        target: target.to_owned(),
        interrupted,
        shard: part::info(config.shard, config.start_at, &prepared.spec, plan),
        ..RunInfo::default()
    });
    // Offsets as goose runs the plan (whole seconds), from the start of measurement.
    let mut offset = 0;
    for s in &plan.stages {
        let len = attack::stage_secs(s.duration) * 1_000_000;
        report.stages.push(ReportStage {
            name: s.name.clone(),
            start_offset_us: offset,
            end_offset_us: offset + len,
            target_users: s.users,
            target_rps: s.rate.map(|r| r.to_rps),
        });
        offset += len;
    }
    if interrupted {
        gauntlet_reports::verdict::apply(&mut report);
    }
    report
}

/// Moves the planned stages to where goose actually ran them: its plan starts after its own
/// start-up and the setup, which takes a noticeable part of a scaled run.
fn align_stages(report: &mut Report, plan_started_unix_us: Option<u64>) {
    let Some(at) = plan_started_unix_us else {
        return;
    };
    let shift = at.saturating_sub(report.run.started_at_unix_us);
    for stage in &mut report.stages {
        stage.start_offset_us += shift;
        stage.end_offset_us += shift;
    }
}

/// Writes the files, prints the summary and maps the verdict to the exit code.
fn finish(
    config: &RunConfig,
    prepared: &Prepared,
    report: Report,
    cross: CrossCheck,
    sidecar: &Sidecar,
) -> Result<Exit, Failure> {
    let files = output::write_all(&prepared.out_dir, &report, &cross, sidecar)
        .context("writing the report")
        .map_err(Failure::infrastructure)?;
    print!("{}", output::console(&report, &files, config.quiet));
    if !config.quiet {
        println!("{}", cross.summary());
        for line in scenario_lines(&report.scenario_results) {
            println!("{line}");
        }
    }
    if !cross.consistent {
        tracing::warn!("request counts disagree between observers; see crosscheck.json");
    }
    Ok(match report.verdict {
        Verdict::Pass => Exit::Success,
        Verdict::Fail => Exit::VerdictFail,
        Verdict::Invalid => Exit::Invalid,
        Verdict::Aborted => Exit::Interrupted,
    })
}

/// goose logs a WARN through `log` for every failed request; under load that drowns the
/// terminal. Unless the user asked for logs with RUST_LOG, only errors get through. goose's
/// start-up resets the `log` level, so the attack calls this again once goose is up.
pub(crate) fn quiet_goose_logs() {
    if std::env::var_os("RUST_LOG").is_none() {
        log::set_max_level(log::LevelFilter::Error);
    }
}
