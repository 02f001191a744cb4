//! One module per subcommand; [`dispatch`] routes to them.

mod ab;
mod alerts;
mod baseline;
mod distribute;
mod env;
mod fuzz;
pub(crate) mod image;
mod list;
pub(crate) mod probe;
mod report;
mod run;
mod serve;
mod setup_line;
mod swarm_part;
mod verify;

use gauntlet_testcontainers::{ProvisionConfig, SystemChanges};

use crate::{
    cli::{AlertsCommand, BackendArgs, Command, ImageCommand},
    exit::{Exit, Failure},
};

/// Runs a subcommand to completion.
pub async fn dispatch(command: Command) -> Result<Exit, Failure> {
    match command {
        Command::Env(args) => env::run(args).await,
        Command::Serve(args) => serve::run(args).await,
        Command::Probe(args) => probe::run(args).await,
        Command::Fuzz(args) => fuzz::run(args).await,
        Command::Verify(args) => verify::run(*args).await,
        Command::Image(ImageCommand::Build(args)) => image::build(args).await,
        Command::Alerts(AlertsCommand::Export) => Ok(alerts::export()),
        Command::Run(args) => run::run(*args).await,
        Command::List => list::run(),
        Command::Report(command) => report::run(command),
        Command::Baseline(command) => baseline::run(command).await,
        Command::Ab(args) => ab::run(*args).await,
        Command::Distribute(args) => distribute::run(*args).await,
        Command::SwarmPart { args } => swarm_part::run(args).await,
        Command::Service => crate::run::service_process::serve_child()
            .await
            .map(|()| Exit::Success)
            .map_err(Failure::infrastructure),
    }
}

/// Environment first, flags on top (clap already folded `GAUNTLET_*` into the flags).
pub(crate) fn provision_config(args: &BackendArgs) -> Result<ProvisionConfig, Failure> {
    let mut config = ProvisionConfig::from_env().map_err(Failure::bad_input)?;
    config.backend = args.backend;
    if args.postgres_image.is_some() {
        config.postgres_image.clone_from(&args.postgres_image);
    }
    if args.redis_image.is_some() {
        config.redis_image.clone_from(&args.redis_image);
    }
    if args.no_install {
        config.changes = SystemChanges::Refused;
    }
    config.observer = setup_line::TerminalObserver::shared();
    Ok(config)
}
