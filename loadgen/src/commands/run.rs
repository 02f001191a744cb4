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
    })
    .await
}
