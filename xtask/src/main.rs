//! `cargo xtask test [-- <cargo test args>]`: prepare this machine for the test suite, then run
//! `cargo test --workspace`.
//!
//! The suite needs real servers and a real browser: PostgreSQL and Redis server binaries (the
//! native backend's tests), Prometheus and node_exporter (every run's alerts; promtool for the
//! rules' unit tests), chromium (the report.html check) and, when a Docker engine answers,
//! the local Postgres+Redis image (the docker backend's tests; no registry is assumed). As root
//! on a Debian-family system the missing packages are installed, each command printed first;
//! elsewhere, or with `--no-install` / `GAUNTLET_NO_INSTALL=1`, the commands are printed and
//! the task stops with exit 1 before running anything.
//!
//! Tests the machine cannot run are filtered out by name and listed as skipped at the end
//! (`skips.rs`): the docker-backend tests when no Docker engine answers or
//! `GAUNTLET_SKIP_DOCKER_TESTS=1`, the browser tests when `GAUNTLET_SKIP_BROWSER_TESTS=1`,
//! the Kubernetes schema test when pip cannot install `kubernetes-validate` (`pypi.rs`).

mod pypi;
mod skips;

use std::{
    process::{Command, ExitCode},
    time::{Duration, Instant},
};

use gauntlet_testcontainers::{
    Observer, ProvisionConfig, SystemChanges, docker, local_image,
    native::binaries::{find_on_path, find_postgres_bin},
    setup::apt,
};

use skips::{NEEDS_CHROMIUM, NEEDS_DOCKER, Skip};

const USAGE: &str = "usage: cargo xtask test [--no-install] [-- <arguments for cargo test>]";

mod bottlenecks;
mod detection;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("test") => {}
        Some("detection") => return detection::main(args),
        Some("bottlenecks") => return bottlenecks::main(args),
        _ => {
            eprintln!("{USAGE}\n{}\n{}", detection::USAGE, bottlenecks::USAGE);
            return ExitCode::from(2);
        }
    }
    let mut changes = match ProvisionConfig::from_env() {
        Ok(config) => config.changes,
        Err(e) => {
            eprintln!("xtask: {e}");
            return ExitCode::from(2);
        }
    };
    let mut passthrough = Vec::new();
    for arg in args.by_ref() {
        match arg.as_str() {
            "--no-install" => changes = SystemChanges::Refused,
            "--" => break,
            other => {
                eprintln!("xtask: unknown argument {other:?}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    passthrough.extend(args);

    // The test build and the machine's set-up overlap: one is compilation, the other mostly
    // downloads, package unpacking and image writing, and on a fresh machine each takes
    // minutes.
    let mut build = prebuild(&passthrough);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("xtask: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let skips = match runtime.block_on(prepare(changes)) {
        Ok(skips) => skips,
        Err(message) => {
            if let Some(build) = build.as_mut() {
                let _ = build.kill();
                let _ = build.wait();
            }
            eprintln!("xtask: the machine is not ready for the tests:\n{message}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(mut build) = build {
        eprintln!("xtask: waiting for the test build started alongside the set-up");
        // Its outcome is not judged here: `cargo test` below rebuilds nothing that built and
        // prints any compile error in full.
        let _ = build.wait();
    }
    run_tests(&passthrough, &skips)
}

/// Starts `cargo test --workspace --no-run` with the user's cargo arguments, its output
/// discarded (the `cargo test` that follows prints any error); `None` if it cannot start.
fn prebuild(passthrough: &[String]) -> Option<std::process::Child> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let (cargo_args, _) = skips::test_args(passthrough, &[]);
    eprintln!("xtask: building the tests while the machine is set up");
    Command::new(cargo)
        .args(["test", "--workspace", "--no-run", "--quiet"])
        .args(&cargo_args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()
}

/// Installs what is missing and builds the image; returns the tests this machine cannot run.
async fn prepare(changes: SystemChanges) -> Result<Vec<Skip>, String> {
    let observer = Observer::default();
    let started = Instant::now();
    let mut skips = Vec::new();
    if skips::asked("GAUNTLET_SKIP_BROWSER_TESTS") {
        skips.push(Skip {
            filter: NEEDS_CHROMIUM,
            reason: "GAUNTLET_SKIP_BROWSER_TESTS=1".to_owned(),
        });
    }
    // Asked to leave Docker alone: no engine is contacted and no image built.
    let docker = if skips::asked("GAUNTLET_SKIP_DOCKER_TESTS") {
        skips.push(Skip {
            filter: NEEDS_DOCKER,
            reason: "GAUNTLET_SKIP_DOCKER_TESTS=1".to_owned(),
        });
        None
    } else {
        docker::connect(Duration::from_secs(2)).await.ok()
    };
    let image_missing = match &docker {
        Some(docker) => !local_image::local_image_present(docker)
            .await
            .map_err(|e| e.to_string())?,
        None => false,
    };
    let missing = missing_packages(image_missing);
    if !missing.is_empty() {
        apt::install_if_allowed(&missing, "the test suite", changes, &observer).await?;
    }
    skips.extend(pypi::kubernetes_validate(changes, &observer));
    let Some(docker) = docker else {
        if skips.iter().all(|s| s.filter != NEEDS_DOCKER) {
            observer.step("no Docker engine answers: the docker-backend tests are skipped");
            skips.push(Skip {
                filter: NEEDS_DOCKER,
                reason: "no Docker engine answers".to_owned(),
            });
        }
        return Ok(skips);
    };
    if image_missing {
        if changes == SystemChanges::Refused {
            return Err(format!(
                "the docker-backend tests need the local image {}, which is absent; building it \
                 is refused (--no-install). Run:\n  gauntlet image build",
                local_image::local_image_reference()
            ));
        }
        observer.step(&format!(
            "the docker-backend tests need {}: building it (2–3 minutes, once)",
            local_image::local_image_reference()
        ));
        // Under the same lock a concurrent `gauntlet run` would take.
        let outcome = local_image::build_local_image(&docker, |line| observer.progress(line))
            .await
            .map_err(|e| e.to_string())?;
        observer.step(&format!(
            "{} ready after {:.1} s",
            outcome.reference,
            outcome.elapsed.as_secs_f64()
        ));
    }
    observer.step(&format!(
        "machine ready for the tests in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(skips)
}

/// Debian packages the suite needs that this machine lacks.
fn missing_packages(image_to_build: bool) -> Vec<&'static str> {
    let browser = std::env::var_os("GAUNTLET_CHROMIUM").is_some()
        || find_on_path("chromium").is_some()
        || skips::asked("GAUNTLET_SKIP_BROWSER_TESTS");
    let checks = [
        (
            "postgresql",
            find_postgres_bin("postgres").is_some() && find_postgres_bin("initdb").is_some(),
        ),
        ("redis-server", find_on_path("redis-server").is_some()),
        // Every local run evaluates the alert rules in Prometheus (node_exporter for the disk
        // alert), and the rules' own tests run promtool, which comes with it.
        (
            "prometheus",
            find_on_path("prometheus").is_some() && find_on_path("promtool").is_some(),
        ),
        (
            "prometheus-node-exporter",
            find_on_path("prometheus-node-exporter").is_some(),
        ),
        ("chromium", browser),
        (
            "mmdebstrap",
            !image_to_build || find_on_path("mmdebstrap").is_some(),
        ),
    ];
    checks
        .into_iter()
        .filter(|(_, present)| !present)
        .map(|(package, _)| package)
        .collect()
}

fn run_tests(passthrough: &[String], skips: &[Skip]) -> ExitCode {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let (cargo_args, test_args) = skips::test_args(passthrough, skips);
    let mut command = Command::new(&cargo);
    // Every test binary runs even when an earlier one failed: CI shows all failures at once.
    command
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(&cargo_args);
    if !test_args.is_empty() {
        command.arg("--").args(&test_args);
    }
    eprintln!(
        "xtask: running cargo test --workspace --no-fail-fast {}{}",
        cargo_args.join(" "),
        if test_args.is_empty() {
            String::new()
        } else {
            format!(" -- {}", test_args.join(" "))
        }
    );
    let status = command.status();
    skips::report(&cargo, passthrough, skips);
    match status {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => ExitCode::from(
            status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(1),
        ),
        Err(e) => {
            eprintln!("xtask: starting cargo test: {e}");
            ExitCode::FAILURE
        }
    }
}
