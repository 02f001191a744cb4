//! `gauntlet run`: flags to a [`RunConfig`], then the runner does the work.

use std::path::Path;

use anyhow::Context;

use crate::{
    cli::RunArgs,
    exit::{Exit, Failure},
    run::{self, BaseFile, Baseline, RunConfig, Target},
};

pub async fn run(args: RunArgs) -> Result<Exit, Failure> {
    let config = config(&args, args.out.clone())?;
    run::execute(config).await
}

/// The run the flags describe, its report going to `out`. The baseline is read first: a bad
/// baseline is bad input (exit 2) before anything is provisioned.
pub(crate) fn config(
    args: &RunArgs,
    out: Option<std::path::PathBuf>,
) -> Result<RunConfig, Failure> {
    let baseline = match &args.baseline {
        Some(file) => Some(baseline(
            file,
            args.max_regression.as_deref(),
            args.environment_bounds.as_deref(),
        )?),
        None => None,
    };
    let target = match (&args.target, &args.credentials) {
        (Some(url), Some(credentials)) => Target::Remote {
            url: url.clone(),
            credentials: credentials.clone(),
        },
        // clap's `requires` makes the flags come in pairs.
        _ => Target::Local(super::provision_config(&args.backend)?),
    };
    Ok(RunConfig {
        scenario: args.scenario.clone(),
        profile: args.profile,
        duration_scale: args.duration_scale,
        seed: args.seed,
        out,
        target,
        quiet: args.quiet,
        max_generator_cpu: max_generator_cpu()?,
        baseline,
        raw_samples: args.raw_samples.clone(),
        service_process: args.service_process,
        through_proxies: args.through_proxies,
        prometheus: args.prometheus.clone(),
        no_alerts: args.no_alerts,
        // An unknown name is bad input now, before anything is provisioned.
        defects: super::probe::defects_from(&args.defect).map_err(Failure::bad_input)?,
        shard: args.shard,
        start_at: args.start_at,
    })
}

/// The generator's CPU bound: `GAUNTLET_MAX_GENERATOR_CPU` (e.g. `90%`), else the default.
/// An environment variable rather than a flag: it is a knob for the harness's own tests and
/// for unusual machines, not for everyday runs.
fn max_generator_cpu() -> Result<f64, Failure> {
    match std::env::var("GAUNTLET_MAX_GENERATOR_CPU") {
        Ok(raw) => run::generator::parse_bound(&raw).map_err(Failure::bad_input),
        Err(_) => Ok(run::generator::DEFAULT_MAX_CPU),
    }
}

/// The baseline (a report or a set), allowances and bounds; a report's histograms are
/// decoded once here so a corrupt file fails now, naming the file, rather than after the run.
fn baseline(
    file: &Path,
    max_regression: Option<&str>,
    bounds: Option<&str>,
) -> Result<Baseline, Failure> {
    let allowances = super::report::allowances(max_regression)?;
    let bounds = super::report::bounds(bounds)?;
    let base = super::report::read_base(file)?;
    if let BaseFile::Run(report) = &base {
        gauntlet_reports::compare::compare(report, report, &allowances)
            .with_context(|| format!("{}: histograms do not decode", file.display()))
            .map_err(Failure::bad_input)?;
    }
    Ok(Baseline {
        file: file.display().to_string(),
        base,
        allowances,
        bounds,
    })
}
