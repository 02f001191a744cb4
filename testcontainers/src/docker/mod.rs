//! The docker backend: one container per server through the `testcontainers` crate, with the
//! host port pinned so a restarted container keeps its URL (Docker re-maps ephemeral ports on
//! every start).

use std::time::Duration;

use bollard::Docker;
use testcontainers::{
    ContainerAsync, GenericImage, ImageExt,
    core::{IntoContainerPort, WaitFor},
    runners::AsyncRunner,
};
use url::Url;

use crate::{
    Role,
    error::{ControlError, ProvisionError},
    ports::free_loopback_port,
    readiness,
};

mod images;

pub use images::{ImageFlavour, ImageSpec, connect, image_present, pull_image, resolve_image};

/// Label on every container we start, so leftovers can be found:
/// `docker ps -a --filter label=dev.gauntlet.provisioned`.
pub const LABEL: &str = "dev.gauntlet.provisioned";
/// Start time of the owning harness process (with the PID in [`LABEL`]), so that a container
/// whose harness was killed outright can be told apart from one whose PID was reused.
pub const OWNER_START_LABEL: &str = "dev.gauntlet.owner-start";

/// Removes containers whose harness is gone (killed with SIGKILL: it could not remove them).
/// Containers of a live harness, and containers without an owner-start label, are left alone.
/// Returns how many were removed.
pub async fn reap_orphan_containers(docker: &Docker) -> usize {
    use bollard::query_parameters::{ListContainersOptions, RemoveContainerOptions};

    let options = ListContainersOptions {
        all: true,
        filters: Some([("label".to_owned(), vec![LABEL.to_owned()])].into()),
        ..Default::default()
    };
    let Ok(containers) = docker.list_containers(Some(options)).await else {
        return 0;
    };
    let mut removed = 0;
    for container in containers {
        let labels = container.labels.unwrap_or_default();
        let owner = labels.get(LABEL).and_then(|p| p.parse::<i32>().ok());
        let start = labels
            .get(OWNER_START_LABEL)
            .and_then(|s| s.parse::<u64>().ok());
        let (Some(owner), Some(start), Some(id)) = (owner, start, container.id) else {
            continue;
        };
        if crate::native::reaper::start_time(owner) == Some(start) {
            continue;
        }
        let force = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        if docker.remove_container(&id, Some(force)).await.is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(
            removed,
            "removed containers left behind by a harness that was killed"
        );
    }
    removed
}

/// One container.
pub struct DockerServer {
    role: Role,
    url: Url,
    ready_timeout: Duration,
    docker: Docker,
    /// `None` once removed by [`DockerServer::remove`]; otherwise testcontainers removes it
    /// when this is dropped.
    container: Option<ContainerAsync<GenericImage>>,
    /// The image it was started from (a restored server is started from the same one).
    image: ImageSpec,
    /// A backup drill's named volume, removed with the last container that uses it.
    volume: Option<String>,
    /// Postgres's `PGDATA` inside the container (`None` for Redis).
    pgdata: Option<String>,
    /// Whether `PGDATA` is a tmpfs of a known size ([`Extras::data_size`]).
    sized: bool,
}

impl std::fmt::Debug for DockerServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerServer")
            .field("role", &self.role)
            .field("url", &crate::redact(&self.url))
            .field("container", &self.container_id())
            .finish()
    }
}

/// What a container needs beyond the defaults: a backup drill's volume, and for a server
/// restored from a backup, its port, data directory and the step that prepares it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Extras {
    /// A named volume mounted at [`crate::backup`]'s root (WAL archive and backups).
    pub volume: Option<String>,
    /// The host port to publish on (the replaced server's); a free one when `None`.
    pub host_port: Option<u16>,
    /// `PGDATA` inside the container, when not the image's own.
    pub pgdata: Option<String>,
    /// A shell step run as `postgres` before the entrypoint (fills `PGDATA` from a backup).
    pub prepare: Option<String>,
    /// Mount a tmpfs of this many bytes on `PGDATA` ([`crate::disk`]). A tmpfs is lost when
    /// the container stops, so a sized Postgres does not survive `stop`, `kill` or `restart`.
    pub data_size: Option<u64>,
}

/// `PGDATA` of both the official image and ours.
const DEFAULT_PGDATA: &str = "/var/lib/postgresql/data";

impl DockerServer {
    /// Creates and starts a container for `role` from `image`, then waits until it answers.
    pub async fn start_new(
        docker: Docker,
        role: Role,
        image: &ImageSpec,
        ready_timeout: Duration,
    ) -> Result<Self, ProvisionError> {
        Self::start_with(docker, role, image, ready_timeout, Extras::default()).await
    }

    /// [`DockerServer::start_new`] with [`Extras`].
    pub(crate) async fn start_with(
        docker: Docker,
        role: Role,
        image: &ImageSpec,
        ready_timeout: Duration,
        extras: Extras,
    ) -> Result<Self, ProvisionError> {
        // Once per process, like the native backend's lease sweep.
        static SWEPT: tokio::sync::OnceCell<usize> = tokio::sync::OnceCell::const_new();
        SWEPT.get_or_init(|| reap_orphan_containers(&docker)).await;
        let host_port = match extras.host_port {
            Some(port) => port,
            None => free_loopback_port()?,
        };
        let container_port = role.default_port();
        let pgdata = (role == Role::Postgres).then(|| {
            extras
                .pgdata
                .clone()
                .unwrap_or_else(|| DEFAULT_PGDATA.to_owned())
        });
        let tmpfs = match (&pgdata, extras.data_size) {
            (Some(dir), Some(bytes)) => Some((dir.clone(), format!("size={bytes},mode=0700"))),
            _ => None,
        };
        let sized = tmpfs.is_some();
        let (name, tag) = image
            .reference
            .rsplit_once(':')
            .unwrap_or((image.reference.as_str(), "latest"));
        let mut generic = GenericImage::new(name, tag).with_wait_for(WaitFor::Nothing);
        if extras.prepare.is_some() {
            generic = generic.with_entrypoint("sh");
        }
        let mut request = generic
            .with_mapped_port(host_port, container_port.tcp())
            .with_label(LABEL, std::process::id().to_string())
            .with_label(OWNER_START_LABEL, owner_start())
            // Published on loopback only: these servers have well-known passwords.
            .with_host_config_modifier(move |host_config| {
                if let Some((dir, options)) = &tmpfs {
                    host_config.tmpfs = Some([(dir.clone(), options.clone())].into());
                }
                for bindings in host_config
                    .port_bindings
                    .iter_mut()
                    .flat_map(|m| m.values_mut())
                {
                    for binding in bindings.iter_mut().flatten() {
                        binding.host_ip = Some("127.0.0.1".to_owned());
                    }
                }
            })
            .with_startup_timeout(ready_timeout);
        request = match (image.flavour, role) {
            // Debian's server package (the local image's) ships pg_stat_statements; the
            // diagnosis reads it, and it loads at start-up only.
            (ImageFlavour::Local, Role::Postgres) => request.with_cmd([
                "postgres",
                "-c",
                "shared_preload_libraries=pg_stat_statements",
            ]),
            (ImageFlavour::Local, Role::Redis) => request.with_cmd(["redis"]),
            (ImageFlavour::Official, Role::Postgres) => request
                .with_env_var("POSTGRES_PASSWORD", "postgres")
                // Same reasoning as the native backend: SIGKILL keeps the page cache.
                .with_cmd([
                    "postgres",
                    "-c",
                    "fsync=off",
                    "-c",
                    "max_connections=300",
                    // The official image ships pg_stat_statements; the diagnosis reads it.
                    "-c",
                    "shared_preload_libraries=pg_stat_statements",
                ]),
            (ImageFlavour::Official, Role::Redis) => request,
        };
        if let Some(volume) = &extras.volume {
            request = request.with_mount(testcontainers::core::Mount::volume_mount(
                volume.clone(),
                crate::backup::DOCKER_ROOT,
            ));
        }
        if let Some(pgdata) = &extras.pgdata {
            request = request.with_env_var("PGDATA", pgdata.clone());
        }
        if let Some(prepare) = &extras.prepare {
            // The image's entrypoint runs after the step, as PID 1 (exec), so stop signals
            // still reach Postgres.
            let script = format!(
                "setpriv --reuid=postgres --regid=postgres --init-groups sh -c \"$0\" && \
                 exec {} postgres -c shared_preload_libraries=pg_stat_statements",
                crate::local_image::ENTRYPOINT_PATH
            );
            request = request.with_cmd(["-c".to_owned(), script, prepare.clone()]);
        }
        let container = request
            .start()
            .await
            .map_err(|e| ProvisionError::Docker(format!("starting {}: {e}", image.reference)))?;
        let url = match role {
            Role::Postgres => {
                format!("postgres://postgres:postgres@127.0.0.1:{host_port}/postgres")
            }
            Role::Redis => format!("redis://127.0.0.1:{host_port}"),
        };
        let url = Url::parse(&url).map_err(|e| ProvisionError::InvalidConfig(e.to_string()))?;
        let server = Self {
            role,
            url,
            ready_timeout,
            docker,
            container: Some(container),
            image: image.clone(),
            volume: extras.volume,
            pgdata,
            sized,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    /// The URL clients use; unchanged by any lifecycle control.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The container id, while the container exists.
    pub fn container_id(&self) -> Option<&str> {
        self.container.as_ref().map(|c| c.id())
    }

    /// Postgres's data directory and the filesystem holding it, reached through the main
    /// process's root while the container runs (`None` for Redis, or when stopped).
    pub async fn data_disk(&self) -> Option<crate::disk::DataDisk> {
        let data_dir = self.pgdata.clone()?;
        let root = std::path::PathBuf::from(format!("/proc/{}/root", self.host_pid().await?));
        Some(crate::disk::DataDisk {
            procfs: root.join("proc"),
            rootfs: root,
            data_dir: data_dir.into(),
            sized: self.sized,
        })
    }

    /// The container's main process as this host numbers it, while it runs: a harness counts
    /// the CPU of that process tree as its own (it is not "something else on the machine").
    pub async fn host_pid(&self) -> Option<u32> {
        let id = self.container_id()?;
        let options = None::<bollard::query_parameters::InspectContainerOptions>;
        let info = self.docker.inspect_container(id, options).await.ok()?;
        info.state?
            .pid
            .and_then(|p| u32::try_from(p).ok())
            .filter(|p| *p > 0)
    }

    /// Polls until the server answers a query.
    pub async fn wait_ready(&self) -> Result<Duration, ProvisionError> {
        readiness::wait_ready(self.role, &self.url, self.ready_timeout, String::new).await
    }

    fn container(
        &self,
        action: &'static str,
    ) -> Result<&ContainerAsync<GenericImage>, ControlError> {
        self.container
            .as_ref()
            .ok_or_else(|| ControlError::InvalidState {
                action,
                reason: "the container was removed".into(),
            })
    }

    /// `docker stop` (the image's stop signal, SIGKILL after 10 s).
    pub async fn stop(&self) -> Result<(), ControlError> {
        self.container("stop")?
            .stop_with_timeout(Some(10))
            .await
            .map_err(|e| failed("stop", e))
    }

    /// `docker start`, then wait for readiness.
    pub async fn start(&self) -> Result<(), ControlError> {
        self.container("start")?
            .start()
            .await
            .map_err(|e| failed("start", e))?;
        self.wait_ready().await?;
        Ok(())
    }

    /// `docker kill` with SIGKILL.
    pub async fn kill(&self) -> Result<(), ControlError> {
        let id = self.container("kill")?.id().to_owned();
        self.docker
            .kill_container(&id, None)
            .await
            .map_err(|e| failed("kill", e))
    }

    /// `docker pause` / `docker unpause`: the cgroup freezer stops every process in it.
    pub async fn freeze(&self, frozen: bool) -> Result<(), ControlError> {
        let container = self.container(if frozen { "pause" } else { "unpause" })?;
        if frozen {
            container.pause().await.map_err(|e| failed("pause", e))
        } else {
            container.unpause().await.map_err(|e| failed("unpause", e))
        }
    }

    /// Removes the container and waits for Docker to confirm.
    pub async fn remove(&mut self) -> Result<(), ControlError> {
        if let Some(container) = self.container.take() {
            // A paused container cannot be removed without force; testcontainers forces.
            container.rm().await.map_err(|e| failed("remove", e))?;
        }
        if let Some(volume) = self.volume.take() {
            // Still in use by the other server of a drill: the last one removes it.
            let _ = self
                .docker
                .remove_volume(
                    &volume,
                    None::<bollard::query_parameters::RemoveVolumeOptions>,
                )
                .await;
        }
        Ok(())
    }

    /// The image it runs.
    pub(crate) fn image(&self) -> &ImageSpec {
        &self.image
    }

    /// The drill volume, if it has one.
    pub(crate) fn volume(&self) -> Option<&str> {
        self.volume.as_deref()
    }

    /// The engine.
    pub(crate) fn engine(&self) -> &Docker {
        &self.docker
    }

    /// The configured readiness deadline.
    pub(crate) fn ready_timeout(&self) -> Duration {
        self.ready_timeout
    }

    /// Runs `cmd` inside the container to its end: exit code and output (stdout, then stderr).
    pub(crate) async fn exec(
        &self,
        cmd: Vec<String>,
        env: Vec<(String, String)>,
    ) -> Result<(i64, String), ControlError> {
        use testcontainers::core::{CmdWaitFor, ExecCommand};
        let container = self.container("exec")?;
        let command = ExecCommand::new(cmd)
            .with_env_vars(env)
            .with_cmd_ready_condition(CmdWaitFor::exit());
        let mut result = container
            .exec(command)
            .await
            .map_err(|e| failed("exec", e))?;
        let mut out = result.stdout_to_vec().await.unwrap_or_default();
        out.extend(result.stderr_to_vec().await.unwrap_or_default());
        let code = result
            .exit_code()
            .await
            .map_err(|e| failed("exec", e))?
            .unwrap_or(-1);
        Ok((code, String::from_utf8_lossy(&out).into_owned()))
    }
}

/// The labels that make a container this process's, so [`reap_orphan_containers`] removes it
/// once this process is gone (for containers started outside this crate, e.g. a run's
/// Prometheus).
pub fn owner_labels() -> std::collections::HashMap<String, String> {
    std::collections::HashMap::from([
        (LABEL.to_owned(), std::process::id().to_string()),
        (OWNER_START_LABEL.to_owned(), owner_start()),
    ])
}

/// This process's start time, as [`OWNER_START_LABEL`] records it.
fn owner_start() -> String {
    crate::native::reaper::start_time(std::process::id() as i32)
        .map(|t| t.to_string())
        .unwrap_or_default()
}

fn failed(action: &'static str, e: impl std::fmt::Display) -> ControlError {
    ControlError::Failed {
        action,
        reason: e.to_string(),
    }
}
