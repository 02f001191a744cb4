//! `gauntlet distribute`: one scenario split over N generator processes that begin load
//! together, and their reports merged into one verdict.
//!
//! Nothing here coordinates the parts while they run. Each is an ordinary `gauntlet run
//! --shard I/N --start-at T` against the same `--target`: the split is the plan's
//! (`LoadPlan::shard`), the start is a wall-clock instant, and the merge is `gauntlet report
//! merge`'s, which refuses parts that do not make one whole. An engine only starts the
//! parts where they should run and gathers their reports: [`local`] as child processes of
//! this executable, [`swarm`] as a Docker Swarm replicated job, [`kubernetes`] as an Indexed
//! Job ([`kubectl`] writes or applies it).

pub mod kubectl;
pub mod kubernetes;
pub mod local;
pub mod swarm;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gauntlet_scenarios::spec::Shard;
use gauntlet_scenarios::{LoadPlan, ProfileName, ScenarioSpec};

use crate::cli::DistributeArgs;
use crate::exit::Failure;
use crate::run::part::StartAt;

/// A split run, checked: everything that can be refused as bad input was, before any part
/// starts.
#[derive(Debug)]
pub struct Distribution {
    /// The scenario as given (a built-in name or a spec path).
    pub scenario: String,
    /// Its spec.
    pub spec: ScenarioSpec,
    /// The whole plan; part I of N is `plan.shard(I/N)`.
    pub plan: LoadPlan,
    /// How many parts.
    pub workers: u32,
    /// The seed every part runs with.
    pub seed: u64,
    /// The deployment every part drives.
    pub target: url::Url,
    /// Its credentials file.
    pub credentials: PathBuf,
    /// Where the parts' directories and the merged report go.
    pub out_dir: PathBuf,
    /// How long after the start of the command load begins.
    pub start_in: Duration,
    /// Each part writes its raw samples.
    pub raw_samples: bool,
    /// One line of output.
    pub quiet: bool,
}

impl Distribution {
    /// The flags, checked: the spec and its plan, a split that gives every part a user, the
    /// credentials file. All bad input (exit 2).
    pub fn prepare(args: &DistributeArgs) -> Result<Distribution, Failure> {
        let spec = ScenarioSpec::load(&args.scenario).map_err(Failure::bad_input)?;
        let profile = args.profile.unwrap_or(spec.default_profile());
        let plan = spec
            .plan(profile, args.duration_scale)
            .map_err(Failure::bad_input)?;
        for index in 0..args.workers {
            let shard = Shard::new(index, args.workers).map_err(Failure::bad_input)?;
            plan.shard(shard).map_err(Failure::bad_input)?;
        }
        if args.start_in > crate::run::part::MAX_LEAD {
            return Err(Failure::bad_input(anyhow::anyhow!(
                "--start-in {} is beyond the hour a part waits for its start at most",
                humantime::format_duration(args.start_in)
            )));
        }
        crate::run::remote::load_fixture(&args.credentials)?;
        let out_dir = args.out.clone().unwrap_or_else(|| {
            crate::run::output::default_dir(&format!("{}-distributed", spec.name()))
        });
        Ok(Distribution {
            scenario: args.scenario.clone(),
            spec,
            plan,
            workers: args.workers,
            seed: args.seed,
            target: args.target.clone(),
            credentials: args.credentials.clone(),
            out_dir,
            start_in: args.start_in,
            raw_samples: args.raw_samples,
            quiet: args.quiet,
        })
    }

    /// The profile every part plans for.
    pub fn profile(&self) -> ProfileName {
        self.plan.profile
    }

    /// Part `index`'s directory under `out`.
    pub fn part_dir(out: &Path, index: u32) -> PathBuf {
        out.join(format!("part-{index}"))
    }

    /// The `gauntlet` arguments of part `index`, its scenario given as `scenario`, its files
    /// under `out` (an engine's paths may differ from this machine's).
    pub fn part_args(
        &self,
        scenario: &str,
        index: &str,
        start_at: StartAt,
        credentials: &Path,
        out: &Path,
    ) -> Vec<OsString> {
        let mut args = self.shared_args(scenario, start_at, credentials);
        let dir = out.join(format!("part-{index}"));
        args.extend([
            "--shard".into(),
            format!("{index}/{}", self.workers).into(),
            "--out".into(),
            dir.clone().into(),
        ]);
        if self.raw_samples {
            args.extend(["--raw-samples".into(), dir.join("samples.csv").into()]);
        }
        args
    }

    /// The arguments every part has in common: all of [`Distribution::part_args`] but
    /// `--shard`, `--out` and `--raw-samples`.
    pub fn shared_args(
        &self,
        scenario: &str,
        start_at: StartAt,
        credentials: &Path,
    ) -> Vec<OsString> {
        let mut args: Vec<OsString> = [
            "run",
            scenario,
            "--quiet",
            "--start-at",
            &start_at.to_string(),
            "--target",
            self.target.as_str(),
            "--profile",
            self.profile().as_str(),
            "--duration-scale",
            &self.plan.duration_scale.to_string(),
            "--seed",
            &self.seed.to_string(),
        ]
        .map(OsString::from)
        .into();
        args.extend(["--credentials".into(), credentials.into()]);
        args
    }

    /// How long the parts may take in all before they are stopped: the lead, the load, and
    /// generous slack for start-up, the first part's probe sweeps and the reports.
    pub fn deadline(&self) -> Duration {
        self.start_in + self.plan.total_duration * 2 + Duration::from_secs(120)
    }
}
