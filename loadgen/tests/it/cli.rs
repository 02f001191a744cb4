//! `gauntlet env` and `gauntlet serve` as a user runs them.

use std::{
    io::{BufRead, BufReader},
    net::TcpStream,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use nix::{sys::signal::Signal, unistd::Pid};

fn gauntlet() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gauntlet"));
    cmd.env_remove("GAUNTLET_BACKEND").env("NO_COLOR", "1");
    cmd
}

/// A loopback port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[test]
fn env_reports_native_when_docker_is_unreachable_within_two_seconds() {
    let started = Instant::now();
    let output = gauntlet()
        .arg("env")
        .env("DOCKER_HOST", format!("tcp://127.0.0.1:{}", closed_port()))
        .output()
        .expect("gauntlet env runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "exit {:?}: {stdout}",
        output.status
    );
    assert!(stdout.contains("reachable: no"), "{stdout}");
    assert!(stdout.contains("backend auto → native"), "{stdout}");
    assert!(stdout.contains("initdb:"), "{stdout}");
    // The whole decision: probe the daemon, give up, find the native binaries.
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_secs(2),
        "auto took {elapsed:?} to fall back"
    );
}

#[test]
fn env_rejects_an_unknown_backend_as_bad_input() {
    let output = gauntlet()
        .args(["env", "--backend", "dokcer"])
        .output()
        .expect("gauntlet env runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("dokcer"));
}

/// `serve` with Docker unreachable falls back to native within 2 s, serves real servers, and
/// Ctrl-C removes them.
#[test]
fn serve_falls_back_to_native_quickly_and_cleans_up_on_ctrl_c() {
    let started = Instant::now();
    let mut child = gauntlet()
        .arg("serve")
        .env("DOCKER_HOST", format!("tcp://127.0.0.1:{}", closed_port()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("gauntlet serve starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut urls = Vec::new();
    let mut backend = String::new();
    for line in lines.by_ref() {
        let line = line.expect("utf-8 output");
        if let Some(rest) = line.strip_prefix("backend:") {
            backend = rest.trim().to_owned();
        }
        if let Some((_, url)) = line.split_once("://") {
            urls.push(url.to_owned());
        }
        if line.starts_with("ready in") {
            break;
        }
    }
    let time_to_ready = started.elapsed();
    assert_eq!(backend, "native");
    assert_eq!(urls.len(), 2, "expected two URLs, got {urls:?}");
    // Includes spawning the binary; the fallback decision itself takes milliseconds.
    assert!(
        time_to_ready < Duration::from_secs(2) + Duration::from_secs(3),
        "took {time_to_ready:?}"
    );
    let ports: Vec<u16> = urls
        .iter()
        .map(|u| {
            let host_port = u
                .rsplit('@')
                .next()
                .unwrap_or(u)
                .split('/')
                .next()
                .unwrap_or(u);
            host_port
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("a port")
        })
        .collect();
    for port in &ports {
        assert!(
            TcpStream::connect(("127.0.0.1", *port)).is_ok(),
            "port {port} not serving"
        );
    }

    nix::sys::signal::kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).expect("signal");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "serve did not stop after SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "serve exited with {status}");
    for port in &ports {
        assert!(
            TcpStream::connect(("127.0.0.1", *port)).is_err(),
            "port {port} still serving"
        );
    }
}
