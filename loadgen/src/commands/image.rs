//! `gauntlet image build`: the local Postgres+Redis image for Docker engines without a
//! registry, or (`--harness`) the image the swarm engine runs its parts in.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use bollard::Docker;
use gauntlet_testcontainers::local_image::{BuildOutcome, harness};
use gauntlet_testcontainers::{
    ProvisionConfig, docker, local_image, native::binaries::find_on_path, setup::apt,
};

use crate::cli::ImageBuildArgs;
use crate::exit::{Exit, Failure};

pub async fn build(args: ImageBuildArgs) -> Result<Exit, Failure> {
    let client = docker::connect(std::time::Duration::from_secs(5))
        .await
        .map_err(Failure::infrastructure)?;
    let outcome = if args.harness {
        let binary = match args.binary {
            Some(path) => path,
            None => this_binary()?,
        };
        if !binary.is_file() {
            return Err(Failure::bad_input(anyhow!(
                "--binary {}: no such file",
                binary.display()
            )));
        }
        harness_image(&client, &binary).await?
    } else {
        let observer = super::setup_line::TerminalObserver::shared();
        let present = local_image::local_image_present(&client)
            .await
            .map_err(Failure::infrastructure)?;
        if !present {
            ensure_mmdebstrap().await?;
        }
        local_image::build_local_image(&client, |line| observer.progress(line))
            .await
            .context("building the local image")
            .map_err(Failure::infrastructure)?
    };
    let size_mb = outcome.size_bytes as f64 / 1e6;
    if outcome.already_present {
        println!("{} already present ({size_mb:.0} MB)", outcome.reference);
    } else {
        println!(
            "{} built in {:.1} s ({size_mb:.0} MB)",
            outcome.reference,
            outcome.elapsed.as_secs_f64()
        );
    }
    Ok(Exit::Success)
}

/// This executable, the default binary of the harness image.
pub(crate) fn this_binary() -> Result<PathBuf, Failure> {
    std::env::current_exe()
        .context("finding this executable for the harness image")
        .map_err(Failure::infrastructure)
}

/// The harness image for `binary`, built when the engine does not hold it yet (installing
/// mmdebstrap first where this machine may).
pub(crate) async fn harness_image(client: &Docker, binary: &Path) -> Result<BuildOutcome, Failure> {
    let reference = harness::harness_image_reference(binary)
        .with_context(|| format!("reading {}", binary.display()))
        .map_err(Failure::infrastructure)?;
    let present = harness::harness_image_present(client, &reference)
        .await
        .map_err(Failure::infrastructure)?;
    if !present {
        ensure_mmdebstrap().await?;
    }
    let observer = super::setup_line::TerminalObserver::shared();
    harness::build_harness_image(client, binary, &reference, |line| observer.progress(line))
        .await
        .context("building the harness image")
        .map_err(Failure::infrastructure)
}

/// mmdebstrap on PATH, installed from Debian when this machine allows it.
async fn ensure_mmdebstrap() -> Result<(), Failure> {
    if find_on_path("mmdebstrap").is_some() {
        return Ok(());
    }
    let config = ProvisionConfig::from_env().map_err(Failure::bad_input)?;
    let observer = super::setup_line::TerminalObserver::shared();
    apt::install_if_allowed(
        &["mmdebstrap"],
        "building the image",
        config.changes,
        &observer,
    )
    .await
    .map_err(|e| Failure::infrastructure(anyhow!(e)))
}
