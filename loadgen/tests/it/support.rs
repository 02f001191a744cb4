//! The harness every module shares: the `gauntlet` binary as a user runs it, temp dirs,
//! reading what a run wrote, processes and their children, and polling with a deadline.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use serde_json::Value;

/// How often [`poll_until`] asks: often enough that a test waits little past the moment,
/// rarely enough not to load a 2-core machine.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// The `gauntlet` binary on the native backend (fast, no Docker), plain output, and none of
/// the caller's `RUST_LOG`.
pub(crate) fn gauntlet() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gauntlet"));
    cmd.env("GAUNTLET_BACKEND", "native")
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG");
    cmd
}

pub(crate) fn out_dir(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("gauntlet-{name}-"))
        .tempdir()
        .expect("temp dir")
}

/// The report's `run` section, typed: backend and wiring compare as enums, not as text.
pub(crate) fn run_info(report: &Value) -> gauntlet_reports::model::RunInfo {
    serde_json::from_value(report["run"].clone()).expect("run section parses")
}

pub(crate) fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} unreadable: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

/// Runs `cmd`, which must be refused as bad input (exit 2); returns its stderr, where the
/// refusal is explained.
pub(crate) fn bad_input(cmd: &mut Command) -> String {
    let output = cmd.output().expect("gauntlet runs");
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub(crate) fn explain(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// [`explain`], plus why the report in `out` says what it says (a `--quiet` run prints only
/// its verdict): its reasons and every failing threshold with what was observed.
pub(crate) fn explain_run(output: &Output, out: &Path) -> String {
    let mut text = explain(output);
    if let Ok(raw) = std::fs::read_to_string(out.join("report.json"))
        && let Ok(report) = serde_json::from_str::<serde_json::Value>(&raw)
    {
        text.push_str(&format!("\n--- reasons\n{:#}", report["reasons"]));
        for t in report["thresholds"].as_array().into_iter().flatten() {
            if t["pass"] == false {
                text.push_str(&format!(
                    "\nfailed: {} (observed {})",
                    t["expression"], t["observed"]
                ));
            }
        }
    }
    text
}

/// `gauntlet run --quiet --out <out> <spec>` on `cmd` (a [`gauntlet`], perhaps with an
/// environment of the caller's); its output, whatever the exit.
pub(crate) fn run_spec(mut cmd: Command, out: impl AsRef<Path>, spec: impl AsRef<Path>) -> Output {
    cmd.args(["run", "--quiet", "--out"])
        .arg(out.as_ref())
        .arg(spec.as_ref())
        .output()
        .expect("gauntlet runs")
}

/// A one-stage spec (2 s, two employees) with one threshold, written to `dir/tiny.toml`.
pub(crate) fn spec(dir: &Path, threshold: &str) -> PathBuf {
    let path = dir.join("tiny.toml");
    let text = format!(
        "version = 1\ndescription = \"tiny\"\nthresholds = [\n  \"{threshold}\",\n]\n\n\
         [[stages]]\nname = \"hold\"\nkind = \"hold\"\nduration = \"2s\"\nusers = 2\n\n\
         [think_time]\nmin = \"50ms\"\nmax = \"100ms\"\n\n\
         [personas]\nemployee = 1\nmanager = 0\nhr_admin = 0\nprober = 0\n"
    );
    std::fs::write(&path, text).expect("write spec");
    path
}

/// Asks `probe` every [`POLL_INTERVAL`] until it returns `Ok`, for at most `within`; the
/// last `Err` it returned when time ran out.
pub(crate) fn poll<T, E>(
    within: Duration,
    mut probe: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let deadline = Instant::now() + within;
    loop {
        match probe() {
            Ok(value) => return Ok(value),
            Err(last) if Instant::now() >= deadline => return Err(last),
            Err(_) => std::thread::sleep(POLL_INTERVAL),
        }
    }
}

/// [`poll`], failing the test when time runs out: `what` is what was awaited, and the
/// probe's last `Err` says what was seen instead.
pub(crate) fn poll_until<T, E: Display>(
    within: Duration,
    what: &str,
    probe: impl FnMut() -> Result<T, E>,
) -> T {
    poll(within, probe).unwrap_or_else(|last| panic!("{what}: not within {within:?}; last: {last}"))
}

/// Sends SIGINT to `child` and waits (bounded by `within`) until it has exited.
pub(crate) fn interrupt_and_wait(
    child: &mut std::process::Child,
    within: Duration,
) -> std::process::ExitStatus {
    let pid = Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, Signal::SIGINT).expect("signal");
    poll_until(within, "exit after SIGINT", || {
        child.try_wait().expect("wait").ok_or("still running")
    })
}

/// Waits until none of `pids` is alive (a harness's servers after it stopped).
pub(crate) fn assert_all_exit(pids: &[i32], within: Duration) {
    poll_until(within, "servers stopped", || {
        let running: Vec<i32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if running.is_empty() {
            Ok(())
        } else {
            Err(format!("left running: {running:?}"))
        }
    });
}

pub(crate) fn alive(pid: i32) -> bool {
    // A zombie has exited; only its parent's wait is missing.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    })
}

/// Pids whose parent is `pid` (the native Postgres and Redis servers of a run).
pub(crate) fn children_of(pid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let child: i32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // After the parenthesised name: state, then the parent pid.
            let ppid = stat
                .rsplit_once(") ")?
                .1
                .split_whitespace()
                .nth(1)?
                .to_owned();
            (ppid == pid.to_string()).then_some(child)
        })
        .collect()
}

/// For the tests in `needs_docker` modules: fails at once, saying what to do, when no Docker
/// engine answers. `cargo xtask test` filters these tests out on such a machine (and lists
/// them as skipped), so this message is for a direct `cargo test`.
pub(crate) fn require_docker() {
    let answered = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(gauntlet_testcontainers::docker::connect(
            Duration::from_secs(2),
        ));
    if let Err(e) = answered {
        panic!(
            "this test needs a Docker engine and none answers ({e}). Start one, or skip the \
             docker tests: `cargo test -- --skip needs_docker`, which `cargo xtask test` does \
             by itself when no engine answers or GAUNTLET_SKIP_DOCKER_TESTS=1"
        );
    }
}

/// A report.json's requests per endpoint, by name.
pub(crate) fn counts_by_endpoint(report: &Value) -> std::collections::BTreeMap<String, u64> {
    report["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["count"].as_u64().unwrap(),
            )
        })
        .collect()
}
