//! `gauntlet distribute`'s flags.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use gauntlet_scenarios::ProfileName;

/// `gauntlet distribute`.
#[derive(Debug, Args)]
pub struct DistributeArgs {
    /// A built-in scenario (see `gauntlet list`) or a path to a spec file (`*.toml`).
    pub scenario: String,
    /// How many parts (generator processes) to split the run into.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub workers: u32,
    /// Where the parts run.
    #[arg(long, value_enum, default_value = "local")]
    pub engine: Engine,
    /// The deployment every part drives.
    #[arg(long, value_name = "URL")]
    pub target: url::Url,
    /// JSON file with the tenants and credentials of `--target` (as `run --credentials`).
    #[arg(long, value_name = "FILE")]
    pub credentials: PathBuf,
    /// Where the parts' directories (`part-I/`) and the merged report go
    /// [default: target/gauntlet/<scenario>-distributed-<timestamp>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Load profile: small, medium or enterprise [default: the spec's].
    #[arg(long, value_parser = super::parse_profile)]
    pub profile: Option<ProfileName>,
    /// Multiply every stage duration (as `run --duration-scale`).
    #[arg(long, default_value_t = 1.0, value_name = "F")]
    pub duration_scale: f64,
    /// Seed for the data set and user behaviour, the same for every part.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// How long after the command starts all parts begin load: enough for every worker to
    /// start and for the first part's probe sweep (a few seconds).
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub start_in: Duration,
    /// Each part also writes every recorded request to `part-I/samples.csv` (as `run
    /// --raw-samples`), so the merge can be checked against the raw data.
    #[arg(long)]
    pub raw_samples: bool,
    /// One line: the merged verdict.
    #[arg(short, long)]
    pub quiet: bool,
    /// Kubernetes: write the manifests (ConfigMap, Secret, PersistentVolumeClaim, the parts'
    /// Indexed Job, the merge Job) to this file instead of running anything.
    #[arg(long, value_name = "FILE", conflicts_with = "apply")]
    pub emit: Option<PathBuf>,
    /// Kubernetes: apply the manifests with `kubectl` and wait for the merged verdict.
    #[arg(long)]
    pub apply: bool,
    /// The image holding `gauntlet` at `/usr/local/bin/gauntlet` [default: for kubernetes
    /// `gauntlet:latest`; for swarm the harness image built from this binary, as `gauntlet
    /// image build --harness` does].
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// Kubernetes: the namespace every object goes to.
    #[arg(long, default_value = "default", value_name = "NAME")]
    pub namespace: String,
}

/// Where `gauntlet distribute` runs the parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// N child processes of this executable on this machine.
    Local,
    /// A Docker Swarm replicated job of N tasks on host networking (a single-node swarm is
    /// made for the run, and left, when the node is in none).
    Swarm,
    /// An Indexed Job of N pods and a merge Job (`--emit FILE` or `--apply`).
    Kubernetes,
}
