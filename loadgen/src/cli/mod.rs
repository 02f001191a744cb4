//! The command line. Flags map onto typed config; nothing here does work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use gauntlet_scenarios::ProfileName;
use gauntlet_scenarios::spec::Shard;
use gauntlet_testcontainers::BackendChoice;

use crate::run::part::StartAt;

mod distribute;
mod report;

pub use distribute::{DistributeArgs, Engine};
pub use report::{ReportCommand, ReportFormat};

/// The first lines of `gauntlet --help`: what the tool does, in a user's words (the crate's
/// description is for developers and would otherwise be clap's default).
const ABOUT: &str = "\
Load and chaos testing for multi-tenant HTTP services.

One command provisions Postgres and Redis, starts the bundled HRMS service (or targets yours),
runs a scenario with faults and cross-tenant probes riding along, and ends in a verdict:
report.json, .md and .html, junit.xml and an exit code.";

/// After the subcommands: what to type first, k6- and oha-style.
const FIRST_COMMANDS: &str = "\
First commands to try:
  gauntlet run smoke                  a 20 s smoke run against the bundled service; report in
                                      target/gauntlet/smoke-<timestamp>/
  gauntlet list                       the built-in scenarios and chaos experiments
  gauntlet run pg-kill                kill Postgres mid-run and judge the recovery
  gauntlet serve                      the bundled service with demo tenants, until Ctrl-C
  gauntlet run load --target URL --credentials FILE
                                      drive your own deployment
  gauntlet env                        which backend (Docker or native) a run will use, and why

Exit codes: 0 pass, 1 verdict fail, 2 bad input, 3 infrastructure, 4 run invalid or not
comparable, 130 interrupted. `gauntlet <command> --help` for a command's flags.";

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "gauntlet",
    version,
    about = ABOUT,
    // Not this doc comment: it is for readers of the code.
    long_about = None,
    after_help = FIRST_COMMANDS
)]
pub struct Cli {
    /// More diagnostics on stderr (-v info, -vv debug). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// `run --quiet`: the one summary line and nothing else unless something is wrong, so the
    /// harness's own progress notes (INFO) stay off the terminal too.
    pub fn quiet(&self) -> bool {
        match &self.command {
            Command::Run(args) => args.quiet,
            Command::Baseline(BaselineCommand::Record { run, .. }) => run.quiet,
            Command::Ab(args) => args.quiet,
            Command::Distribute(args) => args.quiet,
            _ => false,
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what `--backend auto` would choose on this machine, and why.
    Env(EnvArgs),
    /// Postgres, Redis and the reference service with demo tenants until Ctrl-C; writes the
    /// credentials file for `gauntlet run --target`.
    Serve(ServeArgs),
    /// Run the cross-tenant and security probe catalogue once; exit 1 on any leak.
    Probe(ProbeArgs),
    /// The pre-launch checklist: health, auth, isolation, migrations, rate limits, error
    /// shapes, metrics and alert rules, graceful shutdown…; exit 1 on any failed check.
    Verify(Box<VerifyArgs>),
    /// Fuzz the service's contract: requests generated from its OpenAPI document for every
    /// operation; exit 1 on a 5xx or any answer the document does not promise.
    Fuzz(FuzzArgs),
    /// Manage the local Postgres+Redis container image.
    #[command(subcommand)]
    Image(ImageCommand),
    /// The alert rules every run evaluates (the seed's six alerts).
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Run a scenario (built-in name or spec file) and write its report.
    // Boxed: the run flags dwarf every other subcommand's.
    Run(Box<RunArgs>),
    /// List the built-in scenarios.
    List,
    /// Re-render, compare or merge `report.json` files.
    #[command(subcommand)]
    Report(ReportCommand),
    /// A multi-run baseline: K runs' spread per metric, for `compare` and `run --baseline`.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// Interleaved A/B: the scenario in short alternating slices against two targets, judged
    /// by a paired test; exit 1 when the new target regressed. For gating on a shared runner.
    Ab(Box<AbArgs>),
    /// Run a scenario split over N generator processes (`run --shard I/N`) that begin load
    /// together against one `--target`; their reports merged into one verdict.
    Distribute(Box<DistributeArgs>),

    /// Internal: the reference service as `gauntlet run --service-process` starts it, in a
    /// child process configured through the environment.
    #[command(name = "__service", hide = true)]
    Service,

    /// Internal: one part of `distribute --engine swarm`, inside its task (`__swarm-part run
    /// SCENARIO …`; the part's own flags come from the environment).
    #[command(name = "__swarm-part", hide = true)]
    SwarmPart {
        /// `run` and its shared arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

/// `gauntlet baseline …`.
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Run the scenario K times (each report in its own directory under --out) and write the
    /// set of their values and spread.
    Record {
        /// How many runs (at least 2; 5 or more give a usefully narrow prediction interval).
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(2..))]
        runs: u32,
        /// Where to write the baseline set.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// The run, as `gauntlet run` takes it.
        #[command(flatten)]
        run: Box<RunArgs>,
    },
    /// Merge K report.json files of one scenario and profile into a baseline set.
    Merge {
        /// The report.json files.
        #[arg(required = true, num_args = 2..)]
        reports: Vec<PathBuf>,
        /// Where to write the baseline set.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
    },
}

/// `gauntlet ab`.
#[derive(Debug, Args)]
pub struct AbArgs {
    /// A built-in scenario or a spec file: its personas, think time and peak users.
    #[arg(default_value = "load")]
    pub scenario: String,
    /// The base target's URL.
    #[arg(long, value_name = "URL")]
    pub base: url::Url,
    /// The base target's credentials file (as `run --credentials` reads it).
    #[arg(long, value_name = "FILE")]
    pub base_credentials: PathBuf,
    /// The new target's URL.
    #[arg(long, value_name = "URL")]
    pub new: url::Url,
    /// The new target's credentials file [default: the base's].
    #[arg(long, value_name = "FILE")]
    pub new_credentials: Option<PathBuf>,
    /// Load profile: small, medium or enterprise [default: the spec's].
    #[arg(long, value_parser = parse_profile)]
    pub profile: Option<ProfileName>,
    /// Pairs of slices (10 pairs let the test reach p = 1/1024).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(5..=60))]
    pub pairs: u32,
    /// Measured seconds of one slice.
    #[arg(long, default_value_t = 5, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=600))]
    pub slice: u64,
    /// Unmeasured seconds before each slice (its users log in then; users start their
    /// routine afresh in every slice, so a long warm-up also skips its first steps).
    #[arg(long, default_value_t = 1, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup: u64,
    /// Allowances [default: p50=10%,p95=10%,error_rate=0.5pp,rps=10%].
    #[arg(long, value_name = "LIST")]
    pub max_regression: Option<String>,
    /// Also write the comparison as Markdown to this file.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Also write the comparison as JSON (the report's `baseline` section shape) to this file.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// No progress lines.
    #[arg(short, long)]
    pub quiet: bool,
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
    /// Change nothing on this machine: no image pull or build, no package install. What is
    /// missing is reported with the commands that would fetch it (exit 3).
    #[arg(long)]
    pub no_install: bool,
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
    /// Where to write the demo tenants' credentials, in the format `gauntlet run --target URL
    /// --credentials FILE` reads (overwritten on every start).
    #[arg(
        long,
        value_name = "FILE",
        default_value = "target/gauntlet/serve-credentials.json"
    )]
    pub credentials_out: PathBuf,
}

/// `gauntlet probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Probe a running service instead of starting the local one.
    #[arg(long, value_name = "URL", requires = "credentials")]
    pub target: Option<url::Url>,
    /// JSON file with the tenants and credentials of `--target` (the seeder's output format;
    /// markers, tenant, employee and department ids make the probes sharper).
    #[arg(long, value_name = "FILE", requires = "target")]
    pub credentials: Option<PathBuf>,
    /// Where the report files go [default: target/gauntlet/probe-<timestamp>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Seed of the local service's data set.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Testing aid: start the local service with this seeded defect switched on (repeat for
    /// several), to see the probes catch it. Names as in `hrms::defects::Defects`.
    #[arg(long, value_name = "NAME", conflicts_with = "target")]
    pub defect: Vec<String>,
}

/// `gauntlet verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Verify a running deployment instead of starting the local stack (checks that need the
    /// stack's controls are skipped). It writes: a clock-in and clock-out of an employee,
    /// plus what the probe catalogue leaves (see docs/probes.md).
    #[arg(long, value_name = "URL", requires = "credentials")]
    pub target: Option<url::Url>,
    /// JSON file with the tenants and credentials of `--target` (as `run --target` reads it).
    #[arg(long, value_name = "FILE", requires = "target")]
    pub credentials: Option<PathBuf>,
    /// Where the report files go [default: target/gauntlet/verify-<timestamp>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Seed of the local service's data set.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Only this check (repeat for several), by its name in `docs/verify.md`
    /// (`health.ready`) [default: all].
    #[arg(long, value_name = "NAME")]
    pub check: Vec<String>,
    /// Where backups are written: the newest file under it must be younger than
    /// `--backup-max-age` [default: the backup check is skipped].
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Option<PathBuf>,
    /// How old the newest backup may be.
    #[arg(long, default_value = "26h", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub backup_max_age: std::time::Duration,
    /// Testing aid: start the local service with this seeded defect switched on (repeat for
    /// several), to see the checks catch it. Names as in `hrms::defects::Defects`.
    #[arg(long, value_name = "NAME", conflicts_with = "target")]
    pub defect: Vec<String>,
}

/// `gauntlet fuzz`.
#[derive(Debug, Args)]
pub struct FuzzArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Fuzz a running service instead of starting the local one. It writes: aim it at a test
    /// deployment (it creates, changes and deactivates records of the credentials' tenant).
    #[arg(long, value_name = "URL", requires = "credentials")]
    pub target: Option<url::Url>,
    /// JSON file with the tenants and credentials of `--target` (the seeder's output format):
    /// the first tenant with an hr_admin and an employee is the one fuzzed; other tenants' ids
    /// are the targets of the operator's operations.
    #[arg(long, value_name = "FILE", requires = "target")]
    pub credentials: Option<PathBuf>,
    /// The platform operator's bearer token of `--target`, for the `/admin` operations
    /// (without it they are reported as not covered, and the exit code is 1).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "GAUNTLET_OPERATOR_TOKEN",
        requires = "target"
    )]
    pub operator_token: Option<String>,
    /// Seed of the generated requests (and of the local service's data set).
    #[arg(long, default_value_t = gauntlet_contract::DEFAULT_SEED)]
    pub seed: u64,
    /// Requests per operation.
    #[arg(long, default_value_t = 40, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub per_operation: u32,
    /// Wall-clock bound of the fuzzing (operations not reached by then are reported).
    #[arg(long, default_value = "2m", value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub budget: std::time::Duration,
    /// Only this operation, written as `GET /employees` (repeat for several) [default: all].
    #[arg(long, value_name = "OPERATION")]
    pub operation: Vec<String>,
    /// Also write the summary (every failure, statuses, coverage) to this JSON file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Testing aid: start the local service with this seeded defect switched on (repeat for
    /// several). Names as in `hrms::defects::Defects`.
    #[arg(long, value_name = "NAME", conflicts_with = "target")]
    pub defect: Vec<String>,
}

/// `gauntlet alerts …`.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Print the Prometheus alerting-rules file, as committed, for a deployment's Prometheus.
    Export,
}

/// `gauntlet image …`.
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Build the local Postgres+Redis image from Debian packages (idempotent).
    Build(ImageBuildArgs),
}

/// `gauntlet image build`.
#[derive(Debug, Args)]
pub struct ImageBuildArgs {
    /// Build the harness image instead: Debian's essential set and a `gauntlet` binary, the
    /// image `distribute --engine swarm` runs its parts in (`gauntlet-harness:<tag>`).
    #[arg(long)]
    pub harness: bool,
    /// With `--harness`: the binary to put in the image [default: this one].
    #[arg(long, value_name = "PATH", requires = "harness")]
    pub binary: Option<PathBuf>,
}

/// `gauntlet run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// A built-in scenario (see `gauntlet list`) or a path to a spec file (`*.toml`).
    pub scenario: String,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Load profile: small, medium or enterprise [default: the spec's].
    #[arg(long, value_parser = parse_profile)]
    pub profile: Option<ProfileName>,
    /// Multiply every stage duration (0.1 turns a 20 s smoke into 2 s).
    #[arg(long, default_value_t = 1.0, value_name = "F")]
    pub duration_scale: f64,
    /// Seed for the data set and user behaviour; the same seed replays the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where the report files go [default: target/gauntlet/<scenario>-<timestamp>/].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Drive an existing deployment at this base URL instead of starting one.
    #[arg(long, value_name = "URL", requires = "credentials")]
    pub target: Option<url::Url>,
    /// JSON file with the tenants and credentials of `--target` (the seeder's output format).
    #[arg(long, value_name = "FILE", requires = "target")]
    pub credentials: Option<PathBuf>,
    /// One line: the verdict of the summary. No progress, no notes, no lines about the
    /// service's dependencies (its log is `service.log` in the output directory either way).
    #[arg(short, long)]
    pub quiet: bool,
    /// Compare with this earlier report.json or multi-run set (`gauntlet baseline`); a
    /// regression beyond the allowance and outside run-to-run noise fails the run.
    #[arg(long, value_name = "BASE.json")]
    pub baseline: Option<PathBuf>,
    /// Allowances for `--baseline` [default: p95=10%,p99=10%,error_rate=0.5pp,rps=10%].
    #[arg(long, value_name = "LIST", requires = "baseline")]
    pub max_regression: Option<String>,
    /// For `--baseline`: not comparable (exit 4) when either run's machine was busier
    /// elsewhere than this, e.g. `elsewhere=25%,steal=5%`, or `off` [default: elsewhere=25%,steal=5%].
    #[arg(long, value_name = "LIST", requires = "baseline")]
    pub environment_bounds: Option<String>,
    /// Also write every recorded request to this CSV file (unix_us,endpoint,status,latency_us).
    #[arg(long, value_name = "FILE")]
    pub raw_samples: Option<PathBuf>,
    /// Run the reference service in a child process (this executable again) instead of in
    /// this one, so that chaos faults can kill, stop, pause and restart it.
    #[arg(long, conflicts_with = "target")]
    pub service_process: bool,
    /// Reach Postgres and Redis through the fault proxies even though no fault is scheduled
    /// (a run with `[[chaos]]` always does; without, the service connects directly so that the
    /// proxies' cost stays out of the numbers). Two runs, with and without, show that cost.
    #[arg(long, conflicts_with = "target")]
    pub through_proxies: bool,
    /// With `--target`: read the alerts from this Prometheus (loaded with `gauntlet alerts
    /// export`'s rules) [default: no alerts section]. Local runs start their own.
    #[arg(long, value_name = "URL", requires = "target")]
    pub prometheus: Option<url::Url>,
    /// Run without a Prometheus: no alert rules evaluated, no `alerts` section.
    #[arg(long, conflicts_with = "prometheus")]
    pub no_alerts: bool,
    /// Testing aid: start the local service with this seeded defect switched on (repeat for
    /// several), e.g. a performance defect for the diagnosis to name (docs/bottlenecks.md).
    /// Names as in `hrms::defects::Defects`; added to any `HRMS__DEFECTS__*` of the
    /// environment.
    #[arg(long, value_name = "NAME", conflicts_with = "target")]
    pub defect: Vec<String>,
    /// Run part I of N of the scenario (0-based, e.g. `0/3`): its share of the users, rates
    /// and persona mix, its users' accounts from their global indices, so that the N parts
    /// together send what one process would. Needs `--target`: all parts load one deployment
    /// (`gauntlet distribute` starts them; `gauntlet report merge` joins their reports).
    #[arg(
        long,
        value_name = "I/N",
        requires = "target",
        conflicts_with = "baseline"
    )]
    pub shard: Option<Shard>,
    /// Begin load at this instant, RFC 3339 (`2026-12-07T08:00:00Z`) or unix seconds, within
    /// the hour: the parts of a split run start together, and each report records how far
    /// off its start was.
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<StartAt>,
}

pub(crate) fn parse_profile(raw: &str) -> Result<ProfileName, String> {
    raw.parse()
        .map_err(|e: gauntlet_scenarios::SpecError| e.to_string())
}
