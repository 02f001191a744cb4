//! `gauntlet env`: what `auto` would choose and why, optionally with time-to-ready numbers.

use std::time::Duration;

use anyhow::Context;
use gauntlet_testcontainers::{Backend, BackendChoice, Stack, inspect_environment};

use crate::{
    cli::EnvArgs,
    exit::{Exit, Failure},
};

pub async fn run(args: EnvArgs) -> Result<Exit, Failure> {
    let config = super::provision_config(&args.backend)?;
    let report = inspect_environment(&config).await;
    let measurements = match args.measure {
        Some(rounds) => measure(&report, &config, rounds.max(1)).await,
        None => Vec::new(),
    };
    if args.json {
        let value = serde_json::json!({
            "environment": report,
            "time_to_ready_ms": measurements.iter().map(|m| serde_json::json!({
                "backend": m.backend,
                "median_ms": m.median.as_secs_f64() * 1e3,
                "samples_ms": m.samples.iter().map(|d| d.as_secs_f64() * 1e3).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value)
                .context("serialising the report")
                .map_err(Failure::infrastructure)?
        );
    } else {
        println!("{report}");
        for m in &measurements {
            println!(
                "time to ready ({}, Postgres+Redis, median of {}): {:.0} ms",
                m.backend,
                m.samples.len(),
                m.median.as_secs_f64() * 1e3
            );
        }
    }
    // The decision is the answer; a machine with no usable backend is an infrastructure problem.
    Ok(if report.decision.is_ok() {
        Exit::Success
    } else {
        Exit::Infrastructure
    })
}

struct Measurement {
    backend: Backend,
    median: Duration,
    samples: Vec<Duration>,
}

/// Provisions each usable backend `rounds` times (sequentially, so they don't compete).
async fn measure(
    report: &gauntlet_testcontainers::EnvironmentReport,
    config: &gauntlet_testcontainers::ProvisionConfig,
    rounds: u32,
) -> Vec<Measurement> {
    let mut candidates = Vec::new();
    let docker_usable = report.docker.is_ok();
    let native_usable = report.native.iter().all(|(_, path, _)| path.is_some());
    if docker_usable {
        candidates.push((BackendChoice::Docker, Backend::Docker));
    }
    if native_usable {
        candidates.push((BackendChoice::Native, Backend::Native));
    }
    let mut out = Vec::new();
    for (choice, backend) in candidates {
        let config = config.clone().with_backend(choice);
        let mut samples = Vec::new();
        for _ in 0..rounds {
            match Stack::provision(&config).await {
                Ok(stack) => {
                    samples.push(stack.time_to_ready);
                    stack.shutdown().await;
                }
                Err(e) => {
                    // The chain, not only the outer message: the cause is in `source()`.
                    eprintln!("{backend}: not measured: {:#}", anyhow::Error::new(e));
                    break;
                }
            }
        }
        if samples.is_empty() {
            continue;
        }
        let mut sorted = samples.clone();
        sorted.sort();
        out.push(Measurement {
            backend,
            median: sorted[sorted.len() / 2],
            samples,
        });
    }
    out
}
