//! Prometheus and node_exporter as containers, for a machine with Docker but without the
//! binaries: nothing is installed on the host, the run still judges its alerts. The images:
//! the local `gauntlet-deps` (which holds Debian's packages of both) when the engine has it,
//! else the official ones, pinned, where a registry answers ([`find_images`]).
//!
//! Host networking, so Prometheus scrapes the service on the host's loopback and listens on
//! it, as the native process does; the run's scratch directory bind-mounted at its own path,
//! so the configuration names the same files either way. node_exporter also shares the host's
//! process namespace (with the capability to look into other processes' roots): the data
//! directory it watches is reached through `/proc/<pid>/root` for a container's Postgres, or
//! through the host's root mounted at [`HOST_ROOT`] for a native one. Both containers carry
//! the owner labels of the provisioned ones, so a harness killed outright leaves nothing that
//! the next run does not remove.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptions, RemoveContainerOptions, StopContainerOptions,
};
use futures::StreamExt;
use gauntlet_testcontainers::docker;

/// Where the host's root is mounted for a node_exporter watching a native Postgres.
pub const HOST_ROOT: &str = "/host";
/// The official images, pinned: a run's rules must mean what they meant in the last run.
pub const OFFICIAL_PROMETHEUS: &str = "prom/prometheus:v2.53.4";
pub const OFFICIAL_NODE_EXPORTER: &str = "prom/node-exporter:v1.8.2";
/// A pull that says nothing this long is a registry out of reach.
const PULL_STALL: Duration = Duration::from_secs(15);

/// An image and where its binary is.
#[derive(Debug, Clone)]
pub struct Imaged {
    pub image: String,
    pub binary: String,
}

/// The images of both.
#[derive(Debug, Clone)]
pub struct Images {
    pub prometheus: Imaged,
    pub node_exporter: Imaged,
}

/// The local image when the engine holds it (no network needed); else the official images,
/// pulled when missing and `may_pull`; `None` when neither can be had.
pub async fn find_images(docker: &Docker, may_pull: bool) -> Option<Images> {
    let local = gauntlet_testcontainers::local_image::LocalImage::current().reference;
    if docker::image_present(docker, &local).await.unwrap_or(false) {
        let imaged = |binary: &str| Imaged {
            image: local.clone(),
            binary: format!("/usr/bin/{binary}"),
        };
        return Some(Images {
            prometheus: imaged("prometheus"),
            node_exporter: imaged("prometheus-node-exporter"),
        });
    }
    for image in [OFFICIAL_PROMETHEUS, OFFICIAL_NODE_EXPORTER] {
        if !docker::image_present(docker, image).await.unwrap_or(false) {
            if !may_pull {
                return None;
            }
            let pulled = docker::pull_image(docker, image, PULL_STALL, |line| {
                tracing::debug!(image, line, "pull");
            })
            .await;
            if let Err(e) = pulled {
                tracing::info!(image, error = %e, "no official image either");
                return None;
            }
        }
    }
    Some(Images {
        prometheus: Imaged {
            image: OFFICIAL_PROMETHEUS.to_owned(),
            binary: "/bin/prometheus".to_owned(),
        },
        node_exporter: Imaged {
            image: OFFICIAL_NODE_EXPORTER.to_owned(),
            binary: "/bin/node_exporter".to_owned(),
        },
    })
}

/// A started container.
pub struct ContainerProcess {
    docker: Docker,
    id: String,
}

/// What to run.
pub struct Launch<'a> {
    pub image: &'a str,
    /// The binary and its arguments (the image's entrypoint is replaced).
    pub command: Vec<String>,
    /// The scratch directory, mounted at its own path.
    pub scratch: &'a Path,
    /// node_exporter's needs: the host's processes (a container's Postgres is reached
    /// through `/proc/<pid>/root`)...
    pub host_processes: bool,
    /// ...or the host's root, read-only at [`HOST_ROOT`] (a native Postgres's data).
    pub host_root: bool,
}

impl ContainerProcess {
    pub async fn start(docker: &Docker, launch: Launch<'_>) -> anyhow::Result<ContainerProcess> {
        let scratch = launch.scratch.display().to_string();
        let mut binds = vec![format!("{scratch}:{scratch}")];
        let mut cap_add = Vec::new();
        if launch.host_processes {
            cap_add.push("SYS_PTRACE".to_owned());
        }
        if launch.host_root {
            // Recursive, as Docker binds are: the data's own mount, made before, is in it.
            binds.push(format!("/:{HOST_ROOT}:ro"));
        }
        let body = ContainerCreateBody {
            image: Some(launch.image.to_owned()),
            entrypoint: Some(launch.command),
            user: Some(format!(
                "{}:{}",
                nix::unistd::getuid(),
                nix::unistd::getgid()
            )),
            labels: Some(docker::owner_labels()),
            host_config: Some(HostConfig {
                network_mode: Some("host".to_owned()),
                pid_mode: launch.host_processes.then(|| "host".to_owned()),
                binds: Some(binds),
                cap_add: Some(cap_add),
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        };
        let options = CreateContainerOptionsBuilder::default().build();
        let created = docker
            .create_container(Some(options), body)
            .await
            .context("creating the container")?;
        let process = ContainerProcess {
            docker: docker.clone(),
            id: created.id,
        };
        if let Err(e) = docker
            .start_container(
                &process.id,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
        {
            process.remove().await;
            return Err(e).context("starting the container");
        }
        Ok(process)
    }

    /// Whether the container's process has ended.
    pub async fn has_exited(&self) -> bool {
        match self.docker.inspect_container(&self.id, None).await {
            Ok(c) => !c.state.and_then(|s| s.running).unwrap_or(false),
            Err(_) => true,
        }
    }

    /// Its output so far (for an error that says why it did not answer).
    pub async fn log(&self) -> String {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            ..LogsOptions::default()
        };
        let mut text = String::new();
        let mut stream = self.docker.logs(&self.id, Some(options));
        while let Some(Ok(chunk)) = stream.next().await {
            text.push_str(&chunk.to_string());
        }
        text
    }

    /// SIGTERM, then SIGKILL after `grace`; the container is removed.
    pub async fn stop(self, grace: Duration) {
        let options = StopContainerOptions {
            t: Some(grace.as_secs() as i32),
            signal: None,
        };
        let _ = self.docker.stop_container(&self.id, Some(options)).await;
        self.remove().await;
    }

    async fn remove(&self) {
        let options = RemoveContainerOptions {
            force: true,
            ..RemoveContainerOptions::default()
        };
        let _ = self.docker.remove_container(&self.id, Some(options)).await;
    }
}
