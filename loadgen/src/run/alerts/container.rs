//! Prometheus and node_exporter as containers of the local `gauntlet-deps` image (which holds
//! Debian's packages of both), for a machine with Docker but without the binaries: nothing is
//! installed on the host, the run still judges its alerts.
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
