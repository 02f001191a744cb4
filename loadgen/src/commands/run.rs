//! `gauntlet run`: flags to a [`RunConfig`], then the runner does the work.

use std::path::Path;

use anyhow::Context;
use gauntlet_reports::compare::Allowances;

use crate::{
    cli::RunArgs,
    exit::{Exit, Failure},
    run::{self, Baseline, RunConfig, Target},
};

pub async fn run(args: RunArgs) -> Result<Exit, Failure> {
    // Read before anything is provisioned: a bad baseline is bad input (exit 2).
    let baseline = match &args.baseline {
        Some(file) => Some(baseline(file, args.max_regression.as_deref())?),
        None => None,
    };
    let target = match (args.target, args.credentials) {
        (Some(url), Some(credentials)) => Target::Remote { url, credentials },
        // clap's `requires` makes the flags come in pairs.
        _ => Target::Local(super::provision_config(&args.backend)?),
    };
    run::execute(RunConfig {
        scenario: args.scenario,
        profile: args.profile,
        duration_scale: args.duration_scale,
        seed: args.seed,
        out: args.out,
        target,
        quiet: args.quiet,
        max_generator_cpu: max_generator_cpu()?,
        baseline,
        raw_samples: args.raw_samples,
        service_process: args.service_process,
        through_proxies: args.through_proxies,
    })
    .await
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

/// The baseline report and allowances; the report's histograms are decoded once here so a
/// corrupt file fails now, naming the file, rather than after the run.
fn baseline(file: &Path, max_regression: Option<&str>) -> Result<Baseline, Failure> {
    let allowances = match max_regression {
        Some(text) => text
            .parse::<Allowances>()
            .map_err(|e| Failure::bad_input(anyhow::anyhow!("--max-regression: {e}")))?,
        None => Allowances::default(),
    };
    let report = super::report::read(file)?;
    gauntlet_reports::compare::compare(&report, &report, &allowances)
        .with_context(|| format!("{}: histograms do not decode", file.display()))
        .map_err(Failure::bad_input)?;
    Ok(Baseline {
        file: file.display().to_string(),
        report,
        allowances,
    })
}
