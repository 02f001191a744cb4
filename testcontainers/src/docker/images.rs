//! Images for the docker backend: reaching the engine, finding, pulling and choosing the
//! image a server runs (the official one, or our locally built one).

use std::time::Duration;

use bollard::Docker;

use crate::{Role, error::ProvisionError, local_image};

/// How an image expects to be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFlavour {
    /// The official `postgres` / `redis` images: configured through their own conventions.
    Official,
    /// Our `gauntlet image build` image: one image, the role chosen by the command.
    Local,
}

/// An image reference and how to start it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSpec {
    /// `name:tag`.
    pub reference: String,
    /// How it expects to be started.
    pub flavour: ImageFlavour,
}

/// Connects to the daemon named by `DOCKER_HOST` (or the default socket) and pings it, giving
/// up after `timeout` so that `auto` can fall back quickly.
pub async fn connect(timeout: Duration) -> Result<Docker, ProvisionError> {
    let docker = Docker::connect_with_defaults()
        .map_err(|e| ProvisionError::DockerUnavailable(e.to_string()))?;
    match tokio::time::timeout(timeout, docker.ping()).await {
        // Older engines (20.10 speaks API 1.41) reject requests at bollard's default version.
        Ok(Ok(_)) => docker
            .negotiate_version()
            .await
            .map_err(|e| ProvisionError::DockerUnavailable(format!("version negotiation: {e}"))),
        Ok(Err(e)) => Err(ProvisionError::DockerUnavailable(format!(
            "the daemon did not answer a ping: {e}"
        ))),
        Err(_) => Err(ProvisionError::DockerUnavailable(format!(
            "the daemon did not answer a ping within {timeout:?}"
        ))),
    }
}

/// Whether `reference` is present in the engine (inspect, never pull).
pub async fn image_present(docker: &Docker, reference: &str) -> Result<bool, ProvisionError> {
    match docker.inspect_image(reference).await {
        Ok(_) => Ok(true),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(false),
        Err(e) => Err(ProvisionError::Docker(e.to_string())),
    }
}

/// Pulls `reference` (what testcontainers does on a missing image), giving up when the engine
/// says nothing for `stall`: a registry that is unreachable by firewall rather than by DNS
/// would otherwise hang the pull until the TCP timeout.
pub async fn pull_image(
    docker: &Docker,
    reference: &str,
    stall: Duration,
    progress: impl Fn(&str),
) -> Result<(), String> {
    use bollard::query_parameters::CreateImageOptionsBuilder;
    use futures::StreamExt;

    let (name, tag) = reference.rsplit_once(':').unwrap_or((reference, "latest"));
    let options = CreateImageOptionsBuilder::new()
        .from_image(name)
        .tag(tag)
        .build();
    let mut stream = docker.create_image(Some(options), None, None);
    loop {
        match tokio::time::timeout(stall, stream.next()).await {
            Err(_) => return Err(format!("no answer from the registry for {stall:?}")),
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(e.to_string()),
            Ok(Some(Ok(info))) => {
                if let Some(status) = info.status {
                    progress(&format!("{reference}: {status}"));
                }
            }
        }
    }
    match image_present(docker, reference).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!("the pull ended but {reference} is not present")),
        Err(e) => Err(e.to_string()),
    }
}

/// Picks the image for `role`: the explicit choice if any, else the official image, else the
/// local image. A missing image fails here, in milliseconds, rather than as a pull error later.
pub async fn resolve_image(
    docker: &Docker,
    role: Role,
    explicit: Option<&str>,
) -> Result<ImageSpec, ProvisionError> {
    let local = local_image::local_image_reference();
    if let Some(reference) = explicit {
        if !image_present(docker, reference).await? {
            return Err(ProvisionError::ImageMissing {
                image: reference.to_owned(),
            });
        }
        let flavour = if repository(reference) == repository(&local) {
            ImageFlavour::Local
        } else {
            ImageFlavour::Official
        };
        return Ok(ImageSpec {
            reference: reference.to_owned(),
            flavour,
        });
    }
    let official = role.official_image();
    if image_present(docker, official).await? {
        return Ok(ImageSpec {
            reference: official.to_owned(),
            flavour: ImageFlavour::Official,
        });
    }
    if image_present(docker, &local).await? {
        return Ok(ImageSpec {
            reference: local,
            flavour: ImageFlavour::Local,
        });
    }
    Err(ProvisionError::ImageMissing {
        image: format!("{official} (nor the local image {local})"),
    })
}

fn repository(reference: &str) -> &str {
    reference
        .rsplit_once(':')
        .map_or(reference, |(repo, _)| repo)
}
