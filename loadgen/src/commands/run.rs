//! `gauntlet run`: flags to a [`RunConfig`], then the runner does the work.

use crate::{
    cli::RunArgs,
    exit::{Exit, Failure},
    run::{self, RunConfig, Target},
};

pub async fn run(args: RunArgs) -> Result<Exit, Failure> {
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
