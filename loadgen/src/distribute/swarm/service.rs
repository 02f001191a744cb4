//! The parts as one swarm service in `replicated-job` mode: N tasks, all at once, none
//! restarted.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::models::{
    Mount, MountType, NetworkAttachmentConfig, ServiceSpec, ServiceSpecMode,
    ServiceSpecModeReplicatedJob, TaskSpec, TaskSpecContainerSpec, TaskSpecRestartPolicy,
    TaskSpecRestartPolicyConditionEnum,
};

use gauntlet_testcontainers::local_image::harness::BINARY_PATH;

use super::part;
use crate::distribute::Distribution;
use crate::run::part::StartAt;

/// Label on the service: which run it belongs to (its output directory).
pub const RUN_LABEL: &str = "dev.gauntlet.distribute";
/// How long a stopped part gets to write its (aborted) report before Docker kills it.
pub const STOP_GRACE: Duration = Duration::from_secs(20);

/// What the service needs from this machine.
#[derive(Debug)]
pub struct Placement {
    /// The image with `gauntlet` at `/usr/local/bin/gauntlet`.
    pub image: String,
    /// The id of the engine's `host` network.
    pub host_network: String,
    /// `uid:gid` the parts run as, so their files belong to whoever ran `distribute`.
    pub user: String,
    /// Absolute: the output directory, the credentials file, the spec file (when the scenario
    /// is one). Each is mounted at its own path, so a part's report names the same paths as
    /// this machine does.
    pub out_dir: PathBuf,
    /// See [`Placement::out_dir`].
    pub credentials: PathBuf,
    /// See [`Placement::out_dir`].
    pub spec_file: Option<PathBuf>,
}

/// The service: its name, and the spec that runs `d`'s N parts beginning at `start_at`.
pub fn spec(d: &Distribution, place: &Placement, name: &str, start_at: StartAt) -> ServiceSpec {
    let scenario = place
        .spec_file
        .as_deref()
        .map_or_else(|| d.scenario.clone(), |p| p.display().to_string());
    let args: Vec<String> = d
        .shared_args(&scenario, start_at, &place.credentials)
        .into_iter()
        .map(lossy)
        .collect();
    // The part's own flags (`--shard`, `--out`, `--raw-samples`) come from the environment:
    // swarm templates environment values, never arguments.
    let mut command = vec![BINARY_PATH.to_owned(), "__swarm-part".to_owned()];
    command.extend(args);
    let env = vec![
        format!("{}={{{{.Task.Slot}}}}", part::SLOT_ENV),
        format!("{}={}", part::COUNT_ENV, d.workers),
        format!("{}={}", part::DIR_ENV, place.out_dir.display()),
        format!("{}={}", part::RAW_ENV, if d.raw_samples { "1" } else { "" }),
    ];
    let mut mounts = vec![bind(&place.out_dir, false), bind(&place.credentials, true)];
    if let Some(spec) = &place.spec_file {
        mounts.push(bind(spec, true));
    }
    let labels = HashMap::from([(RUN_LABEL.to_owned(), place.out_dir.display().to_string())]);
    let workers = i64::from(d.workers);
    ServiceSpec {
        name: Some(name.to_owned()),
        labels: Some(labels),
        mode: Some(ServiceSpecMode {
            replicated_job: Some(ServiceSpecModeReplicatedJob {
                max_concurrent: Some(workers),
                total_completions: Some(workers),
            }),
            ..ServiceSpecMode::default()
        }),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(place.image.clone()),
                command: Some(command),
                env: Some(env),
                user: Some(place.user.clone()),
                mounts: Some(mounts),
                stop_signal: Some("SIGINT".to_owned()),
                stop_grace_period: Some(STOP_GRACE.as_nanos() as i64),
                ..TaskSpecContainerSpec::default()
            }),
            // A retried part would begin after the others' start instant: a failed part
            // stays failed, and the run has no verdict. (Swarm retries a job's failed task
            // whatever this says; `__swarm-part` guards against that.)
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
                ..TaskSpecRestartPolicy::default()
            }),
            // Host networking: the parts reach the target as this machine does (loopback
            // included), and no overlay network or port publishing is involved.
            networks: Some(vec![NetworkAttachmentConfig {
                target: Some(place.host_network.clone()),
                ..NetworkAttachmentConfig::default()
            }]),
            ..TaskSpec::default()
        }),
        ..ServiceSpec::default()
    }
}

/// A bind mount of `path` at the same path in the container.
fn bind(path: &Path, read_only: bool) -> Mount {
    Mount {
        source: Some(path.display().to_string()),
        target: Some(path.display().to_string()),
        typ: Some(MountType::BIND),
        read_only: Some(read_only),
        ..Mount::default()
    }
}

fn lossy(arg: OsString) -> String {
    arg.to_string_lossy().into_owned()
}
