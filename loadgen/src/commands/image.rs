//! `gauntlet image build`: the local Postgres+Redis image for Docker engines without a registry.

use anyhow::Context;
use gauntlet_testcontainers::{docker, local_image};

use crate::exit::{Exit, Failure};

pub async fn build() -> Result<Exit, Failure> {
    let client = docker::connect(std::time::Duration::from_secs(5))
        .await
        .map_err(Failure::infrastructure)?;
    let outcome = local_image::build_local_image(&client, |line| eprintln!("{line}"))
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
