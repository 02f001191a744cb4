//! The reference service's own log, kept apart from the harness's during a local run.
//!
//! In process, the service logs through the same global `tracing` subscriber as the harness;
//! its events are recognised by target ([`SERVICE_TARGETS`]). While a [`ServiceLog`] is open
//! they go to `service.log` in the run's directory instead of the terminal, and each one that
//! names a `dependency` (the service's "answered 503 because Postgres/Redis is away") feeds
//! the [`Episodes`] that the terminal sees as one line each. A service in a child process
//! logs to a pipe whose lines go the same way ([`ServiceLog::forward_child`]).
//!
//! The state is global because the subscriber is: there is one per process, installed before
//! the run exists.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, BufReader};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{FilterExt, Targets, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::episodes::Episodes;

/// The file's name in the run's directory; `report.json`'s `run.service_log` names it.
pub const FILE_NAME: &str = "service.log";

/// Targets of the service's events in this process: its own crate and what it serves and
/// queries with. Prefixes, as `Targets` matches them (`sqlx` covers `sqlx_core::pool`). The
/// harness's own `sqlx` queries (seeding, the ledger) land in the file too.
const SERVICE_TARGETS: &[&str] = &["hrms", "sqlx", "tower_http", "axum"];

/// How often ended episodes are printed; bounds how late the line comes.
const PRINT_EVERY: Duration = Duration::from_millis(250);

/// Fast path for every event's filter: is a log open?
static ACTIVE: AtomicBool = AtomicBool::new(false);

static CAPTURE: Mutex<Option<Capture>> = Mutex::new(None);

struct Capture {
    file: File,
    /// `None` with `--quiet`: nothing is printed, so nothing is tracked.
    episodes: Option<Episodes>,
    /// Episode offsets count from here (the report's start, once the attack begins).
    origin_unix_us: u64,
}

fn capture() -> MutexGuard<'static, Option<Capture>> {
    CAPTURE.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_unix_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Whether `meta` is a service event that goes to the file rather than the terminal.
pub fn diverts(meta: &Metadata<'_>) -> bool {
    ACTIVE.load(Ordering::Relaxed) && is_service(meta)
}

fn is_service(meta: &Metadata<'_>) -> bool {
    SERVICE_TARGETS.iter().any(|t| meta.target().starts_with(t))
}

/// The layers writing diverted events to the file (INFO and up, the service's own default)
/// and counting the dependency WARNs into episodes. `Targets` decides once per call site, so
/// the harness's own hot-path events never reach the per-event check of `ACTIVE`.
pub fn layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let targets =
        |level: Level| Targets::new().with_targets(SERVICE_TARGETS.iter().map(|t| (*t, level)));
    let active = || filter_fn(|_| ACTIVE.load(Ordering::Relaxed));
    let file = tracing_subscriber::fmt::layer()
        .with_writer(FileWriter)
        .with_ansi(false)
        .with_filter(targets(Level::INFO).and(active()));
    let episodes = EpisodeCounter.with_filter(targets(Level::WARN).and(active()));
    file.and_then(episodes)
}

/// Hands the fmt layer the open file (or nothing, when the run has closed it meanwhile).
struct FileWriter;

impl<'a> MakeWriter<'a> for FileWriter {
    type Writer = FileHandle;
    fn make_writer(&'a self) -> FileHandle {
        FileHandle
    }
}

struct FileHandle;

impl Write for FileHandle {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match capture().as_mut() {
            Some(c) => c.file.write(buf),
            None => Ok(buf.len()),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Counts events with a `dependency` field (`tracing::warn!(dependency = "postgres", …)`).
struct EpisodeCounter;

impl<S: Subscriber> Layer<S> for EpisodeCounter {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut visitor = Dependency(None);
        event.record(&mut visitor);
        let Some(dependency) = visitor.0 else { return };
        if let Some(episodes) = capture().as_mut().and_then(|c| c.episodes.as_mut()) {
            episodes.record(&dependency, now_unix_us());
        }
    }
}

struct Dependency(Option<String>);

impl Visit for Dependency {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "dependency" {
            self.0 = Some(value.to_owned());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "dependency" {
            self.0 = Some(format!("{value:?}").trim_matches('"').to_owned());
        }
    }
}

/// One line of a child service's log. The child is this executable with the same subscriber
/// (plain text, no colours on a pipe), so a failed request reads
/// `… WARN dependency unavailable dependency="postgres"`.
fn child_line(line: &str) {
    let dependency = line
        .contains(" WARN ")
        .then(|| line.split_once("dependency=\"")?.1.split_once('"'))
        .flatten()
        .map(|(name, _)| name);
    if let Some(c) = capture().as_mut() {
        let _ = writeln!(c.file, "{line}");
        if let (Some(episodes), Some(dependency)) = (c.episodes.as_mut(), dependency) {
            episodes.record(dependency, now_unix_us());
        }
    }
}

/// An open service log; closing (or dropping) it gives the terminal back its service events.
pub struct ServiceLog {
    path: PathBuf,
    printer: Option<tokio::task::JoinHandle<()>>,
}

impl ServiceLog {
    /// Creates `dir/service.log` (and `dir`) and diverts the service's events to it. Unless
    /// `quiet`, ended episodes are printed to stderr as they end. Needs a tokio runtime.
    pub fn open(dir: &Path, quiet: bool) -> std::io::Result<ServiceLog> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(FILE_NAME);
        File::create(&path)?;
        // Appending: the parent's writes and a child service's (its own descriptor on the
        // same file) must not overwrite each other.
        let file = File::options().append(true).open(&path)?;
        *capture() = Some(Capture {
            file,
            episodes: (!quiet).then(Episodes::default),
            origin_unix_us: now_unix_us(),
        });
        ACTIVE.store(true, Ordering::Relaxed);
        let printer = (!quiet).then(|| tokio::spawn(print_ended_episodes()));
        Ok(ServiceLog { path, printer })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where a child service's stderr goes: a pipe for [`ServiceLog::forward_child`] while a
    /// log is open, else the harness's stderr.
    pub fn child_stderr() -> Stdio {
        if ACTIVE.load(Ordering::Relaxed) {
            Stdio::piped()
        } else {
            Stdio::inherit()
        }
    }

    /// Copies a child service's stderr into the file, line by line, and counts its
    /// dependency WARNs into episodes like the in-process service's. Ends with the child.
    pub fn forward_child(stderr: tokio::process::ChildStderr) {
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                child_line(&line);
            }
        });
    }

    /// Episode offsets count from `unix_us` from now on (the report's start of measurement).
    pub fn set_origin(unix_us: u64) {
        if let Some(c) = capture().as_mut() {
            c.origin_unix_us = unix_us;
        }
    }

    /// Prints the episodes still open and stops diverting.
    pub fn close(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(printer) = self.printer.take() {
            printer.abort();
        }
        ACTIVE.store(false, Ordering::Relaxed);
        let taken = capture().take();
        if let Some(mut c) = taken {
            let _ = c.file.flush();
            for episode in c.episodes.iter_mut().flat_map(Episodes::take_all) {
                print_line(&episode.line(c.origin_unix_us));
            }
        }
    }
}

impl Drop for ServiceLog {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Every [`PRINT_EVERY`]: the episodes that ended, one line each.
async fn print_ended_episodes() {
    let mut tick = tokio::time::interval(PRINT_EVERY);
    loop {
        tick.tick().await;
        let lines: Vec<String> = match capture().as_mut() {
            Some(c) => {
                let origin = c.origin_unix_us;
                let ended = c.episodes.as_mut().map(|e| e.take_ended(now_unix_us()));
                ended
                    .unwrap_or_default()
                    .iter()
                    .map(|e| e.line(origin))
                    .collect()
            }
            None => return,
        };
        for line in lines {
            print_line(&line);
        }
    }
}

/// One line on stderr. On a terminal the progress line is being rewritten in place
/// (`run/progress.rs`): clear it first, and the next tick redraws it below this line.
fn print_line(line: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("\r\x1b[2K{line}");
    } else {
        eprintln!("{line}");
    }
}
