//! The system under test while a run uses it: the local service (in-process or a child
//! process) on a provisioned stack, or a `--target` deployment.

use gauntlet_reports::model::{Backend, Wiring};
use gauntlet_scenarios::hrms::Fixture;

use super::local::{self, Dependencies, LocalService, Options, Placement};
use super::{Prepared, RunConfig, Target, chaos, remote};
use crate::exit::Failure;

/// The system under test while the run uses it.
pub(super) enum Sut {
    // Boxed: the service and its stack are large next to a URL and a fixture.
    Local(Box<LocalService>),
    Remote { base_url: String, fixture: Fixture },
}

impl Sut {
    pub(super) fn base_url(&self) -> &str {
        match self {
            Sut::Local(s) => &s.base_url,
            Sut::Remote { base_url, .. } => base_url,
        }
    }

    pub(super) fn fixture(&self) -> &Fixture {
        match self {
            Sut::Local(s) => &s.fixture,
            Sut::Remote { fixture, .. } => fixture,
        }
    }

    /// Where the dependencies came from.
    pub(super) fn backend(&self) -> Backend {
        match self {
            Sut::Local(s) => s.backend,
            Sut::Remote { .. } => Backend::External,
        }
    }

    /// What stood between the service and its dependencies: said in the report, because
    /// numbers taken through the proxies carry their cost. A deployment's dependencies are
    /// its own; the harness adds nothing in between.
    pub(super) fn wiring(&self) -> Wiring {
        match self {
            Sut::Local(s) if s.proxies().is_some() => Wiring::FaultProxies,
            Sut::Local(_) | Sut::Remote { .. } => Wiring::Direct,
        }
    }

    /// Processes besides this one whose CPU is the run's: containerised backends, or the
    /// service behind a loopback `--target`.
    pub(super) async fn own_pids(&self) -> Vec<u32> {
        match self {
            Sut::Local(s) => match s.stack() {
                Some(stack) => [
                    stack.postgres.host_pid().await,
                    stack.redis.host_pid().await,
                ]
                .into_iter()
                .flatten()
                .collect(),
                None => Vec::new(),
            },
            Sut::Remote { base_url, .. } => super::machine::loopback_target_pid(base_url)
                .into_iter()
                .collect(),
        }
    }

    /// The provisioned servers, when the run owns them.
    pub(super) fn stack(&self) -> Option<&gauntlet_testcontainers::Stack> {
        match self {
            Sut::Local(s) => s.stack(),
            Sut::Remote { .. } => None,
        }
    }

    pub(super) fn chaos_handles(&self) -> chaos::Handles<'_> {
        match self {
            Sut::Local(s) => chaos::Handles {
                proxies: s.proxies(),
                stack: s.stack(),
                service: s.process(),
            },
            Sut::Remote { .. } => chaos::Handles::default(),
        }
    }

    pub(super) async fn stop(self) {
        if let Sut::Local(service) = self {
            service.stop().await;
        }
    }
}

/// Starts (or reaches) the system under test; exit 3 when it cannot.
/// The size of Postgres's own filesystem in a run with a `disk_fill` fault: room for the
/// template, a profile's seed and the WAL of a run many times over (Postgres starts at ~40 MB
/// and the enterprise seed adds ~100 MB), small enough to fill at once. It is a tmpfs: the
/// memory is taken only as it is written, and given back when the run ends.
const DISK_FILL_FILESYSTEM_BYTES: u64 = 1 << 30;

pub(super) async fn bring_up(config: &RunConfig, prepared: &Prepared) -> Result<Sut, Failure> {
    match &config.target {
        Target::Local(provision) => {
            let wiring = if prepared.chaos.is_empty() && !config.through_proxies {
                Wiring::Direct
            } else {
                Wiring::FaultProxies
            };
            let options = Options {
                seed: Some(local::fixture::seed_spec(&prepared.plan, config.seed)),
                wiring,
                placement: if prepared.service_process {
                    Placement::ChildProcess
                } else {
                    Placement::InProcess
                },
                defects: with_env_defects(config.defects)?,
                operator_token: None,
            };
            // A drill's docker Postgres gets a volume for its archive and backups; a run that
            // fills Postgres's disk gets a filesystem of a known size to fill.
            let fills_disk = prepared
                .chaos
                .iter()
                .any(|f| matches!(f.entry.fault, gauntlet_chaos::Fault::DiskFill(_)));
            let provision = &gauntlet_testcontainers::ProvisionConfig {
                backup_volume: prepared.drill.is_some(),
                postgres_data_size: fills_disk.then_some(DISK_FILL_FILESYSTEM_BYTES),
                ..provision.clone()
            };
            let service = local::start(Dependencies::Provision(provision), options)
                .await
                .map_err(Failure::infrastructure)?;
            Ok(Sut::Local(Box::new(service)))
        }
        Target::Remote { url, .. } => Ok(Sut::Remote {
            base_url: remote::reach(url).await?,
            fixture: prepared.remote_fixture.clone().unwrap_or_default(),
        }),
    }
}

/// `--defect`'s switches plus those of the environment (`HRMS__DEFECTS__*`), as the `hrms`
/// binary would read them.
fn with_env_defects(flags: hrms::defects::Defects) -> Result<hrms::defects::Defects, Failure> {
    let env = local::defects_from_env().map_err(Failure::infrastructure)?;
    let names: Vec<String> = env
        .enabled()
        .into_iter()
        .chain(flags.enabled())
        .map(str::to_owned)
        .collect();
    crate::commands::probe::defects_from(&names).map_err(Failure::infrastructure)
}
