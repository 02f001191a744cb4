//! A real Prometheus beside the run (Debian's `prometheus` package, as a supervised child
//! process on loopback), scraping the service every second and loaded with the rules file;
//! and, when this host can reach Postgres's data directory (natively, or a running container's
//! through its `/proc/<pid>/root`), node_exporter's filesystem collector for the disk alert.
//!
//! Why node_exporter rather than an exporter of our own: it is what a deployment already runs
//! on its database hosts, so the disk rule is written against the metric names operators
//! know (`node_filesystem_avail_bytes` / `_size_bytes`), and the run tests the rule that
//! would be deployed. Only the filesystem collector is enabled, and the scrape keeps only the
//! mount that holds the data directory, labelled `volume="postgres-data"` as the rule expects.
//!
//! Prometheus runs natively whatever the backend of Postgres and Redis: it must reach the
//! service on the host's loopback, which a container on Docker's bridge network cannot.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use gauntlet_testcontainers::disk::DataDisk;
use gauntlet_testcontainers::native::binaries::find_on_path;
use gauntlet_testcontainers::process::Supervised;
use gauntlet_testcontainers::setup::apt;
use gauntlet_testcontainers::{Observer, SystemChanges};
use nix::sys::signal::Signal;

/// Debian's names for the two binaries (and their packages).
const PROMETHEUS: &str = "prometheus";
const NODE_EXPORTER: &str = "prometheus-node-exporter";

/// Scrape and rule evaluation interval: the run's clock ticks in seconds.
const INTERVAL: &str = "1s";
/// Below the interval, as Prometheus requires.
const SCRAPE_TIMEOUT: &str = "900ms";
/// How long Prometheus and node_exporter get to answer after their start.
const READY_DEADLINE: Duration = Duration::from_secs(30);
/// How long a stop may take before the process is killed (Prometheus flushes its head block).
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What Prometheus is to scrape.
pub struct Scrape<'a> {
    /// The service's base URL (`http://127.0.0.1:PORT`).
    pub service: &'a str,
    /// Postgres's data directory and its filesystem, when this host can reach them (native,
    /// or a running container through its root).
    pub postgres_data: Option<DataDisk>,
}

/// A running Prometheus (and node_exporter) with its scratch directory.
pub struct LocalPrometheus {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The mount node_exporter watches for the disk alert, when there is one.
    pub disk_mount: Option<PathBuf>,
    prometheus: Supervised,
    node_exporter: Option<Supervised>,
    _dir: ScratchDir,
}

impl LocalPrometheus {
    /// Installs the packages when they are missing (and allowed), writes the configuration
    /// and the (scaled) rules, starts both processes and waits until they answer.
    pub async fn start(
        scrape: &Scrape<'_>,
        rules_yaml: &str,
        changes: SystemChanges,
        observer: &Observer,
    ) -> anyhow::Result<LocalPrometheus> {
        ensure_installed(changes, observer).await?;
        let dir = ScratchDir::create()?;
        let disk = scrape
            .postgres_data
            .as_ref()
            .and_then(|disk| Some((disk, disk.mount_point()?)));
        let node_exporter = match disk {
            Some((disk, _)) => Some(start_node_exporter(&dir.0, disk).await?),
            None => None,
        };
        let disk_mount = disk.map(|(_, mount)| mount);
        let port = free_port()?;
        let config = config(
            scrape.service,
            node_exporter.as_ref().map(|(_, addr)| addr.as_str()),
            disk_mount.as_deref(),
        )?;
        std::fs::write(dir.0.join("prometheus.yml"), config).context("writing prometheus.yml")?;
        std::fs::write(dir.0.join("rules.yml"), rules_yaml).context("writing rules.yml")?;
        let log = std::fs::File::create(dir.0.join("prometheus.log"))?;
        let mut command = Command::new(PROMETHEUS);
        command
            .arg(format!(
                "--config.file={}",
                dir.0.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let mut prometheus =
            Supervised::spawn(command, Signal::SIGKILL).context("starting prometheus")?;
        let url = format!("http://127.0.0.1:{port}");
        let log = dir.0.join("prometheus.log");
        wait_answers(&mut prometheus, &format!("{url}/-/ready"), &log).await?;
        Ok(LocalPrometheus {
            url,
            disk_mount,
            prometheus,
            node_exporter: node_exporter.map(|(p, _)| p),
            _dir: dir,
        })
    }

    /// Stops both processes (SIGTERM, then SIGKILL after a grace); the directory goes too.
    pub async fn stop(self) {
        self.prometheus.stop(Signal::SIGTERM, STOP_GRACE).await;
        if let Some(node) = self.node_exporter {
            node.stop(Signal::SIGTERM, STOP_GRACE).await;
        }
    }
}

async fn ensure_installed(changes: SystemChanges, observer: &Observer) -> anyhow::Result<()> {
    let missing: Vec<&str> = [PROMETHEUS, NODE_EXPORTER]
        .into_iter()
        .filter(|b| find_on_path(b).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    apt::install_if_allowed(&missing, "evaluating the alert rules", changes, observer)
        .await
        .map_err(|e| anyhow::anyhow!(e))
        .context("--no-alerts runs without Prometheus")
}

/// node_exporter with the filesystem collector alone, on a free loopback port, looking at the
/// filesystems of `disk`'s root (a container's through `/proc/<pid>/root`, as a node_exporter
/// deployed beside the database would see them).
async fn start_node_exporter(dir: &Path, disk: &DataDisk) -> anyhow::Result<(Supervised, String)> {
    let port = free_port()?;
    let addr = format!("127.0.0.1:{port}");
    let log_path = dir.join("node-exporter.log");
    let log = std::fs::File::create(&log_path)?;
    let mut command = Command::new(NODE_EXPORTER);
    command
        .arg("--collector.disable-defaults")
        .arg("--collector.filesystem")
        .arg(format!("--path.rootfs={}", disk.rootfs.display()))
        .arg(format!("--path.procfs={}", disk.procfs.display()))
        .arg(format!("--web.listen-address={addr}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    let mut child =
        Supervised::spawn(command, Signal::SIGKILL).context("starting node_exporter")?;
    wait_answers(&mut child, &format!("http://{addr}/metrics"), &log_path).await?;
    Ok((child, addr))
}

/// prometheus.yml, written as JSON (which YAML reads as it is).
fn config(
    service: &str,
    node_exporter: Option<&str>,
    disk_mount: Option<&Path>,
) -> anyhow::Result<String> {
    let service = url::Url::parse(service).context("the service's URL")?;
    let host = format!(
        "{}:{}",
        service.host_str().unwrap_or("127.0.0.1"),
        service.port_or_known_default().unwrap_or(80)
    );
    let mut jobs = vec![serde_json::json!({
        "job_name": "hrms",
        "metrics_path": "/metrics",
        "static_configs": [{ "targets": [host] }],
    })];
    if let (Some(addr), Some(mount)) = (node_exporter, disk_mount) {
        jobs.push(serde_json::json!({
            "job_name": "postgres-disk",
            "static_configs": [{ "targets": [addr], "labels": { "volume": "postgres-data" } }],
            // Every other filesystem of this machine is not the database's.
            "metric_relabel_configs": [{
                "source_labels": ["mountpoint"],
                "regex": regex_literal(&mount.to_string_lossy()),
                "action": "keep",
            }],
        }));
    }
    let config = serde_json::json!({
        "global": {
            "scrape_interval": INTERVAL,
            "scrape_timeout": SCRAPE_TIMEOUT,
            "evaluation_interval": INTERVAL,
        },
        "rule_files": ["rules.yml"],
        "scrape_configs": jobs,
    });
    Ok(serde_json::to_string_pretty(&config)?)
}

/// `text` as an RE2 pattern matching exactly it (Prometheus anchors relabel regexes).
fn regex_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        if !ch.is_alphanumeric() && ch != '/' && ch != '_' {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .context("choosing a loopback port")?
        .port())
}

/// Polls `url` until it answers 200, the process exits (its log's tail is the error) or the
/// deadline passes.
async fn wait_answers(child: &mut Supervised, url: &str, log: &Path) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        let answered = client
            .get(url)
            .timeout(Duration::from_millis(500))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if answered {
            return Ok(());
        }
        if child.has_exited() || Instant::now() >= deadline {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(8).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "{url} did not answer within {READY_DEADLINE:?}{}; its log ends:\n{}",
                if child.has_exited() {
                    " (the process exited)"
                } else {
                    ""
                },
                tail.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A directory of this run's in the temp dir, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn create() -> anyhow::Result<ScratchDir> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "gauntlet-prometheus-{}-{stamp}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(ScratchDir(dir))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_becomes_an_exact_pattern() {
        assert_eq!(regex_literal("/tmp/a.b-c"), "/tmp/a\\.b\\-c");
    }
}
