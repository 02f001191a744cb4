//! Ephemeral Redis on a pinned loopback port.

use std::path::Path;

use nix::sys::signal::Signal;

use super::{binaries::NativeBinaries, process::LaunchSpec};

/// The launch spec for `redis-server` with its working files in `instance_dir`.
pub fn launch_spec(bins: &NativeBinaries, instance_dir: &Path, port: u16) -> LaunchSpec {
    let args = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--dir",
        &instance_dir.display().to_string(),
        // No RDB snapshots: a fork per save would add latency spikes the harness would then
        // attribute to the service.
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    LaunchSpec {
        program: bins.redis_server.clone(),
        args,
        run_as: None,
        log_path: instance_dir.join("redis.log"),
        stop_signal: Signal::SIGTERM,
    }
}
