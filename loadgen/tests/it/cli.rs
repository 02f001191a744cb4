//! The CLI as a user meets it: `--help`, error lines, `gauntlet env` and `gauntlet serve`.

use std::{
    io::{BufRead, BufReader},
    net::TcpStream,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use crate::support::{alive, bad_input, children_of, explain, interrupt_and_wait, poll_until};

fn gauntlet() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gauntlet"));
    cmd.env_remove("GAUNTLET_BACKEND").env("NO_COLOR", "1");
    cmd
}

/// The port of a `postgres: URL` or `redis: URL` line of `gauntlet serve`'s banner.
fn dependency_port(line: &str) -> Option<u16> {
    if !(line.starts_with("postgres:") || line.starts_with("redis:")) {
        return None;
    }
    line.rsplit(':')
        .next()
        .and_then(|p| p.split('/').next()?.parse::<u16>().ok())
}

/// A loopback port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// The help a newcomer reads first says what the tool does (not what the crate is) and which
/// commands to type.
#[test]
fn help_opens_with_what_the_tool_does_and_lists_the_first_commands() {
    for flag in ["--help", "-h"] {
        let output = gauntlet().arg(flag).output().expect("gauntlet --help runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        assert_eq!(
            stdout.lines().next(),
            Some("Load and chaos testing for multi-tenant HTTP services."),
            "{stdout}"
        );
        assert!(
            !stdout.contains("crate"),
            "a developer's line leaked in: {stdout}"
        );
        for command in ["gauntlet run smoke", "gauntlet list", "gauntlet serve"] {
            assert!(
                stdout.lines().any(|l| l.trim_start().starts_with(command)),
                "{flag}: no line starting with `{command}`:\n{stdout}"
            );
        }
    }
}

/// anyhow prints an error's message, then each `source()`: a cause that is in both would be
/// printed twice on the one error line a user reads. Two real chains, through the binary.
#[test]
fn an_error_line_names_its_cause_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("credentials.json");
    std::fs::write(&credentials, "{}").expect("write credentials");
    let stderr = bad_input(
        gauntlet()
            .args([
                "run",
                "smoke",
                "--target",
                "http://127.0.0.1:9",
                "--credentials",
            ])
            .arg(&credentials),
    );
    assert!(stderr.contains("not valid JSON for a fixture"), "{stderr}");
    assert_eq!(
        stderr.matches("missing field `tenants`").count(),
        1,
        "{stderr}"
    );

    let missing = dir.path().join("no-such-scenario.toml");
    let stderr = bad_input(gauntlet().arg("run").arg(&missing));
    assert!(stderr.contains("cannot read scenario file"), "{stderr}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
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
    let stderr = bad_input(gauntlet().args(["env", "--backend", "dokcer"]));
    assert!(stderr.contains("dokcer"), "{stderr}");
}

#[test]
fn probe_rejects_an_unknown_defect_as_bad_input_before_provisioning() {
    let stderr = bad_input(gauntlet().args(["probe", "--defect", "unscoped_employee_raed"]));
    assert!(stderr.contains("unscoped_employee_raed"), "{stderr}");
}

/// `serve` with Docker unreachable falls back to native, serves the reference service with demo
/// tenants of every tier, and Ctrl-C removes everything it started.
#[test]
fn serve_falls_back_to_native_serves_demo_tenants_and_cleans_up_on_ctrl_c() {
    let mut child = gauntlet()
        .arg("serve")
        .env("DOCKER_HOST", format!("tcp://127.0.0.1:{}", closed_port()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("gauntlet serve starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut service_port = None;
    let mut backend = String::new();
    let mut tiers = Vec::new();
    let mut logins = 0;
    let mut dependency_ports = Vec::new();
    // Bounded: the process prints a fixed banner; `lines` ends if it dies.
    for line in BufReader::new(stdout).lines().take(100) {
        let line = line.expect("utf-8 output");
        if let Some(rest) = line.strip_prefix("service:") {
            let url = rest.split_whitespace().next().unwrap_or_default();
            service_port = url.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
        }
        dependency_ports.extend(dependency_port(&line));
        if let Some(rest) = line.strip_prefix("backend:") {
            backend = rest.trim().to_owned();
        }
        if let Some(tier) = line.split('[').nth(1).and_then(|t| t.split(']').next()) {
            tiers.push(tier.to_owned());
        }
        if line.trim_start().starts_with("hr_admin") {
            logins += 1;
        }
        if line.starts_with("ready;") {
            break;
        }
    }
    assert_eq!(backend, "native");
    tiers.sort();
    assert_eq!(tiers, ["enterprise", "free", "professional", "starter"]);
    assert_eq!(logins, 4, "one hr_admin login per tenant");
    let port = service_port.expect("a service URL with a port");
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("service listening");
    use std::io::{Read, Write};
    conn.write_all(b"GET /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("request");
    let mut answer = String::new();
    conn.read_to_string(&mut answer).expect("response");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let status = interrupt_and_wait(&mut child, Duration::from_secs(30));
    assert!(status.success(), "serve exited with {status}");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "service still serving"
    );
}

/// A `gauntlet serve` that is interrupted (and so cleans up) however the test ends.
struct Serving(std::process::Child);

impl Drop for Serving {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            interrupt_and_wait(&mut self.0, Duration::from_secs(30));
        }
    }
}

/// The file `serve` writes is what `run --target` reads: the printed command, run as printed
/// (scaled down), drives the served service to a passing verdict.
#[test]
fn serve_writes_the_credentials_file_and_its_printed_run_command_works() {
    let dir = tempfile::tempdir().expect("temp dir");
    let credentials = dir.path().join("nested/credentials.json");
    let mut serving = Serving(
        gauntlet()
            .args(["serve", "--backend", "native", "--credentials-out"])
            .arg(&credentials)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gauntlet serve starts"),
    );
    let stdout = serving.0.stdout.take().expect("piped stdout");
    let (mut shown_file, mut command) = (None, None);
    // Bounded: the process prints a fixed banner; `lines` ends if it dies.
    for line in BufReader::new(stdout).lines().take(100) {
        let line = line.expect("utf-8 output");
        if let Some(rest) = line.strip_prefix("credentials:") {
            shown_file = Some(rest.trim().to_owned());
        }
        if let Some(rest) = line.strip_prefix("try:") {
            command = Some(rest.trim().to_owned());
        }
        if line.starts_with("ready;") {
            break;
        }
    }
    assert_eq!(shown_file.as_deref(), credentials.to_str());
    let fixture = gauntlet_scenarios::hrms::Fixture::from_json(
        &std::fs::read_to_string(&credentials).expect("credentials file written"),
    )
    .expect("the file parses as `run --credentials` reads it");
    assert_eq!(fixture.tenants.len(), 4, "one tenant per tier");

    let command = command.expect("a `try:` line with the run command");
    let words: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(words[..2], ["gauntlet", "run"], "{command}");
    let url = words[words
        .iter()
        .position(|w| *w == "--target")
        .expect("--target")
        + 1];
    assert!(url.starts_with("http://127.0.0.1:"), "{command}");
    let report_dir = dir.path().join("report");
    let output = gauntlet()
        .args(&words[1..])
        .args(["--duration-scale", "0.1", "--quiet", "--out"])
        .arg(&report_dir)
        .output()
        .expect("gauntlet run runs");
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report_dir.join("report.json")).expect("report.json"),
    )
    .expect("report.json is JSON");
    assert_eq!(report["run"]["target"], url.trim_end_matches('/'));
    assert!(
        report["total"]["count"].as_u64() > Some(0),
        "{}",
        report["total"]
    );
}

/// A harness killed with SIGKILL cannot clean up, but its native servers do not outlive it:
/// the kernel sends them their parent-death signal. What they leave on disk, the next native
/// provisioning on the machine finds by their leases and removes.
#[test]
fn native_servers_die_with_a_sigkilled_harness_and_the_next_sweep_removes_their_directories() {
    let ports = serve_then_sigkill("native");
    assert_ports_close(&ports, "after the harness died, with no sweep");
    let sweep = gauntlet_testcontainers::native::reap_orphans();
    assert!(sweep.reaped.len() >= 2, "{sweep:?}");
}

/// With `--service-process` the service is one more child; a harness killed with SIGKILL
/// takes it along with the native servers, with no sweep and no polling.
#[test]
fn a_sigkilled_harness_takes_its_service_process_and_servers_with_it() {
    let out = tempfile::tempdir().expect("temp dir");
    let mut child = gauntlet()
        .args(["run", "smoke", "--service-process", "--backend", "native"])
        .arg("--out")
        .arg(out.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gauntlet starts");
    // Under way once the first progress line (non-tty: every 5 s) is out.
    let stderr = child.stderr.take().expect("piped stderr");
    let (progress_tx, progress_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("requests") {
                let _ = progress_tx.send(());
            }
        }
    });
    let progressed = progress_rx.recv_timeout(Duration::from_secs(60)).is_ok();
    let children = children_of(child.id() as i32);
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    assert!(progressed, "no progress line within 60 s");
    assert!(
        children.len() >= 3,
        "Postgres, Redis and the service run as children: {children:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while children.iter().any(|p| alive(*p)) {
        assert!(
            Instant::now() < deadline,
            "outlived the harness: {children:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `gauntlet serve` on `backend`, kills it with SIGKILL once ready and returns the
/// Postgres and Redis ports.
fn serve_then_sigkill(backend: &str) -> Vec<u16> {
    let mut child = gauntlet()
        .arg("serve")
        .env("GAUNTLET_BACKEND", backend)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("gauntlet serve starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut dependency_ports = Vec::new();
    // Bounded: the process prints a fixed banner; `lines` ends if it dies.
    for line in BufReader::new(stdout).lines().take(100) {
        let line = line.expect("utf-8 output");
        dependency_ports.extend(dependency_port(&line));
        if line.starts_with("ready;") {
            break;
        }
    }
    assert_eq!(
        dependency_ports.len(),
        2,
        "postgres and redis ports printed"
    );
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    dependency_ports
}

fn assert_ports_close(ports: &[u16], when: &str) {
    poll_until(
        Duration::from_secs(10),
        &format!("ports closed {when}"),
        || match ports
            .iter()
            .find(|port| TcpStream::connect(("127.0.0.1", **port)).is_ok())
        {
            Some(port) => Err(format!("port {port} still served")),
            None => Ok(()),
        },
    );
}

/// An image nobody can have: absent here, and no registry serves it.
const UNOBTAINABLE_IMAGE: &str = "gauntlet-test/never-published:1";

/// `gauntlet run smoke` on the docker backend with Postgres from [`UNOBTAINABLE_IMAGE`]:
/// its exit code and stderr.
fn run_with_unobtainable_image(extra: &[&str]) -> (Option<i32>, String) {
    let out = tempfile::tempdir().expect("temp dir");
    let output = gauntlet()
        .args(["run", "smoke", "--backend", "docker", "--quiet"])
        .args(["--postgres-image", UNOBTAINABLE_IMAGE])
        .args(extra)
        .arg("--out")
        .arg(out.path())
        .output()
        .expect("gauntlet run starts");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Tests of the docker backend: `cargo xtask test` filters them out by this module's name on a
/// machine where no Docker engine answers, and lists them as skipped.
mod needs_docker {
    use super::*;
    use crate::support::require_docker;

    /// The same for containers: the owner's PID and start time ride in labels.
    #[test]
    fn containers_of_a_sigkilled_harness_are_reaped_by_the_next_sweep() {
        require_docker();
        let ports = serve_then_sigkill("docker");
        // Containers are not children: nothing but the sweep stops them.
        for port in &ports {
            assert!(
                TcpStream::connect(("127.0.0.1", *port)).is_ok(),
                "port {port}: the orphan this test is about should still be serving"
            );
        }
        let removed = tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(async {
                let docker = gauntlet_testcontainers::docker::connect(Duration::from_secs(5))
                    .await
                    .expect("docker answers");
                gauntlet_testcontainers::docker::reap_orphan_containers(&docker).await
            });
        assert!(removed >= 2, "removed {removed} containers");
        assert_ports_close(&ports, "after the sweep");
    }

    /// `--no-install` changes nothing: no pull is attempted, and the error is the command to run.
    #[test]
    fn no_install_refuses_to_fetch_a_missing_image_and_prints_the_command_with_exit_3() {
        require_docker();
        let (code, stderr) = run_with_unobtainable_image(&["--no-install"]);
        assert_eq!(code, Some(3), "{stderr}");
        assert!(stderr.contains("--no-install"), "{stderr}");
        assert!(
            stderr.contains(&format!("docker pull {UNOBTAINABLE_IMAGE}")),
            "{stderr}"
        );
        assert!(
            !stderr.contains(&format!("pulling {UNOBTAINABLE_IMAGE}")),
            "a pull was attempted: {stderr}"
        );
    }

    /// Without `--no-install` the run tries the pull, says so, and when it fails names the
    /// command; the local image is not built for an image the user named.
    #[test]
    fn a_failed_pull_is_announced_and_ends_in_exit_3_naming_the_command() {
        require_docker();
        let (code, stderr) = run_with_unobtainable_image(&[]);
        assert_eq!(code, Some(3), "{stderr}");
        assert!(
            stderr.contains(&format!("pulling {UNOBTAINABLE_IMAGE}")),
            "{stderr}"
        );
        assert!(stderr.contains("could not pull"), "{stderr}");
        assert!(
            stderr.contains(&format!("docker pull {UNOBTAINABLE_IMAGE}")),
            "{stderr}"
        );
        assert!(
            !stderr.contains("building gauntlet-deps"),
            "built an image for a named one: {stderr}"
        );
    }
}
