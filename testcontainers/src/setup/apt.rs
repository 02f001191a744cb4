//! Installing Debian packages, announced, for the servers or the image builder a backend lacks.

use std::{path::Path, process::Stdio, time::Instant};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Command,
};

use crate::{
    native::binaries::find_on_path,
    setup::{Observer, SystemChanges, lock::HostLock, seconds, sudo_prefix},
};

/// The command a user runs to install `packages` by hand. apt's lists may be empty on a fresh
/// machine (container images ship without them), so it always updates first.
pub fn install_command(packages: &[&str]) -> String {
    let sudo = sudo_prefix();
    format!(
        "{sudo}apt-get update && {sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y \
         --no-install-recommends {}",
        packages.join(" ")
    )
}

/// Why this process cannot install packages itself, or `None` when it can: root, on a
/// Debian-family system, with `apt-get`.
pub fn cannot_install() -> Option<String> {
    if !Path::new("/etc/debian_version").is_file() {
        return Some("this is not a Debian-family system (no /etc/debian_version)".to_owned());
    }
    if find_on_path("apt-get").is_none() {
        return Some("apt-get is not on PATH".to_owned());
    }
    if !nix::unistd::geteuid().is_root() {
        return Some("installing needs root (run the printed command with sudo)".to_owned());
    }
    None
}

/// Installs `packages` when `changes` allows it and this process can; otherwise says why not
/// and what to run instead. `needed_for` completes "… needs X".
pub async fn install_if_allowed(
    packages: &[&str],
    needed_for: &str,
    changes: SystemChanges,
    observer: &Observer,
) -> Result<(), String> {
    let refused = match (changes, cannot_install()) {
        (SystemChanges::Refused, _) => Some("installing is refused (--no-install)".to_owned()),
        (SystemChanges::Allowed, cannot) => cannot,
    };
    if let Some(why) = refused {
        return Err(format!(
            "{needed_for} needs {}, which is missing; {why}. Run:\n  {}",
            packages.join(" "),
            install_command(packages)
        ));
    }
    observer.step(&format!(
        "{needed_for} needs {}: installing",
        packages.join(" ")
    ));
    install(packages, observer).await
}

/// Installs `packages` with apt-get, announcing the exact command first and the time it took
/// after. Concurrent callers take turns (apt's own lock would make the second one fail).
pub async fn install(packages: &[&str], observer: &Observer) -> Result<(), String> {
    let _turn = HostLock::acquire("apt", "installing packages", &|l| observer.step(l)).await?;
    let started = Instant::now();
    observer.step(&format!("running: {}", install_command(packages)));
    run(&["update", "-qq"], observer).await?;
    let mut install = vec![
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        // Wait for a dpkg lock held by anything else (unattended-upgrades) instead of failing.
        "-o",
        "DPkg::Lock::Timeout=300",
    ];
    install.extend_from_slice(packages);
    run(&install, observer).await?;
    observer.step(&format!(
        "installed {} in {}",
        packages.join(" "),
        seconds(started.elapsed())
    ));
    Ok(())
}

async fn run(args: &[&str], observer: &Observer) -> Result<(), String> {
    let mut child = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("starting apt-get: {e}"))?;
    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err("capturing apt-get's output".to_owned());
    };
    // Progress from stdout; stderr kept for the error message.
    let relay = async {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            // dpkg's "(Reading database ... 5%" counter is one long line of carriage returns.
            if !line.starts_with("(Reading database") {
                observer.progress(&format!("apt-get: {line}"));
            }
        }
    };
    let collect = async {
        let mut tail = Vec::new();
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tail.push(line);
        }
        tail
    };
    let ((), tail) = tokio::join!(relay, collect);
    let status = child
        .wait()
        .await
        .map_err(|e| format!("waiting for apt-get: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        let tail: Vec<String> = tail.into_iter().rev().take(8).rev().collect();
        Err(format!(
            "apt-get {} failed ({status}): {}",
            args.first().unwrap_or(&""),
            tail.join(" / ")
        ))
    }
}
