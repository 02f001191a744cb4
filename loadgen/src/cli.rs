//! The command line. Flags map onto typed config; nothing here does work.

use clap::{Args, Parser, Subcommand};
use gauntlet_testcontainers::BackendChoice;

/// Load and chaos harness for multi-tenant services.
#[derive(Debug, Parser)]
#[command(name = "gauntlet", version, about)]
pub struct Cli {
    /// More diagnostics on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what `--backend auto` would choose on this machine, and why.
    Env(EnvArgs),
    /// Provision Postgres and Redis and keep them up until Ctrl-C.
    Serve(ServeArgs),
    /// Manage the local Postgres+Redis container image.
    #[command(subcommand)]
    Image(ImageCommand),
}

/// Where Postgres and Redis come from.
#[derive(Debug, Clone, Args)]
pub struct BackendArgs {
    /// auto (docker if usable, else native), docker, native or external.
    #[arg(long, env = "GAUNTLET_BACKEND", default_value = "auto", value_parser = parse_backend)]
    pub backend: BackendChoice,
    /// Postgres image for the docker backend.
    #[arg(long, env = "GAUNTLET_POSTGRES_IMAGE")]
    pub postgres_image: Option<String>,
    /// Redis image for the docker backend.
    #[arg(long, env = "GAUNTLET_REDIS_IMAGE")]
    pub redis_image: Option<String>,
}

fn parse_backend(raw: &str) -> Result<BackendChoice, String> {
    raw.parse()
        .map_err(|e: gauntlet_testcontainers::ProvisionError| e.to_string())
}

/// `gauntlet env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Also provision each usable backend N times and report the median time to ready.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "5")]
    pub measure: Option<u32>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// `gauntlet serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// `gauntlet image …`.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build the local Postgres+Redis image from Debian packages (idempotent).
    Build,
}
