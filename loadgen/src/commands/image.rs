//! `gauntlet image build`: the local Postgres+Redis image for Docker engines without a registry.

use anyhow::{Context, anyhow};
use gauntlet_testcontainers::{
    ProvisionConfig, docker, local_image, native::binaries::find_on_path, setup::apt,
};

use crate::exit::{Exit, Failure};

pub async fn build() -> Result<Exit, Failure> {
    let client = docker::connect(std::time::Duration::from_secs(5))
        .await
        .map_err(Failure::infrastructure)?;
    let config = ProvisionConfig::from_env().map_err(Failure::bad_input)?;
    let observer = super::setup_line::TerminalObserver::shared();
    if find_on_path("mmdebstrap").is_none()
        && !local_image::local_image_present(&client)
            .await
            .map_err(Failure::infrastructure)?
    {
        apt::install_if_allowed(
            &["mmdebstrap"],
            "building the image",
            config.changes,
            &observer,
        )
        .await
        .map_err(|e| Failure::infrastructure(anyhow!(e)))?;
    }
    let outcome = local_image::build_local_image(&client, |line| observer.progress(line))
        .await
        .context("building the local image")
        .map_err(Failure::infrastructure)?;
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
